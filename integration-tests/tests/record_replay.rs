//! `uml run --record FILE` and `uml replay FILE --service S [--with IMPL]`: a recorded run
//! gives the same output as an unrecorded one, its scheduler and mm inboxes replay with every
//! reply matching, the whole kernel runs again on it with every syscall and vfs reply
//! matching (`--service syscall`, `--service vfs`), another policy's comparison is printed, a replay on a root that
//! changed since reports where it diverged, and a damaged log is one clear line.
#![allow(clippy::unwrap_used)]

use std::ffi::OsString;
use std::process::Command;

use integration_tests::{
    arg, busybox, compare, guests, run_command, script, uml_bin, Outcome, RunOpts, TempDir,
    DEFAULT_TIMEOUT,
};

fn replay(log: &std::path::Path, extra: &[&str]) -> Outcome {
    let mut cmd = Command::new(uml_bin());
    cmd.arg("replay").arg(log).args(extra);
    run_command(cmd, DEFAULT_TIMEOUT)
}

/// Runs `argv` natively and recorded under uml (same output), then replays the log's
/// scheduler inbox against the recorded policy (exit 0) and against `fair` (a comparison),
/// mm's inbox against a fresh mm (exit 0) and against the single-process backend (a
/// comparison), and the syscalls and vfs's messages against the whole kernel run again
/// (exit 0).
fn record_and_replay(tag: &str, argv: &[OsString]) {
    let dir = TempDir::new(tag);
    let log = dir.join("run.log");
    let opts = RunOpts {
        uml_flags: vec!["--record".into(), log.display().to_string()],
        ..RunOpts::default()
    };
    compare(argv, &opts);
    for service in ["sched", "mm", "syscall", "vfs"] {
        let o = replay(&log, &["--service", service]);
        let what = format!("replay --service {service}");
        assert_eq!(o.status, 0, "{}", o.describe(&what));
        let out = o.stdout_str();
        assert!(out.contains("every reply matches"), "{}", o.describe(&what));
        // Every one of these programs walks paths: vfs has messages to replay.
        assert!(!out.contains(": 0 messages"), "{}", o.describe(&what));
    }
    let o = replay(&log, &["--service", "mm", "--with", "single"]);
    assert_eq!(o.status, 0, "{}", o.describe("replay mm --with single"));
    assert!(
        o.stdout_str().contains("address-space switches"),
        "{}",
        o.describe("replay mm --with single")
    );
    let o = replay(&log, &["--service", "sched", "--with", "fair"]);
    assert_eq!(o.status, 0, "{}", o.describe("replay --with fair"));
    assert!(
        o.stdout_str().contains("differ with Fair"),
        "{}",
        o.describe("replay")
    );
}

#[test]
fn python_imports() {
    let argv = [
        arg("/usr/bin/python3"),
        arg("-c"),
        arg("import json,os,subprocess"),
    ];
    record_and_replay("rec-python", &argv);
}

#[test]
fn busybox_pipelines() {
    let argv = [arg(busybox()), arg("sh"), arg(script("pipelines.sh"))];
    record_and_replay("rec-pipelines", &argv);
}

#[test]
fn threaded_program() {
    record_and_replay("rec-threads", &[arg(guests::THREADS), arg("pc")]);
}

/// Truncated, corrupt, foreign and missing logs, and services that cannot be replayed:
/// exit 2 with one line on stderr, never a panic.
#[test]
fn damaged_logs_are_one_line_errors() {
    let dir = TempDir::new("rec-damaged");
    let log = dir.join("run.log");
    let mut cmd = Command::new(uml_bin());
    cmd.args(["run", "--record"])
        .arg(&log)
        .args(["--", "/bin/true"]);
    assert_eq!(run_command(cmd, DEFAULT_TIMEOUT).status, 0);
    let bytes = std::fs::read(&log).unwrap();

    let truncated = dir.join("truncated.log");
    std::fs::write(&truncated, &bytes[..bytes.len() - 5]).unwrap();
    let mut flipped = bytes.clone();
    let at = bytes.len() / 2;
    for b in &mut flipped[at..at + 8] {
        *b ^= 0x5a;
    }
    let corrupt = dir.join("corrupt.log");
    std::fs::write(&corrupt, &flipped).unwrap();
    let foreign = dir.join("foreign.log");
    std::fs::write(&foreign, b"#!/bin/sh\necho not a log\n").unwrap();
    let cases: [(&std::path::Path, &[&str], &str); 6] = [
        (&truncated, &["--service", "sched"], "truncated log"),
        (&corrupt, &["--service", "sched"], "corrupt log"),
        (&foreign, &["--service", "sched"], "not a uml record log"),
        (
            &dir.join("missing.log"),
            &["--service", "sched"],
            "No such file",
        ),
        (
            &log,
            &["--service", "vfs", "--with", "x"],
            "cannot be replayed",
        ),
        (
            &log,
            &["--service", "sched", "--with", "nope"],
            "is not an implementation",
        ),
    ];
    for (path, args, want) in cases {
        let o = replay(path, args);
        let err = o.stderr_str();
        assert_eq!(o.status, 2, "{}", o.describe("replay"));
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "want {want:?} in {err:?}");
    }
}

/// The syscall service replayed on a root that changed since the recording: the first
/// syscall whose reply differs is reported (exit 1); a run that wrote host files is not
/// replayed (its replay would write them again).
#[test]
fn a_changed_root_diverges() {
    let dir = TempDir::new("rec-changed");
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("f"), b"abc").unwrap();
    let log = dir.join("run.log");
    let mut cmd = Command::new(uml_bin());
    cmd.args(["run", "--record"])
        .arg(&log)
        .arg("-v")
        .arg(format!("{}:/data:ro", data.display()))
        .args(["--", "/bin/cat", "/data/f"]);
    let o = run_command(cmd, DEFAULT_TIMEOUT);
    assert_eq!((o.status, o.stdout_str()), (0, "abc".to_string()));
    let o = replay(&log, &["--service", "syscall"]);
    assert_eq!(o.status, 0, "{}", o.describe("replay syscall"));

    std::fs::write(data.join("f"), b"abcdef").unwrap();
    let o = replay(&log, &["--service", "syscall"]);
    assert_eq!(o.status, 1, "{}", o.describe("replay syscall"));
    let out = o.stdout_str();
    assert!(
        out.contains("diverges") && out.contains("recorded:"),
        "{out}"
    );

    let mut cmd = Command::new(uml_bin());
    cmd.args(["run", "--record"])
        .arg(&log)
        .arg("-v")
        .arg(format!("{}:/data", data.display()))
        .args(["--", "/bin/true"]);
    assert_eq!(run_command(cmd, DEFAULT_TIMEOUT).status, 0);
    let o = replay(&log, &["--service", "syscall"]);
    assert_eq!(o.status, 2, "{}", o.describe("replay syscall"));
    assert!(
        o.stderr_str().contains("wrote host files"),
        "{}",
        o.stderr_str()
    );
}
