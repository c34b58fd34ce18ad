//! Process file descriptors: `pidfd_open`, `pidfd_send_signal`, `pidfd_getfd`, and what
//! `poll` and `waitid(P_PIDFD)` see of them.
//!
//! A pidfd names a guest process by pid ([`vfs::OpenFile::pidfd`]); it becomes readable
//! when the process has exited (a zombie), and also hung up once it is reaped. Tasks
//! polling one wait on [`vfs::pidfd_wait_id`], which the process's exit wakes.

use abi::flags::OFlags;
use abi::{Errno, SysResult};
use vfs::PollEvents;

use crate::process::ProcState;
use crate::signal::SigInfo;
use crate::{Args, Ctx};

/// The process pidfd `fd` refers to, and whether the pidfd is non-blocking; `EBADF` if
/// `fd` is not open or not a pidfd.
pub(crate) fn target(ctx: &Ctx<'_>, fd: i32) -> Result<(i32, bool), Errno> {
    let f = ctx.file(fd)?;
    let pid = f.pidfd().ok_or(Errno::EBADF)?;
    Ok((pid, f.flags().contains(OFlags::NONBLOCK)))
}

/// `poll` readiness of a pidfd for `pid`.
pub(crate) fn poll_events(ctx: &Ctx<'_>, pid: i32) -> PollEvents {
    let gone = PollEvents {
        readable: true,
        ..PollEvents::default()
    };
    if pid == ctx.proc.pid {
        return PollEvents::default();
    }
    match ctx.procs.get(pid) {
        Some(p) if matches!(p.state, ProcState::Zombie(_)) => gone,
        Some(_) => PollEvents::default(),
        None => PollEvents {
            hangup: true,
            ..gone
        },
    }
}

pub(crate) fn sys_pidfd_open(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (pid, flags) = (a.i32(0), a.u32(1));
    if flags & !OFlags::NONBLOCK.bits() != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let pid = ctx.pid_named(pid)?;
    if pid != ctx.proc.pid && ctx.procs.get(pid).is_none() {
        return Err(Errno::ESRCH);
    }
    let file = vfs::open_pidfd(pid, OFlags::from_bits_retain(flags));
    let limit = ctx.proc.nofile();
    Ok(ctx.proc.fds.install(file, true, 0, limit)? as u64)
}

pub(crate) fn sys_pidfd_send_signal(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (fd, signo, info_at, flags) = (a.i32(0), a.i32(1), a.addr(2), a.u32(3));
    // PIDFD_SIGNAL_THREAD, _THREAD_GROUP (the same here: one thread a process) and
    // _PROCESS_GROUP; at most one.
    const PROCESS_GROUP: u32 = 4;
    if flags & !7 != 0 || flags.count_ones() > 1 {
        return Err(Errno::EINVAL);
    }
    // An open `/proc/PID` directory names its process too.
    let file = ctx.file(fd)?;
    let pid = file
        .pidfd()
        .or_else(|| file.proc_pid_dir())
        .ok_or(Errno::EBADF)?;
    let me = ctx.proc.pid;
    let info = if info_at.is_null() {
        SigInfo::user(signo, me, ctx.proc.cred.uid)
    } else {
        let mut raw = [0u8; 128];
        ctx.copy_in(info_at, &mut raw)?;
        let info = SigInfo::from_bytes(&raw);
        if info.signo != signo {
            return Err(Errno::EINVAL);
        }
        // Only the kernel may claim to be the kernel (or kill) as the sender.
        if (info.code >= 0 || info.code == abi::signal::si_code::SI_TKILL) && pid != me {
            return Err(Errno::EPERM);
        }
        info
    };
    crate::kill::check_signo(signo)?;
    let info = (signo != 0).then_some(info);
    // The group Linux signals is the one whose id is the pid (ESRCH unless it leads one).
    if flags == PROCESS_GROUP {
        return crate::kill::kill_where(ctx, signo, info, None, |q| q.pgid == pid);
    }
    crate::kill::kill_where(ctx, signo, info, None, |q| q.pid == pid)
}

/// `pidfd_getfd(pidfd, targetfd, flags)`: a duplicate, close-on-exec, of the file the
/// process of `pidfd` has open at `targetfd`; as Linux, `flags` must be 0 (`EINVAL`), the
/// process must not be reaped (`ESRCH`) and must be open to the caller as to `ptrace`
/// (`EPERM`); `EBADF` for a bad pidfd or target descriptor.
pub(crate) fn sys_pidfd_getfd(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if a.u32(2) != 0 {
        return Err(Errno::EINVAL);
    }
    let (pid, _) = target(ctx, a.i32(0))?;
    let p = ctx.process(pid)?;
    if pid != ctx.proc.pid && !crate::process_vm::may_attach(&ctx.proc.cred, &p.cred) {
        return Err(Errno::EPERM);
    }
    if matches!(p.state, ProcState::Zombie(_)) {
        return Err(Errno::EBADF);
    }
    let file = p.fds.get(a.i32(1)).map_err(|_| Errno::EBADF)?;
    let limit = ctx.proc.nofile();
    Ok(ctx.proc.fds.install(file, true, 0, limit)? as u64)
}
