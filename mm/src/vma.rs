//! Virtual memory areas: the guest-visible mappings of one address space, as a tree of
//! disjoint, page-aligned `[start, end)` ranges keyed by start.

use std::collections::BTreeMap;
use std::sync::Arc;

use abi::flags::Prot;

use crate::special::SpecialPages;
use crate::{PageSource, PAGE_SIZE};

/// What backs a VMA's pages.
#[derive(Clone)]
pub enum Backing {
    /// Zero-filled anonymous memory.
    Anon,
    /// A private mapping of a file; `offset` is the file offset of the VMA's start.
    File {
        /// The file.
        source: Arc<dyn PageSource>,
        /// File offset of `Vma::start`.
        offset: u64,
    },
    /// Frames the kernel provides ([`crate::special`]); `index` is the page of `pages` at
    /// `Vma::start`.
    Special {
        /// The frames.
        pages: Arc<SpecialPages>,
        /// Page of `pages` at `Vma::start`.
        index: u64,
    },
}

impl std::fmt::Debug for Backing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backing::Anon => write!(f, "Anon"),
            Backing::File { offset, .. } => write!(f, "File@{offset:#x}"),
            Backing::Special { pages, index } => write!(f, "{}@{index}", pages.name()),
        }
    }
}

/// One mapping.
#[derive(Clone, Debug)]
pub struct Vma {
    /// First address (page aligned).
    pub start: u64,
    /// End address (exclusive, page aligned).
    pub end: u64,
    /// Protection (`READ|WRITE|EXEC` only).
    pub prot: Prot,
    /// `MAP_SHARED`: frames are never copied on write (file pages come from the page
    /// cache).
    pub shared: bool,
    /// `MAP_NORESERVE`: not charged against the commit limit.
    pub noreserve: bool,
    /// Sealed by `mseal(2)`: it can no longer be unmapped, moved, resized, mapped over or
    /// have its protection changed (`EPERM`), nor, if it is read-only private anonymous
    /// memory, be discarded by `madvise`.
    pub sealed: bool,
    /// Locked in memory (`VM_LOCKED`: `mlock`, `MAP_LOCKED`, `mlockall`): counted in
    /// `VmLck`, its pages populated (unless locked on fault), never discarded by `madvise`.
    pub locked: bool,
    /// `MAP_GROWSDOWN` (`VM_GROWSDOWN`): a fault below it, far enough above the mapping
    /// under it, extends it down (see `AddressSpace::grow_down`).
    pub growsdown: bool,
    /// `VM_MAYWRITE` cleared for a mapping that is not shared: a shared mapping of a
    /// device opened read-only, which uml maps privately (it can never be made writable).
    pub no_maywrite: bool,
    /// Registered with a userfaultfd (`UFFDIO_REGISTER`): its faults go to that context.
    pub uffd: Option<crate::userfault::Registration>,
    /// Backing store.
    pub backing: Backing,
}

impl Vma {
    /// Length in pages.
    pub fn pages(&self) -> u64 {
        (self.end - self.start) / PAGE_SIZE
    }

    /// Whether this VMA's pages are charged against the commit limit: writable memory that
    /// is ours alone to provide (private writable, or shared anonymous writable).
    pub fn charged(&self) -> bool {
        charged_with(self, self.prot)
    }

    /// Whether the guest may read it (on x86 any of R/W/X implies read).
    pub fn readable(&self) -> bool {
        !self.prot.is_empty()
    }

    /// Whether the guest may write it.
    pub fn writable(&self) -> bool {
        self.prot.contains(Prot::WRITE)
    }

    /// The page-cache identity of the mapped file, if its pages are cached.
    pub fn file_key(&self) -> Option<crate::FileKey> {
        match &self.backing {
            Backing::File { source, .. } => source.key(),
            Backing::Anon | Backing::Special { .. } => None,
        }
    }

    /// The file page offset of guest page `vpn` (inside a file mapping).
    pub fn pgoff(&self, vpn: u64) -> u64 {
        match &self.backing {
            Backing::File { offset, .. } => (offset + (vpn * PAGE_SIZE - self.start)) / PAGE_SIZE,
            Backing::Anon | Backing::Special { .. } => 0,
        }
    }

    /// Whether it may be made writable (`VM_MAYWRITE`): not for a shared mapping of a file
    /// opened read-only.
    pub fn may_write(&self) -> bool {
        if self.no_maywrite {
            return false;
        }
        match &self.backing {
            Backing::File { source, .. } if self.shared => source.writable(),
            _ => true,
        }
    }

    /// Splits at `at` (strictly inside): `self` keeps `[start, at)`, returns `[at, end)`.
    pub fn split_off(&mut self, at: u64) -> Vma {
        debug_assert!(self.start < at && at < self.end);
        let mut hi = self.clone();
        hi.start = at;
        match &mut hi.backing {
            Backing::File { offset, .. } => *offset += at - self.start,
            Backing::Special { index, .. } => *index += (at - self.start) / PAGE_SIZE,
            Backing::Anon => {}
        }
        self.end = at;
        hi
    }

    /// Whether `next` (starting at `self.end`) can be merged into `self`.
    pub fn can_merge(&self, next: &Vma) -> bool {
        if self.end != next.start
            || self.prot != next.prot
            || self.shared != next.shared
            || self.noreserve != next.noreserve
            || self.sealed != next.sealed
            || self.locked != next.locked
            || self.growsdown != next.growsdown
            || self.no_maywrite != next.no_maywrite
            || self.uffd != next.uffd
        {
            return false;
        }
        match (&self.backing, &next.backing) {
            (Backing::Anon, Backing::Anon) => true,
            (
                Backing::File {
                    source: a,
                    offset: oa,
                },
                Backing::File {
                    source: b,
                    offset: ob,
                },
            ) => Arc::ptr_eq(a, b) && oa + (self.end - self.start) == *ob,
            _ => false,
        }
    }
}

/// Whether `vma` would be charged with protection `prot`.
pub fn charged_with(vma: &Vma, prot: Prot) -> bool {
    prot.contains(Prot::WRITE)
        && !vma.noreserve
        && (!vma.shared || matches!(vma.backing, Backing::Anon))
}

/// The VMAs of one address space.
#[derive(Default, Clone)]
pub struct VmaTree {
    map: BTreeMap<u64, Vma>,
}

impl VmaTree {
    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.map
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| addr < v.end)
    }

    /// Whether any VMA intersects `[start, end)`.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.iter_range(start, end).next().is_some()
    }

    /// `EPERM` if a sealed VMA intersects `[start, end)` (Linux's `can_modify_mm`).
    pub fn check_unsealed(&self, start: u64, end: u64) -> Result<(), abi::Errno> {
        if self.iter_range(start, end).any(|v| v.sealed) {
            return Err(abi::Errno::EPERM);
        }
        Ok(())
    }

    /// VMAs intersecting `[start, end)`, in order.
    pub fn iter_range(&self, start: u64, end: u64) -> impl Iterator<Item = &Vma> {
        let first = self
            .map
            .range(..=start)
            .next_back()
            .filter(|(_, v)| v.end > start)
            .map(|(&k, _)| k)
            .unwrap_or(start);
        self.map
            .range(first..end.max(first))
            .map(|(_, v)| v)
            .filter(move |v| v.end > start && v.start < end)
    }

    /// All VMAs in order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }

    /// Whether `[start, end)` is entirely covered by VMAs.
    pub fn covered(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for v in self.iter_range(start, end) {
            if v.start > at {
                return false;
            }
            at = v.end;
        }
        at >= end
    }

    /// Makes `addr` a VMA boundary if a VMA straddles it.
    pub fn split_at(&mut self, addr: u64) {
        let key = match self.map.range(..addr).next_back() {
            Some((&k, v)) if v.end > addr => k,
            _ => return,
        };
        if let Some(v) = self.map.get_mut(&key) {
            let hi = v.split_off(addr);
            self.map.insert(addr, hi);
        }
    }

    /// Removes `[start, end)` from the tree (splitting at the edges) and returns the removed
    /// pieces.
    pub fn remove_range(&mut self, start: u64, end: u64) -> Vec<Vma> {
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.map.range(start..end).map(|(&k, _)| k).collect();
        keys.into_iter()
            .filter_map(|k| self.map.remove(&k))
            .collect()
    }

    /// Applies `f` to every VMA inside `[start, end)` after splitting at the edges.
    pub fn for_each_in_mut(&mut self, start: u64, end: u64, mut f: impl FnMut(&mut Vma)) {
        self.split_at(start);
        self.split_at(end);
        for (_, v) in self.map.range_mut(start..end) {
            f(v);
        }
    }

    /// Inserts a VMA (the range must be free).
    pub fn insert(&mut self, vma: Vma) {
        debug_assert!(!self.overlaps(vma.start, vma.end));
        self.map.insert(vma.start, vma);
    }

    /// Merges the VMAs meeting at `addr` if they are compatible.
    pub fn merge_at(&mut self, addr: u64) {
        let Some(next) = self.map.get(&addr) else {
            return;
        };
        let Some((&pk, prev)) = self.map.range(..addr).next_back() else {
            return;
        };
        if prev.can_merge(next) {
            let end = next.end;
            self.map.remove(&addr);
            if let Some(p) = self.map.get_mut(&pk) {
                p.end = end;
            }
        }
    }

    /// Merges compatible neighbours at every boundary within `[start, end]`.
    pub fn merge_range(&mut self, start: u64, end: u64) {
        let keys: Vec<u64> = self.map.range(start..=end).map(|(&k, _)| k).collect();
        for k in keys {
            self.merge_at(k);
        }
        if let Some(v) = self.find(end) {
            let s = v.start;
            self.merge_at(s);
        }
    }

    /// Highest `len`-byte free gap within `[lo, hi)`.
    pub fn find_gap_topdown(&self, lo: u64, hi: u64, len: u64) -> Option<u64> {
        if hi < lo || hi - lo < len {
            return None;
        }
        let mut top = hi;
        for v in self.map.range(..hi).rev() {
            let v = v.1;
            if v.end <= top && top - v.end >= len && top - len >= lo {
                return Some(top - len);
            }
            top = top.min(v.start);
            if top < lo || top - lo < len {
                return None;
            }
        }
        (top >= lo && top - lo >= len).then(|| top - len)
    }

    /// Number of VMAs.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(start: u64, end: u64, prot: Prot) -> Vma {
        Vma {
            start,
            end,
            prot,
            shared: false,
            noreserve: false,
            sealed: false,
            locked: false,
            growsdown: false,
            no_maywrite: false,
            uffd: None,
            backing: Backing::Anon,
        }
    }

    #[test]
    fn split_merge_gap() {
        let mut t = VmaTree::default();
        t.insert(anon(0x10000, 0x20000, Prot::READ));
        t.insert(anon(0x30000, 0x40000, Prot::READ));
        assert!(t.covered(0x10000, 0x20000));
        assert!(!t.covered(0x10000, 0x30000));
        assert_eq!(t.find(0x1ffff).map(|v| v.start), Some(0x10000));
        assert!(t.find(0x20000).is_none());
        t.split_at(0x18000);
        assert_eq!(t.len(), 3);
        t.merge_at(0x18000);
        assert_eq!(t.len(), 2);
        assert_eq!(t.find_gap_topdown(0x10000, 0x50000, 0x10000), Some(0x40000));
        assert_eq!(t.find_gap_topdown(0x10000, 0x40000, 0x10000), Some(0x20000));
        assert_eq!(t.find_gap_topdown(0x10000, 0x40000, 0x20000), None);
        assert_eq!(t.iter_range(0x1f000, 0x31000).count(), 2);
        let removed = t.remove_range(0x18000, 0x38000);
        assert_eq!(removed.len(), 2);
        assert_eq!(t.len(), 2);
        assert!(t.covered(0x10000, 0x18000) && t.covered(0x38000, 0x40000));
    }
}
