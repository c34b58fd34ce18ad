//! `ptrace(2)` between guest tasks (Linux's `kernel/ptrace.c` and the ptrace half of
//! `kernel/signal.c`): a guest tracer attaches to a guest process, sees its stops through
//! `wait`, reads and changes its memory and registers, and resumes it. The host's own
//! ptrace or seccomp, which uml uses to run guests, has nothing to do with it.
//!
//! What it owns: the tracing link ([`Tracee`] on the traced process, [`Process::tracees`]
//! on the tracer), the stops a tracee is in or is to enter ([`Stop`], [`PendingStop`]),
//! what a resume injects, the requests ([`calls`]) and `struct user` with the debug
//! registers ([`user`]). A process has one tracer; its threads stop, are reported and
//! resumed each on its own (by tid), except that a thread created without
//! `PTRACE_O_TRACECLONE` is not traced ([`Tracee::untraced`]).
//!
//! Stops are values: a handler that wants its caller to stop later (a fork or exec
//! event) queues a [`PendingStop`]; the kernel enters stops (a signal about to be
//! delivered, a syscall's entry and exit, the queued ones) by recording the [`Stop`] here,
//! parking the task with the scheduler and telling the tracer. A stopped thread's
//! registers wait in [`crate::Thread::stopped_regs`] (and its FP state in `stopped_fp`),
//! where the tracer's requests read and change them; the kernel puts them back when the
//! thread runs again. The debug registers are kept and checked as Linux checks them, but
//! never reach the host: hardware breakpoints and single-stepping are not implemented.

pub(crate) mod calls;
#[cfg(test)]
mod tests;
pub(crate) mod user;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use abi::signal::sig;

use crate::process::{ProcState, Process, ProcessTable};
use crate::signal::SigInfo;
use crate::WaitKey;

/// `PTRACE_O_*` options (Linux's values).
#[allow(missing_docs)]
pub mod opt {
    pub const TRACESYSGOOD: u32 = 1;
    pub const TRACEFORK: u32 = 2;
    pub const TRACEVFORK: u32 = 4;
    pub const TRACECLONE: u32 = 8;
    pub const TRACEEXEC: u32 = 0x10;
    pub const TRACEEXIT: u32 = 0x40;
    pub const EXITKILL: u32 = 1 << 20;
    /// Every option Linux accepts (`PTRACE_O_MASK`).
    pub const MASK: u32 = 0xff | EXITKILL | (1 << 21);
}

/// `PTRACE_EVENT_*` (Linux's values).
#[allow(missing_docs)]
pub mod event {
    pub const FORK: i32 = 1;
    pub const VFORK: i32 = 2;
    pub const CLONE: i32 = 3;
    pub const EXEC: i32 = 4;
    pub const EXIT: i32 = 6;
    pub const STOP: i32 = 128;
}

/// Why a tracee is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopKind {
    /// Signal-delivery stop: the signal in [`Tracee::siginfo`] is about to be delivered;
    /// the resume says which signal (if any) is delivered instead.
    Signal,
    /// A job-control stop of a traced process (its group stop, as the tracer sees it).
    Group,
    /// Syscall-entry stop (`PTRACE_SYSCALL`).
    SyscallEntry,
    /// Syscall-exit stop.
    SyscallExit,
    /// A `PTRACE_EVENT_*` stop (or `PTRACE_INTERRUPT`'s `PTRACE_EVENT_STOP`).
    Event,
}

/// The ptrace stop a tracee's thread is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stop {
    /// The stopped thread.
    pub tid: i32,
    /// Why.
    pub kind: StopKind,
    /// What `wait` reports in bits 8.. of the status: the signal, with
    /// `PTRACE_EVENT_*` << 8 or 0x80 (`PTRACE_O_TRACESYSGOOD`) added.
    pub code: i32,
    /// Whether the tracer's `wait` has seen it.
    pub reported: bool,
    /// Its siginfo (`PTRACE_GETSIGINFO`/`SETSIGINFO`): the signal of a signal-delivery
    /// stop, `SIGTRAP` with the code of the others.
    pub siginfo: SigInfo,
}

/// A stop for a thread to enter before it runs on (an event a syscall raised, a
/// syscall-exit stop after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingStop {
    /// The thread.
    pub tid: i32,
    /// Why.
    pub kind: StopKind,
    /// The `wait` code ([`Stop::code`]).
    pub code: i32,
    /// `PTRACE_GETEVENTMSG`'s value for an event.
    pub msg: Option<u64>,
}

/// How the tracer last resumed its tracee.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Resume {
    /// `PTRACE_CONT` (and attach): stops at signals and events only.
    #[default]
    Cont,
    /// `PTRACE_SYSCALL`: stops at each syscall's entry and exit too.
    Syscall,
}

/// A traced process's side of the link.
#[derive(Clone, Debug, Default)]
pub struct Tracee {
    /// The tracing process.
    pub tracer: i32,
    /// `PTRACE_O_*` options.
    pub options: u32,
    /// Attached by `PTRACE_SEIZE` (no `SIGSTOP` at attach; `PTRACE_INTERRUPT` works).
    pub seized: bool,
    /// The ptrace stops its threads are in, by tid.
    pub stops: BTreeMap<i32, Stop>,
    /// Stops to enter before a thread runs on, in order.
    pub pending: VecDeque<PendingStop>,
    /// How it was last resumed.
    pub resume: Resume,
    /// The signal to deliver, without reporting it again, when a thread runs on (the
    /// tracer's choice at the end of its signal-delivery stop), by tid.
    pub inject: BTreeMap<i32, SigInfo>,
    /// `PTRACE_GETEVENTMSG`.
    pub event_msg: u64,
    /// Threads whose syscall-entry stop was reported, the exit still to come.
    pub in_syscall: BTreeSet<i32>,
    /// Threads `PTRACE_INTERRUPT` asked to stop.
    pub interrupt: BTreeSet<i32>,
    /// Threads out of their ptrace stop by `PTRACE_LISTEN` but still job-stopped: each
    /// traps again (`PTRACE_EVENT_STOP` with `SIGTRAP`) once it is continued.
    pub listening: BTreeSet<i32>,
    /// Threads created without `PTRACE_O_TRACECLONE`: not traced (no stops; their
    /// signals are delivered as in an untraced process).
    pub untraced: BTreeSet<i32>,
    /// Threads exiting with this status (`true`: the whole process) that reported
    /// `PTRACE_EVENT_EXIT`: each ends when resumed.
    pub exiting: BTreeMap<i32, (crate::ExitStatus, bool)>,
    /// Threads that ended, for the tracer's `wait` to see (as Linux's tracer sees each
    /// traced thread's exit).
    pub exited: VecDeque<(i32, crate::ExitStatus)>,
    /// The debug registers (`u_debugreg`).
    pub debugreg: user::DebugRegs,
}

impl Tracee {
    /// A new link to `tracer`.
    pub fn new(tracer: i32, options: u32, seized: bool) -> Tracee {
        Tracee {
            tracer,
            options,
            seized,
            ..Default::default()
        }
    }

    /// Whether it traces its syscalls (`PTRACE_SYSCALL`).
    pub fn traces_syscalls(&self) -> bool {
        self.resume == Resume::Syscall
    }

    /// The `wait` code of a syscall stop: `SIGTRAP`, with 0x80 under
    /// `PTRACE_O_TRACESYSGOOD`.
    pub fn syscall_code(&self) -> i32 {
        sig::SIGTRAP
            | if self.options & opt::TRACESYSGOOD != 0 {
                0x80
            } else {
                0
            }
    }

    /// Queues the event stop `ev` for thread `tid` if the tracer asked for it
    /// (`option`), with `msg` for `PTRACE_GETEVENTMSG`. Returns whether it did.
    pub fn queue_event(&mut self, tid: i32, option: u32, ev: i32, msg: u64) -> bool {
        if self.options & option == 0 {
            return false;
        }
        self.pending.push_back(PendingStop {
            tid,
            kind: StopKind::Event,
            code: sig::SIGTRAP | (ev << 8),
            msg: Some(msg),
        });
        true
    }

    /// Whether thread `tid` has a signal from the tracer to take before it runs on.
    pub fn injects(&self, tid: i32) -> bool {
        self.inject.contains_key(&tid)
    }

    /// Whether thread `tid` is in a ptrace stop.
    pub fn stopped(&self, tid: i32) -> bool {
        self.stops.contains_key(&tid)
    }

    /// Whether thread `tid` is traced.
    pub fn traces(&self, tid: i32) -> bool {
        !self.untraced.contains(&tid)
    }

    /// Records that thread `tid` entered a stop.
    pub fn enter(&mut self, tid: i32, kind: StopKind, code: i32, siginfo: SigInfo) {
        let stop = Stop {
            tid,
            kind,
            code,
            reported: false,
            siginfo,
        };
        self.stops.insert(tid, stop);
    }
}

/// The siginfo of a trap stop (`ptrace_do_notify`): `signo`, with the stop's code as
/// `si_code`, from the tracee itself.
pub fn trap_info(signo: i32, code: i32, pid: i32, uid: u32) -> SigInfo {
    SigInfo {
        signo,
        errno: 0,
        code,
        fields: crate::signal::SigFields::Kill { pid, uid },
    }
}

/// Links `tracee` to `tracer` (by pid; the tracer may be the caller, not in `procs`).
pub(crate) fn link(tracee: &mut Process, tracer: i32, options: u32, seized: bool) {
    tracee.ptrace = Some(Box::new(Tracee::new(tracer, options, seized)));
    tracee.sig.traced = true;
}

/// Unlinks `tracee` from its tracer (`__ptrace_unlink`): its debug registers, stops and
/// queued stops go. The caller removes it from the tracer's [`Process::tracees`].
pub(crate) fn unlink(tracee: &mut Process) -> Option<Box<Tracee>> {
    tracee.sig.traced = false;
    tracee.ptrace.take()
}

/// The tracing a new child of `parent` gets (`ptrace_init_task` with `PTRACE_O_TRACE*`):
/// when the tracer asked to follow this kind of child, the child is traced by it too and
/// starts with a `SIGSTOP` (or, seized, a `PTRACE_EVENT_STOP`); the parent is to report the
/// event. `ev` is the event the child's creation is (`event::FORK`, `VFORK`, `CLONE`).
pub(crate) fn fork_child(
    parent: &mut Process,
    parent_tid: i32,
    child: &mut Process,
    ev: i32,
) -> Option<i32> {
    let t = parent.ptrace.as_mut()?;
    let option = match ev {
        event::FORK => opt::TRACEFORK,
        event::VFORK => opt::TRACEVFORK,
        _ => opt::TRACECLONE,
    };
    if !t.queue_event(parent_tid, option, ev, child.pid as u64) {
        return None;
    }
    let (tracer, options, seized) = (t.tracer, t.options, t.seized);
    link(child, tracer, options, seized);
    let mut wake = Vec::new();
    if seized {
        if let Some(ct) = child.ptrace.as_mut() {
            ct.pending.push_back(PendingStop {
                tid: child.pid,
                kind: StopKind::Event,
                code: sig::SIGTRAP | (event::STOP << 8),
                msg: None,
            });
        }
    } else {
        crate::kill::send_to(child, None, SigInfo::kernel(sig::SIGSTOP), &mut wake);
    }
    Some(tracer)
}

/// After `execve` by thread `old_tid` of traced `p` (now its leader, its other threads
/// gone): `PTRACE_EVENT_EXEC` if the tracer asked for it, else (attached by
/// `PTRACE_ATTACH` or `TRACEME`) a `SIGTRAP`.
pub(crate) fn exec_event(p: &mut Process, old_tid: i32) {
    let (pid, uid) = (p.pid, p.cred.uid);
    let Some(t) = p.ptrace.as_mut() else {
        return;
    };
    if t.in_syscall.remove(&old_tid) {
        t.in_syscall.insert(pid);
    }
    let gone = |tid: &i32| *tid != pid;
    t.stops.retain(|tid, _| !gone(tid));
    t.inject.retain(|tid, _| !gone(tid));
    t.in_syscall.retain(|tid| !gone(tid));
    t.interrupt.retain(|tid| !gone(tid));
    t.listening.retain(|tid| !gone(tid));
    t.untraced.clear();
    t.pending.retain(|s| !gone(&s.tid));
    if !t.queue_event(pid, opt::TRACEEXEC, event::EXEC, old_tid as u64) && !t.seized {
        let info = SigInfo::user(sig::SIGTRAP, pid, uid);
        crate::kill::send_to(p, Some(pid), info, &mut Vec::new());
    }
}

/// What a traced process's exit does to its link: its stops are over, and a tracer that is
/// not its parent is the one told and the one to `wait` for it first. Returns whom to
/// notify instead of the parent.
pub(crate) fn tracee_exits(p: &mut Process) -> Option<i32> {
    let t = p.ptrace.as_mut()?;
    t.stops.clear();
    t.pending.clear();
    t.inject.clear();
    t.interrupt.clear();
    t.listening.clear();
    (t.tracer != p.ppid).then_some(t.tracer)
}

/// A new thread `tid` of traced `p`, made by thread `by`: with `PTRACE_O_TRACECLONE` (and
/// unless `CLONE_UNTRACED`: `traceable` false) the creator reports `PTRACE_EVENT_CLONE`
/// and the thread is traced from a `SIGSTOP` (seized: a `PTRACE_EVENT_STOP`); without, it
/// is not traced.
pub(crate) fn new_thread(p: &mut Process, by: i32, tid: i32, traceable: bool) {
    let Some(t) = p.ptrace.as_mut() else {
        return;
    };
    if !traceable || !t.queue_event(by, opt::TRACECLONE, event::CLONE, tid as u64) {
        t.untraced.insert(tid);
        return;
    }
    if t.seized {
        t.pending.push_back(PendingStop {
            tid,
            kind: StopKind::Event,
            code: sig::SIGTRAP | (event::STOP << 8),
            msg: None,
        });
    } else {
        crate::kill::send_to(p, Some(tid), SigInfo::kernel(sig::SIGSTOP), &mut Vec::new());
    }
}

/// What becomes of a process's tracees when it exits (`exit_ptrace`): each is unlinked;
/// one in a ptrace stop runs on (stays stopped if its process is job-stopped), one that
/// asked for `PTRACE_O_EXITKILL` is killed, and a zombie only the tracer was to see goes
/// to its parent. Returns the pids to let run and the wake-ups.
pub(crate) fn tracer_exits(procs: &mut ProcessTable, tracer: &mut Process) -> Vec<WaitKey> {
    let mut wake = Vec::new();
    for pid in std::mem::take(&mut tracer.tracees) {
        let Some(p) = procs.get_mut(pid) else {
            continue;
        };
        let Some(t) = unlink(p) else {
            continue;
        };
        if t.options & opt::EXITKILL != 0 {
            crate::kill::send_to(p, None, SigInfo::kernel(sig::SIGKILL), &mut wake);
        }
        if matches!(p.state, ProcState::Zombie(_)) {
            wake.push(WaitKey::Child(p.ppid));
        }
        wake.push(WaitKey::Signal(pid));
    }
    wake
}

/// An unreported ptrace stop of `p`, for its tracer's `wait` (marked reported unless
/// `nowait`): status `code << 8 | 0x7f`, `CLD_TRAPPED`, from the stopped thread's tid.
pub(crate) fn wait_stop(p: &mut Process, nowait: bool) -> Option<crate::proc_calls::Found> {
    let uid = p.cred.uid;
    let t = p.ptrace.as_mut()?;
    if let Some(&(tid, st)) = t.exited.front() {
        if !nowait {
            t.exited.pop_front();
        }
        return Some(crate::proc_calls::Found::exited(tid, uid, st));
    }
    let stop = t.stops.values_mut().find(|s| !s.reported)?;
    stop.reported |= !nowait;
    let (code, tid) = (stop.code, stop.tid);
    if let ProcState::Stopped { sig: s, .. } = p.state {
        p.state = ProcState::Stopped {
            sig: s,
            reported: true,
        };
    }
    Some(crate::proc_calls::Found {
        pid: tid,
        uid: p.cred.uid,
        status: (code << 8) | 0x7f,
        code: abi::signal::si_code::CLD_TRAPPED,
        si_status: code,
    })
}

/// The tracer has seen the exit of zombie `pid`, which is not its child: it is unlinked
/// and becomes its parent's to reap (`release_task` of a ptrace-only zombie), the parent
/// told as of a child's exit.
pub(crate) fn release_zombie(ctx: &mut crate::Ctx<'_>, pid: i32) {
    ctx.proc.tracees.remove(&pid);
    let Some(p) = ctx.procs.get_mut(pid) else {
        return;
    };
    unlink(p);
    let (ppid, uid, exit_signal, state) = (p.ppid, p.cred.uid, p.exit_signal, p.state);
    let ProcState::Zombie(st) = state else {
        return;
    };
    let auto_reap = ctx
        .process(ppid)
        .map_or(true, crate::proc_calls::reaps_automatically);
    if auto_reap {
        ctx.procs.take(pid);
        if let Ok(parent) = ctx.process_mut(ppid) {
            parent.children.remove(&pid);
        }
        return;
    }
    if exit_signal != 0 {
        let (code, status) = match st {
            crate::ExitStatus::Exited(c) => (abi::signal::si_code::CLD_EXITED, c),
            crate::ExitStatus::Signaled(s, true) => (abi::signal::si_code::CLD_DUMPED, s),
            crate::ExitStatus::Signaled(s, false) => (abi::signal::si_code::CLD_KILLED, s),
        };
        let mut info = SigInfo::chld(code, pid, uid, status, 0, 0);
        info.signo = exit_signal;
        let mut wake = Vec::new();
        if let Ok(parent) = ctx.process_mut(ppid) {
            crate::kill::send_to(parent, None, info, &mut wake);
        }
        ctx.wake_all(wake);
    }
    ctx.wake(WaitKey::Child(ppid));
}

/// The tracer `p` reports its `wait`-visible changes to, if it is traced.
pub fn tracer_of(p: &Process) -> Option<i32> {
    p.ptrace.as_ref().map(|t| t.tracer)
}
