//! Pipes: a 64 KiB ring buffer shared by a read end and a write end.
//!
//! The buffer is Linux's: 16 page-sized slots. A write first tops up the last slot with its
//! `len % 4096` odd bytes if they fit there, then fills fresh slots a page at a time, so a
//! write of at most [`PIPE_BUF`] bytes is atomic (all of it, or nothing and `EAGAIN` when no
//! slot is free); a larger write puts in what fits and returns that count (Linux would block
//! for the rest; uml returns the partial count instead, which callers see as a short write).
//! A slot is freed once it has been read empty. Reading an empty pipe gives 0 once no
//! write end is left, `EAGAIN` otherwise; writing with no read end left is `EPIPE`. The
//! `EAGAIN`s are turned into blocking by the syscall layer unless `O_NONBLOCK` is set, using
//! the pipe's [`wait id`](crate::OpenFile::wait_id) (one per pipe, shared by both ends).
//!
//! Ends are counted per open file description: a [`PipeEnd`] lives in one `OpenFile` and
//! drops its count when that is dropped (after its last descriptor is closed). A FIFO
//! ([`fifo`](crate::fifo)) is a pipe whose ends are opened by name, and an end opened
//! read-write is both a reader and a writer. As Linux's `r_counter`/`w_counter`, a pipe
//! counts every reader and writer that ever opened it: an end remembers the count of its
//! partners when it was opened, so a FIFO open knows whether a partner came since, and a
//! reader reports a hangup only once some writer has come and gone. When an end opens
//! while no other is open, what a former set of ends left buffered is dropped.

use std::collections::VecDeque;
use std::io::{IoSlice, IoSliceMut};

use abi::flags::mode::S_IFIFO;
use abi::structs::Stat;
use abi::Errno;
use parking_lot::Mutex;

use crate::tmpfs::Time;
use crate::Arc;

/// Bytes a pipe holds (Linux's default capacity, 16 pages).
pub const PIPE_CAPACITY: usize = SLOTS * PAGE;
/// Writes of at most this many bytes are atomic.
pub const PIPE_BUF: usize = 4096;

/// Largest capacity `F_SETPIPE_SZ` grants (Linux's `/proc/sys/fs/pipe-max-size`).
const PIPE_MAX_SIZE: usize = 1 << 20;

/// Page-sized buffers of a pipe (Linux's `pipe_max_size` default / `PAGE_SIZE`).
const SLOTS: usize = 16;
const PAGE: usize = 4096;

/// Synthetic `st_dev` of pipes ("pipefs").
const PIPEFS_DEV: (u32, u32) = (0, 0x0c);

/// One slot: a page of which `data[off..]` is still unread.
struct Slot {
    data: Vec<u8>,
    off: usize,
}

struct Inner {
    slots: VecDeque<Slot>,
    /// Capacity in slots (`F_SETPIPE_SZ`), a power of two.
    max_slots: usize,
    readers: usize,
    writers: usize,
    /// Readers and writers that ever opened it (Linux's `r_counter`, `w_counter`).
    read_opens: u64,
    write_opens: u64,
    /// Events for the read end (writes, write ends closed) and for the write end (reads,
    /// read ends closed): [`PollEvents::seq`].
    read_events: u64,
    write_events: u64,
    mode: u32,
    atime: Time,
    mtime: Time,
    ctime: Time,
}

impl Inner {
    /// What a read of an empty pipe gets: end of file without writers, else `EAGAIN`.
    fn empty_read(&self) -> Result<usize, Errno> {
        if self.writers == 0 {
            Ok(0)
        } else {
            Err(Errno::EAGAIN)
        }
    }
}

/// The bytes of a vectored write, taken in order a run at a time.
struct Gather<'a> {
    bufs: &'a [IoSlice<'a>],
    /// Offset into `bufs[0]`.
    off: usize,
}

impl<'a> Gather<'a> {
    fn new(bufs: &'a [IoSlice<'a>]) -> Gather<'a> {
        Gather { bufs, off: 0 }
    }

    /// Appends the next `n` bytes (or as many as are left) to `out`.
    fn take_into(&mut self, out: &mut Vec<u8>, mut n: usize) {
        while n > 0 {
            let Some((first, rest)) = self.bufs.split_first() else {
                return;
            };
            let k = (first.len() - self.off).min(n);
            out.extend_from_slice(&first[self.off..self.off + k]);
            n -= k;
            self.off += k;
            if self.off == first.len() {
                self.bufs = rest;
                self.off = 0;
            }
        }
    }
}

/// One pipe.
pub(crate) struct Pipe {
    id: u64,
    uid: u32,
    gid: u32,
    inner: Mutex<Inner>,
}

/// One end of a pipe, owned by an open file description: a read end, a write end, or both
/// (a FIFO opened `O_RDWR`).
pub(crate) struct PipeEnd {
    pub pipe: Arc<Pipe>,
    read: bool,
    write: bool,
    /// When no partner (writer of a read end, reader of a write end) had the pipe open as
    /// this end opened: how many partners had ever opened it then.
    partner_opens: Option<u64>,
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut i = self.pipe.inner.lock();
        if self.write {
            i.writers = i.writers.saturating_sub(1);
            i.read_events += 1;
        }
        if self.read {
            i.readers = i.readers.saturating_sub(1);
            i.write_events += 1;
        }
    }
}

impl PipeEnd {
    /// Readiness of this end. A reader sees a hangup once no writer is left, but not
    /// before a first writer came if there was none when it opened (Linux's `pipe_poll`).
    pub fn poll(&self) -> PollEvents {
        let i = self.pipe.inner.lock();
        let mut ev = PollEvents::default();
        if self.read {
            ev.readable = !i.slots.is_empty();
            ev.hangup = i.writers == 0 && self.partner_came(&i);
            ev.seq = Some(i.read_events);
        }
        if self.write {
            ev.writable = i.slots.len() < i.max_slots;
            ev.error = i.readers == 0;
            ev.seq = Some(ev.seq.unwrap_or(0).wrapping_add(i.write_events));
        }
        ev
    }

    /// Whether a partner had the pipe open when this end opened or has opened it since
    /// (always true for an end that is both): what a blocking FIFO open waits for.
    pub fn has_partner(&self) -> bool {
        self.partner_came(&self.pipe.inner.lock())
    }

    fn partner_came(&self, i: &Inner) -> bool {
        let opens = match (self.read, self.write) {
            (true, false) => i.write_opens,
            (false, true) => i.read_opens,
            _ => return true,
        };
        self.partner_opens.is_none_or(|n| n != opens)
    }
}

/// Readiness of an open file, as `poll` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollEvents {
    /// `POLLIN`: a read would not block.
    pub readable: bool,
    /// `POLLOUT`: a write would not block.
    pub writable: bool,
    /// `POLLHUP`: the other end of a pipe is gone.
    pub hangup: bool,
    /// `POLLERR`: a write end whose readers are all gone.
    pub error: bool,
    /// `POLLRDHUP`: a stream socket whose peer shut down writing (or that shut down
    /// reading).
    pub rdhup: bool,
    /// A count that moves whenever something happens that would wake this file's waiters
    /// (data written for a reader, room made for a writer, the other end closed), for
    /// edge-triggered `epoll`; `None` for files that keep none.
    pub seq: Option<u64>,
}

impl PollEvents {
    /// Always readable and writable (regular files, devices, terminals).
    pub const READY: PollEvents = PollEvents {
        readable: true,
        writable: true,
        hangup: false,
        error: false,
        rdhup: false,
        seq: None,
    };

    /// Readable when `ready`, never writable (a queue of events: inotify, fanotify).
    pub fn readable_if(ready: bool) -> PollEvents {
        PollEvents {
            readable: ready,
            ..PollEvents::default()
        }
    }
}

/// Another end of an existing pipe (a reopened `/proc/PID/fd/N`, a FIFO opened): it reads,
/// writes, or both.
pub(crate) fn open_end(pipe: &Arc<Pipe>, read: bool, write: bool) -> PipeEnd {
    let mut i = pipe.inner.lock();
    if i.readers == 0 && i.writers == 0 {
        // Nobody can read what is left; a new pipe starts empty at the default size.
        i.slots.clear();
        i.max_slots = SLOTS;
    }
    let partner_opens = match (read, write) {
        (true, false) => (i.writers == 0).then_some(i.write_opens),
        (false, true) => (i.readers == 0).then_some(i.read_opens),
        _ => None,
    };
    if read {
        i.readers += 1;
        i.read_opens += 1;
        i.write_events += 1;
    }
    if write {
        i.writers += 1;
        i.write_opens += 1;
        i.read_events += 1;
    }
    PipeEnd {
        pipe: pipe.clone(),
        read,
        write,
        partner_opens,
    }
}

/// A new pipe owned by `uid`/`gid`: its (read end, write end).
pub(crate) fn new_pipe(uid: u32, gid: u32) -> (PipeEnd, PipeEnd) {
    let pipe = Pipe::new(uid, gid);
    (open_end(&pipe, true, false), open_end(&pipe, false, true))
}

impl Pipe {
    /// A pipe with no end open yet (a FIFO's, until it is opened), owned by `uid`/`gid`.
    pub fn new(uid: u32, gid: u32) -> Arc<Pipe> {
        let now = Time::now();
        Arc::new(Pipe {
            id: crate::object::new_wait_id(),
            uid,
            gid,
            inner: Mutex::new(Inner {
                slots: VecDeque::new(),
                max_slots: SLOTS,
                readers: 0,
                writers: 0,
                read_opens: 0,
                write_opens: 0,
                read_events: 0,
                write_events: 0,
                mode: S_IFIFO | 0o600,
                atime: now,
                mtime: now,
                ctime: now,
            }),
        })
    }

    /// Whether some end reads it (an `O_WRONLY|O_NONBLOCK` FIFO open fails without one).
    pub fn has_readers(&self) -> bool {
        self.inner.lock().readers > 0
    }

    /// The id blocked tasks wait on (shared by both ends).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Moves buffered bytes into `bufs`: 0 at end of file, `EAGAIN` if empty with writers.
    pub fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        let want = bufs.iter().fold(0usize, |a, b| a.saturating_add(b.len()));
        if want == 0 {
            return Ok(0);
        }
        let mut i = self.inner.lock();
        if i.slots.is_empty() {
            return i.empty_read();
        }
        let mut done = 0;
        'out: for b in bufs.iter_mut() {
            let mut at = 0;
            while at < b.len() {
                let Some(slot) = i.slots.front_mut() else {
                    break 'out;
                };
                let n = (b.len() - at).min(slot.data.len() - slot.off);
                b[at..at + n].copy_from_slice(&slot.data[slot.off..slot.off + n]);
                slot.off += n;
                at += n;
                done += n;
                if slot.off == slot.data.len() {
                    i.slots.pop_front();
                }
            }
        }
        i.atime = Time::now();
        i.write_events += 1;
        Ok(done)
    }

    /// Appends `bufs` as Linux's `pipe_write`: `EPIPE` with no readers; at most
    /// [`PIPE_BUF`] bytes go in whole or not at all (`EAGAIN`); more go in as far as they
    /// fit (`EAGAIN` if nothing does).
    pub fn write(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        let total = bufs.iter().fold(0usize, |a, b| a.saturating_add(b.len()));
        if total == 0 {
            return Ok(0);
        }
        let mut i = self.inner.lock();
        if i.readers == 0 {
            return Err(Errno::EPIPE);
        }
        let mut src = Gather::new(bufs);
        let mut done = 0;
        // The odd bytes top up the last slot if they fit in its page.
        let chars = total % PAGE;
        if let Some(last) = i.slots.back_mut() {
            if chars != 0 && last.data.len() + chars <= PAGE {
                src.take_into(&mut last.data, chars);
                done = chars;
            }
        }
        while done < total && i.slots.len() < i.max_slots {
            let k = (total - done).min(PAGE);
            let mut data = Vec::with_capacity(PAGE);
            src.take_into(&mut data, k);
            i.slots.push_back(Slot { data, off: 0 });
            done += k;
        }
        if done == 0 {
            return Err(Errno::EAGAIN);
        }
        let now = Time::now();
        i.mtime = now;
        i.ctime = now;
        i.read_events += 1;
        Ok(done)
    }

    /// Copies buffered bytes into `buf` without consuming them (`tee`): 0 at end of file,
    /// `EAGAIN` if empty with writers.
    pub fn peek(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let i = self.inner.lock();
        if i.slots.is_empty() {
            return i.empty_read();
        }
        let mut done = 0;
        for slot in &i.slots {
            let n = (buf.len() - done).min(slot.data.len() - slot.off);
            buf[done..done + n].copy_from_slice(&slot.data[slot.off..slot.off + n]);
            done += n;
            if done == buf.len() {
                break;
            }
        }
        Ok(done)
    }

    /// Bytes a write is sure to take whole now (its free slots; 0 when full).
    pub fn room(&self) -> usize {
        let i = self.inner.lock();
        i.max_slots.saturating_sub(i.slots.len()) * PAGE
    }

    /// The capacity in bytes (`F_GETPIPE_SZ`).
    pub fn capacity(&self) -> usize {
        self.inner.lock().max_slots * PAGE
    }

    /// `F_SETPIPE_SZ`: the capacity becomes `bytes` rounded up to a power-of-two number of
    /// pages; `EBUSY` if what is buffered would not fit, `EPERM` past `pipe-max-size`.
    pub fn set_capacity(&self, bytes: u64) -> Result<usize, Errno> {
        if bytes > PIPE_MAX_SIZE as u64 {
            return Err(Errno::EPERM);
        }
        let slots = (bytes as usize).div_ceil(PAGE).max(1).next_power_of_two();
        let mut i = self.inner.lock();
        if i.slots.len() > slots {
            return Err(Errno::EBUSY);
        }
        i.max_slots = slots;
        Ok(slots * PAGE)
    }

    /// Bytes buffered (`FIONREAD`).
    pub fn len(&self) -> usize {
        let i = self.inner.lock();
        i.slots.iter().map(|s| s.data.len() - s.off).sum()
    }

    /// `fstat`: a FIFO on pipefs.
    pub fn stat(&self) -> Stat {
        let i = self.inner.lock();
        Stat {
            st_dev: abi::structs::makedev(PIPEFS_DEV.0, PIPEFS_DEV.1),
            st_ino: self.id,
            st_nlink: 1,
            st_mode: i.mode,
            st_uid: self.uid,
            st_gid: self.gid,
            st_blksize: PIPE_BUF as i64,
            st_atime: i.atime.sec,
            st_atime_nsec: i.atime.nsec,
            st_mtime: i.mtime.sec,
            st_mtime_nsec: i.mtime.nsec,
            st_ctime: i.ctime.sec,
            st_ctime_nsec: i.ctime.nsec,
            ..Stat::default()
        }
    }

    /// `fchmod`.
    pub fn chmod(&self, mode: u32) {
        let mut i = self.inner.lock();
        i.mode = S_IFIFO | (mode & 0o7777);
        i.ctime = Time::now();
    }

    /// `futimens` (`None`: leave that time alone).
    pub fn set_times(&self, atime: Option<Time>, mtime: Option<Time>) {
        let mut i = self.inner.lock();
        if let Some(t) = atime {
            i.atime = t;
        }
        if let Some(t) = mtime {
            i.mtime = t;
        }
        i.ctime = Time::now();
    }
}
