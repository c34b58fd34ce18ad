//! Extended attributes ([`vfs::Vfs::getxattr`] and friends keep them and check who may
//! see or change them) and file-system statistics.

use abi::{Errno, SysResult, UserAddr};
use vfs::Dentry;

use super::path_arg;
use crate::{Args, Ctx};

/// Longest attribute name (`XATTR_NAME_MAX`).
const XATTR_NAME_MAX: usize = 255;

/// Resolves the file an xattr call is about: a path (following symlinks or not) or a fd.
fn target(ctx: &mut Ctx<'_>, a: &Args, by: By) -> Result<Dentry, Errno> {
    match by {
        By::Path(follow) => {
            let p = path_arg(ctx, a.addr(0))?;
            ctx.vfs.lookup(ctx.at(&ctx.proc.cwd), &p, follow)
        }
        By::Fd => ctx.file_io(a.i32(0))?.dentry().ok_or(Errno::EOPNOTSUPP),
    }
}

#[derive(Clone, Copy)]
enum By {
    Path(bool),
    Fd,
}

fn name_arg(ctx: &mut Ctx<'_>, at: UserAddr) -> Result<Vec<u8>, Errno> {
    let name = ctx
        .mm
        .read_cstr(ctx.proc.mm, at, XATTR_NAME_MAX + 1)
        .map_err(|e| {
            if e == Errno::ENAMETOOLONG {
                Errno::ERANGE
            } else {
                e
            }
        })?;
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(name)
}

/// Copies `bytes` to the caller's buffer `(addr, size)`: size 0 asks for the length only;
/// a smaller buffer is `ERANGE`.
fn give(ctx: &mut Ctx<'_>, a: &Args, at: usize, bytes: &[u8]) -> SysResult {
    let size = a.raw(at + 1) as usize;
    if size == 0 {
        return Ok(bytes.len() as u64);
    }
    if size < bytes.len() {
        return Err(Errno::ERANGE);
    }
    ctx.copy_out(a.addr(at), bytes)?;
    Ok(bytes.len() as u64)
}

fn get(ctx: &mut Ctx<'_>, a: &Args, by: By) -> SysResult {
    let d = target(ctx, a, by)?;
    let name = name_arg(ctx, a.addr(1))?;
    let value = ctx.vfs.getxattr(&ctx.proc.fs_cred(), &d, &name)?;
    give(ctx, a, 2, &value)
}

fn list(ctx: &mut Ctx<'_>, a: &Args, by: By) -> SysResult {
    let d = target(ctx, a, by)?;
    let names = ctx.vfs.listxattr(&ctx.proc.fs_cred(), &d)?;
    give(ctx, a, 1, &names)
}

fn set(ctx: &mut Ctx<'_>, a: &Args, by: By) -> SysResult {
    let d = target(ctx, a, by)?;
    let name = name_arg(ctx, a.addr(1))?;
    let flags = a.i32(4);
    if flags & !3 != 0 {
        return Err(Errno::EINVAL);
    }
    let size = a.raw(3) as usize;
    if size > vfs::XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let mut value = vec![0u8; size];
    ctx.copy_in(a.addr(2), &mut value)?;
    ctx.vfs
        .setxattr(&ctx.proc.fs_cred(), &d, &name, &value, flags)?;
    Ok(0)
}

fn remove(ctx: &mut Ctx<'_>, a: &Args, by: By) -> SysResult {
    let d = target(ctx, a, by)?;
    let name = name_arg(ctx, a.addr(1))?;
    ctx.vfs.removexattr(&ctx.proc.fs_cred(), &d, &name)?;
    Ok(0)
}

pub(crate) fn sys_getxattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    get(ctx, a, By::Path(true))
}
pub(crate) fn sys_lgetxattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    get(ctx, a, By::Path(false))
}
pub(crate) fn sys_fgetxattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    get(ctx, a, By::Fd)
}
pub(crate) fn sys_listxattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    list(ctx, a, By::Path(true))
}
pub(crate) fn sys_llistxattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    list(ctx, a, By::Path(false))
}
pub(crate) fn sys_flistxattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    list(ctx, a, By::Fd)
}
pub(crate) fn sys_setxattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set(ctx, a, By::Path(true))
}
pub(crate) fn sys_lsetxattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set(ctx, a, By::Path(false))
}
pub(crate) fn sys_fsetxattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set(ctx, a, By::Fd)
}
pub(crate) fn sys_removexattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    remove(ctx, a, By::Path(true))
}
pub(crate) fn sys_lremovexattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    remove(ctx, a, By::Path(false))
}
pub(crate) fn sys_fremovexattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    remove(ctx, a, By::Fd)
}

pub(crate) fn sys_fadvise64(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let f = ctx.file(a.i32(0))?;
    if f.wait_id().is_some() {
        return Err(Errno::ESPIPE);
    }
    if !(0..=5).contains(&a.i32(3)) || a.i64(2) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
