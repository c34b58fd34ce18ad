//! Open file descriptions ([`OpenFile`]): shared by dup'ed descriptors, holding the file
//! position, the status flags and, for directories, the listing being read.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, OwnedFd};

use abi::flags::mode::{S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG};
use abi::flags::OFlags;
use abi::structs::{Stat, Termios, Timespec, Winsize};
use abi::Errno;
use parking_lot::Mutex;
use rustix::fs::OFlags as HOFlags;

use crate::dentry::{Dentry, Inode};
use crate::hostfs::{fstat_fd, herr, nerr};
use crate::object::{FileObject, Poller, WaitSet};
use crate::pipe::{PipeEnd, PollEvents};
use crate::pty::{PtyEnd, PtyRef};
use crate::tmpfs::{DevKind, MemData, MemInode, Time};
use crate::{overlay, stdio, Arc};

/// Most slices one host `preadv`/`pwritev` takes.
const IOV_MAX: usize = 1024;

/// An open file shared by descriptors.
pub type FileRef = Arc<OpenFile>;

/// What an open file reads and writes.
pub(crate) enum FileKind {
    /// A regular host file: positional vectored I/O at our own position (so the opens of a
    /// read-only tree's file for reading share one descriptor).
    Host(Arc<OwnedFd>),
    /// A regular in-memory file.
    Mem(Arc<MemInode>),
    /// A directory: listed through its dentry.
    Dir,
    /// A host descriptor passed through (stdio, tty, pipes and other special host files),
    /// and the id its waiters wait on.
    Stream(OwnedFd, u64),
    /// A devfs device.
    Dev(DevKind),
    /// A loop block device.
    Loop(Arc<crate::loopdev::LoopDevice>),
    /// `O_PATH`: no I/O.
    Path,
    /// One end of a pipe.
    Pipe(PipeEnd),
    /// A pidfd (`pidfd_open`): refers to the guest process with this pid; no I/O.
    PidFd(i32),
    /// One end of a pty.
    Pty(PtyEnd),
    /// A kernel object (eventfd, epoll, timerfd, signalfd, socket).
    Object(Arc<dyn FileObject>),
}

/// Wait ids of host streams have this bit set (pipe ids never reach it).
const HOST_STREAM_ID: u64 = 1 << 63;

/// Wait ids of pidfds have this bit set, and the pid below it.
const PIDFD_ID: u64 = 1 << 62;

/// The wait id of every pidfd of guest process `pid`: woken when the process exits.
pub fn pidfd_wait_id(pid: i32) -> u64 {
    PIDFD_ID | u64::from(pid as u32)
}

/// A new pidfd for guest process `pid`; `flags`: `O_NONBLOCK` (read-write, close-on-exec
/// being the caller's).
pub fn open_pidfd(pid: i32, flags: OFlags) -> FileRef {
    OpenFile::new(None, FileKind::PidFd(pid), OFlags::RDWR | flags)
}

/// One entry of a directory listing snapshot.
struct DirEnt {
    name: Vec<u8>,
    ino: u64,
    dtype: u8,
}

struct State {
    pos: u64,
    /// `(st_dev, st_ino)` of a regular host file, looked up once.
    host_key: Option<(u64, u64)>,
    /// The listing being read (directories); taken at the first read after open or rewind.
    snapshot: Option<Vec<DirEnt>>,
    /// The open that made it created the file (`F_CREATED_QUERY`).
    created: bool,
    /// The Landlock rights (truncate, device ioctls) its opener's domain denied it.
    landlock_denied: u64,
}

/// An open file description.
pub struct OpenFile {
    pub(crate) dentry: Option<Dentry>,
    pub(crate) kind: FileKind,
    /// Its use sends no file system events (Linux's `FMODE_NONOTIFY`).
    nonotify: std::sync::atomic::AtomicBool,
    flags: Mutex<OFlags>,
    state: Mutex<State>,
    /// A regular file opened for writing counts as a writer of its mount.
    _writer: Option<crate::mount::MntWriter>,
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        crate::notify::close(self);
    }
}

impl std::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenFile({:?}, {:?})", self.dentry, self.flags())
    }
}

/// The first `n` bytes of `bufs`.
fn clip<'b>(bufs: &'b [IoSlice<'_>], n: usize) -> Vec<IoSlice<'b>> {
    let mut left = n;
    let mut out = Vec::with_capacity(bufs.len());
    for b in bufs {
        if left == 0 {
            break;
        }
        let k = b.len().min(left);
        out.push(IoSlice::new(&b[..k]));
        left -= k;
    }
    out
}

/// `bufs` without the last `cut` bytes (that do not fit the file system): `ENOSPC` if
/// nothing is left of a non-empty write.
fn fitting<'b>(bufs: &'b [IoSlice<'_>], cut: u64) -> Result<Vec<IoSlice<'b>>, Errno> {
    let total = total_len(bufs);
    let keep = total.saturating_sub(usize::try_from(cut).unwrap_or(usize::MAX));
    if keep == 0 && total > 0 {
        return Err(Errno::ENOSPC);
    }
    Ok(clip(bufs, keep))
}

fn total_len(bufs: &[IoSlice<'_>]) -> usize {
    bufs.iter().fold(0usize, |a, b| a.saturating_add(b.len()))
}

fn fill(
    bufs: &mut [IoSliceMut<'_>],
    mut f: impl FnMut(&mut [u8]) -> Result<(), Errno>,
) -> Result<usize, Errno> {
    let mut n = 0;
    for b in bufs.iter_mut() {
        f(b)?;
        n += b.len();
    }
    Ok(n)
}

fn random(buf: &mut [u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < buf.len() {
        done += rustix::rand::getrandom(&mut buf[done..], rustix::rand::GetRandomFlags::empty())
            .map_err(herr)?;
    }
    Ok(())
}

/// `preadv` over any number of slices, in chunks the host takes; short at end of file.
fn preadv_all(fd: &OwnedFd, bufs: &mut [IoSliceMut<'_>], off: u64) -> Result<usize, Errno> {
    let mut done = 0usize;
    for chunk in bufs.chunks_mut(IOV_MAX) {
        let want: usize = chunk.iter().map(|b| b.len()).sum();
        let off = i64::try_from(off.saturating_add(done as u64)).map_err(|_| Errno::EINVAL)?;
        match nix::sys::uio::preadv(fd.as_fd(), chunk, off) {
            Ok(n) => {
                done += n;
                if n < want {
                    break;
                }
            }
            Err(_) if done > 0 => break,
            Err(e) => return Err(nerr(e)),
        }
    }
    Ok(done)
}

/// `pwritev` over any number of slices.
fn pwritev_all(fd: &OwnedFd, bufs: &[IoSlice<'_>], off: u64) -> Result<usize, Errno> {
    let mut done = 0usize;
    for chunk in bufs.chunks(IOV_MAX) {
        let want = total_len(chunk);
        let off = i64::try_from(off.saturating_add(done as u64)).map_err(|_| Errno::EFBIG)?;
        match nix::sys::uio::pwritev(fd.as_fd(), chunk, off) {
            Ok(n) => {
                done += n;
                if n < want {
                    break;
                }
            }
            Err(_) if done > 0 => break,
            Err(e) => return Err(nerr(e)),
        }
    }
    Ok(done)
}

impl OpenFile {
    pub(crate) fn new(dentry: Option<Dentry>, kind: FileKind, flags: OFlags) -> FileRef {
        let flags = flags.difference(
            OFlags::CREAT | OFlags::EXCL | OFlags::NOCTTY | OFlags::TRUNC | OFlags::CLOEXEC,
        );
        let regular = matches!(kind, FileKind::Mem(_) | FileKind::Host(_));
        let writer = match &dentry {
            Some(d) if regular && flags.writable() => d.mount().map(crate::mount::MntWriter::new),
            _ => None,
        };
        Arc::new(OpenFile {
            _writer: writer,
            dentry,
            kind,
            nonotify: std::sync::atomic::AtomicBool::new(false),
            flags: Mutex::new(flags),
            state: Mutex::new(State {
                pos: 0,
                host_key: None,
                snapshot: None,
                created: false,
                landlock_denied: 0,
            }),
        })
    }

    fn check_read(&self) -> Result<(), Errno> {
        let f = self.flags();
        if matches!(self.kind, FileKind::Path) || !f.readable() {
            return Err(Errno::EBADF);
        }
        Ok(())
    }

    fn check_write(&self) -> Result<(), Errno> {
        let f = self.flags();
        if matches!(self.kind, FileKind::Path) || !f.writable() {
            return Err(Errno::EBADF);
        }
        if let Some(Inode::Proc(p)) = self.dentry.as_ref().map(|d| &d.0.inode) {
            return Err(p.write_error());
        }
        Ok(())
    }

    /// Reads at the file position and advances it.
    pub fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        self.read_event(self.read_here(bufs))
    }

    /// Sends `IN_ACCESS` for a read that returned data.
    fn read_event(&self, r: Result<usize, Errno>) -> Result<usize, Errno> {
        if matches!(r, Ok(n) if n > 0) {
            crate::notify::access(self);
        }
        r
    }

    /// Sends `IN_MODIFY` for a write that moved data.
    fn write_event(&self, r: Result<usize, Errno>) -> Result<usize, Errno> {
        if matches!(r, Ok(n) if n > 0) {
            crate::notify::modify(self);
        }
        r
    }

    fn read_here(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        self.check_read()?;
        match &self.kind {
            FileKind::Host(fd) => {
                let mut st = self.state.lock();
                let n = preadv_all(fd, bufs, st.pos)?;
                st.pos += n as u64;
                Ok(n)
            }
            FileKind::Mem(m) => {
                let mut st = self.state.lock();
                let n = m.read_vectored(bufs, st.pos)?;
                st.pos += n as u64;
                self.accessed(m);
                Ok(n)
            }
            FileKind::Stream(fd, _) => {
                let n = bufs.len().min(IOV_MAX);
                stdio::read(fd, &mut bufs[..n])
            }
            FileKind::Dev(k) => dev_read(*k, bufs),
            FileKind::Loop(l) => {
                let mut st = self.state.lock();
                let n = l.read(bufs, st.pos)?;
                st.pos += n as u64;
                Ok(n)
            }
            FileKind::Pipe(p) => p.pipe.read(bufs),
            FileKind::PidFd(_) => Err(Errno::EINVAL),
            FileKind::Pty(p) => pty_read(p, bufs),
            FileKind::Object(o) => o.read(bufs),
            FileKind::Dir => Err(Errno::EISDIR),
            FileKind::Path => Err(Errno::EBADF),
        }
    }

    /// Writes at the file position (at the end with `O_APPEND`) and advances it.
    pub fn write(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        self.write_mode(bufs, false)
    }

    /// `pwritev2(fd, …, -1, RWF_APPEND)`: writes at the end of the file, whatever
    /// `O_APPEND` says, and moves the position past the data.
    pub fn write_append(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        self.write_mode(bufs, true)
    }

    fn write_mode(&self, bufs: &[IoSlice<'_>], append: bool) -> Result<usize, Errno> {
        self.write_event(self.write_here(bufs, append))
    }

    fn write_here(&self, bufs: &[IoSlice<'_>], append: bool) -> Result<usize, Errno> {
        self.check_write()?;
        let append = append || self.flags().contains(OFlags::APPEND);
        match &self.kind {
            FileKind::Host(fd) => {
                let mut st = self.state.lock();
                let off = if append {
                    fstat_fd(fd)?.st_size as u64
                } else {
                    st.pos
                };
                let n = pwritev_all(fd, bufs, off)?;
                st.pos = off + n as u64;
                Ok(n)
            }
            FileKind::Mem(m) => {
                let mut st = self.state.lock();
                let at = if append { m.size() } else { st.pos };
                let end = at.saturating_add(total_len(bufs) as u64);
                m.check_write_seals(end)?;
                let fit = crate::blockfs::write_limit(self.dentry.as_ref(), m, at, end)?;
                let bufs = &fitting(bufs, end - fit)?;
                let (n, end) = m.write_vectored(bufs, st.pos, append)?;
                st.pos = end;
                crate::blockfs::written(self.dentry.as_ref(), n);
                Ok(n)
            }
            FileKind::Stream(fd, _) => stdio::write(fd, &bufs[..bufs.len().min(IOV_MAX)]),
            FileKind::Dev(k) => dev_write(*k, bufs),
            FileKind::Loop(l) => {
                let mut st = self.state.lock();
                let n = l.write(bufs, st.pos)?;
                st.pos += n as u64;
                Ok(n)
            }
            FileKind::Pipe(p) => p.pipe.write(bufs),
            FileKind::PidFd(_) => Err(Errno::EINVAL),
            FileKind::Pty(p) => {
                let data: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
                p.pty.write(p.master, &data)
            }
            FileKind::Object(o) => o.write(bufs),
            FileKind::Dir => Err(Errno::EISDIR),
            FileKind::Path => Err(Errno::EBADF),
        }
    }

    /// Reads at `off` without moving the position.
    pub fn pread(&self, bufs: &mut [IoSliceMut<'_>], off: u64) -> Result<usize, Errno> {
        self.read_event(self.pread_here(bufs, off))
    }

    fn pread_here(&self, bufs: &mut [IoSliceMut<'_>], off: u64) -> Result<usize, Errno> {
        if matches!(
            self.kind,
            FileKind::Pipe(_) | FileKind::Pty(_) | FileKind::Object(_)
        ) {
            return Err(Errno::ESPIPE);
        }
        self.check_read()?;
        if off > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        match &self.kind {
            FileKind::Host(fd) => preadv_all(fd, bufs, off),
            FileKind::Mem(m) => {
                let n = m.read_vectored(bufs, off)?;
                self.accessed(m);
                Ok(n)
            }
            FileKind::Stream(fd, _) => {
                let n = bufs.len().min(IOV_MAX);
                nix::sys::uio::preadv(fd.as_fd(), &mut bufs[..n], off as i64).map_err(nerr)
            }
            FileKind::Dev(k) => dev_read(*k, bufs),
            FileKind::Loop(l) => l.read(bufs, off),
            FileKind::Pipe(_) | FileKind::Pty(_) | FileKind::PidFd(_) | FileKind::Object(_) => {
                Err(Errno::ESPIPE)
            }
            FileKind::Dir => Err(Errno::EISDIR),
            FileKind::Path => Err(Errno::EBADF),
        }
    }

    /// Writes at `off` without moving the position (at the end with `O_APPEND`, as Linux).
    pub fn pwrite(&self, bufs: &[IoSlice<'_>], off: u64) -> Result<usize, Errno> {
        self.pwrite_mode(bufs, off, false)
    }

    /// `pwritev2` with `RWF_APPEND`: writes at the end of the file, whatever `O_APPEND` says,
    /// without moving the position.
    pub fn pwrite_append(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        self.pwrite_mode(bufs, 0, true)
    }

    fn pwrite_mode(&self, bufs: &[IoSlice<'_>], off: u64, append: bool) -> Result<usize, Errno> {
        self.write_event(self.pwrite_here(bufs, off, append))
    }

    fn pwrite_here(&self, bufs: &[IoSlice<'_>], off: u64, append: bool) -> Result<usize, Errno> {
        if matches!(
            self.kind,
            FileKind::Pipe(_) | FileKind::Pty(_) | FileKind::Object(_)
        ) {
            return Err(Errno::ESPIPE);
        }
        self.check_write()?;
        if off > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let append = append || self.flags().contains(OFlags::APPEND);
        match &self.kind {
            FileKind::Host(fd) => {
                let _g = self.state.lock();
                let off = if append {
                    fstat_fd(fd)?.st_size as u64
                } else {
                    off
                };
                pwritev_all(fd, bufs, off)
            }
            FileKind::Mem(m) => {
                let at = if append { m.size() } else { off };
                let end = at.saturating_add(total_len(bufs) as u64);
                m.check_write_seals(end)?;
                let fit = crate::blockfs::write_limit(self.dentry.as_ref(), m, at, end)?;
                let bufs = &fitting(bufs, end - fit)?;
                let (n, _) = m.write_vectored(bufs, off, append)?;
                crate::blockfs::written(self.dentry.as_ref(), n);
                Ok(n)
            }
            FileKind::Stream(fd, _) => {
                let n = bufs.len().min(IOV_MAX);
                nix::sys::uio::pwritev(fd.as_fd(), &bufs[..n], off as i64).map_err(nerr)
            }
            FileKind::Dev(k) => dev_write(*k, bufs),
            FileKind::Loop(l) => l.write(bufs, off),
            FileKind::Pipe(_) | FileKind::Pty(_) | FileKind::PidFd(_) | FileKind::Object(_) => {
                Err(Errno::ESPIPE)
            }
            FileKind::Dir => Err(Errno::EISDIR),
            FileKind::Path => Err(Errno::EBADF),
        }
    }

    /// `lseek`.
    pub fn lseek(&self, off: i64, whence: i32) -> Result<u64, Errno> {
        use abi::flags::seek;
        let size = match &self.kind {
            FileKind::Path => return Err(Errno::EBADF),
            FileKind::Pipe(_) | FileKind::Pty(_) | FileKind::PidFd(_) => return Err(Errno::ESPIPE),
            FileKind::Object(o) => return o.lseek(),
            FileKind::Stream(fd, _) => return stdio::lseek(fd, off, whence),
            FileKind::Dev(_) => {
                if !(0..=4).contains(&whence) {
                    return Err(Errno::EINVAL);
                }
                self.state.lock().pos = 0;
                return Ok(0);
            }
            FileKind::Dir => {
                let mut st = self.state.lock();
                let new = match whence {
                    seek::SET => off,
                    seek::CUR => (st.pos as i64).checked_add(off).ok_or(Errno::EINVAL)?,
                    _ => return Err(Errno::EINVAL),
                };
                if new < 0 {
                    return Err(Errno::EINVAL);
                }
                st.pos = new as u64;
                if new == 0 {
                    st.snapshot = None;
                }
                return Ok(new as u64);
            }
            FileKind::Host(fd) => fstat_fd(fd)?.st_size,
            FileKind::Mem(m) => m.size() as i64,
            FileKind::Loop(l) => l.size() as i64,
        };
        let mut st = self.state.lock();
        let new = match whence {
            seek::SET => off,
            seek::CUR => (st.pos as i64).checked_add(off).ok_or(Errno::EINVAL)?,
            seek::END => size.checked_add(off).ok_or(Errno::EINVAL)?,
            // As Linux's, a negative offset is past the end (`ENXIO`); in-memory files
            // know their holes, other files are data up to their end.
            seek::DATA | seek::HOLE => match &self.kind {
                FileKind::Mem(m) if off >= 0 => {
                    m.with_file(false, |f| f.seek(off as u64, whence == seek::HOLE))?? as i64
                }
                _ if off < 0 || off >= size => return Err(Errno::ENXIO),
                _ if whence == seek::DATA => off,
                _ => size,
            },
            _ => return Err(Errno::EINVAL),
        };
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        st.pos = new as u64;
        Ok(new as u64)
    }

    /// `fstat`.
    pub fn stat(&self) -> Result<Stat, Errno> {
        match (&self.dentry, &self.kind) {
            (Some(d), _) => d.stat(),
            (None, FileKind::Stream(fd, _)) => stdio::fstat(fd),
            (None, FileKind::Host(fd)) => fstat_fd(fd),
            (None, FileKind::Mem(m)) => Ok(m.stat()),
            (None, FileKind::Pipe(p)) => Ok(p.pipe.stat()),
            // An anonymous inode, as Linux's pidfds before pidfs.
            (None, FileKind::PidFd(pid)) => Ok(Stat {
                st_mode: 0o600,
                st_nlink: 1,
                st_ino: u64::from(*pid as u32),
                st_blksize: 4096,
                ..Stat::default()
            }),
            (None, FileKind::Object(o)) => Ok(o.stat()),
            _ => Err(Errno::EBADF),
        }
    }

    /// `getdents64`: as many records of the listing as fit in `limit` bytes.
    pub fn getdents64(&self, limit: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        self.getdents64_with(limit, |b| {
            out = b.to_vec();
            Ok(())
        })?;
        Ok(out)
    }

    /// `getdents64` handing the records to `deliver` (the copy to the caller); the
    /// directory position only moves past them if `deliver` succeeds, so entries a failed
    /// copy lost are returned again by the next call. Returns the number of bytes.
    pub fn getdents64_with(
        &self,
        limit: usize,
        deliver: impl FnOnce(&[u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        self.getdents64_for(&crate::NoProcs, limit, deliver)
    }

    /// [`OpenFile::getdents64_with`] for process `procs`: a procfs directory lists what it
    /// sees.
    pub fn getdents64_for(
        &self,
        procs: &dyn crate::ProcSource,
        limit: usize,
        deliver: impl FnOnce(&[u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        self.getdents_as(procs, limit, abi::structs::push_dirent64, deliver)
    }

    /// [`OpenFile::getdents64_for`] in the old `struct linux_dirent` records of
    /// `getdents(2)`.
    pub fn getdents_for(
        &self,
        procs: &dyn crate::ProcSource,
        limit: usize,
        deliver: impl FnOnce(&[u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        self.getdents_as(procs, limit, abi::structs::push_dirent, deliver)
    }

    /// The next records, each appended by `push` (`false`: it does not fit).
    fn getdents_as(
        &self,
        procs: &dyn crate::ProcSource,
        limit: usize,
        push: abi::structs::PushDirent,
        deliver: impl FnOnce(&[u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        match &self.kind {
            FileKind::Path => return Err(Errno::EBADF),
            FileKind::Dir => {}
            _ => return Err(Errno::ENOTDIR),
        }
        let d = self.dentry.as_ref().ok_or(Errno::ENOTDIR)?;
        // A removed directory lists nothing, not even `.` (Linux's `IS_DEADDIR`).
        if d.stat()?.st_nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let mut st = self.state.lock();
        if st.snapshot.is_none() {
            let me = d.stat()?.st_ino;
            let parent = if d.0.parent.is_some() {
                d.parent_or_self().stat()?.st_ino
            } else {
                me
            };
            let dt = abi::flags::dtype::DIR;
            let mut v = vec![
                DirEnt {
                    name: b".".to_vec(),
                    ino: me,
                    dtype: dt,
                },
                DirEnt {
                    name: b"..".to_vec(),
                    ino: parent,
                    dtype: dt,
                },
            ];
            let entries = match crate::procfs::listing(procs, d) {
                Some(l) => l,
                None => d.readdir()?,
            };
            v.extend(
                entries
                    .into_iter()
                    .map(|(name, ino, dtype)| DirEnt { name, ino, dtype }),
            );
            st.snapshot = Some(v);
        }
        let State { pos, snapshot, .. } = &mut *st;
        let snap = snapshot.as_deref().unwrap_or_default();
        let mut out = Vec::new();
        let mut i = usize::try_from(*pos).unwrap_or(usize::MAX);
        while let Some(e) = snap.get(i) {
            if !push(&mut out, limit, e.ino, (i + 1) as i64, e.dtype, &e.name) {
                if out.is_empty() {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            i += 1;
        }
        deliver(&out)?;
        *pos = i as u64;
        drop(st);
        if let Some(u) = overlay::upper(d) {
            self.accessed(&u);
        }
        crate::notify::access(self);
        Ok(out.len())
    }

    /// Its in-memory inode `u` was read: the access time moves as the mount's atime flags
    /// say (none on a `noatime` or read-only mount, none for directories on a
    /// `nodiratime` one, `relatime`, or every time), as Linux's `touch_atime`; not with
    /// `O_NOATIME`.
    fn accessed(&self, u: &MemInode) {
        use abi::flags::mount::{MS_NOATIME, MS_NODIRATIME, MS_RELATIME};
        let Some(mnt) = self.dentry.as_ref().and_then(|d| d.mount()) else {
            return;
        };
        let f = mnt.flags();
        let dir = matches!(self.kind, FileKind::Dir);
        if self.flags().contains(OFlags::NOATIME)
            || mnt.is_read_only()
            || f & MS_NOATIME != 0
            || (dir && f & MS_NODIRATIME != 0)
        {
            return;
        }
        u.touch_atime(f & MS_RELATIME != 0);
    }

    /// `ftruncate`.
    pub fn truncate(&self, len: u64) -> Result<(), Errno> {
        if matches!(self.kind, FileKind::Path) {
            return Err(Errno::EBADF);
        }
        if !self.flags().writable() || len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        if let Some(d) = &self.dentry {
            crate::fileattr::check_pinned(d)?;
        }
        self.truncate_here(len)?;
        crate::notify::modify(self);
        Ok(())
    }

    fn truncate_here(&self, len: u64) -> Result<(), Errno> {
        match &self.kind {
            FileKind::Host(fd) => rustix::fs::ftruncate(fd, len).map_err(herr),
            FileKind::Stream(fd, _) => rustix::fs::ftruncate(fd, len).map_err(herr),
            FileKind::Mem(m) => {
                m.check_resize_seals(len)?;
                m.truncate(len)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `fallocate(2)`, with Linux's checks in its order. In-memory files take what their
    /// file system takes ([`falloc`](crate::falloc)); host files (`--rw`) what the host
    /// file system takes.
    pub fn fallocate(&self, mode: u32, off: i64, len: i64) -> Result<(), Errno> {
        self.fallocate_here(mode, off, len)?;
        crate::notify::modify(self);
        Ok(())
    }

    fn fallocate_here(&self, mode: u32, off: i64, len: i64) -> Result<(), Errno> {
        use abi::flags::falloc::*;
        if matches!(self.kind, FileKind::Path) {
            return Err(Errno::EBADF);
        }
        if off < 0 || len <= 0 {
            return Err(Errno::EINVAL);
        }
        let op_mask =
            PUNCH_HOLE | COLLAPSE_RANGE | ZERO_RANGE | INSERT_RANGE | UNSHARE_RANGE | WRITE_ZEROES;
        if mode & !(op_mask | KEEP_SIZE) != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let keep = mode & KEEP_SIZE != 0;
        match mode & op_mask {
            0 | UNSHARE_RANGE | ZERO_RANGE => {}
            PUNCH_HOLE if keep => {}
            COLLAPSE_RANGE | INSERT_RANGE | WRITE_ZEROES if !keep => {}
            _ => return Err(Errno::EOPNOTSUPP),
        }
        if !self.flags().writable() {
            return Err(Errno::EBADF);
        }
        // Linux's `vfs_fallocate`: no immutable file, and only growing an append-only one.
        if let Some(d) = &self.dentry {
            crate::fileattr::check_mutable(d)?;
            if mode & !KEEP_SIZE != 0 && crate::fileattr::append_only(d) {
                return Err(Errno::EPERM);
            }
        }
        match &self.kind {
            FileKind::Pipe(_) => return Err(Errno::ESPIPE),
            FileKind::Dir => return Err(Errno::EISDIR),
            FileKind::Host(_) | FileKind::Mem(_) => {}
            _ => return Err(Errno::ENODEV),
        }
        let end = off.checked_add(len).ok_or(Errno::EFBIG)? as u64;
        match &self.kind {
            FileKind::Host(fd) => {
                let m = rustix::fs::FallocateFlags::from_bits_retain(mode);
                rustix::fs::fallocate(fd, m, off as u64, len as u64).map_err(herr)
            }
            FileKind::Mem(m) => {
                if end > crate::tmpfs::MAX_FILE {
                    return Err(Errno::EFBIG);
                }
                crate::falloc::fallocate(self.dentry.as_ref(), m, mode, off as u64, len as u64)
            }
            _ => Err(Errno::ENODEV),
        }
    }

    /// `fchown(2)` by `who`: see [`Vfs::chown`](crate::Vfs::chown).
    pub fn chown(
        &self,
        vfs: &crate::Vfs,
        uid: Option<u32>,
        gid: Option<u32>,
        who: &crate::FsCred<'_>,
    ) -> Result<(), Errno> {
        match (&self.dentry, &self.kind) {
            (_, FileKind::Path) => Err(Errno::EBADF),
            (Some(d), _) => vfs.chown_dentry(d, uid, gid, who),
            // Pipes and host streams keep their owner.
            (None, _) => Ok(()),
        }
    }

    /// `fchmod(2)` by `who`: see [`Vfs::chmod`](crate::Vfs::chmod).
    pub fn chmod(&self, vfs: &crate::Vfs, mode: u32, who: &crate::FsCred<'_>) -> Result<(), Errno> {
        if matches!(self.kind, FileKind::Path) {
            return Err(Errno::EBADF);
        }
        match (&self.dentry, &self.kind) {
            (Some(d), _) => {
                vfs.owner_or_root(who, d)?;
                d.chmod(mode)
            }
            (None, FileKind::Pipe(p)) => {
                p.pipe.chmod(mode);
                Ok(())
            }
            (None, _) => Err(Errno::EPERM),
        }
    }

    /// Whether file system events are about its use: not for `O_PATH` files and files
    /// the kernel opened for itself.
    pub(crate) fn has_events(&self) -> bool {
        !matches!(self.kind, FileKind::Path)
            && !self.nonotify.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Makes its use send file system events (`true`, the default) or not.
    pub fn set_events(&self, on: bool) {
        self.nonotify
            .store(!on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Status flags and access mode (`F_GETFL`).
    pub fn flags(&self) -> OFlags {
        *self.flags.lock()
    }

    /// `F_SETFL`: only [`OFlags::SETFL_MASK`] bits change.
    pub fn set_status_flags(&self, f: OFlags) {
        let mut fl = self.flags.lock();
        *fl = fl.difference(OFlags::SETFL_MASK) | f.intersection(OFlags::SETFL_MASK);
    }

    /// Whether it opens an append-only file (`F_SETFL` may not clear its `O_APPEND`).
    pub fn append_only(&self) -> bool {
        self.dentry
            .as_ref()
            .is_some_and(crate::fileattr::append_only)
    }

    /// Whether it opens an immutable file.
    pub fn immutable(&self) -> bool {
        self.dentry
            .as_ref()
            .is_some_and(|d| crate::fileattr::check_mutable(d).is_err())
    }

    /// The identity of the file it opens, (`st_dev`, `st_ino`): what record locks and
    /// `flock` locks are kept by, whichever name or descriptor reaches the file.
    pub fn inode_id(&self) -> Result<(u64, u64), Errno> {
        let st = self.stat()?;
        Ok((st.st_dev, st.st_ino))
    }

    /// A sync of it (`fsync`, `fdatasync`, `sync_file_range`, `syncfs`): the disk file
    /// system it lies on writes back what is dirty ([`blockstat`](crate::blockstat)).
    pub fn synced(&self) {
        crate::blockfs::synced(self.dentry.as_ref());
    }

    /// Whether it lies on a `nosuid` mount (exec ignores its set-user-ID and set-group-ID
    /// bits there).
    pub fn on_nosuid_mount(&self) -> bool {
        self.dentry
            .as_ref()
            .is_some_and(|d| crate::mount::has_flag(d, abi::flags::mount::MS_NOSUID))
    }

    /// The dentry it was opened by (`None` for stdio).
    pub fn dentry(&self) -> Option<Dentry> {
        self.dentry.clone()
    }

    /// The file position.
    pub fn pos(&self) -> u64 {
        self.state.lock().pos
    }

    /// A new open file description of the same pipe or host stream (opening
    /// `/proc/PID/fd/N` of a file with no name): a pipe end of the access mode asked for
    /// (a read end for `O_RDWR`), or a duplicate of the host stream.
    pub(crate) fn reopen(&self, flags: OFlags) -> Result<FileRef, Errno> {
        let keep = OFlags::from_bits_retain(flags.bits() & OFlags::ACCMODE)
            | flags.intersection(OFlags::NONBLOCK | OFlags::LARGEFILE);
        let kind = match &self.kind {
            FileKind::Pipe(p) => {
                let write = flags.bits() & OFlags::ACCMODE == 1;
                FileKind::Pipe(crate::pipe::open_end(&p.pipe, !write, write))
            }
            FileKind::Stream(fd, _) => FileKind::Stream(
                fd.try_clone().map_err(Errno::from)?,
                crate::object::new_wait_id(),
            ),
            FileKind::Object(o) if o.reopens() => FileKind::Object(o.clone()),
            _ => return Err(Errno::ENXIO),
        };
        Ok(OpenFile::new(None, kind, keep))
    }

    fn stream(&self) -> Result<&OwnedFd, Errno> {
        match &self.kind {
            FileKind::Stream(fd, _) => Ok(fd),
            FileKind::Path => Err(Errno::EBADF),
            _ => Err(Errno::ENOTTY),
        }
    }

    /// `TCGETS`.
    pub fn tcgets(&self) -> Result<Termios, Errno> {
        if let FileKind::Pty(p) = &self.kind {
            return p.pty.tcgets(p.master);
        }
        stdio::tcgets(self.stream()?)
    }

    /// `TIOCGWINSZ`.
    pub fn winsize(&self) -> Result<Winsize, Errno> {
        if let FileKind::Pty(p) = &self.kind {
            return p.pty.winsize(p.master);
        }
        stdio::winsize(self.stream()?)
    }

    /// `TCSETS`, `TCSETSW`, `TCSETSF`: `ENOTTY` if not a terminal.
    pub fn tcsets(&self, when: crate::TcsetWhen, t: &Termios) -> Result<(), Errno> {
        if let FileKind::Pty(p) = &self.kind {
            return p.pty.tcsets(p.master, when, t);
        }
        let fd = self.stream()?;
        stdio::tcgets(fd)?;
        stdio::tcsets(fd, when, t)
    }

    /// `TIOCSWINSZ`: `ENOTTY` if not a terminal. On a pty, a change sends `SIGWINCH` to
    /// its foreground group.
    pub fn set_winsize(&self, w: &Winsize) -> Result<(), Errno> {
        if let FileKind::Pty(p) = &self.kind {
            return p.pty.set_winsize(p.master, w);
        }
        let fd = self.stream()?;
        stdio::tcgets(fd)?;
        stdio::set_winsize(fd, w)
    }

    /// The pty this is an end of, and whether it is the master.
    pub fn pty(&self) -> Option<(&PtyRef, bool)> {
        match &self.kind {
            FileKind::Pty(p) => Some((&p.pty, p.master)),
            _ => None,
        }
    }

    /// Whether this is `/dev/tty` as opened, before the syscall layer resolves it to the
    /// opener's controlling terminal.
    pub fn is_tty_alias(&self) -> bool {
        matches!(self.kind, FileKind::Dev(DevKind::Tty))
    }

    /// `/dev/tty` for a process whose controlling terminal is the host's: the host's
    /// `/dev/tty` (`ENXIO` when uml has none).
    pub fn open_host_tty(&self) -> Result<FileRef, Errno> {
        let fd = rustix::fs::open(
            "/dev/tty",
            host_access(self.flags()) | HOFlags::NOCTTY | HOFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(herr)?;
        Ok(OpenFile::new(
            self.dentry.clone(),
            FileKind::Stream(fd, crate::object::new_wait_id()),
            self.flags(),
        ))
    }

    /// Whether this is the slave side of a pty whose master has closed.
    pub fn is_hung_up_tty(&self) -> bool {
        matches!(&self.kind, FileKind::Pty(p) if !p.master && p.pty.hung_up())
    }

    /// When a blocked read of a non-canonical pty gives up waiting (`VTIME`).
    pub fn read_deadline(&self) -> Option<std::time::Instant> {
        match &self.kind {
            FileKind::Pty(p) if !p.master => p.pty.read_deadline(),
            _ => None,
        }
    }

    /// `FIONREAD`: bytes readable without blocking.
    pub fn fionread(&self) -> Result<i32, Errno> {
        let rest = |size: u64| {
            let pos = self.state.lock().pos;
            Ok(size.saturating_sub(pos).min(i32::MAX as u64) as i32)
        };
        match &self.kind {
            FileKind::Stream(fd, _) => stdio::fionread(fd),
            FileKind::Host(fd) => rest(fstat_fd(fd)?.st_size as u64),
            FileKind::Mem(m) => rest(m.size()),
            FileKind::Pipe(p) => Ok(p.pipe.len() as i32),
            FileKind::Pty(p) => Ok(p.pty.readable_len(p.master) as i32),
            FileKind::Object(o) => o.fionread(),
            FileKind::Path => Err(Errno::EBADF),
            _ => Err(Errno::ENOTTY),
        }
    }

    /// Reads bytes at `off` into `dst` (file-backed mmap, the ELF loader); short at EOF.
    pub fn read_at(&self, off: u64, dst: &mut [u8]) -> Result<usize, Errno> {
        let mut bufs = [IoSliceMut::new(dst)];
        match &self.kind {
            FileKind::Host(fd) => preadv_all(fd, &mut bufs, off),
            FileKind::Mem(m) => m.read_vectored(&mut bufs, off),
            FileKind::Stream(fd, _) => {
                let off = i64::try_from(off).map_err(|_| Errno::EINVAL)?;
                nix::sys::uio::preadv(fd.as_fd(), &mut bufs, off).map_err(nerr)
            }
            FileKind::Dev(k) => dev_read(*k, &mut bufs),
            FileKind::Loop(l) => l.read(&mut bufs, off),
            FileKind::Pipe(_) | FileKind::Pty(_) | FileKind::Object(_) => Err(Errno::ESPIPE),
            FileKind::PidFd(_) => Err(Errno::EINVAL),
            FileKind::Dir => Err(Errno::EISDIR),
            FileKind::Path => Err(Errno::EBADF),
        }
    }

    /// Writes `src` at `off` whatever `O_APPEND` says (page-cache write-back of a regular
    /// file opened for writing); returns bytes written.
    pub fn write_at(&self, off: u64, src: &[u8]) -> Result<usize, Errno> {
        self.check_write()?;
        let bufs = [IoSlice::new(src)];
        match &self.kind {
            FileKind::Host(fd) => pwritev_all(fd, &bufs, off),
            FileKind::Mem(m) => m.write_vectored(&bufs, off, false).map(|(n, _)| n),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The loop device this is an open file of.
    pub fn loop_device(&self) -> Option<&Arc<crate::loopdev::LoopDevice>> {
        match &self.kind {
            FileKind::Loop(l) => Some(l),
            _ => None,
        }
    }

    /// Whether this is `/dev/userfaultfd`.
    pub fn is_userfaultfd_dev(&self) -> bool {
        matches!(self.kind, FileKind::Dev(DevKind::Userfaultfd))
    }

    /// Whether this is `/dev/loop-control`.
    pub fn is_loop_control(&self) -> bool {
        matches!(self.kind, FileKind::Dev(DevKind::LoopControl))
    }

    /// The identity of a regular file for the page cache, `(st_dev, st_ino)` with the top
    /// bit of the device set for in-memory files (a copied-up file keeps its lower file's
    /// numbers but is another file); `None` for anything else. Stable for the open file's
    /// life.
    pub fn inode_key(&self) -> Option<(u64, u64)> {
        match &self.kind {
            FileKind::Mem(m) => Some((m.dev | 1 << 63, m.ino)),
            FileKind::Host(fd) => {
                let mut st = self.state.lock();
                if st.host_key.is_none() {
                    let s = fstat_fd(fd).ok()?;
                    st.host_key = Some((s.st_dev, s.st_ino));
                }
                st.host_key
            }
            _ => None,
        }
    }

    /// The size of a regular file (0 for anything else).
    pub fn size(&self) -> u64 {
        match &self.kind {
            FileKind::Host(fd) => fstat_fd(fd).map_or(0, |s| s.st_size as u64),
            FileKind::Mem(m) => m.size(),
            _ => 0,
        }
    }

    /// How many of `want` bytes a `read` at the current position can return at most (the
    /// rest of a regular file; `want` for anything else), so callers fault in no more guest
    /// pages than the read fills.
    pub fn read_len_hint(&self, want: u64) -> u64 {
        let size = match &self.kind {
            FileKind::Host(fd) => match fstat_fd(fd) {
                Ok(st) => st.st_size as u64,
                Err(_) => return want,
            },
            FileKind::Mem(m) => m.size(),
            _ => return want,
        };
        let pos = self.state.lock().pos;
        want.min(size.saturating_sub(pos))
    }

    /// What tasks blocked on this file wait for (`Some(pipe id)` for both ends of a pipe;
    /// `None` for files that never block).
    pub fn wait_id(&self) -> Option<u64> {
        match &self.kind {
            FileKind::Pipe(p) => Some(p.pipe.id()),
            FileKind::Pty(p) => Some(p.pty.id()),
            FileKind::Object(o) => Some(o.wait_id()),
            // Host streams are told apart from pipe ids by the top bit.
            FileKind::Stream(_, id) => Some(HOST_STREAM_ID | id),
            FileKind::PidFd(pid) => Some(pidfd_wait_id(*pid)),
            _ => None,
        }
    }

    /// The kernel object behind this file, if it is one.
    pub fn object(&self) -> Option<&Arc<dyn FileObject>> {
        match &self.kind {
            FileKind::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Adds what a task waiting for this file's readiness sleeps on: its wait id, the host
    /// stream to watch, an object's own (an epoll's files, a timer's expiry).
    pub fn waits(self: &Arc<Self>, ws: &mut WaitSet) {
        match &self.kind {
            FileKind::Object(o) => {
                o.waits(ws);
                if o.host_watch().is_some() {
                    ws.host.push(self.clone());
                }
            }
            FileKind::Stream(..) => {
                ws.ids.extend(self.wait_id());
                ws.host.push(self.clone());
            }
            _ => ws.ids.extend(self.wait_id()),
        }
    }

    /// Whether a blocking write goes on until all is written (pipes, host streams) rather
    /// than returning after one transfer.
    pub fn write_waits_for_all(&self) -> bool {
        match &self.kind {
            FileKind::Object(o) => o.write_waits_for_all(),
            _ => true,
        }
    }

    /// Whether the file has readiness of its own that `epoll` can watch (Linux's
    /// `file_can_poll`): not regular files, directories or the memory devices.
    pub fn can_poll(&self) -> bool {
        match &self.kind {
            FileKind::Pipe(_) | FileKind::Stream(..) | FileKind::Pty(_) | FileKind::PidFd(_) => {
                true
            }
            FileKind::Object(o) => o.can_poll(),
            FileKind::Dev(k) => matches!(k, DevKind::Random | DevKind::Urandom | DevKind::Tty),
            _ => false,
        }
    }

    /// The kernel object of type `T` behind this file, if it is one.
    pub fn object_as<T: FileObject>(&self) -> Option<&T> {
        match &self.kind {
            FileKind::Object(o) => {
                let any: &dyn std::any::Any = &**o;
                any.downcast_ref::<T>()
            }
            _ => None,
        }
    }

    /// The host descriptor the kernel waits on for this file's waiters (a host stream's,
    /// or an object's host socket) and whether they wait to write.
    pub fn host_watch_fd(&self) -> Option<(std::os::fd::BorrowedFd<'_>, bool)> {
        match &self.kind {
            FileKind::Object(o) => o.host_watch(),
            _ => self.host_stream_fd().map(|fd| (fd, false)),
        }
    }

    /// The host descriptor of a host stream (stdio, `/dev/tty`), for the kernel to wait on.
    pub fn host_stream_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        match &self.kind {
            FileKind::Stream(fd, _) => Some(std::os::fd::AsFd::as_fd(fd)),
            _ => None,
        }
    }

    /// `F_GETPIPE_SZ`: the capacity of a pipe; `EBADF` if this is not a pipe.
    pub fn pipe_capacity(&self) -> Result<usize, Errno> {
        match &self.kind {
            FileKind::Pipe(p) => Ok(p.pipe.capacity()),
            _ => Err(Errno::EBADF),
        }
    }

    /// The guest pid a pidfd refers to (`None` for any other file).
    pub fn pidfd(&self) -> Option<i32> {
        match self.kind {
            FileKind::PidFd(pid) => Some(pid),
            _ => None,
        }
    }

    /// The process whose `/proc/PID` directory this is open on (which
    /// `pidfd_send_signal` takes as a pidfd, as Linux does).
    pub fn proc_pid_dir(&self) -> Option<i32> {
        self.dentry.as_ref().and_then(Dentry::proc_tgid)
    }

    /// Whether it is one end of a pipe (made by `pipe(2)`, or a FIFO opened).
    pub fn is_pipe(&self) -> bool {
        matches!(self.kind, FileKind::Pipe(_))
    }

    /// Reads a pipe's buffered bytes without consuming them (`tee`); `EINVAL` if this is
    /// not a pipe: 0 at end of file, `EAGAIN` if empty with writers.
    pub fn pipe_peek(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        match &self.kind {
            FileKind::Pipe(p) => p.pipe.peek(buf),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Bytes a write to this pipe takes whole now; `EINVAL` if this is not a pipe.
    pub fn pipe_room(&self) -> Result<usize, Errno> {
        match &self.kind {
            FileKind::Pipe(p) => Ok(p.pipe.room()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `F_SETPIPE_SZ`: see the pipe's rules; `EBADF` if this is not a pipe.
    pub fn set_pipe_capacity(&self, bytes: u64) -> Result<usize, Errno> {
        match &self.kind {
            FileKind::Pipe(p) => p.pipe.set_capacity(bytes),
            _ => Err(Errno::EBADF),
        }
    }

    /// Readiness for `poll`: pipes by their state, everything else always ready.
    pub fn poll_ready(&self) -> PollEvents {
        self.poll_for(&Poller::default())
    }

    /// Readiness for task `who` (what a signalfd reports depends on who asks).
    pub fn poll_for(&self, who: &Poller) -> PollEvents {
        match &self.kind {
            FileKind::Pipe(p) => p.poll(),
            FileKind::Pty(p) => p.pty.poll(p.master),
            FileKind::Stream(fd, _) => stdio::poll(fd),
            FileKind::Object(o) => o.poll(who),
            _ => PollEvents::READY,
        }
    }

    /// `futimens(2)` / `utimensat(fd, NULL, …)` by `who`: times as
    /// [`Vfs::utimens`](crate::Vfs::utimens) takes them, with its permission checks.
    /// `EBADF` for `O_PATH` files.
    pub fn utimens(
        &self,
        atime: Timespec,
        mtime: Timespec,
        who: &crate::FsCred<'_>,
    ) -> Result<(), Errno> {
        if matches!(self.kind, FileKind::Path) {
            return Err(Errno::EBADF);
        }
        let Some((a, m)) = crate::times_for(|| self.stat(), atime, mtime, who)? else {
            return Ok(());
        };
        self.set_times(a, m)
    }

    /// `futimens`: sets (`Some`) or leaves (`None`) the access and modification times, and
    /// ctime to now. Permission checks are the caller's. Host streams (stdio) are left
    /// alone: their times belong to the host.
    fn set_times(&self, atime: Option<Time>, mtime: Option<Time>) -> Result<(), Errno> {
        match (&self.dentry, &self.kind) {
            (_, FileKind::Path) => Err(Errno::EBADF),
            (Some(d), _) => d.set_times(atime, mtime),
            (None, FileKind::Pipe(p)) => {
                p.pipe.set_times(atime, mtime);
                Ok(())
            }
            (None, _) => Ok(()),
        }
    }

    /// Whether the open that made this description created the file (`F_CREATED_QUERY`).
    pub fn created(&self) -> bool {
        self.state.lock().created
    }

    /// Marks the description as made by an open that created its file.
    pub(crate) fn set_created(&self) {
        self.state.lock().created = true;
    }

    /// Records the Landlock rights its opener's domain denied it.
    pub(crate) fn set_landlock_denied(&self, denied: u64) {
        self.state.lock().landlock_denied = denied;
    }

    /// `EACCES` if its opener's Landlock domain denied it `access`
    /// (`LANDLOCK_ACCESS_FS_TRUNCATE`, `LANDLOCK_ACCESS_FS_IOCTL_DEV`).
    pub fn landlock_check(&self, access: u64) -> Result<(), Errno> {
        if self.state.lock().landlock_denied & access != 0 {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// Whether it is `/dev/random` or `/dev/urandom`.
    pub fn is_random(&self) -> bool {
        matches!(self.kind, FileKind::Dev(DevKind::Random | DevKind::Urandom))
    }

    /// Whether it holds a regular file's data (host or in-memory).
    pub fn is_regular(&self) -> bool {
        matches!(self.kind, FileKind::Host(_) | FileKind::Mem(_))
    }

    /// Whether the file position can be moved (not a pipe, tty or socket).
    pub fn is_seekable(&self) -> bool {
        match &self.kind {
            FileKind::Stream(fd, _) => stdio::lseek(fd, 0, 1).is_ok(),
            FileKind::Path
            | FileKind::Pipe(_)
            | FileKind::PidFd(_)
            | FileKind::Pty(_)
            | FileKind::Object(_) => false,
            _ => true,
        }
    }
}

fn dev_read(k: DevKind, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
    match k {
        DevKind::Null => Ok(0),
        DevKind::Zero | DevKind::Full => fill(bufs, |b| {
            b.fill(0);
            Ok(())
        }),
        DevKind::Random | DevKind::Urandom => fill(bufs, random),
        _ => Err(Errno::EIO),
    }
}

fn dev_write(k: DevKind, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
    match k {
        DevKind::Full => Err(Errno::ENOSPC),
        DevKind::Null | DevKind::Zero | DevKind::Random | DevKind::Urandom => Ok(total_len(bufs)),
        _ => Err(Errno::EIO),
    }
}

/// Host open flags for an access mode.
fn host_access(flags: OFlags) -> HOFlags {
    match flags.bits() & OFlags::ACCMODE {
        0 => HOFlags::RDONLY,
        1 => HOFlags::WRONLY,
        _ => HOFlags::RDWR,
    }
}

/// An `O_PATH` open file of `d`.
pub(crate) fn open_path(d: &Dentry) -> FileRef {
    OpenFile::new(
        Some(d.clone()),
        FileKind::Path,
        OFlags::PATH | OFlags::LARGEFILE,
    )
}

/// Opens the object `d` names (permission and type checks done by the caller).
pub(crate) fn open_dentry(d: &Dentry, flags: OFlags) -> Result<FileRef, Errno> {
    let flags = flags | OFlags::LARGEFILE;
    if flags.contains(OFlags::PATH) {
        let keep = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::LARGEFILE;
        return Ok(OpenFile::new(
            Some(d.clone()),
            FileKind::Path,
            flags.intersection(keep),
        ));
    }
    let ft = d.ftype();
    if ft == S_IFDIR {
        if flags.writable() {
            return Err(Errno::EISDIR);
        }
        return Ok(OpenFile::new(Some(d.clone()), FileKind::Dir, flags));
    }
    if ft == S_IFLNK {
        return Err(Errno::ELOOP);
    }
    // A `nodev` mount's device nodes do not open.
    let dev_node = ft == abi::flags::mode::S_IFCHR || ft == abi::flags::mode::S_IFBLK;
    if dev_node && crate::mount::has_flag(d, abi::flags::mount::MS_NODEV) {
        return Err(Errno::EACCES);
    }
    // A socket file is never opened, wherever it lives (`connect` reaches its socket).
    if ft == abi::flags::mode::S_IFSOCK {
        return Err(Errno::ENXIO);
    }
    // Host special files are never opened: a host device, FIFO or socket would connect the
    // guest to the host outside its root (and a FIFO open could block the kernel). Sockets
    // are ENXIO as on Linux; devices and FIFOs EACCES, as on a `nodev` mount.
    if ft != S_IFREG {
        let host_backed = match &d.0.inode {
            Inode::Host(_) => true,
            Inode::Ovl(_) => overlay::upper(d).is_none(),
            Inode::Proc(_) => false,
        };
        if host_backed {
            return Err(if ft == abi::flags::mode::S_IFSOCK {
                Errno::ENXIO
            } else {
                Errno::EACCES
            });
        }
    }
    // From here on a host object is a regular file (the others were refused above).
    let kind = match &d.0.inode {
        Inode::Host(h) => FileKind::Host(match host_access(flags) {
            HOFlags::RDONLY => h.reader()?,
            access => Arc::new(h.open(access)?),
        }),
        Inode::Ovl(o) => {
            let up = if flags.writable() {
                Some(overlay::copy_up(d)?)
            } else {
                overlay::upper(d)
            };
            match up {
                Some(u) => match dev_kind(&u) {
                    _ if ft == S_IFIFO => return open_fifo(d, &u, flags),
                    Some(DevKind::Ptmx) => {
                        return devpts(o)?.open_master(d, flags, o.fs.shared.uid)
                    }
                    Some(DevKind::PtySlave(n)) => return devpts(o)?.open_slave(n, d, flags),
                    _ => mem_kind(u, &o.fs.shared)?,
                },
                None => FileKind::Host(o.lower.as_ref().ok_or(Errno::ENOENT)?.reader()?),
            }
        }
        // Opened through `Vfs::proc_open`, which knows the processes.
        Inode::Proc(_) => return Err(Errno::EACCES),
    };
    Ok(OpenFile::new(Some(d.clone()), kind, flags))
}

fn open_fifo(d: &Dentry, u: &MemInode, flags: OFlags) -> Result<FileRef, Errno> {
    match &u.inner.lock().data {
        MemData::Fifo(p) => crate::fifo::open(d, p, flags),
        _ => Err(Errno::ENXIO),
    }
}

fn dev_kind(u: &MemInode) -> Option<DevKind> {
    match &u.inner.lock().data {
        MemData::Dev(k) => Some(*k),
        _ => None,
    }
}

fn devpts(o: &crate::dentry::OvlNode) -> Result<Arc<crate::pty::Devpts>, Errno> {
    o.fs.shared.devpts().ok_or(Errno::ENODEV)
}

fn mem_kind(u: Arc<MemInode>, shared: &crate::dentry::FsShared) -> Result<FileKind, Errno> {
    let dev = match &u.inner.lock().data {
        MemData::Dev(k) => Some(*k),
        MemData::Dir { .. } => return Err(Errno::EISDIR),
        MemData::Symlink(_) => return Err(Errno::ELOOP),
        MemData::Socket(_) | MemData::Fifo(_) => return Err(Errno::ENXIO),
        MemData::File(_) => None,
    };
    Ok(match dev {
        Some(DevKind::Console { host_fd, .. }) => {
            FileKind::Stream(stdio::dup(host_fd)?, crate::object::new_wait_id())
        }
        Some(DevKind::NoDevice(..)) => return Err(Errno::ENXIO),
        Some(DevKind::Loop(n)) => {
            let loops = shared.loops().ok_or(Errno::ENXIO)?;
            FileKind::Loop(loops.get_or_probe(n)?)
        }
        Some(k) => FileKind::Dev(k),
        None => FileKind::Mem(u),
    })
}

/// `read` of a pty end: one call to the pty (a canonical read takes at most one line), its
/// bytes spread over `bufs`.
fn pty_read(p: &PtyEnd, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
    let want = bufs.iter().fold(0usize, |a, b| a.saturating_add(b.len()));
    if want == 0 {
        return Ok(0);
    }
    let mut tmp = vec![0u8; want.min(crate::ldisc::OUTPUT_MAX)];
    let n = p.pty.read(p.master, &mut tmp)?;
    let mut at = 0;
    for b in bufs.iter_mut() {
        let k = b.len().min(n - at);
        b[..k].copy_from_slice(&tmp[at..at + k]);
        at += k;
    }
    Ok(n)
}

/// An open file over host descriptor `fd` (stdio), named by `dentry` when the host
/// descriptor is the console's alias in `/dev/pts`.
pub(crate) fn open_stream(fd: OwnedFd, dentry: Option<Dentry>) -> Result<FileRef, Errno> {
    use std::os::fd::AsRawFd;
    let fl = nondet::input("stream flags", || {
        nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL).map_err(nerr)
    })?;
    let keep = OFlags::ACCMODE | OFlags::APPEND.bits() | OFlags::NONBLOCK.bits();
    let flags = OFlags::from_bits_retain(fl as u32 & keep) | OFlags::LARGEFILE;
    let id = crate::object::new_wait_id();
    Ok(OpenFile::new(dentry, FileKind::Stream(fd, id), flags))
}

/// An open file (read-write, `O_NONBLOCK` kept from `flags`) over kernel object `obj`.
pub fn open_object(obj: Arc<dyn FileObject>, flags: OFlags) -> FileRef {
    let keep = flags.intersection(OFlags::NONBLOCK) | OFlags::RDWR;
    OpenFile::new(None, FileKind::Object(obj), keep)
}

/// [`open_object`] for an object that is only read (inotify: `write` is
/// `EBADF`).
pub fn open_object_read_only(obj: Arc<dyn FileObject>, flags: OFlags) -> FileRef {
    let keep = flags.intersection(OFlags::NONBLOCK);
    OpenFile::new(None, FileKind::Object(obj), keep)
}

/// A new pipe's read and write ends; `flags`: `O_NONBLOCK`, `O_DIRECT` (kept as a status
/// flag; packet mode is not implemented).
pub(crate) fn open_pipe(flags: OFlags, uid: u32, gid: u32) -> (FileRef, FileRef) {
    let (r, w) = crate::pipe::new_pipe(uid, gid);
    let keep = flags.intersection(OFlags::NONBLOCK | OFlags::DIRECT);
    (
        OpenFile::new(None, FileKind::Pipe(r), keep),
        OpenFile::new(None, FileKind::Pipe(w), keep | OFlags::WRONLY),
    )
}
