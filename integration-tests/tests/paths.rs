//! Newer path calls from a C guest (`fs_paths.c`): `openat2` with its `struct open_how`
//! checks and `RESOLVE_*` flags, file handles (`name_to_handle_at`, `open_by_handle_at`),
//! `fchmodat2`, `ustat`, `readlinkat` of an empty path, `execveat`'s `dirfd` and
//! `AT_SYMLINK_NOFOLLOW`, and `close_range`'s `CLOSE_RANGE_UNSHARE`; run natively and
//! under uml with both trap mechanisms, stdout and exit status must be identical.
#![allow(clippy::unwrap_used)]

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts};

#[test]
fn newer_path_calls() {
    for trap in ["--trap=ptrace", "--trap=seccomp"] {
        let opts = RunOpts {
            uml_flags: vec![trap.into()],
            ..RunOpts::default()
        };
        let o = compare(&[guests::FS_PATHS], &opts);
        assert_no_bad_lines("fs_paths", &o);
        let out = o.stdout_str();
        for want in [
            "beneath dotdot=EXDEV\n",
            "no-xdev=EXDEV\n",
            "no-magiclinks=ELOOP\n",
        ] {
            assert!(out.contains(want), "missing {want:?}: {}", o.describe(trap));
        }
        assert!(out.ends_with("done\n"), "{}", o.describe(trap));
        assert_eq!(o.status, 0);
    }
}
