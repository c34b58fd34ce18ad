//! Demand faults: resolving a guest page fault by allocating/filling frames, breaking
//! copy-on-write, and queueing host mappings, with fault-around.

use abi::flags::Prot;

use crate::frames::{Frame, Frames};
use crate::layout::{FAULT_AROUND, FAULT_AROUND_MAX, TASK_SIZE};
use crate::pagetable::Pte;
use crate::space::AddressSpace;
use crate::vma::{Backing, Vma};
use crate::{Access, FaultError, FileKey, PAGE_SIZE};

const SEGV_MAPERR: FaultError = FaultError::Segv { si_code: 1 };
const SEGV_ACCERR: FaultError = FaultError::Segv { si_code: 2 };

/// Why a page could not be populated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillError {
    /// No frame available.
    NoMemory,
    /// The page lies entirely beyond the end of the file (or the file could not be read).
    BeyondEof,
}

impl From<FillError> for FaultError {
    fn from(e: FillError) -> FaultError {
        match e {
            FillError::NoMemory => FaultError::OutOfMemory,
            FillError::BeyondEof => FaultError::Bus,
        }
    }
}

/// Whether `vma` permits `access`.
pub fn permits(vma: &Vma, access: Access) -> bool {
    match access {
        Access::Read | Access::Unknown => vma.readable(),
        Access::Write => vma.writable(),
        Access::Exec => vma.prot.contains(Prot::EXEC),
    }
}

impl AddressSpace {
    /// The page-cache key and file page offset of page `vpn` of `vma`, for a file whose
    /// pages are cached.
    fn cache_slot(vma: &Vma, vpn: u64) -> Option<(FileKey, u64)> {
        vma.file_key().map(|k| (k, vma.pgoff(vpn)))
    }

    /// Whether page `vpn` of `vma` is absent from both the page table and the page cache
    /// (it needs a new frame).
    fn needs_frame(&self, phys: &Frames, vma: &Vma, vpn: u64) -> bool {
        self.pt.get(vpn).is_none()
            && Self::cache_slot(vma, vpn).map_or(true, |(k, o)| phys.cache.lookup(k, o).is_none())
    }

    /// Whether new frames for `vma` are covered by its commit charge (cached file pages
    /// never are: they count as `extra`).
    fn alloc_charged(vma: &Vma) -> bool {
        vma.charged() && Self::cache_slot(vma, vma.start / PAGE_SIZE).is_none()
    }

    /// The entry for page `vpn` of `vma` over the fresh frame `f` (refcount 1): a file page
    /// that can be cached enters the page cache (which keeps that reference) and the entry
    /// takes another; otherwise the entry owns the frame.
    pub(crate) fn adopt(phys: &mut Frames, vma: &Vma, vpn: u64, f: Frame) -> Pte {
        if let (Some((k, o)), Backing::File { source, .. }) =
            (Self::cache_slot(vma, vpn), &vma.backing)
        {
            phys.cache_insert(k, o, f, source);
            phys.get(f);
            return Pte::new(f, false);
        }
        let charged = vma.charged();
        if !charged {
            phys.extra_get(f);
        }
        Pte::new(f, !charged)
    }

    /// Allocates and fills a frame for the absent page `vpn` of `vma` (or takes the page
    /// cache's) and enters it in the page table (not host-mapped).
    pub fn populate_one(
        &mut self,
        phys: &mut Frames,
        vma: &Vma,
        vpn: u64,
    ) -> Result<Pte, FillError> {
        let special = match &vma.backing {
            // The kernel's own frame, shared: nothing to allocate or fill.
            Backing::Special { pages, index } => Some(
                pages
                    .frame(index + (vpn - vma.start / PAGE_SIZE))
                    .ok_or(FillError::BeyondEof)?,
            ),
            _ => None,
        };
        if let Some(f) = special
            .or_else(|| Self::cache_slot(vma, vpn).and_then(|(k, o)| phys.cache.lookup(k, o)))
        {
            phys.get(f);
            let pte = Pte::new(f, false);
            self.pt.set(vpn, pte);
            return Ok(pte);
        }
        if !phys.can_alloc(1, Self::alloc_charged(vma)) {
            return Err(FillError::NoMemory);
        }
        let (f, _) = phys.alloc_run(1).ok_or(FillError::NoMemory)?;
        if let Backing::File { source, offset } = &vma.backing {
            let off = offset + (vpn * PAGE_SIZE - vma.start);
            if !matches!(phys.fill_from(f, source.as_ref(), off), Ok(n) if n > 0) {
                phys.put(f);
                phys.flush();
                return Err(FillError::BeyondEof);
            }
        }
        let pte = Self::adopt(phys, vma, vpn, f);
        self.pt.set(vpn, pte);
        Ok(pte)
    }

    /// Makes page `vpn` (present in the page table) writable for a store: a private copy
    /// of its frame if it is shared copy-on-write in a private writable VMA, or the cached
    /// page marked dirty in a shared file mapping. Returns the (possibly new) entry.
    pub fn break_cow(
        &mut self,
        phys: &mut Frames,
        vma: &Vma,
        vpn: u64,
        pte: Pte,
    ) -> Result<Pte, FillError> {
        if !vma.writable() {
            return Ok(pte);
        }
        if vma.shared {
            if let Backing::File { source, .. } = &vma.backing {
                phys.cache_mark_dirty(pte.frame, source);
            }
            return Ok(pte);
        }
        if phys.refcount(pte.frame) <= 1 {
            return Ok(pte);
        }
        // A copy of a cached page is the entry's own frame from now on: `extra` if the
        // VMA is uncharged (the cached frame was accounted by the cache).
        let newly_extra = !vma.charged() && phys.cache.contains(pte.frame);
        if !phys.can_alloc(1, !newly_extra) {
            return Err(FillError::NoMemory);
        }
        let (f, _) = phys.alloc_run(1).ok_or(FillError::NoMemory)?;
        phys.copy_frame(pte.frame, f);
        if pte.extra() {
            phys.extra_put(pte.frame);
        }
        phys.put(pte.frame);
        let mut new = pte;
        new.frame = f;
        if newly_extra {
            new.set_extra(true);
        }
        if new.extra() {
            phys.extra_get(f);
        }
        self.pt.set(vpn, new);
        Ok(new)
    }

    /// Resolves a guest page fault.
    pub fn fault(
        &mut self,
        phys: &mut Frames,
        addr: u64,
        access: Access,
        present: bool,
    ) -> Result<(), FaultError> {
        if addr >= TASK_SIZE {
            return Err(SEGV_MAPERR);
        }
        let vma = match self.vmas.find(addr) {
            Some(v) => v.clone(),
            None => self.grow_down(phys, addr).ok_or(SEGV_MAPERR)?,
        };
        let vpn = addr / PAGE_SIZE;
        if !permits(&vma, access) || self.guards.contains(&vpn) {
            return Err(SEGV_ACCERR);
        }
        if self.poisoned.contains(&vpn) {
            return Err(FaultError::Bus);
        }
        if let Some(e) = vma
            .uffd
            .and_then(|r| self.userfault_of(phys, &vma, vpn, access, r))
        {
            return Err(e);
        }
        if present {
            if let Some(pte) = self.pt.get(vpn) {
                return self.fault_present(phys, &vma, vpn, pte, access);
            }
        }
        self.fault_around(phys, &vma, vpn, access)
    }

    /// A fault at `addr` in no mapping, just below a `MAP_GROWSDOWN` one: that mapping
    /// grows down to `addr`'s page, unless that comes within `STACK_GUARD_GAP` of an
    /// accessible mapping under it (Linux's `expand_downwards`), makes it larger than the
    /// default `RLIMIT_STACK` (8 MiB, the initial stack's size: that one never grows), or
    /// the memory is not there. Returns the grown mapping.
    fn grow_down(&mut self, phys: &mut Frames, addr: u64) -> Option<Vma> {
        const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;
        let page = addr & !(PAGE_SIZE - 1);
        let above = self.vmas.iter_range(page, TASK_SIZE).next()?.clone();
        // No stack grows past `RLIMIT_STACK`'s default (the initial stack's size).
        let too_big = above.end - page > crate::layout::STACK_SIZE;
        if !above.growsdown || page < crate::layout::MMAP_MIN_ADDR || too_big {
            return None;
        }
        let below = self.vmas.iter_range(0, page).last();
        if below.is_some_and(|b| b.readable() && page - b.end < STACK_GUARD_GAP) {
            return None;
        }
        // The new piece `[page, above.start)`, with `above`'s attributes.
        let mut piece = above.clone();
        piece.start = page;
        piece.end = above.start;
        match &mut piece.backing {
            Backing::Anon => {}
            Backing::File { offset, .. } => *offset = offset.checked_sub(above.start - page)?,
            Backing::Special { .. } => return None,
        }
        if piece.charged() && !phys.try_charge(piece.pages()) {
            return None;
        }
        self.vmas.insert(piece);
        self.vmas.merge_range(page, above.end);
        self.vmas.find(addr).cloned()
    }

    /// A protection fault on a page the host has mapped.
    fn fault_present(
        &mut self,
        phys: &mut Frames,
        vma: &Vma,
        vpn: u64,
        pte: Pte,
        access: Access,
    ) -> Result<(), FaultError> {
        let host = pte.host();
        let wants_write = matches!(access, Access::Write | Access::Unknown)
            && vma.writable()
            && host.map_or(true, |h| h & Prot::WRITE.bits() == 0);
        let mut pte = pte;
        if wants_write {
            pte = self.break_cow(phys, vma, vpn, pte)?;
        }
        let want = Self::effective_prot(vma, phys, pte);
        if host == Some(want) {
            // The host already maps the page as the VMA allows: a true protection violation.
            return Err(SEGV_ACCERR);
        }
        self.host_map(vpn, &mut pte, want);
        phys.flush();
        Ok(())
    }

    /// Enters `pte` for page `vpn` of `vma` and maps it in the host (made writable first
    /// for a store).
    fn enter(
        &mut self,
        phys: &mut Frames,
        vma: &Vma,
        vpn: u64,
        mut pte: Pte,
        store: bool,
    ) -> Result<(), FillError> {
        self.pt.set(vpn, pte);
        if store {
            pte = self.break_cow(phys, vma, vpn, pte)?;
        }
        let want = Self::effective_prot(vma, phys, pte);
        self.host_map(vpn, &mut pte, want);
        Ok(())
    }

    /// A not-present fault: populate the aligned window of `FAULT_AROUND` pages around
    /// `vpn` within the VMA (file pages from the page cache where it has them), or, for a
    /// private anonymous VMA touched in sequence, a window from `vpn` twice as large as the
    /// last (see [`FAULT_AROUND_MAX`]); shared anonymous memory, guard pages and userfaultfd
    /// ranges get the faulting page alone. Only the faulting page must succeed.
    fn fault_around(
        &mut self,
        phys: &mut Frames,
        vma: &Vma,
        vpn: u64,
        access: Access,
    ) -> Result<(), FaultError> {
        let vlo = vma.start / PAGE_SIZE;
        let vhi = vma.end / PAGE_SIZE;
        let mut lo = (vpn & !(FAULT_AROUND - 1)).max(vlo);
        let mut hi = ((vpn | (FAULT_AROUND - 1)) + 1).min(vhi);
        if !vma.shared && matches!(vma.backing, Backing::Anon) {
            let (next, window) = self.fault_seq;
            if vpn == next && window >= FAULT_AROUND {
                let window = (window * 2).min(FAULT_AROUND_MAX);
                (lo, hi) = (vpn, vpn.saturating_add(window).min(vhi));
            }
            self.fault_seq = (hi, hi - lo);
        }
        let shared_anon = vma.shared && matches!(vma.backing, Backing::Anon);
        if self.guards.range(lo..hi).next().is_some() || vma.uffd.is_some() || shared_anon {
            // Guard pages are never populated, nor pages a userfaultfd handler fills; shared
            // anonymous memory (Linux's shmem) gets a page where it is touched, never its
            // neighbours (as `mincore` and `VmLck` of an `MLOCK_ONFAULT` range show): this
            // page alone.
            (lo, hi) = (vpn, vpn + 1);
        }
        if matches!(vma.backing, Backing::Special { .. }) {
            // Enter the kernel's frames; the loop below maps them.
            for v in lo..hi {
                if self.pt.get(v).is_none() {
                    match self.populate_one(phys, vma, v) {
                        Err(e) if v == vpn => return Err(e.into()),
                        _ => {}
                    }
                }
            }
        }
        let missing = (lo..hi).filter(|&v| self.needs_frame(phys, vma, v)).count() as u64;
        if !phys.can_alloc(missing, Self::alloc_charged(vma)) {
            lo = vpn;
            hi = vpn + 1;
        }
        let result = self.populate_window(phys, vma, vpn, access == Access::Write, lo, hi);
        phys.flush();
        result
    }

    /// The body of [`fault_around`](Self::fault_around) for the window `[lo, hi)`.
    fn populate_window(
        &mut self,
        phys: &mut Frames,
        vma: &Vma,
        vpn: u64,
        store: bool,
        lo: u64,
        hi: u64,
    ) -> Result<(), FaultError> {
        let mut v = lo;
        while v < hi {
            if let Some(mut pte) = self.pt.get(v) {
                if v == vpn && store {
                    pte = self.break_cow(phys, vma, v, pte)?;
                }
                let want = Self::effective_prot(vma, phys, pte);
                if v == vpn || pte.host() != Some(want) {
                    self.host_map(v, &mut pte, want);
                }
                v += 1;
                continue;
            }
            if let Some(f) = Self::cache_slot(vma, v).and_then(|(k, o)| phys.cache.lookup(k, o)) {
                phys.get(f);
                self.enter(phys, vma, v, Pte::new(f, false), v == vpn && store)?;
                v += 1;
                continue;
            }
            let mut run_end = v + 1;
            while run_end < hi && self.needs_frame(phys, vma, run_end) {
                run_end += 1;
            }
            // Allocate the run of absent pages in contiguous chunks.
            while v < run_end {
                let Some((f, n)) = phys.alloc_run((run_end - v) as u32) else {
                    if (v..run_end).contains(&vpn) {
                        return Err(FaultError::OutOfMemory);
                    }
                    break;
                };
                // A file-backed run is read with one call; the pages it did not reach
                // lie past the end of the file.
                let good = match &vma.backing {
                    Backing::File { source, offset } => {
                        let off = offset + (v * PAGE_SIZE - vma.start);
                        phys.fill_run_from(f, n, source.as_ref(), off)
                            .map_or(0, |b| b.div_ceil(PAGE_SIZE as usize) as u64)
                    }
                    Backing::Anon => u64::from(n),
                    // Pages past the kernel's frames (a grown mapping): none are good.
                    Backing::Special { .. } => 0,
                };
                for i in 0..u64::from(n) {
                    let page = v + i;
                    let frame = Frame(f.0 + i as u32);
                    if i >= good {
                        phys.put(frame);
                        continue;
                    }
                    let pte = Self::adopt(phys, vma, page, frame);
                    self.enter(phys, vma, page, pte, page == vpn && store)?;
                }
                if good < u64::from(n) {
                    // Past the end of the file: so is every later page of the window.
                    return if v + good <= vpn {
                        Err(FaultError::Bus)
                    } else {
                        Ok(())
                    };
                }
                v += u64::from(n);
            }
            v = run_end;
        }
        Ok(())
    }
}
