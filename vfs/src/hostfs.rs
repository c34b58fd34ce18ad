//! Host directory trees: every host object is reached from the root's directory fd one
//! component at a time (`O_PATH | O_NOFOLLOW` opens, `AT_SYMLINK_NOFOLLOW` stats, both
//! relative to the parent's descriptor), so no guest path can leave the tree.

use std::collections::{HashMap, VecDeque};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, Weak};

use abi::flags::mode::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use abi::structs::Stat;
use abi::Errno;
use parking_lot::Mutex;
use rustix::fs::{AtFlags, Mode, OFlags as HOFlags, RawDir};

use crate::tmpfs::Time;
use crate::Arc;

/// A host error as the guest's errno.
pub(crate) fn herr(e: rustix::io::Errno) -> Errno {
    Errno::from_host(e.raw_os_error())
}

/// A nix error as the guest's errno.
pub(crate) fn nerr(e: nix::errno::Errno) -> Errno {
    Errno::from_host(e as i32)
}

/// Directory descriptors a cached tree keeps open at most: past this, the oldest are
/// closed (and reopened, one `openat` away from their parent, when needed again).
/// (Tiny under test, so that the tests go through closing and reopening.)
const MAX_OPEN_DIRS: usize = if cfg!(test) { 3 } else { 256 };

/// Regular files a cached tree keeps a read descriptor of at most, shared by every open of
/// the file for reading: a program that opens the same file again (a shared library at each
/// exec, a configuration file) costs no host `open`, `fstat` and `close`. Past this, the
/// oldest are dropped (open files keep theirs).
const MAX_OPEN_FILES: usize = if cfg!(test) { 2 } else { 128 };

/// Nodes (and listing entries) a cached tree remembers at most: past this, the whole
/// cache is dropped and refilled as lookups come (nodes still in use live on).
const MAX_CACHED: usize = if cfg!(test) { 40 } else { 200_000 };

/// Buffer for one host `getdents64` call.
const DIRENT_BUF: usize = 64 * 1024;

/// One host object and how to reach it again (its parent and name).
///
/// A tree is either *pinned* (the read-write root): every node holds an
/// `O_PATH | O_NOFOLLOW` descriptor of its object for its whole life, and nothing is
/// cached, as the guest's own writes change the tree; or *cached* (the overlay's read-only
/// lower layer, taken as immutable for the run): a node is found with one `fstatat` and
/// keeps its `stat`, a directory remembers the children looked up in it (and the names
/// that do not exist) and its listing, a symlink its target. Cached directories open
/// their `O_PATH` descriptor on demand (at most [`MAX_OPEN_DIRS`] at a time); other
/// cached objects hold none and are reopened by parent descriptor and name, each open
/// checking `st_dev`/`st_ino` are still the ones looked up; a regular file opened for
/// reading keeps that descriptor for the next opens (at most [`MAX_OPEN_FILES`] at a time:
/// I/O through it is positional, so the opens share it). The cache holds at most
/// [`MAX_CACHED`] nodes and listing entries; a cached node refers to its parent weakly
/// (the parent's children map owns it, so there are no reference cycles): a parent stays
/// alive as long as the cache or a dentry (through the parent dentry's lower node) uses it.
pub(crate) struct HostNode {
    /// The directory holding it.
    parent: Up,
    /// Its name in its parent.
    pub name: Vec<u8>,
    /// Host `st_dev`, `st_ino` and `st_mode` type bits when it was looked up.
    pub dev: u64,
    pub ino: u64,
    pub ftype: u32,
    kind: NodeKind,
}

/// The parent of a node.
enum Up {
    /// The tree's root.
    Root,
    /// In a pinned tree.
    Strong(Arc<HostNode>),
    /// In a cached tree.
    Weak(Weak<HostNode>),
}

enum NodeKind {
    /// `O_PATH | O_NOFOLLOW` descriptor of the object itself (read-write tree).
    Pinned(Arc<OwnedFd>),
    /// A node of a read-only tree.
    Cached(Box<Cached>),
}

/// Children of a cached directory by name (`None`: no such name).
type Children = HashMap<Box<[u8]>, Option<Arc<HostNode>>>;

/// One entry of a host directory listing: name, inode number, `d_type`.
pub(crate) type HostDirEnt = (Vec<u8>, u64, u8);

struct Cached {
    /// `stat` when looked up.
    stat: Stat,
    /// Directories: `O_PATH` descriptor; regular files: read-only descriptor; while held.
    fd: Mutex<Option<Arc<OwnedFd>>>,
    /// Directories: children looked up so far (`None`: no such name).
    children: Mutex<Children>,
    /// Directories: the listing, once read.
    listing: OnceLock<Arc<[HostDirEnt]>>,
    /// Symlinks: the target, once read.
    target: OnceLock<Vec<u8>>,
    tree: Arc<Tree>,
}

/// What the nodes of one cached tree share.
struct Tree {
    /// The directories holding a descriptor, oldest first.
    open_dirs: Mutex<VecDeque<Weak<HostNode>>>,
    /// The regular files holding a descriptor, oldest first.
    open_files: Mutex<VecDeque<Weak<HostNode>>>,
    /// Nodes and listing entries cached since the cache was last emptied.
    cached: AtomicUsize,
    /// The tree's root.
    root: OnceLock<Weak<HostNode>>,
}

impl Tree {
    /// Accounts for `n` more cached items, emptying the cache first when it is full.
    fn grow(&self, n: usize) {
        if self.cached.fetch_add(n, Ordering::Relaxed) + n > MAX_CACHED {
            self.cached.store(n, Ordering::Relaxed);
            if let Some(root) = self.root.get().and_then(Weak::upgrade) {
                root.clear_cache();
            }
        }
    }
}

/// Converts a host `stat`.
pub(crate) fn from_host_stat(s: &libc::stat) -> Stat {
    Stat {
        st_dev: s.st_dev,
        st_ino: s.st_ino,
        st_nlink: s.st_nlink,
        st_mode: s.st_mode,
        st_uid: s.st_uid,
        st_gid: s.st_gid,
        st_rdev: s.st_rdev,
        st_size: s.st_size,
        st_blksize: s.st_blksize,
        st_blocks: s.st_blocks,
        st_atime: s.st_atime,
        st_atime_nsec: s.st_atime_nsec,
        st_mtime: s.st_mtime,
        st_mtime_nsec: s.st_mtime_nsec,
        st_ctime: s.st_ctime,
        st_ctime_nsec: s.st_ctime_nsec,
        ..Stat::default()
    }
}

/// `fstat` of a host descriptor.
pub(crate) fn fstat_fd(fd: &impl AsRawFd) -> Result<Stat, Errno> {
    nix::sys::stat::fstat(fd.as_raw_fd())
        .map(|s| from_host_stat(&s))
        .map_err(nerr)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
fn lstat_at(dir: &OwnedFd, name: &[u8]) -> Result<Stat, Errno> {
    nix::sys::stat::fstatat(
        Some(dir.as_raw_fd()),
        name,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map(|s| from_host_stat(&s))
    .map_err(nerr)
}

/// Whether `name` is one plain component (never `.`, `..` or with a `/`).
fn plain(name: &[u8]) -> bool {
    !name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/')
}

impl HostNode {
    /// The root of a host tree at `path` (a directory); `cached`: a read-only tree whose
    /// lookups, `stat`s, listings and symlink targets are cached for the node's life.
    pub fn open_root(path: &std::path::Path, cached: bool) -> std::io::Result<Arc<HostNode>> {
        let fd = rustix::fs::open(
            path,
            HOFlags::PATH | HOFlags::DIRECTORY | HOFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let st = fstat_fd(&fd).map_err(|e| std::io::Error::from_raw_os_error(e.raw()))?;
        let fd = Arc::new(fd);
        let kind = if cached {
            let tree = Arc::new(Tree {
                open_dirs: Mutex::new(VecDeque::new()),
                open_files: Mutex::new(VecDeque::new()),
                cached: AtomicUsize::new(0),
                root: OnceLock::new(),
            });
            let c = Cached::new(st, tree);
            // The root's descriptor is never closed (it is not in `open_dirs`).
            *c.fd.lock() = Some(fd);
            NodeKind::Cached(Box::new(c))
        } else {
            NodeKind::Pinned(fd)
        };
        let root = Arc::new(HostNode {
            parent: Up::Root,
            name: Vec::new(),
            dev: st.st_dev,
            ino: st.st_ino,
            ftype: st.st_mode & S_IFMT,
            kind,
        });
        if let NodeKind::Cached(c) = &root.kind {
            let _ = c.tree.root.set(Arc::downgrade(&root));
        }
        Ok(root)
    }

    /// The directory holding this object (`None` at the root of the tree).
    fn parent(&self) -> Result<Option<Arc<HostNode>>, Errno> {
        match &self.parent {
            Up::Root => Ok(None),
            Up::Strong(p) => Ok(Some(p.clone())),
            // Only after the cache was emptied, with no dentry using the parent.
            Up::Weak(w) => w.upgrade().map(Some).ok_or(Errno::ESTALE),
        }
    }

    /// The child `name` of this directory, or `None` if there is none.
    pub fn lookup(self: &Arc<Self>, name: &[u8]) -> Result<Option<Arc<HostNode>>, Errno> {
        if self.ftype != S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let c = match &self.kind {
            NodeKind::Pinned(dir) => return self.lookup_pinned(dir, name),
            NodeKind::Cached(c) => c,
        };
        if !plain(name) {
            return Err(Errno::EINVAL);
        }
        if let Some(hit) = c.children.lock().get(name) {
            return Ok(hit.clone());
        }
        let dir = self.dir_fd()?;
        let found = match lstat_at(&dir, name) {
            Ok(st) => Some(Arc::new(HostNode {
                parent: Up::Weak(Arc::downgrade(self)),
                name: name.to_vec(),
                dev: st.st_dev,
                ino: st.st_ino,
                ftype: st.st_mode & S_IFMT,
                kind: NodeKind::Cached(Box::new(Cached::new(st, c.tree.clone()))),
            })),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        c.tree.grow(1);
        Ok(c.children
            .lock()
            .entry(name.into())
            .or_insert(found)
            .clone())
    }

    fn lookup_pinned(
        self: &Arc<Self>,
        dir: &OwnedFd,
        name: &[u8],
    ) -> Result<Option<Arc<HostNode>>, Errno> {
        let fd = match rustix::fs::openat(
            dir,
            name,
            HOFlags::PATH | HOFlags::NOFOLLOW | HOFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) if e == rustix::io::Errno::NOENT => return Ok(None),
            Err(e) => return Err(herr(e)),
        };
        let st = fstat_fd(&fd)?;
        Ok(Some(Arc::new(HostNode {
            parent: Up::Strong(self.clone()),
            name: name.to_vec(),
            dev: st.st_dev,
            ino: st.st_ino,
            ftype: st.st_mode & S_IFMT,
            kind: NodeKind::Pinned(Arc::new(fd)),
        })))
    }

    /// The `O_PATH` descriptor of this directory (of the object itself in a pinned tree),
    /// opening it again from the parent's if it was closed.
    fn dir_fd(self: &Arc<Self>) -> Result<Arc<OwnedFd>, Errno> {
        let c = match &self.kind {
            NodeKind::Pinned(fd) => return Ok(fd.clone()),
            NodeKind::Cached(c) => c,
        };
        if self.ftype != S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        if let Some(fd) = c.fd.lock().clone() {
            return Ok(fd);
        }
        let parent = self.parent()?.ok_or(Errno::EIO)?;
        let pfd = parent.dir_fd()?;
        let fd = rustix::fs::openat(
            &pfd,
            &self.name[..],
            HOFlags::PATH | HOFlags::DIRECTORY | HOFlags::NOFOLLOW | HOFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(herr)?;
        self.check_same(&fd)?;
        Ok(self.hold(c, fd, &c.tree.open_dirs, MAX_OPEN_DIRS))
    }

    /// Fails with `ESTALE` unless `fd` is the object this node was looked up as.
    fn check_same(&self, fd: &OwnedFd) -> Result<(), Errno> {
        let st = fstat_fd(fd)?;
        if st.st_ino != self.ino || st.st_dev != self.dev {
            return Err(Errno::ESTALE);
        }
        Ok(())
    }

    /// Keeps `fd` in this cached node's slot (unless another thread filled it first: then
    /// that one is kept and returned), dropping the oldest held by `queue` past `max`.
    fn hold(
        self: &Arc<Self>,
        c: &Cached,
        fd: OwnedFd,
        queue: &Mutex<VecDeque<Weak<HostNode>>>,
        max: usize,
    ) -> Arc<OwnedFd> {
        let fd = {
            let mut slot = c.fd.lock();
            if let Some(other) = &*slot {
                return other.clone();
            }
            let fd = Arc::new(fd);
            *slot = Some(fd.clone());
            fd
        };
        let evict = {
            let mut q = queue.lock();
            q.push_back(Arc::downgrade(self));
            if q.len() > max {
                q.pop_front()
            } else {
                None
            }
        };
        if let Some(old) = evict.and_then(|w| w.upgrade()) {
            if let NodeKind::Cached(oc) = &old.kind {
                // Operations under way and open files keep their own reference.
                *oc.fd.lock() = None;
            }
        }
        fd
    }

    /// Current `stat` (the one looked up, in a cached tree).
    pub fn stat(&self) -> Result<Stat, Errno> {
        match &self.kind {
            NodeKind::Pinned(fd) => fstat_fd(&**fd),
            NodeKind::Cached(c) => Ok(c.stat),
        }
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.ftype == S_IFDIR
    }

    /// Target of a symlink (`EINVAL` if it is not one).
    pub fn readlink(self: &Arc<Self>) -> Result<Vec<u8>, Errno> {
        if self.ftype != S_IFLNK {
            return Err(Errno::EINVAL);
        }
        match &self.kind {
            NodeKind::Pinned(fd) => rustix::fs::readlinkat(&**fd, c"", Vec::new())
                .map(|c| c.into_bytes())
                .map_err(herr),
            NodeKind::Cached(c) => {
                if let Some(t) = c.target.get() {
                    return Ok(t.clone());
                }
                let dir = self.parent()?.ok_or(Errno::EIO)?.dir_fd()?;
                let t = rustix::fs::readlinkat(&dir, &self.name[..], Vec::new())
                    .map(|c| c.into_bytes())
                    .map_err(herr)?;
                Ok(c.target.get_or_init(|| t).clone())
            }
        }
    }

    /// The directory fd and name to reach this object by (`(self, ".")` for directories).
    fn at(self: &Arc<Self>) -> Result<(Arc<OwnedFd>, &[u8]), Errno> {
        match self.parent()? {
            Some(p) if self.ftype != S_IFDIR => Ok((p.dir_fd()?, &self.name)),
            _ => Ok((self.dir_fd()?, b".")),
        }
    }

    /// Opens the object for I/O with host flags `flags` (access mode, `O_TRUNC` …), checking
    /// it is still the same object.
    pub fn open(self: &Arc<Self>, flags: HOFlags) -> Result<OwnedFd, Errno> {
        if self.is_cached() && flags.intersects(HOFlags::WRONLY | HOFlags::RDWR | HOFlags::TRUNC) {
            return Err(Errno::EROFS);
        }
        let (dir, name) = self.at()?;
        let extra = if self.ftype == S_IFREG || self.ftype == S_IFDIR {
            HOFlags::empty()
        } else {
            HOFlags::NONBLOCK
        };
        let fd = rustix::fs::openat(
            &dir,
            name,
            flags | extra | HOFlags::NOFOLLOW | HOFlags::CLOEXEC | HOFlags::NOCTTY,
            Mode::empty(),
        )
        .map_err(herr)?;
        self.check_same(&fd)?;
        Ok(fd)
    }

    /// A descriptor to read this regular file through at explicit offsets only (`pread`):
    /// in a cached tree, the one its opens share; otherwise a fresh `O_RDONLY` open.
    pub fn reader(self: &Arc<Self>) -> Result<Arc<OwnedFd>, Errno> {
        let c = match &self.kind {
            NodeKind::Cached(c) if self.ftype == S_IFREG => c,
            _ => return self.open(HOFlags::RDONLY).map(Arc::new),
        };
        if let Some(fd) = c.fd.lock().clone() {
            return Ok(fd);
        }
        let fd = self.open(HOFlags::RDONLY)?;
        Ok(self.hold(c, fd, &c.tree.open_files, MAX_OPEN_FILES))
    }

    /// The entries of this directory (without `.` and `..`): name, inode number, `d_type`.
    pub fn readdir(self: &Arc<Self>) -> Result<Arc<[HostDirEnt]>, Errno> {
        if let NodeKind::Cached(c) = &self.kind {
            if let Some(l) = c.listing.get() {
                return Ok(l.clone());
            }
        }
        let dir = self.dir_fd()?;
        let fd = rustix::fs::openat(
            &dir,
            c".",
            HOFlags::RDONLY | HOFlags::DIRECTORY | HOFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(herr)?;
        let mut buf = vec![MaybeUninit::<u8>::uninit(); DIRENT_BUF];
        let mut raw = RawDir::new(&fd, &mut buf);
        let mut out = Vec::new();
        while let Some(e) = raw.next() {
            let e = e.map_err(herr)?;
            let name = e.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let dtype = abi::flags::dtype::from_mode(e.file_type().as_raw_mode());
            out.push((name.to_vec(), e.ino(), dtype));
        }
        let out: Arc<[HostDirEnt]> = out.into();
        match &self.kind {
            NodeKind::Cached(c) => {
                c.tree.grow(out.len());
                Ok(c.listing.get_or_init(|| out).clone())
            }
            NodeKind::Pinned(_) => Ok(out),
        }
    }

    /// Forgets what the cache holds below this node (children looked up, listings),
    /// one level at a time (dropping a deep tree recursively could overflow the stack).
    pub fn clear_cache(&self) {
        let mut stack: Vec<Arc<HostNode>> = Vec::new();
        let take = |n: &HostNode, stack: &mut Vec<Arc<HostNode>>| {
            if let NodeKind::Cached(c) = &n.kind {
                let kids = std::mem::take(&mut *c.children.lock());
                stack.extend(kids.into_values().flatten());
            }
        };
        take(self, &mut stack);
        while let Some(n) = stack.pop() {
            take(&n, &mut stack);
        }
    }

    /// Whether it belongs to a cached (read-only) tree.
    pub fn is_cached(&self) -> bool {
        matches!(self.kind, NodeKind::Cached(_))
    }

    /// A node of a cached tree is never written: the overlay copies it up instead.
    fn writable(&self) -> Result<Arc<OwnedFd>, Errno> {
        match &self.kind {
            NodeKind::Pinned(fd) => Ok(fd.clone()),
            NodeKind::Cached(_) => Err(Errno::EROFS),
        }
    }

    // Mutations (only used when the tree is mounted read-write).

    /// Creates a regular file `name` in this directory and opens it with `flags`.
    pub fn create_file(&self, name: &[u8], flags: HOFlags, mode: u32) -> Result<OwnedFd, Errno> {
        rustix::fs::openat(
            &self.writable()?,
            name,
            flags | HOFlags::CREATE | HOFlags::EXCL | HOFlags::NOFOLLOW | HOFlags::CLOEXEC,
            Mode::from_raw_mode(mode & 0o7777),
        )
        .map_err(herr)
    }

    /// `mkdirat`.
    pub fn mkdir(&self, name: &[u8], mode: u32) -> Result<(), Errno> {
        rustix::fs::mkdirat(&self.writable()?, name, Mode::from_raw_mode(mode & 0o7777))
            .map_err(herr)
    }

    /// `symlinkat`.
    pub fn symlink(&self, target: &[u8], name: &[u8]) -> Result<(), Errno> {
        rustix::fs::symlinkat(target, &self.writable()?, name).map_err(herr)
    }

    /// `unlinkat` (`dir`: `AT_REMOVEDIR`).
    pub fn unlink(&self, name: &[u8], dir: bool) -> Result<(), Errno> {
        let flags = if dir {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        rustix::fs::unlinkat(&self.writable()?, name, flags).map_err(herr)
    }

    /// `renameat2` from this directory to `to`.
    pub fn rename(&self, old: &[u8], to: &HostNode, new: &[u8], flags: u32) -> Result<(), Errno> {
        let f = rustix::fs::RenameFlags::from_bits(flags).ok_or(Errno::EINVAL)?;
        rustix::fs::renameat_with(&self.writable()?, old, &to.writable()?, new, f).map_err(herr)
    }

    /// `linkat` of this (non-directory) object as `name` in `dir`.
    pub fn link_into(self: &Arc<Self>, dir: &HostNode, name: &[u8]) -> Result<(), Errno> {
        self.writable()?;
        let (from_dir, from_name) = self.at()?;
        rustix::fs::linkat(
            &from_dir,
            from_name,
            &dir.writable()?,
            name,
            AtFlags::empty(),
        )
        .map_err(herr)
    }

    /// Changes the owner and/or group, never following a final symlink.
    pub fn chown(self: &Arc<Self>, uid: Option<u32>, gid: Option<u32>) -> Result<(), Errno> {
        self.writable()?;
        let (dir, name) = self.at()?;
        nix::unistd::fchownat(
            Some(std::os::fd::AsRawFd::as_raw_fd(&*dir)),
            std::ffi::OsStr::from_bytes(name),
            uid.map(nix::unistd::Uid::from_raw),
            gid.map(nix::unistd::Gid::from_raw),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(nerr)
    }

    /// Changes the permission bits.
    pub fn chmod(self: &Arc<Self>, mode: u32) -> Result<(), Errno> {
        if self.ftype == S_IFLNK {
            return Err(Errno::EOPNOTSUPP);
        }
        self.writable()?;
        let (dir, name) = self.at()?;
        rustix::fs::chmodat(
            &dir,
            name,
            Mode::from_raw_mode(mode & 0o7777),
            AtFlags::empty(),
        )
        .map_err(herr)
    }

    /// `utimensat` (`None`: `UTIME_OMIT`), never following a final symlink.
    pub fn set_times(
        self: &Arc<Self>,
        atime: Option<Time>,
        mtime: Option<Time>,
    ) -> Result<(), Errno> {
        self.writable()?;
        let ts = |t: Option<Time>| match t {
            Some(t) => rustix::fs::Timespec {
                tv_sec: t.sec,
                tv_nsec: t.nsec as _,
            },
            None => rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_OMIT,
            },
        };
        let times = rustix::fs::Timestamps {
            last_access: ts(atime),
            last_modification: ts(mtime),
        };
        let (dir, name) = self.at()?;
        rustix::fs::utimensat(&dir, name, &times, AtFlags::SYMLINK_NOFOLLOW).map_err(herr)
    }

    /// Truncates a regular file.
    pub fn truncate(self: &Arc<Self>, len: u64) -> Result<(), Errno> {
        if self.ftype == S_IFDIR {
            return Err(Errno::EISDIR);
        }
        if self.ftype != S_IFREG {
            return Err(Errno::EINVAL);
        }
        self.writable()?;
        let fd = self.open(HOFlags::WRONLY)?;
        rustix::fs::ftruncate(fd.as_fd(), len).map_err(herr)
    }
}

impl Cached {
    fn new(stat: Stat, tree: Arc<Tree>) -> Cached {
        Cached {
            stat,
            fd: Mutex::new(None),
            children: Mutex::new(HashMap::new()),
            listing: OnceLock::new(),
            target: OnceLock::new(),
            tree,
        }
    }
}
