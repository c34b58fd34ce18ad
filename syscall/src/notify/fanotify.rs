//! `fanotify_init`, `fanotify_mark` and reading a fanotify descriptor: the arguments and
//! their errnos, and the event files a read installs in the reader; the marks and the
//! queue are [`vfs::notify`]'s.
//!
//! Permission events (`FAN_OPEN_PERM`, `FAN_ACCESS_PERM`, `FAN_OPEN_EXEC_PERM`; groups of
//! the content classes): `open`, `read` and `execve` ask ([`permitted`]) and wait, keeping
//! what they opened in the restart block, until every group asked has answered; a denial
//! is `EPERM`.
//!
//! Needs `CAP_SYS_ADMIN`. Not implemented (`EINVAL`, as a kernel without them): the
//! `FAN_REPORT_*FID`/`NAME`/`PIDFD` reports, the events only they allow (attribute,
//! directory entry and self events), and
//! `FAN_MARK_EVICTABLE`/`FAN_MARK_IGNORE`.

use abi::flags::fanotify::*;
use abi::flags::inotify::{
    FS_ACCESS_PERM, FS_OPEN_EXEC, FS_OPEN_EXEC_PERM, FS_OPEN_PERM, IN_ACCESS, IN_CLOSE_NOWRITE,
    IN_CLOSE_WRITE, IN_MODIFY, IN_OPEN,
};
use abi::flags::OFlags;
use abi::{Errno, SysResult};
use vfs::notify::{Fanotify, Target};

use crate::{Args, Ctx};
use abi::structs::IoVec;

/// `fanotify_init` flags uml takes.
const INIT_FLAGS: u32 = FAN_CLOEXEC
    | FAN_NONBLOCK
    | FAN_ALL_CLASS_BITS
    | FAN_UNLIMITED_QUEUE
    | FAN_UNLIMITED_MARKS
    | FAN_ENABLE_AUDIT
    | FAN_REPORT_TID;

/// `event_f_flags` Linux accepts (`FANOTIFY_INIT_ALL_EVENT_F_BITS`).
const EVENT_F_FLAGS: u32 = 0o3 // O_ACCMODE
    | 0o2000 // O_APPEND
    | 0o4000 // O_NONBLOCK
    | 0o4010000 // O_SYNC
    | 0o10000 // O_DSYNC
    | 0o2000000 // O_CLOEXEC
    | 0o100000 // O_LARGEFILE
    | 0o1000000; // O_NOATIME

/// The events a mark may ask for.
const EVENTS: u64 =
    (IN_ACCESS | IN_MODIFY | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN | FS_OPEN_EXEC) as u64;

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
    | FAN_MARK_FILESYSTEM;

/// `fanotify_init(flags, event_f_flags)`.
pub(crate) fn sys_fanotify_init(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = a.u32(0);
    let event_f_flags = a.u32(1);
    if !ctx.proc.cred.caps.has(crate::caps::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if flags & !INIT_FLAGS != 0 || flags & FAN_ALL_CLASS_BITS == FAN_ALL_CLASS_BITS {
        return Err(Errno::EINVAL);
    }
    if event_f_flags & !EVENT_F_FLAGS != 0 || event_f_flags & 3 == 3 {
        return Err(Errno::EINVAL);
    }
    // Linux's force_o_largefile on 64-bit machines.
    let event_f_flags = OFlags::from_bits_retain(event_f_flags) | OFlags::LARGEFILE;
    let group = Fanotify::new(flags, event_f_flags);
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
    let mask = a.raw(2);
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
    if mask & !(EVENTS | PERM_EVENTS | FAN_ONDIR | FAN_EVENT_ON_CHILD) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = ctx.file(a.i32(0))?;
    let group = file.object_as::<Fanotify>().ok_or(Errno::EINVAL)?;
    if mask & PERM_EVENTS != 0 && group.flags() & FAN_ALL_CLASS_BITS == FAN_CLASS_NOTIF {
        return Err(Errno::EINVAL);
    }
    if op == FAN_MARK_FLUSH {
        if flags & !(FAN_MARK_FLUSH | FAN_MARK_MOUNT | FAN_MARK_FILESYSTEM) != 0 {
            return Err(Errno::EINVAL);
        }
        group.flush(mount, filesystem);
        return Ok(0);
    }
    let dirfd = a.i32(3);
    let d = if a.addr(4).0 == 0 {
        if dirfd == abi::flags::at::FDCWD {
            ctx.proc.cwd.clone()
        } else {
            ctx.file(dirfd)?.dentry().ok_or(Errno::EBADF)?
        }
    } else {
        let path = crate::fs::path_arg(ctx, a.addr(4))?;
        let base = crate::fs::base_for(ctx, dirfd, &path)?;
        ctx.vfs
            .lookup(ctx.at(&base), &path, flags & FAN_MARK_DONT_FOLLOW == 0)?
    };
    if flags & FAN_MARK_ONLYDIR != 0 && !d.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let target = Target::of(&d, mount, filesystem)?;
    group.mark(
        target,
        op == FAN_MARK_ADD,
        mask,
        flags & FAN_MARK_IGNORED_MASK != 0,
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
            None => FAN_NOFD,
            Some(d) => {
                let file = ctx
                    .vfs
                    .open_dentry_nonotify(d, ff.difference(OFlags::CLOEXEC))?;
                let fd = ctx.install_file(file, cloexec)? as i32;
                if let Some(id) = e.perm {
                    g.awaiting(fd, id);
                }
                fd
            }
        };
        buf.extend_from_slice(&vfs::notify::fanotify_metadata(e, fd));
    }
    ctx.copy_out_iovs(iovs, &buf)
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
