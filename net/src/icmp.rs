//! ICMP on the loopback: ICMP echo ("ping") sockets, raw ICMP sockets, and the echo
//! responder of the instance's host, as Linux's `ping.c`, `raw.c` and `icmp.c` show them.
//!
//! A ping socket (`SOCK_DGRAM` with `IPPROTO_ICMP`/`IPPROTO_ICMPV6`) sends only echo
//! requests: the stack sets the identifier to the socket's port (bound, or picked on the
//! first send as a UDP port is) and computes the checksum; it receives the echo replies
//! whose identifier is its port, ICMP header first, from an address with port 0. Ping
//! ports are a space of their own. Who may open one (`net.ipv4.ping_group_range`) is the
//! syscall layer's question.
//!
//! A raw socket (`SOCK_RAW`, `CAP_NET_RAW`) sends whatever ICMP message it is given (over
//! IPv6 the stack fills in the checksum, as Linux always does for ICMPv6) and receives a
//! copy of every ICMP message of its IP version to its address — requests and replies,
//! its own included — less the types its `ICMP_FILTER`/`ICMP6_FILTER` blocks; an IPv4
//! raw socket receives the IP header in front of the message. Its name carries the
//! protocol number as its port, as Linux's `inet_num`.
//!
//! Every echo request to an address of `lo` is answered: the reply (type 0 or 129, the
//! request's code, identifier, sequence and data) goes from the request's destination back
//! to its source with TTL 64. No other ICMP message is ever generated (a datagram to a
//! closed port is reported to its sender directly, see `dgram`).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::SystemTime;

use abi::net::{ICMP6_FILTER, ICMP_FILTER, SOL_ICMPV6, SOL_RAW};
use abi::Errno;

use crate::anc::{meta_of, Datagram, Meta, DEFAULT_TTL};
use crate::ports::{destination, in_family, is_local, source, wire, Wire};
use crate::{Family, Kind, Net, SockId};

const ICMP_ECHOREPLY: u8 = 0;
const ICMP_ECHO: u8 = 8;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;
/// `sizeof(struct icmphdr)`: type, code, checksum, identifier, sequence.
const ICMP_HDR: usize = 8;
/// The largest message a send takes.
const MAX_LEN: usize = 0xffff;
const PROTO_ICMP: u16 = 1;
const PROTO_ICMPV6: u16 = 58;

/// One ICMP message on the loopback.
struct Packet {
    src: Wire,
    dst: Wire,
    ttl: u8,
    tos: u8,
    /// The ICMP message, header first.
    icmp: Vec<u8>,
}

/// The name of a fresh raw socket: the wildcard address, the protocol as its port.
pub(crate) fn raw_name(family: Family) -> SocketAddr {
    match family {
        Family::V4 => SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PROTO_ICMP)),
        Family::V6 => SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, PROTO_ICMPV6, 0, 0)),
    }
}

/// The Internet checksum (RFC 1071) of `data`, starting from the partial sum `sum`.
fn checksum(sum: u32, data: &[u8]) -> u16 {
    let mut sum = sum;
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [b] = words.remainder() {
        sum += u32::from(*b) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The sum of the IPv6 pseudo-header an ICMPv6 checksum covers.
fn pseudo_sum(src: Ipv6Addr, dst: Ipv6Addr, len: usize) -> u32 {
    let mut sum = 0u32;
    for a in [src, dst] {
        for w in a.segments() {
            sum += u32::from(w);
        }
    }
    sum + (len as u32 >> 16) + (len as u32 & 0xffff) + u32::from(PROTO_ICMPV6)
}

/// Fills in the checksum of the message of `p` (ICMPv6 covers the pseudo-header).
fn set_checksum(p: &mut Packet) {
    if p.icmp.len() < 4 {
        return;
    }
    p.icmp[2..4].fill(0);
    let sum = match (p.src, p.dst) {
        (Wire::V6(s), Wire::V6(d)) => pseudo_sum(s, d, p.icmp.len()),
        _ => 0,
    };
    let c = checksum(sum, &p.icmp);
    p.icmp[2..4].copy_from_slice(&c.to_be_bytes());
}

/// Where a ping or raw socket sends: `to`, or its peer (`EDESTADDRREQ` without one);
/// only to its own IP version.
fn route(net: &Net, id: SockId, to: Option<SocketAddr>) -> Result<(Wire, SocketAddr), Errno> {
    let s = net.sock(id)?;
    let to = to.or(s.peer).ok_or(Errno::EDESTADDRREQ)?;
    let dst = destination(s, to)?;
    if s.family == Family::V6 && matches!(dst, Wire::V4(_)) {
        return Err(Errno::EINVAL);
    }
    Ok((dst, to))
}

/// A ping socket's send: `data` must be an echo request (`EINVAL` otherwise).
pub(crate) fn ping_send(
    net: &mut Net,
    id: SockId,
    data: Vec<u8>,
    to: Option<SocketAddr>,
) -> Result<usize, Errno> {
    let family = net.sock(id)?.family;
    if data.len() > MAX_LEN {
        return Err(Errno::EMSGSIZE);
    }
    let echo = match family {
        Family::V4 => ICMP_ECHO,
        Family::V6 => ICMPV6_ECHO_REQUEST,
    };
    if data.len() < ICMP_HDR || data[0] != echo || data[1] != 0 {
        return Err(Errno::EINVAL);
    }
    let (dst, _) = route(net, id, to)?;
    let local = net.autobind(id)?;
    let len = data.len();
    let mut p = Packet {
        src: source(Some(local), dst),
        dst,
        ttl: 0,
        tos: 0,
        icmp: data,
    };
    p.icmp[4..6].copy_from_slice(&local.port().to_be_bytes());
    set_checksum(&mut p);
    send(net, id, p);
    Ok(len)
}

/// A raw socket's send: the message as given (its ICMPv6 checksum filled in).
pub(crate) fn raw_send(
    net: &mut Net,
    id: SockId,
    data: Vec<u8>,
    to: Option<SocketAddr>,
) -> Result<usize, Errno> {
    let s = net.sock(id)?;
    if data.len() > MAX_LEN {
        return Err(Errno::EMSGSIZE);
    }
    if s.family == Family::V6 && data.len() < 4 {
        return Err(Errno::EINVAL);
    }
    let local = s.local;
    let (dst, _) = route(net, id, to)?;
    let len = data.len();
    let mut p = Packet {
        src: source(local, dst),
        dst,
        ttl: 0,
        tos: 0,
        icmp: data,
    };
    if matches!(dst, Wire::V6(_)) {
        set_checksum(&mut p);
    }
    send(net, id, p);
    Ok(len)
}

/// Sends `p` from socket `id` (with its TTL and TOS).
fn send(net: &mut Net, id: SockId, mut p: Packet) {
    if let Ok(s) = net.sock(id) {
        let m = meta_of(s, p.dst);
        (p.ttl, p.tos) = (m.ttl, m.tos);
    }
    input(net, p);
}

/// A raw socket's `bind`: an address of `lo` or the wildcard (`EADDRNOTAVAIL`), any
/// number of times; the port is not looked at.
pub(crate) fn raw_bind(net: &mut Net, id: SockId, addr: SocketAddr) -> Result<(), Errno> {
    let w = wire(addr.ip());
    if !addr.ip().is_unspecified() && !is_local(w) {
        return Err(Errno::EADDRNOTAVAIL);
    }
    let s = net.sock_mut(id)?;
    let port = raw_name(s.family).port();
    s.local = Some(SocketAddr::new(addr.ip(), port));
    Ok(())
}

/// Whether raw socket option `filter` (`ICMP_FILTER`'s 32 bits, `ICMP6_FILTER`'s 256)
/// blocks messages of type `ty`.
fn filtered(filter: Option<&Vec<u8>>, ty: u8) -> bool {
    let Some(f) = filter else { return false };
    let word = usize::from(ty / 32) * 4;
    let Some(w) = f.get(word..word + 4) else {
        return false;
    };
    u32::from_ne_bytes([w[0], w[1], w[2], w[3]]) & (1 << (ty % 32)) != 0
}

/// The bytes an IPv4 raw socket receives for `p`: an IP header, then the message.
fn with_ip_header(p: &Packet, id: u16) -> Vec<u8> {
    let (Wire::V4(src), Wire::V4(dst)) = (p.src, p.dst) else {
        return p.icmp.clone();
    };
    let total = (20 + p.icmp.len()) as u16;
    let mut h = vec![0x45, p.tos];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&[0, 0, p.ttl, PROTO_ICMP as u8, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum(0, &h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(&p.icmp);
    h
}

/// An ICMP message arrives at `lo`: copies go to the raw sockets that take it, an echo
/// reply to the ping socket it is for, and an echo request is answered.
fn input(net: &mut Net, p: Packet) {
    let v6 = matches!(p.dst, Wire::V6(_));
    let family = if v6 { Family::V6 } else { Family::V4 };
    let meta = Meta {
        dst: p.dst,
        ttl: p.ttl,
        tos: p.tos,
        at: SystemTime::now(),
    };
    let Some(&ty) = p.icmp.first() else { return };
    net.ip_id = net.ip_id.wrapping_add(1);
    let (level, name) = if v6 {
        (SOL_ICMPV6, ICMP6_FILTER)
    } else {
        (SOL_RAW, ICMP_FILTER)
    };
    let raws: Vec<SockId> = net
        .socks
        .iter()
        .filter(|(_, s)| s.kind == Kind::Raw && s.family == family)
        .filter(|(_, s)| {
            let bound = s.local.map(|l| l.ip());
            bound.is_none_or(|ip| ip.is_unspecified() || wire(ip) == p.dst)
                && s.peer.is_none_or(|peer| wire(peer.ip()) == p.src)
                && !filtered(s.opts.other.get(&(level, name)), ty)
        })
        .map(|(&id, _)| id)
        .collect();
    for id in raws {
        let d = Datagram {
            data: if v6 {
                p.icmp.clone()
            } else {
                with_ip_header(&p, net.ip_id)
            },
            from: in_family(p.src, 0, family),
            meta,
        };
        net.enqueue(id, d);
    }
    if p.icmp.len() < ICMP_HDR {
        return;
    }
    let (request, reply) = if v6 {
        (ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY)
    } else {
        (ICMP_ECHO, ICMP_ECHOREPLY)
    };
    if ty == request && is_local(p.dst) {
        let mut r = Packet {
            src: p.dst,
            dst: p.src,
            ttl: DEFAULT_TTL,
            tos: p.tos,
            icmp: p.icmp,
        };
        r.icmp[0] = reply;
        set_checksum(&mut r);
        input(net, r);
    } else if ty == reply {
        let ident = u16::from_be_bytes([p.icmp[4], p.icmp[5]]);
        let to = net.lookup(Kind::Ping, p.dst, ident, (p.src, 0), |s| s.family == family);
        if let Some(to) = to {
            let d = Datagram {
                data: p.icmp,
                from: in_family(p.src, 0, family),
                meta,
            };
            net.enqueue(to, d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_rfc1071_example() {
        // RFC 1071's example words 0001 f203 f4f5 f6f7 sum to ddf2 (complement 220d).
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(0, &d), 0x220d);
        // An odd byte counts as the high half of a word.
        assert_eq!(checksum(0, &[0xff]), 0x00ff);
    }

    #[test]
    fn filter_bits() {
        let f = (1u32 << 8).to_ne_bytes().to_vec();
        assert!(filtered(Some(&f), 8));
        assert!(!filtered(Some(&f), 0));
        assert!(!filtered(Some(&f), 40));
        assert!(!filtered(None, 8));
    }
}
