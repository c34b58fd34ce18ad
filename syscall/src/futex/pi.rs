//! PI futexes: `FUTEX_LOCK_PI(2)`, `FUTEX_TRYLOCK_PI`, `FUTEX_UNLOCK_PI` (Linux's `pi.c`).
//!
//! The word is the lock: 0 when free, else the owner's tid, with `FUTEX_WAITERS` when
//! someone waits in the kernel (so the owner unlocks through the kernel) and
//! `FUTEX_OWNER_DIED` when a robust owner died holding it. A locker that finds it held
//! sets `FUTEX_WAITERS` and blocks on `WaitKey::FutexPi`; it is recorded in the owner's
//! `pi_state` so that the owner's exit wakes it. `FUTEX_UNLOCK_PI` writes the first
//! waiter's tid (with `FUTEX_WAITERS`) and wakes it: the lock is its own when it runs. A
//! waiter woken because the owner died takes the lock over, keeping `FUTEX_OWNER_DIED`.
//! Priority inheritance is nominal: uml's scheduler gives priorities no real-time
//! treatment, so there is nothing to boost; waiters are served first blocked first.

use std::time::Instant;

use abi::{Errno, SysResult, UserAddr};

use super::{
    key, pi_key, read_word, task_alive, write_word, FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS,
};
use crate::{Ctx, OnSignal, WaitKey};

/// `FUTEX_LOCK_PI` (`trylock`: `FUTEX_TRYLOCK_PI`): takes the PI lock at `addr`, blocking
/// until it is handed over, the deadline passes (`ETIMEDOUT`) or, with `trylock`,
/// failing with `EAGAIN` at once.
pub(super) fn lock_pi(
    ctx: &mut Ctx<'_>,
    addr: UserAddr,
    private: bool,
    deadline: Option<Instant>,
    trylock: bool,
) -> SysResult {
    let k = key(ctx, addr, private, true)?;
    let waiters = pi_key(k);
    let me = ctx.tid as u32 & FUTEX_TID_MASK;
    let woken = ctx.restart.woken;
    let expired = || deadline.is_some_and(|at| nondet::ktime_get() >= at);
    if !woken && ctx.restart.waited && expired() {
        return Err(Errno::ETIMEDOUT);
    }
    let uval = read_word(ctx, addr)?;
    let owner = uval & FUTEX_TID_MASK;
    if owner == me {
        // Handed over by the unlocker while this task waited; else a second lock.
        return if woken { Ok(0) } else { Err(Errno::EDEADLK) };
    }
    let others = !ctx.queue(waiters).is_empty();
    if owner == 0 {
        // Free, or freed by a dead owner's robust list: take it (a waiter woken by that
        // death keeps FUTEX_WAITERS, as Linux's owner fix-up does).
        let waiters_bit = if others || woken { FUTEX_WAITERS } else { 0 };
        write_word(ctx, addr, (uval & FUTEX_OWNER_DIED) | me | waiters_bit)?;
        return Ok(0);
    }
    if woken && !task_alive(ctx, owner as i32) {
        // The owner exited holding it (Linux's `exit_pi_state_list` hands it to the first
        // waiter, which sets itself as the owner).
        write_word(ctx, addr, (uval & FUTEX_OWNER_DIED) | me | FUTEX_WAITERS)?;
        return Ok(0);
    }
    // The first waiter sets FUTEX_WAITERS before it looks for the owner, as Linux's.
    if uval & FUTEX_WAITERS == 0 {
        write_word(ctx, addr, uval | FUTEX_WAITERS)?;
    }
    if !task_alive(ctx, owner as i32) {
        return Err(Errno::ESRCH);
    }
    if trylock {
        return Err(Errno::EAGAIN);
    }
    if expired() {
        return Err(Errno::ETIMEDOUT);
    }
    record_waiter(ctx, owner as i32, waiters);
    ctx.on_signal(OnSignal::RestartNoIntr);
    match deadline {
        Some(at) => Err(ctx.block_until(waiters, at)),
        None => Err(ctx.block_on(waiters)),
    }
}

/// `FUTEX_UNLOCK_PI`: releases the PI lock at `addr` the caller owns (`EPERM` otherwise),
/// handing it to the first waiter if there is one.
pub(super) fn unlock_pi(ctx: &mut Ctx<'_>, addr: UserAddr, private: bool) -> SysResult {
    let uval: u32 = ctx.read_val(addr)?;
    let me = ctx.tid as u32 & FUTEX_TID_MASK;
    if uval & FUTEX_TID_MASK != me {
        return Err(Errno::EPERM);
    }
    let k = key(ctx, addr, private, true)?;
    let waiters = pi_key(k);
    forget_waiters(ctx, ctx.tid, waiters);
    let Some(top) = ctx.queue(waiters).first().copied() else {
        // Plain waiters on a PI futex: the word was not used as a PI lock.
        if !ctx.queue(WaitKey::Futex(k)).is_empty() {
            return Err(Errno::EINVAL);
        }
        write_word(ctx, addr, 0)?;
        return Ok(0);
    };
    let new_owner = top.task.0 & FUTEX_TID_MASK;
    write_word(ctx, addr, new_owner | FUTEX_WAITERS)?;
    ctx.wake_some(waiters, 1);
    if !ctx.queue(waiters).is_empty() {
        record_waiter(ctx, new_owner as i32, waiters);
    }
    Ok(0)
}

/// Records in thread `owner`'s `pi_state` that tasks wait for its PI lock `waiters`.
fn record_waiter(ctx: &mut Ctx<'_>, owner: i32, waiters: WaitKey) {
    if let Some(t) = owner_thread(ctx, owner) {
        if !t.pi_state.contains(&waiters) {
            t.pi_state.push(waiters);
        }
    }
}

/// Forgets that tasks wait for `owner`'s PI lock `waiters` (it released it).
fn forget_waiters(ctx: &mut Ctx<'_>, owner: i32, waiters: WaitKey) {
    if let Some(t) = owner_thread(ctx, owner) {
        t.pi_state.retain(|&k| k != waiters);
    }
}

/// Thread `tid`'s state, in the caller's process or another.
fn owner_thread<'c>(ctx: &'c mut Ctx<'_>, tid: i32) -> Option<&'c mut crate::Thread> {
    if ctx.proc.threads.contains_key(&tid) {
        return ctx.proc.threads.get_mut(&tid);
    }
    let pid = ctx.procs.tgid_of(tid)?;
    ctx.procs.get_mut(pid)?.threads.get_mut(&tid)
}
