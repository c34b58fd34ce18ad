//! `signalfd(2)`, `signalfd4(2)`: signals read as records from a descriptor.
//!
//! The open file ([`vfs::Vfs::signalfd`]) only keeps the mask; what it reads is the
//! *reader's* pending signals of that mask (blocked or not, as Linux), taken one 128-byte
//! `struct signalfd_siginfo` each. A read with none pending blocks (unless non-blocking) until
//! one of the mask arrives: the mask joins the process's `wait_set`, so even a blocked
//! signal wakes it. `poll` sees the same readiness.

use abi::flags::OFlags;
use abi::structs::IoVec;
use abi::{Errno, SysResult, UserAddr};
use vfs::FileRef;

use crate::signal::{SigFields, SigInfo, UNBLOCKABLE};
use crate::{Args, Ctx, WaitKey};

/// Size of one `struct signalfd_siginfo`.
const RECORD: usize = 128;

const SFD_CLOEXEC: u32 = OFlags::CLOEXEC.bits();
const SFD_NONBLOCK: u32 = OFlags::NONBLOCK.bits();

fn do_signalfd(ctx: &mut Ctx<'_>, fd: i32, umask: UserAddr, size: u64, flags: u32) -> SysResult {
    if flags & !(SFD_CLOEXEC | SFD_NONBLOCK) != 0 || size != 8 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = ctx.read_val(umask)?;
    let mask = mask & !UNBLOCKABLE;
    if fd != -1 {
        ctx.file(fd)?.set_signalfd_mask(mask)?;
        return Ok(fd as u64);
    }
    crate::fs::check_free_fd(ctx)?;
    let file = ctx
        .vfs
        .signalfd(mask, OFlags::from_bits_retain(flags & SFD_NONBLOCK));
    let limit = ctx.proc.nofile();
    let fd = ctx
        .proc
        .fds
        .install(file, flags & SFD_CLOEXEC != 0, 0, limit)?;
    Ok(fd as u64)
}

/// `signalfd4(fd, mask, sizemask, flags)`.
pub(crate) fn sys_signalfd4(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    do_signalfd(ctx, a.i32(0), a.addr(1), a.len(2), a.u32(3))
}

/// `signalfd(fd, mask, sizemask)`: `signalfd4` without flags.
pub(crate) fn sys_signalfd(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    do_signalfd(ctx, a.i32(0), a.addr(1), a.len(2), 0)
}

/// Whether the caller has a signal of `mask` pending (a signalfd is readable).
pub(crate) fn readable(ctx: &Ctx<'_>, mask: u64) -> bool {
    ctx.proc.sig.pending_set() & mask != 0
}

/// Makes signals of `mask` wake the caller, which then waits for one.
pub(crate) fn wait_for(ctx: &mut Ctx<'_>, mask: u64) -> WaitKey {
    ctx.proc.sig.wait_set |= mask;
    WaitKey::Signal(ctx.proc.pid)
}

/// A read into the guest ranges `iovs` (already checked) from signalfd `f` with `mask`: as
/// many whole records as fit, at least one (`EINVAL` if not even one fits).
pub(crate) fn read(ctx: &mut Ctx<'_>, f: &FileRef, mask: u64, iovs: &[IoVec]) -> SysResult {
    let len: u64 = iovs.iter().map(|v| v.len).sum();
    let room = usize::try_from(len).unwrap_or(usize::MAX) / RECORD;
    if room == 0 {
        return Err(Errno::EINVAL);
    }
    let mut out = Vec::new();
    while out.len() / RECORD < room {
        let Some(info) = ctx.proc.sig.dequeue_from(mask) else {
            break;
        };
        out.extend_from_slice(&record(&info));
    }
    if out.is_empty() {
        if f.flags().contains(OFlags::NONBLOCK) {
            return Err(Errno::EAGAIN);
        }
        let key = wait_for(ctx, mask);
        return Err(ctx.block_on(key));
    }
    ctx.proc.sig.wait_set &= !mask;
    let mut rest = &out[..];
    for v in iovs {
        let n = rest.len().min(usize::try_from(v.len).unwrap_or(usize::MAX));
        ctx.copy_out(UserAddr(v.base), &rest[..n])?;
        rest = &rest[n..];
    }
    Ok(out.len() as u64)
}

/// Linux's `signalfd_copyinfo`: one `struct signalfd_siginfo`.
fn record(info: &SigInfo) -> [u8; RECORD] {
    let mut b = [0u8; RECORD];
    let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    put(0, &info.signo.to_le_bytes());
    put(4, &info.errno.to_le_bytes());
    put(8, &info.code.to_le_bytes());
    match info.fields {
        SigFields::Kill { pid, uid } => {
            put(12, &pid.to_le_bytes());
            put(16, &uid.to_le_bytes());
        }
        SigFields::Rt { pid, uid, value } => {
            put(12, &pid.to_le_bytes());
            put(16, &uid.to_le_bytes());
            put(44, &(value as i32).to_le_bytes());
            put(48, &value.to_le_bytes());
        }
        SigFields::Chld {
            pid,
            uid,
            status,
            utime,
            stime,
        } => {
            put(12, &pid.to_le_bytes());
            put(16, &uid.to_le_bytes());
            put(40, &status.to_le_bytes());
            put(56, &(utime as u64).to_le_bytes());
            put(64, &(stime as u64).to_le_bytes());
        }
        SigFields::Fault { addr } => put(72, &addr.to_le_bytes()),
        SigFields::Timer {
            tid,
            overrun,
            value,
        } => {
            put(24, &tid.to_le_bytes());
            put(32, &overrun.to_le_bytes());
            put(44, &(value as i32).to_le_bytes());
            put(48, &value.to_le_bytes());
        }
        SigFields::Poll { band, fd } => {
            put(20, &fd.to_le_bytes());
            put(28, &(band as u32).to_le_bytes());
        }
        SigFields::Sys {
            call_addr,
            syscall,
            arch,
        } => {
            put(84, &syscall.to_le_bytes());
            put(88, &call_addr.to_le_bytes());
            put(96, &arch.to_le_bytes());
        }
    }
    b
}
