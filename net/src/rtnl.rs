//! `NETLINK_ROUTE` as far as programs read it: the link, address and route dumps (and a
//! link lookup by index or name) that `ip addr`, `ip link`, `ip route`, glibc's
//! `getifaddrs` and `if_nameindex` ask for, answered from the one interface the instance
//! has, [`LO`]. Changes (`RTM_NEWLINK`, `RTM_NEWADDR`, ...) are refused: `EPERM` without
//! `CAP_NET_ADMIN`, `EOPNOTSUPP` with it. Notifications (multicast groups) are never sent.
//!
//! [`answer`] takes the bytes of one `sendmsg` and returns the replies as Linux frames
//! them: each a datagram of messages, a dump ending with `NLMSG_DONE`. Malformed input
//! is dealt with as Linux's `netlink_rcv_skb` does: a header whose length does not fit
//! ends the batch silently, a message that is not a request is skipped, a bad request
//! gets an `NLMSG_ERROR` with the errno.

use std::net::{Ipv4Addr, Ipv6Addr};

use abi::Errno;

/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_MIN_TYPE`: below are control messages.
const NLMSG_MIN_TYPE: u16 = 0x10;
/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_GETLINK`.
pub const RTM_GETLINK: u16 = 18;
/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_GETADDR`.
pub const RTM_GETADDR: u16 = 22;
/// `RTM_NEWROUTE`.
pub const RTM_NEWROUTE: u16 = 24;
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
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// `IFF_UP`.
pub const IFF_UP: u32 = 0x1;
/// `IFF_LOOPBACK`.
pub const IFF_LOOPBACK: u32 = 0x8;
/// `IFF_RUNNING`.
pub const IFF_RUNNING: u32 = 0x40;
/// `IFF_LOWER_UP`.
pub const IFF_LOWER_UP: u32 = 0x1_0000;
/// `ARPHRD_LOOPBACK`.
pub const ARPHRD_LOOPBACK: u16 = 772;

/// An interface as the stack shows it.
#[derive(Clone, Copy, Debug)]
pub struct Iface {
    /// `ifindex`.
    pub index: u32,
    /// Its name.
    pub name: &'static str,
    /// `IFF_*` flags.
    pub flags: u32,
    /// MTU.
    pub mtu: u32,
    /// Its IPv4 address and prefix length.
    pub v4: (Ipv4Addr, u8),
    /// Its IPv6 address and prefix length.
    pub v6: (Ipv6Addr, u8),
}

/// The instance's only interface: `lo`, index 1, up, 127.0.0.1/8 and ::1/128.
pub const LO: Iface = Iface {
    index: 1,
    name: "lo",
    flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP,
    mtu: 65536,
    v4: (Ipv4Addr::new(127, 0, 0, 1), 8),
    v6: (Ipv6Addr::LOCALHOST, 128),
};

/// The interfaces (by index order).
pub fn interfaces() -> &'static [Iface] {
    std::slice::from_ref(&LO)
}

/// The interface with this index.
pub fn by_index(index: u32) -> Option<Iface> {
    interfaces().iter().copied().find(|i| i.index == index)
}

/// The interface with this name.
pub fn by_name(name: &[u8]) -> Option<Iface> {
    interfaces()
        .iter()
        .copied()
        .find(|i| i.name.as_bytes() == name)
}

/// A message being built: header, fixed part, attributes.
struct Msg(Vec<u8>);

impl Msg {
    fn new(ty: u16, flags: u16, seq: u32, port: u32) -> Msg {
        let mut b = Vec::with_capacity(256);
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&ty.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&port.to_ne_bytes());
        Msg(b)
    }

    fn raw(&mut self, bytes: &[u8]) -> &mut Msg {
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

    fn finish(mut self) -> Vec<u8> {
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

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// What the sender may do.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    /// The sending socket's port id (replies carry it).
    pub port: u32,
    /// `CAP_NET_ADMIN`.
    pub net_admin: bool,
}

/// The replies to the bytes of one send: datagrams to queue on the sender's socket.
pub fn answer(data: &[u8], who: Caller) -> Vec<Vec<u8>> {
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
            match request(h, &msg[NLMSG_HDRLEN..], who) {
                Ok(Reply::Dump(msgs)) => out.push(dump(msgs, h, who)),
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
fn dump(msgs: Vec<Vec<u8>>, h: Hdr, who: Caller) -> Vec<u8> {
    let mut d: Vec<u8> = msgs.concat();
    let mut done = Msg::new(NLMSG_DONE, NLM_F_MULTI, h.seq, who.port);
    done.raw(&0i32.to_ne_bytes());
    d.extend_from_slice(&done.finish());
    d
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

fn request(h: Hdr, body: &[u8], who: Caller) -> Result<Reply, Errno> {
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
    match h.ty {
        RTM_GETLINK if dumping => Ok(Reply::Dump(
            interfaces()
                .iter()
                .map(|i| link(i, flags, h.seq, who.port))
                .collect(),
        )),
        RTM_GETLINK => {
            // struct ifinfomsg: family, pad, type, index (i32 at 4), flags, change.
            if body.len() < 16 {
                return Err(Errno::EINVAL);
            }
            let index = u32_at(body, 4).unwrap_or(0);
            let name = attr(&body[16..], IFLA_IFNAME).map(|n| n.split(|&c| c == 0).next());
            let found = match (index, name) {
                (0, Some(Some(n))) => by_name(n),
                (0, _) => return Err(Errno::EINVAL),
                (i, _) => by_index(i),
            };
            let i = found.ok_or(Errno::ENODEV)?;
            Ok(Reply::One(link(&i, 0, h.seq, who.port)))
        }
        RTM_GETADDR if dumping => {
            let mut v = Vec::new();
            for i in interfaces() {
                if matches!(family, AF_UNSPEC | AF_INET) {
                    v.push(addr4(i, flags, h.seq, who.port));
                }
                if matches!(family, AF_UNSPEC | AF_INET6) {
                    v.push(addr6(i, flags, h.seq, who.port));
                }
            }
            Ok(Reply::Dump(v))
        }
        RTM_GETROUTE if dumping => Ok(Reply::Dump(routes(family, h.seq, who.port))),
        RTM_GETADDR | RTM_GETROUTE => Err(Errno::EOPNOTSUPP),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// The payload of the first attribute of type `ty` in `attrs`.
fn attr(mut attrs: &[u8], ty: u16) -> Option<&[u8]> {
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0)?);
        let t = u16_at(attrs, 2)?;
        if len < 4 || len > attrs.len() {
            return None;
        }
        if t & 0x3fff == ty {
            return Some(&attrs[4..len]);
        }
        attrs = &attrs[len.next_multiple_of(4).min(attrs.len())..];
    }
    None
}

const IFLA_ADDRESS: u16 = 1;
const IFLA_BROADCAST: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_QDISC: u16 = 6;
const IFLA_STATS: u16 = 7;
const IFLA_TXQLEN: u16 = 13;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
const IFLA_GROUP: u16 = 27;
const IFLA_PROMISCUITY: u16 = 30;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_CARRIER: u16 = 33;
const IFLA_MIN_MTU: u16 = 50;
const IFLA_MAX_MTU: u16 = 51;
/// `IF_OPER_UNKNOWN`, what Linux's `lo` reports.
const IF_OPER_UNKNOWN: u8 = 0;

/// `RTM_NEWLINK` for `i`.
fn link(i: &Iface, flags: u16, seq: u32, port: u32) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWLINK, flags, seq, port);
    // struct ifinfomsg
    m.raw(&[AF_UNSPEC, 0])
        .raw(&ARPHRD_LOOPBACK.to_ne_bytes())
        .raw(&i.index.to_ne_bytes())
        .raw(&i.flags.to_ne_bytes())
        .raw(&0u32.to_ne_bytes());
    let mut name = i.name.as_bytes().to_vec();
    name.push(0);
    m.attr(IFLA_IFNAME, &name)
        .u32_attr(IFLA_TXQLEN, 1000)
        .attr(IFLA_OPERSTATE, &[IF_OPER_UNKNOWN])
        .attr(IFLA_LINKMODE, &[0])
        .u32_attr(IFLA_MTU, i.mtu)
        .u32_attr(IFLA_MIN_MTU, 0)
        .u32_attr(IFLA_MAX_MTU, 0)
        .u32_attr(IFLA_GROUP, 0)
        .u32_attr(IFLA_PROMISCUITY, 0)
        .u32_attr(IFLA_NUM_TX_QUEUES, 1)
        .u32_attr(IFLA_NUM_RX_QUEUES, 1)
        .attr(IFLA_CARRIER, &[1])
        .attr(IFLA_QDISC, b"noqueue\0")
        .attr(IFLA_ADDRESS, &[0; 6])
        .attr(IFLA_BROADCAST, &[0; 6])
        // struct rtnl_link_stats: 24 counters, all zero (nothing is counted).
        .attr(IFLA_STATS, &[0; 96]);
    m.finish()
}

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;
/// `IFA_F_PERMANENT`.
const IFA_F_PERMANENT: u8 = 0x80;
/// `RT_SCOPE_HOST`.
const RT_SCOPE_HOST: u8 = 254;
/// `RT_SCOPE_LINK`.
const RT_SCOPE_LINK: u8 = 253;
/// `RT_SCOPE_UNIVERSE`.
const RT_SCOPE_UNIVERSE: u8 = 0;

/// `struct ifa_cacheinfo` of a permanent address.
fn cacheinfo() -> Vec<u8> {
    [u32::MAX, u32::MAX, 0, 0]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect()
}

fn addr_hdr(m: &mut Msg, family: u8, prefix: u8, index: u32) {
    m.raw(&[family, prefix, IFA_F_PERMANENT, RT_SCOPE_HOST])
        .raw(&index.to_ne_bytes());
}

/// `RTM_NEWADDR` for `i`'s IPv4 address.
fn addr4(i: &Iface, flags: u16, seq: u32, port: u32) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWADDR, flags, seq, port);
    addr_hdr(&mut m, AF_INET, i.v4.1, i.index);
    let mut label = i.name.as_bytes().to_vec();
    label.push(0);
    m.attr(IFA_ADDRESS, &i.v4.0.octets())
        .attr(IFA_LOCAL, &i.v4.0.octets())
        .attr(IFA_LABEL, &label)
        .u32_attr(IFA_FLAGS, u32::from(IFA_F_PERMANENT))
        .attr(IFA_CACHEINFO, &cacheinfo());
    m.finish()
}

/// `RTM_NEWADDR` for `i`'s IPv6 address.
fn addr6(i: &Iface, flags: u16, seq: u32, port: u32) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWADDR, flags, seq, port);
    addr_hdr(&mut m, AF_INET6, i.v6.1, i.index);
    m.attr(IFA_ADDRESS, &i.v6.0.octets())
        .attr(IFA_CACHEINFO, &cacheinfo())
        .u32_attr(IFA_FLAGS, u32::from(IFA_F_PERMANENT));
    m.finish()
}

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;
const RTA_PREF: u16 = 20;
const RT_TABLE_MAIN: u8 = 254;
const RT_TABLE_LOCAL: u8 = 255;
const RTPROT_KERNEL: u8 = 2;
const RTN_UNICAST: u8 = 1;
const RTN_LOCAL: u8 = 2;
const RTN_BROADCAST: u8 = 3;

/// One route: `struct rtmsg` and its attributes.
struct Route {
    family: u8,
    dst: Vec<u8>,
    dst_len: u8,
    table: u8,
    scope: u8,
    ty: u8,
    prefsrc: Option<Vec<u8>>,
    priority: Option<u32>,
}

fn route(r: &Route, seq: u32, port: u32) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWROUTE, NLM_F_MULTI, seq, port);
    m.raw(&[
        r.family,
        r.dst_len,
        0,
        0,
        r.table,
        RTPROT_KERNEL,
        r.scope,
        r.ty,
    ])
    .raw(&0u32.to_ne_bytes());
    m.u32_attr(RTA_TABLE, u32::from(r.table));
    m.attr(RTA_DST, &r.dst);
    if let Some(p) = r.priority {
        m.u32_attr(RTA_PRIORITY, p);
    }
    if let Some(src) = &r.prefsrc {
        m.attr(RTA_PREFSRC, src);
    }
    m.u32_attr(RTA_OIF, LO.index);
    if r.family == AF_INET6 {
        m.attr(RTA_PREF, &[0]);
    }
    m.finish()
}

/// The routing tables of a machine with only `lo` up, as Linux fills them: IPv4's
/// local table (127.0.0.0/8, 127.0.0.1, the broadcast address), IPv6's `::1` in main
/// and local.
fn routes(family: u8, seq: u32, port: u32) -> Vec<Vec<u8>> {
    let v4 = LO.v4.0.octets().to_vec();
    let v6 = LO.v6.0.octets().to_vec();
    let mut all = Vec::new();
    if matches!(family, AF_UNSPEC | AF_INET) {
        all.push(Route {
            family: AF_INET,
            dst: vec![127, 0, 0, 0],
            dst_len: 8,
            table: RT_TABLE_LOCAL,
            scope: RT_SCOPE_HOST,
            ty: RTN_LOCAL,
            prefsrc: Some(v4.clone()),
            priority: None,
        });
        all.push(Route {
            family: AF_INET,
            dst: v4.clone(),
            dst_len: 32,
            table: RT_TABLE_LOCAL,
            scope: RT_SCOPE_HOST,
            ty: RTN_LOCAL,
            prefsrc: Some(v4.clone()),
            priority: None,
        });
        all.push(Route {
            family: AF_INET,
            dst: vec![127, 255, 255, 255],
            dst_len: 32,
            table: RT_TABLE_LOCAL,
            scope: RT_SCOPE_LINK,
            ty: RTN_BROADCAST,
            prefsrc: Some(v4),
            priority: None,
        });
    }
    if matches!(family, AF_UNSPEC | AF_INET6) {
        all.push(Route {
            family: AF_INET6,
            dst: v6.clone(),
            dst_len: 128,
            table: RT_TABLE_MAIN,
            scope: RT_SCOPE_UNIVERSE,
            ty: RTN_UNICAST,
            prefsrc: None,
            priority: Some(256),
        });
        all.push(Route {
            family: AF_INET6,
            dst: v6,
            dst_len: 128,
            table: RT_TABLE_LOCAL,
            scope: RT_SCOPE_UNIVERSE,
            ty: RTN_LOCAL,
            prefsrc: None,
            priority: Some(0),
        });
    }
    all.iter().map(|r| route(r, seq, port)).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const WHO: Caller = Caller {
        port: 42,
        net_admin: false,
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
        let out = answer(&req(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, &[0; 8]), WHO);
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
        );
        assert_eq!(types(&v4[0]).len(), 2);
    }

    #[test]
    fn garbage_changes_and_unknown_links() {
        // A header longer than the data, a length below the header's: nothing.
        assert!(answer(&[255, 0, 0, 0, 18, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], WHO).is_empty());
        assert!(answer(&[3, 0, 0, 0, 18, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], WHO).is_empty());
        assert!(answer(&[1, 2, 3], WHO).is_empty());
        // Not a request: skipped.
        assert!(answer(&req(RTM_GETLINK, NLM_F_DUMP, &[0; 16]), WHO).is_empty());
        let err = |d: &[u8]| i32::from_ne_bytes(d[16..20].try_into().unwrap());
        let out = answer(&req(RTM_NEWADDR, NLM_F_REQUEST, &[0; 8]), WHO);
        assert_eq!(err(&out[0]), -(Errno::EPERM as i32));
        let admin = Caller {
            net_admin: true,
            ..WHO
        };
        let out = answer(&req(RTM_NEWADDR, NLM_F_REQUEST, &[0; 8]), admin);
        assert_eq!(err(&out[0]), -(Errno::EOPNOTSUPP as i32));
        let mut body = [0u8; 16];
        body[4] = 7;
        let out = answer(&req(RTM_GETLINK, NLM_F_REQUEST, &body), WHO);
        assert_eq!(err(&out[0]), -(Errno::ENODEV as i32));
        let out = answer(&req(RTM_GETLINK, NLM_F_REQUEST, &[0; 3]), WHO);
        assert_eq!(err(&out[0]), -(Errno::EINVAL as i32));
        // By name.
        let mut m = Msg::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0);
        m.raw(&[0; 16]).attr(IFLA_IFNAME, b"lo\0");
        let out = answer(&m.finish(), WHO);
        assert_eq!(types(&out[0]), vec![(RTM_NEWLINK, 1, 42)]);
        assert_eq!(err(&out[1]), 0);
    }
}
