//! The seed's model (`uml run --mm single`): one host process runs every guest address
//! space in turn.
//!
//! [`Single`] wraps the runner of a trap mechanism and gives it one address space, [`HOST`],
//! whatever space the kernel names: every guest thread of every process runs in that one
//! stub. What makes the stub hold the right space is in the ops that come with each
//! message: on a switch, mm's [`Single`](mm::backend::Single) backend sends the difference
//! between what the stub maps and the target's image (unmap what the target lacks, map what
//! it maps otherwise), so after it no page of the previous space is reachable unless the
//! target maps that very page at that address too. Releasing a guest space releases nothing in the host; the stub lives until the
//! kernel ends, and with it the instance is exactly two host processes. If the stub dies
//! (killed from outside, or a mapping it could not make), the trap says so for the guest
//! thread that was to run, and the next message starts a new stub: mm rebuilds whichever
//! space comes next in it.

use mm::{MmId, MmOp};
use trap::{HostExit, Trap, XState};

use abi::structs::UserRegs;

use crate::{Runner, RunnerError};

/// The one space the wrapped runner knows.
pub const HOST: MmId = MmId(u64::MAX);

/// A runner whose guest spaces all run in one host process.
pub struct Single {
    inner: Box<dyn Runner>,
    /// The guest space whose code ran last in the host process.
    last: Option<MmId>,
    /// A switch failed: the next resume reports the host process lost.
    lost: bool,
}

impl Single {
    /// Runs every space in one host process of `inner`'s mechanism.
    pub fn new(inner: Box<dyn Runner>) -> Single {
        Single {
            inner,
            last: None,
            lost: false,
        }
    }
}

impl Single {
    /// Before `mm`'s ops rewrite the host process for another guest: the guest that ran
    /// there last is quiesced (a seccomp stub is parked), so that none of its code runs
    /// while the next guest's pages are mapped in.
    fn enter(&mut self, mm: MmId) {
        if self.last.is_some_and(|l| l != mm) {
            self.inner.quiesce(HOST);
        }
        self.last = Some(mm);
    }

    /// Replaces the host process after a failed switch (killed; the next message starts
    /// another) and makes the next resume report the guest that was to run lost.
    fn lose_host(&mut self) {
        self.inner.release(HOST);
        self.last = None;
        self.lost = true;
    }

    /// Starts the host process if there is none (the first, or after one died): its guest
    /// range is filled by the ops of the next resume.
    fn host(&mut self) -> Result<(), RunnerError> {
        if self.inner.host_pid(HOST).is_none() {
            self.inner.switch_mm(HOST, &[])?;
        }
        Ok(())
    }
}

impl Runner for Single {
    fn switch_mm(&mut self, mm: MmId, ops: &[MmOp]) -> Result<(), RunnerError> {
        self.enter(mm);
        if let Err(e) = self.inner.switch_mm(HOST, ops) {
            // The host process's memory is not what mm thinks: the guest that was to run
            // there is lost (its resume says so), the host process is replaced.
            tracing::warn!("runner switch failed: {e}");
            self.lose_host();
        }
        Ok(())
    }

    fn resume(
        &mut self,
        mm: MmId,
        ops: &[MmOp],
        tid: i32,
        regs: &mut UserRegs,
    ) -> Result<Trap, RunnerError> {
        self.enter(mm);
        if std::mem::take(&mut self.lost) {
            return Ok(Trap::Exited(HostExit::Signal(libc::SIGKILL)));
        }
        let pid = self.inner.host_pid(HOST);
        let result = self.inner.resume(HOST, ops, tid, regs);
        // A dead host process shows as a failed request (ptrace), a killed guest (seccomp)
        // or an exit: look at the process only then, not on every trap.
        let suspect = match &result {
            Ok(Trap::Exited(_)) | Err(_) => true,
            Ok(Trap::Signal(info)) => info.signo == libc::SIGKILL,
            Ok(_) => false,
        };
        if suspect && pid.is_some_and(gone) {
            // The next message starts another host process.
            self.inner.release(HOST);
            self.last = None;
            return Ok(Trap::Exited(HostExit::Signal(libc::SIGKILL)));
        }
        if let Err(e) = result {
            // A failed request (a mapping the host refused) leaves the host process in an
            // unknown state: it is replaced, and the guest that was to run is lost.
            tracing::warn!("runner request failed: {e}");
            self.inner.release(HOST);
            self.last = None;
            return Ok(Trap::Exited(HostExit::Signal(libc::SIGKILL)));
        }
        result
    }

    fn get_fpregs(&mut self, _mm: MmId, tid: i32) -> Result<XState, RunnerError> {
        self.host()?;
        self.inner.get_fpregs(HOST, tid)
    }

    fn set_fpregs(&mut self, _mm: MmId, tid: i32, xs: &XState) -> Result<(), RunnerError> {
        self.host()?;
        self.inner.set_fpregs(HOST, tid, xs)
    }

    fn release_thread(&mut self, _mm: MmId, tid: i32) {
        self.inner.release_thread(HOST, tid);
    }

    fn release(&mut self, _mm: MmId) {
        // The host process outlives every guest space; the next switch rewrites it.
    }

    fn host_pid(&self, _mm: MmId) -> Option<i32> {
        self.inner.host_pid(HOST)
    }
}

/// Whether host process `pid` has died (it is gone or a zombie).
fn gone(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    match stat.rsplit_once(')') {
        Some((_, rest)) => matches!(rest.trim_start().chars().next(), Some('Z' | 'X') | None),
        None => true,
    }
}
