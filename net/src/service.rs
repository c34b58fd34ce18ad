//! [`NetService`]: the stack as the rest of the kernel holds it — typed calls that build a
//! [`NetMsg`], hand it to [`Net::handle`] and unpack the [`NetReply`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use abi::Errno;
use parking_lot::Mutex;

use crate::msg::Readiness;
use crate::{Family, Kind, Net, NetMsg, NetReply, Received, SockId, SockInfo};

/// The instance's network stack, shared by its socket objects.
#[derive(Clone, Default)]
pub struct NetService(Arc<Shared>);

#[derive(Default)]
struct Shared {
    net: Mutex<Net>,
    /// Whether the ready list is not empty (as of the end of the last message), so that
    /// [`NetService::take_ready`], asked after every syscall, costs one load when no socket
    /// became ready.
    ready: AtomicBool,
    /// Payload buffers for reuse.
    spare: Mutex<crate::pool::BufPool>,
    /// `--net host`.
    host_mode: bool,
}

impl std::fmt::Debug for NetService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NetService")
    }
}

fn unit(r: NetReply) -> Result<(), Errno> {
    match r {
        NetReply::Err(e) => Err(e),
        _ => Ok(()),
    }
}

impl NetService {
    /// The stack of `--net host`: inet sockets are host sockets.
    pub fn host() -> NetService {
        let net = Net {
            host_mode: true,
            ..Net::default()
        };
        NetService(Arc::new(Shared {
            net: Mutex::new(net),
            host_mode: true,
            ..Shared::default()
        }))
    }

    /// Whether it is `--net host`'s stack.
    pub fn is_host(&self) -> bool {
        self.0.host_mode
    }

    /// An empty buffer for a send of `len` bytes (a reused one if there is).
    pub fn buffer(&self, len: usize) -> Vec<u8> {
        self.0.spare.lock().take(len)
    }

    /// A received buffer whose bytes were copied out, for reuse.
    pub fn recycle(&self, buf: Vec<u8>) {
        self.0.spare.lock().give(buf);
    }

    /// Sends one message.
    pub fn call(&self, msg: NetMsg) -> NetReply {
        let mut net = self.0.net.lock();
        let reply = net.handle(msg);
        self.0.ready.store(net.has_ready(), Ordering::Release);
        reply
    }

    /// `socket(2)`.
    pub fn socket(&self, family: Family, kind: Kind, uid: u32, wait: u64) -> Result<SockId, Errno> {
        match self.call(NetMsg::Socket {
            family,
            kind,
            uid,
            wait,
        }) {
            NetReply::Sock(id) => Ok(id),
            NetReply::Err(e) => Err(e),
            r => Err(unexpected(&r)),
        }
    }

    /// `bind(2)`.
    pub fn bind(&self, id: SockId, addr: SocketAddr, privileged: bool) -> Result<(), Errno> {
        unit(self.call(NetMsg::Bind {
            id,
            addr,
            privileged,
        }))
    }

    /// `listen(2)`.
    pub fn listen(&self, id: SockId, backlog: u32) -> Result<(), Errno> {
        unit(self.call(NetMsg::Listen { id, backlog }))
    }

    /// `connect(2)` (see [`NetMsg::Connect`]).
    pub fn connect(
        &self,
        id: SockId,
        addr: Option<SocketAddr>,
        nonblock: bool,
    ) -> Result<(), Errno> {
        unit(self.call(NetMsg::Connect { id, addr, nonblock }))
    }

    /// `accept(2)`: the server end of the oldest connection.
    pub fn accept(&self, id: SockId) -> Result<SockId, Errno> {
        match self.call(NetMsg::Accept { id }) {
            NetReply::Sock(s) => Ok(s),
            NetReply::Err(e) => Err(e),
            r => Err(unexpected(&r)),
        }
    }

    /// Sends `data` (to `to`, for a datagram).
    pub fn send(&self, id: SockId, data: Vec<u8>, to: Option<SocketAddr>) -> Result<usize, Errno> {
        self.send_more(id, data, to, false)
    }

    /// [`NetService::send`] with `MSG_MORE` as `more` says.
    pub fn send_more(
        &self,
        id: SockId,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        more: bool,
    ) -> Result<usize, Errno> {
        match self.call(NetMsg::Send { id, data, to, more }) {
            NetReply::Sent(n) => Ok(n),
            NetReply::Err(e) => Err(e),
            r => Err(unexpected(&r)),
        }
    }

    /// Receives at most `max` bytes.
    pub fn recv(&self, id: SockId, max: usize, peek: bool) -> Result<Received, Errno> {
        match self.call(NetMsg::Recv { id, max, peek }) {
            NetReply::Received(r) => Ok(r),
            NetReply::Err(e) => Err(e),
            r => Err(unexpected(&r)),
        }
    }

    /// `shutdown(2)`.
    pub fn shutdown(&self, id: SockId, how: u8) -> Result<(), Errno> {
        unit(self.call(NetMsg::Shutdown { id, how }))
    }

    /// `setsockopt(2)` of a checked option.
    pub fn set_opt(&self, id: SockId, level: i32, name: i32, value: Vec<u8>) -> Result<(), Errno> {
        unit(self.call(NetMsg::SetOpt {
            id,
            level,
            name,
            value,
        }))
    }

    /// An option's value as set, if it was.
    pub fn get_opt(&self, id: SockId, level: i32, name: i32) -> Option<Vec<u8>> {
        match self.call(NetMsg::GetOpt { id, level, name }) {
            NetReply::Opt(v) => v,
            _ => None,
        }
    }

    /// `TCP_INFO` of a stream socket.
    pub fn tcp_info(&self, id: SockId) -> Result<Vec<u8>, Errno> {
        match self.call(NetMsg::TcpInfo { id }) {
            NetReply::Opt(Some(v)) => Ok(v),
            NetReply::Err(e) => Err(e),
            r => Err(unexpected(&r)),
        }
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn take_error(&self, id: SockId) -> Option<Errno> {
        match self.call(NetMsg::TakeError { id }) {
            NetReply::Error(e) => e,
            _ => None,
        }
    }

    /// What the socket is.
    pub fn info(&self, id: SockId) -> Result<SockInfo, Errno> {
        match self.call(NetMsg::Info { id }) {
            NetReply::Info(i) => Ok(i),
            NetReply::Err(e) => Err(e),
            r => Err(unexpected(&r)),
        }
    }

    /// Readiness.
    pub fn poll(&self, id: SockId) -> Readiness {
        match self.call(NetMsg::Poll { id }) {
            NetReply::Poll(r) => r,
            _ => Readiness::default(),
        }
    }

    /// The socket's last descriptor was closed.
    pub fn close(&self, id: SockId) {
        self.call(NetMsg::Close { id });
    }

    /// The wait ids made ready since the last call (the syscall layer wakes them).
    pub fn take_ready(&self) -> Vec<u64> {
        if !self.0.ready.load(Ordering::Acquire) {
            return Vec::new();
        }
        match self.call(NetMsg::TakeReady) {
            NetReply::Ready(v) => v,
            _ => Vec::new(),
        }
    }

    /// A netlink socket takes port `port` (0: the stack picks one, `tgid` first).
    pub fn netlink_bind(&self, port: u32, tgid: u32) -> Result<u32, Errno> {
        match self.call(NetMsg::NetlinkBind { port, tgid }) {
            NetReply::Port(p) => Ok(p),
            NetReply::Err(e) => Err(e),
            r => Err(unexpected(&r)),
        }
    }

    /// A netlink socket's port is free again.
    pub fn netlink_release(&self, port: u32) {
        self.call(NetMsg::NetlinkRelease { port });
    }

    /// The interfaces, addresses and routes the instance sees: its own `lo`, or with
    /// `--net host` the host's, read now.
    pub fn interfaces(&self) -> crate::Interfaces {
        match self.call(NetMsg::Interfaces) {
            NetReply::Interfaces(i) => i,
            _ => crate::Interfaces::loopback(),
        }
    }

    /// A table of `/proc/net`.
    pub fn proc_net(&self, kind: Kind, family: Family) -> String {
        match self.call(NetMsg::ProcNet { kind, family }) {
            NetReply::Text(t) => t,
            _ => String::new(),
        }
    }
}

/// A reply of the wrong kind: a bug in the stack, reported as an I/O error to the guest.
fn unexpected(_r: &NetReply) -> Errno {
    Errno::EIO
}
