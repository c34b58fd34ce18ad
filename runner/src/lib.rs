//! The runner: the host processes that execute guest code.
//!
//! What it owns: stub processes (see [`stub`]) and the choice of which one runs. It offers
//! the two operations of the 2002 UML runner, [`Runner::switch_mm`] and [`Runner::resume`],
//! over address spaces named by [`mm::MmId`]; the host ops `mm` queued on a space's
//! [`mm::MmFd`] (the /proc/mm protocol) come with the operation that names the space, and
//! are applied to its host process in batches before it runs.
//!
//! Messages: the kernel asks a runner for everything with a [`RunnerMsg`] sent to
//! [`Runner::handle`] and gets a [`RunnerReply`]; both derive serde, so the traffic can be
//! recorded and replayed against a runner alone. A request travels so:
//!
//! ```text
//! kernel: Resume { mm, ops: mmfd.take_pending(), tid, regs }  --handle-->  runner
//! runner: applies ops to mm's stub, runs tid with regs until the host reports a stop
//! runner: Trapped { trap: Syscall | Fault | Signal | Interrupted | Exited, regs }  --> kernel
//! kernel: handles the trap (syscall reply, fault, signal), writes the result into the
//!         task's registers (rax), and sends them with the next Resume
//! ```
//!
//! `GetFpregs`/`SetFpregs` move FP state (signal frames, a new thread's inherited state),
//! `ReleaseThread`/`Release` end a guest thread's or an address space's host side.
//! [`dispatch`] turns a message into the [`Runner`] operation (what `handle` does by
//! default); [`recording::Recording`] wraps another runner and logs both directions for
//! `uml run --record`; [`threaded::OnThread`] (`uml run --deploy threads`) makes another
//! runner on a thread of its own and hands it each message through a channel.
//!
//! Guest threads (named by their tid) of one address space run in that space's stub. The
//! kernel runs one guest thread at a time, so a runner may give each its own host thread or
//! run them all in one, switching registers as UML does between the threads of a process.
//! [`PerProcess`] does the former: it creates host threads with
//! `clone(CLONE_VM|CLONE_THREAD|CLONE_PTRACE)` run in the stub on the kernel's behalf, and
//! keeps a thread whose guest thread exited, stopped, for the next one.
//! [`seccomp::Seccomp`] does the latter: its stub has one guest host thread, whose FP state
//! the runner swaps when another guest thread resumes there.
//!
//! Realisations (chosen at run time, [`new_runner`] from a [`TrapKind`]): [`PerProcess`] —
//! one stub host process per guest address space (SKAS0-style; a switch is free), trapping
//! with ptrace; [`seccomp::Seccomp`] — the same processes, trapping with a seccomp filter and
//! a signal handler in the stub (no ptrace stop on the hot path; a switch parks the stub left
//! behind); [`single::Single`] — over either of those, one host process for every guest
//! space (`--mm single`), rewritten on each switch by the ops mm's `single` backend sends;
//! [`fake::ScriptedRunner`] — no host process, scripted traps, for tests.
//!
//! Where the trap mechanism is swapped: each runner holds its guest threads as
//! [`trap::GuestThread`]s of its mechanism — [`trap::ptrace::Tracee`] for [`PerProcess`], a
//! stub's frame for [`seccomp::Seccomp`] (`SecThread`) — and runs them, and moves their FP
//! state, only through that trait; `tests/stub.rs` runs each of its checks (syscall and
//! fault traps, FP state with the host's exact XSAVE size) with both. What stays per runner is how its stubs live: ptrace gives each guest
//! thread a traced host thread; seccomp runs every guest thread of a space in one untraced
//! host thread, exchanges registers and FP state through a region shared with the stub
//! (mapped in the kernel: `unsafe`, so it lives here), applies host ops through a mapper
//! thread, and parks, pre-spawns and recycles stubs. The [`Runner`] trait over those is the
//! seam the kernel sees.
//!
//! Invariants:
//! - A stub's host address space holds only the stub image, its data page, and guest memory
//!   mapped from physical memory; it is started by `execveat` of a sealed memfd, so nothing
//!   of the kernel process is inherited. Its only fd is physical memory (fd 3).
//! - Stubs die with the kernel: `PR_SET_PDEATHSIG(SIGKILL)` and (ptrace) `PTRACE_O_EXITKILL`.
//!   Seccomp stubs have no fd at all in their guest thread; physical memory is held by
//!   their mapper thread's own fd table.
//! - All ptrace requests are made from the thread that created the stubs (the kernel loop,
//!   or the runner's own thread under [`threaded::OnThread`]).
//! - A failure here is a host error ([`RunnerError`]), never a guest errno.
#![deny(unsafe_code)]

/// The operations of [`Runner`] for a runner that only passes messages on through its own
/// [`Runner::handle`] ([`recording::Recording`], [`threaded::OnThread`]): each operation
/// becomes its [`RunnerMsg`], and a reply of the wrong kind is a [`RunnerError::Reply`].
macro_rules! operations_as_messages {
    () => {
        fn send_resume(
            &mut self,
            mm: ::mm::MmId,
            ops: Vec<::mm::MmOp>,
            tid: i32,
            regs: &mut ::abi::structs::UserRegs,
        ) -> Result<::trap::Trap, $crate::RunnerError> {
            $crate::resume_through_handle(self, mm, ops, tid, regs)
        }

        fn switch_mm(
            &mut self,
            mm: ::mm::MmId,
            ops: &[::mm::MmOp],
        ) -> Result<(), $crate::RunnerError> {
            let msg = $crate::RunnerMsg::SwitchMm {
                mm,
                ops: ops.to_vec(),
            };
            self.handle(msg).map(drop)
        }

        fn resume(
            &mut self,
            mm: ::mm::MmId,
            ops: &[::mm::MmOp],
            tid: i32,
            regs: &mut ::abi::structs::UserRegs,
        ) -> Result<::trap::Trap, $crate::RunnerError> {
            self.send_resume(mm, ops.to_vec(), tid, regs)
        }

        fn get_fpregs(
            &mut self,
            mm: ::mm::MmId,
            tid: i32,
        ) -> Result<::trap::XState, $crate::RunnerError> {
            self.handle($crate::RunnerMsg::GetFpregs { mm, tid })?
                .fpregs()
        }

        fn set_fpregs(
            &mut self,
            mm: ::mm::MmId,
            tid: i32,
            xs: &::trap::XState,
        ) -> Result<(), $crate::RunnerError> {
            let msg = $crate::RunnerMsg::SetFpregs {
                mm,
                tid,
                xstate: xs.clone(),
            };
            self.handle(msg).map(drop)
        }

        fn release_thread(&mut self, mm: ::mm::MmId, tid: i32) {
            if let Err(e) = self.handle($crate::RunnerMsg::ReleaseThread { mm, tid }) {
                ::tracing::warn!("runner release: {e}");
            }
        }

        fn release(&mut self, mm: ::mm::MmId) {
            if let Err(e) = self.handle($crate::RunnerMsg::Release { mm }) {
                ::tracing::warn!("runner release: {e}");
            }
        }
    };
}

pub mod fake;
pub mod recording;
pub mod replaying;
pub mod seccomp;
pub mod single;
pub mod stub;
pub mod threaded;

use rustc_hash::FxHashMap;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use abi::structs::UserRegs;
use mm::{MmId, MmOp};
use trap::ptrace::Tracee;
use trap::{GuestThread, Trap, TrapError, XState};

use stub::{Stub, StubImage};

pub use stub::{STUB_CODE, STUB_DATA};

/// A host-side failure of the runner.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A host call failed.
    #[error("{what}: {errno}")]
    Host {
        /// What was being done.
        what: &'static str,
        /// Host errno.
        errno: nix::errno::Errno,
    },
    /// The trap mechanism failed.
    #[error(transparent)]
    Trap(#[from] TrapError),
    /// A stub did not start as expected.
    #[error("stub start: {0}")]
    StubStart(String),
    /// The runner's thread ([`threaded::OnThread`]) ended or answered out of turn.
    #[error("runner thread: {0}")]
    Thread(&'static str),
    /// A runner answered a message with a reply of another kind.
    #[error("unexpected runner reply {0:?}")]
    Reply(Box<RunnerReply>),
    /// A scripted runner ([`fake::ScriptedRunner`]) was asked what its script does not say.
    #[error("script: {0}")]
    Script(String),
    /// A syscall run by a stub on the kernel's behalf failed.
    #[error("stub syscall {nr} failed with host errno {errno}")]
    StubSyscall {
        /// Host syscall number.
        nr: u64,
        /// Host errno.
        errno: i32,
    },
}

/// Which trap mechanism runs guest code (`uml run --trap=...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TrapKind {
    /// `PTRACE_SYSEMU`: one host stop per guest syscall.
    Ptrace,
    /// A seccomp filter and signal handlers in the stub; no ptrace stop on the hot path.
    #[default]
    Seccomp,
}

impl std::str::FromStr for TrapKind {
    type Err = String;
    fn from_str(s: &str) -> Result<TrapKind, String> {
        match s {
            "ptrace" => Ok(TrapKind::Ptrace),
            "seccomp" => Ok(TrapKind::Seccomp),
            _ => Err(format!("unknown trap mechanism {s:?} (ptrace or seccomp)")),
        }
    }
}

impl RunnerError {
    /// A host call that failed with `e`.
    pub(crate) fn io(what: &'static str, e: std::io::Error) -> RunnerError {
        RunnerError::Host {
            what,
            errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        }
    }
}

/// A descriptor of physical memory of the runner's own.
pub(crate) fn own_phys(phys: BorrowedFd<'_>) -> Result<OwnedFd, RunnerError> {
    phys.try_clone_to_owned()
        .map_err(|e| RunnerError::io("dup physical memory fd", e))
}

/// What every runner keeps: its own descriptor of physical memory, and the stub-pid log the
/// isolation tests read (`UML_DEBUG_STUB_PIDS_FILE`, a debugging aid).
pub(crate) fn runner_resources(
    phys: BorrowedFd<'_>,
) -> Result<(OwnedFd, Option<std::fs::File>), RunnerError> {
    let phys = own_phys(phys)?;
    let pid_log = std::env::var_os("UML_DEBUG_STUB_PIDS_FILE").and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    Ok((phys, pid_log))
}

/// A runner for `kind` whose stubs map guest memory from `phys`; with `single`, every guest
/// space runs in one stub ([`single::Single`]).
pub fn new_runner(
    kind: TrapKind,
    phys: BorrowedFd<'_>,
    single: bool,
) -> Result<Box<dyn Runner>, RunnerError> {
    let inner: Box<dyn Runner> = match kind {
        TrapKind::Ptrace => Box::new(PerProcess::new(phys)?),
        TrapKind::Seccomp => Box::new(seccomp::Seccomp::new(phys)?),
    };
    Ok(if single {
        Box::new(single::Single::new(inner))
    } else {
        inner
    })
}

/// What the kernel asks of a runner: one message per operation. Address spaces are named
/// by [`MmId`]; the host ops `mm` queued for a space since it last reached the runner travel
/// in the message that names it ([`mm::MmFd::take_pending`]), so that a recorded message
/// holds everything the runner was told.
///
/// `Resume`, sent per trap, carries the registers inline: boxing them would allocate on the
/// hot path.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum RunnerMsg {
    /// Makes `mm` the address space the next resume runs in (giving it a host process if it
    /// has none), after applying `ops` to it. Reply: [`RunnerReply::Done`].
    SwitchMm {
        /// The address space.
        mm: MmId,
        /// Its queued host ops, oldest first.
        ops: Vec<MmOp>,
    },
    /// Applies `ops` to `mm`, then runs guest thread `tid` with `regs` in it until it traps
    /// (a thread new to `mm` gets a host thread). Reply: [`RunnerReply::Trapped`].
    Resume {
        /// The address space.
        mm: MmId,
        /// Its queued host ops, oldest first (usually none).
        ops: Vec<MmOp>,
        /// The guest thread.
        tid: i32,
        /// Its registers.
        regs: UserRegs,
    },
    /// Reads the FP/XSTATE of guest thread `tid` of `mm`. Reply: [`RunnerReply::Fpregs`].
    GetFpregs {
        /// The address space.
        mm: MmId,
        /// The guest thread.
        tid: i32,
    },
    /// Writes the FP/XSTATE of guest thread `tid` of `mm`. Reply: [`RunnerReply::Done`].
    SetFpregs {
        /// The address space.
        mm: MmId,
        /// The guest thread.
        tid: i32,
        /// The state, of the host's full XSAVE size.
        xstate: XState,
    },
    /// Guest thread `tid` no longer runs in `mm` (it exited or exec'd). Reply:
    /// [`RunnerReply::Done`].
    ReleaseThread {
        /// The address space.
        mm: MmId,
        /// The guest thread.
        tid: i32,
    },
    /// Destroys the host side of address space `mm`. Reply: [`RunnerReply::Done`].
    Release {
        /// The address space.
        mm: MmId,
    },
}

/// A runner's answer to a [`RunnerMsg`] (the registers inline, as in `Resume`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum RunnerReply {
    /// Done; nothing to report.
    Done,
    /// The guest thread trapped, with these registers (its registers as sent, when the
    /// trap is [`Trap::Exited`]).
    Trapped {
        /// Why it stopped.
        trap: Trap,
        /// Its registers at the trap.
        regs: UserRegs,
    },
    /// The FP/XSTATE asked for.
    Fpregs(XState),
}

impl RunnerReply {
    /// The trap and registers of a [`RunnerReply::Trapped`].
    #[inline]
    pub fn trapped(self) -> Result<(Trap, UserRegs), RunnerError> {
        match self {
            RunnerReply::Trapped { trap, regs } => Ok((trap, regs)),
            other => Err(RunnerError::Reply(Box::new(other))),
        }
    }

    /// The state of a [`RunnerReply::Fpregs`].
    pub fn fpregs(self) -> Result<XState, RunnerError> {
        match self {
            RunnerReply::Fpregs(xs) => Ok(xs),
            other => Err(RunnerError::Reply(Box::new(other))),
        }
    }
}

/// The runner interface: run guest code of a given address space until it traps. Each
/// mechanism implements the operations; callers send messages through [`Runner::handle`]
/// (and `Resume` through [`Runner::send_resume`]).
pub trait Runner {
    /// Carries out `msg`: the one entry point the kernel uses, so that its runner traffic
    /// is a stream of [`RunnerMsg`]s and [`RunnerReply`]s. A runner may override it to
    /// observe its inbox (the [`fake`] runner records it), and then answers with
    /// [`dispatch`].
    fn handle(&mut self, msg: RunnerMsg) -> Result<RunnerReply, RunnerError> {
        dispatch(self, msg)
    }
    /// Sends the [`RunnerMsg::Resume`] message with the task's registers in place: they are
    /// read and written where the caller keeps them instead of travelling into the message
    /// and back in the reply (the hot path: one per trap). The same as `handle(Resume {..})`
    /// followed by taking the registers from [`RunnerReply::Trapped`]; a runner that
    /// observes its inbox in [`Runner::handle`] overrides it to observe this one too.
    fn send_resume(
        &mut self,
        mm: MmId,
        ops: Vec<MmOp>,
        tid: i32,
        regs: &mut UserRegs,
    ) -> Result<Trap, RunnerError> {
        self.resume(mm, &ops, tid, regs)
    }
    /// The messages handled since the last call, with their replies, for a runner that
    /// logs them ([`recording::Recording`]); others log nothing.
    fn take_log(&mut self) -> Vec<(RunnerMsg, RunnerReply)> {
        Vec::new()
    }
    /// Makes `mm` the address space the next [`Runner::resume`] runs in, applying `ops`.
    fn switch_mm(&mut self, mm: MmId, ops: &[MmOp]) -> Result<(), RunnerError>;
    /// Applies `ops` to `mm`, then runs guest thread `tid` with registers `regs` in it until
    /// it traps; `regs` then holds the registers at the trap. A thread new to `mm` gets a
    /// host thread.
    fn resume(
        &mut self,
        mm: MmId,
        ops: &[MmOp],
        tid: i32,
        regs: &mut UserRegs,
    ) -> Result<Trap, RunnerError>;
    /// Reads the FP/XSTATE of guest thread `tid` of `mm`.
    fn get_fpregs(&mut self, mm: MmId, tid: i32) -> Result<XState, RunnerError>;
    /// Writes the FP/XSTATE of guest thread `tid` of `mm`.
    fn set_fpregs(&mut self, mm: MmId, tid: i32, xs: &XState) -> Result<(), RunnerError>;
    /// Guest thread `tid` no longer runs in `mm` (it exited or exec'd).
    fn release_thread(&mut self, mm: MmId, tid: i32);
    /// The host process of `mm` is about to hold another guest's memory (`--mm single`):
    /// the code that ran there last must run no instruction until the next resume. A
    /// mechanism whose stopped guests cannot run on their own (ptrace) has nothing to do.
    fn quiesce(&mut self, _mm: MmId) {}
    /// Destroys the host side of an address space.
    fn release(&mut self, mm: MmId);
    /// The host pid of the stub running `mm`, if it has one (for tests and diagnostics).
    fn host_pid(&self, mm: MmId) -> Option<i32>;
}

/// Carries out `msg` with `runner`'s operations: what [`Runner::handle`] does.
#[inline]
pub fn dispatch<R: Runner + ?Sized>(
    runner: &mut R,
    msg: RunnerMsg,
) -> Result<RunnerReply, RunnerError> {
    Ok(match msg {
        RunnerMsg::SwitchMm { mm, ops } => {
            runner.switch_mm(mm, &ops)?;
            RunnerReply::Done
        }
        RunnerMsg::Resume {
            mm,
            ops,
            tid,
            mut regs,
        } => {
            let trap = runner.resume(mm, &ops, tid, &mut regs)?;
            RunnerReply::Trapped { trap, regs }
        }
        RunnerMsg::GetFpregs { mm, tid } => RunnerReply::Fpregs(runner.get_fpregs(mm, tid)?),
        RunnerMsg::SetFpregs { mm, tid, xstate } => {
            runner.set_fpregs(mm, tid, &xstate)?;
            RunnerReply::Done
        }
        RunnerMsg::ReleaseThread { mm, tid } => {
            runner.release_thread(mm, tid);
            RunnerReply::Done
        }
        RunnerMsg::Release { mm } => {
            runner.release(mm);
            RunnerReply::Done
        }
    })
}

/// [`Runner::send_resume`] for a runner that observes its inbox: `Resume` sent to
/// [`Runner::handle`] with a copy of `regs`, which the reply's registers then replace.
pub(crate) fn resume_through_handle<R: Runner + ?Sized>(
    runner: &mut R,
    mm: MmId,
    ops: Vec<MmOp>,
    tid: i32,
    regs: &mut UserRegs,
) -> Result<Trap, RunnerError> {
    let msg = RunnerMsg::Resume {
        mm,
        ops,
        tid,
        regs: *regs,
    };
    let (trap, r) = runner.handle(msg)?.trapped()?;
    *regs = r;
    Ok(trap)
}

/// A ptrace stub and its host threads.
struct Threaded {
    stub: Stub,
    /// The host thread of each guest thread that ran here.
    threads: FxHashMap<i32, Tracee>,
    /// Host threads no guest thread uses (the stub's first thread, until one does).
    idle: Vec<Tracee>,
}

impl Threaded {
    fn new(stub: Stub) -> Threaded {
        let idle = vec![stub.tracee()];
        Threaded {
            stub,
            threads: FxHashMap::default(),
            idle,
        }
    }

    /// The host thread of guest thread `tid`: its own, an idle one, or a new one cloned in
    /// the stub. A new host thread is traced from birth (`CLONE_PTRACE`, which also stops
    /// it with `SIGSTOP` before it runs a user instruction, so it needs no stack).
    fn thread(&mut self, tid: i32) -> Result<Tracee, RunnerError> {
        if let Some(&t) = self.threads.get(&tid) {
            return Ok(t);
        }
        let t = match self.idle.pop() {
            Some(t) => t,
            None => {
                let flags = libc::CLONE_VM
                    | libc::CLONE_FS
                    | libc::CLONE_FILES
                    | libc::CLONE_SIGHAND
                    | libc::CLONE_THREAD
                    | libc::CLONE_SYSVSEM
                    | libc::CLONE_PTRACE;
                let host_tid = self
                    .stub
                    .syscall(libc::SYS_clone, [flags as u64, 0, 0, 0, 0, 0])?;
                let t = Tracee::new(host_tid as i32);
                match t.wait()? {
                    trap::ptrace::Stop::Signal(libc::SIGSTOP) => {}
                    other => {
                        return Err(RunnerError::StubStart(format!(
                            "new stub thread stopped with {other:?}"
                        )))
                    }
                }
                t.set_options()?;
                t
            }
        };
        self.threads.insert(tid, t);
        Ok(t)
    }

    /// Kills the stub and reaps every host thread (the leader last: it is reported only
    /// once the others are gone).
    fn kill(self) {
        let leader = self.stub.tracee();
        for t in self.threads.into_values().chain(self.idle) {
            if t != leader {
                t.kill();
            }
        }
        self.stub.kill();
    }
}

/// One stub host process per guest address space.
pub struct PerProcess {
    image: StubImage,
    phys: OwnedFd,
    stubs: FxHashMap<MmId, Threaded>,
    xstate_size: Option<usize>,
    pid_log: Option<std::fs::File>,
}

impl PerProcess {
    /// A runner whose stubs map guest memory from `phys` (physical memory).
    pub fn new(phys: BorrowedFd<'_>) -> Result<PerProcess, RunnerError> {
        let (phys, pid_log) = runner_resources(phys)?;
        Ok(PerProcess {
            image: StubImage::new()?,
            phys,
            stubs: FxHashMap::default(),
            xstate_size: None,
            pid_log,
        })
    }

    fn stub(&mut self, id: MmId, ops: &[MmOp]) -> Result<&mut Threaded, RunnerError> {
        if !self.stubs.contains_key(&id) {
            let stub = Stub::spawn(&self.image, self.phys.as_fd())?;
            if let Some(log) = self.pid_log.as_mut() {
                let _ = writeln!(log, "{}", stub.pid());
            }
            self.stubs.insert(id, Threaded::new(stub));
        }
        let t = self
            .stubs
            .get_mut(&id)
            .ok_or(RunnerError::StubStart("stub vanished".into()))?;
        t.stub.apply(ops)?;
        Ok(t)
    }

    /// The host thread of guest thread `tid` of `mm` (whose stub exists).
    fn tracee(&mut self, mm: MmId, tid: i32) -> Result<Tracee, RunnerError> {
        self.stubs
            .get_mut(&mm)
            .ok_or(RunnerError::StubStart("no stub".into()))?
            .thread(tid)
    }

    fn xstate_size(&mut self, t: Tracee) -> Result<usize, RunnerError> {
        if let Some(n) = self.xstate_size {
            return Ok(n);
        }
        let n = t.probe_xstate_size()?;
        self.xstate_size = Some(n);
        Ok(n)
    }
}

impl Runner for PerProcess {
    fn switch_mm(&mut self, mm: MmId, ops: &[MmOp]) -> Result<(), RunnerError> {
        self.stub(mm, ops).map(|_| ())
    }

    fn resume(
        &mut self,
        mm: MmId,
        ops: &[MmOp],
        tid: i32,
        regs: &mut UserRegs,
    ) -> Result<Trap, RunnerError> {
        let t = self.stub(mm, ops)?;
        t.stub.fix_segments(regs);
        Ok(t.thread(tid)?.run(regs)?)
    }

    fn get_fpregs(&mut self, mm: MmId, tid: i32) -> Result<XState, RunnerError> {
        let mut t = self.tracee(mm, tid)?;
        let mut xs = XState::zeroed(self.xstate_size(t)?);
        t.get_fp(&mut xs)?;
        Ok(xs)
    }

    fn set_fpregs(&mut self, mm: MmId, tid: i32, xs: &XState) -> Result<(), RunnerError> {
        self.tracee(mm, tid)?.set_fp(xs)?;
        Ok(())
    }

    fn release_thread(&mut self, mm: MmId, tid: i32) {
        if let Some(t) = self.stubs.get_mut(&mm) {
            if let Some(host) = t.threads.remove(&tid) {
                t.idle.push(host);
            }
        }
    }

    fn release(&mut self, mm: MmId) {
        if let Some(t) = self.stubs.remove(&mm) {
            t.kill();
        }
    }

    fn host_pid(&self, mm: MmId) -> Option<i32> {
        self.stubs.get(&mm).map(|t| t.stub.pid())
    }
}
