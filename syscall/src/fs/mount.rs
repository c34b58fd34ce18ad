//! `mount(2)`, `umount2(2)`, `pivot_root(2)`, `statfs(2)`/`fstatfs(2)`, `ustat(2)`: the guest's strings and structures
//! in and out; the mount table and what it does are `vfs`'s (`Vfs::mount`,
//! `Vfs::umount`, `Vfs::statfs`). Mounting and unmounting need `CAP_SYS_ADMIN`.

use abi::{Errno, SysResult, UserAddr};

use super::path_arg;
use crate::caps::CAP_SYS_ADMIN;
use crate::{Args, Ctx};

/// Longest string `mount` takes for a type, a source or options (a page, as Linux).
const MOUNT_STRING_MAX: usize = 4096;

/// A `mount` string: `None` for a null pointer, `EFAULT` for a bad one, `EINVAL` past a
/// page (Linux's `strndup_user`).
fn mount_string(ctx: &mut Ctx<'_>, addr: UserAddr) -> Result<Option<Vec<u8>>, Errno> {
    if addr.is_null() {
        return Ok(None);
    }
    match ctx.mm.read_cstr(ctx.proc.mm, addr, MOUNT_STRING_MAX) {
        Ok(s) => Ok(Some(s)),
        Err(Errno::ENAMETOOLONG) => Err(Errno::EINVAL),
        Err(e) => Err(e),
    }
}

pub(crate) fn sys_mount(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let fstype = mount_string(ctx, a.addr(2))?;
    let source = mount_string(ctx, a.addr(0))?;
    let data = mount_string(ctx, a.addr(4))?;
    let target = path_arg(ctx, a.addr(1))?;
    let args = vfs::MountArgs {
        source: source.as_deref(),
        fstype: fstype.as_deref(),
        flags: a.raw(3),
        data: data.as_deref(),
    };
    let privileged = ctx.proc.cred.caps.has(CAP_SYS_ADMIN);
    let cwd = ctx.proc.cwd.clone();
    ctx.vfs.mount(ctx.at(&cwd), &target, &args, privileged)?;
    Ok(0)
}

pub(crate) fn sys_umount2(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = a.u32(1);
    let privileged = ctx.proc.cred.caps.has(CAP_SYS_ADMIN);
    // Flags and privilege come before the path, as Linux.
    let valid = abi::flags::mount::MNT_FORCE
        | abi::flags::mount::MNT_DETACH
        | abi::flags::mount::MNT_EXPIRE
        | abi::flags::mount::UMOUNT_NOFOLLOW;
    if flags & !valid != 0 {
        return Err(Errno::EINVAL);
    }
    if !privileged {
        return Err(Errno::EPERM);
    }
    let target = path_arg(ctx, a.addr(0))?;
    let cwd = ctx.proc.cwd.clone();
    ctx.vfs.umount(ctx.at(&cwd), &target, flags, privileged)?;
    Ok(0)
}

/// `pivot_root(2)`: the mounts change in `Vfs::pivot_root`; then every process whose root
/// or working directory was the old root has the new one (Linux's `chroot_fs_refs`).
pub(crate) fn sys_pivot_root(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    // Privilege comes before the paths, as Linux's `may_mount`.
    if !ctx.proc.cred.caps.has(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let new_root = path_arg(ctx, a.addr(0))?;
    let put_old = path_arg(ctx, a.addr(1))?;
    let cwd = ctx.proc.cwd.clone();
    let pivot = ctx.vfs.pivot_root(ctx.at(&cwd), &new_root, &put_old)?;
    let procs = std::iter::once(&mut *ctx.proc).chain(ctx.procs.iter_mut());
    for p in procs {
        if let Some(r) = p.root.as_ref().and_then(|r| pivot.moved(r)) {
            p.root = Some(r);
        }
        if let Some(c) = pivot.moved(&p.cwd) {
            p.cwd = c;
        }
    }
    Ok(0)
}

/// `struct statfs` of x86-64 (120 bytes) for `s`; sizes uml does not know are the
/// guest's memory.
fn statfs_bytes(ctx: &Ctx<'_>, s: &vfs::StatFs) -> [u8; 120] {
    let stats = ctx.mm.view().stats();
    let (blocks, bfree, bavail) = s.blocks.unwrap_or((
        stats.total_bytes / s.bsize,
        stats.free_bytes / s.bsize,
        stats.free_bytes / s.bsize,
    ));
    let (files, ffree) = s.files.unwrap_or((1 << 20, 1 << 19));
    let fsid = [s.fsid as u32, (s.fsid >> 32) as u32];
    let words: [u64; 15] = [
        s.magic as u64,
        s.bsize,
        blocks,
        bfree,
        bavail,
        files,
        ffree,
        u64::from(fsid[0]) | u64::from(fsid[1]) << 32,
        255,
        s.bsize,
        s.flags,
        0,
        0,
        0,
        0,
    ];
    let mut out = [0u8; 120];
    for (i, w) in words.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
    }
    out
}

pub(crate) fn sys_statfs(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let p = path_arg(ctx, a.addr(0))?;
    let d = ctx.vfs.lookup(ctx.at(&ctx.proc.cwd), &p, true)?;
    let st = statfs_bytes(ctx, &ctx.vfs.statfs(&d));
    ctx.copy_out(a.addr(1), &st)?;
    Ok(0)
}

pub(crate) fn sys_fstatfs(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let f = ctx.file(a.i32(0))?;
    let s = match f.dentry() {
        Some(d) => ctx.vfs.statfs(&d),
        None => vfs::StatFs {
            magic: abi::flags::magic::OVERLAYFS_SUPER_MAGIC,
            bsize: 4096,
            flags: abi::flags::mount::ST_VALID,
            ..Default::default()
        },
    };
    let st = statfs_bytes(ctx, &s);
    ctx.copy_out(a.addr(1), &st)?;
    Ok(0)
}

/// `ustat(dev, ubuf)`: the free blocks and inodes of the mounted file system on `dev` (a
/// 32-bit device number); `EINVAL` when none is mounted. `struct ustat` of x86-64: an
/// `int` of free blocks, an `unsigned long` of free inodes, two empty 6-byte names.
pub(crate) fn sys_ustat(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let s = ctx
        .vfs
        .statfs_dev(u64::from(a.u32(0)))
        .ok_or(Errno::EINVAL)?;
    let st = statfs_bytes(ctx, &s);
    let word = |i: usize| u64::from_ne_bytes(st[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let (bfree, ffree) = (word(3), word(6));
    let mut out = [0u8; 32];
    out[..4].copy_from_slice(&(bfree.min(i32::MAX as u64) as i32).to_ne_bytes());
    out[8..16].copy_from_slice(&ffree.to_ne_bytes());
    ctx.copy_out(a.addr(1), &out)?;
    Ok(0)
}
