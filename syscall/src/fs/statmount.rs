//! `statmount(2)` and `listmount(2)`: the guest's `struct mnt_id_req` in, `struct
//! statmount` (with its strings after the fixed part) or an array of mount ids out; what
//! they say of the mounts is `vfs`'s (`Vfs::statmount`, `Vfs::listmount`).

use abi::flags::mount::*;
use abi::{Errno, SysResult, UserAddr};

use crate::caps::CAP_SYS_ADMIN;
use crate::{Args, Ctx};

/// `sizeof(struct statmount)` of Linux: strings start after it.
const STATMOUNT_SIZE: usize = 512;
/// `LISTMOUNT_REVERSE`.
const LISTMOUNT_REVERSE: u32 = 1;
/// The string fields uml fills, and where each one's offset goes.
const STRINGS: [(u64, usize); 4] = [
    (STATMOUNT_FS_TYPE, 36),
    (STATMOUNT_MNT_ROOT, 104),
    (STATMOUNT_MNT_POINT, 108),
    (STATMOUNT_MNT_OPTS, 4),
];

/// A guest `struct mnt_id_req`: (mount id, param). `EFAULT`, `E2BIG` past a page or with
/// unknown non-zero bytes at its end, `EINVAL` below the first version or for an id that
/// is no unique id; a namespace descriptor is `EBADF` if not open and `EINVAL` if it is no
/// mount namespace, a namespace id other than uml's one `ENOENT`.
fn mnt_id_req(ctx: &mut Ctx<'_>, addr: UserAddr) -> Result<(u64, u64), Errno> {
    let size = ctx.read_val::<u32>(addr)? as usize;
    let raw = ctx.copy_struct_in(addr, size, MNT_ID_REQ_SIZE_VER0, MNT_ID_REQ_SIZE_VER1)?;
    let word = |i: usize| u64::from_ne_bytes(raw[i..i + 8].try_into().unwrap_or_default());
    let ns_fd = u32::from_ne_bytes(raw[4..8].try_into().unwrap_or_default());
    let (id, param, ns_id) = (word(8), word(16), word(24));
    if id <= MNT_UNIQUE_ID_OFFSET {
        return Err(Errno::EINVAL);
    }
    if ns_fd != 0 {
        let f = ctx.file(ns_fd as i32)?;
        if f.object_as::<vfs::NsFile>()
            .and_then(|n| n.mnt_ns_id())
            .is_none()
        {
            return Err(Errno::EINVAL);
        }
    }
    if ns_id != 0 && ns_id != vfs::MNT_NS_ID {
        return Err(Errno::ENOENT);
    }
    Ok((id, param))
}

const MNT_UNIQUE_ID_OFFSET: u64 = vfs::MNT_UNIQUE_ID_OFFSET;

fn put32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

/// `statmount(req, buf, bufsize, flags)`.
pub(crate) fn sys_statmount(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if a.u32(3) != 0 {
        return Err(Errno::EINVAL);
    }
    let (id, mask) = mnt_id_req(ctx, a.addr(0))?;
    let (buf, bufsize) = (a.addr(1), a.raw(2) as usize);
    let privileged = ctx.proc.cred.caps.has(CAP_SYS_ADMIN);
    let s = ctx.vfs.statmount(id, ctx.proc.root.as_ref(), privileged)?;
    let mut sm = [0u8; STATMOUNT_SIZE];
    let mut done = 0u64;
    if mask & STATMOUNT_SB_BASIC != 0 {
        let (ma, mi) = abi::structs::dev_split(s.sb_dev);
        put32(&mut sm, 16, ma);
        put32(&mut sm, 20, mi);
        put64(&mut sm, 24, s.sb_magic);
        put32(&mut sm, 32, s.sb_flags);
        done |= STATMOUNT_SB_BASIC;
    }
    if mask & STATMOUNT_MNT_BASIC != 0 {
        put64(&mut sm, 40, s.id);
        put64(&mut sm, 48, s.parent_id);
        put32(&mut sm, 56, s.id_old);
        put32(&mut sm, 60, s.parent_id_old);
        put64(&mut sm, 64, s.attr);
        put64(&mut sm, 72, s.propagation);
        put64(&mut sm, 80, s.peer_group);
        put64(&mut sm, 88, s.master);
        done |= STATMOUNT_MNT_BASIC;
    }
    if mask & STATMOUNT_PROPAGATE_FROM != 0 {
        done |= STATMOUNT_PROPAGATE_FROM;
    }
    if mask & STATMOUNT_MNT_NS_ID != 0 {
        put64(&mut sm, 112, vfs::MNT_NS_ID);
        done |= STATMOUNT_MNT_NS_ID;
    }
    // The strings, after an empty one that unset offsets point at.
    let mut strings: Vec<u8> = Vec::new();
    for (bit, off) in STRINGS {
        if mask & bit == 0 {
            continue;
        }
        if strings.is_empty() {
            strings.push(0);
        }
        let start = strings.len() as u32;
        strings.extend_from_slice(match bit {
            STATMOUNT_FS_TYPE => s.fs_type.as_bytes(),
            STATMOUNT_MNT_ROOT => &s.root,
            STATMOUNT_MNT_POINT => &s.point,
            _ => &s.opts,
        });
        if STATMOUNT_SIZE + strings.len() >= bufsize {
            return Err(Errno::EOVERFLOW);
        }
        strings.push(0);
        put32(&mut sm, off, start);
        done |= bit;
    }
    put64(&mut sm, 8, done);
    let copy = bufsize.min(STATMOUNT_SIZE);
    put32(&mut sm, 0, (copy + strings.len()) as u32);
    if !strings.is_empty() {
        let at = buf
            .checked_add(STATMOUNT_SIZE as u64)
            .ok_or(Errno::EFAULT)?;
        ctx.copy_out(at, &strings)?;
    }
    ctx.copy_out(buf, &sm[..copy])?;
    Ok(0)
}

/// `listmount(req, mnt_ids, nr_mnt_ids, flags)`.
pub(crate) fn sys_listmount(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = a.u32(3);
    if flags & !LISTMOUNT_REVERSE != 0 {
        return Err(Errno::EINVAL);
    }
    let (out, nr) = (a.addr(1), a.raw(2) as usize);
    if nr == 0 {
        return Ok(0);
    }
    if nr > i32::MAX as usize / 8 {
        return Err(Errno::EOVERFLOW);
    }
    let (id, last) = mnt_id_req(ctx, a.addr(0))?;
    if last != 0 && last <= MNT_UNIQUE_ID_OFFSET {
        return Err(Errno::EINVAL);
    }
    let privileged = ctx.proc.cred.caps.has(CAP_SYS_ADMIN);
    let reverse = flags & LISTMOUNT_REVERSE != 0;
    let ids = ctx
        .vfs
        .listmount(id, last, reverse, nr, ctx.proc.root.as_ref(), privileged)?;
    let bytes: Vec<u8> = ids.iter().flat_map(|i| i.to_ne_bytes()).collect();
    ctx.copy_out(out, &bytes)?;
    Ok(ids.len() as u64)
}
