//! POSIX per-process timers: `timer_create`, `timer_settime`, `timer_gettime`,
//! `timer_getoverrun`, `timer_delete`.
//!
//! A process's timers ([`PosixTimers`], shared by its threads, not inherited by `fork`,
//! deleted by `execve`) are numbered from 0 up, as Linux numbers them. Each measures one
//! clock ([`TimerClock`]): a wall clock (`CLOCK_REALTIME`, `CLOCK_MONOTONIC`,
//! `CLOCK_BOOTTIME`, `CLOCK_TAI`), whose expiries are kept on the kernel's monotonic clock
//! ([`sched::Ktime`]) and armed as scheduler alarms ([`sched::AlarmTimer::Posix`]); or a
//! CPU-time clock (the process's or one thread's), whose expiries are in CPU nanoseconds and
//! are checked by the kernel each time it accounts CPU time to the process
//! ([`crate::timers::account_cpu`]). The alarm clocks (`CLOCK_*_ALARM`) need an RTC,
//! which a uml instance has not: `EOPNOTSUPP` for everyone, as on a Linux machine without
//! one (after a timer id is taken, as Linux takes it).
//!
//! Expiry and overruns follow Linux: an expired timer queues its signal (`SI_TIMER`, with
//! `si_timerid` and `si_value`) and, if periodic, waits for that signal to be taken
//! ("requeue pending"); taking it ([`dequeued`]) moves the expiry past now by whole
//! intervals, and the intervals skipped meanwhile are the signal's `si_overrun` and
//! `timer_getoverrun`'s value. A signal queued before the timer was set again or deleted
//! is dropped when taken. `SIGEV_THREAD_ID` sends to that thread; `SIGEV_NONE` sends
//! nothing and `timer_gettime` reports its expiry all the same. `SIGEV_THREAD` is, for the
//! kernel, `SIGEV_SIGNAL` (glibc implements it with a helper thread and
//! `SIGEV_THREAD_ID`).
//!
//! Gaps: a periodic timer whose signal is ignored when it expires is moved on by whole
//! intervals and armed again at once (Linux parks it until the signal is no longer
//! ignored); a signal flushed from the queue after it was queued (by `SIG_IGN`) leaves a
//! periodic timer waiting for good. CPU-time clocks of other processes are `EINVAL`.

use std::collections::BTreeMap;

use abi::flags::clock;
use abi::structs::Timespec;
use abi::{Errno, SysResult};
use sched::{AlarmTimer, Ktime};

use crate::process::Process;
use crate::signal::{SigFields, SigInfo};
use crate::{Args, Ctx, WaitKey};

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;
const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_BOOTTIME_ALARM: i32 = 9;
/// `KTIME_MAX`: expiries saturate here.
const KTIME_MAX: u64 = i64::MAX as u64;

/// `struct sigevent` (64 bytes): `sigev_value` @0, `sigev_signo` @8, `sigev_notify` @12,
/// `sigev_notify_thread_id` @16.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Sigevent {
    value: u64,
    signo: i32,
    notify: i32,
    thread_id: i32,
    pad: [i32; 11],
}

/// What a timer's time is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerClock {
    /// A wall clock (its id, for `TIMER_ABSTIME`); expiries are kernel [`Ktime`].
    Wall(i32),
    /// The process's CPU time.
    ProcessCpu,
    /// The CPU time of thread `tid`.
    ThreadCpu(i32),
}

/// Linux's `it_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Disarmed,
    Armed,
    /// A periodic timer expired; its signal is queued and it is re-armed when that signal
    /// is taken.
    RequeuePending,
}

/// One timer (Linux's `k_itimer`).
#[derive(Clone, Debug)]
pub struct PosixTimer {
    clock: TimerClock,
    /// `sigev_notify`: `SIGEV_SIGNAL`, `SIGEV_NONE`, or `SIGEV_SIGNAL | SIGEV_THREAD_ID`.
    notify: i32,
    signo: i32,
    /// The thread a `SIGEV_THREAD_ID` timer signals.
    thread: Option<i32>,
    /// `sigev_value`.
    value: u64,
    /// The next (or last) expiry on the timer's clock, in ns.
    expires: u64,
    /// The period in ns (0: one-shot).
    interval: u64,
    status: Status,
    /// Expiries not signalled since the last signal was taken, minus one.
    overrun: i64,
    /// `overrun` as it was when the last signal was taken (`timer_getoverrun`).
    overrun_last: i64,
    /// Bumped whenever the timer is set, deleted or re-armed (Linux's `it_signal_seq`).
    signal_seq: u64,
    /// `signal_seq` when its signal was last queued (Linux's `it_sigqueue_seq`): a signal
    /// taken with the two different is stale and dropped.
    sigqueue_seq: u64,
    /// Its signal is queued and not yet taken.
    queued: bool,
}

impl PosixTimer {
    fn sig_none(&self) -> bool {
        self.notify == SIGEV_NONE
    }

    /// Moves the expiry past `now` by whole intervals (`hrtimer_forward`); how many.
    fn forward(&mut self, now: u64) -> u64 {
        if self.interval == 0 || now < self.expires {
            return 0;
        }
        let n = (now - self.expires) / self.interval + 1;
        self.expires = self
            .expires
            .saturating_add(n.saturating_mul(self.interval))
            .min(KTIME_MAX);
        n
    }

    /// `timer_gettime` at `now` (Linux's `common_timer_get`): interval, then time left.
    fn get(&mut self, now: u64) -> [Timespec; 2] {
        let mut cur = [Timespec::default(); 2];
        if self.interval != 0 {
            cur[0] = ns_timespec(self.interval);
        } else if self.status == Status::Disarmed && !self.sig_none() {
            return cur;
        }
        if self.interval != 0 && (self.status == Status::RequeuePending || self.sig_none()) {
            self.overrun += self.forward(now) as i64;
        }
        if self.expires > now {
            cur[1] = ns_timespec(self.expires - now);
        } else if !self.sig_none() {
            // Expired and its signal not yet taken.
            cur[1].tv_nsec = 1;
        }
        cur
    }
}

fn ns_timespec(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    }
}

fn timespec_ns(ts: &Timespec) -> Result<u64, Errno> {
    let d = crate::time::valid(ts)?;
    Ok(u64::try_from(d.as_nanos())
        .unwrap_or(u64::MAX)
        .min(KTIME_MAX))
}

/// A process's POSIX timers.
#[derive(Clone, Debug, Default)]
pub struct PosixTimers {
    timers: BTreeMap<i32, PosixTimer>,
    /// The id the next timer gets (Linux's `next_posix_timer_id`).
    next_id: i32,
}

impl PosixTimers {
    /// A fresh id: the next one not in use, wrapping within the positive `int`s.
    fn alloc_id(&mut self) -> Result<i32, Errno> {
        for _ in 0..=self.timers.len() {
            let id = self.next_id;
            self.next_id = (id.wrapping_add(1)) & i32::MAX;
            if !self.timers.contains_key(&id) {
                return Ok(id);
            }
        }
        Err(Errno::EAGAIN)
    }

    /// Deletes every timer (`execve`); a signal one of them queued is dropped when taken.
    pub fn clear(&mut self) {
        self.timers.clear();
    }

    fn get_mut(&mut self, id: i32) -> Result<&mut PosixTimer, Errno> {
        self.timers.get_mut(&id).ok_or(Errno::EINVAL)
    }

    /// The ids and clocks of the CPU-time timers (for the kernel's CPU accounting).
    fn cpu_timers(&self) -> Vec<(i32, TimerClock)> {
        self.timers
            .iter()
            .filter(|(_, t)| !matches!(t.clock, TimerClock::Wall(_)))
            .map(|(&id, t)| (id, t.clock))
            .collect()
    }
}

/// The kernel's monotonic clock now.
fn ktime_now() -> u64 {
    crate::time::ktime(nondet::ktime_get()).0
}

/// Clock `c` of process `p` now, in ns (`wall`: the kernel's monotonic clock now).
fn clock_now(p: &Process, c: TimerClock, wall: u64) -> u64 {
    match c {
        TimerClock::Wall(_) => wall,
        TimerClock::ProcessCpu => p.cpu_ns,
        TimerClock::ThreadCpu(tid) => p.threads.get(&tid).map_or(0, |t| t.cpu_ns),
    }
}

/// The clock a timer of `clockid` measures for thread `tid` of `p`; `EOPNOTSUPP` for the
/// clocks that have no timers (`MONOTONIC_RAW`, the coarse clocks, the alarm clocks),
/// `EINVAL` for ids that are no clock.
pub(crate) fn timer_clock(p: &Process, tid: i32, clockid: i32) -> Result<TimerClock, Errno> {
    match clockid {
        clock::REALTIME | clock::MONOTONIC | clock::BOOTTIME | clock::TAI => {
            Ok(TimerClock::Wall(clockid))
        }
        clock::PROCESS_CPUTIME_ID => Ok(TimerClock::ProcessCpu),
        clock::THREAD_CPUTIME_ID => Ok(TimerClock::ThreadCpu(tid)),
        clock::MONOTONIC_RAW | clock::REALTIME_COARSE | clock::MONOTONIC_COARSE => {
            Err(Errno::EOPNOTSUPP)
        }
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM => Ok(TimerClock::Wall(clockid)),
        // A CPU-time clock by pid or tid (`clock_getcpuclockid`): `~id << 3 | which`, bit 2
        // for a thread; which is 0 (prof), 1 (virt) or 2 (sched). Only the caller's own.
        id if id < 0 && id & 3 != 3 => {
            let who = !(id >> 3);
            if id & 4 != 0 {
                match who {
                    0 => Ok(TimerClock::ThreadCpu(tid)),
                    t if p.threads.contains_key(&t) => Ok(TimerClock::ThreadCpu(t)),
                    _ => Err(Errno::EINVAL),
                }
            } else if who == 0 || who == p.pid {
                Ok(TimerClock::ProcessCpu)
            } else {
                Err(Errno::EINVAL)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `timer_create(clockid, sevp, timerid)`.
pub(crate) fn sys_timer_create(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (clockid, sevp, out) = (a.i32(0), a.addr(1), a.addr(2));
    let ev: Option<Sigevent> = if sevp.is_null() {
        None
    } else {
        Some(ctx.read_val(sevp)?)
    };
    let clock = timer_clock(ctx.proc, ctx.tid, clockid)?;
    let id = ctx.proc.posix_timers.alloc_id()?;
    let (notify, signo, thread, value) = match ev {
        None => (SIGEV_SIGNAL, abi::signal::sig::SIGALRM, None, id as u64),
        Some(ev) => {
            let thread = match ev.notify {
                n if n == SIGEV_SIGNAL | SIGEV_THREAD_ID => {
                    if !ctx.proc.threads.contains_key(&ev.thread_id) {
                        return Err(Errno::EINVAL);
                    }
                    Some(ev.thread_id)
                }
                SIGEV_SIGNAL | SIGEV_THREAD | SIGEV_NONE => None,
                _ => return Err(Errno::EINVAL),
            };
            let valid_signo = (1..=abi::signal::sig::SIGRTMAX).contains(&ev.signo);
            if ev.notify != SIGEV_NONE && !valid_signo {
                return Err(Errno::EINVAL);
            }
            let notify = if ev.notify == SIGEV_THREAD {
                SIGEV_SIGNAL
            } else {
                ev.notify
            };
            (notify, ev.signo, thread, ev.value)
        }
    };
    ctx.write_val(out, &id)?;
    if matches!(clockid, CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM) {
        return Err(Errno::EOPNOTSUPP);
    }
    let timer = PosixTimer {
        clock,
        notify,
        signo,
        thread,
        value,
        expires: 0,
        interval: 0,
        status: Status::Disarmed,
        overrun: -1,
        overrun_last: 0,
        signal_seq: 0,
        sigqueue_seq: 0,
        queued: false,
    };
    ctx.proc.posix_timers.timers.insert(id, timer);
    Ok(0)
}

/// `timer_settime(timerid, flags, new, old)`: `TIMER_ABSTIME` takes `new`'s value as a time
/// of the timer's clock; a zero value disarms (and clears the interval).
pub(crate) fn sys_timer_settime(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (id, flags, new, old) = (a.i32(0), a.i32(1), a.addr(2), a.addr(3));
    if new.is_null() {
        return Err(Errno::EINVAL);
    }
    let [interval, value]: [Timespec; 2] = ctx.read_val(new)?;
    let (interval, value) = (timespec_ns(&interval)?, timespec_ns(&value)?);
    let wall = ktime_now();
    let clock = ctx.proc.posix_timers.get_mut(id)?.clock;
    let now = clock_now(ctx.proc, clock, wall);
    // Expiries of a periodic timer that fell before the kernel's time 0 (an absolute time
    // long past): skipped, and counted as overruns.
    let mut skipped = 0i64;
    let expires = if flags & clock::TIMER_ABSTIME == 0 {
        now.saturating_add(value).min(KTIME_MAX)
    } else if let TimerClock::Wall(c) = clock {
        // The guest's clock `c` now, against which the absolute value counts.
        let ts = crate::clock::now(ctx.mm, c)?;
        let ts = crate::ns::time::shift(ts, ctx.time_offset(c));
        let c_now = timespec_ns(&ts).unwrap_or(0);
        let ahead = i128::from(value) - i128::from(c_now);
        let mut at = i128::from(now) + ahead;
        if at < 0 && interval != 0 {
            let k = (-at).unsigned_abs().div_ceil(u128::from(interval)) as i128;
            at += k * i128::from(interval);
            skipped = i64::try_from(k).unwrap_or(i64::MAX);
        }
        at.clamp(0, i128::from(KTIME_MAX)) as u64
    } else {
        value
    };
    let t = ctx.proc.posix_timers.get_mut(id)?;
    let old_spec = t.get(now);
    // Linux's common_timer_set: the pending signal becomes stale, the timer stops.
    t.signal_seq += 1;
    t.status = Status::Disarmed;
    t.overrun_last = 0;
    t.interval = 0;
    if value != 0 {
        t.interval = interval;
        t.expires = expires;
        t.overrun = t.overrun.saturating_add(skipped);
        if !t.sig_none() {
            t.status = Status::Armed;
        }
    }
    let arm =
        (t.status == Status::Armed && matches!(clock, TimerClock::Wall(_))).then_some(expires);
    if let Some(at) = arm {
        let pid = ctx.proc.pid;
        ctx.arm_timer(pid, AlarmTimer::Posix(id), Ktime(at));
    }
    if !old.is_null() {
        ctx.write_val(old, &old_spec)?;
    }
    Ok(0)
}

/// `timer_gettime(timerid, cur)`.
pub(crate) fn sys_timer_gettime(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let id = a.i32(0);
    let clock = ctx.proc.posix_timers.get_mut(id)?.clock;
    let now = clock_now(ctx.proc, clock, ktime_now());
    let cur = ctx.proc.posix_timers.get_mut(id)?.get(now);
    ctx.write_val(a.addr(1), &cur)?;
    Ok(0)
}

/// `timer_getoverrun(timerid)`: the overrun of the last signal taken, at most `INT_MAX`.
pub(crate) fn sys_timer_getoverrun(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let t = ctx.proc.posix_timers.get_mut(a.i32(0))?;
    Ok(t.overrun_last.clamp(0, i64::from(i32::MAX)) as u64)
}

/// `timer_delete(timerid)`.
pub(crate) fn sys_timer_delete(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    ctx.proc
        .posix_timers
        .timers
        .remove(&a.i32(0))
        .ok_or(Errno::EINVAL)?;
    Ok(0)
}

/// What an expiry asks of the kernel: tasks to wake (a signal came) and wall-clock
/// expiries to arm.
#[derive(Debug, Default)]
pub struct Expired {
    /// Wake these keys.
    pub wake: Vec<WaitKey>,
    /// Arm these of the process's timers at these times.
    pub arm: Vec<(AlarmTimer, Ktime)>,
}

/// Timer `id` of `p` may have expired at `now` on its clock (Linux's `posix_timer_fn` and
/// `cpu_timer_fire`): queue its signal, or, if that is ignored, move a periodic timer on.
fn expire(p: &mut Process, id: i32, now: u64, out: &mut Expired) {
    let Some(t) = p.posix_timers.timers.get_mut(&id) else {
        return;
    };
    if t.status != Status::Armed || t.expires > now {
        return; // set again since, or not due: that expiry has an event of its own
    }
    t.status = if t.interval != 0 {
        Status::RequeuePending
    } else {
        Status::Disarmed
    };
    t.sigqueue_seq = t.signal_seq;
    if t.queued {
        // Set again while its signal is still queued: that signal stands for this expiry.
        return;
    }
    let info = SigInfo::posix_timer(t.signo, id, t.value);
    let (thread, clock) = (t.thread, t.clock);
    if matches!(p.state, crate::ProcState::Zombie(_)) {
        return;
    }
    let woke = match thread {
        Some(tid) if p.threads.contains_key(&tid) => p.sig_of(tid).send_timer(info, true),
        Some(_) => None,
        None => {
            let r = p.sig.send_timer(info, false);
            r.map(|w| w || p.accepts_signal(info.signo))
        }
    };
    let Some(t) = p.posix_timers.timers.get_mut(&id) else {
        return;
    };
    match woke {
        Some(wake) => {
            t.queued = true;
            if wake {
                out.wake.push(WaitKey::Signal(p.pid));
            }
        }
        None if t.interval != 0 => {
            t.overrun += t.forward(now) as i64;
            t.status = Status::Armed;
            t.signal_seq += 1;
            if let TimerClock::Wall(_) = clock {
                out.arm.push((AlarmTimer::Posix(id), Ktime(t.expires)));
            }
        }
        None => {}
    }
}

/// The scheduler says wall-clock timer `id` of `p` is due at `now`.
pub(crate) fn alarm_due(p: &mut Process, id: i32, now: Ktime, out: &mut Expired) {
    expire(p, id, now.0, out);
}

/// `p` (its thread `tid`) has run: fire its CPU-time timers that are due.
pub(crate) fn cpu_due(p: &mut Process, out: &mut Expired) {
    for (id, c) in p.posix_timers.cpu_timers() {
        let now = clock_now(p, c, 0);
        expire(p, id, now, out);
    }
}

/// A signal with `info` was just taken from `p`'s pending signals (Linux's
/// `posixtimer_deliver_signal`): `None` if it is a timer's stale signal, to be dropped;
/// else the timer, if periodic, is re-armed past now and `info` gets the overrun, and
/// what to arm is returned.
pub(crate) fn dequeued(
    p: &mut Process,
    info: &mut SigInfo,
    wall: Ktime,
) -> Option<Option<(AlarmTimer, Ktime)>> {
    let SigFields::Timer {
        tid: id,
        ref mut overrun,
        from_timer: true,
        ..
    } = info.fields
    else {
        return Some(None);
    };
    let clock = p.posix_timers.timers.get(&id)?.clock;
    let now = clock_now(p, clock, wall.0);
    let t = p.posix_timers.timers.get_mut(&id)?;
    if !t.queued {
        return None;
    }
    t.queued = false;
    if t.signal_seq != t.sigqueue_seq {
        return None;
    }
    let mut arm = None;
    if t.interval != 0 && t.status == Status::RequeuePending {
        t.overrun += t.forward(now) as i64;
        t.status = Status::Armed;
        t.overrun_last = t.overrun;
        t.overrun = -1;
        t.signal_seq += 1;
        *overrun = t.overrun_last.clamp(0, i64::from(i32::MAX)) as i32;
        if let TimerClock::Wall(_) = clock {
            arm = Some((AlarmTimer::Posix(id), Ktime(t.expires)));
        }
    }
    Some(arm)
}
