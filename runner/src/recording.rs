//! A runner that logs its traffic (`uml run --record`): it wraps the runner of the trap
//! mechanism, hands every message to it, and keeps each message with its reply until the
//! kernel takes them for the record log ([`Runner::take_log`]).

use abi::structs::UserRegs;
use mm::{MmId, MmOp};
use trap::{Trap, XState};

use crate::{Runner, RunnerError, RunnerMsg, RunnerReply};

/// A runner whose messages are logged.
pub struct Recording {
    inner: Box<dyn Runner>,
    log: Vec<(RunnerMsg, RunnerReply)>,
}

impl Recording {
    /// Logs the traffic of `inner`.
    pub fn new(inner: Box<dyn Runner>) -> Recording {
        Recording {
            inner,
            log: Vec::new(),
        }
    }
}

impl Runner for Recording {
    fn handle(&mut self, msg: RunnerMsg) -> Result<RunnerReply, RunnerError> {
        let reply = self.inner.handle(msg.clone())?;
        self.log.push((msg, reply.clone()));
        Ok(reply)
    }

    fn take_log(&mut self) -> Vec<(RunnerMsg, RunnerReply)> {
        std::mem::take(&mut self.log)
    }

    fn switch_mm(&mut self, mm: MmId, ops: &[MmOp]) -> Result<(), RunnerError> {
        let msg = RunnerMsg::SwitchMm {
            mm,
            ops: ops.to_vec(),
        };
        self.handle(msg).map(drop)
    }

    fn resume(
        &mut self,
        mm: MmId,
        ops: &[MmOp],
        tid: i32,
        regs: &mut UserRegs,
    ) -> Result<Trap, RunnerError> {
        let msg = RunnerMsg::Resume {
            mm,
            ops: ops.to_vec(),
            tid,
            regs: *regs,
        };
        let (trap, r) = self.handle(msg)?.trapped()?;
        *regs = r;
        Ok(trap)
    }

    fn get_fpregs(&mut self, mm: MmId, tid: i32) -> Result<XState, RunnerError> {
        self.handle(RunnerMsg::GetFpregs { mm, tid })?.fpregs()
    }

    fn set_fpregs(&mut self, mm: MmId, tid: i32, xs: &XState) -> Result<(), RunnerError> {
        let msg = RunnerMsg::SetFpregs {
            mm,
            tid,
            xstate: xs.clone(),
        };
        self.handle(msg).map(drop)
    }

    fn release_thread(&mut self, mm: MmId, tid: i32) {
        if let Err(e) = self.handle(RunnerMsg::ReleaseThread { mm, tid }) {
            tracing::warn!("runner release: {e}");
        }
    }

    fn release(&mut self, mm: MmId) {
        if let Err(e) = self.handle(RunnerMsg::Release { mm }) {
            tracing::warn!("runner release: {e}");
        }
    }

    fn host_pid(&self, mm: MmId) -> Option<i32> {
        self.inner.host_pid(mm)
    }
}
