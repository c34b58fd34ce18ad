//! The page cache: frames holding pages of files, keyed by the file's identity
//! ([`FileKey`]) and page offset, shared by every mapping of the same file page.
//!
//! # Design
//!
//! - **Who maps what.** A `MAP_SHARED` file mapping maps the cached frame itself, so all
//!   mappers see each other's stores at once. A `MAP_PRIVATE` file mapping maps the cached
//!   frame read-only and copies it on the first write (the cache's own reference keeps the
//!   refcount above one, which is what makes the ordinary copy-on-write rule apply). Sources
//!   without a key (devices) are not cached: their pages are private frames as before.
//! - **Lifetime.** The cache holds one reference to each of its frames; page-table entries
//!   hold the others. When the last mapping lets go (`Frames::put` brings the count back to
//!   one) the page is written back if dirty and freed. The cache is therefore not a read
//!   cache for `read(2)`: it holds exactly the file pages some mapping maps, which also
//!   keeps identities safe (a cached file is kept open by a mapping).
//! - **Dirty tracking.** A clean cached page is host-mapped without `PROT_WRITE` in shared
//!   mappings; the first store faults, marks it dirty and maps it writable. Writing a page
//!   back ([`Mm::sync_file`](crate::Mm::sync_file)) marks it clean and write-protects it in
//!   every space again, so a later store is seen.
//! - **Coherence with `read(2)`/`write(2)`.** The kernel is single-threaded, so it suffices
//!   to be coherent at every syscall boundary: before a file is read (or written, or
//!   truncated) its dirty pages are written back ([`Mm::sync_file`](crate::Mm::sync_file));
//!   after it is written or truncated its cached pages are re-read and pages past the new end
//!   are removed from every mapping and from the cache
//!   ([`Mm::file_changed`](crate::Mm::file_changed)), so touching them again is `SIGBUS`.
//! - **Write-back** happens on `msync` (`MS_SYNC` and `MS_ASYNC` alike), `fsync`, before
//!   the file is read, written or truncated through a descriptor, and when the last mapping
//!   of a dirty page goes (`munmap`, `MADV_DONTNEED`, exit, exec). A file's writer is a
//!   descriptor opened for writing: in overlay mode that is the copied-up in-memory file
//!   (`open(O_RDWR)` copies up), so host files are never written; with `--rw` it is the host
//!   file.
//! - **Accounting.** Each cached frame counts once as `extra` against `--mem` (it is held
//!   by uncharged memory); entries that map a cached frame never carry the `extra` bit (a
//!   private copy of one does, in an uncharged VMA).
//! - **Known limit.** The key tells a copied-up overlay file from its lower host file, so
//!   a mapping made of the lower file before the copy-up keeps showing the lower file's
//!   pages (as Linux's overlayfs did before 4.19).
//!
//! # Invariants
//!
//! - A frame is in the cache at most once, with refcount >= 1 (the cache's own reference).
//! - A dirty page has a writer (the source of a writable shared mapping of its file).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::frames::{Frame, Frames};
use crate::pagetable::Pte;
use crate::space::AddressSpace;
use crate::vma::{Backing, Vma};
use crate::{Errno, MmId, MmOp, PageSource, UserAddr, PAGE_SIZE};

/// The identity of a file whose pages can be cached: `(st_dev, st_ino)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileKey {
    /// Device.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

/// A file's reader or writer.
type Source = Arc<dyn PageSource>;

#[derive(Clone, Copy)]
struct CachedPage {
    frame: Frame,
    dirty: bool,
}

struct CachedFile {
    pages: BTreeMap<u64, CachedPage>,
    /// How many of `pages` are dirty.
    dirty: usize,
    /// Where pages are read again after the file changed (the source of the first
    /// mapping that cached a page).
    reader: Source,
    /// Where dirty pages are written back (set by the first store through a shared mapping).
    writer: Option<Source>,
}

/// File pages held in frames (see the module docs).
#[derive(Default)]
pub struct PageCache {
    files: HashMap<FileKey, CachedFile>,
    owner: HashMap<Frame, (FileKey, u64)>,
}

impl PageCache {
    /// Whether no page is cached.
    pub fn is_empty(&self) -> bool {
        self.owner.is_empty()
    }

    /// Number of cached pages.
    pub fn len(&self) -> usize {
        self.owner.len()
    }

    /// The frame caching page `pgoff` of `key`.
    pub fn lookup(&self, key: FileKey, pgoff: u64) -> Option<Frame> {
        self.files.get(&key)?.pages.get(&pgoff).map(|p| p.frame)
    }

    /// Every cached frame with whether it is dirty, in frame order.
    pub fn frames(&self) -> Vec<(Frame, bool)> {
        let mut v: Vec<(Frame, bool)> = self
            .owner
            .keys()
            .map(|&f| (f, self.dirty(f).unwrap_or(false)))
            .collect();
        v.sort_unstable_by_key(|(f, _)| f.0);
        v
    }

    /// `Some(dirty)` if `f` is a cached frame.
    pub fn dirty(&self, f: Frame) -> Option<bool> {
        let (k, off) = self.owner.get(&f)?;
        self.files.get(k)?.pages.get(off).map(|p| p.dirty)
    }

    /// Whether `f` is a cached frame.
    pub fn contains(&self, f: Frame) -> bool {
        self.owner.contains_key(&f)
    }

    /// Whether `key` has cached pages.
    pub fn has_file(&self, key: FileKey) -> bool {
        self.files.contains_key(&key)
    }

    /// Whether `key` has dirty pages.
    pub fn has_dirty(&self, key: FileKey) -> bool {
        self.files.get(&key).is_some_and(|f| f.dirty > 0)
    }

    /// Cached `(page offset, frame)` of `key` in `[lo, hi)`.
    pub fn pages(&self, key: FileKey, lo: u64, hi: u64) -> Vec<(u64, Frame)> {
        self.files.get(&key).map_or_else(Vec::new, |f| {
            f.pages.range(lo..hi).map(|(&o, p)| (o, p.frame)).collect()
        })
    }

    fn insert(&mut self, key: FileKey, pgoff: u64, frame: Frame, src: &Source) {
        let file = self.files.entry(key).or_insert_with(|| CachedFile {
            pages: BTreeMap::new(),
            dirty: 0,
            reader: src.clone(),
            writer: None,
        });
        file.pages.insert(
            pgoff,
            CachedPage {
                frame,
                dirty: false,
            },
        );
        self.owner.insert(frame, (key, pgoff));
    }

    /// Removes frame `f`: its page offset, state and the file's writer.
    fn remove(&mut self, f: Frame) -> Option<(u64, CachedPage, Option<Source>)> {
        let (key, pgoff) = self.owner.remove(&f)?;
        let file = self.files.get_mut(&key)?;
        let page = file.pages.remove(&pgoff)?;
        file.dirty -= usize::from(page.dirty);
        let writer = file.writer.clone();
        if file.pages.is_empty() {
            self.files.remove(&key);
        }
        Some((pgoff, page, writer))
    }

    /// Marks cached frame `f` dirty; `writer` is where it will be written back.
    fn mark_dirty(&mut self, f: Frame, writer: &Source) {
        let Some((k, off)) = self.owner.get(&f) else {
            return;
        };
        if let Some(file) = self.files.get_mut(k) {
            if let Some(p) = file.pages.get_mut(off).filter(|p| !p.dirty) {
                p.dirty = true;
                file.dirty += 1;
            }
            file.writer.get_or_insert_with(|| writer.clone());
        }
    }

    /// Dirty pages of `key` in `[lo, hi)` with the writer, marked clean.
    fn take_dirty(
        &mut self,
        key: FileKey,
        lo: u64,
        hi: u64,
    ) -> (Vec<(u64, Frame)>, Option<Source>) {
        let Some(file) = self.files.get_mut(&key) else {
            return (Vec::new(), None);
        };
        let mut out = Vec::new();
        for (&o, p) in file.pages.range_mut(lo..hi) {
            if p.dirty {
                p.dirty = false;
                out.push((o, p.frame));
            }
        }
        file.dirty -= out.len();
        (out, file.writer.clone())
    }
}

/// Writes cached page `pgoff` (in `f`) to `writer`, up to the end of the file.
fn write_page(mem: &crate::physmem::PhysMem, writer: &dyn PageSource, pgoff: u64, f: Frame) {
    let off = pgoff * PAGE_SIZE;
    let len = writer.size().saturating_sub(off).min(PAGE_SIZE);
    if len == 0 {
        return;
    }
    let mut buf = mem.bytes(f.offset(), len);
    let mut at = off;
    while !buf.is_empty() {
        match writer.write_at(at, buf) {
            Ok(n) if n > 0 => {
                buf = &buf[n.min(buf.len())..];
                at += n as u64;
            }
            Ok(_) => break,
            Err(e) => {
                tracing::warn!("page cache write-back at {at:#x}: {e}");
                break;
            }
        }
    }
}

impl Frames {
    /// Enters the freshly allocated frame `f` (refcount 1: that reference becomes the
    /// cache's), filled from `src`, as page `pgoff` of `key`, counting it as `extra`.
    pub fn cache_insert(&mut self, key: FileKey, pgoff: u64, f: Frame, src: &Source) {
        self.cache.insert(key, pgoff, f, src);
        self.add_extra(1);
    }

    /// Removes the cached frame `f` whose last mapping just went (refcount 1): written back
    /// if dirty, then freed.
    pub(crate) fn uncache(&mut self, f: Frame) {
        let Some((pgoff, page, writer)) = self.cache.remove(f) else {
            return;
        };
        if let (true, Some(w)) = (page.dirty, writer) {
            write_page(&self.mem, w.as_ref(), pgoff, f);
        }
        self.add_extra(-1);
        self.put(f);
    }

    /// Marks the cached frame `f` dirty (a store through a shared mapping of `writer`'s
    /// file).
    pub fn cache_mark_dirty(&mut self, f: Frame, writer: &Source) {
        self.cache.mark_dirty(f, writer);
    }

    /// Writes back the dirty pages of `key` in `[lo, hi)` and marks them clean; returns
    /// the frames written.
    pub fn cache_writeback(&mut self, key: FileKey, lo: u64, hi: u64) -> Vec<Frame> {
        let (pages, writer) = self.cache.take_dirty(key, lo, hi);
        let Some(w) = writer else {
            return Vec::new();
        };
        for &(pgoff, f) in &pages {
            write_page(&self.mem, w.as_ref(), pgoff, f);
        }
        pages.into_iter().map(|(_, f)| f).collect()
    }

    /// Re-reads the cached pages `[lo, hi)` of `key` from the file (after it changed
    /// underneath them); returns the frames of pages now wholly past the end of the file,
    /// which the caller unmaps everywhere and then [`cache_evict`](Frames::cache_evict)s.
    pub fn cache_refresh(&mut self, key: FileKey, lo: u64, hi: u64) -> Vec<Frame> {
        let Some(src) = self.cache.files.get(&key).map(|f| f.reader.clone()) else {
            return Vec::new();
        };
        let mut gone = Vec::new();
        for (pgoff, f) in self.cache.pages(key, lo, hi) {
            match self.fill_from(f, src.as_ref(), pgoff * PAGE_SIZE) {
                Ok(n) if n > 0 => {}
                _ => gone.push(f),
            }
        }
        gone
    }

    /// Drops the cached frame `f` from the cache without writing it back (its page is
    /// gone from the file).
    pub fn cache_evict(&mut self, f: Frame) {
        if self.cache.remove(f).is_some() {
            self.add_extra(-1);
            self.put(f);
        }
    }
}

impl crate::space::AddressSpace {
    /// For every mapping of `key` in this space, applies `f` to the entries in
    /// `[lo, hi)` (file pages) that map one of `frames`.
    fn for_file_pages(
        &mut self,
        key: FileKey,
        frames: &HashSet<Frame>,
        mut f: impl FnMut(&mut Self, &Vma, u64, Pte),
    ) {
        let vmas: Vec<Vma> = self
            .vmas
            .iter()
            .filter(|v| v.file_key() == Some(key))
            .cloned()
            .collect();
        for v in vmas {
            for (vpn, pte) in self.pt.range(v.start / PAGE_SIZE, v.end / PAGE_SIZE) {
                if frames.contains(&pte.frame) {
                    f(self, &v, vpn, pte);
                }
            }
        }
    }
}

impl crate::Mm {
    /// Whether the page cache holds no page at all (the cheap test before the hooks
    /// below).
    pub fn cache_is_empty(&self) -> bool {
        self.phys.cache.is_empty()
    }

    /// Whether the page cache holds pages of `key`.
    pub fn is_cached(&self, key: FileKey) -> bool {
        self.phys.cache.has_file(key)
    }

    /// Writes back the dirty cached pages of `key` in file pages `[lo, hi)` and
    /// write-protects them in every mapping, so the next store marks them dirty again.
    fn writeback(&mut self, key: FileKey, lo: u64, hi: u64) {
        let cleaned: HashSet<Frame> = self.phys.cache_writeback(key, lo, hi).into_iter().collect();
        if cleaned.is_empty() {
            return;
        }
        let phys = &self.phys;
        for s in self.spaces.values_mut() {
            s.for_file_pages(key, &cleaned, |s, v, vpn, mut pte| {
                let want = AddressSpace::effective_prot(v, phys, pte);
                if pte.host().is_some_and(|h| h != want) {
                    s.mmfd.write(MmOp::Mprotect {
                        addr: vpn * PAGE_SIZE,
                        len: PAGE_SIZE,
                        prot: want,
                    });
                    pte.set_host(Some(want));
                    s.pt.set(vpn, pte);
                }
            });
        }
    }

    /// Before the file `key` is read, written or truncated through a descriptor (and on
    /// `fsync`): its dirty cached pages are written to it.
    pub fn sync_file(&mut self, key: FileKey) {
        if self.phys.cache.has_dirty(key) {
            self.writeback(key, 0, u64::MAX);
        }
    }

    /// After bytes `bytes` of the file `key` were written (or a hole punched) through a
    /// descriptor: its cached pages there are read again (every mapping sees the new data),
    /// and pages now wholly past the end of the file leave every mapping and the cache
    /// (touching them is `SIGBUS`). Call [`sync_file`](Self::sync_file) before the change.
    pub fn file_changed(&mut self, key: FileKey, bytes: std::ops::Range<u64>) {
        if !self.phys.cache.has_file(key) || bytes.is_empty() {
            return;
        }
        let hi = bytes.end.div_ceil(PAGE_SIZE);
        let gone = self.phys.cache_refresh(key, bytes.start / PAGE_SIZE, hi);
        if gone.is_empty() {
            return;
        }
        let gone_set: HashSet<Frame> = gone.iter().copied().collect();
        let phys = &mut self.phys;
        for s in self.spaces.values_mut() {
            s.for_file_pages(key, &gone_set, |s, _, vpn, _| {
                s.drop_pages(phys, vpn, vpn + 1)
            });
        }
        for f in gone {
            self.phys.cache_evict(f);
        }
        self.phys.flush();
    }

    /// After the file `key` was truncated: as [`file_changed`](Self::file_changed) for the
    /// whole file, and private copies of pages now past the end leave their mappings too (as
    /// Linux's truncation zaps even copy-on-write copies), so touching them is `SIGBUS`.
    pub fn file_truncated(&mut self, key: FileKey) {
        self.file_changed(key, 0..u64::MAX);
        let phys = &mut self.phys;
        for s in self.spaces.values_mut() {
            let private: Vec<Vma> = s
                .vmas
                .iter()
                .filter(|v| !v.shared && v.file_key() == Some(key))
                .cloned()
                .collect();
            for v in private {
                let Backing::File { source, .. } = &v.backing else {
                    continue;
                };
                let (lo, hi) = (v.start / PAGE_SIZE, v.end / PAGE_SIZE);
                let eof = source.size().div_ceil(PAGE_SIZE);
                let first = lo.saturating_add(eof.saturating_sub(v.pgoff(lo)));
                if first < hi {
                    s.drop_pages(phys, first, hi);
                }
            }
        }
        phys.flush();
    }

    /// `msync(2)` of a range the caller checked is mapped: writes back the dirty pages of
    /// the shared file mappings in it.
    pub fn msync(&mut self, id: MmId, addr: UserAddr, len: u64) -> Result<(), Errno> {
        let s = self.spaces.get(&id).ok_or(Errno::ENOMEM)?;
        let end = addr.0.checked_add(len).ok_or(Errno::ENOMEM)?;
        let ranges: Vec<(FileKey, u64, u64)> = s
            .vmas
            .iter_range(addr.0, end)
            .filter(|v| v.shared)
            .filter_map(|v| {
                let (lo, hi) = (v.start.max(addr.0), v.end.min(end));
                let key = v.file_key()?;
                Some((
                    key,
                    v.pgoff(lo / PAGE_SIZE),
                    v.pgoff((hi - 1) / PAGE_SIZE) + 1,
                ))
            })
            .collect();
        for (key, lo, hi) in ranges {
            self.writeback(key, lo, hi);
        }
        Ok(())
    }

    /// `mincore(2)`: one byte per page of `[addr, addr+len)` (page aligned), 1 where the
    /// page is resident: present in the space, or a file page in the page cache. `ENOMEM`
    /// if part of the range is unmapped.
    pub fn mincore(&self, id: MmId, addr: UserAddr, len: u64) -> Result<Vec<u8>, Errno> {
        let s = self.spaces.get(&id).ok_or(Errno::ENOMEM)?;
        let end = addr.0.checked_add(len).ok_or(Errno::ENOMEM)?;
        if end > crate::layout::TASK_SIZE || !s.vmas.covered(addr.0, end) {
            return Err(Errno::ENOMEM);
        }
        let mut out = vec![0u8; (len / PAGE_SIZE) as usize];
        for v in s.vmas.iter_range(addr.0, end) {
            let (lo, hi) = (v.start.max(addr.0) / PAGE_SIZE, v.end.min(end) / PAGE_SIZE);
            for vpn in lo..hi {
                let cached = v
                    .file_key()
                    .is_some_and(|k| self.phys.cache.lookup(k, v.pgoff(vpn)).is_some());
                if cached || s.pt.get(vpn).is_some() {
                    out[(vpn - addr.0 / PAGE_SIZE) as usize] = 1;
                }
            }
        }
        Ok(out)
    }

    /// Whether some shared mapping of `key` may write to it (`VM_SHARED|VM_MAYWRITE`).
    pub fn shared_writable(&self, key: FileKey) -> bool {
        self.spaces.values().any(|s| {
            s.vmas
                .iter()
                .any(|v| v.shared && v.may_write() && v.file_key() == Some(key))
        })
    }

    /// Number of pages in the page cache.
    pub fn cached_pages(&self) -> usize {
        self.phys.cache.len()
    }
}
