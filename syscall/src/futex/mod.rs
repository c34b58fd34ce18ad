//! `futex` and `futex_waitv`: waiting on words of guest memory.
//!
//! **Keys.** A futex is the wait queue of a [`FutexKey`], found as Linux's `get_futex_key`
//! finds it: a `FUTEX_PRIVATE_FLAG` futex is (address space, address) without looking at
//! the mapping; any other attaches to the object behind its page ([`mm::Mm::futex_object`]):
//! the file page of a shared file mapping, memfd or `/dev/shm` file, the frame of shared
//! anonymous memory — so that a wake in one process reaches a waiter in another mapping the
//! same page — or, for memory private to the space, (address space, address) again, as a
//! key distinct from the private-flag one (Linux's `FUT_OFF_MMSHARED`). A misaligned word
//! is `EINVAL`; a word outside user space or in no mapping `EFAULT`. A waiter keeps the key
//! it blocked with: if the page is copied on write or unmapped meanwhile, only a wake on
//! that key (or its deadline, or a signal) ends its wait, as on Linux.
//!
//! **Waiting and waking** (`wait.rs`). A waiter blocks on `WaitKey::Futex(key)` with its
//! bitset; the scheduler's wait queue keeps both, first blocked first. A handler wakes or
//! requeues waiters through [`Ctx::wake_bitset`] and [`Ctx::requeue`], which reply with
//! [`QueueOp`](crate::QueueOp)s for the kernel to apply, and counts them from the queues it
//! sees ([`Ctx::queue`]). When a waiter runs again after blocking, the kernel says whether
//! a wake of its key woke it (it returns 0 without comparing the word again), else its
//! deadline passed (`ETIMEDOUT`) or a signal came that interrupted nothing (the wait starts
//! over).
//!
//! **PI futexes** (`pi.rs`): the word holds the owner's tid, `FUTEX_WAITERS` and
//! `FUTEX_OWNER_DIED`; waiters block on `WaitKey::FutexPi(key)` and `FUTEX_UNLOCK_PI` hands
//! the lock straight to the first of them. Priority inheritance itself is nominal (uml's
//! scheduler gives real-time priorities no real-time treatment).
//!
//! **Exit** (`robust.rs`): a thread's robust list, its PI futexes and its `clear_child_tid`
//! word are released when it exits.

mod pi;
mod robust;
mod wait;
mod waitv;

use std::time::Duration;

use abi::{Errno, SysResult, UserAddr};

use crate::{Args, Ctx, FutexKey, WaitKey};

pub use robust::exit_thread_mm;
pub(crate) use waitv::sys_futex_waitv;

const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_REQUEUE: i32 = 3;
const FUTEX_CMP_REQUEUE: i32 = 4;
const FUTEX_WAKE_OP: i32 = 5;
const FUTEX_LOCK_PI: i32 = 6;
const FUTEX_UNLOCK_PI: i32 = 7;
const FUTEX_TRYLOCK_PI: i32 = 8;
const FUTEX_WAIT_BITSET: i32 = 9;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_WAIT_REQUEUE_PI: i32 = 11;
const FUTEX_LOCK_PI2: i32 = 13;
const FUTEX_PRIVATE_FLAG: i32 = 128;
const FUTEX_CLOCK_REALTIME: i32 = 256;

/// The owner's tid in a PI or robust futex word.
pub(crate) const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// A PI or robust futex word: someone waits in the kernel.
pub(crate) const FUTEX_WAITERS: u32 = 0x8000_0000;
/// A PI or robust futex word: its owner died holding it.
pub(crate) const FUTEX_OWNER_DIED: u32 = 0x4000_0000;

/// The key of the futex word at `addr` of address space `space` (Linux's `get_futex_key`):
/// `private` for `FUTEX_PRIVATE_FLAG`; `write` when the operation writes the word.
pub fn futex_key(
    mm: &mut mm::MmService,
    space: mm::MmId,
    addr: UserAddr,
    private: bool,
    write: bool,
) -> Result<FutexKey, Errno> {
    if !addr.0.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    Ctx::access_ok(addr, 4)?;
    if private {
        return Ok(FutexKey::Private {
            mm: space.0,
            addr: addr.0,
        });
    }
    Ok(match mm.futex_object(space, addr, write)? {
        mm::FutexObject::Private => FutexKey::Mm {
            mm: space.0,
            addr: addr.0,
        },
        mm::FutexObject::File { file, offset } => FutexKey::Inode {
            dev: file.dev,
            ino: file.ino,
            offset,
        },
        mm::FutexObject::SharedAnon { page, offset } => FutexKey::SharedAnon { page, offset },
    })
}

/// [`futex_key`] of the calling process's word at `addr`.
fn key(ctx: &mut Ctx<'_>, addr: UserAddr, private: bool, write: bool) -> Result<FutexKey, Errno> {
    futex_key(ctx.mm, ctx.proc.mm, addr, private, write)
}

/// Reads the (aligned) futex word at `addr`.
fn read_word(ctx: &mut Ctx<'_>, addr: UserAddr) -> Result<u32, Errno> {
    if !addr.0.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    ctx.read_val(addr)
}

/// Writes the futex word at `addr`.
fn write_word(ctx: &mut Ctx<'_>, addr: UserAddr, val: u32) -> Result<(), Errno> {
    ctx.write_val(addr, &val)
}

/// The time of the host's `CLOCK_REALTIME` (`realtime`) or `CLOCK_MONOTONIC` now.
fn clock_now(realtime: bool) -> Result<Duration, Errno> {
    use abi::flags::clock;
    let ts = crate::time::host_clock(if realtime {
        clock::REALTIME
    } else {
        clock::MONOTONIC
    })?;
    Ok(Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec as u32))
}

/// The deadline of a call whose timeout is `abs` on `CLOCK_REALTIME` or `CLOCK_MONOTONIC`.
fn absolute_deadline(
    ctx: &mut Ctx<'_>,
    abs: Duration,
    realtime: bool,
) -> Result<std::time::Instant, Errno> {
    let now = clock_now(realtime)?;
    Ok(ctx.deadline_after(abs.saturating_sub(now)))
}

/// Whether `cmd` takes a timeout in its fourth argument (Linux's `futex_cmd_has_timeout`).
fn has_timeout(cmd: i32) -> bool {
    matches!(
        cmd,
        FUTEX_WAIT | FUTEX_LOCK_PI | FUTEX_LOCK_PI2 | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI
    )
}

/// The count a wake of `n` asks for: Linux's loops wake one waiter before they compare
/// the count, so a count of 0 (or a negative one) wakes one.
fn wake_count(n: i32) -> usize {
    n.max(1) as usize
}

pub(crate) fn sys_futex(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (addr, op, val) = (a.addr(0), a.i32(1), a.u32(2));
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    // The timeout is read first, whatever the operation then says.
    let timeout = if has_timeout(cmd) {
        crate::time::read_timeout(ctx, a.addr(3))?
    } else {
        None
    };
    if realtime
        && !matches!(
            cmd,
            FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI | FUTEX_LOCK_PI2
        )
    {
        return Err(Errno::ENOSYS);
    }
    // The second count of the requeue and wake-op operations shares the timeout's slot.
    let val2 = a.raw(3) as u32 as i32;
    let (addr2, val3) = (a.addr(4), a.u32(5));
    match cmd {
        FUTEX_WAIT => {
            let deadline = timeout.map(|t| ctx.deadline_after(t));
            wait::wait(ctx, addr, val, private, deadline, sched::MATCH_ANY)
        }
        FUTEX_WAIT_BITSET => {
            // An absolute timeout on CLOCK_MONOTONIC, or CLOCK_REALTIME with the flag.
            let deadline = match timeout {
                Some(abs) => Some(absolute_deadline(ctx, abs, realtime)?),
                None => None,
            };
            wait::wait(ctx, addr, val, private, deadline, val3)
        }
        FUTEX_WAKE => wait::wake(ctx, addr, private, val as i32, sched::MATCH_ANY),
        FUTEX_WAKE_BITSET => wait::wake(ctx, addr, private, val as i32, val3),
        FUTEX_REQUEUE => wait::requeue(ctx, addr, addr2, private, val as i32, val2, None),
        FUTEX_CMP_REQUEUE => wait::requeue(ctx, addr, addr2, private, val as i32, val2, Some(val3)),
        FUTEX_WAKE_OP => wait::wake_op(ctx, addr, addr2, private, val as i32, val2, val3),
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => {
            // LOCK_PI's timeout is on CLOCK_REALTIME; LOCK_PI2's on CLOCK_MONOTONIC unless
            // the flag says otherwise.
            let realtime = realtime || cmd == FUTEX_LOCK_PI;
            let deadline = match timeout {
                Some(abs) => Some(absolute_deadline(ctx, abs, realtime)?),
                None => None,
            };
            pi::lock_pi(ctx, addr, private, deadline, false)
        }
        FUTEX_TRYLOCK_PI => pi::lock_pi(ctx, addr, private, None, true),
        FUTEX_UNLOCK_PI => pi::unlock_pi(ctx, addr, private),
        _ => Err(Errno::ENOSYS),
    }
}

/// Whether thread `tid` exists (a PI futex's owner).
fn task_alive(ctx: &Ctx<'_>, tid: i32) -> bool {
    ctx.proc.threads.contains_key(&tid) || ctx.procs.tgid_of(tid).is_some()
}

/// The wait key of a PI futex's waiters.
fn pi_key(k: FutexKey) -> WaitKey {
    WaitKey::FutexPi(k)
}

#[cfg(test)]
mod tests;
