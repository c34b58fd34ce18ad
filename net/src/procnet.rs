//! The stack as `/proc/net` shows it: the socket tables (`tcp`, `tcp6`, `udp`, `udp6`) in
//! Linux's format (with `--net host`, the host's rows of the guest's host sockets), and the
//! interfaces the instance sees (`dev`, `if_inet6`, `route`; [`Interfaces`]: its own `lo`,
//! or the host's with `--net host`).

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

use crate::ifaces::{AF_INET, AF_INET6, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_TABLE_MAIN};
use crate::{stream, Family, Interfaces, Kind, Net, NetService};

/// A file of `/proc/net`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcNet {
    /// `tcp`.
    Tcp,
    /// `tcp6`.
    Tcp6,
    /// `udp`.
    Udp,
    /// `udp6`.
    Udp6,
    /// `dev`: the interfaces' counters.
    Dev,
    /// `if_inet6`: the IPv6 addresses.
    IfInet6,
    /// `route`: the IPv4 routes of the main table.
    Route,
}

impl ProcNet {
    /// Every file, with its name.
    pub const ALL: [(&'static str, ProcNet); 7] = [
        ("dev", ProcNet::Dev),
        ("if_inet6", ProcNet::IfInet6),
        ("route", ProcNet::Route),
        ("tcp", ProcNet::Tcp),
        ("tcp6", ProcNet::Tcp6),
        ("udp", ProcNet::Udp),
        ("udp6", ProcNet::Udp6),
    ];

    /// The file's contents.
    pub fn text(self, net: &NetService) -> String {
        match self {
            ProcNet::Tcp => net.proc_net(Kind::Stream, Family::V4),
            ProcNet::Tcp6 => net.proc_net(Kind::Stream, Family::V6),
            ProcNet::Udp => net.proc_net(Kind::Dgram, Family::V4),
            ProcNet::Udp6 => net.proc_net(Kind::Dgram, Family::V6),
            ProcNet::Dev => dev(&net.interfaces()),
            ProcNet::IfInet6 => if_inet6(&net.interfaces()),
            ProcNet::Route => route(&net.interfaces()),
        }
    }
}

/// `/proc/net/dev`: each interface's counters, as Linux's `dev_seq_printf_stats` sums
/// them from `struct rtnl_link_stats64`.
fn dev(i: &Interfaces) -> String {
    let mut out = String::from(concat!(
        "Inter-|   Receive                                                |  Transmit\n",
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    ));
    for l in &i.links {
        let s = |k: usize| l.stats.get(k).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "{:>6}:{:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}",
            l.name,
            s(2),
            s(0),
            s(4),
            s(6) + s(15),
            s(14),
            s(10) + s(11) + s(12) + s(13),
            s(21),
            s(8),
            s(3),
            s(1),
            s(5),
            s(7),
            s(18),
            s(9),
            s(16) + s(17) + s(19) + s(20),
            s(22),
        );
    }
    out
}

/// The name of interface `index` ("" if there is none).
fn name_of(i: &Interfaces, index: u32) -> &str {
    i.by_index(index).map_or("", |l| l.name.as_str())
}

/// `/proc/net/if_inet6`: address, index, prefix length, scope (`IFA_HOST`, `IFA_LINK`,
/// ...), flags, name.
fn if_inet6(i: &Interfaces) -> String {
    let mut out = String::new();
    for a in i.addrs.iter().filter(|a| a.family == AF_INET6) {
        let scope = match a.scope {
            RT_SCOPE_HOST => 0x10,
            RT_SCOPE_LINK => 0x20,
            200 => 0x40,
            _ => 0,
        };
        for b in &a.address {
            let _ = write!(out, "{b:02x}");
        }
        let _ = writeln!(
            out,
            " {:02x} {:02x} {scope:02x} {:02x} {:>8}",
            a.index,
            a.prefix,
            a.flags as u8,
            name_of(i, a.index)
        );
    }
    out
}

/// `/proc/net/route`: the IPv4 routes of the main table, as Linux's
/// `fib_route_seq_show` (addresses as their network-order bytes read in host order).
fn route(i: &Interfaces) -> String {
    const RTF_UP: u32 = 1;
    const RTF_GATEWAY: u32 = 2;
    const RTF_HOST: u32 = 4;
    const RTF_REJECT: u32 = 0x200;
    let word = |b: &Option<Vec<u8>>| {
        b.as_deref()
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes)
    };
    let mut out = format!(
        "{:<127}\n",
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
    );
    // RTN_UNICAST, and the kinds that refuse (RTN_BLACKHOLE, UNREACHABLE, PROHIBIT).
    let shown = |k: u8| k == crate::ifaces::RTN_UNICAST || (6..=8).contains(&k);
    for r in i
        .routes
        .iter()
        .filter(|r| r.family == AF_INET && r.table == RT_TABLE_MAIN && shown(r.kind))
    {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(r.dst_len.min(32)))
            .unwrap_or(0);
        let mut flags = RTF_UP;
        if r.gateway.is_some() {
            flags |= RTF_GATEWAY;
        }
        if r.dst_len == 32 {
            flags |= RTF_HOST;
        }
        if r.kind != crate::ifaces::RTN_UNICAST {
            flags |= RTF_REJECT;
        }
        let row = format!(
            "{}\t{:08X}\t{:08X}\t{flags:04X}\t0\t0\t{}\t{:08X}\t0\t0\t0",
            r.oif.map_or("*", |o| name_of(i, o)),
            word(&r.dst),
            word(&r.gateway),
            r.priority.unwrap_or(0),
            mask.to_be(),
        );
        let _ = writeln!(out, "{row:<127}");
    }
    out
}

/// An address as `/proc/net` prints it: the bytes in network order read as host-order
/// 32-bit words, in hex, then the port.
fn hex(a: Option<SocketAddr>, family: Family) -> String {
    let (octets, port): (Vec<u8>, u16) = match a {
        Some(a) => (
            match a.ip() {
                IpAddr::V4(v) => v.octets().to_vec(),
                IpAddr::V6(v) => v.octets().to_vec(),
            },
            a.port(),
        ),
        None => (
            vec![
                0;
                match family {
                    Family::V4 => 4,
                    Family::V6 => 16,
                }
            ],
            0,
        ),
    };
    let mut s = String::new();
    for w in octets.chunks(4) {
        let _ = write!(s, "{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    }
    let _ = write!(s, ":{port:04X}");
    s
}

/// `/proc/net/{tcp,tcp6,udp,udp6}`.
pub(crate) fn table(net: &Net, kind: Kind, family: Family) -> String {
    let mut out = match kind {
        Kind::Stream => format!("{:<149}\n", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"),
        _ => format!("{:<127}\n", "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"),
    };
    if net.host_mode {
        for (i, row) in crate::host::proc_rows(net, kind, family).iter().enumerate() {
            let _ = writeln!(out, "{i:>4}: {row}");
        }
        return out;
    }
    let socks = net
        .socks
        .values()
        .filter(|s| s.kind == kind && s.family == family && s.local.is_some());
    let mut i = 0;
    for s in socks {
        let (st, rx) = match kind {
            Kind::Stream => (stream::state_code(s), s.rx_bytes),
            _ => (if s.peer.is_some() { 1 } else { 7 }, s.rx_bytes),
        };
        let _ = writeln!(
            out,
            "{i:>4}: {} {} {st:02X} {:08X}:{rx:08X} 00:00000000 00000000 {:>5} {:>8} {} 2 0000000000000000 {}",
            hex(s.local, family),
            hex(s.peer, family),
            0,
            s.uid,
            0,
            s.wait,
            match kind {
                Kind::Stream => "100 0 0 10 0",
                _ => "0",
            }
        );
        i += 1;
    }
    if kind == Kind::Stream {
        // Linux's `get_timewait4_sock`: the timer is the time left, in clock ticks.
        let now = nondet::ktime_get();
        for t in net
            .time_wait
            .iter()
            .filter(|t| t.family == family && t.live(now))
        {
            let left = t.until.duration_since(now).as_millis() / 10;
            let _ = writeln!(
                out,
                "{i:>4}: {} {} {:02X} 00000000:00000000 03:{left:08X} 00000000     0        0 0 3 0000000000000000",
                hex(Some(t.local), family),
                hex(t.peer, family),
                t.state_code(net),
            );
            i += 1;
        }
    }
    out
}
