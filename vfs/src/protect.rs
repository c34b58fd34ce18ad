//! Link protections (`/proc/sys/fs/protected_symlinks` and `protected_hardlinks`, both on
//! by default as distributions set them): Linux's `may_follow_link` and `may_linkat`.
//!
//! - A symlink that ends a walk is followed in a sticky, world-writable directory only by
//!   its owner, or when it belongs to the directory's owner (`EACCES`, for root too).
//! - A hard link to a file is made by its owner (or with `CAP_FOWNER`), or to a safe source:
//!   a regular file, not set-user-ID, not set-group-ID and group-executable, that the
//!   caller may read and write (`EPERM`).

use std::sync::atomic::{AtomicBool, Ordering};

use abi::flags::mode::{S_IFMT, S_IFREG, S_ISGID, S_ISUID};
use abi::Errno;

use crate::perm::FsCred;
use crate::{Dentry, Vfs};

const S_ISVTX: u32 = 0o1000;
const S_IWOTH: u32 = 0o002;
const S_IXGRP: u32 = 0o010;

/// Whether each protection is on.
#[derive(Debug)]
pub(crate) struct LinkProtections {
    symlinks: AtomicBool,
    hardlinks: AtomicBool,
}

impl Default for LinkProtections {
    fn default() -> LinkProtections {
        LinkProtections {
            symlinks: AtomicBool::new(true),
            hardlinks: AtomicBool::new(true),
        }
    }
}

impl Vfs {
    /// `fs/protected_symlinks` was set.
    pub fn set_protected_symlinks(&self, on: bool) {
        self.protect.symlinks.store(on, Ordering::Relaxed);
    }

    /// `fs/protected_hardlinks` was set.
    pub fn set_protected_hardlinks(&self, on: bool) {
        self.protect.hardlinks.store(on, Ordering::Relaxed);
    }

    /// Linux's `may_follow_link`: whether `who` may follow `link`, the last component of a
    /// walk, found in `dir`.
    pub(crate) fn may_follow_link(
        &self,
        who: &FsCred<'_>,
        dir: &Dentry,
        link: &Dentry,
    ) -> Result<(), Errno> {
        if !self.protect.symlinks.load(Ordering::Relaxed) {
            return Ok(());
        }
        let owner = link.stat()?.st_uid;
        if owner == who.fsuid {
            return Ok(());
        }
        let d = dir.stat()?;
        if d.st_mode & (S_ISVTX | S_IWOTH) != S_ISVTX | S_IWOTH || d.st_uid == owner {
            return Ok(());
        }
        Err(Errno::EACCES)
    }

    /// Linux's `may_linkat`: whether `who` may make another link to `src`.
    pub(crate) fn may_linkat(&self, who: &FsCred<'_>, src: &Dentry) -> Result<(), Errno> {
        if !self.protect.hardlinks.load(Ordering::Relaxed) {
            return Ok(());
        }
        let st = src.stat()?;
        let mode = st.st_mode;
        let safe = mode & S_IFMT == S_IFREG
            && mode & S_ISUID == 0
            && mode & (S_ISGID | S_IXGRP) != S_ISGID | S_IXGRP
            && self.check(who, src, 4 | 2).is_ok();
        if safe || who.owns(&st) {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }
}
