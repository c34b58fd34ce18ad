//! `sysfs(2)`, the old interface to the kernel's list of file system types (the list of
//! `/proc/filesystems`, [`vfs::FILESYSTEM_TYPES`]): option 1 turns a type name into its
//! index, 2 an index into its name, 3 counts the types. Unknown names and indexes, and
//! other options, are `EINVAL`; a name is read as a path is (`EFAULT`, `ENAMETOOLONG`,
//! `ENOENT` for an empty one).

use abi::{Errno, SysResult};
use vfs::FILESYSTEM_TYPES;

use crate::{Args, Ctx};

pub(crate) fn sys_sysfs(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    match a.i32(0) {
        1 => {
            // Linux copies the name with strndup_user(PATH_MAX).
            let name = match ctx
                .mm
                .read_cstr(ctx.proc.mm, a.addr(1), abi::flags::PATH_MAX)
            {
                Err(Errno::EFAULT) => return Err(Errno::EFAULT),
                Err(_) => return Err(Errno::EINVAL),
                Ok(n) => n,
            };
            let index = FILESYSTEM_TYPES
                .iter()
                .position(|(t, _)| t.as_bytes() == name);
            index.map(|i| i as u64).ok_or(Errno::EINVAL)
        }
        2 => {
            // The index is an unsigned int.
            let (name, _) = FILESYSTEM_TYPES
                .get(a.u32(1) as usize)
                .ok_or(Errno::EINVAL)?;
            let mut out = name.as_bytes().to_vec();
            out.push(0);
            ctx.copy_out(a.addr(2), &out)?;
            Ok(0)
        }
        3 => Ok(FILESYSTEM_TYPES.len() as u64),
        _ => Err(Errno::EINVAL),
    }
}
