//! A runner without host processes, for tests: [`ScriptedRunner`] plays a script of traps
//! for each guest thread and records every message it receives.
//!
//! A test gives each guest thread (by tid) a list of [`Step`]s: make this syscall, fault
//! at that address, take that signal, run out the time slice, or have the host process die.
//! Each [`RunnerMsg::Resume`] of a thread plays its next step on the registers the kernel
//! sent and replies with the trap and the registers so changed. What the kernel answered is
//! then visible in the messages that follow: a syscall's result is `rax` of the thread's
//! next resume, a resolved fault resumes with the registers unchanged, a new process shows
//! as resumes of a new tid. Nothing runs on the host, and guest memory is never touched
//! (the kernel still keeps it in `mm`, so syscalls that read or write the guest work).
//!
//! ```
//! use runner::fake::{ScriptedRunner, Step};
//! use runner::{Runner, RunnerMsg, RunnerReply};
//! use trap::Trap;
//!
//! let mut runner = ScriptedRunner::new().thread(1, [Step::syscall(39, [0; 6])]);
//! let log = runner.log();
//! let regs = Default::default();
//! let reply = runner.handle(RunnerMsg::Resume { mm: mm::MmId(1), ops: vec![], tid: 1, regs });
//! let (trap, regs) = reply.unwrap().trapped().unwrap();
//! assert_eq!((trap, regs.orig_rax), (Trap::Syscall, 39));
//! assert_eq!(log.resumes(1).len(), 1);
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use abi::structs::UserRegs;
use mm::{MmId, MmOp};
use trap::{HostExit, SignalInfo, Trap, XState};

use crate::{dispatch, Runner, RunnerError, RunnerMsg, RunnerReply};

/// One scripted trap of a guest thread: changes the registers it resumed with, and says
/// why it stopped.
pub struct Step(Box<dyn FnMut(&mut UserRegs) -> Trap + Send>);

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Step")
    }
}

impl Step {
    /// A step that edits the registers with `f`, which returns the trap.
    pub fn new(f: impl FnMut(&mut UserRegs) -> Trap + Send + 'static) -> Step {
        Step(Box::new(f))
    }

    /// Syscall `nr` with `args`, as the `syscall` instruction leaves it: number in `rax`
    /// and `orig_rax`, arguments in `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`, `rip` past the
    /// instruction (2 bytes).
    pub fn syscall(nr: u64, args: [u64; 6]) -> Step {
        Step::syscall_with(nr, move |_| args)
    }

    /// Syscall `nr` with arguments computed from the registers the thread resumed with
    /// (`rax`: the previous syscall's result; `rsp`: its stack).
    pub fn syscall_with(nr: u64, args: impl Fn(&UserRegs) -> [u64; 6] + Send + 'static) -> Step {
        Step::new(move |regs| {
            let [a0, a1, a2, a3, a4, a5] = args(regs);
            regs.orig_rax = nr;
            regs.rax = nr;
            (regs.rdi, regs.rsi, regs.rdx) = (a0, a1, a2);
            (regs.r10, regs.r8, regs.r9) = (a3, a4, a5);
            regs.rip = regs.rip.wrapping_add(2);
            Trap::Syscall
        })
    }

    /// A user-mode page fault at `addr` on a page the host has not mapped (a store if
    /// `write`), reported with its x86 error code as the seccomp mechanism does.
    pub fn fault(addr: u64, write: bool) -> Step {
        Step::fault_with(move |_| addr, write)
    }

    /// A page fault at an address computed from the registers the thread resumed with.
    pub fn fault_with(addr: impl Fn(&UserRegs) -> u64 + Send + 'static, write: bool) -> Step {
        const X86_PF_WRITE: u32 = 2;
        const X86_PF_USER: u32 = 4;
        Step::new(move |regs| Trap::Fault {
            addr: addr(regs),
            present: false,
            error_code: Some(X86_PF_USER | if write { X86_PF_WRITE } else { 0 }),
        })
    }

    /// A synchronous signal the guest raised (`SIGFPE`, `SIGILL`, ...).
    pub fn signal(signo: i32, code: i32, addr: u64) -> Step {
        Step::trap(Trap::Signal(SignalInfo { signo, code, addr }))
    }

    /// The host process running the thread ended.
    pub fn exited(how: HostExit) -> Step {
        Step::trap(Trap::Exited(how))
    }

    /// `trap`, with the registers unchanged (e.g. [`Trap::Interrupted`]).
    pub fn trap(trap: Trap) -> Step {
        Step::new(move |_| trap)
    }
}

/// The messages a [`ScriptedRunner`] received, shared with the test that made it (which
/// may hand the runner to a kernel on another thread).
#[derive(Clone, Debug, Default)]
pub struct Log(Arc<Mutex<Vec<RunnerMsg>>>);

impl Log {
    fn inbox(&self) -> MutexGuard<'_, Vec<RunnerMsg>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every message so far, oldest first.
    pub fn messages(&self) -> Vec<RunnerMsg> {
        self.inbox().clone()
    }

    /// The registers of each resume of guest thread `tid`, oldest first.
    pub fn resumes(&self, tid: i32) -> Vec<UserRegs> {
        self.inbox()
            .iter()
            .filter_map(|m| match m {
                RunnerMsg::Resume { tid: t, regs, .. } if *t == tid => Some(*regs),
                _ => None,
            })
            .collect()
    }
}

/// A runner that plays each guest thread's script and records its inbox (see the module
/// docs). FP state is kept per thread; a thread it never set starts with the initial
/// state (x87 control word 0x37f, `MXCSR` 0x1f80) in an area of the host CPU's XSAVE size.
#[derive(Debug, Default)]
pub struct ScriptedRunner {
    scripts: HashMap<i32, VecDeque<Step>>,
    fp: HashMap<(MmId, i32), XState>,
    log: Log,
}

impl ScriptedRunner {
    /// A runner with no scripts yet.
    pub fn new() -> ScriptedRunner {
        ScriptedRunner::default()
    }

    /// Adds `steps` to the script of guest thread `tid`.
    pub fn thread(mut self, tid: i32, steps: impl IntoIterator<Item = Step>) -> ScriptedRunner {
        self.scripts.entry(tid).or_default().extend(steps);
        self
    }

    /// The record of the messages received, now and later.
    pub fn log(&self) -> Log {
        self.log.clone()
    }
}

/// The initial FP state (Linux's `init_fpstate`) in an area of the size the host CPU's
/// enabled XSAVE features take (CPUID leaf 0xD), the size ptrace reports on Linux.
fn initial_xstate() -> XState {
    let size = std::arch::x86_64::__cpuid_count(0xd, 0).ebx as usize;
    let mut xs = XState::zeroed(size.max(512 + 64));
    let b = xs.as_bytes_mut();
    b[0..2].copy_from_slice(&0x37f_u16.to_le_bytes());
    b[24..28].copy_from_slice(&0x1f80_u32.to_le_bytes());
    xs
}

impl Runner for ScriptedRunner {
    fn handle(&mut self, msg: RunnerMsg) -> Result<RunnerReply, RunnerError> {
        self.log.inbox().push(msg.clone());
        dispatch(self, msg)
    }

    fn send_resume(
        &mut self,
        mm: MmId,
        ops: Vec<MmOp>,
        tid: i32,
        regs: &mut UserRegs,
    ) -> Result<Trap, RunnerError> {
        crate::resume_through_handle(self, mm, ops, tid, regs)
    }

    fn switch_mm(&mut self, _mm: MmId, _ops: &[MmOp]) -> Result<(), RunnerError> {
        Ok(())
    }

    fn resume(
        &mut self,
        _mm: MmId,
        _ops: &[MmOp],
        tid: i32,
        regs: &mut UserRegs,
    ) -> Result<Trap, RunnerError> {
        let step = self.scripts.get_mut(&tid).and_then(VecDeque::pop_front);
        let mut step = step.ok_or_else(|| {
            RunnerError::Script(format!("guest thread {tid} resumed after its last step"))
        })?;
        Ok((step.0)(regs))
    }

    fn get_fpregs(&mut self, mm: MmId, tid: i32) -> Result<XState, RunnerError> {
        Ok(self
            .fp
            .get(&(mm, tid))
            .cloned()
            .unwrap_or_else(initial_xstate))
    }

    fn set_fpregs(&mut self, mm: MmId, tid: i32, xs: &XState) -> Result<(), RunnerError> {
        self.fp.insert((mm, tid), xs.clone());
        Ok(())
    }

    fn release_thread(&mut self, mm: MmId, tid: i32) {
        self.fp.remove(&(mm, tid));
    }

    fn release(&mut self, mm: MmId) {
        self.fp.retain(|&(m, _), _| m != mm);
    }

    fn host_pid(&self, _mm: MmId) -> Option<i32> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resume(r: &mut ScriptedRunner, tid: i32, regs: UserRegs) -> (Trap, UserRegs) {
        r.handle(RunnerMsg::Resume {
            mm: MmId(1),
            ops: vec![],
            tid,
            regs,
        })
        .and_then(RunnerReply::trapped)
        .expect("a scripted step")
    }

    #[test]
    fn plays_each_threads_script_and_records_its_inbox() {
        let mut r = ScriptedRunner::new()
            .thread(
                1,
                [
                    Step::syscall(1, [1, 2, 3, 4, 5, 6]),
                    Step::fault(0x1000, true),
                ],
            )
            .thread(
                2,
                [Step::syscall_with(60, |regs| [regs.rax, 0, 0, 0, 0, 0])],
            );
        let log = r.log();
        let (trap, regs) = resume(&mut r, 1, UserRegs::default());
        assert_eq!(trap, Trap::Syscall);
        assert_eq!(
            (regs.orig_rax, regs.rdi, regs.r9, regs.rip),
            (1, 1, 6, 2),
            "{regs:?}"
        );
        let (_, child) = resume(
            &mut r,
            2,
            UserRegs {
                rax: 7,
                ..UserRegs::default()
            },
        );
        assert_eq!((child.orig_rax, child.rdi), (60, 7));
        let (trap, again) = resume(&mut r, 1, regs);
        assert_eq!(again, regs, "a fault leaves the registers alone");
        assert!(
            matches!(trap, Trap::Fault { addr: 0x1000, error_code: Some(e), .. } if e & 2 != 0)
        );
        assert!(matches!(
            r.handle(RunnerMsg::Resume {
                mm: MmId(1),
                ops: vec![],
                tid: 1,
                regs
            }),
            Err(RunnerError::Script(_))
        ));
        assert_eq!(log.resumes(1).len(), 3);
        assert_eq!(log.resumes(2)[0].rax, 7);
    }

    #[test]
    fn keeps_fp_state_per_thread() {
        let mut r = ScriptedRunner::new();
        let initial = r
            .handle(RunnerMsg::GetFpregs {
                mm: MmId(1),
                tid: 1,
            })
            .and_then(RunnerReply::fpregs)
            .expect("fp state");
        assert_eq!(initial.mxcsr(), 0x1f80);
        assert!(initial.len() >= 576);
        let mut xs = initial.clone();
        xs.as_bytes_mut()[160] = 0xab;
        let set = RunnerMsg::SetFpregs {
            mm: MmId(1),
            tid: 2,
            xstate: xs.clone(),
        };
        assert_eq!(r.handle(set).expect("set"), RunnerReply::Done);
        let get = |r: &mut ScriptedRunner, tid| {
            r.handle(RunnerMsg::GetFpregs { mm: MmId(1), tid })
                .and_then(RunnerReply::fpregs)
                .expect("fp state")
        };
        assert_eq!(get(&mut r, 2), xs);
        assert_eq!(get(&mut r, 1), initial);
        r.handle(RunnerMsg::ReleaseThread {
            mm: MmId(1),
            tid: 2,
        })
        .expect("release");
        assert_eq!(get(&mut r, 2), initial);
    }

    #[test]
    fn messages_serialize() {
        let msg = RunnerMsg::Resume {
            mm: MmId(3),
            ops: vec![MmOp::Munmap { addr: 0, len: 4096 }],
            tid: 5,
            regs: UserRegs::default(),
        };
        let bytes = bincode::serialize(&msg).expect("serialize");
        assert_eq!(
            bincode::deserialize::<RunnerMsg>(&bytes).expect("deserialize"),
            msg
        );
        let reply = RunnerReply::Fpregs(XState::zeroed(8));
        let bytes = bincode::serialize(&reply).expect("serialize");
        assert_eq!(
            bincode::deserialize::<RunnerReply>(&bytes).expect("deserialize"),
            reply
        );
    }
}
