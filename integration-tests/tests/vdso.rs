//! The vDSO (`AT_SYSINFO_EHDR`): its time calls agree with the raw syscalls and never go
//! back (the `vdso` guest, natively and under uml), they do not trap (no time syscall in
//! `uml run --trace`), and dynamically linked programs (`date`, python3) get the right time
//! through it. Each under both trap mechanisms.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use integration_tests::{assert_no_bad_lines, compare, guests, run_uml, Outcome, RunOpts};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

fn opts(flags: &[&str]) -> RunOpts {
    RunOpts {
        uml_flags: flags.iter().map(|f| f.to_string()).collect(),
        timeout: Some(Duration::from_secs(120)),
        ..RunOpts::default()
    }
}

/// Whether the host's time-stamp counter is invariant (else uml's vDSO makes the syscall).
fn invariant_tsc() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "nonstop_tsc"))
}

/// The syscalls `uml run --trace` reports with these names.
fn traced(o: &Outcome, names: &[&str]) -> usize {
    o.stderr_str()
        .lines()
        .filter(|l| {
            l.split_once("] ")
                .and_then(|(_, rest)| rest.split_once('('))
                .is_some_and(|(name, _)| names.contains(&name))
        })
        .count()
}

fn host_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn vdso_guest_matches_native() {
    for trap in TRAPS {
        let o = compare(&[guests::VDSO], &opts(&[trap]));
        assert_no_bad_lines(trap, &o);
        assert!(o.stdout_str().contains("ok exports __vdso_time@LINUX_2.6"));
    }
}

#[test]
fn time_calls_do_not_trap() {
    for trap in TRAPS {
        let o = run_uml(&[guests::VDSO, "loop", "100000"], &opts(&[trap, "--trace"]));
        assert_eq!(o.stdout_str(), "done\n", "{}", o.describe(trap));
        // The trace works: the guest's sleep is in it.
        assert!(traced(&o, &["clock_nanosleep"]) > 0, "{}", o.describe(trap));
        let time_calls = traced(&o, &["clock_gettime", "gettimeofday", "time"]);
        if invariant_tsc() {
            assert_eq!(
                time_calls, 0,
                "300000 time calls made {time_calls} syscalls"
            );
        }
    }
}

#[test]
fn dynamic_programs_get_the_time_through_the_vdso() {
    let script = "import sys, time\n\
                  print(abs(time.time() - float(sys.argv[1])) < 30)\n\
                  m = [time.monotonic() for _ in range(100000)]\n\
                  print(all(a <= b for a, b in zip(m, m[1:])))\n";
    for trap in TRAPS {
        let now = format!("{}", host_secs());
        let o = compare(&["/usr/bin/python3", "-c", script, &now], &opts(&[trap]));
        assert_eq!(o.stdout_str(), "True\nTrue\n");
        let traced_run = run_uml(
            &["/usr/bin/python3", "-c", script, &now],
            &opts(&[trap, "--trace"]),
        );
        assert_eq!(traced_run.stdout_str(), "True\nTrue\n");
        let calls = traced(&traced_run, &["clock_gettime", "gettimeofday", "time"]);
        if invariant_tsc() {
            // A few while the kernel calibrates the counter, not one per call.
            assert!(
                calls < 100,
                "python3 made {calls} time syscalls for 100001 reads"
            );
        }
        let before = host_secs();
        let d = run_uml(&["/bin/date", "+%s"], &opts(&[trap]));
        let after = host_secs();
        let secs: f64 = d.stdout_str().trim().parse().unwrap();
        assert!(
            before.floor() <= secs && secs <= after.ceil(),
            "date said {secs}, the host {before}..{after}"
        );
    }
}
