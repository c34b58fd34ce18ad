//! `NETLINK_ROUTE` as far as programs read it: the link, address and route dumps (and a
//! link lookup by index or name) that `ip addr`, `ip link`, `ip route`, glibc's
//! `getifaddrs` and `if_nameindex` ask for, answered from the instance's
//! [`Interfaces`] (its own `lo`, or the host's with `--net host`). Changes
//! (`RTM_NEWLINK`, `RTM_NEWADDR`, ...) are refused: `EPERM` without `CAP_NET_ADMIN`,
//! `EOPNOTSUPP` with it. Nothing in the instance changes an interface, so the loopback
//! stack multicasts nothing to the groups a socket joins; with `--net host` the host's
//! events are relayed (`netlink`, encoded again by this module's encoders).
//!
//! [`answer`] takes the bytes of one `sendmsg` and returns the replies as Linux frames
//! them: each a datagram of messages, a dump ending with `NLMSG_DONE`. Malformed input
//! is dealt with as Linux's `netlink_rcv_skb` does: a header whose length does not fit
//! ends the batch silently, a message that is not a request is skipped, a bad request
//! gets an `NLMSG_ERROR` with the errno.

use abi::Errno;

use crate::ifaces::{Addr, Interfaces, Link, Route, IFF_LOWER_UP};

/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_MIN_TYPE`: below are control messages.
const NLMSG_MIN_TYPE: u16 = 0x10;
/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`.
pub const RTM_DELLINK: u16 = 17;
/// `RTM_GETLINK`.
pub const RTM_GETLINK: u16 = 18;
/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`.
pub const RTM_DELADDR: u16 = 21;
/// `RTM_GETADDR`.
pub const RTM_GETADDR: u16 = 22;
/// `RTM_NEWROUTE`.
pub const RTM_NEWROUTE: u16 = 24;
/// `RTM_DELROUTE`.
pub const RTM_DELROUTE: u16 = 25;
/// `RTM_GETROUTE`.
pub const RTM_GETROUTE: u16 = 26;
/// `RTM_MAX` (the last of Linux's rtnetlink types, rounded up to a group of four).
const RTM_MAX: u16 = 127;

/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 1;
/// `NLM_F_MULTI`.
pub const NLM_F_MULTI: u16 = 2;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 4;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;

const AF_UNSPEC: u8 = 0;

/// A message being built: header, fixed part, attributes.
pub(crate) struct Msg(Vec<u8>);

impl Msg {
    pub(crate) fn new(ty: u16, flags: u16, seq: u32, port: u32) -> Msg {
        let mut b = Vec::with_capacity(256);
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&ty.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&port.to_ne_bytes());
        Msg(b)
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Msg {
        self.0.extend_from_slice(bytes);
        self
    }

    /// An attribute (`struct rtattr` and its payload, padded to 4 bytes).
    fn attr(&mut self, ty: u16, payload: &[u8]) -> &mut Msg {
        let len = 4 + payload.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(payload);
        self.pad();
        self
    }

    fn u32_attr(&mut self, ty: u16, v: u32) -> &mut Msg {
        self.attr(ty, &v.to_ne_bytes())
    }

    fn pad(&mut self) {
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.pad();
        let len = self.0.len() as u32;
        self.0[..4].copy_from_slice(&len.to_ne_bytes());
        self.0
    }
}

/// A request's header.
#[derive(Clone, Copy, Debug)]
struct Hdr {
    ty: u16,
    flags: u16,
    seq: u32,
}

pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// What the sender may do.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    /// The sending socket's port id (replies carry it).
    pub port: u32,
    /// `CAP_NET_ADMIN`.
    pub net_admin: bool,
    /// The most bytes of a dump's datagram (see [`dump_max`]).
    pub dump_max: usize,
}

/// `NLMSG_GOODSIZE`: a page less what the kernel keeps of it.
pub const NLMSG_GOODSIZE: usize = 4096 - 320;

/// How much of a dump one datagram carries, given the largest receive buffer the socket
/// has been read with (Linux's `max_recvmsg_len`, at most 32 KiB less overhead).
pub fn dump_max(max_recvmsg_len: usize) -> usize {
    max_recvmsg_len.clamp(NLMSG_GOODSIZE, 32768 - 320)
}

/// The replies to the bytes of one send: datagrams to queue on the sender's socket.
/// `ifaces` reads the interfaces, at most once, when a request needs them.
pub fn answer(data: &[u8], who: Caller, ifaces: &dyn Fn() -> Interfaces) -> Vec<Vec<u8>> {
    let read = std::cell::OnceCell::new();
    let ifaces = || read.get_or_init(ifaces);
    let mut out = Vec::new();
    let mut off = 0;
    while data.len() - off >= NLMSG_HDRLEN {
        let b = &data[off..];
        let (Some(len), Some(ty), Some(flags), Some(seq)) =
            (u32_at(b, 0), u16_at(b, 4), u16_at(b, 6), u32_at(b, 8))
        else {
            break;
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            break;
        }
        let h = Hdr { ty, flags, seq };
        let msg = &b[..len];
        if flags & NLM_F_REQUEST != 0 {
            match request(h, &msg[NLMSG_HDRLEN..], who, &ifaces) {
                Ok(Reply::Dump(msgs)) => out.extend(dump(msgs, h, who)),
                Ok(Reply::One(m)) => {
                    out.push(m);
                    if flags & NLM_F_ACK != 0 {
                        out.push(error(h, msg, 0, who));
                    }
                }
                Ok(Reply::Ack) => {
                    if flags & NLM_F_ACK != 0 {
                        out.push(error(h, msg, 0, who));
                    }
                }
                Err(e) => out.push(error(h, msg, -(e as i32), who)),
            }
        }
        // NLMSG_ALIGN(len), at most what is left.
        off += len.next_multiple_of(4).min(b.len());
    }
    out
}

enum Reply {
    Dump(Vec<Vec<u8>>),
    One(Vec<u8>),
    Ack,
}

/// One datagram: the dump's messages, then `NLMSG_DONE`.
/// The datagrams of a dump: its messages, as many as fit in `who.dump_max` bytes each
/// (at least one), then `NLMSG_DONE` (in the last one if it fits), as Linux's
/// `netlink_dump` fills one buffer at a time.
fn dump(msgs: Vec<Vec<u8>>, h: Hdr, who: Caller) -> Vec<Vec<u8>> {
    let mut done = Msg::new(NLMSG_DONE, NLM_F_MULTI, h.seq, who.port);
    done.raw(&0i32.to_ne_bytes());
    let mut out: Vec<Vec<u8>> = vec![Vec::new()];
    for m in msgs.into_iter().chain([done.finish()]) {
        let last = out
            .last_mut()
            .filter(|d| d.is_empty() || d.len() + m.len() <= who.dump_max);
        match last {
            Some(d) => d.extend_from_slice(&m),
            None => out.push(m),
        }
    }
    out
}

/// `NLMSG_ERROR` with `err` (0: an acknowledgement, which carries only the request's
/// header; an error carries the whole request).
fn error(h: Hdr, req: &[u8], err: i32, who: Caller) -> Vec<u8> {
    let mut m = Msg::new(NLMSG_ERROR, 0, h.seq, who.port);
    m.raw(&err.to_ne_bytes());
    if err == 0 {
        m.raw(&req[..NLMSG_HDRLEN]);
    } else {
        m.raw(req);
    }
    m.finish()
}

fn request<'a>(
    h: Hdr,
    body: &[u8],
    who: Caller,
    ifaces: &dyn Fn() -> &'a Interfaces,
) -> Result<Reply, Errno> {
    if h.ty < NLMSG_MIN_TYPE {
        return Ok(Reply::Ack);
    }
    if h.ty > RTM_MAX {
        return Err(Errno::EOPNOTSUPP);
    }
    let family = body.first().copied().unwrap_or(AF_UNSPEC);
    let dumping = h.flags & NLM_F_DUMP != 0;
    // rtnetlink's kinds come in fours: NEW, DEL, GET, SET; only GET reads.
    if h.ty % 4 != 2 {
        return Err(if who.net_admin {
            Errno::EOPNOTSUPP
        } else {
            Errno::EPERM
        });
    }
    let flags = NLM_F_MULTI;
    let wanted = |f: u8| family == AF_UNSPEC || family == f;
    match h.ty {
        RTM_GETLINK if dumping => Ok(Reply::Dump(
            ifaces()
                .links
                .iter()
                .map(|l| link(RTM_NEWLINK, l, flags, h.seq, who.port))
                .collect(),
        )),
        RTM_GETLINK => {
            // struct ifinfomsg: family, pad, type, index (i32 at 4), flags, change.
            if body.len() < 16 {
                return Err(Errno::EINVAL);
            }
            let index = u32_at(body, 4).unwrap_or(0);
            let name = attr(&body[16..], IFLA_IFNAME).map(|n| n.split(|&c| c == 0).next());
            let all = ifaces();
            let found = match (index, name) {
                (0, Some(Some(n))) => all.by_name(n),
                (0, _) => return Err(Errno::EINVAL),
                (i, _) => all.by_index(i),
            };
            let l = found.ok_or(Errno::ENODEV)?;
            Ok(Reply::One(link(RTM_NEWLINK, l, 0, h.seq, who.port)))
        }
        RTM_GETADDR if dumping => Ok(Reply::Dump(
            ifaces()
                .addrs
                .iter()
                .filter(|a| wanted(a.family))
                .map(|a| addr(RTM_NEWADDR, a, flags, h.seq, who.port))
                .collect(),
        )),
        RTM_GETROUTE if dumping => Ok(Reply::Dump(
            ifaces()
                .routes
                .iter()
                .filter(|r| wanted(r.family))
                .map(|r| route(RTM_NEWROUTE, r, flags, h.seq, who.port))
                .collect(),
        )),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// The attributes of `attrs`: (type without its flag bits, payload), up to the first
/// malformed one.
pub(crate) fn attrs(mut attrs: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16_at(attrs, 0)?);
        let t = u16_at(attrs, 2)?;
        if len < 4 || len > attrs.len() {
            return None;
        }
        let payload = &attrs[4..len];
        attrs = &attrs[len.next_multiple_of(4).min(attrs.len())..];
        Some((t & 0x3fff, payload))
    })
}

/// The payload of the first attribute of type `ty` in `attrs`.
fn attr(b: &[u8], ty: u16) -> Option<&[u8]> {
    attrs(b).find(|&(t, _)| t == ty).map(|(_, p)| p)
}

pub(crate) const IFLA_ADDRESS: u16 = 1;
pub(crate) const IFLA_BROADCAST: u16 = 2;
pub(crate) const IFLA_IFNAME: u16 = 3;
pub(crate) const IFLA_MTU: u16 = 4;
pub(crate) const IFLA_LINK: u16 = 5;
pub(crate) const IFLA_QDISC: u16 = 6;
const IFLA_STATS: u16 = 7;
pub(crate) const IFLA_MASTER: u16 = 10;
pub(crate) const IFLA_TXQLEN: u16 = 13;
pub(crate) const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
const IFLA_GROUP: u16 = 27;
const IFLA_PROMISCUITY: u16 = 30;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_CARRIER: u16 = 33;
pub(crate) const IFLA_STATS64: u16 = 23;
const IFLA_MIN_MTU: u16 = 50;
const IFLA_MAX_MTU: u16 = 51;

/// A message of type `ty` (`RTM_NEWLINK`, `RTM_DELLINK`) for `l`.
pub(crate) fn link(ty: u16, l: &Link, flags: u16, seq: u32, port: u32) -> Vec<u8> {
    let mut m = Msg::new(ty, flags, seq, port);
    // struct ifinfomsg
    m.raw(&[AF_UNSPEC, 0])
        .raw(&l.hw_type.to_ne_bytes())
        .raw(&l.index.to_ne_bytes())
        .raw(&l.flags.to_ne_bytes())
        .raw(&0u32.to_ne_bytes());
    let mut name = l.name.as_bytes().to_vec();
    name.push(0);
    let mut qdisc = l.qdisc.as_bytes().to_vec();
    qdisc.push(0);
    // struct rtnl_link_stats (32-bit counters) and rtnl_link_stats64.
    let stats: Vec<u8> = l
        .stats
        .iter()
        .flat_map(|&v| (v as u32).to_ne_bytes())
        .collect();
    let stats64: Vec<u8> = l.stats.iter().flat_map(|&v| v.to_ne_bytes()).collect();
    m.attr(IFLA_IFNAME, &name)
        .u32_attr(IFLA_TXQLEN, l.txqlen)
        .attr(IFLA_OPERSTATE, &[l.operstate])
        .attr(IFLA_LINKMODE, &[0])
        .u32_attr(IFLA_MTU, l.mtu)
        .u32_attr(IFLA_MIN_MTU, 0)
        .u32_attr(IFLA_MAX_MTU, 0)
        .u32_attr(IFLA_GROUP, 0)
        .u32_attr(IFLA_PROMISCUITY, 0)
        .u32_attr(IFLA_NUM_TX_QUEUES, 1)
        .u32_attr(IFLA_NUM_RX_QUEUES, 1)
        .attr(IFLA_CARRIER, &[u8::from(l.flags & IFF_LOWER_UP != 0)])
        .attr(IFLA_QDISC, &qdisc)
        .attr(IFLA_ADDRESS, &l.address)
        .attr(IFLA_BROADCAST, &l.broadcast)
        .attr(IFLA_STATS, &stats)
        .attr(IFLA_STATS64, &stats64);
    if let Some(i) = l.link {
        m.u32_attr(IFLA_LINK, i);
    }
    if let Some(i) = l.master {
        m.u32_attr(IFLA_MASTER, i);
    }
    m.finish()
}

pub(crate) const IFA_ADDRESS: u16 = 1;
pub(crate) const IFA_LOCAL: u16 = 2;
pub(crate) const IFA_LABEL: u16 = 3;
pub(crate) const IFA_BROADCAST: u16 = 4;
pub(crate) const IFA_CACHEINFO: u16 = 6;
pub(crate) const IFA_FLAGS: u16 = 8;

/// A message of type `ty` (`RTM_NEWADDR`, `RTM_DELADDR`) for `a`.
pub(crate) fn addr(ty: u16, a: &Addr, flags: u16, seq: u32, port: u32) -> Vec<u8> {
    let mut m = Msg::new(ty, flags, seq, port);
    // struct ifaddrmsg: the flags' low byte only.
    m.raw(&[a.family, a.prefix, a.flags as u8, a.scope])
        .raw(&a.index.to_ne_bytes());
    let cacheinfo: Vec<u8> = a.cacheinfo.iter().flat_map(|v| v.to_ne_bytes()).collect();
    m.attr(IFA_ADDRESS, &a.address);
    if let Some(l) = &a.local {
        m.attr(IFA_LOCAL, l);
    }
    if let Some(b) = &a.broadcast {
        m.attr(IFA_BROADCAST, b);
    }
    if let Some(l) = &a.label {
        let mut label = l.as_bytes().to_vec();
        label.push(0);
        m.attr(IFA_LABEL, &label);
    }
    m.u32_attr(IFA_FLAGS, a.flags)
        .attr(IFA_CACHEINFO, &cacheinfo);
    m.finish()
}

pub(crate) const RTA_DST: u16 = 1;
pub(crate) const RTA_OIF: u16 = 4;
pub(crate) const RTA_GATEWAY: u16 = 5;
pub(crate) const RTA_PRIORITY: u16 = 6;
pub(crate) const RTA_PREFSRC: u16 = 7;
pub(crate) const RTA_TABLE: u16 = 15;
pub(crate) const RTA_PREF: u16 = 20;
/// `RT_TABLE_COMPAT`: `rtm_table` of a table whose id does not fit in a byte.
const RT_TABLE_COMPAT: u8 = 252;

/// A message of type `ty` (`RTM_NEWROUTE`, `RTM_DELROUTE`) for `r`.
pub(crate) fn route(ty: u16, r: &Route, flags: u16, seq: u32, port: u32) -> Vec<u8> {
    let mut m = Msg::new(ty, flags, seq, port);
    // struct rtmsg
    m.raw(&[
        r.family,
        r.dst_len,
        0,
        0,
        u8::try_from(r.table).unwrap_or(RT_TABLE_COMPAT),
        r.protocol,
        r.scope,
        r.kind,
    ])
    .raw(&r.flags.to_ne_bytes());
    m.u32_attr(RTA_TABLE, r.table);
    if let Some(d) = &r.dst {
        m.attr(RTA_DST, d);
    }
    if let Some(p) = r.priority {
        m.u32_attr(RTA_PRIORITY, p);
    }
    if let Some(src) = &r.prefsrc {
        m.attr(RTA_PREFSRC, src);
    }
    if let Some(g) = &r.gateway {
        m.attr(RTA_GATEWAY, g);
    }
    if let Some(o) = r.oif {
        m.u32_attr(RTA_OIF, o);
    }
    if let Some(p) = r.pref {
        m.attr(RTA_PREF, &[p]);
    }
    m.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ifaces::AF_INET;

    const WHO: Caller = Caller {
        port: 42,
        net_admin: false,
        dump_max: NLMSG_GOODSIZE,
    };

    fn req(ty: u16, flags: u16, body: &[u8]) -> Vec<u8> {
        let mut m = Msg::new(ty, flags, 9, 0);
        m.raw(body);
        m.finish()
    }

    /// (type, seq, port) of each message of a datagram.
    fn types(d: &[u8]) -> Vec<(u16, u32, u32)> {
        let mut v = Vec::new();
        let mut off = 0;
        while off + NLMSG_HDRLEN <= d.len() {
            let len = u32_at(d, off).unwrap() as usize;
            v.push((
                u16_at(d, off + 4).unwrap(),
                u32_at(d, off + 8).unwrap(),
                u32_at(d, off + 12).unwrap(),
            ));
            off += len.next_multiple_of(4);
        }
        v
    }

    #[test]
    fn address_dump_has_both_families_then_done() {
        let out = answer(
            &req(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, &[0; 8]),
            WHO,
            &Interfaces::loopback,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            types(&out[0]),
            vec![
                (RTM_NEWADDR, 9, 42),
                (RTM_NEWADDR, 9, 42),
                (NLMSG_DONE, 9, 42)
            ]
        );
        let v4 = answer(
            &req(
                RTM_GETADDR,
                NLM_F_REQUEST | NLM_F_DUMP,
                &[AF_INET, 0, 0, 0, 0, 0, 0, 0],
            ),
            WHO,
            &Interfaces::loopback,
        );
        assert_eq!(types(&v4[0]).len(), 2);
    }

    #[test]
    fn garbage_changes_and_unknown_links() {
        // A header longer than the data, a length below the header's: nothing.
        assert!(answer(
            &[255, 0, 0, 0, 18, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            WHO,
            &Interfaces::loopback
        )
        .is_empty());
        assert!(answer(
            &[3, 0, 0, 0, 18, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            WHO,
            &Interfaces::loopback
        )
        .is_empty());
        assert!(answer(&[1, 2, 3], WHO, &Interfaces::loopback).is_empty());
        // Not a request: skipped.
        assert!(answer(
            &req(RTM_GETLINK, NLM_F_DUMP, &[0; 16]),
            WHO,
            &Interfaces::loopback
        )
        .is_empty());
        let err = |d: &[u8]| i32::from_ne_bytes(d[16..20].try_into().unwrap());
        let out = answer(
            &req(RTM_NEWADDR, NLM_F_REQUEST, &[0; 8]),
            WHO,
            &Interfaces::loopback,
        );
        assert_eq!(err(&out[0]), -(Errno::EPERM as i32));
        let admin = Caller {
            net_admin: true,
            ..WHO
        };
        let out = answer(
            &req(RTM_NEWADDR, NLM_F_REQUEST, &[0; 8]),
            admin,
            &Interfaces::loopback,
        );
        assert_eq!(err(&out[0]), -(Errno::EOPNOTSUPP as i32));
        let mut body = [0u8; 16];
        body[4] = 7;
        let out = answer(
            &req(RTM_GETLINK, NLM_F_REQUEST, &body),
            WHO,
            &Interfaces::loopback,
        );
        assert_eq!(err(&out[0]), -(Errno::ENODEV as i32));
        let out = answer(
            &req(RTM_GETLINK, NLM_F_REQUEST, &[0; 3]),
            WHO,
            &Interfaces::loopback,
        );
        assert_eq!(err(&out[0]), -(Errno::EINVAL as i32));
        // By name.
        let mut m = Msg::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0);
        m.raw(&[0; 16]).attr(IFLA_IFNAME, b"lo\0");
        let out = answer(&m.finish(), WHO, &Interfaces::loopback);
        assert_eq!(types(&out[0]), vec![(RTM_NEWLINK, 1, 42)]);
        assert_eq!(err(&out[1]), 0);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod dump_tests {
    use super::*;

    #[test]
    fn a_long_dump_is_cut_into_datagrams_done_last() {
        let h = Hdr {
            ty: RTM_GETLINK,
            flags: NLM_F_REQUEST | NLM_F_DUMP,
            seq: 3,
        };
        let who = Caller {
            port: 9,
            net_admin: false,
            dump_max: 1000,
        };
        let out = dump(vec![vec![0; 400]; 5], h, who);
        assert_eq!(
            out.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![800, 800, 420]
        );
        assert_eq!(u16_at(&out[2], 404), Some(NLMSG_DONE));
        assert_eq!(dump_max(0), NLMSG_GOODSIZE);
        assert_eq!(dump_max(1 << 20), 32768 - 320);
    }
}
