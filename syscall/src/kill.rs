//! Sending signals: `kill`, `tkill`, `tgkill`, `rt_sigqueueinfo`, `rt_tgsigqueueinfo`. (The timers that send
//! signals are in [`crate::itimer`] and [`crate::posix_timer`].)

use abi::signal::sig;
use abi::{Errno, SysResult};

use crate::process::{ProcState, Process};
use crate::signal::SigInfo;
use crate::{Args, Ctx, WaitKey};

/// What sending a signal changed beyond the target's pending set.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// The target was stopped and `SIGCONT` continued it (its parent is to be told).
    pub continued: bool,
    /// A real-time signal with a siginfo found the target's queue full
    /// (`RLIMIT_SIGPENDING`): not sent, `EAGAIN` for the sender.
    pub queue_full: bool,
}

/// Queues `info` for `target` (for its thread `tid` alone, else for the process) and
/// records whom to wake: the target's threads, if the signal is to be acted on, leave
/// whatever wait they are in (to run a handler, be interrupted or die).
pub fn send_to(
    target: &mut Process,
    tid: Option<i32>,
    info: SigInfo,
    wake: &mut Vec<WaitKey>,
) -> Sent {
    if matches!(target.state, ProcState::Zombie(_)) {
        return Sent::default();
    }
    let limit = target.rlimits[abi::flags::rlimit::SIGPENDING as usize].cur;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut sent = Sent::default();
    let woke = match tid {
        Some(tid) => target.sig_of(tid).try_send(info, limit, true),
        None => target.sig.try_send(info, limit, false).map(|sent| {
            let pending = target.sig.pending_set() & crate::signal::sigmask(info.signo) != 0;
            sent || pending && target.accepts_signal(info.signo)
        }),
    };
    let woke = woke.unwrap_or_else(|e| {
        sent.queue_full = e == Errno::EAGAIN;
        false
    });
    if info.signo == sig::SIGCONT {
        if let ProcState::Stopped { .. } = target.state {
            target.state = ProcState::Continued;
            sent.continued = true;
        }
    }
    if woke || sent.continued {
        wake.push(WaitKey::Signal(target.pid));
    }
    sent
}

/// Raises `SIGPIPE` at the caller: a write to a pipe nobody reads, or a send on a stream
/// socket whose peer is gone or shut down.
pub(crate) fn raise_sigpipe(ctx: &mut Ctx<'_>) {
    let info = SigInfo::user(sig::SIGPIPE, ctx.proc.pid, ctx.proc.cred.uid);
    send_to(ctx.proc, Some(ctx.tid), info, &mut ctx.effects.wake);
}

/// Tells `child`'s parent that it continued (`SIGCHLD` with `CLD_CONTINUED`).
fn notify_continued(ctx: &mut Ctx<'_>, child: i32, ppid: i32, uid: u32) {
    let info = SigInfo::chld(
        abi::signal::si_code::CLD_CONTINUED,
        child,
        uid,
        sig::SIGCONT,
        0,
        0,
    );
    let mut wake = Vec::new();
    if ppid == ctx.proc.pid {
        if ctx.proc.sig.action(sig::SIGCHLD).flags & abi::signal::sa::NOCLDSTOP == 0 {
            send_to(ctx.proc, None, info, &mut wake);
        }
    } else if let Some(parent) = ctx.procs.get_mut(ppid) {
        if parent.sig.action(sig::SIGCHLD).flags & abi::signal::sa::NOCLDSTOP == 0 {
            send_to(parent, None, info, &mut wake);
        }
    }
    wake.push(WaitKey::Child(ppid));
    ctx.wake_all(wake);
}

/// Sends `info` from the kernel to every process `select` picks (the caller included), or
/// to thread `thread` of it; `ESRCH` if none.
pub(crate) fn send_where(
    ctx: &mut Ctx<'_>,
    info: Option<SigInfo>,
    thread: Option<i32>,
    select: impl Fn(&Process) -> bool,
) -> SysResult {
    let mut found = false;
    let mut full = false;
    let mut wake = Vec::new();
    let mut continued = Vec::new();
    for p in std::iter::once(&mut *ctx.proc).chain(ctx.procs.iter_mut()) {
        if !select(p) {
            continue;
        }
        // A zombie still exists for kill (the signal has no effect on it).
        found = true;
        if let Some(info) = info {
            let sent = send_to(p, thread, info, &mut wake);
            full |= sent.queue_full;
            if sent.continued {
                continued.push((p.pid, p.ppid, p.cred.uid));
            }
        }
    }
    ctx.wake_all(wake);
    for (pid, ppid, uid) in continued {
        notify_continued(ctx, pid, ppid, uid);
    }
    match (found, full) {
        (false, _) => Err(Errno::ESRCH),
        (true, true) => Err(Errno::EAGAIN),
        (true, false) => Ok(0),
    }
}

/// Sends `info` (or, `None`, checks that it could be sent: signal 0) from the calling
/// process, as `kill` and its relatives do: to each process `select` picks that the
/// caller may signal ([`may_signal`]). `ESRCH` if `select` picks none, `EPERM` if the
/// caller may signal none of them.
pub(crate) fn kill_where(
    ctx: &mut Ctx<'_>,
    signo: i32,
    info: Option<SigInfo>,
    thread: Option<i32>,
    select: impl Fn(&Process) -> bool,
) -> SysResult {
    let sender = (ctx.proc.pid, ctx.proc.sid, ctx.proc.cred);
    let domain = ctx.proc.landlock.clone();
    send_where(ctx, info, thread, |q| {
        select(q)
            && may_signal(&sender, q, signo)
            && crate::landlock::may_signal(domain.as_deref(), q)
    })
    .map_err(|e| {
        // Picked, but none may be signalled.
        let picked = || {
            std::iter::once(&*ctx.proc)
                .chain(ctx.procs.iter())
                .any(&select)
        };
        if e == Errno::ESRCH && picked() {
            Errno::EPERM
        } else {
            e
        }
    })
}

/// Linux's `check_kill_permission`: the sender (pid, session, credentials) may signal
/// `target` if it is its own process, holds `CAP_KILL`, its real or effective uid is the
/// target's real or saved uid, or the signal is `SIGCONT` within its session.
fn may_signal(sender: &(i32, i32, crate::cred::Cred), target: &Process, signo: i32) -> bool {
    let (pid, sid, cred) = sender;
    let t = &target.cred;
    target.pid == *pid
        || cred.caps.has(crate::caps::CAP_KILL)
        || [cred.uid, cred.euid]
            .iter()
            .any(|u| *u == t.uid || *u == t.suid)
        || (signo == sig::SIGCONT && target.sid == *sid)
}

pub(crate) fn check_signo(signo: i32) -> Result<(), Errno> {
    if (0..=sig::NSIG).contains(&signo) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

pub(crate) fn sys_kill(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (pid, signo) = (a.i32(0), a.i32(1));
    check_signo(signo)?;
    let info = (signo != 0).then(|| SigInfo::user(signo, ctx.proc.pid, ctx.proc.cred.uid));
    let (me, my_pgid) = (ctx.proc.pid, ctx.proc.pgid);
    match pid {
        // Any thread's id names its process.
        p if p > 0 => {
            let p = ctx.pid_named(p)?;
            kill_where(ctx, signo, info, None, |q| {
                q.pid == p || q.threads.contains_key(&p)
            })
        }
        0 => kill_where(ctx, signo, info, None, |q| q.pgid == my_pgid),
        // As on Linux, success once there is any process to try, permitted or not.
        -1 => kill_where(ctx, signo, info, None, |q| q.pid != 1 && q.pid != me).or_else(|e| {
            if e == Errno::EPERM || (e == Errno::ESRCH && me != 1) {
                Ok(0)
            } else {
                Err(e)
            }
        }),
        p => {
            let g = ctx.pid_named(p.checked_neg().ok_or(Errno::ESRCH)?)?;
            kill_where(ctx, signo, info, None, |q| q.pgid == g)
        }
    }
}

pub(crate) fn sys_tkill(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (tid, signo) = (a.i32(0), a.i32(1));
    check_signo(signo)?;
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let info = (signo != 0).then(|| SigInfo::tkill(signo, ctx.proc.pid, ctx.proc.cred.uid));
    let tid = ctx.pid_named(tid)?;
    kill_where(ctx, signo, info, Some(tid), |q| {
        q.threads.contains_key(&tid)
    })
}

pub(crate) fn sys_tgkill(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (tgid, tid, signo) = (a.i32(0), a.i32(1), a.i32(2));
    check_signo(signo)?;
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let info = (signo != 0).then(|| SigInfo::tkill(signo, ctx.proc.pid, ctx.proc.cred.uid));
    let (tgid, tid) = (ctx.pid_named(tgid)?, ctx.pid_named(tid)?);
    kill_where(ctx, signo, info, Some(tid), |q| {
        q.pid == tgid && q.threads.contains_key(&tid)
    })
}

/// The siginfo a caller queues with `signo` (`rt_sigqueueinfo`, `rt_tgsigqueueinfo`), read
/// from `at`. Only the kernel may claim to be the kernel (or the caller of `kill`) as the
/// sender, unless the signal goes to the caller itself (`to_self`): `EPERM`.
fn queued_info(
    ctx: &mut Ctx<'_>,
    at: abi::UserAddr,
    signo: i32,
    to_self: bool,
) -> Result<Option<SigInfo>, Errno> {
    let mut raw = [0u8; 128];
    ctx.copy_in(at, &mut raw)?;
    let mut info = SigInfo::from_bytes(&raw);
    if (info.code >= 0 || info.code == abi::signal::si_code::SI_TKILL) && !to_self {
        return Err(Errno::EPERM);
    }
    info.signo = signo;
    Ok((signo != 0).then_some(info))
}

pub(crate) fn sys_rt_sigqueueinfo(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (pid, signo) = (a.i32(0), a.i32(1));
    check_signo(signo)?;
    // As for kill, any thread's id names its process; "self" is the calling thread.
    let info = queued_info(ctx, a.addr(2), signo, pid == ctx.tid)?;
    kill_where(ctx, signo, info, None, |q| {
        q.pid == pid || q.threads.contains_key(&pid)
    })
}

/// `rt_tgsigqueueinfo(tgid, tid, sig, info)`: as `rt_sigqueueinfo`, to one thread.
pub(crate) fn sys_rt_tgsigqueueinfo(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (tgid, tid, signo) = (a.i32(0), a.i32(1), a.i32(2));
    check_signo(signo)?;
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let info = queued_info(ctx, a.addr(3), signo, tid == ctx.tid)?;
    kill_where(ctx, signo, info, Some(tid), |q| {
        q.pid == tgid && q.threads.contains_key(&tid)
    })
}
