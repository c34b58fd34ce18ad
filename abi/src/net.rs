//! Socket constants of the inet families: address families, socket types, levels and
//! option names, message flags (`<sys/socket.h>`, `<netinet/in.h>`, `<netinet/tcp.h>`).

/// `AF_UNSPEC`.
pub const AF_UNSPEC: u16 = 0;
/// `AF_UNIX`.
pub const AF_UNIX: u16 = 1;
/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// `AF_NETLINK`.
pub const AF_NETLINK: u16 = 16;

/// `SOCK_STREAM`.
pub const SOCK_STREAM: u32 = 1;
/// `SOCK_DGRAM`.
pub const SOCK_DGRAM: u32 = 2;
/// `SOCK_RAW`.
pub const SOCK_RAW: u32 = 3;

/// `IPPROTO_IP`.
pub const IPPROTO_IP: i32 = 0;
/// `IPPROTO_ICMP`.
pub const IPPROTO_ICMP: i32 = 1;
/// `IPPROTO_ICMPV6`.
pub const IPPROTO_ICMPV6: i32 = 58;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: i32 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: i32 = 17;
/// `IPPROTO_IPV6`.
pub const IPPROTO_IPV6: i32 = 41;

/// `SOL_SOCKET`.
pub const SOL_SOCKET: i32 = 1;
/// `SO_DEBUG`.
pub const SO_DEBUG: i32 = 1;
/// `SO_REUSEADDR`.
pub const SO_REUSEADDR: i32 = 2;
/// `SO_TYPE`.
pub const SO_TYPE: i32 = 3;
/// `SO_ERROR`.
pub const SO_ERROR: i32 = 4;
/// `SO_DONTROUTE`.
pub const SO_DONTROUTE: i32 = 5;
/// `SO_BROADCAST`.
pub const SO_BROADCAST: i32 = 6;
/// `SO_SNDBUF`.
pub const SO_SNDBUF: i32 = 7;
/// `SO_RCVBUF`.
pub const SO_RCVBUF: i32 = 8;
/// `SO_KEEPALIVE`.
pub const SO_KEEPALIVE: i32 = 9;
/// `SO_OOBINLINE`.
pub const SO_OOBINLINE: i32 = 10;
/// `SO_NO_CHECK`.
pub const SO_NO_CHECK: i32 = 11;
/// `SO_PRIORITY`.
pub const SO_PRIORITY: i32 = 12;
/// `SO_LINGER`.
pub const SO_LINGER: i32 = 13;
/// `SO_REUSEPORT`.
pub const SO_REUSEPORT: i32 = 15;
/// `SO_RCVLOWAT`.
pub const SO_RCVLOWAT: i32 = 18;
/// `SO_SNDLOWAT`.
pub const SO_SNDLOWAT: i32 = 19;
/// `SO_RCVTIMEO`.
pub const SO_RCVTIMEO: i32 = 20;
/// `SO_SNDTIMEO`.
pub const SO_SNDTIMEO: i32 = 21;
/// `SO_TIMESTAMP`.
pub const SO_TIMESTAMP: i32 = 29;
/// `SO_TIMESTAMPNS`.
pub const SO_TIMESTAMPNS: i32 = 35;
/// `SO_ACCEPTCONN`.
pub const SO_ACCEPTCONN: i32 = 30;
/// `SO_SNDBUFFORCE`.
pub const SO_SNDBUFFORCE: i32 = 32;
/// `SO_RCVBUFFORCE`.
pub const SO_RCVBUFFORCE: i32 = 33;
/// `SO_PROTOCOL`.
pub const SO_PROTOCOL: i32 = 38;
/// `SO_DOMAIN`.
pub const SO_DOMAIN: i32 = 39;

/// `IP_TOS`.
pub const IP_TOS: i32 = 1;
/// `IP_TTL`.
pub const IP_TTL: i32 = 2;
/// `IP_RECVERR`.
pub const IP_RECVERR: i32 = 11;
/// `IP_MTU_DISCOVER`.
pub const IP_MTU_DISCOVER: i32 = 10;
/// `IP_PKTINFO`.
pub const IP_PKTINFO: i32 = 8;
/// `IP_RECVTTL`.
pub const IP_RECVTTL: i32 = 12;
/// `IP_RECVTOS`.
pub const IP_RECVTOS: i32 = 13;
/// `IP_RETOPTS`.
pub const IP_RETOPTS: i32 = 7;
/// `IP_RECVOPTS`.
pub const IP_RECVOPTS: i32 = 6;
/// `IPV6_CHECKSUM` (at level `SOL_RAW` for ICMPv6 sockets).
pub const IPV6_CHECKSUM: i32 = 7;
/// `IPV6_RECVERR`.
pub const IPV6_RECVERR: i32 = 25;
/// `IPV6_PKTINFO`: the control message `IPV6_RECVPKTINFO` asks for.
pub const IPV6_PKTINFO: i32 = 50;
/// `IPV6_RECVHOPLIMIT`.
pub const IPV6_RECVHOPLIMIT: i32 = 51;
/// `IPV6_HOPLIMIT`: the control message `IPV6_RECVHOPLIMIT` asks for.
pub const IPV6_HOPLIMIT: i32 = 52;
/// `IPV6_RECVTCLASS`.
pub const IPV6_RECVTCLASS: i32 = 66;
/// `SOL_RAW`.
pub const SOL_RAW: i32 = 255;
/// `ICMP_FILTER` (`SOL_RAW`, raw ICMP sockets).
pub const ICMP_FILTER: i32 = 1;
/// `SOL_ICMPV6`.
pub const SOL_ICMPV6: i32 = 58;
/// `ICMP6_FILTER` (`SOL_ICMPV6`, raw ICMPv6 sockets).
pub const ICMP6_FILTER: i32 = 1;
/// `IPV6_UNICAST_HOPS`.
pub const IPV6_UNICAST_HOPS: i32 = 16;
/// `IPV6_V6ONLY`.
pub const IPV6_V6ONLY: i32 = 26;
/// `IPV6_RECVPKTINFO`.
pub const IPV6_RECVPKTINFO: i32 = 49;
/// `IPV6_TCLASS`.
pub const IPV6_TCLASS: i32 = 67;

/// `TCP_NODELAY`.
pub const TCP_NODELAY: i32 = 1;
/// `TCP_MAXSEG`.
pub const TCP_MAXSEG: i32 = 2;
/// `TCP_CORK`.
pub const TCP_CORK: i32 = 3;
/// `TCP_KEEPIDLE`.
pub const TCP_KEEPIDLE: i32 = 4;
/// `TCP_KEEPINTVL`.
pub const TCP_KEEPINTVL: i32 = 5;
/// `TCP_KEEPCNT`.
pub const TCP_KEEPCNT: i32 = 6;
/// `TCP_DEFER_ACCEPT`.
pub const TCP_DEFER_ACCEPT: i32 = 9;
/// `TCP_QUICKACK`.
pub const TCP_QUICKACK: i32 = 12;
/// `TCP_USER_TIMEOUT`.
pub const TCP_USER_TIMEOUT: i32 = 18;
/// `TCP_FASTOPEN`.
pub const TCP_FASTOPEN: i32 = 23;
/// `TCP_INFO`.
pub const TCP_INFO: i32 = 11;
/// `TCP_NOTSENT_LOWAT`.
pub const TCP_NOTSENT_LOWAT: i32 = 25;

/// `MSG_OOB`.
pub const MSG_OOB: u32 = 0x1;
/// `MSG_PEEK`.
pub const MSG_PEEK: u32 = 0x2;
/// `MSG_TRUNC`.
pub const MSG_TRUNC: u32 = 0x20;
/// `MSG_DONTWAIT`.
pub const MSG_DONTWAIT: u32 = 0x40;
/// `MSG_WAITALL`.
pub const MSG_WAITALL: u32 = 0x100;
/// `MSG_ERRQUEUE`.
pub const MSG_ERRQUEUE: u32 = 0x2000;
/// `MSG_MORE`.
pub const MSG_MORE: u32 = 0x8000;
/// `MSG_NOSIGNAL`.
pub const MSG_NOSIGNAL: u32 = 0x4000;
/// `MSG_WAITFORONE` (`recvmmsg`).
pub const MSG_WAITFORONE: u32 = 0x10000;
