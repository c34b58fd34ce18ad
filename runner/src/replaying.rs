//! A runner that answers from a record log (`uml replay --service syscall`): each message
//! gets the reply the recorded run's runner gave to the message at the same place in its
//! inbox. Nothing runs on the host. Whether the kernel sent the recorded messages is for
//! the replay to check (the kernel logs this runner's traffic as any other's, through
//! [`crate::recording::Recording`]); past the end of the recording it fails.

use std::collections::VecDeque;

use abi::structs::UserRegs;
use mm::{MmId, MmOp};
use trap::{Trap, XState};

use crate::{Runner, RunnerError, RunnerMsg, RunnerReply};

/// A runner playing back recorded replies.
pub struct Replaying {
    replies: VecDeque<RunnerReply>,
}

impl Replaying {
    /// A runner that gives `replies`, in order.
    pub fn new(replies: impl IntoIterator<Item = RunnerReply>) -> Replaying {
        Replaying {
            replies: replies.into_iter().collect(),
        }
    }

    fn past_the_end() -> RunnerError {
        RunnerError::Script("the recorded run's runner received no further message".into())
    }
}

impl Runner for Replaying {
    fn handle(&mut self, _msg: RunnerMsg) -> Result<RunnerReply, RunnerError> {
        self.replies.pop_front().ok_or_else(Replaying::past_the_end)
    }

    // Everything arrives through `handle`; these are the trait's typed entry points.
    fn switch_mm(&mut self, _mm: MmId, _ops: &[MmOp]) -> Result<(), RunnerError> {
        self.replies
            .pop_front()
            .map(drop)
            .ok_or_else(Replaying::past_the_end)
    }

    fn resume(
        &mut self,
        _mm: MmId,
        _ops: &[MmOp],
        _tid: i32,
        regs: &mut UserRegs,
    ) -> Result<Trap, RunnerError> {
        let reply = self
            .replies
            .pop_front()
            .ok_or_else(Replaying::past_the_end)?;
        let (trap, r) = reply.trapped()?;
        *regs = r;
        Ok(trap)
    }

    fn get_fpregs(&mut self, _mm: MmId, _tid: i32) -> Result<XState, RunnerError> {
        self.replies
            .pop_front()
            .ok_or_else(Replaying::past_the_end)?
            .fpregs()
    }

    fn set_fpregs(&mut self, _mm: MmId, _tid: i32, _xs: &XState) -> Result<(), RunnerError> {
        self.switch_mm(MmId(0), &[])
    }

    fn release_thread(&mut self, _mm: MmId, _tid: i32) {
        self.replies.pop_front();
    }

    fn release(&mut self, _mm: MmId) {
        self.replies.pop_front();
    }

    fn host_pid(&self, _mm: MmId) -> Option<i32> {
        None
    }
}
