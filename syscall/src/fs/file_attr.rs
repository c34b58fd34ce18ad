//! `file_getattr` and `file_setattr` (Linux 6.17's `fs/file_attr.c`): a file's extended
//! flags (`struct file_attr`, what `FS_IOC_FSGETXATTR` carries) by path, over
//! [`vfs::FileAttr`]. A file system that keeps no flags is `EOPNOTSUPP`.

use abi::flags::at;
use abi::flags::fs_fl::XFLAGS_MASK;
use abi::{Errno, SysResult, UserAddr};
use vfs::{Dentry, FileAttr};

use crate::caps::CAP_LINUX_IMMUTABLE;
use crate::{Args, Ctx};

/// `FILE_ATTR_SIZE_VER0`: the first (and only) version of `struct file_attr`.
const SIZE_VER0: usize = 24;

/// The flags and size checks both calls make first.
fn check(flags: u32, usize: u64) -> Result<(), Errno> {
    if flags & !(at::SYMLINK_NOFOLLOW | at::EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    if usize > 4096 {
        return Err(Errno::E2BIG);
    }
    if usize < SIZE_VER0 as u64 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The file `dirfd` and `path` name (`AT_EMPTY_PATH`: `dirfd` itself for a NULL or empty
/// path; `AT_SYMLINK_NOFOLLOW`: a final symlink itself).
fn target(ctx: &mut Ctx<'_>, dirfd: i32, path: UserAddr, flags: u32) -> Result<Dentry, Errno> {
    let empty_ok = flags & at::EMPTY_PATH != 0;
    if path.is_null() && empty_ok {
        return ctx.empty_path_dentry(dirfd);
    }
    let p = ctx.read_path(path)?;
    if p.is_empty() {
        if empty_ok {
            return ctx.empty_path_dentry(dirfd);
        }
        return Err(Errno::ENOENT);
    }
    let base = super::base_for(ctx, dirfd, &p)?;
    let follow = flags & at::SYMLINK_NOFOLLOW == 0;
    ctx.vfs.lookup(ctx.at(&base), &p, follow)
}

/// `ENOTTY` (no flags kept) as the calls report it.
fn unsupported(e: Errno) -> Errno {
    if e == Errno::ENOTTY {
        Errno::EOPNOTSUPP
    } else {
        e
    }
}

/// `file_getattr(dirfd, path, ufattr, usize, at_flags)`.
pub(crate) fn sys_file_getattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (attr, usize, flags) = (a.addr(2), a.raw(3), a.u32(4));
    check(flags, usize)?;
    let d = target(ctx, a.i32(0), a.addr(1), flags)?;
    let fa = d.file_attr().map_err(unsupported)?;
    let mut raw = Vec::with_capacity(SIZE_VER0);
    raw.extend_from_slice(&fa.xflags.to_ne_bytes());
    for v in [fa.extsize, fa.nextents, fa.projid, fa.cowextsize] {
        raw.extend_from_slice(&v.to_ne_bytes());
    }
    // Linux's `copy_struct_to_user`: a larger buffer's tail is zeroed.
    raw.resize(usize as usize, 0);
    ctx.copy_out(attr, &raw)?;
    Ok(0)
}

/// `file_setattr(dirfd, path, ufattr, usize, at_flags)`.
pub(crate) fn sys_file_setattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (attr, usize, flags) = (a.addr(2), a.raw(3), a.u32(4));
    check(flags, usize)?;
    let raw = ctx.copy_struct_in(attr, usize as usize, SIZE_VER0, SIZE_VER0)?;
    let word = |i: usize| u32::from_ne_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
    let fa = FileAttr {
        xflags: u64::from(word(0)) | u64::from(word(4)) << 32,
        extsize: word(8),
        nextents: word(12),
        projid: word(16),
        cowextsize: word(20),
    };
    if fa.xflags & !XFLAGS_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    let d = target(ctx, a.i32(0), a.addr(1), flags)?;
    let linux_immutable = ctx.proc.cred.caps.has(CAP_LINUX_IMMUTABLE);
    ctx.vfs
        .set_file_attr(&ctx.proc.fs_cred(), linux_immutable, &d, &fa)
        .map_err(unsupported)?;
    Ok(0)
}
