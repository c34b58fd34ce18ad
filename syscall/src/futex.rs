//! `futex`: waiting on a word of guest memory.
//!
//! Futexes are keyed by address space and address (process-private and shared futexes
//! alike, since shared memory between processes is not mapped yet). A waiter blocks on
//! `WaitKey::Futex`; when it runs again after blocking, the kernel says whether a wake of
//! the futex woke it (it returns 0 without comparing the word again), else its deadline
//! passed (`ETIMEDOUT`) or a signal came that interrupted nothing (the wait starts over).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use abi::{Errno, SysResult, UserAddr};

use crate::process::Thread;
use crate::{Args, Ctx, OnSignal, WaitKey};

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
    // Running again after blocking: woken by a wake of this futex (0), at the deadline
    // (`ETIMEDOUT`), or by a signal that interrupted nothing (a stop and continue, or a
    // signal another thread took): then the wait starts over, as Linux's restart does.
    let expired = || timeout.is_some_and(|at| Instant::now() >= at);
    if ctx.restart.woken {
        return Ok(0);
    }
    if ctx.restart.waited && expired() {
        return Err(Errno::ETIMEDOUT);
    }
    if read_word(ctx, addr)? != val {
        return Err(Errno::EAGAIN);
    }
    if expired() {
        return Err(Errno::ETIMEDOUT);
    }
    let k = key(ctx, addr);
    match timeout {
        Some(at) => {
            // A timed wait is restarted through its restart block: never after a handler.
            ctx.on_signal(OnSignal::RestartNoHand);
            Err(ctx.block_until(k, at))
        }
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

/// The owner's tid in a robust futex word.
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// A robust futex word: someone waits.
const FUTEX_WAITERS: u32 = 0x8000_0000;
/// A robust futex word: its owner died holding it.
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// Most robust-list entries walked at exit (Linux's `ROBUST_LIST_LIMIT`).
const ROBUST_LIST_LIMIT: usize = 2048;

fn read_u64(mm: &mut mm::MmService, space: mm::MmId, addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    Ctx::access_ok(UserAddr(addr), 8).ok()?;
    mm.copy_in(space, UserAddr(addr), &mut b).ok()?;
    Some(u64::from_ne_bytes(b))
}

/// Linux's `handle_futex_death`: a robust futex at `uaddr` held by `tid` gets
/// `FUTEX_OWNER_DIED` (keeping `FUTEX_WAITERS`); a waiter is to be woken.
fn futex_death(
    mm: &mut mm::MmService,
    space: mm::MmId,
    uaddr: u64,
    tid: i32,
    wake: &mut Vec<WaitKey>,
) {
    let addr = UserAddr(uaddr);
    let mut b = [0u8; 4];
    if !uaddr.is_multiple_of(4)
        || Ctx::access_ok(addr, 4).is_err()
        || mm.copy_in(space, addr, &mut b).is_err()
    {
        return;
    }
    let val = u32::from_ne_bytes(b);
    if val & FUTEX_TID_MASK != tid as u32 {
        return;
    }
    let new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if mm.copy_out(space, addr, &new.to_ne_bytes()).is_ok() && new & FUTEX_WAITERS != 0 {
        wake.push(WaitKey::Futex(space.0, uaddr));
    }
}

/// What a thread's exit does to its address space (Linux's `exit_robust_list` and
/// `mm_release`): every robust futex it still holds is marked `FUTEX_OWNER_DIED`, and its
/// `clear_child_tid` word is zeroed. Returns the futexes on which one waiter is to be woken.
/// Bad guest pointers end the walk silently, as on Linux.
pub fn exit_thread_mm(
    mm: &mut mm::MmService,
    space: mm::MmId,
    tid: i32,
    t: &Thread,
) -> Vec<WaitKey> {
    let mut wake = Vec::new();
    let (head, len) = t.robust_list;
    if head != 0 && len == 24 {
        let offset = read_u64(mm, space, head + 8).map(|o| o as i64);
        let pending = read_u64(mm, space, head + 16).map(|p| p & !1);
        if let (Some(offset), Some(pending)) = (offset, pending) {
            let mut entry = read_u64(mm, space, head).map(|e| e & !1);
            let mut n = 0;
            while let Some(e) = entry.filter(|&e| e != head && n < ROBUST_LIST_LIMIT) {
                let next = read_u64(mm, space, e).map(|x| x & !1);
                if e != pending {
                    futex_death(mm, space, e.wrapping_add_signed(offset), tid, &mut wake);
                }
                entry = next;
                n += 1;
            }
            if pending != 0 {
                futex_death(
                    mm,
                    space,
                    pending.wrapping_add_signed(offset),
                    tid,
                    &mut wake,
                );
            }
        }
    }
    let ctid = UserAddr(t.clear_child_tid);
    if !ctid.is_null()
        && Ctx::access_ok(ctid, 4).is_ok()
        && mm.copy_out(space, ctid, &0u32.to_ne_bytes()).is_ok()
    {
        wake.push(WaitKey::Futex(space.0, ctid.0));
    }
    wake
}
