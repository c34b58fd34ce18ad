//! `splice`/`tee` through pipes and pidfds (`pidfd_open`, `pidfd_send_signal`, `poll`,
//! `waitid(P_PIDFD)`, `PIDFD_GET_INFO`), run natively and under uml with both trap mechanisms; stdout and
//! exit status must be identical.
#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts, TempDir};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

fn opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.into()],
        ..RunOpts::default()
    }
}

#[test]
fn splice_and_tee() {
    for trap in TRAPS {
        let tmp = TempDir::new("splice");
        let scratch = tmp.join("scratch");
        let o = compare(
            &[OsStr::new(guests::SPLICE), scratch.as_os_str()],
            &opts(trap),
        );
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        let out = o.stdout_str();
        for want in [
            "pipe holds: \"splice\"\n",
            "to stdout: [hello ] 6\nvia pipe\npipe to stdout: 9\n",
            "out: \"XY.hello\"\n",
            "q after tee: \"efxyz\"\np after tee: \"efxyz\"\n",
            "blocking pipe->pipe: 4\nq: \"late\"\n",
            "no reader: EPIPE\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in:\n{out}");
        }
    }
}

#[test]
fn pidfd() {
    for trap in TRAPS {
        let o = compare(&[guests::PIDFD], &opts(trap));
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        let out = o.stdout_str();
        for want in [
            "running poll: 0\n",
            "exited poll: 0x1\n",
            "pid ok 1 code 1 status 7\n",
            "nonblocking waitid: EAGAIN\n",
            "killed code 2 status 15\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in:\n{out}");
        }
    }
}

#[test]
fn pidfd_get_info() {
    for trap in TRAPS {
        let o = compare(&[guests::PIDFD_INFO], &opts(trap));
        assert_no_bad_lines("pidfd_info", &o);
        assert!(o.stdout_str().ends_with("done\n"), "{}", o.describe(trap));
        assert_eq!(o.status, 0, "{}", o.describe(trap));
    }
}
