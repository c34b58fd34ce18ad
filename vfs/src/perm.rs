//! Permissions: who makes a call ([`FsCred`]: Linux's filesystem user and group ids and
//! supplementary groups) and what it may do with an object: the mode-bit checks of Linux's
//! `generic_permission`, and the owner rules of `chmod`, `chown` and `utimensat`.
//!
//! A filesystem uid of 0 stands for the capabilities Linux gives it (`CAP_DAC_OVERRIDE`,
//! `CAP_FOWNER`, `CAP_CHOWN`). A call of no process ([`At`] from a bare `&Dentry`) is made
//! by the user uml runs as (the configured uid/gid, no supplementary groups). These checks
//! are uml's own: the host still checks every host call against the user uml runs as.

use abi::flags::mode::{S_IFDIR, S_IFMT};
use abi::structs::Stat;
use abi::Errno;

use crate::{mount, At, Dentry, Vfs};

/// Who a file call is made by, for its permission checks.
#[derive(Clone, Copy, Debug)]
pub struct FsCred<'a> {
    /// Filesystem user id.
    pub fsuid: u32,
    /// Filesystem group id.
    pub fsgid: u32,
    /// Supplementary groups, sorted.
    pub groups: &'a [u32],
    /// Its Landlock domain (`None`: not restricted).
    pub landlock: Option<&'a crate::landlock::Domain>,
}

impl FsCred<'_> {
    /// Whether it holds the file capabilities (`CAP_DAC_OVERRIDE`, `CAP_FOWNER`, ...).
    pub(crate) fn privileged(&self) -> bool {
        self.fsuid == 0
    }

    /// Linux's `in_group_p`: `gid` is the filesystem group or a supplementary one.
    pub fn in_group(&self, gid: u32) -> bool {
        gid == self.fsgid || self.groups.binary_search(&gid).is_ok()
    }

    /// Whether it may access an object with `st` for `mask` (`R_OK` …): the owner's, the
    /// group's or the others' bits; with the capabilities anything but executing a file
    /// no one may execute.
    pub(crate) fn permitted(&self, st: &Stat, mask: u32) -> bool {
        let mode = st.st_mode;
        if self.privileged() {
            return mask & 1 == 0 || mode & S_IFMT == S_IFDIR || mode & 0o111 != 0;
        }
        let bits = if st.st_uid == self.fsuid {
            mode >> 6
        } else if self.in_group(st.st_gid) {
            mode >> 3
        } else {
            mode
        } & 7;
        bits & mask == mask
    }

    /// The owner of a file it creates in `dir`: its filesystem uid, and its filesystem gid
    /// unless `dir` is set-group-ID (then `dir`'s group, as Linux's `inode_init_owner`).
    pub(crate) fn new_owner(&self, dir: &crate::Dentry) -> (u32, u32) {
        match dir.stat() {
            Ok(st) if st.st_mode & abi::flags::mode::S_ISGID != 0 => (self.fsuid, st.st_gid),
            _ => (self.fsuid, self.fsgid),
        }
    }

    /// Whether it owns (or has `CAP_FOWNER` over) an object with `st`.
    pub(crate) fn owns(&self, st: &Stat) -> bool {
        self.privileged() || st.st_uid == self.fsuid
    }
}

impl Vfs {
    /// Who makes a call from `at`: its process's ids, or the user uml runs as.
    pub(crate) fn who<'a>(&'a self, at: &At<'a>) -> FsCred<'a> {
        at.cred.unwrap_or(FsCred {
            fsuid: self.uid,
            fsgid: self.gid,
            groups: &[],
            landlock: None,
        })
    }

    /// `EACCES` unless `who` may access `d` for `mask`.
    pub(crate) fn check(&self, who: &FsCred<'_>, d: &Dentry, mask: u32) -> Result<(), Errno> {
        if let crate::dentry::Inode::Proc(p) = &d.0.inode {
            match p.sysctl_perm(who.fsuid, mask) {
                Some(true) => return Ok(()),
                Some(false) => return Err(Errno::EACCES),
                None => {}
            }
        }
        // A read-only file system refuses writes to files, directories and symlinks first
        // (a read-only mount of a writable one only after the permission check).
        let plain = matches!(
            d.ftype(),
            abi::flags::mode::S_IFREG | abi::flags::mode::S_IFDIR | abi::flags::mode::S_IFLNK
        );
        if mask & 2 != 0 && plain && mount::sb_read_only(d) {
            return Err(Errno::EROFS);
        }
        if mask & 2 != 0 {
            crate::fileattr::check_mutable(d)?;
        }
        if mask == 0 || (who.privileged() && mask & 1 == 0) {
            return Ok(());
        }
        if who.permitted(&d.stat()?, mask) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// Search permission on a directory being walked through.
    pub(crate) fn may_search(&self, who: &FsCred<'_>, dir: &Dentry) -> Result<(), Errno> {
        if who.privileged() {
            return Ok(());
        }
        self.check(who, dir, 1)
    }

    /// Write and search permission on a directory whose entries change.
    pub(crate) fn may_modify(&self, who: &FsCred<'_>, dir: &Dentry) -> Result<(), Errno> {
        if mount::read_only(dir) {
            return Err(Errno::EROFS);
        }
        self.check(who, dir, 3)
    }

    /// Whether `who` may remove (or rename away) `child` from `dir`: [`Vfs::may_modify`] of
    /// `dir`, and in a sticky directory only the owner of `child` or of `dir` (or root,
    /// `EPERM`), as Linux's `may_delete`; nothing leaves an append-only directory, and an
    /// immutable or append-only `child` stays (`EPERM`).
    pub(crate) fn may_delete(
        &self,
        who: &FsCred<'_>,
        dir: &Dentry,
        child: &Dentry,
    ) -> Result<(), Errno> {
        self.may_modify(who, dir)?;
        if crate::fileattr::append_only(dir) {
            return Err(Errno::EPERM);
        }
        const S_ISVTX: u32 = 0o1000;
        let dst = dir.stat()?;
        if dst.st_mode & S_ISVTX != 0 && !who.owns(&dst) && !who.owns(&child.stat()?) {
            return Err(Errno::EPERM);
        }
        crate::fileattr::check_pinned(child)
    }

    /// Whether `who` may change `d`'s metadata: `EROFS` on a read-only mount (before
    /// ownership, as Linux), `EPERM` if it is immutable or append-only, else its owner or
    /// root (`EPERM`).
    pub(crate) fn owner_or_root(&self, who: &FsCred<'_>, d: &Dentry) -> Result<(), Errno> {
        if mount::read_only(d) {
            return Err(Errno::EROFS);
        }
        crate::fileattr::check_pinned(d)?;
        if who.owns(&d.stat()?) {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FsCred;
    use abi::structs::Stat;

    fn stat(mode: u32, uid: u32, gid: u32) -> Stat {
        Stat {
            st_mode: mode,
            st_uid: uid,
            st_gid: gid,
            ..Default::default()
        }
    }

    #[test]
    fn the_owner_group_or_other_bits_decide() {
        let who = FsCred {
            fsuid: 1000,
            fsgid: 100,
            groups: &[4, 27],
            landlock: None,
        };
        let f = |uid, gid| stat(0o100_640, uid, gid);
        assert!(who.permitted(&f(1000, 0), 6));
        // The owner's bits, even when the group's would allow more.
        assert!(!who.permitted(&stat(0o100_070, 1000, 100), 4));
        assert!(who.permitted(&f(0, 100), 4));
        assert!(who.permitted(&f(0, 27), 4), "a supplementary group");
        assert!(!who.permitted(&f(0, 27), 2));
        assert!(!who.permitted(&f(0, 5), 4));
        assert!(who.owns(&f(1000, 0)) && !who.owns(&f(0, 100)));
    }

    #[test]
    fn fsuid_0_may_do_anything_but_execute_what_no_one_may() {
        let root = FsCred {
            fsuid: 0,
            fsgid: 0,
            groups: &[],
            landlock: None,
        };
        assert!(root.permitted(&stat(0o100_000, 5, 5), 6));
        assert!(!root.permitted(&stat(0o100_644, 5, 5), 1));
        assert!(root.permitted(&stat(0o100_744, 5, 5), 1));
        assert!(root.permitted(&stat(0o040_000, 5, 5), 1));
        assert!(root.owns(&stat(0o100_000, 5, 5)));
    }
}
