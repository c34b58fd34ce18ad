//! The main loop driven alone: a [`ScriptedRunner`] plays the traps of each guest thread
//! (syscalls, faults, signals, a dying stub) and records what the kernel sent it, so each
//! test checks the kernel's replies as a guest sees them: the registers of the next
//! resume, the run's exit status. The program loaded is static busybox (`/bin/busybox`):
//! its memory is set up as for a real run, its code never runs. The first process is
//! tid 1, the first child tid 2. Guest memory is checked through the kernel's own
//! syscalls ([`word_is`]).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use abi::structs::UserRegs;
use abi::{Errno, Sysno};
use runner::fake::{Log, ScriptedRunner, Step};
use runner::RunnerMsg;
use trap::HostExit;

use crate::{Config, ExitStatus, Kernel, KernelError};

const SIGCHLD: u64 = abi::signal::sig::SIGCHLD as u64;
/// `PROT_READ | PROT_WRITE`, `MAP_PRIVATE | MAP_ANONYMOUS`.
const RW: u64 = 3;
const PRIVATE_ANON: u64 = 0x22;
const FUTEX_WAIT_PRIVATE: u64 = 128;

/// Runs the kernel with `runner` until the first process ends (or 30 s pass: a hang).
fn run(runner: ScriptedRunner) -> (Result<ExitStatus, KernelError>, Log) {
    let log = runner.log();
    let cfg = Config {
        root: "/".into(),
        mem_bytes: 64 << 20,
        argv: vec!["/bin/busybox".into()],
        ..Config::default()
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let status = Kernel::run_with(&cfg, move |_| Ok(Box::new(runner)));
        let _ = tx.send(status);
    });
    let status = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the run ended");
    (status, log)
}

fn sys(nr: Sysno, args: [u64; 6]) -> Step {
    Step::syscall(nr as u64, args)
}

/// A syscall with arguments computed from the registers it is made with.
fn sys_with(nr: Sysno, args: impl Fn(&UserRegs) -> [u64; 6] + Send + 'static) -> Step {
    Step::syscall_with(nr as u64, args)
}

fn exit_group(code: u64) -> Step {
    sys(Sysno::exit_group, [code, 0, 0, 0, 0, 0])
}

/// What each trap of thread `tid` came back with: `rax` of every resume after the first
/// (a syscall's result).
fn results(log: &Log, tid: i32) -> Vec<u64> {
    log.resumes(tid).iter().skip(1).map(|r| r.rax).collect()
}

fn err(e: Errno) -> u64 {
    e.as_return()
}

/// Two steps that check the 32-bit word at `addr(rsp)` of the guest's memory: `getitimer`
/// writes a zero `itimerval` (no timer is armed) below it, then `FUTEX_WAIT` on the word
/// with that zero timeout answers `ETIMEDOUT` if the word is `val`, `EAGAIN` if not.
fn word_is(addr: fn(u64) -> u64, val: u32) -> [Step; 2] {
    [
        sys_with(Sysno::getitimer, move |r| [0, addr(r.rsp) - 64, 0, 0, 0, 0]),
        sys_with(Sysno::futex, move |r| {
            let a = addr(r.rsp);
            [a, FUTEX_WAIT_PRIVATE, val.into(), a - 64, 0, 0]
        }),
    ]
}

#[test]
fn a_syscall_returns_its_value_in_rax() {
    let script = [sys(Sysno::getpid, [0; 6]), exit_group(3)];
    let (status, log) = run(ScriptedRunner::new().thread(1, script));
    assert_eq!(status.unwrap(), ExitStatus::Code(3));
    let resumes = log.resumes(1);
    assert_eq!(resumes.len(), 2, "no resume after exit_group");
    assert_eq!(resumes[1].rax, 1, "getpid of init");
    // The kernel changed nothing else: the guest carries on after its syscall instruction.
    assert_eq!(resumes[1].rip, resumes[0].rip + 2);
    assert_eq!(resumes[1].rsp, resumes[0].rsp);
}

#[test]
fn an_unknown_syscall_is_enosys() {
    let script = [Step::syscall(1000, [0; 6]), exit_group(0)];
    let (status, log) = run(ScriptedRunner::new().thread(1, script));
    assert_eq!(status.unwrap(), ExitStatus::Code(0));
    assert_eq!(results(&log, 1), [err(Errno::ENOSYS)]);
}

#[test]
fn write_and_read_go_through_guest_memory() {
    // stdio closed first, the pipe is fds 0 and 1; the 8 bytes written are argc at rsp.
    let script = [
        sys(Sysno::close, [0; 6]),
        sys(Sysno::close, [1, 0, 0, 0, 0, 0]),
        sys(Sysno::close, [2, 0, 0, 0, 0, 0]),
        sys_with(Sysno::pipe2, |r| [r.rsp - 256, 0, 0, 0, 0, 0]),
        sys_with(Sysno::write, |r| [1, r.rsp, 8, 0, 0, 0]),
        sys_with(Sysno::read, |r| [0, r.rsp - 512, 64, 0, 0, 0]),
        sys_with(Sysno::write, |_| [1, 0x10, 8, 0, 0, 0]),
    ];
    let [itimer, compare] = word_is(|rsp| rsp - 512, 1);
    let script = script.into_iter().chain([itimer, compare, exit_group(0)]);
    let (status, log) = run(ScriptedRunner::new().thread(1, script));
    assert_eq!(status.unwrap(), ExitStatus::Code(0));
    let r = results(&log, 1);
    assert_eq!(r[3..7], [0, 8, 8, err(Errno::EFAULT)], "{r:?}");
    assert_eq!(r[8], err(Errno::ETIMEDOUT), "the word read is argc (1)");
}

#[test]
fn brk_and_mmap_give_memory_whose_faults_resolve() {
    let mapped = Arc::new(AtomicU64::new(0));
    let keep = mapped.clone();
    let script = [
        sys(Sysno::brk, [0; 6]),
        sys_with(Sysno::brk, |r| [r.rax + 0x10000, 0, 0, 0, 0, 0]),
        Step::fault_with(|r| r.rax - 8, true),
        sys(Sysno::mmap, [0, 0x2000, RW, PRIVATE_ANON, u64::MAX, 0]),
        Step::fault_with(
            move |r| {
                keep.store(r.rax, Ordering::Relaxed);
                r.rax + 0x1000
            },
            false,
        ),
        sys_with(Sysno::munmap, |r| [r.rax, 0x2000, 0, 0, 0, 0]),
        Step::fault_with(move |_| mapped.load(Ordering::Relaxed), true),
    ];
    let (status, log) = run(ScriptedRunner::new().thread(1, script));
    assert_eq!(
        status.unwrap(),
        ExitStatus::Signal(11),
        "a fault in the unmapped range is a SIGSEGV"
    );
    let resumes = log.resumes(1);
    assert_eq!(resumes.len(), 7, "no resume after the last fault");
    let brk = resumes[1].rax;
    assert!(brk > 0 && brk < 1 << 47, "{brk:#x}");
    assert_eq!(resumes[2].rax, brk + 0x10000);
    assert_eq!(resumes[3], resumes[2], "a resolved fault resumes as it was");
    let addr = resumes[4].rax;
    assert!(addr % 4096 == 0 && addr < 1 << 47, "mmap gave {addr:#x}");
    assert_eq!(resumes[5], resumes[4], "a resolved fault resumes as it was");
    assert_eq!(resumes[6].rax, 0, "munmap");
}

#[test]
fn a_fault_outside_any_mapping_kills_with_sigsegv() {
    let (status, log) = run(ScriptedRunner::new().thread(1, [Step::fault(0x10, false)]));
    assert_eq!(status.unwrap(), ExitStatus::Signal(11));
    assert_eq!(log.resumes(1).len(), 1);
}

#[test]
fn a_guest_exception_is_its_signal() {
    const FPE_INTDIV: i32 = 1;
    let script = [Step::signal(8, FPE_INTDIV, 0x401000)];
    let (status, _) = run(ScriptedRunner::new().thread(1, script));
    assert_eq!(status.unwrap(), ExitStatus::Signal(8));
}

#[test]
fn a_preempted_guest_resumes_as_it_was() {
    let script = [Step::trap(trap::Trap::Interrupted), exit_group(0)];
    let (status, log) = run(ScriptedRunner::new().thread(1, script));
    assert_eq!(status.unwrap(), ExitStatus::Code(0));
    let resumes = log.resumes(1);
    assert_eq!(resumes[1], resumes[0]);
}

#[test]
fn a_dead_stub_is_a_host_failure() {
    let script = [Step::exited(HostExit::Signal(9))];
    let (status, _) = run(ScriptedRunner::new().thread(1, script));
    assert!(
        matches!(status, Err(KernelError::StubDied(1, HostExit::Signal(9)))),
        "{status:?}"
    );
}

#[test]
fn a_script_that_ends_early_is_an_error_not_a_hang() {
    let (status, _) = run(ScriptedRunner::new().thread(1, [sys(Sysno::getpid, [0; 6])]));
    assert!(matches!(status, Err(KernelError::Runner(_))), "{status:?}");
}

#[test]
fn fork_then_wait_for_the_child() {
    let [itimer, compare] = word_is(|rsp| rsp - 256, 5 << 8);
    let parent = [
        sys(Sysno::clone, [SIGCHLD, 0, 0, 0, 0, 0]),
        sys_with(Sysno::wait4, |r| [u64::MAX, r.rsp - 256, 0, 0, 0, 0]),
        itimer,
        compare,
        exit_group(0),
    ];
    let child = [exit_group(5)];
    let runner = ScriptedRunner::new().thread(1, parent).thread(2, child);
    let (status, log) = run(runner);
    assert_eq!(status.unwrap(), ExitStatus::Code(0));
    let r = results(&log, 1);
    assert_eq!(r[..2], [2, 2], "clone and wait4 give the child's pid");
    assert_eq!(r[3], err(Errno::ETIMEDOUT), "its status: exited with 5");
    let child = log.resumes(2);
    assert_eq!(child.len(), 1);
    let after_clone = log.resumes(1)[1];
    assert_eq!(child[0].rax, 0, "the child's clone returns 0");
    assert_eq!(
        UserRegs { rax: 2, ..child[0] },
        after_clone,
        "the child carries on from the parent's registers"
    );
    // The child starts with its parent's FP state, set before it first runs.
    let msgs = log.messages();
    let set = msgs
        .iter()
        .position(|m| matches!(m, RunnerMsg::SetFpregs { tid: 2, .. }));
    let first = msgs
        .iter()
        .position(|m| matches!(m, RunnerMsg::Resume { tid: 2, .. }));
    assert!(set.is_some() && set < first, "{msgs:?}");
}

#[test]
fn a_blocked_read_completes_when_another_process_writes() {
    // A pipe on fds 0 and 1; the child reads it empty and blocks; the parent, running
    // meanwhile, writes 8 bytes (argc) and waits; the child's read completes.
    let parent = [
        sys(Sysno::close, [0; 6]),
        sys(Sysno::close, [1, 0, 0, 0, 0, 0]),
        sys_with(Sysno::pipe2, |r| [r.rsp - 256, 0, 0, 0, 0, 0]),
        sys(Sysno::clone, [SIGCHLD, 0, 0, 0, 0, 0]),
        sys(Sysno::sched_yield, [0; 6]),
        sys_with(Sysno::write, |r| [1, r.rsp, 8, 0, 0, 0]),
        sys_with(Sysno::wait4, |r| [u64::MAX, r.rsp - 256, 0, 0, 0, 0]),
        exit_group(0),
    ];
    let [itimer, compare] = word_is(|rsp| rsp - 512, 1);
    let child = [
        sys_with(Sysno::read, |r| [0, r.rsp - 512, 64, 0, 0, 0]),
        itimer,
        compare,
        exit_group(9),
    ];
    let runner = ScriptedRunner::new().thread(1, parent).thread(2, child);
    let (status, log) = run(runner);
    assert_eq!(status.unwrap(), ExitStatus::Code(0));
    assert_eq!(results(&log, 1)[2..6], [0, 2, 0, 8]);
    assert_eq!(results(&log, 1)[6], 2, "wait4");
    let r = results(&log, 2);
    assert_eq!(r[0], 8, "the read completes with what was written");
    assert_eq!(r[2], err(Errno::ETIMEDOUT), "the bytes read are argc (1)");
    // The read blocked: the parent's write trapped after the child's read did, and the
    // child ran again only after it.
    let order: Vec<(i32, u64)> = log
        .messages()
        .iter()
        .filter_map(|m| match m {
            RunnerMsg::Resume { tid, regs, .. } => Some((*tid, regs.orig_rax)),
            _ => None,
        })
        .collect();
    let at = |tid, n| {
        order
            .iter()
            .enumerate()
            .filter(|(_, (t, _))| *t == tid)
            .nth(n)
            .map(|(i, _)| i)
            .unwrap()
    };
    // Resume n of a thread comes back from the trap of step n - 1.
    let (child_reads, child_read_done) = (at(2, 0), at(2, 1));
    let parent_writes = at(1, 5);
    assert!(
        child_reads < parent_writes && parent_writes < child_read_done,
        "{order:?}"
    );
}

/// The kernel's own cost per syscall, with no host process in the way (run on demand:
/// `cargo test --release -p kernel -- --ignored kernel_side_cost --nocapture`).
#[test]
#[ignore]
fn kernel_side_cost() {
    const N: usize = 100_000;
    let time = |name: &str, prologue: Vec<Step>, each: &dyn Fn() -> Vec<Step>| {
        let steps: Vec<Step> = prologue
            .into_iter()
            .chain((0..N).flat_map(|_| each()))
            .chain([exit_group(0)])
            .collect();
        // CPU time, not wall time: on a shared host it is the steadier figure.
        let cpu = || {
            let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID).unwrap();
            t.tv_sec() as f64 * 1e9 + t.tv_nsec() as f64
        };
        let t = cpu();
        let (status, _) = run(ScriptedRunner::new().thread(1, steps));
        assert_eq!(status.unwrap(), ExitStatus::Code(0));
        println!("{name}: {:.0} ns of CPU", (cpu() - t) / N as f64);
    };
    time("getppid", vec![], &|| vec![sys(Sysno::getppid, [0; 6])]);
    let cwd = vec![sys_with(Sysno::getcwd, |r| [r.rsp - 1024, 256, 0, 0, 0, 0])];
    time("open+close", cwd, &|| {
        vec![
            sys_with(Sysno::open, |r| [r.rsp - 1024, 0, 0, 0, 0, 0]),
            sys_with(Sysno::close, |r| [r.rax, 0, 0, 0, 0, 0]),
        ]
    });
}
