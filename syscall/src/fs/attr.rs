//! Attributes: `chmod`, `fchmod`, `fchmodat`, `fchmodat2`, `truncate`, `ftruncate`.

use abi::flags::at;
use abi::{Errno, UserAddr};

use super::at_path;
use crate::{Args, Ctx};

/// `chmod(2)`.
pub fn sys_chmod(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (base, p) = at_path(ctx, at::FDCWD, a.addr(0))?;
    ctx.vfs.chmod(ctx.at(&base), &p, a.u32(1) & 0o7777, true)?;
    Ok(0)
}

/// `fchmod(2)`.
pub fn sys_fchmod(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    f.chmod(ctx.vfs, a.u32(1) & 0o7777, &ctx.proc.fs_cred())?;
    Ok(0)
}

/// `fchmodat(2)` (the syscall has no flags argument).
pub fn sys_fchmodat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    fchmodat(ctx, a.i32(0), a.addr(1), a.u32(2), 0)
}

/// `fchmodat2(2)`: `fchmodat` with `AT_SYMLINK_NOFOLLOW` (a symlink's mode cannot change:
/// `EOPNOTSUPP`) and `AT_EMPTY_PATH` (`dirfd` itself, an `O_PATH` one too).
pub fn sys_fchmodat2(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    fchmodat(ctx, a.i32(0), a.addr(1), a.u32(2), a.u32(3))
}

fn fchmodat(
    ctx: &mut Ctx<'_>,
    dirfd: i32,
    path: UserAddr,
    mode: u32,
    flags: u32,
) -> abi::SysResult {
    if flags & !(at::SYMLINK_NOFOLLOW | at::EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = ctx.read_path(path)?;
    if p.is_empty() && flags & at::EMPTY_PATH != 0 {
        let d = ctx.empty_path_dentry(dirfd)?;
        ctx.vfs.chmod_dentry(&d, mode, &ctx.proc.fs_cred())?;
        return Ok(0);
    }
    let (base, p) = at_path(ctx, dirfd, path)?;
    let follow = flags & at::SYMLINK_NOFOLLOW == 0;
    ctx.vfs.chmod(ctx.at(&base), &p, mode & 0o7777, follow)?;
    Ok(0)
}

/// `truncate(2)`.
pub fn sys_truncate(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let len = u64::try_from(a.i64(1)).map_err(|_| Errno::EINVAL)?;
    let (base, p) = at_path(ctx, at::FDCWD, a.addr(0))?;
    // The page cache is told through the file (opened for reading, as a mapping would
    // be): before, as it is now, and after, as the truncation left it (copied up).
    let named = |ctx: &Ctx<'_>| {
        ctx.vfs
            .open_nonotify(&base, &p, abi::flags::OFlags::empty())
            .ok()
    };
    if let Some(f) = named(ctx) {
        if len < f.size() {
            crate::swap::check_inactive(ctx, &f)?;
        }
        if let Ok(id) = f.inode_id() {
            super::lease::break_on_truncate(ctx, id)?;
        }
        crate::mem::sync_file(ctx, &f);
    }
    let max = super::fsize::max_len(ctx);
    if let Err(e) = ctx.vfs.truncate(ctx.at(&base), &p, len, max) {
        let past_limit = e == Errno::EFBIG && len > max;
        return Err(if past_limit {
            super::fsize::exceeded(ctx)
        } else {
            e
        });
    }
    if let Some(f) = named(ctx) {
        crate::mem::file_truncated(ctx, &f);
    }
    Ok(0)
}

/// `ftruncate(2)`.
pub fn sys_ftruncate(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    let len = u64::try_from(a.i64(1)).map_err(|_| Errno::EINVAL)?;
    if f.flags().writable() {
        f.landlock_check(abi::flags::landlock::ACCESS_FS_TRUNCATE)?;
        super::fsize::check_truncate(ctx, len)?;
    }
    crate::mem::sync_file(ctx, &f);
    if f.flags().writable() && len < f.size() {
        crate::swap::check_inactive(ctx, &f)?;
    }
    f.truncate(len)?;
    crate::mem::file_truncated(ctx, &f);
    Ok(0)
}

/// A `chown` id argument: -1 keeps the current one.
fn id(v: u32) -> Option<u32> {
    (v != u32::MAX).then_some(v)
}

/// `chown(2)`.
pub fn sys_chown(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (base, p) = at_path(ctx, at::FDCWD, a.addr(0))?;
    ctx.vfs
        .chown(ctx.at(&base), &p, id(a.u32(1)), id(a.u32(2)), true)?;
    Ok(0)
}

/// `lchown(2)`.
pub fn sys_lchown(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (base, p) = at_path(ctx, at::FDCWD, a.addr(0))?;
    ctx.vfs
        .chown(ctx.at(&base), &p, id(a.u32(1)), id(a.u32(2)), false)?;
    Ok(0)
}

/// `fchown(2)`.
pub fn sys_fchown(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    f.chown(ctx.vfs, id(a.u32(1)), id(a.u32(2)), &ctx.proc.fs_cred())?;
    Ok(0)
}

/// `fchownat(2)`: `AT_SYMLINK_NOFOLLOW`, and `AT_EMPTY_PATH` for `dirfd` itself.
pub fn sys_fchownat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let flags = a.u32(4);
    if flags & !(at::SYMLINK_NOFOLLOW | at::EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (uid, gid) = (id(a.u32(2)), id(a.u32(3)));
    let p = ctx.read_path(a.addr(1))?;
    if p.is_empty() {
        if flags & at::EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let f = ctx.file(a.i32(0))?;
        f.chown(ctx.vfs, uid, gid, &ctx.proc.fs_cred())?;
        return Ok(0);
    }
    let (base, p) = at_path(ctx, a.i32(0), a.addr(1))?;
    ctx.vfs.chown(
        ctx.at(&base),
        &p,
        uid,
        gid,
        flags & at::SYMLINK_NOFOLLOW == 0,
    )?;
    Ok(0)
}
