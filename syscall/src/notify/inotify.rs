//! `inotify_init`, `inotify_init1`, `inotify_add_watch`, `inotify_rm_watch`: the
//! arguments, the limits of `/proc/sys/fs/inotify`, and the instance as a descriptor; the
//! watches and events themselves are [`vfs::notify`]'s.
//!
//! Limits, per real user id as Linux counts them: `max_user_instances` instances
//! (`EMFILE` beyond), `max_user_watches` watches (`ENOSPC`); each instance's queue holds
//! `max_queued_events` (as the value was when it was made).

use abi::flags::inotify::*;
use abi::flags::OFlags;
use abi::{Errno, SysResult};
use vfs::notify::Inotify;

use crate::fs::path_arg;
use crate::{Args, Ctx};

/// The value of `/proc/sys/fs/inotify/<name>`.
fn limit(ctx: &mut Ctx<'_>, name: &str) -> usize {
    let mem = ctx.mm.view().stats().total_bytes;
    let text = ctx.procs.sysctl.read(&format!("fs/inotify/{name}"), mem);
    String::from_utf8_lossy(&text)
        .trim()
        .parse::<i64>()
        .map_or(0, |v| v.max(0) as usize)
}

fn init(ctx: &mut Ctx<'_>, flags: u32) -> SysResult {
    if flags & !(IN_NONBLOCK | IN_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let uid = ctx.proc.cred.uid;
    if vfs::notify::user_counts(uid).0 >= limit(ctx, "max_user_instances") {
        return Err(Errno::EMFILE);
    }
    let max_events = limit(ctx, "max_queued_events");
    let group = Inotify::new(uid, max_events);
    let file = vfs::open_object_read_only(group, OFlags::from_bits_retain(flags));
    ctx.install_file(file, flags & IN_CLOEXEC != 0)
}

/// `inotify_init()`.
pub(crate) fn sys_inotify_init(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    init(ctx, 0)
}

/// `inotify_init1(flags)`: `IN_NONBLOCK`, `IN_CLOEXEC`.
pub(crate) fn sys_inotify_init1(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    init(ctx, a.u32(0))
}

/// `inotify_add_watch(fd, path, mask)`: Linux checks the mask, then the descriptor, then
/// the path (which the caller must be able to read).
pub(crate) fn sys_inotify_add_watch(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let mask = a.u32(2);
    // Linux's ALL_INOTIFY_BITS: a mask of flags only (IN_ONESHOT) makes a watch that
    // never fires.
    let known = IN_ALL_EVENTS
        | IN_UNMOUNT
        | IN_Q_OVERFLOW
        | IN_IGNORED
        | IN_ONLYDIR
        | IN_DONT_FOLLOW
        | IN_EXCL_UNLINK
        | IN_MASK_ADD
        | IN_MASK_CREATE
        | IN_ISDIR
        | IN_ONESHOT;
    if mask & known == 0 {
        return Err(Errno::EINVAL);
    }
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    let file = ctx.file(a.i32(0))?;
    let group = file.object_as::<Inotify>().ok_or(Errno::EINVAL)?;
    let path = path_arg(ctx, a.addr(1))?;
    let d = ctx
        .vfs
        .lookup(ctx.at(&ctx.proc.cwd), &path, mask & IN_DONT_FOLLOW == 0)?;
    if mask & IN_ONLYDIR != 0 && !d.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    ctx.vfs.access_dentry(&d, 4, &ctx.proc.fs_cred())?;
    let max = limit(ctx, "max_user_watches");
    Ok(group.add_watch(&d, mask, max)? as u64)
}

/// `inotify_rm_watch(fd, wd)`.
pub(crate) fn sys_inotify_rm_watch(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let file = ctx.file(a.i32(0))?;
    let group = file.object_as::<Inotify>().ok_or(Errno::EINVAL)?;
    group.rm_watch(a.i32(1))?;
    Ok(0)
}
