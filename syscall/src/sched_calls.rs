//! Scheduling and resource-usage queries: affinity, CPU number, policies and their
//! parameters (`sched_setscheduler`, `sched_setattr`, ...; nice values are in
//! [`crate::priority`]) and `getrusage`. uml is one CPU (UML's model), so the guest sees CPU 0 only.

use abi::{Errno, SysResult};

use crate::priority::{may_change, policy, sched_of, set_nice, DlParams, MAX_NICE, MIN_NICE};
use crate::{Args, Ctx};

/// The guest's CPU set: CPU 0.
const CPU_MASK: u64 = 1;

/// The `sched_*` calls name a thread (0: the caller): any live thread, or a process.
fn check_pid(ctx: &Ctx<'_>, pid: i32) -> Result<(), Errno> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let live_thread = ctx.proc.threads.contains_key(&pid) || ctx.procs.tgid_of(pid).is_some();
    if pid == 0 || pid == ctx.proc.pid || live_thread || ctx.procs.get(pid).is_some() {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

pub(crate) fn sys_sched_getaffinity(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    check_pid(ctx, a.i32(0))?;
    let len = a.len(1);
    // The kernel's cpumask is 8 bytes here; a shorter buffer cannot hold it.
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    ctx.write_val(a.addr(2), &CPU_MASK)?;
    Ok(8)
}

/// `sched_setaffinity(pid, len, mask)`: the mask must hold CPU 0 (`EINVAL`); another
/// user's thread needs privilege (`EPERM`, Linux's `check_same_owner`).
pub(crate) fn sys_sched_setaffinity(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let pid = a.i32(0);
    let len = a.len(1).min(8) as usize;
    let mut mask = [0u8; 8];
    ctx.copy_in(a.addr(2), &mut mask[..len])?;
    check_pid(ctx, pid)?;
    if pid != 0 && !ctx.proc.threads.contains_key(&pid) {
        let tgid = ctx.procs.tgid_of(pid).unwrap_or(pid);
        if !may_change(ctx, ctx.process(tgid)?) {
            return Err(Errno::EPERM);
        }
    }
    if u64::from_le_bytes(mask) & CPU_MASK == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub(crate) fn sys_getcpu(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    for at in [a.addr(0), a.addr(1)] {
        if !at.is_null() {
            ctx.write_val(at, &0u32)?;
        }
    }
    Ok(0)
}

/// `SCHED_RESET_ON_FORK`, or'd into a policy.
const RESET_ON_FORK: u32 = 0x4000_0000;
/// `SCHED_FLAG_RESET_ON_FORK` of `sched_attr`.
const FLAG_RESET_ON_FORK: u64 = 0x01;
/// `SCHED_FLAG_KEEP_POLICY` and `SCHED_FLAG_KEEP_PARAMS`.
const FLAG_KEEP_POLICY: u64 = 0x08;
const FLAG_KEEP_PARAMS: u64 = 0x10;
/// Every `sched_attr` flag Linux knows (`SCHED_FLAG_ALL`).
const FLAG_ALL: u64 = 0x7f;
/// `sizeof(struct sched_attr)`: version 0 (48 bytes) and version 1 (56, with util clamps).
const ATTR_SIZE_VER0: u32 = 48;
const ATTR_SIZE_VER1: u32 = 56;
/// Largest `sched_attr` size accepted (a page).
const ATTR_SIZE_MAX: u32 = 4096;

/// A thread's `sched_attr` as Linux lays it out (version 1).
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

fn is_realtime(policy: u32) -> bool {
    matches!(policy, policy::FIFO | policy::RR)
}

/// The deadline flags `sched_attr` may carry (`SCHED_FLAG_RECLAIM`, `SCHED_FLAG_DL_OVERRUN`).
const FLAG_DL: u64 = 0x02 | 0x04;
/// Linux's `DL_SCALE`: a deadline runtime is at least `1 << DL_SCALE` ns.
const DL_SCALE: u32 = 10;
/// `kernel/sched_deadline_period_min_us` and `_max_us`, in nanoseconds.
const DL_PERIOD_MIN: u64 = 100 * 1000;
const DL_PERIOD_MAX: u64 = (1 << 22) * 1000;
/// Linux's `BW_SHIFT`: bandwidths are fractions of one CPU in 20-bit fixed point.
const BW_SHIFT: u32 = 20;

/// Linux's `to_ratio`: `runtime` over `period` as a bandwidth.
fn to_ratio(period: u64, runtime: u64) -> u64 {
    if period == 0 {
        return 0;
    }
    ((u128::from(runtime) << BW_SHIFT) / u128::from(period)) as u64
}

/// What deadline tasks may hold of the one CPU together: `kernel/sched_rt_runtime_us`
/// over `kernel/sched_rt_period_us` (950000 of 1000000).
fn dl_bw_cap() -> u64 {
    to_ratio(1_000_000, 950_000)
}

/// Linux's `__checkparam_dl`: a deadline, a runtime of at least `1 << DL_SCALE` ns,
/// runtime <= deadline <= period (a 0 period was made the deadline already), the period
/// within the sysctl bounds, and no value with its top bit set.
fn valid_dl(dl: &DlParams) -> bool {
    dl.deadline != 0
        && dl.runtime >= 1 << DL_SCALE
        && (dl.deadline | dl.period) >> 63 == 0
        && dl.runtime <= dl.deadline
        && dl.deadline <= dl.period
        && (DL_PERIOD_MIN..=DL_PERIOD_MAX).contains(&dl.period)
}

/// The bandwidth the deadline threads other than `tid` hold (Linux's `dl_b->total_bw`
/// without it).
fn dl_bw_of_others(ctx: &Ctx<'_>, tid: i32) -> u64 {
    std::iter::once(&*ctx.proc)
        .chain(ctx.procs.iter())
        .filter(|p| !matches!(p.state, crate::process::ProcState::Zombie(_)))
        .flat_map(|p| p.threads.iter())
        .filter(|&(&t, th)| t != tid && th.sched.policy == policy::DEADLINE)
        .map(|(_, th)| to_ratio(th.sched.dl.period, th.sched.dl.runtime))
        .sum()
}

/// What a `sched_set*` call asks of a thread: the policy, its real-time priority or
/// deadline reservation, the nice value of a normal policy (`None`: unchanged) and
/// `SCHED_RESET_ON_FORK`.
struct Request {
    policy: u32,
    priority: u32,
    nice: Option<i32>,
    reset_on_fork: bool,
    dl: DlParams,
}

/// Changes thread `tid`'s policy and parameters (Linux's `__sched_setscheduler`): `nice`
/// for the normal policies, `priority` for the real-time ones, the reservation for
/// `SCHED_DEADLINE`, which only a privileged caller may ask for and which must fit in
/// what the other deadline threads leave of the CPU (`EBUSY`).
fn set_scheduler(ctx: &mut Ctx<'_>, tid: i32, req: Request) -> SysResult {
    let pol = req.policy;
    if !matches!(
        pol,
        policy::OTHER | policy::FIFO | policy::RR | policy::BATCH | policy::IDLE | policy::DEADLINE
    ) {
        return Err(Errno::EINVAL);
    }
    if req.priority > 99
        || is_realtime(pol) != (req.priority != 0)
        || (pol == policy::DEADLINE && !valid_dl(&req.dl))
    {
        return Err(Errno::EINVAL);
    }
    let cur = sched_of(ctx, tid)?;
    let pid = ctx
        .procs
        .tgid_of(tid)
        .filter(|_| tid != 0)
        .unwrap_or(ctx.proc.pid);
    let tid = if tid == 0 { ctx.tid } else { tid };
    if ctx.proc.cred.euid != 0 {
        let target = ctx.process(pid)?;
        let rtprio = ctx.proc.rlimits[abi::flags::rlimit::RTPRIO as usize].cur;
        let raises_rt =
            is_realtime(pol) && u64::from(req.priority) > rtprio.max(u64::from(cur.rt_priority));
        if !may_change(ctx, target)
            || raises_rt
            || pol == policy::DEADLINE
            || (cur.reset_on_fork && !req.reset_on_fork)
        {
            return Err(Errno::EPERM);
        }
    }
    let dl = if pol == policy::DEADLINE {
        let bw = to_ratio(req.dl.period, req.dl.runtime);
        if dl_bw_of_others(ctx, tid) + bw > dl_bw_cap() {
            return Err(Errno::EBUSY);
        }
        req.dl
    } else {
        DlParams::default()
    };
    if let Some(n) = req.nice {
        let n = n.clamp(MIN_NICE, MAX_NICE);
        if n != cur.nice {
            set_nice(ctx, pid, tid, n).map_err(|_| Errno::EPERM)?;
        }
    }
    let t = ctx
        .process_mut(pid)?
        .threads
        .get_mut(&tid)
        .ok_or(Errno::ESRCH)?;
    let s = &mut t.sched;
    s.policy = pol;
    s.rt_priority = req.priority;
    s.reset_on_fork = req.reset_on_fork;
    s.dl = dl;
    // Linux's __setscheduler_params: no timer slack for real-time and deadline threads.
    if s.rt_or_dl() {
        s.timer_slack_ns = 0;
    } else if s.timer_slack_ns == 0 {
        s.timer_slack_ns = s.default_timer_slack_ns;
    }
    Ok(0)
}

/// A `sched_param` (its one field, the real-time priority); `EINVAL` for a null pointer.
fn read_param(ctx: &mut Ctx<'_>, a: &Args, i: usize) -> Result<u32, Errno> {
    if a.addr(i).is_null() || a.i32(0) < 0 {
        return Err(Errno::EINVAL);
    }
    ctx.read_val(a.addr(i))
}

pub(crate) fn sys_sched_setscheduler(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let priority = read_param(ctx, a, 2)?;
    let pol = a.u32(1);
    let req = Request {
        policy: pol & !RESET_ON_FORK,
        priority,
        nice: None,
        reset_on_fork: pol & RESET_ON_FORK != 0,
        dl: DlParams::default(),
    };
    set_scheduler(ctx, a.i32(0), req)
}

pub(crate) fn sys_sched_setparam(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let priority = read_param(ctx, a, 1)?;
    let cur = sched_of(ctx, a.i32(0))?;
    let req = Request {
        policy: cur.policy,
        priority,
        nice: None,
        reset_on_fork: cur.reset_on_fork,
        dl: DlParams::default(),
    };
    set_scheduler(ctx, a.i32(0), req)
}

pub(crate) fn sys_sched_getscheduler(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if a.i32(0) < 0 {
        return Err(Errno::EINVAL);
    }
    let s = sched_of(ctx, a.i32(0))?;
    Ok(u64::from(
        s.policy | if s.reset_on_fork { RESET_ON_FORK } else { 0 },
    ))
}

pub(crate) fn sys_sched_getparam(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if a.addr(1).is_null() || a.i32(0) < 0 {
        return Err(Errno::EINVAL);
    }
    let s = sched_of(ctx, a.i32(0))?;
    ctx.write_val(a.addr(1), &s.rt_priority)?;
    Ok(0)
}

/// `sched_setattr(pid, attr, flags)`: the size protocol of Linux's `sched_copy_attr` (a
/// wrong size is `E2BIG`, and the size uml knows is written back), then as
/// `sched_setscheduler` with the nice value for the normal policies.
pub(crate) fn sys_sched_setattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (pid, uattr) = (a.i32(0), a.addr(1));
    if uattr.is_null() || pid < 0 || a.u32(2) != 0 {
        return Err(Errno::EINVAL);
    }
    let size = match ctx.read_val::<u32>(uattr)? {
        0 => ATTR_SIZE_VER0,
        s => s,
    };
    if !(ATTR_SIZE_VER0..=ATTR_SIZE_MAX).contains(&size) {
        ctx.write_val(uattr, &ATTR_SIZE_VER1)?;
        return Err(Errno::E2BIG);
    }
    let mut raw = vec![0u8; size as usize];
    ctx.copy_in(uattr, &mut raw)?;
    if raw.iter().skip(ATTR_SIZE_VER1 as usize).any(|&b| b != 0) {
        ctx.write_val(uattr, &ATTR_SIZE_VER1)?;
        return Err(Errno::E2BIG);
    }
    let mut attr = SchedAttr::default();
    let known = (size as usize).min(std::mem::size_of::<SchedAttr>());
    bytemuck::bytes_of_mut(&mut attr)[..known].copy_from_slice(&raw[..known]);
    if attr.flags & !FLAG_ALL != 0 || attr.policy > i32::MAX as u32 {
        return Err(Errno::EINVAL);
    }
    let cur = sched_of(ctx, pid)?;
    let pol = if attr.flags & FLAG_KEEP_POLICY != 0 {
        cur.policy
    } else {
        attr.policy
    };
    // The nice value applies to SCHED_OTHER and SCHED_BATCH; SCHED_IDLE keeps the one it
    // has (as Linux 6.x does).
    let (priority, nice, dl) = if attr.flags & FLAG_KEEP_PARAMS != 0 {
        (cur.rt_priority, None, cur.dl)
    } else {
        let normal = matches!(pol, policy::OTHER | policy::BATCH);
        let dl = DlParams {
            runtime: attr.runtime,
            deadline: attr.deadline,
            // Linux's __setparam_dl: no period is the deadline.
            period: if attr.period == 0 {
                attr.deadline
            } else {
                attr.period
            },
            flags: attr.flags & FLAG_DL,
        };
        (attr.priority, normal.then_some(attr.nice), dl)
    };
    let req = Request {
        policy: pol,
        priority,
        nice,
        reset_on_fork: attr.flags & FLAG_RESET_ON_FORK != 0,
        dl,
    };
    set_scheduler(ctx, pid, req)
}

/// `sched_getattr(pid, attr, size, flags)`: at most `size` bytes of the thread's
/// `sched_attr`, whose `size` field says how many were written.
pub(crate) fn sys_sched_getattr(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (pid, uattr, usize_) = (a.i32(0), a.addr(1), a.u32(2));
    if uattr.is_null() || pid < 0 || a.u32(3) != 0 {
        return Err(Errno::EINVAL);
    }
    if !(ATTR_SIZE_VER0..=ATTR_SIZE_MAX).contains(&usize_) {
        return Err(Errno::EINVAL);
    }
    let s = sched_of(ctx, pid)?;
    let size = usize_.min(ATTR_SIZE_VER1);
    let attr = SchedAttr {
        size,
        policy: s.policy,
        flags: if s.reset_on_fork {
            FLAG_RESET_ON_FORK
        } else {
            0
        } | s.dl.flags,
        nice: if s.rt_or_dl() { 0 } else { s.nice },
        priority: s.rt_priority,
        runtime: s.dl.runtime,
        deadline: s.dl.deadline,
        period: s.dl.period,
        util_max: 1024,
        ..SchedAttr::default()
    };
    ctx.copy_out(uattr, &bytemuck::bytes_of(&attr)[..size as usize])?;
    Ok(0)
}

pub(crate) fn sys_sched_get_priority_max(_ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    match a.i32(0) {
        1 | 2 => Ok(99),        // SCHED_FIFO, SCHED_RR
        0 | 3 | 5 | 6 => Ok(0), // SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE
        _ => Err(Errno::EINVAL),
    }
}

pub(crate) fn sys_sched_get_priority_min(_ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    match a.i32(0) {
        1 | 2 => Ok(1),
        0 | 3 | 5 | 6 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub(crate) fn sys_getrusage(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    let peak = ctx.mm.view().peak_resident_pages(ctx.proc.mm);
    // ru_maxrss: the peak resident set, in pages here (Linux's getrusage).
    let (ns, maxrss) = match a.i32(0) {
        RUSAGE_SELF => (ctx.proc.cpu_ns, ctx.proc.maxrss.max(peak)),
        RUSAGE_THREAD => (ctx.thread().cpu_ns, peak),
        RUSAGE_CHILDREN => (ctx.proc.children_cpu_ns, ctx.proc.children_maxrss),
        _ => return Err(Errno::EINVAL),
    };
    // struct rusage: ru_utime, ru_stime (timevals), then 14 longs, ru_maxrss (KiB) first.
    // All guest time is counted as user time: the kernel's own work happens outside the
    // guest.
    let mut ru = [0i64; 18];
    ru[0] = (ns / 1_000_000_000) as i64;
    ru[1] = ((ns % 1_000_000_000) / 1000) as i64;
    ru[4] = (maxrss * (abi::PAGE_SIZE / 1024)) as i64;
    ctx.write_val(a.addr(1), &ru)?;
    Ok(0)
}
