//! `read`, `write`, their vectored and positional forms (`readv` … `pwritev2`), and `lseek`.
//!
//! Every form goes through [`transfer`]: a list of guest ranges, a direction and where in
//! the file. Files that can block (pipes: those with a `wait_id`) turn `EAGAIN` into
//! blocking unless non-blocking, and wake their waiters after moving data.

use std::io::{IoSlice, IoSliceMut};

use abi::flags::OFlags;
use abi::structs::{IoVec, UIO_MAXIOV};
use abi::{Errno, UserAddr};
use vfs::FileRef;

use crate::{Args, Ctx, WaitKey};

/// Most bytes one read or write moves (`MAX_RW_COUNT`).
const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// `preadv2`/`pwritev2` flags (`RWF_*`).
const RWF_HIPRI: u32 = 0x1;
const RWF_DSYNC: u32 = 0x2;
const RWF_SYNC: u32 = 0x4;
const RWF_NOWAIT: u32 = 0x8;
const RWF_APPEND: u32 = 0x10;
const RWF_SUPPORTED: u32 = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND;

/// Where a transfer reads or writes.
#[derive(Clone, Copy)]
enum At {
    /// At the file position, which moves; `append`: writes go to the end (`RWF_APPEND`).
    Pos { append: bool },
    /// At an offset; the position does not move.
    Off(u64),
    /// At the end of the file (`pwritev2` with an offset and `RWF_APPEND`); the position
    /// does not move.
    End,
}

const POS: At = At::Pos { append: false };

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Read,
    Write,
}

/// The open file `fd` checked for a transfer: `EBADF` for `O_PATH` or the wrong access
/// mode, `ESPIPE` for a positional transfer on a pipe or terminal. A transfer that
/// blocked on a socket goes on with it even if `fd` was closed meanwhile
/// ([`crate::RestartBlock::file`]).
fn file_for(ctx: &Ctx<'_>, fd: i32, dir: Dir, at: At) -> Result<FileRef, Errno> {
    let f = match &ctx.restart.file {
        Some(f) if ctx.restart.waited => f.clone(),
        _ => ctx.file(fd)?,
    };
    let fl = f.flags();
    if fl.contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    if !matches!(at, At::Pos { .. }) && !f.is_seekable() {
        return Err(Errno::ESPIPE);
    }
    let ok = match dir {
        Dir::Read => fl.readable(),
        Dir::Write => fl.writable(),
    };
    if !ok {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// Moves data between `f` and the guest ranges `iovs` (already checked with `access_ok`).
/// `vectored`: empty ranges are skipped (a `read(fd, buf, 0)` still reaches the file).
/// `nowait`: `RWF_NOWAIT`, never block.
fn transfer(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    iovs: &[IoVec],
    dir: Dir,
    at: At,
    vectored: bool,
    nowait: bool,
) -> abi::SysResult {
    if let Some(s) = crate::net::socket_of(f) {
        return crate::net::socket_rw(ctx, f, &s, iovs, dir == Dir::Read, nowait);
    }
    if let Some(s) = crate::net::inet_of(f) {
        return crate::net::inet_rw(ctx, f, &s, iovs, dir == Dir::Read, nowait);
    }
    if let (Dir::Read, Some(sfd)) = (dir, crate::signalfd::signalfd_of(f)) {
        return crate::signalfd::read(ctx, f, sfd, iovs, nowait);
    }
    if let (Dir::Read, Some(g)) = (dir, crate::notify::fanotify::fanotify_of(f)) {
        return crate::notify::fanotify::read(ctx, f, g, iovs, nowait);
    }
    if dir == Dir::Read && vfs::notify::fanotify_active() && f.wait_id().is_none() {
        crate::notify::fanotify::permitted(ctx, f, abi::flags::inotify::FS_ACCESS_PERM)?;
    }
    let wait = f.wait_id();
    let blocking = wait.is_some() && !nowait && !f.flags().contains(OFlags::NONBLOCK);
    // A blocking write to a pipe goes on until all is written: what it already moved
    // before blocking is skipped on restart.
    let write_all = blocking && dir == Dir::Write && f.write_waits_for_all();
    if dir == Dir::Write {
        crate::swap::check_inactive(ctx, f)?;
    }
    let done = if write_all { ctx.restart.progress } else { 0 };
    crate::tty::check_background(ctx, f, dir == Dir::Write)?;
    let mut rest = skip(iovs, done);
    if dir == Dir::Write {
        let len = rest.iter().map(|v| v.len).sum();
        let pos = || match at {
            At::Off(o) => o,
            At::End | At::Pos { append: true } => f.size(),
            At::Pos { append: false } => f.pos(),
        };
        if let Some(room) = super::fsize::write_room(ctx, f, pos, len)? {
            rest = take(&rest, room);
        }
    }
    // A read that was waiting when its terminal hung up fails (later reads see end of file).
    if dir == Dir::Read && ctx.restart.waited && f.is_hung_up_tty() {
        return Err(Errno::EIO);
    }
    let total: u64 = rest.iter().map(|v| v.len).sum();
    let nonempty = rest.iter().filter(|v| v.len > 0).count();
    crate::mem::sync_file(ctx, f);
    let r = if wait.is_some() && nonempty > 1 {
        bounced(ctx, f, &rest, dir)
    } else {
        direct(ctx, f, &rest, dir, at, vectored)
    };
    if let (Dir::Write, Ok(n @ 1..)) = (dir, &r) {
        let off = match at {
            At::Off(o) => Some(o),
            At::End => Some(f.size().saturating_sub(*n)),
            At::Pos { .. } => None,
        };
        crate::mem::file_written(ctx, f, off, *n);
    }
    if let (Ok(n), Some(id)) = (&r, wait) {
        if *n > 0 {
            ctx.wake(WaitKey::File(id));
        }
    }
    match (r, wait) {
        (Ok(n), Some(_)) if write_all && n < total => {
            ctx.restart.progress = done + n;
            Err(ctx.block_on_file(f))
        }
        (Err(Errno::EAGAIN), Some(_)) if blocking => {
            // A terminal read may also end at its VTIME deadline.
            let mut ws = vfs::WaitSet::default();
            f.waits(&mut ws);
            let deadline = if dir == Dir::Read {
                f.read_deadline()
            } else {
                None
            };
            Err(ctx.block_on_waits(ws, deadline))
        }
        (Ok(n), _) => Ok(done + n),
        // A write that moved data before failing (EPIPE) returns the count.
        (Err(_), _) if done > 0 => Ok(done),
        (Err(Errno::EPIPE), _) if dir == Dir::Write => {
            crate::kill::raise_sigpipe(ctx);
            Err(Errno::EPIPE)
        }
        (r, _) => r,
    }
}

/// The first `n` bytes of `iovs`.
fn take(iovs: &[IoVec], mut n: u64) -> Vec<IoVec> {
    let mut out = Vec::with_capacity(iovs.len());
    for v in iovs {
        let len = v.len.min(n);
        out.push(IoVec { base: v.base, len });
        n -= len;
    }
    out
}

/// `iovs` without their first `n` bytes.
pub(crate) fn skip(iovs: &[IoVec], mut n: u64) -> Vec<IoVec> {
    let mut out = Vec::with_capacity(iovs.len());
    for v in iovs {
        // Nothing skipped keeps even an empty range: `read(fd, buf, 0)` reaches the file
        // (an inotify descriptor says `EINVAL`).
        if n > 0 && n >= v.len {
            n -= v.len;
            continue;
        }
        out.push(IoVec {
            base: v.base + n,
            len: v.len - n,
        });
        n = 0;
    }
    out
}

/// One file call per guest range, straight between the file and guest memory; stops at the
/// first short transfer, and returns what was done before an error.
fn direct(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    iovs: &[IoVec],
    dir: Dir,
    at: At,
    vectored: bool,
) -> abi::SysResult {
    let mut done = 0u64;
    for iov in iovs.iter().filter(|i| i.len > 0 || !vectored) {
        let at = match at {
            At::Off(off) => At::Off(off + done),
            other => other,
        };
        match one(ctx, f, iov, dir, at) {
            Ok(n) => {
                done += n;
                if n < iov.len {
                    break;
                }
            }
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn one(ctx: &mut Ctx<'_>, f: &FileRef, iov: &IoVec, dir: Dir, at: At) -> abi::SysResult {
    let addr = UserAddr(iov.base);
    if let Some(pid) = f.proc_mem() {
        let off = match at {
            At::Off(off) => off,
            At::Pos { .. } | At::End => f.pos(),
        };
        let n = crate::procfs::mem::transfer(ctx, pid, addr, iov.len, off, dir == Dir::Write)?;
        if let At::Pos { .. } = at {
            f.lseek(off.wrapping_add(n) as i64, abi::flags::seek::SET)?;
        }
        return Ok(n);
    }
    let n = match dir {
        Dir::Read => {
            let len = match at {
                At::Pos { .. } => f.read_len_hint(iov.len),
                _ => iov.len,
            };
            ctx.with_user_slices_mut(addr, len, |s| match at {
                At::Off(off) => f.pread(s, off),
                At::Pos { .. } | At::End => f.read(s),
            })??
        }
        Dir::Write if crate::procfs::writes_here(f) => {
            let mut data = vec![0u8; crate::procfs::write_limit(f).min(iov.len as usize)];
            ctx.copy_in(addr, &mut data)?;
            return crate::procfs::write(ctx, f, &data, iov.len);
        }
        Dir::Write => ctx.with_user_slices(addr, iov.len, |s| match at {
            At::Pos { append: false } => f.write(s),
            At::Pos { append: true } => f.write_append(s),
            At::Off(off) => f.pwrite(s, off),
            At::End => f.pwrite_append(s),
        })??,
    };
    Ok(n as u64)
}

/// Vectored I/O on a pipe in one file call through a kernel buffer, so that a write of at
/// most `PIPE_BUF` bytes stays atomic and a read does not block between ranges. At most
/// the pipe's capacity moves (a larger write may be partial anyway).
fn bounced(ctx: &mut Ctx<'_>, f: &FileRef, iovs: &[IoVec], dir: Dir) -> abi::SysResult {
    let total: u64 = iovs.iter().map(|v| v.len).sum();
    let total = total.min(vfs::PIPE_CAPACITY as u64) as usize;
    match dir {
        Dir::Write => {
            let mut buf = Vec::with_capacity(total);
            for iov in iovs {
                let start = buf.len();
                let k = (iov.len as usize).min(total - start);
                if k == 0 {
                    continue;
                }
                buf.resize(start + k, 0);
                if let Err(e) = ctx.copy_in(UserAddr(iov.base), &mut buf[start..]) {
                    buf.truncate(start);
                    if start == 0 {
                        return Err(e);
                    }
                    break;
                }
            }
            Ok(f.write(&[IoSlice::new(&buf)])? as u64)
        }
        Dir::Read => {
            let mut buf = vec![0u8; total];
            let n = f.read(&mut [IoSliceMut::new(&mut buf)])?;
            // The data has left the pipe: a failed copy loses it (only possible for
            // unmapped memory; every range passed `access_ok`).
            let mut off = 0usize;
            for iov in iovs {
                let k = (iov.len as usize).min(n - off);
                if k == 0 {
                    continue;
                }
                if let Err(e) = ctx.copy_out(UserAddr(iov.base), &buf[off..off + k]) {
                    return if off == 0 { Err(e) } else { Ok(off as u64) };
                }
                off += k;
            }
            Ok(off as u64)
        }
    }
}

/// `read`/`write`/`pread64`/`pwrite64`: one guest buffer.
fn plain(ctx: &mut Ctx<'_>, a: &Args, dir: Dir, at: At) -> abi::SysResult {
    let f = file_for(ctx, a.i32(0), dir, at)?;
    let count = a.len(2);
    Ctx::access_ok(a.addr(1), count)?;
    let iov = IoVec {
        base: a.addr(1).0,
        len: count.min(MAX_RW_COUNT),
    };
    transfer(ctx, &f, &[iov], dir, at, false, false)
}

/// `read(2)`.
pub fn sys_read(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    plain(ctx, a, Dir::Read, POS)
}

/// `write(2)`.
pub fn sys_write(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    plain(ctx, a, Dir::Write, POS)
}

/// A file offset argument: negative is `EINVAL`.
fn offset(a: &Args, i: usize) -> Result<u64, Errno> {
    u64::try_from(a.i64(i)).map_err(|_| Errno::EINVAL)
}

/// `pread64(2)`.
pub fn sys_pread64(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let off = offset(a, 3)?;
    plain(ctx, a, Dir::Read, At::Off(off))
}

/// `pwrite64(2)`.
pub fn sys_pwrite64(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let off = offset(a, 3)?;
    plain(ctx, a, Dir::Write, At::Off(off))
}

/// Reads and checks an iovec array as Linux's `import_iovec`: `EINVAL` for a bad count or
/// a negative length, `EFAULT` for a bad array or any range outside user space (before any
/// I/O). Lengths are clipped so the total stays within `MAX_RW_COUNT`.
pub(crate) fn iovecs(ctx: &mut Ctx<'_>, addr: UserAddr, cnt: i32) -> Result<Vec<IoVec>, Errno> {
    if cnt < 0 || cnt as usize > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut v = vec![IoVec::default(); cnt as usize];
    ctx.copy_in(addr, bytemuck::cast_slice_mut(&mut v))?;
    if v.iter().any(|iov| iov.len > i64::MAX as u64) {
        return Err(Errno::EINVAL);
    }
    let mut total = 0u64;
    for iov in &mut v {
        Ctx::access_ok(UserAddr(iov.base), iov.len)?;
        iov.len = iov.len.min(MAX_RW_COUNT - total);
        total += iov.len;
    }
    Ok(v)
}

/// The vectored forms: `rwf` are `RWF_*` flags (`EOPNOTSUPP` for unknown ones).
fn vectored(ctx: &mut Ctx<'_>, a: &Args, dir: Dir, at: At, rwf: u32) -> abi::SysResult {
    let f = file_for(ctx, a.i32(0), dir, at)?;
    let v = iovecs(ctx, a.addr(1), a.i32(2))?;
    if v.iter().all(|i| i.len == 0) {
        return Ok(0);
    }
    if rwf & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let at = match (at, dir, rwf & RWF_APPEND != 0) {
        (At::Pos { .. }, Dir::Write, true) => At::Pos { append: true },
        (At::Off(_), Dir::Write, true) => At::End,
        (at, _, _) => at,
    };
    transfer(ctx, &f, &v, dir, at, true, rwf & RWF_NOWAIT != 0)
}

/// An `io_submit` read or write of open file `f` (`write`: its direction): `EBADF` if
/// `f` is not open for it, as [`file_for`].
pub(crate) fn aio_check(f: &FileRef, write: bool) -> Result<(), Errno> {
    let fl = f.flags();
    let ok = if write { fl.writable() } else { fl.readable() };
    if fl.contains(OFlags::PATH) || !ok {
        return Err(Errno::EBADF);
    }
    Ok(())
}

/// `RWF_*` flags: `EOPNOTSUPP` for unknown ones.
pub(crate) fn check_rwf(rwf: u32) -> Result<(), Errno> {
    if rwf & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(())
}

/// One `io_submit` transfer: `iovs` to or from `f` at `off` (at the file position for a
/// file that cannot seek), never blocking (a pipe with nothing to read gives `EAGAIN`).
pub(crate) fn aio_transfer(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    iovs: &[IoVec],
    write: bool,
    off: u64,
    rwf: u32,
) -> abi::SysResult {
    let dir = if write { Dir::Write } else { Dir::Read };
    let at = match (f.is_seekable(), write && rwf & RWF_APPEND != 0) {
        (true, false) => At::Off(off),
        (true, true) => At::End,
        (false, append) => At::Pos { append },
    };
    transfer(ctx, f, iovs, dir, at, true, true)
}

/// `readv(2)`.
pub fn sys_readv(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    vectored(ctx, a, Dir::Read, POS, 0)
}

/// `writev(2)`.
pub fn sys_writev(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    vectored(ctx, a, Dir::Write, POS, 0)
}

/// `preadv(2)`: on x86-64 `pos_l` is the whole offset (`pos_h` is ignored).
pub fn sys_preadv(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let off = offset(a, 3)?;
    vectored(ctx, a, Dir::Read, At::Off(off), 0)
}

/// `pwritev(2)`.
pub fn sys_pwritev(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let off = offset(a, 3)?;
    vectored(ctx, a, Dir::Write, At::Off(off), 0)
}

/// Where `preadv2`/`pwritev2` work: offset -1 is the file position.
fn at2(a: &Args) -> Result<At, Errno> {
    if a.i64(3) == -1 {
        Ok(POS)
    } else {
        offset(a, 3).map(At::Off)
    }
}

/// `preadv2(2)`.
pub fn sys_preadv2(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let at = at2(a)?;
    vectored(ctx, a, Dir::Read, at, a.u32(5))
}

/// `pwritev2(2)`.
pub fn sys_pwritev2(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let at = at2(a)?;
    vectored(ctx, a, Dir::Write, at, a.u32(5))
}

/// `lseek(2)`.
pub fn sys_lseek(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    f.lseek(a.i64(1), a.i32(2))
}
