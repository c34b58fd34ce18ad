//! The interface `ioctl`s a socket answers (Linux's `dev_ioctl`, `dev_ifconf` and
//! `devinet_ioctl`), from the stack's interface list (`net::rtnl`): `SIOCGIFCONF`,
//! `SIOCGIFNAME`, `SIOCGIFINDEX`, `SIOCGIFFLAGS`, `SIOCGIFMTU`, `SIOCGIFMETRIC`,
//! `SIOCGIFTXQLEN`, `SIOCGIFHWADDR` on any socket; `SIOCGIFADDR`, `SIOCGIFNETMASK`,
//! `SIOCGIFBRDADDR`, `SIOCGIFDSTADDR` on an `AF_INET` one. Setting anything is `EPERM`
//! without `CAP_NET_ADMIN` and `EOPNOTSUPP` with it. An unknown interface is `ENODEV`.
//! Also `FIONREAD` of a netlink socket.

use abi::{Errno, SysResult, UserAddr};
use net::rtnl::{self, Iface};
use net::Family;
use vfs::FileRef;

use crate::caps::CAP_NET_ADMIN;
use crate::Ctx;

const SIOCGIFNAME: u32 = 0x8910;
const SIOCGIFCONF: u32 = 0x8912;
const SIOCGIFFLAGS: u32 = 0x8913;
const SIOCSIFFLAGS: u32 = 0x8914;
/// `SIOCATMARK`: whether the stream is at its urgent-data mark.
const SIOCATMARK: u32 = 0x8905;
const SIOCGIFADDR: u32 = 0x8915;
const SIOCGIFDSTADDR: u32 = 0x8917;
const SIOCGIFBRDADDR: u32 = 0x8919;
const SIOCGIFNETMASK: u32 = 0x891b;
const SIOCGIFMETRIC: u32 = 0x891d;
const SIOCGIFMTU: u32 = 0x8921;
const SIOCGIFHWADDR: u32 = 0x8927;
const SIOCGIFINDEX: u32 = 0x8933;
const SIOCGIFTXQLEN: u32 = 0x8942;
/// `SIOCSIFADDR` .. `SIOCSIFMTU` and the other setters between them.
const SETTERS: [u32; 8] = [
    SIOCSIFFLAGS,
    0x8916, // SIOCSIFADDR
    0x8918, // SIOCSIFDSTADDR
    0x891a, // SIOCSIFBRDADDR
    0x891c, // SIOCSIFNETMASK
    0x8922, // SIOCSIFMTU
    0x8923, // SIOCSIFNAME
    0x8924, // SIOCSIFHWADDR
];
/// `sizeof(struct ifreq)`.
const IFREQ: usize = 40;
/// `IFNAMSIZ`.
const IFNAMSIZ: usize = 16;

/// Handles `cmd` if it is an interface request on a socket; `None` otherwise (the
/// caller goes on with its own requests).
pub(crate) fn dev_ioctl(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    cmd: u32,
    arg: UserAddr,
) -> Option<SysResult> {
    if cmd == abi::flags::ioctl::FIONREAD {
        // The other sockets' FIONREAD is the caller's.
        let s = super::netlink_of(f)?;
        let n = s.pending().min(i32::MAX as usize) as i32;
        return Some(ctx.write_val(arg, &n).map(|()| 0));
    }
    let inet = super::inet_of(f);
    if cmd == SIOCATMARK {
        // No urgent data is ever queued: never at the mark. TCP's only (others ENOTTY).
        inet.filter(|s| s.kind == net::Kind::Stream)?;
        return Some(ctx.write_val(arg, &0i32).map(|()| 0));
    }
    if !(0x8910..=0x8950).contains(&cmd) {
        return None;
    }
    let is_sock = inet.is_some() || super::socket_of(f).is_some() || super::netlink_of(f).is_some();
    if !is_sock {
        return None;
    }
    let v4 = inet.is_some_and(|s| s.family == Family::V4);
    Some(ioctl(ctx, cmd, arg, v4))
}

/// The `ifreq` at `arg`: its bytes, and the interface it names.
fn ifreq(ctx: &mut Ctx<'_>, arg: UserAddr) -> Result<([u8; IFREQ], Option<Iface>), Errno> {
    let mut r = [0u8; IFREQ];
    ctx.copy_in(arg, &mut r).map_err(|_| Errno::EFAULT)?;
    r[IFNAMSIZ - 1] = 0;
    let end = r.iter().position(|&c| c == 0).unwrap_or(IFNAMSIZ);
    // "lo:alias" names an address label of lo.
    let name = &r[..end];
    let base = name.split(|&c| c == b':').next().unwrap_or(name);
    Ok((r, rtnl::by_name(base)))
}

fn sockaddr_in(a: std::net::Ipv4Addr) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&abi::net::AF_INET.to_ne_bytes());
    b[4..8].copy_from_slice(&a.octets());
    b
}

fn ioctl(ctx: &mut Ctx<'_>, cmd: u32, arg: UserAddr, v4: bool) -> SysResult {
    if SETTERS.contains(&cmd) {
        // The request is read first (`EFAULT`), as Linux's `dev_ioctl` copies it in.
        ifreq(ctx, arg)?;
        return Err(if ctx.proc.cred.caps.has(CAP_NET_ADMIN) {
            Errno::EOPNOTSUPP
        } else {
            Errno::EPERM
        });
    }
    match cmd {
        SIOCGIFCONF => return ifconf(ctx, arg),
        SIOCGIFNAME => {
            let (mut r, _) = ifreq(ctx, arg)?;
            let index = u32::from_ne_bytes([r[16], r[17], r[18], r[19]]);
            let i = rtnl::by_index(index).ok_or(Errno::ENODEV)?;
            r[..IFNAMSIZ].fill(0);
            r[..i.name.len()].copy_from_slice(i.name.as_bytes());
            ctx.copy_out(arg, &r)?;
            return Ok(0);
        }
        _ => {}
    }
    let (mut r, iface) = ifreq(ctx, arg)?;
    let addr_cmd = matches!(
        cmd,
        SIOCGIFADDR | SIOCGIFNETMASK | SIOCGIFBRDADDR | SIOCGIFDSTADDR
    );
    if addr_cmd && !v4 {
        return Err(Errno::ENOTTY);
    }
    let known = addr_cmd
        || matches!(
            cmd,
            SIOCGIFFLAGS
                | SIOCGIFMTU
                | SIOCGIFINDEX
                | SIOCGIFMETRIC
                | SIOCGIFTXQLEN
                | SIOCGIFHWADDR
        );
    if !known {
        return Err(Errno::ENOTTY);
    }
    let i = iface.ok_or(Errno::ENODEV)?;
    let data = &mut r[16..];
    data.fill(0);
    let int = |v: u32| v.to_ne_bytes();
    match cmd {
        // ifr_flags is a short: IFF_LOWER_UP does not fit.
        SIOCGIFFLAGS => data[..2].copy_from_slice(&((i.flags & 0xffff) as u16).to_ne_bytes()),
        SIOCGIFMTU => data[..4].copy_from_slice(&int(i.mtu)),
        SIOCGIFINDEX => data[..4].copy_from_slice(&int(i.index)),
        SIOCGIFMETRIC => {}
        SIOCGIFTXQLEN => data[..4].copy_from_slice(&int(1000)),
        SIOCGIFHWADDR => data[..2].copy_from_slice(&rtnl::ARPHRD_LOOPBACK.to_ne_bytes()),
        SIOCGIFADDR | SIOCGIFDSTADDR => data[..16].copy_from_slice(&sockaddr_in(i.v4.0)),
        SIOCGIFNETMASK => {
            let bits = u32::MAX.checked_shl(32 - u32::from(i.v4.1)).unwrap_or(0);
            data[..16].copy_from_slice(&sockaddr_in(bits.into()));
        }
        // lo has no broadcast address.
        SIOCGIFBRDADDR => {
            data[..16].copy_from_slice(&sockaddr_in(std::net::Ipv4Addr::UNSPECIFIED));
        }
        _ => return Err(Errno::ENOTTY),
    }
    ctx.copy_out(arg, &r)?;
    Ok(0)
}

/// `SIOCGIFCONF`: an `ifreq` with the IPv4 address of each interface that has one, as
/// many as fit in `ifc_len`; a null buffer asks only for the length needed.
fn ifconf(ctx: &mut Ctx<'_>, arg: UserAddr) -> SysResult {
    // struct ifconf { int ifc_len; (pad) ; union { char *ifc_buf; ... } }
    let len: i32 = ctx.read_val(arg)?;
    let buf: u64 = ctx.read_val(UserAddr(arg.0.checked_add(8).ok_or(Errno::EFAULT)?))?;
    let all = rtnl::interfaces();
    if buf == 0 {
        ctx.write_val(arg, &((all.len() * IFREQ) as i32))?;
        return Ok(0);
    }
    let room = usize::try_from(len).unwrap_or(0);
    let mut done = 0usize;
    for i in all {
        if room - done < IFREQ {
            break;
        }
        let mut r = [0u8; IFREQ];
        r[..i.name.len()].copy_from_slice(i.name.as_bytes());
        r[16..32].copy_from_slice(&sockaddr_in(i.v4.0));
        let at = buf.checked_add(done as u64).ok_or(Errno::EFAULT)?;
        ctx.copy_out(UserAddr(at), &r)?;
        done += IFREQ;
    }
    ctx.write_val(arg, &(done as i32))?;
    Ok(0)
}
