//! `AF_UNIX` sockets: the socket object, its receive queue and its connection state.
//!
//! Each socket has a receive queue of [`Message`]s (data, passed files, the sender's
//! credentials and address). A sender appends to its peer's (or the addressee's) queue; a
//! stream receiver reads across messages, a datagram or seqpacket receiver takes one
//! message per call. Connected sockets hold each other weakly: when the last descriptor of
//! one end goes, the other sees end of file (stream, seqpacket) and `EPIPE` on writes.
//!
//! Waiting: both ends of a connection share one wait id (a socketpair's, or the connecting
//! socket's, which the server's end adopts), so any change to either end — including one
//! end's last close — wakes whoever waits on the connection. A listening socket and an
//! unconnected datagram socket have their own id; a datagram sender waits on its
//! addressee's. Operations never block here: they return `EAGAIN` and the syscall layer
//! parks the task on [`UnixSocket::wait_id`] (or the addressee's).
//!
//! Buffering: what one sender has queued at a receiver is bounded by the sender's
//! `SO_SNDBUF` (Linux bounds it by the sender's write memory): a stream write moves what
//! fits, a datagram goes in whole or not at all (`EMSGSIZE` if it could never fit); a
//! named datagram socket also holds at most [`MAX_DGRAM_QLEN`] messages from senders that
//! are not its peer (`net.unix.max_dgram_qlen`).
//!
//! Known gaps: descriptors passed in a message that is never received and that refer to
//! the socket itself keep it alive (Linux's garbage collector is not modelled), and when
//! undelivered passed files are dropped with their socket nobody waiting on them is woken;
//! a connected datagram sender waiting for room in its peer's queue is woken by the peer's
//! reads, but `poll` for `POLLOUT` on it waits on its own id; a client whose connection
//! was still pending when the listener closed sees end of file, not `ECONNRESET`;
//! `MSG_OOB` is not supported.

use std::collections::VecDeque;
use std::io::{IoSlice, IoSliceMut};
use std::sync::Weak;

use abi::flags::mode::S_IFSOCK;
use abi::structs::Stat;
use abi::Errno;
use parking_lot::Mutex;
use vfs::{Arc, FileObject, FileRef, PollEvents};

/// `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_SEQPACKET`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SockType {
    Stream = 1,
    Dgram = 2,
    Seqpacket = 5,
}

/// Linux's `wmem_default`/`rmem_default`: the initial `SO_SNDBUF` and `SO_RCVBUF`.
pub(crate) const DEFAULT_BUF: usize = 212_992;
/// `net.unix.max_dgram_qlen`.
pub(crate) const MAX_DGRAM_QLEN: usize = 10;
/// `net.core.somaxconn`: the largest `listen` backlog.
pub(crate) const SOMAXCONN: usize = 4096;
/// Most descriptors one message passes (`SCM_MAX_FD`).
pub(crate) const SCM_MAX_FD: usize = 253;

/// Synthetic `st_dev` of sockets ("sockfs").
const SOCKFS_DEV: (u32, u32) = (0, 0x08);

/// `shutdown` bits (Linux's `RCV_SHUTDOWN`, `SEND_SHUTDOWN`).
pub(crate) const RCV_SHUTDOWN: u8 = 1;
pub(crate) const SEND_SHUTDOWN: u8 = 2;
const SHUTDOWN_MASK: u8 = 3;

/// `struct ucred`: who sent a message or connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Ucred {
    /// What `SO_PEERCRED` reports with no peer.
    pub const NONE: Ucred = Ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };

    /// `struct ucred` as the guest sees it.
    pub fn bytes(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[0..4].copy_from_slice(&self.pid.to_ne_bytes());
        b[4..8].copy_from_slice(&self.uid.to_ne_bytes());
        b[8..12].copy_from_slice(&self.gid.to_ne_bytes());
        b
    }
}

/// One queued message.
pub(crate) struct Message {
    pub data: Vec<u8>,
    /// Bytes of `data` already read (streams).
    pub off: usize,
    /// Files passed with it (`SCM_RIGHTS`).
    pub rights: Vec<FileRef>,
    pub cred: Ucred,
    /// The sender's address (a `sockaddr_un`), if it was bound.
    pub from: Option<Vec<u8>>,
    /// Whether the sender is the receiver's peer (only other senders count against
    /// [`MAX_DGRAM_QLEN`]).
    from_peer: bool,
}

enum Conn {
    Unconnected,
    Listening {
        backlog: usize,
        queue: VecDeque<Arc<UnixSocket>>,
    },
    Connected(Weak<UnixSocket>),
}

struct State {
    /// Bound address (a `sockaddr_un`).
    addr: Option<Vec<u8>>,
    conn: Conn,
    /// Whether it was ever connected (a stream whose peer is gone is not "unconnected").
    was_connected: bool,
    rx: VecDeque<Message>,
    rx_bytes: usize,
    shutdown: u8,
    /// A pending error (`SO_ERROR`), reported once.
    error: Option<Errno>,
    peer_cred: Option<Ucred>,
    /// The credentials `listen` recorded (given to connecting clients as their peer's).
    listen_cred: Option<Ucred>,
    passcred: bool,
    sndbuf: usize,
    rcvbuf: usize,
    wait: u64,
}

/// An `AF_UNIX` socket.
pub(crate) struct UnixSocket {
    pub ty: SockType,
    ino: u64,
    /// The creator's credentials (the owner in `fstat`, the sender for plain `write`s
    /// reaching the socket through the vfs).
    owner: Ucred,
    /// The creator's Landlock domain (what `LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET` compares).
    pub landlock: Option<Arc<vfs::landlock::Domain>>,
    state: Mutex<State>,
}

/// What one receive took.
#[derive(Default)]
pub(crate) struct Received {
    pub data: Vec<u8>,
    /// The whole message's length (datagrams; for `MSG_TRUNC`).
    pub full_len: usize,
    pub rights: Vec<FileRef>,
    pub cred: Option<Ucred>,
    pub from: Option<Vec<u8>>,
}

/// Where a send goes.
pub(crate) enum Dest {
    /// The connected peer.
    Peer,
    /// A named socket (datagram `sendto`).
    To(Arc<UnixSocket>),
}

/// Receive options.
#[derive(Clone, Copy, Default)]
pub(crate) struct RecvOpts {
    pub peek: bool,
}

/// Who creates a socket: its credentials and its Landlock domain.
pub(crate) type Creator = (Ucred, Option<Arc<vfs::landlock::Domain>>);

impl UnixSocket {
    fn build(ty: SockType, (owner, landlock): Creator, wait: u64) -> Arc<UnixSocket> {
        Arc::new(UnixSocket {
            ty,
            ino: vfs::new_wait_id(),
            owner,
            landlock,
            state: Mutex::new(State {
                addr: None,
                conn: Conn::Unconnected,
                was_connected: false,
                rx: VecDeque::new(),
                rx_bytes: 0,
                shutdown: 0,
                error: None,
                peer_cred: None,
                listen_cred: None,
                passcred: false,
                sndbuf: DEFAULT_BUF,
                rcvbuf: DEFAULT_BUF,
                wait,
            }),
        })
    }

    /// A new unconnected socket created by `owner`.
    pub fn new(ty: SockType, owner: Creator) -> Arc<UnixSocket> {
        UnixSocket::build(ty, owner, vfs::new_wait_id())
    }

    /// `socketpair`: two sockets connected to each other, sharing one wait id.
    pub fn pair(ty: SockType, creator: Creator) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
        let wait = vfs::new_wait_id();
        let owner = creator.0;
        let a = UnixSocket::build(ty, creator.clone(), wait);
        let b = UnixSocket::build(ty, creator, wait);
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut s = x.state.lock();
            s.conn = Conn::Connected(Arc::downgrade(y));
            s.was_connected = true;
            s.peer_cred = Some(owner);
        }
        (a, b)
    }

    /// The id tasks blocked on this socket wait for.
    pub fn wait_id(&self) -> u64 {
        self.state.lock().wait
    }

    fn peer(&self) -> Option<Arc<UnixSocket>> {
        match &self.state.lock().conn {
            Conn::Connected(w) => w.upgrade(),
            _ => None,
        }
    }

    /// Whether it is connected (to a peer that may since have gone).
    pub fn is_connected(&self) -> bool {
        matches!(self.state.lock().conn, Conn::Connected(_))
    }

    /// Whether it listens.
    pub fn is_listening(&self) -> bool {
        matches!(self.state.lock().conn, Conn::Listening { .. })
    }

    /// Its address (`getsockname`), `None` if unbound.
    pub fn addr(&self) -> Option<Vec<u8>> {
        self.state.lock().addr.clone()
    }

    /// The peer's address (`getpeername`): `ENOTCONN` without a live peer; `None` if the
    /// peer is unbound.
    pub fn peer_addr(&self) -> Result<Option<Vec<u8>>, Errno> {
        let p = self.peer().ok_or(Errno::ENOTCONN)?;
        let a = p.addr();
        Ok(a)
    }

    /// Records the bound address; `EINVAL` if already bound.
    pub fn set_addr(&self, addr: Vec<u8>) -> Result<(), Errno> {
        let mut s = self.state.lock();
        if s.addr.is_some() {
            return Err(Errno::EINVAL);
        }
        s.addr = Some(addr);
        Ok(())
    }

    /// Whether it is bound.
    pub fn is_bound(&self) -> bool {
        self.state.lock().addr.is_some()
    }

    /// `listen`: `EINVAL` unless bound and not connected; a second call changes the backlog.
    pub fn listen(&self, backlog: usize, cred: Ucred) -> Result<(), Errno> {
        if self.ty == SockType::Dgram {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut s = self.state.lock();
        if s.addr.is_none() || matches!(s.conn, Conn::Connected(_)) {
            return Err(Errno::EINVAL);
        }
        let backlog = backlog.min(SOMAXCONN);
        match &mut s.conn {
            Conn::Listening { backlog: b, .. } => *b = backlog,
            c => {
                *c = Conn::Listening {
                    backlog,
                    queue: VecDeque::new(),
                }
            }
        }
        s.listen_cred = Some(cred);
        Ok(())
    }

    /// Stream/seqpacket `connect` of `self` to the listening `server`: queues the server's
    /// end of the new connection, which shares `self`'s wait id. `EAGAIN` when the backlog
    /// is full.
    pub fn connect_stream(
        self: &Arc<Self>,
        server: &Arc<UnixSocket>,
        cred: Ucred,
    ) -> Result<(), Errno> {
        if server.ty != self.ty {
            return Err(Errno::EPROTOTYPE);
        }
        match self.state.lock().conn {
            Conn::Connected(_) => return Err(Errno::EISCONN),
            Conn::Listening { .. } => return Err(Errno::EINVAL),
            Conn::Unconnected => {}
        }
        if Arc::ptr_eq(self, server) {
            return Err(Errno::ECONNREFUSED);
        }
        let mut srv = server.state.lock();
        let listen_cred = srv.listen_cred.unwrap_or(server.owner);
        let (srv_addr, passcred) = (srv.addr.clone(), srv.passcred);
        let Conn::Listening { backlog, queue } = &mut srv.conn else {
            return Err(Errno::ECONNREFUSED);
        };
        if queue.len() > *backlog {
            return Err(Errno::EAGAIN);
        }
        let mut me = self.state.lock();
        let end = UnixSocket::build(self.ty, (server.owner, server.landlock.clone()), me.wait);
        {
            let mut e = end.state.lock();
            e.addr = srv_addr;
            e.conn = Conn::Connected(Arc::downgrade(self));
            e.was_connected = true;
            e.peer_cred = Some(cred);
            e.passcred = passcred;
        }
        me.conn = Conn::Connected(Arc::downgrade(&end));
        me.was_connected = true;
        me.peer_cred = Some(listen_cred);
        queue.push_back(end);
        Ok(())
    }

    /// `accept`: the oldest pending connection; `EAGAIN` if none, `EINVAL` if not
    /// listening.
    pub fn accept(&self) -> Result<Arc<UnixSocket>, Errno> {
        if self.ty == SockType::Dgram {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut s = self.state.lock();
        let Conn::Listening { queue, .. } = &mut s.conn else {
            return Err(Errno::EINVAL);
        };
        queue.pop_front().ok_or(Errno::EAGAIN)
    }

    /// Datagram `connect`: sends go to `to` by default (`None`: `AF_UNSPEC`, disconnect).
    pub fn connect_dgram(&self, to: Option<&Arc<UnixSocket>>) -> Result<(), Errno> {
        if let Some(t) = to {
            if t.ty != self.ty {
                return Err(Errno::EPROTOTYPE);
            }
        }
        let mut s = self.state.lock();
        // Linux records no peer credentials for a datagram association.
        s.conn = match to {
            Some(t) => Conn::Connected(Arc::downgrade(t)),
            None => Conn::Unconnected,
        };
        Ok(())
    }

    /// `shutdown`: `how` is 0 (read), 1 (write) or 2 (both). A connected stream or
    /// seqpacket peer sees the mirror image. Returns the peer's wait id to wake, if any.
    pub fn shutdown(&self, how: u8) -> Result<Option<u64>, Errno> {
        let bits = match how {
            0 => RCV_SHUTDOWN,
            1 => SEND_SHUTDOWN,
            2 => SHUTDOWN_MASK,
            _ => return Err(Errno::EINVAL),
        };
        let peer = {
            let mut s = self.state.lock();
            s.shutdown |= bits;
            s.wait
        };
        if self.ty != SockType::Dgram {
            if let Some(p) = self.peer() {
                let mirror = (if bits & RCV_SHUTDOWN != 0 {
                    SEND_SHUTDOWN
                } else {
                    0
                }) | (if bits & SEND_SHUTDOWN != 0 {
                    RCV_SHUTDOWN
                } else {
                    0
                });
                let mut ps = p.state.lock();
                ps.shutdown |= mirror;
                return Ok(Some(ps.wait));
            }
        }
        Ok(Some(peer))
    }

    /// Sends `data` (and `rights`) from `self`: the number of bytes queued and the wait id
    /// of the receiver (to wake, or to block on after `EAGAIN`).
    pub fn send(
        &self,
        dest: Dest,
        data: &[u8],
        rights: &mut Vec<FileRef>,
        cred: Ucred,
    ) -> (Result<usize, Errno>, u64) {
        let own_wait = self.wait_id();
        let (shut, was_connected, sndbuf, from) = {
            let s = self.state.lock();
            (s.shutdown, s.was_connected, s.sndbuf, s.addr.clone())
        };
        if shut & SEND_SHUTDOWN != 0 {
            return (Err(Errno::EPIPE), own_wait);
        }
        let target = match dest {
            Dest::To(t) => {
                if self.ty != SockType::Dgram {
                    return (
                        Err(if self.is_connected() {
                            Errno::EISCONN
                        } else {
                            Errno::EOPNOTSUPP
                        }),
                        own_wait,
                    );
                }
                t
            }
            Dest::Peer => match self.peer() {
                Some(p) => p,
                None => {
                    let e = match (self.ty, was_connected) {
                        (SockType::Dgram, _) if self.is_connected() => {
                            // The peer is gone: the connection is dropped.
                            let mut s = self.state.lock();
                            s.conn = Conn::Unconnected;
                            s.peer_cred = None;
                            Errno::ECONNREFUSED
                        }
                        (SockType::Dgram, _) => Errno::ENOTCONN,
                        (_, true) => Errno::EPIPE,
                        (_, false) => Errno::ENOTCONN,
                    };
                    return (Err(e), own_wait);
                }
            },
        };
        if self.ty != SockType::Stream && data.len() > sndbuf.saturating_sub(32) {
            return (Err(Errno::EMSGSIZE), own_wait);
        }
        let mut t = target.state.lock();
        let wait = t.wait;
        if self.ty == SockType::Dgram && t.shutdown & RCV_SHUTDOWN != 0 {
            return (Err(Errno::EPIPE), wait);
        }
        if self.ty == SockType::Dgram {
            if let Conn::Connected(p) = &t.conn {
                if p.upgrade()
                    .is_some_and(|p| !std::ptr::eq(Arc::as_ptr(&p), self))
                {
                    return (Err(Errno::EPERM), wait);
                }
            }
        }
        let from_peer = match &t.conn {
            Conn::Connected(p) => p
                .upgrade()
                .is_some_and(|p| std::ptr::eq(Arc::as_ptr(&p), self)),
            _ => false,
        };
        if self.ty == SockType::Dgram
            && !from_peer
            && t.rx.iter().filter(|m| !m.from_peer).count() > MAX_DGRAM_QLEN
        {
            return (Err(Errno::EAGAIN), wait);
        }
        let room = sndbuf.saturating_sub(t.rx_bytes);
        let n = if self.ty == SockType::Stream {
            if data.is_empty() {
                // A stream carries no empty messages (and their files are dropped).
                rights.clear();
                return (Ok(0), wait);
            }
            data.len().min(room)
        } else if data.len() <= room || t.rx.is_empty() {
            data.len()
        } else {
            0
        };
        if n == 0 && !(self.ty != SockType::Stream && data.is_empty()) {
            return (Err(Errno::EAGAIN), wait);
        }
        t.rx.push_back(Message {
            data: data[..n].to_vec(),
            off: 0,
            rights: std::mem::take(rights),
            cred,
            from,
            from_peer,
        });
        t.rx_bytes += n;
        (Ok(n), wait)
    }

    /// Receives at most `max` bytes. `EAGAIN` when nothing is there yet; `Ok` with no data
    /// at end of file.
    pub fn recv(&self, max: usize, opts: RecvOpts) -> Result<Received, Errno> {
        let mut s = self.state.lock();
        match s.conn {
            Conn::Listening { .. } => return Err(Errno::EINVAL),
            Conn::Unconnected if self.ty != SockType::Dgram && !s.was_connected => {
                return Err(Errno::EINVAL)
            }
            _ => {}
        }
        let eof = Received::default();
        if s.rx.is_empty() {
            if let Some(e) = s.error.take() {
                return Err(e);
            }
            let peer_gone = self.ty != SockType::Dgram
                && match &s.conn {
                    Conn::Connected(w) => w.strong_count() == 0,
                    _ => true,
                };
            if s.shutdown & RCV_SHUTDOWN != 0 || peer_gone {
                return Ok(eof);
            }
            return Err(Errno::EAGAIN);
        }
        if max == 0 && self.ty == SockType::Stream {
            return Ok(eof);
        }
        if self.ty != SockType::Stream {
            let m = if opts.peek {
                let m = &s.rx[0];
                Message {
                    data: m.data.clone(),
                    off: 0,
                    rights: m.rights.clone(),
                    cred: m.cred,
                    from: m.from.clone(),
                    from_peer: m.from_peer,
                }
            } else {
                let m = s.rx.pop_front().ok_or(Errno::EAGAIN)?;
                s.rx_bytes -= m.data.len();
                m
            };
            let full_len = m.data.len();
            let mut data = m.data;
            data.truncate(max);
            return Ok(Received {
                data,
                full_len,
                rights: m.rights,
                cred: Some(m.cred),
                from: m.from,
            });
        }
        // A stream: across messages, up to and including one that passed files, and not
        // across senders' credentials when they are asked for.
        let passcred = s.passcred;
        let mut out = Received {
            cred: s.rx.front().map(|m| m.cred),
            from: s.rx.front().and_then(|m| m.from.clone()),
            ..eof
        };
        // `i`: the message looked at (peeking walks the queue; reading takes its front).
        let (mut i, mut first) = (0, true);
        while out.data.len() < max {
            let Some(m) = s.rx.get(i) else { break };
            if !first && passcred && Some(m.cred) != out.cred {
                break;
            }
            first = false;
            let k = (max - out.data.len()).min(m.data.len() - m.off);
            out.data.extend_from_slice(&m.data[m.off..m.off + k]);
            let done = m.off + k == m.data.len();
            let has_rights = !m.rights.is_empty();
            if opts.peek {
                out.rights.extend(m.rights.iter().cloned());
                i += 1;
            } else {
                let m = &mut s.rx[i];
                m.off += k;
                out.rights.append(&mut m.rights);
                s.rx_bytes -= k;
                if done {
                    s.rx.pop_front();
                }
            }
            if has_rights || !done {
                break;
            }
        }
        out.full_len = out.data.len();
        Ok(out)
    }

    /// Bytes waiting (`FIONREAD`): all of a stream's, the next datagram's.
    pub fn pending(&self) -> usize {
        let s = self.state.lock();
        match self.ty {
            SockType::Stream => s.rx_bytes,
            _ => s.rx.front().map_or(0, |m| m.data.len()),
        }
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn take_error(&self) -> Option<Errno> {
        self.state.lock().error.take()
    }

    /// The peer's credentials (`SO_PEERCRED`).
    pub fn peer_cred(&self) -> Ucred {
        self.state.lock().peer_cred.unwrap_or(Ucred::NONE)
    }

    /// `SO_PASSCRED`.
    pub fn passcred(&self) -> bool {
        self.state.lock().passcred
    }

    /// Sets `SO_PASSCRED`.
    pub fn set_passcred(&self, on: bool) {
        self.state.lock().passcred = on;
    }

    /// `SO_SNDBUF` and `SO_RCVBUF`.
    pub fn bufs(&self) -> (usize, usize) {
        let s = self.state.lock();
        (s.sndbuf, s.rcvbuf)
    }

    /// Sets `SO_SNDBUF` (`snd`) or `SO_RCVBUF` to `bytes` (already doubled and clamped).
    pub fn set_buf(&self, snd: bool, bytes: usize) {
        let mut s = self.state.lock();
        if snd {
            s.sndbuf = bytes;
        } else {
            s.rcvbuf = bytes;
        }
    }

    /// Readiness, as Linux's `unix_poll`/`unix_dgram_poll` reports it.
    pub fn poll_events(&self) -> PollEvents {
        let s = self.state.lock();
        let readable_rx = !s.rx.is_empty() || s.shutdown & RCV_SHUTDOWN != 0;
        match &s.conn {
            Conn::Listening { queue, .. } => PollEvents {
                readable: !queue.is_empty(),
                writable: false,
                hangup: false,
                error: false,
                rdhup: false,
                seq: None,
            },
            Conn::Unconnected if self.ty != SockType::Dgram => PollEvents {
                readable: readable_rx || s.was_connected,
                writable: true,
                hangup: true,
                error: s.error.is_some(),
                rdhup: s.was_connected || s.shutdown & RCV_SHUTDOWN != 0,
                seq: None,
            },
            conn => {
                let peer = match conn {
                    Conn::Connected(w) => w.upgrade(),
                    _ => None,
                };
                let gone = self.ty != SockType::Dgram && peer.is_none();
                let writable = match &peer {
                    Some(p) => {
                        let ps = p.state.lock();
                        ps.rx_bytes.saturating_mul(4) <= s.sndbuf
                            && (self.ty != SockType::Dgram || ps.rx.len() <= MAX_DGRAM_QLEN)
                    }
                    None => true,
                };
                let shut = if gone { SHUTDOWN_MASK } else { s.shutdown };
                PollEvents {
                    readable: readable_rx || gone,
                    writable,
                    hangup: shut == SHUTDOWN_MASK,
                    error: s.error.is_some(),
                    rdhup: shut & RCV_SHUTDOWN != 0,
                    seq: None,
                }
            }
        }
    }
}

impl Drop for UnixSocket {
    /// Closing a connected stream or seqpacket socket with unread data resets the
    /// connection: the peer's next read fails with `ECONNRESET` (once).
    fn drop(&mut self) {
        let s = self.state.get_mut();
        if self.ty == SockType::Dgram || s.rx.is_empty() {
            return;
        }
        if let Conn::Connected(w) = &s.conn {
            if let Some(p) = w.upgrade() {
                p.state.lock().error = Some(Errno::ECONNRESET);
            }
        }
    }
}

impl FileObject for UnixSocket {
    fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        let max = bufs.iter().map(|b| b.len()).sum();
        let r = self.recv(max, RecvOpts::default())?;
        let mut off = 0;
        for b in bufs.iter_mut() {
            let k = b.len().min(r.data.len() - off);
            b[..k].copy_from_slice(&r.data[off..off + k]);
            off += k;
        }
        Ok(off)
    }

    fn write(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        let data: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        self.send(Dest::Peer, &data, &mut Vec::new(), self.owner).0
    }

    fn poll(&self, _who: &vfs::Poller) -> PollEvents {
        self.poll_events()
    }

    fn lseek(&self) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }

    fn wait_id(&self) -> u64 {
        UnixSocket::wait_id(self)
    }

    fn stat(&self) -> Stat {
        Stat {
            st_dev: abi::structs::makedev(SOCKFS_DEV.0, SOCKFS_DEV.1),
            st_ino: self.ino,
            st_nlink: 1,
            st_mode: S_IFSOCK | 0o777,
            st_uid: self.owner.uid,
            st_gid: self.owner.gid,
            st_blksize: 4096,
            ..Stat::default()
        }
    }
}
