//! `--net host`: the instance's inet sockets are host sockets the kernel opens and uses on
//! the guest's behalf, so a guest reaches the host's network (its 127.0.0.1 included). The
//! guest never holds a host descriptor: it holds an [`InetSocket`](crate::InetSocket) whose
//! [`SockId`] names a host socket kept here. Every host socket is non-blocking; a call that
//! would block says `EAGAIN` and the syscall layer parks the task on the socket's wait id,
//! which the kernel wakes when the host descriptor becomes ready ([`HostFd`], watched as
//! host streams are). Addresses reach this module already decoded and checked by the
//! syscall layer; options are checked here (only those listed in [`set_opt`] reach the
//! host, the others are kept as set, as on the loopback stack). `SIGPIPE` is never raised
//! by the host (`MSG_NOSIGNAL`): the syscall layer raises it for the guest.

use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use abi::Errno;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::net::{self as rn, sockopt, AddressFamily, RecvFlags, SendFlags, SocketType};

use crate::msg::{Readiness, Received, SockInfo};
use crate::{Family, Kind, Net, NetMsg, NetReply, SockId};

/// A host socket, shared by the stack and the guest's socket object (which the kernel
/// polls while tasks wait for it).
#[derive(Debug)]
pub struct HostFd {
    fd: OwnedFd,
    /// The last call that would have blocked was a send or connect: wait for writability.
    want_write: AtomicBool,
}

impl HostFd {
    /// The descriptor and whether a waiter wants to write (else to read).
    pub fn watch(&self) -> (BorrowedFd<'_>, bool) {
        (self.fd.as_fd(), self.want_write.load(Ordering::Relaxed))
    }
}

/// A host socket as [`SockInfo`](crate::SockInfo) carries it to the socket object (equal
/// to any other: it is not part of what a record compares).
#[derive(Clone, Debug, Default)]
pub struct HostHandle(pub Option<Arc<HostFd>>);

impl PartialEq for HostHandle {
    fn eq(&self, _: &HostHandle) -> bool {
        true
    }
}

impl Eq for HostHandle {}

/// One guest socket's host side.
#[derive(Debug)]
pub(crate) struct HostSock {
    pub(crate) fd: Arc<HostFd>,
    family: Family,
    kind: Kind,
    wait: u64,
    /// The creator's uid (`/proc/net`).
    uid: u32,
    /// A stream connect is under way.
    connecting: bool,
    listening: bool,
    /// Options kept as set.
    other: std::collections::BTreeMap<(i32, i32), Vec<u8>>,
    /// Moves when the readiness seen changes, or after a call found nothing to do
    /// (edge-triggered `epoll` waits for the next such edge).
    seq: u64,
    /// The readiness last seen (readable, writable, hangup, error bits).
    last: u8,
    /// A call said `EAGAIN` since readiness was last seen.
    drained: bool,
}

fn herr(e: rustix::io::Errno) -> Errno {
    Errno::from_host(e.raw_os_error())
}

fn sockaddr(a: Option<rn::SocketAddrAny>) -> Option<SocketAddr> {
    match a? {
        rn::SocketAddrAny::V4(a) => Some(SocketAddr::V4(a)),
        rn::SocketAddrAny::V6(a) => Some(SocketAddr::V6(a)),
        _ => None,
    }
}

fn would_block(e: Errno) -> bool {
    e == Errno::EAGAIN
}

impl Net {
    fn host(&mut self, id: SockId) -> Result<&mut HostSock, Errno> {
        self.host_socks.get_mut(&id).ok_or(Errno::EBADF)
    }
}

/// Handles `msg` in `--net host` mode.
pub(crate) fn handle(net: &mut Net, msg: NetMsg) -> NetReply {
    let r = match msg {
        NetMsg::Socket {
            family,
            kind,
            uid,
            wait,
        } => socket(net, family, kind, uid, wait).map(NetReply::Sock),
        NetMsg::Bind {
            id,
            addr,
            privileged,
        } => net
            .host(id)
            .and_then(|s| {
                // The guest's privilege, not uml's, decides who binds a low port.
                if !privileged && (1..1024).contains(&addr.port()) {
                    return Err(Errno::EACCES);
                }
                rn::bind(&s.fd.fd, &addr).map_err(herr)
            })
            .map(|()| NetReply::Done),
        NetMsg::Listen { id, backlog } => net.host(id).and_then(|s| {
            let b = i32::try_from(backlog.min(crate::SOMAXCONN)).unwrap_or(128);
            rn::listen(&s.fd.fd, b).map_err(herr)?;
            s.listening = true;
            Ok(NetReply::Done)
        }),
        NetMsg::Connect { id, addr, nonblock } => net
            .host(id)
            .and_then(|s| connect(s, addr, nonblock))
            .map(|()| NetReply::Done),
        NetMsg::Accept { id } => accept(net, id).map(NetReply::Sock),
        NetMsg::Send { id, data, to, more } => net.host(id).and_then(|s| {
            let mut fl = SendFlags::NOSIGNAL | SendFlags::DONTWAIT;
            if more {
                fl |= SendFlags::MORE;
            }
            let r = match to {
                Some(a) if s.kind.is_dgram() => rn::sendto(&s.fd.fd, &data, fl, &a),
                _ => rn::send(&s.fd.fd, &data, fl),
            };
            let r = r.map_err(herr);
            if r.is_err_and(would_block) {
                s.fd.want_write.store(true, Ordering::Relaxed);
                s.drained = true;
            }
            r.map(NetReply::Sent)
        }),
        NetMsg::Recv { id, max, peek } => net
            .host(id)
            .and_then(|s| recv(s, max, peek))
            .map(NetReply::Received),
        NetMsg::Shutdown { id, how } => net.host(id).and_then(|s| {
            let h = match how {
                crate::RCV_SHUTDOWN => rn::Shutdown::Read,
                crate::SEND_SHUTDOWN => rn::Shutdown::Write,
                _ => rn::Shutdown::ReadWrite,
            };
            rn::shutdown(&s.fd.fd, h)
                .map_err(herr)
                .map(|()| NetReply::Done)
        }),
        NetMsg::SetOpt {
            id,
            level,
            name,
            value,
        } => net
            .host(id)
            .and_then(|s| set_opt(s, level, name, value))
            .map(|()| NetReply::Done),
        NetMsg::GetOpt { id, level, name } => net
            .host(id)
            .map(|s| NetReply::Opt(s.other.get(&(level, name)).cloned())),
        NetMsg::TcpInfo { id } => net.host(id).map(|s| {
            NetReply::Opt(Some(
                crate::host_ifaces::tcp_info(&s.fd.fd, s.family)
                    .unwrap_or_else(crate::tcpinfo::unconnected),
            ))
        }),
        NetMsg::Interfaces => Ok(NetReply::Interfaces(crate::host_ifaces::read())),
        NetMsg::TakeError { id } => net.host(id).map(|s| {
            NetReply::Error(match sockopt::get_socket_error(&s.fd.fd) {
                Ok(Err(e)) => Some(herr(e)),
                _ => None,
            })
        }),
        NetMsg::Info { id } => net.host(id).map(|s| NetReply::Info(info(s))),
        NetMsg::Poll { id } => net.host(id).map(|s| NetReply::Poll(seen(s))),
        NetMsg::Close { id } => {
            net.host_socks.remove(&id);
            Ok(NetReply::Done)
        }
        // Host sockets wake their waiters through the kernel's watch of their descriptors,
        // and netlink and /proc/net are the loopback stack's.
        m @ (NetMsg::TakeReady
        | NetMsg::NetlinkBind { .. }
        | NetMsg::NetlinkRelease { .. }
        | NetMsg::ProcNet { .. }) => return crate::msg::handle(net, m),
    };
    r.unwrap_or_else(NetReply::Err)
}

fn socket(net: &mut Net, family: Family, kind: Kind, uid: u32, wait: u64) -> Result<SockId, Errno> {
    let af = match family {
        Family::V4 => AddressFamily::INET,
        Family::V6 => AddressFamily::INET6,
    };
    let icmp = match family {
        Family::V4 => rn::ipproto::ICMP,
        Family::V6 => rn::ipproto::ICMPV6,
    };
    let (ty, proto) = match kind {
        Kind::Stream => (SocketType::STREAM, None),
        Kind::Dgram => (SocketType::DGRAM, None),
        Kind::Ping => (SocketType::DGRAM, Some(icmp)),
        Kind::Raw => (SocketType::RAW, Some(icmp)),
    };
    let fd = rn::socket_with(
        af,
        ty,
        rn::SocketFlags::NONBLOCK | rn::SocketFlags::CLOEXEC,
        proto,
    )
    .map_err(herr)?;
    Ok(insert(net, fd, family, kind, (uid, wait)))
}

fn insert(
    net: &mut Net,
    fd: OwnedFd,
    family: Family,
    kind: Kind,
    (uid, wait): (u32, u64),
) -> SockId {
    net.next += 1;
    let id = SockId(net.next);
    net.host_socks.insert(
        id,
        HostSock {
            fd: Arc::new(HostFd {
                fd,
                want_write: AtomicBool::new(false),
            }),
            family,
            kind,
            wait,
            uid,
            connecting: false,
            listening: false,
            other: Default::default(),
            seq: 0,
            last: 0,
            drained: false,
        },
    );
    id
}

/// `connect(2)`: a blocking one says `EAGAIN` until the host's connect completes. A
/// connect under way is asked of the host again, which answers as Linux does
/// (`EALREADY`, then 0 or the failure, then `EISCONN`).
fn connect(s: &mut HostSock, addr: Option<SocketAddr>, nonblock: bool) -> Result<(), Errno> {
    if s.connecting {
        let r = match addr {
            Some(a) => rn::connect(&s.fd.fd, &a).map_err(herr),
            None => Err(Errno::EALREADY),
        };
        return match r {
            Err(Errno::EALREADY | Errno::EINPROGRESS) => {
                s.fd.want_write.store(true, Ordering::Relaxed);
                s.drained = true;
                Err(if nonblock {
                    Errno::EALREADY
                } else {
                    Errno::EAGAIN
                })
            }
            Err(Errno::EISCONN) if !nonblock => {
                s.connecting = false;
                Ok(())
            }
            r => {
                s.connecting = false;
                r
            }
        };
    }
    let r = match addr {
        Some(a) => rn::connect(&s.fd.fd, &a),
        None => rn::connect_unspec(&s.fd.fd),
    };
    match r.map_err(herr) {
        Err(Errno::EINPROGRESS) if s.kind == Kind::Stream => {
            s.connecting = true;
            s.fd.want_write.store(true, Ordering::Relaxed);
            Err(if nonblock {
                Errno::EINPROGRESS
            } else {
                Errno::EAGAIN
            })
        }
        r => r,
    }
}

fn accept(net: &mut Net, id: SockId) -> Result<SockId, Errno> {
    let (family, uid, wait_fd) = {
        let s = net.host(id)?;
        (s.family, s.uid, s.fd.clone())
    };
    match rn::accept_with(
        &wait_fd.fd,
        rn::SocketFlags::NONBLOCK | rn::SocketFlags::CLOEXEC,
    ) {
        Ok(fd) => {
            let wait = vfs::new_wait_id();
            Ok(insert(net, fd, family, Kind::Stream, (uid, wait)))
        }
        Err(e) => {
            wait_fd.want_write.store(false, Ordering::Relaxed);
            if let Ok(s) = net.host(id) {
                s.drained = true;
            }
            Err(herr(e))
        }
    }
}

/// The most one receive takes from a host socket (a guest's huge buffer must not make the
/// kernel allocate as much; a stream read returns less, a datagram is never longer).
const RECV_MAX: usize = 1 << 20;

fn recv(s: &mut HostSock, max: usize, peek: bool) -> Result<Received, Errno> {
    let max = max.min(RECV_MAX);
    let mut buf = vec![0u8; max];
    let mut fl = RecvFlags::DONTWAIT;
    if peek {
        fl |= RecvFlags::PEEK;
    }
    if s.kind.is_dgram() {
        fl |= RecvFlags::TRUNC;
    }
    match rn::recvfrom(&s.fd.fd, &mut buf, fl) {
        Ok((n, from)) => {
            let got = n.min(max);
            buf.truncate(got);
            Ok(Received {
                data: buf,
                full_len: n,
                from: if s.kind.is_dgram() {
                    sockaddr(from)
                } else {
                    None
                },
                controls: Vec::new(),
            })
        }
        Err(e) => {
            if e == rustix::io::Errno::AGAIN {
                s.fd.want_write.store(false, Ordering::Relaxed);
                s.drained = true;
            }
            Err(herr(e))
        }
    }
}

fn int(v: &[u8]) -> Result<i32, Errno> {
    Ok(i32::from_ne_bytes(
        v.get(..4)
            .ok_or(Errno::EINVAL)?
            .try_into()
            .map_err(|_| Errno::EINVAL)?,
    ))
}

/// The options that reach the host socket; the others are kept as set. The syscall
/// layer checked the levels, names and lengths.
fn set_opt(s: &mut HostSock, level: i32, name: i32, value: Vec<u8>) -> Result<(), Errno> {
    use abi::net::*;
    let fd = &s.fd.fd;
    let r = match (level, name) {
        (SOL_SOCKET, SO_REUSEADDR) => sockopt::set_socket_reuseaddr(fd, int(&value)? != 0),
        (SOL_SOCKET, SO_REUSEPORT) => sockopt::set_socket_reuseport(fd, int(&value)? != 0),
        (SOL_SOCKET, SO_KEEPALIVE) => sockopt::set_socket_keepalive(fd, int(&value)? != 0),
        // The syscall layer doubled the value as Linux does; so will the host.
        (SOL_SOCKET, SO_SNDBUF) => {
            sockopt::set_socket_send_buffer_size(fd, int(&value)?.max(0) as usize / 2)
        }
        (SOL_SOCKET, SO_RCVBUF) => {
            sockopt::set_socket_recv_buffer_size(fd, int(&value)?.max(0) as usize / 2)
        }
        (SOL_SOCKET, SO_BROADCAST) => sockopt::set_socket_broadcast(fd, int(&value)? != 0),
        (IPPROTO_TCP, TCP_NODELAY) => sockopt::set_tcp_nodelay(fd, int(&value)? != 0),
        (IPPROTO_IPV6, IPV6_V6ONLY) => sockopt::set_ipv6_v6only(fd, int(&value)? != 0),
        _ => Ok(()),
    };
    r.map_err(herr)?;
    s.other.insert((level, name), value);
    Ok(())
}

/// Readiness now, its sequence number moved on an edge.
fn seen(s: &mut HostSock) -> Readiness {
    let mut r = readiness(s);
    let bits = u8::from(r.readable)
        | u8::from(r.writable) << 1
        | u8::from(r.hangup) << 2
        | u8::from(r.error) << 3;
    if bits != s.last || s.drained && bits != 0 {
        s.seq += 1;
        s.drained = false;
    }
    s.last = bits;
    r.seq = s.seq;
    r
}

fn readiness(s: &HostSock) -> Readiness {
    let mut fds = [PollFd::new(
        &s.fd.fd,
        PollFlags::IN | PollFlags::OUT | PollFlags::RDHUP,
    )];
    let _ = poll(&mut fds, 0);
    let r = fds[0].revents();
    Readiness {
        readable: r.intersects(PollFlags::IN | PollFlags::RDHUP),
        writable: r.contains(PollFlags::OUT),
        hangup: r.contains(PollFlags::HUP),
        error: r.contains(PollFlags::ERR),
        rdhup: r.contains(PollFlags::RDHUP),
        seq: 0,
    }
}

fn info(s: &HostSock) -> SockInfo {
    let fd = &s.fd.fd;
    let local = rn::getsockname(fd).ok().and_then(|a| sockaddr(Some(a)));
    let peer = rn::getpeername(fd).ok().and_then(sockaddr);
    let local = local.filter(|a| a.port() != 0 || !a.ip().is_unspecified());
    let opt = |k| {
        s.other
            .get(&(abi::net::SOL_SOCKET, k))
            .is_some_and(|v| int(v).is_ok_and(|v| v != 0))
    };
    SockInfo {
        family: s.family,
        kind: s.kind,
        local,
        peer,
        listening: s.listening,
        connected: peer.is_some(),
        sndbuf: sockopt::get_socket_send_buffer_size(fd).unwrap_or(0),
        rcvbuf: sockopt::get_socket_recv_buffer_size(fd).unwrap_or(0),
        reuseaddr: opt(abi::net::SO_REUSEADDR),
        reuseport: opt(abi::net::SO_REUSEPORT),
        v6only: s.family == Family::V6 && sockopt::get_ipv6_v6only(fd).unwrap_or(false),
        pending: rustix::io::ioctl_fionread(fd).map_or(0, |n| n as usize),
        wait: s.wait,
        host: HostHandle(Some(s.fd.clone())),
    }
}

/// The rows of `/proc/net/{tcp,tcp6,udp,udp6}` for the guest's host sockets of `kind` and
/// `family`: the host's own rows for them (found by the host socket's inode), with the
/// guest's uid and socket inode in place of the host's (and no kernel pointer). The host's
/// other sockets are not the guest's business and are left out. Each row is its fields after `sl`.
pub(crate) fn proc_rows(net: &Net, kind: Kind, family: Family) -> Vec<String> {
    let name = match (kind, family) {
        (Kind::Stream, Family::V4) => "tcp",
        (Kind::Stream, Family::V6) => "tcp6",
        (_, Family::V4) => "udp",
        (_, Family::V6) => "udp6",
    };
    let Ok(text) = std::fs::read_to_string(format!("/proc/net/{name}")) else {
        return Vec::new();
    };
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .filter(|f: &Vec<&str>| f.len() > 11)
        .collect();
    net.host_socks
        .values()
        .filter(|s| s.kind == kind && s.family == family)
        .filter_map(|s| {
            let ino = rustix::fs::fstat(&s.fd.fd).ok()?.st_ino.to_string();
            let f = rows.iter().find(|f| f[9] == ino)?;
            // The host kernel's socket pointer (field 11) is not shown.
            Some(format!(
                "{} {} {} {} {} {} {:>5} {:>8} {} {} 0000000000000000 {}",
                f[1],
                f[2],
                f[3],
                f[4],
                f[5],
                f[6],
                s.uid,
                f[8],
                s.wait,
                f[10],
                f.get(12..).unwrap_or_default().join(" ")
            ))
        })
        .collect()
}
