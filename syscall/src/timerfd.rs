//! `timerfd_create`, `timerfd_settime`, `timerfd_gettime`: a timer read through a
//! descriptor.
//!
//! The timer keeps its next expiry as a monotonic instant (an absolute `CLOCK_REALTIME`
//! time is converted when set; a later change of the host's wall clock does not move it).
//! Expiries are counted when someone looks (a read, a poll, `timerfd_gettime`): a read
//! returns the count since the last read and zeroes it (`EAGAIN`, or blocking, while 0).
//! A task waiting for the timer sleeps until its next expiry through the kernel's timers
//! ([`WaitSet::wake_at`], like `poll` and `nanosleep` deadlines). `CLOCK_BOOTTIME` counts as
//! `CLOCK_MONOTONIC` (the guest never suspends); `TFD_TIMER_CANCEL_ON_SET` is accepted but
//! never cancels.

use std::io::IoSliceMut;
use std::time::{Duration, Instant};

use abi::flags::{clock, OFlags};
use abi::structs::Timespec;
use abi::{Errno, SysResult};
use parking_lot::Mutex;
use vfs::object::{iov_len_mut, new_wait_id, scatter};
use vfs::{Arc, FileObject, PollEvents, Poller, WaitSet};

use crate::time::{host_clock, valid};
use crate::{Args, Ctx, WaitKey};

const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_BOOTTIME_ALARM: i32 = 9;
const TFD_TIMER_ABSTIME: u32 = 1;
const TFD_TIMER_CANCEL_ON_SET: u32 = 2;

#[derive(Default)]
struct TimerState {
    /// The next expiry (`None`: disarmed).
    next: Option<Instant>,
    /// The period (zero: one-shot).
    interval: Duration,
    /// Expiries not yet read.
    ticks: u64,
    /// Times expiries were counted ([`PollEvents::seq`]).
    events: u64,
}

impl TimerState {
    /// Counts the expiries due at `now` and moves the next one past it.
    fn expire(&mut self, now: Instant) {
        let Some(at) = self.next.filter(|at| *at <= now) else {
            return;
        };
        let n = if self.interval.is_zero() {
            self.next = None;
            1
        } else {
            let period = self.interval.as_nanos();
            let n = (now - at).as_nanos() / period + 1;
            let ahead = u64::try_from(n * period).unwrap_or(u64::MAX);
            self.next = at.checked_add(Duration::from_nanos(ahead));
            u64::try_from(n).unwrap_or(u64::MAX)
        };
        self.ticks = self.ticks.saturating_add(n);
        self.events += 1;
    }

    /// `struct itimerspec`: the interval, then the time left to the next expiry.
    fn itimerspec(&mut self) -> [Timespec; 2] {
        let now = nondet::ktime_get();
        self.expire(now);
        let left = self.next.map_or(Duration::ZERO, |at| at - now);
        [to_timespec(self.interval), to_timespec(left)]
    }
}

fn to_timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

struct TimerFd {
    id: u64,
    clock: i32,
    st: Mutex<TimerState>,
}

impl FileObject for TimerFd {
    fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        if iov_len_mut(bufs) < 8 {
            return Err(Errno::EINVAL);
        }
        let mut st = self.st.lock();
        st.expire(nondet::ktime_get());
        if st.ticks == 0 {
            return Err(Errno::EAGAIN);
        }
        let n = std::mem::take(&mut st.ticks);
        Ok(scatter(bufs, &n.to_ne_bytes()))
    }

    fn poll(&self, _who: &Poller) -> PollEvents {
        let mut st = self.st.lock();
        st.expire(nondet::ktime_get());
        PollEvents {
            readable: st.ticks > 0,
            seq: Some(st.events),
            ..PollEvents::default()
        }
    }

    fn wait_id(&self) -> u64 {
        self.id
    }

    fn waits(&self, ws: &mut WaitSet) {
        ws.ids.push(self.id);
        if let Some(at) = self.st.lock().next {
            ws.wake_at(at);
        }
    }
}

/// `timerfd_create(clockid, flags)`: `TFD_NONBLOCK`, `TFD_CLOEXEC`.
pub(crate) fn sys_timerfd_create(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = OFlags::from_bits_retain(a.u32(1));
    if flags != flags.intersection(OFlags::CLOEXEC | OFlags::NONBLOCK) {
        return Err(Errno::EINVAL);
    }
    let clock = match a.i32(0) {
        c @ (clock::REALTIME | clock::MONOTONIC | clock::BOOTTIME) => c,
        // The alarm clocks need CAP_WAKE_ALARM; they are their base clocks here.
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM if ctx.proc.cred.euid != 0 => {
            return Err(Errno::EPERM)
        }
        CLOCK_REALTIME_ALARM => clock::REALTIME,
        CLOCK_BOOTTIME_ALARM => clock::BOOTTIME,
        _ => return Err(Errno::EINVAL),
    };
    let obj = Arc::new(TimerFd {
        id: new_wait_id(),
        clock,
        st: Mutex::new(TimerState::default()),
    });
    ctx.install_object(obj, flags)
}

/// The timer behind an open file, if it is one.
fn timer_of(f: &vfs::FileRef) -> Option<&TimerFd> {
    f.object_as::<TimerFd>()
}

/// `timerfd_settime(fd, flags, new, old)`: `TFD_TIMER_ABSTIME` takes `new`'s value as a
/// time of the timer's clock; a zero value disarms. Pending expiries are dropped.
pub(crate) fn sys_timerfd_settime(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = a.u32(1);
    let [interval, value]: [Timespec; 2] = ctx.read_val(a.addr(2))?;
    let (interval, value) = (valid(&interval)?, valid(&value)?);
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = ctx.file(a.i32(0))?;
    let t = timer_of(&f).ok_or(Errno::EINVAL)?;
    let now = nondet::ktime_get();
    let next = if value.is_zero() {
        None
    } else if flags & TFD_TIMER_ABSTIME != 0 {
        // A time of the caller's time namespace.
        let clock_now = crate::ns::time::shift(host_clock(t.clock)?, ctx.time_offset(t.clock));
        let clock_now = crate::time::since_zero(&clock_now);
        Some(match value.checked_sub(clock_now) {
            Some(ahead) => now + ahead,
            None => now.checked_sub(clock_now - value).unwrap_or(now),
        })
    } else {
        Some(now + value)
    };
    let old = {
        let mut st = t.st.lock();
        let old = st.itimerspec();
        st.next = next;
        st.interval = interval;
        st.ticks = 0;
        old
    };
    let id = t.id;
    // Blocked readers and pollers look at the new expiry.
    ctx.wake(WaitKey::File(id));
    if !a.addr(3).is_null() {
        ctx.write_val(a.addr(3), &old)?;
    }
    Ok(0)
}

/// `timerfd_gettime(fd, cur)`: the interval and the time left to the next expiry.
pub(crate) fn sys_timerfd_gettime(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let f = ctx.file(a.i32(0))?;
    let cur = timer_of(&f).ok_or(Errno::EINVAL)?.st.lock().itimerspec();
    ctx.write_val(a.addr(1), &cur)?;
    Ok(0)
}
