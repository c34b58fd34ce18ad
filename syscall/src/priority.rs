//! Priorities: nice values (`getpriority`, `setpriority`), I/O priorities (`ioprio_get`,
//! `ioprio_set`), and the scheduling attributes every thread keeps ([`TaskSched`]), which
//! `sched_calls` reads and writes.
//!
//! Linux keeps these per thread: `setpriority(PRIO_PROCESS, tid)` changes one thread,
//! `PRIO_PGRP` and `PRIO_USER` every thread of the processes they name. A change of nice
//! reaches the scheduler as an effect of the call ([`crate::Effects::nice`]): the fair policy
//! weighs CPU time by it.

use abi::flags::rlimit;
use abi::{Errno, SysResult};

use crate::process::Process;
use crate::{Args, Ctx};

/// The lowest and highest nice values.
pub const MIN_NICE: i32 = -20;
/// See [`MIN_NICE`].
pub const MAX_NICE: i32 = 19;

/// Scheduling policies (`SCHED_*`).
pub mod policy {
    /// `SCHED_OTHER` (`SCHED_NORMAL`).
    pub const OTHER: u32 = 0;
    /// `SCHED_FIFO`.
    pub const FIFO: u32 = 1;
    /// `SCHED_RR`.
    pub const RR: u32 = 2;
    /// `SCHED_BATCH`.
    pub const BATCH: u32 = 3;
    /// `SCHED_IDLE`.
    pub const IDLE: u32 = 5;
    /// `SCHED_DEADLINE`.
    pub const DEADLINE: u32 = 6;
}

/// Linux's default timer slack of a task (`init_task.timer_slack_ns`), in nanoseconds.
pub const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;

/// A `SCHED_DEADLINE` reservation: `runtime` nanoseconds of CPU every `period`, each due
/// within `deadline` of its period's start (all 0 under the other policies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DlParams {
    /// `sched_runtime`.
    pub runtime: u64,
    /// `sched_deadline`.
    pub deadline: u64,
    /// `sched_period` (the deadline when 0 was asked for).
    pub period: u64,
    /// The deadline flags of `sched_attr` (`SCHED_FLAG_RECLAIM`, `SCHED_FLAG_DL_OVERRUN`).
    pub flags: u64,
}

/// What one thread keeps about its scheduling, inherited over `fork`/`clone` and kept
/// over `execve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskSched {
    /// Nice value, -20..=19.
    pub nice: i32,
    /// `SCHED_*` policy.
    pub policy: u32,
    /// Real-time priority (1..=99 for `SCHED_FIFO`/`SCHED_RR`, else 0).
    pub rt_priority: u32,
    /// `SCHED_RESET_ON_FORK`: a child starts with a normal policy and a nice of at least 0.
    pub reset_on_fork: bool,
    /// I/O priority (`IOPRIO_PRIO_VALUE(class, data)`; 0: none set).
    pub ioprio: u16,
    /// The reservation of a `SCHED_DEADLINE` thread.
    pub dl: DlParams,
    /// Timer slack (`PR_SET_TIMERSLACK`, `/proc/PID/timerslack_ns`): how late its timers
    /// may fire. 0 under the real-time and deadline policies (Linux 6.7 on).
    pub timer_slack_ns: u64,
    /// What the timer slack goes back to when 0 is asked for: the creator's timer slack
    /// when the thread was created.
    pub default_timer_slack_ns: u64,
}

impl Default for TaskSched {
    fn default() -> TaskSched {
        TaskSched {
            nice: 0,
            policy: policy::OTHER,
            rt_priority: 0,
            reset_on_fork: false,
            ioprio: 0,
            dl: DlParams::default(),
            timer_slack_ns: DEFAULT_TIMER_SLACK_NS,
            default_timer_slack_ns: DEFAULT_TIMER_SLACK_NS,
        }
    }
}

impl TaskSched {
    /// Whether the policy is `SCHED_FIFO`, `SCHED_RR` or `SCHED_DEADLINE` (Linux's
    /// `rt_or_dl_task_policy`).
    pub fn rt_or_dl(&self) -> bool {
        matches!(self.policy, policy::FIFO | policy::RR | policy::DEADLINE)
    }

    /// What a child created by this thread starts with; `EAGAIN` for a deadline thread
    /// that does not reset on fork (Linux's `sched_fork`).
    pub fn for_child(&self) -> Result<TaskSched, Errno> {
        let mut c = TaskSched {
            default_timer_slack_ns: self.timer_slack_ns,
            ..*self
        };
        if self.reset_on_fork {
            if self.rt_or_dl() {
                c.policy = policy::OTHER;
                c.rt_priority = 0;
                c.dl = DlParams::default();
            }
            c.nice = self.nice.max(0);
            c.reset_on_fork = false;
        }
        if c.policy == policy::DEADLINE {
            return Err(Errno::EAGAIN);
        }
        Ok(c)
    }
}

const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;

/// The (pid, tid) of every thread `which`/`who` names (`PRIO_*`, or `IOPRIO_WHO_*` shifted
/// down by one): `EINVAL` for a bad `which`. May be empty.
fn targets(ctx: &Ctx<'_>, which: i32, who: i32) -> Result<Vec<(i32, i32)>, Errno> {
    let all = || std::iter::once(&*ctx.proc).chain(ctx.procs.iter());
    let threads_of =
        |p: &Process| -> Vec<(i32, i32)> { p.threads.keys().map(|&t| (p.pid, t)).collect() };
    Ok(match which {
        PRIO_PROCESS if who == 0 => vec![(ctx.proc.pid, ctx.tid)],
        PRIO_PROCESS if who < 0 => Vec::new(),
        PRIO_PROCESS => match all().find(|p| p.threads.contains_key(&who)) {
            Some(p) => vec![(p.pid, who)],
            None => Vec::new(),
        },
        PRIO_PGRP => {
            let pgrp = if who == 0 { ctx.proc.pgid } else { who };
            all()
                .filter(|p| p.pgid == pgrp)
                .flat_map(threads_of)
                .collect()
        }
        PRIO_USER => {
            let uid = if who == 0 {
                ctx.proc.cred.uid
            } else {
                who as u32
            };
            all()
                .filter(|p| p.cred.uid == uid)
                .flat_map(threads_of)
                .collect()
        }
        _ => return Err(Errno::EINVAL),
    })
}

/// Runs `f` on the attributes of thread `tid` of process `pid` (the caller or another).
fn with_sched<R>(
    ctx: &mut Ctx<'_>,
    pid: i32,
    tid: i32,
    f: impl FnOnce(&mut TaskSched) -> R,
) -> Option<R> {
    let p = ctx.process_mut(pid).ok()?;
    let mut s = p.threads.get(&tid)?.sched;
    let r = f(&mut s);
    p.threads.get_mut(&tid)?.sched = s;
    Some(r)
}

/// The scheduling attributes of thread `tid` (0: the caller), or `ESRCH`.
pub(crate) fn sched_of(ctx: &Ctx<'_>, tid: i32) -> Result<TaskSched, Errno> {
    let [(pid, tid)] = targets(ctx, PRIO_PROCESS, tid)?[..] else {
        return Err(Errno::ESRCH);
    };
    let p = ctx.process(pid)?;
    p.threads.get(&tid).map(|t| t.sched).ok_or(Errno::ESRCH)
}

/// Whether the caller may change `target`'s priorities: the same user (its euid is the
/// target's real or effective uid), or privileged (euid 0 stands for `CAP_SYS_NICE`).
pub(crate) fn may_change(ctx: &Ctx<'_>, target: &Process) -> bool {
    let euid = ctx.proc.cred.euid;
    euid == 0 || euid == target.cred.uid || euid == target.cred.euid
}

/// Whether the caller may lower a nice value to `nice`: privileged, or within its
/// `RLIMIT_NICE` (whose limit counts 20 - nice).
fn may_lower_to(ctx: &Ctx<'_>, nice: i32) -> bool {
    let limit = ctx.proc.rlimits[rlimit::NICE as usize].cur;
    ctx.proc.cred.euid == 0 || (20 - nice) as u64 <= limit
}

/// Sets thread (`pid`, `tid`)'s nice value with Linux's checks (`set_one_prio`), telling
/// the scheduler.
pub(crate) fn set_nice(ctx: &mut Ctx<'_>, pid: i32, tid: i32, nice: i32) -> Result<(), Errno> {
    let (allowed, current) = {
        let p = ctx.process(pid)?;
        let t = p.threads.get(&tid).ok_or(Errno::ESRCH)?;
        (may_change(ctx, p), t.sched.nice)
    };
    if !allowed {
        return Err(Errno::EPERM);
    }
    if nice < current && !may_lower_to(ctx, nice) {
        return Err(Errno::EACCES);
    }
    with_sched(ctx, pid, tid, |s| s.nice = nice).ok_or(Errno::ESRCH)?;
    ctx.effects.nice.push((tid, nice));
    Ok(())
}

/// `setpriority(which, who, prio)`: every named thread's nice (clamped to -20..=19); the
/// first refusal is the result, as Linux's loop keeps it.
pub(crate) fn sys_setpriority(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let nice = a.i32(2).clamp(MIN_NICE, MAX_NICE);
    let mut result = Err(Errno::ESRCH);
    for (pid, tid) in targets(ctx, a.i32(0), a.i32(1))? {
        let r = set_nice(ctx, pid, tid, nice);
        if result == Err(Errno::ESRCH) || r.is_err() && result.is_ok() {
            result = r;
        }
    }
    result.map(|()| 0)
}

/// `getpriority(which, who)`: `20 - nice` of the highest-priority named thread (glibc turns
/// it back into a nice value).
pub(crate) fn sys_getpriority(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let mut best = None;
    for (pid, tid) in targets(ctx, a.i32(0), a.i32(1))? {
        if let Some(n) = with_sched(ctx, pid, tid, |s| s.nice) {
            best = Some(best.map_or(n, |b: i32| b.min(n)));
        }
    }
    best.map(|n| (20 - n) as u64).ok_or(Errno::ESRCH)
}

/// I/O priority classes (`IOPRIO_CLASS_*`) and the value's layout.
mod ioprio {
    pub const CLASS_SHIFT: u16 = 13;
    pub const NONE: u16 = 0;
    pub const RT: u16 = 1;
    pub const BE: u16 = 2;
    pub const IDLE: u16 = 3;
    /// Levels 0..=7 of the RT and BE classes.
    pub const LEVELS: u16 = 8;
    /// The level bits (the rest of the data is hints, which uml ignores).
    pub const LEVEL_MASK: u16 = 7;
}

/// Of two I/O priorities, the higher (Linux's `ioprio_best`; no class counts as BE).
fn ioprio_best(a: u16, b: u16) -> u16 {
    let class = |v: u16| match v >> ioprio::CLASS_SHIFT {
        ioprio::NONE => ioprio::BE,
        c => c,
    };
    match class(a).cmp(&class(b)) {
        std::cmp::Ordering::Equal => a.min(b),
        std::cmp::Ordering::Greater => b,
        std::cmp::Ordering::Less => a,
    }
}

/// `ioprio_set(which, who, ioprio)`: `IOPRIO_WHO_PROCESS` (a thread), `_PGRP`, `_USER`.
pub(crate) fn sys_ioprio_set(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let value = a.u32(2);
    let (class, level) = (
        value >> ioprio::CLASS_SHIFT,
        value as u16 & ioprio::LEVEL_MASK,
    );
    let data = value & ((1 << ioprio::CLASS_SHIFT) - 1);
    match class as u16 {
        ioprio::RT if ctx.proc.cred.euid != 0 => return Err(Errno::EPERM),
        ioprio::RT | ioprio::BE if level >= ioprio::LEVELS => return Err(Errno::EINVAL),
        ioprio::NONE if data != 0 => return Err(Errno::EINVAL),
        ioprio::RT | ioprio::BE | ioprio::IDLE | ioprio::NONE => {}
        _ => return Err(Errno::EINVAL),
    }
    let mut result = Err(Errno::ESRCH);
    for (pid, tid) in targets(ctx, a.i32(0) - 1, a.i32(1))? {
        let allowed = { may_change(ctx, ctx.process(pid)?) };
        let r = if allowed {
            with_sched(ctx, pid, tid, |s| s.ioprio = value as u16).ok_or(Errno::ESRCH)
        } else {
            Err(Errno::EPERM)
        };
        if result == Err(Errno::ESRCH) || r.is_err() && result.is_ok() {
            result = r;
        }
    }
    result.map(|()| 0)
}

/// `ioprio_get(which, who)`: the named thread's I/O priority, or the highest of several.
pub(crate) fn sys_ioprio_get(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let mut best = None;
    for (pid, tid) in targets(ctx, a.i32(0) - 1, a.i32(1))? {
        if let Some(v) = with_sched(ctx, pid, tid, |s| s.ioprio) {
            best = Some(best.map_or(v, |b| ioprio_best(b, v)));
        }
    }
    best.map(u64::from).ok_or(Errno::ESRCH)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn best_ioprio_prefers_the_lower_class_then_level() {
        let v = |c: u16, l: u16| (c << ioprio::CLASS_SHIFT) | l;
        assert_eq!(
            ioprio_best(v(ioprio::BE, 4), v(ioprio::RT, 7)),
            v(ioprio::RT, 7)
        );
        assert_eq!(
            ioprio_best(v(ioprio::BE, 4), v(ioprio::BE, 2)),
            v(ioprio::BE, 2)
        );
        assert_eq!(ioprio_best(v(ioprio::IDLE, 0), 0), 0);
    }

    #[test]
    fn reset_on_fork_drops_realtime_and_negative_nice() {
        let s = TaskSched {
            nice: -5,
            policy: policy::FIFO,
            rt_priority: 10,
            reset_on_fork: true,
            ..TaskSched::default()
        };
        let c = s.for_child().unwrap();
        assert_eq!(
            (c.nice, c.policy, c.rt_priority, c.reset_on_fork),
            (0, 0, 0, false)
        );
    }

    #[test]
    fn deadline_thread_forks_only_when_reset_on_fork() {
        let mut s = TaskSched {
            policy: policy::DEADLINE,
            dl: DlParams {
                runtime: 10,
                deadline: 30,
                period: 30,
                flags: 0,
            },
            timer_slack_ns: 0,
            ..TaskSched::default()
        };
        assert_eq!(s.for_child(), Err(Errno::EAGAIN));
        s.reset_on_fork = true;
        let c = s.for_child().unwrap();
        assert_eq!((c.policy, c.dl), (policy::OTHER, DlParams::default()));
    }

    #[test]
    fn child_timer_slack_defaults_to_the_creators() {
        let s = TaskSched {
            timer_slack_ns: 70_000,
            ..TaskSched::default()
        };
        let c = s.for_child().unwrap();
        assert_eq!(
            (c.timer_slack_ns, c.default_timer_slack_ns),
            (70_000, 70_000)
        );
    }
}
