//! SysV message queues: `msgget`, `msgsnd`, `msgrcv`, `msgctl`.
//!
//! A queue holds typed messages in the order sent, at most `msg_qbytes` bytes (and as
//! many messages) of them; a sender that does not fit waits (or fails with `EAGAIN` under
//! `IPC_NOWAIT`), a receiver with nothing to take waits (or fails with `ENOMSG`). Both wait
//! on the queue's key, which every change of the queue wakes, try again, and fail with
//! `EIDRM` if it was removed; a signal ends the wait with `EINTR` after a handler (never
//! restarted, signal(7)) and not at all after a stop. `msgrcv` picks by `msgtyp` as Linux's
//! `find_msg`: 0 the first message, positive the first of that type (of another type with
//! `MSG_EXCEPT`), negative the first of the lowest type up to its absolute value;
//! `MSG_COPY` copies the message at index `msgtyp` without taking it.

use std::collections::VecDeque;

use abi::ipc::*;
use abi::{Errno, SysResult};

use super::{key, now, sysctl, wait, Found, Ipc, Object, Perm};
use crate::{Args, Ctx, OnSignal};

/// Linux's fixed `msginfo` fields.
const MSGSSZ: i32 = 16;
const MSGSEG: u16 = 0xffff;

/// One message.
struct Msg {
    mtype: i64,
    text: Vec<u8>,
}

/// One queue.
pub struct MsgQueue {
    perm: Perm,
    msgs: VecDeque<Msg>,
    cbytes: u64,
    qbytes: u64,
    stime: i64,
    rtime: i64,
    ctime: i64,
    lspid: i32,
    lrpid: i32,
}

impl Object for MsgQueue {
    fn perm(&self) -> &Perm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut Perm {
        &mut self.perm
    }
}

fn qkey(id: i32) -> crate::WaitKey {
    key(wait::MSG, id, 0)
}

pub(crate) fn sys_msgget(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (k, flg) = (a.i32(0), a.i32(1));
    match ctx.procs.ipc.msg.lookup(k, flg)? {
        Found::Existing(id) => Ok(ctx.procs.ipc.msg.access(id, ctx.proc, flg)? as u64),
        Found::Create => {
            let q = MsgQueue {
                perm: Perm::new(k, flg, ctx.proc),
                msgs: VecDeque::new(),
                cbytes: 0,
                qbytes: sysctl(ctx, "kernel/msgmnb"),
                stime: 0,
                rtime: 0,
                ctime: now(),
                lspid: 0,
                lrpid: 0,
            };
            let max = sysctl(ctx, "kernel/msgmni").min(IPCMNI as u64) as i32;
            Ok(super::insert(ctx, |i| &mut i.msg, "kernel/msg_next_id", q, max)? as u64)
        }
    }
}

/// Waits for queue `id` to change.
fn wait_for(ctx: &mut Ctx<'_>, id: i32) -> Errno {
    ctx.on_signal(OnSignal::RestartNoHand);
    ctx.block_on(qkey(id))
}

pub(crate) fn sys_msgsnd(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (id, at, size, flg) = (a.i32(0), a.addr(1), a.raw(2), a.i32(3));
    // msgmax is an int in Linux.
    let msgmax = sysctl(ctx, "kernel/msgmax").min(i32::MAX as u64);
    if size > msgmax || (size as i64) < 0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    let mtype: i64 = ctx.read_val(at)?;
    if mtype < 1 {
        return Err(Errno::EINVAL);
    }
    Ctx::access_ok(at, size.saturating_add(8))?;
    let mut text = vec![0u8; size as usize];
    ctx.copy_in(abi::UserAddr(at.0.wrapping_add(8)), &mut text)?;
    let pid = ctx.proc.pid;
    let proc = &*ctx.proc;
    let waited = ctx.restart.waited;
    let q = match ctx.procs.ipc.msg.get_mut(id) {
        Ok(q) => q,
        Err(_) if waited => return Err(Errno::EIDRM),
        Err(e) => return Err(e),
    };
    q.perm.check(proc, 0o222)?;
    if q.cbytes + size > q.qbytes || q.msgs.len() as u64 + 1 > q.qbytes {
        if flg & IPC_NOWAIT != 0 {
            return Err(Errno::EAGAIN);
        }
        return Err(wait_for(ctx, id));
    }
    q.cbytes += size;
    q.msgs.push_back(Msg { mtype, text });
    q.lspid = pid;
    q.stime = now();
    ctx.wake(qkey(id));
    Ok(0)
}

/// Linux's `find_msg`: the index of the message `msgtyp` and the flags pick.
fn find(q: &MsgQueue, msgtyp: i64, flg: i32) -> Option<usize> {
    if flg & MSG_COPY != 0 {
        return usize::try_from(msgtyp).ok().filter(|&i| i < q.msgs.len());
    }
    if msgtyp == 0 {
        return (!q.msgs.is_empty()).then_some(0);
    }
    if msgtyp > 0 {
        let except = flg & MSG_EXCEPT != 0;
        return q.msgs.iter().position(|m| (m.mtype == msgtyp) != except);
    }
    let limit = msgtyp.checked_neg().unwrap_or(i64::MAX);
    let mut best: Option<(usize, i64)> = None;
    for (i, m) in q.msgs.iter().enumerate() {
        if m.mtype <= limit && best.is_none_or(|(_, t)| m.mtype < t) {
            best = Some((i, m.mtype));
        }
    }
    best.map(|(i, _)| i)
}

pub(crate) fn sys_msgrcv(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (id, at, size, msgtyp, flg) = (a.i32(0), a.addr(1), a.raw(2), a.raw(3) as i64, a.i32(4));
    if (size as i64) < 0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if flg & MSG_COPY != 0 && (flg & MSG_EXCEPT != 0 || flg & IPC_NOWAIT == 0) {
        return Err(Errno::EINVAL);
    }
    let pid = ctx.proc.pid;
    let proc = &*ctx.proc;
    let waited = ctx.restart.waited;
    let q = match ctx.procs.ipc.msg.get_mut(id) {
        Ok(q) => q,
        Err(_) if waited => return Err(Errno::EIDRM),
        Err(e) => return Err(e),
    };
    q.perm.check(proc, 0o444)?;
    let Some(i) = find(q, msgtyp, flg) else {
        if flg & IPC_NOWAIT != 0 {
            return Err(Errno::ENOMSG);
        }
        return Err(wait_for(ctx, id));
    };
    let len = q.msgs[i].text.len() as u64;
    if len > size && flg & MSG_NOERROR == 0 {
        return Err(Errno::E2BIG);
    }
    let n = len.min(size) as usize;
    let mtype = q.msgs[i].mtype;
    let text = q.msgs[i].text[..n].to_vec();
    // Linux takes the message before copying it out: a bad buffer loses it.
    if flg & MSG_COPY == 0 {
        q.msgs.remove(i);
        q.cbytes -= len;
        q.lrpid = pid;
        q.rtime = now();
        ctx.wake(qkey(id));
    }
    ctx.write_val(at, &mtype)?;
    ctx.copy_out(abi::UserAddr(at.0.wrapping_add(8)), &text)?;
    Ok(n as u64)
}

fn stat(q: &MsgQueue) -> MsqidDs {
    MsqidDs {
        perm: q.perm.to_abi(),
        stime: q.stime,
        rtime: q.rtime,
        ctime: q.ctime,
        cbytes: q.cbytes,
        qnum: q.msgs.len() as u64,
        qbytes: q.qbytes,
        lspid: q.lspid,
        lrpid: q.lrpid,
        unused: [0; 2],
    }
}

pub(crate) fn sys_msgctl(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (id, cmd, buf) = (a.i32(0), a.i32(1), a.addr(2));
    if id < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (mni, max, mnb) = (
                sysctl(ctx, "kernel/msgmni") as i32,
                sysctl(ctx, "kernel/msgmax") as i32,
                sysctl(ctx, "kernel/msgmnb") as i32,
            );
            let ipc = &ctx.procs.ipc;
            let info = if cmd == MSG_INFO {
                let msgs: usize = ipc.msg.iter().map(|(_, q)| q.msgs.len()).sum();
                let bytes: u64 = ipc.msg.iter().map(|(_, q)| q.cbytes).sum();
                MsgInfo {
                    msgpool: ipc.msg.len() as i32,
                    msgmap: msgs as i32,
                    msgtql: bytes as i32,
                    ..MsgInfo::default()
                }
            } else {
                MsgInfo {
                    msgpool: ((i64::from(mni) * i64::from(mnb)) / 1024) as i32,
                    msgmap: mnb,
                    msgtql: mnb,
                    ..MsgInfo::default()
                }
            };
            let info = MsgInfo {
                msgmax: max,
                msgmnb: mnb,
                msgmni: mni,
                msgssz: MSGSSZ,
                msgseg: MSGSEG,
                ..info
            };
            let max_idx = ipc.msg.max_idx();
            ctx.write_val(buf, &info)?;
            Ok(max_idx as u64)
        }
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            let (full, q) = if cmd == IPC_STAT {
                (id, ctx.procs.ipc.msg.get(id)?)
            } else {
                ctx.procs.ipc.msg.by_index(id)?
            };
            if cmd != MSG_STAT_ANY {
                q.perm.check(ctx.proc, 0o444)?;
            }
            let ds = stat(q);
            ctx.write_val(buf, &ds)?;
            Ok(if cmd == IPC_STAT { 0 } else { full as u64 })
        }
        IPC_SET => {
            let ds: MsqidDs = ctx.read_val(buf)?;
            let mnb = sysctl(ctx, "kernel/msgmnb");
            let privileged = ctx.proc.cred.caps.has(crate::caps::CAP_SYS_RESOURCE);
            let q = ctx.procs.ipc.msg.get_mut(id)?;
            q.perm.check_owner(ctx.proc)?;
            if ds.qbytes > mnb && !privileged {
                return Err(Errno::EPERM);
            }
            q.qbytes = ds.qbytes;
            q.perm.set(&ds.perm);
            q.ctime = now();
            ctx.wake(qkey(id));
            Ok(0)
        }
        IPC_RMID => {
            ctx.procs.ipc.msg.get(id)?.perm.check_owner(ctx.proc)?;
            ctx.procs.ipc.msg.remove(id);
            ctx.wake(qkey(id));
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `/proc/sysvipc/msg`.
pub(crate) fn proc_file(ipc: &Ipc) -> Vec<u8> {
    let mut out = String::from(
        "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n",
    );
    for (id, q) in ipc.msg.iter() {
        let p = &q.perm;
        out.push_str(&format!(
            "{:10} {:10}  {:4o}  {:10} {:10} {:5} {:5} {:5} {:5} {:5} {:5} {:10} {:10} {:10}\n",
            p.key,
            id,
            p.mode,
            q.cbytes,
            q.msgs.len(),
            q.lspid,
            q.lrpid,
            p.uid,
            p.gid,
            p.cuid,
            p.cgid,
            q.stime,
            q.rtime,
            q.ctime
        ));
    }
    out.into_bytes()
}
