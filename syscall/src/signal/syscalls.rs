//! The signal syscalls.

use abi::signal::{how, sig, KSigAction, SigSet, StackT, MINSIGSTKSZ, SS_DISABLE, SS_ONSTACK};
use abi::{Errno, SysResult};

use crate::{Args, Ctx};

/// Signals whose disposition and mask cannot be changed.
const UNBLOCKABLE: SigSet = (1 << (sig::SIGKILL - 1)) | (1 << (sig::SIGSTOP - 1));

pub(crate) fn sys_rt_sigaction(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (signo, act, oldact) = (a.i32(0), a.addr(1), a.addr(2));
    if a.len(3) != 8 || !(1..=sig::NSIG).contains(&signo) {
        return Err(Errno::EINVAL);
    }
    let idx = (signo - 1) as usize;
    let new = if act.is_null() {
        None
    } else {
        Some(ctx.read_val::<KSigAction>(act)?)
    };
    if new.is_some() && (signo == sig::SIGKILL || signo == sig::SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let old = ctx.proc.sig.actions[idx];
    if !oldact.is_null() {
        ctx.write_val(oldact, &old)?;
    }
    if let Some(mut new) = new {
        new.mask &= !UNBLOCKABLE;
        ctx.proc.sig.actions[idx] = new;
    }
    Ok(0)
}

pub(crate) fn sys_rt_sigprocmask(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (how_, set, oldset) = (a.i32(0), a.addr(1), a.addr(2));
    if a.len(3) != 8 {
        return Err(Errno::EINVAL);
    }
    let old = ctx.proc.sig.blocked;
    let new = if set.is_null() {
        None
    } else {
        let s: SigSet = ctx.read_val(set)?;
        Some(match how_ {
            how::SIG_BLOCK => old | s,
            how::SIG_UNBLOCK => old & !s,
            how::SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        })
    };
    if !oldset.is_null() {
        ctx.write_val(oldset, &old)?;
    }
    if let Some(new) = new {
        ctx.proc.sig.blocked = new & !UNBLOCKABLE;
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
    if !old_ss.is_null() {
        let mut old = ctx.proc.sig.altstack;
        if old.size == 0 {
            old.flags = SS_DISABLE;
        }
        ctx.write_val(old_ss, &old)?;
    }
    if let Some(mut new) = new {
        // SS_AUTODISARM (1 << 31) is accepted and ignored, as its effect needs delivery.
        let mode = new.flags & !(1 << 31);
        if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        if mode == SS_DISABLE {
            new = StackT {
                flags: SS_DISABLE,
                ..StackT::default()
            };
        } else if new.size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        } else {
            new.flags = 0;
        }
        ctx.proc.sig.altstack = new;
    }
    Ok(0)
}
