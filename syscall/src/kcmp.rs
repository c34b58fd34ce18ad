//! `kcmp(2)`: whether two processes share a kernel object, as Linux's `kernel/kcmp.c`:
//! 0 if they do, else 1 or 2 by an order of the objects that stays the same while they
//! live. Both processes (any of their thread ids; `ESRCH`) must be open to the caller as
//! to `ptrace` (the same ids or `CAP_SYS_PTRACE`; `EPERM`).
//!
//! The objects are uml's: `KCMP_FILE` the open file description behind each descriptor
//! (`EBADF`), `KCMP_VM` the address space, `KCMP_FILES` the descriptor table (shared by
//! `CLONE_FILES`), `KCMP_FS` and `KCMP_SIGHAND` the filesystem context and the signal
//! handlers (shared by `CLONE_FS` and `CLONE_SIGHAND`), `KCMP_SYSVSEM` the
//! process's semaphore undo list (none until it uses `SEM_UNDO`, and never shared),
//! `KCMP_IO` none (uml keeps no I/O context, as a Linux task that did no block I/O).
//! `KCMP_EPOLL_TFD` is `EOPNOTSUPP`, as Linux without epoll.

use abi::flags::kcmp::*;
use abi::{Errno, SysResult};

use crate::process_vm::{may_attach, thread_group_of};
use crate::{Args, Ctx, Process};

pub(crate) fn sys_kcmp(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let p1 = thread_group_of(ctx, a.i32(0))?;
    let p2 = thread_group_of(ctx, a.i32(1))?;
    for p in [p1, p2] {
        let t = ctx.process(p)?;
        if p != ctx.proc.pid && !may_attach(&ctx.proc.cred, &t.cred) {
            return Err(Errno::EPERM);
        }
    }
    let (t1, t2) = (ctx.process(p1)?, ctx.process(p2)?);
    let (o1, o2) = match a.i32(2) {
        KCMP_FILE => {
            let file = |p: &Process, idx: u64| {
                let fd = i32::try_from(idx).map_err(|_| Errno::EBADF)?;
                let f = p.fds.get(fd).map_err(|_| Errno::EBADF)?;
                Ok::<usize, Errno>(std::sync::Arc::as_ptr(&f) as usize)
            };
            (Some(file(t1, a.raw(3))?), Some(file(t2, a.raw(4))?))
        }
        KCMP_VM => (Some(t1.mm.0 as usize), Some(t2.mm.0 as usize)),
        KCMP_FILES => (Some(t1.fds.identity()), Some(t2.fds.identity())),
        KCMP_FS => (Some(t1.fs_share as usize), Some(t2.fs_share as usize)),
        KCMP_SIGHAND => (
            Some(t1.sighand_share as usize),
            Some(t2.sighand_share as usize),
        ),
        KCMP_IO => (None, None),
        KCMP_SYSVSEM => {
            let undo = |pid: i32| {
                let mut keys = ctx.procs.ipc.undo.keys();
                keys.any(|&(p, _)| p == pid).then_some(pid as usize)
            };
            (undo(p1), undo(p2))
        }
        KCMP_EPOLL_TFD => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EINVAL),
    };
    Ok(order(o1, o2))
}

/// Linux's `kcmp_ptr`: 0 for the same object, 1 if the first sorts lower, 2 if higher.
fn order<T: Ord>(a: T, b: T) -> u64 {
    match a.cmp(&b) {
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Less => 1,
        std::cmp::Ordering::Greater => 2,
    }
}
