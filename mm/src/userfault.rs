//! userfaultfd's side in mm: which VMAs a userfaultfd context handles the faults of
//! (`UFFDIO_REGISTER`, `UFFDIO_UNREGISTER`), which faults become its (a missing page in a
//! `MISSING` range, a cached page not yet mapped in a `MINOR` range, a store to a page it
//! write-protected in a `WP` range: [`FaultError::Userfault`], for the kernel to report and
//! park the faulting thread), and the ioctls that resolve them by filling pages
//! (`UFFDIO_COPY`, `UFFDIO_ZEROPAGE`, `UFFDIO_MOVE`, `UFFDIO_CONTINUE`, `UFFDIO_POISON`) or
//! lifting write protection (`UFFDIO_WRITEPROTECT`, which also sets it). A context is a number the syscall layer gives out; mm keeps no other
//! state of it.
//!
//! Which mappings can be registered follows Linux's `vma_can_userfault`: private and
//! shared anonymous memory, and shared mappings of cached files (standing for shmem; `MINOR`
//! needs one of these or shared anonymous memory; `WP` private anonymous memory). Faults in a registered range never
//! fault around (each page is the handler's to fill). A poisoned page (`UFFDIO_POISON`)
//! gives `SIGBUS` (`BUS_ADRERR`, as Linux 6.18) on access until it is unmapped.

use abi::Errno;
use serde::{Deserialize, Serialize};

use crate::fault::permits;
use crate::frames::Frames;
use crate::layout::TASK_SIZE;
use crate::pagetable::Pte;
use crate::space::AddressSpace;
use crate::vma::{Backing, Vma};
use crate::{Access, FaultError, PAGE_SIZE};

/// `UFFDIO_REGISTER_MODE_*`.
pub const MODE_MISSING: u32 = 1;
/// Write-protect faults (`UFFDIO_REGISTER_MODE_WP`).
pub const MODE_WP: u32 = 2;
/// Minor faults (`UFFDIO_REGISTER_MODE_MINOR`).
pub const MODE_MINOR: u32 = 4;
/// `UFFD_PAGEFAULT_FLAG_*` of a reported fault.
pub const FLAG_WRITE: u32 = 1;
/// The store was to a write-protected page (`UFFD_PAGEFAULT_FLAG_WP`).
pub const FLAG_WP: u32 = 2;
/// The fault was on a cached page not mapped yet (`UFFD_PAGEFAULT_FLAG_MINOR`).
pub const FLAG_MINOR: u32 = 4;

/// A VMA's registration: the context and its `MODE_*` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The context (the syscall layer's number).
    pub ctx: u64,
    /// `MODE_*` bits.
    pub modes: u32,
}

/// A userfaultfd request on the context's address space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UffdOp {
    /// `UFFDIO_REGISTER` of `[start, start+len)` with `modes`.
    Register {
        /// The context.
        ctx: u64,
        /// Start (page aligned).
        start: u64,
        /// Length (page aligned).
        len: u64,
        /// `MODE_*` bits.
        modes: u32,
    },
    /// `UFFDIO_UNREGISTER` of `[start, start+len)`.
    Unregister {
        /// The context.
        ctx: u64,
        /// Start.
        start: u64,
        /// Length.
        len: u64,
    },
    /// The context is gone: no VMA is registered with it any more.
    Release {
        /// The context.
        ctx: u64,
    },
    /// `UFFDIO_COPY`: `data` (whole pages) at `dst`, write-protected with `wp`.
    Copy {
        /// The context.
        ctx: u64,
        /// Destination.
        dst: u64,
        /// The pages' bytes.
        data: Vec<u8>,
        /// `UFFDIO_COPY_MODE_WP` (the range must be registered for it: `EINVAL`).
        wp: bool,
    },
    /// `UFFDIO_ZEROPAGE`: zero pages at `[dst, dst+len)`.
    Zeropage {
        /// The context.
        ctx: u64,
        /// Destination.
        dst: u64,
        /// Length.
        len: u64,
    },
    /// `UFFDIO_MOVE`: the pages of `[src, src+len)` moved to `dst`.
    Move {
        /// The context.
        ctx: u64,
        /// Destination.
        dst: u64,
        /// Source.
        src: u64,
        /// Length.
        len: u64,
        /// `UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES`: a missing source page is skipped.
        allow_holes: bool,
    },
    /// `UFFDIO_CONTINUE`: the cached pages of `[dst, dst+len)` mapped.
    Continue {
        /// The context.
        ctx: u64,
        /// Destination.
        dst: u64,
        /// Length.
        len: u64,
    },
    /// `UFFDIO_WRITEPROTECT`: the present pages of `[start, start+len)` write-protected
    /// (`wp`) or not.
    Writeprotect {
        /// The context.
        ctx: u64,
        /// Start.
        start: u64,
        /// Length.
        len: u64,
        /// Protect (else unprotect).
        wp: bool,
    },
    /// `UFFDIO_POISON`: `[dst, dst+len)` poisoned.
    Poison {
        /// The context.
        ctx: u64,
        /// Destination.
        dst: u64,
        /// Length.
        len: u64,
    },
}

/// Linux's `validate_range`: page aligned, not empty, below `TASK_SIZE` (`EINVAL`); the end.
pub fn range_end(start: u64, len: u64) -> Result<u64, Errno> {
    let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
    if start % PAGE_SIZE != 0 || len % PAGE_SIZE != 0 || len == 0 || end > TASK_SIZE {
        return Err(Errno::EINVAL);
    }
    Ok(end)
}

/// Whether `v` is shmem as far as userfaultfd goes (shared anonymous memory or a shared
/// mapping of a cached file).
fn shmem(v: &Vma) -> bool {
    v.shared && (matches!(v.backing, Backing::Anon) || v.file_key().is_some())
}

/// Whether page `vpn` of the shmem-like `vma` has data (Linux: is in shmem's page
/// cache): a cached page, or a page of the file within its size (uml's in-memory files
/// keep their data outside the page cache).
fn in_file(phys: &Frames, vma: &Vma, vpn: u64) -> bool {
    let Backing::File { source, .. } = &vma.backing else {
        return false;
    };
    let off = vma.pgoff(vpn);
    vma.file_key()
        .is_some_and(|k| phys.cache.lookup(k, off).is_some())
        || off * PAGE_SIZE < source.size()
}

/// Linux's `vma_can_userfault` (write protection on private anonymous memory only).
fn can_userfault(v: &Vma, modes: u32) -> bool {
    let anon = !v.shared && matches!(v.backing, Backing::Anon);
    if modes & MODE_MINOR != 0 && !shmem(v) || modes & MODE_WP != 0 && !anon {
        return false;
    }
    anon || shmem(v)
}

impl AddressSpace {
    /// Carries out `op`: `UFFDIO_COPY`, `ZEROPAGE`, `MOVE`, `CONTINUE` and `POISON` return
    /// the bytes done (fewer than asked when a page on the way exists: the error is the
    /// first page's only), the others 0.
    pub fn userfault(&mut self, phys: &mut Frames, op: UffdOp) -> Result<u64, Errno> {
        let r = match op {
            UffdOp::Register {
                ctx,
                start,
                len,
                modes,
            } => self.uffd_register(start, len, Some(Registration { ctx, modes })),
            UffdOp::Unregister { start, len, .. } => self.uffd_register(start, len, None),
            UffdOp::Release { ctx } => {
                let regs: Vec<(u64, u64)> = self
                    .vmas
                    .iter_range(0, TASK_SIZE)
                    .filter(|v| v.uffd.is_some_and(|r| r.ctx == ctx))
                    .map(|v| (v.start, v.end))
                    .collect();
                for (a, b) in regs {
                    self.vmas.for_each_in_mut(a, b, |v| v.uffd = None);
                    self.vmas.merge_range(a, b);
                }
                Ok(0)
            }
            UffdOp::Copy { ctx, dst, data, wp } => {
                let len = data.len() as u64;
                let no_wp = |v: &Vma| !v.uffd.is_some_and(|r| r.modes & MODE_WP != 0);
                if wp && self.vmas.find(dst).is_some_and(no_wp) {
                    return Err(Errno::EINVAL);
                }
                let done = self.fill(phys, ctx, dst, len, false, |phys, vma, vpn, i| {
                    let page = &data[(i * PAGE_SIZE) as usize..][..PAGE_SIZE as usize];
                    Self::new_page(phys, vma, vpn, Some(page))
                })?;
                if wp && done > 0 {
                    self.writeprotect(phys, ctx, dst, done, true)?;
                }
                Ok(done)
            }
            UffdOp::Zeropage { ctx, dst, len } => {
                self.fill(phys, ctx, dst, len, false, |phys, vma, vpn, _| {
                    Self::new_page(phys, vma, vpn, None)
                })
            }
            UffdOp::Continue { ctx, dst, len } => {
                self.fill(phys, ctx, dst, len, true, |phys, vma, vpn, _| {
                    if !in_file(phys, vma, vpn) {
                        return Err(Errno::EFAULT);
                    }
                    let k = vma.file_key().ok_or(Errno::EFAULT)?;
                    if let Some(f) = phys.cache.lookup(k, vma.pgoff(vpn)) {
                        phys.get(f);
                        return Ok(Pte::new(f, false));
                    }
                    let Backing::File { source, .. } = &vma.backing else {
                        return Err(Errno::EFAULT);
                    };
                    let (f, _) = phys.alloc_run(1).ok_or(Errno::ENOMEM)?;
                    if phys
                        .fill_from(f, source.as_ref(), vma.pgoff(vpn) * PAGE_SIZE)
                        .is_err()
                    {
                        phys.put(f);
                        return Err(Errno::EFAULT);
                    }
                    Ok(Self::adopt(phys, vma, vpn, f))
                })
            }
            UffdOp::Poison { ctx, dst, len } => {
                let end = range_end(dst, len)?;
                self.registered(ctx, dst, end)?;
                let (lo, hi) = (dst / PAGE_SIZE, end / PAGE_SIZE);
                for vpn in lo..hi {
                    // A marker costs the kernel memory, as a page-table entry does Linux:
                    // no more of them than there are frames (`ENOMEM`).
                    let r = if self.pt.get(vpn).is_some() || self.poisoned.contains(&vpn) {
                        Err(Errno::EEXIST)
                    } else if self.poisoned.len() as u64 >= phys.total() {
                        Err(Errno::ENOMEM)
                    } else {
                        Ok(())
                    };
                    match r {
                        Ok(()) => self.poisoned.insert(vpn),
                        Err(e) if vpn == lo => return Err(e),
                        Err(_) => return Ok((vpn - lo) * PAGE_SIZE),
                    };
                }
                Ok(len)
            }
            UffdOp::Move {
                ctx,
                dst,
                src,
                len,
                allow_holes,
            } => self.move_pages(phys, ctx, dst, src, len, allow_holes),
            UffdOp::Writeprotect {
                ctx,
                start,
                len,
                wp,
            } => self.writeprotect(phys, ctx, start, len, wp),
        };
        phys.flush();
        r
    }

    /// Registers `[start, start+len)` (`Some`) or unregisters it: every VMA there must
    /// allow it (`EINVAL`), be writable some day (`EPERM`) and not belong to another
    /// context (`EBUSY`); holes are skipped, but some VMA must be there (`EINVAL`).
    fn uffd_register(
        &mut self,
        start: u64,
        len: u64,
        reg: Option<Registration>,
    ) -> Result<u64, Errno> {
        let end = range_end(start, len)?;
        let mut any = false;
        for v in self.vmas.iter_range(start, end) {
            any = true;
            if !can_userfault(v, reg.map_or(0, |r| r.modes)) {
                return Err(Errno::EINVAL);
            }
            if let Some(r) = reg {
                if !v.may_write() {
                    return Err(Errno::EPERM);
                }
                if v.uffd.is_some_and(|u| u.ctx != r.ctx) {
                    return Err(Errno::EBUSY);
                }
            }
        }
        if !any {
            return Err(Errno::EINVAL);
        }
        self.vmas.for_each_in_mut(start, end, |v| v.uffd = reg);
        self.vmas.merge_range(start, end);
        Ok(0)
    }

    /// The VMA holding all of `[start, end)`, registered with `ctx` (`ENOENT` otherwise,
    /// as Linux's `uffd_mfill_lock`).
    fn registered(&self, ctx: u64, start: u64, end: u64) -> Result<Vma, Errno> {
        let v = self.vmas.find(start).ok_or(Errno::ENOENT)?;
        if end > v.end || !v.uffd.is_some_and(|r| r.ctx == ctx) {
            return Err(Errno::ENOENT);
        }
        Ok(v.clone())
    }

    /// Fills the absent pages of `[dst, dst+len)` with what `make` gives for each (page
    /// number, index in the range), mapping them at once; stops at the first page already
    /// there (`EEXIST`), a cached page of a file counting as there unless `cached_ok`
    /// (`UFFDIO_CONTINUE` maps those).
    fn fill(
        &mut self,
        phys: &mut Frames,
        ctx: u64,
        dst: u64,
        len: u64,
        cached_ok: bool,
        mut make: impl FnMut(&mut Frames, &Vma, u64, u64) -> Result<Pte, Errno>,
    ) -> Result<u64, Errno> {
        let end = range_end(dst, len)?;
        let vma = self.registered(ctx, dst, end)?;
        let lo = dst / PAGE_SIZE;
        for vpn in lo..end / PAGE_SIZE {
            let cached = in_file(phys, &vma, vpn);
            let exists = self.pt.get(vpn).is_some() || self.poisoned.contains(&vpn);
            let r = if exists || cached && !cached_ok {
                Err(Errno::EEXIST)
            } else {
                make(phys, &vma, vpn, vpn - lo)
            };
            match r {
                Ok(mut pte) => {
                    let want = Self::effective_prot(&vma, phys, pte);
                    self.host_map(vpn, &mut pte, want);
                }
                Err(e) if vpn == lo => return Err(e),
                Err(_) => return Ok((vpn - lo) * PAGE_SIZE),
            }
        }
        Ok(len)
    }

    /// A new frame for page `vpn` of `vma`, holding `data` (or zeros), in the page cache
    /// for a file.
    fn new_page(phys: &mut Frames, vma: &Vma, vpn: u64, data: Option<&[u8]>) -> Result<Pte, Errno> {
        let charged = vma.charged() && vma.file_key().is_none();
        if !phys.can_alloc(1, charged) {
            return Err(Errno::ENOMEM);
        }
        let (f, _) = phys.alloc_run(1).ok_or(Errno::ENOMEM)?;
        if let Some(d) = data {
            phys.mem.bytes_mut(f.offset(), PAGE_SIZE).copy_from_slice(d);
        }
        Ok(Self::adopt(phys, vma, vpn, f))
    }

    /// `UFFDIO_MOVE` (private anonymous memory): each source page's frame goes to the
    /// destination; a missing source page is `ENOENT` (skipped with `allow_holes`), a
    /// destination page already there `EEXIST`, a frame shared with another space
    /// (copy-on-write after `fork`) `EBUSY`.
    fn move_pages(
        &mut self,
        phys: &mut Frames,
        ctx: u64,
        dst: u64,
        src: u64,
        len: u64,
        allow_holes: bool,
    ) -> Result<u64, Errno> {
        let end = range_end(dst, len)?;
        let src_end = range_end(src, len)?;
        if dst < src_end && src < end {
            return Err(Errno::EINVAL);
        }
        let dvma = self.registered(ctx, dst, end)?;
        let svma = self.vmas.find(src).cloned().ok_or(Errno::ENOENT)?;
        let anon = |v: &Vma| !v.shared && matches!(v.backing, Backing::Anon);
        if src_end > svma.end || !anon(&svma) || !anon(&dvma) || svma.prot != dvma.prot {
            return Err(Errno::EINVAL);
        }
        let (slo, dlo) = (src / PAGE_SIZE, dst / PAGE_SIZE);
        let n = len / PAGE_SIZE;
        // With holes allowed, only the pages present on either side matter (a huge range
        // of holes is no work); without, the first hole ends the move.
        let at: Box<dyn Iterator<Item = u64>> = if allow_holes {
            let present = |lo: u64| {
                self.pt
                    .range(lo, lo + n)
                    .into_iter()
                    .map(move |(v, _)| v - lo)
            };
            let offsets: std::collections::BTreeSet<u64> =
                present(slo).chain(present(dlo)).collect();
            Box::new(offsets.into_iter())
        } else {
            Box::new(0..n)
        };
        for i in at {
            let r = match (self.pt.get(slo + i), self.pt.get(dlo + i)) {
                (_, Some(_)) => Err(Errno::EEXIST),
                (None, None) if allow_holes => continue,
                (None, None) => Err(Errno::ENOENT),
                (Some(p), None) if phys.refcount(p.frame) > 1 => Err(Errno::EBUSY),
                (Some(p), None) => Ok(p),
            };
            match r {
                Ok(mut pte) => {
                    self.pt.remove(slo + i);
                    if pte.host().is_some() {
                        self.mmfd.write(crate::MmOp::Munmap {
                            addr: (slo + i) * PAGE_SIZE,
                            len: PAGE_SIZE,
                        });
                    }
                    let want = Self::effective_prot(&dvma, phys, pte);
                    self.host_map(dlo + i, &mut pte, want);
                }
                Err(e) if i == 0 => return Err(e),
                Err(_) => return Ok(i * PAGE_SIZE),
            }
        }
        Ok(len)
    }

    /// `UFFDIO_WRITEPROTECT`: every VMA of the range must be registered for write
    /// protection with `ctx` (`ENOENT`); the present pages' host mappings follow.
    fn writeprotect(
        &mut self,
        phys: &mut Frames,
        ctx: u64,
        start: u64,
        len: u64,
        wp: bool,
    ) -> Result<u64, Errno> {
        let end = range_end(start, len)?;
        let ours = |v: &Vma| {
            v.uffd
                .is_some_and(|r| r.ctx == ctx && r.modes & MODE_WP != 0)
        };
        if !self.vmas.covered(start, end) || !self.vmas.iter_range(start, end).all(ours) {
            return Err(Errno::ENOENT);
        }
        for (vpn, mut pte) in self.pt.range(start / PAGE_SIZE, end / PAGE_SIZE) {
            if pte.uffd_wp() == wp {
                continue;
            }
            pte.set_uffd_wp(wp);
            self.pt.set(vpn, pte);
            if pte.host().is_some() {
                let vma = self
                    .vmas
                    .find(vpn * PAGE_SIZE)
                    .cloned()
                    .ok_or(Errno::ENOENT)?;
                let want = Self::effective_prot(&vma, phys, pte);
                self.host_map(vpn, &mut pte, want);
            }
        }
        Ok(0)
    }

    /// Whether a fault at page `vpn` of `vma` (registered `reg`) with `access` goes to the
    /// userfaultfd context, and with which `FLAG_*` bits: a missing or minor fault, or a
    /// store to a write-protected page (an access of unknown kind to a page the host maps
    /// read-only for that reason is one).
    pub(crate) fn userfault_of(
        &self,
        phys: &Frames,
        vma: &Vma,
        vpn: u64,
        access: Access,
        reg: Registration,
    ) -> Option<FaultError> {
        if !permits(vma, access) {
            return None;
        }
        if let Some(pte) = self.pt.get(vpn) {
            let store =
                access == Access::Write || access == Access::Unknown && pte.host().is_some();
            return (pte.uffd_wp() && store && reg.modes & MODE_WP != 0).then_some(
                FaultError::Userfault {
                    ctx: reg.ctx,
                    flags: FLAG_WP | FLAG_WRITE,
                },
            );
        }
        let write = if access == Access::Write {
            FLAG_WRITE
        } else {
            0
        };
        let cached = in_file(phys, vma, vpn);
        let flags = match (cached, reg.modes) {
            (false, m) if m & MODE_MISSING != 0 => write,
            (true, m) if m & MODE_MINOR != 0 => write | FLAG_MINOR,
            _ => return None,
        };
        Some(FaultError::Userfault {
            ctx: reg.ctx,
            flags,
        })
    }

    /// Forgets the poisoned pages among `[lo, hi)`.
    pub(crate) fn remove_poison(&mut self, lo: u64, hi: u64) {
        let gone: Vec<u64> = self.poisoned.range(lo..hi).copied().collect();
        for p in gone {
            self.poisoned.remove(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use abi::flags::{MapFlags, Prot};
    use abi::{Errno, UserAddr};

    use super::*;
    use crate::Mm;

    const HUGE: u64 = 1 << 40;

    fn huge(mm: &mut Mm, id: crate::MmId) -> u64 {
        let flags = MapFlags::PRIVATE | MapFlags::ANONYMOUS | MapFlags::NORESERVE;
        mm.mmap(id, UserAddr(0), HUGE, Prot::READ | Prot::WRITE, flags, None)
            .unwrap()
            .0
    }

    #[test]
    fn huge_ranges_cost_what_is_there() {
        let mut mm = Mm::new(16 << 20).unwrap();
        let id = mm.create_space();
        let (dst, src) = (huge(&mut mm, id), huge(&mut mm, id));
        let reg = |start, len, modes| UffdOp::Register {
            ctx: 1,
            start,
            len,
            modes,
        };
        mm.userfault(id, reg(dst, HUGE, MODE_MISSING)).unwrap();
        mm.copy_out(id, UserAddr(src + 4096), b"moved").unwrap();
        let mv = |allow_holes| UffdOp::Move {
            ctx: 1,
            dst,
            src,
            len: HUGE,
            allow_holes,
        };
        assert_eq!(mm.userfault(id, mv(false)), Err(Errno::ENOENT));
        assert_eq!(mm.userfault(id, mv(true)), Ok(HUGE));
        let mut b = [0u8; 5];
        mm.copy_in(id, UserAddr(src + 4096), &mut b).unwrap();
        assert_eq!(&b, &[0; 5], "the source page left");
        let poison = UffdOp::Poison {
            ctx: 1,
            dst: dst + 8192,
            len: HUGE - 8192,
        };
        let done = mm.userfault(id, poison).unwrap();
        assert!(done <= (16 << 20), "markers are bounded: {done}");
        // Not registered, unaligned, empty: ENOENT, EINVAL.
        let zero = |dst, len| UffdOp::Zeropage { ctx: 1, dst, len };
        assert_eq!(mm.userfault(id, zero(src, 4096)), Err(Errno::ENOENT));
        assert_eq!(mm.userfault(id, zero(dst + 1, 4096)), Err(Errno::EINVAL));
        assert_eq!(mm.userfault(id, zero(dst, 0)), Err(Errno::EINVAL));
        assert_eq!(mm.userfault(id, zero(dst + 4096, 4096)), Err(Errno::EEXIST));
        assert_eq!(mm.userfault(id, zero(dst, 2 * 4096)), Ok(4096), "partial");
        assert_eq!(
            mm.userfault(id, reg(dst, 4096, MODE_MINOR)),
            Err(Errno::EINVAL)
        );
        let other = UffdOp::Register {
            ctx: 2,
            start: dst,
            len: 4096,
            modes: MODE_MISSING,
        };
        assert_eq!(mm.userfault(id, other), Err(Errno::EBUSY));
    }
}
