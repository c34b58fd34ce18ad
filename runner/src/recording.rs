//! A runner that logs its traffic (`uml run --record`): it wraps the runner of the trap
//! mechanism, hands every message to it, and keeps each message with its reply until the
//! kernel takes them for the record log ([`Runner::take_log`]).

use mm::MmId;

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

    operations_as_messages!();

    fn host_pid(&self, mm: MmId) -> Option<i32> {
        self.inner.host_pid(mm)
    }
}
