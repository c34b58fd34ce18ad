//! The scheduler service: who runs next, who waits for what, and timers.
//!
//! What it owns: every task's scheduling state — runnable, blocked on wait keys (and whether
//! a signal may interrupt the wait), stopped by job control — the wait queues ([`WaitKey`] →
//! the tasks blocked on it, first blocked first, each with the futex bitset of its wait, a
//! [`Waiter`]), the [`timers::Timers`] (blocked tasks' deadlines and processes' wall-clock
//! timers: `ITIMER_REAL` and POSIX timers, told apart by [`AlarmTimer`]), and the run-queue
//! [`Policy`] chosen at run time. Futex waits are keyed by [`FutexKey`], the shape of
//! Linux's `union futex_key` (the syscall crate finds the key).
//!
//! Messages: the kernel sends [`SchedMsg`]s to [`Scheduler::handle`] and gets a
//! [`SchedReply`]; both serialise (serde), so the traffic can be recorded and replayed
//! against another policy. Time enters only through messages ([`SchedMsg::Tick`] with the
//! current [`Ktime`]), so a unit test drives the service with a fake clock. The read-only
//! views [`Scheduler::waiters`], [`Scheduler::queue`] and [`Scheduler::is_stopped`] answer
//! what a syscall handler asks while it runs (which tasks a futex wake would wake, who is
//! first in line for a PI lock).
//!
//! How a blocking syscall travels: the handler answers "block on these keys until this
//! deadline"; the kernel sends [`SchedMsg::Block`]. Whoever makes a key ready sends
//! [`SchedMsg::WakeKey`] (at most `max` of the waiters whose bitset intersects the wake's)
//! and gets the woken tasks back ([`SchedReply::Woken`]); [`SchedMsg::Requeue`] moves
//! waiters from one key's queue to another's (`FUTEX_CMP_REQUEUE`); a signal
//! sends [`SchedMsg::Interrupt`]; the deadline comes with a [`SchedMsg::Tick`]. A woken task
//! is runnable again (unless stopped) and its syscall runs again.
//!
//! Policies ([`PolicyKind`], `uml run --sched=rr|fair|prio`), one small file each behind
//! [`Policy`] (see [`policy`] for how to add one):
//! - `rr`: round robin — runnable tasks in arrival order; a preempted or yielding task goes
//!   to the back.
//! - `fair`: like Linux's CFS — the runnable task with the least weighted virtual runtime
//!   runs; nice values weigh as Linux's (`fair.rs`).
//! - `prio`: strict priority by nice value, round robin among equals.
//!
//! Invariants: a task is handed to the policy at most once, and only while runnable (not
//! blocked, not stopped); a blocked task is in the wait queue of each of its keys and in no
//! other.
#![forbid(unsafe_code)]

mod clock;
mod fair;
pub mod policy;
mod prio;
mod rr;
pub mod service;
pub mod timers;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use clock::{Clock, Ktime};
pub use fair::weight as nice_weight;
pub use policy::{new_policy, Policy, PolicyKind};
pub use service::{Deploy, SchedService};
pub use timers::AlarmTimer;
use timers::{TimerEvent, Timers};

/// A schedulable guest thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId(pub u32);

/// Something a blocked task waits for. A syscall handler that cannot complete names one or
/// more; whoever changes that thing wakes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WaitKey {
    /// An open file (pipe, terminal) may have become readable, writable or hung up; the id
    /// is the file's `vfs::OpenFile::wait_id`.
    File(u64),
    /// The same file, for an exclusive waiter (`EPOLLEXCLUSIVE`): a wake-up of
    /// [`WaitKey::File`] wakes one of these, first blocked first.
    FileExclusive(u64),
    /// A child of this guest pid changed state.
    Child(i32),
    /// The vfork child with this pid exec'd or exited.
    Vfork(i32),
    /// A signal was sent to this guest pid: it wakes from any wait (interrupting it).
    Signal(i32),
    /// Nothing but the syscall's own deadline (`nanosleep`) for this guest pid.
    Timeout(i32),
    /// A futex word, keyed as Linux keys it ([`FutexKey`]): waiters of `FUTEX_WAIT` and
    /// its kin, woken by `FUTEX_WAKE` and its kin.
    Futex(FutexKey),
    /// The same futex word, for waiters of `FUTEX_LOCK_PI` (which `FUTEX_WAKE` never wakes;
    /// `FUTEX_UNLOCK_PI` hands the lock to the first of them).
    FutexPi(FutexKey),
    /// A lock on this file, (`st_dev`, `st_ino`), was released or changed.
    Lock(u64, u64),
    /// A SysV IPC object changed: (kind, id, detail), the syscall layer's encoding
    /// (`syscall::ipc`: a semaphore set, one semaphore's waiters, a message queue).
    Ipc(u8, i32, u32),
}

/// What identifies a futex word (Linux's `union futex_key`): two words are the same futex
/// iff their keys are equal. See `syscall::futex` for which key a word gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FutexKey {
    /// A `FUTEX_PRIVATE_FLAG` futex: (address space id, address).
    Private {
        /// The address space.
        mm: u64,
        /// The word's address.
        addr: u64,
    },
    /// A shared futex whose word lies in memory private to one address space (Linux's
    /// `FUT_OFF_MMSHARED` key): (address space id, address). It never matches a
    /// [`FutexKey::Private`] key of the same word, as on Linux.
    Mm {
        /// The address space.
        mm: u64,
        /// The word's address.
        addr: u64,
    },
    /// A shared futex in a file's page (a shared file mapping, memfd, tmpfs or `/dev/shm`
    /// file, or a private read-only file mapping): the file and the word's byte offset.
    Inode {
        /// The file's device.
        dev: u64,
        /// The file's inode number.
        ino: u64,
        /// The word's offset in the file.
        offset: u64,
    },
    /// A shared futex in shared anonymous memory: the page's frame (uml's shared anonymous
    /// object has no identity beyond its frames, which are never copied or moved while
    /// mapped) and the word's offset in it.
    SharedAnon {
        /// The frame's offset in physical memory.
        page: u64,
        /// The word's offset in the page.
        offset: u64,
    },
}

/// A futex waiter's bitset that any wake matches (Linux's `FUTEX_BITSET_MATCH_ANY`); every
/// wait that is not a futex wait has it.
pub const MATCH_ANY: u32 = u32::MAX;

fn match_any() -> u32 {
    MATCH_ANY
}

/// One task in a wait queue, and the bitset a wake must intersect to wake it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiter {
    /// The waiting task.
    pub task: TaskId,
    /// Its `FUTEX_WAIT_BITSET` bitset ([`MATCH_ANY`] for any other wait).
    pub bitset: u32,
}

/// Requests to the scheduler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedMsg {
    /// The task is runnable unless stopped: a new task, or one whose wait ends for a reason
    /// of the kernel's (it leaves every wait queue, interruptible or not).
    Wake(TaskId),
    /// A signal for the task: it leaves an interruptible wait (not a vfork parent's).
    Interrupt(TaskId),
    /// The task waits until one of `keys` is woken, a signal interrupts it (when
    /// `interruptible`) or `deadline` passes.
    Block {
        /// The waiting task.
        task: TaskId,
        /// What it waits for (any one wakes it).
        keys: Vec<WaitKey>,
        /// When it wakes anyway.
        deadline: Option<Ktime>,
        /// Whether a signal ends the wait ([`SchedMsg::Interrupt`]).
        interruptible: bool,
        /// The futex bitset of the wait ([`MATCH_ANY`] unless `FUTEX_WAIT_BITSET`).
        #[serde(default = "match_any")]
        bitset: u32,
    },
    /// Wakes at most `max` of the tasks blocked on `key` whose bitset intersects `bitset`,
    /// first blocked first.
    WakeKey {
        /// The key made ready.
        key: WaitKey,
        /// How many at most (`usize::MAX`: all).
        max: usize,
        /// Which waiters ([`MATCH_ANY`]: all).
        #[serde(default = "match_any")]
        bitset: u32,
    },
    /// Moves at most `max` of the tasks blocked on `from` (first blocked first) to the end
    /// of `to`'s queue: they wait for `to` from now on (`FUTEX_CMP_REQUEUE`).
    Requeue {
        /// The key they wait for.
        from: WaitKey,
        /// The key they wait for afterwards.
        to: WaitKey,
        /// How many at most.
        max: usize,
    },
    /// A job-control stop: the task leaves the run queue until [`SchedMsg::Continue`].
    Stop(TaskId),
    /// The stop ends; the task is runnable again unless it is blocked.
    Continue(TaskId),
    /// The running task gives up the CPU but stays runnable (`sched_yield`, preemption).
    Yield(TaskId),
    /// The task ran for this many nanoseconds.
    Ran(TaskId, u64),
    /// The task's nice value is now this (-20..=19).
    SetNice(TaskId, i32),
    /// The task is gone (exited, or replaced by an exec): forget it.
    Exit(TaskId),
    /// Timer `timer` of process `pid` expires at `at`.
    ArmAlarm {
        /// The process.
        pid: i32,
        /// Which of its timers.
        timer: AlarmTimer,
        /// When.
        at: Ktime,
    },
    /// The time is now this: wake blocked tasks whose deadline passed, report alarms due.
    Tick(Ktime),
    /// When is the next timer due?
    NextDeadline,
    /// Which task runs next?
    PickNext,
}

/// Replies of the scheduler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedReply {
    /// Done.
    Ok,
    /// The task to run next, or `None` if no task is runnable.
    Next(Option<TaskId>),
    /// These blocked tasks were woken (in the order they had blocked).
    Woken(Vec<TaskId>),
    /// What a [`SchedMsg::Tick`] did: tasks whose deadline woke them, processes' timers
    /// that are due.
    Fired {
        /// Tasks woken by their deadline.
        woken: Vec<TaskId>,
        /// Processes' timers that are due (the kernel checks each still applies).
        alarms: Vec<(i32, AlarmTimer)>,
    },
    /// The next timer's deadline.
    Deadline(Option<Ktime>),
}

/// What the scheduler keeps about one task.
#[derive(Debug, Default)]
struct TaskState {
    /// The keys it waits for; empty when it is not blocked.
    blocked_on: Vec<WaitKey>,
    /// Whether a signal ends its wait.
    interruptible: bool,
    /// When its wait ends anyway (a timer event for an earlier wait is stale).
    deadline: Option<Ktime>,
    /// Stopped by job control.
    stopped: bool,
    /// Handed to the policy (neither blocked nor stopped).
    runnable: bool,
}

/// The scheduler service.
#[derive(Debug)]
pub struct Scheduler {
    policy: Box<dyn Policy>,
    tasks: rustc_hash::FxHashMap<TaskId, TaskState>,
    waits: HashMap<WaitKey, Vec<Waiter>>,
    timers: Timers,
}

impl Scheduler {
    /// A scheduler with the given policy and no tasks.
    pub fn new(kind: PolicyKind) -> Scheduler {
        Scheduler::with_policy(new_policy(kind))
    }

    /// A scheduler with a policy of the caller's (a swapped-in implementation).
    pub fn with_policy(policy: Box<dyn Policy>) -> Scheduler {
        Scheduler {
            policy,
            tasks: Default::default(),
            waits: HashMap::new(),
            timers: Timers::default(),
        }
    }

    /// Handles one message.
    pub fn handle(&mut self, msg: SchedMsg) -> SchedReply {
        match msg {
            SchedMsg::Wake(t) => {
                self.unblock(t);
                self.make_runnable(t);
            }
            SchedMsg::Interrupt(t) => {
                if self.tasks.get(&t).is_some_and(|s| s.interruptible) {
                    self.unblock(t);
                    self.make_runnable(t);
                }
            }
            SchedMsg::Block {
                task,
                keys,
                deadline,
                interruptible,
                bitset,
            } => self.block(task, keys, deadline, interruptible, bitset),
            SchedMsg::WakeKey { key, max, bitset } => {
                return SchedReply::Woken(self.wake_key(key, max, bitset))
            }
            SchedMsg::Requeue { from, to, max } => self.requeue(from, to, max),
            SchedMsg::Stop(t) => {
                let s = self.tasks.entry(t).or_default();
                s.stopped = true;
                self.make_unrunnable(t);
            }
            SchedMsg::Continue(t) => {
                if let Some(s) = self.tasks.get_mut(&t) {
                    s.stopped = false;
                }
                self.make_runnable(t);
            }
            SchedMsg::Yield(t) => {
                if self.tasks.get(&t).is_some_and(|s| s.runnable) {
                    self.policy.requeue(t);
                }
            }
            SchedMsg::Ran(t, ns) => self.policy.ran(t, ns),
            SchedMsg::SetNice(t, nice) => self.policy.set_nice(t, nice),
            SchedMsg::Exit(t) => {
                self.unblock(t);
                self.tasks.remove(&t);
                self.policy.forget(t);
            }
            SchedMsg::ArmAlarm { pid, timer, at } => {
                self.timers.arm(at, TimerEvent::Alarm(pid, timer))
            }
            SchedMsg::Tick(now) => return self.tick(now),
            SchedMsg::NextDeadline => return SchedReply::Deadline(self.timers.next_deadline()),
            SchedMsg::PickNext => return SchedReply::Next(self.policy.pick()),
        }
        SchedReply::Ok
    }

    /// How many tasks are blocked on `key` (a view for syscall handlers).
    pub fn waiters(&self, key: WaitKey) -> usize {
        self.waits.get(&key).map_or(0, Vec::len)
    }

    /// The tasks blocked on `key`, first blocked first, with their bitsets (a view for
    /// futex handlers: who a wake would wake, who is first in line for a PI lock).
    pub fn queue(&self, key: WaitKey) -> Vec<Waiter> {
        self.waits.get(&key).cloned().unwrap_or_default()
    }

    /// Whether `t` is stopped by job control.
    pub fn is_stopped(&self, t: TaskId) -> bool {
        self.tasks.get(&t).is_some_and(|s| s.stopped)
    }

    /// Whether `t` is blocked: `Some(true)` in an interruptible wait, `Some(false)` in one
    /// only its event ends (a vfork parent), `None` if it is not waiting.
    pub fn blocked(&self, t: TaskId) -> Option<bool> {
        self.tasks
            .get(&t)
            .filter(|s| !s.blocked_on.is_empty())
            .map(|s| s.interruptible)
    }

    fn make_runnable(&mut self, t: TaskId) {
        let s = self.tasks.entry(t).or_default();
        if !s.runnable && !s.stopped && s.blocked_on.is_empty() {
            s.runnable = true;
            self.policy.enqueue(t);
        }
    }

    fn make_unrunnable(&mut self, t: TaskId) {
        if let Some(s) = self.tasks.get_mut(&t) {
            if std::mem::take(&mut s.runnable) {
                self.policy.dequeue(t);
            }
        }
    }

    fn block(
        &mut self,
        t: TaskId,
        keys: Vec<WaitKey>,
        deadline: Option<Ktime>,
        intr: bool,
        bitset: u32,
    ) {
        self.unblock(t);
        self.make_unrunnable(t);
        for &key in &keys {
            let w = Waiter { task: t, bitset };
            self.waits.entry(key).or_default().push(w);
        }
        if let Some(at) = deadline {
            self.timers.arm(at, TimerEvent::Wake(t));
        }
        let s = self.tasks.entry(t).or_default();
        s.blocked_on = keys;
        s.interruptible = intr;
        s.deadline = deadline;
    }

    /// Takes `t` out of every wait queue; whether it was blocked.
    fn unblock(&mut self, t: TaskId) -> bool {
        let Some(s) = self.tasks.get_mut(&t) else {
            return false;
        };
        let keys = std::mem::take(&mut s.blocked_on);
        s.deadline = None;
        for key in &keys {
            if let Some(list) = self.waits.get_mut(key) {
                list.retain(|w| w.task != t);
                if list.is_empty() {
                    self.waits.remove(key);
                }
            }
        }
        !keys.is_empty()
    }

    fn wake_key(&mut self, key: WaitKey, max: usize, bitset: u32) -> Vec<TaskId> {
        let mut woken = self.wake_queue(key, max, bitset);
        if let WaitKey::File(id) = key {
            if max > 0 && self.waits.contains_key(&WaitKey::FileExclusive(id)) {
                woken.extend(self.wake_queue(WaitKey::FileExclusive(id), 1, bitset));
            }
        }
        woken
    }

    /// Wakes at most `max` of the waiters of `key` alone.
    fn wake_queue(&mut self, key: WaitKey, max: usize, bitset: u32) -> Vec<TaskId> {
        let woken: Vec<TaskId> = self
            .waits
            .get(&key)
            .map(|l| {
                l.iter()
                    .filter(|w| w.bitset & bitset != 0)
                    .take(max)
                    .map(|w| w.task)
                    .collect()
            })
            .unwrap_or_default();
        for &t in &woken {
            self.unblock(t);
            self.make_runnable(t);
        }
        woken
    }

    fn requeue(&mut self, from: WaitKey, to: WaitKey, max: usize) {
        if from == to || max == 0 {
            return;
        }
        let Some(list) = self.waits.get_mut(&from) else {
            return;
        };
        let moved: Vec<Waiter> = list.drain(..max.min(list.len())).collect();
        if list.is_empty() {
            self.waits.remove(&from);
        }
        for w in &moved {
            if let Some(s) = self.tasks.get_mut(&w.task) {
                for k in s.blocked_on.iter_mut().filter(|k| **k == from) {
                    *k = to;
                }
            }
        }
        self.waits.entry(to).or_default().extend(moved);
    }

    fn tick(&mut self, now: Ktime) -> SchedReply {
        let mut woken = Vec::new();
        let mut alarms = Vec::new();
        for event in self.timers.expired(now) {
            match event {
                TimerEvent::Wake(t) => {
                    let due = self
                        .tasks
                        .get(&t)
                        .is_some_and(|s| s.deadline.is_some_and(|d| d <= now));
                    if due && self.unblock(t) {
                        self.make_runnable(t);
                        woken.push(t);
                    }
                }
                TimerEvent::Alarm(pid, timer) => alarms.push((pid, timer)),
            }
        }
        SchedReply::Fired { woken, alarms }
    }
}

#[cfg(test)]
mod tests;
