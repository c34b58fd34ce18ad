//! The scheduler: which task runs next, and timers.
//!
//! What it owns: the run queue and its policy, each task's scheduling state (runnable or
//! not; virtual runtime for the fair policy), and [`timers::Timers`]. The kernel loop talks
//! to it with [`SchedMsg`] and gets a [`SchedReply`]; the next task also decides which
//! address space the runner switches to.
//!
//! Policies, chosen at run time with `uml run --sched=rr|fair` ([`PolicyKind`]):
//! - `rr`: round robin — runnable tasks in arrival order; a preempted or yielding task goes
//!   to the back.
//! - `fair`: like Linux's CFS — the runnable task with the least virtual runtime runs; a
//!   woken task starts no further behind than one slice, so sleepers cannot starve others.
//!
//! Invariant: a task is in the run queue at most once, and only while runnable.
#![forbid(unsafe_code)]

pub mod timers;

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

/// A schedulable guest thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId(pub u32);

/// Requests to the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedMsg {
    /// A new or woken task is runnable.
    Wake(TaskId),
    /// The task stopped being runnable (blocked, stopped or exited).
    Remove(TaskId),
    /// The running task gives up the CPU but stays runnable (`sched_yield`, preemption).
    Yield(TaskId),
    /// The task ran for this many nanoseconds.
    Ran(TaskId, u64),
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
    /// Round robin.
    #[default]
    RoundRobin,
    /// Least virtual runtime first.
    Fair,
}

impl std::str::FromStr for PolicyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<PolicyKind, String> {
        match s {
            "rr" => Ok(PolicyKind::RoundRobin),
            "fair" => Ok(PolicyKind::Fair),
            _ => Err(format!("unknown scheduling policy {s:?} (rr or fair)")),
        }
    }
}

/// The slice a woken task may lag behind the least-run task (fair policy), in ns.
const WAKE_BONUS_NS: u64 = 3_000_000;

/// The scheduler service.
#[derive(Debug, Default)]
pub struct Scheduler {
    policy: PolicyKind,
    queue: VecDeque<TaskId>,
    vruntime: HashMap<TaskId, u64>,
}

impl Scheduler {
    /// A scheduler with the given policy and no tasks.
    pub fn new(policy: PolicyKind) -> Scheduler {
        Scheduler {
            policy,
            queue: VecDeque::new(),
            vruntime: HashMap::new(),
        }
    }

    fn min_vruntime(&self) -> u64 {
        self.queue
            .iter()
            .filter_map(|t| self.vruntime.get(t))
            .copied()
            .min()
            .unwrap_or(0)
    }

    /// Handles one message.
    pub fn handle(&mut self, msg: SchedMsg) -> SchedReply {
        match msg {
            SchedMsg::Wake(t) => {
                if !self.queue.contains(&t) {
                    if self.policy == PolicyKind::Fair {
                        let floor = self.min_vruntime().saturating_sub(WAKE_BONUS_NS);
                        let v = self.vruntime.entry(t).or_insert(floor);
                        *v = (*v).max(floor);
                    }
                    self.queue.push_back(t);
                }
            }
            SchedMsg::Remove(t) => self.queue.retain(|&q| q != t),
            SchedMsg::Yield(t) => {
                if self.queue.contains(&t) {
                    self.queue.retain(|&q| q != t);
                    self.queue.push_back(t);
                }
            }
            SchedMsg::Ran(t, ns) => {
                if self.policy == PolicyKind::Fair {
                    *self.vruntime.entry(t).or_insert(0) += ns;
                }
            }
            SchedMsg::PickNext => {
                let next = match self.policy {
                    PolicyKind::RoundRobin => self.queue.front().copied(),
                    PolicyKind::Fair => self
                        .queue
                        .iter()
                        .copied()
                        .min_by_key(|t| self.vruntime.get(t).copied().unwrap_or(0)),
                };
                return SchedReply::Next(next);
            }
        }
        SchedReply::Ok
    }

    /// Forgets a task that has exited.
    pub fn forget(&mut self, t: TaskId) {
        self.queue.retain(|&q| q != t);
        self.vruntime.remove(&t);
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

    #[test]
    fn fair_runs_the_least_run_task() {
        let mut s = Scheduler::new(PolicyKind::Fair);
        s.handle(SchedMsg::Wake(TaskId(1)));
        s.handle(SchedMsg::Wake(TaskId(2)));
        s.handle(SchedMsg::Ran(TaskId(1), 10_000_000));
        assert_eq!(
            s.handle(SchedMsg::PickNext),
            SchedReply::Next(Some(TaskId(2)))
        );
        s.handle(SchedMsg::Ran(TaskId(2), 20_000_000));
        assert_eq!(
            s.handle(SchedMsg::PickNext),
            SchedReply::Next(Some(TaskId(1)))
        );
        // A long sleeper comes back only one bonus behind the others.
        s.handle(SchedMsg::Wake(TaskId(3)));
        s.handle(SchedMsg::Ran(TaskId(1), 100_000_000));
        s.handle(SchedMsg::Ran(TaskId(2), 100_000_000));
        assert_eq!(
            s.handle(SchedMsg::PickNext),
            SchedReply::Next(Some(TaskId(3)))
        );
    }
}
