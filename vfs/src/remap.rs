//! Sharing extents between files (`FICLONE`, `FICLONERANGE`): no uml file system shares
//! extents (tmpfs, ext2/3/4 do not either), so a clone that passes Linux's checks of
//! `vfs_clone_file_range` is `EOPNOTSUPP`.

use abi::flags::mode::{S_IFDIR, S_IFMT, S_IFREG};
use abi::flags::OFlags;
use abi::Errno;

use crate::OpenFile;

impl OpenFile {
    /// `FICLONE`/`FICLONERANGE` of `src` into this file: `EXDEV` across file systems,
    /// `EISDIR` for a directory, `EINVAL` for any other non-regular file, `EBADF` unless
    /// `src` is readable and this file writable and not `O_APPEND`, then `EOPNOTSUPP`.
    pub fn clone_range_from(&self, src: &OpenFile) -> Result<(), Errno> {
        let (Some(sd), Some(dd)) = (src.dentry(), self.dentry()) else {
            return Err(Errno::EXDEV);
        };
        if sd.fs_id() != dd.fs_id() {
            return Err(Errno::EXDEV);
        }
        let (si, di) = (src.stat()?.st_mode & S_IFMT, self.stat()?.st_mode & S_IFMT);
        if si == S_IFDIR || di == S_IFDIR {
            return Err(Errno::EISDIR);
        }
        if si != S_IFREG || di != S_IFREG {
            return Err(Errno::EINVAL);
        }
        let out = self.flags();
        if !src.flags().readable() || !out.writable() || out.contains(OFlags::APPEND) {
            return Err(Errno::EBADF);
        }
        Err(Errno::EOPNOTSUPP)
    }
}
