//! TCP as a loopback needs it: listeners with accept queues, connections as two byte
//! queues, half-close, and reset when a socket goes with unread data.
//!
//! What Linux shows and this keeps: a connect to a port nobody listens on is refused; a
//! non-blocking connect says `EINPROGRESS` and reports its outcome through writability and
//! `SO_ERROR`; a client whose listener's accept queue is full (more than `backlog` waiting)
//! stays connecting until `accept` makes room; a peer's close is end of file for reads, and
//! a write after it succeeds once and then fails with `EPIPE` (the peer answered with a
//! reset); closing with unread data resets the connection (`ECONNRESET` for the peer, after
//! what it had already received).

use std::collections::VecDeque;
use std::net::SocketAddr;

use abi::Errno;

use crate::ports::{destination, in_family, source, wire};
use crate::timewait;
use crate::{
    Kind, Net, Received, Rx, Sock, SockId, Tcp, RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK,
    SOMAXCONN, TCP_RMEM_MAX, TCP_WMEM_MAX,
};

/// How many bytes `s` may still queue at its peer: the peer's receive buffer plus its own
/// send buffer, less what is queued. Buffers nobody set are as large as Linux's
/// autotuning lets them grow ([`TCP_RMEM_MAX`], [`TCP_WMEM_MAX`]). Unlimited when there
/// is no peer (a write then fails for another reason).
pub(crate) fn room(net: &Net, s: &Sock) -> usize {
    let rcv = |p: &Sock| {
        if p.opts.buf_locked {
            p.opts.rcvbuf
        } else {
            TCP_RMEM_MAX
        }
    };
    let snd = if s.opts.buf_locked {
        s.opts.sndbuf
    } else {
        TCP_WMEM_MAX
    };
    match s.tcp {
        Tcp::Established(Some(p)) => match net.socks.get(&p) {
            Some(p) => (rcv(p) + snd).saturating_sub(p.rx_bytes),
            None => 1,
        },
        _ => 1,
    }
}

/// `listen(2)`.
pub(crate) fn listen(net: &mut Net, id: SockId, backlog: u32) -> Result<(), Errno> {
    let s = net.sock(id)?;
    if s.kind != Kind::Stream {
        return Err(Errno::EOPNOTSUPP);
    }
    if s.connecting || !matches!(s.tcp, Tcp::Closed | Tcp::Listen { .. }) {
        return Err(Errno::EINVAL);
    }
    let backlog = backlog.min(SOMAXCONN);
    if let Tcp::Listen { backlog: b, .. } = &mut net.sock_mut(id)?.tcp {
        *b = backlog;
        return Ok(());
    }
    net.autobind(id)?;
    if net.listen_clashes(id) {
        return Err(Errno::EADDRINUSE);
    }
    net.sock_mut(id)?.tcp = Tcp::Listen {
        backlog,
        accept: VecDeque::new(),
        waiting: VecDeque::new(),
    };
    Ok(())
}

/// `connect(2)` of a stream socket. `Ok` once connected; `EINPROGRESS` when a
/// non-blocking connect was started; `EAGAIN` when a blocking one must wait (the call is
/// made again when the socket is woken); `EALREADY` for a non-blocking one still waiting.
pub(crate) fn connect(
    net: &mut Net,
    id: SockId,
    addr: Option<SocketAddr>,
    nonblock: bool,
) -> Result<(), Errno> {
    let s = net.sock(id)?;
    if s.connecting {
        // A connect under way: report how it went.
        return match s.tcp {
            Tcp::SynSent(_) if nonblock => Err(Errno::EALREADY),
            Tcp::SynSent(_) => Err(Errno::EAGAIN),
            Tcp::Established(_) => {
                net.sock_mut(id)?.connecting = false;
                Ok(())
            }
            _ => {
                let s = net.sock_mut(id)?;
                s.connecting = false;
                Err(s.error.take().unwrap_or(Errno::ECONNABORTED))
            }
        };
    }
    match s.tcp {
        Tcp::Closed => {}
        Tcp::Established(_) => return Err(Errno::EISCONN),
        Tcp::Listen { .. } | Tcp::SynSent(_) => return Err(Errno::EISCONN),
    }
    let Some(to) = addr else {
        // AF_UNSPEC on an unconnected stream socket: nothing to undo.
        return Ok(());
    };
    let dst = destination(s, to)?;
    let bound = s.local;
    let local = net.autobind(id)?;
    let src = source(Some(local), dst);
    let family = net.sock(id)?.family;
    {
        let s = net.sock_mut(id)?;
        s.local = Some(in_family(src, local.port(), family));
        s.peer = Some(in_family(dst, to.port(), family));
    }
    let listener = (to.port() != 0)
        .then(|| {
            net.lookup(Kind::Stream, dst, to.port(), (src, local.port()), |l| {
                matches!(l.tcp, Tcp::Listen { .. })
            })
        })
        .flatten();
    let Some(listener) = listener else {
        let s = net.sock_mut(id)?;
        s.peer = None;
        // A port picked for this connect is free again; a bound socket stays bound.
        s.local = bound;
        if nonblock {
            s.error = Some(Errno::ECONNREFUSED);
            s.connecting = true;
            net.wake(id);
            return Err(Errno::EINPROGRESS);
        }
        return Err(Errno::ECONNREFUSED);
    };
    let s = net.sock_mut(id)?;
    s.connecting = true;
    s.tcp = Tcp::SynSent(listener);
    if let Tcp::Listen { waiting, .. } = &mut net.sock_mut(listener)?.tcp {
        waiting.push_back(id);
    }
    admit(net, listener);
    if nonblock {
        return Err(Errno::EINPROGRESS);
    }
    connect(net, id, None, false)
}

/// Moves clients waiting at `listener` into its accept queue while there is room: each
/// gets its server end, a new socket that inherits the listener's options.
fn admit(net: &mut Net, listener: SockId) {
    loop {
        let Some(l) = net.socks.get_mut(&listener) else {
            return;
        };
        let Tcp::Listen {
            backlog,
            accept,
            waiting,
        } = &mut l.tcp
        else {
            return;
        };
        if accept.len() > *backlog as usize {
            return;
        }
        let Some(client) = waiting.pop_front() else {
            return;
        };
        let (family, uid, opts) = (l.family, l.uid, l.opts.clone());
        let Some(c) = net.socks.get(&client) else {
            continue;
        };
        let (Some(cl), Some(cp)) = (c.local, c.peer) else {
            continue;
        };
        net.next += 1;
        let end = SockId(net.next);
        let mut server = Sock {
            family,
            kind: Kind::Stream,
            wait: vfs::new_wait_id(),
            seq: 0,
            uid,
            local: Some(in_family(wire(cp.ip()), cp.port(), family)),
            auto_port: false,
            peer: Some(in_family(wire(cl.ip()), cl.port(), family)),
            opts,
            tcp: Tcp::Established(Some(client)),
            connecting: false,
            fin: false,
            active_close: false,
            shutdown: 0,
            error: None,
            rx: Rx::Bytes(crate::bytes::ByteQueue::default()),
            rx_bytes: 0,
            cork: Vec::new(),
            cork_to: None,
        };
        server.opts.reuseport = false;
        net.socks.insert(end, server);
        if let Some(c) = net.socks.get_mut(&client) {
            c.tcp = Tcp::Established(Some(end));
        }
        if let Some(Tcp::Listen { accept, .. }) = net.socks.get_mut(&listener).map(|l| &mut l.tcp) {
            accept.push_back(end);
        }
        net.wake(client);
        net.wake(listener);
    }
}

/// `accept(2)`: the oldest connection's server end; `EAGAIN` if none, `EINVAL` if not
/// listening.
pub(crate) fn accept(net: &mut Net, id: SockId) -> Result<SockId, Errno> {
    let s = net.sock_mut(id)?;
    if s.kind != Kind::Stream {
        return Err(Errno::EOPNOTSUPP);
    }
    let Tcp::Listen { accept, .. } = &mut s.tcp else {
        return Err(Errno::EINVAL);
    };
    let end = accept.pop_front().ok_or(Errno::EAGAIN)?;
    admit(net, id);
    Ok(end)
}

/// A segment's worth on `lo` (its MSS): corked bytes that reach it go at once.
const MSS: usize = 65_483;

/// Queues `data` for `peer` and wakes it.
fn deliver(net: &mut Net, peer: SockId, data: Vec<u8>) {
    let Some(p) = net.socks.get_mut(&peer) else {
        return;
    };
    p.rx_bytes += data.len();
    if let Rx::Bytes(q) = &mut p.rx {
        q.push(data);
    }
    net.wake(peer);
}

/// Sends the bytes `id` holds back (`MSG_MORE`) to its peer.
fn uncork(net: &mut Net, id: SockId) {
    let Some(s) = net.socks.get_mut(&id) else {
        return;
    };
    let data = std::mem::take(&mut s.cork);
    if let (false, Tcp::Established(Some(p))) = (data.is_empty(), &s.tcp) {
        let p = *p;
        deliver(net, p, data);
    }
}

/// Sends what fits of `data` to the peer; with `more` (`MSG_MORE`) it is held back until
/// a send without it.
pub(crate) fn send(
    net: &mut Net,
    id: SockId,
    mut data: Vec<u8>,
    more: bool,
) -> Result<usize, Errno> {
    let s = net.sock_mut(id)?;
    if let Some(e) = s.error.take() {
        return Err(e);
    }
    if s.shutdown & SEND_SHUTDOWN != 0 {
        return Err(Errno::EPIPE);
    }
    let peer = match s.tcp {
        Tcp::SynSent(_) => return Err(Errno::EAGAIN),
        Tcp::Established(p) => p,
        _ => return Err(Errno::EPIPE),
    };
    let Some(peer) = peer.filter(|p| net.socks.contains_key(p)) else {
        // The peer is gone: it answers this write with a reset, which the next one sees.
        let s = net.sock_mut(id)?;
        s.tcp = Tcp::Closed;
        s.error = Some(Errno::EPIPE);
        s.shutdown = SHUTDOWN_MASK;
        net.wake(id);
        return Ok(data.len());
    };
    if data.is_empty() {
        return Ok(0);
    }
    let s = net.sock(id)?;
    let n = data.len().min(room(net, s).saturating_sub(s.cork.len()));
    if n == 0 {
        return Err(Errno::EAGAIN);
    }
    data.truncate(n);
    let s = net.sock_mut(id)?;
    if more || !s.cork.is_empty() {
        s.cork.extend_from_slice(&data);
        if more && s.cork.len() < MSS {
            return Ok(n);
        }
        data = std::mem::take(&mut s.cork);
    }
    deliver(net, peer, data);
    Ok(n)
}

/// Receives at most `max` bytes: `Ok` with none at end of file, `EAGAIN` when nothing is
/// there yet.
pub(crate) fn recv(net: &mut Net, id: SockId, max: usize, peek: bool) -> Result<Received, Errno> {
    let s = net.sock_mut(id)?;
    match s.tcp {
        Tcp::Listen { .. } => return Err(Errno::ENOTCONN),
        Tcp::SynSent(_) => return Err(Errno::EAGAIN),
        Tcp::Closed if s.rx_bytes == 0 && s.error.is_none() && s.shutdown == 0 => {
            return Err(Errno::ENOTCONN)
        }
        _ => {}
    }
    let Rx::Bytes(q) = &mut s.rx else {
        return Err(Errno::EINVAL);
    };
    if q.is_empty() {
        if s.fin {
            return Ok(Received::default());
        }
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        if s.shutdown & RCV_SHUTDOWN != 0 {
            return Ok(Received::default());
        }
        return Err(Errno::EAGAIN);
    }
    let n = max.min(q.len());
    let data = q.read(n, !peek);
    if !peek {
        s.rx_bytes -= n;
        if let Tcp::Established(Some(p)) = s.tcp {
            net.wake(p);
        }
    }
    Ok(Received {
        full_len: data.len(),
        data,
        from: None,
        controls: Vec::new(),
    })
}

/// `shutdown(2)`.
pub(crate) fn shutdown(net: &mut Net, id: SockId, how: u8) -> Result<(), Errno> {
    let s = net.sock_mut(id)?;
    match s.tcp {
        Tcp::Listen { .. } => {
            if how & RCV_SHUTDOWN != 0 {
                // A listener stops listening: blocked accepts see EINVAL.
                stop_listening(net, id);
                net.wake(id);
            }
            return Ok(());
        }
        Tcp::Closed | Tcp::SynSent(_) => {
            s.shutdown |= how;
            return Err(Errno::ENOTCONN);
        }
        Tcp::Established(peer) => {
            if how & SEND_SHUTDOWN != 0 && s.shutdown & SEND_SHUTDOWN == 0 {
                s.active_close = !s.fin;
            }
            s.shutdown |= how;
            net.wake(id);
            if how & SEND_SHUTDOWN != 0 {
                uncork(net, id);
            }
            if let Some(p) = peer.filter(|_| how & SEND_SHUTDOWN != 0) {
                if let Some(p) = net.socks.get_mut(&p) {
                    p.fin = true;
                    p.shutdown |= RCV_SHUTDOWN;
                }
                net.wake(p);
            }
        }
    }
    Ok(())
}

/// A listener stops: its queued connections are reset, its waiting clients refused.
fn stop_listening(net: &mut Net, id: SockId) {
    let Some(s) = net.socks.get_mut(&id) else {
        return;
    };
    let Tcp::Listen {
        accept, waiting, ..
    } = std::mem::replace(&mut s.tcp, Tcp::Closed)
    else {
        return;
    };
    for end in accept {
        reset_peer(net, end, Errno::ECONNRESET);
        net.socks.remove(&end);
    }
    for client in waiting {
        if let Some(c) = net.socks.get_mut(&client) {
            c.tcp = Tcp::Closed;
            c.error = Some(Errno::ECONNREFUSED);
            c.peer = None;
        }
        net.wake(client);
    }
}

/// The peer of `id` is reset with `err`.
fn reset_peer(net: &mut Net, id: SockId, err: Errno) {
    let Some(Tcp::Established(Some(p))) = net.socks.get(&id).map(|s| s.tcp.clone()) else {
        return;
    };
    if let Some(ps) = net.socks.get_mut(&p) {
        ps.tcp = Tcp::Closed;
        ps.error = Some(err);
        ps.shutdown = SHUTDOWN_MASK;
    }
    net.wake(p);
}

/// The last descriptor of `id` is closed: a listener's queue is reset; a connection's peer
/// sees end of file, or a reset if `id` had unread data (or `SO_LINGER` with no time). A
/// connection whose FIN went first leaves its address in `TIME_WAIT`.
pub(crate) fn close(net: &mut Net, id: SockId) {
    let Some(s) = net.socks.get(&id) else {
        return;
    };
    let resets = s.rx_bytes > 0 || s.opts.linger_zero;
    let sent_fin = s.shutdown & SEND_SHUTDOWN != 0;
    let active = if sent_fin { s.active_close } else { !s.fin };
    match s.tcp.clone() {
        Tcp::Listen { .. } => stop_listening(net, id),
        Tcp::SynSent(l) => {
            if let Some(Tcp::Listen { waiting, .. }) = net.socks.get_mut(&l).map(|l| &mut l.tcp) {
                waiting.retain(|&c| c != id);
            }
        }
        Tcp::Established(Some(p)) => {
            if resets {
                reset_peer(net, id, Errno::ECONNRESET);
                return;
            }
            uncork(net, id);
            if let Some(ps) = net.socks.get_mut(&p) {
                ps.fin = true;
                ps.shutdown |= RCV_SHUTDOWN;
                ps.tcp = Tcp::Established(None);
                net.wake(p);
            }
            if active {
                timewait::enter(net, id, Some(p));
            }
        }
        Tcp::Established(None) => {
            if resets {
                timewait::reset_by(net, id);
            } else if active {
                timewait::enter(net, id, None);
            }
        }
        Tcp::Closed => {}
    }
}

/// The state Linux's `/proc/net/tcp` shows (`TCP_ESTABLISHED` 1 ... `TCP_LISTEN` 10).
pub(crate) fn state_code(s: &Sock) -> u8 {
    let sent_fin = s.shutdown & SEND_SHUTDOWN != 0;
    match s.tcp {
        // ESTABLISHED, FIN_WAIT2, CLOSE_WAIT; once both ends sent their FIN, the socket is
        // closed (a TIME_WAIT lives on without it).
        Tcp::Established(_) => match (s.fin, sent_fin) {
            (false, false) => 1,
            (false, true) => 5,
            (true, false) => 8,
            (true, true) => 7,
        },
        Tcp::SynSent(_) => 2,
        Tcp::Closed => 7,
        Tcp::Listen { .. } => 10,
    }
}
