//! Clocks and sleeping.

use std::time::{Duration, Instant};

use abi::flags::clock;
use abi::structs::{Timespec, Timeval};
use abi::{Errno, SysResult};

use crate::{Args, Ctx, WaitKey};

/// When the kernel booted (its first look at the clock); the guest's monotonic and
/// boot-time clocks count from the host's.
fn boot() -> Instant {
    nondet::epoch()
}

/// `at` on the kernel's monotonic clock (the scheduler's [`sched::Ktime`]), which counts
/// from the same boot.
pub fn ktime(at: Instant) -> sched::Ktime {
    sched::Clock::new(boot()).at(at)
}

/// The clock the scheduler's messages count in: zero is the kernel's boot.
pub fn clock() -> sched::Clock {
    sched::Clock::new(boot())
}

/// Time since the kernel booted.
pub(crate) fn uptime() -> Timespec {
    to_timespec(since_boot())
}

/// Time since the kernel booted as a process in time namespace `ns` sees it (moved by its
/// `CLOCK_BOOTTIME` offset): `sysinfo`'s and `/proc/uptime`'s.
pub(crate) fn uptime_in(spaces: &crate::ns::Namespaces, ns: u64) -> Timespec {
    crate::ns::time::shift(
        uptime(),
        crate::ns::time::offset(spaces, ns, clock::BOOTTIME),
    )
}

/// Time since the kernel booted (the first call is the boot).
pub fn since_boot() -> Duration {
    nondet::elapsed(boot())
}

fn to_timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// Reads a clock of the host with the given id (the wall clocks moved by the offset the
/// guest set, [`crate::clock::realtime_offset`]), for converting an absolute sleep deadline
/// into the host's time (the guest's clocks are never behind the host's, see
/// [`crate::clock`], so a sleeper that wakes at the host's deadline sees it passed).
pub(crate) fn host_clock(id: i32) -> Result<Timespec, Errno> {
    let cid = match id {
        clock::REALTIME | clock::REALTIME_COARSE => nix::time::ClockId::CLOCK_REALTIME,
        clock::MONOTONIC | clock::MONOTONIC_COARSE | clock::MONOTONIC_RAW => {
            nix::time::ClockId::CLOCK_MONOTONIC
        }
        clock::BOOTTIME => nix::time::ClockId::CLOCK_BOOTTIME,
        clock::TAI => nix::time::ClockId::CLOCK_TAI,
        // Valid ids; the guest's CPU time itself comes from its process (clock_gettime).
        clock::PROCESS_CPUTIME_ID | clock::THREAD_CPUTIME_ID => return Ok(uptime()),
        _ => return Err(Errno::EINVAL),
    };
    let host = nondet::input("host clock", || {
        nix::time::clock_gettime(cid)
            .map(|ts| (ts.tv_sec(), ts.tv_nsec()))
            .map_err(|e| e as i32)
    });
    let (sec, nsec) = host.map_err(Errno::from_host)?;
    let mut ns = i128::from(sec) * 1_000_000_000 + i128::from(nsec);
    if matches!(id, clock::REALTIME | clock::REALTIME_COARSE | clock::TAI) {
        // The instance's wall clock, which the guest may have set.
        ns = (ns + crate::clock::realtime_offset()).max(0);
    }
    Ok(Timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    })
}

/// The guest's clock `id` (the CPU-time clocks are the calling process's and thread's).
fn guest_clock(ctx: &mut Ctx<'_>, id: i32) -> Result<Timespec, Errno> {
    match id {
        clock::PROCESS_CPUTIME_ID => Ok(to_timespec(Duration::from_nanos(ctx.proc.cpu_ns))),
        clock::THREAD_CPUTIME_ID => Ok(to_timespec(Duration::from_nanos(ctx.thread().cpu_ns))),
        // A CPU-time clock by id (`clock_getcpuclockid`, `pthread_getcpuclockid`): the
        // caller's process or one of its threads.
        id if id < 0 => {
            use crate::posix_timer::TimerClock;
            let ns = match crate::posix_timer::timer_clock(ctx.proc, ctx.tid, id)? {
                TimerClock::ThreadCpu(t) => ctx.proc.threads.get(&t).map_or(0, |t| t.cpu_ns),
                _ => ctx.proc.cpu_ns,
            };
            Ok(to_timespec(Duration::from_nanos(ns)))
        }
        id => {
            let ts = crate::clock::now(ctx.mm, id)?;
            Ok(crate::ns::time::shift(ts, ctx.time_offset(id)))
        }
    }
}

pub(crate) fn sys_clock_gettime(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let ts = guest_clock(ctx, a.i32(0))?;
    ctx.write_val(a.addr(1), &ts)?;
    Ok(0)
}

pub(crate) fn sys_clock_getres(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    match a.i32(0) {
        id if id < 0 => crate::posix_timer::timer_clock(ctx.proc, ctx.tid, id).map(|_| ())?,
        id => host_clock(id).map(|_| ())?,
    }
    let res = match a.i32(0) {
        clock::REALTIME_COARSE | clock::MONOTONIC_COARSE => Timespec {
            tv_sec: 0,
            tv_nsec: crate::clock::COARSE_RES_NS as i64,
        },
        _ => Timespec {
            tv_sec: 0,
            tv_nsec: 1,
        },
    };
    if !a.addr(1).is_null() {
        ctx.write_val(a.addr(1), &res)?;
    }
    Ok(0)
}

pub(crate) fn sys_gettimeofday(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if !a.addr(0).is_null() {
        let ts = guest_clock(ctx, clock::REALTIME)?;
        let tv = Timeval {
            tv_sec: ts.tv_sec,
            tv_usec: ts.tv_nsec / 1000,
        };
        ctx.write_val(a.addr(0), &tv)?;
    }
    if !a.addr(1).is_null() {
        // struct timezone: minutes west and DST type, as settimeofday set them (UTC).
        ctx.write_val(a.addr(1), &crate::settime::timezone())?;
    }
    Ok(0)
}

pub(crate) fn sys_time(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let t = guest_clock(ctx, clock::REALTIME)?.tv_sec;
    if !a.addr(0).is_null() {
        ctx.write_val(a.addr(0), &t)?;
    }
    Ok(t as u64)
}

/// A `timespec` as a duration: `EINVAL` if negative or its nanoseconds are out of range.
pub(crate) fn valid(ts: &Timespec) -> Result<Duration, Errno> {
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// A clock's time as the duration since its zero (none if before it).
pub(crate) fn since_zero(ts: &Timespec) -> Duration {
    valid(ts).unwrap_or(Duration::ZERO)
}

/// A timeout argument: a guest `timespec` pointer, NULL meaning none.
pub(crate) fn read_timeout(
    ctx: &mut Ctx<'_>,
    at: abi::UserAddr,
) -> Result<Option<Duration>, Errno> {
    if at.is_null() {
        return Ok(None);
    }
    let ts: Timespec = ctx.read_val(at)?;
    valid(&ts).map(Some)
}

/// Sleeps the calling task until `deadline` (a monotonic instant): blocks on its own
/// timeout key, restarted until the deadline has passed.
fn sleep_until(ctx: &mut Ctx<'_>, deadline: Instant) -> SysResult {
    if nondet::ktime_get() >= deadline {
        // The sleeper's next look at the clock (the vDSO's) must be past the deadline.
        crate::clock::refresh(ctx.mm);
        return Ok(0);
    }
    let me = ctx.proc.pid;
    ctx.on_signal(crate::OnSignal::RestartNoHand);
    Err(ctx.block_until(WaitKey::Timeout(me), deadline))
}

pub(crate) fn sys_nanosleep(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let ts: Timespec = ctx.read_val(a.addr(0))?;
    let d = valid(&ts)?;
    let deadline = ctx.deadline_after(d);
    sleep_until(ctx, deadline)
}

pub(crate) fn sys_clock_nanosleep(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (id, flags) = (a.i32(0), a.i32(1));
    if matches!(id, clock::THREAD_CPUTIME_ID) {
        // Linux's thread CPU clock has no nsleep (glibc turns this into EINVAL).
        return Err(Errno::EOPNOTSUPP);
    }
    // An absolute deadline is a time of the caller's time namespace.
    let now = crate::ns::time::shift(host_clock(id)?, ctx.time_offset(id));
    let ts: Timespec = ctx.read_val(a.addr(2))?;
    let d = valid(&ts)?;
    let rel = if flags & clock::TIMER_ABSTIME != 0 {
        let now = since_zero(&now);
        d.saturating_sub(now)
    } else {
        d
    };
    let deadline = ctx.deadline_after(rel);
    sleep_until(ctx, deadline)
}

pub(crate) fn sys_sched_yield(_ctx: &mut Ctx<'_>, _a: &Args) -> Result<crate::Outcome, Errno> {
    Ok(crate::Outcome::Yield)
}

pub(crate) fn sys_pause(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    let me = ctx.proc.pid;
    ctx.on_signal(crate::OnSignal::RestartNoHand);
    Err(ctx.block_on(WaitKey::Signal(me)))
}

/// Clock ticks per second (`AT_CLKTCK`, `USER_HZ`).
const USER_HZ: u64 = 100;

pub(crate) fn sys_times(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let up = uptime();
    let ticks = up.tv_sec as u64 * USER_HZ + up.tv_nsec as u64 / (1_000_000_000 / USER_HZ);
    if !a.addr(0).is_null() {
        // struct tms: user, system, children's user, children's system, in clock ticks.
        let tick = 1_000_000_000 / USER_HZ;
        let tms = [
            ctx.proc.cpu_ns / tick,
            0,
            ctx.proc.children_cpu_ns / tick,
            0,
        ];
        ctx.write_val(a.addr(0), &tms)?;
    }
    Ok(ticks)
}

/// A sleep interrupted by a signal handler reports the time it had left (`nanosleep`'s
/// `rem`, `clock_nanosleep`'s for relative sleeps). Called by the kernel when it turns the
/// blocked call into `EINTR`; returns what the call returns instead: `EFAULT` if `rem` is
/// a bad pointer, as Linux's copy-out of the remaining time makes it.
pub fn interrupted_sleep(
    mm: &mut mm::MmService,
    id: mm::MmId,
    regs: &abi::structs::UserRegs,
    deadline: Option<Instant>,
) -> Errno {
    let rem = match abi::Sysno::from_raw(regs.orig_rax) {
        Some(abi::Sysno::nanosleep) => regs.rsi,
        Some(abi::Sysno::clock_nanosleep) if regs.rsi as i32 & clock::TIMER_ABSTIME == 0 => {
            regs.r10
        }
        _ => return Errno::EINTR,
    };
    let (Some(deadline), false) = (deadline, rem == 0) else {
        return Errno::EINTR;
    };
    let left = deadline.saturating_duration_since(nondet::ktime_get());
    let ts = Timespec {
        tv_sec: left.as_secs() as i64,
        tv_nsec: i64::from(left.subsec_nanos()),
    };
    match mm.copy_out(id, abi::UserAddr(rem), bytemuck::bytes_of(&ts)) {
        Ok(()) => Errno::EINTR,
        Err(_) => Errno::EFAULT,
    }
}
