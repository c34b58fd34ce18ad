//! The stack as `/proc/net` shows it: the socket tables (`tcp`, `tcp6`, `udp`, `udp6`) in
//! Linux's format (with `--net host`, the host's rows of the guest's host sockets), and the
//! one interface (`dev`, `if_inet6`).

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

use crate::{stream, Family, Kind, Net, NetService};

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
}

impl ProcNet {
    /// Every file, with its name.
    pub const ALL: [(&'static str, ProcNet); 6] = [
        ("dev", ProcNet::Dev),
        ("if_inet6", ProcNet::IfInet6),
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
            ProcNet::Dev => concat!(
                "Inter-|   Receive                                                |  Transmit\n",
                " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
                "    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n",
            )
            .to_string(),
            ProcNet::IfInet6 => "00000000000000000000000000000001 01 80 10 80       lo\n".to_string(),
        }
    }
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
