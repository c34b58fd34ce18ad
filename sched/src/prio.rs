//! Strict priority: the runnable task with the lowest nice value runs; tasks of equal nice
//! take turns (round robin). A busy task of higher priority starves the others, as
//! `SCHED_FIFO` does on Linux: a policy for experiments, and the proof that a policy is one
//! small file behind [`Policy`].

use crate::policy::Policy;
use crate::rr::RoundRobin;
use crate::TaskId;

/// The strict-priority policy: a round-robin queue, picked from by nice value.
#[derive(Debug, Default)]
pub struct StrictPriority {
    rr: RoundRobin,
    nice: rustc_hash::FxHashMap<TaskId, i32>,
}

impl Policy for StrictPriority {
    fn enqueue(&mut self, t: TaskId) {
        self.rr.enqueue(t);
    }

    fn dequeue(&mut self, t: TaskId) {
        self.rr.dequeue(t);
    }

    fn requeue(&mut self, t: TaskId) {
        self.rr.requeue(t);
    }

    fn ran(&mut self, t: TaskId, ns: u64) {
        // Tasks of equal nice take turns by the slice.
        self.rr.ran(t, ns);
    }

    fn pick(&self) -> Option<TaskId> {
        // The first of the lowest nice: min_by_key keeps the first of equal keys.
        let nice = |t: &TaskId| self.nice.get(t).copied().unwrap_or(0);
        self.rr.queue.iter().copied().min_by_key(nice)
    }

    fn set_nice(&mut self, t: TaskId, nice: i32) {
        self.nice.insert(t, nice);
    }

    fn forget(&mut self, t: TaskId) {
        self.rr.dequeue(t);
        self.nice.remove(&t);
    }
}

#[cfg(test)]
mod tests {
    use crate::{PolicyKind, SchedMsg, SchedReply, Scheduler, TaskId};

    #[test]
    fn lowest_nice_first_then_turns() {
        let mut s = Scheduler::new(PolicyKind::Priority);
        for t in 1..=3 {
            s.handle(SchedMsg::Wake(TaskId(t)));
        }
        s.handle(SchedMsg::SetNice(TaskId(3), -5));
        assert_eq!(
            s.handle(SchedMsg::PickNext),
            SchedReply::Next(Some(TaskId(3)))
        );
        s.handle(SchedMsg::Yield(TaskId(3)));
        assert_eq!(
            s.handle(SchedMsg::PickNext),
            SchedReply::Next(Some(TaskId(3)))
        );
        s.handle(SchedMsg::Exit(TaskId(3)));
        assert_eq!(
            s.handle(SchedMsg::PickNext),
            SchedReply::Next(Some(TaskId(1)))
        );
        s.handle(SchedMsg::Yield(TaskId(1)));
        assert_eq!(
            s.handle(SchedMsg::PickNext),
            SchedReply::Next(Some(TaskId(2)))
        );
    }
}
