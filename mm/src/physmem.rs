//! Physical memory: one sealed, sparse memfd mapped once `MAP_SHARED` into the kernel.
//!
//! This is the only module of the crate with `unsafe` code. Everything it hands out is a
//! bounds-checked slice of the kernel's mapping; callers never see raw pointers.
//!
//! Concurrency note: the same pages are also mapped into guest stub processes. The kernel only
//! touches a frame while the guest tasks that can reach it are stopped (syscall or fault
//! handling), so the kernel's `&mut [u8]` views are not raced in practice; and even if a
//! misbehaving guest thread races, it can only corrupt its own data (bytes, no kernel
//! pointers live in physical memory).

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::AtomicU64;

use crate::MmError;

/// The kernel's view of physical memory.
pub struct PhysMem {
    fd: OwnedFd,
    base: *mut u8,
    size: u64,
    /// Ranges for the preparing thread (started at the first [`PhysMem::prepare`]).
    preparer: Option<std::sync::mpsc::Sender<(u64, u64)>>,
}

// SAFETY: `base` points to a `MAP_SHARED` mapping owned exclusively by this value (unmapped
// only in `Drop`); all access goes through `&self`/`&mut self` methods that follow Rust's
// borrowing rules, so moving the owner to another thread is sound.
unsafe impl Send for PhysMem {}
// SAFETY: `&PhysMem` only allows reading (shared slices) and host syscalls on the fd; writes
// need `&mut PhysMem`.
unsafe impl Sync for PhysMem {}

fn host_err(what: &'static str) -> MmError {
    MmError::Host {
        what,
        source: std::io::Error::last_os_error(),
    }
}

impl PhysMem {
    /// Creates the memfd (`uml-phys`), sizes it to `size` bytes (sparse), seals it against
    /// grow/shrink/further sealing and maps it into the kernel.
    pub fn new(size: u64) -> Result<PhysMem, MmError> {
        if size == 0 || size % crate::PAGE_SIZE != 0 || size > isize::MAX as u64 {
            return Err(MmError::InvalidSize(size));
        }
        let name = c"uml-phys";
        let base_flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
        // SAFETY: `name` is a valid NUL-terminated string; memfd_create has no memory effects.
        let mut raw = unsafe { libc::memfd_create(name.as_ptr(), base_flags | libc::MFD_EXEC) };
        if raw < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
            // Hosts before 6.3 do not know MFD_EXEC (memfds are executable there anyway).
            // SAFETY: as above.
            raw = unsafe { libc::memfd_create(name.as_ptr(), base_flags) };
        }
        if raw < 0 {
            return Err(host_err("memfd_create"));
        }
        // SAFETY: `raw` is a freshly created fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let len = libc::off_t::try_from(size).map_err(|_| MmError::InvalidSize(size))?;
        // SAFETY: plain syscall on an fd we own.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), len) } < 0 {
            return Err(host_err("ftruncate"));
        }
        let seals = libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
        // SAFETY: plain syscall on an fd we own.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
            return Err(host_err("fcntl(F_ADD_SEALS)"));
        }
        // SAFETY: a fresh shared mapping chosen by the host (addr NULL), backed by our memfd
        // whose size is exactly `size`; it aliases no Rust object.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(host_err("mmap(physmem)"));
        }
        Ok(PhysMem {
            fd,
            base: p.cast(),
            size,
            preparer: None,
        })
    }

    /// Has the host allocate (zeroed) pages for `[off, off+len)` in the background, so that
    /// the first guest touch of a frame there is a cheap minor fault instead of a page
    /// allocation and clearing on the guest's time. Only ever called for frames that are
    /// free or about to be handed out: `fallocate` without flags never changes the data of
    /// a page that exists, so a range that got used (or freed and punched) in the meantime
    /// reads the same afterwards. A best-effort hint: failures are ignored.
    pub fn prepare(&mut self, off: u64, len: u64) {
        self.check(off, len);
        if self.preparer.is_none() {
            let Ok(fd) = self.fd.try_clone() else {
                return;
            };
            let (tx, rx) = std::sync::mpsc::channel::<(u64, u64)>();
            let spawned = std::thread::Builder::new()
                .name("uml-phys-prep".into())
                .spawn(move || {
                    // Only CPU time nobody else wants: the kernel thread, guests and stubs
                    // go first (a fault that finds its frame unprepared just costs the
                    // host's zeroing on the guest's time, as without the preparer).
                    let idle = libc::sched_param { sched_priority: 0 };
                    // SAFETY: changes the calling thread's own policy; `idle` outlives the call.
                    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) };
                    for (off, len) in rx {
                        if let (Ok(o), Ok(l)) =
                            (libc::off_t::try_from(off), libc::off_t::try_from(len))
                        {
                            // SAFETY: plain syscall on our own fd; the range is in bounds.
                            unsafe { libc::fallocate(fd.as_raw_fd(), 0, o, l) };
                        }
                    }
                });
            if spawned.is_err() {
                return;
            }
            self.preparer = Some(tx);
        }
        if let Some(tx) = &self.preparer {
            let _ = tx.send((off, len));
        }
    }

    /// The memfd, for the runner to map into stubs.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn check(&self, off: u64, len: u64) {
        let end = off.checked_add(len);
        assert!(
            end.is_some_and(|e| e <= self.size),
            "physmem access out of bounds: {off:#x}+{len:#x}"
        );
    }

    /// Bytes `[off, off+len)` of physical memory. Panics if out of bounds (offsets come
    /// from the frame allocator, never from the guest).
    pub fn bytes(&self, off: u64, len: u64) -> &[u8] {
        self.check(off, len);
        // SAFETY: in bounds of our live mapping (checked); the shared borrow of `self`
        // prevents kernel-side writes for the slice's lifetime.
        unsafe { std::slice::from_raw_parts(self.base.add(off as usize), len as usize) }
    }

    /// Mutable bytes `[off, off+len)` of physical memory.
    pub fn bytes_mut(&mut self, off: u64, len: u64) -> &mut [u8] {
        self.check(off, len);
        // SAFETY: in bounds (checked); the exclusive borrow of `self` makes this the only
        // kernel-side view for its lifetime.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(off as usize), len as usize) }
    }

    /// Bytes `[off, off+len)` (8-byte aligned) as 64-bit atomics, for data the kernel
    /// updates while guest threads may be reading it (a sequence-counted page). The kernel
    /// never holds a byte slice of such a range at the same time.
    pub fn words(&self, off: u64, len: u64) -> &[AtomicU64] {
        self.check(off, len);
        assert!(off % 8 == 0 && len % 8 == 0, "unaligned physmem words");
        // SAFETY: in bounds of our live mapping (checked) and 8-byte aligned (checked; the
        // mapping itself is page aligned); `AtomicU64` has the size and alignment of `u64`
        // and every bit pattern is valid; atomics may be shared with other threads and
        // processes, which is what they are for.
        unsafe {
            std::slice::from_raw_parts(
                self.base.add(off as usize).cast::<AtomicU64>(),
                (len / 8) as usize,
            )
        }
    }

    /// Copies `len` bytes from `src` to `dst` (non-overlapping ranges, e.g. two frames).
    pub fn copy(&mut self, src: u64, dst: u64, len: u64) {
        self.check(src, len);
        self.check(dst, len);
        assert!(
            src + len <= dst || dst + len <= src,
            "overlapping physmem copy"
        );
        // SAFETY: both ranges are in bounds and disjoint (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.base.add(src as usize),
                self.base.add(dst as usize),
                len as usize,
            )
        }
    }

    /// Shared slices over the `(offset, len)` ranges (overlap allowed).
    pub fn slices(&self, ranges: &[(u64, u64)]) -> Vec<IoSlice<'_>> {
        ranges
            .iter()
            .map(|&(o, l)| IoSlice::new(self.bytes(o, l)))
            .collect()
    }

    /// Mutable slices over the `(offset, len)` ranges, or `None` if two ranges overlap.
    pub fn slices_mut(&mut self, ranges: &[(u64, u64)]) -> Option<Vec<IoSliceMut<'_>>> {
        let mut sorted: Vec<(u64, u64)> = ranges.to_vec();
        sorted.sort_unstable();
        for w in sorted.windows(2) {
            if w[0].0 + w[0].1 > w[1].0 {
                return None;
            }
        }
        for &(o, l) in ranges {
            self.check(o, l);
        }
        let base = self.base;
        Some(
            ranges
                .iter()
                .map(|&(o, l)| {
                    // SAFETY: every range is in bounds of our mapping (checked) and no two
                    // overlap (checked), so the slices are disjoint; they borrow `self`
                    // mutably, so no other kernel-side view exists meanwhile.
                    let s =
                        unsafe { std::slice::from_raw_parts_mut(base.add(o as usize), l as usize) };
                    IoSliceMut::new(s)
                })
                .collect(),
        )
    }

    /// Returns `[off, off+len)` to the host (`fallocate(PUNCH_HOLE|KEEP_SIZE)`); the range
    /// reads as zero afterwards. Falls back to zeroing by hand if the host refuses.
    pub fn release(&mut self, off: u64, len: u64) {
        self.check(off, len);
        let (o, l) = match (libc::off_t::try_from(off), libc::off_t::try_from(len)) {
            (Ok(o), Ok(l)) => (o, l),
            _ => return self.bytes_mut(off, len).fill(0),
        };
        // SAFETY: plain syscall on our own fd; the range is in bounds.
        let r = unsafe {
            libc::fallocate(
                self.fd.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                o,
                l,
            )
        };
        if r < 0 {
            tracing::debug!("punch hole failed: {}", std::io::Error::last_os_error());
            self.bytes_mut(off, len).fill(0);
        }
    }
}

impl Drop for PhysMem {
    fn drop(&mut self) {
        // SAFETY: `base`/`size` describe the mapping created in `new`; no slice can outlive
        // `self` (they all borrow it).
        unsafe {
            libc::munmap(self.base.cast(), self.size as usize);
        }
    }
}
