//! `epoll`: an interest list of (open file description, descriptor) pairs whose readiness
//! one call waits for.
//!
//! Readiness is the files' own ([`vfs::OpenFile::poll_for`]), checked when a task asks;
//! a task with nothing to report sleeps on what the files of the list wake
//! ([`vfs::OpenFile::waits`], as `poll` does) plus the epoll's own wait id (woken by
//! `epoll_ctl`). An entry holds its file weakly: it goes away when the file description is
//! released (its last descriptor closed), as on Linux. Level-triggered entries are reported
//! while ready; edge-triggered ones (`EPOLLET`) when the file's event count
//! ([`vfs::PollEvents::seq`]) moved since they were last reported (files that keep no count,
//! host streams and epolls, are reported as level-triggered); `EPOLLONESHOT` disables an
//! entry once reported. Reported level-triggered entries move to the end of the list, so a
//! small `maxevents` goes round all ready files. Differences: the order of several ready
//! files is that of the interest list, not of when they became ready; an eventfd's count
//! moves on reads as on writes, so a read that leaves it non-zero (semaphore mode) is an
//! edge for an `EPOLLIN|EPOLLET` entry (Linux only wakes writers then); `EPOLLWAKEUP` is
//! ignored. An `EPOLLEXCLUSIVE` entry sleeps on [`WaitKey::FileExclusive`], of which each
//! wake-up of the file wakes one waiter. A pipe has one wait id for both directions, so a
//! read's wake-up (for writers, on Linux) also wakes one exclusive reader, which finds
//! nothing and sleeps again — unless the next write came first, when it reports that
//! write's event too (LTP's `epoll_wait16` sees two waiters take one event).

use std::sync::Weak;
use std::time::{Duration, Instant};

use abi::flags::OFlags;
use abi::{Errno, SysResult};
use parking_lot::Mutex;
use vfs::object::new_wait_id;
use vfs::{Arc, FileObject, FileRef, OpenFile, PollEvents, Poller, WaitSet};

use crate::poll::{deadline, read_sigmask, restore_temp_mask, set_temp_mask};
use crate::{Args, Ctx, WaitKey};

const EPOLLIN: u32 = 0x1;
const EPOLLOUT: u32 = 0x4;
const EPOLLERR: u32 = 0x8;
const EPOLLHUP: u32 = 0x10;
const EPOLLRDNORM: u32 = 0x40;
const EPOLLWRNORM: u32 = 0x100;
const EPOLLRDHUP: u32 = 0x2000;
const EPOLLEXCLUSIVE: u32 = 1 << 28;
const EPOLLWAKEUP: u32 = 1 << 29;
const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLET: u32 = 1 << 31;
/// Bits that are modes, not events (what a disabled one-shot entry keeps).
const PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// The only bits `EPOLLEXCLUSIVE` may come with.
const EXCLUSIVE_OK_BITS: u32 = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | PRIVATE_BITS;

const EPOLL_CTL_ADD: i32 = 1;
const EPOLL_CTL_DEL: i32 = 2;
const EPOLL_CTL_MOD: i32 = 3;

/// Size of `struct epoll_event` (packed on x86-64: `u32` events, `u64` data).
const EVENT_SIZE: usize = 12;
/// Most events one wait returns (Linux's `EP_MAX_EVENTS`).
const MAX_EVENTS: i32 = i32::MAX / EVENT_SIZE as i32;

/// One watched (file, descriptor) pair.
struct Interest {
    file: Weak<OpenFile>,
    fd: i32,
    events: u32,
    data: u64,
    /// The file's event count when last reported (edge-triggered entries).
    reported: Option<u64>,
}

impl Interest {
    fn is(&self, file: &FileRef, fd: i32) -> bool {
        self.fd == fd && std::ptr::eq(self.file.as_ptr(), Arc::as_ptr(file))
    }

    /// The events to report now (0 if none, or the file is gone), and the file's count.
    fn pending(&self, who: &Poller) -> (u32, Option<u64>) {
        let Some(f) = self.file.upgrade() else {
            return (0, None);
        };
        let st = f.poll_for(who);
        let ev = mask(st) & self.events;
        let edge = self.events & EPOLLET == 0 || st.seq.is_none() || st.seq != self.reported;
        (if edge { ev } else { 0 }, st.seq)
    }
}

/// The epoll bits of a readiness.
fn mask(st: PollEvents) -> u32 {
    let mut r = 0;
    if st.readable {
        r |= EPOLLIN | EPOLLRDNORM;
    }
    if st.writable {
        r |= EPOLLOUT | EPOLLWRNORM;
    }
    if st.rdhup {
        r |= EPOLLRDHUP;
    }
    if st.hangup {
        r |= EPOLLHUP;
    }
    if st.error {
        r |= EPOLLERR;
    }
    r
}

/// An epoll instance.
pub(crate) struct Epoll {
    id: u64,
    list: Mutex<Vec<Interest>>,
}

impl Epoll {
    /// Takes up to `max` events to report: (events, data) in list order.
    fn harvest(&self, max: usize, who: &Poller) -> Vec<(u32, u64)> {
        let mut list = self.list.lock();
        list.retain(|i| i.file.strong_count() > 0);
        let mut out = Vec::new();
        let mut again = Vec::new();
        let mut k = 0;
        while k < list.len() && out.len() < max {
            let i = &mut list[k];
            let (ev, seq) = i.pending(who);
            if ev == 0 {
                k += 1;
                continue;
            }
            out.push((ev, i.data));
            i.reported = seq;
            if i.events & EPOLLONESHOT != 0 {
                i.events &= PRIVATE_BITS;
            }
            if i.events & (EPOLLET | EPOLLONESHOT) == 0 {
                again.push(list.remove(k));
            } else {
                k += 1;
            }
        }
        list.extend(again);
        out
    }

    /// How many epolls deep it goes: 1, or 1 more than the deepest epoll in its list.
    fn depth(&self) -> usize {
        1 + self
            .list
            .lock()
            .iter()
            .filter_map(|i| i.file.upgrade())
            .filter_map(|f| epoll_of(&f).map(Epoll::depth))
            .max()
            .unwrap_or(0)
    }

    /// Whether the interest list, or an epoll in it (at any depth), holds `target`.
    fn reaches(&self, target: &Epoll) -> bool {
        self.list.lock().iter().any(|i| {
            i.file.upgrade().is_some_and(|f| {
                epoll_of(&f).is_some_and(|e| std::ptr::eq(e, target) || e.reaches(target))
            })
        })
    }
}

/// Linux's limit on how many epolls an epoll may have nested below it.
const EP_MAX_NESTS: usize = 4;

impl FileObject for Epoll {
    fn poll(&self, who: &Poller) -> PollEvents {
        let ready = self.list.lock().iter().any(|i| i.pending(who).0 != 0);
        PollEvents {
            readable: ready,
            ..PollEvents::default()
        }
    }

    fn wait_id(&self) -> u64 {
        self.id
    }

    fn waits(&self, ws: &mut WaitSet) {
        ws.ids.push(self.id);
        for i in self.list.lock().iter() {
            if let Some(f) = i.file.upgrade() {
                if i.events & EPOLLEXCLUSIVE == 0 {
                    f.waits(ws);
                    continue;
                }
                // An exclusive entry: the file's wake-ups wake one such waiter each.
                let mut own = WaitSet::default();
                f.waits(&mut own);
                ws.exclusive
                    .extend(own.ids.into_iter().chain(own.exclusive));
                ws.host.extend(own.host);
                ws.deadline = match (ws.deadline, own.deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                ws.signals |= own.signals;
            }
        }
    }
}

/// The epoll behind an open file, if it is one.
fn epoll_of(f: &FileRef) -> Option<&Epoll> {
    f.object_as::<Epoll>()
}

fn create(ctx: &mut Ctx<'_>, flags: OFlags) -> SysResult {
    let ep = Arc::new(Epoll {
        id: new_wait_id(),
        list: Mutex::new(Vec::new()),
    });
    ctx.install_object(ep, flags)
}

/// `epoll_create(size)`: `size` must be positive and is otherwise ignored.
pub(crate) fn sys_epoll_create(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if a.i32(0) <= 0 {
        return Err(Errno::EINVAL);
    }
    create(ctx, OFlags::empty())
}

/// `epoll_create1(flags)`: `EPOLL_CLOEXEC` only.
pub(crate) fn sys_epoll_create1(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = OFlags::from_bits_retain(a.u32(0));
    if flags != flags.intersection(OFlags::CLOEXEC) {
        return Err(Errno::EINVAL);
    }
    create(ctx, flags)
}

/// An open file for `epoll_ctl`: `O_PATH` descriptors are `EBADF`.
fn ctl_file(ctx: &Ctx<'_>, fd: i32) -> Result<FileRef, Errno> {
    let f = ctx.file(fd)?;
    if f.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// `epoll_ctl(epfd, op, fd, event)`, with Linux's order of checks.
pub(crate) fn sys_epoll_ctl(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (op, fd) = (a.i32(1), a.i32(2));
    let (mut events, data) = if op == EPOLL_CTL_DEL {
        (0, 0)
    } else {
        let mut raw = [0u8; EVENT_SIZE];
        ctx.copy_in(a.addr(3), &mut raw)?;
        let (e, d) = raw.split_at(4);
        (
            u32::from_ne_bytes(e.try_into().unwrap_or_default()),
            u64::from_ne_bytes(d.try_into().unwrap_or_default()),
        )
    };
    let f = ctl_file(ctx, a.i32(0))?;
    let tf = ctl_file(ctx, fd)?;
    if !tf.can_poll() {
        return Err(Errno::EPERM);
    }
    events &= !EPOLLWAKEUP;
    let ep = match epoll_of(&f) {
        Some(ep) if !Arc::ptr_eq(&f, &tf) => ep,
        _ => return Err(Errno::EINVAL),
    };
    if op != EPOLL_CTL_DEL && events & EPOLLEXCLUSIVE != 0 {
        let bad_add = epoll_of(&tf).is_some() || events & !EXCLUSIVE_OK_BITS != 0;
        if op == EPOLL_CTL_MOD || op == EPOLL_CTL_ADD && bad_add {
            return Err(Errno::EINVAL);
        }
    }
    // No cycles, and at most EP_MAX_NESTS epolls nested below the new one.
    let too_deep = |t: &Epoll| t.reaches(ep) || t.depth() > EP_MAX_NESTS;
    if op == EPOLL_CTL_ADD && epoll_of(&tf).is_some_and(too_deep) {
        return Err(Errno::ELOOP);
    }
    let mut list = ep.list.lock();
    let at = list.iter().position(|i| i.is(&tf, fd));
    match (op, at) {
        (EPOLL_CTL_ADD, None) => list.push(Interest {
            file: Arc::downgrade(&tf),
            fd,
            events: events | EPOLLERR | EPOLLHUP,
            data,
            reported: None,
        }),
        (EPOLL_CTL_ADD, Some(_)) => return Err(Errno::EEXIST),
        (EPOLL_CTL_DEL, Some(k)) => {
            list.remove(k);
        }
        (EPOLL_CTL_MOD, Some(k)) => {
            let i = &mut list[k];
            if i.events & EPOLLEXCLUSIVE != 0 {
                return Err(Errno::EINVAL);
            }
            i.events = events | EPOLLERR | EPOLLHUP;
            i.data = data;
            i.reported = None;
        }
        (EPOLL_CTL_DEL | EPOLL_CTL_MOD, None) => return Err(Errno::ENOENT),
        _ => return Err(Errno::EINVAL),
    }
    let id = ep.id;
    drop(list);
    // Tasks waiting on this epoll look again (a ready file may have been added).
    ctx.wake(WaitKey::File(id));
    Ok(0)
}

/// The common part of the waits: `timeout` `None` waits forever; `mask` is `epoll_pwait`'s
/// signal mask for the duration of the call.
fn do_wait(ctx: &mut Ctx<'_>, a: &Args, timeout: Option<Duration>, mask: Option<u64>) -> SysResult {
    let (events_at, maxevents) = (a.addr(1), a.i32(2));
    if maxevents <= 0 || maxevents > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    Ctx::access_ok(events_at, maxevents as u64 * EVENT_SIZE as u64)?;
    let f = ctx.file(a.i32(0))?;
    let ep = epoll_of(&f).ok_or(Errno::EINVAL)?;
    let deadline = deadline(ctx, timeout);
    set_temp_mask(ctx, mask);
    let got = ep.harvest(maxevents as usize, &ctx.poller());
    if got.is_empty() && deadline.is_none_or(|at| Instant::now() < at) {
        let mut ws = WaitSet::default();
        ep.waits(&mut ws);
        ctx.on_signal(crate::OnSignal::Intr);
        return Err(ctx.block_on_waits(ws, deadline));
    }
    restore_temp_mask(ctx, mask.is_some());
    let mut raw = Vec::with_capacity(got.len() * EVENT_SIZE);
    for (ev, data) in &got {
        raw.extend_from_slice(&ev.to_ne_bytes());
        raw.extend_from_slice(&data.to_ne_bytes());
    }
    ctx.copy_out(events_at, &raw)?;
    Ok(got.len() as u64)
}

/// A millisecond timeout: negative waits forever.
fn ms_timeout(ms: i32) -> Option<Duration> {
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

/// `epoll_wait(epfd, events, maxevents, timeout_ms)`.
pub(crate) fn sys_epoll_wait(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    do_wait(ctx, a, ms_timeout(a.i32(3)), None)
}

/// `epoll_pwait(…, timeout_ms, sigmask, sigsetsize)`.
pub(crate) fn sys_epoll_pwait(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let mask = read_sigmask(ctx, a.addr(4), a.len(5))?;
    do_wait(ctx, a, ms_timeout(a.i32(3)), mask)
}

/// `epoll_pwait2(…, timeout *timespec, sigmask, sigsetsize)`: a NULL timeout waits
/// forever.
pub(crate) fn sys_epoll_pwait2(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let timeout = crate::time::read_timeout(ctx, a.addr(3))?;
    let mask = read_sigmask(ctx, a.addr(4), a.len(5))?;
    do_wait(ctx, a, timeout, mask)
}
