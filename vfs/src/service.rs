//! vfs as a service: the path calls as [`VfsMsg`] in, [`VfsReply`] out.
//!
//! The kernel holds a [`VfsService`], not a bare [`Vfs`]. The calls that walk a path and
//! read or change the namespace (`lookup`, `open`, `stat`, `access`, `readlink`, `mkdir`,
//! `mknod`, `symlink`, `link`, `rename`, `unlink`, `rmdir`, `chmod`, `chown`, `truncate`,
//! `utimens`) are its messages: each is a value (the start directory and root as guest
//! paths, the caller's ids, the path and arguments) and so is its reply (an errno, or what
//! the call produced: a file's identity, mode and size, a link's target). When recording,
//! every message is logged with its reply ([`VfsService::take_log`]); otherwise a call is
//! the direct call it was, at no cost but one test of a flag.
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

use std::ops::Deref;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use abi::flags::mode::{S_IFBLK, S_IFCHR, S_IFIFO, S_IFREG, S_IFSOCK};
use abi::flags::OFlags;
use abi::structs::{Stat, Timespec};
use abi::Errno;

use crate::{At, Dentry, FileRef, FsCred, NoProcs, NodeType, Vfs};

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
/// `at` (`old_at`, `new_at`) the start directory the path is relative to.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VfsMsg {
    /// Resolve a path (`follow`: a final symlink too).
    Lookup {
        at: AtMsg,
        path: Vec<u8>,
        follow: bool,
    },
    /// `open(2)` with these flags and (umask-masked) mode.
    Open {
        at: AtMsg,
        path: Vec<u8>,
        flags: u32,
        mode: u32,
    },
    /// `stat`/`lstat`.
    Stat {
        at: AtMsg,
        path: Vec<u8>,
        follow: bool,
    },
    /// `faccessat`.
    Access {
        at: AtMsg,
        path: Vec<u8>,
        mode: u32,
        follow: bool,
    },
    /// `readlinkat`.
    Readlink { at: AtMsg, path: Vec<u8> },
    /// `mkdirat`.
    Mkdir { at: AtMsg, path: Vec<u8>, mode: u32 },
    /// `mknodat`: the file type (`S_IF*`), device number, permission bits, and whether
    /// the caller may make devices.
    Mknod {
        at: AtMsg,
        path: Vec<u8>,
        kind: u32,
        dev: (u32, u32),
        perm: u32,
        cap: bool,
    },
    /// `symlinkat`.
    Symlink {
        target: Vec<u8>,
        at: AtMsg,
        path: Vec<u8>,
    },
    /// `linkat`.
    Link {
        old_at: AtMsg,
        old: Vec<u8>,
        new_at: AtMsg,
        new: Vec<u8>,
        follow: bool,
    },
    /// `renameat2`.
    Rename {
        old_at: AtMsg,
        old: Vec<u8>,
        new_at: AtMsg,
        new: Vec<u8>,
        flags: u32,
    },
    /// `unlinkat`.
    Unlink { at: AtMsg, path: Vec<u8> },
    /// `unlinkat(AT_REMOVEDIR)`.
    Rmdir { at: AtMsg, path: Vec<u8> },
    /// `fchmodat`.
    Chmod {
        at: AtMsg,
        path: Vec<u8>,
        mode: u32,
        follow: bool,
    },
    /// `fchownat` (`None`: unchanged).
    Chown {
        at: AtMsg,
        path: Vec<u8>,
        uid: Option<u32>,
        gid: Option<u32>,
        follow: bool,
    },
    /// `truncate` (`max`: the caller's `RLIMIT_FSIZE`).
    Truncate {
        at: AtMsg,
        path: Vec<u8>,
        len: u64,
        max: u64,
    },
    /// `utimensat` on a path: (seconds, nanoseconds) of atime and mtime.
    Utimens {
        at: AtMsg,
        path: Vec<u8>,
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
    vfs: Vfs,
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

impl VfsService {
    /// Serves `vfs`.
    pub fn new(vfs: Vfs) -> VfsService {
        VfsService {
            vfs,
            recording: false,
            log: Mutex::new(Vec::new()),
        }
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
    /// process (`/proc` is empty) with the message's ids and no Landlock domain. This is how the service is driven
    /// by messages alone (its unit tests); the kernel calls the typed methods below, which
    /// are the same calls.
    pub fn handle(&self, msg: &VfsMsg) -> VfsReply {
        let root = self.vfs.root();
        let dir = |at: &AtMsg| self.vfs.lookup(&root, &at.dir, true);
        // The same directory, the caller's root and ids from `at`.
        let with = |at: &AtMsg, f: &mut dyn FnMut(At<'_>) -> VfsReply| -> VfsReply {
            let d = match dir(at) {
                Ok(d) => d,
                Err(e) => return VfsReply::Err(e as i32),
            };
            let chroot = match at.root.as_ref().map(|r| self.vfs.lookup(&root, r, true)) {
                Some(Err(e)) => return VfsReply::Err(e as i32),
                Some(Ok(r)) => Some(r),
                None => None,
            };
            let mut a = At::from(&d).rooted(chroot.as_ref());
            a.cred = at.cred.as_ref().map(|(fsuid, fsgid, groups)| FsCred {
                fsuid: *fsuid,
                fsgid: *fsgid,
                groups,
                landlock: None,
            });
            a.procs = &NoProcs;
            a.resolve = at.resolve;
            f(a)
        };
        let t = |(tv_sec, tv_nsec): (i64, i64)| Timespec { tv_sec, tv_nsec };
        match msg {
            VfsMsg::Lookup { at, path, follow } => with(at, &mut |a| {
                errno_or(&self.vfs.lookup(a, path, *follow), |d| node(&d.stat()))
            }),
            VfsMsg::Open {
                at,
                path,
                flags,
                mode,
            } => with(at, &mut |a| {
                let flags = OFlags::from_bits_retain(*flags);
                errno_or(&self.vfs.open(a, path, flags, *mode), |f| node(&f.stat()))
            }),
            VfsMsg::Stat { at, path, follow } => {
                with(at, &mut |a| node(&self.vfs.stat(a, path, *follow)))
            }
            VfsMsg::Access {
                at,
                path,
                mode,
                follow,
            } => with(at, &mut |a| done(&self.vfs.access(a, path, *mode, *follow))),
            VfsMsg::Readlink { at, path } => with(at, &mut |a| {
                errno_or(&self.vfs.readlink(a, path), |t| VfsReply::Target(t.clone()))
            }),
            VfsMsg::Mkdir { at, path, mode } => {
                with(at, &mut |a| done(&self.vfs.mkdir(a, path, *mode)))
            }
            VfsMsg::Mknod {
                at,
                path,
                kind,
                dev,
                perm,
                cap,
            } => with(at, &mut |a| {
                let ty = match node_type(*kind, *dev) {
                    Some(ty) => ty,
                    None => return VfsReply::Err(Errno::EINVAL as i32),
                };
                done(&self.vfs.mknod(a, path, ty, *perm, *cap))
            }),
            VfsMsg::Symlink { target, at, path } => {
                with(at, &mut |a| done(&self.vfs.symlink(target, a, path)))
            }
            VfsMsg::Link {
                old_at,
                old,
                new_at,
                new,
                follow,
            } => with(old_at, &mut |o| {
                with(new_at, &mut |n| {
                    done(&self.vfs.link(o, old, n, new, *follow))
                })
            }),
            VfsMsg::Rename {
                old_at,
                old,
                new_at,
                new,
                flags,
            } => with(old_at, &mut |o| {
                with(new_at, &mut |n| {
                    done(&self.vfs.rename(o, old, n, new, *flags))
                })
            }),
            VfsMsg::Unlink { at, path } => with(at, &mut |a| done(&self.vfs.unlink(a, path))),
            VfsMsg::Rmdir { at, path } => with(at, &mut |a| done(&self.vfs.rmdir(a, path))),
            VfsMsg::Chmod {
                at,
                path,
                mode,
                follow,
            } => with(at, &mut |a| done(&self.vfs.chmod(a, path, *mode, *follow))),
            VfsMsg::Chown {
                at,
                path,
                uid,
                gid,
                follow,
            } => with(at, &mut |a| {
                done(&self.vfs.chown(a, path, *uid, *gid, *follow))
            }),
            VfsMsg::Truncate { at, path, len, max } => {
                with(at, &mut |a| done(&self.vfs.truncate(a, path, *len, *max)))
            }
            VfsMsg::Utimens {
                at,
                path,
                atime,
                mtime,
                follow,
            } => with(at, &mut |a| {
                done(&self.vfs.utimens(a, path, t(*atime), t(*mtime), *follow))
            }),
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

    /// Runs `op`, logging `msg` with the reply `reply` makes of its result when recording.
    fn call<R>(
        &self,
        msg: impl FnOnce() -> VfsMsg,
        op: impl FnOnce() -> R,
        reply: impl FnOnce(&R) -> VfsReply,
    ) -> R {
        if !self.recording {
            return op();
        }
        // The message is taken before the call: it may move or remove its directory.
        let msg = msg();
        let r = op();
        let reply = reply(&r);
        self.log.lock().push(VfsEntry { msg, reply });
        r
    }

    /// See [`Vfs::lookup`].
    pub fn lookup<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        follow: bool,
    ) -> Result<Dentry, Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Lookup {
                at: self.at(&base),
                path: path.to_vec(),
                follow,
            },
            || self.vfs.lookup(base, path, follow),
            |r| errno_or(r, |d| node(&d.stat())),
        )
    }

    /// See [`Vfs::open`].
    pub fn open<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        flags: OFlags,
        mode: u32,
    ) -> Result<FileRef, Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Open {
                at: self.at(&base),
                path: path.to_vec(),
                flags: flags.bits(),
                mode,
            },
            || self.vfs.open(base, path, flags, mode),
            |r| errno_or(r, |f| node(&f.stat())),
        )
    }

    /// See [`Vfs::stat`].
    pub fn stat<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        follow: bool,
    ) -> Result<Stat, Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Stat {
                at: self.at(&base),
                path: path.to_vec(),
                follow,
            },
            || self.vfs.stat(base, path, follow),
            node,
        )
    }

    /// See [`Vfs::access`].
    pub fn access<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        mode: u32,
        follow: bool,
    ) -> Result<(), Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Access {
                at: self.at(&base),
                path: path.to_vec(),
                mode,
                follow,
            },
            || self.vfs.access(base, path, mode, follow),
            done,
        )
    }

    /// See [`Vfs::readlink`].
    pub fn readlink<'b>(&self, base: impl Into<At<'b>>, path: &[u8]) -> Result<Vec<u8>, Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Readlink {
                at: self.at(&base),
                path: path.to_vec(),
            },
            || self.vfs.readlink(base, path),
            |r| errno_or(r, |t| VfsReply::Target(t.clone())),
        )
    }

    /// See [`Vfs::mkdir`].
    pub fn mkdir<'b>(&self, base: impl Into<At<'b>>, path: &[u8], mode: u32) -> Result<(), Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Mkdir {
                at: self.at(&base),
                path: path.to_vec(),
                mode,
            },
            || self.vfs.mkdir(base, path, mode),
            done,
        )
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
        let base = base.into();
        let (kind, dev) = match ty {
            NodeType::Regular => (S_IFREG, (0, 0)),
            NodeType::Fifo => (S_IFIFO, (0, 0)),
            NodeType::Socket => (S_IFSOCK, (0, 0)),
            NodeType::Char(ma, mi) => (S_IFCHR, (ma, mi)),
            NodeType::Block(ma, mi) => (S_IFBLK, (ma, mi)),
        };
        self.call(
            || VfsMsg::Mknod {
                at: self.at(&base),
                path: path.to_vec(),
                kind,
                dev,
                perm,
                cap: cap_mknod,
            },
            || self.vfs.mknod(base, path, ty, perm, cap_mknod),
            done,
        )
    }

    /// See [`Vfs::symlink`].
    pub fn symlink<'b>(
        &self,
        target: &[u8],
        base: impl Into<At<'b>>,
        path: &[u8],
    ) -> Result<(), Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Symlink {
                target: target.to_vec(),
                at: self.at(&base),
                path: path.to_vec(),
            },
            || self.vfs.symlink(target, base, path),
            done,
        )
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
        let (old_base, new_base) = (old_base.into(), new_base.into());
        self.call(
            || VfsMsg::Link {
                old_at: self.at(&old_base),
                old: old.to_vec(),
                new_at: self.at(&new_base),
                new: new.to_vec(),
                follow,
            },
            || self.vfs.link(old_base, old, new_base, new, follow),
            done,
        )
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
        let (old_base, new_base) = (old_base.into(), new_base.into());
        self.call(
            || VfsMsg::Rename {
                old_at: self.at(&old_base),
                old: old.to_vec(),
                new_at: self.at(&new_base),
                new: new.to_vec(),
                flags,
            },
            || self.vfs.rename(old_base, old, new_base, new, flags),
            done,
        )
    }

    /// See [`Vfs::unlink`].
    pub fn unlink<'b>(&self, base: impl Into<At<'b>>, path: &[u8]) -> Result<(), Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Unlink {
                at: self.at(&base),
                path: path.to_vec(),
            },
            || self.vfs.unlink(base, path),
            done,
        )
    }

    /// See [`Vfs::rmdir`].
    pub fn rmdir<'b>(&self, base: impl Into<At<'b>>, path: &[u8]) -> Result<(), Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Rmdir {
                at: self.at(&base),
                path: path.to_vec(),
            },
            || self.vfs.rmdir(base, path),
            done,
        )
    }

    /// See [`Vfs::chmod`].
    pub fn chmod<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        mode: u32,
        follow: bool,
    ) -> Result<(), Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Chmod {
                at: self.at(&base),
                path: path.to_vec(),
                mode,
                follow,
            },
            || self.vfs.chmod(base, path, mode, follow),
            done,
        )
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
        let base = base.into();
        self.call(
            || VfsMsg::Chown {
                at: self.at(&base),
                path: path.to_vec(),
                uid,
                gid,
                follow,
            },
            || self.vfs.chown(base, path, uid, gid, follow),
            done,
        )
    }

    /// See [`Vfs::truncate`].
    pub fn truncate<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        len: u64,
        max: u64,
    ) -> Result<(), Errno> {
        let base = base.into();
        self.call(
            || VfsMsg::Truncate {
                at: self.at(&base),
                path: path.to_vec(),
                len,
                max,
            },
            || self.vfs.truncate(base, path, len, max),
            done,
        )
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
        let base = base.into();
        self.call(
            || VfsMsg::Utimens {
                at: self.at(&base),
                path: path.to_vec(),
                atime: ts(atime),
                mtime: ts(mtime),
                follow,
            },
            || self.vfs.utimens(base, path, atime, mtime, follow),
            done,
        )
    }
}
