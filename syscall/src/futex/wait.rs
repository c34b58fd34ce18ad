//! The plain futex operations: `FUTEX_WAIT(_BITSET)`, `FUTEX_WAKE(_BITSET)`,
//! `FUTEX_(CMP_)REQUEUE` and `FUTEX_WAKE_OP` (Linux's `waitwake.c` and `requeue.c`).

use std::time::Instant;

use abi::{Errno, SysResult, UserAddr};

use super::{key, pi_key, read_word, wake_count, write_word};
use crate::{Ctx, OnSignal, WaitKey};

/// `FUTEX_WAIT_BITSET`: blocks while the word at `addr` holds `val`, until a wake whose
/// bitset intersects `bitset`, the deadline or a signal.
pub(super) fn wait(
    ctx: &mut Ctx<'_>,
    addr: UserAddr,
    val: u32,
    private: bool,
    deadline: Option<Instant>,
    bitset: u32,
) -> SysResult {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    // Running again after blocking: woken by a wake of this futex (0), at the deadline
    // (`ETIMEDOUT`), or by a signal that interrupted nothing (a stop and continue, or a
    // signal another thread took): then the wait starts over, as Linux's restart does.
    let expired = || deadline.is_some_and(|at| nondet::ktime_get() >= at);
    if ctx.restart.woken {
        return Ok(0);
    }
    if ctx.restart.waited && expired() {
        return Err(Errno::ETIMEDOUT);
    }
    let k = key(ctx, addr, private, false)?;
    if read_word(ctx, addr)? != val {
        return Err(Errno::EAGAIN);
    }
    if expired() {
        return Err(Errno::ETIMEDOUT);
    }
    ctx.wait_bitset(bitset);
    match deadline {
        Some(at) => {
            // A timed wait is restarted through its restart block: never after a handler.
            ctx.on_signal(OnSignal::RestartNoHand);
            Err(ctx.block_until(WaitKey::Futex(k), at))
        }
        None => Err(ctx.block_on(WaitKey::Futex(k))),
    }
}

/// `FUTEX_WAKE_BITSET`: wakes at most `n` waiters of the futex at `addr` whose bitset
/// intersects `bitset`; returns how many.
pub(super) fn wake(
    ctx: &mut Ctx<'_>,
    addr: UserAddr,
    private: bool,
    n: i32,
    bitset: u32,
) -> SysResult {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let k = key(ctx, addr, private, false)?;
    wake_plain(ctx, WaitKey::Futex(k), n, bitset)
}

/// Wakes at most `n` (at least one) plain waiters of `key`: `EINVAL` if PI waiters wait
/// there (a plain wake never wakes a PI waiter).
fn wake_plain(ctx: &mut Ctx<'_>, key: WaitKey, n: i32, bitset: u32) -> SysResult {
    if let WaitKey::Futex(k) = key {
        if !ctx.queue(pi_key(k)).is_empty() {
            return Err(Errno::EINVAL);
        }
    }
    Ok(ctx.wake_bitset(key, wake_count(n), bitset) as u64)
}

/// `FUTEX_REQUEUE` and `FUTEX_CMP_REQUEUE` (`cmp`: the value the word at `addr` must
/// hold, else `EAGAIN`): wakes `n_wake` waiters of the first futex and moves at most
/// `n_requeue` of the others to the second; returns how many it woke and moved.
pub(super) fn requeue(
    ctx: &mut Ctx<'_>,
    addr: UserAddr,
    addr2: UserAddr,
    private: bool,
    n_wake: i32,
    n_requeue: i32,
    cmp: Option<u32>,
) -> SysResult {
    if n_wake < 0 || n_requeue < 0 {
        return Err(Errno::EINVAL);
    }
    let k1 = key(ctx, addr, private, false)?;
    let k2 = key(ctx, addr2, private, false)?;
    if let Some(want) = cmp {
        if read_word(ctx, addr)? != want {
            return Err(Errno::EAGAIN);
        }
    }
    if !ctx.queue(pi_key(k1)).is_empty() {
        return Err(Errno::EINVAL);
    }
    let (from, to) = (WaitKey::Futex(k1), WaitKey::Futex(k2));
    let woken = ctx.wake_some(from, n_wake as usize);
    let moved = ctx.requeue(from, to, n_requeue as usize);
    Ok((woken + moved) as u64)
}

/// `FUTEX_OP_*` of `FUTEX_WAKE_OP`'s encoded operation.
const FUTEX_OP_SET: u32 = 0;
const FUTEX_OP_ADD: u32 = 1;
const FUTEX_OP_OR: u32 = 2;
const FUTEX_OP_ANDN: u32 = 3;
const FUTEX_OP_XOR: u32 = 4;
/// `FUTEX_OP_CMP_*`: how the old value compares with the operation's argument.
const FUTEX_OP_CMP_EQ: u32 = 0;
const FUTEX_OP_CMP_NE: u32 = 1;
const FUTEX_OP_CMP_LT: u32 = 2;
const FUTEX_OP_CMP_LE: u32 = 3;
const FUTEX_OP_CMP_GT: u32 = 4;
const FUTEX_OP_CMP_GE: u32 = 5;
/// The operand is a shift count: the operand is `1 << oparg`.
const FUTEX_OP_OPARG_SHIFT: u32 = 8;

/// The 12-bit field of `enc` at `shift`, sign-extended.
fn field12(enc: u32, shift: u32) -> i32 {
    (((enc >> shift) & 0xfff) as i32) << 20 >> 20
}

/// Applies the operation encoded in `enc` to the word at `addr` (Linux's
/// `futex_atomic_op_inuser`): whether the old value passes the encoded comparison.
fn atomic_op(ctx: &mut Ctx<'_>, addr: UserAddr, enc: u32) -> Result<bool, Errno> {
    let op = (enc >> 28) & 0xf;
    let cmp = (enc >> 24) & 0xf;
    let mut oparg = field12(enc, 12);
    let cmparg = field12(enc, 0);
    if op & FUTEX_OP_OPARG_SHIFT != 0 {
        // Linux masks an out-of-range shift (and complains in its log).
        oparg = 1i32.wrapping_shl((oparg & 31) as u32);
    }
    let old = read_word(ctx, addr)?;
    let arg = oparg as u32;
    let new = match op & !FUTEX_OP_OPARG_SHIFT {
        FUTEX_OP_SET => arg,
        FUTEX_OP_ADD => old.wrapping_add(arg),
        FUTEX_OP_OR => old | arg,
        FUTEX_OP_ANDN => old & !arg,
        FUTEX_OP_XOR => old ^ arg,
        _ => return Err(Errno::ENOSYS),
    };
    write_word(ctx, addr, new)?;
    let old = old as i32;
    match cmp {
        FUTEX_OP_CMP_EQ => Ok(old == cmparg),
        FUTEX_OP_CMP_NE => Ok(old != cmparg),
        FUTEX_OP_CMP_LT => Ok(old < cmparg),
        FUTEX_OP_CMP_LE => Ok(old <= cmparg),
        FUTEX_OP_CMP_GT => Ok(old > cmparg),
        FUTEX_OP_CMP_GE => Ok(old >= cmparg),
        _ => Err(Errno::ENOSYS),
    }
}

/// `FUTEX_WAKE_OP`: applies the encoded operation to the word at `addr2`, wakes at most
/// `n` waiters of the first futex and, if the old value of the second word passes the
/// encoded comparison, at most `n2` of the second; returns how many it woke.
pub(super) fn wake_op(
    ctx: &mut Ctx<'_>,
    addr: UserAddr,
    addr2: UserAddr,
    private: bool,
    n: i32,
    n2: i32,
    enc: u32,
) -> SysResult {
    let k1 = key(ctx, addr, private, false)?;
    let k2 = key(ctx, addr2, private, true)?;
    let pass = atomic_op(ctx, addr2, enc)?;
    let mut woken = wake_plain(ctx, WaitKey::Futex(k1), n, sched::MATCH_ANY)?;
    if pass {
        woken += wake_plain(ctx, WaitKey::Futex(k2), n2, sched::MATCH_ANY)?;
    }
    Ok(woken)
}
