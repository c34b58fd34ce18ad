//! Controlling terminals, the pty `ioctl`s and `vhangup`.
//!
//! A process's controlling terminal ([`Ctty`]) is inherited by `fork`, dropped by `setsid`,
//! and acquired by a session leader without one when it opens a pty slave without
//! `O_NOCTTY` (if that pty controls no session yet) or asks with `TIOCSCTTY`. `/dev/tty`
//! opens the caller's controlling terminal (`ENXIO` without one). The first process starts
//! with the host console (the guest's console, whose foreground group is
//! `ProcessTable::console_pgrp`). Reads of the controlling terminal from outside its
//! foreground group (and writes, with `TOSTOP`) stop the group with `SIGTTIN`/`SIGTTOU`;
//! terminal-changing `ioctl`s from the background are not checked (no `SIGTTOU` for them).
//!
//! Invariant: a pty's recorded session (`vfs::Pty::session_pgrp`) is the session whose
//! processes have it as their `Ctty`; both change together here (and at hangup, when the
//! pty forgets its session and the processes' `Ctty` reads as none).

use abi::flags::{ioctl, OFlags};
use abi::signal::sig;
use abi::{Errno, SysResult, UserAddr};
use vfs::{FileRef, PtyRef};

use crate::process::Process;
use crate::Ctx;

/// A controlling terminal.
#[derive(Clone, Debug)]
pub enum Ctty {
    /// The host console.
    Console,
    /// A pty (its slave side).
    Pty(PtyRef),
}

/// The caller's controlling terminal, if it still has one (a pty that hung up or no longer
/// controls the caller's session is none).
fn ctty(p: &Process) -> Option<&Ctty> {
    match &p.ctty {
        Some(Ctty::Pty(t)) if t.hung_up() || t.session_pgrp().0 != p.sid => None,
        c => c.as_ref(),
    }
}

fn is_ctty(p: &Process, pty: &PtyRef) -> bool {
    matches!(ctty(p), Some(Ctty::Pty(t)) if std::sync::Arc::ptr_eq(t, pty))
}

/// What `open` returns for `file`: `/dev/tty` becomes the caller's controlling terminal,
/// and a session leader without one that opens a pty slave (without `O_NOCTTY`) acquires it.
pub(crate) fn opened(ctx: &mut Ctx<'_>, file: FileRef, flags: OFlags) -> Result<FileRef, Errno> {
    if file.is_tty_alias() {
        return match ctty(ctx.proc) {
            Some(Ctty::Console) => file.open_host_tty(),
            Some(Ctty::Pty(p)) => p.clone().open_slave(file.dentry(), file.flags()),
            None => Err(Errno::ENXIO),
        };
    }
    if let Some((pty, false)) = file.pty() {
        let p = &*ctx.proc;
        if !flags.contains(OFlags::NOCTTY)
            && p.pid == p.sid
            && ctty(p).is_none()
            && pty.session_pgrp().0 == 0
        {
            let pty = pty.clone();
            set_ctty(ctx, &pty);
        }
    }
    Ok(file)
}

/// The caller (a session leader) takes `pty` as its session's controlling terminal, with its
/// process group in the foreground.
fn set_ctty(ctx: &mut Ctx<'_>, pty: &PtyRef) {
    pty.set_session(ctx.proc.sid, ctx.proc.pgid);
    ctx.proc.ctty = Some(Ctty::Pty(pty.clone()));
}

/// Every process of `sid` loses its controlling terminal.
fn session_clear_tty(ctx: &mut Ctx<'_>, sid: i32) {
    for p in std::iter::once(&mut *ctx.proc).chain(ctx.procs.iter_mut()) {
        if p.sid == sid {
            p.ctty = None;
        }
    }
}

/// The exit of a session leader: its controlling pty's foreground group gets `SIGHUP`, and
/// the session loses the terminal.
pub fn leader_exits(proc: &mut Process) {
    if proc.pid != proc.sid {
        return;
    }
    if let Some(Ctty::Pty(p)) = proc.ctty.take() {
        if p.session_pgrp().0 == proc.sid {
            p.signal_foreground(sig::SIGHUP);
            p.set_session(0, 0);
        }
    }
}

/// Linux's `__tty_check_change` for a read (`SIGTTIN`) or, with `TOSTOP`, a write
/// (`SIGTTOU`) of the caller's controlling terminal: a process outside the foreground group
/// stops its group with the signal and retries once continued. `EIO` instead when it
/// ignores or blocks `SIGTTIN`, or its group is orphaned; an ignored `SIGTTOU` lets the
/// write through.
pub(crate) fn check_background(ctx: &mut Ctx<'_>, f: &FileRef, write: bool) -> Result<(), Errno> {
    let fg = match (f.pty(), ctty(ctx.proc)) {
        (Some((p, false)), Some(Ctty::Pty(c))) if std::sync::Arc::ptr_eq(p, c) => {
            p.session_pgrp().1
        }
        (None, Some(Ctty::Console)) if f.host_stream_fd().is_some() => ctx.procs.console_pgrp,
        _ => return Ok(()),
    };
    let pgrp = ctx.proc.pgid;
    if fg == 0 || fg == pgrp {
        return Ok(());
    }
    let Ok(t) = f.tcgets() else {
        return Ok(());
    };
    if write && t.c_lflag & abi::flags::termios::TOSTOP == 0 {
        return Ok(());
    }
    let signo = if write { sig::SIGTTOU } else { sig::SIGTTIN };
    let s = &ctx.proc.sig;
    if s.blocked & (1 << (signo - 1)) != 0 || s.action(signo).handler == abi::signal::SIG_IGN {
        return if write { Ok(()) } else { Err(Errno::EIO) };
    }
    if orphaned(ctx, pgrp) {
        return Err(Errno::EIO);
    }
    let info = crate::signal::SigInfo::kernel(signo);
    crate::kill::send_where(ctx, Some(info), None, |q| q.pgid == pgrp)?;
    let me = ctx.proc.pid;
    Err(ctx.block_on(crate::WaitKey::Signal(me)))
}

/// Whether process group `pgrp` is orphaned: no member has a parent in another group of the
/// same session (nobody is left to continue it after a stop).
fn orphaned(ctx: &Ctx<'_>, pgrp: i32) -> bool {
    let all = || std::iter::once(&*ctx.proc).chain(ctx.procs.iter());
    !all().any(|q| {
        q.pgid == pgrp
            && !matches!(q.state, crate::ProcState::Zombie(_))
            && all().any(|p| p.pid == q.ppid && p.pgid != pgrp && p.sid == q.sid)
    })
}

/// A pid exists in the caller's session as a process group.
fn group_in_session(ctx: &Ctx<'_>, pgrp: i32) -> Result<(), Errno> {
    let sid = ctx.proc.sid;
    let mut found = false;
    for p in std::iter::once(&*ctx.proc).chain(ctx.procs.iter()) {
        if p.pgid == pgrp {
            if p.sid != sid {
                return Err(Errno::EPERM);
            }
            found = true;
        }
    }
    if found {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

/// The terminal `ioctl`s of a pty end; `None` for requests it does not handle specially.
pub(crate) fn pty_ioctl(
    ctx: &mut Ctx<'_>,
    pty: &PtyRef,
    master: bool,
    cmd: u32,
    arg: UserAddr,
) -> Option<SysResult> {
    Some(match cmd {
        ioctl::TIOCSPTLCK | ioctl::TIOCGPTLCK if !master => Err(Errno::ENOTTY),
        ioctl::TIOCGPTPEER if !master => Err(Errno::EIO),
        ioctl::TIOCGPTN => {
            let n = pty.index();
            ctx.write_val(arg, &n).map(|_| 0)
        }
        ioctl::TIOCSPTLCK => ctx.read_val::<i32>(arg).map(|v| {
            pty.set_locked(v != 0);
            0
        }),
        ioctl::TIOCGPTLCK => {
            let v = i32::from(pty.locked());
            ctx.write_val(arg, &v).map(|_| 0)
        }
        ioctl::TIOCGPTPEER => open_peer(ctx, pty, arg.0 as u32),
        // After a hangup every terminal request fails (descriptor flags are not the tty's).
        c if !master
            && pty.hung_up()
            && !matches!(c, ioctl::FIOCLEX | ioctl::FIONCLEX | ioctl::FIONBIO) =>
        {
            Err(if cmd == ioctl::TIOCSPGRP {
                Errno::ENOTTY
            } else {
                Errno::EIO
            })
        }
        ioctl::TIOCSCTTY => {
            let p = &*ctx.proc;
            let (session, _) = pty.session_pgrp();
            if p.pid == p.sid && session == p.sid {
                return Some(Ok(0));
            }
            if p.pid != p.sid || ctty(p).is_some() {
                return Some(Err(Errno::EPERM));
            }
            if session != 0 {
                // Stealing with arg 1 needs CAP_SYS_ADMIN.
                if arg.0 != 1 || p.cred.euid != 0 {
                    return Some(Err(Errno::EPERM));
                }
                session_clear_tty(ctx, session);
            }
            set_ctty(ctx, pty);
            Ok(0)
        }
        ioctl::TIOCNOTTY => {
            if !is_ctty(ctx.proc, pty) {
                return Some(Err(Errno::ENOTTY));
            }
            if ctx.proc.pid == ctx.proc.sid {
                pty.signal_foreground(sig::SIGHUP);
                pty.signal_foreground(sig::SIGCONT);
                pty.set_session(0, 0);
                session_clear_tty(ctx, ctx.proc.sid);
            }
            ctx.proc.ctty = None;
            Ok(0)
        }
        ioctl::TIOCGSID => {
            let (session, _) = pty.session_pgrp();
            if !is_ctty(ctx.proc, pty) || session == 0 {
                return Some(Err(Errno::ENOTTY));
            }
            ctx.write_val(arg, &session).map(|_| 0)
        }
        ioctl::TIOCGPGRP => {
            if !master && !is_ctty(ctx.proc, pty) {
                return Some(Err(Errno::ENOTTY));
            }
            let g = pty.session_pgrp().1;
            ctx.write_val(arg, &g).map(|_| 0)
        }
        ioctl::TIOCSPGRP => {
            if !is_ctty(ctx.proc, pty) || pty.session_pgrp().0 != ctx.proc.sid {
                return Some(Err(Errno::ENOTTY));
            }
            set_pgrp(ctx, pty, arg)
        }
        ioctl::TCFLSH => pty.flush(master, arg.0 as i32).map(|_| 0),
        ioctl::TIOCOUTQ => {
            let n = pty.output_len(master) as i32;
            ctx.write_val(arg, &n).map(|_| 0)
        }
        // tcdrain/tcsendbreak and tcflow: output is never held back.
        ioctl::TCSBRK | ioctl::TCXONC => Ok(0),
        _ => return None,
    })
}

/// `TIOCSPGRP` by a process of the terminal's session: the group must be in it.
fn set_pgrp(ctx: &mut Ctx<'_>, pty: &PtyRef, arg: UserAddr) -> SysResult {
    let g: i32 = ctx.read_val(arg)?;
    if g < 0 {
        return Err(Errno::EINVAL);
    }
    group_in_session(ctx, g)?;
    pty.set_pgrp(g);
    Ok(0)
}

/// `TIOCGPTPEER`: opens the slave (`flags`: access mode, `O_NOCTTY`, `O_NONBLOCK`,
/// `O_CLOEXEC`) and installs it.
fn open_peer(ctx: &mut Ctx<'_>, pty: &PtyRef, flags: u32) -> SysResult {
    let allowed = OFlags::ACCMODE
        | (OFlags::NOCTTY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::LARGEFILE).bits();
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = OFlags::from_bits_retain(flags);
    let path = format!("/dev/pts/{}", pty.index());
    let d = ctx.vfs.lookup(&ctx.vfs.root(), path.as_bytes(), false)?;
    let file = pty
        .clone()
        .open_slave(Some(d), flags.difference(OFlags::CLOEXEC))?;
    let file = opened(ctx, file, flags)?;
    crate::fs::check_free_fd(ctx)?;
    let limit = ctx.proc.nofile();
    let fd = ctx
        .proc
        .fds
        .install(file, flags.contains(OFlags::CLOEXEC), 0, limit)?;
    Ok(fd as u64)
}

/// `TIOCSCTTY` on the host console: a session leader without a terminal takes it, with
/// its group in the foreground.
pub(crate) fn console_sctty(ctx: &mut Ctx<'_>) -> SysResult {
    let p = &*ctx.proc;
    if matches!(ctty(p), Some(Ctty::Console)) && p.pid == p.sid {
        return Ok(0);
    }
    if p.pid != p.sid || ctty(p).is_some() {
        return Err(Errno::EPERM);
    }
    ctx.procs.console_pgrp = p.pgid;
    ctx.proc.ctty = Some(Ctty::Console);
    Ok(0)
}

/// `vhangup()`: `EPERM` without `CAP_SYS_TTY_CONFIG`; otherwise 0. uml does not hang the
/// caller's controlling terminal up (Linux's `tty_vhangup_self`): its open files keep
/// working and its session keeps it.
pub(crate) fn sys_vhangup(ctx: &mut Ctx<'_>, _a: &crate::Args) -> SysResult {
    if !ctx.proc.cred.caps.has(crate::caps::CAP_SYS_TTY_CONFIG) {
        return Err(Errno::EPERM);
    }
    Ok(0)
}
