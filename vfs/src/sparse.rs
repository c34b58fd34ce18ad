//! The data of an in-memory regular file: its size and a sparse map of blocks.
//!
//! The blocks are kept in a [`BlockMap`] (runs of consecutive blocks). A block of the file
//! is one of three things, as on Linux's tmpfs and ext4:
//! - **absent**, a hole: it reads as zeros and takes neither memory nor space of its file
//!   system (a write far past the end, `ftruncate` growing a file, `FALLOC_FL_PUNCH_HOLE`,
//!   `FALLOC_FL_COLLAPSE_RANGE`/`INSERT_RANGE` moving them);
//! - **unwritten**: allocated by `fallocate` (or `FALLOC_FL_ZERO_RANGE`) but never written,
//!   so it reads as zeros and takes no memory, but counts as used space and as data for
//!   `SEEK_DATA`/`SEEK_HOLE` (as tmpfs's fallocated pages, and ext4's unwritten extents
//!   whose pages are cached; `FS_IOC_FIEMAP` tells them apart);
//! - **data**: written bytes. A block holding the end of the file keeps only the bytes
//!   written to it: what lies past them reads as zeros (a kernel-made file of a few bytes,
//!   as those of sysfs, takes a few bytes, not a page); a later write past them makes it
//!   whole.
//!
//! The block size is the file system's: a page for tmpfs, the overlay's upper layer and
//! memfds, the `mkfs` block size for a disk file system ([`blockfs`](crate::blockfs)).

use crate::blockmap::BlockMap;
use std::io::{IoSlice, IoSliceMut};

use abi::Errno;

enum Block {
    Unwritten,
    Data(Box<[u8]>),
}

/// See the module doc.
pub(crate) struct FileData {
    size: u64,
    block: u64,
    blocks: BlockMap<Block>,
}

/// A new block of `n` bytes holding `old` at 0 and `src` at `at`, zeros around them: a
/// block a write covers whole (the common case) is written once, not zeroed first.
fn filled(n: usize, old: &[u8], at: usize, src: &[u8]) -> Result<Box<[u8]>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::ENOSPC)?;
    v.extend_from_slice(&old[..old.len().min(at)]);
    v.resize(at, 0);
    v.extend_from_slice(src);
    if let Some(rest) = old.get(v.len()..) {
        v.extend_from_slice(rest);
    }
    v.resize(n, 0);
    Ok(v.into_boxed_slice())
}

impl FileData {
    /// An empty file of blocks of `block` bytes (a power of two).
    pub fn new(block: u64) -> FileData {
        FileData {
            size: 0,
            block,
            blocks: BlockMap::new(),
        }
    }

    /// A file of page blocks holding `bytes` (every block data).
    pub fn from_bytes(bytes: &[u8]) -> FileData {
        let mut f = FileData::new(crate::blockfs::BLOCK);
        // Cannot fail but by running out of memory, where a kernel-made file may be short.
        let _ = f.write(&[IoSlice::new(bytes)], 0, u64::MAX);
        f
    }

    /// The file size.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// The block size.
    pub fn block_size(&self) -> u64 {
        self.block
    }

    /// Bytes of the file system the file takes: its allocated blocks, written or not.
    pub fn allocated(&self) -> u64 {
        self.blocks.len() as u64 * self.block
    }

    /// The blocks `[off, end)` touches (first, one past the last).
    fn span(&self, off: u64, end: u64) -> (u64, u64) {
        (off / self.block, end.div_ceil(self.block))
    }

    /// How many blocks of `[off, end)` are absent: what writing or allocating it takes.
    pub fn absent_blocks(&self, off: u64, end: u64) -> u64 {
        if end <= off {
            return 0;
        }
        let (first, last) = self.span(off, end);
        last - first - self.blocks.range(first, last).count() as u64
    }

    /// The end of the longest prefix of `[off, end)` whose absent blocks number at most
    /// `room` (`off` if not even its first block fits).
    pub fn fitting_end(&self, off: u64, end: u64, room: u64) -> u64 {
        if self.absent_blocks(off, end) <= room {
            return end;
        }
        let (first, last) = self.span(off, end);
        let mut left = room;
        for b in first..last {
            if !self.blocks.contains(b) {
                if left == 0 {
                    return (b * self.block).max(off);
                }
                left -= 1;
            }
        }
        end
    }

    /// Reads at `off` into `bufs`; short at the end of the file. Holes read as zeros.
    pub fn read(&self, bufs: &mut [IoSliceMut<'_>], off: u64) -> usize {
        let size = self.size;
        let start = off.min(size);
        let mut pos = start;
        // The block size is a power of two: shifts and masks, not divisions, per block.
        let shift = self.block.trailing_zeros();
        let mask = self.block - 1;
        // One walk of the map for the whole read: its blocks come in order.
        let mut blocks = self.blocks.range(pos >> shift, u64::MAX).peekable();
        'bufs: for buf in bufs.iter_mut() {
            let mut dst: &mut [u8] = buf;
            while !dst.is_empty() {
                if pos >= size {
                    break 'bufs;
                }
                let (b, inb) = (pos >> shift, (pos & mask) as usize);
                let n = dst
                    .len()
                    .min(self.block as usize - inb)
                    .min((size - pos) as usize);
                let (head, tail) = std::mem::take(&mut dst).split_at_mut(n);
                while blocks.next_if(|&(k, _)| k < b).is_some() {}
                match blocks.peek() {
                    Some(&(k, Block::Data(d))) if k == b => {
                        // A short block reads as zeros past its bytes.
                        let have = d.len().saturating_sub(inb).min(n);
                        let (data, zeros) = head.split_at_mut(have);
                        data.copy_from_slice(d.get(inb..inb + have).unwrap_or_default());
                        zeros.fill(0);
                    }
                    _ => head.fill(0),
                }
                dst = tail;
                pos += n as u64;
            }
        }
        (pos - start) as usize
    }

    /// Writes at most `max` bytes of `bufs` at `off`, allocating the blocks it touches;
    /// the file grows to cover them.
    pub fn write(&mut self, bufs: &[IoSlice<'_>], off: u64, max: u64) -> Result<usize, Errno> {
        let mut pos = off;
        let stop = off.saturating_add(max);
        for buf in bufs {
            let mut at = 0;
            while at < buf.len() && pos < stop {
                let (b, inb) = (pos / self.block, (pos % self.block) as usize);
                let n = (buf.len() - at)
                    .min(self.block as usize - inb)
                    .min((stop - pos) as usize);
                let src = &buf[at..at + n];
                // A block ending the file takes only the bytes up to the write's end.
                let full = self.block as usize;
                let len = if pos + n as u64 >= self.size {
                    inb + n
                } else {
                    full
                };
                match self.blocks.get_mut(b) {
                    Some(Block::Data(d)) if d.len() >= inb + n => {
                        d[inb..inb + n].copy_from_slice(src)
                    }
                    // A short block a write goes past is made whole.
                    Some(Block::Data(d)) => *d = filled(full, d, inb, src)?,
                    _ => {
                        let data = filled(len, &[], inb, src)?;
                        self.blocks.insert(b, Block::Data(data));
                    }
                }
                at += n;
                pos += n as u64;
                self.size = self.size.max(pos);
            }
        }
        Ok((pos - off) as usize)
    }

    /// Truncates or extends the file: growing adds a hole, shrinking frees the blocks past
    /// the new end and zeroes the tail of the last one.
    pub fn set_len(&mut self, len: u64) {
        if len < self.size {
            self.blocks.split_off(len.div_ceil(self.block));
            self.zero_partial(len, len.div_ceil(self.block) * self.block);
        }
        self.size = len;
    }

    /// Zeroes `[off, end)`, which lies within one block, where that block holds data.
    fn zero_partial(&mut self, off: u64, end: u64) {
        if off >= end {
            return;
        }
        let b = off / self.block;
        if let Some(Block::Data(d)) = self.blocks.get_mut(b) {
            let base = b * self.block;
            // A short block is zero past its bytes already.
            let len = d.len() as u64;
            let (from, to) = ((off - base).min(len), (end - base).min(len));
            d[from as usize..to as usize].fill(0);
        }
    }

    /// Zeroes the partial blocks at the edges of `[off, end)`; returns the whole blocks
    /// inside it (first, one past the last; empty if none).
    fn zero_edges(&mut self, off: u64, end: u64) -> (u64, u64) {
        let first = off.div_ceil(self.block);
        let last = (end / self.block).max(first);
        if first * self.block > end {
            // Within one block.
            self.zero_partial(off, end);
            return (first, first);
        }
        self.zero_partial(off, first * self.block);
        self.zero_partial((last * self.block).max(off), end);
        (first, last)
    }

    /// `fallocate` of `[off, end)`: its absent blocks become unwritten; the file grows to
    /// `end` unless `keep_size`.
    pub fn allocate(&mut self, off: u64, end: u64, keep_size: bool) {
        let (first, last) = self.span(off, end);
        for b in first..last {
            self.blocks.insert_absent(b, Block::Unwritten);
        }
        if !keep_size {
            self.size = self.size.max(end);
        }
    }

    /// `FALLOC_FL_PUNCH_HOLE`: the whole blocks of `[off, end)` are freed, the bytes of
    /// partial ones zeroed; the size stays.
    pub fn punch(&mut self, off: u64, end: u64) {
        let (first, last) = self.zero_edges(off, end);
        let keys: Vec<u64> = self.blocks.range(first, last).map(|(k, _)| k).collect();
        for k in keys {
            self.blocks.remove(k);
        }
    }

    /// `FALLOC_FL_ZERO_RANGE`: `[off, end)` reads as zeros and all of its blocks are
    /// allocated (the whole ones unwritten); the file grows to `end` unless `keep_size`.
    pub fn zero_range(&mut self, off: u64, end: u64, keep_size: bool) {
        let (first, last) = self.zero_edges(off, end);
        for b in first..last {
            self.blocks.insert(b, Block::Unwritten);
        }
        self.allocate(off, end, keep_size);
    }

    /// `FALLOC_FL_COLLAPSE_RANGE` of `[off, off + len)`, both block-aligned and ending
    /// before the end of the file (the caller checks): the bytes after it move down.
    pub fn collapse(&mut self, off: u64, len: u64) {
        let (first, n) = (off / self.block, len / self.block);
        let mut tail = self.blocks.split_off(first);
        for (k, v) in tail.split_off(first + n).into_blocks() {
            self.blocks.insert(k - n, v);
        }
        self.size -= len;
    }

    /// `FALLOC_FL_INSERT_RANGE` of `len` bytes at `off`, both block-aligned, `off` inside
    /// the file (the caller checks): the bytes from `off` move up past a hole.
    pub fn insert(&mut self, off: u64, len: u64) {
        let (first, n) = (off / self.block, len / self.block);
        for (k, v) in self.blocks.split_off(first).into_blocks() {
            self.blocks.insert(k + n, v);
        }
        self.size += len;
    }

    /// `lseek(SEEK_DATA)` (`hole` false) or `lseek(SEEK_HOLE)` from `off`: where the next
    /// allocated block or hole begins (the end of the file is a hole), `ENXIO` past the end
    /// or if no data follows.
    pub fn seek(&self, off: u64, hole: bool) -> Result<u64, Errno> {
        if off >= self.size {
            return Err(Errno::ENXIO);
        }
        let first = off / self.block;
        let found = if hole {
            let mut b = first;
            for k in self.blocks.range(first, u64::MAX).map(|(k, _)| k) {
                if k != b {
                    break;
                }
                b += 1;
            }
            Some(b)
        } else {
            self.blocks.range(first, u64::MAX).next().map(|(k, _)| k)
        };
        match found {
            Some(b) if b * self.block < self.size || hole => {
                Ok((b * self.block).clamp(off, self.size))
            }
            _ => Err(Errno::ENXIO),
        }
    }

    /// The runs of allocated blocks among those `[off, end)` touches, in order: (start,
    /// length, unwritten), adjacent blocks of the same kind merged (a block map for
    /// `FS_IOC_FIEMAP`).
    pub fn extents(&self, off: u64, end: u64) -> Vec<(u64, u64, bool)> {
        let mut out: Vec<(u64, u64, bool)> = Vec::new();
        let (first, last) = self.span(off, end);
        for (k, v) in self.blocks.range(first, last) {
            let unwritten = matches!(v, Block::Unwritten);
            let start = k * self.block;
            match out.last_mut() {
                Some(e) if e.0 + e.1 == start && e.2 == unwritten => e.1 += self.block,
                _ => out.push((start, self.block, unwritten)),
            }
        }
        out
    }
}
