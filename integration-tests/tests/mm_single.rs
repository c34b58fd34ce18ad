//! `uml run --mm single`: the seed's two-process model. Every guest process runs in one
//! host process whose memory is rewritten on each switch: the whole instance is uml and
//! one runner however many processes and threads the guest has, and no page of one guest
//! process is reachable from another after a switch.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use integration_tests::{busybox, compare, descendants, guests, uml_command, RunOpts};

fn opts(mm: &str, trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![format!("--mm={mm}"), format!("--trap={trap}")],
        ..RunOpts::default()
    }
}

/// Process A blocks with a page of secret bytes; process B probes A's address and the
/// 16 MiB around it with signal-safe loads and scans its own memory: as natively, it finds
/// nothing. In every backend and with both trap mechanisms.
#[test]
fn a_blocked_process_secret_is_unreachable_after_a_switch() {
    for mm in ["single", "single-lazy", "per-process"] {
        for trap in ["seccomp", "ptrace"] {
            let o = compare(&[guests::MM_SWITCH, "secret"], &opts(mm, trap));
            assert!(
                o.stdout_str()
                    .contains("secret pages within 8 MiB of it: 0"),
                "--mm={mm} --trap={trap}: {}",
                o.stdout_str()
            );
        }
    }
}

/// Host processes under uml (uml itself not counted) while the guest runs 20 processes with
/// two threads each.
fn host_processes_with_20_guest_processes(o: &RunOpts) -> usize {
    let mut child = uml_command(&[guests::MM_SWITCH, "many"], o)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn uml");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let count = descendants(child.id()).len();
    let mut stdin = child.stdin.take().unwrap();
    stdin.flush().unwrap();
    drop(stdin);
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "done: 20 children exited 0\n");
    assert!(child.wait().unwrap().success());
    count
}

#[test]
fn the_instance_is_two_host_processes() {
    for trap in ["seccomp", "ptrace"] {
        assert_eq!(
            host_processes_with_20_guest_processes(&opts("single", trap)),
            1,
            "--trap={trap}: uml and exactly one runner"
        );
    }
    // Per process: a runner each (the parent's and the 20 children's at least).
    let n = host_processes_with_20_guest_processes(&opts("per-process", "seccomp"));
    assert!(n >= 21, "{n} host processes");
}

/// The one runner process killed from outside while the guest's processes wait: the process
/// that runs next is killed with a clear reason, the others go on in a new runner.
#[test]
fn a_dead_runner_ends_one_process_and_the_instance_goes_on() {
    for trap in ["seccomp", "ptrace"] {
        // The subshell says when it is about to sleep; a moment later every guest process
        // waits (the shell for the subshell, the subshell's sleep for its timer), so the
        // first to run after the kill is the sleep, however slow the host is.
        let script = "(echo sleeping; sleep 3); echo \"status $?\"; echo still here | cat";
        let mut child = uml_command(
            &[busybox().to_str().unwrap(), "sh", "-c", script],
            &opts("single", trap),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn uml");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
        assert_eq!(first, "sleeping\n", "--trap={trap}");
        std::thread::sleep(std::time::Duration::from_millis(500));
        let runners = descendants(child.id());
        assert_eq!(runners.len(), 1, "--trap={trap}: {runners:?}");
        // SAFETY: kill(2) of the runner process we found under uml; no memory is involved.
        unsafe { libc::kill(runners[0].0 as i32, libc::SIGKILL) };
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "--trap={trap}: {rest}{stderr}");
        assert_eq!(rest, "status 137\nstill here\n", "--trap={trap}: {stderr}");
        assert!(stderr.contains("uml: the runner process died"), "{stderr}");
    }
}
