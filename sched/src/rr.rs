//! Round robin: runnable tasks in arrival order; a task that gives up the CPU goes to the back.

use std::collections::VecDeque;

use crate::policy::Policy;
use crate::TaskId;

/// The round-robin policy.
#[derive(Debug, Default)]
pub struct RoundRobin {
    /// Runnable tasks in arrival order (the front runs next).
    pub(crate) queue: VecDeque<TaskId>,
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

    fn ran(&mut self, _t: TaskId, _ns: u64) {}

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
}
