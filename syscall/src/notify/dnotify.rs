//! dnotify: `fcntl(fd, F_NOTIFY, DN_*)` and the signals its requests send. The requests
//! and the events that fire them are [`vfs::notify::dnotify`]'s.
//!
//! Setting a request makes the caller's process the description's owner unless it has one
//! (Linux's `__f_setown` without force). A fired request sends the owner `SIGIO`, or the
//! description's `F_SETSIG` signal with `si_code` `POLL_MSG`, `si_fd` the descriptor that
//! set it and `si_band` `POLLIN | POLLRDNORM | POLLMSG`; a description without an owner
//! sends nothing.

use abi::SysResult;
use vfs::FileRef;

use crate::fs::fown;
use crate::Ctx;

/// `fcntl(fd, F_NOTIFY, arg)`.
pub(crate) fn fcntl_notify(ctx: &mut Ctx<'_>, f: &FileRef, fd: i32, arg: u32) -> SysResult {
    if vfs::notify::dnotify::request(f, ctx.proc.fds.identity(), fd, arg)? {
        fown::claim(ctx, f);
    }
    Ok(0)
}

/// After a syscall: the owners of the descriptions whose requests fired get their signal.
pub(crate) fn send_signals(ctx: &mut Ctx<'_>) {
    for (file, fd) in vfs::notify::dnotify::take_signals() {
        fown::send_poll(ctx, &file, fd, fown::POLL_MSG);
    }
}
