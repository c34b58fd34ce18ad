//! Errors reported by `uml run` itself: exit status and a single `uml: ` line on stderr.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use integration_tests::{
    guests, is_dynamic_elf, run_command, run_uml, uml_bin, Outcome, RunOpts, TempDir,
    DEFAULT_TIMEOUT,
};

fn assert_uml_error(o: &Outcome, status: i32) {
    assert_eq!(o.status, status, "{}", o.describe("uml"));
    let err = o.stderr_str();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one stderr line:\n{}",
        o.describe("uml")
    );
    assert!(
        lines[0].starts_with("uml: "),
        "stderr must start with `uml: `:\n{}",
        o.describe("uml")
    );
    assert!(
        o.stdout.is_empty(),
        "nothing on stdout expected:\n{}",
        o.describe("uml")
    );
}

#[test]
fn missing_program_is_127() {
    let o = run_uml(&["/nonexistent"], &RunOpts::default());
    assert_uml_error(&o, 127);
}

#[test]
fn missing_program_in_path_is_127() {
    let o = run_uml(&["uml-test-no-such-command-xyz"], &RunOpts::default());
    assert_uml_error(&o, 127);
}

#[test]
fn text_file_with_exec_bit_is_126() {
    let tmp = TempDir::new("textexec");
    let p = tmp.join("script");
    fs::write(&p, "just some text, not a program\n").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let o = run_uml(&[&p], &RunOpts::default());
    assert_uml_error(&o, 126);
}

#[test]
fn non_executable_file_is_126() {
    let tmp = TempDir::new("noexec");
    let p = tmp.join("hello-noexec");
    fs::copy(guests::HELLO, &p).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    let o = run_uml(&[&p], &RunOpts::default());
    assert_uml_error(&o, 126);
}

#[test]
fn directory_is_126() {
    let tmp = TempDir::new("direxec");
    let o = run_uml(&[tmp.path()], &RunOpts::default());
    assert_uml_error(&o, 126);
}

/// Dynamically linked programs (the host's own, through its `ld-linux`) run as natively.
#[test]
fn dynamic_elf_runs_like_native() {
    let candidates = ["/bin/echo", "/usr/bin/echo"];
    let Some(dynamic) = candidates.iter().map(Path::new).find(|p| is_dynamic_elf(p)) else {
        eprintln!("no dynamically linked ELF found; skipping");
        return;
    };
    let o = integration_tests::compare(
        &[dynamic.as_os_str(), "hello from a dynamic ELF".as_ref()],
        &RunOpts::default(),
    );
    assert_eq!(o.status, 0);
}

/// An ELF whose interpreter is missing fails as Linux's execve does (ENOENT: 127).
#[test]
fn missing_interpreter_is_127() {
    let tmp = TempDir::new("badinterp");
    let Some(src) = ["/bin/true", "/usr/bin/true"]
        .iter()
        .map(Path::new)
        .find(|p| is_dynamic_elf(p))
    else {
        return;
    };
    let mut bytes = fs::read(src).unwrap();
    let at = bytes
        .windows(11)
        .position(|w| w == b"/lib64/ld-l")
        .expect("interpreter path");
    bytes[at + 1..at + 6].copy_from_slice(b"nope/");
    let prog = tmp.join("badinterp");
    fs::write(&prog, &bytes).unwrap();
    fs::set_permissions(&prog, fs::Permissions::from_mode(0o755)).unwrap();
    let o = run_uml(&[prog.as_os_str()], &RunOpts::default());
    assert_uml_error(&o, 127);
}

#[test]
fn bad_flag_is_2() {
    let mut cmd = Command::new(uml_bin());
    cmd.args(["run", "--bogus", "--", "x"]);
    let o = run_command(cmd, DEFAULT_TIMEOUT);
    assert_eq!(o.status, 2, "{}", o.describe("uml"));
}

#[test]
fn null_deref_guest_is_139() {
    let tmp = TempDir::new("segv139");
    let o = run_uml(
        &[guests::SEGV],
        &RunOpts {
            cwd: Some(tmp.path().to_path_buf()),
            ..RunOpts::default()
        },
    );
    assert_eq!(o.status, 139, "{}", o.describe("uml"));
    assert_eq!(o.stdout_str(), "about to dereference NULL\n");
}

#[test]
fn garbage_guest_runs_to_completion() {
    let o = run_uml(&[guests::GARBAGE], &RunOpts::default());
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    assert!(o.stdout_str().ends_with("done\n"), "{}", o.describe("uml"));
}
