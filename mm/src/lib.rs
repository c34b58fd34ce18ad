//! uml memory management.
//!
//! # What this crate owns
//!
//! - **Physical memory** ([`physmem`]): one sealed, sparse memfd (`uml-phys`, size `--mem`)
//!   mapped once `MAP_SHARED` into the kernel. Guest pages are [`frames::Frame`]s in it.
//! - **Frames** ([`frames`]): O(1) run allocator (free runs + bump), refcounts for sharing
//!   and copy-on-write, and commit accounting (`--mem` is a hard limit).
//! - **Address spaces** ([`space`]): VMAs ([`vma`]) and a page table ([`pagetable`]) per
//!   space, with Linux's `mmap`/`munmap`/`mprotect`/`madvise`/`mseal`/`brk` semantics and errnos.
//! - **Faults** ([`fault`]): demand paging with fault-around, copy-on-write breaks.
//! - **userfaultfd ranges** ([`userfault`]): which VMAs a userfaultfd context registered,
//!   which faults are its to resolve ([`FaultError::Userfault`]: the kernel parks the
//!   thread), and the ioctls that fill, move, poison or write-protect pages for it.
//! - **Special mappings** ([`special`]): frames the kernel provides to every space (the
//!   vDSO and its data page), shared and never writable by guests.
//! - **The page cache** ([`pagecache`]): frames holding file pages, shared by every mapping
//!   of the same file page (`MAP_SHARED` maps them, `MAP_PRIVATE` copies them on write),
//!   dirty tracking and write-back, coherence with `read(2)`/`write(2)` at syscall
//!   boundaries ([`Mm::sync_file`], [`Mm::file_changed`]).
//! - **Futex keys** ([`futex`]): which object a shared futex word lies in (a page-cache
//!   file page, a shared anonymous frame, or memory private to its space), as Linux's
//!   `get_futex_key` finds it.
//! - **User access** ([`uaccess`]): the kernel reads and writes guest memory through its own
//!   mapping of physical memory, never through the guest process (no `process_vm_readv`).
//! - **The `/proc/mm` protocol** ([`procmm`]): each space has an [`MmFd`] into which `mm`
//!   queues [`MmOp`]s (the SKAS3 ops as messages); the runner applies them to the space's
//!   host stub before resuming it. The stub's memory is `mmap(addr, len, prot,
//!   MAP_SHARED|MAP_FIXED, phys_fd, offset)` of physical memory.
//!
//! # Invariants
//!
//! - Every guest address is below [`layout::TASK_SIZE`]; the runner's stub lives above.
//! - After the queued ops are applied, a page is host-mapped iff its page-table entry says so,
//!   with exactly the recorded protection, and that protection never exceeds the VMA's
//!   (minus write for copy-on-write frames and userfaultfd write-protected pages). The host therefore never lets the guest touch a
//!   page it may not.
//! - Free frames read as zero (they are punched out of the memfd when freed).
//! - Committed pages (private writable VMAs, brk) plus frames held by uncharged VMAs and by
//!   the page cache never exceed physical memory, so a fault in a committed VMA always finds a frame; the kernel
//!   itself never runs out of memory or takes SIGBUS because of a guest.
//! - Guest input never panics: bad addresses, lengths or flags come back as [`Errno`] or
//!   [`FaultError`].
//!
//! # Messages
//!
//! mm is a service ([`service`]): every request that changes a space, the frames or the page
//! cache is a [`MmMsg`] (space lifecycle, `mmap`/`munmap`/`mremap`/`mprotect`/`madvise`/`mseal`/
//! `brk`, faults, the page cache's file events, special mappings, taking a space's host ops)
//! answered by a [`MmReply`] from [`Mm::handle`]. The kernel and the syscall handlers hold a
//! [`MmService`], whose typed calls travel as those messages and which logs them with their
//! replies when recording. Guest-memory copies are direct (a view through the page table,
//! as Linux's `copy_from_user`) and logged as [`MmMsg::UserAccess`] with the bytes read.
//! [`replay`] feeds a log to a fresh mm, with stand-ins for the mapped files.
//!
//! [`MmOp`] (host ops, to the runner), [`MmId`], [`Access`] and [`FaultError`] (fault
//! reports and their outcome) derive `Serialize`/`Deserialize` too.
#![deny(unsafe_code)]

pub mod backend;
pub mod fault;
pub mod frames;
pub mod futex;
pub mod host_image;
pub mod layout;
mod mlock;
mod mremap;
pub mod pagecache;
pub mod pagetable;
#[allow(unsafe_code)]
pub mod physmem;
pub mod procmm;
pub mod replay;
mod report;
pub mod service;
pub mod space;
pub mod special;
pub mod uaccess;
pub mod userfault;
pub mod vma;

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::BorrowedFd;
use std::sync::Arc;

use abi::flags::{MapFlags, Prot};
pub use abi::Errno;
pub use abi::{UserAddr, PAGE_SIZE};
use serde::{Deserialize, Serialize};

use frames::Frames;
pub use futex::FutexObject;
pub use pagecache::FileKey;
pub use procmm::{MmFd, MmId, MmOp};
pub use report::VmaReport;
pub use service::{FileIo, MappedFile, MmEntry, MmMsg, MmReply, MmService};
use space::AddressSpace;
use vma::Backing;

/// Host failures while setting up physical memory.
#[derive(Debug, thiserror::Error)]
pub enum MmError {
    /// A host call failed.
    #[error("{what}: {source}")]
    Host {
        /// The failing call.
        what: &'static str,
        /// The host error.
        source: std::io::Error,
    },
    /// The requested memory size is zero or too large.
    #[error("invalid physical memory size {0:#x}")]
    InvalidSize(u64),
}

/// A file whose pages a file mapping reads and writes back (implemented by the syscall
/// crate over vfs files).
pub trait PageSource: Send + Sync {
    /// Fill `dst` from the file at byte `offset`; returns bytes read (short at EOF; the rest
    /// of the page is zeroed by mm).
    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize>;

    /// The file's identity for the page cache; `None`: its pages are not cached (devices),
    /// and it cannot be mapped shared and writable.
    fn key(&self) -> Option<FileKey> {
        None
    }

    /// Writes `src` at byte `offset` (write-back of a dirty page); returns bytes written.
    fn write_at(&self, _offset: u64, _src: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::from_raw_os_error(Errno::EBADF.raw()))
    }

    /// Current size of the file in bytes.
    fn size(&self) -> u64 {
        0
    }

    /// Whether it was opened for writing (a shared mapping of it may become writable).
    fn writable(&self) -> bool {
        false
    }

    /// The implementation behind the trait, for its owner to recognise (`/proc/PID/maps`
    /// names the file of a mapping).
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// The file side of a file mapping.
pub struct FileMapping {
    /// The file.
    pub source: Arc<dyn PageSource>,
    /// Byte offset in the file of the mapping's start (page aligned).
    pub offset: u64,
}

/// The access that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Exec,
    /// Not reported by the trap mechanism.
    Unknown,
}

/// Why a fault could not be resolved: the guest gets SIGSEGV with this si_code
/// (1 = SEGV_MAPERR, 2 = SEGV_ACCERR), or SIGBUS (beyond the end of a mapped file), or is
/// killed (out of memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultError {
    /// SIGSEGV with `si_code`.
    Segv {
        /// `SEGV_MAPERR` (1) or `SEGV_ACCERR` (2).
        si_code: i32,
    },
    /// SIGBUS (`BUS_ADRERR`).
    Bus,
    /// Physical memory is exhausted.
    OutOfMemory,
    /// The fault is a userfaultfd context's to resolve: the kernel reports it and parks
    /// the thread, which retries the access when woken.
    Userfault {
        /// The context.
        ctx: u64,
        /// `UFFD_PAGEFAULT_FLAG_*` bits.
        flags: u32,
    },
}

/// Physical memory usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemStats {
    /// Size of physical memory.
    pub total_bytes: u64,
    /// Bytes in free frames.
    pub free_bytes: u64,
    /// Bytes committed to private writable mappings and brk.
    pub committed_bytes: u64,
}

/// One VMA as `/proc/PID/maps` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapInfo {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// `PROT_*` bits.
    pub prot: u32,
    /// `MAP_SHARED`.
    pub shared: bool,
    /// Locked in memory (`VM_LOCKED`).
    pub locked: bool,
    /// File offset for file mappings, `None` for anonymous memory.
    pub file_offset: Option<u64>,
    /// The name of a special mapping (`[vdso]`).
    #[serde(skip)]
    pub name: Option<&'static str>,
}

/// The address spaces by id (a fast hash: ids are the kernel's own, not the guest's).
pub type Spaces = rustc_hash::FxHashMap<MmId, AddressSpace>;

/// The memory manager: physical memory and every guest address space.
pub struct Mm {
    phys: Frames,
    spaces: Spaces,
    specials: Vec<Arc<special::SpecialPages>>,
    /// How the host realises the spaces.
    backend: Box<dyn backend::Backend>,
    /// The id the next space gets (ids are never reused, and depend on nothing but the
    /// order of requests: a replay gives the same ones).
    next_id: u64,
}

/// What `/proc/PID/maps` shows of a VMA.
pub(crate) fn map_info(v: &vma::Vma) -> MapInfo {
    MapInfo {
        start: v.start,
        end: v.end,
        prot: v.prot.bits(),
        shared: v.shared,
        locked: v.locked,
        file_offset: match &v.backing {
            Backing::Anon | Backing::Special { .. } => None,
            Backing::File { offset, .. } => Some(*offset),
        },
        name: match &v.backing {
            Backing::Special { pages, .. } => Some(pages.name()),
            _ => None,
        },
    }
}

impl Mm {
    /// Physical memory of `mem_bytes` (rounded up to pages): one memfd (`uml-phys`,
    /// `MFD_CLOEXEC|MFD_ALLOW_SEALING`, plus `MFD_EXEC` where the host knows it), sparse,
    /// sealed against grow/shrink/further sealing, mapped once `MAP_SHARED` into the kernel.
    pub fn new(mem_bytes: u64) -> Result<Mm, MmError> {
        let bytes = mem_bytes
            .checked_add(PAGE_SIZE - 1)
            .ok_or(MmError::InvalidSize(mem_bytes))?;
        Ok(Mm {
            phys: Frames::new(bytes / PAGE_SIZE)?,
            spaces: Spaces::default(),
            specials: Vec::new(),
            backend: Box::new(backend::PerProcess),
            next_id: 1,
        })
    }

    /// Realises the spaces in the host with `backend` from now on (before the first space).
    pub fn set_backend(&mut self, backend: Box<dyn backend::Backend>) {
        self.backend = backend;
    }

    /// How the host realises the spaces.
    pub fn backend(&self) -> &dyn backend::Backend {
        &*self.backend
    }

    /// The host ops the runner applies before a thread of `id` runs (see [`backend`]);
    /// `None` if there is no such space.
    pub fn host_ops(&mut self, id: MmId) -> Option<Vec<MmOp>> {
        self.backend.host_ops(&mut self.spaces, &self.phys, id)
    }

    /// The runner's host processes died: nothing is host-mapped any more.
    pub fn host_lost(&mut self) {
        self.backend.host_lost(&mut self.spaces);
    }

    /// The physical-memory memfd, for the runner to map into stubs.
    pub fn phys_fd(&self) -> BorrowedFd<'_> {
        self.phys.mem.fd()
    }

    fn new_id(&mut self) -> MmId {
        let id = MmId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Creates an empty address space with its own [`MmFd`].
    pub fn create_space(&mut self) -> MmId {
        let id = self.new_id();
        self.spaces.insert(id, AddressSpace::new(id));
        id
    }

    /// Creates a copy of `parent` for `fork(2)`: same VMAs and brk; private frames are shared
    /// copy-on-write (the parent's writable host mappings are downgraded to read-only via
    /// queued `Mprotect`s), shared frames are shared (shared anonymous mappings are fully
    /// populated first; shared file pages are the page cache's). The child has nothing host-mapped yet.
    /// `ENOMEM` if the child's commit charge does not fit.
    pub fn fork_space(&mut self, parent: MmId) -> Result<MmId, Errno> {
        let child_id = self.new_id();
        let phys = &mut self.phys;
        let p = self.spaces.get_mut(&parent).ok_or(Errno::EINVAL)?;
        // A shared anonymous mapping's frames are its only copy of the data: every page gets
        // one before the fork, so that parent and child share all of them.
        let shared_anon: Vec<vma::Vma> = p
            .vmas
            .iter()
            .filter(|v| v.shared && matches!(v.backing, Backing::Anon))
            .cloned()
            .collect();
        for v in shared_anon {
            for vpn in v.start / PAGE_SIZE..v.end / PAGE_SIZE {
                if p.pt.get(vpn).is_none() {
                    p.populate_one(phys, &v, vpn).map_err(|_| Errno::ENOMEM)?;
                }
            }
        }
        let charge: u64 = p
            .vmas
            .iter()
            .filter(|v| v.charged())
            .map(|v| v.pages())
            .sum();
        // The child shares every frame: only its commit is new.
        let ptes = p.pt.all();
        if !phys.fits(charge as i64) || !phys.try_charge(charge) {
            return Err(Errno::ENOMEM);
        }
        let mut child = AddressSpace::new(child_id);
        // Memory locks are not inherited, nor userfaultfd registrations (uml has no
        // `UFFD_FEATURE_EVENT_FORK`).
        child.vmas = p.vmas.clone();
        let locked: Vec<(u64, u64)> = child
            .vmas
            .iter()
            .filter(|v| v.locked || v.uffd.is_some())
            .map(|v| (v.start, v.end))
            .collect();
        for (s, e) in locked {
            child.vmas.for_each_in_mut(s, e, |v| {
                v.locked = false;
                v.uffd = None;
            });
            child.vmas.merge_range(s, e);
        }
        child.guards = p.guards.clone();
        child.poisoned = p.poisoned.clone();
        child.brk_start = p.brk_start;
        child.brk = p.brk;
        let mut vma: Option<vma::Vma> = None;
        for (vpn, mut pte) in ptes {
            let addr = vpn * PAGE_SIZE;
            if !vma
                .as_ref()
                .is_some_and(|v| v.start <= addr && addr < v.end)
            {
                vma = p.vmas.find(addr).cloned();
            }
            phys.get(pte.frame);
            let mut cpte = pagetable::Pte::new(pte.frame, pte.extra());
            if pte.extra() {
                phys.extra_get(pte.frame);
            }
            cpte.set_host(None);
            child.pt.set(vpn, cpte);
            if let (Some(v), Some(h)) = (vma.as_ref(), pte.host()) {
                let want = AddressSpace::effective_prot(v, phys, pte);
                if h != want {
                    p.mmfd.write(MmOp::Mprotect {
                        addr,
                        len: PAGE_SIZE,
                        prot: want,
                    });
                    pte.set_host(Some(want));
                    p.pt.set(vpn, pte);
                }
            }
        }
        let id = child.mmfd.id();
        self.spaces.insert(id, child);
        Ok(id)
    }

    /// Destroys a space: frees its frames and returns its [`MmFd`] (with no pending ops) for
    /// the runner to release.
    pub fn destroy_space(&mut self, id: MmId) -> Option<MmFd> {
        let mut s = self.spaces.remove(&id)?;
        s.teardown(&mut self.phys);
        s.mmfd.take_pending();
        Some(s.mmfd)
    }

    /// The space's [`MmFd`].
    pub fn mmfd(&mut self, id: MmId) -> Option<&mut MmFd> {
        self.spaces.get_mut(&id).map(|s| &mut s.mmfd)
    }

    /// `mmap(2)`. `file` is ignored with `MAP_ANONYMOUS`; without it and without a file the
    /// mapping is anonymous. `MAP_LOCKED` and `MAP_POPULATE` give the pages frames
    /// at once, as a read would (Linux breaks copy-on-write of a private writable mapping
    /// there too); `MAP_GROWSDOWN` is accepted.
    pub fn mmap(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        prot: Prot,
        flags: MapFlags,
        file: Option<FileMapping>,
    ) -> Result<UserAddr, Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EINVAL)?;
        s.mmap(&mut self.phys, addr.0, len, prot, flags, file)
            .map(UserAddr)
    }

    /// `munmap(2)`.
    pub fn munmap(&mut self, id: MmId, addr: UserAddr, len: u64) -> Result<(), Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EINVAL)?;
        s.munmap(&mut self.phys, addr.0, len)
    }

    /// `mremap(2)`: the (possibly new) address of the mapping.
    pub fn mremap(
        &mut self,
        id: MmId,
        old: UserAddr,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: UserAddr,
    ) -> Result<UserAddr, Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EINVAL)?;
        s.mremap(&mut self.phys, old.0, old_len, new_len, flags, new_addr.0)
            .map(UserAddr)
    }

    /// `mprotect(2)`.
    pub fn mprotect(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        prot: Prot,
    ) -> Result<(), Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EINVAL)?;
        s.mprotect(&mut self.phys, addr.0, len, prot)
    }

    /// `madvise(2)`.
    pub fn madvise(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        advice: i32,
    ) -> Result<(), Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EINVAL)?;
        s.madvise(&mut self.phys, addr.0, len, advice)
    }

    /// `mlock(2)`, `mlock2(2)` (`onfault`: `MLOCK_ONFAULT`) and, with `lock` false,
    /// `munlock(2)`.
    pub fn mlock(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        lock: bool,
        onfault: bool,
    ) -> Result<(), Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::ENOMEM)?;
        s.mlock(&mut self.phys, addr.0, len, lock, onfault)
    }

    /// `mlockall(2)` with `MCL_*` `flags`; 0 is `munlockall(2)`.
    pub fn mlockall(&mut self, id: MmId, flags: i32) -> Result<(), Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EINVAL)?;
        s.mlockall(&mut self.phys, flags)
    }

    /// `mseal(2)`.
    pub fn mseal(&mut self, id: MmId, addr: UserAddr, len: u64, flags: u64) -> Result<(), Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EINVAL)?;
        s.mseal(addr.0, len, flags)
    }

    /// A userfaultfd request on space `id` (see [`userfault`]): bytes done, or 0.
    pub fn userfault(&mut self, id: MmId, op: userfault::UffdOp) -> Result<u64, Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::ESRCH)?;
        s.userfault(&mut self.phys, op)
    }

    /// Sets the start of the heap (by the ELF loader: the end of bss; rounded up to a page).
    pub fn set_brk_start(&mut self, id: MmId, start: UserAddr) {
        if let Some(s) = self.spaces.get_mut(&id) {
            let st = start.page_up().map_or(0, |a| a.0);
            s.brk_start = st;
            s.brk = st;
        }
    }

    /// `brk(2)`: returns the new break, or the current one if the request is invalid or
    /// fails.
    pub fn brk(&mut self, id: MmId, addr: UserAddr) -> UserAddr {
        match self.spaces.get_mut(&id) {
            Some(s) => UserAddr(s.brk(&mut self.phys, addr.0)),
            None => UserAddr::NULL,
        }
    }

    /// Resolves a guest page fault at `addr`; `present` is false when the host had no
    /// mapping (SEGV_MAPERR), true when it had one that forbade the access (SEGV_ACCERR).
    /// Queues the resulting host ops into the space's [`MmFd`].
    pub fn handle_fault(
        &mut self,
        id: MmId,
        addr: UserAddr,
        access: Access,
        present: bool,
    ) -> Result<(), FaultError> {
        let s = self
            .spaces
            .get_mut(&id)
            .ok_or(FaultError::Segv { si_code: 1 })?;
        s.fault(&mut self.phys, addr.0, access, present)
    }

    /// Copies guest memory at `addr` into `buf`; `EFAULT` if any byte is not readable.
    pub fn copy_in(&mut self, id: MmId, addr: UserAddr, buf: &mut [u8]) -> Result<(), Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EFAULT)?;
        let pieces = s.pieces(&mut self.phys, addr.0, buf.len() as u64, false, true)?;
        self.read_pieces(pieces, buf);
        Ok(())
    }

    /// Copies `buf` to guest memory at `addr`; `EFAULT` if any byte is not writable.
    pub fn copy_out(&mut self, id: MmId, addr: UserAddr, buf: &[u8]) -> Result<(), Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EFAULT)?;
        let pieces = s.pieces(&mut self.phys, addr.0, buf.len() as u64, true, true)?;
        self.write_pieces(pieces, buf);
        Ok(())
    }

    /// Copies between `buf` and the longest accessible prefix of `[addr, addr+len)` in space
    /// `id` as ptrace and `/proc/PID/mem` do (forced: see `AddressSpace::user_frame_as`):
    /// into guest memory with `write`, else out of it; the bytes moved, `EFAULT` if none.
    pub fn access_forced(
        &mut self,
        id: MmId,
        addr: u64,
        buf: &mut [u8],
        write: bool,
    ) -> Result<usize, Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EFAULT)?;
        let pieces = s.pieces_as(&mut self.phys, addr, buf.len() as u64, write, false, true)?;
        let done: u64 = pieces.iter().map(|p| p.1).sum();
        if write {
            self.write_pieces(pieces, buf);
        } else {
            self.read_pieces(pieces, buf);
        }
        Ok(done as usize)
    }

    /// Reads a NUL-terminated string (without the NUL) of at most `max` bytes before the
    /// NUL: `ENAMETOOLONG` if there is no NUL within `max` bytes, `EFAULT` if unreadable.
    pub fn read_cstr(&mut self, id: MmId, addr: UserAddr, max: usize) -> Result<Vec<u8>, Errno> {
        self.read_cstr_scan(id, addr, max).0
    }

    /// [`read_cstr`](Self::read_cstr), and how many bytes from `addr` it touched (through
    /// the NUL, or through the first byte it could not read).
    pub fn read_cstr_scan(
        &mut self,
        id: MmId,
        addr: UserAddr,
        max: usize,
    ) -> (Result<Vec<u8>, Errno>, u64) {
        let Some(s) = self.spaces.get_mut(&id) else {
            return (Err(Errno::EFAULT), 1);
        };
        let mut out = Vec::new();
        let mut at = addr.0;
        let mut vma = None;
        while out.len() < max {
            let in_page = at % PAGE_SIZE;
            let n = ((PAGE_SIZE - in_page) as usize).min(max - out.len());
            let f = match s.user_frame(&mut self.phys, at / PAGE_SIZE, false, &mut vma) {
                Ok(f) => f,
                Err(e) => return (Err(e), out.len() as u64 + 1),
            };
            let bytes = self.phys.mem.bytes(f.offset() + in_page, n as u64);
            if let Some(i) = bytes.iter().position(|&b| b == 0) {
                out.extend_from_slice(&bytes[..i]);
                let scanned = out.len() as u64 + 1;
                return (Ok(out), scanned);
            }
            out.extend_from_slice(bytes);
            at = match at.checked_add(n as u64) {
                Some(a) => a,
                None => return (Err(Errno::EFAULT), out.len() as u64),
            };
        }
        (Err(Errno::ENAMETOOLONG), max as u64)
    }

    /// Writes `bytes` at `addr` of space `id` whatever the protection, as a replay's
    /// stand-in for what the guest had written there before the kernel read it: pages are
    /// found as a read finds them (faulted in where absent); bytes past the readable prefix
    /// are dropped.
    pub fn poke(&mut self, id: MmId, addr: u64, bytes: &[u8]) {
        let Some(s) = self.spaces.get_mut(&id) else {
            return;
        };
        if let Ok(pieces) = s.pieces(&mut self.phys, addr, bytes.len() as u64, false, false) {
            self.write_pieces(pieces, bytes);
        }
    }

    /// Reads physical memory `pieces` (offset, length), in order, into the start of `buf`.
    fn read_pieces(&self, pieces: impl IntoIterator<Item = (u64, u64)>, buf: &mut [u8]) {
        let mut at = 0usize;
        for (off, len) in pieces {
            let n = len as usize;
            buf[at..at + n].copy_from_slice(self.phys.mem.bytes(off, len));
            at += n;
        }
    }

    /// Writes the start of `buf` over physical memory `pieces` (offset, length), in order.
    fn write_pieces(&mut self, pieces: impl IntoIterator<Item = (u64, u64)>, buf: &[u8]) {
        let mut at = 0usize;
        for (off, len) in pieces {
            let n = len as usize;
            self.phys
                .mem
                .bytes_mut(off, len)
                .copy_from_slice(&buf[at..at + n]);
            at += n;
        }
    }

    /// Touches guest memory `[addr, addr+len)` as a kernel copy would (a replayed
    /// [`MmMsg::UserAccess`](service::MmMsg::UserAccess)): the bytes accessible from `addr`
    /// (all of them with `whole`, else the longest accessible prefix).
    pub fn touch(
        &mut self,
        id: MmId,
        addr: u64,
        len: u64,
        write: bool,
        whole: bool,
        force: bool,
    ) -> Result<u64, Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EFAULT)?;
        let pieces = s.pieces_as(&mut self.phys, addr, len, write, whole, force)?;
        Ok(pieces.iter().map(|p| p.1).sum())
    }

    /// Runs `f` over slices of guest memory covering `[addr, addr+len)` directly in physical
    /// memory, for buffers the kernel writes (`read(2)`): needs a writable VMA. Covers the
    /// longest accessible prefix; `EFAULT` if that is empty (`len == 0`: no slices).
    /// Every page of the prefix is faulted in (given a frame), so pass the length the
    /// kernel will actually fill, not a larger guest-supplied maximum.
    pub fn with_user_slices_mut<R>(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        f: impl FnOnce(&mut [IoSliceMut<'_>]) -> R,
    ) -> Result<R, Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EFAULT)?;
        let pieces = s.pieces(&mut self.phys, addr.0, len, true, false)?;
        let mut slices = self.phys.mem.slices_mut(&pieces).ok_or(Errno::EFAULT)?;
        Ok(f(&mut slices))
    }

    /// Runs `f` over slices of guest memory covering `[addr, addr+len)`, for buffers the
    /// kernel reads (`write(2)`). Covers the longest accessible prefix; `EFAULT` if that is
    /// empty (`len == 0`: no slices).
    pub fn with_user_slices<R>(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        f: impl FnOnce(&[IoSlice<'_>]) -> R,
    ) -> Result<R, Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EFAULT)?;
        let pieces = s.pieces(&mut self.phys, addr.0, len, false, false)?;
        let slices = self.phys.mem.slices(&pieces);
        Ok(f(&slices))
    }

    /// Physical memory usage.
    pub fn stats(&self) -> MemStats {
        MemStats {
            total_bytes: self.phys.total() * PAGE_SIZE,
            free_bytes: self.phys.free() * PAGE_SIZE,
            committed_bytes: self.phys.committed() * PAGE_SIZE,
        }
    }

    /// The VMAs of a space, in address order (for `/proc/PID/maps`).
    pub fn maps(&self, id: MmId) -> Vec<MapInfo> {
        let Some(s) = self.spaces.get(&id) else {
            return Vec::new();
        };
        s.vmas.iter().map(map_info).collect()
    }

    /// The current break of a space.
    pub fn current_brk(&self, id: MmId) -> UserAddr {
        self.spaces
            .get(&id)
            .map_or(UserAddr::NULL, |s| UserAddr(s.brk))
    }

    /// Number of pages of a space present in its page table (its resident set).
    pub fn resident_pages(&self, id: MmId) -> u64 {
        self.spaces.get(&id).map_or(0, |s| s.pt.len() as u64)
    }

    /// The largest its resident set has been (a forked space starts at what it copied).
    pub fn peak_resident_pages(&self, id: MmId) -> u64 {
        self.spaces.get(&id).map_or(0, |s| s.pt.peak() as u64)
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_backend;
#[cfg(test)]
mod tests_futex;
#[cfg(test)]
mod tests_pagecache;
#[cfg(test)]
mod tests_service;
