//! `ioctl(2)`: the terminal and descriptor requests uml knows; `ENOTTY` otherwise.

use abi::flags::{ioctl, OFlags};
use abi::Errno;

use crate::{Args, Ctx};

/// `ioctl(2)`.
pub fn sys_ioctl(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let fd = a.i32(0);
    let f = ctx.file(fd)?;
    if f.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let arg = a.addr(2);
    if let Some((pty, master)) = f.pty() {
        if let Some(r) = crate::tty::pty_ioctl(ctx, pty, master, a.u32(1), arg) {
            return r;
        }
    }
    if let Some(r) = crate::net::dev_ioctl(ctx, &f, a.u32(1), arg) {
        return r;
    }
    match a.u32(1) {
        ioctl::TCGETS => {
            let t = f.tcgets()?;
            ctx.write_val(arg, &t)?;
        }
        ioctl::TCSETS | ioctl::TCSETSW | ioctl::TCSETSF => {
            let t: abi::structs::Termios = ctx.read_val(arg)?;
            let when = match a.u32(1) {
                ioctl::TCSETS => vfs::TcsetWhen::Now,
                ioctl::TCSETSW => vfs::TcsetWhen::Drain,
                _ => vfs::TcsetWhen::Flush,
            };
            f.tcsets(when, &t)?;
        }
        ioctl::TIOCSWINSZ => {
            let w: abi::structs::Winsize = ctx.read_val(arg)?;
            f.set_winsize(&w)?;
        }
        ioctl::TIOCGWINSZ => {
            let w = f.winsize()?;
            ctx.write_val(arg, &w)?;
        }
        ioctl::FIONREAD => {
            let n = match crate::net::socket_of(&f) {
                Some(s) => s.pending().min(i32::MAX as usize) as i32,
                None => match crate::net::inet_of(&f) {
                    Some(s) => s.net.info(s.id)?.pending.min(i32::MAX as usize) as i32,
                    None => f.fionread()?,
                },
            };
            ctx.write_val(arg, &n)?;
        }
        // The console's foreground process group: the guest's terminal is the host's, and
        // job control runs on uml's own record of it.
        ioctl::TIOCGPGRP => {
            f.tcgets()?;
            let g = ctx.procs.console_pgrp;
            ctx.write_val(arg, &g)?;
        }
        ioctl::TIOCSPGRP => {
            f.tcgets()?;
            let g: i32 = ctx.read_val(arg)?;
            if g < 0 {
                return Err(Errno::EINVAL);
            }
            let sid = ctx.proc.sid;
            let exists =
                ctx.proc.pgid == g || ctx.procs.iter().any(|p| p.pgid == g && p.sid == sid);
            if !exists {
                return Err(Errno::EPERM);
            }
            ctx.procs.console_pgrp = g;
        }
        ioctl::TIOCSCTTY => {
            f.tcgets()?;
            return crate::tty::console_sctty(ctx);
        }
        ioctl::TCSBRK | ioctl::TCXONC => {
            f.tcgets()?;
        }
        ioctl::FIOCLEX => ctx.proc.fds.set_cloexec(fd, true)?,
        ioctl::FIONCLEX => ctx.proc.fds.set_cloexec(fd, false)?,
        ioctl::FIONBIO => {
            let on: i32 = ctx.read_val(arg)?;
            let fl = f.flags();
            let fl = if on != 0 {
                fl | OFlags::NONBLOCK
            } else {
                fl.difference(OFlags::NONBLOCK)
            };
            f.set_status_flags(fl);
        }
        _ => return Err(Errno::ENOTTY),
    }
    Ok(0)
}
