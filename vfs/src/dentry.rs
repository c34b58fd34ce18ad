//! Dentries: a name in a parent directory bound to an inode of one of the file systems.
//!
//! Dentries are not cached: a walk builds them, and they live as long as someone holds them
//! (a cwd, an open file). The parent chain gives `..`, `getcwd` and overlay copy-up. What
//! makes walks cheap is below them: the overlay's lower host nodes are cached (see
//! [`hostfs`](crate::hostfs)), and the upper layer is in memory.

use std::sync::atomic::{AtomicU64, Ordering};

use abi::flags::inotify::{IN_ACCESS, IN_ATTRIB, IN_MODIFY};
use abi::flags::mode::{S_IFDIR, S_IFLNK, S_IFMT};
use abi::structs::Stat;
use abi::Errno;
use parking_lot::Mutex;

use crate::hostfs::HostNode;
use crate::overlay;
use crate::procfs::{ProcInode, Target};
use crate::tmpfs::{MemInode, Time};
use crate::Arc;

/// What every in-memory file system of one `Vfs` shares: the owner of new terminals and
/// the inode number allocator.
pub(crate) struct FsShared {
    pub uid: u32,
    next_ino: AtomicU64,
    /// The devpts instance `/dev/ptmx` and `/dev/pts/N` open through (it owns this).
    devpts: std::sync::OnceLock<std::sync::Weak<crate::pty::Devpts>>,
    /// The loop devices `/dev/loopN` open through (the `Vfs` owns them).
    loops: std::sync::OnceLock<std::sync::Weak<crate::loopdev::LoopDevices>>,
}

impl FsShared {
    pub fn new(uid: u32) -> Arc<FsShared> {
        Arc::new(FsShared {
            uid,
            next_ino: AtomicU64::new(2),
            devpts: std::sync::OnceLock::new(),
            loops: std::sync::OnceLock::new(),
        })
    }

    /// The devpts instance, once set up.
    pub fn devpts(&self) -> Option<Arc<crate::pty::Devpts>> {
        self.devpts.get().and_then(std::sync::Weak::upgrade)
    }

    /// The loop devices, once set up.
    pub fn loops(&self) -> Option<Arc<crate::loopdev::LoopDevices>> {
        self.loops.get().and_then(std::sync::Weak::upgrade)
    }

    /// Records the loop devices (once).
    pub fn set_loops(&self, l: &Arc<crate::loopdev::LoopDevices>) {
        let _ = self.loops.set(Arc::downgrade(l));
    }

    /// Records the devpts instance (once).
    pub fn set_devpts(&self, d: &Arc<crate::pty::Devpts>) {
        let _ = self.devpts.set(Arc::downgrade(d));
    }
    /// A fresh synthetic inode number.
    pub fn ino(&self) -> u64 {
        self.next_ino.fetch_add(1, Ordering::Relaxed)
    }
}

/// One overlay (or, with no lower layer anywhere, tmpfs) instance.
pub(crate) struct OvlFs {
    /// `st_dev` of inodes created in it.
    pub dev: u64,
    pub shared: Arc<FsShared>,
    /// How much its files may hold (`None`: no limit of its own); see
    /// [`space`](crate::blockfs::Space).
    pub space: Option<crate::blockfs::Space>,
    /// The I/O counters of the device it is the disk file system of.
    pub io: Option<Arc<crate::blockstat::IoStat>>,
    /// The format of the device it is the disk file system of.
    pub format: Option<crate::blockfs::Format>,
}

impl OvlFs {
    /// An instance with no space limit of its own.
    pub fn new(dev: u64, shared: Arc<FsShared>) -> OvlFs {
        OvlFs {
            dev,
            shared,
            space: None,
            io: None,
            format: None,
        }
    }

    /// The block size of its files: its disk format's, else a page.
    pub fn block_size(&self) -> u64 {
        self.format.map_or(crate::blockfs::BLOCK, |f| f.block_size)
    }

    /// The data of a new, empty regular file of it.
    pub fn new_file(&self) -> crate::tmpfs::MemData {
        crate::tmpfs::MemData::File(crate::sparse::FileData::new(self.block_size()))
    }
}

/// An overlay inode: an upper (in-memory) inode once copied up or created, the lower host
/// object while one shows through.
pub(crate) struct OvlNode {
    pub upper: Mutex<Option<Arc<MemInode>>>,
    pub lower: Option<Arc<HostNode>>,
    pub fs: Arc<OvlFs>,
    /// The [`dir_generation`](crate::tmpfs::dir_generation) at which `upper` was last
    /// found to be `None` (`u64::MAX`: never); while it is still current there is no
    /// upper to look for.
    pub no_upper: AtomicU64,
}

impl OvlNode {
    pub fn new(upper: Option<Arc<MemInode>>, lower: Option<Arc<HostNode>>, fs: Arc<OvlFs>) -> Self {
        OvlNode {
            upper: Mutex::new(upper),
            lower,
            fs,
            no_upper: AtomicU64::new(u64::MAX),
        }
    }
}

/// The inode behind a dentry.
pub(crate) enum Inode {
    /// A host object of a read-write host tree.
    Host(Arc<HostNode>),
    /// An overlay, tmpfs or devfs object.
    Ovl(OvlNode),
    /// A procfs object.
    Proc(ProcInode),
}

/// A resolved name: cheap to clone.
#[derive(Clone)]
pub struct Dentry(pub(crate) Arc<DentryInner>);

pub(crate) struct DentryInner {
    /// `None` for the guest root.
    pub parent: Option<Dentry>,
    pub name: Vec<u8>,
    pub inode: Inode,
    /// `S_IFMT` bits (fixed for a dentry's life).
    pub ftype: u32,
    /// The mount whose root this is (`None` for the guest root and every other dentry).
    pub mnt: Option<Arc<crate::mount::Mnt>>,
}

impl std::fmt::Debug for Dentry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dentry({:?})", String::from_utf8_lossy(&self.0.name))
    }
}

impl Dentry {
    pub(crate) fn new(parent: Option<Dentry>, name: &[u8], inode: Inode, ftype: u32) -> Dentry {
        Dentry(Arc::new(DentryInner {
            parent,
            name: name.to_vec(),
            inode,
            ftype,
            mnt: None,
        }))
    }

    /// The top of a tree (the guest root, or a detached mount's root), the root of mount
    /// `mnt`.
    pub(crate) fn new_root(inode: Inode, ftype: u32, mnt: Arc<crate::mount::Mnt>) -> Dentry {
        Dentry(Arc::new(DentryInner {
            parent: None,
            name: Vec::new(),
            inode,
            ftype,
            mnt: Some(mnt),
        }))
    }

    /// The root of mount `mnt` on `name` in `parent`.
    pub(crate) fn new_mount(
        parent: Dentry,
        name: &[u8],
        inode: Inode,
        ftype: u32,
        mnt: Arc<crate::mount::Mnt>,
    ) -> Dentry {
        Dentry(Arc::new(DentryInner {
            parent: Some(parent),
            name: name.to_vec(),
            inode,
            ftype,
            mnt: Some(mnt),
        }))
    }

    /// The mount `self` lies on (`None`: the guest root's).
    pub(crate) fn mount(&self) -> Option<&Arc<crate::mount::Mnt>> {
        let mut cur = self;
        loop {
            if let Some(m) = &cur.0.mnt {
                return Some(m);
            }
            cur = cur.0.parent.as_ref()?;
        }
    }

    /// `stat` of the inode.
    pub fn stat(&self) -> Result<Stat, Errno> {
        match &self.0.inode {
            Inode::Host(h) => h.stat(),
            Inode::Ovl(o) => match overlay::upper(self) {
                Some(u) => {
                    let mut st = u.stat();
                    if let Some(f) = &o.fs.format {
                        st.st_blksize = f.block_size as i64;
                    }
                    Ok(st)
                }
                None => o.lower.as_ref().ok_or(Errno::ENOENT)?.stat(),
            },
            Inode::Proc(p) => Ok(p.stat()),
        }
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.0.ftype == S_IFDIR
    }

    /// Whether it is a symlink.
    pub fn is_symlink(&self) -> bool {
        self.0.ftype == S_IFLNK
    }

    /// `S_IFMT` bits.
    pub(crate) fn ftype(&self) -> u32 {
        self.0.ftype & S_IFMT
    }

    /// The guest root or a mount root.
    pub(crate) fn is_root(&self) -> bool {
        self.0.parent.is_none() || self.0.mnt.is_some()
    }

    /// Its absolute guest path; `/` for the root.
    pub(crate) fn path(&self) -> Vec<u8> {
        let mut names = Vec::new();
        let mut cur = self.clone();
        while let Some(p) = cur.0.parent.clone() {
            names.push(cur.0.name.clone());
            cur = p;
        }
        if names.is_empty() {
            return b"/".to_vec();
        }
        let mut out = Vec::new();
        for n in names.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(n);
        }
        out
    }

    /// The parent (itself at the guest root).
    pub(crate) fn parent_or_self(&self) -> Dentry {
        self.0.parent.clone().unwrap_or_else(|| self.clone())
    }

    /// Whether both name the same inode of the same file system.
    pub(crate) fn same_inode(&self, other: &Dentry) -> bool {
        if Arc::ptr_eq(&self.0, &other.0) {
            return true;
        }
        match (self.stat(), other.stat()) {
            (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
            _ => false,
        }
    }

    /// Whether `self` is `other` or lies below it.
    pub(crate) fn is_within(&self, other: &Dentry) -> bool {
        let mut cur = Some(self.clone());
        while let Some(d) = cur {
            if d.same_inode(other) {
                return true;
            }
            cur = d.0.parent.clone();
        }
        false
    }

    /// Target of a symlink (`EINVAL` otherwise).
    pub fn readlink(&self) -> Result<Vec<u8>, Errno> {
        if !self.is_symlink() {
            return Err(Errno::EINVAL);
        }
        match &self.0.inode {
            Inode::Host(h) => h.readlink(),
            Inode::Ovl(o) => match overlay::upper(self) {
                Some(u) => u.readlink(),
                None => o.lower.as_ref().ok_or(Errno::ENOENT)?.readlink(),
            },
            Inode::Proc(p) => p.readlink(),
        }
    }

    /// The process whose `/proc/PID` directory this is (`None` for anything else).
    pub(crate) fn proc_tgid(&self) -> Option<i32> {
        match &self.0.inode {
            Inode::Proc(p) => p.tgid_dir(),
            _ => None,
        }
    }

    /// Where a procfs magic link leads (`None` for anything else).
    pub(crate) fn magic(&self) -> Option<&Target> {
        match &self.0.inode {
            Inode::Proc(p) => p.magic(),
            _ => None,
        }
    }

    /// Changes the owner and/or group (copying up an overlay object).
    pub(crate) fn chown(&self, uid: Option<u32>, gid: Option<u32>) -> Result<(), Errno> {
        self.chown_here(uid, gid)?;
        if uid.is_some() || gid.is_some() {
            crate::notify::attrib(self, IN_ATTRIB);
        }
        Ok(())
    }

    fn chown_here(&self, uid: Option<u32>, gid: Option<u32>) -> Result<(), Errno> {
        match &self.0.inode {
            Inode::Host(h) => h.chown(uid, gid),
            Inode::Ovl(_) => {
                overlay::copy_up(self)?.chown(uid, gid);
                Ok(())
            }
            // Linux accepts it; procfs keeps its owners.
            Inode::Proc(_) => Ok(()),
        }
    }

    /// Changes the permission bits (copying up an overlay object).
    pub(crate) fn chmod(&self, mode: u32) -> Result<(), Errno> {
        self.chmod_here(mode)?;
        crate::notify::attrib(self, IN_ATTRIB);
        Ok(())
    }

    fn chmod_here(&self, mode: u32) -> Result<(), Errno> {
        match &self.0.inode {
            Inode::Host(h) => h.chmod(mode),
            Inode::Ovl(_) => {
                if self.is_symlink() {
                    return Err(Errno::EOPNOTSUPP);
                }
                overlay::copy_up(self)?.chmod(mode);
                Ok(())
            }
            Inode::Proc(p) => p.chmod(),
        }
    }

    /// Sets (`Some`) or keeps (`None`) the access and modification times; ctime becomes
    /// now (copying an overlay object up).
    pub(crate) fn set_times(&self, atime: Option<Time>, mtime: Option<Time>) -> Result<(), Errno> {
        self.set_times_here(atime, mtime)?;
        // Linux's fsnotify_change: both times is a utime call.
        let mask = match (atime, mtime) {
            (Some(_), Some(_)) => IN_ATTRIB,
            (Some(_), None) => IN_ACCESS,
            (None, _) => IN_MODIFY,
        };
        crate::notify::attrib(self, mask);
        Ok(())
    }

    fn set_times_here(&self, atime: Option<Time>, mtime: Option<Time>) -> Result<(), Errno> {
        match &self.0.inode {
            Inode::Host(h) => h.set_times(atime, mtime),
            Inode::Ovl(_) => {
                overlay::copy_up(self)?.set_times(atime, mtime);
                Ok(())
            }
            Inode::Proc(_) => Ok(()),
        }
    }

    /// Truncates a regular file (copying it up).
    pub(crate) fn truncate(&self, len: u64) -> Result<(), Errno> {
        if self.is_dir() {
            return Err(Errno::EISDIR);
        }
        if self.ftype() != abi::flags::mode::S_IFREG {
            return Err(Errno::EINVAL);
        }
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        match &self.0.inode {
            Inode::Host(h) => h.truncate(len)?,
            Inode::Ovl(_) => overlay::copy_up(self)?.truncate(len)?,
            // Contents are generated per open file: there is nothing to cut.
            Inode::Proc(_) => {}
        }
        crate::notify::attrib(self, IN_MODIFY);
        Ok(())
    }

    /// The entries of a directory, without `.` and `..`.
    pub(crate) fn readdir(&self) -> Result<Vec<(Vec<u8>, u64, u8)>, Errno> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        match &self.0.inode {
            Inode::Host(h) => Ok(h.readdir()?.to_vec()),
            Inode::Ovl(_) => overlay::readdir(self),
            // Listed for a process by `OpenFile::getdents64_for`.
            Inode::Proc(_) => Ok(Vec::new()),
        }
    }

    /// Which file system it is on (for `EXDEV`): the address of the root of its host tree
    /// (the `--rw` root or a bind mount), or of its overlay.
    pub(crate) fn fs_id(&self) -> usize {
        match &self.0.inode {
            Inode::Host(_) => {
                let mut cur = self;
                while let (Some(p), None) = (&cur.0.parent, &cur.0.mnt) {
                    cur = p;
                }
                Arc::as_ptr(&cur.0) as usize
            }
            Inode::Proc(_) => 1,
            Inode::Ovl(o) => Arc::as_ptr(&o.fs) as usize,
        }
    }
}
