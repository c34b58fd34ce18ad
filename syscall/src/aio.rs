//! Linux's native asynchronous I/O (`CONFIG_AIO`): `io_setup`, `io_destroy`, `io_submit`,
//! `io_getevents`, `io_pgetevents` and `io_cancel`.
//!
//! A context (Linux's `kioctx`) belongs to the process that made it; its id is the address
//! of a read-only mapping made for it in the process's address space, as Linux's id is the
//! address of its completion ring. uml keeps the completions in the kernel and leaves the
//! ring's header zero, so its magic number is not `AIO_RING_MAGIC` and libaio (and every
//! reader of the ring) makes the `io_getevents` syscall instead of reading the ring. The
//! contexts go with the address space: at `execve` and exit; a `fork` child has none.
//!
//! Every request completes inside `io_submit` (Linux completes buffered file I/O there
//! too): `PREAD`, `PWRITE`, `PREADV`, `PWRITEV`, `FSYNC` and `FDSYNC` (`NOOP` is `EINVAL`, as on Linux). A request's
//! own checks fail `io_submit` (`EBADF` for a descriptor not open for the direction,
//! `EINVAL` for an unknown opcode, reserved fields or flags); what the transfer gives (a
//! count or an errno) is its completion event's `res`, and with `IOCB_FLAG_RESFD` the
//! eventfd gets 1 added. The limit is the context's ring, sized as Linux sizes it:
//! `EAGAIN` when its completions not yet reaped would fill it. `/proc/sys/fs/aio-nr` counts the events of every live
//! context, `aio-max-nr` bounds it (`io_setup` then fails with `EAGAIN`).
//!
//! Known gaps: a read or write that would block (an empty pipe, a full one) completes at
//! once with `-EAGAIN` where Linux would block inside `io_submit`; `IOCB_CMD_POLL` is
//! `EINVAL`; `io_cancel` never finds a request to cancel (`EINVAL`), as Linux for
//! requests that completed.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use abi::flags::{MapFlags, Prot};
use abi::structs::IoVec;
use abi::{Errno, SysResult, UserAddr};

use crate::{Args, Ctx, OnSignal, WaitKey};

/// `IOCB_CMD_*`.
const CMD_PREAD: u16 = 0;
const CMD_PWRITE: u16 = 1;
const CMD_FSYNC: u16 = 2;
const CMD_FDSYNC: u16 = 3;
const CMD_PREADV: u16 = 7;
const CMD_PWRITEV: u16 = 8;
/// `IOCB_FLAG_RESFD`, `IOCB_FLAG_IOPRIO`.
const FLAG_RESFD: u32 = 1;
const FLAG_IOPRIO: u32 = 2;
/// `KIOCB_KEY`: what `io_submit` writes to each request's `aio_key`.
const KIOCB_KEY: u32 = 0;
/// `sizeof(struct io_event)`, `sizeof(struct iocb)`, `sizeof(struct aio_ring)`.
const EVENT_SIZE: u64 = 32;
const IOCB_SIZE: usize = 64;
const RING_HEADER: u64 = 32;
/// Linux's bound on `nr_events` (`0x10000000 / sizeof(struct io_event)`).
const MAX_EVENTS: u64 = 0x1000_0000 / EVENT_SIZE;
const PAGE: u64 = abi::PAGE_SIZE;

/// One completion (`struct io_event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Event {
    data: u64,
    obj: u64,
    res: i64,
}

impl Event {
    fn to_bytes(self) -> [u8; EVENT_SIZE as usize] {
        let mut b = [0u8; EVENT_SIZE as usize];
        b[..8].copy_from_slice(&self.data.to_le_bytes());
        b[8..16].copy_from_slice(&self.obj.to_le_bytes());
        b[16..24].copy_from_slice(&self.res.to_le_bytes());
        b
    }
}

/// One context (Linux's `kioctx`).
#[derive(Debug)]
struct Context {
    /// The `nr_events` it was made with (what it adds to `fs/aio-nr`).
    max: u64,
    /// Its ring's slots (Linux's `ctx->nr_events`): `io_submit` takes at most this many
    /// requests at once, and one slot stays empty.
    ring: u64,
    /// The length of its mapping.
    len: u64,
    /// Completions not yet reaped, oldest first.
    done: VecDeque<Event>,
}

impl Context {
    /// A context for `nr` events, sized as Linux's `ioctx_alloc` sizes its ring on a
    /// machine of one CPU: room for at least `max(nr, 4) * 2` events, in whole pages.
    fn new(nr: u64) -> Context {
        let want = nr.max(4) * 2;
        let len = (RING_HEADER + want * EVENT_SIZE).div_ceil(PAGE) * PAGE;
        Context {
            max: nr,
            ring: (len - RING_HEADER) / EVENT_SIZE,
            len,
            done: VecDeque::new(),
        }
    }
}

/// A process's contexts, by id.
#[derive(Debug, Default)]
pub struct Contexts(BTreeMap<u64, Context>);

impl Contexts {
    /// The events of every context (what they add to `fs/aio-nr`).
    pub fn events(&self) -> u64 {
        self.0.values().map(|c| c.max).sum()
    }
}

/// A request as `io_submit` reads it (`struct iocb`).
struct Iocb {
    data: u64,
    rw_flags: u32,
    opcode: u16,
    fd: i32,
    buf: u64,
    nbytes: u64,
    offset: i64,
    reserved2: u64,
    flags: u32,
    resfd: i32,
}

impl Iocb {
    fn parse(b: &[u8; IOCB_SIZE]) -> Iocb {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4]));
        Iocb {
            data: u64_at(0),
            rw_flags: u32_at(12),
            opcode: u16::from_le_bytes([b[16], b[17]]),
            fd: u32_at(20) as i32,
            buf: u64_at(24),
            nbytes: u64_at(32),
            offset: u64_at(40) as i64,
            reserved2: u64_at(48),
            flags: u32_at(56),
            resfd: u32_at(60) as i32,
        }
    }
}

/// `io_setup(nr_events, ctxp)`.
pub(crate) fn sys_io_setup(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (nr, out) = (a.u32(0), a.addr(1));
    let old: u64 = ctx.read_val(out)?;
    if old != 0 || nr == 0 || u64::from(nr) > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let max = u64::from(nr);
    let in_use: u64 = ctx.procs.iter().map(|p| p.aio.events()).sum::<u64>() + ctx.proc.aio.events();
    if in_use + max > ctx.procs.sysctl.aio_max_nr {
        return Err(Errno::EAGAIN);
    }
    let c = Context::new(max);
    let flags = MapFlags::PRIVATE | MapFlags::ANONYMOUS;
    let id = ctx
        .mm
        .mmap(ctx.proc.mm, UserAddr(0), c.len, Prot::READ, flags, None)?
        .0;
    if let Err(e) = ctx.write_val(out, &id) {
        let _ = ctx.mm.munmap(ctx.proc.mm, UserAddr(id), c.len);
        return Err(e);
    }
    ctx.proc.aio.0.insert(id, c);
    Ok(0)
}

/// `io_destroy(ctx_id)`: completions not reaped are dropped.
pub(crate) fn sys_io_destroy(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let id = a.raw(0);
    let c = ctx.proc.aio.0.remove(&id).ok_or(Errno::EINVAL)?;
    // The guest may have unmapped it already; the context goes all the same.
    let _ = ctx.mm.munmap(ctx.proc.mm, UserAddr(id), c.len);
    Ok(0)
}

/// `io_submit(ctx_id, nr, iocbpp)`: the number of requests submitted; an error only if the
/// first one fails.
pub(crate) fn sys_io_submit(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (id, nr, list) = (a.raw(0), a.i64(1), a.addr(2));
    if nr < 0 {
        return Err(Errno::EINVAL);
    }
    let ring = ctx.proc.aio.0.get(&id).ok_or(Errno::EINVAL)?.ring;
    let nr = (nr as u64).min(ring);
    let mut done = 0;
    while done < nr {
        match submit_one(ctx, id, list.checked_add(done * 8).ok_or(Errno::EFAULT)?) {
            Ok(()) => done += 1,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

/// Submits the request whose pointer is at `slot`: runs it and queues its completion.
fn submit_one(ctx: &mut Ctx<'_>, id: u64, slot: UserAddr) -> Result<(), Errno> {
    let ptr: u64 = ctx.read_val(slot)?;
    let mut raw = [0u8; IOCB_SIZE];
    ctx.copy_in(UserAddr(ptr), &mut raw)?;
    let cb = Iocb::parse(&raw);
    if cb.reserved2 != 0
        || cb.nbytes > i64::MAX as u64
        || cb.flags & !(FLAG_RESFD | FLAG_IOPRIO) != 0
    {
        return Err(Errno::EINVAL);
    }
    let full = ctx
        .proc
        .aio
        .0
        .get(&id)
        .is_none_or(|c| c.done.len() as u64 + 1 >= c.ring);
    if full {
        return Err(Errno::EAGAIN);
    }
    let file = ctx.file(cb.fd)?;
    let resfd = if cb.flags & FLAG_RESFD != 0 {
        let f = ctx.file(cb.resfd)?;
        if !crate::eventfd::is_eventfd(&f) {
            return Err(Errno::EINVAL);
        }
        Some(f)
    } else {
        None
    };
    // The key field is the kernel's to write (`KIOCB_KEY`).
    ctx.copy_out(UserAddr(ptr + 8), &KIOCB_KEY.to_le_bytes())?;
    let res = match cb.opcode {
        CMD_PREAD | CMD_PWRITE | CMD_PREADV | CMD_PWRITEV => {
            let write = matches!(cb.opcode, CMD_PWRITE | CMD_PWRITEV);
            crate::fs::aio_check(&file, write)?;
            crate::fs::check_rwf(cb.rw_flags)?;
            let iovs = if matches!(cb.opcode, CMD_PREADV | CMD_PWRITEV) {
                let cnt = i32::try_from(cb.nbytes).map_err(|_| Errno::EINVAL)?;
                crate::fs::iovecs(ctx, UserAddr(cb.buf), cnt)?
            } else {
                Ctx::access_ok(UserAddr(cb.buf), cb.nbytes)?;
                vec![IoVec {
                    base: cb.buf,
                    len: cb.nbytes,
                }]
            };
            if cb.offset < 0 && file.is_seekable() {
                return Err(Errno::EINVAL);
            }
            let r =
                crate::fs::aio_transfer(ctx, &file, &iovs, write, cb.offset as u64, cb.rw_flags);
            r.map_or_else(|e| e.as_return() as i64, |n| n as i64)
        }
        CMD_FSYNC | CMD_FDSYNC => {
            if cb.buf != 0 || cb.nbytes != 0 || cb.offset != 0 || cb.rw_flags != 0 {
                return Err(Errno::EINVAL);
            }
            0
        }
        _ => return Err(Errno::EINVAL),
    };
    if let Some(c) = ctx.proc.aio.0.get_mut(&id) {
        c.done.push_back(Event {
            data: cb.data,
            obj: ptr,
            res,
        });
    }
    if let Some(f) = resfd {
        crate::eventfd::signal(ctx, &f);
    }
    Ok(())
}

/// The timeout of `io_getevents`: Linux converts the `timespec` without checking it, so a
/// `tv_nsec` out of range only moves the deadline, and a negative total waits for ever.
fn read_timeout(ctx: &mut Ctx<'_>, at: UserAddr) -> Result<Option<Duration>, Errno> {
    if at.is_null() {
        return Ok(None);
    }
    let ts: abi::structs::Timespec = ctx.read_val(at)?;
    let ns = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
    if ns < 0 {
        return Ok(None);
    }
    Ok(Some(Duration::from_nanos(
        u64::try_from(ns).unwrap_or(u64::MAX),
    )))
}

/// `io_getevents(ctx_id, min_nr, nr, events, timeout)`.
pub(crate) fn sys_io_getevents(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let timeout = read_timeout(ctx, a.addr(4))?;
    getevents(ctx, a, timeout)
}

/// `io_pgetevents(ctx_id, min_nr, nr, events, timeout, usig)`: `io_getevents` with the
/// signal mask of `usig` (`{ sigmask, sigsetsize }`) while it waits.
pub(crate) fn sys_io_pgetevents(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let timeout = read_timeout(ctx, a.addr(4))?;
    let usig = a.addr(5);
    let mut mask = None;
    if !usig.is_null() {
        let [set, size]: [u64; 2] = ctx.read_val(usig)?;
        if set != 0 {
            if size != 8 {
                return Err(Errno::EINVAL);
            }
            mask = Some(ctx.read_val::<u64>(UserAddr(set))?);
        }
    }
    crate::poll::set_temp_mask(ctx, mask);
    let r = getevents(ctx, a, timeout);
    if !ctx.blocks() {
        crate::poll::restore_temp_mask(ctx, mask.is_some());
    }
    r
}

/// What both `io_getevents` forms do once the timeout is read: up to `nr` completions,
/// waiting (until the timeout, or for ever without one) while fewer than `min_nr` are
/// there. Every request completes when it is submitted, so a wait only ends at the
/// deadline or a signal.
fn getevents(ctx: &mut Ctx<'_>, a: &Args, timeout: Option<Duration>) -> SysResult {
    let (id, min_nr, nr, out) = (a.raw(0), a.i64(1), a.i64(2), a.addr(3));
    let have = ctx.proc.aio.0.get(&id).ok_or(Errno::EINVAL)?.done.len() as u64;
    if min_nr < 0 || min_nr > nr {
        return Err(Errno::EINVAL);
    }
    let deadline = timeout.map(|t| ctx.deadline_after(t));
    let expired = deadline.is_some_and(|d| nondet::ktime_get() >= d);
    if have < min_nr as u64 && !expired {
        let me = ctx.proc.pid;
        ctx.on_signal(OnSignal::Intr);
        return Err(match deadline {
            Some(d) => ctx.block_until(WaitKey::Timeout(me), d),
            None => ctx.block_on(WaitKey::Timeout(me)),
        });
    }
    let take = have.min(nr as u64);
    let mut copied = 0;
    while copied < take {
        let Some(ev) = ctx
            .proc
            .aio
            .0
            .get(&id)
            .and_then(|c| c.done.front().copied())
        else {
            break;
        };
        let at = out.checked_add(copied * EVENT_SIZE).ok_or(Errno::EFAULT)?;
        if let Err(e) = ctx.copy_out(at, &ev.to_bytes()) {
            return if copied == 0 { Err(e) } else { Ok(copied) };
        }
        if let Some(c) = ctx.proc.aio.0.get_mut(&id) {
            c.done.pop_front();
        }
        copied += 1;
    }
    Ok(copied)
}

/// `io_cancel(ctx_id, iocb, result)`: every request has completed, so there is none to
/// cancel.
pub(crate) fn sys_io_cancel(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let mut key = [0u8; 4];
    ctx.copy_in(a.addr(1).checked_add(8).ok_or(Errno::EFAULT)?, &mut key)?;
    if u32::from_le_bytes(key) != KIOCB_KEY {
        return Err(Errno::EINVAL);
    }
    ctx.proc.aio.0.get(&a.raw(0)).ok_or(Errno::EINVAL)?;
    Err(Errno::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iocb_is_read_in_linux_layout() {
        let mut b = [0u8; IOCB_SIZE];
        b[..8].copy_from_slice(&0x1122u64.to_le_bytes());
        b[12..16].copy_from_slice(&8u32.to_le_bytes());
        b[16..18].copy_from_slice(&CMD_PWRITEV.to_le_bytes());
        b[20..24].copy_from_slice(&5u32.to_le_bytes());
        b[24..32].copy_from_slice(&0x4000u64.to_le_bytes());
        b[32..40].copy_from_slice(&3u64.to_le_bytes());
        b[40..48].copy_from_slice(&(-1i64).to_le_bytes());
        b[56..60].copy_from_slice(&FLAG_RESFD.to_le_bytes());
        b[60..64].copy_from_slice(&9u32.to_le_bytes());
        let cb = Iocb::parse(&b);
        assert_eq!(
            (cb.data, cb.rw_flags, cb.opcode, cb.fd, cb.buf, cb.nbytes),
            (0x1122, 8, CMD_PWRITEV, 5, 0x4000, 3)
        );
        assert_eq!((cb.offset, cb.reserved2, cb.flags, cb.resfd), (-1, 0, 1, 9));
    }

    #[test]
    fn an_event_is_written_in_linux_layout() {
        let e = Event {
            data: 7,
            obj: 0x5000,
            res: -11,
        };
        let b = e.to_bytes();
        assert_eq!(&b[..8], &7u64.to_le_bytes());
        assert_eq!(&b[8..16], &0x5000u64.to_le_bytes());
        assert_eq!(&b[16..24], &(-11i64).to_le_bytes());
        assert_eq!(&b[24..], &[0; 8]);
    }
}
