//! What `--net host` reads of the host's network besides its sockets: the interfaces,
//! addresses and routes ([`read`], from the host's own `NETLINK_ROUTE` dumps), a host
//! socket's `struct tcp_info` ([`tcp_info`], from a `NETLINK_SOCK_DIAG` dump, as `ss -i`
//! reads it), and the host's link, address and route events for a guest netlink socket
//! that joined multicast groups ([`Subscription`]). The kernel opens its own netlink
//! sockets for these; the guest never holds one. The host's answers are decoded field by field and kept only as an
//! [`Interfaces`] (every length checked, addresses of their family's size, names cut to
//! `IFNAMSIZ`; other attributes dropped) or the bytes of a `struct tcp_info` cut or padded
//! to the size this kernel reports; the guest's answers are encoded again from those.
//! Both reads are inputs of the `nondet` funnel.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use abi::Errno;
use rustix::net::{self as rn, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::ifaces::{Addr, Interfaces, Link, Route, AF_INET, AF_INET6, STATS};
use crate::rtnl::{self, attrs, u16_at, u32_at, Msg};
use crate::tcpinfo::TCP_INFO_LEN;
use crate::Family;

/// `IFNAMSIZ`.
const IFNAMSIZ: usize = 16;
/// `MAX_ADDR_LEN`: the longest hardware address.
const MAX_ADDR_LEN: usize = 32;
/// How long the kernel waits for one of the host's answers.
const TIMEOUT: Duration = Duration::from_secs(2);

fn herr(e: rustix::io::Errno) -> Errno {
    Errno::from_host(e.raw_os_error())
}

/// A netlink socket of the kernel's own (`None`: `NETLINK_ROUTE`).
fn open(protocol: Option<rn::Protocol>) -> Result<OwnedFd, Errno> {
    open_with(protocol, SocketFlags::CLOEXEC)
}

fn open_with(protocol: Option<rn::Protocol>, flags: SocketFlags) -> Result<OwnedFd, Errno> {
    let fd =
        rn::socket_with(AddressFamily::NETLINK, SocketType::RAW, flags, protocol).map_err(herr)?;
    rn::sockopt::set_socket_timeout(&fd, rn::sockopt::Timeout::Recv, Some(TIMEOUT))
        .map_err(herr)?;
    Ok(fd)
}

/// Sends a dump request of type `ty` with `body` and returns the (type, body) of each
/// message of the answer up to its `NLMSG_DONE`.
fn dump(fd: impl AsFd, ty: u16, body: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, Errno> {
    let mut m = Msg::new(ty, rtnl::NLM_F_REQUEST | rtnl::NLM_F_DUMP, 1, 0);
    m.raw(body);
    rn::send(&fd, &m.finish(), SendFlags::empty()).map_err(herr)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut out = Vec::new();
    loop {
        let n = rn::recv(&fd, &mut buf, RecvFlags::TRUNC).map_err(herr)?;
        if n > buf.len() {
            // Dumps come in datagrams of a page or 32 KiB: the host broke its word.
            return Err(Errno::EMSGSIZE);
        }
        let mut d = &buf[..n];
        while d.len() >= rtnl::NLMSG_HDRLEN {
            let (Some(len), Some(t)) = (u32_at(d, 0), u16_at(d, 4)) else {
                break;
            };
            let len = len as usize;
            if len < rtnl::NLMSG_HDRLEN || len > d.len() {
                return Err(Errno::EIO);
            }
            let body = &d[rtnl::NLMSG_HDRLEN..len];
            match t {
                rtnl::NLMSG_DONE => return Ok(out),
                rtnl::NLMSG_ERROR => {
                    let e = u32_at(body, 0).map_or(0, |e| e as i32);
                    return if e == 0 {
                        Ok(out)
                    } else {
                        Err(Errno::from_host(e.saturating_neg()))
                    };
                }
                _ => out.push((t, body.to_vec())),
            }
            d = &d[len.next_multiple_of(4).min(d.len())..];
        }
    }
}

/// A NUL-terminated string attribute, at most `max` bytes.
fn string(p: &[u8], max: usize) -> String {
    let s = p.split(|&c| c == 0).next().unwrap_or_default();
    String::from_utf8_lossy(&s[..s.len().min(max)]).into_owned()
}

fn u32_of(p: &[u8]) -> Option<u32> {
    u32_at(p, 0)
}

/// An IP address attribute of `family`'s size.
fn ip(family: u8, p: &[u8]) -> Option<Vec<u8>> {
    let want = if family == AF_INET { 4 } else { 16 };
    (p.len() == want).then(|| p.to_vec())
}

/// `RTM_NEWLINK`'s body.
fn link(body: &[u8]) -> Option<Link> {
    let mut l = Link {
        index: u32_at(body, 4)?,
        name: String::new(),
        hw_type: u16_at(body, 2)?,
        flags: u32_at(body, 8)?,
        mtu: 0,
        txqlen: 0,
        operstate: 0,
        qdisc: String::new(),
        address: Vec::new(),
        broadcast: Vec::new(),
        stats: vec![0; STATS],
        link: None,
        master: None,
    };
    for (t, p) in attrs(body.get(16..)?) {
        match t {
            rtnl::IFLA_IFNAME => l.name = string(p, IFNAMSIZ - 1),
            rtnl::IFLA_MTU => l.mtu = u32_of(p)?,
            rtnl::IFLA_TXQLEN => l.txqlen = u32_of(p)?,
            rtnl::IFLA_OPERSTATE => l.operstate = *p.first()?,
            rtnl::IFLA_QDISC => l.qdisc = string(p, IFNAMSIZ - 1),
            rtnl::IFLA_LINK => l.link = Some(u32_of(p)?),
            rtnl::IFLA_MASTER => l.master = Some(u32_of(p)?),
            rtnl::IFLA_ADDRESS => l.address = p[..p.len().min(MAX_ADDR_LEN)].to_vec(),
            rtnl::IFLA_BROADCAST => l.broadcast = p[..p.len().min(MAX_ADDR_LEN)].to_vec(),
            rtnl::IFLA_STATS64 => {
                for (v, c) in l.stats.iter_mut().zip(p.chunks_exact(8)) {
                    *v = u64::from_ne_bytes(c.try_into().ok()?);
                }
            }
            _ => {}
        }
    }
    (!l.name.is_empty() && l.index != 0).then_some(l)
}

/// `RTM_NEWADDR`'s body (IPv4 and IPv6 only).
fn addr(body: &[u8]) -> Option<Addr> {
    let &[family, prefix, flags, scope] = body.get(..4)? else {
        return None;
    };
    if family != AF_INET && family != AF_INET6 {
        return None;
    }
    let mut a = Addr {
        family,
        prefix,
        flags: u32::from(flags),
        scope,
        index: u32_at(body, 4)?,
        address: Vec::new(),
        local: None,
        broadcast: None,
        label: None,
        cacheinfo: [u32::MAX, u32::MAX, 0, 0],
    };
    for (t, p) in attrs(body.get(8..)?) {
        match t {
            rtnl::IFA_ADDRESS => a.address = ip(family, p)?,
            rtnl::IFA_LOCAL => a.local = Some(ip(family, p)?),
            rtnl::IFA_BROADCAST => a.broadcast = Some(ip(family, p)?),
            rtnl::IFA_LABEL => a.label = Some(string(p, IFNAMSIZ - 1)),
            rtnl::IFA_FLAGS => a.flags = u32_of(p)?,
            rtnl::IFA_CACHEINFO => {
                for (v, c) in a.cacheinfo.iter_mut().zip(p.chunks_exact(4)) {
                    *v = u32::from_ne_bytes(c.try_into().ok()?);
                }
            }
            _ => {}
        }
    }
    (!a.address.is_empty()).then_some(a)
}

/// `RTM_NEWROUTE`'s body (IPv4 and IPv6, without source routing).
fn route(body: &[u8]) -> Option<Route> {
    let &[family, dst_len, src_len, _tos, table, protocol, scope, kind] = body.get(..8)? else {
        return None;
    };
    if family != AF_INET && family != AF_INET6 || src_len != 0 {
        return None;
    }
    let mut r = Route {
        family,
        dst_len,
        table: u32::from(table),
        protocol,
        scope,
        kind,
        flags: u32_at(body, 8)?,
        dst: None,
        gateway: None,
        prefsrc: None,
        oif: None,
        priority: None,
        pref: None,
    };
    for (t, p) in attrs(body.get(12..)?) {
        match t {
            rtnl::RTA_TABLE => r.table = u32_of(p)?,
            rtnl::RTA_DST => r.dst = Some(ip(family, p)?),
            rtnl::RTA_GATEWAY => r.gateway = Some(ip(family, p)?),
            rtnl::RTA_PREFSRC => r.prefsrc = Some(ip(family, p)?),
            rtnl::RTA_OIF => r.oif = Some(u32_of(p)?),
            rtnl::RTA_PRIORITY => r.priority = Some(u32_of(p)?),
            rtnl::RTA_PREF => r.pref = Some(*p.first()?),
            _ => {}
        }
    }
    Some(r)
}

/// Decodes the messages of type `ty` of a dump with `parse`.
fn decode<T>(msgs: Vec<(u16, Vec<u8>)>, ty: u16, parse: fn(&[u8]) -> Option<T>) -> Vec<T> {
    msgs.iter()
        .filter(|(t, _)| *t == ty)
        .filter_map(|(_, b)| parse(b))
        .collect()
}

fn read_host() -> Result<Interfaces, Errno> {
    let fd = open(None)?;
    Ok(Interfaces {
        links: decode(
            dump(&fd, rtnl::RTM_GETLINK, &[0; 16])?,
            rtnl::RTM_NEWLINK,
            link,
        ),
        addrs: decode(
            dump(&fd, rtnl::RTM_GETADDR, &[0; 8])?,
            rtnl::RTM_NEWADDR,
            addr,
        ),
        routes: decode(
            dump(&fd, rtnl::RTM_GETROUTE, &[0; 12])?,
            rtnl::RTM_NEWROUTE,
            route,
        ),
    })
}

/// The host's interfaces, addresses and routes now (its `lo` alone if the host will not
/// say).
pub(crate) fn read() -> Interfaces {
    nondet::input("host interfaces", || {
        read_host().unwrap_or_else(|_| Interfaces::loopback())
    })
}

/// `SOCK_DIAG_BY_FAMILY`.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `INET_DIAG_INFO`: the attribute carrying `struct tcp_info`.
const INET_DIAG_INFO: u16 = 2;
/// `sizeof(struct inet_diag_msg)`; its `idiag_inode` is the last field.
const INET_DIAG_MSG: usize = 72;

fn host_tcp_info(fd: &OwnedFd, family: Family) -> Result<Option<Vec<u8>>, Errno> {
    let ino = rustix::fs::fstat(fd).map_err(herr)?.st_ino;
    let nl = open(Some(rn::netlink::SOCK_DIAG))?;
    // struct inet_diag_req_v2: family, IPPROTO_TCP, the extensions wanted, pad, every
    // state, and an empty socket id (a dump of them all).
    let mut req = vec![
        if family == Family::V4 {
            AF_INET
        } else {
            AF_INET6
        },
        6,
        1 << (INET_DIAG_INFO - 1),
        0,
    ];
    req.extend_from_slice(&u32::MAX.to_ne_bytes());
    req.extend_from_slice(&[0; 48]);
    let found = dump(&nl, SOCK_DIAG_BY_FAMILY, &req)?
        .into_iter()
        .find(|(_, b)| u32_at(b, INET_DIAG_MSG - 4).is_some_and(|i| u64::from(i) == ino));
    Ok(found.and_then(|(_, b)| {
        attrs(b.get(INET_DIAG_MSG..)?)
            .find(|&(t, _)| t == INET_DIAG_INFO)
            .map(|(_, p)| {
                let mut v = p[..p.len().min(TCP_INFO_LEN)].to_vec();
                v.resize(TCP_INFO_LEN, 0);
                v
            })
    }))
}

/// The host's `struct tcp_info` of host TCP socket `fd`, `None` when the host does not
/// list it (a socket never bound or connected is in none of its tables).
pub(crate) fn tcp_info(fd: &OwnedFd, family: Family) -> Option<Vec<u8>> {
    nondet::input("host tcp_info", || host_tcp_info(fd, family).ok().flatten())
}

/// `NLM_F_REPLACE`, `NLM_F_EXCL`, `NLM_F_CREATE`, `NLM_F_APPEND`: what an event's flags
/// may say of the change.
const EVENT_FLAGS: u16 = 0xf00;

/// The guest's form of one event the host multicast: decoded and encoded again, with no
/// sequence number or port (the host's say which host process made the change). `None`
/// for anything but a link, address or route event.
fn event(ty: u16, flags: u16, body: &[u8]) -> Option<Vec<u8>> {
    let flags = flags & EVENT_FLAGS;
    match ty {
        rtnl::RTM_NEWLINK | rtnl::RTM_DELLINK => {
            link(body).map(|l| rtnl::link(ty, &l, flags, 0, 0))
        }
        rtnl::RTM_NEWADDR | rtnl::RTM_DELADDR => {
            addr(body).map(|a| rtnl::addr(ty, &a, flags, 0, 0))
        }
        rtnl::RTM_NEWROUTE | rtnl::RTM_DELROUTE => {
            route(body).map(|r| rtnl::route(ty, &r, flags, 0, 0))
        }
        _ => None,
    }
}

/// A host `NETLINK_ROUTE` socket of the kernel's, subscribed to the groups a guest
/// netlink socket joined (groups 1 to 32: those `bind` names), whose events the guest
/// socket receives ([`Subscription::events`]). Its descriptor is what the kernel watches
/// while the guest waits.
#[derive(Debug)]
pub struct Subscription(OwnedFd);

impl Subscription {
    /// A socket subscribed to nothing yet.
    pub(crate) fn new() -> Result<Subscription, Errno> {
        open_with(None, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK).map(Subscription)
    }

    /// Subscribes to `groups` (bit `n - 1` for group `n`) instead of what it was.
    pub(crate) fn set_groups(&self, groups: u32) -> Result<(), Errno> {
        use nix::sys::socket::{bind, getsockname, NetlinkAddr};
        let raw = self.0.as_raw_fd();
        // Bound once (port 0: the host picks one), then again to the same port.
        let port = getsockname::<NetlinkAddr>(raw).map_or(0, |a| a.pid());
        bind(raw, &NetlinkAddr::new(port, groups)).map_err(|e| Errno::from_host(e as i32))
    }

    /// The descriptor to watch.
    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.0
    }

    /// Whether an event is waiting on the host.
    pub(crate) fn pending(&self) -> bool {
        nondet::input("host netlink poll", || {
            let mut fds = [rustix::event::PollFd::new(
                &self.0,
                rustix::event::PollFlags::IN,
            )];
            rustix::event::poll(&mut fds, 0).is_ok_and(|n| n > 0)
        })
    }

    /// The events the host has sent since the last call, each a datagram in the guest's
    /// form, and whether the host dropped some (its socket's buffer ran over: `ENOBUFS`).
    pub(crate) fn events(&self) -> (Vec<Vec<u8>>, bool) {
        nondet::input("host netlink events", || {
            let mut out = Vec::new();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = match rn::recv(&self.0, &mut buf, RecvFlags::DONTWAIT) {
                    Ok(0) => return (out, false),
                    Ok(n) => n.min(buf.len()),
                    Err(e) => return (out, e == rustix::io::Errno::NOBUFS),
                };
                let mut d = &buf[..n];
                while d.len() >= rtnl::NLMSG_HDRLEN {
                    let (Some(len), Some(t), Some(fl)) = (u32_at(d, 0), u16_at(d, 4), u16_at(d, 6))
                    else {
                        break;
                    };
                    let len = len as usize;
                    if len < rtnl::NLMSG_HDRLEN || len > d.len() {
                        break;
                    }
                    out.extend(event(t, fl, &d[rtnl::NLMSG_HDRLEN..len]));
                    d = &d[len.next_multiple_of(4).min(d.len())..];
                }
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ifaces::{RTN_UNICAST, RT_SCOPE_LINK, RT_TABLE_MAIN};
    use crate::rtnl::{answer, Caller};

    /// The loopback network with an Ethernet interface, its address and a default route.
    fn two() -> Interfaces {
        let mut i = Interfaces::loopback();
        let mut eth = i.links[0].clone();
        eth.index = 4;
        eth.name = "eth0".into();
        eth.hw_type = 1;
        eth.address = vec![2, 0xfc, 0, 0, 0, 1];
        eth.broadcast = vec![0xff; 6];
        eth.stats = (0..STATS as u64).collect();
        eth.link = Some(9);
        eth.master = Some(3);
        i.links.push(eth);
        let mut a = i.addrs[0].clone();
        a.index = 4;
        a.address = vec![192, 0, 2, 2];
        a.local = Some(a.address.clone());
        a.broadcast = Some(vec![192, 0, 2, 255]);
        a.label = Some("eth0".into());
        a.scope = 0;
        i.addrs.insert(1, a);
        let mut r = i.routes[0].clone();
        r.dst = None;
        r.dst_len = 0;
        r.table = RT_TABLE_MAIN;
        r.scope = RT_SCOPE_LINK;
        r.kind = RTN_UNICAST;
        r.prefsrc = None;
        r.gateway = Some(vec![192, 0, 2, 1]);
        r.oif = Some(4);
        i.routes.insert(0, r);
        i
    }

    /// What a dump of type `ty` answers for `i`, decoded again.
    fn again<T>(i: &Interfaces, ty: u16, reply: u16, parse: fn(&[u8]) -> Option<T>) -> Vec<T> {
        let mut m = Msg::new(ty, rtnl::NLM_F_REQUEST | rtnl::NLM_F_DUMP, 1, 0);
        m.raw(&[0; 16]);
        let who = Caller {
            port: 1,
            net_admin: false,
            dump_max: 1 << 20,
        };
        let copy = i.clone();
        let out = answer(&m.finish(), who, &move || copy.clone());
        let mut msgs = Vec::new();
        let mut d = &out[0][..];
        while d.len() >= 16 {
            let len = u32_at(d, 0).unwrap() as usize;
            msgs.push((u16_at(d, 4).unwrap(), d[16..len].to_vec()));
            d = &d[len..];
        }
        decode(msgs, reply, parse)
    }

    #[test]
    fn what_is_encoded_decodes_to_itself() {
        for i in [Interfaces::loopback(), two()] {
            assert_eq!(
                again(&i, rtnl::RTM_GETLINK, rtnl::RTM_NEWLINK, link),
                i.links
            );
            assert_eq!(
                again(&i, rtnl::RTM_GETADDR, rtnl::RTM_NEWADDR, addr),
                i.addrs
            );
            assert_eq!(
                again(&i, rtnl::RTM_GETROUTE, rtnl::RTM_NEWROUTE, route),
                i.routes
            );
        }
    }

    #[test]
    fn bad_host_answers_are_dropped() {
        // Too short, an unknown family, an address of the wrong size, a source route.
        assert!(link(&[0; 8]).is_none());
        assert!(addr(&[7, 8, 0, 0, 1, 0, 0, 0]).is_none());
        let mut a = vec![AF_INET, 8, 0, 0, 1, 0, 0, 0];
        a.extend_from_slice(&[10, 0, rtnl::IFA_ADDRESS as u8, 0, 1, 2, 3, 4, 5, 6, 0, 0]);
        assert!(addr(&a).is_none());
        assert!(route(&[AF_INET, 0, 8, 0, 254, 2, 0, 1, 0, 0, 0, 0]).is_none());
        // A link without a name; an attribute longer than the message.
        assert!(link(&[0; 16]).is_none());
        let mut l = vec![0u8; 16];
        l[4] = 2;
        l.extend_from_slice(&[200, 0, 3, 0, b'e', 0, 0, 0]);
        assert!(link(&l).is_none());
        // A name longer than IFNAMSIZ is cut.
        let mut l = vec![0u8; 16];
        l[4] = 2;
        l.extend_from_slice(&[24, 0, 3, 0]);
        l.extend_from_slice(&[b'x'; 20]);
        assert_eq!(link(&l).unwrap().name.len(), IFNAMSIZ - 1);
    }
}
