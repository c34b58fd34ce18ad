//! `statfs(2)`: what the mount a file lies on says about its file system.
//!
//! The type's magic number and the mount's flags always; sizes where uml knows them: a
//! disk file system of a loop device (the device's size in its `mkfs` block size, what
//! its files use, ext's 5% reserved for root, one inode per 16 KiB) and a tmpfs with
//! `size=`; proc and sysfs report no blocks, as Linux. The root overlay, devfs and a tmpfs
//! without `size=` leave the sizes to the caller ([`StatFs::blocks`] is `None`), which
//! reports the guest's memory.

use std::sync::atomic::Ordering;

use abi::flags::magic::*;
use abi::flags::mount::*;

use crate::blockfs::{usage, BLOCK};
use crate::dentry::{Dentry, Inode};
use crate::mount::SbKind;
use crate::Vfs;

/// A file system's `struct statfs`, as uml knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFs {
    /// `f_type`.
    pub magic: i64,
    /// `f_bsize` (and `f_frsize`).
    pub bsize: u64,
    /// `f_blocks`, `f_bfree`, `f_bavail` (`None`: the caller's memory numbers).
    pub blocks: Option<(u64, u64, u64)>,
    /// `f_files`, `f_ffree`.
    pub files: Option<(u64, u64)>,
    /// `f_fsid` (the device number).
    pub fsid: u64,
    /// `f_flags` (`ST_*`, with `ST_VALID`).
    pub flags: u64,
}

/// `ST_*` of per-mount flags `f`.
fn st_flags(f: u64) -> u64 {
    let same = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME;
    let mut st = ST_VALID | (f & same);
    if f & MS_RELATIME != 0 {
        st |= ST_RELATIME;
    }
    if f & MS_NOSYMFOLLOW != 0 {
        st |= ST_NOSYMFOLLOW;
    }
    st
}

impl Vfs {
    /// `statfs` of the file system `d` lies on.
    pub fn statfs(&self, d: &Dentry) -> StatFs {
        let Some(mnt) = d.mount() else {
            return StatFs::default();
        };
        let fsid = d.stat().map_or(0, |s| s.st_dev);
        let mut s = StatFs {
            magic: OVERLAYFS_SUPER_MAGIC,
            bsize: BLOCK,
            blocks: None,
            files: None,
            fsid,
            flags: st_flags(mnt.flags() | if mnt.is_read_only() { MS_RDONLY } else { 0 }),
        };
        match &mnt.sb.kind {
            SbKind::Root | SbKind::Host => {}
            SbKind::Devtmpfs => s.magic = TMPFS_MAGIC,
            SbKind::Proc => {
                s.magic = PROC_SUPER_MAGIC;
                s.blocks = Some((0, 0, 0));
                s.files = Some((0, 0));
            }
            SbKind::Sysfs => {
                s.magic = SYSFS_MAGIC;
                s.blocks = Some((0, 0, 0));
                s.files = Some((0, 0));
            }
            SbKind::Tmpfs(fs, _) => {
                s.magic = TMPFS_MAGIC;
                if let Some(space) = &fs.space {
                    let (used, inodes) = usage(&space.root);
                    let total = space.capacity.load(Ordering::Relaxed) / BLOCK;
                    let free = total.saturating_sub(used / BLOCK);
                    s.blocks = Some((total, free, free));
                    let files = total.max(inodes);
                    s.files = Some((files, files - inodes));
                }
            }
            SbKind::Disk(disk) => {
                s.magic = EXT4_SUPER_MAGIC;
                s.bsize = disk.block_size();
                let size = disk.device.size();
                let total = size / disk.block_size();
                let (used, inodes) = usage(&disk.root);
                let free = total.saturating_sub(used.div_ceil(disk.block_size()));
                s.blocks = Some((total, free, free.saturating_sub(total / 20)));
                // Inodes 1 to 10 are reserved; the root (2) and lost+found (11) are counted.
                let files = (size / 16384).max(16);
                s.files = Some((files, files.saturating_sub(inodes + 9)));
            }
        }
        s
    }

    /// `statfs` of the mounted file system whose device is `dev` (`ustat(2)`), `None`
    /// when none is: the device of a mount's root, or that of the in-memory inodes of an
    /// overlay or tmpfs mount. Every mount counts, in any namespace (Linux looks at
    /// every super block).
    pub fn statfs_dev(&self, dev: u64) -> Option<StatFs> {
        let on = |root: &Dentry| {
            root.stat().is_ok_and(|s| s.st_dev == dev)
                || matches!(&root.0.inode, Inode::Ovl(o) if o.fs.dev == dev)
        };
        let roots: Vec<Dentry> = std::iter::once(self.root.clone())
            .chain(self.mounts.read().iter().map(|m| m.root.clone()))
            .collect();
        roots.into_iter().find(on).map(|root| self.statfs(&root))
    }
}
