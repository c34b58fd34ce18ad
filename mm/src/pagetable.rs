//! The page table of one address space: guest page number → [`Pte`], as a two-level radix
//! (a `BTreeMap` of 512-entry leaves), so lookups are O(log leaves) and range walks visit
//! only populated leaves.

use std::collections::BTreeMap;

use crate::frames::Frame;

const LEAF_BITS: u32 = 9;
const LEAF: usize = 1 << LEAF_BITS;
const NO_FRAME: u32 = u32::MAX;

const HOST_MAPPED: u8 = 0x80;
const EXTRA: u8 = 0x40;
const UFFD_WP: u8 = 0x20;
const PROT_MASK: u8 = 0x7;

/// A page-table entry: the frame backing a guest page, and how the page is mapped in the
/// host stub right now (after the queued ops are applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pte {
    /// Backing frame.
    pub frame: Frame,
    bits: u8,
}

impl Pte {
    /// A page with frame `frame`, not yet host-mapped.
    pub fn new(frame: Frame, extra: bool) -> Pte {
        Pte {
            frame,
            bits: if extra { EXTRA } else { 0 },
        }
    }
    /// Host protection (`PROT_*` bits) if the page is host-mapped.
    pub fn host(self) -> Option<u32> {
        (self.bits & HOST_MAPPED != 0).then_some(u32::from(self.bits & PROT_MASK))
    }
    /// Records the host mapping state.
    pub fn set_host(&mut self, prot: Option<u32>) {
        self.bits &= EXTRA | UFFD_WP;
        if let Some(p) = prot {
            self.bits |= HOST_MAPPED | (p as u8 & PROT_MASK);
        }
    }
    /// Whether a userfaultfd write-protected it (`UFFDIO_WRITEPROTECT`): a store is the
    /// context's fault, and the host maps it read-only.
    pub fn uffd_wp(self) -> bool {
        self.bits & UFFD_WP != 0
    }
    /// Sets or clears the userfaultfd write protection.
    pub fn set_uffd_wp(&mut self, wp: bool) {
        if wp {
            self.bits |= UFFD_WP
        } else {
            self.bits &= !UFFD_WP
        }
    }
    /// Whether the frame is counted as `extra` (held by an uncharged VMA).
    pub fn extra(self) -> bool {
        self.bits & EXTRA != 0
    }
    /// Sets the `extra` accounting bit.
    pub fn set_extra(&mut self, e: bool) {
        if e {
            self.bits |= EXTRA
        } else {
            self.bits &= !EXTRA
        }
    }
}

struct Leaf {
    frames: [u32; LEAF],
    bits: [u8; LEAF],
    count: u16,
}

/// Guest page number → [`Pte`].
#[derive(Default)]
pub struct PageTable {
    leaves: BTreeMap<u64, Box<Leaf>>,
    len: usize,
    /// The most entries it has had at once (Linux's `hiwater_rss`).
    peak: usize,
}

fn split(vpn: u64) -> (u64, usize) {
    (vpn >> LEAF_BITS, (vpn as usize) & (LEAF - 1))
}

impl PageTable {
    /// Number of present entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The most entries present at once since the table was made.
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry for page `vpn`.
    pub fn get(&self, vpn: u64) -> Option<Pte> {
        let (k, i) = split(vpn);
        let leaf = self.leaves.get(&k)?;
        (leaf.frames[i] != NO_FRAME).then(|| Pte {
            frame: Frame(leaf.frames[i]),
            bits: leaf.bits[i],
        })
    }

    /// Sets the entry for `vpn`, returning the old one.
    pub fn set(&mut self, vpn: u64, pte: Pte) -> Option<Pte> {
        let (k, i) = split(vpn);
        let leaf = self.leaves.entry(k).or_insert_with(|| {
            Box::new(Leaf {
                frames: [NO_FRAME; LEAF],
                bits: [0; LEAF],
                count: 0,
            })
        });
        let old = (leaf.frames[i] != NO_FRAME).then(|| Pte {
            frame: Frame(leaf.frames[i]),
            bits: leaf.bits[i],
        });
        if old.is_none() {
            leaf.count += 1;
            self.len += 1;
            self.peak = self.peak.max(self.len);
        }
        leaf.frames[i] = pte.frame.0;
        leaf.bits[i] = pte.bits;
        old
    }

    /// Removes the entry for `vpn`.
    pub fn remove(&mut self, vpn: u64) -> Option<Pte> {
        let (k, i) = split(vpn);
        let leaf = self.leaves.get_mut(&k)?;
        if leaf.frames[i] == NO_FRAME {
            return None;
        }
        let old = Pte {
            frame: Frame(leaf.frames[i]),
            bits: leaf.bits[i],
        };
        leaf.frames[i] = NO_FRAME;
        leaf.bits[i] = 0;
        leaf.count -= 1;
        self.len -= 1;
        if leaf.count == 0 {
            self.leaves.remove(&k);
        }
        Some(old)
    }

    /// Present entries with `lo <= vpn < hi`, in order.
    pub fn range(&self, lo: u64, hi: u64) -> Vec<(u64, Pte)> {
        let mut out = Vec::new();
        if lo >= hi {
            return out;
        }
        for (&k, leaf) in self.leaves.range(lo >> LEAF_BITS..=(hi - 1) >> LEAF_BITS) {
            let base = k << LEAF_BITS;
            for i in 0..LEAF {
                let vpn = base + i as u64;
                if vpn >= lo && vpn < hi && leaf.frames[i] != NO_FRAME {
                    out.push((
                        vpn,
                        Pte {
                            frame: Frame(leaf.frames[i]),
                            bits: leaf.bits[i],
                        },
                    ));
                }
            }
        }
        out
    }

    /// All present entries, in order.
    pub fn all(&self) -> Vec<(u64, Pte)> {
        self.range(0, u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove_range() {
        let mut pt = PageTable::default();
        let mut p = Pte::new(Frame(5), false);
        p.set_host(Some(3));
        assert!(pt.set(1000, p).is_none());
        pt.set(1001, Pte::new(Frame(6), true));
        pt.set(5000, Pte::new(Frame(7), false));
        assert_eq!(pt.get(1000).map(|p| p.host()), Some(Some(3)));
        assert_eq!(
            pt.get(1001).map(|p| (p.host(), p.extra())),
            Some((None, true))
        );
        assert_eq!(pt.range(1001, 5001).len(), 2);
        assert_eq!(pt.remove(1000).map(|p| p.frame), Some(Frame(5)));
        assert!(pt.get(1000).is_none());
        assert_eq!(pt.len(), 2);
        assert_eq!(pt.all().len(), 2);
    }
}
