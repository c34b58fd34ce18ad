//! The scheduler: which task runs next.
//!
//! What it owns: the run queue and its policy, and the state of each task as the scheduler
//! sees it (runnable or blocked). The kernel loop asks [`Scheduler::handle`] with a
//! [`SchedMsg`] and gets a [`SchedReply`]; the next task also decides which address space the
//! runner switches to.
//!
//! Policies are chosen at run time ([`PolicyKind`]); today: round robin. Wait queues, timers
//! and more policies come with multi-process support.
//!
//! Invariant: a task is in the run queue at most once, and only while runnable.
#![forbid(unsafe_code)]

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// A schedulable guest thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId(pub u32);

/// Requests to the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedMsg {
    /// A new or woken task is runnable.
    Wake(TaskId),
    /// The task stopped being runnable (blocked or exited).
    Remove(TaskId),
    /// The running task gives up the CPU but stays runnable.
    Yield(TaskId),
    /// Which task runs next?
    PickNext,
}

/// Replies of the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedReply {
    /// Done.
    Ok,
    /// The task to run next, or `None` if no task is runnable.
    Next(Option<TaskId>),
}

/// Which policy orders the run queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyKind {
    /// Round robin: runnable tasks in arrival order.
    #[default]
    RoundRobin,
}

/// The scheduler service.
#[derive(Debug, Default)]
pub struct Scheduler {
    policy: PolicyKind,
    queue: VecDeque<TaskId>,
}

impl Scheduler {
    /// A scheduler with the given policy and no tasks.
    pub fn new(policy: PolicyKind) -> Scheduler {
        Scheduler {
            policy,
            queue: VecDeque::new(),
        }
    }

    /// Handles one message.
    pub fn handle(&mut self, msg: SchedMsg) -> SchedReply {
        match (self.policy, msg) {
            (_, SchedMsg::Wake(t)) => {
                if !self.queue.contains(&t) {
                    self.queue.push_back(t);
                }
                SchedReply::Ok
            }
            (_, SchedMsg::Remove(t)) => {
                self.queue.retain(|&q| q != t);
                SchedReply::Ok
            }
            (PolicyKind::RoundRobin, SchedMsg::Yield(t)) => {
                self.queue.retain(|&q| q != t);
                self.queue.push_back(t);
                SchedReply::Ok
            }
            (PolicyKind::RoundRobin, SchedMsg::PickNext) => {
                SchedReply::Next(self.queue.front().copied())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_order() {
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
        s.handle(SchedMsg::Remove(TaskId(2)));
        s.handle(SchedMsg::Remove(TaskId(1)));
        assert_eq!(s.handle(SchedMsg::PickNext), SchedReply::Next(None));
    }
}
