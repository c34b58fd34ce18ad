//! What `/proc/PID/{maps,smaps,statm,status,pagemap}` and `/proc/PID/cmdline` read of an
//! address space: its VMAs with their memory use, its present pages, and resident guest
//! memory read without faulting; and `/proc/kpageflags` of physical memory.

use std::sync::Arc;

use crate::vma::Backing;
use crate::{MapInfo, Mm, MmId, PageSource, PAGE_SIZE};

/// One VMA and the memory its pages use, for `/proc/PID/smaps`.
#[derive(Clone)]
pub struct VmaReport {
    /// Range, protection, offset.
    pub info: MapInfo,
    /// The mapped file (`None` for anonymous memory).
    pub file: Option<Arc<dyn PageSource>>,
    /// Pages with a frame.
    pub rss_pages: u64,
    /// The proportional share of those frames, in bytes (a frame shared by `n` spaces
    /// counts `PAGE_SIZE / n`).
    pub pss_bytes: u64,
    /// Resident pages whose frame is shared with another space.
    pub shared_pages: u64,
    /// Resident pages of anonymous memory, or private copies in a file mapping.
    pub anon_pages: u64,
}

/// `/proc/PID/pagemap` entry bits (Linux's `PM_*`).
const PM_PRESENT: u64 = 1 << 63;
/// A page of a file or of shared memory (not an anonymous page).
const PM_FILE: u64 = 1 << 61;
/// Mapped by this space only.
const PM_MMAP_EXCLUSIVE: u64 = 1 << 56;
const PM_PFRAME_MASK: u64 = (1 << 55) - 1;

/// `/proc/kpageflags` bits (Linux's `KPF_*`).
const KPF_UPTODATE: u64 = 1 << 3;
const KPF_DIRTY: u64 = 1 << 4;

impl Mm {
    /// `/proc/kpageflags`: how many frames physical memory has, and the flags of each
    /// frame that has some, as (frame number, flags) in frame order. uml knows the page
    /// cache's frames (up to date, and dirty until written back); every other frame reads
    /// as 0.
    pub fn kpageflags(&self) -> (u64, Vec<(u64, u64)>) {
        let flags = self
            .phys
            .cache
            .frames()
            .into_iter()
            .map(|(f, dirty)| {
                let d = if dirty { KPF_DIRTY } else { 0 };
                (u64::from(f.0), KPF_UPTODATE | d)
            })
            .collect();
        (self.phys.total(), flags)
    }

    /// The `/proc/PID/pagemap` entries of a space's present pages, as (page number, entry)
    /// in page order: present, file or shared memory (a page-cache frame, or any page of a
    /// shared mapping), mapped by this space alone, and the frame number if `show_pfn`
    /// (Linux shows it to `CAP_SYS_ADMIN` only, 0 to others). Pages without a frame have
    /// entry 0, as Linux's without swap or soft-dirty tracking.
    pub fn pagemap(&self, id: MmId, show_pfn: bool) -> Vec<(u64, u64)> {
        let Some(s) = self.spaces.get(&id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for v in s.vmas.iter() {
            for (vpn, pte) in s.pt.range(v.start / PAGE_SIZE, v.end / PAGE_SIZE) {
                let cached = v
                    .file_key()
                    .is_some_and(|k| self.phys.cache.lookup(k, v.pgoff(vpn)) == Some(pte.frame));
                let mut e = PM_PRESENT;
                if v.shared || cached {
                    e |= PM_FILE;
                }
                // The page cache holds a reference of its own.
                if self.phys.refcount(pte.frame) - u32::from(cached) <= 1 {
                    e |= PM_MMAP_EXCLUSIVE;
                }
                if show_pfn {
                    e |= pte.frame.0 as u64 & PM_PFRAME_MASK;
                }
                out.push((vpn, e));
            }
        }
        out
    }

    /// The VMAs of a space that meet `[start, end)`, in address order, with the file each
    /// maps (`None` for anonymous and special memory).
    pub fn vmas_in(
        &self,
        id: MmId,
        start: u64,
        end: u64,
    ) -> Vec<(MapInfo, Option<Arc<dyn PageSource>>)> {
        let Some(s) = self.spaces.get(&id) else {
            return Vec::new();
        };
        s.vmas
            .iter_range(start, end)
            .map(|v| {
                let file = match &v.backing {
                    Backing::File { source, .. } => Some(source.clone()),
                    Backing::Anon | Backing::Special { .. } => None,
                };
                (crate::map_info(v), file)
            })
            .collect()
    }

    /// The VMAs of a space with their memory use, in address order.
    pub fn vma_report(&self, id: MmId) -> Vec<VmaReport> {
        let Some(s) = self.spaces.get(&id) else {
            return Vec::new();
        };
        s.vmas
            .iter()
            .map(|v| {
                let mut r = VmaReport {
                    info: crate::map_info(v),
                    file: match &v.backing {
                        Backing::File { source, .. } => Some(source.clone()),
                        Backing::Anon | Backing::Special { .. } => None,
                    },
                    rss_pages: 0,
                    pss_bytes: 0,
                    shared_pages: 0,
                    anon_pages: 0,
                };
                for (_, pte) in s.pt.range(v.start / PAGE_SIZE, v.end / PAGE_SIZE) {
                    let refs = u64::from(self.phys.refcount(pte.frame).max(1));
                    r.rss_pages += 1;
                    r.pss_bytes += PAGE_SIZE / refs;
                    if refs > 1 {
                        r.shared_pages += 1;
                    }
                    // Private file pages hold the file's data until written; uml does not
                    // tell them from copies, so it counts every page of a file mapping as
                    // file memory and every other page as anonymous.
                    if matches!(v.backing, Backing::Anon) {
                        r.anon_pages += 1;
                    }
                }
                r
            })
            .collect()
    }

    /// The start of the heap and the current break of a space.
    pub fn brk_range(&self, id: MmId) -> (u64, u64) {
        self.spaces
            .get(&id)
            .map_or((0, 0), |s| (s.brk_start, s.brk))
    }

    /// Copies resident guest memory at `addr` into `buf` without faulting anything in (the
    /// way `/proc/PID/cmdline` reads another process's memory); stops at the first page
    /// with no frame or outside a VMA. Returns the bytes copied.
    pub fn read_resident(&self, id: MmId, addr: u64, buf: &mut [u8]) -> usize {
        let Some(s) = self.spaces.get(&id) else {
            return 0;
        };
        let mut done = 0usize;
        while done < buf.len() {
            let at = addr.saturating_add(done as u64);
            if s.vmas.find(at).map_or(true, |v| !v.readable()) {
                break;
            }
            let Some(pte) = s.pt.get(at / PAGE_SIZE) else {
                break;
            };
            let in_page = at % PAGE_SIZE;
            let n = ((PAGE_SIZE - in_page) as usize).min(buf.len() - done);
            buf[done..done + n]
                .copy_from_slice(self.phys.mem.bytes(pte.frame.offset() + in_page, n as u64));
            done += n;
        }
        done
    }
}
