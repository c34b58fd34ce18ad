//! The interface `ioctl`s a socket answers (Linux's `dev_ioctl`, `dev_ifconf` and
//! `devinet_ioctl`), from the interfaces the stack shows ([`net::Interfaces`]: `lo`, or
//! the host's with `--net host`): `SIOCGIFCONF`,
//! `SIOCGIFNAME`, `SIOCGIFINDEX`, `SIOCGIFFLAGS`, `SIOCGIFMTU`, `SIOCGIFMETRIC`,
//! `SIOCGIFTXQLEN`, `SIOCGIFHWADDR` on any socket; `SIOCGIFADDR`, `SIOCGIFNETMASK`,
//! `SIOCGIFBRDADDR`, `SIOCGIFDSTADDR` on an `AF_INET` one (`EADDRNOTAVAIL` for an
//! interface without an IPv4 address). Setting anything is `EPERM`
//! without `CAP_NET_ADMIN` and `EOPNOTSUPP` with it. An unknown interface is `ENODEV`.
//! Also `FIONREAD` of a netlink socket.

use abi::{Errno, SysResult, UserAddr};
use net::{Family, Interfaces, Link};
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
fn ifreq(
    ctx: &mut Ctx<'_>,
    arg: UserAddr,
    all: &Interfaces,
) -> Result<([u8; IFREQ], Option<Link>), Errno> {
    let mut r = [0u8; IFREQ];
    ctx.copy_in(arg, &mut r).map_err(|_| Errno::EFAULT)?;
    r[IFNAMSIZ - 1] = 0;
    let end = r.iter().position(|&c| c == 0).unwrap_or(IFNAMSIZ);
    // "lo:alias" names an address label of lo.
    let name = &r[..end];
    let base = name.split(|&c| c == b':').next().unwrap_or(name);
    Ok((r, all.by_name(base).cloned()))
}

fn sockaddr_in(a: std::net::Ipv4Addr) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&abi::net::AF_INET.to_ne_bytes());
    b[4..8].copy_from_slice(&a.octets());
    b
}

fn ioctl(ctx: &mut Ctx<'_>, cmd: u32, arg: UserAddr, v4: bool) -> SysResult {
    let all = ctx.procs.net.interfaces();
    if SETTERS.contains(&cmd) {
        // The request is read first (`EFAULT`), as Linux's `dev_ioctl` copies it in.
        ifreq(ctx, arg, &all)?;
        return Err(if ctx.proc.cred.caps.has(CAP_NET_ADMIN) {
            Errno::EOPNOTSUPP
        } else {
            Errno::EPERM
        });
    }
    match cmd {
        SIOCGIFCONF => return ifconf(ctx, arg, &all),
        SIOCGIFNAME => {
            let (mut r, _) = ifreq(ctx, arg, &all)?;
            let index = u32::from_ne_bytes([r[16], r[17], r[18], r[19]]);
            let i = all.by_index(index).ok_or(Errno::ENODEV)?;
            r[..IFNAMSIZ].fill(0);
            r[..i.name.len()].copy_from_slice(i.name.as_bytes());
            ctx.copy_out(arg, &r)?;
            return Ok(0);
        }
        _ => {}
    }
    let (mut r, iface) = ifreq(ctx, arg, &all)?;
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
    let v4_addr = || all.v4_of(i.index).ok_or(Errno::EADDRNOTAVAIL);
    let data = &mut r[16..];
    data.fill(0);
    let int = |v: u32| v.to_ne_bytes();
    match cmd {
        // ifr_flags is a short: IFF_LOWER_UP does not fit.
        SIOCGIFFLAGS => data[..2].copy_from_slice(&((i.flags & 0xffff) as u16).to_ne_bytes()),
        SIOCGIFMTU => data[..4].copy_from_slice(&int(i.mtu)),
        SIOCGIFINDEX => data[..4].copy_from_slice(&int(i.index)),
        SIOCGIFMETRIC => {}
        SIOCGIFTXQLEN => data[..4].copy_from_slice(&int(i.txqlen)),
        SIOCGIFHWADDR => {
            // struct sockaddr: the hardware type, then as much of the address as fits.
            data[..2].copy_from_slice(&i.hw_type.to_ne_bytes());
            let k = i.address.len().min(14);
            data[2..2 + k].copy_from_slice(&i.address[..k]);
        }
        SIOCGIFADDR | SIOCGIFDSTADDR => data[..16].copy_from_slice(&sockaddr_in(v4_addr()?.0)),
        SIOCGIFNETMASK => {
            let bits = u32::MAX
                .checked_shl(32 - u32::from(v4_addr()?.1.min(32)))
                .unwrap_or(0);
            data[..16].copy_from_slice(&sockaddr_in(bits.into()));
        }
        SIOCGIFBRDADDR => data[..16].copy_from_slice(&sockaddr_in(v4_addr()?.2)),
        _ => return Err(Errno::ENOTTY),
    }
    ctx.copy_out(arg, &r)?;
    Ok(0)
}

/// `SIOCGIFCONF`: an `ifreq` with each IPv4 address and its label, as many as fit in
/// `ifc_len`; a null buffer asks only for the length needed.
fn ifconf(ctx: &mut Ctx<'_>, arg: UserAddr, all: &Interfaces) -> SysResult {
    // struct ifconf { int ifc_len; (pad) ; union { char *ifc_buf; ... } }
    let len: i32 = ctx.read_val(arg)?;
    let buf: u64 = ctx.read_val(UserAddr(arg.0.checked_add(8).ok_or(Errno::EFAULT)?))?;
    let addrs: Vec<_> = all.v4_addrs().collect();
    if buf == 0 {
        ctx.write_val(arg, &((addrs.len() * IFREQ) as i32))?;
        return Ok(0);
    }
    let room = usize::try_from(len).unwrap_or(0);
    let mut done = 0usize;
    for a in addrs {
        if room - done < IFREQ {
            break;
        }
        let Some((ip, _, _)) = Interfaces::v4_of_addr(a) else {
            continue;
        };
        let name = a
            .label
            .as_deref()
            .or_else(|| all.by_index(a.index).map(|l| l.name.as_str()))
            .unwrap_or_default()
            .as_bytes();
        let mut r = [0u8; IFREQ];
        let k = name.len().min(IFNAMSIZ - 1);
        r[..k].copy_from_slice(&name[..k]);
        r[16..32].copy_from_slice(&sockaddr_in(ip));
        let at = buf.checked_add(done as u64).ok_or(Errno::EFAULT)?;
        ctx.copy_out(UserAddr(at), &r)?;
        done += IFREQ;
    }
    ctx.write_val(arg, &(done as i32))?;
    Ok(0)
}
