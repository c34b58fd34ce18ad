//! Moving data through inet sockets: `sendto`, `sendmsg`, `recvfrom`, `recvmsg`,
//! `read`/`write`. Blocking as for pipes: a blocking stream send, and a stream receive
//! with `MSG_WAITALL`, keep what they already moved in the restart block; `SO_RCVTIMEO`
//! and `SO_SNDTIMEO` bound the wait (then `EAGAIN`, or what was moved; a signal makes it
//! `EINTR`, as Linux's `sock_intr_errno` for a finite timeout). A datagram receive
//! returns the control messages its socket asked for ([`super::inet_anc`]); control
//! messages of a send are ignored.

use std::net::SocketAddr;

use abi::flags::OFlags;
use std::time::Duration;

use abi::net::{
    MSG_DONTWAIT, MSG_ERRQUEUE, MSG_MORE, MSG_NOSIGNAL, MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL,
    SOL_SOCKET, SO_RCVTIMEO, SO_SNDTIMEO,
};
use abi::structs::IoVec;
use abi::{Errno, SysResult, UserAddr};
use net::{InetSocket, Kind, Received};
use vfs::{FileObject, FileRef};

use super::inet_addr::{self, Purpose};
use super::inet_anc::put_all;
use super::msg::{read_msghdr, ControlOut, MsgHdr};
use crate::fs::skip;
use crate::{Ctx, OnSignal, WaitKey};

/// The most one step of a stream send copies in from the guest.
const CHUNK: usize = 256 * 1024;
/// The largest datagram (IPv6's UDP payload limit); longer sends are `EMSGSIZE` before
/// anything is copied.
const MAX_DGRAM: u64 = 65_527;
/// The largest ICMP message a ping or raw socket sends.
const MAX_ICMP: u64 = 0xffff;

fn nonblocking(f: &FileRef, flags: u32) -> bool {
    flags & MSG_DONTWAIT != 0 || f.flags().contains(OFlags::NONBLOCK)
}

/// Parks the task on `f` until it may have changed, or until the socket's timeout `opt`
/// (`SO_RCVTIMEO`, `SO_SNDTIMEO`) runs out: `None` once it has (the call fails or returns
/// what it moved).
pub(crate) fn wait(ctx: &mut Ctx<'_>, f: &FileRef, s: &InetSocket, opt: i32) -> Option<Errno> {
    ctx.restart.file = Some(f.clone());
    let tv = s.net.get_opt(s.id, SOL_SOCKET, opt).unwrap_or_default();
    let word = |i: usize| {
        tv.get(i * 8..i * 8 + 8)
            .map_or(0, |b| i64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
    };
    let (sec, usec) = (word(0), word(1));
    if sec == 0 && usec == 0 {
        return Some(ctx.block_on_file(f));
    }
    // A negative time is no wait at all (Linux's sock_set_timeout).
    let timeout = Duration::from_secs(sec.max(0) as u64) + Duration::from_micros(usec as u64);
    let deadline = ctx.deadline_after(if sec < 0 { Duration::ZERO } else { timeout });
    if nondet::ktime_get() >= deadline {
        return None;
    }
    ctx.on_signal(OnSignal::Intr);
    Some(ctx.block_on_file_until(f, Some(deadline)))
}

/// Copies the guest ranges `iovs` in, at most `max` bytes, into a buffer of `s`'s stack.
fn gather(ctx: &mut Ctx<'_>, s: &InetSocket, iovs: &[IoVec], max: usize) -> Result<Vec<u8>, Errno> {
    let total = iovs.iter().map(|v| v.len).sum::<u64>();
    let mut data = s.net.buffer(total.min(max as u64) as usize);
    for v in iovs {
        let k = (v.len as usize).min(max - data.len());
        if k == 0 {
            continue;
        }
        let start = data.len();
        data.resize(start + k, 0);
        ctx.copy_in(UserAddr(v.base), &mut data[start..])?;
    }
    Ok(data)
}

/// Sends the guest ranges `iovs` (to `to`, for a datagram). `EPIPE` on a stream raises
/// `SIGPIPE` unless `MSG_NOSIGNAL`.
pub(crate) fn send(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &InetSocket,
    iovs: &[IoVec],
    to: Option<SocketAddr>,
    flags: u32,
) -> SysResult {
    if flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let nonblock = nonblocking(f, flags);
    let stream = s.kind == Kind::Stream;
    let to = if stream { None } else { to };
    let mut done = if stream && !nonblock {
        ctx.restart.progress
    } else {
        0
    };
    let total: u64 = iovs.iter().map(|v| v.len).sum();
    let max = match s.kind {
        Kind::Stream => u64::MAX,
        Kind::Dgram => MAX_DGRAM,
        Kind::Ping | Kind::Raw => MAX_ICMP,
    };
    if total > max {
        return Err(Errno::EMSGSIZE);
    }
    loop {
        let rest = skip(iovs, done);
        let data = gather(ctx, s, &rest, if stream { CHUNK } else { total as usize })?;
        let len = data.len() as u64;
        let r = s.net.send_more(s.id, data, to, flags & MSG_MORE != 0);
        ctx.wake(WaitKey::File(s.wait_id()));
        match r {
            Ok(n) => {
                done += n as u64;
                if !stream || done >= total || (n as u64) < len && nonblock {
                    return Ok(done);
                }
                if (n as u64) < len {
                    ctx.restart.progress = done;
                    return wait(ctx, f, s, SO_SNDTIMEO).map_or(Ok(done), Err);
                }
            }
            Err(Errno::EAGAIN) if !nonblock => {
                ctx.restart.progress = done;
                return match wait(ctx, f, s, SO_SNDTIMEO) {
                    Some(e) => Err(e),
                    None if done > 0 => Ok(done),
                    None => Err(Errno::EAGAIN),
                };
            }
            Err(_) if done > 0 => return Ok(done),
            Err(Errno::EPIPE) => {
                if stream && flags & MSG_NOSIGNAL == 0 {
                    crate::kill::raise_sigpipe(ctx);
                }
                return Err(Errno::EPIPE);
            }
            Err(e) => return Err(e),
        }
    }
}

/// What a receive returns besides the data it copied out.
pub(crate) struct Got {
    /// The return value.
    pub ret: u64,
    /// The sender (datagrams).
    pub from: Option<SocketAddr>,
    /// A datagram was longer than the buffer.
    pub trunc: bool,
    /// Its control messages.
    pub controls: Vec<net::Control>,
}

/// Receives into the guest ranges `iovs`.
pub(crate) fn recv(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &InetSocket,
    iovs: &[IoVec],
    flags: u32,
) -> Result<Got, Errno> {
    let stream = s.kind == Kind::Stream;
    if flags & MSG_OOB != 0 {
        return Err(if stream {
            Errno::EINVAL
        } else {
            Errno::EOPNOTSUPP
        });
    }
    if flags & MSG_ERRQUEUE != 0 {
        return Err(Errno::EAGAIN);
    }
    let nonblock = nonblocking(f, flags);
    let peek = flags & MSG_PEEK != 0;
    let waitall = flags & MSG_WAITALL != 0 && stream && !peek && !nonblock;
    let done = if waitall { ctx.restart.progress } else { 0 };
    let rest = skip(iovs, done);
    let total: u64 = rest.iter().map(|v| v.len).sum();
    let partial = Got {
        ret: done,
        from: None,
        trunc: false,
        controls: Vec::new(),
    };
    let msg = match s.net.recv(s.id, total.min(i32::MAX as u64) as usize, peek) {
        Ok(m) => m,
        Err(Errno::EAGAIN) if !nonblock => {
            return match wait(ctx, f, s, SO_RCVTIMEO) {
                Some(e) => Err(e),
                None if done > 0 => Ok(partial),
                None => Err(Errno::EAGAIN),
            };
        }
        Err(_) if done > 0 => return Ok(partial),
        Err(e) => return Err(e),
    };
    ctx.wake(WaitKey::File(s.wait_id()));
    let Received {
        data,
        full_len,
        from,
        controls,
    } = msg;
    // A stream's MSG_TRUNC throws the bytes away instead of copying them.
    let discard = stream && flags & MSG_TRUNC != 0;
    let mut off = 0usize;
    for v in &rest {
        let k = (v.len as usize).min(data.len() - off);
        if k == 0 {
            continue;
        }
        if !discard {
            if let Err(e) = ctx.copy_out(UserAddr(v.base), &data[off..off + k]) {
                if off == 0 && done == 0 {
                    return Err(e);
                }
                break;
            }
        }
        off += k;
    }
    let trunc = !stream && full_len > data.len();
    s.net.recycle(data);
    let n = off as u64;
    if waitall && n > 0 && n < total {
        ctx.restart.progress = done + n;
        return wait(ctx, f, s, SO_RCVTIMEO).map_or(
            Ok(Got {
                ret: done + n,
                ..partial
            }),
            Err,
        );
    }
    let ret = if trunc && flags & MSG_TRUNC != 0 {
        full_len as u64
    } else {
        done + n
    };
    Ok(Got {
        ret,
        from,
        trunc,
        controls,
    })
}

/// `read`/`write`/`readv`/`writev` on an inet socket (`nowait`: `RWF_NOWAIT`).
pub(crate) fn rw(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &InetSocket,
    iovs: &[IoVec],
    read: bool,
    nowait: bool,
) -> SysResult {
    let flags = if nowait { MSG_DONTWAIT } else { 0 };
    if read {
        recv(ctx, f, s, iovs, flags).map(|g| g.ret)
    } else {
        send(ctx, f, s, iovs, None, flags)
    }
}

/// Writes the sender's address to `at` (its length at `len_at`), as `recvfrom` does.
pub(crate) fn write_from(
    ctx: &mut Ctx<'_>,
    s: &InetSocket,
    at: UserAddr,
    len_at: UserAddr,
    from: Option<SocketAddr>,
) -> Result<(), Errno> {
    // A stream receive names no sender: the length becomes 0.
    let name = match from {
        Some(a) => inet_addr::bytes(Some(a), s.family),
        None => Vec::new(),
    };
    super::addr::write_raw(ctx, at, len_at, &name)
}

/// `sendto(2)`.
pub(crate) fn sendto(ctx: &mut Ctx<'_>, f: &FileRef, s: &InetSocket, a: &crate::Args) -> SysResult {
    let len = a.len(2).min(i32::MAX as u64);
    Ctx::access_ok(a.addr(1), len)?;
    let to = if a.addr(4).is_null() || s.kind == Kind::Stream {
        None
    } else {
        inet_addr::read(ctx, a.addr(4), a.i32(5), s.family, Purpose::SendTo)?
    };
    let iov = [IoVec {
        base: a.addr(1).0,
        len,
    }];
    send(ctx, f, s, &iov, to, a.u32(3))
}

/// `recvfrom(2)`.
pub(crate) fn recvfrom(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &InetSocket,
    a: &crate::Args,
) -> SysResult {
    let len = a.len(2).min(i32::MAX as u64);
    Ctx::access_ok(a.addr(1), len)?;
    let iov = [IoVec {
        base: a.addr(1).0,
        len,
    }];
    let got = recv(ctx, f, s, &iov, a.u32(3))?;
    // Linux's move_addr_to_user: the length is read (a negative one is EINVAL) even when
    // there is no name to give (a stream).
    if !a.addr(4).is_null() {
        write_from(ctx, s, a.addr(4), a.addr(5), got.from)?;
    }
    Ok(got.ret)
}

/// `sendmsg(2)` of the `msghdr` at `at`.
pub(crate) fn sendmsg(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &InetSocket,
    at: UserAddr,
    flags: u32,
) -> SysResult {
    let (m, iovs) = read_msghdr(ctx, at)?;
    let to = if m.name != 0 && m.namelen != 0 && s.kind.is_dgram() {
        inet_addr::read(
            ctx,
            UserAddr(m.name),
            m.namelen as i32,
            s.family,
            Purpose::SendTo,
        )?
    } else {
        None
    };
    send(ctx, f, s, &iovs, to, flags)
}

/// `recvmsg(2)` into the `msghdr` at `at`.
pub(crate) fn recvmsg(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &InetSocket,
    at: UserAddr,
    flags: u32,
) -> SysResult {
    let (m, iovs) = read_msghdr(ctx, at)?;
    let got = recv(ctx, f, s, &iovs, flags)?;
    let mut m2: MsgHdr = m;
    if m.name != 0 {
        let from = match got.from {
            Some(a) => inet_addr::bytes(Some(a), s.family),
            None => Vec::new(),
        };
        let k = (m.namelen as usize).min(from.len());
        if k > 0 {
            ctx.copy_out(UserAddr(m.name), &from[..k])?;
        }
        m2.namelen = from.len() as u32;
    }
    let mut out = ControlOut::of(&m);
    put_all(ctx, &mut out, &got.controls);
    m2.controllen = out.used();
    m2.flags = ((if got.trunc { MSG_TRUNC } else { 0 }) | out.ctrunc_flag()) as i32;
    ctx.write_val(at, &m2)?;
    Ok(got.ret)
}
