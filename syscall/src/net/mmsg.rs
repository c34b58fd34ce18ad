//! `sendmmsg(2)` and `recvmmsg(2)`: `sendmsg`/`recvmsg` over an array of `struct mmsghdr`
//! (a `msghdr` and the `msg_len` the call fills in), for any socket family.
//!
//! Only the first message may block; the later ones are tried without waiting, and the
//! call returns how many went (Linux's `recvmmsg` without `MSG_WAITFORONE` would wait for
//! each of them). `recvmmsg`'s timeout is checked as Linux checks it: after each message
//! (the call ends once it has run out) and written back with the time left. An error
//! after the first message ends the call with the count so far, as on Linux.

use std::time::{Duration, Instant};

use abi::net::MSG_WAITFORONE;
use abi::structs::Timespec;
use abi::{Errno, SysResult, UserAddr};

use super::{sys_recvmsg, sys_sendmsg};
use crate::{Args, Ctx};

/// `sizeof(struct mmsghdr)`.
const MMSGHDR: u64 = 64;
/// `offsetof(struct mmsghdr, msg_len)`.
const MSG_LEN_OFF: u64 = 56;
/// `UIO_MAXIOV`: the most messages one call handles.
const MAX_VLEN: u64 = 1024;

fn each(ctx: &mut Ctx<'_>, a: &Args, send: bool, deadline: Option<Instant>) -> SysResult {
    let (fd, vec, vlen) = (a.0[0], a.addr(1), a.u32(2));
    let flags = a.u32(3) & !MSG_WAITFORONE;
    let mut n = 0u64;
    while n < u64::from(vlen).min(MAX_VLEN) {
        let hdr = vec.0.checked_add(n * MMSGHDR).ok_or(Errno::EFAULT)?;
        let later = if n > 0 { abi::net::MSG_DONTWAIT } else { 0 };
        let args = Args([fd, hdr, u64::from(flags | later), 0, 0, 0]);
        let r = if send {
            sys_sendmsg(ctx, &args)
        } else {
            sys_recvmsg(ctx, &args)
        };
        match r {
            Ok(len) => {
                ctx.write_val(UserAddr(hdr + MSG_LEN_OFF), &(len as u32))?;
                n += 1;
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
            }
            Err(e) if n == 0 || ctx.blocks() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(n)
}

/// `sendmmsg(2)`.
pub(crate) fn sys_sendmmsg(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    each(ctx, a, true, None)
}

/// `recvmmsg(2)`: a timeout that cannot be read is `EFAULT`, an invalid one `EINVAL`,
/// before anything else.
pub(crate) fn sys_recvmmsg(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let at = a.addr(4);
    if at.is_null() {
        return each(ctx, a, false, None);
    }
    let ts: Timespec = ctx.read_val(at)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    let timeout = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    let deadline = ctx.deadline_after(timeout);
    let n = each(ctx, a, false, Some(deadline))?;
    let left = deadline.saturating_duration_since(Instant::now());
    let left = Timespec {
        tv_sec: left.as_secs() as i64,
        tv_nsec: i64::from(left.subsec_nanos()),
    };
    ctx.write_val(at, &left)?;
    Ok(n)
}
