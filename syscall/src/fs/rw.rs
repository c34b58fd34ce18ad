//! `read`, `write`, their vectored and positional forms, and `lseek`.

use abi::structs::{IoVec, UIO_MAXIOV};
use abi::{Errno, UserAddr};

use crate::{Args, Ctx};

/// Most bytes one read or write moves (`MAX_RW_COUNT`).
const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// Where a transfer reads or writes: the file position, or an explicit offset.
#[derive(Clone, Copy)]
enum At {
    Pos,
    Off(u64),
}

fn read_into(ctx: &mut Ctx<'_>, fd: i32, buf: UserAddr, count: u64, at: At) -> abi::SysResult {
    let f = ctx.file(fd)?;
    if !f.flags().readable() || f.flags().contains(abi::flags::OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let count = count.min(MAX_RW_COUNT);
    let len = match at {
        At::Pos => f.read_len_hint(count),
        At::Off(_) => count,
    };
    let n = ctx.with_user_slices_mut(buf, len, |s| match at {
        At::Pos => f.read(s),
        At::Off(off) => f.pread(s, off),
    })??;
    Ok(n as u64)
}

fn write_from(ctx: &mut Ctx<'_>, fd: i32, buf: UserAddr, count: u64, at: At) -> abi::SysResult {
    let f = ctx.file(fd)?;
    if !f.flags().writable() || f.flags().contains(abi::flags::OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let count = count.min(MAX_RW_COUNT);
    let n = ctx.with_user_slices(buf, count, |s| match at {
        At::Pos => f.write(s),
        At::Off(off) => f.pwrite(s, off),
    })??;
    Ok(n as u64)
}

/// `read(2)`.
pub fn sys_read(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    read_into(ctx, a.i32(0), a.addr(1), a.len(2), At::Pos)
}

/// `write(2)`.
pub fn sys_write(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    write_from(ctx, a.i32(0), a.addr(1), a.len(2), At::Pos)
}

fn offset(a: &Args, i: usize) -> Result<u64, Errno> {
    u64::try_from(a.i64(i)).map_err(|_| Errno::EINVAL)
}

/// `pread64(2)`.
pub fn sys_pread64(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let off = offset(a, 3)?;
    read_into(ctx, a.i32(0), a.addr(1), a.len(2), At::Off(off))
}

/// `pwrite64(2)`.
pub fn sys_pwrite64(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let off = offset(a, 3)?;
    write_from(ctx, a.i32(0), a.addr(1), a.len(2), At::Off(off))
}

/// Reads and checks an iovec array: `EINVAL` for a bad count or a negative length,
/// `EFAULT` for a bad array. Lengths are clipped so the total stays within `MAX_RW_COUNT`.
fn iovecs(ctx: &mut Ctx<'_>, addr: UserAddr, cnt: i32) -> Result<Vec<IoVec>, Errno> {
    if cnt < 0 || cnt as usize > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut v = vec![IoVec::default(); cnt as usize];
    ctx.copy_in(addr, bytemuck::cast_slice_mut(&mut v))?;
    let mut total = 0u64;
    for iov in &mut v {
        if iov.len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        iov.len = iov.len.min(MAX_RW_COUNT - total);
        total += iov.len;
    }
    Ok(v)
}

fn readv_at(ctx: &mut Ctx<'_>, a: &Args, at: At) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    if !f.flags().readable() || f.flags().contains(abi::flags::OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let v = iovecs(ctx, a.addr(1), a.i32(2))?;
    let mut done = 0u64;
    for iov in v.iter().filter(|i| i.len > 0) {
        let r = match at {
            At::Pos => read_into(ctx, a.i32(0), UserAddr(iov.base), iov.len, At::Pos),
            At::Off(off) => read_into(
                ctx,
                a.i32(0),
                UserAddr(iov.base),
                iov.len,
                At::Off(off + done),
            ),
        };
        match r {
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

fn writev_at(ctx: &mut Ctx<'_>, a: &Args, at: At) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    if !f.flags().writable() || f.flags().contains(abi::flags::OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let v = iovecs(ctx, a.addr(1), a.i32(2))?;
    let mut done = 0u64;
    for iov in v.iter().filter(|i| i.len > 0) {
        let r = match at {
            At::Pos => write_from(ctx, a.i32(0), UserAddr(iov.base), iov.len, At::Pos),
            At::Off(off) => write_from(
                ctx,
                a.i32(0),
                UserAddr(iov.base),
                iov.len,
                At::Off(off + done),
            ),
        };
        match r {
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

/// `readv(2)`.
pub fn sys_readv(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    readv_at(ctx, a, At::Pos)
}

/// `writev(2)`.
pub fn sys_writev(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    writev_at(ctx, a, At::Pos)
}

/// `lseek(2)`.
pub fn sys_lseek(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    f.lseek(a.i64(1), a.i32(2))
}
