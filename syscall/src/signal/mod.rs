//! Signals: each process's dispositions, blocked mask, pending signals and alternate stack
//! ([`SigState`]), and the signal syscalls.

mod syscalls;

pub(crate) use syscalls::*;

use abi::signal::{KSigAction, SigSet, StackT};

/// The signal state of a process.
#[derive(Clone, Debug)]
pub struct SigState {
    /// Dispositions, index `signo - 1`.
    pub actions: [KSigAction; abi::signal::sig::NSIG as usize],
    /// Blocked signals.
    pub blocked: SigSet,
    /// Alternate signal stack.
    pub altstack: StackT,
}

impl Default for SigState {
    fn default() -> SigState {
        SigState { actions: [KSigAction::default(); abi::signal::sig::NSIG as usize], blocked: 0, altstack: StackT::default() }
    }
}

impl SigState {
    /// At `execve`: handled signals return to their default action (ignored ones stay
    /// ignored); the alternate stack is gone; the mask is kept.
    pub fn reset_on_exec(&mut self) {
        for act in self.actions.iter_mut() {
            if act.handler != abi::signal::SIG_IGN {
                *act = KSigAction::default();
            }
        }
        self.altstack = StackT::default();
    }
}
