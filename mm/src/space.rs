//! One guest address space: VMAs, page table, brk, and its [`MmFd`]; the Linux semantics of
//! `mmap`, `munmap`, `mprotect`, `madvise` and `brk`.

use abi::flags::{madv, MapFlags, Prot};
use abi::Errno;

use crate::frames::Frames;
use crate::layout::{MAX_MAP_COUNT, MMAP_BASE, MMAP_MIN_ADDR, TASK_SIZE};
use crate::pagetable::{PageTable, Pte};
use crate::procmm::{MmFd, MmOp};
use crate::vma::{charged_with, Backing, Vma, VmaTree};
use crate::{FileMapping, PAGE_SIZE};

const RWX: u32 = 7;

/// One address space.
pub struct AddressSpace {
    /// Its host realisation.
    pub mmfd: MmFd,
    /// Mappings.
    pub vmas: VmaTree,
    /// Guest page → frame.
    pub pt: PageTable,
    /// Start of the heap.
    pub brk_start: u64,
    /// Current break (unaligned, as the guest set it).
    pub brk: u64,
    /// Sequential first touch of private anonymous memory: the page just past the last
    /// window populated, and that window's size in pages.
    pub(crate) fault_seq: (u64, u64),
    /// `mlockall(MCL_FUTURE)`: new mappings are locked (populated unless `Some(true)`,
    /// `MCL_ONFAULT`).
    pub lock_future: Option<bool>,
    /// Guard pages (`MADV_GUARD_INSTALL`): any access is `SIGSEGV`, never populated.
    pub guards: std::collections::BTreeSet<u64>,
    /// Poisoned pages (`UFFDIO_POISON`): any access is `SIGBUS`.
    pub poisoned: std::collections::BTreeSet<u64>,
}

fn page_up(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(|x| x & !(PAGE_SIZE - 1))
}

fn aligned(v: u64) -> bool {
    v % PAGE_SIZE == 0
}

/// The end of the page-aligned range `[addr, addr+len)` a range call acts on (`mprotect`,
/// `mseal`, guard pages): `EINVAL` for an unaligned start, `overflow` for a length that
/// wraps, `None` for an empty range.
fn page_range(addr: u64, len: u64, overflow: Errno) -> Result<Option<u64>, Errno> {
    if !aligned(addr) {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(overflow)?;
    let end = addr.checked_add(len).ok_or(overflow)?;
    Ok((len != 0).then_some(end))
}

impl AddressSpace {
    /// An empty address space called `id`.
    pub fn new(id: crate::MmId) -> AddressSpace {
        AddressSpace {
            mmfd: MmFd::open(id),
            vmas: VmaTree::default(),
            pt: PageTable::default(),
            brk_start: 0,
            brk: 0,
            fault_seq: (0, 0),
            lock_future: None,
            guards: Default::default(),
            poisoned: Default::default(),
        }
    }

    /// Nothing of the space is host-mapped any more (its host process was rewritten or
    /// lost): every page faults in again.
    pub fn forget_host(&mut self) {
        for (vpn, mut pte) in self.pt.all() {
            if pte.host().is_some() {
                pte.set_host(None);
                self.pt.set(vpn, pte);
            }
        }
    }

    /// The protection page `pte` of `vma` must have in the host: the VMA's, minus write for
    /// a private frame shared copy-on-write, for a clean page-cache page of a shared
    /// mapping (so that the first store marks it dirty) and for a page a userfaultfd
    /// write-protected.
    pub fn effective_prot(vma: &Vma, phys: &Frames, pte: Pte) -> u32 {
        let mut p = vma.prot.bits() & RWX;
        let write_protect = pte.uffd_wp()
            || if vma.shared {
                phys.cache.dirty(pte.frame) == Some(false)
            } else {
                phys.refcount(pte.frame) > 1
            };
        if write_protect {
            p &= !Prot::WRITE.bits();
        }
        p
    }

    /// Queues a host mapping of page `vpn` to its frame with `prot`, and records it.
    pub fn host_map(&mut self, vpn: u64, pte: &mut Pte, prot: u32) {
        self.mmfd.write(MmOp::Mmap {
            addr: vpn * PAGE_SIZE,
            len: PAGE_SIZE,
            prot,
            offset: pte.frame.offset(),
        });
        pte.set_host(Some(prot));
        self.pt.set(vpn, *pte);
    }

    /// Drops the pages `[lo, hi)` (page numbers): frames are released and the host mapping
    /// is removed.
    pub fn drop_pages(&mut self, phys: &mut Frames, lo: u64, hi: u64) {
        let mut host: Option<(u64, u64)> = None;
        for (vpn, _) in self.pt.range(lo, hi) {
            let Some(pte) = self.pt.remove(vpn) else {
                continue;
            };
            if pte.extra() {
                phys.extra_put(pte.frame);
            }
            phys.put(pte.frame);
            if pte.host().is_some() {
                host = Some(host.map_or((vpn, vpn + 1), |(a, _)| (a, vpn + 1)));
            }
        }
        if let Some((a, b)) = host {
            self.mmfd.write(MmOp::Munmap {
                addr: a * PAGE_SIZE,
                len: (b - a) * PAGE_SIZE,
            });
        }
    }

    /// Removes every mapping in `[start, end)` (both page aligned).
    pub fn unmap_range(&mut self, phys: &mut Frames, start: u64, end: u64) {
        self.remove_guards(start / PAGE_SIZE, end / PAGE_SIZE);
        self.remove_poison(start / PAGE_SIZE, end / PAGE_SIZE);
        for v in self.vmas.remove_range(start, end) {
            if v.charged() {
                phys.uncharge(v.pages());
            }
        }
        self.drop_pages(phys, start / PAGE_SIZE, end / PAGE_SIZE);
        phys.flush();
    }

    fn charged_pages_in(&self, start: u64, end: u64) -> u64 {
        self.vmas
            .iter_range(start, end)
            .filter(|v| v.charged())
            .map(|v| (v.end.min(end) - v.start.max(start)) / PAGE_SIZE)
            .sum()
    }

    /// `mmap(2)`.
    pub fn mmap(
        &mut self,
        phys: &mut Frames,
        addr: u64,
        len: u64,
        prot: Prot,
        flags: MapFlags,
        file: Option<FileMapping>,
    ) -> Result<u64, Errno> {
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let maptype = flags.bits() & MapFlags::SHARED_VALIDATE.bits();
        if maptype == 0 {
            return Err(Errno::EINVAL);
        }
        let mut shared = maptype != MapFlags::PRIVATE.bits();
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        if len > TASK_SIZE - MMAP_MIN_ADDR || self.vmas.len() > MAX_MAP_COUNT {
            return Err(Errno::ENOMEM);
        }
        let file = if flags.contains(MapFlags::ANONYMOUS) {
            None
        } else {
            file
        };
        let mut no_maywrite = false;
        let backing = match file {
            None => Backing::Anon,
            Some(f) => {
                if !aligned(f.offset) {
                    return Err(Errno::EINVAL);
                }
                if f.offset.checked_add(len).is_none() {
                    return Err(Errno::EOVERFLOW);
                }
                if shared && f.source.key().is_none() {
                    if prot.contains(Prot::WRITE) {
                        return Err(Errno::ENODEV);
                    }
                    // A file without a page-cache identity (a device) is only shared
                    // read-only, which behaves as a private mapping; from a descriptor
                    // opened read-only it can never become writable, as in Linux.
                    shared = false;
                    no_maywrite = !f.source.writable();
                }
                Backing::File {
                    source: f.source,
                    offset: f.offset,
                }
            }
        };
        let fixed = flags.intersects(MapFlags::FIXED | MapFlags::FIXED_NOREPLACE);
        let start = if fixed {
            if !aligned(addr) {
                return Err(Errno::EINVAL);
            }
            let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
            if end > TASK_SIZE {
                return Err(Errno::ENOMEM);
            }
            if addr < MMAP_MIN_ADDR {
                return Err(Errno::EPERM);
            }
            if flags.contains(MapFlags::FIXED_NOREPLACE) && self.vmas.overlaps(addr, end) {
                return Err(Errno::EEXIST);
            }
            self.vmas.check_unsealed(addr, end)?;
            addr
        } else {
            let hint = addr & !(PAGE_SIZE - 1);
            let hint_ok = hint >= MMAP_MIN_ADDR
                && hint.checked_add(len).is_some_and(|e| e <= TASK_SIZE)
                && !self.vmas.overlaps(hint, hint + len);
            if hint_ok {
                hint
            } else {
                self.vmas
                    .find_gap_topdown(MMAP_MIN_ADDR, MMAP_BASE, len)
                    .or_else(|| self.vmas.find_gap_topdown(MMAP_BASE, TASK_SIZE, len))
                    .ok_or(Errno::ENOMEM)?
            }
        };
        let end = start + len;
        let vma = Vma {
            start,
            end,
            prot: prot & (Prot::READ | Prot::WRITE | Prot::EXEC),
            shared,
            noreserve: flags.contains(MapFlags::NORESERVE),
            sealed: false,
            locked: flags.contains(MapFlags::LOCKED) || self.lock_future.is_some(),
            growsdown: flags.contains(MapFlags::GROWSDOWN),
            no_maywrite,
            uffd: None,
            backing,
        };
        if vma.charged() {
            let freed = self.charged_pages_in(start, end);
            let need = vma.pages() as i64 - freed as i64;
            if !phys.fits(need) {
                return Err(Errno::ENOMEM);
            }
        }
        self.unmap_range(phys, start, end);
        if vma.charged() && !phys.try_charge(vma.pages()) {
            return Err(Errno::ENOMEM);
        }
        // Locked memory (unless `MCL_ONFAULT`) and `MAP_POPULATE` (unless `MAP_NONBLOCK`, as
        // Linux's `do_mmap`) get their pages now.
        let populate = vma.locked && self.lock_future != Some(true)
            || flags.contains(MapFlags::POPULATE) && !flags.contains(MapFlags::NONBLOCK);
        self.vmas.insert(vma);
        self.vmas.merge_range(start, end);
        if populate {
            self.populate(phys, start, end);
        }
        Ok(start)
    }

    /// `munmap(2)`.
    pub fn munmap(&mut self, phys: &mut Frames, addr: u64, len: u64) -> Result<(), Errno> {
        if !aligned(addr) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        if addr > TASK_SIZE || len > TASK_SIZE - addr {
            return Err(Errno::EINVAL);
        }
        self.vmas.check_unsealed(addr, addr + len)?;
        // Unmapping the middle of a mapping makes one more: not past the limit (going
        // past it while other changes free mappings is allowed, as in Linux).
        if self.vmas.len() >= MAX_MAP_COUNT
            && self
                .vmas
                .find(addr)
                .is_some_and(|v| v.start < addr && addr + len < v.end)
        {
            return Err(Errno::ENOMEM);
        }
        self.unmap_range(phys, addr, addr + len);
        Ok(())
    }

    /// `MADV_GUARD_INSTALL` (`install`) and `MADV_GUARD_REMOVE` over `[addr, addr+len)`:
    /// installing drops the pages and makes every access `SIGSEGV` (not in locked or
    /// kernel-provided mappings: `EINVAL`); removing leaves the pages absent, to be
    /// populated afresh. A gap in the range is `ENOMEM`, after the mapped part is done.
    fn guard(
        &mut self,
        phys: &mut Frames,
        addr: u64,
        len: u64,
        install: bool,
    ) -> Result<(), Errno> {
        let Some(end) = page_range(addr, len, Errno::EINVAL)? else {
            return Ok(());
        };
        let pieces: Vec<(u64, u64)> = self
            .vmas
            .iter_range(addr, end)
            .map(|v| (v.start.max(addr) / PAGE_SIZE, v.end.min(end) / PAGE_SIZE))
            .collect();
        if install {
            let bad = |v: &Vma| v.locked || matches!(v.backing, Backing::Special { .. });
            if self.vmas.iter_range(addr, end).any(bad) {
                return Err(Errno::EINVAL);
            }
            for &(lo, hi) in &pieces {
                self.drop_pages(phys, lo, hi);
                self.guards.extend(lo..hi);
            }
            phys.flush();
        } else {
            for &(lo, hi) in &pieces {
                self.remove_guards(lo, hi);
            }
        }
        if end <= TASK_SIZE && self.vmas.covered(addr, end) {
            Ok(())
        } else {
            Err(Errno::ENOMEM)
        }
    }

    /// Forgets the guard pages among `[lo, hi)`.
    fn remove_guards(&mut self, lo: u64, hi: u64) {
        if self.guards.range(lo..hi).next().is_some() {
            let gone: Vec<u64> = self.guards.range(lo..hi).copied().collect();
            for g in gone {
                self.guards.remove(&g);
            }
        }
    }

    /// `mseal(2)`: seals every VMA in `[addr, addr+len)`, which must all be mapped
    /// (`ENOMEM`); `flags` must be 0.
    pub fn mseal(&mut self, addr: u64, len: u64, flags: u64) -> Result<(), Errno> {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let Some(end) = page_range(addr, len, Errno::EINVAL)? else {
            return Ok(());
        };
        if end > TASK_SIZE || !self.vmas.covered(addr, end) {
            return Err(Errno::ENOMEM);
        }
        self.vmas.for_each_in_mut(addr, end, |v| v.sealed = true);
        self.vmas.merge_range(addr, end);
        Ok(())
    }

    /// `mprotect(2)`.
    pub fn mprotect(
        &mut self,
        phys: &mut Frames,
        addr: u64,
        len: u64,
        prot: Prot,
    ) -> Result<(), Errno> {
        // Linux's order: both grow directions, the range (an empty one is not looked at
        // further), then the other protection bits.
        if prot.contains(Prot::GROWSDOWN | Prot::GROWSUP) {
            return Err(Errno::EINVAL);
        }
        let Some(end) = page_range(addr, len, Errno::ENOMEM)? else {
            return Ok(());
        };
        const PROT_SEM: u32 = 0x8;
        let known = Prot::READ | Prot::WRITE | Prot::EXEC | Prot::GROWSDOWN | Prot::GROWSUP;
        if prot.bits() & !(known.bits() | PROT_SEM) != 0 {
            return Err(Errno::EINVAL);
        }
        if end > TASK_SIZE || !self.vmas.covered(addr, end) {
            return Err(Errno::ENOMEM);
        }
        self.vmas.check_unsealed(addr, end)?;
        let newprot = prot & (Prot::READ | Prot::WRITE | Prot::EXEC);
        // A change inside a mapping splits it: not past the limit.
        let splits = |at: u64| {
            self.vmas
                .find(at)
                .is_some_and(|v| v.start < at && v.prot != newprot)
        };
        if self.vmas.len() >= MAX_MAP_COUNT && (splits(addr) || splits(end)) {
            return Err(Errno::ENOMEM);
        }
        if newprot.contains(Prot::WRITE)
            && self
                .vmas
                .iter_range(addr, end)
                .any(|v| matches!(v.backing, Backing::Special { .. }) || !v.may_write())
        {
            // The kernel's own frames (the vDSO) and a shared mapping of a file opened
            // read-only never become writable.
            return Err(Errno::EACCES);
        }
        // Net change of committed + extra pages.
        let mut delta: i64 = 0;
        for v in self.vmas.iter_range(addr, end) {
            let (s, e) = (v.start.max(addr), v.end.min(end));
            let pages = ((e - s) / PAGE_SIZE) as i64;
            let frames = self.pt.range(s / PAGE_SIZE, e / PAGE_SIZE).len() as i64;
            match (v.charged(), charged_with(v, newprot)) {
                (false, true) => delta += pages - frames,
                (true, false) => delta += frames - pages,
                _ => {}
            }
        }
        if delta > 0 && !phys.fits(delta) {
            return Err(Errno::ENOMEM);
        }
        let mut changes: Vec<(u64, u64, bool, bool)> = Vec::new();
        self.vmas.for_each_in_mut(addr, end, |v| {
            let was = v.charged();
            v.prot = newprot;
            changes.push((v.start, v.end, was, v.charged()));
        });
        for (s, e, was, now) in changes {
            let pages = (e - s) / PAGE_SIZE;
            if was && !now {
                phys.uncharge(pages);
            } else if !was && now && !phys.try_charge(pages) {
                // Cannot happen: `fits` was checked with a larger-or-equal delta.
                tracing::warn!("mprotect charge failed after check");
            }
            let Some(vma) = self.vmas.find(s).cloned() else {
                continue;
            };
            for (vpn, mut pte) in self.pt.range(s / PAGE_SIZE, e / PAGE_SIZE) {
                // Cached frames are accounted by the page cache, never by entries.
                if was != now && !phys.cache.contains(pte.frame) {
                    match (pte.extra(), now) {
                        (true, true) => phys.extra_put(pte.frame),
                        (false, false) => phys.extra_get(pte.frame),
                        _ => {}
                    }
                    pte.set_extra(!now);
                }
                if let Some(h) = pte.host() {
                    let want = Self::effective_prot(&vma, phys, pte);
                    if h != want {
                        self.mmfd.write(MmOp::Mprotect {
                            addr: vpn * PAGE_SIZE,
                            len: PAGE_SIZE,
                            prot: want,
                        });
                        pte.set_host(Some(want));
                    }
                }
                self.pt.set(vpn, pte);
            }
        }
        self.vmas.merge_range(addr, end);
        Ok(())
    }

    /// `madvise(2)`.
    pub fn madvise(
        &mut self,
        phys: &mut Frames,
        addr: u64,
        len: u64,
        advice: i32,
    ) -> Result<(), Errno> {
        if matches!(advice, madv::GUARD_INSTALL | madv::GUARD_REMOVE) {
            return self.guard(phys, addr, len, advice == madv::GUARD_INSTALL);
        }
        let drop = match advice {
            madv::DONTNEED | madv::FREE | madv::REMOVE => true,
            madv::NORMAL
            | madv::RANDOM
            | madv::SEQUENTIAL
            | madv::WILLNEED
            | madv::DONTFORK
            | madv::DOFORK
            | madv::HUGEPAGE
            | madv::NOHUGEPAGE
            | madv::DONTDUMP
            | madv::DODUMP => false,
            // MADV_MERGEABLE/UNMERGEABLE among them, as in a kernel without CONFIG_KSM.
            _ => return Err(Errno::EINVAL),
        };
        if !aligned(addr) {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Ok(());
        }
        // Sealed read-only private anonymous memory is not discarded (Linux's
        // `can_madvise_modify`).
        // Locked memory is not dropped either (`EINVAL`, Linux's `can_madv_lru_vma`).
        if drop && self.vmas.iter_range(addr, end).any(|v| v.locked) {
            return Err(Errno::EINVAL);
        }
        let discards = drop || advice == madv::DONTFORK;
        let sealed_ro_anon =
            |v: &Vma| v.sealed && !v.shared && !v.writable() && matches!(v.backing, Backing::Anon);
        if discards && self.vmas.iter_range(addr, end).any(sealed_ro_anon) {
            return Err(Errno::EPERM);
        }
        let covered = end <= TASK_SIZE && self.vmas.covered(addr, end);
        if drop {
            let pieces: Vec<(u64, u64, bool, bool)> = self
                .vmas
                .iter_range(addr, end)
                .map(|v| {
                    let anon = matches!(v.backing, Backing::Anon);
                    (v.start.max(addr), v.end.min(end), v.shared, anon)
                })
                .collect();
            match advice {
                madv::FREE if pieces.iter().any(|&(_, _, sh, anon)| sh || !anon) => {
                    return Err(Errno::EINVAL)
                }
                madv::REMOVE if pieces.iter().any(|&(_, _, sh, _)| !sh) => {
                    return Err(Errno::EINVAL)
                }
                _ => {}
            }
            for (s, e, shared, anon) in pieces {
                // A shared anonymous mapping's frames are its only copy of the data (no
                // shmem object yet): DONTNEED keeps them, as Linux keeps shmem pages; REMOVE
                // frees them. A shared file page is written back as it leaves its last
                // mapping and read again from the file on the next touch.
                if shared && anon && advice != madv::REMOVE {
                    continue;
                }
                self.drop_pages(phys, s / PAGE_SIZE, e / PAGE_SIZE);
            }
            phys.flush();
        }
        if covered {
            Ok(())
        } else {
            Err(Errno::ENOMEM)
        }
    }

    /// `brk(2)`: returns the new break, or the old one if the request fails.
    pub fn brk(&mut self, phys: &mut Frames, addr: u64) -> u64 {
        if self.brk_start == 0 || addr < self.brk_start {
            return self.brk;
        }
        let (Some(old_top), Some(new_top)) = (page_up(self.brk), page_up(addr)) else {
            return self.brk;
        };
        if new_top > TASK_SIZE {
            return self.brk;
        }
        if new_top > old_top {
            if self.vmas.overlaps(old_top, new_top) {
                return self.brk;
            }
            let vma = Vma {
                start: old_top,
                end: new_top,
                prot: Prot::READ | Prot::WRITE,
                shared: false,
                noreserve: false,
                sealed: false,
                locked: false,
                growsdown: false,
                no_maywrite: false,
                uffd: None,
                backing: Backing::Anon,
            };
            if !phys.try_charge(vma.pages()) {
                return self.brk;
            }
            self.vmas.insert(vma);
            self.vmas.merge_range(old_top, new_top);
        } else if new_top < old_top {
            if self.vmas.check_unsealed(new_top, old_top).is_err() {
                return self.brk;
            }
            self.unmap_range(phys, new_top, old_top);
        }
        self.brk = addr;
        self.brk
    }

    /// Releases everything (the space is being destroyed).
    pub fn teardown(&mut self, phys: &mut Frames) {
        self.unmap_range(phys, 0, TASK_SIZE);
        // Pages outside any VMA cannot exist, but be thorough.
        self.drop_pages(phys, 0, u64::MAX / PAGE_SIZE);
        phys.flush();
    }
}
