//! Processes (issue 3): fork, exec, wait, orphans, pipes, signals, EINTR, timers, preemption,
//! sessions and the pid limit. Each `proc_*` guest runs natively and under `uml run --`
//! (stdout and exit status must be identical), then again under every `--sched` policy.
//! Guests print relationships (`ok ...`/`bad ...`, "match=1"), never raw pids.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::process::Stdio;
use std::thread::sleep;
use std::time::{Duration, Instant};

use integration_tests::{
    assert_no_bad_lines, compare, guests, proc_stat, run_command, uml_command, Outcome, RunOpts,
    TempDir,
};

/// The scheduling policies every comparison is repeated with.
const SCHEDS: [&str; 2] = ["--sched=rr", "--sched=fair"];

fn opts(sched: Option<&str>, timeout_s: u64) -> RunOpts {
    RunOpts {
        uml_flags: sched.map(|s| vec![s.to_string()]).unwrap_or_default(),
        timeout: Some(Duration::from_secs(timeout_s)),
        ..RunOpts::default()
    }
}

/// Runs `guest args` natively and under uml (optionally with a `--sched` flag); asserts equal
/// output, no `bad` lines natively, a final `done` line and exit status 0.
fn run_guest(guest: &str, args: &[&str], sched: Option<&str>, timeout_s: u64) -> Outcome {
    let mut argv = vec![guest];
    argv.extend_from_slice(args);
    let o = compare(&argv, &opts(sched, timeout_s));
    let what = format!("{guest} {}", sched.unwrap_or(""));
    assert_no_bad_lines(&what, &o);
    assert!(
        o.stdout_str().ends_with("done\n"),
        "{what}: no final `done` natively\n{}",
        o.describe("native")
    );
    assert_eq!(o.status, 0, "{what}: {}", o.describe("native"));
    o
}

/// [`run_guest`] once per policy in [`SCHEDS`].
fn run_guest_scheds(guest: &str, args: &[&str], timeout_s: u64) -> Vec<Outcome> {
    SCHEDS
        .iter()
        .map(|s| run_guest(guest, args, Some(s), timeout_s))
        .collect()
}

fn has(o: &Outcome, line: &str) {
    let out = o.stdout_str();
    assert!(
        out.lines().any(|l| l == line),
        "expected line {line:?} natively in:\n{out}"
    );
}

// ------------------------------------------------------------------------------- fork

fn check_fork(o: &Outcome) {
    has(o, "child cow check bits=0");
    has(o, "inherit bits=0");
    has(o, "exit status 37");
    has(o, "wait(-1) reaped 25, sum 650, then ECHILD");
    has(o, "nested fork status 17");
    has(o, "vfork child status 9");
    has(o, "posix_spawn missing program: ENOENT");
}

#[test]
fn fork_cow_vfork_and_statuses() {
    check_fork(&run_guest(guests::PROC_FORK, &[], None, 60));
}

#[test]
fn fork_cow_vfork_and_statuses_scheds() {
    for o in run_guest_scheds(guests::PROC_FORK, &[], 60) {
        check_fork(&o);
    }
}

// ------------------------------------------------------------------------------- exec

fn check_exec(o: &Outcome) {
    has(o, "stage 5 argv ok");
    has(o, "exec missing=ENOENT");
    has(o, "exec not executable=EACCES");
    has(o, "exec garbage=ENOEXEC");
    has(o, "exec missing interpreter=ENOENT");
    has(o, "shebang argc=4 arg1=arg1 script-is-path=1");
    has(o, "vfork+exec status 78");
    has(o, "cloexec pipe read after exec: 0");
}

#[test]
fn exec_chain_cloexec_dispositions_errors() {
    check_exec(&run_guest(guests::PROC_EXEC, &[], None, 60));
}

#[test]
fn exec_chain_cloexec_dispositions_errors_scheds() {
    for o in run_guest_scheds(guests::PROC_EXEC, &[], 60) {
        check_exec(&o);
    }
}

// ------------------------------------------------------------------------------- wait

fn check_wait(o: &Outcome) {
    has(o, "wait4 WNOHANG while running: 0");
    has(
        o,
        "waitid WNOWAIT: r=0 pid-match=1 code=CLD_EXITED status=4 signo=CHLD",
    );
    has(o, "after SIGSTOP: stopped STOP");
    has(o, "after SIGCONT: continued");
    has(o, "raise(SIGQUIT): signaled QUIT");
    has(o, "NULL write: signaled SEGV");
    has(o, "SIGCHLD: count=1 code=CLD_EXITED pid-match=1");
    has(o, "no children: waitpid=-1 ECHILD");
}

#[test]
fn wait_variants_and_statuses() {
    check_wait(&run_guest(guests::PROC_WAIT, &[], None, 60));
}

#[test]
fn wait_variants_and_statuses_scheds() {
    for o in run_guest_scheds(guests::PROC_WAIT, &[], 60) {
        check_wait(&o);
    }
}

// ------------------------------------------------------------------------------- orphans

fn check_orphan(o: &Outcome) {
    has(o, "subreaper set: ok");
    has(
        o,
        "grandchild: first parent middle, new parent subreaper/init",
    );
    has(o, "reaped reparented grandchild: match=1 status=42");
    has(o, "reaped inherited zombie: match=1 status=43");
}

#[test]
fn orphans_reparented() {
    check_orphan(&run_guest(guests::PROC_ORPHAN, &[], None, 60));
}

#[test]
fn orphans_reparented_scheds() {
    for o in run_guest_scheds(guests::PROC_ORPHAN, &[], 60) {
        check_orphan(&o);
    }
}

// ------------------------------------------------------------------------------- pipes

fn check_pipe(o: &Outcome) {
    has(o, "F_GETPIPE_SZ=65536");
    has(o, "filled with 4096-byte writes: 65536 then EAGAIN");
    has(o, "atomicity: records A=300 B=300 torn=0 in-order=1");
    has(o, "write without readers: signaled PIPE");
    has(o, "SIGPIPE ignored: write=-1 EPIPE");
    has(o, "poll woken by child write: r=1");
    has(o, "blocking 300000-byte write: 300000, reader got all=1");
}

#[test]
fn pipes_capacity_atomicity_sigpipe_poll() {
    check_pipe(&run_guest(guests::PROC_PIPE, &[], None, 60));
}

#[test]
fn pipes_capacity_atomicity_sigpipe_poll_scheds() {
    for o in run_guest_scheds(guests::PROC_PIPE, &[], 60) {
        check_pipe(&o);
    }
}

// ------------------------------------------------------------------------------- signals

fn check_signal(o: &Outcome) {
    has(
        o,
        "kill self: sig=USR1 code=SI_USER pid-match=1 uid-match=1",
    );
    has(o, "read PROT_NONE: SEGV SEGV_ACCERR addr-match=1");
    has(o, "write unmapped: SEGV SEGV_MAPERR addr-match=1");
    has(o, "integer divide by zero: FPE FPE_INTDIV addr-match=-1");
    has(o, "nested (USR2 not masked): [1[2 2]1]");
    has(o, "self-raise, SA_NODEFER: [1[2]]");
    has(o, "SA_ONSTACK handler on altstack=1 ss_flags=SS_ONSTACK");
    has(o, "stack overflow caught on altstack: yes");
    has(o, "after unblock: order '12TRRR' rt values 10,20,30");
    has(o, "sigsuspend: -1 EINTR handler '1' mask restored=1");
}

#[test]
fn signals_siginfo_faults_nesting_altstack() {
    check_signal(&run_guest(guests::PROC_SIGNAL, &[], None, 60));
}

#[test]
fn signals_siginfo_faults_nesting_altstack_scheds() {
    for o in run_guest_scheds(guests::PROC_SIGNAL, &[], 60) {
        check_signal(&o);
    }
}

// ------------------------------------------------------------------------------- EINTR

fn check_eintr(o: &Outcome) {
    has(o, "read, no SA_RESTART: -1 EINTR alarms=1");
    has(o, "read, SA_RESTART: 4 OK alarms=1 data=late");
    has(o, "waitpid, SA_RESTART: match=1 status=5 alarms=1");
    has(
        o,
        "nanosleep, SA_RESTART: -1 EINTR alarms=1 remaining 3..5 s=1",
    );
}

#[test]
fn eintr_and_sa_restart() {
    check_eintr(&run_guest(guests::PROC_EINTR, &[], None, 60));
}

#[test]
fn eintr_and_sa_restart_scheds() {
    for o in run_guest_scheds(guests::PROC_EINTR, &[], 60) {
        check_eintr(&o);
    }
}

/// Linux's answers that uml got wrong before (issue 14): a futex wait a handler interrupts,
/// a write that moved data before a stop, and the calls a stop and continue interrupts.
fn check_sig_interrupt(o: &Outcome) {
    for line in [
        "futex             handler    -1 EINTR handled=1",
        "futex             sa_restart 0 handled=1",
        "futex_timed       sa_restart -1 EINTR handled=1",
        "futex_timed       stop_cont  0 handled=0",
        "pipe_write_part   stop_cont  65536 handled=0",
        "epoll_wait        stop_cont  -1 EINTR handled=0",
        "sigwaitinfo       stop_cont  -1 EINTR handled=0",
        "nanosleep         stop_cont  0 handled=0",
    ] {
        has(o, line);
    }
}

/// Every family of blocking call × (handler, handler with `SA_RESTART`, ignored signal,
/// stop and continue), compared with native.
#[test]
fn blocking_calls_interrupted_by_signals() {
    check_sig_interrupt(&run_guest(guests::SIG_INTERRUPT, &[], None, 60));
}

#[test]
fn blocking_calls_interrupted_by_signals_scheds() {
    for o in run_guest_scheds(guests::SIG_INTERRUPT, &[], 60) {
        check_sig_interrupt(&o);
    }
}

// ------------------------------------------------------------------------------- timers

fn check_alarm(o: &Outcome) {
    has(o, "pause: -1 EINTR ticks=1 elapsed in [0.8,2.0]=1");
    has(o, "getitimer: interval=0.100000 value in (0,0.1]=1");
    has(o, "3 ticks: elapsed in [0.25,1.5]=1, old interval=0.100000");
    has(o, "child with alarm(1): signaled=1 ALRM");
}

#[test]
fn alarm_and_itimer_real() {
    check_alarm(&run_guest(guests::PROC_ALARM, &[], None, 60));
}

#[test]
fn alarm_and_itimer_real_scheds() {
    for o in run_guest_scheds(guests::PROC_ALARM, &[], 60) {
        check_alarm(&o);
    }
}

// ------------------------------------------------------------------------------- preemption

fn check_preempt(o: &Outcome) {
    has(o, "tick 5");
    has(o, "spinners killed: 3");
    has(o, "spinner terminated: TERM");
}

#[test]
fn busy_loop_does_not_starve_printer() {
    check_preempt(&run_guest(guests::PROC_PREEMPT, &[], None, 30));
}

#[test]
fn busy_loop_does_not_starve_printer_scheds() {
    for o in run_guest_scheds(guests::PROC_PREEMPT, &[], 30) {
        check_preempt(&o);
    }
}

// ------------------------------------------------------------------------------- sessions

fn check_session(o: &Outcome) {
    has(o, "setsid returns own pid: 1");
    has(o, "kill(-pgrp, USR1) reached: a1b1c1");
    has(o, "kill(0, USR1) reached: d1");
    has(o, "after moving d into a: a1b1c1d1");
    has(o, "setpgid after exec=EACCES");
    has(o, "members terminated: 4");
}

#[test]
fn sessions_and_process_groups() {
    check_session(&run_guest(guests::PROC_SESSION, &[], None, 60));
}

#[test]
fn sessions_and_process_groups_scheds() {
    for o in run_guest_scheds(guests::PROC_SESSION, &[], 60) {
        check_session(&o);
    }
}

// ------------------------------------------------------------------------------- limits

/// uml only (a fork bomb is not something to run natively): with `--pids 16`, fork fails with
/// EAGAIN, and an abandoned fork bomb neither hangs uml past the first program's exit nor leaves
/// host processes behind.
fn forkbomb(extra: &[&str]) {
    let tmp = TempDir::new("forkbomb");
    let pids_file = tmp.join("stub-pids");
    let mut flags: Vec<String> = vec!["--pids".into(), "16".into()];
    flags.extend(extra.iter().map(|s| s.to_string()));
    let opts = RunOpts {
        uml_flags: flags,
        ..RunOpts::default()
    };
    let mut cmd = uml_command(&[guests::PROC_FORKBOMB, "--in-sandbox", "16"], &opts);
    cmd.env("UML_DEBUG_STUB_PIDS_FILE", &pids_file)
        .stdin(Stdio::null());
    let start = Instant::now();
    let o = run_command(cmd, Duration::from_secs(60));
    let took = start.elapsed();
    let out = o.stdout_str();
    for line in [
        "fork failed: EAGAIN",
        "children within the limit: 1",
        "reaped all: 1",
        "fork after cleanup: ok",
        "leaving the bomb behind",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing {line:?}\n{}",
            o.describe("uml")
        );
    }
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    assert!(took < Duration::from_secs(30), "uml took {took:?}");
    // Every host process uml started is gone shortly after it exits.
    let pids: Vec<u32> = fs::read_to_string(&pids_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut left = pids.clone();
    while Instant::now() < deadline {
        left.retain(|&p| matches!(proc_stat(p), Some((s, _, _)) if s != 'Z' && s != 'X'));
        if left.is_empty() {
            break;
        }
        sleep(Duration::from_millis(50));
    }
    assert!(
        left.is_empty(),
        "stub processes left after uml exited: {left:?}"
    );
}

#[test]
fn pids_limit_fork_eagain_and_bomb_contained() {
    forkbomb(&[]);
}

#[test]
fn pids_limit_fork_eagain_and_bomb_contained_scheds() {
    for s in SCHEDS {
        forkbomb(&[s]);
    }
}

/// A terminal's Ctrl-C (here: SIGINT sent to uml, as the terminal sends it to its foreground
/// process group) reaches the guest's foreground process group: the shell runs its trap and
/// its busy child dies of SIGINT, as natively.
#[test]
fn host_sigint_reaches_the_foreground_group() {
    use std::io::{BufRead, BufReader};
    let bb = integration_tests::busybox();
    let script =
        "trap 'echo caught INT; exit 3' INT; echo ready; while :; do busybox sleep 1; done";
    let mut cmd = integration_tests::uml_command(
        &[
            bb.as_os_str(),
            "sh".as_ref(),
            "-c".as_ref(),
            script.as_ref(),
        ],
        &RunOpts::default(),
    );
    cmd.stdout(Stdio::piped()).stdin(Stdio::null());
    let mut child = cmd.spawn().expect("start uml");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line, "ready\n");
    sleep(Duration::from_millis(300));
    let st = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "uml did not end after SIGINT");
        sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("read");
    assert_eq!(rest, "caught INT\n");
    assert_eq!(status.code(), Some(3));
}

// ------------------------------------------------------------------- signal permissions

/// `kill` and its relatives check who may signal whom, `/proc/PID` directories are
/// pidfds, queued real-time signals respect `RLIMIT_SIGPENDING`, and `sigwaitinfo` takes
/// an unblocked signal before its handler would.
#[test]
fn signal_permissions_queue_limit_and_sigwait() {
    let o = run_guest(guests::SIG_PERM, &[], None, 60);
    if !o.stdout_str().contains("not root") {
        has(&o, "nobody kill root=EPERM");
        has(&o, "nobody tgkill root=EPERM");
    }
    has(&o, "pidfd_send_signal /proc/self=ok");
    has(&o, "tgkill rt over limit=EAGAIN");
    has(
        &o,
        "sigwaitinfo unblocked: SIGUSR2, from child 1, code 0, handled 0",
    );
}

// ----------------------------------------------------------------------------- ETXTBSY

/// A running program cannot be opened for writing, a file open for writing cannot be run,
/// and `execveat` takes an absolute path whatever its dirfd and refuses a symlink with
/// `AT_SYMLINK_NOFOLLOW`.
#[test]
fn text_busy_and_execveat_paths() {
    let o = run_guest(guests::TXTBSY, &[], None, 60);
    has(&o, "open running program for writing=ETXTBSY");
    has(&o, "truncating open of running program=ETXTBSY");
    has(&o, "exec while open for writing: ETXTBSY");
    has(&o, "execveat(-1, absolute): exit 4");
    has(&o, "execveat NOFOLLOW on a symlink: ELOOP");
}

/// 300 processes at once fit in the default 1 GiB guest (stacks are charged as used).
#[test]
fn hundreds_of_processes_at_once() {
    let o = run_guest(guests::FORK_MANY, &["300"], None, 120);
    has(&o, "children alive: 300");
}

/// `clone` of a process (not a thread) sharing memory, filesystem context, descriptors and
/// signal handlers: the parent sees what the child changed.
#[test]
fn processes_sharing_fs_and_handlers() {
    let o = run_guest(guests::CLONE_SHARE, &[], None, 60);
    has(&o, "shared memory: 42, shared descriptor valid: 1");
    has(
        &o,
        "after sharing child: cwd /tmp umask 027 handler child's",
    );
    has(&o, "after forked child: cwd / umask 022 handler default");
}
