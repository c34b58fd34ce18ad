//! `/proc/PID/mem`: a process's memory as a file whose offsets are its addresses.
//!
//! Reads and writes go through mm forced, as Linux's `mem_rw` with `FOLL_FORCE`: any
//! mapped page reads, and a write reaches a private mapping even where it is read-only
//! (the page becomes the process's own copy; a file mapped privately never changes, and a
//! shared mapping the process may not write stays unwritten). A transfer stops at the first
//! unmapped page: `EIO` if nothing moved. Another process's memory takes the right to
//! ptrace it (Linux checks it at open; uml when the memory is used). A process that has
//! exited has no memory: reads end at once.

use abi::{Errno, UserAddr};

use crate::Ctx;

/// Bytes moved per step (Linux moves a page at a time).
const STEP: usize = 4096;

/// Moves `len` bytes between the caller's buffer at `buf` and the memory of process `pid`
/// at `addr` (into it with `write`).
pub(crate) fn transfer(
    ctx: &mut Ctx<'_>,
    pid: i32,
    buf: UserAddr,
    len: u64,
    addr: u64,
    write: bool,
) -> abi::SysResult {
    let target = if pid == ctx.proc.pid {
        Some(ctx.proc.mm)
    } else {
        let t = ctx.process(pid)?;
        if !crate::process_vm::may_attach(&ctx.proc.cred, &t.cred) {
            return Err(Errno::EPERM);
        }
        (!matches!(t.state, crate::ProcState::Zombie(_))).then_some(t.mm)
    };
    let Some(mm) = target else {
        return Ok(0);
    };
    let mut done = 0u64;
    let mut bounce = vec![0u8; STEP];
    while done < len {
        let at = addr.wrapping_add(done);
        // A step ends at a page boundary of the target.
        let k = (len - done).min(STEP as u64 - at % STEP as u64) as usize;
        let chunk = &mut bounce[..k];
        let from = UserAddr(buf.0 + done);
        if write {
            if let Err(e) = ctx.copy_in(from, chunk) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        let moved = match ctx.mm.access_forced(mm, at, chunk, write) {
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(_) => return Err(Errno::EIO),
        };
        if !write {
            if let Err(e) = ctx.copy_out(from, &chunk[..moved]) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
        done += moved as u64;
        if moved < k {
            break;
        }
    }
    Ok(done)
}
