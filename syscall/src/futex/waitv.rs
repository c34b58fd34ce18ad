//! `futex_waitv(2)`: waiting on several futexes at once (Linux's `futex_wait_multiple`).

use abi::flags::clock;
use abi::{Errno, SysResult, UserAddr};

use super::{absolute_deadline, key, read_word, FUTEX_PRIVATE_FLAG};
use crate::{Args, Ctx, WaitKey};

/// The size flag of a 32-bit futex, which every entry must carry.
const FUTEX2_SIZE_U32: u32 = 2;
/// Most entries of one call (`FUTEX_WAITV_MAX`).
const FUTEX_WAITV_MAX: u32 = 128;
/// `struct futex_waitv`: value (u64), address (u64), flags (u32), reserved (u32).
const ENTRY: u64 = 24;

/// One entry of the guest's array.
struct Entry {
    val: u64,
    addr: UserAddr,
    private: bool,
}

fn read_entries(ctx: &mut Ctx<'_>, at: UserAddr, n: u32) -> Result<Vec<Entry>, Errno> {
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..u64::from(n) {
        let mut b = [0u8; ENTRY as usize];
        ctx.copy_in(UserAddr(at.0.wrapping_add(i * ENTRY)), &mut b)?;
        let word = |r: std::ops::Range<usize>| {
            let mut v = [0u8; 8];
            v[..r.len()].copy_from_slice(&b[r]);
            u64::from_ne_bytes(v)
        };
        let (val, addr) = (word(0..8), word(8..16));
        let (flags, reserved) = (word(16..20) as u32, word(20..24) as u32);
        let known = FUTEX2_SIZE_U32 | FUTEX_PRIVATE_FLAG as u32;
        if flags & !known != 0 || reserved != 0 || flags & FUTEX2_SIZE_U32 == 0 {
            return Err(Errno::EINVAL);
        }
        out.push(Entry {
            val,
            addr: UserAddr(addr),
            private: flags & FUTEX_PRIVATE_FLAG as u32 != 0,
        });
    }
    Ok(out)
}

pub(crate) fn sys_futex_waitv(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (waiters, n, flags, timeout, clockid) =
        (a.addr(0), a.u32(1), a.u32(2), a.addr(3), a.i32(4));
    if flags != 0 || n == 0 || n > FUTEX_WAITV_MAX || waiters.is_null() {
        return Err(Errno::EINVAL);
    }
    let deadline = if timeout.is_null() {
        None
    } else {
        if clockid != clock::REALTIME && clockid != clock::MONOTONIC {
            return Err(Errno::EINVAL);
        }
        let abs = crate::time::read_timeout(ctx, timeout)?.ok_or(Errno::EFAULT)?;
        Some(absolute_deadline(ctx, abs, clockid == clock::REALTIME)?)
    };
    let entries = read_entries(ctx, waiters, n)?;
    let keys = entries
        .iter()
        .map(|e| key(ctx, e.addr, e.private, false).map(WaitKey::Futex))
        .collect::<Result<Vec<WaitKey>, Errno>>()?;
    // Woken: the index of the futex whose wake it was.
    if ctx.restart.woken {
        let by = ctx.restart.woken_by;
        let index = keys.iter().position(|&k| Some(k) == by).unwrap_or(0);
        return Ok(index as u64);
    }
    let expired = || deadline.is_some_and(|at| nondet::ktime_get() >= at);
    if ctx.restart.waited && expired() {
        return Err(Errno::ETIMEDOUT);
    }
    for e in &entries {
        // A 32-bit futex compares the low word of the value.
        if read_word(ctx, e.addr)? != e.val as u32 {
            return Err(Errno::EAGAIN);
        }
    }
    if expired() {
        return Err(Errno::ETIMEDOUT);
    }
    ctx.also_block_on(&keys[1..]);
    match deadline {
        Some(at) => Err(ctx.block_until(keys[0], at)),
        None => Err(ctx.block_on(keys[0])),
    }
}
