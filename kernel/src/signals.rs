//! Signals at the kernel's level: delivery before a task returns to user mode (frames,
//! default actions, interrupted syscalls), guest faults turned into signals, job-control
//! stops, and the notifications a parent gets.

use abi::signal::{sa, si_code, sig};
use abi::Errno;
use runner::RunnerMsg;
use sched::{SchedMsg, TaskId};
use syscall::kill::send_to;
use syscall::signal::{setup_rt_frame, DefaultAction, Disposition, SigInfo, TrapInfo, XstateInfo};
use syscall::{ExitStatus, Interrupted, ProcState, WaitKey};
use trap::XState;

use crate::ptrace::NextSignal;
use crate::{Kernel, KernelError};

impl Kernel {
    /// Queues `info` for process `pid` and wakes it if it is to act on it.
    pub(crate) fn send_signal(&mut self, pid: i32, info: SigInfo) {
        let mut wake = Vec::new();
        let Some(p) = self.procs.get_mut(pid) else {
            return;
        };
        send_to(p, None, info, &mut wake);
        for key in wake {
            self.wake(key);
        }
    }

    /// A guest fault the kernel cannot resolve: `SIGSEGV` (or another fault signal) is
    /// forced on the faulting thread, as the CPU's exception would be.
    pub(crate) fn force_fault(&mut self, tid: TaskId, info: SigInfo, trap: TrapInfo) {
        let pid = self.tgid(tid);
        if let Some(p) = self.procs.get_mut(pid) {
            let sig = p.sig_of(crate::run::tid_of(tid));
            sig.trap = trap;
            sig.force(info);
        }
    }

    /// Delivers pending signals before `tid` returns to user mode. Returns how the process
    /// ended if a signal killed it.
    pub(crate) fn deliver_signals(
        &mut self,
        tid: TaskId,
    ) -> Result<Option<ExitStatus>, KernelError> {
        let pid = self.tgid(tid);
        let mut handled = false;
        loop {
            let Some(p) = self.procs.get_mut(pid) else {
                return Ok(None);
            };
            p.sig_of(crate::run::tid_of(tid));
            let (mut info, disp) = match self.next_signal(tid) {
                NextSignal::Nothing => break,
                NextSignal::Stopped => return Ok(None),
                NextSignal::Skip => continue,
                NextSignal::Deliver(info, disp) => (info, disp),
            };
            let Some(p) = self.procs.get_mut(pid) else {
                return Ok(None);
            };
            let now = self.clock.now();
            let Some(arm) = syscall::timers::dequeued(p, &mut info, now) else {
                continue; // a stale timer signal
            };
            for (timer, at) in arm {
                self.sched_call(SchedMsg::ArmAlarm { pid, timer, at });
            }
            let Some(p) = self.procs.get_mut(pid) else {
                return Ok(None);
            };
            let mmid = p.mm;
            let Some(task) = self.tasks.get_mut(&tid) else {
                return Ok(None);
            };
            match disp {
                Disposition::Default(DefaultAction::Terminate) => {
                    return Ok(Some(ExitStatus::Signaled(info.signo, false)))
                }
                Disposition::Default(DefaultAction::CoreDump) => {
                    // The wait status says "core dumped" when RLIMIT_CORE allows a dump, as on
                    // Linux; uml does not write the core file itself.
                    let core = p.rlimits[abi::flags::rlimit::CORE as usize].cur > 0;
                    return Ok(Some(ExitStatus::Signaled(info.signo, core)));
                }
                Disposition::Default(DefaultAction::Stop) => {
                    self.stop_process(pid, info.signo);
                    return Ok(None);
                }
                Disposition::Default(DefaultAction::Continue | DefaultAction::Ignore) => {}
                Disposition::Handler(act) => {
                    handled = true;
                    if std::mem::take(&mut task.restart) {
                        let rb = std::mem::take(&mut task.restart_block);
                        match rb.interrupted(Some(act.flags & sa::RESTART != 0)) {
                            Interrupted::RestartAfterHandler | Interrupted::Continue => {
                                task.regs.rax = task.regs.orig_rax;
                                task.regs.rip -= 2;
                            }
                            Interrupted::Return(v) => {
                                task.regs.rax = if v == Errno::EINTR.as_return() {
                                    syscall::time::interrupted_sleep(
                                        &mut self.mm,
                                        mmid,
                                        &task.regs,
                                        rb.deadline,
                                    )
                                    .as_return()
                                } else {
                                    v
                                };
                            }
                        }
                    }
                    let fp = match self.take_fpu_load(pid, tid)? {
                        Some(fp) => fp,
                        None => crate::run::fpregs(self.runner.as_mut(), mmid, tid)?.into_bytes(),
                    };
                    let Some(p) = self.procs.get_mut(pid) else {
                        return Ok(None);
                    };
                    if p.sig.xstate.size == 0 {
                        if let Some(x) = XstateInfo::from_image(&fp) {
                            p.sig.xstate = x;
                        }
                    }
                    let Some(task) = self.tasks.get_mut(&tid) else {
                        return Ok(None);
                    };
                    let regs = &mut task.regs;
                    if setup_rt_frame(&mut self.mm, mmid, regs, &fp, &info, &act, &mut p.sig)
                        .is_err()
                    {
                        // The frame could not be written: Linux kills with SIGSEGV.
                        p.sig.force_sigsegv(info.signo);
                    }
                }
            }
        }
        let Some(p) = self.procs.get_mut(pid) else {
            return Ok(None);
        };
        p.sig_of(crate::run::tid_of(tid));
        if !handled {
            p.sig.restore_saved_mask();
        }
        self.load_fpu(tid)?;
        Ok(None)
    }

    /// Loads the FP image left to load before `tid` returns to user mode: a handler's
    /// initial state, or the state `rt_sigreturn` took from the signal frame.
    pub(crate) fn load_fpu(&mut self, tid: TaskId) -> Result<(), KernelError> {
        let pid = self.tgid(tid);
        if let Some(img) = self.take_fpu_load(pid, tid)? {
            let Some(mm) = self.procs.get(pid).map(|p| p.mm) else {
                return Ok(());
            };
            let set = RunnerMsg::SetFpregs {
                mm,
                tid: crate::run::tid_of(tid),
                xstate: XState::from_bytes(img),
            };
            self.runner.handle(set)?;
        }
        Ok(())
    }

    /// Takes the FP image left to load for `tid` of `pid`, in the host's XSAVE layout: an
    /// image made before the process knew the layout (a forged `rt_sigreturn` before any
    /// handler ran) is fitted to the layout read off the thread's own state.
    fn take_fpu_load(&mut self, pid: i32, tid: TaskId) -> Result<Option<Vec<u8>>, KernelError> {
        let Some(p) = self.procs.get_mut(pid) else {
            return Ok(None);
        };
        let Some(img) = p.sig_of(crate::run::tid_of(tid)).fpu_load.take() else {
            return Ok(None);
        };
        if p.sig.xstate.size == img.len() {
            return Ok(Some(img));
        }
        let mm = p.mm;
        let host = crate::run::fpregs(self.runner.as_mut(), mm, tid)?.into_bytes();
        let Some(layout) = XstateInfo::from_image(&host) else {
            return Ok(Some(img));
        };
        if let Some(p) = self.procs.get_mut(pid) {
            p.sig.xstate = layout;
        }
        Ok(Some(syscall::signal::fit_fpstate(img, &layout)))
    }

    /// A job-control stop: the process's threads leave the run queue until `SIGCONT` (or a
    /// fatal signal); its parent is told. Each thread's blocked call is interrupted as the
    /// stop's wake-up interrupts it on Linux: most carry on after the continue, some fail
    /// with `EINTR`, and a write that moved data returns how much.
    ///
    /// The threads' registers and FP state wait in `stopped_regs` and `stopped_fp` (for a
    /// tracer that attaches). In a
    /// traced process, each traced thread's part of the stop is the tracer's to see as a
    /// ptrace stop.
    fn stop_process(&mut self, pid: i32, signo: i32) {
        let Some(p) = self.procs.get_mut(pid) else {
            return;
        };
        p.state = ProcState::Stopped {
            sig: signo,
            reported: false,
        };
        let (ppid, uid) = (p.ppid, p.cred.uid);
        let threads: Vec<i32> = p.threads.keys().copied().collect();
        let tracer = p.ptrace.as_mut().map(|t| {
            let event_stop = if t.seized {
                syscall::ptrace::event::STOP << 8
            } else {
                0
            };
            let code = signo | event_stop;
            let info = syscall::ptrace::trap_info(signo, code, pid, uid);
            for tid in threads {
                if t.traces(tid) {
                    t.enter(tid, syscall::ptrace::StopKind::Group, code, info);
                }
            }
            t.tracer
        });
        for tid in self.thread_tasks(pid) {
            self.sched_call(SchedMsg::Stop(tid));
            if let Some(t) = self.tasks.get_mut(&tid) {
                if let (true, Interrupted::Return(v)) =
                    (t.restart, t.restart_block.interrupted(None))
                {
                    t.restart = false;
                    t.restart_block = Default::default();
                    t.regs.rax = v;
                }
                let regs = t.regs;
                let fp = self.fp_snapshot(tid);
                if let Some(th) = self
                    .procs
                    .get_mut(pid)
                    .and_then(|p| p.threads.get_mut(&crate::run::tid_of(tid)))
                {
                    th.stopped_regs = Some(regs);
                    th.stopped_fp = fp;
                }
            }
        }
        if let Some(tracer) = tracer.filter(|&t| t != ppid) {
            self.notify_tracer(tracer, pid, uid, si_code::CLD_TRAPPED, signo);
        }
        let nocldstop = self
            .procs
            .get(ppid)
            .is_some_and(|pp| pp.sig.action(sig::SIGCHLD).flags & sa::NOCLDSTOP != 0);
        if !nocldstop {
            self.send_signal(
                ppid,
                SigInfo::chld(si_code::CLD_STOPPED, pid, uid, signo, 0, 0),
            );
        }
        self.wake(WaitKey::Child(ppid));
    }

    /// A stopped task continues if its process was continued or must die.
    pub(crate) fn maybe_continue(&mut self, tid: TaskId) {
        if !self.sched.is_stopped(tid) {
            return;
        }
        let Some(p) = self.tasks.get(&tid).and_then(|t| self.procs.get(t.tgid)) else {
            return;
        };
        let go = if self.ptrace_stopped(tid) {
            // Only SIGKILL ends a ptrace stop without the tracer.
            p.sig.pending_set() & syscall::signal::sigmask(sig::SIGKILL) != 0
        } else {
            !matches!(p.state, ProcState::Stopped { .. }) || p.sig.fatal_pending()
        };
        if go {
            self.sched_call(SchedMsg::Continue(tid));
        }
    }

    /// Tells the parent of a process that ended (`SIGCHLD` or the clone exit signal).
    pub(crate) fn notify_parent(
        &mut self,
        ppid: i32,
        pid: i32,
        uid: u32,
        exit_signal: i32,
        status: ExitStatus,
    ) {
        let (code, st) = match status {
            ExitStatus::Exited(c) => (si_code::CLD_EXITED, c),
            ExitStatus::Signaled(s, true) => (si_code::CLD_DUMPED, s),
            ExitStatus::Signaled(s, false) => (si_code::CLD_KILLED, s),
        };
        let mut info = SigInfo::chld(code, pid, uid, st, 0, 0);
        info.signo = exit_signal;
        self.send_signal(ppid, info);
    }
}
