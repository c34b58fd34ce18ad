//! The control messages of an inet receive (`net::Control`, which the stack picks by the
//! socket's options) laid out as Linux's `put_cmsg` callers lay them out.

use abi::net::{
    IPPROTO_IP, IPPROTO_IPV6, IPV6_HOPLIMIT, IPV6_PKTINFO, IPV6_TCLASS, IP_PKTINFO, IP_TOS, IP_TTL,
    SOL_SOCKET, SO_TIMESTAMP, SO_TIMESTAMPNS,
};
use net::Control;

use super::msg::ControlOut;
use crate::Ctx;

/// The level, type and data of `c`.
fn layout(c: &Control) -> (i32, i32, Vec<u8>) {
    let pair = |a: i64, b: i64| [a.to_ne_bytes(), b.to_ne_bytes()].concat();
    match *c {
        Control::Timestamp(s, us) => (SOL_SOCKET, SO_TIMESTAMP, pair(s, us)),
        Control::TimestampNs(s, ns) => (SOL_SOCKET, SO_TIMESTAMPNS, pair(s, ns)),
        // struct in_pktinfo: ipi_ifindex, ipi_spec_dst, ipi_addr.
        Control::PktInfo(ifindex, spec_dst, addr) => {
            let data = [
                &ifindex.to_ne_bytes()[..],
                &spec_dst.octets(),
                &addr.octets(),
            ]
            .concat();
            (IPPROTO_IP, IP_PKTINFO, data)
        }
        Control::Ttl(t) => (IPPROTO_IP, IP_TTL, t.to_ne_bytes().to_vec()),
        Control::Tos(t) => (IPPROTO_IP, IP_TOS, vec![t]),
        // struct in6_pktinfo: ipi6_addr, ipi6_ifindex.
        Control::PktInfo6(addr, ifindex) => {
            let data = [&addr.octets()[..], &ifindex.to_ne_bytes()].concat();
            (IPPROTO_IPV6, IPV6_PKTINFO, data)
        }
        Control::HopLimit(h) => (IPPROTO_IPV6, IPV6_HOPLIMIT, h.to_ne_bytes().to_vec()),
        Control::TClass(t) => (IPPROTO_IPV6, IPV6_TCLASS, t.to_ne_bytes().to_vec()),
    }
}

/// Writes `controls` to the guest's control buffer. A buffer the guest cannot write
/// fails nothing: the message is left out, as Linux's callers of `put_cmsg` ignore its
/// `EFAULT` (the receive still returns its data).
pub(super) fn put_all(ctx: &mut Ctx<'_>, out: &mut ControlOut, controls: &[Control]) {
    for c in controls {
        let (level, ty, data) = layout(c);
        let _ = out.put(ctx, level, ty, &data);
    }
}
