//! POSIX message queues: `mq_open`, `mq_unlink`, `mq_timedsend`, `mq_timedreceive`,
//! `mq_notify`, `mq_getsetattr`.
//!
//! Queues live in the instance's mqueue namespace by name (glibc passes the name without
//! its leading slash; a name with a slash is `EACCES` as Linux's lookup makes it); an
//! unlinked queue lives on while a descriptor is open. A descriptor is a file of its own
//! ([`MqFile`]: the open mode, and `O_NONBLOCK` in the file's flags), readable in `poll`
//! while a message is queued and writable while one more fits. Messages come out highest
//! priority first, in the order sent within one priority. A sender that does not fit, or a
//! receiver with nothing to take, waits on the queue's wait id (unless `O_NONBLOCK`:
//! `EAGAIN`) until its absolute `CLOCK_REALTIME` timeout (`ETIMEDOUT`); a signal ends the
//! wait as `-ERESTARTSYS` does. `mq_notify` registers one process: a message arriving in
//! an empty queue that no receiver waits for sends it the signal (`SI_MESGQ`) and ends the
//! registration; a registration of a process that has exited is gone (Linux drops it when
//! the owner closes its descriptor). `SIGEV_THREAD` is glibc's: the registration names a
//! netlink socket and a 32-byte cookie, which the socket receives with its last byte
//! `NOTIFY_WOKENUP` when the message arrives, or `NOTIFY_REMOVED` when the registration is
//! taken back (glibc's helper thread then starts the caller's function, or ends).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use abi::flags::OFlags;
use abi::ipc::{MqAttr, MQ_PRIO_MAX};
use abi::structs::Timespec;
use abi::{Errno, SysResult, UserAddr};
use parking_lot::Mutex;
use vfs::object::new_wait_id;
use vfs::{FileObject, PollEvents, Poller};

use super::{key, sysctl, wait};
use crate::process::ProcState;
use crate::signal::{SigFields, SigInfo};
use crate::{Args, Ctx, OnSignal};

/// `NAME_MAX`.
const NAME_MAX: usize = 255;
/// Limits for a caller with `CAP_SYS_RESOURCE` (`HARD_MSGMAX`, `HARD_MSGSIZEMAX`).
const HARD_MSGMAX: i64 = 65536;
const HARD_MSGSIZEMAX: i64 = 16 * 1024 * 1024;
/// `sigev_notify` values.
const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
/// `si_code` of a queue's notification.
const SI_MESGQ: i32 = -3;

/// The queues by name.
#[derive(Default)]
pub struct Registry {
    queues: BTreeMap<Vec<u8>, Arc<MqQueue>>,
}

/// A registration for notification: the process and its `sigevent`.
#[derive(Clone)]
struct Notify {
    pid: i32,
    notify: i32,
    signo: i32,
    value: u64,
    /// `SIGEV_THREAD`: the netlink socket told, and the cookie it is sent.
    thread: Option<(Arc<net::NetlinkSocket>, [u8; COOKIE_LEN])>,
}

/// Length of a `SIGEV_THREAD` notification's cookie, whose last byte says why it came.
const COOKIE_LEN: usize = 32;
const NOTIFY_WOKENUP: u8 = 1;
const NOTIFY_REMOVED: u8 = 2;

/// Sends a `SIGEV_THREAD` registration's cookie to its socket, marked `why`.
fn notify_thread(ctx: &mut Ctx<'_>, n: &Notify, why: u8) {
    if let Some((sock, cookie)) = &n.thread {
        let mut msg = cookie.to_vec();
        msg[COOKIE_LEN - 1] = why;
        let id = sock.deliver(msg);
        ctx.wake(crate::WaitKey::File(id));
    }
}

struct State {
    maxmsg: i64,
    msgsize: i64,
    /// Messages, highest priority first, FIFO within a priority: (priority, bytes).
    msgs: Vec<(u32, Vec<u8>)>,
    notify: Option<Notify>,
    /// Changes, for edge-triggered epoll.
    events: u64,
    /// Senders waiting for room, first come first: a receiver that makes room moves the
    /// first one's message in at once, as Linux's `pipelined_receive`.
    senders: Vec<Sender>,
}

/// A sender waiting for room in a full queue.
struct Sender {
    tid: i32,
    prio: u32,
    msg: Vec<u8>,
    /// A receiver moved the message in: the sender returns 0 when it runs.
    done: bool,
}

/// One queue.
pub struct MqQueue {
    id: u64,
    uid: u32,
    gid: u32,
    mode: u32,
    state: Mutex<State>,
}

/// An open queue: the queue and the descriptor's open mode.
pub struct MqFile {
    queue: Arc<MqQueue>,
    read: bool,
    write: bool,
}

impl FileObject for MqFile {
    fn poll(&self, _who: &Poller) -> PollEvents {
        let st = self.queue.state.lock();
        PollEvents {
            readable: !st.msgs.is_empty(),
            writable: (st.msgs.len() as i64) < st.maxmsg,
            hangup: false,
            error: false,
            rdhup: false,
            seq: Some(st.events),
        }
    }

    fn wait_id(&self) -> u64 {
        self.queue.id
    }
}

/// `struct sigevent` as `mq_notify` reads it: `sigev_value` @0, `sigev_signo` @8,
/// `sigev_notify` @12.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Sigevent {
    value: u64,
    signo: i32,
    notify: i32,
    rest: [i32; 12],
}

/// A queue name from the guest: `ENOENT` empty, `ENAMETOOLONG` past `NAME_MAX`, `EACCES`
/// with a slash or as `.`/`..`.
fn read_name(ctx: &mut Ctx<'_>, at: UserAddr) -> Result<Vec<u8>, Errno> {
    let name = ctx.read_path(at)?;
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.contains(&b'/') || name == b"." || name == b".." {
        return Err(Errno::EACCES);
    }
    Ok(name)
}

/// Linux's `generic_permission` on a queue for `want` (`r`=4, `w`=2) by the caller's
/// filesystem ids.
fn permitted(ctx: &Ctx<'_>, q: &MqQueue, want: u32) -> bool {
    let c = &ctx.proc.cred;
    if c.fsuid == 0 {
        return true;
    }
    let bits = if c.fsuid == q.uid {
        q.mode >> 6
    } else if c.fsgid == q.gid || ctx.proc.groups.binary_search(&q.gid).is_ok() {
        q.mode >> 3
    } else {
        q.mode
    };
    want & !bits & 7 == 0
}

pub(crate) fn sys_mq_open(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (at, oflag, mode, attr_at) = (a.addr(0), a.i32(1), a.u32(2), a.addr(3));
    let fl = OFlags::from_bits_retain(oflag as u32);
    let attr = if fl.contains(OFlags::CREAT) && !attr_at.is_null() {
        Some(ctx.read_val::<MqAttr>(attr_at)?)
    } else {
        None
    };
    let name = read_name(ctx, at)?;
    let existing = ctx.procs.ipc.mq.queues.get(&name).cloned();
    let acc = oflag & 3;
    let queue = match existing {
        Some(_) if fl.contains(OFlags::CREAT | OFlags::EXCL) => return Err(Errno::EEXIST),
        Some(q) => {
            if acc == 3 {
                return Err(Errno::EINVAL);
            }
            let want = [4, 2, 6][acc as usize];
            if !permitted(ctx, &q, want) {
                return Err(Errno::EACCES);
            }
            q
        }
        None if !fl.contains(OFlags::CREAT) => return Err(Errno::ENOENT),
        None => {
            let privileged = ctx.proc.cred.euid == 0;
            let (maxmsg, msgsize) = match attr {
                Some(at) => {
                    if at.maxmsg <= 0 || at.msgsize <= 0 {
                        return Err(Errno::EINVAL);
                    }
                    let (mm, ms) = if privileged {
                        (HARD_MSGMAX, HARD_MSGSIZEMAX)
                    } else {
                        (
                            sysctl(ctx, "fs/mqueue/msg_max") as i64,
                            sysctl(ctx, "fs/mqueue/msgsize_max") as i64,
                        )
                    };
                    if at.maxmsg > mm || at.msgsize > ms {
                        return Err(Errno::EINVAL);
                    }
                    (at.maxmsg, at.msgsize)
                }
                None => (
                    sysctl(ctx, "fs/mqueue/msg_default") as i64,
                    sysctl(ctx, "fs/mqueue/msgsize_default") as i64,
                ),
            };
            let max = sysctl(ctx, "fs/mqueue/queues_max") as usize;
            if ctx.procs.ipc.mq.queues.len() >= max && !privileged {
                return Err(Errno::ENOSPC);
            }
            if acc == 3 {
                return Err(Errno::EINVAL);
            }
            let q = Arc::new(MqQueue {
                id: new_wait_id(),
                uid: ctx.proc.cred.fsuid,
                gid: ctx.proc.cred.fsgid,
                mode: mode & 0o777 & !ctx.proc.umask,
                state: Mutex::new(State {
                    maxmsg,
                    msgsize,
                    msgs: Vec::new(),
                    notify: None,
                    events: 0,
                    senders: Vec::new(),
                }),
            });
            ctx.procs.ipc.mq.queues.insert(name, q.clone());
            q
        }
    };
    let obj = Arc::new(MqFile {
        queue,
        read: acc == 0 || acc == 2,
        write: acc == 1 || acc == 2,
    });
    ctx.install_object(obj, fl.intersection(OFlags::NONBLOCK | OFlags::CLOEXEC))
}

pub(crate) fn sys_mq_unlink(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let name = read_name(ctx, a.addr(0))?;
    let q = ctx.procs.ipc.mq.queues.get(&name).ok_or(Errno::ENOENT)?;
    // The mqueue root is sticky and root's: only the queue's owner (or root) unlinks it.
    let fsuid = ctx.proc.cred.fsuid;
    if fsuid != 0 && fsuid != q.uid {
        return Err(Errno::EPERM);
    }
    ctx.procs.ipc.mq.queues.remove(&name);
    Ok(0)
}

/// An absolute `CLOCK_REALTIME` timeout as an instant (`EINVAL` if malformed).
fn read_abs_timeout(ctx: &mut Ctx<'_>, at: UserAddr) -> Result<Option<Instant>, Errno> {
    if at.is_null() {
        return Ok(None);
    }
    let ts: Timespec = ctx.read_val(at)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    let abs = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let left = abs.saturating_sub(now);
    Ok(Some(Instant::now().checked_add(left).unwrap_or_else(
        || Instant::now() + Duration::from_secs(1 << 32),
    )))
}

/// The queue open at `fd` (`EBADF` for another kind of file).
fn mq_file(ctx: &Ctx<'_>, fd: i32) -> Result<(vfs::FileRef, Arc<MqQueue>, bool, bool), Errno> {
    let f = ctx.file(fd)?;
    let m = f.object_as::<MqFile>().ok_or(Errno::EBADF)?;
    let (q, r, w) = (m.queue.clone(), m.read, m.write);
    Ok((f, q, r, w))
}

/// Queues `msg` after the messages of priority `prio` and higher.
fn insert(st: &mut State, prio: u32, msg: Vec<u8>) {
    let at = st
        .msgs
        .iter()
        .position(|(p, _)| *p < prio)
        .unwrap_or(st.msgs.len());
    st.msgs.insert(at, (prio, msg));
}

/// Waits on the queue (its wait id, and for receivers the receivers' key) until `deadline`.
fn wait_on(ctx: &mut Ctx<'_>, q: &MqQueue, recv: bool, deadline: Option<Instant>) -> Errno {
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Errno::ETIMEDOUT;
    }
    ctx.on_signal(OnSignal::RestartSys);
    if recv {
        ctx.also_block_on(&[key(wait::MQ_RECV, 0, q.id as u32)]);
    }
    let k = crate::WaitKey::File(q.id);
    match deadline {
        Some(d) => ctx.block_until(k, d),
        None => ctx.block_on(k),
    }
}

pub(crate) fn sys_mq_timedsend(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (fd, at, len, prio) = (a.i32(0), a.addr(1), a.raw(2), a.raw(3));
    let deadline = read_abs_timeout(ctx, a.addr(4))?;
    if prio >= u64::from(MQ_PRIO_MAX) {
        return Err(Errno::EINVAL);
    }
    let (f, q, _, w) = mq_file(ctx, fd)?;
    if !w {
        return Err(Errno::EBADF);
    }
    let msgsize = q.state.lock().msgsize;
    if len > msgsize as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut msg = vec![0u8; len as usize];
    ctx.copy_in(at, &mut msg)?;
    let tid = ctx.tid;
    let prio = prio as u32;
    let notify = {
        let mut st = q.state.lock();
        if let Some(i) = st.senders.iter().position(|s| s.tid == tid) {
            if st.senders.remove(i).done {
                return Ok(0);
            }
        }
        if st.msgs.len() as i64 >= st.maxmsg {
            if f.flags().contains(OFlags::NONBLOCK) {
                return Err(Errno::EAGAIN);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Errno::ETIMEDOUT);
            }
            st.senders.push(Sender {
                tid,
                prio,
                msg,
                done: false,
            });
            drop(st);
            ctx.also_block_on(&[key(wait::MQ_SEND, tid, q.id as u32)]);
            return Err(wait_on(ctx, &q, false, deadline));
        }
        insert(&mut st, prio, msg);
        st.events += 1;
        let receivers = ctx.sched.queue(key(wait::MQ_RECV, 0, q.id as u32)).len();
        if st.msgs.len() == 1 && receivers == 0 {
            st.notify.take()
        } else {
            None
        }
    };
    ctx.wake(crate::WaitKey::File(q.id));
    if let Some(n) = notify.as_ref().filter(|n| n.notify == SIGEV_THREAD) {
        notify_thread(ctx, n, NOTIFY_WOKENUP);
    }
    if let Some(n) = notify.filter(|n| n.notify == SIGEV_SIGNAL && n.signo != 0) {
        let info = SigInfo {
            signo: n.signo,
            errno: 0,
            code: SI_MESGQ,
            fields: SigFields::Rt {
                pid: ctx.proc.pid,
                uid: ctx.proc.cred.uid,
                value: n.value,
            },
        };
        let mut wake = Vec::new();
        if let Ok(p) = ctx.process_mut(n.pid) {
            crate::kill::send_to(p, None, info, &mut wake);
        }
        ctx.wake_all(wake);
    }
    Ok(0)
}

pub(crate) fn sys_mq_timedreceive(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (fd, at, len, prio_at) = (a.i32(0), a.addr(1), a.raw(2), a.addr(3));
    let deadline = read_abs_timeout(ctx, a.addr(4))?;
    let (f, q, r, _) = mq_file(ctx, fd)?;
    if !r {
        return Err(Errno::EBADF);
    }
    let (prio, msg) = {
        let mut st = q.state.lock();
        if len < st.msgsize as u64 {
            return Err(Errno::EMSGSIZE);
        }
        if st.msgs.is_empty() {
            drop(st);
            if f.flags().contains(OFlags::NONBLOCK) {
                return Err(Errno::EAGAIN);
            }
            return Err(wait_on(ctx, &q, true, deadline));
        }
        st.events += 1;
        let got = st.msgs.remove(0);
        // The first sender still waiting for room gets it now; senders no longer waiting
        // (interrupted, timed out) are forgotten.
        let sched = ctx.sched;
        let qid = q.id as u32;
        st.senders
            .retain(|s| s.done || !sched.queue(key(wait::MQ_SEND, s.tid, qid)).is_empty());
        if let Some(i) = st.senders.iter().position(|s| !s.done) {
            let msg = std::mem::take(&mut st.senders[i].msg);
            st.senders[i].done = true;
            let prio = st.senders[i].prio;
            insert(&mut st, prio, msg);
        }
        got
    };
    ctx.wake(crate::WaitKey::File(q.id));
    if !prio_at.is_null() {
        ctx.write_val(prio_at, &prio)?;
    }
    ctx.copy_out(at, &msg)?;
    Ok(msg.len() as u64)
}

pub(crate) fn sys_mq_notify(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (fd, at) = (a.i32(0), a.addr(1));
    let ev = if at.is_null() {
        None
    } else {
        let ev: Sigevent = ctx.read_val(at)?;
        match ev.notify {
            SIGEV_NONE => {}
            SIGEV_SIGNAL if (0..=abi::signal::sig::NSIG).contains(&ev.signo) => {}
            SIGEV_THREAD => {}
            _ => return Err(Errno::EINVAL),
        }
        Some(ev)
    };
    // SIGEV_THREAD: `sigev_signo` is a netlink socket, `sigev_value` the cookie.
    let thread = match ev {
        Some(ev) if ev.notify == SIGEV_THREAD => {
            let f = ctx.file(ev.signo)?;
            let sock = crate::net::netlink_of(&f).ok_or(Errno::EBADF)?;
            let mut cookie = [0u8; COOKIE_LEN];
            ctx.copy_in(abi::UserAddr(ev.value), &mut cookie)?;
            Some((sock, cookie))
        }
        _ => None,
    };
    let (_, q, _, _) = mq_file(ctx, fd)?;
    let me = ctx.proc.pid;
    let live = |pid: i32| {
        pid == me
            || ctx
                .procs
                .get(pid)
                .is_some_and(|p| !matches!(p.state, ProcState::Zombie(_)))
    };
    let mut st = q.state.lock();
    if st.notify.as_ref().is_some_and(|n| !live(n.pid)) {
        st.notify = None;
    }
    let removed = match ev {
        None if st.notify.as_ref().is_some_and(|n| n.pid == me) => st.notify.take(),
        None => None,
        Some(_) if st.notify.is_some() => return Err(Errno::EBUSY),
        Some(ev) => {
            st.notify = Some(Notify {
                pid: me,
                notify: ev.notify,
                signo: ev.signo,
                value: ev.value,
                thread,
            });
            None
        }
    };
    drop(st);
    if let Some(n) = removed {
        notify_thread(ctx, &n, NOTIFY_REMOVED);
    }
    Ok(0)
}

pub(crate) fn sys_mq_getsetattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (fd, new_at, old_at) = (a.i32(0), a.addr(1), a.addr(2));
    let new = if new_at.is_null() {
        None
    } else {
        let n: MqAttr = ctx.read_val(new_at)?;
        if n.flags & !i64::from(OFlags::NONBLOCK.bits()) != 0 {
            return Err(Errno::EINVAL);
        }
        Some(n)
    };
    let (f, q, _, _) = mq_file(ctx, fd)?;
    let old = {
        let st = q.state.lock();
        MqAttr {
            flags: i64::from(f.flags().intersection(OFlags::NONBLOCK).bits()),
            maxmsg: st.maxmsg,
            msgsize: st.msgsize,
            curmsgs: st.msgs.len() as i64,
            reserved: [0; 4],
        }
    };
    if let Some(n) = new {
        let keep = f
            .flags()
            .intersection(OFlags::SETFL_MASK)
            .difference(OFlags::NONBLOCK);
        let nb = OFlags::from_bits_retain(n.flags as u32);
        f.set_status_flags(keep | nb);
    }
    if !old_at.is_null() {
        ctx.write_val(old_at, &old)?;
    }
    Ok(0)
}
