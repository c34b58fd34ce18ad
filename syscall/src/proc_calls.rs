//! Process lifetime: `fork`/`vfork`/`clone`, `wait4`/`waitid`, process groups and
//! sessions, and what happens when a process ends ([`exit_process`]).

use abi::signal::sig;
use abi::{Errno, SysResult, UserAddr};

use crate::process::{ExitStatus, ProcState, Process, ProcessTable};
use crate::{Args, Ctx, Outcome, WaitKey};

/// `clone` flags uml knows.
pub(crate) mod clone_flags {
    pub const CSIGNAL: u64 = 0xff;
    pub const VM: u64 = 0x100;
    pub const FS: u64 = 0x200;
    pub const FILES: u64 = 0x400;
    pub const SIGHAND: u64 = 0x800;
    pub const PIDFD: u64 = 0x1000;
    pub const VFORK: u64 = 0x4000;
    pub const PARENT: u64 = 0x8000;
    pub const THREAD: u64 = 0x10000;
    pub const NEWNS: u64 = 0x20000;
    pub const SETTLS: u64 = 0x80000;
    pub const UNTRACED: u64 = 0x0080_0000;
    pub const PARENT_SETTID: u64 = 0x100000;
    pub const CHILD_CLEARTID: u64 = 0x200000;
    pub const CHILD_SETTID: u64 = 0x1000000;
    pub const NEWUSER: u64 = 0x1000_0000;
    pub const NEWTIME: u64 = 0x80;
    pub const SYSVSEM: u64 = 0x40000;
    pub const NEWCGROUP: u64 = 0x0200_0000;
    pub const NEWUTS: u64 = 0x0400_0000;
    pub const NEWIPC: u64 = 0x0800_0000;
    pub const NEWPID: u64 = 0x2000_0000;
    pub const NEWNET: u64 = 0x4000_0000;
}

/// Linux's checks of `clone` flags (`copy_process`): `EINVAL` for combinations that make no
/// sense, `ENOSYS` for what uml does not have yet (a `CLONE_VFORK` thread).
fn check_clone_flags(ctx: &Ctx<'_>, flags: u64) -> Result<(), Errno> {
    use clone_flags::*;
    let both = |a: u64, b: u64| flags & a != 0 && flags & b != 0;
    if both(NEWNS, FS) || both(NEWUSER, FS) {
        return Err(Errno::EINVAL);
    }
    if flags & THREAD != 0 && flags & SIGHAND == 0 || flags & SIGHAND != 0 && flags & VM == 0 {
        return Err(Errno::EINVAL);
    }
    // A thread stays in its process's pid and user namespaces, and has no pidfd.
    let ns = ctx.proc.ns;
    let other_pid_ns = ns.pid_for_children != ns.pid || flags & NEWPID != 0;
    if flags & THREAD != 0 && (other_pid_ns || flags & (NEWUSER | PIDFD) != 0) {
        return Err(Errno::EINVAL);
    }
    if flags & THREAD != 0 && flags & VFORK != 0 {
        return Err(Errno::ENOSYS);
    }
    Ok(())
}

/// Where `clone` writes what it gives back: the parent's and child's tid words and the
/// pidfd's word (`CLONE_PIDFD`), and the numbers the child asks for (`clone3`'s
/// `set_tid`, innermost pid namespace first).
#[derive(Default)]
struct CloneOut {
    ptid: UserAddr,
    ctid: UserAddr,
    pidfd: UserAddr,
    set_tid: Vec<i32>,
}

/// Creates a child of the calling process, or a thread of it (`CLONE_THREAD`). `flags` are
/// `clone`'s.
fn do_fork(
    ctx: &mut Ctx<'_>,
    flags: u64,
    stack: u64,
    out: CloneOut,
    tls: u64,
) -> Result<Outcome, Errno> {
    use clone_flags::*;
    check_clone_flags(ctx, flags)?;
    let CloneOut {
        ptid,
        ctid,
        pidfd,
        set_tid,
    } = out;
    let sched = ctx.thread().sched.for_child()?;
    crate::ns::may_make(ctx, flags)?;
    let mut ns = if flags & crate::ns::ALL & !NEWNS != 0 {
        crate::ns::new_namespaces(ctx, flags, true)?
    } else {
        ctx.proc.ns.for_child()
    };
    if flags & VM != 0 {
        // A child sharing its parent's memory (and vDSO data page) stays in its time
        // namespace, as on Linux.
        ns.time = ctx.proc.ns.time;
    }
    // The pid namespace the new task is in: its process's for a thread.
    let pid_ns = if flags & THREAD != 0 {
        ctx.proc.ns.pid
    } else {
        ns.pid
    };
    check_set_tid(ctx, pid_ns, &set_tid)?;
    if ns.time != ctx.proc.ns.time {
        crate::ns::time::enter(ctx, ns.time)?;
    }
    // `CLONE_NEWNS`: the child starts in a copy of the mount namespace.
    let fs = if flags & NEWNS != 0 {
        let (root, cwd) = ctx
            .vfs
            .unshare_mounts(ctx.proc.root.as_ref(), &ctx.proc.cwd)?;
        Some((Some(root), cwd))
    } else {
        None
    };
    let max = ctx.procs.max_pids;
    if max != 0 && ctx.procs.count(1) >= max {
        return Err(Errno::EAGAIN);
    }
    let parent_pid = ctx.proc.pid;
    let mine = |id: i32| id == parent_pid || ctx.proc.threads.contains_key(&id);
    let pid = match set_tid
        .len()
        .checked_sub(1)
        .map(|top| (top, crate::ns::pid::level(&ctx.procs.ns, pid_ns)))
    {
        // A number asked for in the initial namespace too.
        Some((top, level)) if top as u32 == level => {
            let want = set_tid[top];
            let busy = mine(want) || ctx.procs.tgid_of(want).is_some();
            if busy {
                return Err(Errno::EEXIST);
            }
            ctx.procs.claim_pid(want);
            want
        }
        _ => ctx.procs.alloc_pid(mine).ok_or(Errno::EAGAIN)?,
    };
    let pid_max = ctx.procs.sysctl.pid_max;
    crate::ns::pid::assign(&mut ctx.procs.ns, pid_ns, pid, &set_tid, pid_max);
    let seen = crate::ns::pid::pid_in(&ctx.procs.ns, ctx.proc.ns.pid, pid);
    let own = crate::ns::pid::pid_in(&ctx.procs.ns, pid_ns, pid);
    let thread = crate::process::Thread {
        clear_child_tid: if flags & CHILD_CLEARTID != 0 {
            ctid.0
        } else {
            0
        },
        robust_list: (0, 0),
        sig: ctx.proc.sig.new_thread(),
        cpu_ns: 0,
        sched,
        pi_state: Vec::new(),
        thread_keyring: None,
        notsc: ctx.thread().notsc,
        stopped_regs: None,
        stopped_fp: None,
    };
    if thread.sched.nice != 0 {
        ctx.effects.nice.push((pid, thread.sched.nice));
    }
    let mut regs = *ctx.regs;
    regs.rax = 0;
    if stack != 0 {
        regs.rsp = stack;
    }
    if flags & SETTLS != 0 {
        regs.fs_base = tls;
    }
    if flags & PARENT_SETTID != 0 {
        ctx.copy_out(ptid, &seen.to_ne_bytes())?;
    }
    if flags & PIDFD != 0 {
        ctx.copy_out(pidfd, &0i32.to_ne_bytes())?;
        let fd = ctx.install_file(vfs::open_pidfd(pid, abi::flags::OFlags::empty()), true)?;
        ctx.copy_out(pidfd, &(fd as i32).to_ne_bytes())?;
    }
    let mm = if flags & VM != 0 {
        ctx.proc.mm
    } else {
        ctx.mm.fork_space(ctx.proc.mm)?
    };
    if ns.time != ctx.proc.ns.time {
        crate::exec::vdso::map_vvar(ctx.mm, mm, ns.time != 0)?;
    }
    if flags & CHILD_SETTID != 0 {
        // Written in the child's memory (a copy-on-write break in the child's space).
        Ctx::access_ok(ctid, 4)?;
        ctx.mm.copy_out(mm, ctid, &own.to_ne_bytes())?;
    }
    if flags & THREAD != 0 {
        ctx.proc.threads.insert(pid, thread);
        crate::ptrace::new_thread(ctx.proc, ctx.tid, pid, flags & UNTRACED == 0);
        return Ok(Outcome::Fork {
            child: pid,
            seen,
            thread: true,
            regs: Box::new(regs),
            vfork: false,
        });
    }
    let fs_share = if flags & FS != 0 {
        ctx.proc.fs_share
    } else {
        ctx.procs.new_share_id()
    };
    let sighand_share = if flags & SIGHAND != 0 {
        ctx.proc.sighand_share
    } else {
        ctx.procs.new_share_id()
    };
    let p = &*ctx.proc;
    let child = Process {
        pid,
        ppid: if flags & PARENT != 0 { p.ppid } else { p.pid },
        pgid: p.pgid,
        sid: p.sid,
        state: ProcState::Running,
        exit_signal: (flags & CSIGNAL) as i32,
        children: Default::default(),
        itimers: Default::default(),
        posix_timers: Default::default(),
        aio: Default::default(),
        mm,
        fds: if flags & FILES != 0 {
            p.fds.share()
        } else {
            p.fds.copy()
        },
        cwd: fs.as_ref().map_or_else(|| p.cwd.clone(), |f| f.1.clone()),
        root: fs.map_or_else(|| p.root.clone(), |f| f.0),
        umask: p.umask,
        cred: p.cred,
        groups: p.groups.clone(),
        rlimits: p.rlimits,
        sig: p.sig.fork(),
        sig_thread: pid,
        threads: crate::process::Thread::only(pid, thread),
        exe: p.exe.clone(),
        start_time: crate::time::since_boot(),
        did_exec: false,
        cpu_ns: 0,
        children_cpu_ns: 0,
        maxrss: 0,
        children_maxrss: 0,
        child_subreaper: false,
        pdeath_signal: 0,
        no_new_privs: p.no_new_privs,
        landlock: p.landlock.clone(),
        comm: p.comm.clone(),
        ctty: p.ctty.clone(),
        personality: p.personality,
        keys: p.keys.for_fork(),
        membarrier: 0,
        fs_share,
        sighand_share,
        ptrace: None,
        tracees: Default::default(),
        ns,
    };
    let mut child = child;
    if flags & NEWUSER != 0 {
        child.cred.caps.enter_child_user_ns();
    }
    let ev = if flags & VFORK != 0 {
        crate::ptrace::event::VFORK
    } else if (flags & CSIGNAL) as i32 != sig::SIGCHLD {
        crate::ptrace::event::CLONE
    } else {
        crate::ptrace::event::FORK
    };
    if flags & UNTRACED == 0 {
        if let Some(tracer) = crate::ptrace::fork_child(ctx.proc, ctx.tid, &mut child, ev) {
            if let Some(t) = ctx.procs.get_mut(tracer) {
                t.tracees.insert(pid);
            }
        }
    }
    let real_parent = child.ppid;
    ctx.procs.insert(Box::new(child));
    if real_parent == ctx.proc.pid {
        ctx.proc.children.insert(pid);
    } else if let Some(pp) = ctx.procs.get_mut(real_parent) {
        pp.children.insert(pid);
    }
    Ok(Outcome::Fork {
        child: pid,
        seen,
        thread: false,
        regs: Box::new(regs),
        vfork: flags & VFORK != 0,
    })
}

/// `clone3`'s `set_tid` for a task in pid namespace `pid_ns`, as Linux checks it: at most
/// one number a level of `pid_ns` (`EINVAL`), each in `1..pid_max` (`EINVAL`), free where
/// it is asked for (`EEXIST`), and `CAP_SYS_ADMIN` in the user namespace owning each
/// namespace one is asked in (`EPERM`).
fn check_set_tid(ctx: &Ctx<'_>, pid_ns: u64, set_tid: &[i32]) -> Result<(), Errno> {
    use crate::ns::pid;
    let spaces = &ctx.procs.ns;
    if set_tid.len() as u32 > pid::level(spaces, pid_ns) + 1 {
        return Err(Errno::EINVAL);
    }
    let pid_max = ctx.procs.sysctl.pid_max;
    let mut ns = pid_ns;
    for (i, &want) in set_tid.iter().enumerate() {
        if want <= 0 || want >= pid_max {
            return Err(Errno::EINVAL);
        }
        // A new namespace's first process is its 1.
        let fresh = ns != 0 && pid::last_pid(spaces, ns) == Some(0);
        if i == 0 && fresh && want != 1 {
            return Err(Errno::EINVAL);
        }
        let owner = spaces.owner(ns);
        let capable = ctx.proc.cred.caps.has_in_own_ns(crate::caps::CAP_SYS_ADMIN)
            && spaces.is_within(owner, ctx.proc.ns.user)
            && (owner != 0 || ctx.proc.cred.caps.has(crate::caps::CAP_SYS_ADMIN));
        if !capable {
            return Err(Errno::EPERM);
        }
        if ns != 0 && pid::taken(spaces, ns, want) {
            return Err(Errno::EEXIST);
        }
        ns = spaces.parent(ns);
    }
    Ok(())
}

pub(crate) fn sys_fork(ctx: &mut Ctx<'_>, _a: &Args) -> Result<Outcome, Errno> {
    do_fork(ctx, sig::SIGCHLD as u64, 0, CloneOut::default(), 0)
}

pub(crate) fn sys_vfork(ctx: &mut Ctx<'_>, _a: &Args) -> Result<Outcome, Errno> {
    let flags = clone_flags::VM | clone_flags::VFORK | sig::SIGCHLD as u64;
    do_fork(ctx, flags, 0, CloneOut::default(), 0)
}

pub(crate) fn sys_clone(ctx: &mut Ctx<'_>, a: &Args) -> Result<Outcome, Errno> {
    // x86-64 order: flags, stack, parent_tid, child_tid, tls; `CLONE_PIDFD` writes the
    // pidfd where the parent's tid would go, so not both.
    let flags = a.raw(0);
    let both = clone_flags::PIDFD | clone_flags::PARENT_SETTID;
    if flags & both == both {
        return Err(Errno::EINVAL);
    }
    let out = CloneOut {
        ptid: a.addr(2),
        ctid: a.addr(3),
        pidfd: a.addr(2),
        set_tid: Vec::new(),
    };
    do_fork(ctx, flags, a.raw(1), out, a.raw(4))
}

/// `clone3(args, size)`: the same as `clone` from a `struct clone_args` (flags, pidfd,
/// child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
/// cgroup), checked as Linux does.
pub(crate) fn sys_clone3(ctx: &mut Ctx<'_>, a: &Args) -> Result<Outcome, Errno> {
    /// `CLONE_ARGS_SIZE_VER0`, and the size of the version uml knows.
    const VER0: usize = 64;
    const KNOWN: usize = 88;
    let raw = ctx.copy_struct_in(a.addr(0), a.len(1) as usize, VER0, KNOWN)?;
    let w = |i: usize| u64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let (flags, exit_signal, stack, stack_size, tls) = (w(0), w(4), w(5), w(6), w(7));
    if flags & clone_flags::CSIGNAL != 0 || exit_signal > abi::signal::sig::NSIG as u64 {
        return Err(Errno::EINVAL);
    }
    if (stack == 0) != (stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    let (set_tid_at, set_tid_size) = (UserAddr(w(8)), w(9));
    if set_tid_size > u64::from(crate::ns::pid::MAX_LEVEL)
        || set_tid_at.is_null() != (set_tid_size == 0)
    {
        return Err(Errno::EINVAL);
    }
    let mut raw_tids = vec![0u8; set_tid_size as usize * 4];
    ctx.copy_in(set_tid_at, &mut raw_tids)?;
    let set_tid = raw_tids
        .chunks(4)
        .map(|c| i32::from_ne_bytes(c.try_into().unwrap_or_default()))
        .collect();
    // The stack grows down from the end of the area given.
    let sp = stack.checked_add(stack_size).ok_or(Errno::EINVAL)?;
    let out = CloneOut {
        ptid: UserAddr(w(3)),
        ctid: UserAddr(w(2)),
        pidfd: UserAddr(w(1)),
        set_tid,
    };
    do_fork(ctx, flags | exit_signal, sp, out, tls)
}

/// `wait` option bits.
mod wopt {
    pub const WNOHANG: u32 = 1;
    pub const WSTOPPED: u32 = 2;
    pub const WEXITED: u32 = 4;
    pub const WCONTINUED: u32 = 8;
    pub const WNOWAIT: u32 = 0x0100_0000;
    pub const WNOTHREAD: u32 = 0x2000_0000;
    pub const WALL: u32 = 0x4000_0000;
    pub const WCLONE: u32 = 0x8000_0000;
}

/// Which children a wait is for.
#[derive(Clone, Copy)]
enum Which {
    Any,
    Pid(i32),
    Pgid(i32),
}

/// What a wait found.
pub(crate) struct Found {
    pub(crate) pid: i32,
    pub(crate) uid: u32,
    /// The `wait` status word.
    pub(crate) status: i32,
    /// `si_code` for `waitid`.
    pub(crate) code: i32,
    /// Exit code or signal number for `waitid`'s `si_status`.
    pub(crate) si_status: i32,
}

impl Found {
    /// A process (or traced thread) that ended with `st`.
    pub(crate) fn exited(pid: i32, uid: u32, st: ExitStatus) -> Found {
        let (code, si_status) = match st {
            ExitStatus::Exited(c) => (1, c),
            ExitStatus::Signaled(s, core) => (if core { 3 } else { 2 }, s),
        };
        Found {
            pid,
            uid,
            status: st.wait_status(),
            code,
            si_status,
        }
    }
}

/// The core of `wait4`/`waitid`: finds a child or tracee in a reportable state, reaping
/// it unless `WNOWAIT`. `Ok(None)` when children or tracees exist but none is ready. A
/// tracee's ptrace stops are reported to its tracer without `WSTOPPED`, and its exit to
/// the tracer first (`wait_consider_task`).
fn do_wait(ctx: &mut Ctx<'_>, which: Which, options: u32) -> Result<Option<Found>, Errno> {
    use wopt::*;
    let me = ctx.proc.pid;
    let mut any = false;
    let mut kids: Vec<i32> = ctx.proc.children.iter().copied().collect();
    kids.extend(ctx.proc.tracees.difference(&ctx.proc.children));
    for pid in kids {
        let my_child = ctx.proc.children.contains(&pid);
        let Some(child) = ctx.procs.get_mut(pid) else {
            continue;
        };
        let matches = match which {
            Which::Any => true,
            Which::Pid(p) => p == pid,
            Which::Pgid(g) => child.pgid == g,
        };
        // __WCLONE selects children whose exit signal is not SIGCHLD; __WALL takes both.
        let clone_child = child.exit_signal != sig::SIGCHLD;
        if !matches || (options & WALL == 0 && clone_child != (options & WCLONE != 0)) {
            continue;
        }
        any = true;
        let uid = child.cred.uid;
        let traced_by_me = crate::ptrace::tracer_of(child) == Some(me);
        if traced_by_me {
            if let Some(found) = crate::ptrace::wait_stop(child, options & WNOWAIT != 0) {
                return Ok(Some(found));
            }
        } else if child.ptrace.is_some() && matches!(child.state, ProcState::Zombie(_)) {
            // Its tracer sees its exit first.
            continue;
        }
        match child.state {
            ProcState::Zombie(st) if options & WEXITED != 0 && !my_child => {
                if options & WNOWAIT == 0 {
                    crate::ptrace::release_zombie(ctx, pid);
                }
                return Ok(Some(Found::exited(pid, uid, st)));
            }
            ProcState::Stopped { .. } | ProcState::Continued if traced_by_me => {}
            ProcState::Zombie(st) if options & WEXITED != 0 => {
                if options & WNOWAIT == 0 {
                    if let Some(c) = ctx.procs.take(pid) {
                        ctx.proc.children_cpu_ns += c.cpu_ns + c.children_cpu_ns;
                        let peak = c.maxrss.max(c.children_maxrss);
                        ctx.proc.children_maxrss = ctx.proc.children_maxrss.max(peak);
                    }
                    ctx.proc.children.remove(&pid);
                    ctx.proc.tracees.remove(&pid);
                }
                return Ok(Some(Found::exited(pid, uid, st)));
            }
            ProcState::Stopped {
                sig: s,
                reported: false,
            } if options & WSTOPPED != 0 => {
                if options & WNOWAIT == 0 {
                    child.state = ProcState::Stopped {
                        sig: s,
                        reported: true,
                    };
                }
                return Ok(Some(Found {
                    pid,
                    uid,
                    status: 0x7f | (s << 8),
                    code: 5,
                    si_status: s,
                }));
            }
            ProcState::Continued if options & WCONTINUED != 0 => {
                if options & WNOWAIT == 0 {
                    child.state = ProcState::Running;
                }
                return Ok(Some(Found {
                    pid,
                    uid,
                    status: 0xffff,
                    code: 6,
                    si_status: sig::SIGCONT,
                }));
            }
            _ => {}
        }
    }
    let _ = me;
    if any {
        Ok(None)
    } else {
        Err(Errno::ECHILD)
    }
}

pub(crate) fn sys_wait4(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    use wopt::*;
    let (pid, status, options, rusage) = (a.i32(0), a.addr(1), a.u32(2), a.addr(3));
    if options & !(WNOHANG | WSTOPPED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    // A number not in the caller's pid namespace names no child (0 is no pid).
    let named = |p: i32| ctx.pid_named(p).unwrap_or(0);
    let which = match pid {
        -1 => Which::Any,
        0 => Which::Pgid(ctx.proc.pgid),
        p if p < 0 => Which::Pgid(named(p.checked_neg().ok_or(Errno::ESRCH)?)),
        p => Which::Pid(named(p)),
    };
    match do_wait(ctx, which, options | WEXITED)? {
        Some(found) => {
            if !status.is_null() {
                ctx.write_val(status, &found.status)?;
            }
            if !rusage.is_null() {
                // struct rusage: CPU time and counters are not accounted yet.
                ctx.write_val(rusage, &[0u64; 18])?;
            }
            Ok(ctx.pid_seen(found.pid) as u64)
        }
        None if options & WNOHANG != 0 => Ok(0),
        None => {
            let me = ctx.proc.pid;
            Err(ctx.block_on(WaitKey::Child(me)))
        }
    }
}

pub(crate) fn sys_waitid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let infop = a.addr(2);
    match waitid_found(ctx, a) {
        Ok(Some(f)) => {
            if !infop.is_null() {
                let mut info = [0u8; 128];
                info[0..4].copy_from_slice(&sig::SIGCHLD.to_ne_bytes());
                info[8..12].copy_from_slice(&f.code.to_ne_bytes());
                info[16..20].copy_from_slice(&ctx.pid_seen(f.pid).to_ne_bytes());
                info[20..24].copy_from_slice(&f.uid.to_ne_bytes());
                info[24..28].copy_from_slice(&f.si_status.to_ne_bytes());
                ctx.copy_out(infop, &info)?;
            }
            Ok(0)
        }
        Ok(None) => {
            if !infop.is_null() {
                ctx.copy_out(infop, &[0u8; 128])?;
            }
            Ok(0)
        }
        Err(e) if ctx.blocks() => Err(e),
        // Linux clears the reported fields whatever the error (a bad pointer then wins).
        Err(e) => {
            if !infop.is_null() {
                ctx.copy_out(infop, &[0u8; 28])?;
            }
            Err(e)
        }
    }
}

/// `waitid`'s wait: the child found, `None` for `WNOHANG` with nothing to report.
fn waitid_found(ctx: &mut Ctx<'_>, a: &Args) -> Result<Option<Found>, Errno> {
    use wopt::*;
    const P_ALL: u32 = 0;
    const P_PID: u32 = 1;
    const P_PGID: u32 = 2;
    const P_PIDFD: u32 = 3;
    let (idtype, id, options) = (a.u32(0), a.i32(1), a.u32(3));
    if options & !(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE)
        != 0
        || options & (WSTOPPED | WEXITED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    let mut nonblock = false;
    let named = |p: i32| ctx.pid_named(p).unwrap_or(0);
    let which = match idtype {
        P_ALL => Which::Any,
        P_PID if id > 0 => Which::Pid(named(id)),
        P_PIDFD if id >= 0 => {
            let (pid, nb) = crate::pidfd::target(ctx, id)?;
            nonblock = nb;
            Which::Pid(pid)
        }
        P_PGID if id >= 0 => Which::Pgid(if id == 0 { ctx.proc.pgid } else { named(id) }),
        _ => return Err(Errno::EINVAL),
    };
    match do_wait(ctx, which, options)? {
        Some(f) => Ok(Some(f)),
        None if options & WNOHANG != 0 => Ok(None),
        // A non-blocking pidfd makes the wait non-blocking, with EAGAIN.
        None if nonblock => Err(Errno::EAGAIN),
        None => {
            let me = ctx.proc.pid;
            Err(ctx.block_on(WaitKey::Child(me)))
        }
    }
}

pub(crate) fn sys_getppid(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    Ok(ctx.pid_seen(ctx.proc.ppid) as u64)
}

pub(crate) fn sys_getpgid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let pgid = match a.i32(0) {
        0 => ctx.proc.pgid,
        p if ctx.pid_named(p) == Ok(ctx.proc.pid) => ctx.proc.pgid,
        p => ctx
            .procs
            .get(ctx.pid_named(p)?)
            .filter(|q| !matches!(q.state, ProcState::Zombie(_)))
            .map(|q| q.pgid)
            .ok_or(Errno::ESRCH)?,
    };
    Ok(ctx.pid_seen(pgid) as u64)
}

pub(crate) fn sys_getpgrp(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    Ok(ctx.pid_seen(ctx.proc.pgid) as u64)
}

pub(crate) fn sys_getsid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let sid = match a.i32(0) {
        0 => ctx.proc.sid,
        p if ctx.pid_named(p) == Ok(ctx.proc.pid) => ctx.proc.sid,
        p => ctx
            .procs
            .get(ctx.pid_named(p)?)
            .map(|q| q.sid)
            .ok_or(Errno::ESRCH)?,
    };
    Ok(ctx.pid_seen(sid) as u64)
}

pub(crate) fn sys_setsid(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    let me = ctx.proc.pid;
    // A process group leader cannot start a session (nor can anyone whose pid is a group).
    if ctx.proc.pgid == me || ctx.procs.iter().any(|p| p.pgid == me) {
        return Err(Errno::EPERM);
    }
    ctx.proc.sid = me;
    ctx.proc.pgid = me;
    ctx.proc.ctty = None;
    Ok(me as u64)
}

pub(crate) fn sys_setpgid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let me = ctx.proc.pid;
    let (pid, pgid) = (a.i32(0), a.i32(1));
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let target = if pid == 0 { me } else { pid };
    let pgid = if pgid == 0 { target } else { pgid };
    let my_sid = ctx.proc.sid;
    // The target is the caller or one of its children (that has not exec'd: not tracked).
    let (t_sid, t_pid) = if target == me {
        (ctx.proc.sid, me)
    } else {
        let t = ctx.procs.get(target).ok_or(Errno::ESRCH)?;
        if t.ppid != me {
            return Err(Errno::ESRCH);
        }
        (t.sid, t.pid)
    };
    if t_sid != my_sid {
        return Err(Errno::EPERM);
    }
    if target != me && ctx.procs.get(target).is_some_and(|t| t.did_exec) {
        return Err(Errno::EACCES);
    }
    // A session leader cannot change group.
    if t_sid == t_pid {
        return Err(Errno::EPERM);
    }
    // The group must exist in the same session, unless it is the target's own new group.
    if pgid != t_pid {
        let exists = (ctx.proc.pgid == pgid && ctx.proc.sid == my_sid)
            || ctx.procs.iter().any(|p| {
                p.pgid == pgid && p.sid == my_sid && !matches!(p.state, ProcState::Zombie(_))
            });
        if !exists {
            return Err(Errno::EPERM);
        }
    }
    if target == me {
        ctx.proc.pgid = pgid;
    } else if let Some(t) = ctx.procs.get_mut(target) {
        t.pgid = pgid;
    }
    Ok(0)
}

/// What the kernel must do after [`exit_process`].
pub struct ExitEffects {
    /// Wait keys to wake (the parent's child wait, a vfork parent, pipe readers).
    pub wake: Vec<WaitKey>,
    /// Processes to send `SIGCHLD`-style notifications to: (pid, exit signal, status).
    pub notify: Option<(i32, i32, ExitStatus)>,
    /// Signals the kernel sends: to children that asked for one when this parent dies,
    /// and `SIGKILL` to every other process of the pid namespace whose init this was:
    /// (pid, signal).
    pub pdeath: Vec<(i32, i32)>,
}

/// `PR_TSC_ENABLE` and `PR_TSC_SIGSEGV`: whether `rdtsc` may be used.
const TSC_ENABLE: u32 = 1;
const TSC_SIGSEGV: u32 = 2;
const TSC_ENABLE_ARG: u64 = TSC_ENABLE as u64;
const TSC_SIGSEGV_ARG: u64 = TSC_SIGSEGV as u64;

/// `prctl` options uml implements.
mod pr {
    pub const SET_PDEATHSIG: i32 = 1;
    pub const GET_PDEATHSIG: i32 = 2;
    pub const GET_DUMPABLE: i32 = 3;
    pub const SET_DUMPABLE: i32 = 4;
    pub const SET_NAME: i32 = 15;
    pub const GET_NAME: i32 = 16;
    pub const GET_TSC: i32 = 25;
    pub const SET_TSC: i32 = 26;
    pub const SET_TIMERSLACK: i32 = 29;
    pub const GET_TIMERSLACK: i32 = 30;
    pub const SET_CHILD_SUBREAPER: i32 = 36;
    pub const GET_CHILD_SUBREAPER: i32 = 37;
    pub const SET_NO_NEW_PRIVS: i32 = 38;
    pub const GET_NO_NEW_PRIVS: i32 = 39;
}

pub(crate) fn sys_prctl(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if let Some(r) = crate::caps::prctl(ctx, a.i32(0), a) {
        return r;
    }
    let arg = a.raw(1);
    match a.i32(0) {
        pr::SET_PDEATHSIG => {
            if arg > abi::signal::sig::NSIG as u64 {
                return Err(Errno::EINVAL);
            }
            ctx.proc.pdeath_signal = arg as i32;
            Ok(0)
        }
        pr::GET_PDEATHSIG => {
            let v = ctx.proc.pdeath_signal;
            ctx.write_val(a.addr(1), &v)?;
            Ok(0)
        }
        pr::GET_DUMPABLE => Ok(1),
        pr::SET_DUMPABLE if arg <= 1 => Ok(0),
        pr::SET_NAME => {
            let mut name = [0u8; 16];
            // Linux copies 16 bytes and terminates; a short mapping is EFAULT.
            let raw = ctx.mm.read_cstr(ctx.proc.mm, a.addr(1), 16);
            let n = match raw {
                Ok(v) => v.len().min(15),
                Err(Errno::ENAMETOOLONG) => 15,
                Err(e) => return Err(e),
            };
            ctx.copy_in(a.addr(1), &mut name[..n])?;
            ctx.proc.comm = name[..n].to_vec();
            Ok(0)
        }
        pr::GET_NAME => {
            let mut name = [0u8; 16];
            name[..ctx.proc.comm.len()].copy_from_slice(&ctx.proc.comm);
            ctx.copy_out(a.addr(1), &name)?;
            Ok(0)
        }
        pr::GET_TSC => {
            let v: u32 = if ctx.thread().notsc {
                TSC_SIGSEGV
            } else {
                TSC_ENABLE
            };
            ctx.write_val(a.addr(1), &v)?;
            Ok(0)
        }
        pr::SET_TSC => {
            ctx.thread().notsc = match arg {
                TSC_ENABLE_ARG => false,
                TSC_SIGSEGV_ARG => true,
                _ => return Err(Errno::EINVAL),
            };
            Ok(0)
        }
        pr::GET_TIMERSLACK => Ok(ctx.thread().sched.timer_slack_ns),
        pr::SET_TIMERSLACK => {
            // Real-time and deadline threads have none, and keep none (Linux 6.7 on).
            let s = &mut ctx.thread().sched;
            if !s.rt_or_dl() {
                s.timer_slack_ns = if arg == 0 {
                    s.default_timer_slack_ns
                } else {
                    arg
                };
            }
            Ok(0)
        }
        pr::SET_CHILD_SUBREAPER => {
            ctx.proc.child_subreaper = arg != 0;
            Ok(0)
        }
        pr::GET_CHILD_SUBREAPER => {
            let v = i32::from(ctx.proc.child_subreaper);
            ctx.write_val(a.addr(1), &v)?;
            Ok(0)
        }
        pr::SET_NO_NEW_PRIVS if arg == 1 && a.raw(2) == 0 && a.raw(3) == 0 && a.raw(4) == 0 => {
            ctx.proc.no_new_privs = true;
            Ok(0)
        }
        // Every other argument must be 0 (`EINVAL` otherwise).
        pr::GET_NO_NEW_PRIVS if (1..5).all(|i| a.raw(i) == 0) => {
            Ok(u64::from(ctx.proc.no_new_privs))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Ends process `proc` with `status`: closes its files, makes it a zombie (or reaps it at
/// once if its parent ignores `SIGCHLD`), gives its children to init (pid 1), and says whom
/// to wake. The caller releases the address space and puts `proc` back in the table.
pub fn exit_process(
    procs: &mut ProcessTable,
    proc: &mut Process,
    status: ExitStatus,
) -> ExitEffects {
    let mut wake = Vec::new();
    let mut pdeath = Vec::new();
    procs.enter_ns(&proc.ns);
    crate::acct::process_ended(procs, proc, status);
    wake.extend(crate::ptrace::tracer_exits(procs, proc));
    procs.exit_codes.insert(proc.pid, status.wait_status());
    // Waiters of a file retry when its description's last descriptor goes (as `close`).
    let table = proc.fds.identity();
    for entry in proc.fds.release() {
        vfs::notify::dnotify::flush(&entry.file, table);
        let last = vfs::Arc::strong_count(&entry.file) == 1;
        if let Some(id) = entry.file.wait_id().filter(|_| last) {
            wake.push(WaitKey::File(id));
        }
    }
    for (dev, ino) in procs.locks.exited(proc.pid) {
        wake.push(WaitKey::Lock(dev, ino));
    }
    wake.extend(crate::ipc::exit(&mut procs.ipc, proc.pid));
    // Its sockets' peers and listeners (the network made them ready as they closed).
    wake.extend(procs.net.take_ready().into_iter().map(WaitKey::File));
    // Notification groups told of its files' closing.
    wake.extend(vfs::notify::take_ready().into_iter().map(WaitKey::File));
    // Orphans go to the nearest living subreaper among the ancestors, else the init of
    // their pid namespace; zombies among them are the new parent's to reap. When that
    // init is the one ending, every other process of its namespace is killed, and its
    // orphans go to the init of the namespace above.
    let spaces = &procs.ns;
    let my_ns = proc.ns.pid;
    let ends_ns = my_ns != 0 && crate::ns::pid::pid_in(spaces, my_ns, proc.pid) == 1;
    let init_ns = if ends_ns { spaces.parent(my_ns) } else { my_ns };
    let init = crate::ns::pid::reaper(spaces, init_ns).unwrap_or(1);
    if ends_ns {
        let doomed = procs.iter().filter(|q| spaces.is_within(q.ns.pid, my_ns));
        pdeath.extend(doomed.map(|q| (q.pid, sig::SIGKILL)));
    }
    let mut reaper = proc.ppid;
    while let Some(a) = procs.get(reaper) {
        if a.child_subreaper && !matches!(a.state, ProcState::Zombie(_)) || a.ppid == 0 {
            break;
        }
        reaper = a.ppid;
    }
    if procs.get(reaper).is_none_or(|a| !a.child_subreaper) {
        reaper = init;
    }
    for child in std::mem::take(&mut proc.children) {
        if let Some(c) = procs.get_mut(child) {
            c.ppid = reaper;
            if c.pdeath_signal != 0 {
                pdeath.push((child, c.pdeath_signal));
            }
        }
        if let Some(r) = procs.get_mut(reaper) {
            r.children.insert(child);
        }
        wake.push(WaitKey::Child(reaper));
    }
    crate::tty::leader_exits(proc);
    wake.push(WaitKey::Vfork(proc.pid));
    wake.push(WaitKey::File(vfs::pidfd_wait_id(proc.pid)));
    wake.push(WaitKey::Child(proc.ppid));
    proc.state = ProcState::Zombie(status);
    proc.itimers = Default::default();
    proc.posix_timers.clear();
    let notify = match crate::ptrace::tracee_exits(proc) {
        Some(tracer) => {
            wake.push(WaitKey::Child(tracer));
            Some((tracer, sig::SIGCHLD, status))
        }
        None => (proc.exit_signal != 0).then_some((proc.ppid, proc.exit_signal, status)),
    };
    ExitEffects {
        wake,
        notify,
        pdeath,
    }
}

/// Whether a parent has asked not to keep zombies (`SIGCHLD` ignored or `SA_NOCLDWAIT`).
pub fn reaps_automatically(parent: &Process) -> bool {
    let act = parent.sig.actions[(sig::SIGCHLD - 1) as usize];
    act.handler == abi::signal::SIG_IGN || act.flags & abi::signal::sa::NOCLDWAIT != 0
}
