//! `RLIMIT_FSIZE`: no regular file grows past the caller's limit. A write that starts at or
//! past it, and a truncation to a length past it, fail with `EFBIG` and raise `SIGXFSZ`
//! at the caller; a write that would cross it is cut short at it (Linux's
//! `generic_write_check_limits` and `inode_newsize_ok`).

use abi::flags::mode::{S_IFMT, S_IFREG};
use abi::flags::rlimit;
use abi::signal::sig;
use abi::Errno;
use vfs::FileRef;

use crate::signal::SigInfo;
use crate::Ctx;

/// The caller's limit, if it has one.
fn limit(ctx: &Ctx<'_>) -> Option<u64> {
    let cur = ctx.proc.rlimits[rlimit::FSIZE as usize].cur;
    (cur != rlimit::INFINITY).then_some(cur)
}

/// `SIGXFSZ` at the caller; the errno to fail with.
pub(crate) fn exceeded(ctx: &mut Ctx<'_>) -> Errno {
    let info = SigInfo::user(sig::SIGXFSZ, ctx.proc.pid, ctx.proc.cred.uid);
    crate::kill::send_to(ctx.proc, Some(ctx.tid), info, &mut ctx.effects.wake);
    Errno::EFBIG
}

/// A truncation of a file to `len` (after the call's own checks).
pub(crate) fn check_truncate(ctx: &mut Ctx<'_>, len: u64) -> Result<(), Errno> {
    if len > max_len(ctx) {
        return Err(exceeded(ctx));
    }
    Ok(())
}

/// The longest a file may be made (`u64::MAX`: no limit).
pub(crate) fn max_len(ctx: &Ctx<'_>) -> u64 {
    limit(ctx).unwrap_or(u64::MAX)
}

/// How many of `len` bytes a write to `f` starting at `pos` may write (`None`: no limit
/// applies); `EFBIG` (and `SIGXFSZ`) if `pos` is already at the limit.
pub(crate) fn write_room(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    pos: impl FnOnce() -> u64,
    len: u64,
) -> Result<Option<u64>, Errno> {
    let Some(max) = limit(ctx) else {
        return Ok(None);
    };
    if f.stat().map_or(true, |st| st.st_mode & S_IFMT != S_IFREG) {
        return Ok(None);
    }
    let pos = pos();
    if pos >= max && len > 0 {
        return Err(exceeded(ctx));
    }
    Ok(Some(len.min(max.saturating_sub(pos))))
}
