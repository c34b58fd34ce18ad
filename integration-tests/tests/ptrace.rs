//! `ptrace(2)` between guest processes: a C tracer (TRACEME and the exec stop, syscall
//! stops, PEEK/POKE, GETREGS/SETREGS, signal injection and suppression, detach, attach to
//! a running process, fork events) and `strace -f`, natively and under uml with both trap
//! mechanisms (uml's own use of the host's ptrace or seccomp is a different layer).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

fn opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.into()],
        timeout: Some(Duration::from_secs(60)),
        ..RunOpts::default()
    }
}

#[test]
fn tracer_and_tracees() {
    for trap in TRAPS {
        let o = compare(&[guests::PTRACE_TRACER], &opts(trap));
        assert_no_bad_lines(trap, &o);
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        let out = o.stdout_str();
        for want in [
            "exec stop: stopped sig=5 event=0\n",
            "tracee state: t (tracing stop)\n",
            "peekdata target: 1122334455667788 (OK)\n",
            "entry getppid\nexit getppid\nentry getpid\nexit getpid\nentry getuid\n",
            "syscall stops: 4 entries, 4 exits, rewritten 1\n",
            "tracee: getpid gave 12345",
            "tracee: target=abcd\n",
            "siginfo: signo=10 code=SI_TKILL\n",
            "tracee: after first raise got 12\n",
            "tracee: after second raise got 0\n",
            "tracee: detached, got 10, TracerPid 0\n",
            "tracee: exited 7\n",
            "attached: stopped sig=19 event=0\nsetoptions sysgood=ok\ndetach=ok\nattached: killed by 15\n",
            "attach=ok\ngetfpregs=ok\nmxcsr mask nonzero: 1\npokeuser dr7=ok\ndetach=ok\njob-stopped: exited 5\n",
            "child: stopped sig=5 event=1\ngeteventmsg=ok\ngrandchild: stopped sig=19",
            "grandchild (tracer's wait): exited 3\n",
            "child: exited 13\n",
        ] {
            assert!(out.contains(want), "{trap}: missing {want:?} in:\n{out}");
        }
    }
}

/// Debian's `strace -f` (when installed) follows a shell and its children under uml as
/// natively: PTRACE_SEIZE with options, the startup's group stop and PTRACE_LISTEN,
/// syscall stops, fork events, PTRACE_EVENT_EXIT. Only the traced calls of the static
/// guest (whose syscalls are the same everywhere) are compared.
#[test]
fn strace_follows_children() {
    if !std::path::Path::new("/usr/bin/strace").exists() {
        eprintln!("skipped: /usr/bin/strace is not installed");
        return;
    }
    let h = guests::HELLO;
    let cmd = format!(
        "strace -f -qq -e trace=write,exit_group -e signal=none sh -c '{h}; {h}' 2>&1 >/dev/null \
         | sed 's/^\\[pid *[0-9]*\\] //'"
    );
    for trap in TRAPS {
        let o = compare(&["sh", "-c", &cmd], &opts(trap));
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        let out = o.stdout_str();
        let writes = out
            .lines()
            .filter(|l| l.starts_with("write(1, \"hello, world\\n\", 13)") && l.ends_with("= 13"))
            .count();
        assert_eq!(writes, 2, "{trap}:\n{out}");
        let exits = out
            .lines()
            .filter(|l| l.starts_with("exit_group(0)"))
            .count();
        assert_eq!(exits, 3, "{trap}:\n{out}");
    }
}

/// `strace -f` follows the threads of a process (`PTRACE_EVENT_CLONE`, each thread's
/// exit reported to the tracer): the same attach and exit lines as natively, pids aside.
#[test]
fn strace_follows_threads() {
    if !std::path::Path::new("/usr/bin/strace").exists() {
        eprintln!("skipped: /usr/bin/strace is not installed");
        return;
    }
    let cmd = format!(
        "strace -f -e trace=none {} 2>&1 | sed -E 's/[0-9]+/N/g; s/ +/ /g' | sort | uniq -c",
        guests::PTRACE_THREADS
    );
    for trap in TRAPS {
        let o = compare(&["sh", "-c", &cmd], &opts(trap));
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        let out = o.stdout_str();
        assert!(
            out.contains(" 3 strace: Process N attached\n"),
            "{trap}:\n{out}"
        );
        assert!(
            out.contains(" 3 [pid N] +++ exited with N +++\n"),
            "{trap}:\n{out}"
        );
    }
}
