//! Copies between files done by the kernel (`sendfile`, `copy_file_range`) and the calls
//! that flush files (`fsync`, `fdatasync`, `sync_file_range`, `sync`, `syncfs`).
//!
//! The data passes through one kernel buffer per call: the guest's memory is not involved.

use std::io::{IoSlice, IoSliceMut};

use abi::flags::OFlags;
use abi::{Errno, SysResult, UserAddr};
use vfs::FileRef;

use crate::{Args, Ctx, WaitKey};

/// Most bytes one call moves (Linux caps a transfer at `MAX_RW_COUNT` too; callers loop).
const CHUNK: usize = 1 << 20;

fn readable(ctx: &Ctx<'_>, fd: i32) -> Result<FileRef, Errno> {
    let f = ctx.file(fd)?;
    if !f.flags().readable() || f.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

fn writable(ctx: &Ctx<'_>, fd: i32) -> Result<FileRef, Errno> {
    let f = ctx.file(fd)?;
    if !f.flags().writable() || f.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// Moves up to `count` bytes from `src` (at `src_off`, or its position) to `dst` (at
/// `dst_off`, or its position). A pipe end with nothing to give or no room blocks the task
/// unless it is non-blocking.
fn transfer(
    ctx: &mut Ctx<'_>,
    src: &FileRef,
    src_off: Option<u64>,
    dst: &FileRef,
    dst_off: Option<u64>,
    count: u64,
) -> Result<usize, Errno> {
    crate::mem::sync_file(ctx, src);
    crate::mem::sync_file(ctx, dst);
    let mut buf = vec![0u8; (count as usize).min(CHUNK)];
    let got = match src_off {
        Some(off) => src.pread(&mut [IoSliceMut::new(&mut buf)], off),
        None => src.read(&mut [IoSliceMut::new(&mut buf)]),
    };
    let n = match got {
        Ok(n) => n,
        Err(Errno::EAGAIN) => return Err(block_or(ctx, src)),
        Err(e) => return Err(e),
    };
    if n == 0 {
        return Ok(0);
    }
    let put = match dst_off {
        Some(off) => dst.pwrite(&[IoSlice::new(&buf[..n])], off),
        None => dst.write(&[IoSlice::new(&buf[..n])]),
    };
    for f in [src, dst] {
        if let Some(id) = f.wait_id() {
            ctx.wake(WaitKey::File(id));
        }
    }
    if let Ok(n @ 1..) = put {
        crate::mem::file_written(ctx, dst, dst_off, n as u64);
    }
    // What was read but could not be written is lost to a stream source, as on Linux when
    // a splice is interrupted; a positional source simply reports the shorter count.
    put
}

/// `EAGAIN` for a non-blocking file, else blocks the task on it.
fn block_or(ctx: &mut Ctx<'_>, f: &FileRef) -> Errno {
    match f.wait_id() {
        Some(_) if !f.flags().contains(OFlags::NONBLOCK) => ctx.block_on_file(f),
        _ => Errno::EAGAIN,
    }
}

fn read_off(ctx: &mut Ctx<'_>, at: UserAddr) -> Result<Option<u64>, Errno> {
    if at.is_null() {
        return Ok(None);
    }
    let off: i64 = ctx.read_val(at)?;
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(off as u64))
}

pub(crate) fn sys_sendfile(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (dst, src) = (writable(ctx, a.i32(0))?, readable(ctx, a.i32(1))?);
    if dst.flags().contains(OFlags::APPEND) {
        return Err(Errno::EINVAL);
    }
    let off = read_off(ctx, a.addr(2))?;
    let n = transfer(ctx, &src, off, &dst, None, a.len(3))?;
    if let Some(off) = off {
        ctx.write_val(a.addr(2), &(off + n as u64))?;
    }
    Ok(n as u64)
}

/// `copy_file_range(2)`, with Linux's checks in its order (`generic_copy_file_checks`):
/// flags, then the kinds of both files (`EISDIR`, `EINVAL` for anything not regular), their
/// modes (`EBADF`), an immutable destination (`EPERM`), offsets that wrap (`EOVERFLOW`),
/// the destination's size limit (`EFBIG`) and an overlap within one file (`EINVAL`).
pub(crate) fn sys_copy_file_range(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let opened = |ctx: &Ctx<'_>, fd: i32| match ctx.file(fd) {
        Ok(f) if f.flags().contains(OFlags::PATH) => Err(Errno::EBADF),
        r => r,
    };
    let (src, dst) = (opened(ctx, a.i32(0))?, opened(ctx, a.i32(2))?);
    let (in_off, out_off) = (read_off(ctx, a.addr(1))?, read_off(ctx, a.addr(3))?);
    if a.u32(5) != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = |f: &FileRef| f.stat().map_or(0, |s| s.st_mode & abi::flags::mode::S_IFMT);
    let (ki, ko) = (kind(&src), kind(&dst));
    if ki == abi::flags::mode::S_IFDIR || ko == abi::flags::mode::S_IFDIR {
        return Err(Errno::EISDIR);
    }
    if ki != abi::flags::mode::S_IFREG || ko != abi::flags::mode::S_IFREG {
        return Err(Errno::EINVAL);
    }
    let (fi, fo) = (src.flags(), dst.flags());
    if !fi.readable() || !fo.writable() || fo.contains(OFlags::APPEND) {
        return Err(Errno::EBADF);
    }
    if dst.immutable() {
        return Err(Errno::EPERM);
    }
    crate::swap::check_inactive(ctx, &src)?;
    crate::swap::check_inactive(ctx, &dst)?;
    let pos_in = in_off.unwrap_or_else(|| src.pos());
    let pos_out = out_off.unwrap_or_else(|| dst.pos());
    let len = a.len(4);
    if pos_in.checked_add(len).is_none() || pos_out.checked_add(len).is_none() {
        return Err(Errno::EOVERFLOW);
    }
    let size_in = src.stat()?.st_size as u64;
    let count = len.min(size_in.saturating_sub(pos_in));
    if pos_out >= vfs::MAX_FILE_SIZE {
        return Err(Errno::EFBIG);
    }
    if src.inode_id()? == dst.inode_id()? && pos_out + count > pos_in && pos_out < pos_in + count {
        return Err(Errno::EINVAL);
    }
    let n = transfer(ctx, &src, in_off, &dst, out_off, count)?;
    if let Some(off) = in_off {
        ctx.write_val(a.addr(1), &(off + n as u64))?;
    }
    if let Some(off) = out_off {
        ctx.write_val(a.addr(3), &(off + n as u64))?;
    }
    Ok(n as u64)
}

/// `fsync`, `fdatasync`: the file must be open; the dirty page-cache pages of
/// shared mappings of it are written back, and a disk file system it lies on writes back
/// what is dirty (its device's counters move); beyond that in-memory files have nothing
/// to flush, and host files are flushed by the host as it sees fit.
pub(crate) fn sys_fsync(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let f = ctx.file(a.i32(0))?;
    if f.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    // Only files with storage behind them can be synced: regular files, directories and
    // block devices; pipes, sockets, character devices and kernel objects have no `fsync`.
    const S_IFMT: u32 = 0o170_000;
    let kind = f.stat()?.st_mode & S_IFMT;
    if ![0o100_000, 0o040_000, 0o060_000].contains(&kind) {
        return Err(Errno::EINVAL);
    }
    write_back(ctx, &f);
    Ok(0)
}

/// What a sync of `f` writes back: the dirty pages of its shared mappings, and what is
/// dirty on a disk file system it lies on.
fn write_back(ctx: &mut Ctx<'_>, f: &vfs::FileRef) {
    crate::mem::sync_file(ctx, f);
    f.synced();
}

/// `syncfs(2)`: the file system of any open file (a pipe's too).
pub(crate) fn sys_syncfs(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let f = ctx.file(a.i32(0))?;
    write_back(ctx, &f);
    Ok(0)
}

/// `sync_file_range(fd, offset, nbytes, flags)`: Linux's checks (`EBADF`; `EINVAL` for
/// unknown flags or a negative or overflowing range; `ESPIPE` for anything but a regular
/// file, directory, symlink or block device), then the writeback `fsync` does.
pub(crate) fn sys_sync_file_range(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    use abi::flags::mode::{S_IFBLK, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
    /// `SYNC_FILE_RANGE_WAIT_BEFORE | WRITE | WAIT_AFTER`.
    const VALID: u32 = 7;
    let f = ctx.file(a.i32(0))?;
    if f.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let (offset, nbytes) = (a.i64(1), a.i64(2));
    if a.u32(3) & !VALID != 0 || offset < 0 || offset.checked_add(nbytes).is_none_or(|e| e < offset)
    {
        return Err(Errno::EINVAL);
    }
    let mode = f.stat()?.st_mode & S_IFMT;
    if ![S_IFREG, S_IFDIR, S_IFLNK, S_IFBLK].contains(&mode) {
        return Err(Errno::ESPIPE);
    }
    write_back(ctx, &f);
    Ok(0)
}

/// `sync(2)`: the disk file systems write back what is dirty.
pub(crate) fn sys_sync(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    ctx.vfs.sync();
    Ok(0)
}
