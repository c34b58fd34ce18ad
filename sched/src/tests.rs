//! The service driven alone by messages, with a fake clock.

use super::*;

const A: TaskId = TaskId(1);
const B: TaskId = TaskId(2);
const PIPE: WaitKey = WaitKey::File(7);

fn ms(n: u64) -> Ktime {
    Ktime(n * 1_000_000)
}

fn block(s: &mut Scheduler, t: TaskId, keys: &[WaitKey], deadline: Option<Ktime>) {
    let msg = SchedMsg::Block {
        task: t,
        keys: keys.to_vec(),
        deadline,
        interruptible: true,
    };
    assert_eq!(s.handle(msg), SchedReply::Ok);
}

fn next(s: &mut Scheduler) -> Option<TaskId> {
    match s.handle(SchedMsg::PickNext) {
        SchedReply::Next(t) => t,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_blocked_task_runs_again_when_its_key_is_woken() {
    let mut s = Scheduler::new(PolicyKind::RoundRobin);
    s.handle(SchedMsg::Wake(A));
    s.handle(SchedMsg::Wake(B));
    block(&mut s, A, &[PIPE, WaitKey::Signal(1)], None);
    assert_eq!(s.waiters(PIPE), 1);
    assert_eq!(next(&mut s), Some(B));
    let max = usize::MAX;
    assert_eq!(
        s.handle(SchedMsg::WakeKey { key: PIPE, max }),
        SchedReply::Woken(vec![A])
    );
    // Woken through one key, it left the others' queues too.
    assert_eq!(s.waiters(WaitKey::Signal(1)), 0);
    s.handle(SchedMsg::Exit(B));
    assert_eq!(next(&mut s), Some(A));
}

#[test]
fn wake_some_wakes_the_first_blocked_first() {
    let mut s = Scheduler::new(PolicyKind::Fair);
    let futex = WaitKey::Futex(1, 0x1000);
    for t in 1..=3 {
        s.handle(SchedMsg::Wake(TaskId(t)));
        block(&mut s, TaskId(t), &[futex], None);
    }
    let woken = s.handle(SchedMsg::WakeKey { key: futex, max: 2 });
    assert_eq!(woken, SchedReply::Woken(vec![TaskId(1), TaskId(2)]));
    assert_eq!(s.waiters(futex), 1);
}

#[test]
fn deadlines_wake_with_the_fake_clock() {
    let mut s = Scheduler::new(PolicyKind::RoundRobin);
    s.handle(SchedMsg::Wake(A));
    block(&mut s, A, &[WaitKey::Timeout(1)], Some(ms(50)));
    s.handle(SchedMsg::ArmAlarm {
        pid: 9,
        timer: AlarmTimer::ItimerReal,
        at: ms(20),
    });
    assert_eq!(
        s.handle(SchedMsg::NextDeadline),
        SchedReply::Deadline(Some(ms(20)))
    );
    let fired = s.handle(SchedMsg::Tick(ms(30)));
    assert_eq!(
        fired,
        SchedReply::Fired {
            woken: vec![],
            alarms: vec![(9, AlarmTimer::ItimerReal)]
        }
    );
    assert_eq!(next(&mut s), None);
    let fired = s.handle(SchedMsg::Tick(ms(50)));
    assert_eq!(
        fired,
        SchedReply::Fired {
            woken: vec![A],
            alarms: vec![]
        }
    );
    assert_eq!(next(&mut s), Some(A));
    // A deadline of a wait that already ended wakes nobody.
    block(&mut s, A, &[PIPE], Some(ms(60)));
    s.handle(SchedMsg::WakeKey { key: PIPE, max: 1 });
    block(&mut s, A, &[PIPE], None);
    let fired = s.handle(SchedMsg::Tick(ms(70)));
    assert_eq!(
        fired,
        SchedReply::Fired {
            woken: vec![],
            alarms: vec![]
        }
    );
}

#[test]
fn a_signal_interrupts_only_an_interruptible_wait() {
    let mut s = Scheduler::new(PolicyKind::RoundRobin);
    s.handle(SchedMsg::Wake(A));
    s.handle(SchedMsg::Block {
        task: A,
        keys: vec![WaitKey::Vfork(2)],
        deadline: None,
        interruptible: false,
    });
    s.handle(SchedMsg::Interrupt(A));
    assert_eq!(next(&mut s), None);
    s.handle(SchedMsg::WakeKey {
        key: WaitKey::Vfork(2),
        max: usize::MAX,
    });
    assert_eq!(next(&mut s), Some(A));
    block(&mut s, A, &[PIPE], None);
    s.handle(SchedMsg::Interrupt(A));
    assert_eq!(next(&mut s), Some(A));
}

#[test]
fn a_stopped_task_stays_out_until_continued() {
    let mut s = Scheduler::new(PolicyKind::RoundRobin);
    s.handle(SchedMsg::Wake(A));
    block(&mut s, A, &[PIPE], None);
    s.handle(SchedMsg::Stop(A));
    assert!(s.is_stopped(A));
    // Woken while stopped: not runnable until continued.
    s.handle(SchedMsg::WakeKey {
        key: PIPE,
        max: usize::MAX,
    });
    assert_eq!(next(&mut s), None);
    s.handle(SchedMsg::Continue(A));
    assert_eq!(next(&mut s), Some(A));
    // Continued while still blocked: runnable only once woken.
    block(&mut s, A, &[PIPE], None);
    s.handle(SchedMsg::Stop(A));
    s.handle(SchedMsg::Continue(A));
    assert_eq!(next(&mut s), None);
}

#[test]
fn messages_round_trip_through_bincode() {
    let msgs = [
        SchedMsg::Block {
            task: A,
            keys: vec![PIPE],
            deadline: Some(ms(5)),
            interruptible: true,
        },
        SchedMsg::Tick(ms(9)),
        SchedMsg::SetNice(B, -3),
    ];
    for m in msgs {
        let bytes = bincode::serialize(&m).expect("serialize");
        assert_eq!(
            bincode::deserialize::<SchedMsg>(&bytes).expect("deserialize"),
            m
        );
    }
}
