//! Guest ptrace in the main loop (the tracee's side; the requests are
//! `syscall::ptrace`): entering ptrace stops — a signal about to be delivered, a
//! syscall's entry and exit under `PTRACE_SYSCALL`, the event stops syscalls queued, a
//! `PTRACE_INTERRUPT` — and running on after one, with the registers the tracer left and
//! the signal it chose.

use abi::signal::{sa, si_code, sig};
use abi::Errno;
use sched::{SchedMsg, TaskId};
use syscall::ptrace::{event, trap_info, StopKind};
use syscall::signal::{sigmask, Disposition, SigInfo};
use syscall::{OnSignal, WaitKey};

use crate::run::tid_of;
use crate::Kernel;

/// What signal delivery does next for a thread ([`Kernel::next_signal`]).
pub(crate) enum NextSignal {
    /// Nothing is to be delivered.
    Nothing,
    /// The thread entered a signal-delivery stop.
    Stopped,
    /// The signal taken does nothing; look again.
    Skip,
    /// Deliver this signal with this disposition.
    Deliver(SigInfo, Disposition),
}

impl Kernel {
    /// The next signal thread `tid` acts on: one its tracer injected, else the next
    /// pending one — which, in a traced process, first stops the thread for the tracer
    /// to see (`ptrace_signal`), `SIGKILL` excepted. An injected signal that is blocked
    /// now is queued again.
    pub(crate) fn next_signal(&mut self, tid: TaskId) -> NextSignal {
        let pid = self.tgid(tid);
        let Some(p) = self.procs.get_mut(pid) else {
            return NextSignal::Nothing;
        };
        p.sig_of(tid_of(tid));
        let injected = p
            .ptrace
            .as_mut()
            .and_then(|t| t.inject.remove(&tid_of(tid)));
        if let Some(info) = injected {
            if p.sig.blocked & sigmask(info.signo) != 0 {
                p.sig.send_thread(info);
                return NextSignal::Skip;
            }
            return p
                .sig
                .disposition(&info)
                .map_or(NextSignal::Skip, |d| NextSignal::Deliver(info, d));
        }
        if !p.sig.has_deliverable() {
            return NextSignal::Nothing;
        }
        let Some(info) = p.sig.take_deliverable() else {
            return NextSignal::Nothing;
        };
        let traced = p.ptrace.as_ref().is_some_and(|t| t.traces(tid_of(tid)));
        if traced && info.signo != sig::SIGKILL {
            self.ptrace_stop(tid, StopKind::Signal, info.signo, info, None);
            return NextSignal::Stopped;
        }
        p.sig
            .disposition(&info)
            .map_or(NextSignal::Skip, |d| NextSignal::Deliver(info, d))
    }

    /// Thread `tid` enters a ptrace stop (`ptrace_stop`): its registers and FP state wait
    /// for the tracer, the scheduler parks it, the tracer is told (`SIGCHLD` with
    /// `CLD_TRAPPED` unless it set `SA_NOCLDSTOP`) and its `wait` woken.
    pub(crate) fn ptrace_stop(
        &mut self,
        tid: TaskId,
        kind: StopKind,
        code: i32,
        info: SigInfo,
        msg: Option<u64>,
    ) {
        let pid = self.tgid(tid);
        let Some(regs) = self.tasks.get(&tid).map(|t| t.regs) else {
            return;
        };
        let fp = self.fp_snapshot(tid);
        let Some(p) = self.procs.get_mut(pid) else {
            return;
        };
        let uid = p.cred.uid;
        let Some(t) = p.ptrace.as_mut() else {
            return;
        };
        t.enter(tid_of(tid), kind, code, info);
        if let Some(m) = msg {
            t.event_msg = m;
        }
        let tracer = t.tracer;
        if let Some(th) = p.threads.get_mut(&tid_of(tid)) {
            th.stopped_regs = Some(regs);
            th.stopped_fp = fp;
        }
        self.sched_call(SchedMsg::Stop(tid));
        self.notify_tracer(tracer, tid_of(tid), uid, si_code::CLD_TRAPPED, code & 0x7f);
    }

    /// The FP state thread `tid` runs on next (an image left to load, a new thread's
    /// inherited state, else the host's), for a tracer to read while it is stopped.
    pub(crate) fn fp_snapshot(&mut self, tid: TaskId) -> Option<Vec<u8>> {
        let saved = self.tasks.get(&tid)?.saved_fp.clone();
        let p = self.procs.get_mut(self.tgid(tid))?;
        let mm = p.mm;
        match (p.sig_of(tid_of(tid)).fpu_load.clone(), saved) {
            (Some(img), _) => Some(img),
            (None, Some(x)) => Some(x.into_bytes()),
            (None, None) => crate::run::fpregs(self.runner.as_mut(), mm, tid)
                .ok()
                .map(|x| x.into_bytes()),
        }
    }

    /// Tells `tracer` that its tracee `pid` stopped (`do_notify_parent_cldstop`).
    pub(crate) fn notify_tracer(&mut self, tracer: i32, pid: i32, uid: u32, why: i32, st: i32) {
        let nocldstop = self
            .procs
            .get(tracer)
            .is_some_and(|t| t.sig.action(sig::SIGCHLD).flags & sa::NOCLDSTOP != 0);
        if !nocldstop {
            self.send_signal(tracer, SigInfo::chld(why, pid, uid, st, 0, 0));
        }
        self.wake(WaitKey::Child(tracer));
    }

    /// Before thread `tid` runs: the registers it had while stopped (which a tracer may
    /// have changed) become its own again, and it enters the next ptrace stop it owes (an
    /// interrupt, a queued event or syscall-exit stop) unless it is being killed. Returns
    /// whether it stopped.
    pub(crate) fn ptrace_before_run(&mut self, tid: TaskId) -> bool {
        let pid = self.tgid(tid);
        let me = tid_of(tid);
        let Some(p) = self.procs.get_mut(pid) else {
            return false;
        };
        if let Some(th) = p.threads.get_mut(&me) {
            th.stopped_fp = None;
            if let (Some(regs), Some(task)) = (th.stopped_regs.take(), self.tasks.get_mut(&tid)) {
                task.regs = regs;
            }
        }
        if p.ptrace.is_none() || p.sig_of(me).pending_set() & sigmask(sig::SIGKILL) != 0 {
            return false;
        }
        let uid = p.cred.uid;
        let Some(t) = p.ptrace.as_mut() else {
            return false;
        };
        let next = if t.interrupt.remove(&me) || t.listening.remove(&me) {
            Some((StopKind::Event, sig::SIGTRAP | (event::STOP << 8), None))
        } else {
            let i = t.pending.iter().position(|s| s.tid == me);
            i.and_then(|i| t.pending.remove(i))
                .map(|s| (s.kind, s.code, s.msg))
        };
        let Some((kind, code, msg)) = next else {
            return false;
        };
        let info = trap_info(sig::SIGTRAP, code, pid, uid);
        self.ptrace_stop(tid, kind, code, info, msg);
        true
    }

    /// A syscall of `tid` starts (`fresh`: trapped now, not restarted): under
    /// `PTRACE_SYSCALL` it stops at the entry first, with `-ENOSYS` in `rax` as Linux
    /// shows, and runs the call (as the tracer left its registers) when resumed.
    /// Returns whether it stopped.
    pub(crate) fn ptrace_syscall_entry(&mut self, tid: TaskId, fresh: bool) -> bool {
        let pid = self.tgid(tid);
        let Some(t) = self.procs.get_mut(pid).and_then(|p| p.ptrace.as_mut()) else {
            return false;
        };
        let me = tid_of(tid);
        if fresh {
            t.in_syscall.remove(&me);
        }
        if !fresh || !t.traces_syscalls() || !t.traces(me) {
            return false;
        }
        t.in_syscall.insert(me);
        let code = t.syscall_code();
        let Some(task) = self.tasks.get_mut(&tid) else {
            return false;
        };
        task.regs.rax = Errno::ENOSYS.as_return();
        task.restart = true;
        let uid = self.procs.get(pid).map_or(0, |p| p.cred.uid);
        let info = trap_info(sig::SIGTRAP, code, pid, uid);
        self.ptrace_stop(tid, StopKind::SyscallEntry, code, info, None);
        true
    }

    /// A syscall of `after` (the thread that made it, or the leader it became by
    /// `execve`) completed: its syscall-exit stop is queued if its entry was reported and
    /// the tracer still traces syscalls.
    pub(crate) fn ptrace_syscall_exit(&mut self, after: TaskId) {
        let pid = self.tgid(after);
        let Some(t) = self.procs.get_mut(pid).and_then(|p| p.ptrace.as_mut()) else {
            return;
        };
        if !t.in_syscall.remove(&tid_of(after)) || !t.traces_syscalls() {
            return;
        }
        t.pending.push_back(syscall::ptrace::PendingStop {
            tid: tid_of(after),
            kind: StopKind::SyscallExit,
            code: t.syscall_code(),
            msg: None,
        });
    }

    /// A signal interrupts the blocked syscall of `tid`: if its entry was reported, the
    /// tracer sees its exit first, with the `-ERESTART*` code (or `-EINTR`) Linux's call
    /// returns to the signal code. Returns whether it stopped.
    pub(crate) fn ptrace_interrupted_syscall(&mut self, tid: TaskId) -> bool {
        let pid = self.tgid(tid);
        let Some(task) = self.tasks.get_mut(&tid).filter(|t| t.restart) else {
            return false;
        };
        let Some(t) = self.procs.get_mut(pid).and_then(|p| p.ptrace.as_mut()) else {
            return false;
        };
        if !t.traces_syscalls() || !t.in_syscall.remove(&tid_of(tid)) {
            return false;
        }
        let code = t.syscall_code();
        let rb = &task.restart_block;
        task.regs.rax = if rb.progress > 0 {
            rb.progress
        } else {
            let errno: u64 = match rb.on_signal {
                OnSignal::RestartSys => 512,
                OnSignal::RestartNoIntr => 513,
                OnSignal::RestartNoHand => 514,
                OnSignal::Intr => Errno::EINTR as u64,
            };
            errno.wrapping_neg()
        };
        let uid = self.procs.get(pid).map_or(0, |p| p.cred.uid);
        let info = trap_info(sig::SIGTRAP, code, pid, uid);
        self.ptrace_stop(tid, StopKind::SyscallExit, code, info, None);
        true
    }

    /// Thread `tid` (with `group`, its whole process) is to end with `status`: under
    /// `PTRACE_O_TRACEEXIT` it first stops with `PTRACE_EVENT_EXIT` (the wait status as
    /// the event message), unless it was killed by `SIGKILL` or already reported it.
    /// Returns whether it stopped.
    pub(crate) fn ptrace_exit_stop(
        &mut self,
        tid: TaskId,
        status: syscall::ExitStatus,
        group: bool,
    ) -> bool {
        let pid = self.tgid(tid);
        let Some(p) = self.procs.get_mut(pid) else {
            return false;
        };
        let uid = p.cred.uid;
        let Some(t) = p.ptrace.as_mut() else {
            return false;
        };
        if t.options & syscall::ptrace::opt::TRACEEXIT == 0
            || !t.traces(tid_of(tid))
            || t.exiting.contains_key(&tid_of(tid))
            || status == syscall::ExitStatus::Signaled(sig::SIGKILL, false)
        {
            return false;
        }
        t.exiting.insert(tid_of(tid), (status, group));
        let code = sig::SIGTRAP | (event::EXIT << 8);
        let info = trap_info(sig::SIGTRAP, code, pid, uid);
        let msg = Some(status.wait_status() as u64);
        self.ptrace_stop(tid, StopKind::Event, code, info, msg);
        true
    }

    /// The status a thread that reported `PTRACE_EVENT_EXIT` ends with, now it runs on,
    /// and whether its whole process ends.
    pub(crate) fn ptrace_exiting(&self, tid: TaskId) -> Option<(syscall::ExitStatus, bool)> {
        let p = self.procs.get(self.tgid(tid))?;
        p.ptrace.as_ref()?.exiting.get(&tid_of(tid)).copied()
    }

    /// Traced threads `tids` of `pid` ended with `status`: the tracer's `wait` is to see
    /// each (told by `SIGCHLD`).
    pub(crate) fn ptrace_threads_exited(
        &mut self,
        pid: i32,
        tids: &[i32],
        status: syscall::ExitStatus,
    ) {
        let Some(p) = self.procs.get_mut(pid) else {
            return;
        };
        let uid = p.cred.uid;
        let Some(t) = p.ptrace.as_mut() else {
            return;
        };
        let mut any = false;
        for &tid in tids.iter().filter(|&&tid| tid != pid) {
            if t.traces(tid) {
                t.exited.push_back((tid, status));
                any = true;
            }
        }
        let tracer = t.tracer;
        if any {
            let (code, st) = match status {
                syscall::ExitStatus::Exited(c) => (si_code::CLD_EXITED, c),
                syscall::ExitStatus::Signaled(s, _) => (si_code::CLD_KILLED, s),
            };
            self.notify_tracer(tracer, pid, uid, code, st);
        }
    }

    /// Whether thread `tid` is in a ptrace stop that only `SIGKILL` ends.
    pub(crate) fn ptrace_stopped(&self, tid: TaskId) -> bool {
        self.procs
            .get(self.tgid(tid))
            .and_then(|p| p.ptrace.as_ref())
            .is_some_and(|t| t.stopped(tid_of(tid)))
    }
}
