//! The port space: which addresses a bound socket covers, `bind` with Linux's conflict
//! rules (`SO_REUSEADDR`, `SO_REUSEPORT`, `IPV6_V6ONLY`, dual stack), ephemeral ports, and
//! finding the socket a connection or datagram is for.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use abi::Errno;

use crate::{Family, Kind, Net, Sock, SockId, Tcp, EPHEMERAL};

/// Ports below this need `CAP_NET_BIND_SERVICE`.
const PROT_SOCK: u16 = 1024;

/// An address as it travels: IPv4 (including a v4-mapped IPv6 one) or IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wire {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

/// What a bound address receives: for each IP version, nothing, any address (`Some(None)`)
/// or one address.
#[derive(Clone, Copy, Debug)]
struct Cover {
    v4: Option<Option<Ipv4Addr>>,
    v6: Option<Option<Ipv6Addr>>,
}

fn part_overlaps<T: PartialEq>(a: Option<Option<T>>, b: Option<Option<T>>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x.is_none() || y.is_none() || x == y,
        _ => false,
    }
}

impl Cover {
    fn of(ip: IpAddr, v6only: bool) -> Cover {
        match ip {
            IpAddr::V4(a) => Cover {
                v4: Some((!a.is_unspecified()).then_some(a)),
                v6: None,
            },
            IpAddr::V6(a) if a.is_unspecified() => Cover {
                v4: (!v6only).then_some(None),
                v6: Some(None),
            },
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(m) => Cover {
                    v4: Some((!m.is_unspecified()).then_some(m)),
                    v6: None,
                },
                None => Cover {
                    v4: None,
                    v6: Some(Some(a)),
                },
            },
        }
    }

    fn overlaps(&self, o: &Cover) -> bool {
        part_overlaps(self.v4, o.v4) || part_overlaps(self.v6, o.v6)
    }

    /// Whether it receives for `dst`: `Some(true)` for its own address, `Some(false)` for a
    /// wildcard.
    fn matches(&self, dst: Wire) -> Option<bool> {
        match (dst, self.v4, self.v6) {
            (Wire::V4(a), Some(c), _) if c.is_none_or(|c| c == a) => Some(c.is_some()),
            (Wire::V6(a), _, Some(c)) if c.is_none_or(|c| c == a) => Some(c.is_some()),
            _ => None,
        }
    }
}

/// `ip` as it travels.
pub(crate) fn wire(ip: IpAddr) -> Wire {
    match ip {
        IpAddr::V4(a) => Wire::V4(a),
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(Wire::V6(a), Wire::V4),
    }
}

/// Whether `w` is an address of `lo`.
pub(crate) fn is_local(w: Wire) -> bool {
    match w {
        Wire::V4(a) => a.is_loopback(),
        Wire::V6(a) => a.is_loopback(),
    }
}

/// `w` as a socket of `family` sees it (v4-mapped in an IPv6 socket).
pub(crate) fn in_family(w: Wire, port: u16, family: Family) -> SocketAddr {
    match (w, family) {
        (Wire::V4(a), Family::V4) => SocketAddr::V4(SocketAddrV4::new(a, port)),
        (Wire::V4(a), Family::V6) => {
            SocketAddr::V6(SocketAddrV6::new(a.to_ipv6_mapped(), port, 0, 0))
        }
        (Wire::V6(a), _) => SocketAddr::V6(SocketAddrV6::new(a, port, 0, 0)),
    }
}

/// The destination a socket sends to for `to`: the unspecified address means this host
/// (`127.0.0.1`, `::1`); anything not on `lo` is unreachable.
pub(crate) fn destination(s: &Sock, to: SocketAddr) -> Result<Wire, Errno> {
    let w = match wire(to.ip()) {
        Wire::V4(a) if a.is_unspecified() => Wire::V4(Ipv4Addr::LOCALHOST),
        Wire::V6(a) if a.is_unspecified() => Wire::V6(Ipv6Addr::LOCALHOST),
        w => w,
    };
    if matches!(w, Wire::V4(_)) && s.family == Family::V6 && s.opts.v6only {
        return Err(Errno::ENETUNREACH);
    }
    if !is_local(w) {
        return Err(Errno::ENETUNREACH);
    }
    Ok(w)
}

/// The source address a socket bound to `local` (or unbound) uses towards `dst`.
pub(crate) fn source(local: Option<SocketAddr>, dst: Wire) -> Wire {
    match local.map(|l| wire(l.ip())) {
        Some(Wire::V4(a)) if !a.is_unspecified() => Wire::V4(a),
        Some(Wire::V6(a)) if !a.is_unspecified() => Wire::V6(a),
        _ => match dst {
            Wire::V4(_) => Wire::V4(Ipv4Addr::LOCALHOST),
            Wire::V6(_) => Wire::V6(Ipv6Addr::LOCALHOST),
        },
    }
}

impl Net {
    /// Whether binding `id` to `ip`:`port` would clash with another socket: overlapping
    /// addresses clash unless both have `SO_REUSEPORT` (same owner), or both
    /// `SO_REUSEADDR` and (TCP) the other does not listen. With `time_wait`, a connection
    /// in `TIME_WAIT` there counts as a socket that does not listen (of any owner).
    fn clashes(&self, id: SockId, ip: IpAddr, port: u16, time_wait: bool) -> bool {
        let Some(me) = self.socks.get(&id) else {
            return true;
        };
        let mine = Cover::of(ip, me.opts.v6only);
        let sockets = self.socks.iter().any(|(&oid, o)| {
            let Some(ol) = o.local else { return false };
            if oid == id || o.kind != me.kind || ol.port() != port {
                return false;
            }
            if !mine.overlaps(&Cover::of(ol.ip(), o.opts.v6only)) {
                return false;
            }
            let o_listens = matches!(o.tcp, Tcp::Listen { .. });
            if me.opts.reuseport && o.opts.reuseport && me.uid == o.uid {
                return false;
            }
            let reuse = me.opts.reuseaddr && o.opts.reuseaddr;
            match me.kind {
                Kind::Stream => !reuse || o_listens,
                _ => !reuse,
            }
        });
        if sockets || !time_wait || me.kind != Kind::Stream {
            return sockets;
        }
        let now = nondet::ktime_get();
        self.time_wait.iter().any(|t| {
            t.live(now)
                && t.local.port() == port
                && mine.overlaps(&Cover::of(t.local.ip(), t.v6only))
                && !(me.opts.reuseaddr && t.reuseaddr)
                && !(me.opts.reuseport && t.reuseport)
        })
    }

    /// A free ephemeral port for `id` at `ip` (`time_wait`: see [`Net::clashes`]).
    fn ephemeral(&mut self, id: SockId, ip: IpAddr, time_wait: bool) -> Result<u16, Errno> {
        let (lo, hi) = (*EPHEMERAL.start(), *EPHEMERAL.end());
        let span = u32::from(hi - lo) + 1;
        let start = u32::from(self.next_port.max(lo).min(hi) - lo);
        for i in 0..span {
            let port = lo + ((start + i) % span) as u16;
            if !self.clashes(id, ip, port, time_wait) {
                self.next_port = if port == hi { lo } else { port + 1 };
                return Ok(port);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// `bind(2)`: `EINVAL` if already bound, `EADDRNOTAVAIL` for an address not on `lo`,
    /// `EACCES` for a privileged port, `EADDRINUSE` on a clash.
    pub(crate) fn bind(
        &mut self,
        id: SockId,
        addr: SocketAddr,
        privileged: bool,
    ) -> Result<(), Errno> {
        let s = self.sock(id)?;
        if s.kind == Kind::Raw {
            return crate::icmp::raw_bind(self, id, addr);
        }
        if s.family == Family::V6 && s.opts.v6only && matches!(wire(addr.ip()), Wire::V4(_)) {
            return Err(Errno::EINVAL);
        }
        let w = wire(addr.ip());
        let any = match w {
            Wire::V4(a) => a.is_unspecified(),
            Wire::V6(a) => a.is_unspecified(),
        };
        if !any && !is_local(w) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        if s.local.is_some() {
            return Err(Errno::EINVAL);
        }
        // A ping socket's port is its echo identifier: none is privileged.
        if addr.port() != 0 && addr.port() < PROT_SOCK && !privileged && s.kind != Kind::Ping {
            return Err(Errno::EACCES);
        }
        self.bind_port(id, addr, false)
    }

    /// Binds `id` to `addr`, picking a port if it is 0 (`auto`: for a `connect`, `listen`
    /// or send of an unbound socket, which may take a port a connection in `TIME_WAIT`
    /// holds, as Linux's `tcp_tw_reuse` lets a connect on loopback).
    pub(crate) fn bind_port(
        &mut self,
        id: SockId,
        mut addr: SocketAddr,
        auto: bool,
    ) -> Result<(), Errno> {
        if addr.port() == 0 {
            let port = self.ephemeral(id, addr.ip(), !auto)?;
            addr.set_port(port);
        } else if self.clashes(id, addr.ip(), addr.port(), !auto) {
            return Err(Errno::EADDRINUSE);
        }
        let s = self.sock_mut(id)?;
        s.local = Some(addr);
        s.auto_port = auto;
        Ok(())
    }

    /// Binds an unbound socket to the wildcard address and an ephemeral port.
    pub(crate) fn autobind(&mut self, id: SockId) -> Result<SocketAddr, Errno> {
        let s = self.sock(id)?;
        if let Some(l) = s.local {
            return Ok(l);
        }
        let any = match s.family {
            Family::V4 => SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
            Family::V6 => SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0)),
        };
        self.bind_port(id, any, true)?;
        self.sock(id)?.local.ok_or(Errno::EINVAL)
    }

    /// `listen` checks the port again: another listener on it clashes unless both have
    /// `SO_REUSEPORT`.
    pub(crate) fn listen_clashes(&self, id: SockId) -> bool {
        let Some((l, auto)) = self
            .socks
            .get(&id)
            .and_then(|s| Some((s.local?, s.auto_port)))
        else {
            return false;
        };
        self.clashes(id, l.ip(), l.port(), !auto)
    }

    /// The socket of `kind` that receives for `dst`:`port` (from `src`:`sport`): its own
    /// address before a wildcard; a connected datagram socket only from its peer;
    /// `filter` says which sockets may take it (listeners).
    pub(crate) fn lookup(
        &self,
        kind: Kind,
        dst: Wire,
        port: u16,
        from: (Wire, u16),
        filter: impl Fn(&Sock) -> bool,
    ) -> Option<SockId> {
        let mut best: Option<(bool, SockId)> = None;
        for (&id, s) in &self.socks {
            let Some(l) = s.local else { continue };
            if s.kind != kind || l.port() != port || !filter(s) {
                continue;
            }
            if let (Kind::Dgram, Some(p)) = (kind, s.peer) {
                if (wire(p.ip()), p.port()) != from {
                    continue;
                }
            }
            let Some(exact) = Cover::of(l.ip(), s.opts.v6only).matches(dst) else {
                continue;
            };
            if best.is_none_or(|(e, _)| exact && !e) {
                best = Some((exact, id));
            }
        }
        best.map(|(_, id)| id)
    }

    /// `setsockopt` of an option the syscall layer checked.
    pub(crate) fn set_opt(
        &mut self,
        id: SockId,
        level: i32,
        name: i32,
        value: Vec<u8>,
    ) -> Result<(), Errno> {
        let s = self.sock_mut(id)?;
        let int = value
            .get(..4)
            .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
        match (level, name) {
            (abi::net::SOL_SOCKET, abi::net::SO_REUSEADDR) => s.opts.reuseaddr = int != 0,
            (abi::net::SOL_SOCKET, abi::net::SO_REUSEPORT) => s.opts.reuseport = int != 0,
            (abi::net::SOL_SOCKET, abi::net::SO_SNDBUF) => {
                s.opts.sndbuf = int as usize;
                s.opts.buf_locked = true;
            }
            (abi::net::SOL_SOCKET, abi::net::SO_RCVBUF) => {
                s.opts.rcvbuf = int as usize;
                s.opts.buf_locked = true;
            }
            (abi::net::IPPROTO_IPV6, abi::net::IPV6_V6ONLY) => {
                if s.local.is_some() {
                    return Err(Errno::EINVAL);
                }
                s.opts.v6only = int != 0;
            }
            (abi::net::SOL_SOCKET, abi::net::SO_LINGER) => {
                let off = value
                    .get(4..8)
                    .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                s.opts.linger_zero = int != 0 && off == 0;
                s.opts.other.insert((level, name), value);
            }
            (abi::net::SOL_SOCKET, abi::net::SO_TIMESTAMP | abi::net::SO_TIMESTAMPNS) => {
                // One flag pair in Linux (`SOCK_RCVTSTAMP`, `SOCK_RCVTSTAMPNS`): setting
                // either one turns the other off.
                let other = abi::net::SO_TIMESTAMP + abi::net::SO_TIMESTAMPNS - name;
                s.opts
                    .other
                    .insert((level, other), 0i32.to_ne_bytes().to_vec());
                s.opts.other.insert((level, name), value);
            }
            _ => {
                s.opts.other.insert((level, name), value);
            }
        }
        Ok(())
    }
}
