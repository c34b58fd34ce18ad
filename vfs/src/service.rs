//! vfs as a service: the path calls as [`VfsMsg`] in, [`VfsReply`] out.
//!
//! The kernel holds a [`VfsService`], not a bare [`Vfs`]. The calls that walk a path and
//! read or change the namespace (`lookup`, `open`, `stat`, `access`, `readlink`, `mkdir`,
//! `mknod`, `symlink`, `link`, `rename`, `unlink`, `rmdir`, `chmod`, `chown`, `truncate`,
//! `utimens`) are its messages: each typed method makes a [`VfsMsg`] and one function
//! ([`exec`]) carries every message out. A message names its start directories by a type
//! parameter: the caller's borrowed [`At`] in a call on the kernel's loop (no copy), the
//! directories themselves ([`AtObj`]) on the way to a vfs on a thread of its own
//! ([`VfsService::on_thread`], `--deploy threads`), and values ([`AtMsg`]: guest paths and
//! the caller's ids) when recorded or handled alone ([`VfsService::handle`]). Replies are
//! values too (an errno, or what the call produced: a file's identity, mode and size, a
//! link's target). When recording, every message is logged with its reply
//! ([`VfsService::take_log`]).
//!
//! On its own thread, vfs answers each message while the caller waits; what a walk of
//! `/proc` asks of the process table (owned by the caller) travels back as queries the
//! caller answers meanwhile ([`thread`]). Open files, dentries and the namespace's other
//! objects are shared between the threads, as a `struct file` is between CPUs.
//!
//! What is not a message: the data of open files, which moves between guest memory and a
//! file's pages through the [`FileRef`] an `open` returned, as Linux's `read`/`write` go
//! through a `struct file` (no message per byte; the syscall replies carry what came of
//! them); and the objects outside the namespace (pipes, sockets, eventfds, ptys), which
//! are made and driven by the syscall layer. [`VfsService`] dereferences to [`Vfs`] for
//! them. Because a file's contents come from those direct writes, a fresh vfs fed only its
//! inbox would not hold the recorded files: a log is replayed against vfs inside a kernel
//! run again on the log (`uml replay --service vfs`), where every message the new vfs gets
//! is checked against the recorded one, reply included.

mod thread;

use std::ops::Deref;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use abi::flags::mode::{S_IFBLK, S_IFCHR, S_IFIFO, S_IFREG, S_IFSOCK};
use abi::flags::OFlags;
use abi::structs::{Stat, Timespec};
use abi::Errno;

use crate::landlock::Domain;
use crate::{Arc, At, Dentry, FileRef, FsCred, NoProcs, NodeType, ProcSource, Vfs};

/// Where a path call starts and who makes it, as a value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtMsg {
    /// The guest path of the directory relative paths start from.
    pub dir: Vec<u8>,
    /// The caller's root (`chroot`), if not the file system's.
    pub root: Option<Vec<u8>>,
    /// The calling process and thread, if a process calls.
    pub caller: Option<(i32, i32)>,
    /// The caller's filesystem uid, gid and supplementary groups, if a process calls.
    pub cred: Option<(u32, u32, Vec<u32>)>,
    /// Whether the caller is restricted by a Landlock domain (its rules are objects of
    /// the run, not values: [`VfsService::handle`] runs a message unrestricted).
    pub landlocked: bool,
    /// `openat2`'s `RESOLVE_*` flags.
    pub resolve: u64,
}

/// A request to vfs. Its fields are the arguments of the [`Vfs`] method of the same name,
/// `at` (`old_at`, `new_at`) the start directory the path is relative to, named as `A`
/// says, and the paths as `P` holds them: borrowed in a call on the loop, owned elsewhere
/// (see the module doc; recorded messages are `VfsMsg<AtMsg, Vec<u8>>`).
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VfsMsg<A = AtMsg, P = Vec<u8>> {
    /// Resolve a path (`follow`: a final symlink too).
    Lookup { at: A, path: P, follow: bool },
    /// `open(2)` with these flags and (umask-masked) mode.
    Open {
        at: A,
        path: P,
        flags: u32,
        mode: u32,
    },
    /// `stat`/`lstat`.
    Stat { at: A, path: P, follow: bool },
    /// `faccessat`.
    Access {
        at: A,
        path: P,
        mode: u32,
        follow: bool,
    },
    /// `readlinkat`.
    Readlink { at: A, path: P },
    /// `mkdirat`.
    Mkdir { at: A, path: P, mode: u32 },
    /// `mknodat`: the file type (`S_IF*`), device number, permission bits, and whether
    /// the caller may make devices.
    Mknod {
        at: A,
        path: P,
        kind: u32,
        dev: (u32, u32),
        perm: u32,
        cap: bool,
    },
    /// `symlinkat`.
    Symlink { target: P, at: A, path: P },
    /// `linkat`.
    Link {
        old_at: A,
        old: P,
        new_at: A,
        new: P,
        follow: bool,
    },
    /// `renameat2`.
    Rename {
        old_at: A,
        old: P,
        new_at: A,
        new: P,
        flags: u32,
    },
    /// `unlinkat`.
    Unlink { at: A, path: P },
    /// `unlinkat(AT_REMOVEDIR)`.
    Rmdir { at: A, path: P },
    /// `fchmodat`.
    Chmod {
        at: A,
        path: P,
        mode: u32,
        follow: bool,
    },
    /// `fchownat` (`None`: unchanged).
    Chown {
        at: A,
        path: P,
        uid: Option<u32>,
        gid: Option<u32>,
        follow: bool,
    },
    /// `truncate` (`max`: the caller's `RLIMIT_FSIZE`).
    Truncate { at: A, path: P, len: u64, max: u64 },
    /// `utimensat` on a path: (seconds, nanoseconds) of atime and mtime.
    Utimens {
        at: A,
        path: P,
        atime: (i64, i64),
        mtime: (i64, i64),
        follow: bool,
    },
}

/// What a file is, as a reply tells it: its identity, type and mode, owner and size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Device and inode number.
    pub id: (u64, u64),
    /// Type and permission bits.
    pub mode: u32,
    /// Links.
    pub nlink: u64,
    /// Owner and group.
    pub owner: (u32, u32),
    /// Size in bytes.
    pub size: i64,
    /// Device number of a device node.
    pub rdev: u64,
}

impl From<&Stat> for Node {
    fn from(s: &Stat) -> Node {
        Node {
            id: (s.st_dev, s.st_ino),
            mode: s.st_mode,
            nlink: s.st_nlink,
            owner: (s.st_uid, s.st_gid),
            size: s.st_size,
            rdev: s.st_rdev,
        }
    }
}

/// vfs's reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VfsReply {
    /// Done.
    Done,
    /// The call failed with this errno.
    Err(i32),
    /// The file the call found, opened or stat'ed.
    Node(Node),
    /// A symlink's target.
    Target(Vec<u8>),
}

/// One logged message with its reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VfsEntry {
    /// The request.
    pub msg: VfsMsg,
    /// vfs's reply.
    pub reply: VfsReply,
}

/// The vfs the kernel holds: see the module doc.
pub struct VfsService {
    /// Where messages are carried out when vfs has a thread of its own.
    thread: Option<thread::VfsThread>,
    vfs: Arc<Vfs>,
    recording: bool,
    log: Mutex<Vec<VfsEntry>>,
}

impl Deref for VfsService {
    type Target = Vfs;
    fn deref(&self) -> &Vfs {
        &self.vfs
    }
}

fn done(r: &Result<(), Errno>) -> VfsReply {
    match r {
        Ok(()) => VfsReply::Done,
        Err(e) => VfsReply::Err(*e as i32),
    }
}

fn node(r: &Result<Stat, Errno>) -> VfsReply {
    errno_or(r, |s| VfsReply::Node(Node::from(s)))
}

fn errno_or<T>(r: &Result<T, Errno>, ok: impl FnOnce(&T) -> VfsReply) -> VfsReply {
    match r {
        Ok(v) => ok(v),
        Err(e) => VfsReply::Err(*e as i32),
    }
}

/// A `mknod` message's file type back as a [`NodeType`].
fn node_type(kind: u32, (major, minor): (u32, u32)) -> Option<NodeType> {
    Some(match kind {
        S_IFREG => NodeType::Regular,
        S_IFIFO => NodeType::Fifo,
        S_IFSOCK => NodeType::Socket,
        S_IFCHR => NodeType::Char(major, minor),
        S_IFBLK => NodeType::Block(major, minor),
        _ => return None,
    })
}

fn ts(t: Timespec) -> (i64, i64) {
    (t.tv_sec, t.tv_nsec)
}

/// A start directory and its caller as objects: how a message names them on its way to a
/// vfs on another thread (the caller's process table stays behind: see [`thread`]).
pub(crate) struct AtObj {
    dir: Dentry,
    root: Option<Dentry>,
    /// Filesystem uid and gid, supplementary groups, Landlock domain.
    cred: Option<(u32, u32, Vec<u32>, Option<Domain>)>,
    resolve: u64,
}

impl AtObj {
    /// `at`'s directories and caller, owned.
    fn of(at: &At<'_>) -> AtObj {
        AtObj {
            dir: at.dir.clone(),
            root: at.root.cloned(),
            cred: at.cred.map(|c| {
                let landlock = c.landlock.cloned();
                (c.fsuid, c.fsgid, c.groups.to_vec(), landlock)
            }),
            resolve: at.resolve,
        }
    }
}

/// How a message names its start directories, as the [`At`] a [`Vfs`] call takes.
pub(crate) trait AsAt {
    /// The start directory, its `/proc` showing `procs` unless it knows its own.
    fn as_at<'s>(&'s self, procs: &'s dyn ProcSource) -> At<'s>;
}

impl AsAt for At<'_> {
    fn as_at<'s>(&'s self, _procs: &'s dyn ProcSource) -> At<'s> {
        *self
    }
}

impl AsAt for AtObj {
    fn as_at<'s>(&'s self, procs: &'s dyn ProcSource) -> At<'s> {
        let mut at = At::from(&self.dir).rooted(self.root.as_ref());
        at.procs = procs;
        at.cred = self
            .cred
            .as_ref()
            .map(|(fsuid, fsgid, groups, landlock)| FsCred {
                fsuid: *fsuid,
                fsgid: *fsgid,
                groups,
                landlock: landlock.as_ref(),
            });
        at.resolve = self.resolve;
        at
    }
}

impl<A, P: AsRef<[u8]>> VfsMsg<A, P> {
    /// The same message with its start directories named by what `f` makes of them (in
    /// order: `old_at` before `new_at`) and its paths owned, or `f`'s first error.
    pub(crate) fn try_map_at<B, E>(
        &self,
        mut f: impl FnMut(&A) -> Result<B, E>,
    ) -> Result<VfsMsg<B>, E> {
        use VfsMsg::*;
        let p = |p: &P| p.as_ref().to_vec();
        Ok(match self {
            Lookup { at, path, follow } => Lookup {
                at: f(at)?,
                path: p(path),
                follow: *follow,
            },
            Open {
                at,
                path,
                flags,
                mode,
            } => Open {
                at: f(at)?,
                path: p(path),
                flags: *flags,
                mode: *mode,
            },
            Stat { at, path, follow } => Stat {
                at: f(at)?,
                path: p(path),
                follow: *follow,
            },
            Access {
                at,
                path,
                mode,
                follow,
            } => Access {
                at: f(at)?,
                path: p(path),
                mode: *mode,
                follow: *follow,
            },
            Readlink { at, path } => Readlink {
                at: f(at)?,
                path: p(path),
            },
            Mkdir { at, path, mode } => Mkdir {
                at: f(at)?,
                path: p(path),
                mode: *mode,
            },
            Mknod {
                at,
                path,
                kind,
                dev,
                perm,
                cap,
            } => Mknod {
                at: f(at)?,
                path: p(path),
                kind: *kind,
                dev: *dev,
                perm: *perm,
                cap: *cap,
            },
            Symlink { target, at, path } => Symlink {
                target: p(target),
                at: f(at)?,
                path: p(path),
            },
            Link {
                old_at,
                old,
                new_at,
                new,
                follow,
            } => Link {
                old_at: f(old_at)?,
                old: p(old),
                new_at: f(new_at)?,
                new: p(new),
                follow: *follow,
            },
            Rename {
                old_at,
                old,
                new_at,
                new,
                flags,
            } => Rename {
                old_at: f(old_at)?,
                old: p(old),
                new_at: f(new_at)?,
                new: p(new),
                flags: *flags,
            },
            Unlink { at, path } => Unlink {
                at: f(at)?,
                path: p(path),
            },
            Rmdir { at, path } => Rmdir {
                at: f(at)?,
                path: p(path),
            },
            Chmod {
                at,
                path,
                mode,
                follow,
            } => Chmod {
                at: f(at)?,
                path: p(path),
                mode: *mode,
                follow: *follow,
            },
            Chown {
                at,
                path,
                uid,
                gid,
                follow,
            } => Chown {
                at: f(at)?,
                path: p(path),
                uid: *uid,
                gid: *gid,
                follow: *follow,
            },
            Truncate { at, path, len, max } => Truncate {
                at: f(at)?,
                path: p(path),
                len: *len,
                max: *max,
            },
            Utimens {
                at,
                path,
                atime,
                mtime,
                follow,
            } => Utimens {
                at: f(at)?,
                path: p(path),
                atime: *atime,
                mtime: *mtime,
                follow: *follow,
            },
        })
    }

    /// [`VfsMsg::try_map_at`] with an `f` that cannot fail.
    pub(crate) fn map_at<B>(&self, mut f: impl FnMut(&A) -> B) -> VfsMsg<B> {
        match self.try_map_at(|a| Ok::<B, std::convert::Infallible>(f(a))) {
            Ok(m) => m,
            Err(never) => match never {},
        }
    }
}

/// What a path call gives back, before it is told as a [`VfsReply`].
pub(crate) enum Out {
    Dentry(Result<Dentry, Errno>),
    File(Result<FileRef, Errno>),
    Stat(Result<Stat, Errno>),
    Done(Result<(), Errno>),
    Target(Result<Vec<u8>, Errno>),
}

impl Out {
    /// The reply that tells it.
    fn reply(&self) -> VfsReply {
        match self {
            Out::Dentry(r) => errno_or(r, |d| node(&d.stat())),
            Out::File(r) => errno_or(r, |f| node(&f.stat())),
            Out::Stat(r) => node(r),
            Out::Done(r) => done(r),
            Out::Target(r) => errno_or(r, |t| VfsReply::Target(t.clone())),
        }
    }
}

/// A typed method's result, taken out of the [`Out`] its message gave.
trait FromOut: Sized {
    fn from_out(out: Out) -> Result<Self, Errno>;
}

macro_rules! from_out {
    ($($t:ty => $v:ident),*) => {$(
        impl FromOut for $t {
            fn from_out(out: Out) -> Result<$t, Errno> {
                match out {
                    Out::$v(r) => r,
                    // exec gives each message's one kind of result.
                    _ => unreachable!(concat!("a vfs call for a ", stringify!($v), " gave another result")),
                }
            }
        }
    )*};
}

from_out!(Dentry => Dentry, FileRef => File, Stat => Stat, () => Done, Vec<u8> => Target);

/// Carries out `msg` on `vfs`: the one place a message becomes a call. A start directory
/// that knows no process table of its own shows `/proc` as `procs` answers.
pub(crate) fn exec<A: AsAt, P: AsRef<[u8]>>(
    vfs: &Vfs,
    msg: &VfsMsg<A, P>,
    procs: &dyn ProcSource,
) -> Out {
    let t = |(tv_sec, tv_nsec): (i64, i64)| Timespec { tv_sec, tv_nsec };
    match msg {
        VfsMsg::Lookup { at, path, follow } => {
            Out::Dentry(vfs.lookup(at.as_at(procs), path.as_ref(), *follow))
        }
        VfsMsg::Open {
            at,
            path,
            flags,
            mode,
        } => {
            let flags = OFlags::from_bits_retain(*flags);
            Out::File(vfs.open(at.as_at(procs), path.as_ref(), flags, *mode))
        }
        VfsMsg::Stat { at, path, follow } => {
            Out::Stat(vfs.stat(at.as_at(procs), path.as_ref(), *follow))
        }
        VfsMsg::Access {
            at,
            path,
            mode,
            follow,
        } => Out::Done(vfs.access(at.as_at(procs), path.as_ref(), *mode, *follow)),
        VfsMsg::Readlink { at, path } => Out::Target(vfs.readlink(at.as_at(procs), path.as_ref())),
        VfsMsg::Mkdir { at, path, mode } => {
            Out::Done(vfs.mkdir(at.as_at(procs), path.as_ref(), *mode))
        }
        VfsMsg::Mknod {
            at,
            path,
            kind,
            dev,
            perm,
            cap,
        } => Out::Done(match node_type(*kind, *dev) {
            Some(ty) => vfs.mknod(at.as_at(procs), path.as_ref(), ty, *perm, *cap),
            None => Err(Errno::EINVAL),
        }),
        VfsMsg::Symlink { target, at, path } => {
            Out::Done(vfs.symlink(target.as_ref(), at.as_at(procs), path.as_ref()))
        }
        VfsMsg::Link {
            old_at,
            old,
            new_at,
            new,
            follow,
        } => Out::Done(vfs.link(
            old_at.as_at(procs),
            old.as_ref(),
            new_at.as_at(procs),
            new.as_ref(),
            *follow,
        )),
        VfsMsg::Rename {
            old_at,
            old,
            new_at,
            new,
            flags,
        } => Out::Done(vfs.rename(
            old_at.as_at(procs),
            old.as_ref(),
            new_at.as_at(procs),
            new.as_ref(),
            *flags,
        )),
        VfsMsg::Unlink { at, path } => Out::Done(vfs.unlink(at.as_at(procs), path.as_ref())),
        VfsMsg::Rmdir { at, path } => Out::Done(vfs.rmdir(at.as_at(procs), path.as_ref())),
        VfsMsg::Chmod {
            at,
            path,
            mode,
            follow,
        } => Out::Done(vfs.chmod(at.as_at(procs), path.as_ref(), *mode, *follow)),
        VfsMsg::Chown {
            at,
            path,
            uid,
            gid,
            follow,
        } => Out::Done(vfs.chown(at.as_at(procs), path.as_ref(), *uid, *gid, *follow)),
        VfsMsg::Truncate { at, path, len, max } => {
            Out::Done(vfs.truncate(at.as_at(procs), path.as_ref(), *len, *max))
        }
        VfsMsg::Utimens {
            at,
            path,
            atime,
            mtime,
            follow,
        } => Out::Done(vfs.utimens(
            at.as_at(procs),
            path.as_ref(),
            t(*atime),
            t(*mtime),
            *follow,
        )),
    }
}

impl VfsService {
    /// Serves `vfs` on the caller's loop.
    pub fn new(vfs: Vfs) -> VfsService {
        VfsService {
            thread: None,
            vfs: Arc::new(vfs),
            recording: false,
            log: Mutex::new(Vec::new()),
        }
    }

    /// Serves `vfs` on a thread of its own (a thread that cannot be started is a host
    /// failure).
    pub fn on_thread(vfs: Vfs) -> std::io::Result<VfsService> {
        let mut s = VfsService::new(vfs);
        s.thread = Some(thread::VfsThread::start(s.vfs.clone())?);
        Ok(s)
    }

    /// From now on every message is logged.
    pub fn record(&mut self) {
        self.recording = true;
    }

    /// The messages logged since the last call, oldest first (empty when not recording).
    pub fn take_log(&self) -> Vec<VfsEntry> {
        if !self.recording {
            return Vec::new();
        }
        std::mem::take(&mut *self.log.lock())
    }

    /// Handles one message on its own: its directories are walked from the root, as no
    /// process (`/proc` is empty) with the message's ids and no Landlock domain. This is
    /// how the service is driven by messages alone (its unit tests); the kernel calls the
    /// typed methods below, whose messages [`exec`] carries out alike.
    pub fn handle(&self, msg: &VfsMsg) -> VfsReply {
        let root = self.vfs.root();
        let resolve = |at: &AtMsg| -> Result<AtObj, Errno> {
            let dir = self.vfs.lookup(&root, &at.dir, true)?;
            let chroot = match &at.root {
                Some(r) => Some(self.vfs.lookup(&root, r, true)?),
                None => None,
            };
            Ok(AtObj {
                dir,
                root: chroot,
                cred: at
                    .cred
                    .clone()
                    .map(|(uid, gid, groups)| (uid, gid, groups, None)),
                resolve: at.resolve,
            })
        };
        match msg.try_map_at(resolve) {
            Ok(msg) => exec(&self.vfs, &msg, &NoProcs).reply(),
            Err(e) => VfsReply::Err(e as i32),
        }
    }

    /// `base` as a value.
    fn at(&self, base: &At<'_>) -> AtMsg {
        AtMsg {
            dir: self.vfs.path_of(base.dir),
            root: base.root.map(|r| self.vfs.path_of(r)),
            caller: base.procs.caller(),
            cred: base.cred.map(|c| (c.fsuid, c.fsgid, c.groups.to_vec())),
            landlocked: base.cred.is_some_and(|c| c.landlock.is_some()),
            resolve: base.resolve,
        }
    }

    /// Carries out `msg` where vfs runs, logging it with its reply when recording.
    fn call<T: FromOut>(&self, msg: VfsMsg<At<'_>, &[u8]>) -> Result<T, Errno> {
        // The value is taken before the call: it may move or remove its directory.
        let value = self.recording.then(|| msg.map_at(|a| self.at(a)));
        let out = match &self.thread {
            Some(t) => t.call(&self.vfs, &msg),
            None => exec(&self.vfs, &msg, &NoProcs),
        };
        if let Some(msg) = value {
            let reply = out.reply();
            self.log.lock().push(VfsEntry { msg, reply });
        }
        T::from_out(out)
    }

    /// See [`Vfs::lookup`].
    pub fn lookup<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        follow: bool,
    ) -> Result<Dentry, Errno> {
        let at = base.into();
        self.call(VfsMsg::Lookup { at, path, follow })
    }

    /// See [`Vfs::open`].
    pub fn open<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        flags: OFlags,
        mode: u32,
    ) -> Result<FileRef, Errno> {
        let (at, flags) = (base.into(), flags.bits());
        self.call(VfsMsg::Open {
            at,
            path,
            flags,
            mode,
        })
    }

    /// See [`Vfs::stat`].
    pub fn stat<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        follow: bool,
    ) -> Result<Stat, Errno> {
        let at = base.into();
        self.call(VfsMsg::Stat { at, path, follow })
    }

    /// See [`Vfs::access`].
    pub fn access<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        mode: u32,
        follow: bool,
    ) -> Result<(), Errno> {
        let at = base.into();
        self.call(VfsMsg::Access {
            at,
            path,
            mode,
            follow,
        })
    }

    /// See [`Vfs::readlink`].
    pub fn readlink<'b>(&self, base: impl Into<At<'b>>, path: &[u8]) -> Result<Vec<u8>, Errno> {
        let at = base.into();
        self.call(VfsMsg::Readlink { at, path })
    }

    /// See [`Vfs::mkdir`].
    pub fn mkdir<'b>(&self, base: impl Into<At<'b>>, path: &[u8], mode: u32) -> Result<(), Errno> {
        let at = base.into();
        self.call(VfsMsg::Mkdir { at, path, mode })
    }

    /// See [`Vfs::mknod`].
    pub fn mknod<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        ty: NodeType,
        perm: u32,
        cap_mknod: bool,
    ) -> Result<(), Errno> {
        let (kind, dev) = (ty.ftype(), ty.dev());
        let at = base.into();
        self.call(VfsMsg::Mknod {
            at,
            path,
            kind,
            dev,
            perm,
            cap: cap_mknod,
        })
    }

    /// See [`Vfs::symlink`].
    pub fn symlink<'b>(
        &self,
        target: &[u8],
        base: impl Into<At<'b>>,
        path: &[u8],
    ) -> Result<(), Errno> {
        let at = base.into();
        self.call(VfsMsg::Symlink { target, at, path })
    }

    /// See [`Vfs::link`].
    pub fn link<'b>(
        &self,
        old_base: impl Into<At<'b>>,
        old: &[u8],
        new_base: impl Into<At<'b>>,
        new: &[u8],
        follow: bool,
    ) -> Result<(), Errno> {
        let (old_at, new_at) = (old_base.into(), new_base.into());
        self.call(VfsMsg::Link {
            old_at,
            old,
            new_at,
            new,
            follow,
        })
    }

    /// See [`Vfs::rename`].
    pub fn rename<'b>(
        &self,
        old_base: impl Into<At<'b>>,
        old: &[u8],
        new_base: impl Into<At<'b>>,
        new: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let (old_at, new_at) = (old_base.into(), new_base.into());
        self.call(VfsMsg::Rename {
            old_at,
            old,
            new_at,
            new,
            flags,
        })
    }

    /// See [`Vfs::unlink`].
    pub fn unlink<'b>(&self, base: impl Into<At<'b>>, path: &[u8]) -> Result<(), Errno> {
        let at = base.into();
        self.call(VfsMsg::Unlink { at, path })
    }

    /// See [`Vfs::rmdir`].
    pub fn rmdir<'b>(&self, base: impl Into<At<'b>>, path: &[u8]) -> Result<(), Errno> {
        let at = base.into();
        self.call(VfsMsg::Rmdir { at, path })
    }

    /// See [`Vfs::chmod`].
    pub fn chmod<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        mode: u32,
        follow: bool,
    ) -> Result<(), Errno> {
        let at = base.into();
        self.call(VfsMsg::Chmod {
            at,
            path,
            mode,
            follow,
        })
    }

    /// See [`Vfs::chown`].
    pub fn chown<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        uid: Option<u32>,
        gid: Option<u32>,
        follow: bool,
    ) -> Result<(), Errno> {
        let at = base.into();
        self.call(VfsMsg::Chown {
            at,
            path,
            uid,
            gid,
            follow,
        })
    }

    /// See [`Vfs::truncate`].
    pub fn truncate<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        len: u64,
        max: u64,
    ) -> Result<(), Errno> {
        let at = base.into();
        self.call(VfsMsg::Truncate { at, path, len, max })
    }

    /// See [`Vfs::utimens`].
    pub fn utimens<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        atime: Timespec,
        mtime: Timespec,
        follow: bool,
    ) -> Result<(), Errno> {
        let at = base.into();
        self.call(VfsMsg::Utimens {
            at,
            path,
            atime: ts(atime),
            mtime: ts(mtime),
            follow,
        })
    }
}
