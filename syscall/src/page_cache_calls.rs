//! The calls about a file's page cache: `readahead(2)` (a hint: checked as Linux checks
//! it, then nothing to do, as uml's files are read from memory or from the host's cache)
//! and `cachestat(2)` (how many pages of a range are cached: every page of the file within
//! the range, since uml keeps in-memory files whole and reads host files through the
//! host's cache; none dirty, under writeback or evicted).

use abi::flags::mode::{S_IFBLK, S_IFMT, S_IFREG};
use abi::flags::OFlags;
use abi::{Errno, SysResult};

use crate::{Args, Ctx};

const PAGE_SHIFT: u32 = 12;

/// `readahead(fd, offset, count)`: `EBADF` unless open for reading, `EINVAL` for anything
/// but a regular file or block device.
pub(crate) fn sys_readahead(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let f = ctx.file(a.i32(0))?;
    if f.flags().contains(OFlags::PATH) || !f.flags().readable() {
        return Err(Errno::EBADF);
    }
    let mode = f.stat()?.st_mode & S_IFMT;
    if mode != S_IFREG && mode != S_IFBLK {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// `cachestat(fd, range, cstat, flags)`: `EBADF`, `EFAULT` for the range, `EPERM` unless
/// the file is open for writing or the caller owns it (or is root), `EINVAL` for flags.
pub(crate) fn sys_cachestat(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let f = ctx.file(a.i32(0))?;
    if f.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let [off, len]: [u64; 2] = ctx.read_val(a.addr(1))?;
    let st = f.stat()?;
    let cred = &ctx.proc.cred;
    let owner = cred.fsuid == st.st_uid || cred.caps.has(crate::caps::CAP_FOWNER);
    if !f.flags().writable() && !owner {
        return Err(Errno::EPERM);
    }
    if a.u32(3) != 0 {
        return Err(Errno::EINVAL);
    }
    let first = off >> PAGE_SHIFT;
    let last = match len {
        0 => u64::MAX,
        n => off.saturating_add(n - 1) >> PAGE_SHIFT,
    };
    let pages = u64::try_from(st.st_size)
        .unwrap_or(0)
        .div_ceil(1 << PAGE_SHIFT);
    let cached = match pages.checked_sub(1) {
        Some(end) if first <= end => last.min(end) - first + 1,
        _ => 0,
    };
    // nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted.
    ctx.write_val(a.addr(2), &[cached, 0u64, 0, 0, 0])?;
    Ok(0)
}
