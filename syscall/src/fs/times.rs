//! File times: `utimensat`, `futimesat`, `utimes`, `utime`.

use abi::flags::at;
use abi::structs::{Timespec, Timeval};
use abi::{Errno, UserAddr};
use vfs::{UTIME_NOW, UTIME_OMIT};

use super::{base_for, path_arg};
use crate::{Args, Ctx};

const NOW: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: UTIME_NOW,
};

/// Sets the times of what `dirfd` + `path` names, as Linux's `do_utimes`: a null `path`
/// with a real `dirfd` is that file itself (no flags allowed then).
fn do_utimes(
    ctx: &mut Ctx<'_>,
    dirfd: i32,
    path: UserAddr,
    times: [Timespec; 2],
    flags: u32,
) -> abi::SysResult {
    if path.0 == 0 && dirfd != at::FDCWD {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let f = ctx.file(dirfd)?;
        f.utimens(times[0], times[1], &ctx.proc.fs_cred())?;
        return Ok(0);
    }
    if flags & !(at::SYMLINK_NOFOLLOW | at::EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = ctx.read_path(path)?;
    if p.is_empty() {
        if flags & at::EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let d = if dirfd == at::FDCWD {
            ctx.proc.cwd.clone()
        } else {
            let f = ctx.file(dirfd)?;
            match f.dentry() {
                Some(d) => d,
                // A pipe or stdio: no name, set the open file's own times.
                None => {
                    f.utimens(times[0], times[1], &ctx.proc.fs_cred())?;
                    return Ok(0);
                }
            }
        };
        ctx.vfs
            .utimens_dentry(&d, times[0], times[1], &ctx.proc.fs_cred())?;
        return Ok(0);
    }
    let base = base_for(ctx, dirfd, &p)?;
    let follow = flags & at::SYMLINK_NOFOLLOW == 0;
    ctx.vfs
        .utimens(ctx.at(&base), &p, times[0], times[1], follow)?;
    Ok(0)
}

/// `utimensat(2)`.
pub fn sys_utimensat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let times = match a.addr(2) {
        UserAddr(0) => [NOW, NOW],
        addr => {
            let t: [Timespec; 2] = ctx.read_val(addr)?;
            if t[0].tv_nsec == UTIME_OMIT && t[1].tv_nsec == UTIME_OMIT {
                // Nothing to do: Linux does not even look at the path.
                return Ok(0);
            }
            t
        }
    };
    do_utimes(ctx, a.i32(0), a.addr(1), times, a.u32(3))
}

/// Reads a `timeval[2]` (null: now): `tv_usec` outside `0..1_000_000` is `EINVAL`.
fn timevals(ctx: &mut Ctx<'_>, addr: UserAddr) -> Result<[Timespec; 2], Errno> {
    if addr.0 == 0 {
        return Ok([NOW, NOW]);
    }
    let tv: [Timeval; 2] = ctx.read_val(addr)?;
    let conv = |t: Timeval| {
        if !(0..1_000_000).contains(&t.tv_usec) {
            return Err(Errno::EINVAL);
        }
        Ok(Timespec {
            tv_sec: t.tv_sec,
            tv_nsec: t.tv_usec * 1000,
        })
    };
    Ok([conv(tv[0])?, conv(tv[1])?])
}

/// `futimesat(2)`.
pub fn sys_futimesat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let times = timevals(ctx, a.addr(2))?;
    do_utimes(ctx, a.i32(0), a.addr(1), times, 0)
}

/// `utimes(2)`.
pub fn sys_utimes(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let times = timevals(ctx, a.addr(1))?;
    do_utimes(ctx, at::FDCWD, a.addr(0), times, 0)
}

/// `utime(2)`: a `struct utimbuf` (`actime`, `modtime` in seconds), null for now.
pub fn sys_utime(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let times = match a.addr(1) {
        UserAddr(0) => [NOW, NOW],
        addr => {
            let t: [i64; 2] = ctx.read_val(addr)?;
            [
                Timespec {
                    tv_sec: t[0],
                    tv_nsec: 0,
                },
                Timespec {
                    tv_sec: t[1],
                    tv_nsec: 0,
                },
            ]
        }
    };
    let p = path_arg(ctx, a.addr(0))?;
    let base = base_for(ctx, at::FDCWD, &p)?;
    ctx.vfs
        .utimens(ctx.at(&base), &p, times[0], times[1], true)?;
    Ok(0)
}
