//! The syscall layer of uml: the syscall table and its handlers, processes and their file
//! descriptor tables, and loading programs (ELF) into a fresh address space.
//!
//! What it owns: [`Process`] state (pid, credentials, fd table, cwd, umask, limits, signal
//! dispositions) and its [`Thread`]s' (tid, signal mask and pending signals, tid address,
//! robust list), the declarative [`table`] (every implemented syscall with a support level;
//! `uml syscalls` prints it) and the handlers behind it, [`exec`] (the ELF loader, the
//! initial stack and the vDSO), [`clock`] (the guest's clocks, which the time syscalls
//! and the vDSO's data page share; the kernel refreshes them with [`clock::tick`]), and the
//! process side of `/proc` (`procfs`: what vfs's procfs asks about processes, and the files
//! about processes, memory and the system, and the instance's `/proc/sys` values), and the
//! timers that send signals ([`itimer`]: `setitimer`/`alarm`; [`posix_timer`]:
//! `timer_create`): the kernel reports time passing through [`timers`] (a scheduler alarm
//! is due, a process ran, a signal was taken) and gets back what to wake and arm, and the
//! instance's IPC namespace ([`ipc`]: SysV shared memory, semaphores and message queues,
//! POSIX message queues, kept in the [`ProcessTable`]; semaphore undos are applied by
//! [`proc_calls::exit_process`]), and the instance's keys and keyrings (`keys`: `add_key`,
//! `request_key`, `keyctl`, `/proc/keys`), also kept in the [`ProcessTable`], and guest
//! ptrace ([`ptrace`]: the link between tracer and tracee, their stops as values, the
//! requests; the kernel enters the stops), namespaces ([`ns`]: which ones each process
//! is in, the pid, user, UTS, IPC, cgroup and time namespaces made at run time, `setns`),
//! userfaultfd contexts ([`userfaultfd`]: their messages and ioctls; the kernel parks a
//! faulting thread through [`userfaultfd::fault_raised`]) and swap areas ([`swap`]).
//!
//! Messages: the kernel hands a stopped task's registers to [`dispatch`], which returns an
//! [`Outcome`]: a value for `rax`, or a change of control flow (exit). Handlers never touch
//! the host directly: guest memory goes through [`mm`] (the [`Ctx`] copy helpers), files
//! through [`vfs`]. What a call does besides its value comes back as [`Effects`]: keys to
//! wake, and [`QueueOp`]s (partial, bitset-filtered wakes and requeues of the scheduler's
//! wait queues) that futex handlers count from the queues' view ([`Ctx::queue`]).
//!
//! [`futex`] owns which key a futex word gets (Linux's `get_futex_key`: private, per
//! address space, or the file page or shared anonymous frame behind a shared word), the
//! PI word protocol, and what a thread's exit does to its robust list, PI locks and
//! `clear_child_tid` word.
//!
//! Invariants: every guest pointer, length and flag is validated here and a bad one becomes
//! the errno Linux returns, never a panic; `-errno` is produced in exactly one place,
//! [`dispatch`]; a host failure is not disguised as a guest errno.
#![forbid(unsafe_code)]

mod acct;
mod aio;
mod args;
pub mod caps;
pub mod clock;
mod copy;
pub mod cred;
mod ctx;
mod epoll;
mod eventfd;
pub mod exec;
mod exec_call;
pub mod fdtable;
mod fs;
pub mod futex;
mod info;
pub mod ipc;
pub mod itimer;
mod kcmp;
mod keys;
pub mod kill;
mod landlock;
mod lsm;
mod mem;
mod membarrier;
mod net;
mod notify;
pub mod ns;
mod page_cache_calls;
mod personality;
mod pidfd;
mod pidfd_info;
mod poll;
pub mod posix_timer;
mod priority;
pub mod proc_calls;
pub mod process;
mod process_vm;
mod procfs;
pub mod ptrace;
mod reboot;
mod sched_calls;
mod settime;
pub mod signal;
mod signalfd;
mod splice;
pub mod swap;
mod sysfs_call;
mod syslog;
pub mod table;
mod task;
#[cfg(test)]
mod tests_reply;
pub mod time;
mod timerfd;
pub mod timers;
pub mod tty;
mod unshare;
pub mod userfaultfd;

pub use args::Args;
pub use ctx::{Ctx, SchedView};
pub use process::{Cred, ExitStatus, ProcState, Process, ProcessTable, Thread};

use abi::{Errno, Sysno};

/// Something a blocked task waits for ([`Ctx::block_on`]); whoever changes that thing
/// wakes it ([`Ctx::wake`]). The scheduler owns the wait queues.
pub use sched::WaitKey;
pub use sched::{FutexKey, Waiter};

/// What a blocked syscall keeps across its restarts (Linux's restart block): cleared by the
/// kernel when the call completes.
#[derive(Clone, Debug, Default)]
pub struct RestartBlock {
    /// The FIFO end a blocking `open` holds while it waits for a partner; dropped, and so
    /// closed, when the call ends another way (a signal, the task's death).
    pub fifo_end: Option<vfs::FileRef>,
    /// The socket a blocked inet call works on: held so that closing its descriptor in
    /// another thread neither ends the call nor closes the socket under it (Linux's
    /// `fdget` holds the file until the call returns).
    pub file: Option<vfs::FileRef>,
    /// A fanotify permission decision the call waits for, with the file an `open` made
    /// ([`notify::fanotify::permitted`]).
    pub perm: Option<(Option<vfs::FileRef>, u64)>,
    /// The call's deadline, fixed on first entry by calls with a relative timeout.
    pub deadline: Option<std::time::Instant>,
    /// Bytes already transferred by a blocking write that continues after blocking.
    pub progress: u64,
    /// The call has blocked at least once (set by [`Ctx::block_on`]): it runs again now
    /// because something woke it.
    pub waited: bool,
    /// The last wake-up came through a key the call blocked on (a futex wake, data in a
    /// pipe), not a signal or the deadline. Set by the kernel; cleared when the call runs.
    pub woken: bool,
    /// The key whose wake-up that was (`futex_waitv` returns the index of its futex).
    pub woken_by: Option<WaitKey>,
    /// What a signal does to the call while it is blocked ([`Ctx::on_signal`]).
    pub on_signal: OnSignal,
}

/// How a blocked call ends when a signal comes for its task: Linux's `-ERESTART*` codes,
/// which the signal code turns into a restart or `EINTR` (`arch/x86/kernel/signal.c`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OnSignal {
    /// `-ERESTARTSYS` (reads, writes, waits for children, locks, futexes without a
    /// timeout): restarted after a handler with `SA_RESTART`, `EINTR` after one without,
    /// and restarted when no handler runs (a stop and continue).
    #[default]
    RestartSys,
    /// `-ERESTARTNOHAND` and `-ERESTART_RESTARTBLOCK` (sleeps, `poll`/`select`, `pause`,
    /// `sigsuspend`, futexes with a timeout): `EINTR` after any handler (a relative sleep
    /// reports the time it had left), restarted towards the same deadline otherwise.
    RestartNoHand,
    /// `-EINTR` (`epoll_wait`, `rt_sigtimedwait`): fails once any signal woke it, even one
    /// that only stopped and continued the process (signal(7), "Interruption of system
    /// calls and library functions by stop signals").
    Intr,
    /// `-ERESTARTNOINTR` (`FUTEX_LOCK_PI`): restarted after any handler, never `EINTR`.
    RestartNoIntr,
}

/// What becomes of a blocked call that a signal interrupted ([`RestartBlock::interrupted`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupted {
    /// The call stays blocked in the kernel and runs again when woken (no handler ran).
    Continue,
    /// The call is restarted from user mode after the handler: `rax` gets the syscall
    /// number back and `rip` moves back over the `syscall` instruction.
    RestartAfterHandler,
    /// The call returns this value (`-EINTR`, or what a write moved before blocking).
    Return(u64),
}

impl RestartBlock {
    /// What a signal does to this blocked call: `handler` is `Some(sa_restart)` when a
    /// handler is about to run, `None` when the signal stops the process. A call that
    /// already moved data returns how much (Linux's `pipe_write`), whatever the signal.
    pub fn interrupted(&self, handler: Option<bool>) -> Interrupted {
        if self.progress > 0 {
            return Interrupted::Return(self.progress);
        }
        match (handler, self.on_signal) {
            (Some(true), OnSignal::RestartSys) | (Some(_), OnSignal::RestartNoIntr) => {
                Interrupted::RestartAfterHandler
            }
            (Some(_), _) | (None, OnSignal::Intr) => Interrupted::Return(Errno::EINTR.as_return()),
            (None, _) => Interrupted::Continue,
        }
    }
}

/// A syscall's answer: what becomes of the calling task, and what else the call did. The
/// kernel carries out both; a unit test or a replay compares them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    /// What becomes of the caller.
    pub outcome: Outcome,
    /// Wake-ups, timers and host streams to watch.
    pub effects: Effects,
}

/// What a syscall did besides its value, as a value (handlers add to it through the
/// [`Ctx`] helpers; [`dispatch`] hands it back in the [`Reply`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Effects {
    /// Wait keys made ready (data written to a pipe, a child exited, a signal sent): every
    /// task blocked on one is woken.
    pub wake: Vec<WaitKey>,
    /// Partial wake-ups and requeues of wait queues (futex operations), in order.
    pub queue_ops: Vec<QueueOp>,
    /// Wall-clock timer expiries to arm: (pid, which of its timers, when). The kernel
    /// checks on expiry that the process's timer still says so.
    pub alarms: Vec<(i32, sched::AlarmTimer, sched::Ktime)>,
    /// Host streams (stdin, a tty) the blocked task waits for: the kernel polls them and
    /// wakes `WaitKey::File(id)` when one is ready.
    pub host_waits: Vec<HostWait>,
    /// Threads whose nice value is now this: (tid, nice), for the scheduler.
    pub nice: Vec<(i32, i32)>,
    /// Traced processes whose ptrace stop ended (`PTRACE_CONT`, `PTRACE_DETACH`): their
    /// stopped threads run again unless the process is job-stopped.
    pub resume: Vec<i32>,
}

/// A change to one wait queue, made by a futex operation ([`Ctx::wake_bitset`],
/// [`Ctx::requeue`]); the scheduler owns the queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum QueueOp {
    /// Wakes at most `max` of the tasks blocked on `key` whose bitset intersects `bitset`,
    /// first blocked first.
    Wake {
        /// The key.
        key: WaitKey,
        /// How many at most.
        max: usize,
        /// Which waiters ([`sched::MATCH_ANY`]: any).
        bitset: u32,
    },
    /// Moves at most `max` of the tasks blocked on `from`, first blocked first, to the end
    /// of `to`'s queue.
    Requeue {
        /// Where they wait.
        from: WaitKey,
        /// Where they wait afterwards.
        to: WaitKey,
        /// How many at most.
        max: usize,
    },
}

/// A host stream a blocked task waits for. A record keeps its wait id; the open file
/// itself, which the kernel polls, is not part of the record.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct HostWait {
    /// The file's wait id.
    pub id: u64,
    /// The file (absent in a replayed reply).
    #[serde(skip)]
    pub file: Option<vfs::FileRef>,
}

impl PartialEq for HostWait {
    fn eq(&self, other: &HostWait) -> bool {
        self.id == other.id
    }
}

impl Eq for HostWait {}

/// Where a task that cannot complete its syscall waits ([`Outcome::Block`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Block {
    /// What it waits for: any one wakes it.
    pub keys: Vec<WaitKey>,
    /// When it wakes anyway (a timeout).
    pub deadline: Option<sched::Ktime>,
    /// The futex bitset of the wait ([`sched::MATCH_ANY`] for any other).
    pub bitset: u32,
}

/// What the kernel does with the calling task after a syscall.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// The syscall cannot complete now: park the task until one of the keys is woken (or
    /// the deadline passes, or a signal comes), then run the same syscall again (handlers
    /// do nothing irreversible before they block).
    Block(Block),
    /// Return this value in `rax` and resume the task.
    Return(u64),
    /// The process now runs a new program in a new address space (`execve`); the old space
    /// is to be released. Registers are already those of the new program.
    Exec {
        /// The address space the process had before.
        old_mm: mm::MmId,
    },
    /// A new task was created (`fork`, `vfork`, `clone`); it starts with `regs`. With
    /// `vfork`, the caller waits until the child execs or exits.
    Fork {
        /// The new task's tid (a new process's pid, or a new thread of the caller's).
        child: i32,
        /// Its id as the caller sees it (in the caller's pid namespace): the caller's
        /// return value.
        seen: i32,
        /// Whether it is a thread of the calling process (`CLONE_THREAD`); it starts with
        /// the caller's FP state.
        thread: bool,
        /// The child's registers (boxed: the outcome of every other call stays small).
        regs: Box<abi::structs::UserRegs>,
        /// Whether the parent waits for the child (`CLONE_VFORK`).
        vfork: bool,
    },
    /// Return 0 and let other runnable tasks run first (`sched_yield`).
    Yield,
    /// The thread exits with this status (`exit`).
    ExitThread(i32),
    /// The whole process exits with this status (`exit_group`).
    ExitGroup(i32),
}

/// Handles one syscall of the task whose registers are `ctx.regs`. Unknown numbers return
/// `ENOSYS` and are reported once through `report_unknown`.
pub fn dispatch(ctx: &mut Ctx<'_>, report_unknown: &mut dyn FnMut(u64)) -> Reply {
    let outcome = outcome_of(ctx, report_unknown);
    // Sockets the network made ready (data queued, a peer closed its last descriptor).
    for id in ctx.procs.net.take_ready() {
        ctx.wake(WaitKey::File(id));
    }
    // Notification groups that file system events were queued to.
    for id in vfs::notify::take_ready() {
        ctx.wake(WaitKey::File(id));
    }
    // Directories whose dnotify requests fired tell their owners.
    notify::dnotify::send_signals(ctx);
    // Signal-driven I/O: owners of O_ASYNC files made ready are told.
    if fs::fown::any(ctx) {
        let woken = std::mem::take(&mut ctx.effects.wake);
        fs::fown::notify(ctx, &woken);
        ctx.effects.wake.splice(0..0, woken);
    }
    Reply {
        outcome,
        effects: ctx.take_effects(),
    }
}

fn outcome_of(ctx: &mut Ctx<'_>, report_unknown: &mut dyn FnMut(u64)) -> Outcome {
    let nr = ctx.regs.orig_rax;
    // fanotify events say which process caused them.
    if vfs::notify::fanotify_active() {
        vfs::notify::set_current(ctx.proc.pid, ctx.tid);
    }
    ctx.procs.enter_ns(&ctx.proc.ns);
    let args = Args(ctx.regs.syscall_args());
    let result = match table::lookup(nr) {
        Some(entry) => match entry.handler {
            table::Handler::Plain(f) => f(ctx, &args).map(Outcome::Return),
            table::Handler::Ctl(f) => f(ctx, &args),
            table::Handler::Fail(e) => Err(e),
        },
        None => {
            report_unknown(nr);
            Err(Errno::ENOSYS)
        }
    };
    if let Some(block) = ctx.take_block() {
        return Outcome::Block(block);
    }
    match result {
        Ok(outcome) => outcome,
        Err(e) => Outcome::Return(e.as_return()),
    }
}

/// The name of syscall `nr` as strace prints it, or `syscall_NNN`.
pub fn name(nr: u64) -> String {
    Sysno::from_raw(nr).map_or_else(|| format!("syscall_{nr}"), |s| s.name().to_string())
}

#[cfg(test)]
mod restart_tests {
    use super::{Interrupted, OnSignal, RestartBlock};
    use abi::Errno;

    fn block(on_signal: OnSignal, progress: u64) -> RestartBlock {
        RestartBlock {
            on_signal,
            progress,
            ..RestartBlock::default()
        }
    }

    const EINTR: Interrupted = Interrupted::Return(Errno::EINTR.as_return());

    /// Linux's table (signal(7)): rows are the call's kind, columns a handler without
    /// `SA_RESTART`, one with it, and a stop and continue.
    #[test]
    fn linux_restart_rules() {
        let cases = [
            (
                OnSignal::RestartSys,
                [
                    EINTR,
                    Interrupted::RestartAfterHandler,
                    Interrupted::Continue,
                ],
            ),
            (
                OnSignal::RestartNoHand,
                [EINTR, EINTR, Interrupted::Continue],
            ),
            (OnSignal::Intr, [EINTR, EINTR, EINTR]),
            (
                OnSignal::RestartNoIntr,
                [
                    Interrupted::RestartAfterHandler,
                    Interrupted::RestartAfterHandler,
                    Interrupted::Continue,
                ],
            ),
        ];
        for (kind, want) in cases {
            let rb = block(kind, 0);
            let got = [
                rb.interrupted(Some(false)),
                rb.interrupted(Some(true)),
                rb.interrupted(None),
            ];
            assert_eq!(got, want, "{kind:?}");
        }
    }

    #[test]
    fn a_write_that_moved_data_returns_its_count() {
        for kind in [
            OnSignal::RestartSys,
            OnSignal::RestartNoHand,
            OnSignal::Intr,
            OnSignal::RestartNoIntr,
        ] {
            let rb = block(kind, 65536);
            for handler in [Some(false), Some(true), None] {
                assert_eq!(rb.interrupted(handler), Interrupted::Return(65536));
            }
        }
    }
}
