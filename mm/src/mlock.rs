//! Memory locks (`mlock`, `mlock2`, `munlock`, `mlockall`, `munlockall`, `MAP_LOCKED`):
//! uml never swaps, so a lock is `VM_LOCKED` on the VMAs, what `VmLck`, smaps' `Locked`
//! and `madvise` see, and the population of the locked pages (the pages are resident, as
//! `mincore` then reports), unless the lock is taken on fault (`MLOCK_ONFAULT`,
//! `MCL_ONFAULT`).

use abi::Errno;

use crate::frames::Frames;
use crate::layout::TASK_SIZE;
use crate::space::AddressSpace;
use crate::PAGE_SIZE;

/// `mlockall` flags.
const MCL_CURRENT: i32 = 1;
const MCL_FUTURE: i32 = 2;
const MCL_ONFAULT: i32 = 4;

impl AddressSpace {
    /// Locks (or unlocks) the pages of `[addr, addr+len)` (widened to pages); every page
    /// must be mapped (`ENOMEM`).
    pub fn mlock(
        &mut self,
        phys: &mut Frames,
        addr: u64,
        len: u64,
        lock: bool,
        onfault: bool,
    ) -> Result<(), Errno> {
        let start = addr & !(PAGE_SIZE - 1);
        let end = addr
            .checked_add(len)
            .and_then(|e| e.checked_add(PAGE_SIZE - 1))
            .map(|e| e & !(PAGE_SIZE - 1))
            .ok_or(Errno::ENOMEM)?;
        if start == end {
            return Ok(());
        }
        if end > TASK_SIZE || !self.vmas.covered(start, end) {
            return Err(Errno::ENOMEM);
        }
        self.vmas.for_each_in_mut(start, end, |v| v.locked = lock);
        self.vmas.merge_range(start, end);
        if lock && !onfault {
            self.populate(phys, start, end);
        }
        Ok(())
    }

    /// `mlockall(flags)`: `MCL_CURRENT` locks every mapping, `MCL_FUTURE` the ones to come
    /// (`MCL_ONFAULT`: without populating them); 0 unlocks everything (`munlockall`).
    pub fn mlockall(&mut self, phys: &mut Frames, flags: i32) -> Result<(), Errno> {
        if flags == 0 {
            self.lock_future = None;
            self.vmas
                .for_each_in_mut(0, TASK_SIZE, |v| v.locked = false);
            self.vmas.merge_range(0, TASK_SIZE);
            return Ok(());
        }
        let known = MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT;
        if flags & !known != 0 || flags & (MCL_CURRENT | MCL_FUTURE) == 0 {
            return Err(Errno::EINVAL);
        }
        let onfault = flags & MCL_ONFAULT != 0;
        if flags & MCL_FUTURE != 0 {
            self.lock_future = Some(onfault);
        }
        if flags & MCL_CURRENT != 0 {
            self.vmas.for_each_in_mut(0, TASK_SIZE, |v| v.locked = true);
            self.vmas.merge_range(0, TASK_SIZE);
            if !onfault {
                self.populate(phys, 0, TASK_SIZE);
            }
        }
        Ok(())
    }

    /// Gives every page of the readable mappings in `[start, end)` a frame, as a read would
    /// (`MAP_POPULATE`, `mlock`); pages that cannot have one (beyond a file's end, no memory)
    /// are left absent.
    pub(crate) fn populate(&mut self, phys: &mut Frames, start: u64, end: u64) {
        let ranges: Vec<(u64, u64)> = self
            .vmas
            .iter_range(start, end)
            .filter(|v| v.readable())
            .map(|v| (v.start.max(start), v.end.min(end)))
            .collect();
        for (s, e) in ranges {
            // The accessible prefix is populated; what is not is left as it is.
            let _ = self.pieces(phys, s, e - s, false, false);
        }
    }
}
