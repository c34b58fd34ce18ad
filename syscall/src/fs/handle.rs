//! `name_to_handle_at(2)` and `open_by_handle_at(2)`: `struct file_handle` (`handle_bytes`,
//! `handle_type`, then the handle) in and out, checked in Linux's order; the handles
//! themselves are `vfs`'s (`Vfs::encode_handle`, `Vfs::decode_handle`).

use abi::flags::{at, OFlags};
use abi::{Errno, UserAddr};

use super::base_for;
use crate::caps::CAP_DAC_READ_SEARCH;
use crate::{Args, Ctx};

/// Largest handle a caller may ask for (`MAX_HANDLE_SZ`).
const MAX_HANDLE_SZ: u32 = 128;
/// `name_to_handle_at` flags beyond `AT_SYMLINK_FOLLOW` and `AT_EMPTY_PATH`.
const AT_HANDLE_MNT_ID_UNIQUE: u32 = 0x001;
const AT_HANDLE_CONNECTABLE: u32 = 0x002;
const AT_HANDLE_FID: u32 = 0x200;
/// Flags of `handle_type` a caller may see and give back (`FILEID_IS_CONNECTABLE`,
/// `FILEID_IS_DIR`).
const FILEID_IS_CONNECTABLE: i32 = 0x10000;
const FILEID_USER_FLAGS: i32 = 0x30000;
/// The type of a handle that did not fit (`FILEID_INVALID`).
const FILEID_INVALID: i32 = 0xff;

/// `name_to_handle_at(dirfd, path, handle, mount_id, flags)`.
pub fn sys_name_to_handle_at(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (dirfd, uh, mnt_id, flags) = (a.i32(0), a.addr(2), a.addr(3), a.u32(4));
    let known = at::SYMLINK_FOLLOW
        | at::EMPTY_PATH
        | AT_HANDLE_FID
        | AT_HANDLE_MNT_ID_UNIQUE
        | AT_HANDLE_CONNECTABLE;
    if flags & !known != 0
        || flags & AT_HANDLE_CONNECTABLE != 0 && flags & (AT_HANDLE_FID | at::EMPTY_PATH) != 0
    {
        return Err(Errno::EINVAL);
    }
    let p = ctx.read_path(a.addr(1))?;
    let d = if p.is_empty() {
        if flags & at::EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        ctx.empty_path_dentry(dirfd)?
    } else {
        let base = base_for(ctx, dirfd, &p)?;
        let follow = flags & at::SYMLINK_FOLLOW != 0;
        ctx.vfs.lookup(ctx.at(&base), &p, follow)?
    };
    let (mut kind, bytes) = ctx.vfs.encode_handle(&d, flags & AT_HANDLE_FID != 0)?;
    let room: u32 = ctx.read_val(uh)?;
    if room > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    let fits = bytes.len() <= room as usize;
    if !fits {
        kind = FILEID_INVALID;
    } else if flags & AT_HANDLE_CONNECTABLE != 0 {
        kind |= FILEID_IS_CONNECTABLE;
    }
    let id = ctx.vfs.mount_id(&d);
    if flags & AT_HANDLE_MNT_ID_UNIQUE != 0 {
        ctx.write_val(mnt_id, &id)?;
    } else {
        ctx.write_val(mnt_id, &(id as i32))?;
    }
    let header = [bytes.len() as u32, kind as u32];
    ctx.write_val(uh, &header)?;
    if !fits {
        return Err(Errno::EOVERFLOW);
    }
    ctx.copy_out(UserAddr(uh.0 + 8), &bytes)?;
    Ok(0)
}

/// `open_by_handle_at(mount_fd, handle, flags)`: opens the file a handle names on the file
/// system `mount_fd` lies on (`CAP_DAC_READ_SEARCH` only), with `open`'s checks of
/// `flags`.
pub fn sys_open_by_handle_at(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (mount_fd, uh) = (a.i32(0), a.addr(1));
    let flags = OFlags::from_bits_retain(a.u32(2)) | OFlags::LARGEFILE;
    let on = if mount_fd == at::FDCWD {
        Some(ctx.proc.cwd.clone())
    } else {
        ctx.file(mount_fd)?.dentry()
    };
    if !ctx.proc.cred.caps.has(CAP_DAC_READ_SEARCH) {
        return Err(Errno::EPERM);
    }
    let [len, kind]: [u32; 2] = ctx.read_val(uh)?;
    let kind = kind as i32;
    if len == 0 || len > MAX_HANDLE_SZ || kind < 0 || kind & !0xffff & !FILEID_USER_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; len as usize];
    ctx.copy_in(UserAddr(uh.0 + 8), &mut bytes)?;
    // A descriptor with no name (a pipe) lies on no file system a handle could name.
    let on = on.ok_or(Errno::ESTALE)?;
    let d = ctx.vfs.decode_handle(&on, kind & 0xffff, &bytes)?;
    super::check_free_fd(ctx)?;
    let cwd = ctx.proc.cwd.clone();
    let file = ctx.vfs.open_dentry(ctx.at(&cwd), &d, flags)?;
    super::open::install(ctx, file, flags)
}
