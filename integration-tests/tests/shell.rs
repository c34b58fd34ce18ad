//! busybox `sh` scripts (issue 3), run natively as `busybox sh SCRIPT` and under
//! `uml run -- busybox sh SCRIPT`; stdout and exit status must be identical. Each script is run
//! again under every `--sched` policy.
//!
//! The scripts live in `integration-tests/scripts/`. They see `PATH` = a temp dir of symlinks
//! to the static busybox (one per applet, so nothing depends on the host's own tools), `FIX` =
//! a fixture directory with fixed contents and mtimes, and `TMPD` = a scratch directory (each
//! script makes its own `mktemp -d` inside it, so the native and the uml run never collide).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration_tests::{busybox, compare, script, Outcome, RunOpts, TempDir};

/// The scheduling policies every comparison is repeated with.
const SCHEDS: [&str; 2] = ["--sched=rr", "--sched=fair"];

struct Env {
    _tmp: TempDir,
    bin: PathBuf,
    fix: PathBuf,
    scratch: PathBuf,
    bb: PathBuf,
}

fn touch_d(path: &Path, when: &str) {
    let st = Command::new("touch")
        .arg("-h")
        .arg("-d")
        .arg(when)
        .arg(path)
        .status()
        .expect("run touch");
    assert!(st.success(), "touch -d failed on {}", path.display());
}

fn setup(tag: &str) -> Env {
    let bb = busybox();
    let tmp = TempDir::new(tag);
    let bin = tmp.join("bin");
    fs::create_dir(&bin).unwrap();
    let list = Command::new(&bb)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim();
        if !applet.is_empty() && !applet.contains('/') {
            std::os::unix::fs::symlink(&bb, bin.join(applet)).unwrap();
        }
    }
    let fix = tmp.join("fix");
    fs::create_dir_all(fix.join("sub")).unwrap();
    fs::write(
        fix.join("words.txt"),
        "banana\napple\ncherry\napple\ndate\nbanana\nbanana\nelderberry\n",
    )
    .unwrap();
    fs::write(
        fix.join("data.csv"),
        "id,name,score\n1,alice,90\n2,bob,85\n3,carol,92\n4,dave,70\n",
    )
    .unwrap();
    fs::write(
        fix.join("text.txt"),
        "The quick brown fox\njumps over the lazy dog.\n",
    )
    .unwrap();
    fs::write(fix.join("sub/inner.txt"), "inner\n").unwrap();
    fs::write(fix.join("sub/conf.json"), "{\"k\":1}\n").unwrap();
    for (name, when) in [
        ("data.csv", "2020-01-01 00:00:00"),
        ("words.txt", "2020-01-01 00:00:00"),
        ("text.txt", "2021-01-01 00:00:00"),
        ("sub/inner.txt", "2021-01-01 00:00:00"),
        ("sub/conf.json", "2021-01-01 00:00:00"),
        ("sub", "2021-01-01 00:00:00"),
        (".", "2021-01-01 00:00:00"),
    ] {
        touch_d(&fix.join(name), when);
    }
    let scratch = tmp.join("scratch");
    fs::create_dir(&scratch).unwrap();
    fs::set_permissions(&scratch, fs::Permissions::from_mode(0o777)).unwrap();
    Env {
        _tmp: tmp,
        bin,
        fix,
        scratch,
        bb,
    }
}

fn opts(env: &Env, sched: Option<&str>) -> RunOpts {
    RunOpts {
        env: vec![
            ("PATH".into(), env.bin.display().to_string()),
            ("FIX".into(), env.fix.display().to_string()),
            ("TMPD".into(), env.scratch.display().to_string()),
            ("LC_ALL".into(), "C".into()),
            ("TZ".into(), "UTC".into()),
        ],
        uml_flags: sched.map(|s| vec![s.to_string()]).unwrap_or_default(),
        timeout: Some(Duration::from_secs(90)),
        ..RunOpts::default()
    }
}

/// Runs `busybox sh scripts/NAME` natively and under uml; asserts identical stdout and status
/// and the expected native status.
fn run_script(name: &str, sched: Option<&str>, want_status: i32) -> Outcome {
    let env = setup(&name.replace('.', "-"));
    let path = script(name);
    assert!(path.is_file(), "missing {}", path.display());
    let argv = [env.bb.as_os_str(), "sh".as_ref(), path.as_os_str()];
    let o = compare(&argv, &opts(&env, sched));
    assert_eq!(
        o.status,
        want_status,
        "{name}: unexpected native status\n{}",
        o.describe("native")
    );
    o
}

fn run_script_scheds(name: &str, want_status: i32) {
    for s in SCHEDS {
        run_script(name, Some(s), want_status);
    }
}

fn has(o: &Outcome, line: &str) {
    let out = o.stdout_str();
    assert!(
        out.lines().any(|l| l == line),
        "expected line {line:?} natively in:\n{out}"
    );
}

#[test]
fn pipelines_substitution_subshells_heredocs() {
    let o = run_script("pipelines.sh", None, 0);
    has(&o, "      3 banana");
    has(&o, "total score: 337");
    has(&o, "CODEREH DEPIP");
}

#[test]
fn pipelines_substitution_subshells_heredocs_scheds() {
    run_script_scheds("pipelines.sh", 0);
}

#[test]
fn redirections() {
    let o = run_script("redirections.sh", None, 0);
    has(&o, "fd4 lines: b a");
    has(&o, "cleanup: gone");
}

#[test]
fn redirections_scheds() {
    run_script_scheds("redirections.sh", 0);
}

#[test]
fn traps() {
    let o = run_script("traps.sh", None, 4);
    has(&o, "INT trap");
    has(&o, "child status: 3");
    has(&o, "untrapped TERM status: 143");
    has(&o, "EXIT trap (status 4)");
}

#[test]
fn traps_scheds() {
    run_script_scheds("traps.sh", 4);
}

#[test]
fn background_jobs_wait_kill() {
    let o = run_script("jobs.sh", None, 0);
    has(&o, "killed job status: 143");
    has(&o, "SIGKILLed job status: 137");
    has(&o, "jobs left: 0");
}

#[test]
fn background_jobs_wait_kill_scheds() {
    run_script_scheds("jobs.sh", 0);
}

#[test]
fn set_e_failures() {
    let o = run_script("set_e.sh", None, 0);
    has(&o, "status: 1");
    has(&o, "subshell failure: 3");
    has(&o, "plain exit: 42");
}

#[test]
fn set_e_failures_scheds() {
    run_script_scheds("set_e.sh", 0);
}

#[test]
fn find_sort_uniq_and_xargs() {
    let o = run_script("find_xargs.sh", None, 0);
    has(&o, "      3 txt");
    has(&o, "       11 total");
    has(&o, "xargs status with a failure: 123");
}

#[test]
fn find_sort_uniq_and_xargs_scheds() {
    run_script_scheds("find_xargs.sh", 0);
}

#[test]
fn functions_loops_and_exit_status() {
    let o = run_script("misc.sh", None, 3);
    has(&o, "fact 10 = 3628800");
    has(&o, "50 substitutions with a pipeline: 50, last=6e");
}

#[test]
fn functions_loops_and_exit_status_scheds() {
    run_script_scheds("misc.sh", 3);
}

/// The benchmark's loop, checked for output: 100 small pipelines.
#[test]
fn hundred_pipelines() {
    let env = setup("hundred");
    let cmd = "for i in $(seq 100); do echo $i | md5sum; done | md5sum; echo done";
    let argv = [
        env.bb.as_os_str(),
        "sh".as_ref(),
        "-c".as_ref(),
        cmd.as_ref(),
    ];
    let o = compare(&argv, &opts(&env, None));
    assert_eq!(o.status, 0, "{}", o.describe("native"));
    assert!(o.stdout_str().ends_with("done\n"));
}

#[test]
fn hundred_pipelines_scheds() {
    let env = setup("hundred-s");
    let cmd = "for i in $(seq 100); do echo $i | md5sum; done | md5sum; echo done";
    let argv = [
        env.bb.as_os_str(),
        "sh".as_ref(),
        "-c".as_ref(),
        cmd.as_ref(),
    ];
    for s in SCHEDS {
        let o = compare(&argv, &opts(&env, Some(s)));
        assert_eq!(o.status, 0, "{}", o.describe("native"));
    }
}

/// A script with a `#!` line naming busybox, executed directly (execve of a shebang script).
#[test]
fn shebang_script_executed_directly() {
    let env = setup("shebang");
    let s = env.scratch.join("hello.sh");
    fs::write(
        &s,
        format!(
            "#!{} sh\necho \"argv: $0 $*\" | sed \"s|$TMPD|TMPD|\"\necho \"$(echo nested | tr a-z A-Z)\"\nexit 6\n",
            env.bb.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&s, fs::Permissions::from_mode(0o755)).unwrap();
    let o = compare(
        &[s.as_os_str(), "a".as_ref(), "b".as_ref()],
        &opts(&env, None),
    );
    assert_eq!(o.status, 6, "{}", o.describe("native"));
    assert_eq!(o.stdout_str(), "argv: TMPD/hello.sh a b\nNESTED\n");
}
