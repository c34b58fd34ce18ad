//! Special mappings: pages the kernel itself provides to address spaces (Linux's
//! `_install_special_mapping`), such as the vDSO's code and its data page.
//!
//! Invariants: a special mapping's frames are allocated once, hold the kernel's own reference
//! for as long as [`Mm`] lives (so they are never freed or reused, whatever guests do) and
//! count as `extra` frames in the commit accounting. A VMA backed by them
//! ([`Backing::Special`]) is private, never writable (`mprotect` adding `PROT_WRITE` is
//! `EACCES`, as for Linux's `[vvar]`), shares the frames (no copy is ever made) and is named
//! in [`MapInfo`](crate::MapInfo); a page beyond the frames faults with `SIGBUS`.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use abi::flags::Prot;
use abi::{Errno, UserAddr, PAGE_SIZE};

use crate::frames::Frame;
use crate::layout::{MMAP_MIN_ADDR, TASK_SIZE};
use crate::vma::{Backing, Vma};
use crate::{Mm, MmId};

/// The frames of one special mapping.
#[derive(Debug)]
pub struct SpecialPages {
    name: &'static str,
    frames: Vec<Frame>,
}

impl SpecialPages {
    /// Its name in the maps view (`[vdso]`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its length in bytes (whole pages).
    pub fn len(&self) -> u64 {
        self.frames.len() as u64 * PAGE_SIZE
    }

    /// Whether it has no pages (never: it is made from at least one byte).
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The frame of page `index`, if it has one.
    pub(crate) fn frame(&self, index: u64) -> Option<Frame> {
        self.frames.get(usize::try_from(index).ok()?).copied()
    }
}

impl Mm {
    /// The special mapping called `name`, if it was made.
    pub fn special_named(&self, name: &str) -> Option<Arc<SpecialPages>> {
        self.specials.iter().find(|s| s.name == name).cloned()
    }

    /// The special mapping called `name`, made on first use from `content` (rounded up to
    /// whole pages, the rest zero). `ENOMEM` if physical memory cannot hold it.
    pub fn special(
        &mut self,
        name: &'static str,
        content: &[u8],
    ) -> Result<Arc<SpecialPages>, Errno> {
        if let Some(s) = self.special_named(name) {
            return Ok(s);
        }
        let pages = (content.len() as u64).div_ceil(PAGE_SIZE).max(1);
        if !self.phys.can_alloc(pages, false) {
            return Err(Errno::ENOMEM);
        }
        let mut frames = Vec::new();
        while (frames.len() as u64) < pages {
            let want = (pages - frames.len() as u64) as u32;
            let (first, n) = self.phys.alloc_run(want).ok_or(Errno::ENOMEM)?;
            frames.extend((0..n).map(|i| Frame(first.0 + i)));
        }
        self.phys.add_extra(pages as i64);
        for (chunk, f) in content.chunks(PAGE_SIZE as usize).zip(&frames) {
            self.phys
                .mem
                .bytes_mut(f.offset(), chunk.len() as u64)
                .copy_from_slice(chunk);
        }
        let s = Arc::new(SpecialPages { name, frames });
        self.specials.push(s.clone());
        Ok(s)
    }

    /// Maps all of `pages` at `addr` of space `id` with `prot` (`MAP_FIXED`: what was there
    /// goes). `EACCES` for a writable `prot`.
    pub fn map_special(
        &mut self,
        id: MmId,
        addr: UserAddr,
        pages: &Arc<SpecialPages>,
        prot: Prot,
    ) -> Result<(), Errno> {
        if prot.contains(Prot::WRITE) {
            return Err(Errno::EACCES);
        }
        let start = addr.0;
        let end = start
            .checked_add(pages.len())
            .filter(|&e| e <= TASK_SIZE && start >= MMAP_MIN_ADDR && start % PAGE_SIZE == 0)
            .ok_or(Errno::EINVAL)?;
        let s = self.spaces.get_mut(&id).ok_or(Errno::EINVAL)?;
        s.unmap_range(&mut self.phys, start, end);
        s.vmas.insert(Vma {
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
            backing: Backing::Special {
                pages: pages.clone(),
                index: 0,
            },
        });
        Ok(())
    }

    /// The kernel's view of page `index` of `pages` as 64-bit words it may update while
    /// guests read them (under a sequence count of its own).
    pub fn special_words(&self, pages: &SpecialPages, index: u64) -> Option<&[AtomicU64]> {
        let f = pages.frame(index)?;
        Some(self.phys.mem.words(f.offset(), PAGE_SIZE))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::Access;

    #[test]
    fn shared_read_only_and_kernel_updates_show_through() {
        let mut mm = Mm::new(64 * PAGE_SIZE).expect("mm");
        let content: Vec<u8> = (0..PAGE_SIZE + 8).map(|i| i as u8).collect();
        let pages = mm.special("[test]", &content).expect("special");
        assert_eq!(pages.len(), 2 * PAGE_SIZE);
        let again = mm.special("[test]", b"other").expect("special");
        assert!(Arc::ptr_eq(&pages, &again), "made once");
        let a = mm.create_space();
        let at = UserAddr(0x10_0000);
        mm.map_special(a, at, &pages, Prot::READ | Prot::EXEC)
            .expect("map");
        assert_eq!(
            mm.map_special(a, at, &pages, Prot::READ | Prot::WRITE),
            Err(Errno::EACCES)
        );
        let mut buf = vec![0u8; content.len()];
        mm.copy_in(a, at, &mut buf).expect("read");
        assert_eq!(buf, content);
        assert_eq!(mm.copy_out(a, at, b"x"), Err(Errno::EFAULT));
        assert_eq!(
            mm.mprotect(a, at, PAGE_SIZE, Prot::READ | Prot::WRITE),
            Err(Errno::EACCES)
        );
        assert_eq!(
            mm.handle_fault(a, at, Access::Write, false),
            Err(crate::FaultError::Segv { si_code: 2 })
        );
        let maps = mm.maps(a);
        assert_eq!(maps.len(), 1);
        assert_eq!(maps[0].name, Some("[test]"));

        // A fork shares the frames; the kernel's update is seen by both spaces.
        let b = mm.fork_space(a).expect("fork");
        let words = mm.special_words(&pages, 0).expect("page 0");
        words[0].store(0x1122_3344_5566_7788, Ordering::Release);
        for id in [a, b] {
            let mut w = [0u8; 8];
            mm.copy_in(id, at, &mut w).expect("read");
            assert_eq!(u64::from_ne_bytes(w), 0x1122_3344_5566_7788);
        }
        // Tearing the spaces down leaves the kernel's frames alone.
        let free = mm.stats().free_bytes;
        mm.destroy_space(a);
        mm.destroy_space(b);
        assert_eq!(mm.stats().free_bytes, free);
        let c = mm.create_space();
        mm.map_special(c, at, &pages, Prot::READ).expect("map");
        let mut w = [0u8; 8];
        mm.copy_in(c, at, &mut w).expect("read");
        assert_eq!(u64::from_ne_bytes(w), 0x1122_3344_5566_7788);
        // A page past the frames (the mapping grown by mremap) is SIGBUS.
        let grown = mm
            .mremap(c, at, 2 * PAGE_SIZE, 3 * PAGE_SIZE, 0, UserAddr(0))
            .expect("grow in place");
        assert_eq!(
            mm.handle_fault(c, UserAddr(grown.0 + 2 * PAGE_SIZE), Access::Read, false),
            Err(crate::FaultError::Bus)
        );
    }
}
