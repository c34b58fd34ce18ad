//! The seed's model (`uml run --mm single`): one host process runs every guest address
//! space in turn.
//!
//! [`Single`] wraps the runner of a trap mechanism and gives it one address space, [`HOST`],
//! whatever space the kernel names: every guest thread of every process runs in that one
//! stub. What makes the stub hold the right space is in the ops that come with each
//! message: on a switch, mm's [`Single`](mm::backend::Single) backend sends "unmap all of the
//! guest range, then map the target's image", so after it no page of the previous space is
//! reachable. Releasing a guest space releases nothing in the host; the stub lives until the
//! kernel ends, and with it the instance is exactly two host processes.

use mm::{MmId, MmOp};
use trap::{Trap, XState};

use abi::structs::UserRegs;

use crate::{Runner, RunnerError};

/// The one space the wrapped runner knows.
pub const HOST: MmId = MmId(u64::MAX);

/// A runner whose guest spaces all run in one host process.
pub struct Single {
    inner: Box<dyn Runner>,
}

impl Single {
    /// Runs every space in one host process of `inner`'s mechanism.
    pub fn new(inner: Box<dyn Runner>) -> Single {
        Single { inner }
    }
}

impl Runner for Single {
    fn switch_mm(&mut self, _mm: MmId, ops: &[MmOp]) -> Result<(), RunnerError> {
        self.inner.switch_mm(HOST, ops)
    }

    fn resume(
        &mut self,
        _mm: MmId,
        ops: &[MmOp],
        tid: i32,
        regs: &mut UserRegs,
    ) -> Result<Trap, RunnerError> {
        self.inner.resume(HOST, ops, tid, regs)
    }

    fn get_fpregs(&mut self, _mm: MmId, tid: i32) -> Result<XState, RunnerError> {
        self.inner.get_fpregs(HOST, tid)
    }

    fn set_fpregs(&mut self, _mm: MmId, tid: i32, xs: &XState) -> Result<(), RunnerError> {
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
