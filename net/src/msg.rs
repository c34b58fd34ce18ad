//! The stack's messages: what the syscall layer and the socket objects ask of [`Net`].

use std::net::SocketAddr;

use abi::Errno;
use serde::{Deserialize, Serialize};

use crate::{dgram, icmp, stream, Family, Kind, Net, Rx, SockId, Tcp, SHUTDOWN_MASK};

/// A request to the network stack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetMsg {
    /// `socket(2)`: a new socket whose waiters sleep on `wait`.
    Socket {
        /// `AF_INET` or `AF_INET6`.
        family: Family,
        /// TCP or UDP.
        kind: Kind,
        /// The creator's uid.
        uid: u32,
        /// Its wait id.
        wait: u64,
    },
    /// `bind(2)` to `addr` (in the socket's family; port 0 picks one).
    Bind {
        /// The socket.
        id: SockId,
        /// The address.
        addr: SocketAddr,
        /// Whether the caller may bind ports below 1024 (`CAP_NET_BIND_SERVICE`).
        privileged: bool,
    },
    /// `listen(2)`.
    Listen {
        /// The socket.
        id: SockId,
        /// The backlog (a negative one is a huge unsigned one, as Linux reads it).
        backlog: u32,
    },
    /// `connect(2)`; `None` is `AF_UNSPEC` (a datagram socket forgets its peer).
    Connect {
        /// The socket.
        id: SockId,
        /// The peer.
        addr: Option<SocketAddr>,
        /// Non-blocking: a stream connect says `EINPROGRESS` instead of waiting.
        nonblock: bool,
    },
    /// `accept(2)`: the oldest queued connection.
    Accept {
        /// The listener.
        id: SockId,
    },
    /// Sends `data`, to `to` (datagrams) or the peer.
    Send {
        /// The socket.
        id: SockId,
        /// The bytes.
        data: Vec<u8>,
        /// The destination of a datagram.
        to: Option<SocketAddr>,
        /// `MSG_MORE`: more is coming (TCP and UDP hold the bytes back).
        more: bool,
    },
    /// Receives at most `max` bytes.
    Recv {
        /// The socket.
        id: SockId,
        /// Most bytes.
        max: usize,
        /// `MSG_PEEK`: leave them queued.
        peek: bool,
    },
    /// `shutdown(2)`: [`RCV_SHUTDOWN`](crate::RCV_SHUTDOWN) and/or
    /// [`SEND_SHUTDOWN`](crate::SEND_SHUTDOWN).
    Shutdown {
        /// The socket.
        id: SockId,
        /// The bits.
        how: u8,
    },
    /// `setsockopt(2)` of an option the syscall layer checked: (level, name) and its
    /// value.
    SetOpt {
        /// The socket.
        id: SockId,
        /// `SOL_SOCKET`, `IPPROTO_TCP`, ...
        level: i32,
        /// The option.
        name: i32,
        /// Its bytes.
        value: Vec<u8>,
    },
    /// The value an option was set to, if it was.
    GetOpt {
        /// The socket.
        id: SockId,
        /// The level.
        level: i32,
        /// The option.
        name: i32,
    },
    /// `TCP_INFO`: Linux's `struct tcp_info` (a stream socket).
    TcpInfo {
        /// The socket.
        id: SockId,
    },
    /// Takes the pending error (`SO_ERROR`).
    TakeError {
        /// The socket.
        id: SockId,
    },
    /// What the socket is (names, state, buffers).
    Info {
        /// The socket.
        id: SockId,
    },
    /// Readiness.
    Poll {
        /// The socket.
        id: SockId,
    },
    /// The last descriptor of the socket was closed.
    Close {
        /// The socket.
        id: SockId,
    },
    /// The wait ids made ready since the last time.
    TakeReady,
    /// A netlink socket takes port `port` (0: one the stack picks, `tgid` first).
    NetlinkBind {
        /// The port wanted, or 0.
        port: u32,
        /// The binding process's id.
        tgid: u32,
    },
    /// A netlink socket's port is free again.
    NetlinkRelease {
        /// The port.
        port: u32,
    },
    /// A table of `/proc/net` (`tcp`, `tcp6`, `udp`, `udp6`).
    ProcNet {
        /// The protocol.
        kind: Kind,
        /// The family.
        family: Family,
    },
    /// The interfaces, addresses and routes the instance sees.
    Interfaces,
}

/// What a socket is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SockInfo {
    /// Its family.
    pub family: Family,
    /// Its protocol.
    pub kind: Kind,
    /// Its address (`getsockname`), if bound.
    pub local: Option<SocketAddr>,
    /// Its peer's (`getpeername`), if connected.
    pub peer: Option<SocketAddr>,
    /// Listening (`SO_ACCEPTCONN`).
    pub listening: bool,
    /// Connected: a stream socket established (even if its peer has closed since), a
    /// datagram socket with a default destination.
    pub connected: bool,
    /// `SO_SNDBUF`.
    pub sndbuf: usize,
    /// `SO_RCVBUF`.
    pub rcvbuf: usize,
    /// `SO_REUSEADDR`.
    pub reuseaddr: bool,
    /// `SO_REUSEPORT`.
    pub reuseport: bool,
    /// `IPV6_V6ONLY`.
    pub v6only: bool,
    /// Bytes a read would get (`FIONREAD`): all of a stream's, the next datagram's.
    pub pending: usize,
    /// The id its waiters sleep on.
    pub wait: u64,
    /// Its host socket (`--net host`).
    #[serde(skip)]
    pub host: crate::host::HostHandle,
}

/// What one receive took.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// The bytes (none at end of file).
    pub data: Vec<u8>,
    /// The datagram's whole length (for `MSG_TRUNC`).
    pub full_len: usize,
    /// The sender (datagrams).
    pub from: Option<SocketAddr>,
    /// The control messages the socket asked for (datagrams).
    pub controls: Vec<crate::Control>,
}

/// Readiness as `poll` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// `POLLIN`.
    pub readable: bool,
    /// `POLLOUT`.
    pub writable: bool,
    /// `POLLHUP`.
    pub hangup: bool,
    /// `POLLERR`.
    pub error: bool,
    /// `POLLRDHUP`.
    pub rdhup: bool,
    /// Moves on each wake-up (edge-triggered `epoll`).
    pub seq: u64,
}

/// The stack's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetReply {
    /// Done.
    Done,
    /// Failed with this errno (`EAGAIN`: try again when the socket's wait id is woken).
    Err(Errno),
    /// A new socket (`Socket`, `Accept`).
    Sock(SockId),
    /// Bytes sent.
    Sent(usize),
    /// Bytes received.
    Received(Received),
    /// An option's value.
    Opt(Option<Vec<u8>>),
    /// The pending error.
    Error(Option<Errno>),
    /// What the socket is.
    Info(SockInfo),
    /// Readiness.
    Poll(Readiness),
    /// Wait ids to wake.
    Ready(Vec<u64>),
    /// Text.
    Text(String),
    /// A netlink port id.
    Port(u32),
    /// The interfaces, addresses and routes.
    Interfaces(crate::Interfaces),
}

fn done(r: Result<(), Errno>) -> NetReply {
    r.map_or_else(NetReply::Err, |()| NetReply::Done)
}

pub(crate) fn handle(net: &mut Net, msg: NetMsg) -> NetReply {
    let r = match msg {
        NetMsg::Socket {
            family,
            kind,
            uid,
            wait,
        } => Ok(NetReply::Sock(net.create(family, kind, uid, wait))),
        NetMsg::Bind {
            id,
            addr,
            privileged,
        } => return done(net.bind(id, addr, privileged)),
        NetMsg::Listen { id, backlog } => return done(stream::listen(net, id, backlog)),
        NetMsg::Connect { id, addr, nonblock } => {
            return done(match net.sock(id).map(|s| s.kind) {
                Ok(Kind::Stream) => stream::connect(net, id, addr, nonblock),
                Ok(_) => dgram::connect(net, id, addr),
                Err(e) => Err(e),
            })
        }
        NetMsg::Accept { id } => stream::accept(net, id).map(NetReply::Sock),
        NetMsg::Send { id, data, to, more } => match net.sock(id).map(|s| s.kind) {
            Ok(Kind::Stream) => stream::send(net, id, data, more),
            Ok(Kind::Dgram) => dgram::send(net, id, &data, to, more),
            Ok(Kind::Ping) => icmp::ping_send(net, id, data, to),
            Ok(Kind::Raw) => icmp::raw_send(net, id, data, to),
            Err(e) => Err(e),
        }
        .map(NetReply::Sent),
        NetMsg::Recv { id, max, peek } => match net.sock(id).map(|s| s.kind) {
            Ok(Kind::Stream) => stream::recv(net, id, max, peek),
            Ok(_) => dgram::recv(net, id, max, peek),
            Err(e) => Err(e),
        }
        .map(NetReply::Received),
        NetMsg::Shutdown { id, how } => match net.sock(id).map(|s| s.kind) {
            Ok(Kind::Stream) => stream::shutdown(net, id, how),
            Ok(_) => dgram::shutdown(net, id, how),
            Err(e) => Err(e),
        }
        .map(|()| NetReply::Done),
        NetMsg::SetOpt {
            id,
            level,
            name,
            value,
        } => return done(net.set_opt(id, level, name, value)),
        NetMsg::GetOpt { id, level, name } => net
            .sock(id)
            .map(|s| NetReply::Opt(s.opts.other.get(&(level, name)).cloned())),
        NetMsg::TcpInfo { id } => net
            .sock(id)
            .map(|s| NetReply::Opt(Some(crate::tcpinfo::tcp_info(s)))),
        NetMsg::TakeError { id } => net.sock_mut(id).map(|s| NetReply::Error(s.error.take())),
        NetMsg::Info { id } => net.sock(id).map(|s| NetReply::Info(info(s))),
        NetMsg::Poll { id } => net.sock(id).map(|_| NetReply::Poll(poll(net, id))),
        NetMsg::Close { id } => {
            net.close(id);
            Ok(NetReply::Done)
        }
        NetMsg::TakeReady => Ok(NetReply::Ready(std::mem::take(&mut net.ready))),
        NetMsg::NetlinkBind { port, tgid } => net.netlink_bind(port, tgid).map(NetReply::Port),
        NetMsg::NetlinkRelease { port } => {
            net.nl_ports.remove(&port);
            Ok(NetReply::Done)
        }
        NetMsg::ProcNet { kind, family } => {
            Ok(NetReply::Text(crate::procnet::table(net, kind, family)))
        }
        NetMsg::Interfaces => Ok(NetReply::Interfaces(crate::Interfaces::loopback())),
    };
    r.unwrap_or_else(NetReply::Err)
}

fn info(s: &crate::Sock) -> SockInfo {
    let pending = match &s.rx {
        Rx::Bytes(b) => b.len(),
        Rx::Datagrams(q) => q.front().map_or(0, |d| d.data.len()),
    };
    SockInfo {
        family: s.family,
        kind: s.kind,
        local: s.local,
        peer: s.peer,
        listening: matches!(s.tcp, Tcp::Listen { .. }),
        connected: match s.kind {
            Kind::Stream => matches!(s.tcp, Tcp::Established(_)),
            _ => s.peer.is_some(),
        },
        sndbuf: s.opts.sndbuf,
        rcvbuf: s.opts.rcvbuf,
        reuseaddr: s.opts.reuseaddr,
        reuseport: s.opts.reuseport,
        v6only: s.opts.v6only,
        pending,
        wait: s.wait,
        host: crate::host::HostHandle::default(),
    }
}

/// Readiness, as Linux's `tcp_poll` and `udp_poll` report it.
fn poll(net: &Net, id: SockId) -> Readiness {
    let Ok(s) = net.sock(id) else {
        return Readiness::default();
    };
    let mut r = Readiness {
        error: s.error.is_some(),
        rdhup: s.shutdown & crate::RCV_SHUTDOWN != 0,
        seq: s.seq,
        ..Readiness::default()
    };
    let has_data = s.rx_bytes > 0 || matches!(&s.rx, Rx::Datagrams(q) if !q.is_empty());
    if s.kind.is_dgram() {
        r.readable = has_data || s.shutdown & crate::RCV_SHUTDOWN != 0;
        r.writable = true;
        r.hangup = s.shutdown == SHUTDOWN_MASK;
        return r;
    }
    match &s.tcp {
        Tcp::Listen { accept, .. } => {
            r.readable = !accept.is_empty();
            r.rdhup = false;
        }
        Tcp::SynSent(_) => {}
        tcp => {
            let closed = matches!(tcp, Tcp::Closed);
            r.hangup = closed || s.shutdown == SHUTDOWN_MASK;
            r.readable = has_data || s.shutdown & crate::RCV_SHUTDOWN != 0;
            r.writable = s.shutdown & crate::SEND_SHUTDOWN != 0 || stream::room(net, s) > 0;
        }
    }
    r
}
