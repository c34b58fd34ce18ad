//! What a shared futex word is attached to (Linux's `get_futex_key` for `FLAGS_SHARED`).
//!
//! A futex without `FUTEX_PRIVATE_FLAG` attaches to the object behind the word's page, so
//! that every process mapping that page finds the same futex:
//! - a page of the page cache (a shared file mapping, memfd, tmpfs or `/dev/shm` file, or a
//!   private mapping of a file the guest may not write and has not copied): the file and
//!   the word's byte offset in it;
//! - a frame of shared anonymous memory (`MAP_SHARED|MAP_ANONYMOUS`, inherited over fork):
//!   uml's shared anonymous object has no identity beyond its frames, which are never
//!   copied on write, moved or given up while mapped, so the frame is the page's identity;
//! - any other page (private anonymous memory, a private file page already copied, a
//!   private writable file mapping, which Linux copies on the futex lookup itself) is the
//!   address space's own: the key stays (address space, address).
//!
//! The page is faulted in as Linux's `get_user_pages` does; an address with no mapping, a
//! mapping the guest may not read (or write, when `write` is asked), a page beyond the end
//! of its file, a kernel page (the vDSO) or a read-only private anonymous page is `EFAULT`.

use abi::{Errno, UserAddr, PAGE_SIZE};

use crate::fault::permits;
use crate::vma::Backing;
use crate::{Access, FileKey, Mm, MmId};

/// The object a futex word lies in ([`Mm::futex_object`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FutexObject {
    /// Memory private to the address space: the futex is keyed by (space, address).
    Private,
    /// A page-cache page of this file; `offset` is the word's byte offset in the file.
    File {
        /// The file.
        file: FileKey,
        /// The word's offset in the file.
        offset: u64,
    },
    /// A frame of shared anonymous memory; `offset` is the word's offset in the page.
    SharedAnon {
        /// The frame's offset in physical memory.
        page: u64,
        /// The word's offset in the page.
        offset: u64,
    },
}

impl Mm {
    /// The object the (4-byte aligned) futex word at `addr` of space `id` lies in, faulting
    /// its page in. `write`: the futex operation writes the word (`FUTEX_WAKE_OP`'s second
    /// word, the PI operations), so the mapping must be writable.
    pub fn futex_object(
        &mut self,
        id: MmId,
        addr: UserAddr,
        write: bool,
    ) -> Result<FutexObject, Errno> {
        let s = self.spaces.get_mut(&id).ok_or(Errno::EFAULT)?;
        let v = s.vmas.find(addr.0).cloned().ok_or(Errno::EFAULT)?;
        let access = if write { Access::Write } else { Access::Read };
        if !permits(&v, Access::Read) || !permits(&v, access) {
            return Err(Errno::EFAULT);
        }
        if matches!(v.backing, Backing::Special { .. }) {
            return Err(Errno::EFAULT);
        }
        let vpn = addr.0 / PAGE_SIZE;
        let in_page = addr.0 % PAGE_SIZE;
        let mut found = Some(v.clone());
        let frame = s.user_frame(&mut self.phys, vpn, false, &mut found)?;
        if !v.shared && v.writable() {
            return Ok(FutexObject::Private);
        }
        match (&v.backing, v.file_key()) {
            (Backing::File { .. }, Some(file)) if self.phys.cache.contains(frame) => {
                Ok(FutexObject::File {
                    file,
                    offset: v.pgoff(vpn) * PAGE_SIZE + in_page,
                })
            }
            (Backing::Anon, _) if v.shared => Ok(FutexObject::SharedAnon {
                page: frame.offset(),
                offset: in_page,
            }),
            // A read-only private copy: it never changes, so it makes no futex.
            _ => Err(Errno::EFAULT),
        }
    }
}
