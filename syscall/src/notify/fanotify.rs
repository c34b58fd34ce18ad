//! `fanotify_init`, `fanotify_mark` and reading a fanotify descriptor: the arguments and
//! their errnos, and the event files a read installs in the reader; the marks and the
//! queue are [`vfs::notify`]'s.
//!
//! Permission events (`FAN_OPEN_PERM`, `FAN_ACCESS_PERM`, `FAN_OPEN_EXEC_PERM`; groups of
//! the content classes): `open`, `read` and `execve` ask ([`permitted`]) and wait, keeping
//! what they opened in the restart block, until every group asked has answered; a denial
//! is `EPERM`.
//!
//! Groups that report file identifiers (`FAN_REPORT_FID`, `FAN_REPORT_DIR_FID`,
//! `FAN_REPORT_NAME`, `FAN_REPORT_TARGET_FID`) may watch the events that have no file to
//! open (attribute, directory entry and self events); their events carry no descriptor.
//! Without `CAP_SYS_ADMIN` a group must report file identifiers and gets only inode marks
//! on what the caller may read. `FAN_MARK_IGNORE` is taken as an ignore mask. Not
//! implemented (`EINVAL`, as a kernel without them): `FAN_MARK_EVICTABLE`, pre-content
//! events, `FAN_FS_ERROR` (uml's file systems meet no errors to report).

use abi::flags::fanotify::*;
use abi::flags::inotify::{
    FS_ACCESS_PERM, FS_OPEN_EXEC, FS_OPEN_EXEC_PERM, FS_OPEN_PERM, IN_ACCESS, IN_CLOSE_NOWRITE,
    IN_CLOSE_WRITE, IN_MODIFY, IN_OPEN,
};
use abi::flags::OFlags;
use abi::{Errno, SysResult};
use vfs::notify::{Fanotify, Ignore, Target};

use crate::{Args, Ctx};
use abi::structs::IoVec;

/// `fanotify_init` flags uml takes.
const INIT_FLAGS: u32 = FAN_CLOEXEC
    | FAN_NONBLOCK
    | FAN_ALL_CLASS_BITS
    | FAN_UNLIMITED_QUEUE
    | FAN_UNLIMITED_MARKS
    | FAN_ENABLE_AUDIT
    | FAN_REPORT_TID
    | FAN_REPORT_PIDFD
    | FAN_REPORT_FD_ERROR
    | FAN_REPORT_FID_BITS;

/// `fanotify_init` flags that need `CAP_SYS_ADMIN` (`FANOTIFY_ADMIN_INIT_FLAGS`).
const ADMIN_INIT_FLAGS: u32 = FAN_CLASS_CONTENT
    | FAN_CLASS_PRE_CONTENT
    | FAN_REPORT_TID
    | FAN_REPORT_PIDFD
    | FAN_REPORT_FD_ERROR
    | FAN_UNLIMITED_QUEUE
    | FAN_UNLIMITED_MARKS;

/// `event_f_flags` Linux accepts (`FANOTIFY_INIT_ALL_EVENT_F_BITS`).
const EVENT_F_FLAGS: u32 = 0o3 // O_ACCMODE
    | 0o2000 // O_APPEND
    | 0o4000 // O_NONBLOCK
    | 0o4010000 // O_SYNC
    | 0o10000 // O_DSYNC
    | 0o2000000 // O_CLOEXEC
    | 0o100000 // O_LARGEFILE
    | 0o1000000; // O_NOATIME

/// The events of a file, which a group reporting descriptors may ask for
/// (`FANOTIFY_PATH_EVENTS`).
const EVENTS: u64 =
    (IN_ACCESS | IN_MODIFY | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN | FS_OPEN_EXEC) as u64;

/// The events only a group reporting file identifiers may ask for, not of a mount
/// (`FANOTIFY_INODE_EVENTS`).
const INODE_EVENTS: u64 = FAN_ATTRIB
    | FAN_MOVED_FROM
    | FAN_MOVED_TO
    | FAN_CREATE
    | FAN_DELETE
    | FAN_DELETE_SELF
    | FAN_MOVE_SELF
    | FAN_RENAME;

/// The events that make sense on a directory only (`FANOTIFY_DIRONLY_EVENT_FLAGS`).
const DIRONLY: u64 = FAN_MOVED_FROM
    | FAN_MOVED_TO
    | FAN_CREATE
    | FAN_DELETE
    | FAN_RENAME
    | FAN_EVENT_ON_CHILD
    | FAN_ONDIR;

/// The permission events a content-class group may ask for.
const PERM_EVENTS: u64 = (FS_OPEN_PERM | FS_ACCESS_PERM | FS_OPEN_EXEC_PERM) as u64;

/// `fanotify_mark` flags uml takes.
const MARK_FLAGS: u32 = FAN_MARK_ADD
    | FAN_MARK_REMOVE
    | FAN_MARK_DONT_FOLLOW
    | FAN_MARK_ONLYDIR
    | FAN_MARK_MOUNT
    | FAN_MARK_IGNORED_MASK
    | FAN_MARK_IGNORED_SURV_MODIFY
    | FAN_MARK_FLUSH
    | FAN_MARK_FILESYSTEM
    | FAN_MARK_IGNORE;

/// `fanotify_init(flags, event_f_flags)`.
pub(crate) fn sys_fanotify_init(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = a.u32(0);
    let event_f_flags = a.u32(1);
    let unpriv = !ctx.proc.cred.caps.has(crate::caps::CAP_SYS_ADMIN);
    if unpriv && (flags & ADMIN_INIT_FLAGS != 0 || flags & FAN_REPORT_FID_BITS == 0) {
        return Err(Errno::EPERM);
    }
    let fid_mode = flags & FAN_REPORT_FID_BITS;
    let class = flags & FAN_ALL_CLASS_BITS;
    if flags & !INIT_FLAGS != 0
        || class == FAN_ALL_CLASS_BITS
        || flags & (FAN_REPORT_PIDFD | FAN_REPORT_TID) == FAN_REPORT_PIDFD | FAN_REPORT_TID
    {
        return Err(Errno::EINVAL);
    }
    if event_f_flags & !EVENT_F_FLAGS != 0 || event_f_flags & 3 == 3 {
        return Err(Errno::EINVAL);
    }
    // File identifiers only in notification groups; a name only with its directory;
    // the target's identifier only with the name and the file's.
    if (fid_mode != 0 && class != FAN_CLASS_NOTIF)
        || (fid_mode & FAN_REPORT_NAME != 0 && fid_mode & FAN_REPORT_DIR_FID == 0)
        || (fid_mode & FAN_REPORT_TARGET_FID != 0
            && fid_mode & (FAN_REPORT_NAME | FAN_REPORT_FID) != FAN_REPORT_NAME | FAN_REPORT_FID)
    {
        return Err(Errno::EINVAL);
    }
    // Linux's force_o_largefile on 64-bit machines.
    let event_f_flags = OFlags::from_bits_retain(event_f_flags) | OFlags::LARGEFILE;
    let unpriv = if unpriv { vfs::notify::FAN_UNPRIV } else { 0 };
    let group = Fanotify::new(flags | unpriv, event_f_flags);
    let mut fl = OFlags::empty();
    if flags & FAN_NONBLOCK != 0 {
        fl |= OFlags::NONBLOCK;
    }
    let file = vfs::open_object(group, fl);
    ctx.install_file(file, flags & FAN_CLOEXEC != 0)
}

/// `fanotify_mark(fd, flags, mask, dirfd, pathname)`.
pub(crate) fn sys_fanotify_mark(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = a.u32(1);
    let mut mask = a.raw(2);
    let mount = flags & FAN_MARK_MOUNT != 0;
    let filesystem = flags & FAN_MARK_FILESYSTEM != 0;
    if mask >> 32 != 0 || (mount && filesystem) || flags & !MARK_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let op = flags & (FAN_MARK_ADD | FAN_MARK_REMOVE | FAN_MARK_FLUSH);
    if op.count_ones() != 1 {
        return Err(Errno::EINVAL);
    }
    if op != FAN_MARK_FLUSH && mask == 0 {
        return Err(Errno::EINVAL);
    }
    if op == FAN_MARK_FLUSH && flags & !(FAN_MARK_FLUSH | FAN_MARK_MOUNT | FAN_MARK_FILESYSTEM) != 0
    {
        return Err(Errno::EINVAL);
    }
    if mask & !(EVENTS | INODE_EVENTS | PERM_EVENTS | FAN_ONDIR | FAN_EVENT_ON_CHILD) != 0 {
        return Err(Errno::EINVAL);
    }
    let ignore = flags & (FAN_MARK_IGNORE | FAN_MARK_IGNORED_MASK);
    if ignore == FAN_MARK_IGNORE | FAN_MARK_IGNORED_MASK {
        return Err(Errno::EINVAL);
    }
    // The event flags mean nothing in an old-style ignore mask.
    if ignore == FAN_MARK_IGNORED_MASK {
        mask &= !(FAN_ONDIR | FAN_EVENT_ON_CHILD);
    }
    let file = ctx.file(a.i32(0))?;
    let group = file.object_as::<Fanotify>().ok_or(Errno::EINVAL)?;
    let inode_mark = !mount && !filesystem;
    if !inode_mark && (group.unprivileged() || !ctx.proc.cred.caps.has(crate::caps::CAP_SYS_ADMIN))
    {
        return Err(Errno::EPERM);
    }
    let fid_mode = group.fid_mode();
    if (mask & PERM_EVENTS != 0 && group.flags() & FAN_ALL_CLASS_BITS == FAN_CLASS_NOTIF)
        || (mask & INODE_EVENTS != 0 && (fid_mode == 0 || mount))
        || (mask & FAN_RENAME != 0 && fid_mode & FAN_REPORT_NAME == 0)
        || (!inode_mark && ignore == FAN_MARK_IGNORE && flags & FAN_MARK_IGNORED_SURV_MODIFY == 0)
    {
        return Err(Errno::EINVAL);
    }
    if op == FAN_MARK_FLUSH {
        group.flush(mount, filesystem);
        return Ok(0);
    }
    let dirfd = a.i32(3);
    let d = if a.addr(4).0 == 0 {
        if dirfd == abi::flags::at::FDCWD {
            ctx.proc.cwd.clone()
        } else {
            // What has no path (a pipe) lies on an internal file system: no mount or
            // file system of it can be watched.
            let f = ctx.file(dirfd)?;
            f.dentry().ok_or(if inode_mark {
                Errno::EBADF
            } else {
                Errno::EINVAL
            })?
        }
    } else {
        let path = crate::fs::path_arg(ctx, a.addr(4))?;
        let base = crate::fs::base_for(ctx, dirfd, &path)?;
        ctx.vfs
            .lookup(ctx.at(&base), &path, flags & FAN_MARK_DONT_FOLLOW == 0)?
    };
    let is_dir = d.is_dir();
    if flags & FAN_MARK_ONLYDIR != 0 && !is_dir {
        return Err(Errno::ENOTDIR);
    }
    if group.unprivileged() {
        ctx.vfs.access_dentry(&d, 4, &ctx.proc.fs_cred())?;
    }
    if op == FAN_MARK_ADD {
        // The new interfaces refuse directory events on a file.
        let strict = fid_mode & FAN_REPORT_TARGET_FID != 0
            || mask & FAN_RENAME != 0
            || ignore == FAN_MARK_IGNORE;
        if strict && inode_mark && !is_dir && mask & DIRONLY != 0 {
            return Err(Errno::ENOTDIR);
        }
    }
    if fid_mode != 0 {
        // Identifiers must be encodable, and for a mount or file system decodable.
        ctx.vfs.can_encode_handle(&d, inode_mark)?;
    }
    // FAN_MARK_IGNORE of a mount, a file system or a directory must survive changes.
    if op == FAN_MARK_ADD
        && ignore == FAN_MARK_IGNORE
        && flags & FAN_MARK_IGNORED_SURV_MODIFY == 0
        && (!inode_mark || is_dir)
    {
        return Err(if inode_mark {
            Errno::EISDIR
        } else {
            Errno::EINVAL
        });
    }
    let target = Target::of(&d, mount, filesystem)?;
    group.mark(
        target,
        op == FAN_MARK_ADD,
        mask,
        match ignore {
            0 => Ignore::No,
            FAN_MARK_IGNORE => Ignore::WithFlags,
            _ => Ignore::Legacy,
        },
        flags & FAN_MARK_IGNORED_SURV_MODIFY != 0,
    )?;
    Ok(0)
}

/// The fanotify group behind `f`, if it is one.
pub(crate) fn fanotify_of(f: &vfs::FileRef) -> Option<&Fanotify> {
    f.object_as::<Fanotify>()
}

/// A read of a fanotify descriptor: whole `struct fanotify_event_metadata` records, each
/// with a new descriptor of its file (opened with the group's `event_f_flags`) installed
/// in the reader; blocks while there are none unless non-blocking.
pub(crate) fn read(
    ctx: &mut Ctx<'_>,
    f: &vfs::FileRef,
    g: &Fanotify,
    iovs: &[IoVec],
    nowait: bool,
) -> SysResult {
    let room: u64 = iovs.iter().map(|v| v.len).sum();
    let events = match g.take(room as usize) {
        Ok(e) => e,
        Err(Errno::EAGAIN) if !nowait && !f.flags().contains(OFlags::NONBLOCK) => {
            return Err(ctx.block_on_file(f));
        }
        Err(e) => return Err(e),
    };
    let ff = g.event_f_flags();
    let cloexec = ff.contains(OFlags::CLOEXEC);
    let mut buf = Vec::new();
    for e in &events {
        let fd = match &e.dentry {
            None if g.flags() & FAN_REPORT_FD_ERROR != 0 => -(Errno::EBADF as i32),
            None => FAN_NOFD,
            Some(d) => match ctx
                .vfs
                .open_dentry_nonotify(d, ff.difference(OFlags::CLOEXEC))
            {
                Ok(file) => {
                    let fd = ctx.install_file(file, cloexec)? as i32;
                    if let Some(id) = e.perm {
                        g.awaiting(fd, id);
                    }
                    fd
                }
                Err(err) if g.flags() & FAN_REPORT_FD_ERROR != 0 => -(err as i32),
                Err(err) => return Err(err),
            },
        };
        // An unprivileged group names no process but the reader's.
        let pid = if g.unprivileged() && e.pid != ctx.proc.pid {
            0
        } else {
            e.pid
        };
        let pidfd = g
            .reports_pidfd(e)
            .then(|| event_pidfd(ctx, pid, g.flags() & FAN_REPORT_FD_ERROR != 0));
        buf.extend_from_slice(&g.record(e, fd, pid, pidfd));
    }
    ctx.copy_out_iovs(iovs, &buf)
}

/// A pidfd of process `pid` for an event's record: once it is reaped `FAN_NOPIDFD`, or
/// `-ESRCH` with `FAN_REPORT_FD_ERROR` (`errors`).
fn event_pidfd(ctx: &mut Ctx<'_>, pid: i32, errors: bool) -> i32 {
    let alive = pid > 0 && (pid == ctx.proc.pid || ctx.procs.get(pid).is_some());
    if !alive {
        return if errors {
            -(Errno::ESRCH as i32)
        } else {
            FAN_NOPIDFD
        };
    }
    let file = vfs::open_pidfd(pid, OFlags::empty());
    ctx.install_file(file, true)
        .map_or(FAN_EPIDFD, |fd| fd as i32)
}

/// Whether the call may go on with `f` as far as fanotify permission event `mask`
/// (`FS_OPEN_PERM`, `FS_ACCESS_PERM`) goes: asks the groups that want it, then (run again
/// once they answered) `Ok` if all allowed, `EPERM` if one denied; meanwhile the call
/// blocks, keeping `f` in its restart block.
pub(crate) fn permitted(ctx: &mut Ctx<'_>, f: &vfs::FileRef, mask: u32) -> Result<(), Errno> {
    decided(ctx, Some(f), || vfs::notify::ask_permission(f, mask))
}

/// [`permitted`] for the program an `execve` is about to open (`FS_OPEN_PERM`,
/// `FS_OPEN_EXEC_PERM`).
pub(crate) fn permitted_exec(ctx: &mut Ctx<'_>, d: &vfs::Dentry) -> Result<(), Errno> {
    decided(ctx, None, || {
        vfs::notify::ask_permission_for(d, FS_OPEN_PERM | FS_OPEN_EXEC_PERM)
    })
}

/// The decision of the request the call already made, or of the one `ask` makes; while
/// undecided the call blocks, keeping `keep`.
fn decided(
    ctx: &mut Ctx<'_>,
    keep: Option<&vfs::FileRef>,
    ask: impl FnOnce() -> Option<u64>,
) -> Result<(), Errno> {
    let id = match ctx.restart.perm.take() {
        Some((_, id)) => id,
        None => match ask() {
            Some(id) => id,
            None => return Ok(()),
        },
    };
    match vfs::notify::permission_answer(id) {
        Some(true) => Ok(()),
        Some(false) => Err(Errno::EPERM),
        None => {
            let e = ctx.block_on(crate::WaitKey::File(id));
            ctx.restart.perm = Some((keep.cloned(), id));
            Err(e)
        }
    }
}
