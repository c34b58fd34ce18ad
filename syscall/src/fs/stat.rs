//! `stat` and friends, `statx`, `access` and `readlink`.

use abi::flags::at;
use abi::structs::{statx_mask, Stat};
use abi::{Errno, UserAddr};
use vfs::Dentry;

use super::base_for;
use crate::{Args, Ctx};

/// `stat` of what `dirfd` + `path` names; an empty path with `AT_EMPTY_PATH` is `dirfd`.
fn stat_at(ctx: &mut Ctx<'_>, dirfd: i32, path: UserAddr, flags: u32) -> Result<Stat, Errno> {
    Ok(stat_target(ctx, dirfd, path, flags)?.0)
}

/// `stat` of what `dirfd` + `path` names, and its dentry if it has one.
fn stat_target(
    ctx: &mut Ctx<'_>,
    dirfd: i32,
    path: UserAddr,
    flags: u32,
) -> Result<(Stat, Option<Dentry>), Errno> {
    let p = ctx.read_path(path)?;
    if p.is_empty() {
        if flags & at::EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if dirfd == at::FDCWD {
            let d = ctx.proc.cwd.clone();
            return Ok((d.stat()?, Some(d)));
        }
        let f = ctx.file(dirfd)?;
        return Ok((f.stat()?, f.dentry()));
    }
    let base = base_for(ctx, dirfd, &p)?;
    let d = ctx
        .vfs
        .lookup(ctx.at(&base), &p, flags & at::SYMLINK_NOFOLLOW == 0)?;
    Ok((d.stat()?, Some(d)))
}

/// `fstat(2)`.
pub fn sys_fstat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let st = ctx.file(a.i32(0))?.stat()?;
    ctx.write_val(a.addr(1), &st)?;
    Ok(0)
}

/// `stat(2)`.
pub fn sys_stat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let st = stat_at(ctx, at::FDCWD, a.addr(0), 0)?;
    ctx.write_val(a.addr(1), &st)?;
    Ok(0)
}

/// `lstat(2)`.
pub fn sys_lstat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let st = stat_at(ctx, at::FDCWD, a.addr(0), at::SYMLINK_NOFOLLOW)?;
    ctx.write_val(a.addr(1), &st)?;
    Ok(0)
}

/// `newfstatat(2)`.
pub fn sys_newfstatat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let flags = a.u32(3);
    if flags & !(at::SYMLINK_NOFOLLOW | at::NO_AUTOMOUNT | at::EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(ctx, a.i32(0), a.addr(1), flags)?;
    ctx.write_val(a.addr(2), &st)?;
    Ok(0)
}

/// `statx(2)`: every basic field, whatever the mask asks, the birth time, inode-flag
/// attributes and direct I/O alignment its file system has, and the mount's id and
/// whether the file is its root.
pub fn sys_statx(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let flags = a.u32(2);
    let known = at::SYMLINK_NOFOLLOW | at::NO_AUTOMOUNT | at::EMPTY_PATH | at::STATX_SYNC_TYPE;
    if flags & !known != 0 || flags & at::STATX_SYNC_TYPE == at::STATX_SYNC_TYPE {
        return Err(Errno::EINVAL);
    }
    if a.u32(3) & 0x8000_0000 != 0 {
        return Err(Errno::EINVAL);
    }
    let (st, d) = stat_target(ctx, a.i32(0), a.addr(1), flags)?;
    let mut sx = st.to_statx();
    if let Some(d) = d {
        // What its file system adds (`->getattr`), then the mount it lies on, as Linux's
        // `vfs_statx`.
        let extra = d.statx_extra();
        if let Some((sec, nsec)) = extra.btime {
            sx.stx_mask |= statx_mask::BTIME;
            sx.stx_btime = abi::structs::StatxTimestamp {
                tv_sec: sec,
                tv_nsec: nsec,
                reserved: 0,
            };
        }
        sx.stx_attributes |= extra.attributes;
        sx.stx_attributes_mask |= extra.attributes_mask;
        if let Some((mem, offset)) = extra
            .dio_align
            .filter(|_| a.u32(3) & statx_mask::DIOALIGN != 0)
        {
            sx.stx_mask |= statx_mask::DIOALIGN;
            sx.stx_dio_mem_align = mem;
            sx.stx_dio_offset_align = offset;
        }
        let (id, unique, root) = ctx.vfs.mount_of(&d);
        sx.stx_attributes_mask |= statx_mask::ATTR_MOUNT_ROOT;
        if root {
            sx.stx_attributes |= statx_mask::ATTR_MOUNT_ROOT;
        }
        if a.u32(3) & statx_mask::MNT_ID_UNIQUE != 0 {
            sx.stx_mnt_id = unique;
            sx.stx_mask |= statx_mask::MNT_ID_UNIQUE;
        } else {
            sx.stx_mnt_id = id;
            sx.stx_mask |= statx_mask::MNT_ID;
        }
    }
    ctx.write_val(a.addr(4), &sx)?;
    Ok(0)
}

fn access_at(
    ctx: &mut Ctx<'_>,
    dirfd: i32,
    path: UserAddr,
    mode: u32,
    flags: u32,
) -> abi::SysResult {
    if flags & !(at::EACCESS | at::SYMLINK_NOFOLLOW | at::EMPTY_PATH) != 0 || mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let p = ctx.read_path(path)?;
    let follow = flags & at::SYMLINK_NOFOLLOW == 0;
    // Linux checks for the real ids, unless `AT_EACCESS` asks for the effective ones.
    let who = if flags & at::EACCESS == 0 {
        ctx.proc.access_cred()
    } else {
        ctx.proc.fs_cred()
    };
    if p.is_empty() {
        if flags & at::EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let d = ctx.empty_path_dentry(dirfd)?;
        ctx.vfs.access_dentry(&d, mode, &who)?;
        return Ok(0);
    }
    let base = base_for(ctx, dirfd, &p)?;
    let base = vfs::At {
        cred: Some(who),
        ..ctx.at(&base)
    };
    ctx.vfs.access(base, &p, mode, follow)?;
    Ok(0)
}

/// `access(2)`.
pub fn sys_access(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    access_at(ctx, at::FDCWD, a.addr(0), a.u32(1), 0)
}

/// `faccessat(2)`.
pub fn sys_faccessat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    access_at(ctx, a.i32(0), a.addr(1), a.u32(2), 0)
}

/// `faccessat2(2)`.
pub fn sys_faccessat2(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    access_at(ctx, a.i32(0), a.addr(1), a.u32(2), a.u32(3))
}

fn readlink_at(
    ctx: &mut Ctx<'_>,
    dirfd: i32,
    path: UserAddr,
    buf: UserAddr,
    size: i32,
) -> abi::SysResult {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let p = ctx.read_path(path)?;
    let target = if p.is_empty() {
        // The symlink open at `dirfd` itself (an `O_PATH | O_NOFOLLOW` descriptor).
        let d = if dirfd == at::FDCWD {
            ctx.proc.cwd.clone()
        } else {
            ctx.file(dirfd)?.dentry().ok_or(Errno::ENOENT)?
        };
        if !d.is_symlink() {
            return Err(Errno::ENOENT);
        }
        d.readlink()?
    } else {
        let base = base_for(ctx, dirfd, &p)?;
        ctx.vfs.readlink(ctx.at(&base), &p)?
    };
    let n = target.len().min(size as usize);
    ctx.copy_out(buf, &target[..n])?;
    Ok(n as u64)
}

/// `readlink(2)`.
pub fn sys_readlink(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    readlink_at(ctx, at::FDCWD, a.addr(0), a.addr(1), a.i32(2))
}

/// `readlinkat(2)`.
pub fn sys_readlinkat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    readlink_at(ctx, a.i32(0), a.addr(1), a.addr(2), a.i32(3))
}
