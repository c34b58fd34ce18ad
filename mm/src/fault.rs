//! Demand faults: resolving a guest page fault by allocating/filling frames, breaking
//! copy-on-write, and queueing host mappings, with fault-around.

use abi::flags::Prot;

use crate::frames::{Frame, Frames};
use crate::layout::{FAULT_AROUND, TASK_SIZE};
use crate::pagetable::Pte;
use crate::space::AddressSpace;
use crate::vma::{Backing, Vma};
use crate::{Access, FaultError, PAGE_SIZE};

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
    /// Fills the fresh (zeroed) frame `f` for page `vpn` of `vma`.
    fn fill(phys: &mut Frames, vma: &Vma, vpn: u64, f: Frame) -> Result<(), FillError> {
        if let Backing::File { source, offset } = &vma.backing {
            let off = offset + (vpn * PAGE_SIZE - vma.start);
            match phys.fill_from(f, source.as_ref(), off) {
                Ok(n) if n > 0 => {}
                _ => return Err(FillError::BeyondEof),
            }
        }
        Ok(())
    }

    /// Allocates and fills a frame for the absent page `vpn` of `vma` and enters it in the
    /// page table (not host-mapped).
    pub fn populate_one(
        &mut self,
        phys: &mut Frames,
        vma: &Vma,
        vpn: u64,
    ) -> Result<Pte, FillError> {
        if let Backing::Special { pages, index } = &vma.backing {
            // The kernel's own frame, shared: nothing to allocate or fill.
            let f = pages
                .frame(index + (vpn - vma.start / PAGE_SIZE))
                .ok_or(FillError::BeyondEof)?;
            phys.get(f);
            let pte = Pte::new(f, false);
            self.pt.set(vpn, pte);
            return Ok(pte);
        }
        let charged = vma.charged();
        if !phys.can_alloc(1, charged) {
            return Err(FillError::NoMemory);
        }
        let (f, _) = phys.alloc_run(1).ok_or(FillError::NoMemory)?;
        if let Err(e) = Self::fill(phys, vma, vpn, f) {
            phys.put(f);
            phys.flush();
            return Err(e);
        }
        if !charged {
            phys.add_extra(1);
        }
        let pte = Pte::new(f, !charged);
        self.pt.set(vpn, pte);
        Ok(pte)
    }

    /// Gives page `vpn` (present in the page table) a private copy of its frame if it is
    /// shared copy-on-write in a private writable VMA. Returns the (possibly new) entry.
    pub fn break_cow(
        &mut self,
        phys: &mut Frames,
        vma: &Vma,
        vpn: u64,
        pte: Pte,
    ) -> Result<Pte, FillError> {
        if vma.shared || !vma.writable() || phys.refcount(pte.frame) <= 1 {
            return Ok(pte);
        }
        if !phys.can_alloc(1, true) {
            return Err(FillError::NoMemory);
        }
        let (f, _) = phys.alloc_run(1).ok_or(FillError::NoMemory)?;
        phys.copy_frame(pte.frame, f);
        phys.put(pte.frame);
        let mut new = pte;
        new.frame = f;
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
        let vma = self.vmas.find(addr).cloned().ok_or(SEGV_MAPERR)?;
        if !permits(&vma, access) {
            return Err(SEGV_ACCERR);
        }
        let vpn = addr / PAGE_SIZE;
        if present {
            if let Some(pte) = self.pt.get(vpn) {
                return self.fault_present(phys, &vma, vpn, pte, access);
            }
        }
        self.fault_around(phys, &vma, vpn, access)
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

    /// A not-present fault: populate the aligned window of `FAULT_AROUND` pages around
    /// `vpn` within the VMA. Only the faulting page must succeed.
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
        let missing = (lo..hi).filter(|&v| self.pt.get(v).is_none()).count() as u64;
        if !phys.can_alloc(missing, vma.charged()) {
            lo = vpn;
            hi = vpn + 1;
        }
        let mut v = lo;
        while v < hi {
            if let Some(mut pte) = self.pt.get(v) {
                if v == vpn && access == Access::Write {
                    pte = self.break_cow(phys, vma, v, pte)?;
                }
                let want = Self::effective_prot(vma, phys, pte);
                if v == vpn || pte.host() != Some(want) {
                    self.host_map(v, &mut pte, want);
                }
                v += 1;
                continue;
            }
            let mut run_end = v + 1;
            while run_end < hi && self.pt.get(run_end).is_none() {
                run_end += 1;
            }
            // Allocate the run of absent pages in contiguous chunks.
            let charged = vma.charged();
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
                let mut stop = false;
                for i in 0..u64::from(n) {
                    let page = v + i;
                    let frame = Frame(f.0 + i as u32);
                    if stop {
                        phys.put(frame);
                        continue;
                    }
                    let filled = if i < good {
                        Ok(())
                    } else {
                        Err(FillError::BeyondEof)
                    };
                    if let Err(e) = filled {
                        phys.put(frame);
                        stop = true;
                        if page == vpn {
                            phys.flush();
                            return Err(e.into());
                        }
                        if page < vpn {
                            // Past EOF before the faulting page: the faulting page is too.
                            phys.flush();
                            return Err(FaultError::Bus);
                        }
                        continue;
                    }
                    if !charged {
                        phys.add_extra(1);
                    }
                    let mut pte = Pte::new(frame, !charged);
                    let want = Self::effective_prot(vma, phys, pte);
                    self.host_map(page, &mut pte, want);
                }
                if stop {
                    phys.flush();
                    return Ok(());
                }
                v += u64::from(n);
            }
            v = run_end;
        }
        Ok(())
    }
}
