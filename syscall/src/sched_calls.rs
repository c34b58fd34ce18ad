//! Scheduling and resource-usage queries: affinity, CPU number, priorities, policies and
//! `getrusage`. uml is one CPU (UML's model), so the guest sees CPU 0 only.

use abi::{Errno, SysResult};

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

pub(crate) fn sys_sched_setaffinity(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    check_pid(ctx, a.i32(0))?;
    let len = a.len(1).min(8) as usize;
    let mut mask = [0u8; 8];
    ctx.copy_in(a.addr(2), &mut mask[..len])?;
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

pub(crate) fn sys_getpriority(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    // PRIO_PROCESS, PRIO_PGRP, PRIO_USER; every process has nice 0 (returned as 20 - nice).
    if a.u32(0) > 2 {
        return Err(Errno::EINVAL);
    }
    if a.u32(0) == 0 {
        check_pid(ctx, a.i32(1))?;
    }
    Ok(20)
}

pub(crate) fn sys_setpriority(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if a.u32(0) > 2 {
        return Err(Errno::EINVAL);
    }
    if a.u32(0) == 0 {
        check_pid(ctx, a.i32(1))?;
    }
    // Lowering the nice value needs CAP_SYS_NICE; raising it is accepted (and not modelled).
    if a.i32(2) < 0 && ctx.proc.cred.euid != 0 {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub(crate) fn sys_sched_getscheduler(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    check_pid(ctx, a.i32(0))?;
    Ok(0) // SCHED_OTHER
}

pub(crate) fn sys_sched_getparam(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    check_pid(ctx, a.i32(0))?;
    ctx.write_val(a.addr(1), &0i32)?;
    Ok(0)
}

pub(crate) fn sys_sched_get_priority_max(_ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    match a.i32(0) {
        1 | 2 => Ok(99),    // SCHED_FIFO, SCHED_RR
        0 | 3 | 5 => Ok(0), // SCHED_OTHER, SCHED_BATCH, SCHED_IDLE
        _ => Err(Errno::EINVAL),
    }
}

pub(crate) fn sys_sched_get_priority_min(_ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    match a.i32(0) {
        1 | 2 => Ok(1),
        0 | 3 | 5 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub(crate) fn sys_getrusage(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    let ns = match a.i32(0) {
        RUSAGE_SELF => ctx.proc.cpu_ns,
        RUSAGE_THREAD => ctx.thread().cpu_ns,
        RUSAGE_CHILDREN => ctx.proc.children_cpu_ns,
        _ => return Err(Errno::EINVAL),
    };
    // struct rusage: ru_utime, ru_stime (timevals), then 14 longs. All guest time is
    // counted as user time: the kernel's own work happens outside the guest.
    let mut ru = [0i64; 18];
    ru[0] = (ns / 1_000_000_000) as i64;
    ru[1] = ((ns % 1_000_000_000) / 1000) as i64;
    ctx.write_val(a.addr(1), &ru)?;
    Ok(0)
}
