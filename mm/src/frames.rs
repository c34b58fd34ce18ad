//! Frames: page-sized pieces of physical memory, their allocator, refcounts and the
//! commit accounting that makes `--mem` a hard limit.
//!
//! Allocation is O(1): a stack of free runs (freed frames, coalesced) and a bump pointer over
//! never-used frames. Runs are handed out whole where possible so that consecutive guest pages
//! get consecutive frames and one host `mmap` covers many pages.
//!
//! Invariants: a free frame reads as zero (freed frames are punched out of the memfd, which
//! also gives the memory back to the host); `committed + extra <= total` where `committed`
//! counts pages of charged (private writable) VMAs and `extra` counts frames held by pages of
//! uncharged VMAs; so a fault in a charged VMA always finds a frame.

use crate::pagecache::PageCache;
use crate::physmem::PhysMem;
use crate::{MmError, PageSource, PAGE_SIZE};

/// Index of a physical page frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame(pub u32);

impl Frame {
    /// Byte offset of the frame in physical memory (and in the memfd).
    pub fn offset(self) -> u64 {
        u64::from(self.0) * PAGE_SIZE
    }
}

/// Physical memory with its frame allocator.
pub struct Frames {
    /// The kernel's mapping of physical memory.
    pub mem: PhysMem,
    total: u32,
    bump: u32,
    free_runs: Vec<(u32, u32)>,
    pending_free: Vec<u32>,
    free_count: u64,
    refs: Vec<u32>,
    /// Per frame, the page-table entries that hold it as `extra` (a private frame of an
    /// uncharged VMA): the frame counts once in `extra` while any does.
    extra_refs: Vec<u32>,
    committed: u64,
    extra: u64,
    /// Frames below this were handed to [`PhysMem::prepare`] (bump allocation only).
    prepared: u32,
    /// File pages shared by mappings (each holds one reference to its frame).
    pub cache: PageCache,
}

/// Frames the bump allocator keeps prepared ahead of itself (4 MiB, two of the largest
/// fault-around windows), in runs of this size. Host memory held beyond what the guest uses
/// is at most twice this, above the highest point the bump pointer reached.
const PREPARE_AHEAD: u32 = 2 * crate::layout::FAULT_AROUND_MAX as u32;
/// The bump allocator starts preparing once this many frames were handed out (16 MiB).
const PREPARE_AFTER: u32 = 4096;

impl Frames {
    /// Physical memory of `pages` frames.
    pub fn new(pages: u64) -> Result<Frames, MmError> {
        let total = u32::try_from(pages).map_err(|_| MmError::InvalidSize(pages * PAGE_SIZE))?;
        let mem = PhysMem::new(pages * PAGE_SIZE)?;
        Ok(Frames {
            mem,
            total,
            bump: 0,
            free_runs: Vec::new(),
            pending_free: Vec::new(),
            free_count: u64::from(total),
            refs: vec![0; total as usize],
            extra_refs: vec![0; total as usize],
            committed: 0,
            extra: 0,
            prepared: 0,
            cache: PageCache::default(),
        })
    }

    /// Number of frames.
    pub fn total(&self) -> u64 {
        u64::from(self.total)
    }

    /// Number of free frames (including ones waiting to be returned to the host).
    pub fn free(&self) -> u64 {
        self.free_count
    }

    /// Reference count of a frame.
    pub fn refcount(&self, f: Frame) -> u32 {
        self.refs[f.0 as usize]
    }

    /// Takes another reference to an allocated frame.
    pub fn get(&mut self, f: Frame) {
        self.refs[f.0 as usize] += 1;
    }

    /// Drops a reference; the frame is freed (returned to the host at the next
    /// [`Frames::flush`]) when the last one goes. A cached frame whose last mapping goes
    /// leaves the page cache (written back if dirty) and is freed.
    pub fn put(&mut self, f: Frame) {
        let r = &mut self.refs[f.0 as usize];
        debug_assert!(*r > 0, "put of free frame {f:?}");
        *r = r.saturating_sub(1);
        if *r == 0 {
            self.pending_free.push(f.0);
        } else if *r == 1 && self.cache.contains(f) {
            self.uncache(f);
        }
    }

    /// Returns pending freed frames to the host and to the free runs.
    pub fn flush(&mut self) {
        if self.pending_free.is_empty() {
            return;
        }
        let mut v = std::mem::take(&mut self.pending_free);
        v.sort_unstable();
        let mut i = 0;
        while i < v.len() {
            let start = v[i];
            let mut n = 1u32;
            while i + (n as usize) < v.len() && v[i + n as usize] == start + n {
                n += 1;
            }
            i += n as usize;
            self.mem
                .release(Frame(start).offset(), u64::from(n) * PAGE_SIZE);
            self.free_count += u64::from(n);
            // Coalesce with the top run when adjacent.
            match self.free_runs.last_mut() {
                Some((s, l)) if *s + *l == start => *l += n,
                Some((s, l)) if start + n == *s => {
                    *s = start;
                    *l += n
                }
                _ => self.free_runs.push((start, n)),
            }
        }
        // Give the bump region back what sits right below it (punched: to prepare again).
        while let Some(&(s, l)) = self.free_runs.last() {
            if s + l == self.bump {
                self.bump = s;
                self.free_runs.pop();
            } else {
                break;
            }
        }
        self.prepared = self.prepared.min(self.bump);
        self.pending_free = v;
        self.pending_free.clear();
    }

    /// Allocates up to `max` (>= 1) contiguous zeroed frames, each with refcount 1.
    pub fn alloc_run(&mut self, max: u32) -> Option<(Frame, u32)> {
        if max == 0 {
            return None;
        }
        if self.free_runs.is_empty() && !self.pending_free.is_empty() {
            self.flush();
        }
        let (start, n) = if let Some(run) = self.free_runs.last_mut() {
            let n = run.1.min(max);
            let start = run.0;
            run.0 += n;
            run.1 -= n;
            if run.1 == 0 {
                self.free_runs.pop();
            }
            (start, n)
        } else if self.bump < self.total {
            let n = (self.total - self.bump).min(max);
            let start = self.bump;
            self.bump += n;
            self.prepare_ahead();
            (start, n)
        } else {
            return None;
        };
        for r in &mut self.refs[start as usize..(start + n) as usize] {
            *r = 1;
        }
        self.free_count -= u64::from(n);
        Some((Frame(start), n))
    }

    /// Keeps the next [`PREPARE_AHEAD`] to 2 × [`PREPARE_AHEAD`] frames past the bump
    /// pointer prepared by the host in the background.
    /// Not before [`PREPARE_AFTER`] frames are in use: a small program would only pay for
    /// pages it never touches.
    fn prepare_ahead(&mut self) {
        if self.bump < PREPARE_AFTER {
            return;
        }
        self.prepared = self.prepared.max(self.bump);
        while self.prepared < self.total && self.prepared < self.bump + PREPARE_AHEAD {
            let n = PREPARE_AHEAD.min(self.total - self.prepared);
            self.mem
                .prepare(Frame(self.prepared).offset(), u64::from(n) * PAGE_SIZE);
            self.prepared += n;
        }
    }

    /// Whether `n` more frames can be allocated now; `charged` says whether they are
    /// covered by a commit charge (else they count as `extra`).
    pub fn can_alloc(&self, n: u64, charged: bool) -> bool {
        self.free_count >= n && (charged || self.committed + self.extra + n <= self.total())
    }

    /// Charges `pages` of commit; false (nothing charged) if it would exceed memory.
    pub fn try_charge(&mut self, pages: u64) -> bool {
        match self.committed.checked_add(pages) {
            Some(c) if c + self.extra <= self.total() => {
                self.committed = c;
                true
            }
            _ => false,
        }
    }

    /// Whether a net change of `delta` pages of commit + extra would fit.
    pub fn fits(&self, delta: i64) -> bool {
        let now = (self.committed + self.extra) as i64;
        now + delta <= self.total() as i64
    }

    /// Releases `pages` of commit.
    pub fn uncharge(&mut self, pages: u64) {
        debug_assert!(self.committed >= pages);
        self.committed = self.committed.saturating_sub(pages);
    }

    /// A page-table entry now holds `f` as `extra`: the frame counts in `extra` from the
    /// first such entry on (entries shared since a fork count it once).
    pub fn extra_get(&mut self, f: Frame) {
        let r = &mut self.extra_refs[f.0 as usize];
        *r += 1;
        if *r == 1 {
            self.extra += 1;
        }
    }

    /// An entry no longer holds `f` as `extra`: the frame stops counting after the last.
    pub fn extra_put(&mut self, f: Frame) {
        let r = &mut self.extra_refs[f.0 as usize];
        debug_assert!(*r > 0, "extra_put of {f:?}");
        *r = r.saturating_sub(1);
        if *r == 0 {
            self.extra = self.extra.saturating_sub(1);
        }
    }

    /// Adjusts the count of frames held by uncharged VMAs (page-cache and kernel frames,
    /// which no entry holds as `extra`).
    pub fn add_extra(&mut self, n: i64) {
        self.extra = (self.extra as i64 + n).max(0) as u64;
    }

    /// Pages currently committed.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// Fills frame `f` from `src` at `offset`; the part past EOF is zeroed. Returns the
    /// number of bytes read from the file (0: the page is entirely beyond EOF).
    pub fn fill_from(
        &mut self,
        f: Frame,
        src: &dyn PageSource,
        offset: u64,
    ) -> std::io::Result<usize> {
        self.fill_run_from(f, 1, src, offset)
    }

    /// Fills the `pages` contiguous frames starting at `f` from `src` at `offset` with as
    /// few reads as the source allows, zeroing what lies past its end; returns the bytes
    /// read.
    pub fn fill_run_from(
        &mut self,
        f: Frame,
        pages: u32,
        src: &dyn PageSource,
        offset: u64,
    ) -> std::io::Result<usize> {
        let buf = self.mem.bytes_mut(f.offset(), u64::from(pages) * PAGE_SIZE);
        let mut filled = 0;
        while filled < buf.len() {
            let n = src.read_at(offset + filled as u64, &mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n.min(buf.len() - filled);
        }
        buf[filled..].fill(0);
        Ok(filled)
    }

    /// Copies frame `src` into frame `dst`.
    pub fn copy_frame(&mut self, src: Frame, dst: Frame) {
        self.mem.copy(src.offset(), dst.offset(), PAGE_SIZE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_contiguous_and_reused() {
        let mut f = Frames::new(256).expect("frames");
        let (a, n) = f.alloc_run(64).expect("run");
        assert_eq!((a, n), (Frame(0), 64));
        let (b, _) = f.alloc_run(64).expect("run");
        assert_eq!(b, Frame(64));
        f.mem.bytes_mut(a.offset(), 1)[0] = 7;
        for i in 0..64 {
            f.put(Frame(i));
        }
        f.flush();
        assert_eq!(f.free(), 256 - 64);
        let (c, n) = f.alloc_run(100).expect("run");
        assert_eq!((c, n), (Frame(0), 64));
        assert_eq!(f.mem.bytes(c.offset(), 1)[0], 0, "freed frame reads zero");
        assert_eq!(f.alloc_run(1000).expect("bump").1, 128);
        assert!(f.alloc_run(1).is_none());
    }

    #[test]
    fn freeing_top_returns_to_bump() {
        let mut f = Frames::new(16).expect("frames");
        let (a, n) = f.alloc_run(8).expect("run");
        for i in 0..n {
            f.put(Frame(a.0 + i));
        }
        f.flush();
        assert_eq!(f.free(), 16);
        assert_eq!(f.alloc_run(16).expect("run"), (Frame(0), 16));
    }
}
