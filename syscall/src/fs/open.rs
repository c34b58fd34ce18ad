//! `open`, `openat`, `openat2`, `close`, the `dup` family, `fcntl` and `umask`.

use abi::flags::{at, fcntl, resolve, OFlags};
use abi::{Errno, UserAddr};
use vfs::FileRef;

use super::{at_path, check_free_fd};
use crate::fdtable::FdEntry;
use crate::{Args, Ctx, WaitKey};

/// After a descriptor left the table: if it was the open file description's last, tasks
/// blocked on its file retry (the last write end of a pipe closing means end of file for
/// its readers, the last read end `EPIPE` for its writers); while other descriptors share
/// the description nothing changed for them (and an `EPOLLEXCLUSIVE` waiter is not woken
/// for nothing). The process's record locks on the file go too, as on Linux.
pub(crate) fn dropped(ctx: &mut Ctx<'_>, old: Option<FdEntry>) {
    let Some(e) = old else {
        return;
    };
    let last = vfs::Arc::strong_count(&e.file) == 1;
    let id = e.file.wait_id().filter(|_| last);
    let inode = (!ctx.procs.leases.is_empty())
        .then(|| e.file.inode_id().ok())
        .flatten();
    vfs::notify::dnotify::flush(&e.file, ctx.proc.fds.identity());
    super::locks::release_on_close(ctx, e.file);
    if let Some(id) = id {
        ctx.wake(WaitKey::File(id));
    }
    // Openers waiting for a lease to go look again (it goes with its description).
    if let Some((dev, ino)) = inode {
        ctx.wake(WaitKey::Lock(dev, ino));
    }
}

/// Whether an open with `flags` may create a file (Linux's `WILL_CREATE`).
fn creates(flags: OFlags) -> bool {
    flags.contains(OFlags::CREAT) || flags.contains(OFlags::TMPFILE)
}

/// Opens `path` from `dirfd` with `openat2`'s `resolve` flags (0 for the other opens).
fn do_open(
    ctx: &mut Ctx<'_>,
    dirfd: i32,
    path: UserAddr,
    flags: u32,
    mode: u32,
    resolve: u64,
) -> abi::SysResult {
    let flags = OFlags::from_bits_retain(flags);
    if let Some(end) = ctx.restart.fifo_end.take() {
        return fifo_opened(ctx, end, flags);
    }
    // An open that waited for a fanotify permission decision.
    if let Some((Some(file), _)) = &ctx.restart.perm {
        let file = file.clone();
        crate::notify::fanotify::permitted(ctx, &file, abi::flags::inotify::FS_OPEN_PERM)?;
        return install(ctx, file, flags);
    }
    let (base, path) = if resolve & resolve::IN_ROOT != 0 {
        // The directory is the root even of an absolute path.
        let path = super::path_arg(ctx, path)?;
        (ctx.dir_base(dirfd)?, path)
    } else {
        at_path(ctx, dirfd, path)?
    };
    let mode = if creates(flags) {
        mode & 0o7777 & !ctx.proc.umask
    } else {
        0
    };
    check_free_fd(ctx)?;
    let scoped = resolve & (resolve::BENEATH | resolve::IN_ROOT) != 0;
    let at = vfs::At {
        resolve,
        root: if scoped {
            Some(&base)
        } else {
            ctx.proc.root.as_ref()
        },
        ..ctx.at(&base)
    };
    // A program being run is not emptied: `ETXTBSY` before the open truncates it.
    if flags.writable() && flags.contains(OFlags::TRUNC) {
        let follow = !flags.contains(OFlags::NOFOLLOW);
        if let Ok(st) = ctx.vfs.stat(at, &path, follow) {
            if super::txtbsy::running(ctx, (st.st_dev, st.st_ino)) {
                return Err(Errno::ETXTBSY);
            }
        }
    }
    let file = ctx.vfs.open(at, &path, flags, mode)?;
    if flags.writable() && file.is_regular() {
        super::txtbsy::check_open(ctx, &file)?;
    }
    crate::notify::fanotify::permitted(ctx, &file, abi::flags::inotify::FS_OPEN_PERM)?;
    if flags.contains(OFlags::TRUNC) && flags.writable() {
        // Emptied: mappings of the file lose their pages.
        crate::mem::file_truncated(ctx, &file);
    }
    let file = crate::tty::opened(ctx, file, flags)?;
    if flags.contains(OFlags::NOATIME) {
        noatime_allowed(ctx, &file)?;
    }
    super::lease::break_on_open(ctx, &file, flags)?;
    if file.is_fifo() {
        // Openers waiting for a partner look again.
        if let Some(id) = file.wait_id() {
            ctx.wake(WaitKey::File(id));
        }
        return fifo_opened(ctx, file, flags);
    }
    install(ctx, file, flags)
}

/// `O_NOATIME` is for the file's owner (or `CAP_FOWNER`): `EPERM` otherwise, as Linux's
/// `inode_owner_or_capable`.
fn noatime_allowed(ctx: &Ctx<'_>, file: &FileRef) -> Result<(), Errno> {
    const CAP_FOWNER: u32 = 3;
    let owner = file.stat()?.st_uid;
    if owner != ctx.proc.cred.fsuid && !ctx.proc.cred.caps.has(CAP_FOWNER) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// A FIFO end opened: installed once a partner came (see `vfs::OpenFile::
/// fifo_partner_missing`); until then the call waits, holding the end.
fn fifo_opened(ctx: &mut Ctx<'_>, end: FileRef, flags: OFlags) -> abi::SysResult {
    if end.fifo_partner_missing() {
        let e = ctx.block_on_file(&end);
        ctx.restart.fifo_end = Some(end);
        return Err(e);
    }
    install(ctx, end, flags)
}

pub(crate) fn install(ctx: &mut Ctx<'_>, file: FileRef, flags: OFlags) -> abi::SysResult {
    let cloexec = flags.contains(OFlags::CLOEXEC);
    let fd = ctx.proc.fds.install(file, cloexec, 0, ctx.proc.nofile())?;
    Ok(fd as u64)
}

/// `open(2)`.
pub fn sys_open(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    do_open(ctx, at::FDCWD, a.addr(0), a.u32(1), a.u32(2), 0)
}

/// `openat(2)`.
pub fn sys_openat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    do_open(ctx, a.i32(0), a.addr(1), a.u32(2), a.u32(3), 0)
}

/// `openat2(dirfd, path, how, size)`: `openat` with a `struct open_how` (flags, mode,
/// resolve; an extensible struct of at least 24 bytes and at most a page), checked
/// strictly as Linux's `build_open_flags` does (unknown flags, a mode without `O_CREAT`,
/// `O_PATH` with flags it does not take are `EINVAL`), and `RESOLVE_*` path resolution.
/// Every lookup counts as cached: `RESOLVE_CACHED` only refuses calls that would write.
pub fn sys_openat2(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    /// `OPEN_HOW_SIZE_VER0`, the only version there is.
    const VER0: usize = 24;
    let raw = ctx.copy_struct_in(a.addr(2), a.len(3) as usize, VER0, VER0)?;
    let w = |i: usize| u64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let (flags, mode, resolve) = (w(0), w(1), w(2));
    let valid = u64::from(OFlags::VALID.bits());
    if flags & !valid != 0 || resolve & !resolve::ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if resolve & resolve::BENEATH != 0 && resolve & resolve::IN_ROOT != 0 {
        return Err(Errno::EINVAL);
    }
    let oflags = OFlags::from_bits_retain(flags as u32);
    let mode_ok = if creates(oflags) {
        mode & !0o7777 == 0
    } else {
        mode == 0
    };
    if !mode_ok {
        return Err(Errno::EINVAL);
    }
    if oflags.contains(OFlags::PATH) && !OFlags::PATH_FLAGS.contains(oflags) {
        return Err(Errno::EINVAL);
    }
    if resolve & resolve::CACHED != 0 && (creates(oflags) || oflags.contains(OFlags::TRUNC)) {
        return Err(Errno::EAGAIN);
    }
    do_open(ctx, a.i32(0), a.addr(1), flags as u32, mode as u32, resolve)
}

/// `creat(2)`: `open(path, O_CREAT|O_WRONLY|O_TRUNC, mode)`.
pub fn sys_creat(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let flags = OFlags::CREAT | OFlags::WRONLY | OFlags::TRUNC;
    do_open(ctx, at::FDCWD, a.addr(0), flags.bits(), a.u32(1), 0)
}

/// `close_range(2)`: closes (or, with `CLOSE_RANGE_CLOEXEC`, marks close-on-exec) every
/// descriptor in `[first, last]`; with `CLOSE_RANGE_UNSHARE`, in a table of the caller's
/// own first (one shared through `CLONE_FILES` is copied, the sharers keep theirs).
pub fn sys_close_range(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    const UNSHARE: u32 = 2;
    const CLOEXEC: u32 = 4;
    let (first, last, flags) = (a.u32(0), a.u32(1), a.u32(2));
    if flags & !(UNSHARE | CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    // The caller first gets a table of its own (shared with a CLONE_FILES relative).
    if flags & UNSHARE != 0 {
        ctx.proc.fds.unshare();
    }
    let fds: Vec<i32> = ctx
        .proc
        .fds
        .fds()
        .filter(|&fd| (first..=last).contains(&(fd as u32)))
        .collect();
    for fd in fds {
        if flags & CLOEXEC != 0 {
            ctx.proc.fds.set_cloexec(fd, true)?;
        } else {
            let old = ctx.proc.fds.remove(fd).ok();
            dropped(ctx, old);
        }
    }
    Ok(0)
}

/// `close(2)`.
pub fn sys_close(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let old = ctx.proc.fds.remove(a.i32(0))?;
    dropped(ctx, Some(old));
    Ok(0)
}

/// `dup(2)`.
pub fn sys_dup(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let f = ctx.file(a.i32(0))?;
    let limit = ctx.proc.nofile();
    Ok(ctx.proc.fds.install(f, false, 0, limit)? as u64)
}

/// `dup2(2)`.
pub fn sys_dup2(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (old, new) = (a.i32(0), a.i32(1));
    let f = ctx.file(old)?;
    if old == new {
        return Ok(new as u64);
    }
    let limit = ctx.proc.nofile();
    let old = ctx.proc.fds.install_at(new, f, false, limit)?;
    dropped(ctx, old);
    Ok(new as u64)
}

/// `dup3(2)`.
pub fn sys_dup3(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let (old, new, flags) = (a.i32(0), a.i32(1), a.u32(2));
    if flags & !OFlags::CLOEXEC.bits() != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    let limit = ctx.proc.nofile();
    if new < 0 || new as u64 >= limit {
        return Err(Errno::EBADF);
    }
    let f = ctx.file(old)?;
    let old = ctx.proc.fds.install_at(new, f, flags != 0, limit)?;
    dropped(ctx, old);
    Ok(new as u64)
}

/// `fcntl(2)`: descriptor flags, status flags, duplication, pipe sizes and record locks.
pub fn sys_fcntl(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let fd = a.i32(0);
    let f = ctx.file(fd)?;
    let arg = a.raw(2);
    // An O_PATH descriptor takes only these (Linux's `check_fcntl_cmd`).
    let path_ok = matches!(
        a.i32(1),
        fcntl::F_DUPFD
            | fcntl::F_DUPFD_CLOEXEC
            | fcntl::F_GETFD
            | fcntl::F_SETFD
            | fcntl::F_GETFL
            | fcntl::F_CREATED_QUERY
    );
    if f.flags().contains(OFlags::PATH) && !path_ok {
        return Err(Errno::EBADF);
    }
    match a.i32(1) {
        cmd @ (fcntl::F_DUPFD | fcntl::F_DUPFD_CLOEXEC) => {
            let limit = ctx.proc.nofile();
            if arg >= limit {
                return Err(Errno::EINVAL);
            }
            let cloexec = cmd == fcntl::F_DUPFD_CLOEXEC;
            Ok(ctx.proc.fds.install(f, cloexec, arg as i32, limit)? as u64)
        }
        fcntl::F_GETFD => {
            let e = ctx.proc.fds.entry(fd)?;
            Ok(if e.cloexec { fcntl::FD_CLOEXEC } else { 0 })
        }
        fcntl::F_SETFD => {
            ctx.proc.fds.set_cloexec(fd, arg & fcntl::FD_CLOEXEC != 0)?;
            Ok(0)
        }
        fcntl::F_GETFL => Ok(u64::from(f.flags().bits())),
        fcntl::F_SETFL => {
            let new = OFlags::from_bits_retain(arg as u32);
            if new.contains(OFlags::NOATIME) && !f.flags().contains(OFlags::NOATIME) {
                noatime_allowed(ctx, &f)?;
            }
            if !new.contains(OFlags::APPEND)
                && f.flags().contains(OFlags::APPEND)
                && f.append_only()
            {
                return Err(Errno::EPERM);
            }
            f.set_status_flags(new);
            Ok(0)
        }
        fcntl::F_GETPIPE_SZ => Ok(f.pipe_capacity()? as u64),
        fcntl::F_CREATED_QUERY => Ok(u64::from(f.created())),
        fcntl::F_SETOWN => super::fown::setown(ctx, &f, arg as i32),
        fcntl::F_GETOWN => super::fown::getown(ctx, &f),
        fcntl::F_SETOWN_EX => super::fown::setown_ex(ctx, &f, a.addr(2)),
        fcntl::F_GETOWN_EX => super::fown::getown_ex(ctx, &f, a.addr(2)),
        fcntl::F_SETSIG => super::fown::setsig(ctx, &f, arg),
        fcntl::F_GETSIG => super::fown::getsig(ctx, &f),
        fcntl::F_SETLEASE => super::lease::set(ctx, &f, arg),
        fcntl::F_GETLEASE => super::lease::get(ctx, &f),
        fcntl::F_NOTIFY => crate::notify::dnotify::fcntl_notify(ctx, &f, fd, arg as u32),
        fcntl::F_SETPIPE_SZ => {
            // Linux's `pipe_set_size`: the argument is an `unsigned int`; past 2^31 it is
            // `EINVAL`; growing past `fs/pipe-max-size` takes CAP_SYS_RESOURCE.
            let arg = u64::from(arg as u32);
            if arg > 1 << 31 {
                return Err(Errno::EINVAL);
            }
            let size = arg.max(4096).next_power_of_two();
            let grows = size > f.pipe_capacity()? as u64;
            let privileged = ctx.proc.cred.caps.has(crate::caps::CAP_SYS_RESOURCE);
            if grows && size > ctx.procs.sysctl.pipe_max_size && !privileged {
                return Err(Errno::EPERM);
            }
            Ok(f.set_pipe_capacity(arg)? as u64)
        }
        cmd @ (fcntl::F_GETLK
        | fcntl::F_SETLK
        | fcntl::F_SETLKW
        | fcntl::F_OFD_GETLK
        | fcntl::F_OFD_SETLK
        | fcntl::F_OFD_SETLKW) => super::locks::fcntl_lock(ctx, f, cmd, a.addr(2)),
        fcntl::F_GET_SEALS => Ok(u64::from(f.seals()?)),
        fcntl::F_ADD_SEALS => {
            let mapped = crate::mem::writably_mapped(ctx, &f);
            f.add_seals(arg as u32, mapped).map(|()| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `umask(2)`: sets the mask, returns the old one.
pub fn sys_umask(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let old = ctx.proc.umask;
    ctx.proc.umask = a.u32(0) & 0o777;
    super::dir::share_fs(ctx);
    Ok(u64::from(old))
}
