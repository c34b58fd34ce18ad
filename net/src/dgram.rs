//! UDP on the loopback: a queue of datagrams per socket, bounded by its `SO_RCVBUF` (a
//! datagram that does not fit is dropped, as Linux drops it); a datagram to a port nobody
//! has bound is lost, and a connected sender learns of it (`ECONNREFUSED` on its next
//! call, Linux's answer to the ICMP port unreachable).

use std::net::SocketAddr;

use abi::Errno;

use crate::anc::{controls, meta_of, Datagram};
use crate::ports::{destination, in_family, source};
use crate::{Family, Kind, Net, Received, Rx, SockId, DGRAM_OVERHEAD, SEND_SHUTDOWN};

/// The largest UDP payload over IPv4 (65535 less the IP and UDP headers) and IPv6.
const MAX_V4: usize = 65_507;
const MAX_V6: usize = 65_527;

/// Datagram `connect(2)`: sends go to `to` by default and only its datagrams are
/// received; `None` (`AF_UNSPEC`) dissolves the association.
pub(crate) fn connect(net: &mut Net, id: SockId, to: Option<SocketAddr>) -> Result<(), Errno> {
    let Some(to) = to else {
        net.sock_mut(id)?.peer = None;
        return Ok(());
    };
    let s = net.sock(id)?;
    let dst = destination(s, to)?;
    let local = net.autobind(id)?;
    let src = source(Some(local), dst);
    let s = net.sock_mut(id)?;
    s.local = Some(in_family(src, local.port(), s.family));
    s.peer = Some(in_family(dst, to.port(), s.family));
    Ok(())
}

/// Sends one datagram to `to`, or to the connected peer. With `more` (`MSG_MORE`) the
/// bytes start or extend a pending datagram, which the next send without it ends and
/// sends (to where its first part was for; later addresses are not looked at).
pub(crate) fn send(
    net: &mut Net,
    id: SockId,
    data: &[u8],
    to: Option<SocketAddr>,
    more: bool,
) -> Result<usize, Errno> {
    let s = net.sock_mut(id)?;
    if let Some(e) = s.error.take() {
        return Err(e);
    }
    if s.shutdown & SEND_SHUTDOWN != 0 {
        return Err(Errno::EPIPE);
    }
    let to = s.cork_to.or(to).or(s.peer).ok_or(Errno::EDESTADDRREQ)?;
    let max = match s.family {
        Family::V4 => MAX_V4,
        Family::V6 => MAX_V6,
    };
    if s.cork.len() + data.len() > max {
        // The pending datagram is dropped with it.
        s.cork.clear();
        s.cork_to = None;
        return Err(Errno::EMSGSIZE);
    }
    if to.port() == 0 {
        return Err(Errno::EINVAL);
    }
    let dst = destination(s, to)?;
    let connected = s.peer.is_some();
    let local = net.autobind(id)?;
    let s = net.sock_mut(id)?;
    if more {
        s.cork.extend_from_slice(data);
        s.cork_to = Some(to);
        return Ok(data.len());
    }
    s.cork_to = None;
    let mut payload = std::mem::take(&mut s.cork);
    payload.extend_from_slice(data);
    let src = source(Some(local), dst);
    let Some(rcv) = net.lookup(Kind::Dgram, dst, to.port(), (src, local.port()), |_| true) else {
        if connected {
            net.sock_mut(id)?.error = Some(Errno::ECONNREFUSED);
            net.wake(id);
        }
        return Ok(data.len());
    };
    let meta = meta_of(net.sock(id)?, dst);
    let from = in_family(src, local.port(), net.sock(rcv)?.family);
    let d = Datagram {
        data: payload,
        from,
        meta,
    };
    net.enqueue(rcv, d);
    Ok(data.len())
}

/// Receives the next datagram, cut to `max` bytes, with the control messages the socket
/// asked for (UDP, ping and raw sockets).
pub(crate) fn recv(net: &mut Net, id: SockId, max: usize, peek: bool) -> Result<Received, Errno> {
    let s = net.sock_mut(id)?;
    if let Some(e) = s.error.take() {
        return Err(e);
    }
    let Rx::Datagrams(q) = &mut s.rx else {
        return Err(Errno::EINVAL);
    };
    let Some(d) = (if peek {
        q.front().cloned()
    } else {
        q.pop_front()
    }) else {
        if s.shutdown & crate::RCV_SHUTDOWN != 0 {
            return Ok(Received::default());
        }
        return Err(Errno::EAGAIN);
    };
    if !peek {
        s.rx_bytes -= d.data.len() + DGRAM_OVERHEAD;
    }
    let controls = controls(s, &d.meta);
    let full_len = d.data.len();
    let mut data = d.data;
    data.truncate(max);
    Ok(Received {
        data,
        full_len,
        from: Some(d.from),
        controls,
    })
}

/// Datagram `shutdown(2)`: `ENOTCONN` unless connected (the bits are set all the same).
pub(crate) fn shutdown(net: &mut Net, id: SockId, how: u8) -> Result<(), Errno> {
    let s = net.sock_mut(id)?;
    s.shutdown |= how;
    let connected = s.peer.is_some();
    net.wake(id);
    if connected {
        Ok(())
    } else {
        Err(Errno::ENOTCONN)
    }
}
