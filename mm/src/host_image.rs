//! What the one host process of `--mm single` maps in its guest range, as runs of pages
//! ([`HostImage`]), so that a switch to another space issues only the difference between
//! what is mapped and what the target needs.
//!
//! Invariant: the runs are sorted by address and do not overlap. The image is a model of
//! the host: it changes only by the ops the runner is sent ([`HostImage::apply`]), and a
//! switch replaces it by the target's image once the ops of [`HostImage::switch_to`] are
//! sent.

use crate::frames::{Frame, Frames};
use crate::procmm::MmFd;
use crate::space::AddressSpace;
use crate::{MmOp, PAGE_SIZE};

/// `pages` pages from virtual page `start`, mapping physical memory from byte `offset`
/// with `prot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    start: u64,
    pages: u64,
    prot: u32,
    offset: u64,
}

impl Run {
    fn end(&self) -> u64 {
        self.start + self.pages
    }

    /// The part of the run in `[lo, hi)` (which overlaps it).
    fn slice(&self, lo: u64, hi: u64) -> Run {
        let start = self.start.max(lo);
        Run {
            start,
            pages: self.end().min(hi) - start,
            prot: self.prot,
            offset: self.offset + (start - self.start) * PAGE_SIZE,
        }
    }

    /// Whether page `vpn` (inside both runs) maps the same memory the same way in both.
    fn same_at(&self, other: &Run, vpn: u64) -> bool {
        self.prot == other.prot
            && self.offset + (vpn - self.start) * PAGE_SIZE
                == other.offset + (vpn - other.start) * PAGE_SIZE
    }

    /// Page `vpn` alone, mapping `frame` with this run's protection.
    fn with_frame(&self, vpn: u64, frame: Frame) -> Run {
        Run {
            start: vpn,
            pages: 1,
            prot: self.prot,
            offset: frame.offset(),
        }
    }

    fn map(&self, out: &mut MmFd) {
        out.write(MmOp::Mmap {
            addr: self.start * PAGE_SIZE,
            len: self.pages * PAGE_SIZE,
            prot: self.prot,
            offset: self.offset,
        });
    }
}

/// The pages a host process maps below `TASK_SIZE`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostImage {
    runs: Vec<Run>,
}

impl HostImage {
    /// What `space` needs host-mapped: every page its page table says is, in runs of
    /// contiguous physical memory.
    pub fn of_space(space: &AddressSpace) -> HostImage {
        let mut runs: Vec<Run> = Vec::new();
        for (vpn, pte) in space.pt.all() {
            let Some(prot) = pte.host() else { continue };
            let offset = pte.frame.offset();
            if let Some(last) = runs.last_mut() {
                if last.end() == vpn
                    && last.prot == prot
                    && last.offset + last.pages * PAGE_SIZE == offset
                {
                    last.pages += 1;
                    continue;
                }
            }
            runs.push(Run {
                start: vpn,
                pages: 1,
                prot,
                offset,
            });
        }
        HostImage { runs }
    }

    /// Marks host-mapped in `space` the pages this image already maps as `space` would
    /// map them on a fault (its frame at that address, with the protection the page's VMA
    /// and sharing give it), so that a switch to `space` keeps them instead of unmapping
    /// them or leaving them to fault. Pages two spaces fault in separately (text after a
    /// fork, say) are then mapped once for both.
    pub fn lend_to(&self, space: &mut AddressSpace, phys: &Frames) {
        for run in &self.runs {
            for (vpn, mut pte) in space.pt.range(run.start, run.end()) {
                if pte.host().is_some() || !run.same_at(&run.with_frame(vpn, pte.frame), vpn) {
                    continue;
                }
                let Some(vma) = space.vmas.find(vpn * PAGE_SIZE) else {
                    continue;
                };
                if AddressSpace::effective_prot(vma, phys, pte) == run.prot {
                    pte.set_host(Some(run.prot));
                    space.pt.set(vpn, pte);
                }
            }
        }
    }

    /// Pages mapped.
    pub fn pages(&self) -> u64 {
        self.runs.iter().map(|r| r.pages).sum()
    }

    /// Follows an op the runner is sent.
    pub fn apply(&mut self, op: &MmOp) {
        match *op {
            MmOp::Mmap {
                addr,
                len,
                prot,
                offset,
            } => {
                let (lo, hi) = pages_of(addr, len);
                let at = self.carve(lo, hi);
                if hi > lo {
                    self.runs.insert(
                        at,
                        Run {
                            start: lo,
                            pages: hi - lo,
                            prot,
                            offset,
                        },
                    );
                }
            }
            MmOp::Munmap { addr, len } => {
                let (lo, hi) = pages_of(addr, len);
                self.carve(lo, hi);
            }
            MmOp::Mprotect { addr, len, prot } => {
                let (lo, hi) = pages_of(addr, len);
                self.split_at(lo);
                self.split_at(hi);
                for r in self
                    .runs
                    .iter_mut()
                    .filter(|r| r.start >= lo && r.end() <= hi)
                {
                    r.prot = prot;
                }
            }
            MmOp::CopySegments { .. } => {}
        }
        self.merge();
    }

    /// Joins neighbouring runs that continue each other, so that equal images have equal
    /// runs.
    fn merge(&mut self) {
        self.runs.dedup_by(|next, prev| {
            let joins = prev.end() == next.start
                && prev.prot == next.prot
                && prev.offset + prev.pages * PAGE_SIZE == next.offset;
            if joins {
                prev.pages += next.pages;
            }
            joins
        });
    }

    /// Queues on `out` the ops that turn this image into `target` (unmapping what the target
    /// lacks, mapping what differs, keeping what is the same), and returns the pages mapped.
    pub fn switch_to(&self, target: &HostImage, out: &mut MmFd) -> u64 {
        for run in &self.runs {
            for gap in uncovered(run, &target.runs) {
                out.write(MmOp::Munmap {
                    addr: gap.start * PAGE_SIZE,
                    len: gap.pages * PAGE_SIZE,
                });
            }
        }
        let mut mapped = 0;
        for run in &target.runs {
            for part in differing(run, &self.runs) {
                part.map(out);
                mapped += part.pages;
            }
        }
        mapped
    }

    /// Queues on `out` the ops that build `target` in a host process whose guest range holds
    /// anything (unmap all of it, map the target), and returns the pages mapped.
    pub fn rebuild(target: &HostImage, out: &mut MmFd) -> u64 {
        out.write(MmOp::Munmap {
            addr: 0,
            len: crate::layout::TASK_SIZE,
        });
        for run in &target.runs {
            run.map(out);
        }
        target.pages()
    }

    /// Splits the run containing page `vpn` (not at its start) in two.
    fn split_at(&mut self, vpn: u64) {
        let Some(i) = self
            .runs
            .iter()
            .position(|r| r.start < vpn && vpn < r.end())
        else {
            return;
        };
        let r = self.runs[i];
        self.runs[i] = r.slice(r.start, vpn);
        self.runs.insert(i + 1, r.slice(vpn, r.end()));
    }

    /// Removes pages `[lo, hi)`, and returns where a run starting at `lo` goes.
    fn carve(&mut self, lo: u64, hi: u64) -> usize {
        self.split_at(lo);
        self.split_at(hi);
        let first = self.runs.partition_point(|r| r.end() <= lo);
        let last = self.runs.partition_point(|r| r.start < hi);
        self.runs.drain(first..last.max(first));
        first
    }
}

/// Pages `[lo, hi)` of byte range `[addr, addr + len)`.
fn pages_of(addr: u64, len: u64) -> (u64, u64) {
    let lo = addr / PAGE_SIZE;
    let hi = addr.saturating_add(len).div_ceil(PAGE_SIZE);
    (lo, hi.max(lo))
}

/// The runs of `others` that overlap `run`, in order.
fn overlapping<'a>(run: &Run, others: &'a [Run]) -> &'a [Run] {
    let first = others.partition_point(|o| o.end() <= run.start);
    let last = others.partition_point(|o| o.start < run.end());
    &others[first..last.max(first)]
}

/// The parts of `run` that no run of `others` covers.
fn uncovered(run: &Run, others: &[Run]) -> Vec<Run> {
    let mut out = Vec::new();
    let mut at = run.start;
    for o in overlapping(run, others) {
        if o.start > at {
            out.push(run.slice(at, o.start));
        }
        at = at.max(o.end());
    }
    if at < run.end() {
        out.push(run.slice(at, run.end()));
    }
    out
}

/// The parts of `run` that `others` does not map the same way (uncovered, or covered by
/// other memory or another protection).
fn differing(run: &Run, others: &[Run]) -> Vec<Run> {
    let mut out = uncovered(run, others);
    for o in overlapping(run, others) {
        let part = run.slice(o.start, o.end());
        if !part.same_at(o, part.start) {
            out.push(part);
        }
    }
    out.sort_by_key(|r| r.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MmId;

    fn run(start: u64, pages: u64, prot: u32, page: u64) -> Run {
        Run {
            start,
            pages,
            prot,
            offset: page * PAGE_SIZE,
        }
    }

    fn image(runs: &[Run]) -> HostImage {
        HostImage {
            runs: runs.to_vec(),
        }
    }

    /// Applies `ops` to a page-by-page model of the host: vpn -> (prot, physical page).
    fn host_after(start: &HostImage, ops: &[MmOp]) -> std::collections::BTreeMap<u64, (u32, u64)> {
        let mut m = std::collections::BTreeMap::new();
        for r in &start.runs {
            for v in r.start..r.end() {
                m.insert(v, (r.prot, r.offset / PAGE_SIZE + v - r.start));
            }
        }
        for op in ops {
            match *op {
                MmOp::Mmap {
                    addr,
                    len,
                    prot,
                    offset,
                } => {
                    for i in 0..len / PAGE_SIZE {
                        m.insert(addr / PAGE_SIZE + i, (prot, offset / PAGE_SIZE + i));
                    }
                }
                MmOp::Munmap { addr, len } => {
                    let (lo, hi) = pages_of(addr, len);
                    m.retain(|v, _| *v < lo || *v >= hi);
                }
                MmOp::Mprotect { addr, len, prot } => {
                    let (lo, hi) = pages_of(addr, len);
                    for (_, e) in m.range_mut(lo..hi) {
                        e.0 = prot;
                    }
                }
                MmOp::CopySegments { .. } => {}
            }
        }
        m
    }

    #[test]
    fn a_switch_maps_only_what_differs_and_unmaps_what_the_target_lacks() {
        // Shared text (same frames), a stack on other frames, a page only the old space has,
        // a page only the new one has, and a page mapped read-only in one, writable in the other.
        let old = image(&[
            run(0x400, 10, 5, 100),
            run(0x600, 1, 3, 200),
            run(0x700, 4, 3, 300),
            run(0x7ff0, 2, 3, 400),
        ]);
        let new = image(&[
            run(0x400, 10, 5, 100),
            run(0x500, 1, 3, 250),
            run(0x700, 2, 3, 300),
            run(0x702, 2, 1, 302),
            run(0x7ff0, 2, 3, 500),
        ]);
        let mut out = MmFd::open(MmId(1));
        let mapped = old.switch_to(&new, &mut out);
        assert_eq!(mapped, 1 + 2 + 2);
        let ops = out.take_pending();
        assert_eq!(host_after(&old, &ops), host_after(&new, &[]));
        // The shared text is not touched.
        assert!(!ops.iter().any(|op| matches!(op,
            MmOp::Mmap { addr, .. } | MmOp::Munmap { addr, .. } if *addr == 0x400 * PAGE_SIZE)));
    }

    #[test]
    fn the_model_follows_the_ops_it_is_sent() {
        let mut img = image(&[run(10, 10, 3, 0)]);
        let ops = [
            MmOp::Munmap {
                addr: 12 * PAGE_SIZE,
                len: 2 * PAGE_SIZE,
            },
            MmOp::Mprotect {
                addr: 15 * PAGE_SIZE,
                len: 3 * PAGE_SIZE,
                prot: 1,
            },
            MmOp::Mmap {
                addr: 19 * PAGE_SIZE,
                len: 3 * PAGE_SIZE,
                prot: 7,
                offset: 50 * PAGE_SIZE,
            },
        ];
        let expect = host_after(&img, &ops);
        for op in &ops {
            img.apply(op);
        }
        assert_eq!(host_after(&img, &[]), expect);
        assert!(img.runs.windows(2).all(|w| w[0].end() <= w[1].start));
        // Switching to what is there already costs nothing.
        let mut out = MmFd::open(MmId(1));
        assert_eq!(img.switch_to(&img.clone(), &mut out), 0);
        assert!(out.pending().is_empty());
    }

    #[test]
    fn a_rebuild_unmaps_everything_first() {
        let target = image(&[run(1, 2, 3, 9)]);
        let mut out = MmFd::open(MmId(1));
        assert_eq!(HostImage::rebuild(&target, &mut out), 2);
        let ops = out.take_pending();
        assert!(matches!(ops[0], MmOp::Munmap { addr: 0, .. }));
        let junk = image(&[run(0, 100, 7, 0)]);
        assert_eq!(host_after(&junk, &ops), host_after(&target, &[]));
    }
}
