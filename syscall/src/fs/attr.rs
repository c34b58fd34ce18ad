//! Attributes: `chmod`, `fchmod`, `fchmodat`, `truncate`, `ftruncate`.

use abi::flags::at;
use abi::Errno;

use super::at_path;
use crate::{Args, Ctx};

/// `chmod(2)`.
pub fn sys_chmod(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (base, p) = at_path(ctx, at::FDCWD, a.addr(0))?;
    ctx.vfs.chmod(&base, &p, a.u32(1) & 0o7777, true)?;
    Ok(0)
}

/// `fchmod(2)`.
pub fn sys_fchmod(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    ctx.file(a.i32(0))?.chmod(a.u32(1) & 0o7777)?;
    Ok(0)
}

/// `fchmodat(2)` (the syscall has no flags argument).
pub fn sys_fchmodat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (base, p) = at_path(ctx, a.i32(0), a.addr(1))?;
    ctx.vfs.chmod(&base, &p, a.u32(2) & 0o7777, true)?;
    Ok(0)
}

/// `truncate(2)`.
pub fn sys_truncate(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let len = u64::try_from(a.i64(1)).map_err(|_| Errno::EINVAL)?;
    let (base, p) = at_path(ctx, at::FDCWD, a.addr(0))?;
    ctx.vfs.truncate(&base, &p, len)?;
    Ok(0)
}

/// `ftruncate(2)`.
pub fn sys_ftruncate(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    let len = u64::try_from(a.i64(1)).map_err(|_| Errno::EINVAL)?;
    f.truncate(len)?;
    Ok(0)
}
