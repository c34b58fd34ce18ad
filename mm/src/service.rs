//! mm as a service: [`MmMsg`] in, [`MmReply`] out.
//!
//! Every request that changes an address space, the frames or the page cache is a message,
//! handled by [`Mm::handle`]. [`MmService`] is what the rest of the kernel holds: typed
//! calls that build the message, hand it to `handle` and unpack the reply, and (when
//! recording) a log of every message with its reply, the answers the mapped files gave
//! ([`FileIo`]) and the bytes guest-memory reads returned.
//!
//! Copies between guest memory and the kernel stay direct reads and writes of physical
//! memory through the space's page table, as Linux's `copy_from_user`: no message per byte.
//! They change state all the same (a first touch gives a page its frame, a write breaks
//! copy-on-write), so each is logged as a [`MmMsg::UserAccess`] of the range it touched;
//! replaying that message touches the same pages.
//!
//! Read-only views (`/proc/PID/maps`, `mincore`, statistics, the vDSO data page) go through
//! [`MmService::view`]; they change nothing and are not messages.

use std::collections::VecDeque;
use std::io::{IoSlice, IoSliceMut};
use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Mutex, MutexGuard};

use abi::flags::{MapFlags, Prot};
use serde::{Deserialize, Serialize};

use crate::special::SpecialPages;
use crate::{
    Access, Errno, FaultError, FileKey, FileMapping, Mm, MmId, MmOp, PageSource, UserAddr,
};

/// A request to mm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MmMsg {
    /// A new, empty address space.
    CreateSpace,
    /// A copy of `parent` for `fork(2)`.
    ForkSpace {
        /// The space copied.
        parent: MmId,
    },
    /// The space goes; its frames are freed.
    DestroySpace {
        /// The space.
        id: MmId,
    },
    /// `mmap(2)`.
    Mmap {
        /// The space.
        id: MmId,
        /// Hint or fixed address.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// `PROT_*` bits.
        prot: u32,
        /// `MAP_*` bits.
        flags: u32,
        /// The file mapped, if any.
        file: Option<MappedFile>,
    },
    /// `munmap(2)`.
    Munmap {
        /// The space.
        id: MmId,
        /// Start.
        addr: u64,
        /// Length in bytes.
        len: u64,
    },
    /// `mremap(2)`.
    Mremap {
        /// The space.
        id: MmId,
        /// Old start.
        old: u64,
        /// Old length.
        old_len: u64,
        /// New length.
        new_len: u64,
        /// `MREMAP_*` bits.
        flags: u32,
        /// New address (`MREMAP_FIXED`).
        new_addr: u64,
    },
    /// `mprotect(2)`.
    Mprotect {
        /// The space.
        id: MmId,
        /// Start.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// `PROT_*` bits.
        prot: u32,
    },
    /// `madvise(2)`.
    Madvise {
        /// The space.
        id: MmId,
        /// Start.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// `MADV_*`.
        advice: i32,
    },
    /// `mlock(2)`, `mlock2(2)`, `munlock(2)`.
    Mlock {
        /// The space.
        id: MmId,
        /// Start.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// Lock (`false`: unlock).
        lock: bool,
        /// `MLOCK_ONFAULT`: the pages are not populated.
        onfault: bool,
    },
    /// `mlockall(2)` (`MCL_*` flags), `munlockall(2)` (flags 0).
    Mlockall {
        /// The space.
        id: MmId,
        /// `MCL_*`.
        flags: i32,
    },
    /// `mseal(2)`.
    Mseal {
        /// The space.
        id: MmId,
        /// Start.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// Flags (none defined).
        flags: u64,
    },
    /// A userfaultfd request ([`crate::userfault::UffdOp`]).
    Userfault {
        /// The space.
        id: MmId,
        /// The request.
        op: crate::userfault::UffdOp,
    },
    /// The ELF loader sets the start of the heap.
    SetBrkStart {
        /// The space.
        id: MmId,
        /// End of bss.
        start: u64,
    },
    /// `brk(2)`.
    Brk {
        /// The space.
        id: MmId,
        /// Requested break.
        addr: u64,
    },
    /// A guest page fault reported by the trap mechanism.
    Fault {
        /// The space.
        id: MmId,
        /// Faulting address.
        addr: u64,
        /// The access.
        access: Access,
        /// The host had a mapping there (a protection fault).
        present: bool,
    },
    /// The kernel read (`write: false`) or wrote guest memory `[addr, addr+len)`; `whole`:
    /// all of it must be accessible, else the longest accessible prefix is used.
    UserAccess {
        /// The space.
        id: MmId,
        /// Start.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// A write by the kernel (breaks copy-on-write).
        write: bool,
        /// All or nothing.
        whole: bool,
        /// Forced as ptrace's and `/proc/PID/mem`'s accesses are (`FOLL_FORCE`).
        force: bool,
    },
    /// The special mapping `name` is made from `content` (once; later requests find it).
    Special {
        /// Its name (`[vdso]`).
        name: String,
        /// Its bytes.
        content: Vec<u8>,
    },
    /// The special mapping `name` is mapped at `addr`.
    MapSpecial {
        /// The space.
        id: MmId,
        /// Where.
        addr: u64,
        /// Which special mapping.
        name: String,
        /// `PROT_*` bits.
        prot: u32,
    },
    /// Dirty cached pages of a file are written back (before it is read or written through
    /// a descriptor).
    SyncFile {
        /// The file.
        key: FileKey,
    },
    /// Bytes `[start, end)` of a file changed through a descriptor.
    FileChanged {
        /// The file.
        key: FileKey,
        /// First byte.
        start: u64,
        /// End (exclusive).
        end: u64,
    },
    /// A file was truncated.
    FileTruncated {
        /// The file.
        key: FileKey,
    },
    /// `msync(2)`.
    Msync {
        /// The space.
        id: MmId,
        /// Start.
        addr: u64,
        /// Length in bytes.
        len: u64,
    },
    /// The object the futex word at `addr` lies in (its page is faulted in).
    FutexObject {
        /// The space.
        id: MmId,
        /// The word.
        addr: u64,
        /// The futex operation writes the word.
        write: bool,
    },
    /// The runner's host processes died: nothing is host-mapped any more.
    HostLost,
    /// The host ops the runner applies before a thread of a space runs (see
    /// [`backend`](crate::backend)).
    HostOps {
        /// The space.
        id: MmId,
    },
}

/// mm's answer to a [`MmMsg`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MmReply {
    /// Done.
    Done,
    /// The request failed.
    Err(Errno),
    /// A new space.
    Space(MmId),
    /// An address (`mmap`, `mremap`, `brk`).
    Addr(u64),
    /// The fault could not be resolved.
    Fault(FaultError),
    /// Bytes of guest memory accessible from the start of a [`MmMsg::UserAccess`].
    Accessed(u64),
    /// Host ops for the runner.
    Ops(Vec<MmOp>),
    /// The object a futex word lies in.
    Futex(crate::FutexObject),
    /// There is no such space.
    NoSpace,
}

/// The file side of a mapping in a message: what the page cache knows of the file, and
/// (in the running kernel only) the file itself.
#[derive(Clone, Serialize, Deserialize)]
pub struct MappedFile {
    /// Byte offset in the file of the mapping's start.
    pub offset: u64,
    /// The file's page-cache identity.
    pub key: Option<FileKey>,
    /// Opened for writing.
    pub writable: bool,
    /// The file; a replay puts a stand-in that gives the recorded answers.
    #[serde(skip)]
    pub source: Option<Arc<dyn PageSource>>,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("offset", &self.offset)
            .field("key", &self.key)
            .field("writable", &self.writable)
            .finish()
    }
}

impl PartialEq for MappedFile {
    fn eq(&self, o: &MappedFile) -> bool {
        (self.offset, self.key, self.writable) == (o.offset, o.key, o.writable)
    }
}

impl Eq for MappedFile {}

impl From<FileMapping> for MappedFile {
    fn from(f: FileMapping) -> MappedFile {
        MappedFile {
            offset: f.offset,
            key: f.source.key(),
            writable: f.source.writable(),
            source: Some(f.source),
        }
    }
}

/// One answer a mapped file gave mm while it handled a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileIo {
    /// `size()`.
    Size(u64),
    /// `read_at(offset)`: bytes read, or the errno.
    Read {
        /// Offset read.
        offset: u64,
        /// Bytes read or errno.
        got: Result<u64, i32>,
    },
    /// `write_at(offset)` (write-back): bytes written, or the errno.
    Write {
        /// Offset written.
        offset: u64,
        /// Bytes written or errno.
        got: Result<u64, i32>,
    },
}

/// One logged message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MmEntry {
    /// The request.
    pub msg: MmMsg,
    /// mm's reply.
    pub reply: MmReply,
    /// What mapped files answered meanwhile, in order.
    pub io: Vec<FileIo>,
    /// The bytes a guest-memory read returned (`UserAccess` with `write: false`).
    pub data: Option<Vec<u8>>,
}

impl Mm {
    /// Handles one request.
    pub fn handle(&mut self, msg: MmMsg) -> MmReply {
        fn done(r: Result<(), Errno>) -> MmReply {
            r.map_or_else(MmReply::Err, |()| MmReply::Done)
        }
        fn addr(r: Result<UserAddr, Errno>) -> MmReply {
            r.map_or_else(MmReply::Err, |a| MmReply::Addr(a.0))
        }
        match msg {
            MmMsg::CreateSpace => MmReply::Space(self.create_space()),
            MmMsg::ForkSpace { parent } => self
                .fork_space(parent)
                .map_or_else(MmReply::Err, MmReply::Space),
            MmMsg::DestroySpace { id } => match self.destroy_space(id) {
                Some(_) => MmReply::Done,
                None => MmReply::NoSpace,
            },
            MmMsg::Mmap {
                id,
                addr: a,
                len,
                prot,
                flags,
                file,
            } => {
                let file = match file {
                    Some(MappedFile {
                        offset,
                        source: Some(source),
                        ..
                    }) => Some(FileMapping { source, offset }),
                    // A file without its source only comes from a bad log.
                    Some(_) => return MmReply::Err(Errno::EBADF),
                    None => None,
                };
                addr(self.mmap(
                    id,
                    UserAddr(a),
                    len,
                    Prot::from_bits_retain(prot),
                    MapFlags::from_bits_retain(flags),
                    file,
                ))
            }
            MmMsg::Munmap { id, addr, len } => done(self.munmap(id, UserAddr(addr), len)),
            MmMsg::Mremap {
                id,
                old,
                old_len,
                new_len,
                flags,
                new_addr,
            } => addr(self.mremap(
                id,
                UserAddr(old),
                old_len,
                new_len,
                flags,
                UserAddr(new_addr),
            )),
            MmMsg::Mprotect {
                id,
                addr,
                len,
                prot,
            } => done(self.mprotect(id, UserAddr(addr), len, Prot::from_bits_retain(prot))),
            MmMsg::Madvise {
                id,
                addr,
                len,
                advice,
            } => done(self.madvise(id, UserAddr(addr), len, advice)),
            MmMsg::Mlock {
                id,
                addr,
                len,
                lock,
                onfault,
            } => done(self.mlock(id, UserAddr(addr), len, lock, onfault)),
            MmMsg::Mlockall { id, flags } => done(self.mlockall(id, flags)),
            MmMsg::Mseal {
                id,
                addr,
                len,
                flags,
            } => done(self.mseal(id, UserAddr(addr), len, flags)),
            MmMsg::Userfault { id, op } => self
                .userfault(id, op)
                .map_or_else(MmReply::Err, MmReply::Addr),
            MmMsg::SetBrkStart { id, start } => {
                self.set_brk_start(id, UserAddr(start));
                MmReply::Done
            }
            MmMsg::Brk { id, addr } => MmReply::Addr(self.brk(id, UserAddr(addr)).0),
            MmMsg::Fault {
                id,
                addr,
                access,
                present,
            } => match self.handle_fault(id, UserAddr(addr), access, present) {
                Ok(()) => MmReply::Done,
                Err(e) => MmReply::Fault(e),
            },
            MmMsg::UserAccess {
                id,
                addr,
                len,
                write,
                whole,
                force,
            } => match self.touch(id, addr, len, write, whole, force) {
                Ok(n) => MmReply::Accessed(n),
                Err(e) => MmReply::Err(e),
            },
            MmMsg::Special { name, content } => {
                let name = match self.special_named(&name) {
                    Some(s) => s.name(),
                    // Names come from the kernel (two of them) or a replayed log; each
                    // distinct one is kept for the life of the process, as a kernel's are.
                    None => Box::leak(name.into_boxed_str()),
                };
                done(self.special(name, &content).map(drop))
            }
            MmMsg::MapSpecial {
                id,
                addr,
                name,
                prot,
            } => match self.special_named(&name) {
                Some(pages) => {
                    done(self.map_special(id, UserAddr(addr), &pages, Prot::from_bits_retain(prot)))
                }
                None => MmReply::Err(Errno::EINVAL),
            },
            MmMsg::SyncFile { key } => {
                self.sync_file(key);
                MmReply::Done
            }
            MmMsg::FileChanged { key, start, end } => {
                self.file_changed(key, start..end);
                MmReply::Done
            }
            MmMsg::FileTruncated { key } => {
                self.file_truncated(key);
                MmReply::Done
            }
            MmMsg::Msync { id, addr, len } => done(self.msync(id, UserAddr(addr), len)),
            MmMsg::FutexObject { id, addr, write } => self
                .futex_object(id, UserAddr(addr), write)
                .map_or_else(MmReply::Err, MmReply::Futex),
            MmMsg::HostLost => {
                self.host_lost();
                MmReply::Done
            }
            MmMsg::HostOps { id } => match self.host_ops(id) {
                Some(ops) => MmReply::Ops(ops),
                None => MmReply::NoSpace,
            },
        }
    }
}

/// A mapped file as mm sees it while recording: answers pass through and are logged.
struct Recorded {
    inner: Arc<dyn PageSource>,
    io: Arc<StdMutex<Vec<FileIo>>>,
}

fn io_result(r: &std::io::Result<usize>) -> Result<u64, i32> {
    match r {
        Ok(n) => Ok(*n as u64),
        Err(e) => Err(e.raw_os_error().unwrap_or(Errno::EIO.raw())),
    }
}

pub(crate) fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PageSource for Recorded {
    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        let r = self.inner.read_at(offset, dst);
        lock(&self.io).push(FileIo::Read {
            offset,
            got: io_result(&r),
        });
        r
    }
    fn key(&self) -> Option<FileKey> {
        self.inner.key()
    }
    fn write_at(&self, offset: u64, src: &[u8]) -> std::io::Result<usize> {
        let r = self.inner.write_at(offset, src);
        lock(&self.io).push(FileIo::Write {
            offset,
            got: io_result(&r),
        });
        r
    }
    fn size(&self) -> u64 {
        let n = self.inner.size();
        lock(&self.io).push(FileIo::Size(n));
        n
    }
    fn writable(&self) -> bool {
        self.inner.writable()
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        self.inner.as_any()
    }
}

/// The log of a recording [`MmService`].
#[derive(Default)]
struct Log {
    entries: Vec<MmEntry>,
    io: Arc<StdMutex<Vec<FileIo>>>,
}

/// mm as the rest of the kernel holds it: typed requests that travel as [`MmMsg`]s, direct
/// guest-memory copies, read-only views, and the record log.
///
/// Deployed on the caller's loop ([`MmService::new`]), a message is a call of
/// [`Mm::handle`]; on a thread of its own ([`MmService::on_thread`]), the thread consumes a
/// `crossbeam-channel` inbox and answers on another. Either way copies and views run in
/// the caller's thread under the lock of the address spaces, as Linux's `copy_from_user`
/// runs in the calling task under the mm's lock; the kernel waits for each reply, so the
/// lock is never contended.
pub struct MmService {
    mm: Arc<Mutex<Mm>>,
    thread: Option<MmThread>,
    log: Option<Log>,
    /// Replaying a recorded run: what each guest-memory read of the recording returned,
    /// in order, put in place before the same read here ([`MmService::replay_reads`]).
    reads: Option<VecDeque<(MmId, u64, Vec<u8>)>>,
}

/// The inbox, outbox and thread of a threaded mm.
struct MmThread {
    inbox: Option<Sender<MmMsg>>,
    outbox: Receiver<MmReply>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for MmThread {
    fn drop(&mut self) {
        // Closing the inbox ends the thread's loop.
        self.inbox.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl MmService {
    /// The service over `mm` on the caller's loop, not recording.
    pub fn new(mm: Mm) -> MmService {
        MmService {
            mm: Arc::new(Mutex::new(mm)),
            thread: None,
            log: None,
            reads: None,
        }
    }

    /// The service over `mm` on a thread of its own (a thread that cannot be started is a
    /// host failure).
    pub fn on_thread(mm: Mm) -> std::io::Result<MmService> {
        let mm = Arc::new(Mutex::new(mm));
        let (inbox, requests) = crossbeam_channel::unbounded::<MmMsg>();
        let (answers, outbox) = crossbeam_channel::unbounded();
        let served = mm.clone();
        let thread = std::thread::Builder::new()
            .name("uml-mm".into())
            .spawn(move || {
                for msg in requests {
                    let reply = served.lock().handle(msg);
                    if answers.send(reply).is_err() {
                        break;
                    }
                }
            })?;
        Ok(MmService {
            mm,
            thread: Some(MmThread {
                inbox: Some(inbox),
                outbox,
                thread: Some(thread),
            }),
            log: None,
            reads: None,
        })
    }

    /// Hands `msg` to mm where it runs.
    fn send(&mut self, msg: MmMsg) -> MmReply {
        let Some(t) = &self.thread else {
            return self.mm.lock().handle(msg);
        };
        // The thread lives as long as the inbox and answers every message: a failure here
        // is a bug of uml's, not a guest's doing.
        let sent = t.inbox.as_ref().map(|i| i.send(msg));
        match (sent, t.outbox.recv()) {
            (Some(Ok(())), Ok(r)) => r,
            _ => panic!("the mm thread is gone"),
        }
    }

    /// From now on every message is logged (see [`take_log`](Self::take_log)).
    pub fn record(&mut self) {
        self.log.get_or_insert_with(Log::default);
    }

    /// The messages logged since the last call, oldest first (empty when not recording).
    pub fn take_log(&mut self) -> Vec<MmEntry> {
        self.log
            .as_mut()
            .map(|l| std::mem::take(&mut l.entries))
            .unwrap_or_default()
    }

    /// Replays a recorded run: before each guest-memory read, the bytes the recording's
    /// read at the same place in order returned (`entries` are the recording's mm log) are
    /// written where it read them — what the guest had put there, since a replay runs no
    /// guest code.
    pub fn replay_reads<'a>(&mut self, entries: impl IntoIterator<Item = &'a MmEntry>) {
        let reads = entries.into_iter().filter_map(|e| match (&e.msg, &e.data) {
            (
                MmMsg::UserAccess {
                    id,
                    addr,
                    write: false,
                    ..
                },
                Some(data),
            ) => {
                // A string read logs its bytes without the NUL it stopped at.
                let mut bytes = data.clone();
                if let MmReply::Accessed(n) = e.reply {
                    bytes.resize((n as usize).max(bytes.len()), 0);
                }
                Some((*id, *addr, bytes))
            }
            _ => None,
        });
        self.reads = Some(reads.collect());
    }

    /// Replaying: puts what the guest had at `addr` before the kernel reads it there.
    fn before_read(&mut self, id: MmId, addr: u64) {
        let Some(reads) = self.reads.as_mut() else {
            return;
        };
        if reads.front().is_some_and(|r| r.0 == id && r.1 == addr) {
            if let Some((id, addr, bytes)) = reads.pop_front() {
                self.mm.lock().poke(id, addr, &bytes);
            }
        }
    }

    /// Read-only views of mm (under its lock: do not hold across another request).
    pub fn view(&self) -> MutexGuard<'_, Mm> {
        self.mm.lock()
    }

    /// Sends `msg` and returns mm's reply, logging both when recording.
    pub fn call(&mut self, msg: MmMsg) -> MmReply {
        if self.log.is_none() {
            return self.send(msg);
        }
        let io = self.log.as_ref().map(|l| l.io.clone()).unwrap_or_default();
        let mut msg = msg;
        if let MmMsg::Mmap {
            file: Some(MappedFile { source, .. }),
            ..
        } = &mut msg
        {
            if let Some(inner) = source.take() {
                *source = Some(Arc::new(Recorded {
                    inner,
                    io: io.clone(),
                }));
            }
        }
        let reply = self.send(msg.clone());
        let io = std::mem::take(&mut *lock(&io));
        self.log
            .get_or_insert_with(Log::default)
            .entries
            .push(MmEntry {
                msg,
                reply: reply.clone(),
                io,
                data: None,
            });
        reply
    }

    /// Logs a guest-memory access done directly (not through [`Mm::handle`]).
    fn log_access(&mut self, msg: MmMsg, reply: MmReply, data: Option<&[u8]>) {
        if let Some(log) = self.log.as_mut() {
            let io = std::mem::take(&mut *lock(&log.io));
            log.entries.push(MmEntry {
                msg,
                reply,
                io,
                data: data.map(<[u8]>::to_vec),
            });
        }
    }

    fn recording(&self) -> bool {
        self.log.is_some()
    }

    /// A new, empty address space.
    pub fn create_space(&mut self) -> MmId {
        match self.call(MmMsg::CreateSpace) {
            MmReply::Space(id) => id,
            r => unreachable_reply(&r),
        }
    }

    /// A copy of `parent` for `fork(2)`; `ENOMEM` if the commit charge does not fit.
    pub fn fork_space(&mut self, parent: MmId) -> Result<MmId, Errno> {
        match self.call(MmMsg::ForkSpace { parent }) {
            MmReply::Space(id) => Ok(id),
            r => Err(errno_of(&r)),
        }
    }

    /// Destroys a space; false if there was none.
    pub fn destroy_space(&mut self, id: MmId) -> bool {
        self.call(MmMsg::DestroySpace { id }) == MmReply::Done
    }

    /// `mmap(2)`.
    pub fn mmap(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        prot: Prot,
        flags: MapFlags,
        file: Option<FileMapping>,
    ) -> Result<UserAddr, Errno> {
        let msg = MmMsg::Mmap {
            id,
            addr: addr.0,
            len,
            prot: prot.bits(),
            flags: flags.bits(),
            file: file.map(MappedFile::from),
        };
        addr_of(self.call(msg))
    }

    /// `munmap(2)`.
    pub fn munmap(&mut self, id: MmId, addr: UserAddr, len: u64) -> Result<(), Errno> {
        done_of(self.call(MmMsg::Munmap {
            id,
            addr: addr.0,
            len,
        }))
    }

    /// `mremap(2)`.
    pub fn mremap(
        &mut self,
        id: MmId,
        old: UserAddr,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: UserAddr,
    ) -> Result<UserAddr, Errno> {
        addr_of(self.call(MmMsg::Mremap {
            id,
            old: old.0,
            old_len,
            new_len,
            flags,
            new_addr: new_addr.0,
        }))
    }

    /// `mprotect(2)`.
    pub fn mprotect(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        prot: Prot,
    ) -> Result<(), Errno> {
        done_of(self.call(MmMsg::Mprotect {
            id,
            addr: addr.0,
            len,
            prot: prot.bits(),
        }))
    }

    /// `madvise(2)`.
    pub fn madvise(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        advice: i32,
    ) -> Result<(), Errno> {
        done_of(self.call(MmMsg::Madvise {
            id,
            addr: addr.0,
            len,
            advice,
        }))
    }

    /// `mlock(2)`, `mlock2(2)`, `munlock(2)` (`lock` false).
    pub fn mlock(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        lock: bool,
        onfault: bool,
    ) -> Result<(), Errno> {
        done_of(self.call(MmMsg::Mlock {
            id,
            addr: addr.0,
            len,
            lock,
            onfault,
        }))
    }

    /// `mlockall(2)`; flags 0 is `munlockall(2)`.
    pub fn mlockall(&mut self, id: MmId, flags: i32) -> Result<(), Errno> {
        done_of(self.call(MmMsg::Mlockall { id, flags }))
    }

    /// `mseal(2)`.
    pub fn mseal(&mut self, id: MmId, addr: UserAddr, len: u64, flags: u64) -> Result<(), Errno> {
        done_of(self.call(MmMsg::Mseal {
            id,
            addr: addr.0,
            len,
            flags,
        }))
    }

    /// A userfaultfd request: bytes done, or 0.
    pub fn userfault(&mut self, id: MmId, op: crate::userfault::UffdOp) -> Result<u64, Errno> {
        addr_of(self.call(MmMsg::Userfault { id, op })).map(|a| a.0)
    }

    /// Sets the start of the heap.
    pub fn set_brk_start(&mut self, id: MmId, start: UserAddr) {
        self.call(MmMsg::SetBrkStart { id, start: start.0 });
    }

    /// `brk(2)`: the new break, or the current one.
    pub fn brk(&mut self, id: MmId, addr: UserAddr) -> UserAddr {
        addr_of(self.call(MmMsg::Brk { id, addr: addr.0 })).unwrap_or(UserAddr::NULL)
    }

    /// Resolves a guest page fault.
    pub fn handle_fault(
        &mut self,
        id: MmId,
        addr: UserAddr,
        access: Access,
        present: bool,
    ) -> Result<(), FaultError> {
        match self.call(MmMsg::Fault {
            id,
            addr: addr.0,
            access,
            present,
        }) {
            MmReply::Done => Ok(()),
            MmReply::Fault(e) => Err(e),
            _ => Err(FaultError::Segv { si_code: 1 }),
        }
    }

    /// The special mapping `name`, made from `content` on first use.
    pub fn special(
        &mut self,
        name: &'static str,
        content: &[u8],
    ) -> Result<Arc<SpecialPages>, Errno> {
        let mut mm = self.mm.lock();
        if let Some(s) = mm.special_named(name) {
            return Ok(s);
        }
        if self.recording() {
            let msg = MmMsg::Special {
                name: name.to_string(),
                content: content.to_vec(),
            };
            let r = mm.special(name, content);
            drop(mm);
            let reply = r
                .as_ref()
                .map_or_else(|e| MmReply::Err(*e), |_| MmReply::Done);
            self.log_access(msg, reply, None);
            return r;
        }
        mm.special(name, content)
    }

    /// Maps all of `pages` at `addr`.
    pub fn map_special(
        &mut self,
        id: MmId,
        addr: UserAddr,
        pages: &Arc<SpecialPages>,
        prot: Prot,
    ) -> Result<(), Errno> {
        done_of(self.call(MmMsg::MapSpecial {
            id,
            addr: addr.0,
            name: pages.name().to_string(),
            prot: prot.bits(),
        }))
    }

    /// Writes back the dirty cached pages of `key`.
    pub fn sync_file(&mut self, key: FileKey) {
        self.call(MmMsg::SyncFile { key });
    }

    /// Bytes of `key` changed through a descriptor.
    pub fn file_changed(&mut self, key: FileKey, bytes: std::ops::Range<u64>) {
        self.call(MmMsg::FileChanged {
            key,
            start: bytes.start,
            end: bytes.end,
        });
    }

    /// `key` was truncated.
    pub fn file_truncated(&mut self, key: FileKey) {
        self.call(MmMsg::FileTruncated { key });
    }

    /// `msync(2)`.
    pub fn msync(&mut self, id: MmId, addr: UserAddr, len: u64) -> Result<(), Errno> {
        done_of(self.call(MmMsg::Msync {
            id,
            addr: addr.0,
            len,
        }))
    }

    /// The object the futex word at `addr` of space `id` lies in, faulting its page in.
    pub fn futex_object(
        &mut self,
        id: MmId,
        addr: UserAddr,
        write: bool,
    ) -> Result<crate::FutexObject, Errno> {
        match self.call(MmMsg::FutexObject {
            id,
            addr: addr.0,
            write,
        }) {
            MmReply::Futex(o) => Ok(o),
            r => Err(errno_of(&r)),
        }
    }

    /// The runner's host processes died: nothing is host-mapped any more.
    pub fn host_lost(&mut self) {
        self.call(MmMsg::HostLost);
    }

    /// The host ops the runner applies before a thread of `id` runs; `None` if the space is
    /// gone.
    pub fn host_ops(&mut self, id: MmId) -> Option<Vec<MmOp>> {
        if !self.recording() {
            return self.send(MmMsg::HostOps { id }).into_ops();
        }
        self.call(MmMsg::HostOps { id }).into_ops()
    }

    /// Copies guest memory at `addr` into `buf`; `EFAULT` if any byte is not readable.
    pub fn copy_in(&mut self, id: MmId, addr: UserAddr, buf: &mut [u8]) -> Result<(), Errno> {
        self.before_read(id, addr.0);
        let r = self.mm.lock().copy_in(id, addr, buf);
        if self.recording() {
            let msg = access(id, addr.0, buf.len() as u64, false, true);
            let data = r.is_ok().then_some(&*buf);
            self.log_access(msg, accessed(&r, buf.len() as u64), data);
        }
        r
    }

    /// Copies `buf` to guest memory at `addr`; `EFAULT` if any byte is not writable.
    pub fn copy_out(&mut self, id: MmId, addr: UserAddr, buf: &[u8]) -> Result<(), Errno> {
        let r = self.mm.lock().copy_out(id, addr, buf);
        if self.recording() {
            let msg = access(id, addr.0, buf.len() as u64, true, true);
            self.log_access(msg, accessed(&r, buf.len() as u64), None);
        }
        r
    }

    /// Copies between `buf` and space `id` at `addr` as ptrace and `/proc/PID/mem` do
    /// (forced, the longest accessible prefix): into guest memory with `write`. The bytes
    /// moved; `EFAULT` if none.
    pub fn access_forced(
        &mut self,
        id: MmId,
        addr: u64,
        buf: &mut [u8],
        write: bool,
    ) -> Result<usize, Errno> {
        if !write {
            self.before_read(id, addr);
        }
        let r = self.mm.lock().access_forced(id, addr, buf, write);
        if self.recording() {
            let msg = MmMsg::UserAccess {
                id,
                addr,
                len: buf.len() as u64,
                write,
                whole: false,
                force: true,
            };
            let reply = match &r {
                Ok(n) => MmReply::Accessed(*n as u64),
                Err(e) => MmReply::Err(*e),
            };
            let data = match &r {
                Ok(n) if !write => Some(&buf[..*n]),
                _ => None,
            };
            self.log_access(msg, reply, data);
        }
        r
    }

    /// Reads a NUL-terminated string of at most `max` bytes before the NUL.
    pub fn read_cstr(&mut self, id: MmId, addr: UserAddr, max: usize) -> Result<Vec<u8>, Errno> {
        self.before_read(id, addr.0);
        let (r, scanned) = self.mm.lock().read_cstr_scan(id, addr, max);
        if self.recording() {
            let msg = access(id, addr.0, scanned, false, true);
            let reply = match &r {
                Err(Errno::EFAULT) => MmReply::Err(Errno::EFAULT),
                _ => MmReply::Accessed(scanned),
            };
            self.log_access(msg, reply, r.as_deref().ok());
        }
        r
    }

    /// Runs `f` over guest memory the kernel fills (the longest writable prefix).
    pub fn with_user_slices_mut<R>(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        f: impl FnOnce(&mut [IoSliceMut<'_>]) -> R,
    ) -> Result<R, Errno> {
        let mut got = 0;
        let r = self.mm.lock().with_user_slices_mut(id, addr, len, |s| {
            got = s.iter().map(|s| s.len() as u64).sum();
            f(s)
        });
        if self.recording() {
            let msg = access(id, addr.0, len, true, false);
            self.log_access(msg, accessed(&r, got), None);
        }
        r
    }

    /// Runs `f` over guest memory the kernel reads (the longest readable prefix).
    pub fn with_user_slices<R>(
        &mut self,
        id: MmId,
        addr: UserAddr,
        len: u64,
        f: impl FnOnce(&[IoSlice<'_>]) -> R,
    ) -> Result<R, Errno> {
        self.before_read(id, addr.0);
        let mut data: Option<Vec<u8>> = None;
        let recording = self.recording();
        let r = self.mm.lock().with_user_slices(id, addr, len, |s| {
            if recording {
                data = Some(s.iter().flat_map(|s| s.iter().copied()).collect());
            }
            f(s)
        });
        if recording {
            let msg = access(id, addr.0, len, false, false);
            let got = data.as_ref().map_or(0, |d| d.len() as u64);
            self.log_access(msg, accessed(&r, got), data.as_deref());
        }
        r
    }
}

fn access(id: MmId, addr: u64, len: u64, write: bool, whole: bool) -> MmMsg {
    MmMsg::UserAccess {
        id,
        addr,
        len,
        write,
        whole,
        force: false,
    }
}

fn accessed<T>(r: &Result<T, Errno>, n: u64) -> MmReply {
    match r {
        Ok(_) => MmReply::Accessed(n),
        Err(e) => MmReply::Err(*e),
    }
}

impl MmReply {
    /// The ops of an [`MmReply::Ops`]; `None` for any other reply (no such space).
    fn into_ops(self) -> Option<Vec<MmOp>> {
        match self {
            MmReply::Ops(ops) => Some(ops),
            _ => None,
        }
    }
}

fn errno_of(r: &MmReply) -> Errno {
    match r {
        MmReply::Err(e) => *e,
        _ => Errno::EINVAL,
    }
}

fn done_of(r: MmReply) -> Result<(), Errno> {
    match r {
        MmReply::Done => Ok(()),
        r => Err(errno_of(&r)),
    }
}

fn addr_of(r: MmReply) -> Result<UserAddr, Errno> {
    match r {
        MmReply::Addr(a) => Ok(UserAddr(a)),
        r => Err(errno_of(&r)),
    }
}

/// `handle` answers each message with the replies listed for it; anything else is a bug in
/// this file, not a guest's doing.
fn unreachable_reply(r: &MmReply) -> ! {
    panic!("mm: unexpected reply {r:?}")
}
