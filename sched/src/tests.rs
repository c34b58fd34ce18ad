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
        bitset: MATCH_ANY,
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
        s.handle(SchedMsg::WakeKey {
            key: PIPE,
            max,
            bitset: MATCH_ANY
        }),
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
    let futex = WaitKey::Futex(FutexKey::Private {
        mm: 1,
        addr: 0x1000,
    });
    for t in 1..=3 {
        s.handle(SchedMsg::Wake(TaskId(t)));
        block(&mut s, TaskId(t), &[futex], None);
    }
    let woken = s.handle(SchedMsg::WakeKey {
        key: futex,
        max: 2,
        bitset: MATCH_ANY,
    });
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
    s.handle(SchedMsg::WakeKey {
        key: PIPE,
        max: 1,
        bitset: MATCH_ANY,
    });
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
        bitset: MATCH_ANY,
    });
    s.handle(SchedMsg::Interrupt(A));
    assert_eq!(next(&mut s), None);
    s.handle(SchedMsg::WakeKey {
        key: WaitKey::Vfork(2),
        max: usize::MAX,
        bitset: MATCH_ANY,
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
        bitset: MATCH_ANY,
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
            bitset: 0x0f,
        },
        SchedMsg::Requeue {
            from: PIPE,
            to: WaitKey::File(8),
            max: 3,
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

fn futex(addr: u64) -> WaitKey {
    WaitKey::Futex(FutexKey::Inode {
        dev: 1,
        ino: 2,
        offset: addr,
    })
}

fn block_bits(s: &mut Scheduler, t: TaskId, key: WaitKey, bitset: u32) {
    s.handle(SchedMsg::Wake(t));
    let msg = SchedMsg::Block {
        task: t,
        keys: vec![key],
        deadline: None,
        interruptible: true,
        bitset,
    };
    s.handle(msg);
}

/// A bitset wake skips waiters whose bitset it does not intersect, and counts only those
/// it wakes.
#[test]
fn a_bitset_wake_wakes_only_intersecting_waiters() {
    let mut s = Scheduler::new(PolicyKind::RoundRobin);
    let k = futex(0);
    block_bits(&mut s, TaskId(1), k, 0b01);
    block_bits(&mut s, TaskId(2), k, 0b10);
    block_bits(&mut s, TaskId(3), k, 0b11);
    let woken = s.handle(SchedMsg::WakeKey {
        key: k,
        max: usize::MAX,
        bitset: 0b10,
    });
    assert_eq!(woken, SchedReply::Woken(vec![TaskId(2), TaskId(3)]));
    assert_eq!(
        s.queue(k),
        vec![Waiter {
            task: TaskId(1),
            bitset: 0b01
        }]
    );
}

/// A requeue moves the first waiters to the other key's queue, behind its own; a wake of
/// the second key then wakes them, and the first key no longer does.
#[test]
fn requeued_waiters_wait_for_the_second_key() {
    let mut s = Scheduler::new(PolicyKind::RoundRobin);
    let (k1, k2) = (futex(0), futex(4));
    block_bits(&mut s, TaskId(9), k2, MATCH_ANY);
    for t in 1..=3 {
        block_bits(&mut s, TaskId(t), k1, MATCH_ANY);
    }
    s.handle(SchedMsg::Requeue {
        from: k1,
        to: k2,
        max: 2,
    });
    assert_eq!(s.waiters(k1), 1);
    let order: Vec<TaskId> = s.queue(k2).iter().map(|w| w.task).collect();
    assert_eq!(order, vec![TaskId(9), TaskId(1), TaskId(2)]);
    let woken = s.handle(SchedMsg::WakeKey {
        key: k2,
        max: usize::MAX,
        bitset: MATCH_ANY,
    });
    assert_eq!(
        woken,
        SchedReply::Woken(vec![TaskId(9), TaskId(1), TaskId(2)])
    );
    assert_eq!(s.waiters(k1), 1);
}
