//! Thread lifetime syscalls: exit, the tid address, the robust list, the TLS base.

use abi::flags::arch_prctl as ap;
use abi::{Errno, SysResult};

use crate::{Args, Ctx, Outcome};

pub(crate) fn sys_exit(_ctx: &mut Ctx<'_>, a: &Args) -> Result<Outcome, Errno> {
    Ok(Outcome::ExitThread(a.i32(0) & 0xff))
}

pub(crate) fn sys_exit_group(_ctx: &mut Ctx<'_>, a: &Args) -> Result<Outcome, Errno> {
    Ok(Outcome::ExitGroup(a.i32(0) & 0xff))
}

pub(crate) fn sys_set_tid_address(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    ctx.thread().clear_child_tid = a.raw(0);
    Ok(ctx.pid_seen(ctx.tid) as u64)
}

pub(crate) fn sys_set_robust_list(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    // struct robust_list_head is three words.
    if a.len(1) != 24 {
        return Err(Errno::EINVAL);
    }
    ctx.thread().robust_list = (a.raw(0), a.len(1));
    Ok(0)
}

/// `get_robust_list(pid, head_ptr, len_ptr)`: the robust-list head of thread `pid` (0: the
/// caller). Another process's thread only for a caller that may ptrace it
/// (`PTRACE_MODE_READ_REALCREDS`; `EPERM` otherwise).
pub(crate) fn sys_get_robust_list(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let tid = a.i32(0);
    let (head, _) = if tid == 0 || tid == ctx.tid {
        ctx.thread().robust_list
    } else if let Some(t) = ctx.proc.threads.get(&tid) {
        t.robust_list
    } else {
        let pid = ctx.procs.tgid_of(tid).ok_or(Errno::ESRCH)?;
        let p = ctx.procs.get(pid).ok_or(Errno::ESRCH)?;
        let robust_list = p.threads.get(&tid).ok_or(Errno::ESRCH)?.robust_list;
        if !crate::process_vm::may_attach(&ctx.proc.cred, &p.cred) {
            return Err(Errno::EPERM);
        }
        robust_list
    };
    // Linux stores the length it knows (the head's size) before the head pointer.
    ctx.write_val(a.addr(2), &24u64)?;
    ctx.write_val(a.addr(1), &head)?;
    Ok(0)
}

/// Whether `v` is below x86-64's user address limit, as Linux requires of an FS/GS base.
fn canonical_user(v: u64) -> bool {
    v < 0x7fff_ffff_f000
}

pub(crate) fn sys_arch_prctl(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (code, arg) = (a.i32(0), a.raw(1));
    match code {
        ap::SET_FS | ap::SET_GS => {
            if !canonical_user(arg) {
                return Err(Errno::EPERM);
            }
            if code == ap::SET_FS {
                ctx.regs.fs_base = arg;
            } else {
                ctx.regs.gs_base = arg;
            }
            Ok(0)
        }
        ap::GET_FS | ap::GET_GS => {
            let v = if code == ap::GET_FS {
                ctx.regs.fs_base
            } else {
                ctx.regs.gs_base
            };
            ctx.write_val(a.addr(1), &v)?;
            Ok(0)
        }
        ap::GET_CPUID => Ok(1),
        ap::SET_CPUID => Err(Errno::ENODEV),
        _ => Err(Errno::EINVAL),
    }
}
