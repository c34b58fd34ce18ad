//! What a thread's exit does to the futexes it holds (Linux's `futex_exit_release`): its
//! robust list is walked (`exit_robust_list`), the PI futexes others wait for are handed on
//! (`exit_pi_state_list`), and its `clear_child_tid` word is zeroed and woken
//! (`mm_release`). Every wake here is a shared one, as Linux's: a robust mutex in memory
//! shared between processes wakes a waiter of another process.

use abi::UserAddr;

use super::{futex_key, FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS};
use crate::process::Thread;
use crate::{Ctx, WaitKey};

/// Most robust-list entries walked at exit (Linux's `ROBUST_LIST_LIMIT`).
const ROBUST_LIST_LIMIT: usize = 2048;

fn read_u64(mm: &mut mm::MmService, space: mm::MmId, addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    Ctx::access_ok(UserAddr(addr), 8).ok()?;
    mm.copy_in(space, UserAddr(addr), &mut b).ok()?;
    Some(u64::from_ne_bytes(b))
}

/// The shared wait key of the word at `uaddr` (a wake from the exit path).
fn shared_key(mm: &mut mm::MmService, space: mm::MmId, uaddr: u64) -> Option<WaitKey> {
    futex_key(mm, space, UserAddr(uaddr), false, false)
        .ok()
        .map(WaitKey::Futex)
}

/// Linux's `handle_futex_death`: a robust futex at `uaddr` held by `tid` gets
/// `FUTEX_OWNER_DIED` (keeping `FUTEX_WAITERS`, clearing the tid); a waiter of a non-PI one
/// is to be woken (a PI one's waiter is woken by the PI hand-over). `pending`: the entry is
/// the list's pending operation, whose free non-PI futex may have a waiter to wake.
fn futex_death(
    mm: &mut mm::MmService,
    space: mm::MmId,
    uaddr: u64,
    tid: i32,
    pi: bool,
    pending: bool,
    wake: &mut Vec<WaitKey>,
) -> Result<(), ()> {
    let addr = UserAddr(uaddr);
    let mut b = [0u8; 4];
    if !uaddr.is_multiple_of(4)
        || Ctx::access_ok(addr, 4).is_err()
        || mm.copy_in(space, addr, &mut b).is_err()
    {
        return Err(());
    }
    let val = u32::from_ne_bytes(b);
    if pending && !pi && val == 0 {
        wake.extend(shared_key(mm, space, uaddr));
        return Ok(());
    }
    if val & FUTEX_TID_MASK != tid as u32 {
        return Ok(());
    }
    let new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    mm.copy_out(space, addr, &new.to_ne_bytes())
        .map_err(|_| ())?;
    if !pi && val & FUTEX_WAITERS != 0 {
        wake.extend(shared_key(mm, space, uaddr));
    }
    Ok(())
}

/// Linux's `exit_robust_list`: walks the list at `head` (at most [`ROBUST_LIST_LIMIT`]
/// entries; bit 0 of an entry pointer marks a PI futex), then the pending entry. A bad
/// pointer ends the walk.
fn exit_robust_list(
    mm: &mut mm::MmService,
    space: mm::MmId,
    head: u64,
    tid: i32,
    wake: &mut Vec<WaitKey>,
) -> Option<()> {
    let mut entry = read_u64(mm, space, head)?;
    let offset = read_u64(mm, space, head + 8)? as i64;
    let pending = read_u64(mm, space, head + 16)?;
    let futex_of = |e: u64| (e & !1).wrapping_add_signed(offset);
    let mut n = 0;
    while entry & !1 != head {
        let next = read_u64(mm, space, entry & !1);
        if entry & !1 != pending & !1 {
            futex_death(mm, space, futex_of(entry), tid, entry & 1 != 0, false, wake).ok()?;
        }
        entry = next?;
        n += 1;
        if n == ROBUST_LIST_LIMIT {
            break;
        }
    }
    if pending & !1 != 0 {
        let _ = futex_death(
            mm,
            space,
            futex_of(pending),
            tid,
            pending & 1 != 0,
            true,
            wake,
        );
    }
    Some(())
}

/// What a thread's exit does to its address space: every robust futex it still holds is
/// marked `FUTEX_OWNER_DIED`, the PI futexes others wait for are to be handed on, and its
/// `clear_child_tid` word is zeroed. Returns the keys on which one waiter each is to be
/// woken. Bad guest pointers end the walk silently, as on Linux.
pub fn exit_thread_mm(
    mm: &mut mm::MmService,
    space: mm::MmId,
    tid: i32,
    t: &Thread,
) -> Vec<WaitKey> {
    let mut wake = Vec::new();
    let (head, len) = t.robust_list;
    if head != 0 && len == 24 {
        exit_robust_list(mm, space, head, tid, &mut wake);
    }
    wake.extend(t.pi_state.iter().copied());
    let ctid = UserAddr(t.clear_child_tid);
    if !ctid.is_null()
        && Ctx::access_ok(ctid, 4).is_ok()
        && mm.copy_out(space, ctid, &0u32.to_ne_bytes()).is_ok()
    {
        wake.extend(shared_key(mm, space, ctid.0));
    }
    wake
}
