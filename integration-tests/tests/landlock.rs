//! Landlock: a C guest makes rulesets (with the calls' errnos), restricts a child to one
//! directory of a scratch tree (reads, writes, creation, removal, listing, reparenting; the
//! grandchild inherits the domain, the parent stays free), denies a TCP bind and scopes
//! signals, natively (this host's kernel has Landlock, ABI 7) and under uml; stdout and
//! exit status must be identical.
#![allow(clippy::unwrap_used)]

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts, TempDir};

#[test]
fn landlock_as_linux() {
    let dir = TempDir::new("landlock");
    let o = compare(
        &[guests::LANDLOCK, dir.path().to_str().unwrap()],
        &RunOpts::default(),
    );
    assert_no_bad_lines("landlock", &o);
    assert_eq!(o.status, 0, "{}", o.stdout_str());
    let out = o.stdout_str();
    for want in [
        "add-o_path-fd=EBADF\n",
        "add-not-ruleset=EBADFD\n",
        "child open a/f rw=OK\n",
        "child open b/f r=EACCES\n",
        "child opendir b=EACCES\n",
        "creat b/new=EACCES\n",
        "rename a->b=EACCES\n",
        "grandchild open b/f r=EACCES\n",
        "parent open b/f r=OK\n",
        "bind-denied=EACCES\n",
        "kill-parent=EPERM\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}
