//! `getsockopt`, `setsockopt`, `getsockname`, `getpeername`.

use abi::{Errno, SysResult};

use super::unix::{SockType, DEFAULT_BUF};
use super::{addr, sock, AF_UNIX};
use crate::{Args, Ctx};

const SOL_SOCKET: i32 = 1;
const SO_DEBUG: i32 = 1;
const SO_REUSEADDR: i32 = 2;
const SO_TYPE: i32 = 3;
const SO_ERROR: i32 = 4;
const SO_DONTROUTE: i32 = 5;
const SO_BROADCAST: i32 = 6;
const SO_SNDBUF: i32 = 7;
const SO_RCVBUF: i32 = 8;
const SO_KEEPALIVE: i32 = 9;
const SO_OOBINLINE: i32 = 10;
const SO_LINGER: i32 = 13;
const SO_REUSEPORT: i32 = 15;
const SO_PASSCRED: i32 = 16;
const SO_PEERCRED: i32 = 17;
const SO_RCVLOWAT: i32 = 18;
const SO_SNDLOWAT: i32 = 19;
const SO_RCVTIMEO: i32 = 20;
const SO_SNDTIMEO: i32 = 21;
const SO_ACCEPTCONN: i32 = 30;
const SO_SNDBUFFORCE: i32 = 32;
const SO_RCVBUFFORCE: i32 = 33;
const SO_PROTOCOL: i32 = 38;
const SO_DOMAIN: i32 = 39;

/// `net.core.wmem_max`/`rmem_max`: the most `SO_SNDBUF`/`SO_RCVBUF` grant (before doubling).
const BUF_MAX: usize = DEFAULT_BUF;
/// `SOCK_MIN_SNDBUF` and `SOCK_MIN_RCVBUF`.
const MIN_SNDBUF: usize = 4608;
const MIN_RCVBUF: usize = 2304;

/// `getsockopt(2)`: the `SOL_SOCKET` options an `AF_UNIX` socket has; `EOPNOTSUPP` for
/// other levels, `ENOPROTOOPT` for unknown options.
pub(crate) fn sys_getsockopt(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((_, s)) = super::inet_sock(ctx, a.i32(0))? {
        return super::inet_opt::getsockopt(ctx, &s, a);
    }
    if let Some((_, s)) = super::netlink::nl_sock(ctx, a.i32(0))? {
        return super::netlink::getsockopt(ctx, &s, a);
    }
    let (_, s) = sock(ctx, a.i32(0))?;
    let (level, name, at, len_at) = (a.i32(1), a.i32(2), a.addr(3), a.addr(4));
    let ulen: i32 = ctx.read_val(len_at)?;
    if ulen < 0 {
        return Err(Errno::EINVAL);
    }
    if level != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    let (snd, rcv) = s.bufs();
    let int = |v: i64| (v as i32).to_ne_bytes().to_vec();
    let val = match name {
        SO_TYPE => int(s.ty as i64),
        SO_ERROR => int(s.take_error().map_or(0, |e| e as i64)),
        SO_SNDBUF => int(snd as i64),
        SO_RCVBUF => int(rcv as i64),
        SO_PASSCRED => int(i64::from(s.passcred())),
        SO_PEERCRED => s.peer_cred().bytes().to_vec(),
        SO_ACCEPTCONN => int(i64::from(s.is_listening())),
        SO_DOMAIN | SO_PROTOCOL => int(if name == SO_DOMAIN { AF_UNIX as i64 } else { 0 }),
        SO_DEBUG | SO_REUSEADDR | SO_DONTROUTE | SO_BROADCAST | SO_KEEPALIVE | SO_OOBINLINE
        | SO_REUSEPORT => int(0),
        SO_RCVLOWAT | SO_SNDLOWAT => int(1),
        SO_LINGER => vec![0; 8],
        SO_RCVTIMEO | SO_SNDTIMEO => vec![0; 16],
        _ => return Err(Errno::ENOPROTOOPT),
    };
    let k = (ulen as usize).min(val.len());
    ctx.copy_out(at, &val[..k])?;
    ctx.write_val(len_at, &(k as i32))?;
    Ok(0)
}

/// `setsockopt(2)`: `SO_SNDBUF`/`SO_RCVBUF` as Linux sizes them, `SO_PASSCRED`; the other
/// common options are accepted and change nothing (`SO_RCVTIMEO`/`SO_SNDTIMEO` included:
/// blocking calls do not time out).
pub(crate) fn sys_setsockopt(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((_, s)) = super::inet_sock(ctx, a.i32(0))? {
        return super::inet_opt::setsockopt(ctx, &s, a);
    }
    if let Some((_, s)) = super::netlink::nl_sock(ctx, a.i32(0))? {
        return super::netlink::setsockopt(ctx, &s, a);
    }
    let (_, s) = sock(ctx, a.i32(0))?;
    let (level, name, at, len) = (a.i32(1), a.i32(2), a.addr(3), a.i32(4));
    if level != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let int = |ctx: &mut Ctx<'_>| -> Result<i32, Errno> {
        if len < 4 {
            return Err(Errno::EINVAL);
        }
        ctx.read_val::<i32>(at)
    };
    match name {
        SO_SNDBUF | SO_RCVBUF | SO_SNDBUFFORCE | SO_RCVBUFFORCE => {
            let v = int(ctx)?;
            let snd = matches!(name, SO_SNDBUF | SO_SNDBUFFORCE);
            let v = (v.max(0) as usize).min(BUF_MAX) * 2;
            s.set_buf(snd, v.max(if snd { MIN_SNDBUF } else { MIN_RCVBUF }));
        }
        SO_PASSCRED => s.set_passcred(int(ctx)? != 0),
        SO_DEBUG | SO_REUSEADDR | SO_DONTROUTE | SO_BROADCAST | SO_KEEPALIVE | SO_OOBINLINE
        | SO_REUSEPORT | SO_RCVLOWAT | SO_SNDLOWAT => {
            int(ctx)?;
        }
        SO_LINGER | SO_RCVTIMEO | SO_SNDTIMEO => {
            let need = if name == SO_LINGER { 8 } else { 16 };
            if (len as usize) < need {
                return Err(Errno::EINVAL);
            }
            let mut b = vec![0u8; need];
            ctx.copy_in(at, &mut b)?;
            check_timeout(name, &b)?;
        }
        // Read-only ones (SO_TYPE, SO_PEERCRED …) included.
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(0)
}

/// Linux's `sock_set_timeout`: a `SO_RCVTIMEO`/`SO_SNDTIMEO` `struct timeval` whose
/// microseconds are not below a second is `EDOM`.
pub(super) fn check_timeout(name: i32, tv: &[u8]) -> Result<(), Errno> {
    if name != SO_RCVTIMEO && name != SO_SNDTIMEO {
        return Ok(());
    }
    let usec = tv
        .get(8..16)
        .map_or(0, |b| i64::from_ne_bytes(b.try_into().unwrap_or([0; 8])));
    if (0..1_000_000).contains(&usec) {
        Ok(())
    } else {
        Err(Errno::EDOM)
    }
}

/// `getsockname(2)`.
pub(crate) fn sys_getsockname(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((_, s)) = super::inet_sock(ctx, a.i32(0))? {
        return super::inet::getsockname(ctx, &s, a);
    }
    if let Some((_, s)) = super::netlink::nl_sock(ctx, a.i32(0))? {
        return super::netlink::getsockname(ctx, &s, a);
    }
    let (_, s) = sock(ctx, a.i32(0))?;
    let name = s.addr();
    addr::write_name(ctx, a.addr(1), a.addr(2), name.as_deref())?;
    Ok(0)
}

/// `getpeername(2)`: `ENOTCONN` without a peer.
pub(crate) fn sys_getpeername(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((_, s)) = super::inet_sock(ctx, a.i32(0))? {
        return super::inet::getpeername(ctx, &s, a);
    }
    if let Some((_, s)) = super::netlink::nl_sock(ctx, a.i32(0))? {
        return super::netlink::getpeername(ctx, &s, a);
    }
    let (_, s) = sock(ctx, a.i32(0))?;
    if s.ty != SockType::Dgram && !s.is_connected() {
        return Err(Errno::ENOTCONN);
    }
    let name = s.peer_addr()?;
    addr::write_name(ctx, a.addr(1), a.addr(2), name.as_deref())?;
    Ok(0)
}
