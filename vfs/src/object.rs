//! Open files that are kernel objects implemented outside the vfs (sockets, and whatever
//! else reads, writes and polls without a file system behind it).
//!
//! An object is shared as `Arc<dyn FileObject>` by the open file descriptions that hold it
//! ([`Vfs::open_object`](crate::Vfs::open_object)); the vfs only forwards `read`, `write`,
//! `poll` and `fstat` to it and reports its wait id, so blocking, `poll` and `select` work
//! as for pipes. The owner of the object reaches its own type through
//! [`FileObject::as_any`].

use std::any::Any;
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::{AtomicU64, Ordering};

use abi::structs::Stat;
use abi::Errno;

use crate::pipe::PollEvents;
use crate::Arc;

/// Ids of pipes and objects (wait ids, inode numbers); unique for the life of the process
/// and below the host-stream bit.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh wait id (also fit as an inode number on a synthetic device).
pub fn new_wait_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// A kernel object behind an open file.
///
/// `read` and `write` never block: they return `EAGAIN`, and the syscall layer parks the
/// task on `WaitKey::File(wait_id())` unless the file is non-blocking; whoever changes the
/// object's state wakes that id.
pub trait FileObject: Send + Sync + 'static {
    /// `read(2)`.
    fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno>;
    /// `write(2)`.
    fn write(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno>;
    /// Readiness for `poll`.
    fn poll(&self) -> PollEvents;
    /// What tasks blocked on the object wait for (see [`new_wait_id`]).
    fn wait_id(&self) -> u64;
    /// `fstat`.
    fn stat(&self) -> Stat;
    /// The object as its own type, for calls only its owner knows (`Arc::downcast`).
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}
