//! The kernel: the composition root of uml.
//!
//! What it owns: booting (physical memory, the file system, the runner, the first process)
//! and the main loop, in UML's model — one kernel thread is the CPU:
//!
//! ```text
//! loop {
//!     task = sched.next()                 // who runs, and so which address space
//!     trap = runner.resume(task)          // apply queued host mapping ops, run until a trap
//!     match trap {
//!         Syscall => syscall::dispatch    // value | exit
//!         Fault   => mm.handle_fault      // resolved | guest SIGSEGV
//!         Signal / Exited => default actions, host errors
//!     }
//! }
//! ```
//!
//! Messages: it drives `sched` with `SchedMsg`, the runner with `MmFd`s (the /proc/mm
//! protocol) and registers, and receives `Trap`s.
//!
//! Invariants: guest behaviour never panics the kernel; a host failure (a stub died, ptrace
//! failed) ends the run with a [`KernelError`] naming it, not with a guest errno.
#![forbid(unsafe_code)]

mod boot;
mod trace;

use std::ffi::OsString;
use std::path::PathBuf;

use abi::signal::sig;
use abi::structs::UserRegs;
use mm::Mm;
use runner::{PerProcess, Runner, RunnerError};
use sched::{SchedMsg, SchedReply, Scheduler, TaskId};
use syscall::{Outcome, Process, WaitKey};
use trap::Trap;
use vfs::Vfs;

pub use boot::StartError;

/// What `uml run` asks for.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Host directory that is the guest's `/`.
    pub root: PathBuf,
    /// Write through to the root instead of an in-memory overlay.
    pub rw: bool,
    /// Physical memory size in bytes.
    pub mem_bytes: u64,
    /// Environment overrides (`-e K=V`), applied over the host's environment.
    pub env: Vec<(OsString, OsString)>,
    /// The guest's initial working directory (default: the host's, when it exists in the guest).
    pub workdir: Option<PathBuf>,
    /// Print each syscall (strace-like) on stderr.
    pub trace: bool,
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
    /// The stub running the guest disappeared.
    #[error("the stub process of pid {0} died unexpectedly ({1:?})")]
    StubDied(i32, trap::HostExit),
}

/// One guest thread: its process and its registers.
struct Task {
    proc: Process,
    regs: UserRegs,
    /// The task blocked in a syscall; when woken, the syscall runs again before the task
    /// returns to user mode.
    restart: bool,
}

/// The booted kernel.
pub struct Kernel {
    mm: Mm,
    vfs: Vfs,
    runner: PerProcess,
    sched: Scheduler,
    tasks: std::collections::HashMap<TaskId, Task>,
    /// Tasks parked in a syscall, by what they wait for.
    blocked: std::collections::HashMap<WaitKey, Vec<TaskId>>,
    trace: trace::Tracer,
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
        let mut k = boot::boot(cfg)?;
        k.main_loop()
    }

    fn main_loop(&mut self) -> Result<ExitStatus, KernelError> {
        loop {
            let SchedReply::Next(Some(tid)) = self.sched.handle(SchedMsg::PickNext) else {
                if self.blocked.is_empty() {
                    return Ok(ExitStatus::Code(0));
                }
                // Every task waits for something only another task could do: as on Linux,
                // they wait forever (until uml itself is interrupted).
                loop {
                    std::thread::park();
                }
            };
            if let Some(status) = self.run_task(tid)? {
                let task = self.tasks.remove(&tid);
                self.sched.handle(SchedMsg::Remove(tid));
                if let Some(task) = task {
                    self.runner.release(task.proc.mm);
                    self.mm.destroy_space(task.proc.mm);
                }
                if tid == boot::INIT_TASK {
                    return Ok(status);
                }
            }
        }
    }

    /// Runs `tid` until it traps and handles the trap; `Some` when the task has ended.
    fn run_task(&mut self, tid: TaskId) -> Result<Option<ExitStatus>, KernelError> {
        let Some(task) = self.tasks.get_mut(&tid) else { return Ok(None) };
        let mmid = task.proc.mm;
        let trap = if std::mem::take(&mut task.restart) {
            Trap::Syscall
        } else {
            let Some(mmfd) = self.mm.mmfd(mmid) else { return Ok(Some(ExitStatus::Signal(sig::SIGKILL))) };
            self.runner.resume(mmfd, &mut task.regs)?
        };
        match trap {
            Trap::Syscall => {
                let mut ctx = syscall::Ctx::new(&mut self.mm, &self.vfs, &mut task.proc, &mut task.regs);
                let nr = ctx.regs.orig_rax;
                let args = ctx.regs.syscall_args();
                let trace = &mut self.trace;
                let outcome = syscall::dispatch(&mut ctx, &mut |nr| trace.unknown(nr));
                let wakeups = std::mem::take(&mut ctx.wakeups);
                self.trace.syscall(task.proc.pid, nr, args, outcome);
                let result = match outcome {
                    Outcome::Return(v) => {
                        task.regs.rax = v;
                        None
                    }
                    Outcome::Block(key) => {
                        task.restart = true;
                        self.sched.handle(SchedMsg::Remove(tid));
                        self.blocked.entry(key).or_default().push(tid);
                        None
                    }
                    Outcome::Exec { old_mm } => {
                        self.runner.release(old_mm);
                        self.mm.destroy_space(old_mm);
                        None
                    }
                    Outcome::ExitThread(code) | Outcome::ExitGroup(code) => Some(ExitStatus::Code(code)),
                };
                for key in wakeups {
                    for woken in self.blocked.remove(&key).unwrap_or_default() {
                        self.sched.handle(SchedMsg::Wake(woken));
                    }
                }
                Ok(result)
            }
            Trap::Fault { addr, present } => {
                match self
                    .mm
                    .handle_fault(mmid, abi::UserAddr(addr), mm::Access::Unknown, present)
                {
                    Ok(()) => Ok(None),
                    Err(mm::FaultError::Bus) => {
                        Ok(Some(self.trace.killed(task.proc.pid, sig::SIGBUS)))
                    }
                    Err(mm::FaultError::OutOfMemory) => {
                        self.trace.oom(task.proc.pid);
                        Ok(Some(ExitStatus::Signal(sig::SIGKILL)))
                    }
                    Err(mm::FaultError::Segv { .. }) => {
                        Ok(Some(self.trace.killed(task.proc.pid, sig::SIGSEGV)))
                    }
                }
            }
            // Signal delivery to guest handlers comes with processes; until then a
            // synchronous signal takes its default action, which for these is to terminate.
            Trap::Signal(info) => Ok(Some(self.trace.killed(task.proc.pid, info.signo))),
            Trap::Interrupted => Ok(None),
            Trap::Exited(how) => Err(KernelError::StubDied(task.proc.pid, how)),
        }
    }
}
