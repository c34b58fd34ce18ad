//! SysV semaphores: `semget`, `semop`, `semtimedop`, `semctl`.
//!
//! A `semop` applies all its operations or none (Linux's `perform_atomic_semop`, in the
//! order given): an operation that cannot proceed makes the whole call wait (or fail with
//! `EAGAIN` under `IPC_NOWAIT`); a result past `SEMVMX`, or an undo adjustment past
//! `SEMAEM`, is `ERANGE`. A waiting call waits on its blocking operation's key (counted by
//! `GETNCNT`/`GETZCNT`) and on the set's, which every change of the set wakes; it then
//! tries again, and fails with `EIDRM` if the set was removed, `EAGAIN` at its timeout and
//! `EINTR` on any signal (semop is never restarted, even after a stop: signal(7)).
//! `SEM_UNDO` adjustments belong to the process (its threads share them) and are applied
//! when it exits, clamped to `0..=SEMVMX`; `SETVAL`/`SETALL` clear them.

use abi::ipc::*;
use abi::structs::Timespec;
use abi::{Errno, SysResult, UserAddr};

use super::{key, now, sysctl_values, wait, Found, Ids, Ipc, Object, Perm};
use crate::{Args, Ctx, OnSignal, WaitKey};

/// `SEMAEM`: the largest undo adjustment.
const SEMAEM: i32 = SEMVMX;
/// Linux's fixed `seminfo` fields.
const SEMUSZ: i32 = 20;

/// One semaphore.
#[derive(Clone, Copy, Debug, Default)]
struct Sem {
    val: i32,
    pid: i32,
}

/// One semaphore set.
pub struct SemSet {
    perm: Perm,
    sems: Vec<Sem>,
    otime: i64,
    ctime: i64,
}

impl Object for SemSet {
    fn perm(&self) -> &Perm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut Perm {
        &mut self.perm
    }
}

/// `kernel/sem`: (semmsl, semmns, semopm, semmni).
fn limits(ctx: &Ctx<'_>) -> [i32; 4] {
    let v = sysctl_values(ctx, "kernel/sem");
    let at = |i: usize| v.get(i).copied().unwrap_or(0).min(i32::MAX as u64) as i32;
    [at(0), at(1), at(2), at(3)]
}

fn total_sems(ids: &Ids<SemSet>) -> usize {
    ids.iter().map(|(_, s)| s.sems.len()).sum()
}

pub(crate) fn sys_semget(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (k, nsems, flg) = (a.i32(0), a.i32(1), a.i32(2));
    let [semmsl, semmns, _, semmni] = limits(ctx);
    if nsems < 0 || nsems > semmsl {
        return Err(Errno::EINVAL);
    }
    match ctx.procs.ipc.sem.lookup(k, flg)? {
        Found::Existing(id) => {
            if (ctx.procs.ipc.sem.get(id)?.sems.len() as i32) < nsems {
                return Err(Errno::EINVAL);
            }
            Ok(ctx.procs.ipc.sem.access(id, ctx.proc, flg)? as u64)
        }
        Found::Create => {
            if nsems == 0 {
                return Err(Errno::EINVAL);
            }
            if total_sems(&ctx.procs.ipc.sem) + nsems as usize > semmns.max(0) as usize {
                return Err(Errno::ENOSPC);
            }
            let set = SemSet {
                perm: Perm::new(k, flg, ctx.proc),
                sems: vec![Sem::default(); nsems as usize],
                otime: 0,
                ctime: now(),
            };
            Ok(super::insert(ctx, |i| &mut i.sem, "kernel/sem_next_id", set, semmni)? as u64)
        }
    }
}

/// What trying a `semop` found.
enum Tried {
    /// Applied.
    Done,
    /// Operation on semaphore `num` cannot proceed: it waits for zero (`zero`) or for an
    /// increase; `nowait`: it has `IPC_NOWAIT`.
    Blocks { num: u16, zero: bool, nowait: bool },
}

/// Linux's `perform_atomic_semop`: applies `sops` to `set` (and the caller's undo entry
/// `adj`) if all of them can proceed.
fn try_ops(
    set: &mut SemSet,
    adj: &mut Vec<i32>,
    sops: &[SemBuf],
    pid: i32,
) -> Result<Tried, Errno> {
    let mut vals: Vec<i32> = set.sems.iter().map(|s| s.val).collect();
    let mut new_adj = adj.clone();
    new_adj.resize(vals.len(), 0);
    for op in sops {
        let n = op.num as usize;
        let cur = vals[n];
        let blocks = Tried::Blocks {
            num: op.num,
            zero: op.op == 0,
            nowait: op.flg & IPC_NOWAIT as i16 != 0,
        };
        if op.op == 0 {
            if cur != 0 {
                return Ok(blocks);
            }
            continue;
        }
        let r = cur + i32::from(op.op);
        if r < 0 {
            return Ok(blocks);
        }
        if r > SEMVMX {
            return Err(Errno::ERANGE);
        }
        if op.flg & SEM_UNDO != 0 {
            let u = new_adj[n] - i32::from(op.op);
            if !(-SEMAEM - 1..=SEMAEM).contains(&u) {
                return Err(Errno::ERANGE);
            }
            new_adj[n] = u;
        }
        vals[n] = r;
    }
    for (s, v) in set.sems.iter_mut().zip(vals) {
        s.val = v;
    }
    for op in sops {
        set.sems[op.num as usize].pid = pid;
    }
    set.otime = now();
    *adj = new_adj;
    Ok(Tried::Done)
}

fn do_semtimedop(ctx: &mut Ctx<'_>, a: &Args, timeout: Option<Timespec>) -> SysResult {
    let (id, at, nsops) = (a.i32(0), a.addr(1), a.raw(2) as u32);
    let [_, _, semopm, _] = limits(ctx);
    if nsops < 1 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if nsops as i64 > i64::from(semopm) {
        return Err(Errno::E2BIG);
    }
    Ctx::access_ok(at, u64::from(nsops) * 6)?;
    let mut sops = vec![SemBuf::default(); nsops as usize];
    ctx.copy_in(at, bytemuck::cast_slice_mut(&mut sops))?;
    let deadline = match timeout {
        None => None,
        Some(ts) => {
            if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
                return Err(Errno::EINVAL);
            }
            let d = std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
            Some(ctx.deadline_after(d))
        }
    };
    let max = sops.iter().map(|s| s.num).max().unwrap_or(0);
    let undo = sops.iter().any(|s| s.flg & SEM_UNDO != 0);
    let alter = sops.iter().any(|s| s.op != 0);
    let pid = ctx.proc.pid;
    let waited = ctx.restart.waited;
    let ipc = &mut ctx.procs.ipc;
    let set = match ipc.sem.get_mut(id) {
        Ok(s) => s,
        Err(_) if waited => return Err(Errno::EIDRM),
        Err(e) => return Err(e),
    };
    if usize::from(max) >= set.sems.len() {
        return Err(Errno::EFBIG);
    }
    set.perm
        .check(ctx.proc, if alter { 0o222 } else { 0o444 })?;
    let mut adj = ipc.undo.get(&(pid, id)).cloned().unwrap_or_default();
    let set = ipc.sem.get_mut(id)?;
    match try_ops(set, &mut adj, &sops, pid)? {
        Tried::Done => {
            if undo {
                ipc.undo.insert((pid, id), adj);
            }
            if alter {
                ctx.wake(key(wait::SEM_SET, id, 0));
            }
            Ok(0)
        }
        Tried::Blocks { num, zero, nowait } => {
            if nowait {
                return Err(Errno::EAGAIN);
            }
            let expired = deadline.is_some_and(|d| nondet::ktime_get() >= d);
            if expired {
                return Err(Errno::EAGAIN);
            }
            ctx.on_signal(OnSignal::Intr);
            let kind = if zero { wait::SEM_Z } else { wait::SEM_N };
            ctx.also_block_on(&[key(wait::SEM_SET, id, 0)]);
            let k = key(kind, id, u32::from(num));
            Err(match deadline {
                Some(d) => ctx.block_until(k, d),
                None => ctx.block_on(k),
            })
        }
    }
}

pub(crate) fn sys_semop(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    do_semtimedop(ctx, a, None)
}

pub(crate) fn sys_semtimedop(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let at = a.addr(3);
    let ts = if at.is_null() {
        None
    } else {
        Some(ctx.read_val::<Timespec>(at)?)
    };
    do_semtimedop(ctx, a, ts)
}

/// Clears the undo adjustments of semaphore `num` of set `id` (every one for `None`).
fn clear_undo(ipc: &mut Ipc, id: i32, num: Option<usize>) {
    for ((_, semid), adj) in ipc.undo.iter_mut() {
        if *semid != id {
            continue;
        }
        match num {
            Some(n) => {
                if let Some(a) = adj.get_mut(n) {
                    *a = 0;
                }
            }
            None => adj.iter_mut().for_each(|a| *a = 0),
        }
    }
}

fn stat(set: &SemSet) -> SemidDs {
    SemidDs {
        perm: set.perm.to_abi(),
        otime: set.otime,
        ctime: set.ctime,
        nsems: set.sems.len() as u64,
        ..SemidDs::default()
    }
}

pub(crate) fn sys_semctl(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (id, num, cmd, arg) = (a.i32(0), a.i32(1), a.i32(2), a.raw(3));
    let buf = UserAddr(arg);
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let pid = ctx.proc.pid;
    match cmd {
        IPC_INFO | SEM_INFO => {
            let [semmsl, semmns, semopm, semmni] = limits(ctx);
            let ipc = &ctx.procs.ipc;
            let info = SemInfo {
                semmap: semmns,
                semmni,
                semmns,
                semmnu: semmns,
                semmsl,
                semopm,
                semume: semopm,
                semusz: if cmd == SEM_INFO {
                    ipc.sem.len() as i32
                } else {
                    SEMUSZ
                },
                semvmx: SEMVMX,
                semaem: if cmd == SEM_INFO {
                    total_sems(&ipc.sem) as i32
                } else {
                    SEMAEM
                },
            };
            let max = ipc.sem.max_idx();
            ctx.write_val(buf, &info)?;
            Ok(max as u64)
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let (full, set) = if cmd == IPC_STAT {
                (id, ctx.procs.ipc.sem.get(id)?)
            } else {
                ctx.procs.ipc.sem.by_index(id)?
            };
            if cmd != SEM_STAT_ANY {
                set.perm.check(ctx.proc, 0o444)?;
            }
            let ds = stat(set);
            ctx.write_val(buf, &ds)?;
            Ok(if cmd == IPC_STAT { 0 } else { full as u64 })
        }
        GETVAL | GETPID | GETNCNT | GETZCNT => {
            let set = ctx.procs.ipc.sem.get(id)?;
            set.perm.check(ctx.proc, 0o444)?;
            let Some(s) = usize::try_from(num).ok().and_then(|n| set.sems.get(n)) else {
                return Err(Errno::EINVAL);
            };
            Ok(match cmd {
                GETVAL => s.val as u64,
                GETPID => s.pid as u64,
                GETNCNT => ctx.sched.queue(key(wait::SEM_N, id, num as u32)).len() as u64,
                _ => ctx.sched.queue(key(wait::SEM_Z, id, num as u32)).len() as u64,
            })
        }
        GETALL => {
            let set = ctx.procs.ipc.sem.get(id)?;
            set.perm.check(ctx.proc, 0o444)?;
            let vals: Vec<u16> = set.sems.iter().map(|s| s.val as u16).collect();
            ctx.copy_out(buf, bytemuck::cast_slice(&vals))?;
            Ok(0)
        }
        SETVAL => {
            let val = arg as u32 as i32;
            if !(0..=SEMVMX).contains(&val) {
                return Err(Errno::ERANGE);
            }
            let set = ctx.procs.ipc.sem.get_mut(id)?;
            let Some(n) = usize::try_from(num).ok().filter(|&n| n < set.sems.len()) else {
                return Err(Errno::EINVAL);
            };
            set.perm.check(ctx.proc, 0o222)?;
            set.sems[n] = Sem { val, pid };
            set.ctime = now();
            clear_undo(&mut ctx.procs.ipc, id, Some(n));
            ctx.wake(key(wait::SEM_SET, id, 0));
            Ok(0)
        }
        SETALL => {
            let set = ctx.procs.ipc.sem.get(id)?;
            set.perm.check(ctx.proc, 0o222)?;
            let mut vals = vec![0u16; set.sems.len()];
            ctx.copy_in(buf, bytemuck::cast_slice_mut(&mut vals))?;
            if vals.iter().any(|&v| i32::from(v) > SEMVMX) {
                return Err(Errno::ERANGE);
            }
            let set = ctx.procs.ipc.sem.get_mut(id)?;
            for (s, v) in set.sems.iter_mut().zip(vals) {
                *s = Sem {
                    val: i32::from(v),
                    pid,
                };
            }
            set.ctime = now();
            clear_undo(&mut ctx.procs.ipc, id, None);
            ctx.wake(key(wait::SEM_SET, id, 0));
            Ok(0)
        }
        IPC_SET => {
            let ds: SemidDs = ctx.read_val(buf)?;
            let set = ctx.procs.ipc.sem.get_mut(id)?;
            set.perm.check_owner(ctx.proc)?;
            set.perm.set(&ds.perm);
            set.ctime = now();
            Ok(0)
        }
        IPC_RMID => {
            let set = ctx.procs.ipc.sem.get(id)?;
            set.perm.check_owner(ctx.proc)?;
            let ipc = &mut ctx.procs.ipc;
            ipc.sem.remove(id);
            ipc.undo.retain(|&(_, semid), _| semid != id);
            ctx.wake(key(wait::SEM_SET, id, 0));
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Applies the exiting process `pid`'s undo adjustments; the keys to wake.
pub(crate) fn exit(ipc: &mut Ipc, pid: i32) -> Vec<WaitKey> {
    let mine: Vec<(i32, Vec<i32>)> = ipc
        .undo
        .range((pid, i32::MIN)..=(pid, i32::MAX))
        .map(|(&(_, id), adj)| (id, adj.clone()))
        .collect();
    let mut wake = Vec::new();
    for (id, adj) in mine {
        ipc.undo.remove(&(pid, id));
        let Ok(set) = ipc.sem.get_mut(id) else {
            continue;
        };
        let mut changed = false;
        for (s, &d) in set.sems.iter_mut().zip(&adj) {
            if d != 0 {
                s.val = (s.val + d).clamp(0, SEMVMX);
                s.pid = pid;
                changed = true;
            }
        }
        if changed {
            wake.push(key(wait::SEM_SET, id, 0));
        }
    }
    wake
}

/// `/proc/sysvipc/sem`.
pub(crate) fn proc_file(ipc: &Ipc) -> Vec<u8> {
    let mut out = String::from(
        "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n",
    );
    for (id, s) in ipc.sem.iter() {
        let p = &s.perm;
        out.push_str(&format!(
            "{:10} {:10}  {:4o} {:10} {:5} {:5} {:5} {:5} {:10} {:10}\n",
            p.key,
            id,
            p.mode,
            s.sems.len(),
            p.uid,
            p.gid,
            p.cuid,
            p.cgid,
            s.otime,
            s.ctime
        ));
    }
    out.into_bytes()
}

/// What the unit tests use of this module.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// A set with these values.
    pub fn set_of(vals: &[i32]) -> SemSet {
        SemSet {
            perm: Perm::default(),
            sems: vals.iter().map(|&val| Sem { val, pid: 0 }).collect(),
            otime: 0,
            ctime: 0,
        }
    }

    /// The set's values.
    pub fn values(set: &SemSet) -> Vec<i32> {
        set.sems.iter().map(|s| s.val).collect()
    }

    /// [`try_ops`]: whether the operations were applied.
    pub fn try_ops_for_test(
        set: &mut SemSet,
        adj: &mut Vec<i32>,
        ops: &[SemBuf],
    ) -> Result<bool, Errno> {
        try_ops(set, adj, ops, 1).map(|t| matches!(t, Tried::Done))
    }
}
