//! Inode flags (Linux's file attributes: `FS_IOC_GETFLAGS`/`FS_IOC_SETFLAGS`, what `chattr`
//! sets and `lsattr` shows), what the immutable and append-only flags forbid, and the
//! `statx` fields that depend on the file system (attributes, birth time, direct I/O
//! alignment).
//!
//! Which flags a file system keeps is Linux's: tmpfs (and so the overlay's upper layer and
//! devfs) keeps `FS_APPEND_FL`, `FS_IMMUTABLE_FL`, `FS_NODUMP_FL` and `FS_NOATIME_FL`, any
//! other is refused (`shmem_fileattr_set`); the disk file systems ([`blockfs`]) keep
//! ext4's user-modifiable set, dropping the visible flags a user cannot set and refusing
//! the rest and those the inode's type cannot have (`ext4_fileattr_set`). A refused flag
//! is `EOPNOTSUPP`. Regular files and directories have flags; other inodes, host files (with
//! `--rw`) and procfs answer `ENOTTY`. Changing immutable or append-only needs
//! `CAP_LINUX_IMMUTABLE` (`EPERM`); the caller must own the file (`EPERM`) on a writable
//! mount (`EROFS`). The flags are stored; only immutable and append-only act:
//!
//! - an immutable inode is not written, truncated, linked, removed or renamed, and its mode,
//!   owner, times and extended attributes do not change (`EPERM`); an immutable directory
//!   gains and loses no entries (write permission on it is `EPERM`, Linux's
//!   `inode_permission`);
//! - an append-only file opens for writing only with `O_APPEND` and never with `O_TRUNC`,
//!   is not truncated, linked, removed or renamed and keeps its metadata (`EPERM`); an
//!   append-only directory loses no entries.
//!
//! `file_getattr`/`file_setattr` see the same flags as `FS_XFLAG_*` ([`FileAttr`], Linux's
//! `fileattr_fill_flags`/`fileattr_fill_xflags`): only the flags every file system shares
//! map; what only XFS keeps (extent size hints, project ids) is refused by tmpfs and, for a
//! project id, by ext4 without quotas (`EOPNOTSUPP`).
//!
//! Not done: new inodes inheriting flags from their directory.
//!
//! [`blockfs`]: crate::blockfs

use abi::flags::fs_fl::*;
use abi::flags::mode::{S_IFDIR, S_IFREG};
use abi::structs::statx_mask;
use abi::Errno;

use crate::dentry::Inode;
use crate::{mount, overlay, Dentry, FsCred, Vfs};

/// Flags tmpfs keeps (`SHMEM_FL_USER_MODIFIABLE`).
const TMPFS_MODIFIABLE: u32 = IMMUTABLE | APPEND | NODUMP | NOATIME;
/// ext4's `EXT4_FL_USER_VISIBLE` and `EXT4_FL_USER_MODIFIABLE`.
const EXT_VISIBLE: u32 = 0x725b_dbff;
const EXT_MODIFIABLE: u32 = 0x624b_c0ff;
/// What ext4 lets a regular file and any other non-directory have (`ext4_mask_flags`).
const EXT_REG_MASK: u32 = !(DIRSYNC | TOPDIR | CASEFOLD | PROJINHERIT);
const EXT_OTHER_MASK: u32 = NODUMP | NOATIME;

/// Whose rules an inode's flags follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keeper {
    Tmpfs,
    Ext,
}

fn keeper(d: &Dentry) -> Option<Keeper> {
    let Inode::Ovl(o) = &d.0.inode else {
        return None;
    };
    if !matches!(d.ftype(), S_IFREG | S_IFDIR) {
        return None;
    }
    Some(if o.fs.format.is_some() {
        Keeper::Ext
    } else {
        Keeper::Tmpfs
    })
}

/// The inode flags of `d` (0 for an inode that has none, or shows a lower file).
pub(crate) fn flags_of(d: &Dentry) -> u32 {
    overlay::upper(d).map_or(0, |u| u.inner.lock().flags)
}

/// `EPERM` if `d` is immutable (its data and metadata do not change).
pub(crate) fn check_mutable(d: &Dentry) -> Result<(), Errno> {
    if flags_of(d) & IMMUTABLE != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// `EPERM` if `d` is immutable or append-only: it is not removed, renamed, linked,
/// truncated, nor has its mode, owner or times set.
pub(crate) fn check_pinned(d: &Dentry) -> Result<(), Errno> {
    if flags_of(d) & (IMMUTABLE | APPEND) != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Whether `d` is append-only.
pub(crate) fn append_only(d: &Dentry) -> bool {
    flags_of(d) & APPEND != 0
}

/// The flags `set` leaves on an inode of `keeper` and type `ftype` that has `old`, or
/// `None` if its file system refuses them.
fn settable(keeper: Keeper, ftype: u32, old: u32, set: u32) -> Option<u32> {
    match keeper {
        Keeper::Tmpfs => (set & !TMPFS_MODIFIABLE == 0).then_some(set),
        Keeper::Ext => {
            if set & !EXT_VISIBLE != 0 {
                return None;
            }
            let set = set & EXT_MODIFIABLE;
            let fits = match ftype {
                S_IFDIR => set,
                S_IFREG => set & EXT_REG_MASK,
                _ => set & EXT_OTHER_MASK,
            };
            (fits == set && (old ^ set) & CASEFOLD == 0).then_some(set | (old & !EXT_MODIFIABLE))
        }
    }
}

/// The inode flags that have an `FS_XFLAG_*` twin (`FS_COMMON_FL`), with it.
const COMMON: [(u32, u64); 7] = [
    (SYNC, XFLAG_SYNC),
    (IMMUTABLE, XFLAG_IMMUTABLE),
    (APPEND, XFLAG_APPEND),
    (NODUMP, XFLAG_NODUMP),
    (NOATIME, XFLAG_NOATIME),
    (DAX, XFLAG_DAX),
    (PROJINHERIT, XFLAG_PROJINHERIT),
];

/// `struct file_attr` (`file_getattr`, `file_setattr`): extended flags, extent size hint,
/// extent count, project id, copy-on-write extent size hint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileAttr {
    /// `FS_XFLAG_*`.
    pub xflags: u64,
    /// Extent size hint.
    pub extsize: u32,
    /// Extents in use (reported only).
    pub nextents: u32,
    /// Project id.
    pub projid: u32,
    /// Copy-on-write extent size hint.
    pub cowextsize: u32,
}

impl FileAttr {
    /// Its `FS_XFLAG_*` as inode flags.
    fn flags(&self) -> u32 {
        COMMON
            .iter()
            .filter(|(_, x)| self.xflags & x != 0)
            .fold(0, |a, (f, _)| a | f)
    }

    /// Whether it asks for more than the flags every file system shares (Linux's
    /// `fileattr_has_fsx`).
    fn has_fsx(&self) -> bool {
        let common = COMMON.iter().fold(0, |a, (_, x)| a | x);
        self.xflags & !common != 0 || self.extsize != 0 || self.projid != 0 || self.cowextsize != 0
    }
}

impl Dentry {
    /// `FS_IOC_GETFLAGS`: its inode flags (`ENOTTY` if its file system keeps none).
    pub fn inode_flags(&self) -> Result<u32, Errno> {
        keeper(self).ok_or(Errno::ENOTTY)?;
        Ok(flags_of(self))
    }

    /// `file_getattr`: its flags as `FS_XFLAG_*` (`ENOTTY` if its file system keeps none).
    pub fn file_attr(&self) -> Result<FileAttr, Errno> {
        let flags = self.inode_flags()?;
        let xflags = COMMON
            .iter()
            .filter(|(f, _)| flags & f != 0)
            .fold(0, |a, (_, x)| a | x);
        Ok(FileAttr {
            xflags,
            ..FileAttr::default()
        })
    }
}

impl Vfs {
    /// `FS_IOC_SETFLAGS` by `who`; `linux_immutable`: it holds `CAP_LINUX_IMMUTABLE`.
    pub fn set_inode_flags(
        &self,
        who: &FsCred<'_>,
        linux_immutable: bool,
        d: &Dentry,
        flags: u32,
    ) -> Result<(), Errno> {
        self.set_flags_checked(who, linux_immutable, d, flags, None)
    }

    /// `file_setattr` by `who`: the flags every file system shares from `fa.xflags`, the
    /// others kept (Linux's `vfs_fileattr_set`); `EINVAL` for unknown flags, for a DAX or
    /// extent size hint flag on an inode that cannot have it.
    pub fn set_file_attr(
        &self,
        who: &FsCred<'_>,
        linux_immutable: bool,
        d: &Dentry,
        fa: &FileAttr,
    ) -> Result<(), Errno> {
        let mut fa = *fa;
        fa.xflags &= !XFLAG_HASATTR;
        let reg_or_dir = matches!(d.ftype(), S_IFREG | S_IFDIR);
        if (fa.xflags & XFLAG_EXTSIZE != 0 && d.ftype() != S_IFREG)
            || (fa.xflags & XFLAG_EXTSZINHERIT != 0 && d.ftype() != S_IFDIR)
            || (fa.xflags & XFLAG_COWEXTSIZE != 0 && !reg_or_dir)
            || (fa.xflags & XFLAG_DAX != 0 && !reg_or_dir)
        {
            return Err(Errno::EINVAL);
        }
        if fa.extsize == 0 {
            fa.xflags &= !(XFLAG_EXTSIZE | XFLAG_EXTSZINHERIT);
        }
        if fa.cowextsize == 0 {
            fa.xflags &= !XFLAG_COWEXTSIZE;
        }
        let shared = COMMON.iter().fold(0, |a, (f, _)| a | f);
        let flags = fa.flags() | (flags_of(d) & !shared);
        self.set_flags_checked(who, linux_immutable, d, flags, Some(&fa))
    }

    /// Sets `d`'s flags to `flags`, asked by `file_setattr` with `fsx`.
    fn set_flags_checked(
        &self,
        who: &FsCred<'_>,
        linux_immutable: bool,
        d: &Dentry,
        flags: u32,
        fsx: Option<&FileAttr>,
    ) -> Result<(), Errno> {
        if mount::read_only(d) {
            return Err(Errno::EROFS);
        }
        let keeper = keeper(d).ok_or(Errno::ENOTTY)?;
        if !who.owns(&d.stat()?) {
            return Err(Errno::EPERM);
        }
        let refused = fsx.is_some_and(|fa| match keeper {
            Keeper::Tmpfs => fa.has_fsx(),
            // No project quotas: only the default project id.
            Keeper::Ext => fa.projid != 0,
        });
        if refused {
            return Err(Errno::EOPNOTSUPP);
        }
        let old = flags_of(d);
        let new = settable(keeper, d.ftype(), old, flags).ok_or(Errno::EOPNOTSUPP)?;
        if (old ^ new) & (IMMUTABLE | APPEND) != 0 && !linux_immutable {
            return Err(Errno::EPERM);
        }
        let up = overlay::copy_up(d)?;
        let mut i = up.inner.lock();
        i.flags = new;
        i.ctime = crate::tmpfs::Time::now();
        drop(i);
        crate::notify::attrib(d, abi::flags::inotify::IN_ATTRIB);
        Ok(())
    }
}

/// The `statx` fields beyond `stat` that depend on the file system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatxExtra {
    /// `STATX_BTIME` and the birth time (seconds, nanoseconds), if known.
    pub btime: Option<(i64, u32)>,
    /// `stx_attributes` of its inode flags.
    pub attributes: u64,
    /// `stx_attributes_mask`: the attributes its file system has.
    pub attributes_mask: u64,
    /// `STATX_DIOALIGN`: memory and file offset alignment of direct I/O, if it has it.
    pub dio_align: Option<(u32, u32)>,
}

impl Dentry {
    /// The `statx` fields its file system adds (Linux's `shmem_getattr`, `ext4_getattr`).
    pub fn statx_extra(&self) -> StatxExtra {
        let Inode::Ovl(o) = &self.0.inode else {
            return StatxExtra::default();
        };
        let Some(up) = overlay::upper(self) else {
            return StatxExtra::default();
        };
        let (flags, btime) = {
            let i = up.inner.lock();
            (i.flags, i.btime)
        };
        let mut mask =
            statx_mask::ATTR_APPEND | statx_mask::ATTR_IMMUTABLE | statx_mask::ATTR_NODUMP;
        let mut dio_align = None;
        if let Some(f) = &o.fs.format {
            mask |=
                statx_mask::ATTR_COMPRESSED | statx_mask::ATTR_ENCRYPTED | statx_mask::ATTR_VERITY;
            if self.ftype() == S_IFREG {
                let sector = f.logical_block;
                dio_align = Some((sector, sector));
            }
        }
        // A block device node: its queue's (Linux's `bdev_statx`).
        let node = up.inner.lock().data_dev();
        if let Some(crate::tmpfs::DevKind::Loop(n)) = node {
            if let Some(dev) = o.fs.shared.loops().and_then(|l| l.get(n)) {
                dio_align = Some((crate::loopsysfs::DMA_ALIGNMENT + 1, dev.block_size()));
            }
        }
        StatxExtra {
            btime: btime.map(|t| (t.sec, t.nsec as u32)),
            attributes: u64::from(flags) & mask,
            attributes_mask: mask,
            dio_align,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_keeps_four_flags_and_refuses_others() {
        assert_eq!(
            settable(Keeper::Tmpfs, S_IFREG, 0, APPEND | NODUMP),
            Some(APPEND | NODUMP)
        );
        assert_eq!(settable(Keeper::Tmpfs, S_IFREG, 0, COMPR), None);
    }

    #[test]
    fn ext_drops_unsettable_visible_flags_and_masks_by_type() {
        // FS_INDEX_FL (0x1000) is visible, not settable: dropped, kept as it was.
        assert_eq!(
            settable(Keeper::Ext, S_IFDIR, 0x1000, 0x1000 | COMPR),
            Some(0x1000 | COMPR)
        );
        assert_eq!(
            settable(Keeper::Ext, S_IFREG, 0, IMMUTABLE),
            Some(IMMUTABLE)
        );
        assert_eq!(settable(Keeper::Ext, S_IFREG, 0, DIRSYNC), None);
        assert_eq!(settable(Keeper::Ext, S_IFREG, 0, 0x8000_0000), None);
    }
}
