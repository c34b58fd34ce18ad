//! The mount table: which file system is mounted where, with which per-mount flags.
//!
//! Every mount is a [`Mnt`] (Linux's `struct mount`: an id and a unique id, the per-mount
//! flags, the super block it shows and where in it its root is) whose root is a dentry made
//! for it ([`Dentry::new_mount`]); the table ([`Vfs::mounts`]) keys each one by the
//! canonical path of its mount point from the top of its tree (a dentry's parent chain is
//! its canonical path), so mounts nest anywhere, stack (the last one made on a path hides
//! the others) and `..` from a mount root goes to the directory it is mounted on. A dentry
//! lies on the mount of its nearest ancestor that is a mount root ([`Dentry::mount`]); the
//! guest root is a mount root too (id 1, never unmounted). Trees other than the guest's
//! (detached mounts, mount namespaces) are [`mount_tree`](crate::mount_tree)'s.
//!
//! At boot: the root (overlay, or the host tree with `--rw`), devfs on `/dev`, procfs on
//! `/proc`, sysfs on `/sys`, and host directories bind-mounted at guest paths (`uml run -v
//! HOST:GUEST[:ro]`). A host bind mount's root is a host directory tree reached only
//! through it: read-write (writes go to the host, under that directory only) or read-only
//! (a cached tree, whose every change is `EROFS`). It is confined as the guest root is:
//! lookups inside it go one component at a time with `O_NOFOLLOW` below the host
//! directory, and absolute symlinks restart at the guest root. A missing mount point (and
//! its missing parents) is created in the overlay's upper layer; on a host-backed directory
//! (`--rw`, or inside another bind mount) it must exist.
//!
//! At run time the guest's own `mount(2)` and `umount2(2)` change the table
//! ([`do_mount`](crate::do_mount)); nothing is ever mounted on the host.
//!
//! Per-mount flags: `MS_RDONLY` makes every change below the mount `EROFS` ([`read_only`];
//! so does a read-only file system), `MS_NOEXEC` makes exec `EACCES`, `MS_NODEV` makes
//! opening a device node `EACCES`, `MS_NOSUID` makes exec ignore set-user-ID and
//! set-group-ID bits, `MS_NOSYMFOLLOW` makes following a symlink there `ELOOP`, and the atime
//! flags (`noatime`, `nodiratime`, `relatime`, or none: strict) decide whether reads of
//! in-memory files and directories move their access times. A file open for writing
//! ([`MntWriter`]) keeps its mount and file system from becoming read-only (`EBUSY`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Weak;

use abi::flags::mode::S_IFDIR;
use abi::flags::mount::*;
use abi::Errno;

use crate::dentry::{Dentry, DentryInner, Inode, OvlFs};
use crate::hostfs::HostNode;
use crate::tmpfs::MemData;
use crate::{overlay, Arc, Vfs, VfsError};

/// A host directory to mount in the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindMount {
    /// The host directory.
    pub host: PathBuf,
    /// Where the guest sees it: an absolute guest path other than `/`.
    pub guest: PathBuf,
    /// Changes are `EROFS` (else they are made on the host).
    pub read_only: bool,
}

/// The per-mount flags a mount keeps (`MNT_*` of Linux, in `MS_*` bits).
pub(crate) const MNT_FLAGS: u64 = MS_RDONLY
    | MS_NOSUID
    | MS_NODEV
    | MS_NOEXEC
    | MS_NOATIME
    | MS_NODIRATIME
    | MS_RELATIME
    | MS_NOSYMFOLLOW;

/// What a mounted file system is (Linux's super block, as far as uml has one).
pub(crate) struct SuperBlock {
    /// The type name (`/proc/mounts`' third field).
    pub fstype: &'static str,
    /// What it was mounted from (`/proc/mounts`' first field).
    pub source: Vec<u8>,
    pub kind: SbKind,
    /// The file system itself is read-only (a new mount or a plain remount with
    /// `MS_RDONLY`), not only a mount of it: write permission checks say `EROFS` before
    /// anything else, as Linux's `sb_permission`.
    pub read_only: AtomicBool,
    /// Its files open for writing, through any mount.
    pub writers: AtomicU64,
}

/// A file open for writing on a mount (Linux's `mnt_want_write` held by a writable open
/// file): while one exists, the mount cannot become read-only (`EBUSY`), nor its file
/// system.
pub(crate) struct MntWriter(Arc<Mnt>);

impl MntWriter {
    pub fn new(m: &Arc<Mnt>) -> MntWriter {
        m.writers.fetch_add(1, Ordering::Relaxed);
        m.sb.writers.fetch_add(1, Ordering::Relaxed);
        MntWriter(m.clone())
    }
}

impl Drop for MntWriter {
    fn drop(&mut self) {
        self.0.writers.fetch_sub(1, Ordering::Relaxed);
        self.0.sb.writers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl SuperBlock {
    /// Makes the file system read-only or read-write: `EBUSY` to make it read-only while
    /// a file is open for writing on it.
    pub fn set_read_only(&self, ro: bool) -> Result<(), Errno> {
        if ro && !self.read_only.load(Ordering::Relaxed) && self.writers.load(Ordering::Relaxed) > 0
        {
            return Err(Errno::EBUSY);
        }
        self.read_only.store(ro, Ordering::Relaxed);
        Ok(())
    }

    /// Whether both are the same file system (the disk file system of one loop device).
    pub fn same_fs(&self, other: &SuperBlock) -> bool {
        match (&self.kind, &other.kind) {
            (SbKind::Disk(a), SbKind::Disk(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The kinds of file systems.
pub(crate) enum SbKind {
    /// The root overlay (or the host tree with `--rw`).
    Root,
    /// A host directory (`-v`).
    Host,
    /// devfs at `/dev`.
    Devtmpfs,
    Proc,
    Sysfs,
    /// A tmpfs: its in-memory file system and the options shown (`size=...,mode=...`).
    Tmpfs(Arc<OvlFs>, String),
    /// A disk file system of a loop device ([`blockfs`](crate::blockfs)).
    Disk(Arc<crate::blockfs::DiskFs>),
}

/// Where the unique mount ids (`statx`'s `STATX_MNT_ID_UNIQUE`, `statmount`, `listmount`)
/// start, as Linux's `MNT_UNIQUE_ID_OFFSET`: a mount's unique id is this plus its id.
pub const MNT_UNIQUE_ID_OFFSET: u64 = 1 << 31;

/// Peer group ids: unique for the life of the process.
static NEXT_PEER_GROUP: AtomicU64 = AtomicU64::new(1);

/// A mount's propagation, as far as uml keeps it: the peer group it is in (shared), the
/// one it is a slave of, or unbindable, as mountinfo and `statmount` show them. Nothing
/// propagates: a mount made under a shared mount is not made again under its peers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Propagation {
    pub peer_group: u64,
    pub master: u64,
    pub unbindable: bool,
}

impl Propagation {
    /// `MS_SHARED`, `MS_SLAVE`, `MS_UNBINDABLE` or `MS_PRIVATE` applied (a shared mount
    /// made a slave becomes a slave of its peer group).
    pub fn set(&mut self, kind: u64) {
        match kind {
            MS_SHARED => {
                if self.peer_group == 0 {
                    self.peer_group = NEXT_PEER_GROUP.fetch_add(1, Ordering::Relaxed);
                }
                self.unbindable = false;
            }
            MS_SLAVE => {
                if self.peer_group != 0 {
                    self.master = std::mem::take(&mut self.peer_group);
                }
                self.unbindable = false;
            }
            MS_UNBINDABLE => {
                *self = Propagation {
                    unbindable: true,
                    ..Propagation::default()
                }
            }
            _ => *self = Propagation::default(),
        }
    }

    /// `statmount`'s `mnt_propagation`.
    pub fn flags(&self) -> u64 {
        let mut f = 0;
        if self.peer_group != 0 {
            f |= MS_SHARED;
        }
        if self.master != 0 {
            f |= MS_SLAVE;
        }
        if self.unbindable {
            f |= MS_UNBINDABLE;
        }
        if f == 0 {
            MS_PRIVATE
        } else {
            f
        }
    }

    /// mountinfo's optional fields, each after a space.
    pub fn fields(&self) -> String {
        let mut s = String::new();
        if self.peer_group != 0 {
            s += &format!(" shared:{}", self.peer_group);
        }
        if self.master != 0 {
            s += &format!(" master:{}", self.master);
        }
        if self.unbindable {
            s += " unbindable";
        }
        s
    }
}

/// One mount (Linux's `struct mount`).
pub(crate) struct Mnt {
    /// The mount id (`/proc/PID/mountinfo`).
    pub id: u64,
    /// Per-mount flags ([`MNT_FLAGS`] bits).
    pub flags: AtomicU64,
    /// Its peer group and master ([`Propagation`]).
    pub propagation: parking_lot::Mutex<Propagation>,
    pub sb: Arc<SuperBlock>,
    /// Where in its file system its root is (`/` but for bind mounts and clones of a
    /// directory below a mount's root): mountinfo's fourth field.
    pub root: Vec<u8>,
    /// Its files open for writing ([`MntWriter`]).
    pub writers: AtomicU64,
    /// How many path walks entered it.
    pub uses: AtomicU64,
    /// Set by a first `umount2(MNT_EXPIRE)`: the value [`Mnt::uses`] will have when the
    /// next `umount2` has walked into it, if nothing else uses it before (0: no mark).
    pub expiry_mark: AtomicU64,
}

impl Mnt {
    pub fn new(id: u64, flags: u64, sb: Arc<SuperBlock>) -> Arc<Mnt> {
        Arc::new(Mnt {
            id,
            flags: AtomicU64::new(flags & MNT_FLAGS),
            propagation: Default::default(),
            sb,
            root: b"/".to_vec(),
            writers: AtomicU64::new(0),
            uses: AtomicU64::new(0),
            expiry_mark: AtomicU64::new(0),
        })
    }

    /// Mount `id` of the file system of `from`, with its flags, its peer group and master,
    /// rooted at `rel` below `from`'s root (a bind mount, a clone).
    pub fn cloned(id: u64, from: &Mnt, rel: &[Vec<u8>]) -> Arc<Mnt> {
        let mut root = from.root.clone();
        for c in rel {
            if root.last() != Some(&b'/') {
                root.push(b'/');
            }
            root.extend_from_slice(c);
        }
        Arc::new(Mnt {
            id,
            flags: AtomicU64::new(from.flags()),
            propagation: parking_lot::Mutex::new(Propagation {
                unbindable: false,
                ..*from.propagation.lock()
            }),
            sb: from.sb.clone(),
            root,
            writers: AtomicU64::new(0),
            uses: AtomicU64::new(0),
            expiry_mark: AtomicU64::new(0),
        })
    }

    /// A path walk entered it: an expiry mark no longer holds, as Linux's `mntput`.
    pub fn used(&self) {
        self.uses.fetch_add(1, Ordering::Relaxed);
    }

    /// `umount2(MNT_EXPIRE)`, after its walk to the mount: whether the mark a previous call
    /// set still holds (nothing used the mount since); marks it otherwise.
    pub fn expire(&self) -> bool {
        let now = self.uses.load(Ordering::Relaxed);
        let mark = self.expiry_mark.load(Ordering::Relaxed);
        // This call's own walk entered it once, unless it started inside.
        if mark != 0 && (now == mark || now + 1 == mark) {
            return true;
        }
        self.expiry_mark.store(now + 1, Ordering::Relaxed);
        false
    }

    /// Sets the per-mount flags: `EBUSY` to make it read-only while a file is open for
    /// writing on it.
    pub fn set_flags(&self, f: u64) -> Result<(), Errno> {
        let to_ro = f & MS_RDONLY != 0 && self.flags() & MS_RDONLY == 0;
        if to_ro && self.writers.load(Ordering::Relaxed) > 0 {
            return Err(Errno::EBUSY);
        }
        self.flags.store(f & MNT_FLAGS, Ordering::Relaxed);
        Ok(())
    }

    /// The per-mount flags.
    pub fn flags(&self) -> u64 {
        self.flags.load(Ordering::Relaxed)
    }

    /// The unique mount id.
    pub fn unique_id(&self) -> u64 {
        MNT_UNIQUE_ID_OFFSET + self.id
    }

    /// Whether changes are `EROFS`: the mount or its file system is read-only (Linux's
    /// `mnt_is_readonly`).
    pub fn is_read_only(&self) -> bool {
        self.flags() & MS_RDONLY != 0 || self.sb.read_only.load(Ordering::Relaxed)
    }
}

/// A mount in the table: the canonical path of its mount point from the top of its tree,
/// and its root.
pub(crate) struct Mount {
    pub path: Vec<Vec<u8>>,
    pub root: Dentry,
    /// The detached tree ([`Vfs::open_tree`] with `AT_RECURSIVE`) it lies in: the root of
    /// that tree's top mount, while a descriptor holds it; `None`: the guest's tree.
    pub tree: Option<Weak<DentryInner>>,
}

impl Mount {
    /// The top of its tree (`guest_root` for the guest's); `None` once a detached tree is
    /// gone.
    pub fn top(&self, guest_root: &Dentry) -> Option<Dentry> {
        match &self.tree {
            None => Some(guest_root.clone()),
            Some(w) => w.upgrade().map(Dentry),
        }
    }

    /// Whether it lies in the tree whose top is `top`.
    pub fn in_tree(&self, top: &Dentry, guest_root: &Dentry) -> bool {
        self.top(guest_root)
            .is_some_and(|t| Arc::ptr_eq(&t.0, &top.0))
    }
}

/// Whether `dir`'s canonical path from the top `top` of its tree is `comps`.
fn is_at(dir: &Dentry, comps: &[Vec<u8>], top: &Dentry) -> bool {
    let mut cur = dir;
    for comp in comps.iter().rev() {
        match &cur.0.parent {
            Some(p) if cur.0.name == *comp => cur = p,
            _ => return false,
        }
    }
    Arc::ptr_eq(&cur.0, &top.0)
}

/// The root of the mount `d` lies on.
pub(crate) fn mount_root(d: &Dentry) -> Dentry {
    let mut cur = d;
    while cur.0.mnt.is_none() {
        match &cur.0.parent {
            Some(p) => cur = p,
            None => break,
        }
    }
    cur.clone()
}

/// The top of the tree `d` lies in: the guest root, or the root of a detached mount.
pub(crate) fn tree_top(d: &Dentry) -> Dentry {
    let mut cur = d;
    while let Some(p) = &cur.0.parent {
        cur = p;
    }
    cur.clone()
}

/// The names from the guest root down to `d`.
pub(crate) fn guest_path(d: &Dentry) -> Vec<Vec<u8>> {
    let mut names = Vec::new();
    let mut cur = d;
    while let Some(p) = &cur.0.parent {
        names.push(cur.0.name.clone());
        cur = p;
    }
    names.reverse();
    names
}

/// The device of the file system whose mount root is `root` (mountinfo's third field,
/// `statmount`'s `sb_dev_*`): an in-memory file system's own (the root overlay's, which its
/// new files show), else its root's.
pub(crate) fn sb_dev(root: &Dentry) -> u64 {
    match &root.0.inode {
        Inode::Ovl(o) => o.fs.dev,
        _ => root.stat().map_or(0, |s| s.st_dev),
    }
}

/// Names as an absolute path (`/` for none).
pub(crate) fn path_bytes(names: &[Vec<u8>]) -> Vec<u8> {
    if names.is_empty() {
        return b"/".to_vec();
    }
    let mut out = Vec::new();
    for c in names {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    out
}

/// Whether `d` lies on a read-only mount or file system (its changes are `EROFS`).
pub(crate) fn read_only(d: &Dentry) -> bool {
    d.mount().is_some_and(|m| m.is_read_only())
}

/// Whether `d`'s file system itself is read-only ([`SuperBlock::read_only`]).
pub(crate) fn sb_read_only(d: &Dentry) -> bool {
    d.mount()
        .is_some_and(|m| m.sb.read_only.load(Ordering::Relaxed))
}

/// Whether the mount `d` lies on has per-mount flag `flag`.
pub(crate) fn has_flag(d: &Dentry, flag: u64) -> bool {
    d.mount().is_some_and(|m| m.flags() & flag != 0)
}

impl Vfs {
    /// The root of the mount on `name` in `dir`, if there is one (the last one made wins).
    pub(crate) fn bound(&self, dir: &Dentry, name: &[u8]) -> Option<Dentry> {
        let root = self
            .mounts
            .read()
            .iter()
            .rev()
            .find(|m| {
                m.path.last().is_some_and(|n| n == name)
                    && m.top(&self.root)
                        .is_some_and(|top| is_at(dir, &m.path[..m.path.len() - 1], &top))
            })
            .map(|m| m.root.clone())?;
        if root
            .mount()
            .is_some_and(|m| matches!(m.sb.kind, SbKind::Sysfs))
        {
            self.sysfs.fill();
        }
        Some(root)
    }

    /// The mounts of the tree whose top is `top` (the guest's, a mount namespace's), the
    /// top first, in the order they were made: the names of their mount points and their
    /// roots.
    pub(crate) fn mounts_of(&self, top: &Dentry) -> Vec<(Vec<Vec<u8>>, Dentry)> {
        let mut v = vec![(Vec::new(), top.clone())];
        v.extend(
            self.mounts
                .read()
                .iter()
                .filter(|m| m.in_tree(top, &self.root))
                .map(|m| (m.path.clone(), m.root.clone())),
        );
        v
    }

    /// A fresh mount id.
    pub(crate) fn next_mnt_id(&self) -> u64 {
        self.next_mnt_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a mount of `inode` (shown as `mnt`) on directory `at` (not the top of a
    /// tree); returns its root.
    pub(crate) fn add_mount(&self, at: &Dentry, inode: Inode, ftype: u32, mnt: Arc<Mnt>) -> Dentry {
        self.insert_mount(at, inode, ftype, mnt, None)
    }

    /// [`Vfs::add_mount`], made just before (beneath) the mount `beneath` if given.
    pub(crate) fn insert_mount(
        &self,
        at: &Dentry,
        inode: Inode,
        ftype: u32,
        mnt: Arc<Mnt>,
        beneath: Option<&Arc<Mnt>>,
    ) -> Dentry {
        let parent = at.parent_or_self();
        // Under a shared mount, a mount with no peer group gets one of its own.
        if at
            .mount()
            .is_some_and(|m| m.propagation.lock().peer_group != 0)
        {
            let mut p = mnt.propagation.lock();
            if p.peer_group == 0 {
                p.set(MS_SHARED);
            }
        }
        let root = Dentry::new_mount(parent, &at.0.name, inode, ftype, mnt);
        let top = tree_top(at);
        let tree = (!Arc::ptr_eq(&top.0, &self.root.0)).then(|| Arc::downgrade(&top.0));
        let mut table = self.mounts.write();
        // Mounts of detached trees that are gone go with them.
        table.retain(|m| m.top(&self.root).is_some());
        let entry = Mount {
            path: guest_path(at),
            root: root.clone(),
            tree,
        };
        let under = beneath.and_then(|b| {
            table
                .iter()
                .position(|m| m.root.0.mnt.as_ref().is_some_and(|x| Arc::ptr_eq(x, b)))
        });
        match under {
            Some(i) => table.insert(i, entry),
            None => table.push(entry),
        }
        root
    }

    /// Mounts `b.host` at `b.guest`, creating a missing mount point in the overlay.
    pub(crate) fn bind(&mut self, b: &BindMount) -> Result<(), VfsError> {
        let fail = |reason: String| VfsError::Bind {
            guest: b.guest.clone(),
            reason,
        };
        let errno = |e: Errno| fail(e.description().to_lowercase());
        let guest = std::os::unix::ffi::OsStrExt::as_bytes(b.guest.as_os_str());
        if guest.first() != Some(&b'/') {
            return Err(fail("not an absolute path".into()));
        }
        let host = HostNode::open_root(&b.host, b.read_only)
            .map_err(|e| fail(format!("{}: {e}", b.host.display())))?;
        if !host.is_dir() {
            return Err(fail(format!("{} is not a directory", b.host.display())));
        }
        let mut cur = self.root.clone();
        for comp in guest.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
            if comp == b"." || comp == b".." {
                return Err(fail("`.` and `..` are not allowed".into()));
            }
            let next = match self.walk((&cur).into(), comp, true, &mut 0) {
                Err(Errno::ENOENT) if matches!(cur.0.inode, Inode::Ovl(_)) => {
                    let data = MemData::Dir {
                        entries: Default::default(),
                        opaque: true,
                    };
                    overlay::create(&cur, comp, S_IFDIR | 0o755, (self.uid, self.gid), data)
                        .map_err(errno)?;
                    self.child(&crate::procfs::NoProcs, &cur, comp)
                        .map_err(errno)?
                }
                r => r.map_err(errno)?,
            };
            if !next.is_dir() {
                return Err(errno(Errno::ENOTDIR));
            }
            cur = next;
        }
        if cur.0.parent.is_none() {
            return Err(fail("cannot mount over /".into()));
        }
        let sb = Arc::new(SuperBlock {
            fstype: "hostfs",
            source: std::os::unix::ffi::OsStrExt::as_bytes(b.host.as_os_str()).to_vec(),
            kind: SbKind::Host,
            read_only: AtomicBool::new(false),
            writers: AtomicU64::new(0),
        });
        let flags = if b.read_only { MS_RDONLY } else { 0 };
        let mnt = Mnt::new(self.next_mnt_id(), flags, sb);
        self.add_mount(&cur, Inode::Host(host), S_IFDIR, mnt);
        Ok(())
    }
}
