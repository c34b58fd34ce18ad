//! `struct sockaddr_in` and `struct sockaddr_in6` to and from the guest, checked as Linux
//! checks them (`inet_bind`, `inet6_bind`, `tcp_v4_connect`, `udp_sendmsg` ...): a short
//! length is `EINVAL`, a family the socket does not take `EAFNOSUPPORT`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use abi::net::{AF_INET, AF_INET6, AF_UNSPEC};
use abi::{Errno, UserAddr};
use net::Family;

use crate::Ctx;

/// `sizeof(struct sockaddr_in)`.
const SIN_LEN: usize = 16;
/// `SIN6_LEN_RFC2133`: a `sockaddr_in6` without `sin6_scope_id`.
const SIN6_LEN_OLD: usize = 24;
/// `sizeof(struct sockaddr_in6)`.
const SIN6_LEN: usize = 28;
/// `sizeof(struct sockaddr_storage)`: the most `move_addr_to_kernel` copies.
const SS_LEN: usize = 128;

/// What an address is for: each call has its own rules for `AF_UNSPEC` and for an IPv4
/// address given to an IPv6 socket.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Bind,
    Connect,
    SendTo,
}

fn v4(raw: &[u8]) -> SocketAddr {
    let port = u16::from_be_bytes([raw[2], raw[3]]);
    let ip = Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]);
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// Reads an address of `len` bytes at `at` for a socket of `family`. `None`: `AF_UNSPEC`
/// to `connect` (dissolve the association).
pub(crate) fn read(
    ctx: &mut Ctx<'_>,
    at: UserAddr,
    len: i32,
    family: Family,
    purpose: Purpose,
) -> Result<Option<SocketAddr>, Errno> {
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    if len > SS_LEN {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; len];
    ctx.copy_in(at, &mut raw)?;
    if len < 2 {
        return Err(Errno::EINVAL);
    }
    let af = u16::from_ne_bytes([raw[0], raw[1]]);
    if af == AF_UNSPEC && purpose == Purpose::Connect {
        return Ok(None);
    }
    match family {
        Family::V4 => {
            if len < SIN_LEN {
                return Err(Errno::EINVAL);
            }
            let a = v4(&raw);
            let unspec_ok = match purpose {
                // Old programs bind AF_UNSPEC with INADDR_ANY.
                Purpose::Bind => a.ip().is_unspecified(),
                Purpose::SendTo => true,
                Purpose::Connect => false,
            };
            if af != AF_INET && !(af == AF_UNSPEC && unspec_ok) {
                return Err(Errno::EAFNOSUPPORT);
            }
            Ok(Some(a))
        }
        Family::V6 => {
            if af == AF_INET && purpose == Purpose::SendTo {
                if len < SIN_LEN {
                    return Err(Errno::EINVAL);
                }
                let SocketAddr::V4(a) = v4(&raw) else {
                    return Err(Errno::EINVAL);
                };
                let m = SocketAddrV6::new(a.ip().to_ipv6_mapped(), a.port(), 0, 0);
                return Ok(Some(SocketAddr::V6(m)));
            }
            if len < SIN6_LEN_OLD {
                return Err(Errno::EINVAL);
            }
            if af != AF_INET6 && !(af == AF_UNSPEC && purpose == Purpose::SendTo) {
                return Err(Errno::EAFNOSUPPORT);
            }
            let port = u16::from_be_bytes([raw[2], raw[3]]);
            let flow = u32::from_be_bytes([raw[4], raw[5], raw[6], raw[7]]);
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&raw[8..24]);
            let scope = if len >= SIN6_LEN {
                u32::from_ne_bytes([raw[24], raw[25], raw[26], raw[27]])
            } else {
                0
            };
            Ok(Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                flow,
                scope,
            ))))
        }
    }
}

/// The bytes of `a` as a socket of `family` reports it (an unbound socket: the wildcard
/// address and port 0).
pub(crate) fn bytes(a: Option<SocketAddr>, family: Family) -> Vec<u8> {
    match (a, family) {
        (Some(SocketAddr::V4(a)), _) => {
            let mut b = vec![0u8; SIN_LEN];
            b[0..2].copy_from_slice(&AF_INET.to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[4..8].copy_from_slice(&a.ip().octets());
            b
        }
        (Some(SocketAddr::V6(a)), _) => {
            let mut b = vec![0u8; SIN6_LEN];
            b[0..2].copy_from_slice(&AF_INET6.to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[4..8].copy_from_slice(&a.flowinfo().to_be_bytes());
            b[8..24].copy_from_slice(&a.ip().octets());
            b[24..28].copy_from_slice(&a.scope_id().to_ne_bytes());
            b
        }
        (None, Family::V4) => bytes(Some(SocketAddr::from(([0u8; 4], 0))), family),
        (None, Family::V6) => bytes(Some(SocketAddr::from(([0u16; 8], 0))), family),
    }
}
