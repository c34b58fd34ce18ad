//! File system notification: a C guest exercising inotify (events of every file operation,
//! on the host tree under uml's overlay, on a tmpfs and through a bind mount; the calls'
//! errnos and flags; coalescing, overflow, short reads, readiness and blocking reads) runs
//! natively (as root: it mounts, and undoes its mounts) and under uml with both trap
//! mechanisms; stdout and exit status must be identical.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts, TempDir};

#[test]
fn inotify_as_linux() {
    for trap in ["--trap=ptrace", "--trap=seccomp"] {
        let dir = TempDir::new("inotify");
        let o = compare(
            &[guests::NOTIFY_INOTIFY],
            &RunOpts {
                cwd: Some(dir.path().to_path_buf()),
                uml_flags: vec![trap.into()],
                timeout: Some(Duration::from_secs(120)),
                ..RunOpts::default()
            },
        );
        assert_no_bad_lines("inotify", &o);
        assert!(o.stdout_str().ends_with("done\n"), "{}", o.describe(trap));
        assert_eq!(o.status, 0, "{}", o.describe(trap));
    }
}
