//! The signal syscalls, with Linux's argument checks and their order.

use abi::signal::{how, sig, KSigAction, SigSet, StackT};

use abi::{Errno, SysResult};

use super::{restore_rt_frame, SigInfo, UNBLOCKABLE};
use crate::{Args, Ctx, Outcome, WaitKey};

/// `sizeof(sigset_t)` for the kernel.
const SIGSET_SIZE: u64 = 8;

pub(crate) fn sys_rt_sigaction(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (signo, act, oldact) = (a.i32(0), a.addr(1), a.addr(2));
    if a.len(3) != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let new = if act.is_null() {
        None
    } else {
        Some(ctx.read_val::<KSigAction>(act)?)
    };
    if !(1..=sig::NSIG).contains(&signo)
        || (new.is_some() && (signo == sig::SIGKILL || signo == sig::SIGSTOP))
    {
        return Err(Errno::EINVAL);
    }
    let mut old = ctx.proc.sig.action(signo);
    if let Some(new) = new {
        ctx.proc.sig.set_action(signo, new);
        // Processes sharing the handlers (`CLONE_SIGHAND`) see the change.
        for q in ctx.proc.sighand_sharers(ctx.procs) {
            q.sig.set_action(signo, new);
        }
    }
    if !oldact.is_null() {
        old.flags &= abi::signal::sa::UAPI_FLAGS;
        ctx.write_val(oldact, &old)?;
    }
    Ok(0)
}

pub(crate) fn sys_rt_sigprocmask(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (how_, set, oldset) = (a.i32(0), a.addr(1), a.addr(2));
    if a.len(3) != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let old = ctx.proc.sig.blocked;
    if !set.is_null() {
        let s: SigSet = ctx.read_val(set)?;
        let new = match how_ {
            how::SIG_BLOCK => old | s,
            how::SIG_UNBLOCK => old & !s,
            how::SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        };
        ctx.proc.sig.set_blocked(new);
    }
    if !oldset.is_null() {
        ctx.write_val(oldset, &old)?;
    }
    Ok(0)
}

pub(crate) fn sys_sigaltstack(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (ss, old_ss) = (a.addr(0), a.addr(1));
    let new = if ss.is_null() {
        None
    } else {
        Some(ctx.read_val::<StackT>(ss)?)
    };
    let sp = ctx.regs.rsp;
    let old = ctx.proc.sig.altstack_report(sp);
    if let Some(new) = new {
        ctx.proc.sig.set_altstack(new, sp)?;
    }
    if !old_ss.is_null() {
        ctx.write_val(old_ss, &old)?;
    }
    Ok(0)
}

/// `rt_sigpending`: the pending signals that are blocked (unblocked ones are about to be
/// delivered). `sigsetsize` may be smaller than 8: only that many bytes are written.
pub(crate) fn sys_rt_sigpending(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (set, size) = (a.addr(0), a.len(1));
    if size > SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let s = &ctx.proc.sig;
    let pending = s.pending_set() & s.blocked;
    ctx.copy_out(set, &pending.to_le_bytes()[..size as usize])?;
    Ok(0)
}

/// `rt_sigsuspend`: sleeps with the given mask until a signal is to be delivered; returns
/// `EINTR` once one is (the handler runs first; its frame saves the original mask, kept in
/// `saved_mask` until then). Re-run after a wake-up, it keeps the first saved mask, and
/// goes back to sleep if only ignored signals came.
pub(crate) fn sys_rt_sigsuspend(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if a.len(1) != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mask: SigSet = ctx.read_val(a.addr(0))?;
    let s = &mut ctx.proc.sig;
    if s.saved_mask.is_none() {
        s.saved_mask = Some(s.blocked);
    }
    s.set_blocked(mask);
    if s.discard_ignored() {
        return Err(Errno::EINTR);
    }
    ctx.on_signal(crate::OnSignal::RestartNoHand);
    Err(ctx.block_on(WaitKey::Signal(ctx.proc.pid)))
}

/// `rt_sigtimedwait(set, info, timeout, sigsetsize)`: takes a pending signal of `set`
/// (blocked or not; `SIGKILL`/`SIGSTOP` never), writes its siginfo and returns its number.
/// With none pending: `EAGAIN` for a zero timeout, else sleeps until one of `set` arrives
/// (`EINTR` if another signal is to be delivered first). While it sleeps, `set` is blocked
/// too (the caller's mask is kept as a temporary mask's is), so that a signal of `set`
/// that arrives is taken here rather than by its handler, as on Linux.
pub(crate) fn sys_rt_sigtimedwait(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (uset, uinfo, uts) = (a.addr(0), a.addr(1), a.addr(2));
    if a.len(3) != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let set: SigSet = ctx.read_val(uset)?;
    let timeout = crate::time::read_timeout(ctx, uts)?;
    let set = set & !UNBLOCKABLE;
    // A restart after the sleep: the caller's own mask again.
    ctx.proc.sig.restore_saved_mask();
    ctx.proc.sig.wait_set = 0;
    if let Some(info) = ctx.dequeue_signal_from(set) {
        // As on Linux, the signal is consumed even if the siginfo cannot be written.
        if !uinfo.is_null() {
            ctx.copy_out(uinfo, &info.to_bytes())?;
        }
        return Ok(info.signo as u64);
    }
    if ctx.proc.sig.discard_ignored() {
        return Err(Errno::EINTR);
    }
    let me = ctx.proc.pid;
    ctx.on_signal(crate::OnSignal::Intr);
    let deadline = timeout.map(|t| ctx.deadline_after(t));
    if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
        return Err(Errno::EAGAIN);
    }
    let blocked = ctx.proc.sig.blocked;
    crate::poll::set_temp_mask(ctx, Some(blocked | set));
    ctx.proc.sig.wait_set = set;
    Err(match deadline {
        None => ctx.block_on(WaitKey::Signal(me)),
        Some(d) => ctx.block_until(WaitKey::Signal(me), d),
    })
}

/// `rt_sigreturn`: restores the registers, mask and alternate stack saved by the signal
/// frame at `rsp - 8`, and leaves the FP image to load in `sig.fpu_load`; returns the
/// restored `rax` so the task resumes with every register as saved. A bad frame forces
/// `SIGSEGV` and returns 0, as Linux's `signal_fault`.
pub(crate) fn sys_rt_sigreturn(ctx: &mut Ctx<'_>, _a: &Args) -> Result<Outcome, Errno> {
    let id = ctx.proc.mm;
    match restore_rt_frame(ctx.mm, id, ctx.regs, &mut ctx.proc.sig) {
        Ok(fpstate) => {
            ctx.proc.sig.fpu_load = Some(fpstate);
            Ok(Outcome::Return(ctx.regs.rax))
        }
        Err(_) => {
            ctx.proc.sig.force(SigInfo::kernel(sig::SIGSEGV));
            Ok(Outcome::Return(0))
        }
    }
}
