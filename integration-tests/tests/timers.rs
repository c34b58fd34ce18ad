//! POSIX timers (`timer_create` and family) and the CPU-time interval timers
//! (`ITIMER_VIRTUAL`, `ITIMER_PROF`), issue 10: the `timer_posix` guest runs natively and
//! under `uml run --` (stdout and exit status must be identical), with both trap mechanisms'
//! default and under every `--sched` policy. The guest prints relationships and ranges
//! (fired, overrun in a range, errno names), never raw times.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{
    arg, assert_no_bad_lines, compare, guests, run_native, script, which, Outcome, RunOpts,
};

fn opts(flags: &[&str]) -> RunOpts {
    RunOpts {
        uml_flags: flags.iter().map(|s| s.to_string()).collect(),
        timeout: Some(Duration::from_secs(120)),
        ..RunOpts::default()
    }
}

fn has(o: &Outcome, line: &str) {
    let out = o.stdout_str();
    assert!(
        out.lines().any(|l| l == line),
        "expected line {line:?} natively in:\n{out}"
    );
}

fn check(flags: &[&str]) {
    let o = compare(&[guests::TIMER_POSIX], &opts(flags));
    assert_no_bad_lines("timer_posix", &o);
    assert_eq!(o.status, 0, "{}", o.describe("native"));
    // What the comparison stands on, as seen natively.
    has(
        &o,
        "signal: got=1 signo_ok=1 code=SI_TIMER:1 timerid_ok=1 overrun=0 value=42 elapsed in [0.04,2]=1",
    );
    has(
        &o,
        "sigwaitinfo: 1 overrun in [5,30]=1 getoverrun_matches=1 value=7",
    );
    has(
        &o,
        "thread took it: 1 timerid_ok=1 value=99 code=SI_TIMER:1 main_pending=0",
    );
    has(&o, "SIGEV_THREAD: calls>=3=1 value=1234 other_thread=1");
    has(
        &o,
        "PROCESS_CPUTIME fired while spinning: got=1 cpu used >= 0.04: 1 timerid_ok=1",
    );
    has(&o, "ITIMER_VIRTUAL fired while spinning: 1 cpu >= 0.025: 1");
    has(
        &o,
        "ITIMER_VIRTUAL zero value keeps interval: interval=0.300000 value=0.000000",
    );
    has(&o, "after delete and unblock: got=0");
    // Expiries before uml started count as overruns too (capped at INT_MAX).
    has(&o, "overrun of a timer 30 s past: INT_MAX");
    assert!(o.stdout_str().ends_with("done\n"));
}

#[test]
fn posix_timers_and_cpu_itimers() {
    check(&[]);
}

#[test]
fn posix_timers_and_cpu_itimers_ptrace() {
    check(&["--trap=ptrace"]);
}

#[test]
fn posix_timers_and_cpu_itimers_scheds() {
    for s in ["--sched=rr", "--sched=fair"] {
        check(&[s]);
    }
}

/// vim arms a timer (`timer_create` through librt's `SIGEV_THREAD`) for its regexp and
/// redraw timeouts; without POSIX timers it printed "E1286: Could not set timeout".
#[test]
fn vim_starts_without_e1286() {
    let (Some(vim), Some(python)) = (which("vim"), which("python3")) else {
        eprintln!("skipped: vim or python3 is not installed");
        return;
    };
    let file = integration_tests::workspace_root().join("README.md");
    let argv = [
        python.into_os_string(),
        arg(script("vim_pty.py")),
        vim.into_os_string(),
        "-u".into(),
        "NONE".into(),
        "-N".into(),
        arg(&file),
    ];
    let native = run_native(&argv, &opts(&[]));
    // The pty helper runs on the host; vim runs natively, then under uml.
    let mut in_uml = vec![
        argv[0].clone(),
        argv[1].clone(),
        arg(integration_tests::uml_bin()),
        "run".into(),
        "--".into(),
    ];
    in_uml.extend_from_slice(&argv[2..]);
    let uml = run_native(&in_uml, &opts(&[]));
    let want = "drew: True\nE1286: False\nexit: 0\n";
    assert_eq!(native.stdout_str(), want, "{}", native.describe("native"));
    assert_eq!(uml.stdout_str(), want, "{}", uml.describe("uml"));
}

/// `RLIMIT_CPU`: `SIGXCPU` at the soft limit, `SIGKILL` at the hard one.
#[test]
fn cpu_time_limit() {
    let o = compare(&[guests::RLIMIT_CPU], &opts(&[]));
    assert_eq!(o.status, 0, "{}", o.describe("native"));
    has(&o, "killed by SIGKILL, SIGXCPU seen yes");
}
