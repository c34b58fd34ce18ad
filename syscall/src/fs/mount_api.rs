//! The new mount API: `fsopen(2)`, `fsconfig(2)`, `fsmount(2)`, `fspick(2)`,
//! `move_mount(2)`, `open_tree(2)`, `open_tree_attr(2)` and `mount_setattr(2)`: the guest's
//! strings, structures, flags and descriptors in and out, in Linux's order of checks; the
//! contexts and mounts themselves are `vfs`'s (`vfs::FsContext`, `Vfs::fsmount`,
//! `Vfs::move_mount`, ...). Every call but `fsconfig` needs `CAP_SYS_ADMIN` first, as
//! Linux's `may_mount`; `fsconfig` needs it to create or reconfigure.

use abi::flags::at;
use abi::flags::mount::*;
use abi::flags::OFlags;
use abi::{Errno, SysResult, UserAddr};
use vfs::{Dentry, FileRef, FsContext, FsParam, MountAttr};

use super::base_for;
use crate::caps::CAP_SYS_ADMIN;
use crate::{Args, Ctx};

/// Longest key or string value `fsconfig` takes, with its NUL (`strndup_user(.., 256)`).
const PARAM_MAX: usize = 256;
/// Largest `FSCONFIG_SET_BINARY` value.
const BINARY_MAX: i32 = 1 << 20;

fn may_mount(ctx: &Ctx<'_>) -> Result<(), Errno> {
    if ctx.proc.cred.caps.has(CAP_SYS_ADMIN) {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// A short string argument: `EFAULT` for a bad pointer, `EINVAL` if it does not end within
/// `max` bytes.
fn short_string(ctx: &mut Ctx<'_>, addr: UserAddr, max: usize) -> Result<Vec<u8>, Errno> {
    match ctx.mm.read_cstr(ctx.proc.mm, addr, max - 1) {
        Err(Errno::ENAMETOOLONG) => Err(Errno::EINVAL),
        r => r,
    }
}

/// What `dirfd` + `path` names (`empty`: an empty path names `dirfd` itself, `ENOENT`
/// otherwise; `follow`: a final symlink is followed).
fn resolve(
    ctx: &mut Ctx<'_>,
    dirfd: i32,
    path: UserAddr,
    empty: bool,
    follow: bool,
) -> Result<Dentry, Errno> {
    let p = ctx.read_path(path)?;
    if p.is_empty() {
        if !empty {
            return Err(Errno::ENOENT);
        }
        if dirfd == at::FDCWD {
            return Ok(ctx.proc.cwd.clone());
        }
        // A file with no name (a pipe, an object) is no mount.
        return ctx.file(dirfd)?.dentry().ok_or(Errno::EINVAL);
    }
    let base = base_for(ctx, dirfd, &p)?;
    ctx.vfs.lookup(ctx.at(&base), &p, follow)
}

/// Installs an `O_PATH` descriptor of the mount root `root`.
fn install_mount(ctx: &mut Ctx<'_>, root: &Dentry, cloexec: bool) -> SysResult {
    let file = vfs::mount_file(root);
    let fd = ctx.proc.fds.install(file, cloexec, 0, ctx.proc.nofile())?;
    Ok(fd as u64)
}

/// The context behind descriptor `fd` (`EBADF`; `EINVAL` for another kind of file).
fn context(ctx: &Ctx<'_>, fd: i32) -> Result<FileRef, Errno> {
    let f = ctx.file(fd)?;
    if f.object_as::<FsContext>().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

/// `fsopen(fs_name, flags)`.
pub(crate) fn sys_fsopen(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    may_mount(ctx)?;
    let flags = a.u32(1);
    if flags & !FSOPEN_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let name = short_string(ctx, a.addr(0), 4096)?;
    let fc = ctx.vfs.fs_open(&name)?;
    install_context(ctx, fc, flags & FSOPEN_CLOEXEC != 0)
}

/// Installs a descriptor of context `fc`.
fn install_context(ctx: &mut Ctx<'_>, fc: std::sync::Arc<FsContext>, cloexec: bool) -> SysResult {
    let fl = if cloexec {
        OFlags::CLOEXEC
    } else {
        OFlags::empty()
    };
    ctx.install_object(fc, fl)
}

/// `fspick(dirfd, path, flags)`: a context to reconfigure the file system mounted there.
pub(crate) fn sys_fspick(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    may_mount(ctx)?;
    let flags = a.u32(2);
    let known = FSPICK_CLOEXEC | FSPICK_SYMLINK_NOFOLLOW | FSPICK_NO_AUTOMOUNT | FSPICK_EMPTY_PATH;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let d = resolve(
        ctx,
        a.i32(0),
        a.addr(1),
        flags & FSPICK_EMPTY_PATH != 0,
        flags & FSPICK_SYMLINK_NOFOLLOW == 0,
    )?;
    let fc = ctx.vfs.fs_pick(&d)?;
    install_context(ctx, fc, flags & FSPICK_CLOEXEC != 0)
}

/// `fsconfig(fd, cmd, key, value, aux)`.
pub(crate) fn sys_fsconfig(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (fd, cmd, key, value, aux) = (a.i32(0), a.u32(1), a.addr(2), a.addr(3), a.i32(4));
    let (has_key, has_value) = (!key.is_null(), !value.is_null());
    let args_ok = match cmd {
        FSCONFIG_SET_FLAG => has_key && !has_value && aux == 0,
        FSCONFIG_SET_STRING => has_key && has_value && aux == 0,
        FSCONFIG_SET_BINARY => has_key && has_value && aux > 0 && aux <= BINARY_MAX,
        FSCONFIG_SET_PATH | FSCONFIG_SET_PATH_EMPTY => {
            has_key && has_value && (aux == at::FDCWD || aux >= 0)
        }
        FSCONFIG_SET_FD => has_key && !has_value && aux >= 0,
        FSCONFIG_CMD_CREATE | FSCONFIG_CMD_RECONFIGURE | FSCONFIG_CMD_CREATE_EXCL => {
            !has_key && !has_value && aux == 0
        }
        _ => return Err(Errno::EOPNOTSUPP),
    };
    if !args_ok || fd < 0 {
        return Err(Errno::EINVAL);
    }
    let file = context(ctx, fd)?;
    let fc = file.object_as::<FsContext>().ok_or(Errno::EINVAL)?;
    let key = if has_key {
        short_string(ctx, key, PARAM_MAX)?
    } else {
        Vec::new()
    };
    let string;
    let param = match cmd {
        FSCONFIG_SET_FLAG => FsParam::Flag,
        FSCONFIG_SET_STRING => {
            string = short_string(ctx, value, PARAM_MAX)?;
            FsParam::String(&string)
        }
        FSCONFIG_SET_BINARY => {
            let mut blob = vec![0u8; aux as usize];
            ctx.copy_in(value, &mut blob)?;
            FsParam::Other
        }
        FSCONFIG_SET_PATH | FSCONFIG_SET_PATH_EMPTY => {
            let p = ctx.read_path(value)?;
            if p.is_empty() && cmd == FSCONFIG_SET_PATH {
                return Err(Errno::ENOENT);
            }
            FsParam::Other
        }
        FSCONFIG_SET_FD => {
            ctx.file(aux)?;
            FsParam::Other
        }
        _ => {
            let privileged = ctx.proc.cred.caps.has(CAP_SYS_ADMIN);
            let cwd = ctx.proc.cwd.clone();
            return match cmd {
                FSCONFIG_CMD_RECONFIGURE => ctx.vfs.fs_reconfigure(fc, privileged),
                // uml never shares a super block between contexts: an exclusive create
                // is a create.
                _ => ctx.vfs.fs_create(fc, ctx.at(&cwd), privileged),
            }
            .map(|()| 0);
        }
    };
    fc.set_param(&key, param)?;
    Ok(0)
}

/// `fsmount(fs_fd, flags, attr_flags)`: a detached mount of the context's file system.
pub(crate) fn sys_fsmount(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    may_mount(ctx)?;
    let flags = a.u32(1);
    if flags & !FSMOUNT_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let mnt_flags = vfs::fsmount_flags(u64::from(a.u32(2)))?;
    let file = context(ctx, a.i32(0))?;
    let fc = file.object_as::<FsContext>().ok_or(Errno::EINVAL)?;
    let root = ctx.vfs.fsmount(fc, mnt_flags)?;
    install_mount(ctx, &root, flags & FSMOUNT_CLOEXEC != 0)
}

/// `move_mount(from_dirfd, from_path, to_dirfd, to_path, flags)`.
pub(crate) fn sys_move_mount(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    may_mount(ctx)?;
    let flags = a.u32(4);
    let known = MOVE_MOUNT_F_SYMLINKS
        | MOVE_MOUNT_F_AUTOMOUNTS
        | MOVE_MOUNT_F_EMPTY_PATH
        | MOVE_MOUNT_T_SYMLINKS
        | MOVE_MOUNT_T_AUTOMOUNTS
        | MOVE_MOUNT_T_EMPTY_PATH
        | MOVE_MOUNT_SET_GROUP
        | MOVE_MOUNT_BENEATH;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    // Peer groups are not modelled.
    if flags & MOVE_MOUNT_SET_GROUP != 0 {
        return Err(Errno::EINVAL);
    }
    let from = resolve(
        ctx,
        a.i32(0),
        a.addr(1),
        flags & MOVE_MOUNT_F_EMPTY_PATH != 0,
        flags & MOVE_MOUNT_F_SYMLINKS != 0,
    )?;
    let to = resolve(
        ctx,
        a.i32(2),
        a.addr(3),
        flags & MOVE_MOUNT_T_EMPTY_PATH != 0,
        flags & MOVE_MOUNT_T_SYMLINKS != 0,
    )?;
    ctx.vfs
        .move_mount(&from, &to, flags & MOVE_MOUNT_BENEATH != 0)?;
    Ok(0)
}

/// The flags `open_tree` knows.
const OPEN_TREE_FLAGS: u32 = at::EMPTY_PATH
    | at::NO_AUTOMOUNT
    | at::RECURSIVE
    | at::SYMLINK_NOFOLLOW
    | OPEN_TREE_CLONE
    | abi::flags::OFlags::CLOEXEC.bits();

/// `open_tree`, and `open_tree_attr` with the attributes `attr` for the clone.
fn open_tree(ctx: &mut Ctx<'_>, a: &Args, attr: Option<MountAttr>) -> SysResult {
    let flags = a.u32(2);
    if flags & !OPEN_TREE_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let clone = flags & OPEN_TREE_CLONE != 0;
    let recursive = flags & at::RECURSIVE != 0;
    if recursive && !clone {
        return Err(Errno::EINVAL);
    }
    if clone {
        may_mount(ctx)?;
    }
    let d = resolve(
        ctx,
        a.i32(0),
        a.addr(1),
        flags & at::EMPTY_PATH != 0,
        flags & at::SYMLINK_NOFOLLOW == 0,
    )?;
    let cloexec = flags & OFlags::CLOEXEC.bits() != 0;
    if !clone {
        return install_mount(ctx, &d, cloexec);
    }
    let root = ctx.vfs.open_tree_clone(&d, recursive)?;
    if let Some(attr) = attr {
        ctx.vfs
            .mount_setattr(&root, &MountAttr { recursive, ..attr })?;
    }
    install_mount(ctx, &root, cloexec)
}

/// `open_tree(dirfd, path, flags)`: an `O_PATH` descriptor of what the path names, or
/// with `OPEN_TREE_CLONE` of a detached copy of its mount (`AT_RECURSIVE`: with the
/// mounts below).
pub(crate) fn sys_open_tree(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    open_tree(ctx, a, None)
}

/// `open_tree_attr(dirfd, path, flags, attr, size)`: `open_tree`, then the clone's
/// attributes as `mount_setattr` changes them.
pub(crate) fn sys_open_tree_attr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (uattr, size) = (a.addr(3), a.raw(4) as usize);
    if uattr.is_null() {
        if size != 0 {
            return Err(Errno::EINVAL);
        }
        return open_tree(ctx, a, None);
    }
    let attr = mount_attr(ctx, uattr, size, false)?;
    open_tree(ctx, a, Some(attr))
}

/// A guest `struct mount_attr` of `size` bytes (`EINVAL` below the first version, `E2BIG`
/// past a page or with unknown non-zero bytes at its end).
fn mount_attr(
    ctx: &mut Ctx<'_>,
    addr: UserAddr,
    size: usize,
    recursive: bool,
) -> Result<MountAttr, Errno> {
    let raw = ctx.copy_struct_in(addr, size, MOUNT_ATTR_SIZE_VER0, MOUNT_ATTR_SIZE_VER0)?;
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&raw[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(w)
    };
    let (set, clr, propagation, userns_fd) = (word(0), word(1), word(2), word(3));
    if (set | clr) & MOUNT_ATTR_IDMAP != 0 {
        // uml has no user namespaces to map ids by.
        if userns_fd > i32::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        ctx.file(userns_fd as i32)?;
        return Err(Errno::EINVAL);
    }
    MountAttr::new(set, clr, propagation, recursive)
}

/// `mount_setattr(dirfd, path, flags, attr, size)`.
pub(crate) fn sys_mount_setattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = a.u32(2);
    let known = at::EMPTY_PATH | at::RECURSIVE | at::SYMLINK_NOFOLLOW | at::NO_AUTOMOUNT;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let size = a.raw(4) as usize;
    may_mount(ctx)?;
    let attr = mount_attr(ctx, a.addr(3), size, flags & at::RECURSIVE != 0)?;
    if attr.set == 0 && attr.clear == 0 && attr.propagation == 0 {
        return Ok(0);
    }
    let d = resolve(
        ctx,
        a.i32(0),
        a.addr(1),
        flags & at::EMPTY_PATH != 0,
        flags & at::SYMLINK_NOFOLLOW == 0,
    )?;
    ctx.vfs.mount_setattr(&d, &attr)?;
    Ok(0)
}
