//! `O_TMPFILE`: an unnamed file in a directory (no link, no entry, `#INO (deleted)` in
//! `/proc/self/fd`), named by `linkat` through `/proc/self/fd/N` or `AT_EMPTY_PATH` (root
//! only), unlinkable with `O_EXCL`, surviving its directory's removal, and the flag's
//! errnos. A C guest run in a fresh directory natively and under uml: stdout and exit
//! status must be identical.
#![allow(clippy::unwrap_used)]

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts, TempDir};

#[test]
fn tmpfile_as_linux() {
    let dir = TempDir::new("tmpfile");
    let o = compare(
        &[guests::TMPFILE],
        &RunOpts {
            cwd: Some(dir.path().to_path_buf()),
            ..RunOpts::default()
        },
    );
    assert_no_bad_lines("tmpfile", &o);
    assert_eq!(o.status, 0, "{}", o.stdout_str());
    let out = o.stdout_str();
    for want in [
        "tmpfile nlink=0 mode=100644 size=5 entries=0\n",
        "fd link: hash=1 deleted=1\n",
        "link-proc=ok\n",
        "linked nlink=1 entries=1\n",
        "link-excl=ENOENT\n",
        "link-unlinked=ENOENT\n",
        "empty-path-unprivileged=ENOENT\n",
        "empty-path-root=ok\n",
        "mode-07777=107755\n",
        "ok write-after-rmdir\n",
        "procfs=EOPNOTSUPP\n",
        "entries=3\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}
