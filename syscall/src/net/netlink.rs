//! `AF_NETLINK` sockets: `NETLINK_ROUTE` only (the `net` crate's `NetlinkSocket` and its
//! `rtnl` answers). This layer decodes and checks the guest's arguments: `struct
//! sockaddr_nl` (12 bytes, `nl_family` `AF_NETLINK`), message buffers, options. A
//! receive on an empty queue blocks until a datagram comes (with `--net host`, an event
//! of the host's for the groups joined; a message queue's notification) or a signal, or
//! says `EAGAIN` when non-blocking.

use abi::flags::OFlags;
use abi::net::{
    AF_NETLINK, MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, SOCK_DGRAM, SOCK_RAW, SOL_SOCKET, SO_DOMAIN,
    SO_ERROR, SO_PROTOCOL, SO_RCVBUF, SO_SNDBUF, SO_TYPE,
};
use abi::structs::IoVec;
use abi::{Errno, SysResult, UserAddr};
use net::NetlinkSocket;
use vfs::{Arc, FileObject, FileRef};

use super::msg::read_msghdr;
use super::{install, SOCK_CLOEXEC, SOCK_NONBLOCK};
use crate::caps::{CAP_NET_ADMIN, CAP_NET_BROADCAST};
use crate::{Args, Ctx, WaitKey};

/// `SOL_NETLINK`.
const SOL_NETLINK: i32 = 270;
/// `NETLINK_ADD_MEMBERSHIP`, `NETLINK_DROP_MEMBERSHIP`.
const NETLINK_ADD_MEMBERSHIP: i32 = 1;
const NETLINK_DROP_MEMBERSHIP: i32 = 2;
/// `NETLINK_LISTEN_ALL_NSID` (`CAP_NET_BROADCAST`).
const NETLINK_LISTEN_ALL_NSID: i32 = 8;
/// `NETLINK_LIST_MEMBERSHIPS` (read only).
const NETLINK_LIST_MEMBERSHIPS: i32 = 9;
/// The on/off options both set and read: `NETLINK_PKTINFO`, `NETLINK_BROADCAST_ERROR`,
/// `NETLINK_NO_ENOBUFS`, `NETLINK_CAP_ACK`, `NETLINK_EXT_ACK`, `NETLINK_GET_STRICT_CHK`
/// (the memory-mapped rings, 6 and 7, are gone from Linux: `ENOPROTOOPT`).
const FLAG_OPTS: [i32; 6] = [3, 4, 5, 10, 11, 12];
/// `SO_RCVBUFFORCE`, `SO_SNDBUFFORCE`.
const SO_SNDBUFFORCE: i32 = 32;
const SO_RCVBUFFORCE: i32 = 33;
/// `MAX_LINKS`: netlink protocols are below it.
const MAX_LINKS: i32 = 32;
/// `sizeof(struct sockaddr_nl)`.
const SOCKADDR_NL: usize = 12;

/// The netlink socket behind `f`, if it is one.
pub(crate) fn netlink_of(f: &FileRef) -> Option<Arc<NetlinkSocket>> {
    let any: Arc<dyn std::any::Any + Send + Sync> = f.object()?.clone();
    any.downcast::<NetlinkSocket>().ok()
}

/// The netlink socket open at `fd`, if it is one (`EBADF` for a bad descriptor).
pub(crate) fn nl_sock(
    ctx: &Ctx<'_>,
    fd: i32,
) -> Result<Option<(FileRef, Arc<NetlinkSocket>)>, Errno> {
    let f = super::socket_file(ctx, fd)?;
    Ok(netlink_of(&f).map(|s| (f, s)))
}

/// `socket(AF_NETLINK, ty, protocol)`.
pub(crate) fn socket(ctx: &mut Ctx<'_>, ty: u32, protocol: i32) -> SysResult {
    let base = ty & super::SOCK_TYPE_MASK;
    if base != SOCK_RAW && base != SOCK_DGRAM {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    if !(0..MAX_LINKS).contains(&protocol) {
        return Err(Errno::EPROTONOSUPPORT);
    }
    crate::fs::check_free_fd(ctx)?;
    let owner = (ctx.proc.cred.euid, ctx.proc.cred.egid);
    let tgid = u32::try_from(ctx.proc.pid).unwrap_or(0);
    let s = NetlinkSocket::new(&ctx.procs.net, base, protocol, tgid, owner)?;
    let mut fl = OFlags::RDWR;
    if ty & SOCK_NONBLOCK != 0 {
        fl |= OFlags::NONBLOCK;
    }
    let obj: Arc<dyn FileObject> = Arc::new(s);
    let f = ctx.vfs.open_object(obj, fl);
    Ok(install(ctx, f, ty & SOCK_CLOEXEC != 0)? as u64)
}

/// Reads a `struct sockaddr_nl`: (port id, groups).
fn read_addr(ctx: &mut Ctx<'_>, at: UserAddr, len: i32) -> Result<(u32, u32), Errno> {
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    if len < SOCKADDR_NL {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; SOCKADDR_NL];
    ctx.copy_in(at, &mut b)?;
    if u16::from_ne_bytes([b[0], b[1]]) != AF_NETLINK {
        return Err(Errno::EINVAL);
    }
    let port = u32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
    let groups = u32::from_ne_bytes([b[8], b[9], b[10], b[11]]);
    Ok((port, groups))
}

/// A `struct sockaddr_nl`.
fn addr_bytes(port: u32, groups: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(SOCKADDR_NL);
    b.extend_from_slice(&AF_NETLINK.to_ne_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&port.to_ne_bytes());
    b.extend_from_slice(&groups.to_ne_bytes());
    b
}

/// `bind(2)`.
pub(crate) fn bind(ctx: &mut Ctx<'_>, s: &NetlinkSocket, a: &Args) -> SysResult {
    let (port, groups) = read_addr(ctx, a.addr(1), a.i32(2))?;
    s.bind(port, groups)?;
    Ok(0)
}

/// `connect(2)`: only to the kernel (port 0); binds the socket if it is not.
pub(crate) fn connect(ctx: &mut Ctx<'_>, s: &NetlinkSocket, a: &Args) -> SysResult {
    let len = usize::try_from(a.i32(2)).map_err(|_| Errno::EINVAL)?;
    if len >= 2 {
        let fam: u16 = ctx.read_val(a.addr(1))?;
        if fam == abi::net::AF_UNSPEC {
            return Ok(0);
        }
    }
    let (port, _) = read_addr(ctx, a.addr(1), a.i32(2))?;
    if port != 0 {
        return Err(Errno::ECONNREFUSED);
    }
    s.ensure_bound()?;
    Ok(0)
}

/// `getsockname(2)`.
pub(crate) fn getsockname(ctx: &mut Ctx<'_>, s: &NetlinkSocket, a: &Args) -> SysResult {
    let (port, groups) = s.name();
    super::addr::write_raw(ctx, a.addr(1), a.addr(2), &addr_bytes(port, groups))?;
    Ok(0)
}

/// `getpeername(2)`: the kernel.
pub(crate) fn getpeername(ctx: &mut Ctx<'_>, _s: &NetlinkSocket, a: &Args) -> SysResult {
    super::addr::write_raw(ctx, a.addr(1), a.addr(2), &addr_bytes(0, 0))?;
    Ok(0)
}

/// Sends the guest ranges `iovs` to the kernel (`to`: the destination, if one was named).
fn send(ctx: &mut Ctx<'_>, s: &NetlinkSocket, iovs: &[IoVec], to: Option<(u32, u32)>) -> SysResult {
    if let Some((port, groups)) = to {
        if port != 0 || groups != 0 {
            // Another socket, or a multicast group: nothing listens there.
            return Err(if groups != 0 {
                Errno::EPERM
            } else {
                Errno::ECONNREFUSED
            });
        }
    }
    let total: u64 = iovs.iter().map(|v| v.len).sum();
    if total > s.bufs().1 as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut data = vec![0u8; total as usize];
    let mut off = 0;
    for v in iovs {
        let k = v.len as usize;
        ctx.copy_in(UserAddr(v.base), &mut data[off..off + k])?;
        off += k;
    }
    let admin = ctx.proc.cred.caps.has(CAP_NET_ADMIN);
    let n = s.send(&data, admin)?;
    ctx.wake(WaitKey::File(s.wait_id()));
    Ok(n as u64)
}

/// Receives one datagram into the guest ranges `iovs`: (return value, truncated).
fn recv(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &NetlinkSocket,
    iovs: &[IoVec],
    flags: u32,
) -> Result<(u64, bool), Errno> {
    let total: u64 = iovs.iter().map(|v| v.len).sum();
    let max = total.min(i32::MAX as u64) as usize;
    let r = match s.recv(max, flags & MSG_PEEK != 0) {
        Ok(r) => r,
        Err(Errno::EAGAIN)
            if flags & MSG_DONTWAIT == 0 && !f.flags().contains(OFlags::NONBLOCK) =>
        {
            return Err(ctx.block_on_file(f));
        }
        Err(e) => return Err(e),
    };
    let mut off = 0;
    for v in iovs {
        let k = (v.len as usize).min(r.data.len() - off);
        if k == 0 {
            continue;
        }
        ctx.copy_out(UserAddr(v.base), &r.data[off..off + k])?;
        off += k;
    }
    let trunc = r.full_len > r.data.len();
    let ret = if flags & MSG_TRUNC != 0 {
        r.full_len
    } else {
        r.data.len()
    };
    Ok((ret as u64, trunc))
}

/// `sendto(2)`.
pub(crate) fn sendto(ctx: &mut Ctx<'_>, s: &NetlinkSocket, a: &Args) -> SysResult {
    let len = a.len(2).min(i32::MAX as u64);
    Ctx::access_ok(a.addr(1), len)?;
    let to = if a.addr(4).is_null() {
        None
    } else {
        Some(read_addr(ctx, a.addr(4), a.i32(5))?)
    };
    let iov = [IoVec {
        base: a.addr(1).0,
        len,
    }];
    send(ctx, s, &iov, to)
}

/// `sendmsg(2)`.
pub(crate) fn sendmsg(ctx: &mut Ctx<'_>, s: &NetlinkSocket, a: &Args) -> SysResult {
    let (m, iovs) = read_msghdr(ctx, a.addr(1))?;
    let to = if m.name != 0 {
        Some(read_addr(ctx, UserAddr(m.name), m.namelen as i32)?)
    } else {
        None
    };
    send(ctx, s, &iovs, to)
}

/// `recvfrom(2)`: the sender is the kernel.
pub(crate) fn recvfrom(ctx: &mut Ctx<'_>, f: &FileRef, s: &NetlinkSocket, a: &Args) -> SysResult {
    let len = a.len(2).min(i32::MAX as u64);
    Ctx::access_ok(a.addr(1), len)?;
    let iov = [IoVec {
        base: a.addr(1).0,
        len,
    }];
    let (ret, _) = recv(ctx, f, s, &iov, a.u32(3))?;
    if !a.addr(4).is_null() {
        super::addr::write_raw(ctx, a.addr(4), a.addr(5), &addr_bytes(0, 0))?;
    }
    Ok(ret)
}

/// `recvmsg(2)`: no control data; `MSG_TRUNC` in `msg_flags` when the datagram was cut.
pub(crate) fn recvmsg(ctx: &mut Ctx<'_>, f: &FileRef, s: &NetlinkSocket, a: &Args) -> SysResult {
    let (m, iovs) = read_msghdr(ctx, a.addr(1))?;
    let (ret, trunc) = recv(ctx, f, s, &iovs, a.u32(2))?;
    let mut m2 = m;
    if m.name != 0 {
        let from = addr_bytes(0, 0);
        let k = (m.namelen as usize).min(from.len());
        if k > 0 {
            ctx.copy_out(UserAddr(m.name), &from[..k])?;
        }
        m2.namelen = from.len() as u32;
    }
    m2.controllen = 0;
    m2.flags = if trunc { MSG_TRUNC as i32 } else { 0 };
    ctx.write_val(a.addr(1), &m2)?;
    Ok(ret)
}

/// `setsockopt(2)`: buffer sizes, multicast groups, and the other `SOL_NETLINK` options
/// (kept, no effect), as Linux's `netlink_setsockopt` checks them.
pub(crate) fn setsockopt(ctx: &mut Ctx<'_>, s: &NetlinkSocket, a: &Args) -> SysResult {
    let (level, name, at, len) = (a.i32(1), a.i32(2), a.addr(3), a.i32(4));
    match level {
        SOL_SOCKET => {
            if len < 4 {
                return Err(Errno::EINVAL);
            }
            let v: i32 = ctx.read_val(at)?;
            match name {
                SO_RCVBUF | SO_RCVBUFFORCE => s.set_buf(true, v.max(0) as usize),
                SO_SNDBUF | SO_SNDBUFFORCE => s.set_buf(false, v.max(0) as usize),
                _ => s.set_other(level, name, v),
            }
            return Ok(0);
        }
        SOL_NETLINK => {}
        _ => return Err(Errno::ENOPROTOOPT),
    }
    // The value is read when there is one (a short one reads as 0).
    let v: i32 = if len >= 4 { ctx.read_val(at)? } else { 0 };
    match name {
        NETLINK_ADD_MEMBERSHIP | NETLINK_DROP_MEMBERSHIP => {
            s.membership(v as u32, name == NETLINK_ADD_MEMBERSHIP)?;
            return Ok(0);
        }
        NETLINK_LISTEN_ALL_NSID if !ctx.proc.cred.caps.has(CAP_NET_BROADCAST) => {
            return Err(Errno::EPERM)
        }
        n if FLAG_OPTS.contains(&n) || n == NETLINK_LISTEN_ALL_NSID => {}
        _ => return Err(Errno::ENOPROTOOPT),
    }
    s.set_other(level, name, i32::from(v != 0));
    Ok(0)
}

/// `getsockopt(2)`.
pub(crate) fn getsockopt(ctx: &mut Ctx<'_>, s: &NetlinkSocket, a: &Args) -> SysResult {
    let (level, name, at, len_at) = (a.i32(1), a.i32(2), a.addr(3), a.addr(4));
    let ulen: i32 = ctx.read_val(len_at)?;
    if ulen < 0 {
        return Err(Errno::EINVAL);
    }
    if (level, name) == (SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS) {
        // Whole words while they fit; the length is what all of them take.
        let words = s.memberships();
        for (k, w) in words.iter().enumerate().take(ulen as usize / 4) {
            ctx.write_val(UserAddr(at.0.wrapping_add(4 * k as u64)), w)?;
        }
        ctx.write_val(len_at, &(4 * words.len() as i32))?;
        return Ok(0);
    }
    let (rcv, snd) = s.bufs();
    let v: i32 = match (level, name) {
        (SOL_SOCKET, SO_TYPE) => s.sock_type as i32,
        (SOL_SOCKET, SO_DOMAIN) => i32::from(AF_NETLINK),
        (SOL_SOCKET, SO_PROTOCOL) => s.protocol,
        (SOL_SOCKET, SO_ERROR) => s.take_error().map_or(0, |e| e as i32),
        (SOL_SOCKET, SO_RCVBUF) => rcv as i32,
        (SOL_SOCKET, SO_SNDBUF) => snd as i32,
        (SOL_SOCKET, _) => s.other(level, name),
        (SOL_NETLINK, n) if FLAG_OPTS.contains(&n) => {
            if ulen < 4 {
                return Err(Errno::EINVAL);
            }
            s.other(level, name)
        }
        _ => return Err(Errno::ENOPROTOOPT),
    };
    let b = v.to_ne_bytes();
    let k = (ulen as usize).min(4);
    ctx.copy_out(at, &b[..k])?;
    ctx.write_val(len_at, &(k as i32))?;
    Ok(0)
}
