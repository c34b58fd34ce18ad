//! Files that back memory: `memfd_create` and `fallocate`.

use abi::flags::{falloc, mfd};
use abi::Errno;

use crate::{Args, Ctx};

/// Longest memfd name (`NAME_MAX` less the `memfd:` prefix).
const MFD_NAME_MAX: usize = 249;

/// `memfd_create(2)`: an in-memory file with no name in the tree, sealable with
/// `MFD_ALLOW_SEALING`; `MFD_HUGETLB` is `EINVAL` (no huge pages).
pub fn sys_memfd_create(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let flags = a.u32(1);
    let all = mfd::CLOEXEC | mfd::ALLOW_SEALING | mfd::NOEXEC_SEAL | mfd::EXEC;
    if flags & !all != 0 || flags & (mfd::EXEC | mfd::NOEXEC_SEAL) == mfd::EXEC | mfd::NOEXEC_SEAL {
        return Err(Errno::EINVAL);
    }
    let name = match ctx.mm.read_cstr(ctx.proc.mm, a.addr(0), MFD_NAME_MAX + 1) {
        Ok(n) if n.len() <= MFD_NAME_MAX => n,
        Ok(_) | Err(Errno::ENAMETOOLONG) => return Err(Errno::EINVAL),
        Err(e) => return Err(e),
    };
    let file = ctx.vfs.memfd_create(&name, flags & mfd::ALLOW_SEALING != 0);
    let fd = ctx
        .proc
        .fds
        .install(file, flags & mfd::CLOEXEC != 0, 0, ctx.proc.nofile())?;
    Ok(fd as u64)
}

/// `fallocate(2)`: see [`vfs::OpenFile::fallocate`]; mappings of the file see a punched or
/// zeroed range at once, and the moved tail of a collapsed or inserted range.
pub fn sys_fallocate(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    let (mode, off, len) = (a.u32(1), a.i64(2), a.i64(3));
    crate::mem::sync_file(ctx, &f);
    if f.flags().writable() {
        crate::swap::check_inactive(ctx, &f)?;
    }
    f.fallocate(mode, off, len)?;
    let start = off as u64;
    if mode & (falloc::COLLAPSE_RANGE | falloc::INSERT_RANGE) != 0 {
        crate::mem::file_changed(ctx, &f, start..u64::MAX);
        crate::mem::file_truncated(ctx, &f);
    } else if mode & (falloc::PUNCH_HOLE | falloc::ZERO_RANGE) != 0 {
        crate::mem::file_changed(ctx, &f, start..start.saturating_add(len as u64));
    }
    Ok(0)
}
