//! Directories and names: `getdents64` and `getdents`, `getcwd`, `chdir`, `mkdir`, `mknod`, `rmdir`,
//! `unlink`, `rename`, `link`, `symlink`.

use abi::flags::{at, rename};
use abi::{Errno, UserAddr};

use super::{at_path, path_arg};
use crate::procfs::ProcView;
use crate::{Args, Ctx};

/// `getdents64(2)`.
pub fn sys_getdents64(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    getdents(ctx, a, true)
}

/// `getdents(2)`: the old `struct linux_dirent` records.
pub fn sys_getdents(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    getdents(ctx, a, false)
}

fn getdents(ctx: &mut Ctx<'_>, a: &Args, wide: bool) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    let count = a.u32(2) as usize;
    let addr = a.addr(1);
    // The position only moves once the records reached the guest: after an `EFAULT` the
    // next call returns them again, as on Linux.
    // procfs directories list what the caller sees.
    let procs = ProcView::new(ctx.proc, ctx.procs, None);
    let (mm, space) = (&mut *ctx.mm, ctx.proc.mm);
    let deliver = |buf: &[u8]| {
        Ctx::access_ok(addr, buf.len() as u64)?;
        mm.copy_out(space, addr, buf)
    };
    let n = if wide {
        f.getdents64_for(&procs, count, deliver)?
    } else {
        f.getdents_for(&procs, count, deliver)?
    };
    Ok(n as u64)
}

/// `getcwd(2)`: the length including the NUL; `ERANGE` if it does not fit. The path is
/// from the caller's root; a directory outside it (after `chroot`) is
/// `(unreachable)/...`, as Linux shows it.
pub fn sys_getcwd(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let mut path = ctx.vfs.path_of(&ctx.proc.cwd);
    if let Some(root) = &ctx.proc.root {
        let r = ctx.vfs.path_of(root);
        path = match path.strip_prefix(r.as_slice()) {
            _ if r == b"/" => path,
            Some([]) => b"/".to_vec(),
            Some(rest) if rest.starts_with(b"/") => rest.to_vec(),
            _ => [b"(unreachable)".as_slice(), &path].concat(),
        };
    }
    path.push(0);
    if (path.len() as u64) > a.len(1) {
        return Err(Errno::ERANGE);
    }
    ctx.copy_out(a.addr(0), &path)?;
    Ok(path.len() as u64)
}

/// `chdir(2)`.
pub fn sys_chdir(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let p = path_arg(ctx, a.addr(0))?;
    let d = ctx.vfs.lookup(ctx.at(&ctx.proc.cwd), &p, true)?;
    if !d.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    ctx.vfs
        .access_dentry(&d, abi::flags::access::X_OK, &ctx.proc.fs_cred())?;
    ctx.proc.cwd = d;
    share_fs(ctx);
    Ok(0)
}

/// `chroot(2)`: the caller's root becomes the directory at `path` (searchable by the
/// caller, `EACCES`), with `CAP_SYS_CHROOT` (`EPERM`); its working directory stays.
pub fn sys_chroot(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let p = path_arg(ctx, a.addr(0))?;
    let d = ctx.vfs.lookup(ctx.at(&ctx.proc.cwd), &p, true)?;
    if !d.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    ctx.vfs
        .access_dentry(&d, abi::flags::access::X_OK, &ctx.proc.fs_cred())?;
    if !ctx.proc.cred.caps.has(crate::caps::CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    ctx.proc.root = Some(d);
    share_fs(ctx);
    Ok(0)
}

/// The processes that share the caller's filesystem context (`CLONE_FS`) see its change.
pub(crate) fn share_fs(ctx: &mut Ctx<'_>) {
    let me = &*ctx.proc;
    for q in me.fs_sharers(ctx.procs) {
        q.cwd = me.cwd.clone();
        q.root = me.root.clone();
        q.umask = me.umask;
    }
}

/// `fchdir(2)`.
pub fn sys_fchdir(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    let d = f.dentry().ok_or(Errno::ENOTDIR)?;
    if !d.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    ctx.vfs
        .access_dentry(&d, abi::flags::access::X_OK, &ctx.proc.fs_cred())?;
    ctx.proc.cwd = d;
    share_fs(ctx);
    Ok(0)
}

fn mkdir_at(ctx: &mut Ctx<'_>, dirfd: i32, path: UserAddr, mode: u32) -> abi::SysResult {
    let (base, p) = at_path(ctx, dirfd, path)?;
    let mode = mode & 0o1777 & !ctx.proc.umask;
    ctx.vfs.mkdir(ctx.at(&base), &p, mode)?;
    Ok(0)
}

/// `mkdir(2)`.
pub fn sys_mkdir(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    mkdir_at(ctx, at::FDCWD, a.addr(0), a.u32(1))
}

/// `mkdirat(2)`.
pub fn sys_mkdirat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    mkdir_at(ctx, a.i32(0), a.addr(1), a.u32(2))
}

/// `mode` is a `umode_t` (16 bits) and `dev` a 32-bit device number, as Linux takes them;
/// the type is checked before the path is read.
fn mknod_at(ctx: &mut Ctx<'_>, dirfd: i32, path: UserAddr, mode: u32, dev: u32) -> abi::SysResult {
    let mode = mode & 0xffff;
    let ty = vfs::NodeType::of(mode, dev)?;
    let (base, p) = at_path(ctx, dirfd, path)?;
    let perm = mode & 0o7777 & !ctx.proc.umask;
    let cap_mknod = ctx.proc.cred.euid == 0;
    ctx.vfs.mknod(ctx.at(&base), &p, ty, perm, cap_mknod)?;
    Ok(0)
}

/// `mknod(2)`.
pub fn sys_mknod(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    mknod_at(ctx, at::FDCWD, a.addr(0), a.u32(1), a.u32(2))
}

/// `mknodat(2)`.
pub fn sys_mknodat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    mknod_at(ctx, a.i32(0), a.addr(1), a.u32(2), a.u32(3))
}

/// `rmdir(2)`.
pub fn sys_rmdir(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (base, p) = at_path(ctx, at::FDCWD, a.addr(0))?;
    ctx.vfs.rmdir(ctx.at(&base), &p)?;
    Ok(0)
}

/// `unlink(2)`.
pub fn sys_unlink(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (base, p) = at_path(ctx, at::FDCWD, a.addr(0))?;
    ctx.vfs.unlink(ctx.at(&base), &p)?;
    Ok(0)
}

/// `unlinkat(2)`: `AT_REMOVEDIR` is the only flag.
pub fn sys_unlinkat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let flags = a.u32(2);
    if flags & !at::REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let (base, p) = at_path(ctx, a.i32(0), a.addr(1))?;
    if flags & at::REMOVEDIR != 0 {
        ctx.vfs.rmdir(ctx.at(&base), &p)?;
    } else {
        ctx.vfs.unlink(ctx.at(&base), &p)?;
    }
    Ok(0)
}

fn rename_at(
    ctx: &mut Ctx<'_>,
    olddirfd: i32,
    old: UserAddr,
    newdirfd: i32,
    new: UserAddr,
    flags: u32,
) -> abi::SysResult {
    if flags & !(rename::NOREPLACE | rename::EXCHANGE | rename::WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & rename::EXCHANGE != 0 && flags & (rename::NOREPLACE | rename::WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & rename::WHITEOUT != 0 {
        // Needs CAP_MKNOD on Linux and a whiteout device node; uml has neither.
        return Err(Errno::EPERM);
    }
    let (obase, op) = at_path(ctx, olddirfd, old)?;
    let (nbase, np) = at_path(ctx, newdirfd, new)?;
    ctx.vfs
        .rename(ctx.at(&obase), &op, ctx.at(&nbase), &np, flags)?;
    Ok(0)
}

/// `rename(2)`.
pub fn sys_rename(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    rename_at(ctx, at::FDCWD, a.addr(0), at::FDCWD, a.addr(1), 0)
}

/// `renameat(2)`.
pub fn sys_renameat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    rename_at(ctx, a.i32(0), a.addr(1), a.i32(2), a.addr(3), 0)
}

/// `renameat2(2)`.
pub fn sys_renameat2(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    rename_at(ctx, a.i32(0), a.addr(1), a.i32(2), a.addr(3), a.u32(4))
}

fn link_at(
    ctx: &mut Ctx<'_>,
    olddirfd: i32,
    old: UserAddr,
    newdirfd: i32,
    new: UserAddr,
    flags: u32,
) -> abi::SysResult {
    if flags & !(at::SYMLINK_FOLLOW | at::EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    // `AT_EMPTY_PATH` with an empty old path names the file `olddirfd` holds (an
    // `O_TMPFILE` file, say), for `CAP_DAC_READ_SEARCH` only (`ENOENT` otherwise, as Linux).
    if flags & at::EMPTY_PATH != 0 && ctx.read_path(old)?.is_empty() {
        if !ctx.proc.cred.caps.has(crate::caps::CAP_DAC_READ_SEARCH) {
            return Err(Errno::ENOENT);
        }
        let src = match olddirfd {
            at::FDCWD => ctx.dir_base(olddirfd)?,
            fd => ctx.file(fd)?.dentry().ok_or(Errno::ENOENT)?,
        };
        let (nbase, np) = at_path(ctx, newdirfd, new)?;
        ctx.vfs
            .link_dentry(&src, ctx.at(&src), ctx.at(&nbase), &np)?;
        return Ok(0);
    }
    let (obase, op) = at_path(ctx, olddirfd, old)?;
    let (nbase, np) = at_path(ctx, newdirfd, new)?;
    ctx.vfs.link(
        ctx.at(&obase),
        &op,
        ctx.at(&nbase),
        &np,
        flags & at::SYMLINK_FOLLOW != 0,
    )?;
    Ok(0)
}

/// `link(2)`.
pub fn sys_link(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    link_at(ctx, at::FDCWD, a.addr(0), at::FDCWD, a.addr(1), 0)
}

/// `linkat(2)`.
pub fn sys_linkat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    link_at(ctx, a.i32(0), a.addr(1), a.i32(2), a.addr(3), a.u32(4))
}

fn symlink_at(
    ctx: &mut Ctx<'_>,
    target: UserAddr,
    newdirfd: i32,
    path: UserAddr,
) -> abi::SysResult {
    let t = path_arg(ctx, target)?;
    let (base, p) = at_path(ctx, newdirfd, path)?;
    ctx.vfs.symlink(&t, ctx.at(&base), &p)?;
    Ok(0)
}

/// `symlink(2)`.
pub fn sys_symlink(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    symlink_at(ctx, a.addr(0), at::FDCWD, a.addr(1))
}

/// `symlinkat(2)`.
pub fn sys_symlinkat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    symlink_at(ctx, a.addr(0), a.i32(1), a.addr(2))
}
