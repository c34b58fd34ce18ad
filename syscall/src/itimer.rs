//! The interval timers of `setitimer`/`getitimer` and `alarm`: `ITIMER_REAL` (wall time,
//! `SIGALRM`), `ITIMER_VIRTUAL` (user CPU time, `SIGVTALRM`) and `ITIMER_PROF` (user and
//! system CPU time, `SIGPROF`), one each per process, kept across `execve`, not inherited by
//! `fork`.
//!
//! As Linux: `ITIMER_REAL` is armed as a scheduler alarm ([`sched::AlarmTimer::ItimerReal`]);
//! when it fires it sends `SIGALRM` and stops, and a periodic one is re-armed (past now, by
//! whole intervals) when a `SIGALRM` is taken ([`dequeued`]), so `getitimer` reads a zero
//! value in between. The CPU timers count the process's CPU time as uml measures it: the
//! time its threads spend running guest code and in their syscalls, in slices of at most
//! the preemption tick (uml counts it all as user time, so both clocks are the same); the
//! kernel checks them each time it accounts a slice ([`crate::timers::account_cpu`]). A CPU
//! timer's value is rounded up by one tick of this host kind's kernel (`TICK_NSEC`, HZ=250),
//! as Linux's `set_cpu_itimer` does, and its reload interval is kept even when the value
//! given is zero (for `ITIMER_REAL` a zero value clears it).

use abi::signal::sig;
use abi::structs::Timeval;
use abi::{Errno, SysResult};
use sched::{AlarmTimer, Ktime};

use crate::process::Process;
use crate::signal::SigInfo;
use crate::{Args, Ctx};

const ITIMER_REAL: i32 = 0;
const ITIMER_VIRTUAL: i32 = 1;
const ITIMER_PROF: i32 = 2;

/// Linux's `TICK_NSEC` on the host kind uml targets (HZ=250).
const TICK_NSEC: u64 = 4_000_000;
const NSEC_PER_USEC: u64 = 1_000;

/// `struct itimerval`: reload interval, then time to the next expiry.
type Itimerval = [Timeval; 2];

/// One CPU-time interval timer (Linux's `cpu_itimer`).
#[derive(Clone, Copy, Debug, Default)]
struct CpuItimer {
    /// Expiry in process CPU ns (0: disarmed).
    expires: u64,
    /// Reload interval in ns.
    incr: u64,
}

/// A process's interval timers.
#[derive(Clone, Debug, Default)]
pub struct Itimers {
    /// `ITIMER_REAL`'s expiry on the kernel's monotonic clock, while armed.
    real: Option<u64>,
    /// The `ITIMER_REAL` expiry that last fired, while a periodic one waits for its
    /// `SIGALRM` to be taken.
    real_last: Option<u64>,
    /// `ITIMER_REAL`'s reload interval in ns (Linux's `it_real_incr`).
    real_incr: u64,
    /// `ITIMER_VIRTUAL`, `ITIMER_PROF`.
    cpu: [CpuItimer; 2],
}

fn ns_timeval(ns: u64) -> Timeval {
    Timeval {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_usec: ((ns % 1_000_000_000) / NSEC_PER_USEC) as i64,
    }
}

fn timeval_ns(tv: &Timeval) -> Result<u64, Errno> {
    if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EINVAL);
    }
    Ok((tv.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(tv.tv_usec as u64 * NSEC_PER_USEC)
        .min(i64::MAX as u64))
}

fn ktime_now() -> u64 {
    crate::time::ktime(nondet::ktime_get()).0
}

impl Itimers {
    /// `ITIMER_REAL` now: the time left (at least 1 µs while armed), and the interval.
    fn real(&self, now: u64) -> Itimerval {
        let left = self
            .real
            .map_or(0, |at| at.saturating_sub(now).max(NSEC_PER_USEC));
        [ns_timeval(self.real_incr), ns_timeval(left)]
    }

    /// CPU timer `which` (0 virtual, 1 prof) when the process has used `cpu` ns.
    fn cpu(&self, which: usize, cpu: u64) -> Itimerval {
        let it = self.cpu[which];
        let left = match it.expires {
            0 => 0,
            e if e < cpu => TICK_NSEC,
            e => e - cpu,
        };
        [ns_timeval(it.incr), ns_timeval(left)]
    }
}

/// Sets `ITIMER_REAL` (a zero value disarms it and clears the interval); the expiry to arm.
fn set_real(p: &mut Process, value: u64, interval: u64, now: u64) -> Option<Ktime> {
    p.itimers.real_last = None;
    if value == 0 {
        p.itimers.real = None;
        p.itimers.real_incr = 0;
        return None;
    }
    let at = now.saturating_add(value).min(i64::MAX as u64);
    p.itimers.real = Some(at);
    p.itimers.real_incr = interval;
    Some(Ktime(at))
}

fn itimer(p: &Process, which: i32, now: u64) -> Result<Itimerval, Errno> {
    match which {
        ITIMER_REAL => Ok(p.itimers.real(now)),
        ITIMER_VIRTUAL => Ok(p.itimers.cpu(0, p.cpu_ns)),
        ITIMER_PROF => Ok(p.itimers.cpu(1, p.cpu_ns)),
        _ => Err(Errno::EINVAL),
    }
}

pub(crate) fn sys_getitimer(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let v = itimer(ctx.proc, a.i32(0), ktime_now())?;
    ctx.write_val(a.addr(1), &v)?;
    Ok(0)
}

pub(crate) fn sys_setitimer(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let which = a.i32(0);
    let new: Option<Itimerval> = if a.addr(1).is_null() {
        None
    } else {
        Some(ctx.read_val(a.addr(1))?)
    };
    let (value, interval) = match new {
        Some([interval, value]) => (timeval_ns(&value)?, timeval_ns(&interval)?),
        None => (0, 0),
    };
    let now = ktime_now();
    let old = itimer(ctx.proc, which, now)?;
    match which {
        ITIMER_REAL => {
            if let Some(at) = set_real(ctx.proc, value, interval, now) {
                let pid = ctx.proc.pid;
                ctx.arm_timer(pid, AlarmTimer::ItimerReal, at);
            }
        }
        _ => {
            let cpu = ctx.proc.cpu_ns;
            let it = &mut ctx.proc.itimers.cpu[(which - 1) as usize];
            it.expires = if value == 0 {
                0
            } else {
                cpu.saturating_add(value).saturating_add(TICK_NSEC)
            };
            it.incr = interval;
        }
    }
    if !a.addr(2).is_null() {
        ctx.write_val(a.addr(2), &old)?;
    }
    Ok(0)
}

pub(crate) fn sys_alarm(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let now = ktime_now();
    let [_, left] = ctx.proc.itimers.real(now);
    // alarm() reports whole seconds left, rounding to nearest (at least 1 if pending).
    let old = if left.tv_sec == 0 && left.tv_usec == 0 {
        0
    } else {
        (left.tv_sec + i64::from(left.tv_usec >= 500_000)).max(1)
    };
    let value = u64::from(a.u32(0)) * 1_000_000_000;
    if let Some(at) = set_real(ctx.proc, value, 0, now) {
        let pid = ctx.proc.pid;
        ctx.arm_timer(pid, AlarmTimer::ItimerReal, at);
    }
    Ok(old as u64)
}

/// The scheduler says `ITIMER_REAL` of `p` is due at `now`: stop it and say whether to
/// send `SIGALRM` (not if it was set again since; that expiry has an event of its own).
pub(crate) fn real_due(p: &mut Process, now: Ktime) -> bool {
    match p.itimers.real {
        Some(at) if at <= now.0 => {
            p.itimers.real = None;
            p.itimers.real_last = Some(at);
            true
        }
        _ => false,
    }
}

/// `p` has used CPU time: the signals of its CPU interval timers that are due (Linux's
/// `check_cpu_itimer`: one expiry per check, the next one interval later).
pub(crate) fn cpu_due(p: &mut Process) -> Vec<SigInfo> {
    let cpu = p.cpu_ns;
    let mut out = Vec::new();
    for (i, signo) in [(0, sig::SIGVTALRM), (1, sig::SIGPROF)] {
        let it = &mut p.itimers.cpu[i];
        if it.expires != 0 && cpu >= it.expires {
            it.expires = if it.incr != 0 {
                it.expires.saturating_add(it.incr)
            } else {
                0
            };
            out.push(SigInfo::kernel(signo));
        }
    }
    out
}

/// A `SIGALRM` was taken from `p`'s pending signals: a periodic `ITIMER_REAL` that fired
/// is armed again past `now` (Linux's `posixtimer_rearm_itimer`); the expiry to arm.
pub(crate) fn dequeued(p: &mut Process, signo: i32, now: Ktime) -> Option<Ktime> {
    let it = &mut p.itimers;
    if signo != sig::SIGALRM || it.real.is_some() || it.real_incr == 0 {
        return None;
    }
    let last = it.real_last?;
    let n = now.0.saturating_sub(last) / it.real_incr + 1;
    let at = last
        .saturating_add(n.saturating_mul(it.real_incr))
        .min(i64::MAX as u64);
    it.real = Some(at);
    it.real_last = None;
    Some(Ktime(at))
}
