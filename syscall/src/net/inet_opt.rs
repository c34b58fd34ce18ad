//! `getsockopt` and `setsockopt` of inet sockets: which options exist at which level, the
//! checks Linux makes on their values, and the defaults Linux reports. The stack keeps
//! each value as set (booleans as 0 or 1); those that change its behaviour are
//! `SO_REUSEADDR`, `SO_REUSEPORT`, `IPV6_V6ONLY`, the buffer sizes and `SO_LINGER` with a
//! zero timeout. The rest (`TCP_NODELAY`, keepalive, timeouts, TTL ...) are reported back
//! and change nothing: there is no wire to send on, and blocking calls do not time out.

use abi::net::*;
use abi::{Errno, SysResult};
use net::{Family, InetSocket, Kind};

use crate::{Args, Ctx};

/// `net.core.wmem_max`/`rmem_max`: the most `SO_SNDBUF`/`SO_RCVBUF` grant (before
/// doubling).
const BUF_MAX: usize = 212_992;
/// `SOCK_MIN_SNDBUF` and `SOCK_MIN_RCVBUF`.
const MIN_SNDBUF: usize = 4608;
const MIN_RCVBUF: usize = 2304;

/// How an option's value is shaped and checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// An `int` read as a truth value, reported as 0 or 1.
    Bool,
    /// An `int` within a range.
    Int(i32, i32),
    /// A fixed-size struct (`struct linger`, `struct timeval`).
    Bytes(usize),
    /// A bit mask of at most this many bytes, a shorter one taken as given (`ICMP_FILTER`,
    /// `ICMP6_FILTER`).
    Filter(usize),
}

/// The option at (`level`, `name`) for `s`, with its shape and default value; `Err`: the
/// errno for an option that is not there.
fn lookup(s: &InetSocket, level: i32, name: i32) -> Result<(Shape, Vec<u8>), Errno> {
    let int = |v: i32| v.to_ne_bytes().to_vec();
    let stream = s.kind == Kind::Stream;
    let r = match level {
        SOL_SOCKET => match name {
            SO_DEBUG | SO_REUSEADDR | SO_REUSEPORT | SO_KEEPALIVE | SO_BROADCAST | SO_DONTROUTE
            | SO_OOBINLINE | SO_TIMESTAMP | SO_TIMESTAMPNS | SO_NO_CHECK => (Shape::Bool, int(0)),
            SO_PRIORITY => (Shape::Int(0, 6), int(0)),
            SO_RCVLOWAT => (Shape::Int(0, i32::MAX), int(1)),
            SO_LINGER => (Shape::Bytes(8), vec![0; 8]),
            SO_RCVTIMEO | SO_SNDTIMEO => (Shape::Bytes(16), vec![0; 16]),
            _ => return Err(Errno::ENOPROTOOPT),
        },
        IPPROTO_TCP if stream => match name {
            TCP_NODELAY | TCP_CORK | TCP_QUICKACK => {
                (Shape::Bool, int(i32::from(name == TCP_QUICKACK)))
            }
            TCP_MAXSEG => (Shape::Int(0, 65535), int(536)),
            TCP_KEEPIDLE => (Shape::Int(1, 32767), int(7200)),
            TCP_KEEPINTVL => (Shape::Int(1, 32767), int(75)),
            TCP_KEEPCNT => (Shape::Int(1, 127), int(9)),
            TCP_DEFER_ACCEPT | TCP_USER_TIMEOUT | TCP_FASTOPEN | TCP_NOTSENT_LOWAT => {
                (Shape::Int(0, i32::MAX), int(0))
            }
            _ => return Err(Errno::ENOPROTOOPT),
        },
        IPPROTO_UDP if s.kind == Kind::Dgram => return Err(Errno::ENOPROTOOPT),
        SOL_RAW if s.kind == Kind::Raw => match (s.family, name) {
            (Family::V4, ICMP_FILTER) => (Shape::Filter(4), vec![0; 4]),
            (Family::V6, IPV6_CHECKSUM) => (Shape::Int(-1, i32::MAX), int(2)),
            _ => return Err(Errno::ENOPROTOOPT),
        },
        SOL_ICMPV6 if s.kind == Kind::Raw && s.family == Family::V6 => match name {
            ICMP6_FILTER => (Shape::Filter(32), vec![0; 32]),
            _ => return Err(Errno::ENOPROTOOPT),
        },
        IPPROTO_IP => match name {
            IP_TOS => (Shape::Int(0, 255), int(0)),
            IP_TTL => (Shape::Int(-1, 255), int(64)),
            IP_RECVERR | IP_PKTINFO | IP_RECVTTL | IP_RECVTOS | IP_RECVOPTS | IP_RETOPTS => {
                (Shape::Bool, int(0))
            }
            IP_MTU_DISCOVER => (Shape::Int(0, 5), int(i32::from(stream))),
            _ => return Err(Errno::ENOPROTOOPT),
        },
        IPPROTO_IPV6 if s.family == Family::V6 => match name {
            IPV6_V6ONLY | IPV6_RECVPKTINFO | IPV6_RECVHOPLIMIT | IPV6_RECVTCLASS | IPV6_RECVERR => {
                (Shape::Bool, int(0))
            }
            IPV6_UNICAST_HOPS => (Shape::Int(-1, 255), int(64)),
            IPV6_TCLASS => (Shape::Int(-1, 255), int(0)),
            _ => return Err(Errno::ENOPROTOOPT),
        },
        _ if s.family == Family::V6 => return Err(Errno::ENOPROTOOPT),
        _ => return Err(Errno::EOPNOTSUPP),
    };
    Ok(r)
}

fn int_of(v: &[u8]) -> i32 {
    let mut b = [0u8; 4];
    let k = v.len().min(4);
    b[..k].copy_from_slice(&v[..k]);
    i32::from_ne_bytes(b)
}

/// `getsockopt(2)`.
pub(crate) fn getsockopt(ctx: &mut Ctx<'_>, s: &InetSocket, a: &Args) -> SysResult {
    let (level, name, at, len_at) = (a.i32(1), a.i32(2), a.addr(3), a.addr(4));
    let ulen: i32 = ctx.read_val(len_at)?;
    let ulen = usize::try_from(ulen).map_err(|_| Errno::EINVAL)?;
    let info = s.net.info(s.id)?;
    let int = |v: i64| (v as i32).to_ne_bytes().to_vec();
    let val = match (level, name) {
        (SOL_SOCKET, SO_TYPE) => int(match s.kind {
            Kind::Stream => i64::from(SOCK_STREAM),
            Kind::Dgram | Kind::Ping => i64::from(SOCK_DGRAM),
            Kind::Raw => i64::from(SOCK_RAW),
        }),
        (SOL_SOCKET, SO_ERROR) => int(s.net.take_error(s.id).map_or(0, |e| e as i64)),
        (SOL_SOCKET, SO_SNDBUF) => int(info.sndbuf as i64),
        (SOL_SOCKET, SO_RCVBUF) => int(info.rcvbuf as i64),
        (SOL_SOCKET, SO_ACCEPTCONN) => int(i64::from(info.listening)),
        (SOL_SOCKET, SO_DOMAIN) => int(match s.family {
            Family::V4 => i64::from(AF_INET),
            Family::V6 => i64::from(AF_INET6),
        }),
        (SOL_SOCKET, SO_PROTOCOL) => int(i64::from(s.protocol)),
        (SOL_SOCKET, SO_SNDLOWAT) => int(1),
        (SOL_SOCKET, SO_REUSEADDR) => int(i64::from(info.reuseaddr)),
        (SOL_SOCKET, SO_REUSEPORT) => int(i64::from(info.reuseport)),
        (IPPROTO_TCP, TCP_INFO) if s.kind == Kind::Stream => s.net.tcp_info(s.id)?,
        (IPPROTO_IPV6, IPV6_V6ONLY) if s.family == Family::V6 => int(i64::from(info.v6only)),
        _ => {
            let (_, default) = lookup(s, level, name)?;
            s.net.get_opt(s.id, level, name).unwrap_or(default)
        }
    };
    let k = ulen.min(val.len());
    ctx.copy_out(at, &val[..k])?;
    ctx.write_val(len_at, &(k as i32))?;
    Ok(0)
}

/// `setsockopt(2)`.
pub(crate) fn setsockopt(ctx: &mut Ctx<'_>, s: &InetSocket, a: &Args) -> SysResult {
    let (level, name, at, len) = (a.i32(1), a.i32(2), a.addr(3), a.i32(4));
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    if level == SOL_SOCKET
        && matches!(
            name,
            SO_SNDBUF | SO_RCVBUF | SO_SNDBUFFORCE | SO_RCVBUFFORCE
        )
    {
        if len < 4 {
            return Err(Errno::EINVAL);
        }
        let v: i32 = ctx.read_val(at)?;
        let snd = matches!(name, SO_SNDBUF | SO_SNDBUFFORCE);
        let v = (v.max(0) as usize).min(BUF_MAX) * 2;
        let v = v.max(if snd { MIN_SNDBUF } else { MIN_RCVBUF });
        let name = if snd { SO_SNDBUF } else { SO_RCVBUF };
        s.net
            .set_opt(s.id, level, name, (v as i32).to_ne_bytes().to_vec())?;
        return Ok(0);
    }
    let (shape, _) = lookup(s, level, name).map_err(|e| match (level, name) {
        // Read-only ones.
        (SOL_SOCKET, SO_TYPE | SO_ERROR | SO_ACCEPTCONN | SO_DOMAIN | SO_PROTOCOL) => {
            Errno::ENOPROTOOPT
        }
        // An unknown level: `getsockopt` says EOPNOTSUPP, Linux's `ip_setsockopt` ENOPROTOOPT.
        _ if e == Errno::EOPNOTSUPP => Errno::ENOPROTOOPT,
        _ => e,
    })?;
    // The IP level takes a single byte for an int; the others want a whole int.
    let min = match shape {
        Shape::Bytes(n) => n,
        Shape::Filter(n) => len.min(n),
        _ if level == IPPROTO_IP => 1,
        _ => 4,
    };
    if len < min {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; min.max(len.min(4))];
    ctx.copy_in(at, &mut raw)?;
    let value = match shape {
        Shape::Bool => i32::from(int_of(&raw) != 0).to_ne_bytes().to_vec(),
        Shape::Int(lo, hi) => {
            let v = int_of(&raw);
            if !(lo..=hi).contains(&v) {
                return Err(Errno::EINVAL);
            }
            v.to_ne_bytes().to_vec()
        }
        Shape::Bytes(_) if level == SOL_SOCKET => {
            super::opt::check_timeout(name, &raw)?;
            raw
        }
        Shape::Bytes(_) => raw,
        // Bits not given stay clear.
        Shape::Filter(n) => {
            let mut v = raw;
            v.resize(n, 0);
            v
        }
    };
    s.net.set_opt(s.id, level, name, value)?;
    Ok(0)
}
