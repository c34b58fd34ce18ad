//! `membarrier(2)`: uml runs every guest thread on one CPU, one at a time, and the trap into
//! the kernel is itself a full barrier, so every barrier is done once the call is made;
//! what remains is Linux's interface: the commands `MEMBARRIER_CMD_QUERY` reports, the
//! registrations the private expedited commands need (`EPERM` without), and
//! `MEMBARRIER_CMD_GET_REGISTRATIONS`. Registrations belong to the process (Linux: its
//! address space) and are cleared by `execve`; a fork starts without any. The rseq
//! commands are `EINVAL`, as Linux without `CONFIG_RSEQ` (uml has no `rseq`).

use abi::{Errno, SysResult};

use crate::{Args, Ctx};

const QUERY: i32 = 0;
const GLOBAL: i32 = 1 << 0;
const GLOBAL_EXPEDITED: i32 = 1 << 1;
const REGISTER_GLOBAL_EXPEDITED: i32 = 1 << 2;
const PRIVATE_EXPEDITED: i32 = 1 << 3;
const REGISTER_PRIVATE_EXPEDITED: i32 = 1 << 4;
const PRIVATE_EXPEDITED_SYNC_CORE: i32 = 1 << 5;
const REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: i32 = 1 << 6;
const GET_REGISTRATIONS: i32 = 1 << 9;

/// What `MEMBARRIER_CMD_QUERY` reports (Linux's `MEMBARRIER_CMD_BITMASK` without rseq).
const SUPPORTED: i32 = GLOBAL
    | GLOBAL_EXPEDITED
    | REGISTER_GLOBAL_EXPEDITED
    | PRIVATE_EXPEDITED
    | REGISTER_PRIVATE_EXPEDITED
    | PRIVATE_EXPEDITED_SYNC_CORE
    | REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
    | GET_REGISTRATIONS;

pub(crate) fn sys_membarrier(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let cmd = a.i32(0);
    if a.u32(1) != 0 {
        return Err(Errno::EINVAL);
    }
    let registered = &mut ctx.proc.membarrier;
    let needs = |reg: i32| {
        if *registered & reg != 0 {
            Ok(0)
        } else {
            Err(Errno::EPERM)
        }
    };
    match cmd {
        QUERY => Ok(SUPPORTED as u64),
        GLOBAL | GLOBAL_EXPEDITED => Ok(0),
        PRIVATE_EXPEDITED => needs(REGISTER_PRIVATE_EXPEDITED),
        PRIVATE_EXPEDITED_SYNC_CORE => needs(REGISTER_PRIVATE_EXPEDITED_SYNC_CORE),
        REGISTER_GLOBAL_EXPEDITED
        | REGISTER_PRIVATE_EXPEDITED
        | REGISTER_PRIVATE_EXPEDITED_SYNC_CORE => {
            *registered |= cmd;
            Ok(0)
        }
        GET_REGISTRATIONS => Ok(*registered as u64),
        _ => Err(Errno::EINVAL),
    }
}
