//! The interfaces, addresses and routes the instance sees ([`Interfaces`]): with
//! `--net none` its own `lo` ([`Interfaces::loopback`]), with `--net host` the host's, as
//! the kernel read them from the host (`host_ifaces`). Both `NETLINK_ROUTE` (`rtnl`),
//! `/proc/net/{dev,if_inet6,route}` (`procnet`) and the `SIOCGIF*` ioctls of the syscall
//! layer answer from one such list, so they agree with each other.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// `AF_INET`.
pub const AF_INET: u8 = 2;
/// `AF_INET6`.
pub const AF_INET6: u8 = 10;
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
/// `IFA_F_PERMANENT`.
pub const IFA_F_PERMANENT: u32 = 0x80;
/// `RT_SCOPE_UNIVERSE`.
pub const RT_SCOPE_UNIVERSE: u8 = 0;
/// `RT_SCOPE_LINK`.
pub const RT_SCOPE_LINK: u8 = 253;
/// `RT_SCOPE_HOST`.
pub const RT_SCOPE_HOST: u8 = 254;
/// `RT_TABLE_MAIN`.
pub const RT_TABLE_MAIN: u32 = 254;
/// `RT_TABLE_LOCAL`.
pub const RT_TABLE_LOCAL: u32 = 255;
/// `RTPROT_KERNEL`.
pub const RTPROT_KERNEL: u8 = 2;
/// `RTN_UNICAST`.
pub const RTN_UNICAST: u8 = 1;
/// `RTN_LOCAL`.
pub const RTN_LOCAL: u8 = 2;
/// `RTN_BROADCAST`.
pub const RTN_BROADCAST: u8 = 3;
/// `IF_OPER_UNKNOWN`, what Linux's `lo` reports.
pub const IF_OPER_UNKNOWN: u8 = 0;
/// How many counters of `struct rtnl_link_stats64` are kept (up to `rx_nohandler`).
pub const STATS: usize = 24;

/// A network interface (what `RTM_NEWLINK` says of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// `ifindex`.
    pub index: u32,
    /// Its name (at most `IFNAMSIZ - 1` bytes).
    pub name: String,
    /// `ARPHRD_*`.
    pub hw_type: u16,
    /// `IFF_*` flags.
    pub flags: u32,
    /// MTU.
    pub mtu: u32,
    /// Transmit queue length.
    pub txqlen: u32,
    /// `IF_OPER_*`.
    pub operstate: u8,
    /// Its queueing discipline's name.
    pub qdisc: String,
    /// Hardware address.
    pub address: Vec<u8>,
    /// Hardware broadcast address.
    pub broadcast: Vec<u8>,
    /// `struct rtnl_link_stats64`'s first [`STATS`] counters.
    pub stats: Vec<u64>,
    /// `IFLA_LINK`: the interface it is stacked on, or its peer's index (a veth's).
    pub link: Option<u32>,
    /// `IFLA_MASTER`: the bridge or bond it is enslaved to.
    pub master: Option<u32>,
}

/// An address of an interface (what `RTM_NEWADDR` says of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addr {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// Prefix length.
    pub prefix: u8,
    /// `IFA_F_*` flags.
    pub flags: u32,
    /// `RT_SCOPE_*`.
    pub scope: u8,
    /// The interface's index.
    pub index: u32,
    /// `IFA_ADDRESS` (the peer's for a point-to-point link, else the address).
    pub address: Vec<u8>,
    /// `IFA_LOCAL` (IPv4).
    pub local: Option<Vec<u8>>,
    /// `IFA_BROADCAST` (IPv4).
    pub broadcast: Option<Vec<u8>>,
    /// `IFA_LABEL` (IPv4).
    pub label: Option<String>,
    /// `struct ifa_cacheinfo`: preferred and valid lifetimes, created and updated times.
    pub cacheinfo: [u32; 4],
}

/// A route (what `RTM_NEWROUTE` says of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// Destination prefix length.
    pub dst_len: u8,
    /// `RT_TABLE_*` (`RTA_TABLE`).
    pub table: u32,
    /// `RTPROT_*`.
    pub protocol: u8,
    /// `RT_SCOPE_*`.
    pub scope: u8,
    /// `RTN_*`.
    pub kind: u8,
    /// `RTM_F_*` and `RTNH_F_*` flags.
    pub flags: u32,
    /// `RTA_DST` (none: the default route).
    pub dst: Option<Vec<u8>>,
    /// `RTA_GATEWAY`.
    pub gateway: Option<Vec<u8>>,
    /// `RTA_PREFSRC`.
    pub prefsrc: Option<Vec<u8>>,
    /// `RTA_OIF`.
    pub oif: Option<u32>,
    /// `RTA_PRIORITY` (the metric).
    pub priority: Option<u32>,
    /// `RTA_PREF` (IPv6 router preference).
    pub pref: Option<u8>,
}

/// Interfaces, their addresses, and the routes, each in the order dumps list them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interfaces {
    /// By index.
    pub links: Vec<Link>,
    /// IPv4 addresses first, then IPv6 (as Linux's unspecified-family dump).
    pub addrs: Vec<Addr>,
    /// IPv4 routes first, then IPv6.
    pub routes: Vec<Route>,
}

/// `struct ifa_cacheinfo` of a permanent address.
const FOREVER: [u32; 4] = [u32::MAX, u32::MAX, 0, 0];

impl Interfaces {
    /// The instance's own network: `lo`, index 1, up, 127.0.0.1/8 and ::1/128, and the
    /// routes Linux makes for them.
    pub fn loopback() -> Interfaces {
        let v4 = Ipv4Addr::LOCALHOST.octets().to_vec();
        let v6 = std::net::Ipv6Addr::LOCALHOST.octets().to_vec();
        // (family, destination, its prefix length, table, scope, kind)
        #[rustfmt::skip]
        let table = [
            (AF_INET, vec![127, 0, 0, 0], 8, RT_TABLE_LOCAL, RT_SCOPE_HOST, RTN_LOCAL),
            (AF_INET, v4.clone(), 32, RT_TABLE_LOCAL, RT_SCOPE_HOST, RTN_LOCAL),
            (AF_INET, vec![127, 255, 255, 255], 32, RT_TABLE_LOCAL, RT_SCOPE_LINK, RTN_BROADCAST),
            (AF_INET6, v6.clone(), 128, RT_TABLE_MAIN, RT_SCOPE_UNIVERSE, RTN_UNICAST),
            (AF_INET6, v6.clone(), 128, RT_TABLE_LOCAL, RT_SCOPE_UNIVERSE, RTN_LOCAL),
        ];
        let routes = table
            .into_iter()
            .map(|(family, dst, dst_len, table, scope, kind)| {
                let v6 = family == AF_INET6;
                Route {
                    family,
                    dst_len,
                    table,
                    protocol: RTPROT_KERNEL,
                    scope,
                    kind,
                    flags: 0,
                    dst: Some(dst),
                    gateway: None,
                    prefsrc: (!v6).then(|| v4.clone()),
                    oif: Some(1),
                    priority: v6.then_some(if table == RT_TABLE_MAIN { 256 } else { 0 }),
                    pref: v6.then_some(0),
                }
            })
            .collect();
        Interfaces {
            links: vec![Link {
                index: 1,
                name: "lo".into(),
                hw_type: ARPHRD_LOOPBACK,
                flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP,
                mtu: 65536,
                txqlen: 1000,
                operstate: IF_OPER_UNKNOWN,
                qdisc: "noqueue".into(),
                address: vec![0; 6],
                broadcast: vec![0; 6],
                stats: vec![0; STATS],
                link: None,
                master: None,
            }],
            addrs: vec![
                Addr {
                    family: AF_INET,
                    prefix: 8,
                    flags: IFA_F_PERMANENT,
                    scope: RT_SCOPE_HOST,
                    index: 1,
                    address: v4.clone(),
                    local: Some(v4),
                    broadcast: None,
                    label: Some("lo".into()),
                    cacheinfo: FOREVER,
                },
                Addr {
                    family: AF_INET6,
                    prefix: 128,
                    flags: IFA_F_PERMANENT,
                    scope: RT_SCOPE_HOST,
                    index: 1,
                    address: v6,
                    local: None,
                    broadcast: None,
                    label: None,
                    cacheinfo: FOREVER,
                },
            ],
            routes,
        }
    }

    /// The interface with this index.
    pub fn by_index(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }

    /// The interface with this name.
    pub fn by_name(&self, name: &[u8]) -> Option<&Link> {
        self.links.iter().find(|l| l.name.as_bytes() == name)
    }

    /// The IPv4 addresses.
    pub fn v4_addrs(&self) -> impl Iterator<Item = &Addr> {
        self.addrs.iter().filter(|a| a.family == AF_INET)
    }

    /// The first IPv4 address of interface `index`: (address, prefix length, broadcast).
    pub fn v4_of(&self, index: u32) -> Option<(Ipv4Addr, u8, Ipv4Addr)> {
        self.v4_addrs()
            .find(|a| a.index == index)
            .and_then(Self::v4_of_addr)
    }

    /// An IPv4 address's (local address, prefix length, broadcast).
    pub fn v4_of_addr(a: &Addr) -> Option<(Ipv4Addr, u8, Ipv4Addr)> {
        let ip = |b: Option<&[u8]>| {
            b.and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(Ipv4Addr::from)
        };
        let local = ip(a.local.as_deref()).or_else(|| ip(Some(&a.address)))?;
        let brd = ip(a.broadcast.as_deref()).unwrap_or(Ipv4Addr::UNSPECIFIED);
        Some((local, a.prefix, brd))
    }
}
