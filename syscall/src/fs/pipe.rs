//! `pipe(2)` and `pipe2(2)`.

use abi::flags::OFlags;
use abi::{Errno, UserAddr};

use crate::{Args, Ctx};

fn do_pipe(ctx: &mut Ctx<'_>, fds: UserAddr, flags: u32) -> abi::SysResult {
    let flags = OFlags::from_bits_retain(flags);
    if flags.difference(OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::DIRECT) != OFlags::empty() {
        return Err(Errno::EINVAL);
    }
    let (r, w) = ctx.vfs.pipe(flags)?;
    let cloexec = flags.contains(OFlags::CLOEXEC);
    let limit = ctx.proc.nofile();
    let rfd = ctx.proc.fds.install(r, cloexec, 0, limit)?;
    let wfd = match ctx.proc.fds.install(w, cloexec, 0, limit) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = ctx.proc.fds.remove(rfd);
            return Err(e);
        }
    };
    let pair: [i32; 2] = [rfd, wfd];
    if let Err(e) = ctx.write_val(fds, &pair) {
        // Nothing may stay installed: the guest never learnt the numbers.
        let _ = ctx.proc.fds.remove(rfd);
        let _ = ctx.proc.fds.remove(wfd);
        return Err(e);
    }
    Ok(0)
}

/// `pipe(2)`.
pub fn sys_pipe(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    do_pipe(ctx, a.addr(0), 0)
}

/// `pipe2(2)`: `O_CLOEXEC`, `O_NONBLOCK`, `O_DIRECT` (accepted; packet mode is not
/// implemented); other flags are `EINVAL`.
pub fn sys_pipe2(ctx: &mut Ctx<'_>, a: &Args) -> abi::SysResult {
    do_pipe(ctx, a.addr(0), a.u32(1))
}
