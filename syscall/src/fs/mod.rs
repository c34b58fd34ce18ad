//! File-system syscalls: descriptors, reads and writes, paths, metadata and directories.
//! Every handler validates its guest arguments and hands the work to [`vfs`].

mod attr;
mod blk_ioctl;
mod dir;
mod file_attr;
mod file_ioctl;
pub mod fown;
mod fsize;
mod handle;
mod ioctl;
pub mod lease;
pub mod locks;
mod memfd;
mod mount;
mod mount_api;
mod open;
mod pipe;
mod rw;
mod stat;
mod statmount;
mod times;
pub(crate) mod txtbsy;
mod xattr;

pub(crate) use attr::{
    sys_chmod, sys_chown, sys_fchmod, sys_fchmodat, sys_fchmodat2, sys_fchown, sys_fchownat,
    sys_ftruncate, sys_lchown, sys_truncate,
};
pub(crate) use dir::{
    sys_chdir, sys_chroot, sys_fchdir, sys_getcwd, sys_getdents, sys_getdents64, sys_link,
    sys_linkat, sys_mkdir, sys_mkdirat, sys_mknod, sys_mknodat, sys_rename, sys_renameat,
    sys_renameat2, sys_rmdir, sys_symlink, sys_symlinkat, sys_unlink, sys_unlinkat,
};
pub(crate) use file_attr::{sys_file_getattr, sys_file_setattr};
pub(crate) use handle::{sys_name_to_handle_at, sys_open_by_handle_at};
pub(crate) use ioctl::sys_ioctl;
pub(crate) use locks::sys_flock;
pub(crate) use memfd::{sys_fallocate, sys_memfd_create};
pub(crate) use mount::{
    sys_fstatfs, sys_mount, sys_pivot_root, sys_statfs, sys_umount2, sys_ustat,
};
pub(crate) use mount_api::{
    sys_fsconfig, sys_fsmount, sys_fsopen, sys_fspick, sys_mount_setattr, sys_move_mount,
    sys_open_tree, sys_open_tree_attr,
};
pub(crate) use open::{
    dropped, sys_close, sys_close_range, sys_creat, sys_dup, sys_dup2, sys_dup3, sys_fcntl,
    sys_open, sys_openat, sys_openat2, sys_umask,
};
pub(crate) use pipe::{sys_pipe, sys_pipe2};
pub(crate) use rw::{
    aio_check, aio_transfer, check_rwf, iovecs, skip, sys_lseek, sys_pread64, sys_preadv,
    sys_preadv2, sys_pwrite64, sys_pwritev, sys_pwritev2, sys_read, sys_readv, sys_write,
    sys_writev,
};
pub(crate) use stat::{
    sys_access, sys_faccessat, sys_faccessat2, sys_fstat, sys_lstat, sys_newfstatat, sys_readlink,
    sys_readlinkat, sys_stat, sys_statx,
};
pub(crate) use statmount::{sys_listmount, sys_statmount};
pub(crate) use times::{sys_futimesat, sys_utime, sys_utimensat, sys_utimes};
pub(crate) use xattr::{
    sys_fadvise64, sys_fgetxattr, sys_flistxattr, sys_fremovexattr, sys_fsetxattr, sys_getxattr,
    sys_lgetxattr, sys_listxattr, sys_llistxattr, sys_lremovexattr, sys_lsetxattr, sys_removexattr,
    sys_setxattr,
};

use abi::{Errno, UserAddr};
use vfs::Dentry;

use crate::Ctx;

/// Reads a path argument: `EFAULT`, `ENAMETOOLONG`; an empty path is `ENOENT`.
pub(crate) fn path_arg(ctx: &mut Ctx<'_>, addr: UserAddr) -> Result<Vec<u8>, Errno> {
    let p = ctx.read_path(addr)?;
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(p)
}

/// The directory a `*at` call resolves `path` from: `dirfd` is not looked at for an
/// absolute path, as on Linux.
pub(crate) fn base_for(ctx: &Ctx<'_>, dirfd: i32, path: &[u8]) -> Result<Dentry, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(ctx.proc.cwd.clone());
    }
    ctx.dir_base(dirfd)
}

/// Reads a path argument of a `*at` call and the directory it is relative to.
pub(crate) fn at_path(
    ctx: &mut Ctx<'_>,
    dirfd: i32,
    addr: UserAddr,
) -> Result<(Dentry, Vec<u8>), Errno> {
    let p = path_arg(ctx, addr)?;
    let base = base_for(ctx, dirfd, &p)?;
    Ok((base, p))
}

/// The lowest free descriptor, if it is below the limit (`EMFILE` otherwise): checked
/// before an open so that a failing open creates nothing, as Linux.
pub(crate) fn check_free_fd(ctx: &Ctx<'_>) -> Result<(), Errno> {
    let mut want = 0i32;
    for fd in ctx.proc.fds.fds() {
        if fd != want {
            break;
        }
        want += 1;
    }
    if want as u64 >= ctx.proc.nofile() {
        return Err(Errno::EMFILE);
    }
    Ok(())
}
