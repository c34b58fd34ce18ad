//! Terminals: the guest's own pseudo-terminals (`/dev/ptmx`, devpts, the line discipline,
//! controlling terminals, job-control signals, window sizes, hangup) and the host console
//! (an interactive `bash` driven through a host pty). Every check runs natively and under
//! uml with each trap mechanism; stdout and exit status must be identical.
//!
//! The drivers are `integration-tests/scripts/term_*.py`; they print one verdict per check
//! and never a pts number or pid.
#![allow(clippy::unwrap_used)]

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration_tests::{
    assert_no_bad_lines, assert_same, compare, guests, run_command, script, uml_bin, Outcome,
    RunOpts,
};

const BASH: &str = "/bin/bash";
const PYTHON: &str = "/usr/bin/python3";

/// The trap mechanisms every comparison runs with.
const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

fn require(path: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing on this host (the terminal tests run the host's own programs)"
    );
}

fn opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.to_string()],
        timeout: Some(Duration::from_secs(120)),
        ..RunOpts::default()
    }
}

/// Asserts the native run printed `done` last and exited 0.
fn finished(what: &str, o: &Outcome) {
    assert_no_bad_lines(what, o);
    assert!(
        o.stdout_str().ends_with("done\n"),
        "{what}: no final `done` natively\n{}",
        o.describe("native")
    );
    assert_eq!(o.status, 0, "{what}: {}", o.describe("native"));
}

/// Allocation, line discipline, raw mode, poll, controlling terminals, typed signals, window
/// size and hangup, from a C guest.
#[test]
fn pty_c_guest() {
    for trap in TRAPS {
        let o = compare(&[guests::TTY_PTY], &opts(trap));
        finished(&format!("tty_pty {trap}"), &o);
    }
}

/// python3's `pty.openpty`, `os.forkpty`, `pty.spawn`, `tty` on a pty, ^C and SIGWINCH.
#[test]
fn pty_python_guest() {
    require(PYTHON);
    let s = script("term_guest_pty.py");
    for trap in TRAPS {
        let o = compare(&[Path::new(PYTHON), &s], &opts(trap));
        finished(&format!("term_guest_pty.py {trap}"), &o);
    }
}

/// util-linux `script` (a pty, `signalfd` and `poll`) runs a command on a pty of its own.
#[test]
fn script_runs_a_command_on_a_pty() {
    let script_bin = "/usr/bin/script";
    if !Path::new(script_bin).exists() {
        eprintln!("skipped: {script_bin} is not installed");
        return;
    }
    for trap in TRAPS {
        let argv = [
            script_bin,
            "-qc",
            "echo hi; tty | sed 's/[0-9]*$/N/'",
            "/dev/null",
        ];
        let o = compare(&argv, &opts(trap));
        assert_eq!(
            o.stdout_str(),
            "hi\r\n/dev/pts/N\r\n",
            "{}",
            o.describe("native")
        );
    }
}

/// `signalfd`, which `script` waits on: records, readiness, blocking, mask updates, errors.
#[test]
fn signalfd_guest() {
    for trap in TRAPS {
        let o = compare(&[guests::SIG_FD], &opts(trap));
        finished(&format!("sig_fd {trap}"), &o);
    }
}

/// The interactive session the console driver runs: every check passes and the shell
/// exits 0.
fn session_ok(what: &str, o: &Outcome) {
    assert_eq!(o.status, 0, "{}", o.describe(what));
    let out = o.stdout_str();
    assert!(
        !out.contains("FAILED") && out.ends_with("exit status 0\n"),
        "{}",
        o.describe(what)
    );
}

/// Runs `term_console.py` with `argv` as the program it drives.
fn drive(argv: Vec<OsString>) -> Outcome {
    let mut cmd = Command::new(PYTHON);
    cmd.arg(script("term_console.py")).args(argv);
    run_command(cmd, Duration::from_secs(120))
}

/// `uml run -- bash` on a host terminal is an interactive shell with job control: prompt,
/// output, the host's window size and its changes (SIGWINCH), `tty`, Ctrl-C and Ctrl-Z of
/// a foreground `sleep 100`, `exit` with status 0. The same driver runs native bash.
#[test]
fn interactive_bash_on_the_console() {
    require(BASH);
    require(PYTHON);
    let bash = ["/bin/bash", "--norc", "--noprofile"];
    let native = drive(bash.iter().map(Into::into).collect());
    session_ok("native", &native);
    for trap in TRAPS {
        let mut argv: Vec<OsString> = vec![uml_bin().into(), "run".into(), trap.into()];
        argv.push("--".into());
        argv.extend(bash.iter().map(Into::into));
        let uml = drive(argv);
        assert_same(&format!("bash on the console {trap}"), &native, &uml);
        session_ok(trap, &uml);
    }
}

/// `/dev/console` is the host terminal uml runs on (uml only: natively it is the machine's
/// console).
#[test]
fn dev_console_is_the_host_terminal() {
    require(PYTHON);
    for trap in TRAPS {
        let mut cmd = Command::new(PYTHON);
        cmd.args(["-c", "import pty, sys; pty.spawn(sys.argv[1:])"]);
        cmd.arg(uml_bin())
            .args(["run", trap, "--", "/bin/sh", "-c"]);
        cmd.arg("echo to-console > /dev/console; tty < /dev/console");
        let o = run_command(cmd, Duration::from_secs(60));
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        assert_eq!(
            o.stdout_str(),
            "to-console\r\n/dev/console\r\n",
            "{}",
            o.describe(trap)
        );
    }
}

/// The same interactive session entirely inside the guest: the driver runs under uml and
/// drives bash through a guest pty.
#[test]
fn interactive_bash_on_a_guest_pty() {
    require(BASH);
    require(PYTHON);
    let driver = script("term_console.py");
    let argv: [&std::ffi::OsStr; 5] = [
        PYTHON.as_ref(),
        driver.as_os_str(),
        BASH.as_ref(),
        "--norc".as_ref(),
        "--noprofile".as_ref(),
    ];
    for trap in TRAPS {
        let o = compare(&argv, &opts(trap));
        session_ok(&format!("guest pty {trap}"), &o);
    }
}
