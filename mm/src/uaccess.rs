//! Kernel access to guest memory: resolving guest ranges to pieces of physical memory
//! through the page table (faulting pages in as needed), never through the host process.

use abi::Errno;

use crate::fault::permits;
use crate::frames::{Frame, Frames};
use crate::layout::TASK_SIZE;
use crate::space::AddressSpace;
use crate::vma::Vma;
use crate::{Access, PAGE_SIZE};

impl AddressSpace {
    /// The frame behind page `vpn` for a kernel read (`write == false`) or write, faulting
    /// it in (frame allocated, page table updated; the host mapping is left for the guest's
    /// next fault, except that a copy-on-write break remaps the page at once). `vma` caches
    /// the VMA of the previous page.
    pub fn user_frame(
        &mut self,
        phys: &mut Frames,
        vpn: u64,
        write: bool,
        vma: &mut Option<Vma>,
    ) -> Result<Frame, Errno> {
        self.user_frame_as(phys, vpn, write, false, vma)
    }

    /// [`user_frame`](Self::user_frame); with `force`, as Linux's `FOLL_FORCE` (ptrace's
    /// and `/proc/PID/mem`'s accesses): the protection is overridden, a read of any mapped
    /// page, a write of a private one that may be made writable (it breaks copy-on-write:
    /// a file's page becomes a private copy, and the mapping stays as protected as it was).
    fn user_frame_as(
        &mut self,
        phys: &mut Frames,
        vpn: u64,
        write: bool,
        force: bool,
        vma: &mut Option<Vma>,
    ) -> Result<Frame, Errno> {
        let addr = vpn.checked_mul(PAGE_SIZE).ok_or(Errno::EFAULT)?;
        if addr >= TASK_SIZE {
            return Err(Errno::EFAULT);
        }
        if !vma
            .as_ref()
            .is_some_and(|v| v.start <= addr && addr < v.end)
        {
            *vma = Some(self.vmas.find(addr).cloned().ok_or(Errno::EFAULT)?);
        }
        let Some(v) = vma.as_ref() else {
            return Err(Errno::EFAULT);
        };
        let access = if write { Access::Write } else { Access::Read };
        let forced = force && (!write || (!v.shared && v.may_write()));
        if !(permits(v, access) || forced)
            || self.guards.contains(&vpn)
            || self.poisoned.contains(&vpn)
        {
            return Err(Errno::EFAULT);
        }
        // A page a userfaultfd handler would fill or unprotect: the kernel does not wait.
        if v.uffd
            .is_some_and(|r| self.userfault_of(phys, v, vpn, access, r).is_some())
        {
            return Err(Errno::EFAULT);
        }
        match self.pt.get(vpn) {
            Some(pte) if write => {
                let mut new = self
                    .break_cow(phys, v, vpn, pte)
                    .map_err(|_| Errno::EFAULT)?;
                if new.frame != pte.frame && pte.host().is_some() {
                    let want = Self::effective_prot(v, phys, new);
                    self.host_map(vpn, &mut new, want);
                }
                Ok(new.frame)
            }
            Some(pte) => Ok(pte.frame),
            None => {
                let v = v.clone();
                let mut pte = self
                    .populate_one(phys, &v, vpn)
                    .map_err(|_| Errno::EFAULT)?;
                if write {
                    // A file page comes from the page cache: copy it (private) or mark it
                    // dirty (shared) before the kernel stores into it.
                    pte = self
                        .break_cow(phys, &v, vpn, pte)
                        .map_err(|_| Errno::EFAULT)?;
                }
                Ok(pte.frame)
            }
        }
    }

    /// Physical `(offset, len)` pieces covering guest `[addr, addr+len)`, merged where
    /// frames are contiguous. With `all`, any inaccessible byte is `EFAULT`; otherwise the
    /// longest accessible prefix is returned (`EFAULT` if it is empty and `len > 0`).
    pub fn pieces(
        &mut self,
        phys: &mut Frames,
        addr: u64,
        len: u64,
        write: bool,
        all: bool,
    ) -> Result<Vec<(u64, u64)>, Errno> {
        self.pieces_as(phys, addr, len, write, all, false)
    }

    /// [`pieces`](Self::pieces), forced with `force` (see [`user_frame_as`](Self::user_frame_as)).
    pub fn pieces_as(
        &mut self,
        phys: &mut Frames,
        addr: u64,
        len: u64,
        write: bool,
        all: bool,
        force: bool,
    ) -> Result<Vec<(u64, u64)>, Errno> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        let end = addr.saturating_add(len);
        let mut at = addr;
        let mut vma = None;
        while at < end {
            let in_page = at % PAGE_SIZE;
            let n = (PAGE_SIZE - in_page).min(end - at);
            let f = match self.user_frame_as(phys, at / PAGE_SIZE, write, force, &mut vma) {
                Ok(f) => f,
                Err(e) => {
                    if all || out.is_empty() {
                        phys.flush();
                        return Err(e);
                    }
                    break;
                }
            };
            let off = f.offset() + in_page;
            match out.last_mut() {
                Some((o, l)) if *o + *l == off => *l += n,
                _ => out.push((off, n)),
            }
            at += n;
        }
        if all && end - addr != len {
            // The range wrapped around the address space.
            return Err(Errno::EFAULT);
        }
        phys.flush();
        Ok(out)
    }
}
