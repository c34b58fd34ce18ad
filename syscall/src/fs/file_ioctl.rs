//! File requests every open file takes before its own `ioctl`s (Linux's `do_vfs_ioctl`):
//! inode flags (`FS_IOC_GETFLAGS`, `FS_IOC_SETFLAGS`; `vfs` keeps them) and clones
//! (`FICLONE`, `FICLONERANGE`: `EOPNOTSUPP` after Linux's checks, no uml file system
//! shares extents).

use abi::flags::ioctl::{FICLONE, FICLONERANGE, FS_IOC_GETFLAGS, FS_IOC_SETFLAGS};
use abi::{SysResult, UserAddr};
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
