//! The kernel: the composition root of uml.
//!
//! What it owns: booting (physical memory, the file system, the runner, the first process)
//! and the main loop, in UML's model — one kernel thread is the CPU:
//!
//! ```text
//! loop {
//!     fire expired timers                 // sleeps end, ITIMER_REAL
//!     task = sched.next()                 // who runs, and so which address space
//!     enter owed ptrace stops             // a traced task stops for its tracer
//!     deliver pending signals             // frames, default actions, EINTR/restart
//!     trap = restart ? Syscall            // a woken blocked syscall runs again
//!          : runner.send_resume(space,    // apply the space's host ops, run until a trap
//!                mm.host_ops(space), ..)
//!     match trap {
//!         Syscall => syscall::dispatch    // value | block | fork | exec | exit
//!         Fault   => mm.handle_fault      // resolved | guest SIGSEGV/SIGBUS | a
//!                                         // userfaultfd's: parked until resolved
//!         Interrupted => preempt          // the time slice ran out
//!         Signal / Exited => default actions, host errors
//!     }
//! }
//! ```
//!
//! Messages: it drives `sched` with `SchedMsg`s (every one through one place, so that it can
//! be recorded), mm with `mm::MmMsg`s through `mm::MmService` (faults, the host ops of a
//! resume; the syscall handlers send theirs through the same service), and the runner with
//! `runner::RunnerMsg`s through `Runner::handle`: a `Resume` carries the task's registers and
//! the host ops mm's backend gives for its address space (the /proc/mm protocol: what was
//! queued since it last ran, or with `--mm single` a rewrite of the runner's guest range
//! when another space was there), and the reply is the `Trap` with the
//! registers at the trap, which the kernel keeps as the task's (`Runner::send_resume` sends
//! it with the registers read and written in place, the task's own, rather than copied into
//! the message and out of the reply on every trap); a syscall's result goes into
//! them (`rax`) and so back to the runner with the next `Resume`. FP state travels in
//! `GetFpregs`/`SetFpregs`, ends of threads and spaces in `ReleaseThread`/`Release`. With
//! `--deploy threads` ([`Config::deploy`]) mm, the scheduler, vfs and the runner each run on
//! a thread of its own and get the same messages through channels (the loop keeps the
//! syscall handlers, which borrow the process table it owns); the runner
//! (`runner::threaded::OnThread`) is made on its thread, which with ptrace is the stubs'
//! tracer.
//! Syscall handlers answer with a `syscall::Reply` — the outcome (a value, block on
//! these keys until then, fork, exec, exit) and its effects (wake these keys, arm that alarm)
//! — which the kernel carries out. The file namespace is `vfs::VfsService`, whose path
//! calls (lookup, open, stat, mkdir, rename, …) are `vfs::service::VfsMsg`s (under `--deploy
//! threads` sent to vfs's own thread, as mm's and the scheduler's messages are). `uml run
//! --record FILE` writes the messages to the scheduler, mm, vfs and the runner with their
//! replies, the syscalls' replies, and the host inputs the kernel read ([`nondet`]), to a
//! log ([`record`]); `uml replay` feeds a log's scheduler or mm inbox to a fresh instance,
//! or compares another policy or backend ([`replay`]), or runs the whole kernel again on it
//! to check every syscall's and vfs message's reply ([`replay_run`]).
//!
//! Tests: [`Kernel::run_with`] boots with any runner; the unit tests drive the main loop
//! with `runner::fake::ScriptedRunner`, which plays scripted traps per guest thread and
//! records the messages it receives, and check what a guest would see (registers of the
//! next resume, exit statuses).
//!
//! Invariants: guest behaviour never panics the kernel; a host failure (a stub died, ptrace
//! failed) ends the run with a [`KernelError`] naming it, not with a guest errno — except
//! that with `--mm single` a dead runner ends only the process that was to run. Whether a
//! task is runnable, blocked (on what, until when) or stopped is the scheduler's to know;
//! the kernel keeps a task's registers and its syscall's restart state.
#![forbid(unsafe_code)]

mod boot;
mod host;
mod ptrace;
mod publish;
mod publish_udp;
pub mod record;
pub mod replay;
pub mod replay_run;
mod run;
mod signals;
#[cfg(test)]
mod tests;
mod trace;
mod trace_args;
mod user;
mod userfault;

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;

use abi::structs::UserRegs;
use mm::{MmId, MmService};
use runner::{Runner, RunnerError};
use sched::TaskId;
use syscall::ProcessTable;
use vfs::VfsService;

pub use boot::StartError;
pub use mm::backend::MmKind;
pub use publish::Publish;
pub use runner::TrapKind;
pub use sched::{Deploy, PolicyKind};
pub use vfs::BindMount;

/// What `uml run` asks for.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Host directory that is the guest's `/`.
    pub root: PathBuf,
    /// Write through to the root instead of an in-memory overlay.
    pub rw: bool,
    /// Host directories mounted at guest paths (`-v HOST:GUEST[:ro]`).
    pub binds: Vec<vfs::BindMount>,
    /// Physical memory size in bytes.
    pub mem_bytes: u64,
    /// Environment overrides (`-e K=V`), applied over the host's environment.
    pub env: Vec<(OsString, OsString)>,
    /// The guest's initial working directory (default: the host's, when it exists in the guest).
    pub workdir: Option<PathBuf>,
    /// Print each syscall (strace-like) on stderr.
    pub trace: bool,
    /// Scheduling policy.
    pub sched: PolicyKind,
    /// Most guest processes (0: no limit).
    pub max_pids: usize,
    /// `--net host`: guest inet sockets are host sockets (else the instance's own
    /// loopback network).
    pub net_host: bool,
    /// Published ports (`-p`): host listeners whose connections go to guest ports.
    pub publish: Vec<Publish>,
    /// Trap mechanism.
    pub trap: runner::TrapKind,
    /// Who the guest starts as (`--user NAME|UID[:GROUP|GID]`; `None`: root).
    pub user: Option<String>,
    /// How the host realises the address spaces (`--mm`).
    pub mm: mm::backend::MmKind,
    /// Record the messages that cross service boundaries to this file (`--record`).
    pub record: Option<PathBuf>,
    /// Where the services run: the kernel's loop, or threads of their own (`--deploy`).
    pub deploy: sched::Deploy,
    /// The command and its arguments.
    pub argv: Vec<OsString>,
}

/// Why a run ended without a guest exit status.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The program could not be started (message for the user, exit code).
    #[error("{0}")]
    Start(#[from] StartError),
    /// A host-side failure of the runner or trap mechanism.
    #[error("host failure: {0}")]
    Runner(#[from] RunnerError),
    /// The record log could not be written.
    #[error("record log: {0}")]
    Record(std::io::Error),
    /// A replay left the recorded run ([`replay_run`] reports where).
    #[error("the replay diverged from the recorded run")]
    Diverged,
    /// The stub running a guest disappeared.
    #[error("the stub process of pid {0} died unexpectedly ({1:?})")]
    StubDied(i32, trap::HostExit),
}

/// One guest thread: the kernel's side of it (its process is in the process table). Tasks
/// are keyed by tid; a process's leader has tid = pid.
struct Task {
    /// Its process (thread group).
    tgid: i32,
    /// Its registers while it is not running.
    regs: UserRegs,
    /// The task blocked in a syscall; when woken, the syscall runs again before the task
    /// returns to user mode.
    restart: bool,
    /// What the blocked syscall keeps across restarts (deadline, progress).
    restart_block: syscall::RestartBlock,
    /// FP state to put back before the task runs again (a vfork parent whose child borrowed
    /// its address space).
    saved_fp: Option<trap::XState>,
}

impl Task {
    fn new(regs: UserRegs, tgid: i32) -> Task {
        Task {
            tgid,
            regs,
            restart: false,
            restart_block: Default::default(),
            saved_fp: None,
        }
    }
}

/// The booted kernel.
pub struct Kernel {
    mm: MmService,
    vfs: VfsService,
    runner: Box<dyn Runner>,
    /// The scheduler service: run queue, wait queues, timers.
    sched: sched::SchedService,
    /// The monotonic clock the scheduler's messages count in.
    clock: sched::Clock,
    procs: ProcessTable,
    /// Keyed by small kernel-made ids, so hashed with a fast non-keyed hash.
    tasks: rustc_hash::FxHashMap<TaskId, Task>,
    /// How many processes use each address space (a vfork child borrows its parent's,
    /// a `CLONE_VM` child shares it).
    mm_users: HashMap<MmId, usize>,
    /// Signals the user sends to uml, and the pipe that wakes an idle kernel.
    host: host::HostSignals,
    /// Host streams blocked tasks wait for, by wait id.
    host_watch: std::collections::BTreeMap<u64, vfs::FileRef>,
    /// Published ports and their relayed connections.
    ports: publish::Ports,
    trace: trace::Tracer,
    /// Where messages are recorded (`--record`).
    recorder: Option<record::Recorder>,
}

/// How the first process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

impl ExitStatus {
    /// The shell's view: the code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(s) => 128 + s,
        }
    }
}

impl Kernel {
    /// Boots and runs `cfg.argv` until the first process ends.
    pub fn run(cfg: &Config) -> Result<ExitStatus, KernelError> {
        let (trap, single) = (cfg.trap, cfg.mm.is_single());
        Kernel::run_with(cfg, move |phys| runner::new_runner(trap, phys, single))
    }

    /// Boots and runs `cfg.argv` until the first process ends, with the runner `new_runner`
    /// makes over physical memory instead of `cfg.trap`'s (e.g. a
    /// [`runner::fake::ScriptedRunner`], which plays scripted traps: the kernel's tests).
    pub fn run_with(
        cfg: &Config,
        new_runner: impl FnOnce(BorrowedFd<'_>) -> Result<Box<dyn Runner>, RunnerError> + Send + 'static,
    ) -> Result<ExitStatus, KernelError> {
        let recorder = match &cfg.record {
            Some(path) => {
                let flags = std::env::args().collect();
                let header = record::Header::new(flags, cfg.sched, cfg.mem_bytes, cfg.mm);
                let r = record::Recorder::create(path, &header)
                    .map_err(|e| StartError::host(&format!("record log {}", path.display()), e))?;
                // The host inputs of the run are logged from its first on.
                nondet::record();
                Some(r)
            }
            None => None,
        };
        let status = Kernel::run_recorded(cfg, new_runner, recorder);
        if cfg.record.is_some() {
            nondet::live();
        }
        status
    }

    /// Boots and runs with `recorder` logging (or, replaying, checking) the messages.
    fn run_recorded(
        cfg: &Config,
        new_runner: impl FnOnce(BorrowedFd<'_>) -> Result<Box<dyn Runner>, RunnerError> + Send + 'static,
        recorder: Option<record::Recorder>,
    ) -> Result<ExitStatus, KernelError> {
        let mut k = boot::boot(cfg, new_runner, recorder)?;
        let status = k.main_loop();
        k.flush_logs();
        if let Some(r) = k.recorder.take() {
            r.finish().map_err(KernelError::Record)?;
        }
        status
    }

    /// Replaying: whether the run left the recorded one (the main loop then stops).
    fn diverged(&mut self) -> bool {
        let Some(c) = self.recorder.as_mut().and_then(|r| r.checker()) else {
            return false;
        };
        c.diverged() || nondet::divergence().is_some()
    }

    /// Writes the messages mm, vfs and the runner logged since the last flush to the record log.
    fn flush_logs(&mut self) {
        if let Some(rec) = self.recorder.as_mut() {
            rec.write_logs(
                &mut self.mm,
                &self.vfs,
                self.runner.as_mut(),
                self.clock.now(),
            );
        }
    }

    /// Sends `msg` to the scheduler (and records both when recording).
    fn sched_call(&mut self, msg: sched::SchedMsg) -> sched::SchedReply {
        if self.recorder.is_none() {
            return self.sched.call(msg);
        }
        self.flush_logs();
        let Some(rec) = self.recorder.as_mut() else {
            return self.sched.call(msg);
        };
        let reply = self.sched.call(msg.clone());
        rec.write(&record::Entry::Sched {
            at: self.clock.now(),
            msg,
            reply: reply.clone(),
        });
        reply
    }
}
