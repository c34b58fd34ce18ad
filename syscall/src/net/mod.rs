//! Sockets, entirely inside uml — nothing reaches a host socket.
//!
//! `AF_UNIX` ([`unix`]): stream, datagram and seqpacket sockets, `socketpair`, named
//! sockets (a path bound in the guest's file system becomes a socket inode of the overlay's
//! upper layer) and abstract names (a namespace per uml instance), descriptor and
//! credential passing.
//!
//! `AF_INET` and `AF_INET6` ([`inet`]): TCP and UDP on the instance's own loopback network,
//! owned by the `net` crate (`ctx.procs.net`); this layer only decodes and checks the
//! guest's arguments ([`inet_addr`], [`inet_opt`], [`inet_io`]) and parks tasks the stack
//! cannot serve yet. Wait ids the stack made ready are woken after every syscall.
//!
//! Other families behave as on a Linux kernel built without them: `socket` and
//! `socketpair` fail with `EAFNOSUPPORT`. The calls that take a descriptor say `EBADF` for
//! a bad one and `ENOTSOCK` for one that is not a socket.

mod addr;
mod ifioctl;
mod inet;
mod inet_addr;
mod inet_anc;
mod inet_io;
mod inet_opt;
mod mmsg;
mod msg;
mod netlink;
mod opt;
pub(crate) mod unix;

use abi::flags::OFlags;
use abi::{Errno, SysResult};
use vfs::{Arc, FileObject, FileRef};

use crate::{Args, Ctx, WaitKey};
use addr::SockAddr;
use net::{Family, InetSocket};
use unix::{SockType, Ucred, UnixSocket};

pub(crate) use ifioctl::dev_ioctl;
pub(crate) use inet::inet_of;
pub(crate) use inet_io::rw as inet_rw;
pub(crate) use mmsg::{sys_recvmmsg, sys_sendmmsg};
pub(crate) use msg::{socket_rw, sys_recvfrom, sys_recvmsg, sys_sendmsg, sys_sendto, sys_shutdown};
pub(crate) use netlink::netlink_of;
pub(crate) use opt::{sys_getpeername, sys_getsockname, sys_getsockopt, sys_setsockopt};

const AF_UNIX: i32 = 1;
/// Families are below this (`AF_MAX`); others are `EAFNOSUPPORT` too.
const AF_MAX: i32 = 46;
/// Socket types are below this (`SOCK_MAX`).
const SOCK_MAX: u32 = 11;
const SOCK_TYPE_MASK: u32 = 0xf;
const SOCK_RAW: u32 = 3;
const SOCK_NONBLOCK: u32 = OFlags::NONBLOCK.bits();
const SOCK_CLOEXEC: u32 = OFlags::CLOEXEC.bits();

/// The `AF_UNIX` socket behind `f`, if it is one.
pub(crate) fn socket_of(f: &FileRef) -> Option<Arc<UnixSocket>> {
    let any: Arc<dyn std::any::Any + Send + Sync> = f.object()?.clone();
    any.downcast::<UnixSocket>().ok()
}

/// The inet socket open at `fd`, if it is one (`EBADF` for a bad descriptor); for a call
/// that blocked, the socket it blocked on even if `fd` was closed meanwhile.
fn inet_sock(ctx: &Ctx<'_>, fd: i32) -> Result<Option<(FileRef, Arc<InetSocket>)>, Errno> {
    let f = match &ctx.restart.file {
        Some(f) if ctx.restart.waited => f.clone(),
        _ => socket_file(ctx, fd)?,
    };
    Ok(inet_of(&f).map(|s| (f, s)))
}

/// The inet family of a `socket` domain.
fn inet_family(domain: i32) -> Option<Family> {
    match u16::try_from(domain).ok()? {
        abi::net::AF_INET => Some(Family::V4),
        abi::net::AF_INET6 => Some(Family::V6),
        _ => None,
    }
}

/// The file open at `fd` for a socket call: `EBADF` for a bad descriptor or an `O_PATH`
/// one (Linux's `fdget` does not hand those to socket calls).
fn socket_file(ctx: &Ctx<'_>, fd: i32) -> Result<FileRef, Errno> {
    let f = ctx.file(fd)?;
    if f.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// The socket open at `fd`: `EBADF`, or `ENOTSOCK` if it is not a socket.
fn sock(ctx: &Ctx<'_>, fd: i32) -> Result<(FileRef, Arc<UnixSocket>), Errno> {
    let f = socket_file(ctx, fd)?;
    let s = socket_of(&f).ok_or(Errno::ENOTSOCK)?;
    Ok((f, s))
}

/// The caller's credentials as a message or connection carries them.
fn cred(ctx: &Ctx<'_>) -> Ucred {
    Ucred {
        pid: ctx.proc.pid,
        uid: ctx.proc.cred.euid,
        gid: ctx.proc.cred.egid,
    }
}

/// Checks `socket`/`socketpair` arguments: the `AF_UNIX` socket type, and whether the new
/// descriptors are non-blocking and close-on-exec.
fn sock_type(domain: i32, ty: u32, protocol: i32) -> Result<(SockType, bool, bool), Errno> {
    check_type_flags(ty)?;
    if !(0..AF_MAX).contains(&domain) {
        return Err(Errno::EAFNOSUPPORT);
    }
    let base = ty & SOCK_TYPE_MASK;
    if base >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    if domain != AF_UNIX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if protocol != 0 && protocol != AF_UNIX {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let st = match base {
        1 => SockType::Stream,
        2 | SOCK_RAW => SockType::Dgram,
        5 => SockType::Seqpacket,
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    Ok((st, ty & SOCK_NONBLOCK != 0, ty & SOCK_CLOEXEC != 0))
}

/// An open file over `s`.
fn open(ctx: &Ctx<'_>, s: Arc<UnixSocket>, nonblock: bool) -> FileRef {
    let mut fl = OFlags::RDWR;
    if nonblock {
        fl |= OFlags::NONBLOCK;
    }
    let obj: Arc<dyn FileObject> = s;
    ctx.vfs.open_object(obj, fl)
}

fn install(ctx: &mut Ctx<'_>, f: FileRef, cloexec: bool) -> Result<i32, Errno> {
    let limit = ctx.proc.nofile();
    ctx.proc.fds.install(f, cloexec, 0, limit)
}

/// `socket(2)`.
pub(crate) fn sys_socket(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some(family) = inet_family(a.i32(0)) {
        check_type_flags(a.u32(1))?;
        return inet::socket(ctx, family, a.u32(1), a.i32(2));
    }
    if a.i32(0) == i32::from(abi::net::AF_NETLINK) {
        check_type_flags(a.u32(1))?;
        return netlink::socket(ctx, a.u32(1), a.i32(2));
    }
    let (ty, nonblock, cloexec) = sock_type(a.i32(0), a.u32(1), a.i32(2))?;
    crate::fs::check_free_fd(ctx)?;
    let s = UnixSocket::new(ty, (cred(ctx), ctx.proc.landlock.clone()));
    let f = open(ctx, s, nonblock);
    Ok(install(ctx, f, cloexec)? as u64)
}

/// `EINVAL` for bits of a `socket` type that are neither the type nor a flag.
fn check_type_flags(ty: u32) -> Result<(), Errno> {
    if ty & !(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `socketpair(2)`: inet sockets are made as by `socket` (with its errors), then have no
/// pairs (`EOPNOTSUPP`).
pub(crate) fn sys_socketpair(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some(family) = inet_family(a.i32(0)) {
        check_type_flags(a.u32(1))?;
        inet::kind_of(ctx, family, a.u32(1), a.i32(2))?;
        return Err(Errno::EOPNOTSUPP);
    }
    let (ty, nonblock, cloexec) = sock_type(a.i32(0), a.u32(1), a.i32(2))?;
    let (x, y) = UnixSocket::pair(ty, (cred(ctx), ctx.proc.landlock.clone()));
    let (fx, fy) = (open(ctx, x, nonblock), open(ctx, y, nonblock));
    let a0 = install(ctx, fx, cloexec)?;
    let a1 = match install(ctx, fy, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = ctx.proc.fds.remove(a0);
            return Err(e);
        }
    };
    if let Err(e) = ctx.write_val(a.addr(3), &[a0, a1]) {
        let _ = ctx.proc.fds.remove(a0);
        let _ = ctx.proc.fds.remove(a1);
        return Err(e);
    }
    Ok(0)
}

/// The socket of type `ty` a name refers to (for `connect` and `sendto`). A socket of
/// another type is `EPROTOTYPE` by path and, as Linux keys abstract names by type too, not
/// found (`ECONNREFUSED`) by abstract name.
fn lookup(ctx: &Ctx<'_>, name: &SockAddr, ty: SockType) -> Result<Arc<UnixSocket>, Errno> {
    let (obj, wrong_type) = match name {
        SockAddr::Path(p) => (
            ctx.vfs.socket_at(ctx.at(&ctx.proc.cwd), p)?,
            Errno::EPROTOTYPE,
        ),
        SockAddr::Abstract(n) => (ctx.vfs.abstract_socket(n)?, Errno::ECONNREFUSED),
        SockAddr::Unspec | SockAddr::Auto => return Err(Errno::EINVAL),
    };
    let any: Arc<dyn std::any::Any + Send + Sync> = obj;
    let s = any
        .downcast::<UnixSocket>()
        .map_err(|_| Errno::ECONNREFUSED)?;
    if s.ty != ty {
        return Err(wrong_type);
    }
    if let (SockAddr::Abstract(_), Some(dom)) = (name, &ctx.proc.landlock) {
        if !dom.reaches(
            s.landlock.as_deref(),
            abi::flags::landlock::SCOPE_ABSTRACT_UNIX_SOCKET,
        ) {
            return Err(Errno::EPERM);
        }
    }
    Ok(s)
}

/// `bind(2)`.
pub(crate) fn sys_bind(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((_, s)) = inet_sock(ctx, a.i32(0))? {
        return inet::bind(ctx, &s, a);
    }
    if let Some((_, s)) = netlink::nl_sock(ctx, a.i32(0))? {
        return netlink::bind(ctx, &s, a);
    }
    let (_, s) = sock(ctx, a.i32(0))?;
    let name = addr::read(ctx, a.addr(1), a.i32(2))?;
    if s.is_bound() {
        // Linux makes the file before it looks at the socket: a taken path wins.
        let taken =
            matches!(&name, SockAddr::Path(p) if ctx.vfs.stat(&ctx.proc.cwd, p, false).is_ok());
        return Err(if taken {
            Errno::EADDRINUSE
        } else {
            Errno::EINVAL
        });
    }
    let obj: Arc<dyn FileObject> = s.clone();
    let weak = Arc::downgrade(&obj);
    match &name {
        SockAddr::Unspec => return Err(Errno::EINVAL),
        SockAddr::Path(p) => {
            let mode = 0o777 & !ctx.proc.umask;
            ctx.vfs.bind_socket(ctx.at(&ctx.proc.cwd), p, mode, weak)?;
        }
        SockAddr::Abstract(n) => ctx.vfs.bind_abstract(n, weak)?,
        SockAddr::Auto => return autobind(ctx, &s).map(|()| 0),
    }
    s.set_addr(name.to_bytes())?;
    Ok(0)
}

/// Binds `s` to a fresh abstract name of five hex digits, as Linux's autobind.
fn autobind(ctx: &Ctx<'_>, s: &Arc<UnixSocket>) -> Result<(), Errno> {
    let obj: Arc<dyn FileObject> = s.clone();
    for n in 0..0x10_0000u32 {
        let name = SockAddr::Abstract(format!("\0{n:05x}").into_bytes());
        let SockAddr::Abstract(raw) = &name else {
            continue;
        };
        if ctx.vfs.bind_abstract(raw, Arc::downgrade(&obj)).is_ok() {
            return s.set_addr(name.to_bytes());
        }
    }
    Err(Errno::ENOSPC)
}

/// `listen(2)`.
pub(crate) fn sys_listen(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((_, s)) = inet_sock(ctx, a.i32(0))? {
        return inet::listen(ctx, &s, a);
    }
    if netlink::nl_sock(ctx, a.i32(0))?.is_some() {
        return Err(Errno::EOPNOTSUPP);
    }
    let (_, s) = sock(ctx, a.i32(0))?;
    // A negative backlog is a huge unsigned one, as Linux reads it.
    s.listen(a.u32(1) as usize, cred(ctx))?;
    Ok(0)
}

/// `connect(2)`.
pub(crate) fn sys_connect(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((f, s)) = inet_sock(ctx, a.i32(0))? {
        return inet::connect(ctx, &f, &s, a);
    }
    if let Some((_, s)) = netlink::nl_sock(ctx, a.i32(0))? {
        return netlink::connect(ctx, &s, a);
    }
    let (f, s) = sock(ctx, a.i32(0))?;
    let name = addr::read(ctx, a.addr(1), a.i32(2))?;
    if s.ty == SockType::Dgram {
        let to = match name {
            SockAddr::Unspec => None,
            ref n => Some(lookup(ctx, n, s.ty)?),
        };
        s.connect_dgram(to.as_ref())?;
        return Ok(0);
    }
    if matches!(name, SockAddr::Unspec | SockAddr::Auto) {
        return Err(Errno::EINVAL);
    }
    let server = lookup(ctx, &name, s.ty)?;
    match s.connect_stream(&server, cred(ctx)) {
        Ok(()) => {
            ctx.wake(WaitKey::File(server.wait_id()));
            Ok(0)
        }
        Err(Errno::EAGAIN) if !f.flags().contains(OFlags::NONBLOCK) => {
            Err(ctx.block_on(WaitKey::File(server.wait_id())))
        }
        Err(e) => Err(e),
    }
}

fn do_accept(ctx: &mut Ctx<'_>, a: &Args, flags: u32) -> SysResult {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if let Some((f, s)) = inet_sock(ctx, a.i32(0))? {
        return inet::accept(ctx, &f, &s, a, flags);
    }
    if netlink::nl_sock(ctx, a.i32(0))?.is_some() {
        return Err(Errno::EOPNOTSUPP);
    }
    let (f, s) = sock(ctx, a.i32(0))?;
    crate::fs::check_free_fd(ctx)?;
    let end = match s.accept() {
        Ok(end) => end,
        Err(Errno::EAGAIN) if !f.flags().contains(OFlags::NONBLOCK) => {
            return Err(ctx.block_on(WaitKey::File(s.wait_id())));
        }
        Err(e) => return Err(e),
    };
    // Connectors waiting for room in the backlog try again.
    ctx.wake(WaitKey::File(s.wait_id()));
    if !a.addr(1).is_null() {
        let peer = end.peer_addr().ok().flatten();
        addr::write_name(ctx, a.addr(1), a.addr(2), peer.as_deref())?;
    }
    let nf = open(ctx, end, flags & SOCK_NONBLOCK != 0);
    Ok(install(ctx, nf, flags & SOCK_CLOEXEC != 0)? as u64)
}

/// `accept(2)`.
pub(crate) fn sys_accept(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    do_accept(ctx, a, 0)
}

/// `accept4(2)`.
pub(crate) fn sys_accept4(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    do_accept(ctx, a, a.u32(3))
}
