//! `futex`: waiting on a word of guest memory.
//!
//! Futexes are keyed by address space and address (process-private and shared futexes
//! alike, since shared memory between processes is not mapped yet). A waiter blocks on
//! `WaitKey::Futex`; when it runs again after blocking, it was woken (or a signal or its
//! timeout came): it returns 0 (or `ETIMEDOUT`) without comparing the word again.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use abi::{Errno, SysResult, UserAddr};

use crate::{Args, Ctx, WaitKey};

const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_REQUEUE: i32 = 3;
const FUTEX_CMP_REQUEUE: i32 = 4;
const FUTEX_WAIT_BITSET: i32 = 9;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_PRIVATE_FLAG: i32 = 128;
const FUTEX_CLOCK_REALTIME: i32 = 256;

/// The wait key of the futex word at `addr` of the calling process.
pub fn key(ctx: &Ctx<'_>, addr: UserAddr) -> WaitKey {
    WaitKey::Futex(ctx.proc.mm.0, addr.0)
}

fn read_word(ctx: &mut Ctx<'_>, addr: UserAddr) -> Result<u32, Errno> {
    if !addr.0.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    ctx.read_val(addr)
}

fn wait(ctx: &mut Ctx<'_>, addr: UserAddr, val: u32, timeout: Option<Instant>) -> SysResult {
    // Running again after blocking: woken, interrupted by an ignored signal (a spurious
    // wake-up, which futex allows), or timed out.
    if ctx.restart.progress == 1 {
        if timeout.is_some_and(|at| Instant::now() >= at) {
            return Err(Errno::ETIMEDOUT);
        }
        return Ok(0);
    }
    if read_word(ctx, addr)? != val {
        return Err(Errno::EAGAIN);
    }
    if timeout.is_some_and(|at| Instant::now() >= at) {
        return Err(Errno::ETIMEDOUT);
    }
    ctx.restart.progress = 1;
    let k = key(ctx, addr);
    match timeout {
        Some(at) => Err(ctx.block_until(k, at)),
        None => Err(ctx.block_on(k)),
    }
}

pub(crate) fn sys_futex(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (addr, op, val) = (a.addr(0), a.i32(1), a.u32(2));
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    match cmd {
        FUTEX_WAIT => {
            let timeout = crate::time::read_timeout(ctx, a.addr(3))?;
            let deadline = timeout.map(|t| ctx.deadline_after(t));
            wait(ctx, addr, val, deadline)
        }
        FUTEX_WAIT_BITSET => {
            if a.u32(5) == 0 {
                return Err(Errno::EINVAL);
            }
            // An absolute timeout on CLOCK_MONOTONIC, or CLOCK_REALTIME with the flag.
            let deadline = match crate::time::read_timeout(ctx, a.addr(3))? {
                None => None,
                Some(abs) => {
                    let now = if op & FUTEX_CLOCK_REALTIME != 0 {
                        SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .unwrap_or_default()
                    } else {
                        let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
                            .map_err(|_| Errno::EINVAL)?;
                        Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
                    };
                    Some(ctx.deadline_after(abs.saturating_sub(now)))
                }
            };
            wait(ctx, addr, val, deadline)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            if cmd == FUTEX_WAKE_BITSET && a.u32(5) == 0 {
                return Err(Errno::EINVAL);
            }
            let k = key(ctx, addr);
            Ok(ctx.wake_some(k, val as usize) as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            if cmd == FUTEX_CMP_REQUEUE && read_word(ctx, addr)? != a.u32(5) {
                return Err(Errno::EAGAIN);
            }
            // Waking every waiter instead of moving some to the second futex is allowed:
            // futex users treat any wake-up as possibly spurious.
            let (k, k2) = (key(ctx, addr), key(ctx, a.addr(4)));
            let n = ctx.wake_some(k, usize::MAX);
            Ok((n + ctx.wake_some(k2, usize::MAX)) as u64)
        }
        _ => Err(Errno::ENOSYS),
    }
}
