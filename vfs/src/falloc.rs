//! The blocks of in-memory files: `fallocate(2)` past the checks every file system shares
//! (those are [`OpenFile::fallocate`]'s): which modes each file system takes, and what they
//! do to the file's sparse data ([`sparse`](crate::sparse)); and the block map
//! `FS_IOC_FIEMAP` reads ([`OpenFile::fiemap`]).
//!
//! - tmpfs, the overlay's upper layer and memfds take what Linux's tmpfs takes: allocation
//!   (with or without `FALLOC_FL_KEEP_SIZE`) and `FALLOC_FL_PUNCH_HOLE`.
//! - A disk file system of a loop device ([`blockfs`](crate::blockfs)) takes what Linux's
//!   ext4 driver takes: with extents (ext4) also `FALLOC_FL_ZERO_RANGE`,
//!   `FALLOC_FL_COLLAPSE_RANGE` and `FALLOC_FL_INSERT_RANGE` (the last two on block-aligned
//!   ranges); without (ext2 and ext3 files) only punching holes.
//!
//! Allocation is whole or nothing: `ENOSPC` if the blocks it needs do not fit the file
//! system's size.
//!
//! Block maps: only files of a disk file system have one (tmpfs has none: `EOPNOTSUPP`).
//! Their blocks have no place on the device, so an extent's physical offset is synthetic:
//! its logical offset one block further (never 0, which would mean "unknown").

use abi::flags::falloc::{COLLAPSE_RANGE, INSERT_RANGE, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE};
use abi::Errno;

use crate::dentry::{Dentry, Inode};
use crate::file::{FileKind, OpenFile};
use crate::tmpfs::{MemInode, MAX_FILE};

/// One run of a file's allocated blocks (`struct fiemap_extent`'s fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Offset in the file.
    pub logical: u64,
    /// Offset on the device (synthetic, see the module doc).
    pub physical: u64,
    /// Bytes (whole blocks).
    pub length: u64,
    /// Allocated but never written (`FIEMAP_EXTENT_UNWRITTEN`).
    pub unwritten: bool,
}

impl OpenFile {
    /// The block map of `[start, end)` of the file (`FS_IOC_FIEMAP`, past
    /// `fiemap_prep`'s checks): the runs of allocated blocks there, clipped to it in whole
    /// blocks; `EOPNOTSUPP` but for a regular file of a disk file system (see the module
    /// doc).
    pub fn fiemap(&self, start: u64, end: u64) -> Result<Vec<Extent>, Errno> {
        let on_disk = match self.dentry.as_ref().map(|d| &d.0.inode) {
            Some(Inode::Ovl(o)) => o.fs.format.is_some(),
            _ => false,
        };
        let (FileKind::Mem(m), true) = (&self.kind, on_disk) else {
            return Err(Errno::EOPNOTSUPP);
        };
        m.with_file(false, |f| {
            f.extents(start, end)
                .into_iter()
                .map(|(logical, length, unwritten)| Extent {
                    logical,
                    physical: logical + f.block_size(),
                    length,
                    unwritten,
                })
                .collect()
        })
    }
}

/// `fallocate(m, mode, off, len)` of the in-memory file `m` (at `d`), `off + len` at most
/// [`MAX_FILE`].
pub(crate) fn fallocate(
    d: Option<&Dentry>,
    m: &MemInode,
    mode: u32,
    off: u64,
    len: u64,
) -> Result<(), Errno> {
    let format = match d.map(|d| &d.0.inode) {
        Some(Inode::Ovl(o)) => o.fs.format,
        _ => None,
    };
    let (op, keep) = (mode & !KEEP_SIZE, mode & KEEP_SIZE != 0);
    let supported = match format {
        None => matches!(op, 0 | PUNCH_HOLE),
        Some(f) => {
            op == PUNCH_HOLE
                || f.extents && matches!(op, 0 | ZERO_RANGE | COLLAPSE_RANGE | INSERT_RANGE)
        }
    };
    if !supported {
        return Err(Errno::EOPNOTSUPP);
    }
    let end = off + len;
    let size = m.size();
    match op {
        PUNCH_HOLE => {
            m.check_write_seals(0)?;
            m.with_file(true, |f| f.punch(off, end))
        }
        COLLAPSE_RANGE | INSERT_RANGE => {
            let block = m.with_file(false, |f| f.block_size())?;
            if !(off | len).is_multiple_of(block) {
                return Err(Errno::EINVAL);
            }
            if op == COLLAPSE_RANGE {
                if end >= size {
                    return Err(Errno::EINVAL);
                }
                m.check_resize_seals(size - len)?;
                return m.with_file(true, |f| f.collapse(off, len));
            }
            if len > MAX_FILE - size {
                return Err(Errno::EFBIG);
            }
            if off >= size {
                return Err(Errno::EINVAL);
            }
            m.check_resize_seals(size + len)?;
            m.with_file(true, |f| f.insert(off, len))
        }
        _ => {
            m.check_resize_seals(end.max(size))?;
            crate::blockfs::check_allocation(d, m, off, end)?;
            let grows = !keep && end > size;
            m.with_file(grows || op == ZERO_RANGE, |f| {
                if op == ZERO_RANGE {
                    f.zero_range(off, end, keep)
                } else {
                    f.allocate(off, end, keep)
                }
            })
        }
    }
}
