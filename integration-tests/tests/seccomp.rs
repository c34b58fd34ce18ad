//! The seccomp trap backend (`--trap=seccomp`): guests behave as natively, adversarial
//! guests that attack the stub fail (killed or refused) under both backends while uml and
//! the other guests carry on, and many short-lived processes leak no stub, fd or frame.
#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use integration_tests::{
    assert_no_bad_lines, compare, descendants, guests, run_uml, uml_command, Outcome, RunOpts,
    TempDir,
};

const TRAPS: [&str; 2] = ["--trap=seccomp", "--trap=ptrace"];

fn opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.into()],
        timeout: Some(Duration::from_secs(120)),
        ..RunOpts::default()
    }
}

fn seccomp() -> RunOpts {
    opts("--trap=seccomp")
}

#[test]
fn simple_guests_match_native() {
    for g in [
        guests::HELLO,
        guests::FPU,
        guests::ERRNOS,
        guests::AUXV,
        guests::TIME,
    ] {
        let o = compare(&[g], &seccomp());
        assert_no_bad_lines(g, &o);
    }
}

#[test]
fn files_and_memory_match_native() {
    for g in [guests::FILES, guests::MEMORY] {
        let tmp = TempDir::new("sec");
        let scratch = tmp.join("scratch");
        let o = compare(&[OsStr::new(g), scratch.as_os_str()], &seccomp());
        assert_no_bad_lines(g, &o);
        assert_eq!(o.status, 0, "{g}");
    }
}

#[test]
fn process_guests_match_native() {
    for g in [
        guests::PROC_FORK,
        guests::PROC_SIGNAL,
        guests::PROC_PIPE,
        guests::PROC_EXEC,
        guests::PROC_WAIT,
        guests::PROC_PREEMPT,
    ] {
        let o = run_uml(&[g], &seccomp());
        let n = integration_tests::run_native(&[g], &seccomp());
        assert_eq!(o.status, n.status, "{g}\n{}", o.describe("uml"));
        assert_no_bad_lines(g, &o);
        assert!(o.stdout_str().contains("done") == n.stdout_str().contains("done"));
    }
}

/// An attack guest's run: it finished ("done"), nothing leaked, uml exited normally.
fn check_attack(name: &str, o: &Outcome) {
    let out = o.stdout_str();
    assert!(
        !out.contains("LEAK"),
        "{name}: an attack succeeded\n{}",
        o.describe(name)
    );
    assert!(
        out.lines().any(|l| l == "done"),
        "{name}: did not finish\n{}",
        o.describe(name)
    );
    assert_eq!(o.status, 0, "{name}\n{}", o.describe(name));
}

#[test]
fn jumping_into_stub_syscalls_fails() {
    for trap in TRAPS {
        let o = run_uml(&[guests::ADV_JUMP], &opts(trap));
        check_attack(&format!("adv_jump {trap}"), &o);
        let out = o.stdout_str();
        assert!(out.contains("leaks 0"), "{}", o.describe(trap));
        if trap == "--trap=seccomp" {
            // Every attempt at a stub syscall with chosen registers kills the child.
            let line = out.lines().find(|l| l.starts_with("attempts")).unwrap();
            let nums: Vec<u32> = line
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|w| w.parse().ok())
                .collect();
            assert!(nums[0] > 50, "{line}");
            assert_eq!(nums[0], nums[1], "an attempt was not killed: {line}");
        }
    }
}

#[test]
fn writing_over_stub_pages_only_hurts_the_writer() {
    for trap in TRAPS {
        let o = run_uml(&[guests::ADV_WRITE], &opts(trap));
        check_attack(&format!("adv_write {trap}"), &o);
        assert!(o.stdout_str().contains("hung 0"), "{}", o.describe(trap));
        assert!(
            o.stdout_str().contains("fresh child: 7"),
            "{}",
            o.describe(trap)
        );
    }
}

#[test]
fn blocking_signals_does_not_stall_the_kernel() {
    for trap in TRAPS {
        let o = run_uml(&[guests::ADV_SIGNALS], &opts(trap));
        check_attack(&format!("adv_signals {trap}"), &o);
        let out = o.stdout_str();
        assert!(out.contains("raw getpid still trapped: 1"), "{out}");
        assert!(out.contains("stub rt_sigreturn found: 1"), "{out}");
        for t in 1..=3 {
            assert!(
                out.contains(&format!("host-blocked spinner tick {t}")),
                "{out}"
            );
            assert!(
                out.contains(&format!("guest-blocked spinner tick {t}")),
                "{out}"
            );
        }
    }
}

#[test]
fn other_processes_memory_stays_out_of_reach() {
    for trap in TRAPS {
        let o = run_uml(&[guests::ADV_CROSS], &opts(trap));
        check_attack(&format!("adv_cross {trap}"), &o);
        let out = o.stdout_str();
        assert!(out.contains("freed mapping gone: ok"), "{out}");
        assert!(out.contains("child scan: ok"), "{out}");
        assert!(out.contains("cow: ok"), "{out}");
    }
}

/// Processes that die with garbage in their FP state and segment bases leave nothing to
/// the ones after them (which may run in their recycled stubs), and a forked child
/// inherits its parent's MXCSR: the same output as natively.
#[test]
fn dead_processes_leave_nothing_to_the_next() {
    for trap in TRAPS {
        let o = compare(&[guests::ADV_RECYCLE], &opts(trap));
        assert_no_bad_lines(trap, &o);
        assert_eq!(o.status, 0, "{trap}: {}", o.describe(trap));
        assert!(o.stdout_str().ends_with("done\n"), "{}", o.describe(trap));
    }
}

/// Host processes under uml, fds of uml, and allocated bytes of physical memory.
fn census(uml: u32) -> (usize, usize, u64) {
    use std::os::unix::fs::MetadataExt;
    let procs = descendants(uml).len();
    let mut fds = 0;
    let mut phys = 0;
    for e in std::fs::read_dir(format!("/proc/{uml}/fd"))
        .unwrap()
        .flatten()
    {
        fds += 1;
        let target = std::fs::read_link(e.path()).unwrap_or_default();
        if target.to_string_lossy().contains("uml-phys") {
            phys = std::fs::metadata(e.path()).map_or(0, |m| m.blocks() * 512);
        }
    }
    (procs, fds, phys)
}

/// Forks `n` short-lived processes and compares the census before and after.
fn no_leaks_after_many_processes(trap: &str, n: u32) {
    let mut cmd = uml_command(&[guests::ADV_FORKMANY, &n.to_string(), "700"], &opts(trap));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let uml = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut before = None;
    let mut after = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        std::thread::sleep(Duration::from_millis(300));
        if line == "ready" {
            before = Some(census(uml));
        } else if line.starts_with("forked") {
            assert_eq!(line, format!("forked {n}"), "{trap}");
            after = Some(census(uml));
        }
    }
    let status = child.wait().unwrap();
    let elapsed = start.elapsed();
    let (before, after) = (before.unwrap(), after.unwrap());
    eprintln!("{trap}: {n} processes in {elapsed:?}; census before {before:?} after {after:?}");
    assert!(status.success(), "{trap}: {status:?}");
    assert_eq!(before.0, after.0, "{trap}: host processes leaked");
    assert_eq!(before.1, after.1, "{trap}: uml fds leaked");
    assert!(
        after.2 <= before.2 + (4 << 20),
        "{trap}: physical memory grew from {} to {} bytes",
        before.2,
        after.2
    );
}

#[test]
fn many_processes_leak_nothing_seccomp() {
    no_leaks_after_many_processes("--trap=seccomp", 10_000);
}

#[test]
fn many_processes_leak_nothing_ptrace() {
    no_leaks_after_many_processes("--trap=ptrace", 10_000);
}
