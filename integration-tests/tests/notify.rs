//! File system notification: C guests exercising inotify (events of every file operation,
//! on the host tree under uml's overlay, on a tmpfs and through a bind mount; the calls'
//! errnos and flags; coalescing, overflow, short reads, readiness and blocking reads) and
//! fanotify (inode, directory, mount and filesystem marks, ignore masks, merging, event
//! files; groups reporting file identifiers, names and directory entry events) and dnotify (`F_NOTIFY` signals for each event, one-shot and multishot requests,
//! their removal) run natively (as root: they mount, and undo their mounts) and under uml with
//! both trap mechanisms; stdout and exit status must be identical.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts, TempDir};

/// Runs guest `g` in a fresh scratch directory with each trap mechanism.
fn run_in_temp(g: &str, tag: &str) {
    for trap in ["--trap=ptrace", "--trap=seccomp"] {
        let dir = TempDir::new(tag);
        let o = compare(
            &[g],
            &RunOpts {
                cwd: Some(dir.path().to_path_buf()),
                uml_flags: vec![trap.into()],
                timeout: Some(Duration::from_secs(120)),
                ..RunOpts::default()
            },
        );
        assert_no_bad_lines(tag, &o);
        assert!(o.stdout_str().ends_with("done\n"), "{}", o.describe(trap));
        assert_eq!(o.status, 0, "{}", o.describe(trap));
    }
}

#[test]
fn inotify_as_linux() {
    run_in_temp(guests::NOTIFY_INOTIFY, "inotify");
}

#[test]
fn fanotify_as_linux() {
    run_in_temp(guests::NOTIFY_FANOTIFY, "fanotify");
}

#[test]
fn fanotify_fid_as_linux() {
    run_in_temp(guests::NOTIFY_FANOTIFY_FID, "fanotify-fid");
}

#[test]
fn dnotify_as_linux() {
    run_in_temp(guests::NOTIFY_DNOTIFY, "dnotify");
}
