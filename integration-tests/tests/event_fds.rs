//! The event-fd family (eventfd, epoll, timerfd): each guest runs natively and under uml
//! with both trap backends; stdout and exit status must match.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

/// Runs `argv` natively and under uml with each trap backend; asserts equal output, no `bad`
/// lines, a final `done` line and exit status 0.
fn run_guest(argv: &[&str]) {
    for trap in TRAPS {
        let opts = RunOpts {
            uml_flags: vec![trap.into()],
            timeout: Some(Duration::from_secs(60)),
            ..RunOpts::default()
        };
        let o = compare(argv, &opts);
        let what = format!("{} {trap}", argv[0]);
        assert_no_bad_lines(&what, &o);
        assert!(
            o.stdout_str().ends_with("done\n"),
            "{what}: {}",
            o.describe("native")
        );
        assert_eq!(o.status, 0, "{what}");
    }
}

#[test]
fn eventfd() {
    run_guest(&[guests::EVT_EVENTFD]);
}

#[test]
fn epoll() {
    run_guest(&[guests::EVT_EPOLL]);
}

#[test]
fn timerfd() {
    run_guest(&[guests::EVT_TIMERFD]);
}
