//! `process_vm_readv(2)` and `process_vm_writev(2)`: copies between the caller's memory and
//! another process's, as Linux's `mm/process_vm_access.c`. The local iovecs are checked as
//! `readv`'s (`EINVAL`, `EFAULT` before anything moves), the remote ones only for their
//! lengths; the target is any thread id (`ESRCH`), which the caller must be allowed to
//! ptrace-attach to (Linux's `ptrace_may_access` with the real ids: the same process, or
//! the caller's real uid and gid equal to all of the target's user and group ids, else
//! `CAP_SYS_PTRACE`; `EPERM`). Bytes move page by page in iovec order; a fault on either
//! side stops the copy, which returns what it moved, or `EFAULT` if nothing.
//!
//! Not modelled: Yama's `ptrace_scope` and the target's dumpable flag (uml processes are
//! always dumpable).

use abi::structs::{IoVec, UIO_MAXIOV};
use abi::{Errno, SysResult, UserAddr};

use crate::{Args, Ctx};

const PAGE_SIZE: u64 = 4096;

pub(crate) fn sys_process_vm_readv(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    process_vm_rw(ctx, a, false)
}

pub(crate) fn sys_process_vm_writev(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    process_vm_rw(ctx, a, true)
}

/// The iovec count argument: an `unsigned long` (`EINVAL` past `UIO_MAXIOV`).
fn count(raw: u64) -> Result<i32, Errno> {
    if raw > UIO_MAXIOV as u64 {
        return Err(Errno::EINVAL);
    }
    Ok(raw as i32)
}

fn process_vm_rw(ctx: &mut Ctx<'_>, a: &Args, write: bool) -> SysResult {
    if a.raw(5) != 0 {
        return Err(Errno::EINVAL);
    }
    let local = crate::fs::iovecs(ctx, a.addr(1), count(a.raw(2))?)?;
    if local.iter().all(|v| v.len == 0) {
        return Ok(0);
    }
    let mut remote = vec![IoVec::default(); count(a.raw(4))? as usize];
    ctx.copy_in(a.addr(3), bytemuck::cast_slice_mut(&mut remote))?;
    if remote.iter().any(|v| v.len > i64::MAX as u64) {
        return Err(Errno::EINVAL);
    }
    if remote.iter().all(|v| v.len == 0) {
        return Ok(0);
    }
    let target = thread_group_of(ctx, a.i32(0))?;
    let t = ctx.process(target)?;
    if matches!(t.state, crate::ProcState::Zombie(_)) {
        return Err(Errno::ESRCH);
    }
    if target != ctx.proc.pid && !may_attach(&ctx.proc.cred, &t.cred) {
        return Err(Errno::EPERM);
    }
    let their_mm = t.mm;
    let moved = copy(ctx, &local, &remote, their_mm, write);
    match moved {
        (0, Some(e)) => Err(e),
        (n, _) => Ok(n),
    }
}

/// The process thread `tid` belongs to (`ESRCH`).
pub(crate) fn thread_group_of(ctx: &Ctx<'_>, tid: i32) -> Result<i32, Errno> {
    if tid <= 0 {
        return Err(Errno::ESRCH);
    }
    if ctx.proc.threads.contains_key(&tid) {
        return Ok(ctx.proc.pid);
    }
    ctx.procs.tgid_of(tid).ok_or(Errno::ESRCH)
}

/// Linux's `__ptrace_may_access` with the caller's real ids (`PTRACE_MODE_REALCREDS`).
pub(crate) fn may_attach(me: &crate::Cred, them: &crate::Cred) -> bool {
    let ids_match = [them.euid, them.suid, them.uid]
        .iter()
        .all(|&u| u == me.uid)
        && [them.egid, them.sgid, them.gid]
            .iter()
            .all(|&g| g == me.gid);
    ids_match || me.caps.has(crate::caps::CAP_SYS_PTRACE)
}

/// Copies along both iovec lists at once, in pieces that cross no page on either side;
/// returns the bytes moved and the fault that stopped it, if one did.
fn copy(
    ctx: &mut Ctx<'_>,
    local: &[IoVec],
    remote: &[IoVec],
    their_mm: mm::MmId,
    write: bool,
) -> (u64, Option<Errno>) {
    let (mut li, mut loff) = (0usize, 0u64);
    let (mut ri, mut roff) = (0usize, 0u64);
    let mut moved = 0u64;
    let mut buf = vec![0u8; PAGE_SIZE as usize];
    loop {
        while li < local.len() && loff == local[li].len {
            (li, loff) = (li + 1, 0);
        }
        while ri < remote.len() && roff == remote[ri].len {
            (ri, roff) = (ri + 1, 0);
        }
        if li == local.len() || ri == remote.len() {
            return (moved, None);
        }
        let (Some(l), Some(r)) = (
            local[li].base.checked_add(loff),
            remote[ri].base.checked_add(roff),
        ) else {
            return (moved, Some(Errno::EFAULT));
        };
        let n = (local[li].len - loff)
            .min(remote[ri].len - roff)
            .min(PAGE_SIZE - l % PAGE_SIZE)
            .min(PAGE_SIZE - r % PAGE_SIZE);
        let piece = &mut buf[..n as usize];
        let (l, r) = (UserAddr(l), UserAddr(r));
        let done = if write {
            ctx.copy_in(l, piece).and_then(|()| {
                Ctx::access_ok(r, n)?;
                ctx.mm.copy_out(their_mm, r, piece)
            })
        } else {
            Ctx::access_ok(r, n)
                .and_then(|()| ctx.mm.copy_in(their_mm, r, piece))
                .and_then(|()| ctx.copy_out(l, piece))
        };
        if let Err(e) = done {
            return (moved, Some(e));
        }
        moved += n;
        loff += n;
        roff += n;
    }
}
