//! `ioctl(2)`: the file requests every file takes ([`file_ioctl`](super::file_ioctl)),
//! the terminal and descriptor requests uml knows, and the block and loop device ones
//! ([`blk_ioctl`](super::blk_ioctl)); `ENOTTY` otherwise.

use abi::flags::{ioctl, OFlags};
use abi::Errno;

/// `kernel/random/entropy_avail` and `RNDGETENTCNT`: the pool is always full.
const ENTROPY_BITS: i32 = 256;

use crate::{Args, Ctx};

/// `ioctl(2)`.
pub fn sys_ioctl(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    let fd = a.i32(0);
    let f = ctx.file(fd)?;
    if f.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let arg = a.addr(2);
    // Landlock: a device opened under a domain without LANDLOCK_ACCESS_FS_IOCTL_DEV
    // takes only the requests of every file (Linux's `is_masked_device_ioctl`).
    let masked = matches!(
        a.u32(1),
        ioctl::FIOCLEX | ioctl::FIONCLEX | ioctl::FIONBIO | ioctl::FIOASYNC | ioctl::FS_IOC_FIEMAP
    );
    if !masked {
        f.landlock_check(abi::flags::landlock::ACCESS_FS_IOCTL_DEV)?;
    }
    if let Some(r) = super::file_ioctl::ioctl(ctx, &f, a.u32(1), a.raw(2)) {
        return r;
    }
    if let Some((pty, master)) = f.pty() {
        if let Some(r) = crate::tty::pty_ioctl(ctx, pty, master, a.u32(1), arg) {
            return r;
        }
    }
    if let Some(r) = crate::net::dev_ioctl(ctx, &f, a.u32(1), arg) {
        return r;
    }
    if let Some(r) = crate::userfaultfd::ioctl(ctx, &f, a.u32(1), arg) {
        return r;
    }
    if let Some(pid) = f.pidfd() {
        if let Some(r) = crate::pidfd_info::ioctl(ctx, pid, a.u32(1), arg) {
            return r;
        }
    }
    if let Some(ns) = f.object_as::<vfs::NsFile>() {
        if let Some(r) = crate::ns::ioctl(ctx, ns, a.u32(1), arg) {
            return r;
        }
    }
    let generic = matches!(
        a.u32(1),
        ioctl::FIOCLEX | ioctl::FIONCLEX | ioctl::FIONBIO | ioctl::FIOASYNC
    );
    if !generic {
        if let Some(r) = super::blk_ioctl::ioctl(ctx, &f, a.u32(1), a.raw(2)) {
            return r;
        }
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
        // The old `struct termio` (16-bit flags, 8 control characters) over the termios.
        ioctl::TCGETA => {
            let t = f.tcgets()?;
            ctx.copy_out(arg, &termio_of(&t))?;
        }
        ioctl::TCSETA | ioctl::TCSETAW | ioctl::TCSETAF => {
            let mut raw = [0u8; TERMIO_LEN];
            ctx.copy_in(arg, &mut raw)?;
            let mut t = f.tcgets()?;
            merge_termio(&mut t, &raw);
            let when = match a.u32(1) {
                ioctl::TCSETA => vfs::TcsetWhen::Now,
                ioctl::TCSETAW => vfs::TcsetWhen::Drain,
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
        // The random devices: the entropy count is always full (Linux 5.18+).
        ioctl::RNDGETENTCNT if f.is_random() => ctx.write_val(arg, &ENTROPY_BITS)?,
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
        ioctl::FIONBIO | ioctl::FIOASYNC => {
            let on: i32 = ctx.read_val(arg)?;
            let bit = if a.u32(1) == ioctl::FIONBIO {
                OFlags::NONBLOCK
            } else {
                OFlags::ASYNC
            };
            let fl = f.flags();
            let fl = if on != 0 {
                fl | bit
            } else {
                fl.difference(bit)
            };
            f.set_status_flags(fl);
        }
        _ => return Err(Errno::ENOTTY),
    }
    Ok(0)
}

/// The bytes of `struct termio` the kernel reads and writes: four 16-bit flag words,
/// `c_line` and `NCC` (8) control characters.
const TERMIO_LEN: usize = 17;
const NCC: usize = 8;

/// `t` as a `struct termio` (`kernel_termios_to_user_termio`: the low 16 bits of each flag
/// word).
fn termio_of(t: &abi::structs::Termios) -> [u8; TERMIO_LEN] {
    let mut b = [0u8; TERMIO_LEN];
    for (i, flags) in [t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag]
        .iter()
        .enumerate()
    {
        b[i * 2..i * 2 + 2].copy_from_slice(&(*flags as u16).to_le_bytes());
    }
    b[8] = t.c_line;
    b[9..].copy_from_slice(&t.c_cc[..NCC]);
    b
}

/// A `struct termio` set over `t` (`user_termio_to_kernel_termios`: the low 16 bits of each
/// flag word, `c_line` and the first `NCC` control characters).
fn merge_termio(t: &mut abi::structs::Termios, b: &[u8; TERMIO_LEN]) {
    let low = |i: usize| u32::from(u16::from_le_bytes([b[i * 2], b[i * 2 + 1]]));
    t.c_iflag = (t.c_iflag & 0xffff_0000) | low(0);
    t.c_oflag = (t.c_oflag & 0xffff_0000) | low(1);
    t.c_cflag = (t.c_cflag & 0xffff_0000) | low(2);
    t.c_lflag = (t.c_lflag & 0xffff_0000) | low(3);
    t.c_line = b[8];
    t.c_cc[..NCC].copy_from_slice(&b[9..]);
}
