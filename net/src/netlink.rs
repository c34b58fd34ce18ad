//! [`NetlinkSocket`]: an `AF_NETLINK` socket of protocol `NETLINK_ROUTE`, as a `vfs` file
//! object. A send is answered at once by [`rtnl::answer`](crate::rtnl::answer) and the
//! replies wait in the socket's receive queue as datagrams; a receive takes one (cut to
//! the buffer, the rest of it dropped, as for any datagram). Port ids are the instance's
//! (the stack keeps who holds which, [`NetService::netlink_bind`]); a socket bound to
//! port 0, or never bound, gets its process's id or else one counting down from -4096,
//! as Linux's autobind.
//!
//! Multicast groups: joined by `bind` and `NETLINK_ADD_MEMBERSHIP` as on Linux. Nothing
//! in the instance ever changes an interface, so the loopback stack sends no event; with
//! `--net host` a socket that joined groups 1 to 32 receives the host's link, address
//! and route events for them, relayed through a host socket of the kernel's
//! ([`Subscription`]) that the kernel watches while the guest waits.

use std::collections::{BTreeMap, VecDeque};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::AsFd;
use std::sync::OnceLock;

use abi::structs::Stat;
use abi::Errno;
use parking_lot::Mutex;
use vfs::{FileObject, PollEvents, Poller};

use crate::host_ifaces::Subscription;
use crate::rtnl::{self, Caller};
use crate::NetService;

/// `NETLINK_ROUTE`.
pub const NETLINK_ROUTE: i32 = 0;
/// The receive and send buffers' default (`rmem_default`).
const NL_BUF: usize = 212_992;
/// `RTNLGRP_MAX`: `NETLINK_ROUTE`'s multicast groups are 1 to this.
pub const RTNLGRP_MAX: u32 = 39;

/// What can change of a netlink socket.
#[derive(Debug, Default)]
struct State {
    /// Its port id; 0 until bound.
    port: u32,
    /// Multicast groups joined: bit `n - 1` for group `n`.
    groups: u64,
    /// Whether it ever joined a group (Linux then sizes its group list, which
    /// `NETLINK_LIST_MEMBERSHIPS` reports).
    has_groups: bool,
    /// Replies not yet received.
    queue: VecDeque<Vec<u8>>,
    queued: usize,
    rcvbuf: usize,
    sndbuf: usize,
    /// `ENOBUFS` when a reply did not fit.
    error: Option<Errno>,
    /// The largest buffer it was read with (how much of a dump a datagram carries).
    max_recvmsg_len: usize,
    /// Options with no effect, as set: (level, name) → value.
    opts: BTreeMap<(i32, i32), i32>,
}

/// An `AF_NETLINK` socket.
pub struct NetlinkSocket {
    /// The stack (which keeps the port ids).
    pub net: NetService,
    /// `NETLINK_ROUTE`.
    pub protocol: i32,
    /// `SOCK_RAW` or `SOCK_DGRAM`, as created.
    pub sock_type: u32,
    /// The creating process (its id is the first port id tried).
    tgid: u32,
    wait: u64,
    uid: u32,
    gid: u32,
    state: Mutex<State>,
    /// `--net host`: the host's events for the groups joined, once one was.
    host_events: OnceLock<Subscription>,
}

/// One received datagram.
#[derive(Debug)]
pub struct NlReceived {
    /// The bytes copied (at most what was asked).
    pub data: Vec<u8>,
    /// The datagram's whole length.
    pub full_len: usize,
}

impl NetlinkSocket {
    /// A new socket of `protocol` (only [`NETLINK_ROUTE`]; others are
    /// `EPROTONOSUPPORT`).
    pub fn new(
        net: &NetService,
        sock_type: u32,
        protocol: i32,
        tgid: u32,
        (uid, gid): (u32, u32),
    ) -> Result<NetlinkSocket, Errno> {
        if protocol != NETLINK_ROUTE {
            return Err(Errno::EPROTONOSUPPORT);
        }
        Ok(NetlinkSocket {
            net: net.clone(),
            protocol,
            sock_type,
            tgid,
            wait: vfs::new_wait_id(),
            uid,
            gid,
            state: Mutex::new(State {
                rcvbuf: NL_BUF,
                sndbuf: NL_BUF,
                ..State::default()
            }),
            host_events: OnceLock::new(),
        })
    }

    /// `bind(2)` to port `port` (0: pick one) with multicast `groups` (groups 1 to 32;
    /// they replace those of them joined before). A bound socket may be bound again only
    /// to its own port.
    pub fn bind(&self, port: u32, groups: u32) -> Result<(), Errno> {
        let mut st = self.state.lock();
        if st.port != 0 {
            if port != st.port {
                return Err(Errno::EINVAL);
            }
        } else {
            st.port = self.net.netlink_bind(port, self.tgid)?;
        }
        if groups != 0 {
            st.has_groups = true;
        }
        st.groups = (st.groups & !u64::from(u32::MAX)) | u64::from(groups);
        self.subscribe(&st)
    }

    /// With `--net host`, has the host send this socket's groups' events.
    fn subscribe(&self, st: &State) -> Result<(), Errno> {
        let groups = st.groups as u32;
        if !self.net.is_host() || groups == 0 && self.host_events.get().is_none() {
            return Ok(());
        }
        let sub = match self.host_events.get() {
            Some(s) => s,
            None => {
                let s = Subscription::new()?;
                self.host_events.get_or_init(|| s)
            }
        };
        sub.set_groups(groups)
    }

    /// Moves the host's events waiting for this socket to its queue.
    fn take_host_events(&self, st: &mut State) {
        let Some(sub) = self.host_events.get() else {
            return;
        };
        let (events, overrun) = sub.events();
        for e in events {
            Self::queue(st, e);
        }
        if overrun {
            st.error = Some(Errno::ENOBUFS);
        }
    }

    /// Queues a datagram for the socket; dropped with `ENOBUFS` pending if it does not fit
    /// (then `false`).
    fn queue(st: &mut State, msg: Vec<u8>) -> bool {
        if st.queued + msg.len() > st.rcvbuf {
            st.error = Some(Errno::ENOBUFS);
            return false;
        }
        st.queued += msg.len();
        st.queue.push_back(msg);
        true
    }

    /// `NETLINK_ADD_MEMBERSHIP` (`join`) or `NETLINK_DROP_MEMBERSHIP` of group `group`:
    /// `EINVAL` outside 1 to [`RTNLGRP_MAX`].
    pub fn membership(&self, group: u32, join: bool) -> Result<(), Errno> {
        let mut st = self.state.lock();
        st.has_groups = true;
        if group == 0 || group > RTNLGRP_MAX {
            return Err(Errno::EINVAL);
        }
        let bit = 1u64 << (group - 1);
        if join {
            st.groups |= bit;
        } else {
            st.groups &= !bit;
        }
        self.subscribe(&st)
    }

    /// `NETLINK_LIST_MEMBERSHIPS`: the groups joined as 32-bit words, as many words as
    /// the groups need (none if the socket never joined one).
    pub fn memberships(&self) -> Vec<u32> {
        let st = self.state.lock();
        if !st.has_groups {
            return Vec::new();
        }
        (0..RTNLGRP_MAX.div_ceil(32))
            .map(|w| (st.groups >> (32 * w)) as u32)
            .collect()
    }

    /// Binds to a port the stack picks, unless bound (`connect(2)`).
    pub fn ensure_bound(&self) -> Result<(), Errno> {
        self.autobind(&mut self.state.lock()).map(|_| ())
    }

    /// Binds to a port the stack picks, unless bound.
    fn autobind(&self, st: &mut State) -> Result<u32, Errno> {
        if st.port == 0 {
            st.port = self.net.netlink_bind(0, self.tgid)?;
        }
        Ok(st.port)
    }

    /// Its port id (0 if unbound) and groups 1 to 32, as `getsockname` shows them.
    pub fn name(&self) -> (u32, u32) {
        let st = self.state.lock();
        (st.port, st.groups as u32)
    }

    /// Sends `data` to the kernel (`net_admin`: the sender has `CAP_NET_ADMIN`); the
    /// replies are queued. `EMSGSIZE` beyond the send buffer.
    pub fn send(&self, data: &[u8], net_admin: bool) -> Result<usize, Errno> {
        let mut st = self.state.lock();
        if data.len() > st.sndbuf {
            return Err(Errno::EMSGSIZE);
        }
        let port = self.autobind(&mut st)?;
        let net = &self.net;
        let who = Caller {
            port,
            net_admin,
            dump_max: rtnl::dump_max(st.max_recvmsg_len),
        };
        for reply in rtnl::answer(data, who, &|| net.interfaces()) {
            if !Self::queue(&mut st, reply) {
                break;
            }
        }
        Ok(data.len())
    }

    /// Receives the next datagram, at most `max` bytes of it (`peek`: leave it queued).
    /// `EAGAIN` when none is queued; a pending `ENOBUFS` first.
    pub fn recv(&self, max: usize, peek: bool) -> Result<NlReceived, Errno> {
        let mut st = self.state.lock();
        st.max_recvmsg_len = st.max_recvmsg_len.max(max);
        if st.queue.is_empty() {
            self.take_host_events(&mut st);
        }
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        let d = if peek {
            st.queue.front().cloned()
        } else {
            st.queue.pop_front()
        };
        let mut d = d.ok_or(Errno::EAGAIN)?;
        if !peek {
            st.queued -= d.len();
        }
        let full_len = d.len();
        d.truncate(max);
        Ok(NlReceived { data: d, full_len })
    }

    /// Queues a datagram the kernel sends this socket by itself (a message queue's
    /// `SIGEV_THREAD` notification); dropped with `ENOBUFS` pending if it does not fit.
    /// Returns the wait id to wake.
    pub fn deliver(&self, msg: Vec<u8>) -> u64 {
        Self::queue(&mut self.state.lock(), msg);
        self.wait
    }

    /// Bytes of the next datagram (`FIONREAD`).
    pub fn pending(&self) -> usize {
        let mut st = self.state.lock();
        if st.queue.is_empty() {
            self.take_host_events(&mut st);
        }
        st.queue.front().map_or(0, Vec::len)
    }

    /// `SO_RCVBUF`/`SO_SNDBUF` (Linux doubles what is set, within its limits).
    pub fn set_buf(&self, rcv: bool, v: usize) {
        let v = v.clamp(1152, 212_992) * 2;
        let mut st = self.state.lock();
        if rcv {
            st.rcvbuf = v;
        } else {
            st.sndbuf = v;
        }
    }

    /// `(SO_RCVBUF, SO_SNDBUF)`.
    pub fn bufs(&self) -> (usize, usize) {
        let st = self.state.lock();
        (st.rcvbuf, st.sndbuf)
    }

    /// Keeps an option with no effect here.
    pub fn set_other(&self, level: i32, name: i32, v: i32) {
        self.state.lock().opts.insert((level, name), v);
    }

    /// An option kept by [`set_other`](Self::set_other) (0 if never set).
    pub fn other(&self, level: i32, name: i32) -> i32 {
        self.state
            .lock()
            .opts
            .get(&(level, name))
            .copied()
            .unwrap_or(0)
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn take_error(&self) -> Option<Errno> {
        self.state.lock().error.take()
    }
}

impl Drop for NetlinkSocket {
    fn drop(&mut self) {
        let port = self.state.lock().port;
        if port != 0 {
            self.net.netlink_release(port);
        }
    }
}

impl FileObject for NetlinkSocket {
    fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        let max = vfs::object::iov_len_mut(bufs);
        let r = self.recv(max, false)?;
        Ok(vfs::object::scatter(bufs, &r.data))
    }

    fn write(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        let mut data = Vec::new();
        vfs::object::append(&mut data, bufs);
        self.send(&data, false)
    }

    fn poll(&self, _who: &Poller) -> PollEvents {
        let st = self.state.lock();
        let host = || self.host_events.get().is_some_and(Subscription::pending);
        PollEvents {
            readable: !st.queue.is_empty() || host(),
            writable: true,
            hangup: false,
            error: st.error.is_some(),
            rdhup: false,
            seq: None,
        }
    }

    fn wait_id(&self) -> u64 {
        self.wait
    }

    fn host_watch(&self) -> Option<(std::os::fd::BorrowedFd<'_>, bool)> {
        self.host_events.get().map(|s| (s.fd().as_fd(), false))
    }

    fn lseek(&self) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }

    fn stat(&self) -> Stat {
        crate::socket::sock_stat(self.wait, self.uid, self.gid)
    }
}
