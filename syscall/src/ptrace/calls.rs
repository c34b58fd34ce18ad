//! `ptrace(request, pid, addr, data)`: attaching (`PTRACE_TRACEME`, `ATTACH`, `SEIZE`),
//! the requests on a stopped tracee (memory, `struct user`, registers, siginfo, options)
//! and resuming it (`CONT`, `SYSCALL`, `DETACH`, `KILL`, `INTERRUPT`), with Linux's
//! checks and errnos (`kernel/ptrace.c`, `arch/x86/kernel/ptrace.c`).

use abi::signal::sig;
use abi::structs::UserRegs;
use abi::{Errno, SysResult, UserAddr};

use super::user::{self, DEBUGREG_OFFSET, REGS_SIZE, USER_SIZE};
use super::{link, unlink, Resume, StopKind, Tracee};
use crate::process::ProcState;
use crate::signal::{SigInfo, SIGINFO_SIZE};
use crate::{Args, Ctx, WaitKey};

/// Request numbers.
mod req {
    pub const TRACEME: u64 = 0;
    pub const PEEKTEXT: u64 = 1;
    pub const PEEKDATA: u64 = 2;
    pub const PEEKUSR: u64 = 3;
    pub const POKETEXT: u64 = 4;
    pub const POKEDATA: u64 = 5;
    pub const POKEUSR: u64 = 6;
    pub const CONT: u64 = 7;
    pub const KILL: u64 = 8;
    pub const SINGLESTEP: u64 = 9;
    pub const GETREGS: u64 = 12;
    pub const SETREGS: u64 = 13;
    pub const GETFPREGS: u64 = 14;
    pub const SETFPREGS: u64 = 15;
    pub const ATTACH: u64 = 16;
    pub const DETACH: u64 = 17;
    pub const SYSCALL: u64 = 24;
    pub const SETOPTIONS: u64 = 0x4200;
    pub const GETEVENTMSG: u64 = 0x4201;
    pub const GETSIGINFO: u64 = 0x4202;
    pub const SETSIGINFO: u64 = 0x4203;
    pub const GETREGSET: u64 = 0x4204;
    pub const SETREGSET: u64 = 0x4205;
    pub const SEIZE: u64 = 0x4206;
    pub const INTERRUPT: u64 = 0x4207;
    pub const LISTEN: u64 = 0x4208;
}

/// `NT_*` register sets.
mod nt {
    pub const PRSTATUS: u64 = 1;
    pub const PRFPREG: u64 = 2;
    pub const X86_XSTATE: u64 = 0x202;
}

/// The size of the legacy FXSAVE area (`struct user_i387_struct`).
const FXSAVE_SIZE: usize = 512;

pub(crate) fn sys_ptrace(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (request, pid, addr, data) = (a.raw(0), a.i32(1), a.addr(2), a.raw(3));
    if request == req::TRACEME {
        return traceme(ctx);
    }
    let tgid = crate::process_vm::thread_group_of(ctx, pid)?;
    if request == req::ATTACH || request == req::SEIZE {
        return attach(ctx, tgid, pid, request == req::SEIZE, addr, data);
    }
    check_attach(
        ctx,
        tgid,
        pid,
        matches!(request, req::KILL | req::INTERRUPT),
    )?;
    match request {
        // Forced, as Linux's `ptrace_access_vm`: a debugger reads unreadable pages and
        // plants breakpoints in read-only text (a private copy of the page).
        req::PEEKTEXT | req::PEEKDATA => {
            let mm = ctx.process(tgid)?.mm;
            let mut w = [0u8; 8];
            match ctx.mm.access_forced(mm, addr.0, &mut w, false) {
                Ok(8) => {}
                _ => return Err(Errno::EIO),
            }
            ctx.copy_out(UserAddr(data), &w)?;
            Ok(0)
        }
        req::POKETEXT | req::POKEDATA => {
            let mm = ctx.process(tgid)?.mm;
            Ctx::access_ok(addr, 8).map_err(|_| Errno::EIO)?;
            let mut w = data.to_ne_bytes();
            match ctx.mm.access_forced(mm, addr.0, &mut w, true) {
                Ok(8) => Ok(0),
                _ => Err(Errno::EIO),
            }
        }
        req::PEEKUSR => {
            let off = addr.0;
            if off % 8 != 0 || off >= USER_SIZE {
                return Err(Errno::EIO);
            }
            let v = if off < REGS_SIZE {
                user::reg(&regs_of(ctx, tgid, pid)?, off)
            } else if (DEBUGREG_OFFSET..DEBUGREG_OFFSET + 64).contains(&off) {
                tracee(ctx, tgid)?.debugreg.get((off - DEBUGREG_OFFSET) / 8)
            } else {
                0
            };
            ctx.write_val(UserAddr(data), &v)?;
            Ok(0)
        }
        req::POKEUSR => {
            let off = addr.0;
            if off % 8 != 0 || off >= USER_SIZE {
                return Err(Errno::EIO);
            }
            if off < REGS_SIZE {
                let mut regs = regs_of(ctx, tgid, pid)?;
                user::put_reg(&mut regs, off, data)?;
                set_regs(ctx, tgid, pid, regs)
            } else if (DEBUGREG_OFFSET..DEBUGREG_OFFSET + 64).contains(&off) {
                tracee_mut(ctx, tgid)?
                    .debugreg
                    .set((off - DEBUGREG_OFFSET) / 8, data)?;
                Ok(0)
            } else {
                Err(Errno::EIO)
            }
        }
        req::GETREGS => {
            let regs = regs_of(ctx, tgid, pid)?;
            ctx.write_val(UserAddr(data), &regs)?;
            Ok(0)
        }
        req::SETREGS => {
            let new: UserRegs = ctx.read_val(UserAddr(data))?;
            put_all(ctx, tgid, pid, &new)
        }
        req::GETFPREGS => {
            let fp = fp_of(ctx, tgid, pid)?;
            ctx.copy_out(UserAddr(data), &fp[..FXSAVE_SIZE])?;
            Ok(0)
        }
        req::SETFPREGS => {
            let mut fx = [0u8; FXSAVE_SIZE];
            ctx.copy_in(UserAddr(data), &mut fx)?;
            set_fxsave(ctx, tgid, pid, &fx)
        }
        req::GETREGSET | req::SETREGSET => {
            regset(ctx, tgid, pid, request == req::SETREGSET, addr.0, data)
        }
        req::GETSIGINFO => {
            let stop = tracee(ctx, tgid)?.stops.get(&pid).ok_or(Errno::EINVAL)?;
            let info = stop.siginfo;
            ctx.copy_out(UserAddr(data), &info.to_bytes())?;
            Ok(0)
        }
        req::SETSIGINFO => {
            let mut b = [0u8; SIGINFO_SIZE];
            ctx.copy_in(UserAddr(data), &mut b)?;
            let t = tracee_mut(ctx, tgid)?;
            let stop = t.stops.get_mut(&pid).ok_or(Errno::EINVAL)?;
            stop.siginfo = SigInfo::from_bytes(&b);
            Ok(0)
        }
        req::GETEVENTMSG => {
            let msg = tracee(ctx, tgid)?.event_msg;
            ctx.write_val(UserAddr(data), &msg)?;
            Ok(0)
        }
        req::SETOPTIONS => {
            if data & !u64::from(super::opt::MASK) != 0 {
                return Err(Errno::EINVAL);
            }
            tracee_mut(ctx, tgid)?.options = data as u32;
            Ok(0)
        }
        req::CONT => resume(ctx, tgid, pid, Resume::Cont, data),
        req::SYSCALL => resume(ctx, tgid, pid, Resume::Syscall, data),
        req::DETACH => detach(ctx, tgid, pid, data),
        req::KILL => {
            let (me, uid) = (ctx.proc.pid, ctx.proc.cred.uid);
            let p = ctx.process_mut(tgid)?;
            let info = SigInfo::user(sig::SIGKILL, me, uid);
            let mut wake = Vec::new();
            crate::kill::send_to(p, None, info, &mut wake);
            ctx.wake_all(wake);
            Ok(0)
        }
        req::INTERRUPT => {
            let t = tracee_mut(ctx, tgid)?;
            if !t.seized {
                return Err(Errno::EIO);
            }
            if !t.stopped(pid) {
                t.interrupt.insert(pid);
                ctx.wake(WaitKey::Signal(tgid));
            }
            Ok(0)
        }
        req::LISTEN => {
            let t = tracee_mut(ctx, tgid)?;
            match t.stops.get(&pid) {
                Some(s) if t.seized && s.code >> 8 == super::event::STOP => {
                    t.stops.remove(&pid);
                    t.listening.insert(pid);
                    ctx.effects.resume.push(tgid);
                    Ok(0)
                }
                _ => Err(Errno::EIO),
            }
        }
        // Single-stepping needs the trap flag in uml's own stub; not implemented.
        req::SINGLESTEP => Err(Errno::EIO),
        _ => Err(Errno::EIO),
    }
}

/// `PTRACE_TRACEME`: the parent becomes the caller's tracer (`EPERM` if already traced).
fn traceme(ctx: &mut Ctx<'_>) -> SysResult {
    let (me, ppid) = (ctx.proc.pid, ctx.proc.ppid);
    if ctx.proc.ptrace.is_some() {
        return Err(Errno::EPERM);
    }
    let parent = ctx.procs.get_mut(ppid).ok_or(Errno::EPERM)?;
    parent.tracees.insert(me);
    link(ctx.proc, ppid, 0, false);
    Ok(0)
}

/// `PTRACE_ATTACH`/`PTRACE_SEIZE` (`ptrace_attach`): not the caller's own thread group,
/// the ids or `CAP_SYS_PTRACE` must allow it, not a process already traced or exiting
/// (`EPERM`). `ATTACH` sends `SIGSTOP`; a job-stopped process is in a tracing stop at
/// once.
fn attach(
    ctx: &mut Ctx<'_>,
    tgid: i32,
    tid: i32,
    seize: bool,
    addr: UserAddr,
    data: u64,
) -> SysResult {
    let options = if seize {
        if !addr.is_null() || data & !u64::from(super::opt::MASK) != 0 {
            return Err(Errno::EIO);
        }
        data as u32
    } else {
        0
    };
    let me = ctx.proc.pid;
    if tgid == me {
        return Err(Errno::EPERM);
    }
    let cred = ctx.proc.cred;
    let p = ctx.procs.get_mut(tgid).ok_or(Errno::ESRCH)?;
    if matches!(p.state, ProcState::Zombie(_))
        || p.ptrace.is_some()
        || !crate::process_vm::may_attach(&cred, &p.cred)
    {
        return Err(Errno::EPERM);
    }
    link(p, me, options, seize);
    let mut wake = Vec::new();
    if !seize {
        crate::kill::send_to(p, None, SigInfo::kernel(sig::SIGSTOP), &mut wake);
    }
    if let ProcState::Stopped { sig: s, .. } = p.state {
        let code = if seize {
            s | (super::event::STOP << 8)
        } else {
            s
        };
        let info = super::trap_info(s, code, tgid, cred.uid);
        if let Some(t) = p.ptrace.as_mut() {
            t.enter(tid, StopKind::Group, code, info);
        }
    }
    ctx.proc.tracees.insert(tgid);
    ctx.wake_all(wake);
    Ok(0)
}

/// `ptrace_check_attach`: the caller traces `tgid` and thread `tid` is stopped for it
/// (`ESRCH` otherwise); `any_state` for requests that work on a running tracee.
fn check_attach(ctx: &Ctx<'_>, tgid: i32, tid: i32, any_state: bool) -> Result<(), Errno> {
    let p = ctx.process(tgid)?;
    let t = p.ptrace.as_ref().ok_or(Errno::ESRCH)?;
    if t.tracer != ctx.proc.pid {
        return Err(Errno::ESRCH);
    }
    if any_state || t.stopped(tid) {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

fn tracee<'a>(ctx: &'a Ctx<'_>, tgid: i32) -> Result<&'a Tracee, Errno> {
    ctx.process(tgid)?.ptrace.as_deref().ok_or(Errno::ESRCH)
}

fn tracee_mut<'a>(ctx: &'a mut Ctx<'_>, tgid: i32) -> Result<&'a mut Tracee, Errno> {
    ctx.process_mut(tgid)?
        .ptrace
        .as_deref_mut()
        .ok_or(Errno::ESRCH)
}

/// The registers of stopped thread `tid`.
fn regs_of(ctx: &Ctx<'_>, tgid: i32, tid: i32) -> Result<UserRegs, Errno> {
    let p = ctx.process(tgid)?;
    p.threads
        .get(&tid)
        .and_then(|t| t.stopped_regs)
        .ok_or(Errno::ESRCH)
}

fn set_regs(ctx: &mut Ctx<'_>, tgid: i32, tid: i32, regs: UserRegs) -> SysResult {
    let p = ctx.process_mut(tgid)?;
    let t = p.threads.get_mut(&tid).ok_or(Errno::ESRCH)?;
    t.stopped_regs = Some(regs);
    Ok(0)
}

/// `PTRACE_SETREGS`: every register through `putreg`, in order; the first refused one
/// ends it (`EIO`), with the earlier ones written.
fn put_all(ctx: &mut Ctx<'_>, tgid: i32, tid: i32, new: &UserRegs) -> SysResult {
    let mut regs = regs_of(ctx, tgid, tid)?;
    let mut r = Ok(0);
    for off in (0..REGS_SIZE).step_by(8) {
        if let Err(e) = user::put_reg(&mut regs, off, user::reg(new, off)) {
            r = Err(e);
            break;
        }
    }
    set_regs(ctx, tgid, tid, regs)?;
    r
}

/// The FP state (XSAVE image) of stopped thread `tid`.
fn fp_of(ctx: &Ctx<'_>, tgid: i32, tid: i32) -> Result<Vec<u8>, Errno> {
    let p = ctx.process(tgid)?;
    p.threads
        .get(&tid)
        .and_then(|t| t.stopped_fp.clone())
        .filter(|fp| fp.len() >= FXSAVE_SIZE)
        .ok_or(Errno::EIO)
}

/// Replaces the thread's FP state with `img` (an XSAVE image): loaded before it runs.
fn set_fp(ctx: &mut Ctx<'_>, tgid: i32, tid: i32, img: Vec<u8>) -> SysResult {
    let p = ctx.process_mut(tgid)?;
    p.sig_of(tid).fpu_load = Some(img.clone());
    if let Some(t) = p.threads.get_mut(&tid) {
        t.stopped_fp = Some(img);
    }
    Ok(0)
}

/// `PTRACE_SETFPREGS` (`xfpregs_set`): reserved `MXCSR` bits are `EINVAL`; the x87 and
/// SSE states become present in the XSAVE header.
fn set_fxsave(ctx: &mut Ctx<'_>, tgid: i32, tid: i32, fx: &[u8]) -> SysResult {
    let mxcsr = u32::from_ne_bytes([fx[24], fx[25], fx[26], fx[27]]);
    if mxcsr & !0xffff != 0 {
        return Err(Errno::EINVAL);
    }
    let mut img = fp_of(ctx, tgid, tid)?;
    img[..FXSAVE_SIZE].copy_from_slice(fx);
    if img.len() >= FXSAVE_SIZE + 8 {
        img[FXSAVE_SIZE] |= 3;
    }
    set_fp(ctx, tgid, tid, img)
}

/// `PTRACE_GETREGSET`/`SETREGSET` (`ptrace_regset`) through the `struct iovec` at `iov`:
/// `NT_PRSTATUS`, `NT_PRFPREG`, `NT_X86_XSTATE`; the length must be a multiple of 8
/// (`EINVAL`), is cut to the set's size and written back.
fn regset(ctx: &mut Ctx<'_>, tgid: i32, tid: i32, set: bool, which: u64, iov: u64) -> SysResult {
    let iov = UserAddr(iov);
    let [base, len]: [u64; 2] = ctx.read_val(iov)?;
    let size = match which {
        nt::PRSTATUS => REGS_SIZE as usize,
        nt::PRFPREG => FXSAVE_SIZE,
        nt::X86_XSTATE => fp_of(ctx, tgid, tid)?.len(),
        _ => return Err(Errno::EINVAL),
    };
    if len % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    let n = (len as usize).min(size);
    let base = UserAddr(base);
    if set {
        let mut b = vec![0u8; n];
        ctx.copy_in(base, &mut b)?;
        match which {
            nt::PRSTATUS => {
                let mut words = [0u8; REGS_SIZE as usize];
                words.copy_from_slice(bytemuck::bytes_of(&regs_of(ctx, tgid, tid)?));
                words[..n].copy_from_slice(&b);
                put_all(ctx, tgid, tid, &bytemuck::pod_read_unaligned(&words))?;
            }
            nt::PRFPREG => {
                let mut fx = fp_of(ctx, tgid, tid)?;
                fx[..n].copy_from_slice(&b);
                set_fxsave(ctx, tgid, tid, &fx[..FXSAVE_SIZE])?;
            }
            _ => {
                let mut img = fp_of(ctx, tgid, tid)?;
                img[..n].copy_from_slice(&b);
                check_xstate_header(&img)?;
                set_fp(ctx, tgid, tid, img)?;
            }
        }
    } else {
        let bytes = match which {
            nt::PRSTATUS => bytemuck::bytes_of(&regs_of(ctx, tgid, tid)?).to_vec(),
            _ => fp_of(ctx, tgid, tid)?,
        };
        ctx.copy_out(base, &bytes[..n])?;
    }
    ctx.write_val(UserAddr(iov.0 + 8), &(n as u64))?;
    Ok(0)
}

/// An XSAVE header a tracer wrote (`copy_uabi_to_xstate`'s `validate_user_xstate_header`):
/// no compacted format (`xcomp_bv` 0), no reserved bytes set, no state component the
/// host does not have (`EINVAL`).
fn check_xstate_header(img: &[u8]) -> Result<(), Errno> {
    let hdr = img
        .get(FXSAVE_SIZE..FXSAVE_SIZE + 64)
        .ok_or(Errno::EINVAL)?;
    let word = |i: usize| u64::from_ne_bytes(hdr[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let features = crate::signal::XstateInfo::from_image(img).map_or(0, |x| x.features);
    if word(1) != 0 || (2..8).any(|i| word(i) != 0) || word(0) & !features != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Ends the tracee's stop (`ptrace_resume`): `data` is the signal it is to get (`EIO`
/// beyond 64). At a signal-delivery stop that signal is delivered instead of the one
/// reported (0: none); at a syscall stop it is sent; at an event or group stop it is
/// ignored, as Linux does.
fn resume(ctx: &mut Ctx<'_>, tgid: i32, tid: i32, how: Resume, data: u64) -> SysResult {
    let signo = valid_signal(data)?;
    let (me, uid) = (ctx.proc.pid, ctx.proc.cred.uid);
    let p = ctx.process_mut(tgid)?;
    let Some(t) = p.ptrace.as_deref_mut() else {
        return Err(Errno::ESRCH);
    };
    t.resume = how;
    let Some(stop) = t.stops.remove(&tid) else {
        return Ok(0);
    };
    let mut wake = Vec::new();
    match stop.kind {
        StopKind::Signal if signo != 0 => {
            let info = Some(stop.siginfo)
                .filter(|i| i.signo == signo)
                .unwrap_or_else(|| SigInfo::user(signo, me, uid));
            t.inject.insert(tid, info);
        }
        StopKind::SyscallEntry | StopKind::SyscallExit if signo != 0 => {
            crate::kill::send_to(p, Some(stop.tid), SigInfo::kernel(signo), &mut wake);
        }
        StopKind::Group => {
            if matches!(p.state, ProcState::Stopped { .. }) {
                p.state = ProcState::Running;
            }
        }
        _ => {}
    }
    ctx.wake_all(wake);
    ctx.effects.resume.push(tgid);
    Ok(0)
}

/// `PTRACE_DETACH`: the tracee is unlinked and runs on with signal `data` (a process
/// job-stopped before stays stopped).
fn detach(ctx: &mut Ctx<'_>, tgid: i32, tid: i32, data: u64) -> SysResult {
    let signo = valid_signal(data)?;
    let p = ctx.process_mut(tgid)?;
    let Some(t) = unlink(p) else {
        return Err(Errno::ESRCH);
    };
    let mut wake = Vec::new();
    if let (Some(stop), true) = (t.stops.get(&tid), signo != 0) {
        let info = Some(stop.siginfo)
            .filter(|i| i.signo == signo)
            .unwrap_or_else(|| SigInfo::kernel(signo));
        crate::kill::send_to(p, Some(tid), info, &mut wake);
    }
    ctx.proc.tracees.remove(&tgid);
    ctx.wake_all(wake);
    ctx.effects.resume.push(tgid);
    Ok(0)
}

/// `valid_signal` for a resume's `data`.
fn valid_signal(data: u64) -> Result<i32, Errno> {
    if data > sig::NSIG as u64 {
        return Err(Errno::EIO);
    }
    Ok(data as i32)
}
