//! Advisory file locks: `fcntl` POSIX and OFD record locks and `flock(2)`, from C guests,
//! `flock(1)` and python's `fcntl.lockf`, run natively and under uml with both trap
//! mechanisms; stdout and exit status must be identical.
#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;
use std::path::Path;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts, TempDir};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

fn opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.into()],
        ..RunOpts::default()
    }
}

/// Runs guest `g` with a scratch file path under both trap mechanisms.
fn guest(g: &str, tag: &str) -> String {
    let mut out = String::new();
    for trap in TRAPS {
        let tmp = TempDir::new(tag);
        let scratch = tmp.join("lockfile");
        let o = compare(&[OsStr::new(g), scratch.as_os_str()], &opts(trap));
        assert_no_bad_lines(tag, &o);
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        out = o.stdout_str();
    }
    out
}

#[test]
fn posix_record_locks() {
    let out = guest(guests::LOCKS_POSIX, "locks-posix");
    for want in [
        "conflict: W start=0 len=10 whence=0 holder=parent\n",
        "setlk overlap: EAGAIN\n",
        "hole: R start=45 len=5",
        "merged: W start=200 len=20",
        "negative len: W start=290 len=10",
        "from eof: W start=1000 len=5",
        "to end: R start=4000 len=0",
        "after close: free\n",
        "first of two: R start=1 len=5 whence=0 holder=parent\n",
        "from 6: W start=10 len=5 whence=0 holder=parent\n",
        "past both: free\n",
        "parent unlocks\nchild setlkw: OK\n",
        "parent setlkw [1,2): EDEADLK\nchild gets [0,1): OK\n",
        "child interrupted: EINTR\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn ofd_locks_and_flock() {
    let out = guest(guests::LOCKS_OFD, "locks-ofd");
    for want in [
        "ofd b: EAGAIN\n",
        "ofd getlk: W start=0 len=10 pid=-1\n",
        "parent closes a\nchild ofd setlkw: OK\n",
        "flock b EX|NB: EAGAIN\n",
        "parent unlocks flock\nchild flock own file: OK\n",
        "after close: OK\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn flock_command() {
    let flock = "/usr/bin/flock";
    assert!(
        Path::new(flock).exists(),
        "{flock} is needed (util-linux; scripts/test.sh installs it)"
    );
    let script = "f=$1/lock; : > $f
flock -x $f -c \"flock -n $f true && echo bad || echo busy\"
flock -s $f -c \"flock -s -n $f true && echo shared || echo bad\"
flock -s $f -c \"flock -x -n $f true && echo bad || echo excluded\"
flock -n $f true && echo free";
    for trap in TRAPS {
        let tmp = TempDir::new("flock1");
        let o = compare(
            &[
                OsStr::new("/bin/sh"),
                "-c".as_ref(),
                script.as_ref(),
                "sh".as_ref(),
                tmp.path().as_os_str(),
            ],
            &opts(trap),
        );
        assert_eq!(o.stdout_str(), "busy\nshared\nexcluded\nfree\n");
    }
}

#[test]
fn python_lockf() {
    let python = "/usr/bin/python3";
    assert!(Path::new(python).exists(), "{python} is needed");
    let script = r#"
import fcntl, os, sys
path = sys.argv[1]
f = open(path, "w")
fcntl.lockf(f, fcntl.LOCK_EX, 10, 0)
pid = os.fork()
if pid == 0:
    g = open(path, "w")
    try:
        fcntl.lockf(g, fcntl.LOCK_EX | fcntl.LOCK_NB, 5, 5)
        print("child locked", flush=True)
    except OSError as e:
        print("child blocked:", e.errno in (11, 13), flush=True)
    fcntl.lockf(g, fcntl.LOCK_EX | fcntl.LOCK_NB, 5, 10)
    print("child beside: ok", flush=True)
    os._exit(0)
os.waitpid(pid, 0)
fcntl.lockf(f, fcntl.LOCK_UN, 10, 0)
pid = os.fork()
if pid == 0:
    g = open(path, "w")
    fcntl.lockf(g, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("child after unlock: ok", flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"#;
    for trap in TRAPS {
        let tmp = TempDir::new("lockf");
        let file = tmp.join("f");
        let o = compare(
            &[
                OsStr::new(python),
                "-c".as_ref(),
                script.as_ref(),
                file.as_os_str(),
            ],
            &opts(trap),
        );
        assert_eq!(
            o.stdout_str(),
            "child blocked: True\nchild beside: ok\nchild after unlock: ok\n"
        );
    }
}

/// File leases: who may take which, and another process's conflicting open breaking one
/// (the holder is told with SIGIO, the opener waits for it to give the lease up).
#[test]
fn leases() {
    let o = compare(&[guests::LEASE], &RunOpts::default());
    assert_no_bad_lines("lease", &o);
    assert!(
        o.stdout_str().ends_with("done\n"),
        "{}",
        o.describe("lease")
    );
    assert_eq!(o.status, 0);
}
