//! Moving data: `sendto`, `sendmsg`, `recvfrom`, `recvmsg`, `read`/`write` on a socket,
//! `shutdown`, and control messages (`SCM_RIGHTS`, `SCM_CREDENTIALS`).
//!
//! Blocking as for pipes: a call that cannot go on parks the task on the connection's (or
//! the addressee's) wait id and is restarted; a blocking stream send, and a stream receive
//! with `MSG_WAITALL`, keep what they already moved in the restart block.

use abi::flags::OFlags;
use abi::structs::IoVec;
use abi::{Errno, SysResult, UserAddr};
use vfs::{Arc, FileRef};

use super::addr::{self, SockAddr};
use super::unix::{Dest, Received, RecvOpts, SockType, Ucred, UnixSocket, SCM_MAX_FD};
use super::{cred, lookup, sock};
use crate::fs::{iovecs, skip};
use crate::{Args, Ctx, WaitKey};

const MSG_OOB: u32 = 0x1;
const MSG_PEEK: u32 = 0x2;
const MSG_CTRUNC: u32 = 0x8;
const MSG_TRUNC: u32 = 0x20;
const MSG_DONTWAIT: u32 = 0x40;
const MSG_WAITALL: u32 = 0x100;
const MSG_NOSIGNAL: u32 = 0x4000;
const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;

const SOL_SOCKET: i32 = 1;
const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;
/// `sizeof(struct cmsghdr)`.
const CMSG_HDR: usize = 16;
/// Largest control buffer a send takes (`net.core.optmem_max`).
const OPTMEM_MAX: u64 = 131_072;

fn cmsg_align(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// `struct msghdr` (56 bytes on x86-64).
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(super) struct MsgHdr {
    pub(super) name: u64,
    pub(super) namelen: u32,
    _pad0: u32,
    pub(super) iov: u64,
    pub(super) iovlen: u64,
    pub(super) control: u64,
    pub(super) controllen: u64,
    pub(super) flags: i32,
    _pad1: i32,
}

/// What a send carries besides its data.
struct Extra {
    to: Option<SockAddr>,
    rights: Vec<FileRef>,
    cred: Ucred,
}

fn nonblocking(f: &FileRef, flags: u32) -> bool {
    flags & MSG_DONTWAIT != 0 || f.flags().contains(OFlags::NONBLOCK)
}

/// Sends the guest ranges `iovs`. `EPIPE` on a stream raises `SIGPIPE` unless
/// `MSG_NOSIGNAL` (datagram and seqpacket sockets never raise it, as Linux).
fn send(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &Arc<UnixSocket>,
    iovs: &[IoVec],
    mut extra: Extra,
    flags: u32,
) -> SysResult {
    if flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if s.ty != SockType::Dgram && extra.to.is_some() {
        return Err(if s.is_connected() {
            Errno::EISCONN
        } else {
            Errno::EOPNOTSUPP
        });
    }
    let nonblock = nonblocking(f, flags);
    let done = if !nonblock && s.ty == SockType::Stream {
        ctx.restart.progress
    } else {
        0
    };
    if done > 0 {
        // The files went with the first part.
        extra.rights.clear();
    }
    let rest = skip(iovs, done);
    let total: u64 = rest.iter().map(|v| v.len).sum();
    let (sndbuf, _) = s.bufs();
    if s.ty != SockType::Stream && total > sndbuf as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut data = Vec::new();
    for v in &rest {
        let k = (v.len as usize).min(sndbuf.saturating_sub(data.len()));
        if k == 0 {
            continue;
        }
        let start = data.len();
        data.resize(start + k, 0);
        ctx.copy_in(UserAddr(v.base), &mut data[start..])?;
    }
    let dest = match &extra.to {
        None => Dest::Peer,
        Some(name) => Dest::To(lookup(ctx, name, s.ty)?),
    };
    let (r, wait) = s.send(dest, &data, &mut extra.rights, extra.cred);
    match r {
        Ok(n) => {
            ctx.wake(WaitKey::File(wait));
            ctx.wake(WaitKey::File(s.wait_id()));
            if s.ty == SockType::Stream && !nonblock && (n as u64) < total {
                ctx.restart.progress = done + n as u64;
                return Err(ctx.block_on(WaitKey::File(wait)));
            }
            Ok(done + n as u64)
        }
        Err(Errno::EAGAIN) if !nonblock => Err(ctx.block_on(WaitKey::File(wait))),
        Err(_) if done > 0 => Ok(done),
        Err(Errno::EPIPE) => {
            if s.ty == SockType::Stream && flags & MSG_NOSIGNAL == 0 {
                crate::kill::raise_sigpipe(ctx);
            }
            Err(Errno::EPIPE)
        }
        Err(e) => Err(e),
    }
}

/// What a receive returns besides the data it copied out.
struct Got {
    /// The return value.
    ret: u64,
    msg: Received,
    /// A datagram was longer than the buffer.
    trunc: bool,
}

/// Receives into the guest ranges `iovs`.
fn recv(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &Arc<UnixSocket>,
    iovs: &[IoVec],
    flags: u32,
) -> Result<Got, Errno> {
    if flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let nonblock = nonblocking(f, flags);
    let peek = flags & MSG_PEEK != 0;
    let waitall = flags & MSG_WAITALL != 0 && s.ty == SockType::Stream && !peek && !nonblock;
    let done = if waitall { ctx.restart.progress } else { 0 };
    let rest = skip(iovs, done);
    let total: u64 = rest.iter().map(|v| v.len).sum();
    let msg = match s.recv(total as usize, RecvOpts { peek }) {
        Ok(m) => m,
        Err(Errno::EAGAIN) if !nonblock => {
            return Err(ctx.block_on(WaitKey::File(s.wait_id())));
        }
        Err(_) if done > 0 => {
            return Ok(Got {
                ret: done,
                msg: Received::default(),
                trunc: false,
            })
        }
        Err(e) => return Err(e),
    };
    if !peek {
        // Senders waiting for room try again.
        ctx.wake(WaitKey::File(s.wait_id()));
    }
    let mut off = 0usize;
    for v in &rest {
        let k = (v.len as usize).min(msg.data.len() - off);
        if k == 0 {
            continue;
        }
        if let Err(e) = ctx.copy_out(UserAddr(v.base), &msg.data[off..off + k]) {
            if off == 0 && done == 0 {
                return Err(e);
            }
            break;
        }
        off += k;
    }
    let n = off as u64;
    if waitall && n > 0 && n < total && msg.rights.is_empty() {
        ctx.restart.progress = done + n;
        return Err(ctx.block_on(WaitKey::File(s.wait_id())));
    }
    let trunc = s.ty != SockType::Stream && msg.full_len > msg.data.len();
    let ret = if trunc && flags & MSG_TRUNC != 0 {
        msg.full_len as u64
    } else {
        done + n
    };
    Ok(Got { ret, msg, trunc })
}

/// `read`/`write`/`readv`/`writev` on a socket (`nowait`: `RWF_NOWAIT`).
pub(crate) fn socket_rw(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    s: &Arc<UnixSocket>,
    iovs: &[IoVec],
    read: bool,
    nowait: bool,
) -> SysResult {
    let flags = if nowait { MSG_DONTWAIT } else { 0 };
    if read {
        recv(ctx, f, s, iovs, flags).map(|g| g.ret)
    } else {
        let extra = Extra {
            to: None,
            rights: Vec::new(),
            cred: cred(ctx),
        };
        send(ctx, f, s, iovs, extra, flags)
    }
}

/// `sendto(2)`.
pub(crate) fn sys_sendto(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((f, s)) = super::inet_sock(ctx, a.i32(0))? {
        return super::inet_io::sendto(ctx, &f, &s, a);
    }
    if let Some((_, s)) = super::netlink::nl_sock(ctx, a.i32(0))? {
        return super::netlink::sendto(ctx, &s, a);
    }
    let (f, s) = sock(ctx, a.i32(0))?;
    let len = a.len(2).min(i32::MAX as u64);
    Ctx::access_ok(a.addr(1), len)?;
    let to = if a.addr(4).is_null() {
        None
    } else {
        Some(addr::read(ctx, a.addr(4), a.i32(5))?)
    };
    let iov = [IoVec {
        base: a.addr(1).0,
        len,
    }];
    let extra = Extra {
        to,
        rights: Vec::new(),
        cred: cred(ctx),
    };
    send(ctx, &f, &s, &iov, extra, a.u32(3))
}

/// `recvfrom(2)`.
pub(crate) fn sys_recvfrom(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((f, s)) = super::inet_sock(ctx, a.i32(0))? {
        return super::inet_io::recvfrom(ctx, &f, &s, a);
    }
    if let Some((f, s)) = super::netlink::nl_sock(ctx, a.i32(0))? {
        return super::netlink::recvfrom(ctx, &f, &s, a);
    }
    let (f, s) = sock(ctx, a.i32(0))?;
    let len = a.len(2).min(i32::MAX as u64);
    Ctx::access_ok(a.addr(1), len)?;
    let iov = [IoVec {
        base: a.addr(1).0,
        len,
    }];
    let got = recv(ctx, &f, &s, &iov, a.u32(3))?;
    if !a.addr(4).is_null() {
        let from = got.msg.from.unwrap_or_default();
        addr::write_raw(ctx, a.addr(4), a.addr(5), &from)?;
    }
    Ok(got.ret)
}

/// The files and credentials of a send's control messages, as Linux's `__scm_send`:
/// `EINVAL` for a malformed header or too many files, `EBADF` for a bad descriptor,
/// `EPERM` for credentials that are not the caller's (unless root).
fn parse_control(
    ctx: &mut Ctx<'_>,
    at: UserAddr,
    len: u64,
) -> Result<(Vec<FileRef>, Ucred), Errno> {
    let mut rights = Vec::new();
    let mut who = cred(ctx);
    if len > OPTMEM_MAX {
        return Err(Errno::ENOBUFS);
    }
    let mut buf = vec![0u8; len as usize];
    ctx.copy_in(at, &mut buf)?;
    let mut off = 0usize;
    while buf.len().saturating_sub(off) >= CMSG_HDR {
        let h = &buf[off..];
        let clen = u64::from_ne_bytes(h[0..8].try_into().map_err(|_| Errno::EINVAL)?);
        let level = i32::from_ne_bytes(h[8..12].try_into().map_err(|_| Errno::EINVAL)?);
        let ty = i32::from_ne_bytes(h[12..16].try_into().map_err(|_| Errno::EINVAL)?);
        if clen < CMSG_HDR as u64 || clen > (buf.len() - off) as u64 {
            return Err(Errno::EINVAL);
        }
        let body = &h[CMSG_HDR..clen as usize];
        if level == SOL_SOCKET {
            match ty {
                SCM_RIGHTS => {
                    let fds: Vec<i32> = body
                        .chunks_exact(4)
                        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                        .collect();
                    if fds.is_empty() || rights.len() + fds.len() > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    for fd in fds {
                        rights.push(ctx.file(fd)?);
                    }
                }
                SCM_CREDENTIALS => {
                    if body.len() != 12 {
                        return Err(Errno::EINVAL);
                    }
                    let c = Ucred {
                        pid: i32::from_ne_bytes([body[0], body[1], body[2], body[3]]),
                        uid: u32::from_ne_bytes([body[4], body[5], body[6], body[7]]),
                        gid: u32::from_ne_bytes([body[8], body[9], body[10], body[11]]),
                    };
                    let p = &ctx.proc.cred;
                    let root = p.euid == 0;
                    let ok = root
                        || (c.pid == ctx.proc.pid
                            && [p.uid, p.euid, p.suid].contains(&c.uid)
                            && [p.gid, p.egid, p.sgid].contains(&c.gid));
                    if !ok {
                        return Err(Errno::EPERM);
                    }
                    who = c;
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        off += cmsg_align(clen as usize);
    }
    Ok((rights, who))
}

/// Reads a `msghdr` and its iovec array.
pub(super) fn read_msghdr(ctx: &mut Ctx<'_>, at: UserAddr) -> Result<(MsgHdr, Vec<IoVec>), Errno> {
    let m: MsgHdr = ctx.read_val(at)?;
    if m.namelen > i32::MAX as u32 {
        return Err(Errno::EINVAL);
    }
    let cnt = i32::try_from(m.iovlen).map_err(|_| Errno::EMSGSIZE)?;
    let iovs = iovecs(ctx, UserAddr(m.iov), cnt).map_err(|e| match e {
        Errno::EINVAL if m.iovlen > abi::structs::UIO_MAXIOV as u64 => Errno::EMSGSIZE,
        e => e,
    })?;
    Ok((m, iovs))
}

/// `sendmsg(2)`.
pub(crate) fn sys_sendmsg(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((f, s)) = super::inet_sock(ctx, a.i32(0))? {
        return super::inet_io::sendmsg(ctx, &f, &s, a.addr(1), a.u32(2));
    }
    if let Some((_, s)) = super::netlink::nl_sock(ctx, a.i32(0))? {
        return super::netlink::sendmsg(ctx, &s, a);
    }
    let (f, s) = sock(ctx, a.i32(0))?;
    let (m, iovs) = read_msghdr(ctx, a.addr(1))?;
    let to = if m.name != 0 && m.namelen != 0 {
        Some(addr::read(ctx, UserAddr(m.name), m.namelen as i32)?)
    } else {
        None
    };
    let (rights, who) = if m.controllen > 0 {
        parse_control(ctx, UserAddr(m.control), m.controllen)?
    } else {
        (Vec::new(), cred(ctx))
    };
    let extra = Extra {
        to,
        rights,
        cred: who,
    };
    send(ctx, &f, &s, &iovs, extra, a.u32(2))
}

/// Writes control messages into the guest's buffer as Linux's `put_cmsg`: what does not
/// fit is cut and `MSG_CTRUNC` set.
pub(super) struct ControlOut {
    at: u64,
    room: usize,
    used: usize,
    ctrunc: bool,
}

impl ControlOut {
    /// The control buffer `m` names.
    pub(super) fn of(m: &MsgHdr) -> ControlOut {
        let room = usize::try_from(m.controllen)
            .unwrap_or(usize::MAX)
            .min(i32::MAX as usize);
        ControlOut {
            at: m.control,
            room: if m.control == 0 { 0 } else { room },
            used: 0,
            ctrunc: false,
        }
    }

    /// Bytes written (the new `msg_controllen`).
    pub(super) fn used(&self) -> u64 {
        self.used as u64
    }

    /// `MSG_CTRUNC` if something was cut, else 0.
    pub(super) fn ctrunc_flag(&self) -> u32 {
        if self.ctrunc {
            MSG_CTRUNC
        } else {
            0
        }
    }

    /// Writes one control message of `level` and `ty`.
    pub(super) fn put(
        &mut self,
        ctx: &mut Ctx<'_>,
        level: i32,
        ty: i32,
        data: &[u8],
    ) -> Result<(), Errno> {
        let room = self.room - self.used;
        if room < CMSG_HDR {
            self.ctrunc = true;
            return Ok(());
        }
        let clen = CMSG_HDR + data.len();
        let mut b = Vec::with_capacity(clen);
        b.extend_from_slice(&(clen as u64).to_ne_bytes());
        b.extend_from_slice(&level.to_ne_bytes());
        b.extend_from_slice(&ty.to_ne_bytes());
        b.extend_from_slice(data);
        if room < clen {
            self.ctrunc = true;
            b.truncate(room);
        }
        ctx.copy_out(UserAddr(self.at + self.used as u64), &b)?;
        self.used += cmsg_align(clen).min(room);
        Ok(())
    }
}

/// `recvmsg(2)`.
pub(crate) fn sys_recvmsg(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((f, s)) = super::inet_sock(ctx, a.i32(0))? {
        return super::inet_io::recvmsg(ctx, &f, &s, a.addr(1), a.u32(2));
    }
    if let Some((f, s)) = super::netlink::nl_sock(ctx, a.i32(0))? {
        return super::netlink::recvmsg(ctx, &f, &s, a);
    }
    let (f, s) = sock(ctx, a.i32(0))?;
    let flags = a.u32(2);
    let (m, iovs) = read_msghdr(ctx, a.addr(1))?;
    let got = recv(ctx, &f, &s, &iovs, flags)?;
    let mut out = ControlOut::of(&m);
    if s.passcred() {
        let c = got.msg.cred.unwrap_or(Ucred::NONE);
        out.put(ctx, SOL_SOCKET, SCM_CREDENTIALS, &c.bytes())?;
    }
    if !got.msg.rights.is_empty() {
        let room = out.room - out.used;
        let fit = room.saturating_sub(CMSG_HDR) / 4;
        let cloexec = flags & MSG_CMSG_CLOEXEC != 0;
        let mut fds = Vec::new();
        for r in got.msg.rights.iter().take(fit) {
            match super::install(ctx, r.clone(), cloexec) {
                Ok(fd) => fds.push(fd),
                Err(_) => break,
            }
        }
        if fds.len() < got.msg.rights.len() {
            out.ctrunc = true;
        }
        if !fds.is_empty() {
            let data: Vec<u8> = fds.iter().flat_map(|fd| fd.to_ne_bytes()).collect();
            out.put(ctx, SOL_SOCKET, SCM_RIGHTS, &data)?;
        }
    }
    let mut m2 = m;
    if m.name != 0 {
        let from = got.msg.from.as_deref().unwrap_or_default();
        let k = (m.namelen as usize).min(from.len());
        if k > 0 {
            ctx.copy_out(UserAddr(m.name), &from[..k])?;
        }
        m2.namelen = from.len() as u32;
    }
    m2.controllen = out.used();
    m2.flags = ((if got.trunc { MSG_TRUNC } else { 0 }) | out.ctrunc_flag()) as i32;
    ctx.write_val(a.addr(1), &m2)?;
    Ok(got.ret)
}

/// `shutdown(2)`.
pub(crate) fn sys_shutdown(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some((_, s)) = super::inet_sock(ctx, a.i32(0))? {
        let how = u8::try_from(a.i32(1)).map_err(|_| Errno::EINVAL)?;
        return super::inet::shutdown(ctx, &s, how);
    }
    if super::netlink::nl_sock(ctx, a.i32(0))?.is_some() {
        return Err(Errno::EOPNOTSUPP);
    }
    let (_, s) = sock(ctx, a.i32(0))?;
    let how = u8::try_from(a.i32(1)).map_err(|_| Errno::EINVAL)?;
    if let Some(id) = s.shutdown(how)? {
        ctx.wake(WaitKey::File(id));
    }
    ctx.wake(WaitKey::File(s.wait_id()));
    Ok(0)
}
