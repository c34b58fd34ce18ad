//! In-memory inodes: the tmpfs, the overlay's upper layer and devfs are trees of [`MemInode`].

use std::collections::BTreeMap;
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::{AtomicU64, Ordering};

use abi::flags::mode::{S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT};
use abi::structs::Stat;
use abi::Errno;
use parking_lot::Mutex;

use crate::sparse::FileData;
use crate::Arc;

/// Bumped after every change to the entries of any in-memory directory (through
/// [`MemInode::with_dir`], the only way they change once a directory is linked in).
static DIR_GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current [`DIR_GENERATION`]: when two reads give the same value, no in-memory
/// directory changed in between (read it *before* looking at the directories).
pub(crate) fn dir_generation() -> u64 {
    DIR_GENERATION.load(Ordering::Acquire)
}

/// Largest file a tmpfs holds (bytes); larger writes get `EFBIG`.
pub const MAX_FILE: u64 = 1 << 40;

/// A wall-clock timestamp (seconds, nanoseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Time {
    pub sec: i64,
    pub nsec: i64,
}

impl Time {
    /// Now.
    pub fn now() -> Time {
        match nondet::ktime_get_real().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Time {
                sec: d.as_secs() as i64,
                nsec: i64::from(d.subsec_nanos()),
            },
            Err(_) => Time::default(),
        }
    }
}

/// The character devices devfs offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DevKind {
    Null,
    Zero,
    Full,
    Random,
    Urandom,
    /// `/dev/tty`: the opener's controlling terminal (the syscall layer resolves it).
    Tty,
    /// `/dev/ptmx`: a new pty's master.
    Ptmx,
    /// `/dev/pts/N`.
    PtySlave(u32),
    /// The host's terminal (host descriptor `host_fd`): `/dev/console`, and `/dev/pts/N`
    /// (`pts`) when it is the host's pty N.
    Console {
        host_fd: i32,
        pts: Option<u32>,
    },
    /// `/dev/loop-control`.
    LoopControl,
    /// The block device `/dev/loopN` ([`loopdev`](crate::loopdev)).
    Loop(u32),
    /// `/dev/userfaultfd`: `USERFAULTFD_IOC_NEW` makes a userfaultfd (the syscall layer's).
    Userfaultfd,
    /// A node (`mknod`) of a number uml has no device for, and every other block device node:
    /// opening it is `ENXIO`, as a device without a driver on Linux.
    NoDevice(u32, u32),
}

impl DevKind {
    /// `(major, minor)` as on Linux.
    pub fn rdev(self) -> (u32, u32) {
        match self {
            DevKind::Null => (1, 3),
            DevKind::Zero => (1, 5),
            DevKind::Full => (1, 7),
            DevKind::Random => (1, 8),
            DevKind::Urandom => (1, 9),
            DevKind::Tty => (5, 0),
            DevKind::Ptmx => (5, 2),
            DevKind::PtySlave(n) | DevKind::Console { pts: Some(n), .. } => (136, n),
            DevKind::Console { pts: None, .. } => (5, 1),
            DevKind::LoopControl => abi::flags::blk::LOOP_CTRL,
            DevKind::Loop(n) => (abi::flags::blk::LOOP_MAJOR, n),
            // A misc device with a dynamic minor: the one Linux 6.18 gives it on x86-64.
            DevKind::Userfaultfd => (10, 257),
            DevKind::NoDevice(major, minor) => (major, minor),
        }
    }

    /// The device a `mknod` character node of `(major, minor)` opens: one of devfs's
    /// memory devices, `/dev/tty`, `/dev/ptmx` or a pty's slave; never a host device.
    pub fn of_char(major: u32, minor: u32) -> DevKind {
        match (major, minor) {
            (1, 3) => DevKind::Null,
            (1, 5) => DevKind::Zero,
            (1, 7) => DevKind::Full,
            (1, 8) => DevKind::Random,
            (1, 9) => DevKind::Urandom,
            (5, 0) => DevKind::Tty,
            (5, 2) => DevKind::Ptmx,
            (136, n) => DevKind::PtySlave(n),
            (10, 237) => DevKind::LoopControl,
            (10, 257) => DevKind::Userfaultfd,
            _ => DevKind::NoDevice(major, minor),
        }
    }
}

/// One entry of an in-memory directory.
#[derive(Clone)]
pub(crate) enum MemEntry {
    /// A live inode.
    Node(Arc<MemInode>),
    /// An overlay whiteout: the name is deleted, whatever the lower layer holds.
    Whiteout,
}

/// What an in-memory inode holds.
pub(crate) enum MemData {
    File(FileData),
    /// `opaque`: the lower layer's directory of the same path does not show through.
    Dir {
        entries: BTreeMap<Vec<u8>, MemEntry>,
        opaque: bool,
    },
    Symlink(Vec<u8>),
    Dev(DevKind),
    /// A socket inode: the socket bound to it, while that lives (`None` for one made by
    /// `mknod`, which no socket is bound to).
    Socket(Option<std::sync::Weak<dyn crate::object::FileObject>>),
    /// A FIFO: the pipe its openers share.
    Fifo(Arc<crate::pipe::Pipe>),
}

/// Mutable state of a [`MemInode`].
pub(crate) struct MemInner {
    /// Full `st_mode` (type and permission bits).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
    pub atime: Time,
    pub mtime: Time,
    pub ctime: Time,
    pub data: MemData,
    /// `F_SEAL_*` bits of a memfd (`None`: a file that cannot be sealed).
    pub seals: Option<u32>,
    /// Extended attributes: full name (`user.x`) → value.
    pub xattrs: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    /// Inode flags (`FS_*_FL`, see [`fileattr`](crate::fileattr)).
    pub flags: u32,
    /// Birth time (`None` for a copied-up inode: its lower file's is not known).
    pub btime: Option<Time>,
    /// With no link, `linkat` may still give it one (an `O_TMPFILE` file opened without
    /// `O_EXCL`; Linux's `I_LINKABLE`).
    pub linkable: bool,
}

/// An in-memory inode. `ino`/`dev` are synthetic for new inodes and the lower file's for
/// copied-up ones (so `st_ino` does not change on copy-up).
pub(crate) struct MemInode {
    pub ino: u64,
    pub dev: u64,
    pub inner: Mutex<MemInner>,
}

impl MemInode {
    /// A new inode with the given metadata and contents; times are now.
    pub fn new(ino: u64, dev: u64, mode: u32, uid: u32, gid: u32, data: MemData) -> Arc<MemInode> {
        let now = Time::now();
        let nlink = if matches!(data, MemData::Dir { .. }) {
            2
        } else {
            1
        };
        Arc::new(MemInode {
            ino,
            dev,
            inner: Mutex::new(MemInner {
                mode,
                uid,
                gid,
                nlink,
                atime: now,
                mtime: now,
                ctime: now,
                data,
                seals: None,
                xattrs: Default::default(),
                flags: 0,
                btime: Some(now),
                linkable: false,
            }),
        })
    }

    /// An empty directory.
    pub fn new_dir(ino: u64, dev: u64, perm: u32, uid: u32, gid: u32) -> Arc<MemInode> {
        let data = MemData::Dir {
            entries: BTreeMap::new(),
            opaque: false,
        };
        MemInode::new(ino, dev, S_IFDIR | (perm & 0o7777), uid, gid, data)
    }

    /// A device node.
    pub fn new_dev(ino: u64, dev: u64, kind: DevKind) -> Arc<MemInode> {
        // `/dev/userfaultfd` is root's alone, as udev leaves it.
        let perm = if kind == DevKind::Userfaultfd {
            0o600
        } else {
            0o666
        };
        MemInode::new(ino, dev, S_IFCHR | perm, 0, 0, MemData::Dev(kind))
    }

    /// `stat` of this inode.
    pub fn stat(&self) -> Stat {
        let i = self.inner.lock();
        let size = match &i.data {
            MemData::File(f) => f.len(),
            MemData::Symlink(t) => t.len() as u64,
            MemData::Dir { .. } => 4096,
            MemData::Dev(_) | MemData::Socket(_) | MemData::Fifo(_) => 0,
        };
        let rdev = match &i.data {
            MemData::Dev(k) => {
                let (ma, mi) = k.rdev();
                abi::structs::makedev(ma, mi)
            }
            _ => 0,
        };
        let (blocks, blksize) = match &i.data {
            MemData::File(f) => (f.allocated() / 512, f.block_size()),
            MemData::Dir { .. } => (8, 4096),
            _ => (0, 4096),
        };
        Stat {
            st_dev: self.dev,
            st_ino: self.ino,
            st_nlink: i.nlink,
            st_mode: i.mode,
            st_uid: i.uid,
            st_gid: i.gid,
            st_rdev: rdev,
            st_size: size as i64,
            st_blksize: blksize as i64,
            st_blocks: blocks as i64,
            st_atime: i.atime.sec,
            st_atime_nsec: i.atime.nsec,
            st_mtime: i.mtime.sec,
            st_mtime_nsec: i.mtime.nsec,
            st_ctime: i.ctime.sec,
            st_ctime_nsec: i.ctime.nsec,
            ..Stat::default()
        }
    }

    /// The `S_IFMT` bits.
    pub fn ftype(&self) -> u32 {
        self.inner.lock().mode & S_IFMT
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.ftype() == S_IFDIR
    }

    /// Whether this is an opaque directory.
    pub fn is_opaque(&self) -> bool {
        matches!(self.inner.lock().data, MemData::Dir { opaque: true, .. })
    }

    /// The entry `name` of this directory (`None` if absent or not a directory).
    pub fn entry(&self, name: &[u8]) -> Option<MemEntry> {
        match &self.inner.lock().data {
            MemData::Dir { entries, .. } => entries.get(name).cloned(),
            _ => None,
        }
    }

    /// Runs `f` on the entries of this directory and marks it modified if `modify`.
    /// Every call counts as a change of the directory for [`dir_generation`].
    pub fn with_dir<R>(
        &self,
        modify: bool,
        f: impl FnOnce(&mut BTreeMap<Vec<u8>, MemEntry>, &mut bool) -> R,
    ) -> Result<R, Errno> {
        let mut i = self.inner.lock();
        let r = match &mut i.data {
            MemData::Dir { entries, opaque } => f(entries, opaque),
            _ => return Err(Errno::ENOTDIR),
        };
        // After the change: whoever reads the new value sees the change.
        DIR_GENERATION.fetch_add(1, Ordering::AcqRel);
        if modify {
            let now = Time::now();
            i.mtime = now;
            i.ctime = now;
        }
        Ok(r)
    }

    /// Adds `delta` to the link count and updates ctime.
    pub fn add_links(&self, delta: i64) {
        let mut i = self.inner.lock();
        i.nlink = i.nlink.saturating_add_signed(delta);
        i.ctime = Time::now();
    }

    /// The target of a symlink.
    pub fn readlink(&self) -> Result<Vec<u8>, Errno> {
        match &self.inner.lock().data {
            MemData::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Sets the owner and/or group (`None`: unchanged). Like Linux, a changed owner or group
    /// clears set-user-ID, and set-group-ID on group-executable files, of non-directories.
    pub fn chown(&self, uid: Option<u32>, gid: Option<u32>) {
        let mut i = self.inner.lock();
        if let Some(u) = uid {
            i.uid = u;
        }
        if let Some(g) = gid {
            i.gid = g;
        }
        if (uid.is_some() || gid.is_some()) && i.mode & S_IFMT != S_IFDIR {
            let sgid_exec = 0o2000 | 0o0010;
            i.mode &= !0o4000;
            if i.mode & sgid_exec == sgid_exec {
                i.mode &= !0o2000;
            }
        }
        i.ctime = Time::now();
    }

    /// Sets the permission bits.
    pub fn chmod(&self, mode: u32) {
        let mut i = self.inner.lock();
        i.mode = (i.mode & S_IFMT) | (mode & 0o7777);
        i.ctime = Time::now();
    }

    /// Sets (`Some`) or keeps (`None`) the access and modification times; ctime is now.
    /// A read of it: its access time becomes now, or with `relatime` only if it is not
    /// after its modification and change times or is a day old (Linux's
    /// `relatime_need_update`).
    pub fn touch_atime(&self, relatime: bool) {
        let now = Time::now();
        let mut i = self.inner.lock();
        let key = |t: &Time| (t.sec, t.nsec);
        let stale = key(&i.atime) <= key(&i.mtime)
            || key(&i.atime) <= key(&i.ctime)
            || now.sec - i.atime.sec >= 24 * 60 * 60;
        if !relatime || stale {
            i.atime = now;
        }
    }

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

    /// Truncates or extends a regular file (growing it adds a hole).
    pub fn truncate(&self, len: u64) -> Result<(), Errno> {
        if len > MAX_FILE {
            return Err(Errno::EFBIG);
        }
        let mut i = self.inner.lock();
        match &mut i.data {
            MemData::File(f) => f.set_len(len),
            MemData::Dir { .. } => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        }
        let now = Time::now();
        i.mtime = now;
        i.ctime = now;
        Ok(())
    }

    /// Runs `f` on the data of this regular file (`EINVAL` for other kinds); with
    /// `modify`, its modification and change times become now.
    pub fn with_file<R>(
        &self,
        modify: bool,
        f: impl FnOnce(&mut FileData) -> R,
    ) -> Result<R, Errno> {
        let mut i = self.inner.lock();
        let MemData::File(data) = &mut i.data else {
            return Err(Errno::EINVAL);
        };
        let r = f(data);
        if modify {
            let now = Time::now();
            i.mtime = now;
            i.ctime = now;
        }
        Ok(r)
    }

    /// File size (regular files).
    pub fn size(&self) -> u64 {
        match &self.inner.lock().data {
            MemData::File(f) => f.len(),
            _ => 0,
        }
    }

    /// Reads at `off` into `bufs`; short at end of file.
    pub fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>], off: u64) -> Result<usize, Errno> {
        match &self.inner.lock().data {
            MemData::File(f) => Ok(f.read(bufs, off)),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Writes `bufs` at `off` (or at the end if `append`); returns (bytes, end offset).
    pub fn write_vectored(
        &self,
        bufs: &[IoSlice<'_>],
        off: u64,
        append: bool,
    ) -> Result<(usize, u64), Errno> {
        let mut i = self.inner.lock();
        let MemData::File(f) = &mut i.data else {
            return Err(Errno::EINVAL);
        };
        let start = if append { f.len() } else { off };
        let total: u64 = bufs.iter().map(|b| b.len() as u64).sum();
        if total == 0 {
            return Ok((0, start));
        }
        if start >= MAX_FILE {
            return Err(Errno::EFBIG);
        }
        let n = f.write(bufs, start, MAX_FILE - start)?;
        let now = Time::now();
        i.mtime = now;
        i.ctime = now;
        Ok((n, start + n as u64))
    }
}

/// Mode bits of a new symlink.
pub(crate) const SYMLINK_MODE: u32 = S_IFLNK | 0o777;
