//! Trap mechanisms: how uml learns that guest code stopped, and why.
//!
//! What it owns: turning host stops of a guest thread into one event type, [`Trap`]; access
//! to the stopped thread's general registers ([`abi::structs::UserRegs`]) and FP/XSTATE
//! ([`XState`]); the ptrace mechanism ([`ptrace`]) and the host-independent half of the
//! seccomp mechanism ([`seccomp`], whose docs hold the argument that it is as secure as
//! ptrace); reading the host CPU's time-stamp counter ([`tsc`]), the clock guests read directly.
//!
//! Invariants:
//! - Registers and FP state are only read or written while the thread is in a ptrace stop
//!   (the [`ptrace::Tracee`] methods are only called after [`ptrace::Tracee::wait`] returned a
//!   stop; the runner keeps that discipline).
//! - The FP state is always transferred with the host's exact XSAVE size, probed once with
//!   `PTRACE_GETREGSET NT_X86_XSTATE` ([`ptrace::Tracee::probe_xstate_size`]); a set with any
//!   other size fails with `EFAULT` on hosts with AMX.
//! - A host failure (ptrace error, the stub died) is a [`TrapError`], never a guest errno.
//!
//! Messages: [`Trap`] (what happened), produced by [`ptrace::Tracee::run_until_trap`] for
//! the ptrace mechanism and by the seccomp stub's report (read by the runner, decoded with
//! [`seccomp`]'s frame layout); it reaches the kernel in the runner's reply
//! (`runner::RunnerReply::Trapped`, with the registers at the trap). [`XState`] travels in
//! the runner's FP messages.
//!
//! The mechanism seam: [`GuestThread`], a guest thread stopped under a mechanism — run it
//! with given registers until it traps, read or write its FP state. [`ptrace::Tracee`]
//! implements it here; the seccomp mechanism's thread (its stub's frame, reached through a
//! region shared with the kernel, so `unsafe`) implements it in `runner::seccomp`. Runners
//! drive guest threads only through this trait, and the runner crate's tests
//! (`runner/tests/stub.rs`) run each check with both mechanisms. Which mechanism runs is chosen at run time
//! (`--trap`, `runner::TrapKind`) by picking the runner that holds its threads: the two
//! differ mostly in how their stubs live (traced host threads per guest thread vs one
//! untraced guest thread, a shared region and a mapper thread), which stays in the runners.
#![deny(unsafe_code)]

pub mod ptrace;
pub mod seccomp;
pub mod tsc;
mod xstate;

use abi::structs::UserRegs;
use serde::{Deserialize, Serialize};

pub use xstate::XState;

/// A guest thread stopped under a trap mechanism: what a runner needs of the mechanism.
/// Only called while the thread is stopped (between traps).
pub trait GuestThread {
    /// Runs the thread with registers `regs` until it traps; `regs` then holds its
    /// registers at the trap (unchanged if the host process is gone).
    fn run(&mut self, regs: &mut UserRegs) -> Result<Trap, TrapError>;
    /// Reads its FP/XSTATE into `xs`, which has the host's XSAVE size.
    fn get_fp(&mut self, xs: &mut XState) -> Result<(), TrapError>;
    /// Writes its FP/XSTATE from `xs`, which has the host's XSAVE size.
    fn set_fp(&mut self, xs: &XState) -> Result<(), TrapError>;
}

/// Why guest code stopped running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trap {
    /// The guest made a syscall (number in `orig_rax`); it has not been executed.
    Syscall,
    /// A memory access fault the kernel may resolve.
    Fault {
        /// Faulting address (`si_addr`).
        addr: u64,
        /// True if the page was mapped but the access was not allowed (`SEGV_ACCERR`).
        present: bool,
        /// The x86 page-fault error code (`X86_PF_WRITE` = 2, `X86_PF_INSTR` = 16, ...)
        /// where the mechanism reports it (seccomp: the signal frame's `err`; ptrace
        /// cannot), so that a store to an absent page is resolved writable at once.
        error_code: Option<u32>,
    },
    /// A synchronous or host-sent signal that is not a resolvable fault.
    Signal(SignalInfo),
    /// The guest ran out its time slice (preemption).
    Interrupted,
    /// The host process running the guest is gone.
    Exited(HostExit),
}

/// A signal as the host reported it for the guest thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalInfo {
    /// Signal number.
    pub signo: i32,
    /// `si_code`.
    pub code: i32,
    /// `si_addr` for fault signals, else 0.
    pub addr: u64,
}

/// How a host process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostExit {
    /// It called exit with this status.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

/// A host-side failure of the trap mechanism (not a guest error).
#[derive(Debug, thiserror::Error)]
pub enum TrapError {
    /// A ptrace request failed.
    #[error("ptrace {request} on host pid {pid}: {errno}")]
    Ptrace {
        /// The request's name.
        request: &'static str,
        /// Host pid of the tracee.
        pid: i32,
        /// Host errno.
        errno: nix::errno::Errno,
    },
    /// `waitpid` failed.
    #[error("waitpid on host pid {pid}: {errno}")]
    Wait {
        /// Host pid waited for.
        pid: i32,
        /// Host errno.
        errno: nix::errno::Errno,
    },
}
