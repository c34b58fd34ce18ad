//! `splice` (pipe to file, file to pipe, pipe to pipe), `tee` (pipe to pipe, without
//! consuming) and `vmsplice` (user memory to a pipe, or a pipe to user memory).
//!
//! The kernel moves the bytes through one buffer per call, sized to what the output pipe
//! takes whole, so nothing read from a source is lost to a full pipe. A pipe with nothing
//! to give or no room blocks the task unless the call is non-blocking (`SPLICE_F_NONBLOCK`,
//! or `O_NONBLOCK` on the pipe as Linux looks at it). A host pipe passed in as stdio is a
//! pipe for `splice` too (writes to it block in the host); `tee` and `vmsplice` take only
//! pipes made by `pipe(2)`, whose contents the kernel can read without consuming them.
//! `vmsplice` copies the bytes (Linux maps the user pages into the pipe; `SPLICE_F_GIFT`
//! changes nothing here): into a pipe as much as it has room for once it has any, out of
//! a pipe what it holds, both stopping at the first bad user page (`EFAULT` if nothing
//! moved; bytes that could not be delivered stay in the pipe).

use std::io::{IoSlice, IoSliceMut};

use abi::flags::mode::{S_IFIFO, S_IFMT};
use abi::flags::OFlags;
use abi::structs::{IoVec, UIO_MAXIOV};
use abi::{Errno, SysResult, UserAddr};
use vfs::FileRef;

use crate::{Args, Ctx, WaitKey};

const SPLICE_F_NONBLOCK: u32 = 2;
/// `SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT`.
const SPLICE_F_ALL: u32 = 0xf;

/// Most bytes one call moves from a pipe to a file.
const CHUNK: usize = 1 << 20;

/// Whether `f` is a pipe: one made by `pipe(2)`, or a host pipe passed in as stdio.
fn is_pipe(f: &FileRef) -> bool {
    f.is_pipe()
        || f.host_stream_fd().is_some() && f.stat().is_ok_and(|s| s.st_mode & S_IFMT == S_IFIFO)
}

/// `EAGAIN` for a non-blocking call, else blocks the task until `pipe` changes.
fn wait_or_again(ctx: &mut Ctx<'_>, pipe: &FileRef, nonblock: bool) -> Errno {
    match pipe.wait_id() {
        Some(_) if !nonblock => ctx.block_on_file(pipe),
        _ => Errno::EAGAIN,
    }
}

/// Waits for `pipe` to have bytes to read: `Ok(false)` at end of file (no writers).
fn input_ready(ctx: &mut Ctx<'_>, pipe: &FileRef, nonblock: bool) -> Result<bool, Errno> {
    let st = pipe.poll_ready();
    if st.readable {
        Ok(true)
    } else if st.hangup {
        Ok(false)
    } else {
        Err(wait_or_again(ctx, pipe, nonblock))
    }
}

/// Waits for room in `pipe`: how many bytes a write takes whole (a host pipe takes any
/// amount, blocking in the host); `EPIPE` without readers.
fn output_room(ctx: &mut Ctx<'_>, pipe: &FileRef, nonblock: bool) -> Result<usize, Errno> {
    if pipe.poll_ready().error {
        return Err(Errno::EPIPE);
    }
    match pipe.pipe_room().unwrap_or(CHUNK) {
        0 => Err(wait_or_again(ctx, pipe, nonblock)),
        n => Ok(n),
    }
}

/// Both descriptors, with `EBADF` unless the first reads and the second writes.
fn in_and_out(ctx: &Ctx<'_>, fd_in: i32, fd_out: i32) -> Result<(FileRef, FileRef), Errno> {
    let (src, dst) = (ctx.file(fd_in)?, ctx.file(fd_out)?);
    let path = |f: &FileRef| f.flags().contains(OFlags::PATH);
    if !src.flags().readable() || !dst.flags().writable() || path(&src) || path(&dst) {
        return Err(Errno::EBADF);
    }
    Ok((src, dst))
}

/// Whether `f` moves data through splice (Linux's `splice_read`/`splice_write`): files,
/// devices, terminals and sockets do; directories, pidfds and kernel objects (epoll,
/// eventfd, signalfd, timerfd, ...) do not (`EINVAL`, checked before any wait).
fn splices(f: &FileRef) -> bool {
    const S_IFMT: u32 = 0o170_000;
    const S_IFDIR: u32 = 0o040_000;
    if f.stat().is_ok_and(|st| st.st_mode & S_IFMT == S_IFDIR) {
        return false;
    }
    if f.pidfd().is_some() {
        return false;
    }
    f.object().is_none() || crate::net::socket_of(f).is_some() || crate::net::inet_of(f).is_some()
}

/// Reads an optional `loff_t` argument (checked for sign by the caller, as Linux's
/// `rw_verify_area` does after the descriptor checks).
fn offset_arg(ctx: &mut Ctx<'_>, at: UserAddr) -> Result<Option<i64>, Errno> {
    if at.is_null() {
        return Ok(None);
    }
    ctx.read_val(at).map(Some)
}

/// A file side's offset, if one is given: `EINVAL` if negative or the file cannot seek.
fn file_offset(file: &FileRef, given: Option<i64>) -> Result<Option<u64>, Errno> {
    match given {
        Some(off) if off < 0 || !file.is_seekable() => Err(Errno::EINVAL),
        given => Ok(given.map(|o| o as u64)),
    }
}

/// Wakes the tasks waiting on either end.
fn wake_both(ctx: &mut Ctx<'_>, a: &FileRef, b: &FileRef) {
    wake_file(ctx, a);
    wake_file(ctx, b);
}

/// Wakes the tasks waiting on `f`.
fn wake_file(ctx: &mut Ctx<'_>, f: &FileRef) {
    if let Some(id) = f.wait_id() {
        ctx.wake(WaitKey::File(id));
    }
}

/// `EPIPE` from writing to a pipe nobody reads also raises `SIGPIPE`, as for `write(2)`.
fn raising_sigpipe(ctx: &mut Ctx<'_>, r: SysResult) -> SysResult {
    if r == Err(Errno::EPIPE) {
        crate::kill::raise_sigpipe(ctx);
    }
    r
}

pub(crate) fn sys_splice(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let r = splice(ctx, a);
    raising_sigpipe(ctx, r)
}

fn splice(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (off_in_at, off_out_at, len, flags) = (a.addr(1), a.addr(3), a.len(4), a.u32(5));
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (src, dst) = (ctx.file(a.i32(0))?, ctx.file(a.i32(2))?);
    let (in_pipe, out_pipe) = (is_pipe(&src), is_pipe(&dst));
    if in_pipe && !off_in_at.is_null() || out_pipe && !off_out_at.is_null() {
        return Err(Errno::ESPIPE);
    }
    let off_out = offset_arg(ctx, off_out_at)?;
    let off_in = offset_arg(ctx, off_in_at)?;
    let (src, dst) = in_and_out(ctx, a.i32(0), a.i32(2))?;
    let nonblock =
        |f: &FileRef| flags & SPLICE_F_NONBLOCK != 0 || f.flags().contains(OFlags::NONBLOCK);
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    match (in_pipe, out_pipe) {
        (true, true) => {
            if src.wait_id() == dst.wait_id() {
                return Err(Errno::EINVAL);
            }
            let nb = nonblock(&src) || nonblock(&dst);
            if !input_ready(ctx, &src, nb)? {
                return Ok(0);
            }
            let room = output_room(ctx, &dst, nb)?;
            let mut buf = vec![0u8; len.min(room)];
            let n = src.read(&mut [IoSliceMut::new(&mut buf)])?;
            let put = dst.write(&[IoSlice::new(&buf[..n])])?;
            wake_both(ctx, &src, &dst);
            Ok(put as u64)
        }
        (true, false) => {
            if dst.flags().contains(OFlags::APPEND) || !splices(&dst) {
                return Err(Errno::EINVAL);
            }
            let at = file_offset(&dst, off_out)?;
            if !input_ready(ctx, &src, nonblock(&src))? {
                return Ok(0);
            }
            let mut buf = vec![0u8; len.min(CHUNK)];
            let n = src.read(&mut [IoSliceMut::new(&mut buf)])?;
            wake_both(ctx, &src, &dst);
            let data = [IoSlice::new(&buf[..n])];
            let put = match at {
                // The /proc/sys files splice (Linux's iter_file_splice_write).
                _ if dst.proc_sysctl().is_some() => {
                    let seen = n.min(crate::procfs::write_limit(&dst));
                    crate::procfs::write(ctx, &dst, &buf[..seen], n as u64)? as usize
                }
                Some(at) => dst.pwrite(&data, at)?,
                None => dst.write(&data)?,
            };
            if let Some(at) = at {
                ctx.write_val(off_out_at, &((at + put as u64) as i64))?;
            }
            Ok(put as u64)
        }
        (false, true) => {
            if !splices(&src) {
                return Err(Errno::EINVAL);
            }
            let at = file_offset(&src, off_in)?;
            let room = output_room(ctx, &dst, nonblock(&dst))?;
            // At most what the pipe takes whole: nothing read is lost.
            let mut buf = vec![0u8; len.min(room)];
            let mut into = [IoSliceMut::new(&mut buf)];
            let n = match at {
                Some(at) => src.pread(&mut into, at)?,
                // A terminal with nothing typed yet.
                None => match src.read(&mut into) {
                    Err(Errno::EAGAIN) => return Err(wait_or_again(ctx, &src, nonblock(&src))),
                    r => r?,
                },
            };
            if n == 0 {
                return Ok(0);
            }
            let put = dst.write(&[IoSlice::new(&buf[..n])])?;
            wake_both(ctx, &src, &dst);
            if let Some(at) = at {
                ctx.write_val(off_in_at, &((at + put as u64) as i64))?;
            }
            Ok(put as u64)
        }
        (false, false) => Err(Errno::EINVAL),
    }
}

pub(crate) fn sys_tee(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let r = tee(ctx, a);
    raising_sigpipe(ctx, r)
}

fn tee(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (len, flags) = (a.len(2), a.u32(3));
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let (src, dst) = in_and_out(ctx, a.i32(0), a.i32(1))?;
    if !src.is_pipe() || !dst.is_pipe() || src.wait_id() == dst.wait_id() {
        return Err(Errno::EINVAL);
    }
    let nb =
        flags & SPLICE_F_NONBLOCK != 0 || (src.flags() | dst.flags()).contains(OFlags::NONBLOCK);
    if !input_ready(ctx, &src, nb)? {
        return Ok(0);
    }
    let room = output_room(ctx, &dst, nb)?;
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX).min(room)];
    let n = src.pipe_peek(&mut buf)?;
    let put = dst.write(&[IoSlice::new(&buf[..n])])?;
    wake_both(ctx, &src, &dst);
    Ok(put as u64)
}

pub(crate) fn sys_vmsplice(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let r = vmsplice(ctx, a);
    raising_sigpipe(ctx, r)
}

fn vmsplice(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = a.u32(3);
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let pipe = ctx.file(a.i32(0))?;
    let to_pipe = pipe.flags().writable();
    if !to_pipe && !pipe.flags().readable() {
        return Err(Errno::EBADF);
    }
    let cnt = a.raw(2);
    if cnt > UIO_MAXIOV as u64 {
        return Err(Errno::EINVAL);
    }
    let iov = crate::fs::iovecs(ctx, a.addr(1), cnt as i32)?;
    let total: u64 = iov.iter().map(|v| v.len).sum();
    if total == 0 {
        return Ok(0);
    }
    if !pipe.is_pipe() {
        return Err(Errno::EBADF);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0 || pipe.flags().contains(OFlags::NONBLOCK);
    let want = usize::try_from(total).unwrap_or(usize::MAX);
    if to_pipe {
        let room = output_room(ctx, &pipe, nonblock)?;
        let mut buf = vec![0u8; want.min(room)];
        let n = user_copy(ctx, &iov, &mut buf, false)?;
        let put = pipe.write(&[IoSlice::new(&buf[..n])])?;
        wake_file(ctx, &pipe);
        Ok(put as u64)
    } else {
        if !input_ready(ctx, &pipe, nonblock)? {
            return Ok(0);
        }
        let mut buf = vec![0u8; want.min(CHUNK)];
        let held = pipe.pipe_peek(&mut buf)?;
        let n = user_copy(ctx, &iov, &mut buf[..held], true)?;
        let mut taken = vec![0u8; n];
        let got = pipe.read(&mut [IoSliceMut::new(&mut taken)])?;
        wake_file(ctx, &pipe);
        Ok(got as u64)
    }
}

/// Copies between `buf` and the user buffers `iov` in order (`out`: to them), as far as
/// `buf` goes or up to the first bad page: how many bytes, `EFAULT` if none.
fn user_copy(ctx: &mut Ctx<'_>, iov: &[IoVec], buf: &mut [u8], out: bool) -> Result<usize, Errno> {
    const PAGE: u64 = 4096;
    let mut done = 0usize;
    for v in iov {
        let mut off = 0u64;
        while off < v.len && done < buf.len() {
            let at = v.base + off;
            let n = (v.len - off)
                .min(PAGE - at % PAGE)
                .min((buf.len() - done) as u64);
            let piece = &mut buf[done..done + n as usize];
            let r = if out {
                ctx.copy_out(UserAddr(at), piece)
            } else {
                ctx.copy_in(UserAddr(at), piece)
            };
            if r.is_err() {
                return if done == 0 {
                    Err(Errno::EFAULT)
                } else {
                    Ok(done)
                };
            }
            done += n as usize;
            off += n;
        }
    }
    Ok(done)
}
