//! Round robin: runnable tasks in arrival order; a task that gives up the CPU, or has run
//! for a time slice ([`SLICE_NS`]) while others wait, goes to the back.

use std::collections::VecDeque;

use crate::policy::Policy;
use crate::TaskId;

/// How long a task runs, in time the kernel saw it run (its syscalls and faults
/// included), before the tasks queued behind it get their turn. The runner's own
/// preemption tick counts only the guest's user time, which a task that makes syscalls
/// all the time hardly uses: without this, it would keep the CPU from a task just woken.
pub const SLICE_NS: u64 = 10_000_000;

/// The round-robin policy.
#[derive(Debug, Default)]
pub struct RoundRobin {
    /// Runnable tasks in arrival order (the front runs next).
    pub(crate) queue: VecDeque<TaskId>,
    /// The task that ran last and for how long since it was picked after another.
    running: Option<(TaskId, u64)>,
}

impl Policy for RoundRobin {
    fn enqueue(&mut self, t: TaskId) {
        self.queue.push_back(t);
    }

    fn dequeue(&mut self, t: TaskId) {
        self.queue.retain(|&q| q != t);
    }

    fn requeue(&mut self, t: TaskId) {
        self.dequeue(t);
        self.queue.push_back(t);
    }

    fn ran(&mut self, t: TaskId, ns: u64) {
        let used = match self.running {
            Some((r, used)) if r == t => used.saturating_add(ns),
            _ => ns,
        };
        if used >= SLICE_NS && self.queue.len() > 1 && self.queue.contains(&t) {
            self.requeue(t);
            self.running = None;
        } else {
            self.running = Some((t, used));
        }
    }

    fn pick(&self) -> Option<TaskId> {
        self.queue.front().copied()
    }
}

#[cfg(test)]
mod tests {
    use crate::{PolicyKind, SchedMsg, SchedReply, Scheduler, TaskId};

    #[test]
    fn arrival_order_and_yield_to_the_back() {
        let mut s = Scheduler::new(PolicyKind::RoundRobin);
        s.handle(SchedMsg::Wake(TaskId(1)));
        s.handle(SchedMsg::Wake(TaskId(2)));
        s.handle(SchedMsg::Wake(TaskId(1)));
        assert_eq!(
            s.handle(SchedMsg::PickNext),
            SchedReply::Next(Some(TaskId(1)))
        );
        s.handle(SchedMsg::Yield(TaskId(1)));
        assert_eq!(
            s.handle(SchedMsg::PickNext),
            SchedReply::Next(Some(TaskId(2)))
        );
        s.handle(SchedMsg::Exit(TaskId(2)));
        s.handle(SchedMsg::Exit(TaskId(1)));
        assert_eq!(s.handle(SchedMsg::PickNext), SchedReply::Next(None));
    }

    /// A task that never blocks nor yields (it makes syscalls all the time) keeps the CPU
    /// for one slice, then the task woken meanwhile runs.
    #[test]
    fn a_slice_used_up_lets_the_next_run() {
        let mut s = Scheduler::new(PolicyKind::RoundRobin);
        s.handle(SchedMsg::Wake(TaskId(1)));
        let next = |s: &mut Scheduler| s.handle(SchedMsg::PickNext);
        // Alone, it keeps running past its slice.
        for _ in 0..3 {
            assert_eq!(next(&mut s), SchedReply::Next(Some(TaskId(1))));
            s.handle(SchedMsg::Ran(TaskId(1), super::SLICE_NS / 2));
        }
        s.handle(SchedMsg::Wake(TaskId(2)));
        assert_eq!(next(&mut s), SchedReply::Next(Some(TaskId(1))));
        s.handle(SchedMsg::Ran(TaskId(1), super::SLICE_NS / 2));
        assert_eq!(next(&mut s), SchedReply::Next(Some(TaskId(2))));
        // The slice starts again for whoever is picked after another.
        s.handle(SchedMsg::Ran(TaskId(2), super::SLICE_NS - 1));
        assert_eq!(next(&mut s), SchedReply::Next(Some(TaskId(2))));
        s.handle(SchedMsg::Ran(TaskId(2), 1));
        assert_eq!(next(&mut s), SchedReply::Next(Some(TaskId(1))));
    }
}
