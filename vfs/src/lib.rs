//! The virtual file system of uml: mounts, path walk, inodes and open files.
//!
//! What it owns: the guest's whole file namespace. The root is a host directory tree
//! (default the host's `/`) seen through an **overlay**: an in-memory upper layer over the
//! read-only host tree, so the guest can create, write, rename, chmod and delete anywhere
//! while the host is never modified. With `rw` the host tree is mounted directly and writes
//! go through. **devfs** is mounted at `/dev` (null, zero, full, random, urandom, tty,
//! console, ptmx, an empty `shm`, and `pts`, where [`pty`](crate::pty) adds `/dev/pts/N`
//! while pty N exists, and where the host console shows as `/dev/pts/K` when it is the host's
//! pty K); it is an in-memory file system too, so the guest can add to it. Host
//! directories can be **bind-mounted** at any guest path ([`BindMount`], see `mount`).
//! **procfs** is mounted at `/proc` ([`procfs`](crate::procfs)): the guest's own processes,
//! answered by the walker's [`ProcSource`]; path calls take an [`At`] (the start directory,
//! the process walking and its filesystem ids, [`FsCred`]), and a bare `&Dentry` walks as no
//! process, whose `/proc` is empty and whose permissions are those of the user uml runs as.
//! Permission checks (search, open, create and remove, `chmod`/`chown`/`utimensat`, exec)
//! go by the caller's filesystem uid, gid and supplementary groups ([`perm`]). `/sys` is uml's own small in-memory tree ([`sysfs`]: one CPU, one memory node). The host's `/proc` and `/sys` never show
//! through (they describe the host, and the host's `/proc/self` is the uml kernel).
//! The guest's own `mount(2)`/`umount2(2)` change uml's mount table ([`mount`],
//! [`do_mount`]: tmpfs, proc, sysfs, bind mounts, moves, remounts, per-mount flags), never
//! the host's; so do the new mount API ([`fs_context`]: `fsopen`/`fspick` contexts;
//! [`mount_tree`]: detached mounts, `move_mount`, `open_tree`, `mount_setattr`, and mount
//! namespaces as copies of the tree; [`pivot_root`]) and [`statmount`] answers `statmount`/`listmount`;
//! `/proc/PID/ns` holds namespace files ([`nsfs`]); `/dev/loop-control` and `/dev/loopN` are loop block devices over guest files
//! ([`loopdev`]), and a loop device formatted by `mkfs.ext*` mounts as an in-memory file
//! system that belongs to the device ([`blockfs`]: an emulation, its gap documented there;
//! what it writes back at a sync shows in `/sys/block/loopN/stat`, [`blockstat`]).
//! File handles (`name_to_handle_at`, `open_by_handle_at`) name inodes by number and
//! device ([`handle`]: remembered for the run, since uml has no inode table to search).
//!
//! Invariants:
//! - No guest path leaves the root: the kernel resolves every component itself
//!   ([`path`](crate::path)), `..` at the root stays there, absolute symlinks restart at the
//!   guest root, procfs's magic links lead only to objects the process already holds, and
//!   host objects are opened one component at a time relative to their parent's
//!   descriptor with `O_NOFOLLOW`, never by joining strings.
//! - In overlay mode nothing on the host is ever written but below the host directory of a
//!   read-write bind mount: the only other host calls are `openat` (`O_PATH` or
//!   `O_RDONLY`), `fstat`, `fstatat`, `readlinkat`, `getdents` and `preadv`.
//!
//! Caching: in overlay mode the host tree (the lower layer) is **taken as immutable for the
//! run**: [`hostfs`](crate::hostfs) remembers what each lookup found (or that the name does
//! not exist), each object's `stat`, directory listings and symlink targets, so a path walk
//! through the lower layer costs no host call once it has been done (at most 200,000 items
//! are kept; past that the cache starts again empty). Changes made on the host by someone
//! else during the run may therefore go unseen (a new file, a new size or mtime), though
//! file *data* is always read from the host file. The guest's own changes never touch the
//! lower layer (they go to the upper one), so they need no invalidation. With `rw` nothing
//! is cached: every walk asks the host.
//! - Guest input never panics; every failure is the errno Linux gives.
//! - Host file data moves straight between the host file and the caller's slices
//!   (`preadv`/`pwritev`), with no bounce buffer.
//!
//! Messages: the kernel holds a [`VfsService`] ([`service`]), whose path calls (`lookup`,
//! `open`, `stat`, `mkdir`, `rename`, …) are [`service::VfsMsg`]s answered by
//! [`service::VfsReply`]s, logged when recording; everything else goes to the [`Vfs`] it
//! serves.
//!
//! API: [`Vfs`] (built from a [`VfsConfig`]) resolves paths to [`Dentry`]s and does the
//! path-based calls (`open`, `mkdir`, `rename`, …); [`OpenFile`] (shared as [`FileRef`]) is
//! an open file description with its position and status flags. Metadata: host objects keep
//! the host's `st_ino`/`st_dev`; in-memory inodes get synthetic numbers on a synthetic
//! device, except copied-up ones, which keep the host's. New files belong to the configured
//! uid/gid. File kinds: regular files, directories, symlinks, FIFOs, socket inodes and
//! device nodes; in-memory regular files are sparse ([`sparse`]: holes take no memory,
//! `fallocate` as each file system takes it, [`falloc`]), and `O_TMPFILE` makes unnamed ones
//! ([`tmpfile`]); [`Vfs::mknod`] makes the last four kinds (and regular files) in the
//! in-memory layers, device nodes opening uml's own devices by number ([`mknod`]). A FIFO
//! is an inode holding one pipe that every open attaches an end to, with Linux's open rules
//! ([`fifo`]); FIFOs and devices of the host are never opened. Pipes ([`Vfs::pipe`]) and kernel objects ([`object`]: eventfd, epoll, timerfd,
//! signalfd, sockets, made by the syscall layer through [`open_object`]) live outside the
//! namespace; files that can block report a [`OpenFile::wait_id`], their readiness
//! ([`OpenFile::poll_for`]) and what a waiter sleeps on ([`OpenFile::waits`]); socket names
//! are socket inodes of the in-memory layer or abstract names per `Vfs`
//! ([`Vfs::bind_socket`], [`Vfs::bind_abstract`]). File system notification ([`notify`]:
//! inotify and fanotify marks, and the events the operations above send them). Known gaps: an open file that was only read keeps reading the host file after
//! another descriptor copies it up; getcwd of a dentry renamed since shows its old path.
#![forbid(unsafe_code)]

mod blockfs;
mod blockmap;
mod blockstat;
mod dentry;
mod do_mount;
mod falloc;
mod fifo;
mod file;
mod fileattr;
mod fs_context;
mod handle;
mod hostfs;
mod kconfig;
pub mod landlock;
mod ldisc;
mod loopdev;
mod loopsysfs;
mod memfd;
mod mknod;
mod mount;
mod mount_tree;
pub mod notify;
mod nsfs;
pub mod object;
mod overlay;
mod path;
mod perm;
mod pipe;
mod pivot_root;
mod procfs;
mod protect;
mod pty;
mod remap;
pub mod service;
mod socket;
mod sparse;
mod statfs;
mod statmount;
mod stdio;
mod sysfs;
mod tmpfile;
mod tmpfs;
mod xattr;

use std::path::PathBuf;
pub use std::sync::Arc;

use abi::flags::landlock as ll;
use abi::flags::mode::{S_IFDIR, S_IFMT, S_IFREG};
use abi::flags::OFlags;
use abi::structs::{Stat, Timespec};
use abi::Errno;
use parking_lot::Mutex;

pub use dentry::Dentry;
use dentry::{FsShared, Inode, OvlFs, OvlNode};
pub use do_mount::MountArgs;
pub use falloc::Extent;
pub use file::{open_object, open_object_read_only, open_pidfd, pidfd_wait_id, FileRef, OpenFile};
pub use fileattr::{FileAttr, StatxExtra};
pub use fs_context::{FsContext, FsParam};
pub use handle::{FILEID_INO64_GEN, HANDLE_BYTES};
use hostfs::HostNode;
pub use loopdev::{LoopDevice, LoopInfo};
pub use mknod::NodeType;
use mount::Mnt;
pub use mount::{BindMount, MNT_UNIQUE_ID_OFFSET};
pub use mount_tree::{fsmount_flags, mount_file, MountAttr};
pub use nsfs::{NsFile, MNT_NS_ID};
pub use object::{new_wait_id, FileObject, Poller, WaitSet};
use path::{Last, Parent};
pub use perm::FsCred;
pub use pipe::{PollEvents, PIPE_BUF, PIPE_CAPACITY};
pub use pivot_root::Pivot;
pub use procfs::{At, NoProcs, ProcFile, ProcSource, FILESYSTEM_TYPES, SYSCTLS};
pub use pty::{Pty, PtyRef, SignalTarget, TtySignal};
pub use service::VfsService;
pub use statfs::StatFs;
pub use statmount::MountStat;
pub use stdio::{wait_streams, TcsetWhen};
/// The largest regular file the in-memory file systems hold (Linux's `s_maxbytes`).
pub use tmpfs::MAX_FILE as MAX_FILE_SIZE;
use tmpfs::{DevKind, MemData, MemEntry, MemInode, Time};
pub use xattr::{XATTR_CREATE, XATTR_REPLACE, XATTR_SIZE_MAX};

/// Access and modification times to set (`None`: leave that one alone).
pub(crate) type NewTimes = (Option<Time>, Option<Time>);

/// `tv_nsec` of a `utimensat` time: set this time to now.
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `tv_nsec` of a `utimensat` time: leave this time alone.
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// How the file system is set up.
#[derive(Clone, Debug)]
pub struct VfsConfig {
    /// Host directory that is the guest's `/`.
    pub root: PathBuf,
    /// Write straight to the host tree (no overlay).
    pub rw: bool,
    /// Owner of new files, and the user permission checks are done for.
    pub uid: u32,
    /// Group of new files.
    pub gid: u32,
    /// Host directories mounted at guest paths, in order.
    pub binds: Vec<BindMount>,
}

/// A host failure while setting up.
#[derive(Debug, thiserror::Error)]
pub enum VfsError {
    /// The root directory could not be opened.
    #[error("cannot open root directory {path}: {source}")]
    Root {
        /// The root asked for.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The root is not a directory.
    #[error("root {0} is not a directory")]
    NotDir(PathBuf),
    /// A bind mount could not be made.
    #[error("cannot mount at {guest}: {reason}")]
    Bind {
        /// The guest path asked for.
        guest: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The guest's file system.
pub struct Vfs {
    root: Dentry,
    /// The mount table (see [`mount`]): every mount but the root's, in the order made.
    mounts: parking_lot::RwLock<Vec<mount::Mount>>,
    /// The next mount id.
    next_mnt_id: std::sync::atomic::AtomicU64,
    /// The loop devices.
    loops: Arc<loopdev::LoopDevices>,
    uid: u32,
    gid: u32,
    /// Serialises namespace changes (create, remove, rename, link).
    ns: Mutex<()>,
    /// The overlay's lower (cached) host tree, whose cache is dropped with the `Vfs`.
    lower: Option<Arc<HostNode>>,
    /// The file system of `memfd_create` files (never linked into the tree).
    memfd: Arc<OvlFs>,
    /// `/dev/pts` and its ptys.
    devpts: Arc<pty::Devpts>,
    /// The host console: (host descriptor, its `st_rdev`, its number if a host pty).
    console: Option<(i32, u64, Option<u32>)>,
    /// Abstract socket names.
    abstract_names: socket::AbstractNames,
    /// The file handles handed out ([`handle`]).
    handles: handle::Handles,
    /// The link protections ([`protect`]).
    protect: protect::LinkProtections,
    /// The boot `/sys` until it is first reached ([`sysfs::Pending`]).
    sysfs: sysfs::Pending,
}

impl Drop for Vfs {
    fn drop(&mut self) {
        if let Some(l) = &self.lower {
            l.clear_cache();
        }
    }
}

/// A placeholder dentry for `name` in the root: where a boot-time mount goes.
fn root_child(root: &Dentry, name: &[u8]) -> Dentry {
    Dentry::new(Some(root.clone()), name, procfs::root_inode(), S_IFDIR)
}

/// Synthetic `st_dev` of procfs and of the placeholder /sys.
const PROCFS_DEV: (u32, u32) = (0, 0x16);
const SYSFS_DEV: (u32, u32) = (0, 0x17);

/// Synthetic `st_dev` of the overlay's new inodes, and of devfs.
const OVL_DEV: (u32, u32) = (0, 0x30);
const DEVFS_DEV: (u32, u32) = (0, 0x31);
const MEMFD_DEV: (u32, u32) = (0, 0x32);

fn mkdev(d: (u32, u32)) -> u64 {
    abi::structs::makedev(d.0, d.1)
}

impl Vfs {
    /// Sets up the root (overlay over `cfg.root`, or the tree itself with `rw`) and devfs.
    pub fn new(cfg: VfsConfig) -> Result<Vfs, VfsError> {
        let host = HostNode::open_root(&cfg.root, !cfg.rw).map_err(|source| VfsError::Root {
            path: cfg.root.clone(),
            source,
        })?;
        if !host.is_dir() {
            return Err(VfsError::NotDir(cfg.root.clone()));
        }
        let shared = FsShared::new(cfg.uid);
        let root_sb = |fstype| {
            Arc::new(mount::SuperBlock {
                fstype,
                source: fstype.as_bytes().to_vec(),
                kind: mount::SbKind::Root,
                read_only: Default::default(),
                writers: Default::default(),
            })
        };
        let root = if cfg.rw {
            Dentry::new_root(
                Inode::Host(host.clone()),
                S_IFDIR,
                Mnt::new(1, abi::flags::mount::MS_RELATIME, root_sb("hostfs")),
            )
        } else {
            let st = host.stat().map_err(|e| VfsError::Root {
                path: cfg.root.clone(),
                source: e.raw_os_error_io(),
            })?;
            let fs = Arc::new(OvlFs::new(mkdev(OVL_DEV), shared.clone()));
            let up = MemInode::new_dir(st.st_ino, st.st_dev, st.st_mode, st.st_uid, st.st_gid);
            up.inner.lock().nlink = st.st_nlink;
            let has_dev = host.lookup(b"dev").ok().flatten().is_some();
            if !has_dev {
                let d = MemInode::new_dir(shared.ino(), fs.dev, 0o755, 0, 0);
                let _ = up.with_dir(false, |e, _| e.insert(b"dev".to_vec(), MemEntry::Node(d)));
            }
            let node = OvlNode::new(Some(up), Some(host.clone()), fs);
            Dentry::new_root(
                Inode::Ovl(node),
                S_IFDIR,
                Mnt::new(1, abi::flags::mount::MS_RELATIME, root_sb("overlay")),
            )
        };
        let devfs = Arc::new(OvlFs::new(mkdev(DEVFS_DEV), shared.clone()));
        let droot = MemInode::new_dir(1, devfs.dev, 0o755, 0, 0);
        let console = stdio::host_console();
        let mut devs = vec![
            (&b"null"[..], DevKind::Null),
            (b"zero", DevKind::Zero),
            (b"full", DevKind::Full),
            (b"random", DevKind::Random),
            (b"urandom", DevKind::Urandom),
            (b"tty", DevKind::Tty),
            (b"ptmx", DevKind::Ptmx),
            (b"userfaultfd", DevKind::Userfaultfd),
        ];
        if let Some((host_fd, _, _)) = console {
            devs.push((b"console", DevKind::Console { host_fd, pts: None }));
        }
        let dev_node = |k| MemEntry::Node(MemInode::new_dev(shared.ino(), devfs.dev, k));
        let shm = MemInode::new_dir(shared.ino(), devfs.dev, 0o1777, 0, 0);
        let pts = MemInode::new_dir(shared.ino(), devfs.dev, 0o755, 0, 0);
        let _ = pts.with_dir(false, |e, _| {
            e.insert(b"ptmx".to_vec(), dev_node(DevKind::Ptmx));
            // The host console shows as the host pty it is, so `ttyname` finds it.
            if let Some((host_fd, _, Some(n))) = console {
                let k = DevKind::Console {
                    host_fd,
                    pts: Some(n),
                };
                e.insert(n.to_string().into_bytes(), dev_node(k));
            }
        });
        let devpts = pty::Devpts::new(pts.clone(), shared.clone(), console.and_then(|c| c.2));
        shared.set_devpts(&devpts);
        let _ = droot.with_dir(false, |e, _| {
            for (name, k) in devs {
                e.insert(name.to_vec(), dev_node(k));
            }
            e.insert(b"shm".to_vec(), MemEntry::Node(shm));
            e.insert(b"pts".to_vec(), MemEntry::Node(pts));
        });
        droot.add_links(2);
        let loops = loopdev::LoopDevices::new(droot.clone(), devfs.clone());
        shared.set_loops(&loops);
        let dnode = OvlNode::new(Some(droot), None, devfs);
        let sb = |fstype: &'static str, source: &str, kind| {
            Arc::new(mount::SuperBlock {
                fstype,
                source: source.as_bytes().to_vec(),
                kind,
                read_only: Default::default(),
                writers: Default::default(),
            })
        };
        use abi::flags::mount::{MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_RELATIME};
        let dev_mnt = Mnt::new(
            2,
            MS_NOSUID | MS_RELATIME,
            sb("devtmpfs", "udev", mount::SbKind::Devtmpfs),
        );
        // The host's /proc and /sys describe the host — and /proc/self is the uml kernel
        // itself (its memory, its fds): they must never show through. /proc is uml's own
        // procfs; /sys is uml's own in-memory tree ([`sysfs`]).
        let proc_mnt = Mnt::new(
            3,
            MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME,
            sb("proc", "proc", mount::SbKind::Proc),
        );
        let sys_mnt = Mnt::new(
            4,
            MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME,
            sb("sysfs", "sysfs", mount::SbKind::Sysfs),
        );
        let sysfs = Arc::new(OvlFs::new(mkdev(SYSFS_DEV), shared.clone()));
        let top = MemInode::new_dir(1, sysfs.dev, 0o555, 0, 0);
        top.add_links(1);
        // Filled when a walk first reaches it: most programs never look.
        let sysfs_pending = sysfs::Pending::new(&top, &sysfs);
        let sys = OvlNode::new(Some(top), None, sysfs);
        let memfd = Arc::new(OvlFs::new(mkdev(MEMFD_DEV), shared.clone()));
        let mut vfs = Vfs {
            memfd,
            lower: (!cfg.rw).then_some(host),
            root: root.clone(),
            mounts: Default::default(),
            next_mnt_id: std::sync::atomic::AtomicU64::new(5),
            loops,
            uid: cfg.uid,
            gid: cfg.gid,
            ns: Mutex::new(()),
            devpts,
            console,
            abstract_names: Default::default(),
            handles: Default::default(),
            protect: Default::default(),
            sysfs: sysfs_pending,
        };
        vfs.add_mount(
            &root_child(&root, b"dev"),
            Inode::Ovl(dnode),
            S_IFDIR,
            dev_mnt,
        );
        let proc_inode = procfs::root_inode();
        vfs.add_mount(&root_child(&root, b"proc"), proc_inode, S_IFDIR, proc_mnt);
        vfs.add_mount(
            &root_child(&root, b"sys"),
            Inode::Ovl(sys),
            S_IFDIR,
            sys_mnt,
        );
        for b in &cfg.binds {
            vfs.bind(b)?;
        }
        Ok(vfs)
    }

    /// The guest's `/`.
    pub fn root(&self) -> Dentry {
        self.root.clone()
    }

    /// Resolves `path` (absolute, or relative to `base`); `follow`: follow a final symlink.
    pub fn lookup<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        follow: bool,
    ) -> Result<Dentry, Errno> {
        let base: At<'_> = base.into();
        self.walk(base, path, follow, &mut 0)
    }

    // Path calls.

    /// `open(2)`/`openat(2)`; `mode` is already masked by the umask.
    pub fn open<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        flags: OFlags,
        mode: u32,
    ) -> Result<FileRef, Errno> {
        self.open_as(base.into(), path, flags, mode, true)
    }

    /// Opens what `d` names with `flags` for the kernel's own use (a fanotify event's
    /// file): no permission check (a write on a read-only mount is `EROFS`), and its use
    /// sends no events.
    pub fn open_dentry_nonotify(&self, d: &Dentry, flags: OFlags) -> Result<FileRef, Errno> {
        if flags.writable() && mount::read_only(d) {
            return Err(Errno::EROFS);
        }
        let f = file::open_dentry(d, flags)?;
        f.set_events(false);
        Ok(f)
    }

    /// [`Vfs::open`] of a file the kernel opens for itself (Linux's `FMODE_NONOTIFY`): its
    /// use sends no file system events.
    pub fn open_nonotify<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        flags: OFlags,
    ) -> Result<FileRef, Errno> {
        self.open_as(base.into(), path, flags, 0, false)
    }

    fn open_as(
        &self,
        base: At<'_>,
        path: &[u8],
        flags: OFlags,
        mode: u32,
        events: bool,
    ) -> Result<FileRef, Errno> {
        // Linux 6.4+: O_CREAT | O_DIRECTORY (and so O_CREAT | O_TMPFILE) is invalid.
        if flags.contains(OFlags::CREAT | OFlags::DIRECTORY) {
            return Err(Errno::EINVAL);
        }
        if flags.bits() & (OFlags::TMPFILE.bits() & !OFlags::DIRECTORY.bits()) != 0 {
            // Linux's `build_open_flags`: `O_DIRECTORY` without `O_CREAT`, for writing.
            if !flags.contains(OFlags::DIRECTORY)
                || flags.contains(OFlags::CREAT)
                || !flags.writable()
            {
                return Err(Errno::EINVAL);
            }
            return self.open_tmpfile(base, path, flags, mode, events);
        }
        let path_only = flags.contains(OFlags::PATH);
        let nofollow = flags.contains(OFlags::NOFOLLOW);
        let creat = flags.contains(OFlags::CREAT) && !path_only;
        let d = if creat {
            let _ns = self.ns.lock();
            let Parent {
                dir,
                last,
                trailing_slash,
            } = self.walk_parent(base, path)?;
            let Last::Norm(name) = last else {
                return Err(Errno::EISDIR);
            };
            if trailing_slash {
                return Err(Errno::EISDIR);
            }
            match self.child_opt(base.procs, &dir, &name)? {
                Some(_) if flags.contains(OFlags::EXCL) => return Err(Errno::EEXIST),
                Some(c) if c.is_symlink() => {
                    if nofollow {
                        return Err(Errno::ELOOP);
                    }
                    self.walk(base.with(&dir), &name, true, &mut 0)?
                }
                Some(c) => c,
                None => {
                    let who = self.who(&base);
                    let open = landlock::open_access(S_IFREG, flags, false);
                    who.landlock_check(&dir, ll::ACCESS_FS_MAKE_REG | open)?;
                    self.may_modify(&who, &dir)?;
                    let owner = self.who(&base).new_owner(&dir);
                    let f = self.create_file(base.procs, &dir, &name, flags, mode, owner)?;
                    f.set_events(events);
                    notify::open(&f);
                    return Ok(f);
                }
            }
        } else {
            self.walk(base, path, !nofollow, &mut 0)?
        };
        self.open_found(base, &d, flags, events)
    }

    /// Opens `d` itself (`open_by_handle_at`), with `open`'s checks of `flags` for the
    /// caller `base` describes (`O_CREAT` creates nothing: the file exists).
    pub fn open_dentry<'b>(
        &self,
        base: impl Into<At<'b>>,
        d: &Dentry,
        flags: OFlags,
    ) -> Result<FileRef, Errno> {
        if flags.contains(OFlags::CREAT | OFlags::DIRECTORY) {
            return Err(Errno::EINVAL);
        }
        self.open_found(base.into(), d, flags, true)
    }

    /// The checks and the open of an existing file `d`, found by `open`; with `events`,
    /// its use sends file system events.
    fn open_found(
        &self,
        base: At<'_>,
        d: &Dentry,
        flags: OFlags,
        events: bool,
    ) -> Result<FileRef, Errno> {
        let path_only = flags.contains(OFlags::PATH);
        let creat = flags.contains(OFlags::CREAT) && !path_only;
        if d.is_symlink() && !path_only {
            return Err(Errno::ELOOP);
        }
        if flags.contains(OFlags::DIRECTORY) && !d.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if d.is_dir() && creat {
            return Err(Errno::EISDIR);
        }
        if !path_only {
            let mut mask = 0;
            if flags.readable() {
                mask |= 4;
            }
            if flags.writable() || flags.contains(OFlags::TRUNC) {
                mask |= 2;
            }
            if d.is_dir() && (flags.writable() || flags.contains(OFlags::TRUNC)) {
                return Err(Errno::EISDIR);
            }
            self.check(&self.who(&base), d, mask)?;
            // Then the mount (Linux's `mnt_want_write`).
            let plain = d.ftype() == S_IFREG || d.is_dir() || d.is_symlink();
            if mask & 2 != 0 && plain && mount::read_only(d) {
                return Err(Errno::EROFS);
            }
            // An append-only file is written only at its end (Linux's `may_open`).
            let overwrite = (flags.writable() && !flags.contains(OFlags::APPEND))
                || flags.contains(OFlags::TRUNC);
            if overwrite && fileattr::append_only(d) {
                return Err(Errno::EPERM);
            }
        }
        let denied = if path_only {
            0
        } else {
            self.who(&base).landlock_open(d, flags, false)?
        };
        let f = match self.proc_open(base.procs, d, flags)? {
            Some(f) => f,
            None => file::open_dentry(d, flags)?,
        };
        if denied != 0 {
            f.set_landlock_denied(denied);
        }
        // Linux's fsnotify_open comes before the truncate (do_dentry_open).
        f.set_events(events);
        notify::open(&f);
        if flags.contains(OFlags::TRUNC) && d.ftype() == S_IFREG && !path_only {
            if flags.writable() {
                f.truncate(0)?;
            } else {
                // O_RDONLY | O_TRUNC truncates too (write permission was checked).
                d.truncate(0)?;
            }
        }
        Ok(f)
    }

    fn create_file(
        &self,
        procs: &dyn ProcSource,
        dir: &Dentry,
        name: &[u8],
        flags: OFlags,
        mode: u32,
        owner: (u32, u32),
    ) -> Result<FileRef, Errno> {
        match &dir.0.inode {
            Inode::Host(h) => {
                let acc = match flags.bits() & OFlags::ACCMODE {
                    0 => rustix::fs::OFlags::RDONLY,
                    1 => rustix::fs::OFlags::WRONLY,
                    _ => rustix::fs::OFlags::RDWR,
                };
                let _fd = h.create_file(name, acc, mode)?;
                notify::create(dir, name, false, None);
                let d = self.child(procs, dir, name)?;
                let f = file::open_dentry(&d, flags.difference(OFlags::TRUNC))?;
                f.set_created();
                Ok(f)
            }
            Inode::Ovl(o) => {
                overlay::create(dir, name, S_IFREG | (mode & 0o7777), owner, o.fs.new_file())?;
                notify::create(dir, name, false, None);
                let d = self.child(procs, dir, name)?;
                let f = file::open_dentry(&d, flags.difference(OFlags::TRUNC))?;
                f.set_created();
                Ok(f)
            }
            // procfs never gains a name.
            Inode::Proc(_) => Err(Errno::ENOENT),
        }
    }

    /// The directory and name of an entry a call is about to create at `path`: `EEXIST` if
    /// it exists (or is `.`, `..`, `/`), `ENOENT` for a trailing slash unless `dir_ok` (a
    /// new directory may be named with one).
    fn new_entry(
        &self,
        base: At<'_>,
        path: &[u8],
        dir_ok: bool,
    ) -> Result<(Dentry, Vec<u8>), Errno> {
        let Parent {
            dir,
            last,
            trailing_slash,
        } = self.walk_parent(base, path)?;
        let Last::Norm(name) = last else {
            return Err(Errno::EEXIST);
        };
        if let Inode::Proc(_) = dir.0.inode {
            // A procfs lookup of a missing name fails (Linux's `proc_root_lookup`).
            self.child(base.procs, &dir, &name)?;
        }
        if self.child_opt(base.procs, &dir, &name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        if trailing_slash && !dir_ok {
            return Err(Errno::ENOENT);
        }
        Ok((dir, name))
    }

    /// `mkdir(2)`.
    pub fn mkdir<'b>(&self, base: impl Into<At<'b>>, path: &[u8], mode: u32) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        let _ns = self.ns.lock();
        let (dir, name) = self.new_entry(base, path, true)?;
        let who = self.who(&base);
        who.landlock_check(&dir, ll::ACCESS_FS_MAKE_DIR)?;
        self.may_modify(&who, &dir)?;
        let owner = who.new_owner(&dir);
        let mut mode = mode & 0o1777;
        if dir
            .stat()
            .is_ok_and(|st| st.st_mode & abi::flags::mode::S_ISGID != 0)
        {
            // A set-group-ID directory's subdirectories are set-group-ID too.
            mode |= abi::flags::mode::S_ISGID;
        }
        match &dir.0.inode {
            Inode::Host(h) => h.mkdir(&name, mode)?,
            Inode::Ovl(_) => {
                let data = MemData::Dir {
                    entries: Default::default(),
                    opaque: true,
                };
                overlay::create(&dir, &name, S_IFDIR | mode, owner, data)?;
            }
            Inode::Proc(_) => return Err(Errno::ENOENT),
        }
        notify::create(&dir, &name, true, None);
        Ok(())
    }

    /// `rmdir(2)`.
    pub fn rmdir<'b>(&self, base: impl Into<At<'b>>, path: &[u8]) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        let _ns = self.ns.lock();
        let Parent { dir, last, .. } = self.walk_parent(base, path)?;
        let name = match last {
            Last::Norm(n) => n,
            Last::Root => return Err(Errno::EBUSY),
            Last::Dot => return Err(Errno::EINVAL),
            Last::DotDot => return Err(Errno::ENOTEMPTY),
        };
        let child = self.child(base.procs, &dir, &name)?;
        if !child.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if child.is_root() {
            return Err(Errno::EBUSY);
        }
        let who = self.who(&base);
        who.landlock_check(&dir, ll::ACCESS_FS_REMOVE_DIR)?;
        self.may_delete(&who, &dir, &child)?;
        let victim = notify::victim(&child);
        match &dir.0.inode {
            Inode::Host(h) => h.unlink(&name, true)?,
            Inode::Ovl(_) => {
                if !child.readdir()?.is_empty() {
                    return Err(Errno::ENOTEMPTY);
                }
                overlay::remove(&dir, &name)?;
            }
            Inode::Proc(_) => return Err(Errno::EPERM),
        }
        notify::delete(&dir, &name, victim);
        Ok(())
    }

    /// `unlink(2)`.
    pub fn unlink<'b>(&self, base: impl Into<At<'b>>, path: &[u8]) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        let _ns = self.ns.lock();
        let Parent {
            dir,
            last,
            trailing_slash,
        } = self.walk_parent(base, path)?;
        let Last::Norm(name) = last else {
            return Err(Errno::EISDIR);
        };
        let child = self.child(base.procs, &dir, &name)?;
        if child.is_dir() {
            return Err(Errno::EISDIR);
        }
        if trailing_slash {
            return Err(Errno::ENOTDIR);
        }
        let who = self.who(&base);
        who.landlock_check(&dir, ll::ACCESS_FS_REMOVE_FILE)?;
        self.may_delete(&who, &dir, &child)?;
        let victim = notify::victim(&child);
        match &dir.0.inode {
            Inode::Host(h) => h.unlink(&name, false)?,
            Inode::Ovl(_) => overlay::remove(&dir, &name)?,
            Inode::Proc(_) => return Err(Errno::EPERM),
        }
        notify::delete(&dir, &name, victim);
        Ok(())
    }

    /// `renameat2(2)`; `flags`: `RENAME_NOREPLACE`, `RENAME_EXCHANGE`.
    pub fn rename<'b>(
        &self,
        old_base: impl Into<At<'b>>,
        old: &[u8],
        new_base: impl Into<At<'b>>,
        new: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let old_base: At<'_> = old_base.into();
        let new_base: At<'_> = new_base.into();
        use abi::flags::rename::{EXCHANGE, NOREPLACE};
        if flags & !(NOREPLACE | EXCHANGE) != 0 || flags == NOREPLACE | EXCHANGE {
            return Err(Errno::EINVAL);
        }
        let exchange = flags & EXCHANGE != 0;
        let _ns = self.ns.lock();
        let op = self.walk_parent(old_base, old)?;
        let np = self.walk_parent(new_base, new)?;
        let Last::Norm(oname) = &op.last else {
            return Err(Errno::EBUSY);
        };
        let Last::Norm(nname) = &np.last else {
            return Err(if flags & NOREPLACE != 0 {
                Errno::EEXIST
            } else {
                Errno::EBUSY
            });
        };
        let src = self.child(old_base.procs, &op.dir, oname)?;
        if src.is_root() {
            return Err(Errno::EBUSY);
        }
        let tgt = self.child_opt(new_base.procs, &np.dir, nname)?;
        if (op.trailing_slash || np.trailing_slash) && !src.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if op.dir.fs_id() != np.dir.fs_id() {
            return Err(Errno::EXDEV);
        }
        match &tgt {
            None if exchange => return Err(Errno::ENOENT),
            Some(_) if flags & NOREPLACE != 0 => return Err(Errno::EEXIST),
            Some(t) => {
                if t.is_root() {
                    return Err(Errno::EBUSY);
                }
                if src.same_inode(t) {
                    return Ok(());
                }
                if exchange {
                    if t.is_dir() && op.dir.is_within(t) {
                        return Err(Errno::EINVAL);
                    }
                } else if src.is_dir() && !t.is_dir() {
                    return Err(Errno::ENOTDIR);
                } else if !src.is_dir() && t.is_dir() {
                    return Err(Errno::EISDIR);
                }
            }
            None => {}
        }
        if src.is_dir() && np.dir.is_within(&src) {
            return Err(Errno::EINVAL);
        }
        if let Some(t) = &tgt {
            if !exchange
                && t.is_dir()
                && matches!(t.0.inode, Inode::Ovl(_))
                && !t.readdir()?.is_empty()
            {
                return Err(Errno::ENOTEMPTY);
            }
        }
        self.who(&old_base).landlock_refer(
            (&op.dir, &src),
            (&np.dir, tgt.as_ref()),
            exchange,
            true,
        )?;
        self.may_delete(&self.who(&old_base), &op.dir, &src)?;
        match &tgt {
            Some(t) => self.may_delete(&self.who(&new_base), &np.dir, t)?,
            None => self.may_modify(&self.who(&new_base), &np.dir)?,
        }
        let moved = notify::victim(&src);
        let other = tgt.as_ref().and_then(notify::victim);
        match (&op.dir.0.inode, &np.dir.0.inode) {
            (Inode::Host(a), Inode::Host(b)) => a.rename(oname, b, nname, flags)?,
            (Inode::Proc(_), _) if tgt.is_none() => return Err(Errno::ENOENT),
            (Inode::Proc(_), _) => return Err(Errno::EPERM),
            _ => overlay::rename(&src, &op.dir, oname, &np.dir, nname, tgt.as_ref(), exchange)?,
        }
        if exchange {
            notify::rename(moved, &op.dir, oname, &np.dir, nname, None);
            notify::rename(other, &np.dir, nname, &op.dir, oname, None);
        } else {
            notify::rename(moved, &op.dir, oname, &np.dir, nname, other);
        }
        Ok(())
    }

    /// `linkat(2)`: `follow` = `AT_SYMLINK_FOLLOW` on `old`.
    pub fn link<'b>(
        &self,
        old_base: impl Into<At<'b>>,
        old: &[u8],
        new_base: impl Into<At<'b>>,
        new: &[u8],
        follow: bool,
    ) -> Result<(), Errno> {
        let old_base: At<'_> = old_base.into();
        let _ns = self.ns.lock();
        let src = self.walk(old_base, old, follow, &mut 0)?;
        self.link_locked(&src, old_base, new_base.into(), new)
    }

    /// `linkat(2)` with `AT_EMPTY_PATH` and an empty old path: a new name for `src`, the
    /// file `old_base`'s caller holds open.
    pub fn link_dentry<'b>(
        &self,
        src: &Dentry,
        old_base: impl Into<At<'b>>,
        new_base: impl Into<At<'b>>,
        new: &[u8],
    ) -> Result<(), Errno> {
        let _ns = self.ns.lock();
        self.link_locked(src, old_base.into(), new_base.into(), new)
    }

    fn link_locked(
        &self,
        src: &Dentry,
        old_base: At<'_>,
        new_base: At<'_>,
        new: &[u8],
    ) -> Result<(), Errno> {
        let (dir, name) = self.new_entry(new_base, new, false)?;
        // Linux's order: the new name's mount (`filename_create`), the same mount, the
        // directory's permission (`may_create`), then the source (`vfs_link`).
        if mount::read_only(&dir) {
            return Err(Errno::EROFS);
        }
        if src.fs_id() != dir.fs_id() {
            return Err(Errno::EXDEV);
        }
        self.may_linkat(&self.who(&old_base), src)?;
        let parent = src.parent_or_self();
        self.who(&new_base)
            .landlock_refer((&parent, src), (&dir, None), false, false)?;
        self.may_modify(&self.who(&new_base), &dir)?;
        if src.is_dir() {
            return Err(Errno::EPERM);
        }
        fileattr::check_pinned(src)?;
        match (&src.0.inode, &dir.0.inode) {
            (Inode::Host(s), Inode::Host(d)) => s.link_into(d, &name)?,
            (_, Inode::Proc(_)) => return Err(Errno::ENOENT),
            _ => overlay::link(src, &dir, &name)?,
        }
        notify::create(&dir, &name, false, Some(src));
        Ok(())
    }

    /// `symlinkat(2)`: creates `path` pointing at `target`.
    pub fn symlink<'b>(
        &self,
        target: &[u8],
        base: impl Into<At<'b>>,
        path: &[u8],
    ) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= abi::flags::PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let _ns = self.ns.lock();
        let (dir, name) = self.new_entry(base, path, false)?;
        let who = self.who(&base);
        who.landlock_check(&dir, ll::ACCESS_FS_MAKE_SYM)?;
        self.may_modify(&who, &dir)?;
        match &dir.0.inode {
            Inode::Host(h) => h.symlink(target, &name)?,
            Inode::Ovl(_) => {
                overlay::create(
                    &dir,
                    &name,
                    tmpfs::SYMLINK_MODE,
                    who.new_owner(&dir),
                    MemData::Symlink(target.to_vec()),
                )?;
            }
            Inode::Proc(_) => return Err(Errno::ENOENT),
        }
        notify::create(&dir, &name, false, None);
        Ok(())
    }

    /// `readlinkat(2)`: the target (`EINVAL` if not a symlink).
    pub fn readlink<'b>(&self, base: impl Into<At<'b>>, path: &[u8]) -> Result<Vec<u8>, Errno> {
        let base: At<'_> = base.into();
        let d = self.walk(base, path, false, &mut 0)?;
        match d.magic() {
            Some(t) => Ok(self.magic_text(t)),
            None => d.readlink(),
        }
    }

    /// `stat`/`lstat`.
    pub fn stat<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        follow: bool,
    ) -> Result<Stat, Errno> {
        let base: At<'_> = base.into();
        self.walk(base, path, follow, &mut 0)?.stat()
    }

    /// `faccessat(2)`: `mode` bits (`R_OK` …) for the caller of `base` (whose ids the
    /// syscall layer picks: the real ones unless `AT_EACCESS`).
    pub fn access<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        mode: u32,
        follow: bool,
    ) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        if mode & !7 != 0 {
            return Err(Errno::EINVAL);
        }
        let d = self.walk(base, path, follow, &mut 0)?;
        self.access_dentry(&d, mode, &self.who(&base))
    }

    /// `access` by `who` on a dentry already resolved (`faccessat2` with `AT_EMPTY_PATH`).
    pub fn access_dentry(&self, d: &Dentry, mode: u32, who: &FsCred<'_>) -> Result<(), Errno> {
        if mode & !7 != 0 {
            return Err(Errno::EINVAL);
        }
        if mode & 2 != 0 {
            fileattr::check_mutable(d)?;
        }
        let st = d.stat()?;
        if mode != 0 && !who.permitted(&st, mode) {
            return Err(Errno::EACCES);
        }
        // Then, as Linux (and SuS) want, a read-only mount for W_OK on all but special files.
        let ft = st.st_mode & S_IFMT;
        let plain = ft == S_IFREG || ft == S_IFDIR || ft == abi::flags::mode::S_IFLNK;
        if mode & 2 != 0 && plain && mount::read_only(d) {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    /// `fchmodat(2)`.
    pub fn chmod<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        mode: u32,
        follow: bool,
    ) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        let _ns = self.ns.lock();
        let d = self.walk(base, path, follow, &mut 0)?;
        self.chmod_dentry(&d, mode, &self.who(&base))
    }

    /// `chmod` of `d` by `who` (the owner or root): a symlink's mode cannot change
    /// (`EOPNOTSUPP`, as Linux 6.6's `notify_change`; only `fchmodat2` reaches one).
    pub fn chmod_dentry(&self, d: &Dentry, mode: u32, who: &FsCred<'_>) -> Result<(), Errno> {
        if d.is_symlink() {
            return Err(Errno::EOPNOTSUPP);
        }
        self.owner_or_root(who, d)?;
        d.chmod(mode & 0o7777)
    }

    /// `chown(2)`/`lchown(2)`/`fchownat(2)`: `None` keeps the owner or group. Only root may
    /// give a file away; an owner may change the group to one it is in.
    pub fn chown<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        uid: Option<u32>,
        gid: Option<u32>,
        follow: bool,
    ) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        let _ns = self.ns.lock();
        let d = self.walk(base, path, follow, &mut 0)?;
        self.chown_dentry(&d, uid, gid, &self.who(&base))
    }

    /// `fchown(2)` by `who` and the permission rules of [`Vfs::chown`] for an already
    /// resolved file.
    pub fn chown_dentry(
        &self,
        d: &Dentry,
        uid: Option<u32>,
        gid: Option<u32>,
        who: &FsCred<'_>,
    ) -> Result<(), Errno> {
        if mount::read_only(d) {
            return Err(Errno::EROFS);
        }
        fileattr::check_pinned(d)?;
        if who.fsuid != 0 {
            let st = d.stat()?;
            let gives_away = uid.is_some_and(|u| u != st.st_uid);
            let foreign_group = gid.is_some_and(|g| g != st.st_gid && !who.in_group(g));
            if st.st_uid != who.fsuid || gives_away || foreign_group {
                return Err(Errno::EPERM);
            }
        }
        d.chown(uid, gid)
    }

    /// `truncate(2)`: `EFBIG` (after the permission checks) for a length past `max`, the
    /// caller's `RLIMIT_FSIZE`.
    pub fn truncate<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        len: u64,
        max: u64,
    ) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        let _ns = self.ns.lock();
        let d = self.walk(base, path, true, &mut 0)?;
        if d.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.check(&self.who(&base), &d, 2)?;
        if mount::read_only(&d) {
            return Err(Errno::EROFS);
        }
        fileattr::check_pinned(&d)?;
        self.who(&base).landlock_check(&d, ll::ACCESS_FS_TRUNCATE)?;
        if len > max {
            return Err(Errno::EFBIG);
        }
        d.truncate(len)
    }

    /// `pipe2(2)`: a new pipe's (read end, write end). `flags`: `O_NONBLOCK` (both ends),
    /// `O_DIRECT` (accepted, packet mode not implemented), `O_CLOEXEC` (the caller's);
    /// others are `EINVAL`.
    pub fn pipe(&self, flags: OFlags) -> Result<(FileRef, FileRef), Errno> {
        if flags.difference(OFlags::NONBLOCK | OFlags::DIRECT | OFlags::CLOEXEC) != OFlags::empty()
        {
            return Err(Errno::EINVAL);
        }
        Ok(file::open_pipe(flags, self.uid, self.gid))
    }

    /// `utimensat(2)` on a path: `atime`/`mtime` as Linux takes them (`tv_nsec` may be
    /// [`UTIME_NOW`] or [`UTIME_OMIT`]; pass both `UTIME_NOW` for a null `times`). `follow`:
    /// follow a final symlink. ctime becomes now. Overlay objects are copied up first.
    pub fn utimens<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        atime: Timespec,
        mtime: Timespec,
        follow: bool,
    ) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        let _ns = self.ns.lock();
        let d = self.walk(base, path, follow, &mut 0)?;
        self.utimens_dentry(&d, atime, mtime, &self.who(&base))
    }

    /// `utimensat` by `who` on an object already resolved (`AT_EMPTY_PATH`, a directory
    /// fd).
    pub fn utimens_dentry(
        &self,
        d: &Dentry,
        atime: Timespec,
        mtime: Timespec,
        who: &FsCred<'_>,
    ) -> Result<(), Errno> {
        if mount::read_only(d) {
            return Err(Errno::EROFS);
        }
        // Linux's `vfs_utimes` and `notify_change`: a touch (both now) changes no immutable
        // file, any other times (unless both are omitted) neither an immutable nor an
        // append-only one.
        let (now, omit) = (
            atime.tv_nsec == UTIME_NOW && mtime.tv_nsec == UTIME_NOW,
            atime.tv_nsec == UTIME_OMIT && mtime.tv_nsec == UTIME_OMIT,
        );
        if now {
            fileattr::check_mutable(d)?;
        } else if !omit {
            fileattr::check_pinned(d)?;
        }
        let Some((a, m)) = times_for(|| d.stat(), atime, mtime, who)? else {
            return Ok(());
        };
        d.set_times(a, m)
    }

    /// Absolute guest path of a dentry; `/` for the root.
    pub fn path_of(&self, d: &Dentry) -> Vec<u8> {
        d.path()
    }

    /// An open file bound to (a duplicate of) the host's descriptor `host_fd` (0, 1 or 2),
    /// for the guest's stdin/stdout/stderr.
    pub fn stdio(&self, host_fd: i32) -> Result<FileRef, Errno> {
        let fd = stdio::dup(host_fd)?;
        let alias = match self.console {
            Some((_, rdev, Some(n))) if stdio::rdev(&fd) == Some(rdev) => {
                let path = format!("/dev/pts/{n}");
                self.lookup(&self.root, path.as_bytes(), false).ok()
            }
            _ => None,
        };
        file::open_stream(fd, alias)
    }

    /// Signals terminals raised (typed `^C`, a new window size, a hangup), for the kernel
    /// to send; cheap when there are none.
    pub fn take_tty_signals(&self) -> Vec<TtySignal> {
        self.devpts.take_signals()
    }

    /// Opens a regular file to execute: `EACCES` for directories, other non-regular files,
    /// files on a `noexec` mount and files with no execute permission for us.
    pub fn open_exec<'b>(&self, base: impl Into<At<'b>>, path: &[u8]) -> Result<FileRef, Errno> {
        let base: At<'_> = base.into();
        let d = self.walk(base, path, true, &mut 0)?;
        if d.ftype() != S_IFREG || mount::has_flag(&d, abi::flags::mount::MS_NOEXEC) {
            return Err(Errno::EACCES);
        }
        let st = d.stat()?;
        if st.st_mode & 0o111 == 0 || !self.who(&base).permitted(&st, 1) {
            return Err(Errno::EACCES);
        }
        self.who(&base).landlock_open(&d, OFlags::empty(), true)?;
        let f = file::open_dentry(&d, OFlags::empty())?;
        notify::open_exec(&f);
        Ok(f)
    }
}

/// Checks `utimensat` times and `who`'s permissions against the object's `stat`: `EINVAL`
/// for a bad `tv_nsec`; explicit times need the owner (`EPERM`), "now" for both needs the
/// owner or write permission (`EACCES`). `None` if there is nothing to do (both omitted).
pub(crate) fn times_for(
    stat: impl FnOnce() -> Result<Stat, Errno>,
    atime: Timespec,
    mtime: Timespec,
    who: &FsCred<'_>,
) -> Result<Option<NewTimes>, Errno> {
    let valid = |n: i64| (0..1_000_000_000).contains(&n) || n == UTIME_NOW || n == UTIME_OMIT;
    if !valid(atime.tv_nsec) || !valid(mtime.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    if atime.tv_nsec == UTIME_OMIT && mtime.tv_nsec == UTIME_OMIT {
        return Ok(None);
    }
    if who.fsuid != 0 {
        let st = stat()?;
        if !who.owns(&st) {
            if atime.tv_nsec != UTIME_NOW || mtime.tv_nsec != UTIME_NOW {
                return Err(Errno::EPERM);
            }
            if !who.permitted(&st, 2) {
                return Err(Errno::EACCES);
            }
        }
    }
    let now = Time::now();
    let t = |ts: Timespec| match ts.tv_nsec {
        UTIME_OMIT => None,
        UTIME_NOW => Some(now),
        n => Some(Time {
            sec: ts.tv_sec,
            nsec: n,
        }),
    };
    Ok(Some((t(atime), t(mtime))))
}

trait IoErr {
    fn raw_os_error_io(self) -> std::io::Error;
}

impl IoErr for Errno {
    fn raw_os_error_io(self) -> std::io::Error {
        std::io::Error::from_raw_os_error(self.raw())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fifo;
#[cfg(test)]
mod tests_mount;
#[cfg(test)]
mod tests_object;
#[cfg(test)]
mod tests_pipe;
#[cfg(test)]
mod tests_procfs;
#[cfg(test)]
mod tests_pty;
#[cfg(test)]
mod tests_service;
#[cfg(test)]
mod tests_sparse;
