//! The network stack of a uml instance with `--net none`: a loopback network of its own.
//!
//! What it owns: every `AF_INET` and `AF_INET6` socket of the instance (by [`SockId`]) —
//! TCP, UDP, ICMP echo ("ping") and raw ICMP sockets ([`Kind`]) — its bound address and
//! port, its options that change what the stack does (`SO_REUSEADDR`, `SO_REUSEPORT`,
//! `IPV6_V6ONLY`, `SO_SNDBUF`/`SO_RCVBUF`, the receive options that ask for control
//! messages, the raw sockets' ICMP filters; the others are kept as set), its connection
//! state, its receive queue, what `MSG_MORE` held back and its pending error — and so the
//! port space, the listeners with their accept queues, the connections, the datagram
//! queues, the connections in `TIME_WAIT` and the host's ICMP echo responder (`icmp`). The only interface is `lo`:
//! 127.0.0.0/8 and `::1`. No host socket is ever created: a guest reaches other guest
//! sockets of the same instance and nothing else.
//!
//! With `--net host` ([`NetService::host`]) the inet sockets are host sockets instead
//! (the `host` module): the same messages, answered by non-blocking host calls, and a
//! socket object exposes its host descriptor ([`HostFd`]) for the kernel to watch while
//! tasks wait for it. `/proc/net/{tcp,tcp6,udp,udp6}` list the guest's host sockets (the
//! host's rows for them); `TCP_INFO` is the host's `struct tcp_info` of the socket; the
//! interfaces, addresses and routes that netlink, `/proc/net/{dev,if_inet6,route}` and
//! the `SIOCGIF*` ioctls show are the host's, read by the kernel from the host's own
//! netlink dumps when asked and encoded again, and a netlink socket that joined groups
//! receives the host's events for them (`host_ifaces`).
//!
//! Published ports (`uml run -p`) are the kernel's (`kernel::publish`): it holds the
//! client end of each relayed connection as an ordinary socket of this stack.
//!
//! It also answers what programs ask about the network: `NETLINK_ROUTE` sockets
//! ([`NetlinkSocket`], answered by [`rtnl`]: the link, address and route dumps that
//! `ip`, `getifaddrs` and `if_nameindex` read; changes refused; multicast groups joined
//! but never sent to, as nothing changes an interface), whose port ids it keeps, and the
//! interface list the syscall layer's `SIOCGIF*` ioctls read ([`Interfaces`], from
//! [`NetService::interfaces`]).
//!
//! Messages: [`NetMsg`] in, [`NetReply`] out, handled by [`Net::handle`]; both serialise
//! (serde). [`NetService`] is what the rest of the kernel holds: typed calls that build
//! the message and unpack the reply. Socket objects ([`InetSocket`]) are `vfs`
//! [`FileObject`](vfs::FileObject)s holding a [`SockId`] and the service, so reads, writes
//! and readiness go through the vfs as for pipes; closing the last descriptor sends
//! [`NetMsg::Close`]. Nothing blocks here: an operation that cannot go on says `EAGAIN`
//! and the syscall layer parks the task on the socket's wait id. Whatever makes another
//! socket ready (data queued, room made, a connection queued, a peer gone) puts that
//! socket's wait id on the ready list, which the syscall layer drains after each syscall
//! ([`NetService::take_ready`]) and wakes — closes happen in `Drop`, which has nobody to
//! return a value to.
//!
//! Why this stack: with one interface and both ends of every connection in this process,
//! there are no packets to lose, reorder or retransmit, and no window to advertise. A TCP
//! connection is therefore two byte queues (one per direction) with the states a program
//! can observe (connecting while the listener's accept queue is full, established, half
//! closed by `shutdown` or by the peer's close, reset when a socket is closed with unread
//! data), and UDP is a queue of datagrams per socket, bounded by `SO_RCVBUF`. A stream's
//! queue keeps the buffers its sends brought (`bytes::ByteQueue`), so a byte is copied
//! twice on its way, from the writer's memory and into the reader's, as by Linux, and a
//! buffer whose bytes were read is kept for a later send (`pool`); buffers
//! a program did not size grow to `tcp_rmem`/`tcp_wmem`'s maximum as Linux's autotuning
//! lets them on loopback ([`TCP_RMEM_MAX`]), so a fast writer seldom waits. A user-space
//! TCP/IP stack (smoltcp and the like) would add segmentation, checksums and timers that
//! nothing here can observe, and cost a copy per segment. A connection closed from one side first
//! leaves that side's address in `TIME_WAIT` for a minute, as Linux (`timewait`), so a
//! server restarted without `SO_REUSEADDR` gets `EADDRINUSE` there. What this does not do:
//! retransmission, congestion control, urgent data (`MSG_OOB`), netlink notifications of
//! the loopback network (a socket joins groups as on Linux, but no interface of the
//! instance ever changes: changes are refused; with `--net host` the host's events are
//! relayed, `netlink`), netlink protocols other than `NETLINK_ROUTE`, ICMP errors (port unreachable and the like are never generated;
//! `IP_RECVERR` queues nothing), raw sockets of protocols other than ICMP, multicast and
//! broadcast, segment and byte counters in `TCP_INFO` (`tcpinfo`), control messages of
//! stream receives, and (`--net none`) any interface but `lo`. Datagrams carry what their control
//! messages need (`anc`): the address they were sent to, the sender's TTL and TOS, when
//! they arrived.
//!
//! Invariants: a socket's bound port is in use by it until it is closed (or, for a port
//! picked by a failed `connect`, until the failure; for a connection closed from its side
//! first, until its `TIME_WAIT` ends); two bound sockets of one protocol
//! whose addresses overlap share a port only as `SO_REUSEADDR`/`SO_REUSEPORT` allow; a
//! connected stream socket's peer is either gone (closed) or connected back to it; a
//! socket is in at most one listener's queue (accept queue when its server end exists,
//! connect queue while the accept queue is full).
#![forbid(unsafe_code)]

mod anc;
mod bytes;
mod dgram;
mod host;
mod host_ifaces;
mod icmp;
mod ifaces;
mod msg;
mod netlink;
mod pool;
mod ports;
mod procnet;
pub mod rtnl;
mod service;
mod socket;
mod stream;
mod tcpinfo;
#[cfg(test)]
mod tests;
mod timewait;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use abi::Errno;
use serde::{Deserialize, Serialize};

pub use anc::Control;
pub use host::{HostFd, HostHandle};
pub use ifaces::{Addr, Interfaces, Link, Route};
pub use msg::{NetMsg, NetReply, Received, SockInfo};
pub use netlink::{NetlinkSocket, NlReceived, NETLINK_ROUTE};
pub use procnet::ProcNet;
pub use service::NetService;
pub use socket::InetSocket;

/// A socket of the instance's network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SockId(pub u64);

/// The address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Family {
    /// `AF_INET`.
    V4,
    /// `AF_INET6`.
    V6,
}

/// The protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// `SOCK_STREAM`, TCP.
    Stream,
    /// `SOCK_DGRAM`, UDP.
    Dgram,
    /// `SOCK_DGRAM` with `IPPROTO_ICMP` or `IPPROTO_ICMPV6`: an ICMP echo ("ping") socket.
    Ping,
    /// `SOCK_RAW` with `IPPROTO_ICMP` or `IPPROTO_ICMPV6`.
    Raw,
}

impl Kind {
    /// Whether it is a datagram protocol (all but TCP).
    pub fn is_dgram(self) -> bool {
        self != Kind::Stream
    }
}

/// `shutdown` bits (Linux's `RCV_SHUTDOWN`, `SEND_SHUTDOWN`).
pub const RCV_SHUTDOWN: u8 = 1;
/// See [`RCV_SHUTDOWN`].
pub const SEND_SHUTDOWN: u8 = 2;
/// Both.
pub const SHUTDOWN_MASK: u8 = 3;

/// `tcp_rmem[1]`: a TCP socket's initial `SO_RCVBUF`.
pub const TCP_RCVBUF: usize = 131_072;
/// `tcp_wmem[1]`: a TCP socket's initial `SO_SNDBUF`.
pub const TCP_SNDBUF: usize = 16_384;
/// `tcp_rmem[2]`: how far Linux's autotuning grows a TCP receive buffer on loopback. A
/// stream whose buffers were not set lets this much wait for its reader (and
/// [`TCP_WMEM_MAX`] more in its send buffer), so a fast writer blocks rarely.
pub const TCP_RMEM_MAX: usize = 6_291_456;
/// `tcp_wmem[2]`: see [`TCP_RMEM_MAX`].
pub const TCP_WMEM_MAX: usize = 4_194_304;
/// `rmem_default`/`wmem_default`: a UDP socket's initial buffers.
pub const UDP_BUF: usize = 212_992;
/// `net.core.somaxconn`: the largest `listen` backlog.
pub const SOMAXCONN: u32 = 4096;
/// `net.ipv4.ip_local_port_range`.
pub const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=60999;
/// What a queued datagram costs beyond its bytes (Linux counts its `skb`'s truesize).
const DGRAM_OVERHEAD: usize = 768;

/// Options that change what the stack does; the rest are kept in `other`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Opts {
    reuseaddr: bool,
    reuseport: bool,
    v6only: bool,
    sndbuf: usize,
    rcvbuf: usize,
    /// `SO_SNDBUF` or `SO_RCVBUF` was set (Linux's `SOCK_SNDBUF_LOCK`/`SOCK_RCVBUF_LOCK`):
    /// the stream's buffers no longer grow to [`TCP_RMEM_MAX`] and [`TCP_WMEM_MAX`].
    buf_locked: bool,
    /// `SO_LINGER` on with a zero timeout: close resets the connection.
    linger_zero: bool,
    /// Options with no effect here, as set: (level, name) → value.
    other: BTreeMap<(i32, i32), Vec<u8>>,
}

/// A stream socket's connection state (Linux's `sk_state`, as far as it shows).
#[derive(Clone, Debug)]
enum Tcp {
    /// Not connected (fresh, failed, or closed by a reset).
    Closed,
    /// Listening.
    Listen {
        backlog: u32,
        /// Connections whose server end exists, oldest first.
        accept: VecDeque<SockId>,
        /// Clients waiting for room in `accept` (their SYN was dropped).
        waiting: VecDeque<SockId>,
    },
    /// Waiting for room in this listener's accept queue.
    SynSent(SockId),
    /// Connected; `None` once the peer is closed.
    Established(Option<SockId>),
}

/// What a socket's receive queue holds.
#[derive(Debug)]
enum Rx {
    Bytes(bytes::ByteQueue),
    Datagrams(VecDeque<anc::Datagram>),
}

/// One socket.
#[derive(Debug)]
pub(crate) struct Sock {
    family: Family,
    kind: Kind,
    /// The id its waiters sleep on.
    wait: u64,
    /// Moves whenever its waiters are woken (edge-triggered `epoll`).
    seq: u64,
    /// The creator's uid (`/proc/net`, `SO_REUSEPORT` groups).
    uid: u32,
    /// Bound address, in the socket's family.
    local: Option<SocketAddr>,
    /// Whether the port was picked by the stack (released if a `connect` fails).
    auto_port: bool,
    /// The peer's address (connected stream, or a datagram socket's default destination).
    peer: Option<SocketAddr>,
    opts: Opts,
    tcp: Tcp,
    /// `SS_CONNECTING`: a `connect` was started and not yet reported.
    connecting: bool,
    /// The peer sent its last byte (`SOCK_DONE`).
    fin: bool,
    /// It sent its FIN before the peer's: when it goes, its address lingers in
    /// `TIME_WAIT` ([`timewait`]).
    active_close: bool,
    shutdown: u8,
    error: Option<Errno>,
    rx: Rx,
    rx_bytes: usize,
    /// Bytes sent with `MSG_MORE` and held back: a stream's until a send without it (or a
    /// segment's worth, or the end of sending), a datagram's until the send that ends it.
    cork: Vec<u8>,
    /// Where the corked datagram goes.
    cork_to: Option<SocketAddr>,
}

/// The instance's network: every inet socket and the ready list.
#[derive(Debug, Default)]
pub struct Net {
    socks: BTreeMap<SockId, Sock>,
    next: u64,
    /// Where the next ephemeral port search starts.
    next_port: u16,
    /// Wait ids to wake.
    ready: Vec<u64>,
    /// `--net host`: inet sockets are host sockets ([`host`]).
    host_mode: bool,
    /// The host sockets, in host mode.
    host_socks: BTreeMap<SockId, host::HostSock>,
    /// Netlink port ids in use.
    nl_ports: std::collections::BTreeSet<u32>,
    /// Where the next netlink autobind search starts (counts down from -4096).
    nl_rover: u32,
    /// The IP identification of the last packet an IPv4 raw socket saw.
    ip_id: u16,
    /// Connections closed from this side first whose address is still taken.
    time_wait: VecDeque<timewait::TimeWait>,
}

impl Net {
    /// Handles one message.
    pub fn handle(&mut self, msg: NetMsg) -> NetReply {
        if self.host_mode {
            return host::handle(self, msg);
        }
        msg::handle(self, msg)
    }

    /// Whether some wait id is on the ready list.
    fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    fn sock(&self, id: SockId) -> Result<&Sock, Errno> {
        self.socks.get(&id).ok_or(Errno::EBADF)
    }

    fn sock_mut(&mut self, id: SockId) -> Result<&mut Sock, Errno> {
        self.socks.get_mut(&id).ok_or(Errno::EBADF)
    }

    /// Wakes the waiters of `id`.
    fn wake(&mut self, id: SockId) {
        if let Some(s) = self.socks.get_mut(&id) {
            s.seq += 1;
            self.ready.push(s.wait);
        }
    }

    /// Takes netlink port `want`, or (0) the process's id `tgid` if free, else the next
    /// free one counting down from -4096, as Linux's `netlink_autobind`.
    fn netlink_bind(&mut self, want: u32, tgid: u32) -> Result<u32, Errno> {
        if want != 0 {
            return if self.nl_ports.insert(want) {
                Ok(want)
            } else {
                Err(Errno::EADDRINUSE)
            };
        }
        if tgid != 0 && self.nl_ports.insert(tgid) {
            return Ok(tgid);
        }
        for _ in 0..1 << 20 {
            if self.nl_rover == 0 || self.nl_rover > (-4096i32) as u32 {
                self.nl_rover = (-4096i32) as u32;
            }
            let p = self.nl_rover;
            self.nl_rover -= 1;
            if self.nl_ports.insert(p) {
                return Ok(p);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// A new socket.
    fn create(&mut self, family: Family, kind: Kind, uid: u32, wait: u64) -> SockId {
        self.next += 1;
        let id = SockId(self.next);
        let (sndbuf, rcvbuf) = match kind {
            Kind::Stream => (TCP_SNDBUF, TCP_RCVBUF),
            _ => (UDP_BUF, UDP_BUF),
        };
        let sock = Sock {
            family,
            kind,
            wait,
            seq: 0,
            uid,
            local: (kind == Kind::Raw).then(|| icmp::raw_name(family)),
            auto_port: false,
            peer: None,
            opts: Opts {
                // INET_PROTOSW_REUSE: ICMP sockets share their ports unless told not to.
                reuseaddr: matches!(kind, Kind::Ping | Kind::Raw),
                reuseport: false,
                v6only: false,
                sndbuf,
                rcvbuf,
                buf_locked: false,
                linger_zero: false,
                other: BTreeMap::new(),
            },
            tcp: Tcp::Closed,
            connecting: false,
            fin: false,
            active_close: false,
            shutdown: 0,
            error: None,
            rx: match kind {
                Kind::Stream => Rx::Bytes(bytes::ByteQueue::default()),
                _ => Rx::Datagrams(VecDeque::new()),
            },
            rx_bytes: 0,
            cork: Vec::new(),
            cork_to: None,
        };
        self.socks.insert(id, sock);
        id
    }

    /// Queues datagram `d` on `id` and wakes it, unless its `SO_RCVBUF` is full (then the
    /// datagram is dropped, as Linux drops it).
    fn enqueue(&mut self, id: SockId, d: anc::Datagram) {
        let Ok(r) = self.sock_mut(id) else { return };
        let cost = d.data.len() + DGRAM_OVERHEAD;
        if r.rx_bytes + cost > r.opts.rcvbuf {
            return;
        }
        if let Rx::Datagrams(q) = &mut r.rx {
            q.push_back(d);
        }
        r.rx_bytes += cost;
        self.wake(id);
    }

    /// The socket goes (its last descriptor was closed).
    fn close(&mut self, id: SockId) {
        if self.sock(id).is_ok_and(|s| s.kind == Kind::Stream) {
            stream::close(self, id);
        }
        self.socks.remove(&id);
    }
}
