//! Time passing for a process, as the kernel reports it: a scheduler alarm of the process is
//! due ([`alarm_due`]), the process ran for a while ([`account_cpu`]), or a signal was taken
//! from its pending signals ([`dequeued`]). The timers themselves are in
//! [`crate::itimer`] (`setitimer`, `alarm`) and [`crate::posix_timer`] (`timer_create`);
//! these entry points send their signals and say what the kernel is to do next ([`Expired`]:
//! tasks to wake, alarms to arm).

use abi::signal::sig;
use sched::{AlarmTimer, Ktime};

use crate::process::Process;
use crate::signal::SigInfo;
use crate::{itimer, kill, posix_timer};

pub use crate::posix_timer::Expired;

/// Timer `timer` of `p` is due at `now` (the scheduler's alarm): its signal is sent unless
/// it was set again since.
pub fn alarm_due(p: &mut Process, timer: AlarmTimer, now: Ktime) -> Expired {
    let mut out = Expired::default();
    match timer {
        AlarmTimer::ItimerReal => {
            if itimer::real_due(p, now) {
                kill::send_to(p, None, SigInfo::kernel(sig::SIGALRM), &mut out.wake);
            }
        }
        AlarmTimer::Posix(id) => posix_timer::alarm_due(p, id, now, &mut out),
    }
    out
}

/// Thread `tid` of `p` ran guest code (and its syscalls) for `ns` nanoseconds: the CPU time
/// is counted, and the CPU-time timers that are due send their signals.
pub fn account_cpu(p: &mut Process, tid: i32, ns: u64) -> Expired {
    let mut out = Expired::default();
    p.cpu_ns += ns;
    if let Some(t) = p.threads.get_mut(&tid) {
        t.cpu_ns += ns;
    }
    for info in itimer::cpu_due(p) {
        kill::send_to(p, None, info, &mut out.wake);
    }
    posix_timer::cpu_due(p, &mut out);
    cpu_limit(p, &mut out);
    out
}

/// `RLIMIT_CPU` (seconds of CPU time of the whole process), as Linux checks it: at the
/// hard limit `SIGKILL`; at the soft limit `SIGXCPU`, and the soft limit moves one second
/// on (up to the hard one), so the signal comes again each further second.
fn cpu_limit(p: &mut Process, out: &mut Expired) {
    use abi::flags::rlimit::{CPU, INFINITY};
    let lim = p.rlimits[CPU as usize];
    if lim.cur == INFINITY {
        return;
    }
    let secs = p.cpu_ns / 1_000_000_000;
    if lim.max != INFINITY && secs >= lim.max {
        kill::send_to(p, None, SigInfo::kernel(sig::SIGKILL), &mut out.wake);
    } else if secs >= lim.cur {
        kill::send_to(p, None, SigInfo::kernel(sig::SIGXCPU), &mut out.wake);
        if lim.cur < lim.max {
            p.rlimits[CPU as usize].cur = lim.cur + 1;
        }
    }
}

/// `info` was just taken from `p`'s pending signals (to deliver it, or by `sigwaitinfo`
/// or a signalfd read) at `now`. `None`: it is a stale timer signal (the timer was set
/// again or deleted since), to be dropped as if it had never been pending. Otherwise the
/// periodic timer that sent it is armed again and `info` carries its overrun; the alarms
/// to arm are returned.
pub fn dequeued(
    p: &mut Process,
    info: &mut SigInfo,
    now: Ktime,
) -> Option<Vec<(AlarmTimer, Ktime)>> {
    let mut arm = Vec::new();
    if let Some(at) = itimer::dequeued(p, info.signo, now) {
        arm.push((AlarmTimer::ItimerReal, at));
    }
    if let Some(a) = posix_timer::dequeued(p, info, now)? {
        arm.push(a);
    }
    Some(arm)
}
