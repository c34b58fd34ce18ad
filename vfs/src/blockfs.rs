//! Disk file systems on loop devices, emulated, and the space limits of in-memory ones.
//!
//! uml does not read or write any on-disk format. Mounting a loop device with a disk
//! file system type (`ext2`, `ext3`, `ext4`) is an **emulation with a documented gap**:
//!
//! - The device must hold that file system's super block: uml reads it (at byte 1024, the
//!   `0xEF53` magic, the block size and the feature flags `mkfs.ext*` wrote) and refuses
//!   the mount with `EINVAL` otherwise, as Linux does for a device that was never formatted
//!   or holds another type (`ext2` with ext4-only features, `ext3` with extents, ...).
//! - What is mounted is an **in-memory file system that belongs to the device** ([`DiskFs`]),
//!   not the device's contents: it starts with an empty root and `lost+found`, as a fresh
//!   `mkfs.ext*` leaves it. It is kept across `umount`/`mount` of the same device for as
//!   long as the device is not written to through `/dev/loopN` (a write bumps the device's
//!   generation, see [`loopdev`](crate::loopdev)): formatting the device again empties it.
//! - The raw device and the mounted tree are **not linked**: files written to the mount
//!   never reach the backing file, and bytes written to the device never show in the
//!   mount (they only reset it at the next mount). Tools that read a mounted file system's
//!   blocks (`debugfs`, `dumpe2fs` of a mounted device, `fsck`) see what `mkfs` wrote.
//! - `statfs` reports the type's magic (`EXT4_SUPER_MAGIC`), the block size `mkfs` chose,
//!   the device's size in blocks, and blocks and inodes used as the in-memory files take
//!   them (files are sparse, in blocks of that size: [`sparse`](crate::sparse)); writes
//!   that do not fit in the device's size are `ENOSPC` ([`Space`]). Of ext4's own
//!   behaviour only `fallocate`'s modes are ([`falloc`](crate::falloc)); journaling,
//!   extents, ioctls, quota, xattr limits and inode numbering are not: files otherwise
//!   behave as tmpfs files.
//!
//! A tmpfs mounted with `size=` has a [`Space`] too.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use abi::Errno;

use crate::dentry::{Dentry, Inode, OvlFs};
use crate::loopdev::LoopDevice;
use crate::tmpfs::{MemData, MemEntry, MemInode};
use crate::Arc;

/// Bytes of a block of the in-memory file systems' accounting.
pub(crate) const BLOCK: u64 = 4096;

/// A space limit: how many bytes the files under `root` may hold together.
pub(crate) struct Space {
    pub capacity: AtomicU64,
    pub root: Arc<MemInode>,
}

impl Space {
    pub fn new(capacity: u64, root: Arc<MemInode>) -> Space {
        Space {
            capacity: AtomicU64::new(capacity),
            root,
        }
    }
}

/// Bytes (regular files' data, in whole blocks) and inodes the tree under `root` uses,
/// each inode counted once.
pub(crate) fn usage(root: &Arc<MemInode>) -> (u64, u64) {
    let mut seen = HashSet::new();
    let mut stack = vec![root.clone()];
    let (mut bytes, mut inodes) = (0u64, 0u64);
    while let Some(n) = stack.pop() {
        if !seen.insert(n.ino) {
            continue;
        }
        inodes += 1;
        let i = n.inner.lock();
        match &i.data {
            MemData::File(f) => bytes += f.allocated(),
            MemData::Dir { entries, .. } => {
                stack.extend(entries.values().filter_map(|e| match e {
                    MemEntry::Node(c) => Some(c.clone()),
                    MemEntry::Whiteout => None,
                }));
            }
            _ => {}
        }
    }
    (bytes, inodes)
}

/// The bytes `d`'s file system has free (`None`: it has no [`Space`] of its own).
fn room(d: Option<&Dentry>) -> Option<u64> {
    let Some(Inode::Ovl(o)) = d.map(|d| &d.0.inode) else {
        return None;
    };
    let space = o.fs.space.as_ref()?;
    let (used, _) = usage(&space.root);
    Some(space.capacity.load(Ordering::Relaxed).saturating_sub(used))
}

/// How much of a write of `[off, end)` to the regular file `m` of `d`'s file system fits:
/// `end` if the blocks it would allocate fit its [`Space`] (or there is none), else the
/// end of the last block that does, `ENOSPC` if not even the first does (a write then
/// stops short, as Linux's).
pub(crate) fn write_limit(
    d: Option<&Dentry>,
    m: &MemInode,
    off: u64,
    end: u64,
) -> Result<u64, Errno> {
    let Some(room) = room(d) else {
        return Ok(end);
    };
    let fit = m.with_file(false, |f| f.fitting_end(off, end, room / f.block_size()))?;
    if fit <= off && end > off {
        return Err(Errno::ENOSPC);
    }
    Ok(fit)
}

/// Most bytes one `fallocate` may allocate on a file system with no [`Space`] of its own
/// (its blocks are kernel memory even unwritten).
const UNSIZED_ALLOCATION: u64 = 1 << 32;

/// `ENOSPC` unless all the blocks that allocating `[off, end)` of the regular file `m`
/// needs fit `d`'s file system (`fallocate` is whole or nothing).
pub(crate) fn check_allocation(
    d: Option<&Dentry>,
    m: &MemInode,
    off: u64,
    end: u64,
) -> Result<(), Errno> {
    let room = room(d).unwrap_or(UNSIZED_ALLOCATION);
    let need = m.with_file(false, |f| f.absent_blocks(off, end) * f.block_size())?;
    if need > room {
        return Err(Errno::ENOSPC);
    }
    Ok(())
}

/// The I/O counters of the device whose disk file system `d` lies on.
fn device_io(d: Option<&Dentry>) -> Option<&Arc<crate::blockstat::IoStat>> {
    match d.map(|d| &d.0.inode) {
        Some(Inode::Ovl(o)) => o.fs.io.as_ref(),
        _ => None,
    }
}

/// `n` bytes were written to a file of `d`'s file system: dirty until a sync.
pub(crate) fn written(d: Option<&Dentry>, n: usize) {
    if let Some(io) = device_io(d) {
        io.dirtied(n as u64);
    }
}

/// A sync of `d`'s file system: what is dirty is written back to its device.
pub(crate) fn synced(d: Option<&Dentry>) {
    if let Some(io) = device_io(d) {
        io.sync();
    }
}

/// A disk file system type uml can mount from a loop device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DiskType {
    Ext2,
    Ext3,
    Ext4,
}

impl DiskType {
    pub fn of(name: &[u8]) -> Option<DiskType> {
        match name {
            b"ext2" => Some(DiskType::Ext2),
            b"ext3" => Some(DiskType::Ext3),
            b"ext4" => Some(DiskType::Ext4),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DiskType::Ext2 => "ext2",
            DiskType::Ext3 => "ext3",
            DiskType::Ext4 => "ext4",
        }
    }
}

/// What `mkfs` made on a device: the block size (`st_blksize` of its files, and the
/// block of their sparse data), the device's logical block size (the alignment of direct
/// I/O), and whether files are extent-mapped (ext4's `extents` feature: without it, as
/// ext2 and ext3 files under Linux's ext4 driver, `fallocate` can only punch holes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Format {
    pub block_size: u64,
    pub logical_block: u32,
    pub extents: bool,
}

/// A disk file system of a loop device, in memory (see the module doc).
pub(crate) struct DiskFs {
    pub device: Arc<LoopDevice>,
    /// The device's generation it was made at.
    pub generation: u64,
    pub fs: Arc<OvlFs>,
    pub root: Arc<MemInode>,
}

impl DiskFs {
    /// The block size `mkfs` chose.
    pub fn block_size(&self) -> u64 {
        self.fs.block_size()
    }
}

/// ext2/3/4 super block fields (offsets in the 1024-byte super block at byte 1024).
const EXT_MAGIC_AT: usize = 56;
const EXT_LOG_BLOCK_SIZE_AT: usize = 24;
const EXT_FEATURE_COMPAT_AT: usize = 92;
const EXT_FEATURE_INCOMPAT_AT: usize = 96;
const EXT_COMPAT_HAS_JOURNAL: u32 = 0x4;
const EXT_INCOMPAT_EXTENTS: u32 = 0x40;
/// Incompatible features the ext2 driver knows (`FILETYPE`, `META_BG`).
const EXT2_INCOMPAT: u32 = 0x2 | 0x10;
/// ... and ext3's (`RECOVER`, `JOURNAL_DEV` too).
const EXT3_INCOMPAT: u32 = EXT2_INCOMPAT | 0x4 | 0x8;

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The block size of the `ty` file system on `device` and whether it has extents
/// (`EINVAL` if it holds none that type's driver would mount).
fn probe(device: &LoopDevice, ty: DiskType) -> Result<(u64, bool), Errno> {
    let mut sb = [0u8; 1024];
    let n = device.read(&mut [std::io::IoSliceMut::new(&mut sb)], 1024)?;
    if n < sb.len() || u16::from_le_bytes([sb[EXT_MAGIC_AT], sb[EXT_MAGIC_AT + 1]]) != 0xef53 {
        return Err(Errno::EINVAL);
    }
    let incompat = le32(&sb, EXT_FEATURE_INCOMPAT_AT);
    let journal = le32(&sb, EXT_FEATURE_COMPAT_AT) & EXT_COMPAT_HAS_JOURNAL != 0;
    let ok = match ty {
        DiskType::Ext2 => incompat & !EXT2_INCOMPAT == 0,
        DiskType::Ext3 => journal && incompat & !EXT3_INCOMPAT == 0,
        DiskType::Ext4 => true,
    };
    let log = le32(&sb, EXT_LOG_BLOCK_SIZE_AT);
    if !ok || log > 6 {
        return Err(Errno::EINVAL);
    }
    Ok((1024 << log, incompat & EXT_INCOMPAT_EXTENTS != 0))
}

/// The file system of type `ty` on `device` to mount: the one mounted before if the device
/// was not written to since, else a fresh one (see the module doc).
pub(crate) fn disk_fs(
    device: &Arc<LoopDevice>,
    ty: DiskType,
    shared: &Arc<crate::dentry::FsShared>,
) -> Result<Arc<DiskFs>, Errno> {
    if !device.is_bound() {
        return Err(Errno::EINVAL);
    }
    let (block_size, extents) = probe(device, ty)?;
    let generation = device.generation();
    let mut kept = device.disk.lock();
    if let Some(d) = kept.as_ref().filter(|d| d.generation == generation) {
        return Ok(d.clone());
    }
    let dev = abi::structs::makedev(abi::flags::blk::LOOP_MAJOR, device.number());
    // ext's root is inode 2 and `mkfs` makes `lost+found` (inode 11), mode 0700.
    let root = MemInode::new_dir(2, dev, 0o755, 0, 0);
    let lost = MemInode::new_dir(11, dev, 0o700, 0, 0);
    root.add_links(1);
    let _ = root.with_dir(false, |e, _| {
        e.insert(b"lost+found".to_vec(), MemEntry::Node(lost));
    });
    let fs = Arc::new(OvlFs {
        dev,
        shared: shared.clone(),
        space: Some(Space::new(device.size(), root.clone())),
        io: Some(device.io.clone()),
        format: Some(Format {
            block_size,
            logical_block: device.block_size(),
            extents,
        }),
    });
    let d = Arc::new(DiskFs {
        device: device.clone(),
        generation,
        fs,
        root,
    });
    *kept = Some(d.clone());
    Ok(d)
}
