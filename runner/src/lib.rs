//! The runner: the host processes that execute guest code.
//!
//! What it owns: stub processes (see [`stub`]) and the choice of which one runs. It offers
//! the two operations of the 2002 UML runner, [`Runner::switch_mm`] and [`Runner::resume`],
//! over address spaces described by [`mm::MmFd`] (the /proc/mm protocol): before resuming,
//! the ops queued on the `MmFd` are applied to the host process in batches.
//!
//! Realisations (chosen at run time): [`PerProcess`] — one stub host process per guest
//! address space (SKAS0-style; a switch is free), trapping with ptrace; [`seccomp::Seccomp`]
//! — the same processes, trapping with a seccomp filter and a signal handler in the stub
//! (no ptrace stop on the hot path; a switch parks the stub left behind). A `single` runner whose one host process
//! is rewritten on each switch is planned behind the same trait.
//!
//! Invariants:
//! - A stub's host address space holds only the stub image, its data page, and guest memory
//!   mapped from physical memory; it is started by `execveat` of a sealed memfd, so nothing
//!   of the kernel process is inherited. Its only fd is physical memory (fd 3).
//! - Stubs die with the kernel: `PR_SET_PDEATHSIG(SIGKILL)` and (ptrace) `PTRACE_O_EXITKILL`.
//!   Seccomp stubs have no fd at all in their guest thread; physical memory is held by
//!   their mapper thread's own fd table.
//! - All ptrace requests are made from the thread that created the stubs (the kernel loop).
//! - A failure here is a host error ([`RunnerError`]), never a guest errno.
#![deny(unsafe_code)]

pub mod seccomp;
pub mod stub;

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use abi::structs::UserRegs;
use mm::{MmFd, MmId};
use trap::{Trap, TrapError, XState};

use stub::{Stub, StubImage};

pub use stub::{STUB_CODE, STUB_DATA};

/// A host-side failure of the runner.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A host call failed.
    #[error("{what}: {errno}")]
    Host {
        /// What was being done.
        what: &'static str,
        /// Host errno.
        errno: nix::errno::Errno,
    },
    /// The trap mechanism failed.
    #[error(transparent)]
    Trap(#[from] TrapError),
    /// A stub did not start as expected.
    #[error("stub start: {0}")]
    StubStart(String),
    /// A syscall run by a stub on the kernel's behalf failed.
    #[error("stub syscall {nr} failed with host errno {errno}")]
    StubSyscall {
        /// Host syscall number.
        nr: u64,
        /// Host errno.
        errno: i32,
    },
}

/// Which trap mechanism runs guest code (`uml run --trap=...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TrapKind {
    /// `PTRACE_SYSEMU`: one host stop per guest syscall.
    #[default]
    Ptrace,
    /// A seccomp filter and signal handlers in the stub; no ptrace stop on the hot path.
    Seccomp,
}

impl std::str::FromStr for TrapKind {
    type Err = String;
    fn from_str(s: &str) -> Result<TrapKind, String> {
        match s {
            "ptrace" => Ok(TrapKind::Ptrace),
            "seccomp" => Ok(TrapKind::Seccomp),
            _ => Err(format!("unknown trap mechanism {s:?} (ptrace or seccomp)")),
        }
    }
}

/// What every runner keeps: its own descriptor of physical memory, and the stub-pid log the
/// isolation tests read (`UML_DEBUG_STUB_PIDS_FILE`, a debugging aid).
pub(crate) fn runner_resources(
    phys: BorrowedFd<'_>,
) -> Result<(OwnedFd, Option<std::fs::File>), RunnerError> {
    let phys = phys.try_clone_to_owned().map_err(|e| RunnerError::Host {
        what: "dup physical memory fd",
        errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)),
    })?;
    let pid_log = std::env::var_os("UML_DEBUG_STUB_PIDS_FILE").and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    Ok((phys, pid_log))
}

/// A runner for `kind` whose stubs map guest memory from `phys`.
pub fn new_runner(kind: TrapKind, phys: BorrowedFd<'_>) -> Result<Box<dyn Runner>, RunnerError> {
    match kind {
        TrapKind::Ptrace => Ok(Box::new(PerProcess::new(phys)?)),
        TrapKind::Seccomp => Ok(Box::new(seccomp::Seccomp::new(phys)?)),
    }
}

/// The runner interface: run guest code of a given address space until it traps.
pub trait Runner {
    /// Makes `mm` the address space the next [`Runner::resume`] runs in, applying its
    /// queued host ops.
    fn switch_mm(&mut self, mm: &mut MmFd) -> Result<(), RunnerError>;
    /// Runs the guest thread with registers `regs` in `mm` until it traps; `regs` then holds
    /// the registers at the trap.
    fn resume(&mut self, mm: &mut MmFd, regs: &mut UserRegs) -> Result<Trap, RunnerError>;
    /// Reads the FP/XSTATE of the guest thread last stopped in `mm`.
    fn get_fpregs(&mut self, mm: MmId) -> Result<XState, RunnerError>;
    /// Writes the FP/XSTATE of the guest thread of `mm`.
    fn set_fpregs(&mut self, mm: MmId, xs: &XState) -> Result<(), RunnerError>;
    /// Destroys the host side of an address space.
    fn release(&mut self, mm: MmId);
    /// The host pid of the stub running `mm`, if it has one (for tests and diagnostics).
    fn host_pid(&self, mm: MmId) -> Option<i32>;
}

/// One stub host process per guest address space.
pub struct PerProcess {
    image: StubImage,
    phys: OwnedFd,
    stubs: HashMap<MmId, Stub>,
    xstate_size: Option<usize>,
    pid_log: Option<std::fs::File>,
}

impl PerProcess {
    /// A runner whose stubs map guest memory from `phys` (physical memory).
    pub fn new(phys: BorrowedFd<'_>) -> Result<PerProcess, RunnerError> {
        let (phys, pid_log) = runner_resources(phys)?;
        Ok(PerProcess {
            image: StubImage::new()?,
            phys,
            stubs: HashMap::new(),
            xstate_size: None,
            pid_log,
        })
    }

    fn stub(&mut self, mm: &mut MmFd) -> Result<&mut Stub, RunnerError> {
        let id = mm.id();
        if !self.stubs.contains_key(&id) {
            let stub = Stub::spawn(&self.image, self.phys.as_fd())?;
            if let Some(log) = self.pid_log.as_mut() {
                let _ = writeln!(log, "{}", stub.pid());
            }
            self.stubs.insert(id, stub);
        }
        let stub = self
            .stubs
            .get_mut(&id)
            .ok_or(RunnerError::StubStart("stub vanished".into()))?;
        let ops = mm.take_pending();
        stub.apply(&ops)?;
        Ok(stub)
    }

    fn xstate_size(&mut self, mm: MmId) -> Result<usize, RunnerError> {
        if let Some(n) = self.xstate_size {
            return Ok(n);
        }
        let stub = self
            .stubs
            .get(&mm)
            .ok_or(RunnerError::StubStart("no stub".into()))?;
        let n = stub.tracee().probe_xstate_size()?;
        self.xstate_size = Some(n);
        Ok(n)
    }
}

impl Runner for PerProcess {
    fn switch_mm(&mut self, mm: &mut MmFd) -> Result<(), RunnerError> {
        self.stub(mm).map(|_| ())
    }

    fn resume(&mut self, mm: &mut MmFd, regs: &mut UserRegs) -> Result<Trap, RunnerError> {
        let stub = self.stub(mm)?;
        stub.fix_segments(regs);
        let tracee = stub.tracee();
        tracee.set_regs(regs)?;
        let trap = tracee.run_until_trap()?;
        if !matches!(trap, Trap::Exited(_)) {
            *regs = tracee.get_regs()?;
        }
        Ok(trap)
    }

    fn get_fpregs(&mut self, mm: MmId) -> Result<XState, RunnerError> {
        let mut xs = XState::zeroed(self.xstate_size(mm)?);
        let stub = self
            .stubs
            .get(&mm)
            .ok_or(RunnerError::StubStart("no stub".into()))?;
        stub.tracee().get_xstate(&mut xs)?;
        Ok(xs)
    }

    fn set_fpregs(&mut self, mm: MmId, xs: &XState) -> Result<(), RunnerError> {
        let stub = self
            .stubs
            .get(&mm)
            .ok_or(RunnerError::StubStart("no stub".into()))?;
        stub.tracee().set_xstate(xs)?;
        Ok(())
    }

    fn release(&mut self, mm: MmId) {
        if let Some(stub) = self.stubs.remove(&mm) {
            stub.kill();
        }
    }

    fn host_pid(&self, mm: MmId) -> Option<i32> {
        self.stubs.get(&mm).map(Stub::pid)
    }
}
