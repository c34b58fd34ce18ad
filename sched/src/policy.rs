//! Scheduling policies: what orders the run queue. Each policy is one small file behind
//! [`Policy`]; [`PolicyKind`] picks one at run time (`uml run --sched=...`).
//!
//! Adding a policy:
//! 1. Write `src/yours.rs` with a struct that implements [`Policy`]: it is told which tasks
//!    are runnable ([`Policy::enqueue`], [`Policy::dequeue`]), how long the running one ran
//!    ([`Policy::ran`]), when one gives up the CPU ([`Policy::requeue`]) and each task's nice
//!    value ([`Policy::set_nice`]); it answers [`Policy::pick`]. It never sees blocked or
//!    stopped tasks: the [`Scheduler`](crate::Scheduler) keeps those out of it.
//! 2. Add a variant to [`PolicyKind`], its name to `FromStr`, and a line to [`new_policy`].
//! 3. Unit-test it through [`Scheduler::handle`](crate::Scheduler::handle) as `rr.rs`,
//!    `fair.rs` and `prio.rs` do, and run the end-to-end suite with `--sched=yours`.

use serde::{Deserialize, Serialize};

use crate::TaskId;

/// A run-queue policy. Every method is called only for tasks the scheduler knows to be
/// runnable (`enqueue`d and not `dequeue`d since), except [`Policy::set_nice`] and
/// [`Policy::forget`].
pub trait Policy: std::fmt::Debug + Send {
    /// `t` became runnable (new, woken or continued). Not called twice without a
    /// [`Policy::dequeue`] in between.
    fn enqueue(&mut self, t: TaskId);
    /// `t` stopped being runnable (blocked, stopped or exited).
    fn dequeue(&mut self, t: TaskId);
    /// The running `t` gives up the CPU but stays runnable (`sched_yield`, preemption).
    fn requeue(&mut self, t: TaskId);
    /// `t` ran for `ns` nanoseconds.
    fn ran(&mut self, t: TaskId, ns: u64);
    /// The task to run next, if any is runnable.
    fn pick(&self) -> Option<TaskId>;
    /// `t`'s nice value changed (-20..=19; 0 for a new task). Policies that ignore
    /// priorities keep the default.
    fn set_nice(&mut self, _t: TaskId, _nice: i32) {}
    /// `t` has exited: drop what the policy keeps about it.
    fn forget(&mut self, t: TaskId) {
        self.dequeue(t);
    }
}

/// Which policy orders the run queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyKind {
    /// Round robin (`rr`): arrival order; nice is ignored.
    #[default]
    RoundRobin,
    /// Least weighted virtual runtime first (`fair`), as Linux's CFS.
    Fair,
    /// Strict priority (`prio`): the lowest nice value runs, round robin among equals.
    Priority,
}

impl std::str::FromStr for PolicyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<PolicyKind, String> {
        match s {
            "rr" => Ok(PolicyKind::RoundRobin),
            "fair" => Ok(PolicyKind::Fair),
            "prio" => Ok(PolicyKind::Priority),
            _ => Err(format!(
                "unknown scheduling policy {s:?} (rr, fair or prio)"
            )),
        }
    }
}

/// A fresh policy of the given kind.
pub fn new_policy(kind: PolicyKind) -> Box<dyn Policy> {
    match kind {
        PolicyKind::RoundRobin => Box::<crate::rr::RoundRobin>::default(),
        PolicyKind::Fair => Box::<crate::fair::Fair>::default(),
        PolicyKind::Priority => Box::<crate::prio::StrictPriority>::default(),
    }
}
