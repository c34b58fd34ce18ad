//! Signals: each process's dispositions and shared pending signals, and each thread's blocked
//! mask, own pending signals and alternate stack ([`SigState`], with [`ThreadSig`] for the
//! threads that are not current), the typed `siginfo_t` ([`SigInfo`]), the x86-64 signal frame
//! ([`setup_rt_frame`], [`restore_rt_frame`]) and the signal syscalls.
//!
//! The rules are Linux's (`kernel/signal.c`):
//! - Generation ([`SigState::send`]): a signal that is ignored (`SIG_IGN`, or `SIG_DFL` with
//!   a default action of ignore) is discarded at once unless it is blocked (its handler may
//!   change before it is unblocked). `SIGCONT` discards pending stop signals and a stop
//!   signal discards a pending `SIGCONT`. A standard signal (1..31) is pending at most once
//!   (a second one is lost); real-time signals (32..64) queue in order with their siginfo.
//! - Delivery ([`SigState::dequeue`]): the lowest-numbered unblocked pending signal, the
//!   synchronous ones (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGTRAP`, `SIGFPE`, `SIGSYS`) first,
//!   the thread's own before the process's; ignored ones are consumed silently.
//! - Threads: [`SigState::send`] queues a process-directed signal (`kill`) in the shared
//!   set, which any thread that does not block it takes; [`SigState::send_thread`] and
//!   [`SigState::force`] queue in the current thread's own set (`tgkill`, faults). A
//!   [`SigState`] holds the per-thread part of one thread, its process's *current* thread;
//!   the others' are parked in [`ThreadSig`]s and exchanged with [`SigState::swap_thread`]
//!   (see `Process::sig_of`).
//! - Faults ([`SigState::force`]): a fault signal that is blocked or ignored is reset to
//!   `SIG_DFL` and unblocked, so it kills.
//!
//! How the kernel loop uses this, per task, before it returns to user mode:
//! 1. finish the syscall (value in `rax`; an interrupted one gets `EINTR` or is restarted);
//! 2. `while let Some((info, disp)) = sig.dequeue()`: a handler → [`setup_rt_frame`] with
//!    the current FP state (`sig.fpu_load` if set, else the host's) — on `Err`,
//!    [`SigState::force_sigsegv`]`(info.signo)` and loop; `Stop` → stop the process (and
//!    tell the parent); `Terminate`/`CoreDump` → the process dies of `info.signo`;
//! 3. if no handler ran, [`SigState::restore_saved_mask`] (after `rt_sigsuspend`);
//! 4. if `sig.fpu_load.take()` is `Some(image)`, load it into the FPU before resuming.

mod frame;
mod siginfo;
mod syscalls;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;

pub use frame::{
    fit_fpstate, init_fpstate, restore_rt_frame, setup_rt_frame, XstateInfo, FP_XSTATE_MAGIC1,
    FP_XSTATE_MAGIC2, RT_SIGFRAME_SIZE,
};
pub use siginfo::*;
pub(crate) use syscalls::*;

use abi::signal::{
    sa, sig, KSigAction, SigSet, StackT, SIG_DFL, SIG_IGN, SS_AUTODISARM, SS_DISABLE,
};
use abi::signal::{MINSIGSTKSZ, SS_FLAG_BITS, SS_ONSTACK};
use abi::Errno;

/// The bit of `signo` in a [`SigSet`] (0 for an invalid number).
pub const fn sigmask(signo: i32) -> SigSet {
    if signo >= 1 && signo <= sig::NSIG {
        1u64 << (signo - 1)
    } else {
        0
    }
}

/// `SIGKILL` and `SIGSTOP`: they cannot be blocked, caught or ignored.
pub const UNBLOCKABLE: SigSet = sigmask(sig::SIGKILL) | sigmask(sig::SIGSTOP);
/// Signals dequeued before all others (Linux's `SYNCHRONOUS_MASK`).
pub const SYNCHRONOUS_MASK: SigSet = sigmask(sig::SIGSEGV)
    | sigmask(sig::SIGBUS)
    | sigmask(sig::SIGILL)
    | sigmask(sig::SIGTRAP)
    | sigmask(sig::SIGFPE)
    | sigmask(sig::SIGSYS);
/// Signals whose default action is to stop (`SIG_KERNEL_STOP_MASK`).
pub const STOP_MASK: SigSet =
    sigmask(sig::SIGSTOP) | sigmask(sig::SIGTSTP) | sigmask(sig::SIGTTIN) | sigmask(sig::SIGTTOU);
/// Signals ignored by default (`SIG_KERNEL_IGNORE_MASK`; `SIGCONT` continues at generation).
pub const KERNEL_IGNORE_MASK: SigSet =
    sigmask(sig::SIGCONT) | sigmask(sig::SIGCHLD) | sigmask(sig::SIGWINCH) | sigmask(sig::SIGURG);
/// Signals whose default action dumps core (`SIG_KERNEL_COREDUMP_MASK`).
pub const COREDUMP_MASK: SigSet = sigmask(sig::SIGQUIT)
    | sigmask(sig::SIGILL)
    | sigmask(sig::SIGTRAP)
    | sigmask(sig::SIGABRT)
    | sigmask(sig::SIGFPE)
    | sigmask(sig::SIGSEGV)
    | sigmask(sig::SIGBUS)
    | sigmask(sig::SIGSYS)
    | sigmask(sig::SIGXCPU)
    | sigmask(sig::SIGXFSZ);

/// Most siginfo entries a process may have queued (`RLIMIT_SIGPENDING` default here).
/// Beyond it a real-time signal from `sigqueue` fails with `EAGAIN`; one from `kill` is
/// still made pending without its siginfo, as on Linux.
pub const QUEUE_MAX: usize = 4096;

/// What `SIG_DFL` does for a signal (`man 7 signal`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DefaultAction {
    /// The process terminates.
    Terminate,
    /// The process terminates and dumps core (we never write a core file).
    CoreDump,
    /// The process stops.
    Stop,
    /// A stopped process continues (at generation; nothing is left to deliver).
    Continue,
    /// Nothing happens.
    Ignore,
}

/// The default action of `signo` (a real-time signal terminates).
pub fn default_action(signo: i32) -> DefaultAction {
    let m = sigmask(signo);
    if signo == sig::SIGCONT {
        DefaultAction::Continue
    } else if m & KERNEL_IGNORE_MASK != 0 {
        DefaultAction::Ignore
    } else if m & STOP_MASK != 0 {
        DefaultAction::Stop
    } else if m & COREDUMP_MASK != 0 {
        DefaultAction::CoreDump
    } else {
        DefaultAction::Terminate
    }
}

/// What to do with a dequeued signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Run this handler (a copy of the action as it was when dequeued; `SA_RESETHAND` has
    /// already reset the installed one). Build the frame with [`setup_rt_frame`].
    Handler(KSigAction),
    /// Take the default action: only `Terminate`, `CoreDump` or `Stop` are returned.
    Default(DefaultAction),
}

/// The hardware-trap details Linux keeps per thread (`thread.trap_nr`, `error_code`,
/// `cr2`) and reports in every signal frame's `sigcontext`, stale or not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrapInfo {
    /// Exception vector (14 page fault, 13 general protection, 6 invalid opcode, 3 int3,
    /// 0 divide error).
    pub trapno: u64,
    /// Error code (for page faults: 1 protection, 2 write, 4 user, 16 instruction fetch).
    pub err: u64,
    /// Faulting address of the last page fault.
    pub cr2: u64,
}

impl TrapInfo {
    /// `#PF` vector.
    pub const PAGE_FAULT: u64 = 14;

    /// A user-mode page fault at `addr`: `present` for a protection fault, `write` when
    /// known to be a write.
    pub fn page_fault(addr: u64, present: bool, write: bool) -> TrapInfo {
        TrapInfo {
            trapno: Self::PAGE_FAULT,
            err: 4 | u64::from(present) | (u64::from(write) << 1),
            cr2: addr,
        }
    }
}

/// A set of pending signals with their siginfo.
#[derive(Clone, Debug, Default)]
pub struct Pending {
    /// Pending signals, bit `n-1` for signal `n`.
    set: SigSet,
    /// Siginfo of the pending signals, oldest first (at most one per standard signal).
    queue: VecDeque<SigInfo>,
}

impl Pending {
    /// Drops every pending instance of the signals in `mask`.
    fn flush(&mut self, mask: SigSet) {
        if self.set & mask == 0 {
            return;
        }
        self.set &= !mask;
        self.queue.retain(|i| sigmask(i.signo) & mask == 0);
    }

    /// Removes one pending `signo` and returns its siginfo (`collect_signal`).
    fn collect(&mut self, signo: i32) -> SigInfo {
        let m = sigmask(signo);
        let mut found = None;
        let mut more = false;
        for (i, q) in self.queue.iter().enumerate() {
            if q.signo == signo {
                if found.is_some() {
                    more = true;
                    break;
                }
                found = Some(i);
            }
        }
        if !more {
            self.set &= !m;
        }
        match found.and_then(|i| self.queue.remove(i)) {
            Some(info) => info,
            None => SigInfo::user(signo, 0, 0),
        }
    }
}

/// The per-thread part of [`SigState`] of a thread that is not its process's current one.
#[derive(Clone, Debug)]
pub struct ThreadSig {
    blocked: SigSet,
    altstack: StackT,
    pending: Pending,
    saved_mask: Option<SigSet>,
    wait_set: SigSet,
    trap: TrapInfo,
    fpu_load: Option<Vec<u8>>,
}

impl Default for ThreadSig {
    fn default() -> ThreadSig {
        ThreadSig {
            blocked: 0,
            altstack: DISABLED_STACK,
            pending: Pending::default(),
            saved_mask: None,
            wait_set: 0,
            trap: TrapInfo::default(),
            fpu_load: None,
        }
    }
}

impl ThreadSig {
    /// Whether this thread would take `signo` now (it does not block it, or waits for it).
    pub fn accepts(&self, signo: i32) -> bool {
        let m = sigmask(signo);
        self.blocked & m == 0 || self.wait_set & m != 0
    }
}

/// The signal state of a process (dispositions, shared pending signals) and of its current
/// thread (mask, own pending signals, alternate stack, `rt_sigsuspend`/`rt_sigtimedwait`
/// state, last trap, FP image to load).
#[derive(Clone, Debug)]
pub struct SigState {
    /// Dispositions, index `signo - 1`.
    pub actions: [KSigAction; abi::signal::sig::NSIG as usize],
    /// Blocked signals (never `SIGKILL` or `SIGSTOP`).
    pub blocked: SigSet,
    /// Alternate signal stack as last set: `sp`, `size` and the raw `ss_flags` given
    /// (`SS_DISABLE` with size 0 when there is none), as Linux's `sas_ss_*`.
    pub altstack: StackT,
    /// Signals pending for the current thread alone.
    pending: Pending,
    /// Signals pending for the process (any thread that does not block one takes it).
    shared: Pending,
    /// The mask to restore after the next delivery (set by `rt_sigsuspend`).
    pub saved_mask: Option<SigSet>,
    /// Signals a `rt_sigtimedwait` sleeps for: their arrival wakes the task even while
    /// blocked (Linux's `real_blocked` dance).
    pub wait_set: SigSet,
    /// Last hardware trap, reported in signal frames.
    pub trap: TrapInfo,
    /// The host's XSAVE layout, recorded from FP images seen by [`setup_rt_frame`] (the
    /// kernel may set it at boot so a `rt_sigreturn` without a prior frame knows it).
    pub xstate: XstateInfo,
    /// Linux's `SIGNAL_UNKILLABLE` (a pid-namespace init): signals with `SIG_DFL` are
    /// ignored unless forced by the kernel. Off by default.
    pub unkillable: bool,
    /// An XSAVE image (`PTRACE_SETREGSET NT_X86_XSTATE` form) the kernel must load into
    /// the task's FPU before it runs again: the clean state a handler starts with (set by
    /// [`setup_rt_frame`]) or the state `rt_sigreturn` restored. While it is `Some`, it,
    /// not the host's, is the task's current FP state (e.g. for a second frame).
    pub fpu_load: Option<Vec<u8>>,
    /// The process is traced (`ptrace`): no signal is discarded at generation for being
    /// ignored, since the tracer is to see it (Linux's `sig_ignored`).
    pub traced: bool,
}

impl Default for SigState {
    fn default() -> SigState {
        SigState {
            actions: [KSigAction::default(); abi::signal::sig::NSIG as usize],
            blocked: 0,
            altstack: DISABLED_STACK,
            pending: Pending::default(),
            shared: Pending::default(),
            saved_mask: None,
            wait_set: 0,
            trap: TrapInfo::default(),
            xstate: XstateInfo::default(),
            unkillable: false,
            fpu_load: None,
            traced: false,
        }
    }
}

/// No alternate stack.
const DISABLED_STACK: StackT = StackT {
    sp: 0,
    flags: SS_DISABLE,
    pad: 0,
    size: 0,
};

fn valid(signo: i32) -> bool {
    (1..=sig::NSIG).contains(&signo)
}

/// Lowest signal of `set`, synchronous ones first (Linux's `next_signal`).
fn next_signal(set: SigSet) -> Option<i32> {
    if set == 0 {
        return None;
    }
    let x = if set & SYNCHRONOUS_MASK != 0 {
        set & SYNCHRONOUS_MASK
    } else {
        set
    };
    Some(x.trailing_zeros() as i32 + 1)
}

impl SigState {
    /// At `execve`: every action loses its flags, mask and restorer and returns to
    /// `SIG_DFL`, except that ignored signals stay ignored (`flush_signal_handlers`); the
    /// alternate stack is gone. The mask and pending signals are kept.
    pub fn reset_on_exec(&mut self) {
        for act in self.actions.iter_mut() {
            let handler = if act.handler == SIG_IGN {
                SIG_IGN
            } else {
                SIG_DFL
            };
            *act = KSigAction {
                handler,
                ..KSigAction::default()
            };
        }
        self.altstack = DISABLED_STACK;
        self.saved_mask = None;
        self.wait_set = 0;
    }

    /// Exchanges the current thread's part with a parked thread's: `t` then holds the
    /// thread that was current.
    pub fn swap_thread(&mut self, t: &mut ThreadSig) {
        std::mem::swap(&mut self.blocked, &mut t.blocked);
        std::mem::swap(&mut self.altstack, &mut t.altstack);
        std::mem::swap(&mut self.pending, &mut t.pending);
        std::mem::swap(&mut self.saved_mask, &mut t.saved_mask);
        std::mem::swap(&mut self.wait_set, &mut t.wait_set);
        std::mem::swap(&mut self.trap, &mut t.trap);
        std::mem::swap(&mut self.fpu_load, &mut t.fpu_load);
    }

    /// The per-thread state of a new thread of the current one: its mask, no alternate
    /// stack (a `CLONE_VM` child's is reset), nothing pending.
    pub fn new_thread(&self) -> ThreadSig {
        ThreadSig {
            blocked: self.blocked,
            ..ThreadSig::default()
        }
    }

    /// Whether the current thread would take `signo` now.
    pub fn accepts(&self, signo: i32) -> bool {
        let m = sigmask(signo);
        self.blocked & m == 0 || self.wait_set & m != 0
    }

    /// The state of a `fork` child: actions, mask, alternate stack, trap and XSAVE info
    /// inherited; nothing pending.
    pub fn fork(&self) -> SigState {
        SigState {
            actions: self.actions,
            blocked: self.blocked,
            altstack: self.altstack,
            pending: Pending::default(),
            shared: Pending::default(),
            saved_mask: None,
            wait_set: 0,
            trap: self.trap,
            xstate: self.xstate,
            unkillable: false,
            fpu_load: None,
            traced: false,
        }
    }

    /// The action of `signo` (1..=64).
    pub fn action(&self, signo: i32) -> KSigAction {
        if valid(signo) {
            self.actions[(signo - 1) as usize]
        } else {
            KSigAction::default()
        }
    }

    /// `sigaction`'s update (`do_sigaction`), after the caller checked `signo` is valid and
    /// not `SIGKILL`/`SIGSTOP`: unknown flags are dropped, `SIGKILL`/`SIGSTOP` leave the
    /// mask, and if the signal is now ignored its pending instances are discarded (POSIX).
    /// Returns the old action.
    pub fn set_action(&mut self, signo: i32, mut act: KSigAction) -> KSigAction {
        if !valid(signo) {
            return KSigAction::default();
        }
        act.flags &= sa::UAPI_FLAGS;
        act.mask &= !UNBLOCKABLE;
        let old = std::mem::replace(&mut self.actions[(signo - 1) as usize], act);
        if self.handler_ignored(signo) {
            self.flush(sigmask(signo));
        }
        old
    }

    /// Sets the blocked mask (`SIGKILL`/`SIGSTOP` are dropped from it).
    pub fn set_blocked(&mut self, mask: SigSet) {
        self.blocked = mask & !UNBLOCKABLE;
    }

    /// After a delivery step that ran no handler: the mask saved by `rt_sigsuspend`
    /// becomes the mask again (`restore_saved_sigmask`).
    pub fn restore_saved_mask(&mut self) {
        if let Some(m) = self.saved_mask.take() {
            self.set_blocked(m);
        }
    }

    /// Pending signals of the current thread and the process (blocked or not).
    pub fn pending_set(&self) -> SigSet {
        self.pending.set | self.shared.set
    }

    /// Whether a pending signal is not blocked: a handler, stop or death is due, and an
    /// interruptible wait must end (Linux's `signal_pending`).
    pub fn has_deliverable(&self) -> bool {
        self.pending_set() & !self.blocked != 0
    }

    /// Whether an unblocked pending signal will kill the process (`SIGKILL`, or `SIG_DFL`
    /// with a terminate or core action): even a stopped process must run to die
    /// (Linux's `complete_signal` group-exit path).
    pub fn fatal_pending(&self) -> bool {
        let mut set = self.pending_set() & !self.blocked;
        while set != 0 {
            let signo = set.trailing_zeros() as i32 + 1;
            set &= set - 1;
            if signo == sig::SIGKILL {
                return true;
            }
            if self.action(signo).handler == SIG_DFL
                && !self.unkillable
                && matches!(
                    default_action(signo),
                    DefaultAction::Terminate | DefaultAction::CoreDump
                )
            {
                return true;
            }
        }
        false
    }

    /// Whether `sp` is on the alternate stack (`__on_sig_stack`).
    fn on_altstack_raw(&self, sp: u64) -> bool {
        sp > self.altstack.sp && sp - self.altstack.sp <= self.altstack.size
    }

    /// Whether `sp` is on the alternate stack, as Linux's `on_sig_stack` (never with
    /// `SS_AUTODISARM`).
    pub fn on_altstack(&self, sp: u64) -> bool {
        self.altstack.flags & SS_AUTODISARM == 0 && self.on_altstack_raw(sp)
    }

    /// `sas_ss_flags(sp)`: `SS_DISABLE` without an alternate stack, `SS_ONSTACK` when `sp`
    /// is on it, else 0.
    pub fn altstack_flags(&self, sp: u64) -> i32 {
        if self.altstack.size == 0 {
            SS_DISABLE
        } else if self.on_altstack(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// The alternate stack as `sigaltstack` reports it when the stack pointer is `sp`.
    pub fn altstack_report(&self, sp: u64) -> StackT {
        StackT {
            sp: self.altstack.sp,
            flags: self.altstack_flags(sp) | (self.altstack.flags & SS_FLAG_BITS),
            pad: 0,
            size: self.altstack.size,
        }
    }

    /// `sigaltstack`'s update (`do_sigaltstack`) with the stack pointer at `sp`: `EPERM`
    /// while running on the alternate stack, `EINVAL` for a bad mode, `ENOMEM` below
    /// `MINSIGSTKSZ`.
    pub fn set_altstack(&mut self, ss: StackT, sp: u64) -> Result<(), Errno> {
        if self.on_altstack(sp) {
            return Err(Errno::EPERM);
        }
        let mode = ss.flags & !SS_FLAG_BITS;
        if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
            return Err(Errno::EINVAL);
        }
        let cur = self.altstack;
        if cur.sp == ss.sp && cur.size == ss.size && cur.flags == ss.flags {
            return Ok(());
        }
        let (sp_, size) = if mode == SS_DISABLE {
            (0, 0)
        } else if ss.size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        } else {
            (ss.sp, ss.size)
        };
        self.altstack = StackT {
            sp: sp_,
            flags: ss.flags,
            pad: 0,
            size,
        };
        Ok(())
    }

    /// Whether `signo`'s handler makes it ignored (`sig_handler_ignored`).
    fn handler_ignored(&self, signo: i32) -> bool {
        let h = self.action(signo).handler;
        h == SIG_IGN || (h == SIG_DFL && sigmask(signo) & KERNEL_IGNORE_MASK != 0)
    }

    /// Whether a new `signo` is discarded at generation (`sig_ignored`).
    fn ignored_at_generation(&self, signo: i32, force: bool) -> bool {
        if self.blocked & sigmask(signo) != 0 {
            return false;
        }
        let only = sigmask(signo) & UNBLOCKABLE != 0;
        if self.unkillable && self.action(signo).handler == SIG_DFL && !(force && only) {
            return true;
        }
        if self.traced && signo != sig::SIGKILL {
            return false;
        }
        self.handler_ignored(signo)
    }

    /// Drops every pending instance of the signals in `mask` (the process's and the
    /// current thread's).
    fn flush(&mut self, mask: SigSet) {
        self.pending.flush(mask);
        self.shared.flush(mask);
    }

    /// Generates a process-directed signal (in the shared set). Returns whether the kernel should wake the
    /// task: a signal became pending that is unblocked (or awaited by `rt_sigtimedwait`),
    /// or it is `SIGKILL`, or it is `SIGCONT` — which the caller must also apply to a
    /// stopped process (resume it, tell the parent `CLD_CONTINUED`), whatever its
    /// disposition. A woken stopped process stays stopped unless the signal is `SIGCONT`
    /// or [`fatal_pending`](Self::fatal_pending). A real-time signal over the queue limit
    /// is dropped (use [`try_send`](Self::try_send) to get `EAGAIN`).
    pub fn send(&mut self, info: SigInfo) -> bool {
        self.try_send(info, QUEUE_MAX, false).unwrap_or(false)
    }

    /// As [`send`](Self::send) (for the current thread alone with `private`: `tkill`,
    /// `tgkill`), with at most `limit` signals queued (the target's `RLIMIT_SIGPENDING`),
    /// and `EAGAIN` when a real-time signal not from `kill` (`si_code != SI_USER`) finds
    /// the queue full (`rt_sigqueueinfo`, `tgkill`, timers). `EINVAL` for a signal
    /// number outside 1..=64.
    pub fn try_send(&mut self, info: SigInfo, limit: usize, private: bool) -> Result<bool, Errno> {
        let force = info.code == SI_KERNEL;
        self.send_inner(info, force, private, limit)
    }

    /// As [`send`](Self::send), for the current thread alone (`tkill`, `tgkill`).
    pub fn send_thread(&mut self, info: SigInfo) -> bool {
        self.try_send(info, QUEUE_MAX, true).unwrap_or(false)
    }

    /// Queues a timer's signal (Linux's `posixtimer_send_sigqueue`), for the process or
    /// (`private`) the current thread. A timer's siginfo is its own, allocated with the
    /// timer, so it is queued even where the same standard signal is already pending or
    /// the queue is full. `None` if the signal is ignored (nothing queued), else whether
    /// to wake the task (as [`send`](Self::send)).
    pub fn send_timer(&mut self, info: SigInfo, private: bool) -> Option<bool> {
        let signo = info.signo;
        if !valid(signo) || self.ignored_at_generation(signo, false) {
            return None;
        }
        let m = sigmask(signo);
        let target = if private {
            &mut self.pending
        } else {
            &mut self.shared
        };
        target.queue.push_back(info);
        target.set |= m;
        Some(self.blocked & m == 0 || self.wait_set & m != 0)
    }

    fn send_inner(
        &mut self,
        info: SigInfo,
        force: bool,
        private: bool,
        limit: usize,
    ) -> Result<bool, Errno> {
        let signo = info.signo;
        if !valid(signo) {
            return Err(Errno::EINVAL);
        }
        let m = sigmask(signo);
        // prepare_signal: stop and continue signals cancel each other.
        if signo == sig::SIGCONT {
            self.flush(STOP_MASK);
        } else if m & STOP_MASK != 0 {
            self.flush(sigmask(sig::SIGCONT));
        }
        let cont = signo == sig::SIGCONT;
        if self.ignored_at_generation(signo, force) {
            return Ok(cont);
        }
        let queued = self.queued();
        let target = if private {
            &mut self.pending
        } else {
            &mut self.shared
        };
        // legacy_queue: a standard signal is pending at most once.
        if signo < sig::SIGRTMIN && target.set & m != 0 {
            return Ok(cont);
        }
        let override_limit = signo < sig::SIGRTMIN && info.code >= 0;
        if queued < limit.min(QUEUE_MAX) || override_limit {
            target.queue.push_back(info);
        } else if signo >= sig::SIGRTMIN && info.code != SI_USER {
            return Err(Errno::EAGAIN);
        }
        // Otherwise the signal is pending without its siginfo (delivered as SI_USER).
        target.set |= m;
        let wake = self.blocked & m == 0 || self.wait_set & m != 0 || signo == sig::SIGKILL;
        Ok(wake || cont)
    }

    /// Queues a synchronous fault signal (Linux's `force_sig_info`): if it is blocked or
    /// ignored, its action is reset to `SIG_DFL` and it is unblocked, so the process dies
    /// rather than loop on the faulting instruction. Returns as [`send`](Self::send).
    pub fn force(&mut self, info: SigInfo) -> bool {
        let signo = info.signo;
        if !valid(signo) {
            return false;
        }
        let idx = (signo - 1) as usize;
        let ignored = self.actions[idx].handler == SIG_IGN;
        let blocked = self.blocked & sigmask(signo) != 0;
        if blocked || ignored {
            self.actions[idx].handler = SIG_DFL;
            if blocked {
                self.blocked &= !sigmask(signo);
            }
        }
        if self.actions[idx].handler == SIG_DFL {
            self.unkillable = false;
        }
        let force = info.code == SI_KERNEL;
        self.send_inner(info, force, true, QUEUE_MAX)
            .unwrap_or(false)
    }

    /// After [`setup_rt_frame`] failed for signal `signo` (Linux's `force_sigsegv`): a
    /// `SIGSEGV` that kills if `signo` was itself `SIGSEGV`, else one the process may
    /// handle.
    pub fn force_sigsegv(&mut self, signo: i32) -> bool {
        if signo == sig::SIGSEGV {
            let idx = (sig::SIGSEGV - 1) as usize;
            self.actions[idx].handler = SIG_DFL;
            self.blocked &= !sigmask(sig::SIGSEGV);
            self.unkillable = false;
        }
        self.force(SigInfo::kernel(sig::SIGSEGV))
    }

    /// The next pending signal of `set`, the current thread's own first (`dequeue_signal`),
    /// removed with its siginfo.
    fn take_next(&mut self, set: SigSet) -> Option<SigInfo> {
        if let Some(signo) = next_signal(self.pending.set & set) {
            return Some(self.pending.collect(signo));
        }
        let signo = next_signal(self.shared.set & set)?;
        Some(self.shared.collect(signo))
    }

    /// The next signal to act on (`get_signal`): the lowest unblocked pending one,
    /// synchronous signals first. Ignored signals (by `SIG_IGN` or default) are consumed
    /// and skipped. A handled signal with `SA_RESETHAND` has its action reset to
    /// `SIG_DFL` here. `None` when nothing unblocked is pending.
    ///
    /// A `Stop` for `SIGTSTP`/`SIGTTIN`/`SIGTTOU` should be discarded by the caller when
    /// the process group is orphaned, as Linux does.
    pub fn dequeue(&mut self) -> Option<(SigInfo, Disposition)> {
        loop {
            let info = self.take_deliverable()?;
            if let Some(disp) = self.disposition(&info) {
                return Some((info, disp));
            }
        }
    }

    /// The next unblocked pending signal, removed with its siginfo, whatever its
    /// disposition: what a traced process reports to its tracer before acting on it.
    pub fn take_deliverable(&mut self) -> Option<SigInfo> {
        self.take_next(!self.blocked)
    }

    /// What delivering `info` does (the second half of [`dequeue`](Self::dequeue)):
    /// `None` if it is ignored. A handled signal with `SA_RESETHAND` has its action reset
    /// to `SIG_DFL` here.
    pub fn disposition(&mut self, info: &SigInfo) -> Option<Disposition> {
        let signo = info.signo;
        if !valid(signo) {
            return None;
        }
        let idx = (signo - 1) as usize;
        let act = self.actions[idx];
        if act.handler == SIG_IGN {
            return None;
        }
        if act.handler != SIG_DFL {
            if act.flags & sa::RESETHAND != 0 {
                self.actions[idx].handler = SIG_DFL;
            }
            return Some(Disposition::Handler(act));
        }
        let m = sigmask(signo);
        if m & KERNEL_IGNORE_MASK != 0 || self.unkillable && m & UNBLOCKABLE == 0 {
            return None;
        }
        Some(Disposition::Default(default_action(signo)))
    }

    /// Takes a pending signal of `set`, blocked or not, without looking at its disposition
    /// (`rt_sigtimedwait`): synchronous ones first, then the lowest number, real-time
    /// signals in arrival order.
    pub fn dequeue_from(&mut self, set: SigSet) -> Option<SigInfo> {
        self.take_next(set)
    }

    /// Discards the unblocked pending signals whose delivery would do nothing (ignored by
    /// handler or default), so a sleep that only such signals ended can go on sleeping as
    /// Linux's restart of it would. Returns whether something deliverable remains.
    pub fn discard_ignored(&mut self) -> bool {
        let mut set = self.pending_set() & !self.blocked;
        while set != 0 {
            let signo = set.trailing_zeros() as i32 + 1;
            set &= set - 1;
            let m = sigmask(signo);
            let act = self.action(signo);
            let dfl_ignored = act.handler == SIG_DFL
                && (m & KERNEL_IGNORE_MASK != 0 || (self.unkillable && m & UNBLOCKABLE == 0));
            if act.handler == SIG_IGN || dfl_ignored {
                self.flush(m);
            }
        }
        self.has_deliverable()
    }

    /// Number of queued siginfo entries (for `RLIMIT_SIGPENDING` accounting).
    pub fn queued(&self) -> usize {
        self.pending.queue.len() + self.shared.queue.len()
    }
}
