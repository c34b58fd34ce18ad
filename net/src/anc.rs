//! Ancillary data of received datagrams: what a datagram carried besides its bytes (the
//! address it was sent to, its TTL or hop limit, its TOS or traffic class, when it
//! arrived), and the control messages a receiver asked for with `SO_TIMESTAMP`,
//! `SO_TIMESTAMPNS`, `IP_PKTINFO`, `IP_RECVTTL`, `IP_RECVTOS`, `IPV6_RECVPKTINFO`,
//! `IPV6_RECVHOPLIMIT` and `IPV6_RECVTCLASS`, in Linux's order (the timestamp, then for an
//! IPv6 socket its `IPV6_PKTINFO`, then the IPv4 ones of an IPv4 datagram — `ip_cmsg_recv`
//! — or the IPv6 ones of an IPv6 datagram).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use abi::net::{
    IPPROTO_IP, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, IPV6_RECVPKTINFO, IPV6_RECVTCLASS, IPV6_TCLASS,
    IPV6_UNICAST_HOPS, IP_PKTINFO, IP_RECVTOS, IP_RECVTTL, IP_TOS, IP_TTL, SOL_SOCKET,
    SO_TIMESTAMP, SO_TIMESTAMPNS,
};
use serde::{Deserialize, Serialize};

use crate::ports::Wire;
use crate::{Family, Kind, Opts, Sock};

/// `net.ipv4.ip_default_ttl` and the IPv6 default hop limit.
pub(crate) const DEFAULT_TTL: u8 = 64;

/// What a datagram carried besides its bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    /// The address it was sent to.
    pub(crate) dst: Wire,
    /// Its TTL (IPv4) or hop limit (IPv6).
    pub(crate) ttl: u8,
    /// Its TOS (IPv4) or traffic class (IPv6).
    pub(crate) tos: u8,
    /// When it was queued.
    pub(crate) at: SystemTime,
}

/// A queued datagram.
#[derive(Clone, Debug)]
pub(crate) struct Datagram {
    pub(crate) data: Vec<u8>,
    /// The sender, as the receiving socket names it.
    pub(crate) from: SocketAddr,
    pub(crate) meta: Meta,
}

/// A control message of a receive, decoded (the syscall layer lays it out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Control {
    /// `SCM_TIMESTAMP`: seconds and microseconds.
    Timestamp(i64, i64),
    /// `SCM_TIMESTAMPNS`: seconds and nanoseconds.
    TimestampNs(i64, i64),
    /// `IP_PKTINFO`: the interface index, the local address, the destination address.
    PktInfo(u32, Ipv4Addr, Ipv4Addr),
    /// `IP_TTL`.
    Ttl(i32),
    /// `IP_TOS` (one byte).
    Tos(u8),
    /// `IPV6_PKTINFO`: the destination address and the interface index.
    PktInfo6(Ipv6Addr, u32),
    /// `IPV6_HOPLIMIT`.
    HopLimit(i32),
    /// `IPV6_TCLASS`.
    TClass(i32),
}

impl Opts {
    /// The integer option (`level`, `name`) as set, if it was.
    pub(crate) fn int(&self, level: i32, name: i32) -> Option<i32> {
        let v = self.other.get(&(level, name))?;
        let b = v.get(..4)?;
        Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Whether the boolean option (`level`, `name`) is on.
    pub(crate) fn on(&self, level: i32, name: i32) -> bool {
        self.int(level, name).is_some_and(|v| v != 0)
    }
}

/// What a datagram `s` sends to `dst` carries: its `IP_TTL`/`IPV6_UNICAST_HOPS` and
/// `IP_TOS`/`IPV6_TCLASS` (for an IPv4 destination the IPv4 ones, as Linux's mapped
/// sends use).
pub(crate) fn meta_of(s: &Sock, dst: Wire) -> Meta {
    let (ttl, tos) = match dst {
        Wire::V4(_) => (
            s.opts.int(IPPROTO_IP, IP_TTL),
            s.opts.int(IPPROTO_IP, IP_TOS),
        ),
        Wire::V6(_) => (
            s.opts.int(IPPROTO_IPV6, IPV6_UNICAST_HOPS),
            s.opts.int(IPPROTO_IPV6, IPV6_TCLASS),
        ),
    };
    Meta {
        dst,
        ttl: ttl.filter(|&t| t >= 0).map_or(DEFAULT_TTL, |t| t as u8),
        tos: tos.filter(|&t| t >= 0).map_or(0, |t| t as u8),
        at: nondet::ktime_get_real(),
    }
}

/// The control messages `s` asked for, for a datagram that carried `m`.
pub(crate) fn controls(s: &Sock, m: &Meta) -> Vec<Control> {
    let o = &s.opts;
    let mut out = Vec::new();
    let since = m.at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    if o.on(SOL_SOCKET, SO_TIMESTAMPNS) {
        out.push(Control::TimestampNs(secs, i64::from(since.subsec_nanos())));
    } else if o.on(SOL_SOCKET, SO_TIMESTAMP) {
        out.push(Control::Timestamp(secs, i64::from(since.subsec_micros())));
    }
    // `lo`'s index: every datagram of the loopback stack arrives there.
    let lo = 1;
    if s.family == Family::V6 && o.on(IPPROTO_IPV6, IPV6_RECVPKTINFO) {
        let addr = match m.dst {
            Wire::V4(a) => a.to_ipv6_mapped(),
            Wire::V6(a) => a,
        };
        out.push(Control::PktInfo6(addr, lo));
    }
    match m.dst {
        Wire::V4(a) => {
            if o.on(IPPROTO_IP, IP_PKTINFO) {
                // Ping sockets skip ipv4_pktinfo_prepare: no local address.
                let spec_dst = if s.kind == Kind::Ping {
                    Ipv4Addr::UNSPECIFIED
                } else {
                    a
                };
                out.push(Control::PktInfo(lo, spec_dst, a));
            }
            if o.on(IPPROTO_IP, IP_RECVTTL) {
                out.push(Control::Ttl(i32::from(m.ttl)));
            }
            if o.on(IPPROTO_IP, IP_RECVTOS) {
                out.push(Control::Tos(m.tos));
            }
        }
        Wire::V6(_) => {
            if o.on(IPPROTO_IPV6, IPV6_RECVHOPLIMIT) {
                out.push(Control::HopLimit(i32::from(m.ttl)));
            }
            if o.on(IPPROTO_IPV6, IPV6_RECVTCLASS) {
                out.push(Control::TClass(i32::from(m.tos)));
            }
        }
    }
    out
}
