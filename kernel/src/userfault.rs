//! A guest fault that is a userfaultfd context's (`mm::FaultError::Userfault`): the thread
//! is parked outside any syscall until the context resolves the fault or goes (see
//! `syscall::userfaultfd`); woken, it runs the faulting instruction again. A signal that
//! comes meanwhile wakes it too, and is delivered with the faulting instruction as the
//! place to return to, as Linux's `handle_userfault` retries the fault after the handler.

use abi::signal::{si_code, sig};
use sched::{SchedMsg, TaskId};
use syscall::signal::{SigInfo, TrapInfo};
use syscall::userfaultfd::{fault_raised, Raised};

use crate::run::tid_of;
use crate::Kernel;

impl Kernel {
    /// Thread `tid` of space `mm` faulted at `addr` (`present`: on a host-mapped page) in
    /// a range of context `ctx`, with `UFFD_PAGEFAULT_FLAG_*` `flags`.
    pub(crate) fn userfault(
        &mut self,
        tid: TaskId,
        mm: mm::MmId,
        (addr, present): (u64, bool),
        ctx: u64,
        flags: u32,
    ) {
        match fault_raised(&self.procs.userfaultfds, ctx, tid_of(tid), addr, flags) {
            Raised::Park { key, woke } => {
                if woke {
                    self.wake(key);
                }
                if !self.deliverable(tid) {
                    self.sched_call(SchedMsg::Block {
                        task: tid,
                        keys: vec![key],
                        deadline: None,
                        interruptible: true,
                        bitset: sched::MATCH_ANY,
                    });
                }
            }
            Raised::Sigbus => {
                let info = SigInfo::fault(sig::SIGBUS, si_code::BUS_ADRERR, addr);
                self.force_fault(tid, info, TrapInfo::page_fault(addr, present, false));
            }
            Raised::Gone => {
                // The context was closed: its ranges fault as any other memory; the thread
                // runs its access again.
                let op = mm::userfault::UffdOp::Release { ctx };
                let _ = self.mm.userfault(mm, op);
            }
        }
    }
}
