//! `mremap(2)`: growing, shrinking and moving a mapping. Moving keeps the frames: page
//! table entries change address, the host mapping of the old range is removed and the new
//! one is made on the next fault. `MREMAP_DONTUNMAP` moves the pages and leaves the old
//! mapping in place, empty (unlocked; anonymous pages read as zero, file pages are read
//! again). A moved range is no longer registered with a userfaultfd (uml has no
//! `UFFD_FEATURE_EVENT_REMAP` to follow it).

use abi::Errno;

use crate::frames::Frames;
use crate::layout::{MMAP_BASE, MMAP_MIN_ADDR, TASK_SIZE};
use crate::space::AddressSpace;
use crate::vma::{Backing, Vma};
use crate::PAGE_SIZE;

/// `MREMAP_*` flags.
const MAYMOVE: u32 = 1;
const FIXED: u32 = 2;
const DONTUNMAP: u32 = 4;

fn page_up(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(|x| x & !(PAGE_SIZE - 1))
}

/// `vma`'s attributes for the range starting at `at` (of `vma`) placed at `start..end`.
fn moved(vma: &Vma, at: u64, start: u64, end: u64) -> Vma {
    let backing = match &vma.backing {
        Backing::Anon => Backing::Anon,
        Backing::File { source, offset } => Backing::File {
            source: source.clone(),
            offset: offset + (at - vma.start),
        },
        Backing::Special { pages, index } => Backing::Special {
            pages: pages.clone(),
            index: index + (at - vma.start) / PAGE_SIZE,
        },
    };
    Vma {
        start,
        end,
        prot: vma.prot,
        shared: vma.shared,
        noreserve: vma.noreserve,
        sealed: vma.sealed,
        locked: vma.locked,
        growsdown: vma.growsdown,
        no_maywrite: vma.no_maywrite,
        uffd: vma.uffd,
        backing,
    }
}

impl AddressSpace {
    /// `mremap(old, old_len, new_len, flags, new_addr)`.
    pub fn mremap(
        &mut self,
        phys: &mut Frames,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> Result<u64, Errno> {
        if flags & !(MAYMOVE | FIXED | DONTUNMAP) != 0
            || flags & (FIXED | DONTUNMAP) != 0 && flags & MAYMOVE == 0
        {
            return Err(Errno::EINVAL);
        }
        if old % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::EINVAL)?;
        let dontunmap = flags & DONTUNMAP != 0;
        if new_len == 0 || old_len == 0 || dontunmap && old_len != new_len {
            return Err(Errno::EINVAL);
        }
        let old_end = old.checked_add(old_len).ok_or(Errno::EFAULT)?;
        // Sealed mappings neither move nor change size (checked, as Linux does, before
        // the mapping is looked at, after a destination's own checks).
        let dest_end = if flags & FIXED != 0 {
            let dest_end = new_addr.checked_add(new_len).ok_or(Errno::EINVAL)?;
            if new_addr % PAGE_SIZE != 0 || new_addr < MMAP_MIN_ADDR || dest_end > TASK_SIZE {
                return Err(Errno::EINVAL);
            }
            if new_addr < old_end && old < dest_end {
                return Err(Errno::EINVAL);
            }
            self.vmas.check_unsealed(new_addr, dest_end)?;
            Some(dest_end)
        } else {
            None
        };
        self.vmas.check_unsealed(old, old_end)?;
        let vma = self.vmas.find(old).cloned().ok_or(Errno::EFAULT)?;
        if old_end > vma.end {
            return Err(Errno::EFAULT);
        }
        if dontunmap && matches!(vma.backing, Backing::Special { .. }) {
            return Err(Errno::EINVAL);
        }
        if let Some(dest_end) = dest_end {
            self.unmap_range(phys, new_addr, dest_end);
            return self.move_range(phys, &vma, old, old_len, new_addr, new_len, dontunmap);
        }
        if !dontunmap && new_len <= old_len {
            if new_len < old_len {
                self.unmap_range(phys, old + new_len, old_end);
            }
            return Ok(old);
        }
        let grow_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
        if !dontunmap
            && old_end == vma.end
            && grow_end <= TASK_SIZE
            && !self.vmas.overlaps(old_end, grow_end)
        {
            let piece = moved(&vma, old_end, old_end, grow_end);
            if piece.charged() && !phys.try_charge(piece.pages()) {
                return Err(Errno::ENOMEM);
            }
            self.vmas.insert(piece);
            self.vmas.merge_range(old, grow_end);
            return Ok(old);
        }
        if flags & MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        let dest = self
            .vmas
            .find_gap_topdown(MMAP_MIN_ADDR, MMAP_BASE, new_len)
            .or_else(|| self.vmas.find_gap_topdown(MMAP_BASE, TASK_SIZE, new_len))
            .ok_or(Errno::ENOMEM)?;
        self.move_range(phys, &vma, old, old_len, dest, new_len, dontunmap)
    }

    /// Moves `[old, old+old_len)` of `vma` to a free `[dest, dest+new_len)`; with
    /// `dontunmap` the old range stays mapped, empty and unlocked.
    #[allow(clippy::too_many_arguments)]
    fn move_range(
        &mut self,
        phys: &mut Frames,
        vma: &Vma,
        old: u64,
        old_len: u64,
        dest: u64,
        new_len: u64,
        dontunmap: bool,
    ) -> Result<u64, Errno> {
        let mut target = moved(vma, old, dest, dest + new_len);
        target.uffd = None;
        if target.charged() && !phys.try_charge(target.pages()) {
            return Err(Errno::ENOMEM);
        }
        let keep = old_len.min(new_len) / PAGE_SIZE;
        let (lo, dlo) = (old / PAGE_SIZE, dest / PAGE_SIZE);
        for (vpn, mut pte) in self.pt.range(lo, lo + keep) {
            self.pt.remove(vpn);
            pte.set_host(None);
            self.pt.set(vpn - lo + dlo, pte);
        }
        // What is left of the old range (pages past new_len) goes, with the VMA piece and
        // its charge; the moved pages' host mappings are removed with it.
        self.mmfd.write(crate::MmOp::Munmap {
            addr: old,
            len: old_len,
        });
        if dontunmap {
            self.vmas
                .for_each_in_mut(old, old + old_len, |v| v.locked = false);
            self.vmas.merge_range(old, old + old_len);
        } else {
            self.unmap_range(phys, old, old + old_len);
        }
        self.vmas.insert(target);
        self.vmas.merge_range(dest, dest + new_len);
        Ok(dest)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use abi::flags::{MapFlags, Prot};
    use abi::{Errno, UserAddr};

    use crate::Mm;

    const RW: Prot = Prot::READ.union(Prot::WRITE);

    fn anon(mm: &mut Mm, id: crate::MmId, len: u64) -> UserAddr {
        mm.mmap(
            id,
            UserAddr(0),
            len,
            RW,
            MapFlags::PRIVATE | MapFlags::ANONYMOUS,
            None,
        )
        .unwrap()
    }

    #[test]
    fn grow_shrink_and_move_keep_contents() {
        let mut mm = Mm::new(64 << 20).unwrap();
        let id = mm.create_space();
        let a = anon(&mut mm, id, 2 * 4096);
        mm.copy_out(id, a, b"first").unwrap();
        mm.copy_out(id, UserAddr(a.0 + 4096), b"second").unwrap();
        // Shrinking stays in place and drops the tail.
        assert_eq!(mm.mremap(id, a, 2 * 4096, 4096, 0, UserAddr(0)).unwrap(), a);
        let mut b = [0u8; 6];
        assert_eq!(
            mm.copy_in(id, UserAddr(a.0 + 4096), &mut b),
            Err(Errno::EFAULT)
        );
        // Something right after it: growing must move.
        let _blocker = mm
            .mmap(
                id,
                UserAddr(a.0 + 4096),
                4096,
                RW,
                MapFlags::PRIVATE | MapFlags::ANONYMOUS | MapFlags::FIXED,
                None,
            )
            .unwrap();
        assert_eq!(
            mm.mremap(id, a, 4096, 3 * 4096, 0, UserAddr(0)),
            Err(Errno::ENOMEM)
        );
        let moved = mm.mremap(id, a, 4096, 3 * 4096, 1, UserAddr(0)).unwrap();
        assert_ne!(moved, a);
        let mut f = [0u8; 5];
        mm.copy_in(id, moved, &mut f).unwrap();
        assert_eq!(&f, b"first");
        let mut z = [1u8; 4];
        mm.copy_in(id, UserAddr(moved.0 + 2 * 4096), &mut z)
            .unwrap();
        assert_eq!(z, [0; 4], "grown part is zero");
        assert_eq!(
            mm.copy_in(id, a, &mut f),
            Err(Errno::EFAULT),
            "old range is gone"
        );
        // Bad calls.
        assert_eq!(
            mm.mremap(id, UserAddr(moved.0 + 1), 4096, 8192, 1, UserAddr(0)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            mm.mremap(id, UserAddr(0x10_0000), 4096, 8192, 1, UserAddr(0)),
            Err(Errno::EFAULT)
        );
        assert_eq!(
            mm.mremap(id, moved, 4096, 8192, 2, UserAddr(0)),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn fixed_move_replaces_the_destination() {
        let mut mm = Mm::new(64 << 20).unwrap();
        let id = mm.create_space();
        let a = anon(&mut mm, id, 4096);
        let d = anon(&mut mm, id, 4096);
        mm.copy_out(id, a, b"payload").unwrap();
        mm.copy_out(id, d, b"old").unwrap();
        assert_eq!(mm.mremap(id, a, 4096, 4096, 3, d).unwrap(), d);
        let mut p = [0u8; 7];
        mm.copy_in(id, d, &mut p).unwrap();
        assert_eq!(&p, b"payload");
    }
}
