//! `AF_INET` and `AF_INET6` sockets: the guest's arguments decoded and checked, then
//! handed to the instance's network stack (the `net` crate, `ctx.procs.net`), which owns
//! every socket's state. Blocking as for `AF_UNIX`: a call the stack answers with `EAGAIN`
//! parks the task on the socket's wait id (unless non-blocking) and runs again when woken.

use abi::flags::landlock as ll;
use abi::flags::OFlags;
use abi::net::{
    IPPROTO_ICMP, IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM,
    SO_RCVTIMEO, SO_SNDTIMEO,
};
use abi::{Errno, SysResult};
use net::{Family, InetSocket, Kind};
use vfs::{Arc, FileObject, FileRef};

use super::inet_addr::{self, Purpose};
use super::inet_io::wait;
use super::{install, SOCK_CLOEXEC, SOCK_NONBLOCK};
use crate::caps::{CAP_NET_BIND_SERVICE, CAP_NET_RAW};
use crate::{Args, Ctx, WaitKey};

/// The inet socket behind `f`, if it is one.
pub(crate) fn inet_of(f: &FileRef) -> Option<Arc<InetSocket>> {
    let any: Arc<dyn std::any::Any + Send + Sync> = f.object()?.clone();
    any.downcast::<InetSocket>().ok()
}

fn nonblocking(f: &FileRef) -> bool {
    f.flags().contains(OFlags::NONBLOCK)
}

/// The protocol `socket(2)` makes for `ty` and `protocol` in `family`, checked as Linux's
/// `inet_create`: TCP, UDP, ICMP echo sockets (for callers whose effective or
/// supplementary group is in `net.ipv4.ping_group_range`, else `EACCES`, as Linux's
/// `ping_init_sock`) and raw ICMP sockets (a protocol, else `EPROTONOSUPPORT`; then
/// `CAP_NET_RAW`, else `EPERM`; raw sockets of other protocols are not there).
pub(crate) fn kind_of(
    ctx: &Ctx<'_>,
    family: Family,
    ty: u32,
    protocol: i32,
) -> Result<(Kind, i32), Errno> {
    let icmp = match family {
        Family::V4 => IPPROTO_ICMP,
        Family::V6 => abi::net::IPPROTO_ICMPV6,
    };
    let (kind, proto) = match (ty & super::SOCK_TYPE_MASK, protocol) {
        (SOCK_STREAM, IPPROTO_IP | IPPROTO_TCP) => (Kind::Stream, IPPROTO_TCP),
        (SOCK_DGRAM, IPPROTO_IP | IPPROTO_UDP) => (Kind::Dgram, IPPROTO_UDP),
        (SOCK_DGRAM, p) if p == icmp => {
            let (lo, hi) = ctx.procs.sysctl.ping_group_range();
            let cred = &ctx.proc.cred;
            let mut groups = std::iter::once(&cred.egid).chain(&ctx.proc.groups);
            if !groups.any(|g| (lo..=hi).contains(g)) {
                return Err(Errno::EACCES);
            }
            (Kind::Ping, icmp)
        }
        (SOCK_STREAM | SOCK_DGRAM, _) | (SOCK_RAW, IPPROTO_IP) => {
            return Err(Errno::EPROTONOSUPPORT)
        }
        (SOCK_RAW, _) if !ctx.proc.cred.caps.has(CAP_NET_RAW) => return Err(Errno::EPERM),
        (SOCK_RAW, p) if p == icmp => (Kind::Raw, icmp),
        (SOCK_RAW, _) => return Err(Errno::EPROTONOSUPPORT),
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    Ok((kind, proto))
}

/// `socket(2)` for `AF_INET`/`AF_INET6` ([`kind_of`]).
pub(crate) fn socket(ctx: &mut Ctx<'_>, family: Family, ty: u32, protocol: i32) -> SysResult {
    let (kind, proto) = kind_of(ctx, family, ty, protocol)?;
    crate::fs::check_free_fd(ctx)?;
    let owner = (ctx.proc.cred.euid, ctx.proc.cred.egid);
    let s = InetSocket::new(&ctx.procs.net, family, kind, proto, owner)?;
    let f = open(ctx, Arc::new(s), ty & SOCK_NONBLOCK != 0);
    Ok(install(ctx, f, ty & SOCK_CLOEXEC != 0)? as u64)
}

fn open(ctx: &Ctx<'_>, s: Arc<InetSocket>, nonblock: bool) -> FileRef {
    let mut fl = OFlags::RDWR;
    if nonblock {
        fl |= OFlags::NONBLOCK;
    }
    let obj: Arc<dyn FileObject> = s;
    ctx.vfs.open_object(obj, fl)
}

/// `bind(2)`.
pub(crate) fn bind(ctx: &mut Ctx<'_>, s: &InetSocket, a: &Args) -> SysResult {
    let addr = inet_addr::read(ctx, a.addr(1), a.i32(2), s.family, Purpose::Bind)?
        .ok_or(Errno::EAFNOSUPPORT)?;
    if s.kind == Kind::Stream {
        crate::landlock::port_check(ctx.proc, ll::ACCESS_NET_BIND_TCP, addr.port())?;
    }
    let privileged = ctx.proc.cred.caps.has(CAP_NET_BIND_SERVICE);
    s.net.bind(s.id, addr, privileged)?;
    Ok(0)
}

/// `listen(2)`.
pub(crate) fn listen(ctx: &mut Ctx<'_>, s: &InetSocket, a: &Args) -> SysResult {
    s.net.listen(s.id, a.u32(1))?;
    ctx.wake(WaitKey::File(s.wait_id()));
    Ok(0)
}

/// `connect(2)`: a blocking stream connect waits until it is accepted into the
/// listener's queue (or refused).
pub(crate) fn connect(ctx: &mut Ctx<'_>, f: &FileRef, s: &InetSocket, a: &Args) -> SysResult {
    let addr = inet_addr::read(ctx, a.addr(1), a.i32(2), s.family, Purpose::Connect)?;
    if let (Kind::Stream, Some(to)) = (s.kind, addr) {
        crate::landlock::port_check(ctx.proc, ll::ACCESS_NET_CONNECT_TCP, to.port())?;
    }
    match s.net.connect(s.id, addr, nonblocking(f)) {
        Ok(()) => Ok(0),
        // Linux's inet_wait_for_connect: a connect that times out goes on by itself.
        Err(Errno::EAGAIN) => Err(wait(ctx, f, s, SO_SNDTIMEO).unwrap_or(Errno::EINPROGRESS)),
        Err(e) => Err(e),
    }
}

/// `accept(2)` and `accept4(2)`.
pub(crate) fn accept(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &InetSocket,
    a: &Args,
    flags: u32,
) -> SysResult {
    crate::fs::check_free_fd(ctx)?;
    let end = match s.net.accept(s.id) {
        Ok(end) => end,
        Err(Errno::EAGAIN) if !nonblocking(f) => {
            return Err(wait(ctx, f, s, SO_RCVTIMEO).unwrap_or(Errno::EAGAIN));
        }
        Err(e) => return Err(e),
    };
    let end = Arc::new(s.accepted(end)?);
    if !a.addr(1).is_null() {
        let info = s.net.info(end.id)?;
        let name = inet_addr::bytes(info.peer, end.family);
        super::addr::write_raw(ctx, a.addr(1), a.addr(2), &name)?;
    }
    let nf = open(ctx, end, flags & SOCK_NONBLOCK != 0);
    Ok(install(ctx, nf, flags & SOCK_CLOEXEC != 0)? as u64)
}

/// `getsockname(2)`.
pub(crate) fn getsockname(ctx: &mut Ctx<'_>, s: &InetSocket, a: &Args) -> SysResult {
    let info = s.net.info(s.id)?;
    let name = inet_addr::bytes(info.local, s.family);
    super::addr::write_raw(ctx, a.addr(1), a.addr(2), &name)?;
    Ok(0)
}

/// `getpeername(2)`: `ENOTCONN` without a peer.
pub(crate) fn getpeername(ctx: &mut Ctx<'_>, s: &InetSocket, a: &Args) -> SysResult {
    let info = s.net.info(s.id)?;
    let peer = info
        .peer
        .filter(|_| info.connected)
        .ok_or(Errno::ENOTCONN)?;
    let name = inet_addr::bytes(Some(peer), s.family);
    super::addr::write_raw(ctx, a.addr(1), a.addr(2), &name)?;
    Ok(0)
}

/// `shutdown(2)`.
pub(crate) fn shutdown(ctx: &mut Ctx<'_>, s: &InetSocket, how: u8) -> SysResult {
    let bits = match how {
        0 => net::RCV_SHUTDOWN,
        1 => net::SEND_SHUTDOWN,
        2 => net::SHUTDOWN_MASK,
        _ => return Err(Errno::EINVAL),
    };
    let r = s.net.shutdown(s.id, bits);
    ctx.wake(WaitKey::File(s.wait_id()));
    r.map(|()| 0)
}
