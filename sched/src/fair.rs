//! Fair: as Linux's CFS, the runnable task with the least virtual runtime runs. A task's
//! virtual runtime advances by the time it ran scaled by its weight, which its nice value
//! gives (Linux's `sched_prio_to_weight`: nice 0 weighs 1024, and each step of nice is about
//! 10% of CPU time, a factor of 1.25). A woken task starts no further behind the least-run
//! runnable task than one slice, so a long sleeper cannot starve the others.

use crate::policy::Policy;
use crate::TaskId;

/// How far behind the least-run task a woken task may start, in weighted ns.
const WAKE_BONUS_NS: u64 = 3_000_000;

/// The weight of nice 0.
const NICE_0_WEIGHT: u64 = 1024;

/// Weight of each nice value from -20 to 19 (Linux's `sched_prio_to_weight`).
const WEIGHTS: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];

/// The weight of a nice value (clamped to -20..=19).
pub fn weight(nice: i32) -> u64 {
    WEIGHTS[(nice.clamp(-20, 19) + 20) as usize]
}

/// What the fair policy keeps about one task.
#[derive(Debug, Default, Clone, Copy)]
struct Entity {
    vruntime: u64,
    nice: i32,
    runnable: bool,
}

/// The fair policy.
#[derive(Debug, Default)]
pub struct Fair {
    tasks: rustc_hash::FxHashMap<TaskId, Entity>,
}

impl Fair {
    fn min_vruntime(&self) -> u64 {
        self.tasks
            .values()
            .filter(|e| e.runnable)
            .map(|e| e.vruntime)
            .min()
            .unwrap_or(0)
    }
}

impl Policy for Fair {
    fn enqueue(&mut self, t: TaskId) {
        let floor = self.min_vruntime().saturating_sub(WAKE_BONUS_NS);
        let e = self.tasks.entry(t).or_insert(Entity {
            vruntime: floor,
            ..Entity::default()
        });
        e.vruntime = e.vruntime.max(floor);
        e.runnable = true;
    }

    fn dequeue(&mut self, t: TaskId) {
        if let Some(e) = self.tasks.get_mut(&t) {
            e.runnable = false;
        }
    }

    fn requeue(&mut self, _t: TaskId) {}

    fn ran(&mut self, t: TaskId, ns: u64) {
        let e = self.tasks.entry(t).or_default();
        e.vruntime += ns.saturating_mul(NICE_0_WEIGHT) / weight(e.nice);
    }

    fn pick(&self) -> Option<TaskId> {
        self.tasks
            .iter()
            .filter(|(_, e)| e.runnable)
            .min_by_key(|(t, e)| (e.vruntime, **t))
            .map(|(t, _)| *t)
    }

    fn set_nice(&mut self, t: TaskId, nice: i32) {
        self.tasks.entry(t).or_default().nice = nice;
    }

    fn forget(&mut self, t: TaskId) {
        self.tasks.remove(&t);
    }
}

#[cfg(test)]
mod tests {
    use super::weight;
    use crate::{PolicyKind, SchedMsg, SchedReply, Scheduler, TaskId};

    fn pick(s: &mut Scheduler) -> TaskId {
        match s.handle(SchedMsg::PickNext) {
            SchedReply::Next(Some(t)) => t,
            other => panic!("nothing to run: {other:?}"),
        }
    }

    #[test]
    fn runs_the_least_run_task() {
        let mut s = Scheduler::new(PolicyKind::Fair);
        s.handle(SchedMsg::Wake(TaskId(1)));
        s.handle(SchedMsg::Wake(TaskId(2)));
        s.handle(SchedMsg::Ran(TaskId(1), 10_000_000));
        assert_eq!(pick(&mut s), TaskId(2));
        s.handle(SchedMsg::Ran(TaskId(2), 20_000_000));
        assert_eq!(pick(&mut s), TaskId(1));
        // A long sleeper comes back only one bonus behind the others.
        s.handle(SchedMsg::Wake(TaskId(3)));
        s.handle(SchedMsg::Ran(TaskId(1), 100_000_000));
        s.handle(SchedMsg::Ran(TaskId(2), 100_000_000));
        assert_eq!(pick(&mut s), TaskId(3));
    }

    /// Two CPU-bound tasks, nice 0 and nice 5, each running 1 ms slices when picked: their
    /// CPU time splits as their weights do (1024 : 335).
    #[test]
    fn cpu_share_follows_nice_weights() {
        let mut s = Scheduler::new(PolicyKind::Fair);
        s.handle(SchedMsg::Wake(TaskId(1)));
        s.handle(SchedMsg::Wake(TaskId(2)));
        s.handle(SchedMsg::SetNice(TaskId(2), 5));
        let mut ran = [0u64; 3];
        for _ in 0..10_000 {
            let t = pick(&mut s);
            s.handle(SchedMsg::Ran(t, 1_000_000));
            ran[t.0 as usize] += 1;
        }
        let share = ran[1] as f64 / ran[2] as f64;
        let want = weight(0) as f64 / weight(5) as f64;
        assert!(
            (share / want - 1.0).abs() < 0.01,
            "share {share}, want {want}"
        );
    }

    #[test]
    fn weights_match_linux() {
        assert_eq!(weight(0), 1024);
        assert_eq!(weight(-20), 88761);
        assert_eq!(weight(19), 15);
        assert_eq!(weight(100), 15);
    }
}
