//! The main loop and what it does with each trap.

use std::time::Instant;

use abi::signal::si_code;
use abi::signal::sig;
use runner::{Runner, RunnerMsg};
use sched::{SchedMsg, SchedReply, TaskId};
use syscall::proc_calls::{exit_process, reaps_automatically};
use syscall::signal::{SigInfo, TrapInfo};
use syscall::{Outcome, ProcState, WaitKey};
use trap::{Trap, XState};

use crate::boot::INIT_TASK;
use crate::host::STREAM_CHECK;
use crate::{ExitStatus, Kernel, KernelError, Task};
use abi::signal::sig as libc_sig;

/// The task of thread `tid`.
fn task_of(tid: i32) -> TaskId {
    TaskId(tid as u32)
}

/// The thread id of task `t`.
pub(crate) fn tid_of(t: TaskId) -> i32 {
    t.0 as i32
}

impl Kernel {
    /// The process (thread group) of task `tid`.
    pub(crate) fn tgid(&self, tid: TaskId) -> i32 {
        self.tasks.get(&tid).map_or(tid_of(tid), |t| t.tgid)
    }

    /// The tasks of process `pid`'s live threads.
    pub(crate) fn thread_tasks(&self, pid: i32) -> Vec<TaskId> {
        self.procs
            .get(pid)
            .map(|p| p.threads.keys().map(|&t| task_of(t)).collect())
            .unwrap_or_default()
    }

    pub(crate) fn main_loop(&mut self) -> Result<ExitStatus, KernelError> {
        loop {
            if self.recorder.is_some() && self.diverged() {
                return Err(KernelError::Diverged);
            }
            self.host_signals();
            self.tty_signals();
            if (!self.host_watch.is_empty() || !self.ports.is_empty())
                && nondet::elapsed(self.host.last_stream_check) >= STREAM_CHECK
            {
                self.check_streams(Some(std::time::Duration::ZERO));
                self.pump_ports();
            }
            self.fire_timers();
            let SchedReply::Next(Some(tid)) = self.sched_call(SchedMsg::PickNext) else {
                self.idle();
                continue;
            };
            let pid = self.tgid(tid);
            let started = nondet::ktime_get();
            let ended = self.run_task(tid)?;
            let ran = nondet::elapsed(started).as_nanos() as u64;
            if self.tasks.contains_key(&tid) {
                self.sched_call(SchedMsg::Ran(tid, ran));
            }
            if let Some(p) = self.procs.get_mut(pid) {
                let expired = syscall::timers::account_cpu(p, tid_of(tid), ran);
                self.timers_expired(pid, expired);
            }
            if let Some(status) = ended.filter(|&st| !self.ptrace_exit_stop(tid, st, true)) {
                self.trace.exited(pid, status);
                if let Some(init_status) = self.exit_task(tid, status) {
                    // What the guest sent to published ports' clients goes out first.
                    self.pump_ports();
                    return Ok(init_status);
                }
            }
        }
    }

    /// Nothing is runnable: wait for the next timer, a watched host stream or a host
    /// signal. With none of these coming, every task waits for something only another task
    /// could do; as on Linux, they wait forever (until uml itself is signalled).
    fn idle(&mut self) {
        if self.pump_ports() {
            return;
        }
        let timeout = self
            .next_deadline()
            .map(|at| at.saturating_duration_since(nondet::ktime_get()));
        self.check_streams(timeout);
        self.pump_ports();
    }

    /// Runs the published ports' relays and wakes whom they made ready; whether anything
    /// moved.
    fn pump_ports(&mut self) -> bool {
        if self.ports.is_empty() {
            return false;
        }
        let moved = self.ports.pump(&self.procs.net);
        for id in self.procs.net.take_ready() {
            self.wake(WaitKey::File(id));
        }
        moved
    }

    /// When the scheduler's next timer is due.
    fn next_deadline(&mut self) -> Option<Instant> {
        match self.sched_call(SchedMsg::NextDeadline) {
            SchedReply::Deadline(at) => at.map(|k| self.clock.instant(k)),
            _ => None,
        }
    }

    /// Waits up to `timeout` (`None`: forever) for watched host streams or a host signal,
    /// and wakes the tasks of the streams that are ready.
    fn check_streams(&mut self, timeout: Option<std::time::Duration>) {
        self.host.last_stream_check = nondet::ktime_get();
        // Streams nobody waits for any more are dropped.
        let sched = &self.sched;
        self.host_watch
            .retain(|id, _| sched.waiters(WaitKey::File(*id)) > 0);
        let watched: Vec<(u64, vfs::FileRef)> = self
            .host_watch
            .iter()
            .map(|(id, f)| (*id, f.clone()))
            .collect();
        let files: Vec<&vfs::FileRef> = watched.iter().map(|(_, f)| f).collect();
        let extra = self.ports.fds();
        let ready = vfs::wait_streams(&files, &extra, self.host.wake_fd(), timeout);
        for ((id, _), r) in watched.iter().zip(ready) {
            if r {
                self.host_watch.remove(id);
                self.wake(WaitKey::File(*id));
            }
        }
    }

    /// Signals the user sent to uml go to the guest: terminal signals to the console's
    /// foreground process group, `SIGTERM`/`SIGHUP` to init.
    fn host_signals(&mut self) {
        for signo in self.host.take() {
            let group = match signo {
                libc_sig::SIGTERM | libc_sig::SIGHUP => None,
                _ => Some(self.procs.console_pgrp),
            };
            let targets = match group {
                Some(g) => self.pgrp_members(g),
                None => vec![1],
            };
            let targets = if targets.is_empty() { vec![1] } else { targets };
            for pid in targets {
                self.send_signal(pid, SigInfo::kernel(signo));
            }
        }
    }

    /// The pids of process group `g`.
    fn pgrp_members(&self, g: i32) -> Vec<i32> {
        self.procs
            .iter()
            .filter(|p| p.pgid == g)
            .map(|p| p.pid)
            .collect()
    }

    /// Signals the guest's terminals raised (typed `^C`, `SIGWINCH`, hangups).
    fn tty_signals(&mut self) {
        for s in self.vfs.take_tty_signals() {
            let targets = match s.to {
                vfs::SignalTarget::Process(pid) => vec![pid],
                vfs::SignalTarget::Group(g) => self.pgrp_members(g),
            };
            for pid in targets {
                self.send_signal(pid, SigInfo::kernel(s.signo));
            }
        }
    }

    fn fire_timers(&mut self) {
        if self
            .next_deadline()
            .is_none_or(|at| at > nondet::ktime_get())
        {
            return;
        }
        let now = self.clock.now();
        if let SchedReply::Fired { alarms, .. } = self.sched_call(SchedMsg::Tick(now)) {
            for (pid, timer) in alarms {
                if let Some(p) = self.procs.get_mut(pid) {
                    let expired = syscall::timers::alarm_due(p, timer, now);
                    self.timers_expired(pid, expired);
                }
            }
        }
    }

    /// Carries out what timers of `pid` that expired ask: wake the tasks their signals
    /// are for, arm their next expiries.
    pub(crate) fn timers_expired(&mut self, pid: i32, expired: syscall::timers::Expired) {
        for (timer, at) in expired.arm {
            self.sched_call(SchedMsg::ArmAlarm { pid, timer, at });
        }
        for key in expired.wake {
            self.wake(key);
        }
    }

    /// Wakes the tasks blocked on `key`, at most `max` of them (first blocked first): their
    /// syscalls run again, knowing that what they waited for woke them.
    fn wake_key(&mut self, key: WaitKey, max: usize) {
        self.wake_bitset(key, max, sched::MATCH_ANY);
    }

    /// [`Kernel::wake_key`] for the waiters whose futex bitset intersects `bitset`.
    fn wake_bitset(&mut self, key: WaitKey, max: usize, bitset: u32) {
        let msg = SchedMsg::WakeKey { key, max, bitset };
        if let SchedReply::Woken(tids) = self.sched_call(msg) {
            for tid in tids {
                if let Some(task) = self.tasks.get_mut(&tid) {
                    task.restart_block.woken = true;
                    task.restart_block.woken_by = Some(key);
                }
            }
        }
    }

    /// Wakes every task blocked on `key`. A signal interrupts the waits of every thread of
    /// its target process but a vfork parent's (which only the child's exec or exit ends);
    /// the first to run takes it, the others restart their calls.
    pub(crate) fn wake(&mut self, key: WaitKey) {
        if let WaitKey::Signal(pid) = key {
            for tid in self.thread_tasks(pid) {
                self.sched_call(SchedMsg::Interrupt(tid));
                self.maybe_continue(tid);
            }
            return;
        }
        self.wake_key(key, usize::MAX);
    }

    /// Whether thread `tid` has a signal to act on before it returns to user mode.
    pub(crate) fn deliverable(&mut self, tid: TaskId) -> bool {
        let pid = self.tgid(tid);
        self.procs.get_mut(pid).is_some_and(|p| {
            p.sig_of(tid_of(tid)).has_deliverable()
                || p.ptrace.as_ref().is_some_and(|t| t.injects(tid_of(tid)))
        })
    }

    /// Runs `tid` until it traps and handles the trap; `Some` when its process has ended.
    fn run_task(&mut self, tid: TaskId) -> Result<Option<syscall::ExitStatus>, KernelError> {
        let pid = self.tgid(tid);
        if let Some((status, group)) = self.ptrace_exiting(tid) {
            if group || self.exit_thread(tid, status) {
                return Ok(Some(status));
            }
            return Ok(None);
        }
        if self.ptrace_before_run(tid) {
            return Ok(None);
        }
        // A call woken by what it waited for completes first (a futex wake is not lost to
        // a signal that came meanwhile); signals are delivered when it returns.
        let completing = self
            .tasks
            .get(&tid)
            .is_some_and(|t| t.restart && t.restart_block.woken);
        if !completing && self.deliverable(tid) {
            if self.ptrace_interrupted_syscall(tid) {
                return Ok(None);
            }
            if let Some(status) = self.deliver_signals(tid)? {
                return Ok(Some(status));
            }
        } else {
            self.load_fpu(tid)?;
        }
        let Some(mmid) = self.procs.get(pid).map(|p| p.mm) else {
            return Ok(None);
        };
        if self.sched.is_stopped(tid) {
            return Ok(None);
        }
        let Some(task) = self.tasks.get_mut(&tid) else {
            return Ok(None);
        };
        let restarted = task.restart;
        let trap = if std::mem::take(&mut task.restart) {
            Trap::Syscall
        } else {
            // The guest may read the time through the vDSO from here on.
            syscall::clock::tick(&mut self.mm);
            let Some(ops) = self.mm.host_ops(mmid) else {
                return Ok(Some(syscall::ExitStatus::Signaled(sig::SIGKILL, false)));
            };
            let ops = if let Some(xstate) = task.saved_fp.take() {
                // A new process's space gets its host side first.
                self.runner.handle(RunnerMsg::SwitchMm { mm: mmid, ops })?;
                let tid = tid_of(tid);
                let set = RunnerMsg::SetFpregs {
                    mm: mmid,
                    tid,
                    xstate,
                };
                self.runner.handle(set)?;
                Vec::new()
            } else {
                ops
            };
            self.runner
                .send_resume(mmid, ops, tid_of(tid), &mut task.regs)?
        };
        match trap {
            Trap::Syscall => self.syscall(tid, !restarted),
            Trap::Fault {
                addr,
                present,
                error_code,
            } => {
                match self.mm.handle_fault(
                    mmid,
                    abi::UserAddr(addr),
                    access_of(error_code),
                    present,
                ) {
                    Ok(()) => {}
                    Err(mm::FaultError::OutOfMemory) => {
                        self.trace.oom(pid);
                        return Ok(Some(syscall::ExitStatus::Signaled(sig::SIGKILL, false)));
                    }
                    Err(mm::FaultError::Bus) => {
                        let info = SigInfo::fault(sig::SIGBUS, si_code::BUS_ADRERR, addr);
                        self.force_fault(tid, info, TrapInfo::page_fault(addr, present, false));
                    }
                    Err(mm::FaultError::Segv { si_code }) => {
                        let info = SigInfo::fault(sig::SIGSEGV, si_code, addr);
                        self.force_fault(tid, info, TrapInfo::page_fault(addr, present, false));
                    }
                    Err(mm::FaultError::Userfault { ctx, flags }) => {
                        self.userfault(tid, mmid, (addr, present), ctx, flags);
                    }
                }
                Ok(None)
            }
            Trap::Signal(info) => {
                // A synchronous exception of the guest's own (SIGILL, SIGFPE, SIGTRAP, a
                // general-protection SIGSEGV): forced on it as the CPU would.
                let trapinfo = TrapInfo {
                    trapno: 0,
                    err: 0,
                    cr2: info.addr,
                };
                self.force_fault(
                    tid,
                    SigInfo::fault(info.signo, info.code, info.addr),
                    trapinfo,
                );
                Ok(None)
            }
            Trap::Interrupted => {
                self.sched_call(SchedMsg::Yield(tid));
                Ok(None)
            }
            // With one runner for every process, the others go on in a new one.
            Trap::Exited(how) if self.mm.view().backend().one_host() => {
                self.trace.runner_died(pid, &how);
                self.mm.host_lost();
                Ok(Some(syscall::ExitStatus::Signaled(sig::SIGKILL, false)))
            }
            Trap::Exited(how) => Err(KernelError::StubDied(pid, how)),
        }
    }

    /// Tells the runner a thread or an address space is gone; the runner has nothing to
    /// report back, and a host failure to clean up is only logged.
    fn runner_release(&mut self, msg: RunnerMsg) {
        if let Err(e) = self.runner.handle(msg) {
            tracing::warn!("runner release: {e}");
        }
    }

    /// Dispatches the syscall `tid` stopped at (`fresh`: trapped now, not restarted).
    fn syscall(
        &mut self,
        tid: TaskId,
        fresh: bool,
    ) -> Result<Option<syscall::ExitStatus>, KernelError> {
        let pid = self.tgid(tid);
        if self.ptrace_syscall_entry(tid, fresh) {
            return Ok(None);
        }
        let Some(task) = self.tasks.get_mut(&tid) else {
            return Ok(None);
        };
        let Some(mut proc) = self.procs.take(pid) else {
            return Ok(None);
        };
        proc.sig_of(tid_of(tid));
        let sched = &self.sched;
        let mut ctx = syscall::Ctx::new(
            &mut self.mm,
            &self.vfs,
            &mut proc,
            &mut self.procs,
            &mut task.regs,
            &mut task.restart_block,
            sched,
        );
        let nr = ctx.regs.orig_rax;
        let args = ctx.regs.syscall_args();
        let entry_regs = self.recorder.is_some().then_some(*ctx.regs);
        // Arguments as they are on entry (an exec replaces the memory they are in).
        let shown = self.trace.enabled().then(|| {
            let view = ctx.mm.view();
            let mmid = ctx.proc.mm;
            let read = |addr: u64, max: usize| {
                let mut b = vec![0; max];
                let n = view.read_resident(mmid, addr, &mut b);
                b.truncate(n);
                b
            };
            crate::trace_args::format(&syscall::name(nr), args, &read)
        });
        let trace = &mut self.trace;
        let reply = syscall::dispatch(&mut ctx, &mut |nr| trace.unknown(nr));
        if let (Some(rec), Some(regs)) = (self.recorder.as_mut(), entry_regs) {
            rec.write_logs(
                &mut self.mm,
                &self.vfs,
                self.runner.as_mut(),
                self.clock.now(),
            );
            rec.write(&crate::record::Entry::Syscall {
                at: self.clock.now(),
                pid,
                tid: tid_of(tid),
                regs: Box::new(regs),
                reply: Box::new(reply.clone()),
            });
        }
        let syscall::Reply { outcome, effects } = reply;
        let mmid = proc.mm;
        if let Some(shown) = shown {
            self.trace.syscall(pid, nr, &shown, &outcome);
        }
        self.procs.insert(proc);
        if !matches!(outcome, Outcome::Block(_)) {
            task.restart_block = Default::default();
        }
        let mut ended = None;
        let mut exec_from = None;
        let mut exit_thread = None;
        let completed = matches!(
            outcome,
            Outcome::Return(_) | Outcome::Yield | Outcome::Exec { .. } | Outcome::Fork { .. }
        );
        match outcome {
            Outcome::Return(v) => task.regs.rax = v,
            Outcome::Yield => {
                task.regs.rax = 0;
                self.sched_call(SchedMsg::Yield(tid));
            }
            Outcome::Block(block) => {
                task.restart = true;
                task.restart_block.woken = false;
                task.restart_block.woken_by = None;
                // A signal to act on is already there (it came while the call completed a
                // wake-up): the task is not parked, and the signal interrupts the call.
                if !self.deliverable(tid) {
                    self.sched_call(SchedMsg::Block {
                        task: tid,
                        keys: block.keys,
                        deadline: block.deadline,
                        interruptible: true,
                        bitset: block.bitset,
                    });
                }
            }
            Outcome::Exec { old_mm } => exec_from = Some(old_mm),
            Outcome::Fork {
                child,
                seen,
                thread,
                regs,
                vfork,
            } => {
                task.regs.rax = seen as u64;
                let ctid = task_of(child);
                let mut new = Task::new(*regs, if thread { pid } else { child });
                // A thread or child starts with its creator's FP state (MXCSR and the x87
                // control word included).
                new.saved_fp = Some(fpregs(self.runner.as_mut(), mmid, tid)?);
                if !thread {
                    if let Some(m) = self.procs.get(child).map(|p| p.mm) {
                        *self.mm_users.entry(m).or_insert(0) += 1;
                    }
                }
                self.tasks.insert(ctid, new);
                self.sched_call(SchedMsg::Wake(ctid));
                if vfork {
                    // The child borrows this address space (and, in a runner with one host
                    // thread per space, the FP registers) until it execs or exits; the
                    // parent sleeps meanwhile.
                    let fp = fpregs(self.runner.as_mut(), mmid, tid)?;
                    if let Some(t) = self.tasks.get_mut(&tid) {
                        t.saved_fp = Some(fp);
                    }
                    self.sched_call(SchedMsg::Block {
                        task: tid,
                        keys: vec![WaitKey::Vfork(child)],
                        deadline: None,
                        interruptible: false,
                        bitset: sched::MATCH_ANY,
                    });
                }
            }
            Outcome::ExitThread(code) => exit_thread = Some(code),
            Outcome::ExitGroup(code) => ended = Some(syscall::ExitStatus::Exited(code)),
        }
        self.apply(effects);
        if let Some(old_mm) = exec_from {
            self.exec_done(tid, pid, old_mm);
            *self.mm_users.entry(mmid).or_insert(0) += 1;
            self.wake(WaitKey::Vfork(pid));
        }
        if completed {
            let after = if exec_from.is_some() {
                task_of(pid)
            } else {
                tid
            };
            self.ptrace_syscall_exit(after);
        }
        if let Some(code) = exit_thread {
            let status = syscall::ExitStatus::Exited(code);
            if !self.ptrace_exit_stop(tid, status, false) && self.exit_thread(tid, status) {
                ended = Some(status);
            }
        }
        Ok(ended)
    }

    /// Carries out what a syscall did besides its value.
    fn apply(&mut self, effects: syscall::Effects) {
        for w in effects.host_waits {
            if let Some(f) = w.file {
                self.host_watch.insert(w.id, f);
            }
        }
        for (pid, timer, at) in effects.alarms {
            self.sched_call(SchedMsg::ArmAlarm { pid, timer, at });
        }
        for key in effects.wake {
            self.wake(key);
        }
        for op in effects.queue_ops {
            match op {
                syscall::QueueOp::Wake { key, max, bitset } => self.wake_bitset(key, max, bitset),
                syscall::QueueOp::Requeue { from, to, max } => {
                    self.sched_call(SchedMsg::Requeue { from, to, max });
                }
            }
        }
        for (tid, nice) in effects.nice {
            self.sched_call(SchedMsg::SetNice(task_of(tid), nice));
        }
        for pid in effects.resume {
            for tid in self.thread_tasks(pid) {
                self.maybe_continue(tid);
            }
        }
    }

    /// After `execve` by thread `tid` of `pid`: the other threads are gone, the caller
    /// takes the leader's tid (Linux's `de_thread`), and the old address space loses a user.
    fn exec_done(&mut self, tid: TaskId, pid: i32, old_mm: mm::MmId) {
        let others: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(&t, task)| task.tgid == pid && t != tid)
            .map(|(&t, _)| t)
            .collect();
        for t in others {
            self.forget_task(t);
            self.runner_release(RunnerMsg::ReleaseThread {
                mm: old_mm,
                tid: tid_of(t),
            });
        }
        self.runner_release(RunnerMsg::ReleaseThread {
            mm: old_mm,
            tid: tid_of(tid),
        });
        let leader = task_of(pid);
        if tid != leader {
            if let Some(task) = self.tasks.remove(&tid) {
                self.sched_call(SchedMsg::Exit(tid));
                self.tasks.insert(leader, task);
                self.sched_call(SchedMsg::Wake(leader));
            }
        }
        self.put_mm(old_mm);
    }

    /// Removes task `tid` from the scheduler (run and wait queues) and the task table.
    fn forget_task(&mut self, tid: TaskId) {
        self.tasks.remove(&tid);
        self.sched_call(SchedMsg::Exit(tid));
    }

    /// Thread `tid` ends, with its process's address space `mm`: its robust futexes and
    /// `clear_child_tid` word are released (waking one waiter each), its task and host
    /// thread go.
    fn release_thread(&mut self, tid: TaskId, mm: mm::MmId, thread: &syscall::Thread) {
        let wake = syscall::futex::exit_thread_mm(&mut self.mm, mm, tid_of(tid), thread);
        self.forget_task(tid);
        self.runner_release(RunnerMsg::ReleaseThread {
            mm,
            tid: tid_of(tid),
        });
        for key in wake {
            self.wake_key(key, 1);
        }
    }

    /// Thread `tid` calls `exit`. Returns whether it was the last thread of its process
    /// (which then exits); otherwise only the thread is gone (a leader that leaves first
    /// keeps the process, and its pid, until the last thread exits).
    fn exit_thread(&mut self, tid: TaskId, status: syscall::ExitStatus) -> bool {
        let pid = self.tgid(tid);
        let Some(p) = self.procs.get_mut(pid) else {
            return true;
        };
        if p.threads.len() <= 1 {
            return true;
        }
        let thread = p.threads.remove(&tid_of(tid)).unwrap_or_default();
        let mm = p.mm;
        self.release_thread(tid, mm, &thread);
        self.ptrace_threads_exited(pid, &[tid_of(tid)], status);
        false
    }

    /// One process fewer uses address space `id`; the last one releases it.
    fn put_mm(&mut self, id: mm::MmId) {
        let users = self.mm_users.entry(id).or_insert(1);
        *users -= 1;
        if *users == 0 {
            self.mm_users.remove(&id);
            self.runner_release(RunnerMsg::Release { mm: id });
            self.mm.destroy_space(id);
        }
    }

    /// Ends the process of `tid`, every thread of it. Returns the status of the whole run
    /// when it was init.
    fn exit_task(&mut self, tid: TaskId, status: syscall::ExitStatus) -> Option<ExitStatus> {
        let pid = self.tgid(tid);
        self.forget_task(tid);
        let tids: Vec<i32> = self.procs.get(pid)?.threads.keys().copied().collect();
        self.ptrace_threads_exited(pid, &tids, status);
        let mut proc = self.procs.take(pid)?;
        for (t, thread) in std::mem::take(&mut proc.threads) {
            self.release_thread(task_of(t), proc.mm, &thread);
        }
        self.runner_release(RunnerMsg::ReleaseThread {
            mm: proc.mm,
            tid: tid_of(tid),
        });
        let uid = proc.cred.uid;
        let effects = exit_process(&mut self.procs, &mut proc, status);
        let peak = self.mm.view().peak_resident_pages(proc.mm);
        proc.maxrss = proc.maxrss.max(peak);
        self.put_mm(proc.mm);
        if task_of(pid) == INIT_TASK {
            return Some(match status {
                syscall::ExitStatus::Exited(c) => ExitStatus::Code(c),
                syscall::ExitStatus::Signaled(s, _) => ExitStatus::Signal(s),
            });
        }
        // A traced process stays a zombie for its tracer's `wait`.
        let auto_reap =
            proc.ptrace.is_none() && self.procs.get(proc.ppid).is_none_or(reaps_automatically);
        if auto_reap {
            if let Some(parent) = self.procs.get_mut(proc.ppid) {
                parent.children.remove(&pid);
            }
        } else {
            debug_assert!(matches!(proc.state, ProcState::Zombie(_)));
            self.procs.insert(proc);
        }
        // The parent's wait is woken before its SIGCHLD comes, so that it completes (as
        // Linux's `do_wait` finds the zombie before it looks for a signal).
        for key in effects.wake {
            self.wake(key);
        }
        if let Some((ppid, signo, st)) = effects.notify {
            self.notify_parent(ppid, pid, uid, signo, st);
        }
        for (child, signo) in effects.pdeath {
            self.send_signal(child, syscall::signal::SigInfo::kernel(signo));
        }
        None
    }
}

/// The FP state of thread `tid` of address space `mm`, from `runner`.
pub(crate) fn fpregs(
    runner: &mut dyn Runner,
    mm: mm::MmId,
    tid: TaskId,
) -> Result<XState, KernelError> {
    let msg = RunnerMsg::GetFpregs {
        mm,
        tid: tid_of(tid),
    };
    Ok(runner.handle(msg)?.fpregs()?)
}

/// The access a page fault's x86 error code says was made (`X86_PF_WRITE`, `X86_PF_INSTR`).
fn access_of(error_code: Option<u32>) -> mm::Access {
    match error_code {
        None => mm::Access::Unknown,
        Some(e) if e & 2 != 0 => mm::Access::Write,
        Some(e) if e & 16 != 0 => mm::Access::Exec,
        Some(_) => mm::Access::Read,
    }
}
