//! Host descriptors passed through as guest files: the guest's stdin/stdout/stderr and the
//! host's `/dev/tty`. Reads and writes go to the host descriptor as they are (a tty stays a
//! tty, a pipe a pipe, a redirected file keeps sharing its offset with the host).

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::poll::{PollFd, PollFlags, PollTimeout};

use abi::structs::{Termios, Winsize};
use abi::Errno;

use crate::hostfs::{herr, nerr};
use crate::PollEvents;

/// `readv` on a host stream. A stream with nothing to read gives `EAGAIN` instead of
/// blocking the kernel: the caller parks the task and the kernel waits for the host fd.
pub(crate) fn read(fd: &OwnedFd, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
    if !ready(fd.as_fd(), PollFlags::POLLIN) {
        return Err(Errno::EAGAIN);
    }
    nix::sys::uio::readv(fd.as_fd(), bufs).map_err(nerr)
}

/// Whether `fd` has any of `events` (or a hang-up/error) right now.
fn ready(fd: BorrowedFd<'_>, events: PollFlags) -> bool {
    let mut fds = [PollFd::new(fd, events)];
    match nix::poll::poll(&mut fds, PollTimeout::ZERO) {
        Ok(n) => n > 0,
        // A descriptor poll cannot judge is treated as ready: the I/O call reports.
        Err(_) => true,
    }
}

/// Readiness of a host stream for `poll`.
pub(crate) fn poll(fd: &OwnedFd) -> PollEvents {
    let mut fds = [PollFd::new(
        fd.as_fd(),
        PollFlags::POLLIN | PollFlags::POLLOUT,
    )];
    match nix::poll::poll(&mut fds, PollTimeout::ZERO) {
        Ok(_) => {
            let r = fds[0].revents().unwrap_or(PollFlags::empty());
            PollEvents {
                readable: r.contains(PollFlags::POLLIN),
                writable: r.contains(PollFlags::POLLOUT),
                hangup: r.contains(PollFlags::POLLHUP),
                error: r.contains(PollFlags::POLLERR),
                rdhup: false,
                seq: None,
            }
        }
        Err(_) => PollEvents::READY,
    }
}

/// Waits until one of the host streams `files` is readable (or hung up; writable too for
/// a host socket whose waiters write), one of the `extra` descriptors is (readable, or
/// writable if asked), `wake` is readable (the kernel's own wake-up pipe), or `timeout`
/// passes (`None`: forever). Returns which of `files` are ready.
pub fn wait_streams(
    files: &[&crate::FileRef],
    extra: &[(BorrowedFd<'_>, bool)],
    wake: BorrowedFd<'_>,
    timeout: Option<std::time::Duration>,
) -> Vec<bool> {
    let mut fds: Vec<PollFd<'_>> = files
        .iter()
        .filter_map(|f| f.host_watch_fd())
        .map(|(fd, write)| {
            let ev = if write {
                PollFlags::POLLIN | PollFlags::POLLOUT
            } else {
                PollFlags::POLLIN
            };
            PollFd::new(fd, ev)
        })
        .collect();
    fds.extend(extra.iter().map(|&(fd, write)| {
        let ev = if write {
            PollFlags::POLLIN | PollFlags::POLLOUT
        } else {
            PollFlags::POLLIN
        };
        PollFd::new(fd, ev)
    }));
    fds.push(PollFd::new(wake, PollFlags::POLLIN));
    let t = match timeout {
        None => PollTimeout::NONE,
        Some(d) => PollTimeout::try_from(d.as_millis().min(i32::MAX as u128) as i32 + 1)
            .unwrap_or(PollTimeout::MAX),
    };
    let _ = nix::poll::poll(&mut fds, t);
    let ready: Vec<bool> = fds
        .iter()
        .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
        .collect();
    let mut it = ready.into_iter();
    files
        .iter()
        .map(|f| f.host_watch_fd().is_some() && it.next().unwrap_or(false))
        .collect()
}

/// `writev` on a host stream.
pub(crate) fn write(fd: &OwnedFd, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
    nix::sys::uio::writev(fd.as_fd(), bufs).map_err(nerr)
}

/// `lseek` on a host stream (`ESPIPE` for pipes and ttys, from the host).
pub(crate) fn lseek(fd: &OwnedFd, off: i64, whence: i32) -> Result<u64, Errno> {
    use nix::unistd::Whence;
    let w = match whence {
        0 => Whence::SeekSet,
        1 => Whence::SeekCur,
        2 => Whence::SeekEnd,
        3 => Whence::SeekData,
        4 => Whence::SeekHole,
        _ => return Err(Errno::EINVAL),
    };
    nix::unistd::lseek(fd.as_raw_fd(), off, w)
        .map(|o| o as u64)
        .map_err(nerr)
}

/// `TCGETS` on a host descriptor.
pub(crate) fn tcgets(fd: &OwnedFd) -> Result<Termios, Errno> {
    let t = nix::sys::termios::tcgetattr(fd.as_fd()).map_err(nerr)?;
    let raw: libc::termios = t.into();
    let mut cc = [0u8; 19];
    for (d, s) in cc.iter_mut().zip(raw.c_cc.iter()) {
        *d = *s;
    }
    Ok(Termios {
        c_iflag: raw.c_iflag,
        c_oflag: raw.c_oflag,
        c_cflag: raw.c_cflag,
        c_lflag: raw.c_lflag,
        c_line: raw.c_line,
        c_cc: cc,
    })
}

/// When a `TCSETS*` takes effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcsetWhen {
    /// `TCSETS`: now.
    Now,
    /// `TCSETSW`: after pending output is written.
    Drain,
    /// `TCSETSF`: after that, also discarding pending input.
    Flush,
}

/// `TCSETS`/`TCSETSW`/`TCSETSF` on a host descriptor: the guest's terminal is the host's,
/// so its settings are the host terminal's (as for a program run natively).
pub(crate) fn tcsets(fd: &OwnedFd, when: TcsetWhen, t: &Termios) -> Result<(), Errno> {
    let cur = nix::sys::termios::tcgetattr(fd.as_fd()).map_err(nerr)?;
    let mut raw: libc::termios = cur.into();
    raw.c_iflag = t.c_iflag;
    raw.c_oflag = t.c_oflag;
    raw.c_cflag = t.c_cflag;
    raw.c_lflag = t.c_lflag;
    raw.c_line = t.c_line;
    for (d, s) in raw.c_cc.iter_mut().zip(t.c_cc.iter()) {
        *d = *s;
    }
    let arg = match when {
        TcsetWhen::Now => nix::sys::termios::SetArg::TCSANOW,
        TcsetWhen::Drain => nix::sys::termios::SetArg::TCSADRAIN,
        TcsetWhen::Flush => nix::sys::termios::SetArg::TCSAFLUSH,
    };
    nix::sys::termios::tcsetattr(fd.as_fd(), arg, &raw.into()).map_err(nerr)
}

/// `TIOCSWINSZ` on a host descriptor.
pub(crate) fn set_winsize(fd: &OwnedFd, w: &Winsize) -> Result<(), Errno> {
    let ws = rustix::termios::Winsize {
        ws_row: w.ws_row,
        ws_col: w.ws_col,
        ws_xpixel: w.ws_xpixel,
        ws_ypixel: w.ws_ypixel,
    };
    rustix::termios::tcsetwinsize(fd, ws).map_err(herr)
}

/// `TIOCGWINSZ` on a host descriptor.
pub(crate) fn winsize(fd: &OwnedFd) -> Result<Winsize, Errno> {
    let w = rustix::termios::tcgetwinsize(fd).map_err(herr)?;
    Ok(Winsize {
        ws_row: w.ws_row,
        ws_col: w.ws_col,
        ws_xpixel: w.ws_xpixel,
        ws_ypixel: w.ws_ypixel,
    })
}

/// `FIONREAD` on a host descriptor.
pub(crate) fn fionread(fd: &OwnedFd) -> Result<i32, Errno> {
    rustix::io::ioctl_fionread(fd)
        .map(|n| n.min(i32::MAX as u64) as i32)
        .map_err(herr)
}

/// A duplicate (close-on-exec) of the host's standard descriptor `fd` (0, 1 or 2; others
/// are `EBADF`: there is no safe way to borrow an arbitrary raw descriptor).
pub(crate) fn dup(fd: i32) -> Result<OwnedFd, Errno> {
    let r = match fd {
        0 => std::io::stdin().as_fd().try_clone_to_owned(),
        1 => std::io::stdout().as_fd().try_clone_to_owned(),
        2 => std::io::stderr().as_fd().try_clone_to_owned(),
        _ => return Err(Errno::EBADF),
    };
    r.map_err(Errno::from)
}

/// The host's terminal: the first of uml's descriptors 0, 1, 2 that is a terminal, as
/// (descriptor, `st_rdev`, its number if it is a host pty `/dev/pts/N`).
pub(crate) fn host_console() -> Option<(i32, u64, Option<u32>)> {
    (0..3).find_map(|fd| {
        let owned = dup(fd).ok()?;
        if !rustix::termios::isatty(&owned) {
            return None;
        }
        let rdev = rdev(&owned)?;
        let (major, minor) = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
        // Unix98 pty slaves have majors 136 to 143.
        let pts = (136..=143)
            .contains(&major)
            .then(|| (major - 136) * 256 + minor);
        Some((fd, rdev, pts))
    })
}

/// `st_rdev` of a host descriptor.
pub(crate) fn rdev(fd: &OwnedFd) -> Option<u64> {
    rustix::fs::fstat(fd).ok().map(|st| st.st_rdev)
}
