//! Kernel objects behind a descriptor that have no name in the file system (Linux's anon
//! inodes: eventfd, epoll, timerfd; sockets): an [`OpenFile`](crate::OpenFile) of this kind
//! holds an `Arc<dyn FileObject>` and hands read, write, readiness and `fstat` to it.
//!
//! Blocking follows the pipes' rules: an object that cannot complete a read or write now
//! returns `EAGAIN`; the syscall layer then parks the task on the object's
//! [`wait_id`](FileObject::wait_id) (unless `O_NONBLOCK`), and whoever changes the object
//! wakes that id. What a task waiting for readiness sleeps on is a [`WaitSet`].

use std::any::Any;
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use abi::structs::Stat;
use abi::Errno;

use crate::{FileRef, PollEvents};

/// Wait ids (pipes and objects; pipes also use theirs as inode numbers): unique for the
/// life of the process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh wait id.
pub fn new_wait_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Synthetic `st_dev` of anon inodes ("anon_inodefs").
const ANON_INODE_DEV: (u32, u32) = (0, 0x0f);

/// What a task waiting for files to become ready sleeps on.
#[derive(Default)]
pub struct WaitSet {
    /// Wait ids whose wake-up may change the readiness.
    pub ids: Vec<u64>,
    /// Wait ids waited on exclusively (`EPOLLEXCLUSIVE`): a wake-up of one of them wakes
    /// only one of its exclusive waiters (and every ordinary one).
    pub exclusive: Vec<u64>,
    /// Host streams the kernel is to watch (they wake their own wait id).
    pub host: Vec<FileRef>,
    /// When a file becomes ready by itself (a timer's expiry).
    pub deadline: Option<Instant>,
    /// Signals (a mask) whose arrival also wakes the waiter, even while blocked
    /// (signalfd).
    pub signals: u64,
}

/// What readiness may depend on about the task that asks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Poller {
    /// Its pending signals (a signalfd is readable when one of its mask is).
    pub signals: u64,
}

impl WaitSet {
    /// Also wakes at `at`.
    pub fn wake_at(&mut self, at: Instant) {
        self.deadline = Some(self.deadline.map_or(at, |d| d.min(at)));
    }
}

/// A kernel object used through a descriptor.
pub trait FileObject: Any + Send + Sync {
    /// `read`: `EAGAIN` when it would block, `EINVAL` if the object is not readable.
    fn read(&self, _bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// `write`: `EAGAIN` when it would block, `EINVAL` if the object is not writable.
    fn write(&self, _bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// Readiness now, for task `who`.
    fn poll(&self, who: &Poller) -> PollEvents;

    /// The id tasks blocked on this object sleep on.
    fn wait_id(&self) -> u64;

    /// Whether `epoll` can watch it (Linux: whether its file has a `poll` operation; a
    /// file system context has none, `EPERM`).
    fn can_poll(&self) -> bool {
        true
    }

    /// Adds what a task waiting for this object's readiness sleeps on (by default its
    /// wait id).
    fn waits(&self, ws: &mut WaitSet) {
        ws.ids.push(self.wait_id());
    }

    /// A host descriptor behind the object (a `--net host` socket), which the kernel
    /// watches while tasks wait for the object, and whether they wait to write.
    fn host_watch(&self) -> Option<(std::os::fd::BorrowedFd<'_>, bool)> {
        None
    }

    /// Whether a blocking write goes on until all of it is written (stream sockets, as
    /// pipes); otherwise one write call is one transfer (eventfd).
    fn write_waits_for_all(&self) -> bool {
        false
    }

    /// `lseek`: anon inodes ignore it and return 0 (Linux's `noop_llseek`); sockets say
    /// `ESPIPE`.
    fn lseek(&self) -> Result<u64, Errno> {
        Ok(0)
    }

    /// Whether opening its `/proc/PID/fd` link (or a link to it) opens it again (a
    /// namespace file); other objects are `ENXIO` there.
    fn reopens(&self) -> bool {
        false
    }

    /// `FIONREAD`: bytes readable now (`ENOTTY` for objects without it).
    fn fionread(&self) -> Result<i32, Errno> {
        Err(Errno::ENOTTY)
    }

    /// Lines `/proc/PID/fdinfo/N` adds for the object (inotify's watches).
    fn fdinfo(&self) -> String {
        String::new()
    }

    /// `fstat`: an anonymous inode by default.
    fn stat(&self) -> Stat {
        anon_inode_stat(self.wait_id())
    }
}

/// Readiness of an object with no poll of its own (Linux's `DEFAULT_POLLMASK`): readable
/// and writable.
pub fn default_pollmask() -> PollEvents {
    PollEvents {
        readable: true,
        writable: true,
        ..PollEvents::default()
    }
}

/// The `fstat` of an anonymous inode numbered `ino`: mode 0600 with no file type, as
/// Linux's anon inodes.
pub fn anon_inode_stat(ino: u64) -> Stat {
    Stat {
        st_dev: abi::structs::makedev(ANON_INODE_DEV.0, ANON_INODE_DEV.1),
        st_ino: ino,
        st_nlink: 1,
        st_mode: 0o600,
        st_blksize: 4096,
        ..Stat::default()
    }
}

/// Copies the first bytes of `bufs` into `out`; returns how many there were.
pub fn gather(bufs: &[IoSlice<'_>], out: &mut [u8]) -> usize {
    let mut n = 0;
    for b in bufs {
        let k = b.len().min(out.len() - n);
        out[n..n + k].copy_from_slice(&b[..k]);
        n += k;
    }
    n
}

/// Appends the bytes of `bufs` to `out` (a new buffer need not be zeroed first, as for a
/// [`gather`]).
pub fn append(out: &mut Vec<u8>, bufs: &[IoSlice<'_>]) {
    out.reserve(iov_len(bufs));
    for b in bufs {
        out.extend_from_slice(b);
    }
}

/// Copies `src` into the first bytes of `bufs`; returns how many fit.
pub fn scatter(bufs: &mut [IoSliceMut<'_>], src: &[u8]) -> usize {
    let mut n = 0;
    for b in bufs.iter_mut() {
        let k = b.len().min(src.len() - n);
        b[..k].copy_from_slice(&src[n..n + k]);
        n += k;
    }
    n
}

/// Total length of `bufs`.
pub fn iov_len(bufs: &[IoSlice<'_>]) -> usize {
    bufs.iter().fold(0usize, |a, b| a.saturating_add(b.len()))
}

/// Total length of `bufs`.
pub fn iov_len_mut(bufs: &[IoSliceMut<'_>]) -> usize {
    bufs.iter().fold(0usize, |a, b| a.saturating_add(b.len()))
}
