//! File requests every open file takes before its own `ioctl`s (Linux's `do_vfs_ioctl`):
//! inode flags (`FS_IOC_GETFLAGS`, `FS_IOC_SETFLAGS`; `vfs` keeps them), clones
//! (`FICLONE`, `FICLONERANGE`: `EOPNOTSUPP` after Linux's checks, no uml file system
//! shares extents) and block maps (`FS_IOC_FIEMAP`).

use abi::flags::fiemap::*;
use abi::flags::ioctl::{FICLONE, FICLONERANGE, FS_IOC_FIEMAP, FS_IOC_GETFLAGS, FS_IOC_SETFLAGS};
use abi::{Errno, SysResult, UserAddr};
use vfs::FileRef;

use crate::caps::CAP_LINUX_IMMUTABLE;
use crate::Ctx;

/// `request` on `f` if it is one of these (`None`: it is not); `raw` is the argument.
pub(super) fn ioctl(ctx: &mut Ctx<'_>, f: &FileRef, request: u32, raw: u64) -> Option<SysResult> {
    let arg = UserAddr(raw);
    Some(match request {
        FS_IOC_GETFLAGS => get_flags(ctx, f, arg)?,
        FS_IOC_SETFLAGS => set_flags(ctx, f, arg)?,
        FICLONE => clone(ctx, f, raw as u32 as i32),
        FS_IOC_FIEMAP => fiemap(ctx, f, arg),
        FICLONERANGE => {
            // `struct file_clone_range`: src_fd (s64), src_offset, src_length, dest_offset.
            match ctx.read_val::<[u64; 4]>(arg) {
                Ok(r) => clone(ctx, f, r[0] as i32),
                Err(e) => Err(e),
            }
        }
        _ => return None,
    })
}

/// `None` when `f`'s inode keeps no flags: the request goes on to the file's own ioctls.
fn get_flags(ctx: &mut Ctx<'_>, f: &FileRef, arg: UserAddr) -> Option<SysResult> {
    let flags = f.dentry()?.inode_flags().ok()?;
    Some(ctx.write_val(arg, &flags).map(|()| 0))
}

fn set_flags(ctx: &mut Ctx<'_>, f: &FileRef, arg: UserAddr) -> Option<SysResult> {
    let d = f.dentry()?;
    d.inode_flags().ok()?;
    let r = (|| {
        let flags: u32 = ctx.read_val(arg)?;
        let linux_immutable = ctx.proc.cred.caps.has(CAP_LINUX_IMMUTABLE);
        ctx.vfs
            .set_inode_flags(&ctx.proc.fs_cred(), linux_immutable, &d, flags)?;
        Ok(0)
    })();
    Some(r)
}

fn clone(ctx: &mut Ctx<'_>, dst: &FileRef, src_fd: i32) -> SysResult {
    let src = ctx.file(src_fd)?;
    dst.clone_range_from(&src)?;
    Ok(0)
}

/// `FS_IOC_FIEMAP`: Linux's `ioctl_fiemap` and `fiemap_prep` with ext4's flags
/// (`FIEMAP_FLAG_SYNC` writes shared mappings' dirty pages back first, `FIEMAP_FLAG_CACHE`
/// is taken and dropped; `FIEMAP_FLAG_XATTR` maps no blocks, uml keeping extended
/// attributes in no block), over [`vfs::OpenFile::fiemap`]. `struct fiemap` is `fm_start`,
/// `fm_length` (u64), `fm_flags`, `fm_mapped_extents`, `fm_extent_count`, a reserved u32,
/// then the extents.
fn fiemap(ctx: &mut Ctx<'_>, f: &FileRef, arg: UserAddr) -> SysResult {
    f.fiemap(0, 0)?;
    let h: [u64; 4] = ctx.read_val(arg)?;
    let (start, len, count) = (h[0], h[1], h[3] as u32);
    let mut flags = h[2] as u32 & !FLAG_CACHE;
    if u64::from(count) > u64::from(u32::MAX) / EXTENT_SIZE {
        return Err(Errno::EINVAL);
    }
    let max = vfs::MAX_FILE_SIZE;
    let header = |ctx: &mut Ctx<'_>, flags: u32, mapped: u32| {
        let v = [h[0], h[1], u64::from(flags) | u64::from(mapped) << 32, h[3]];
        ctx.write_val(arg, &v)
    };
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    if start >= max {
        return Err(Errno::EFBIG);
    }
    let incompat = flags & !(FLAG_SYNC | FLAG_XATTR);
    if incompat != 0 {
        header(ctx, incompat, 0)?;
        return Err(Errno::EBADR);
    }
    if flags & FLAG_SYNC != 0 {
        crate::mem::sync_file(ctx, f);
    }
    let extents = if flags & FLAG_XATTR != 0 {
        Vec::new()
    } else {
        f.fiemap(start, start.saturating_add(len).min(max))?
    };
    let shown = if count == 0 {
        0
    } else {
        extents.len().min(count as usize)
    };
    let base = arg.0 + 32;
    for (i, e) in extents.iter().take(shown).enumerate() {
        let mut fe_flags = if e.unwritten { EXTENT_UNWRITTEN } else { 0 };
        if i + 1 == extents.len() {
            fe_flags |= EXTENT_LAST;
        }
        let v = [
            e.logical,
            e.physical,
            e.length,
            0,
            0,
            u64::from(fe_flags),
            0,
        ];
        ctx.write_val(UserAddr(base + i as u64 * EXTENT_SIZE), &v)?;
    }
    flags &= FLAG_SYNC | FLAG_XATTR;
    let mapped = if count == 0 { extents.len() } else { shown };
    header(ctx, flags, mapped as u32)?;
    Ok(0)
}
