//! Newer path calls from a C guest (`fs_paths.c`): `openat2` with its `struct open_how`
//! checks and `RESOLVE_*` flags, file handles (`name_to_handle_at`, `open_by_handle_at`),
//! `fchmodat2`, `ustat`, `readlinkat` of an empty path, `execveat`'s `dirfd` and
//! `AT_SYMLINK_NOFOLLOW`, and `close_range`'s `CLOSE_RANGE_UNSHARE`; run natively and
//! under uml with both trap mechanisms, stdout and exit status must be identical.
#![allow(clippy::unwrap_used)]

use integration_tests::{assert_no_bad_lines, compare, guests, run_uml, RunOpts, TempDir};

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

/// The link protections (`link_protect.c`): hard links to others' files and symlinks in
/// sticky world-writable directories, checked against the sysctls' values natively and
/// under uml; then under uml alone with `protected_symlinks` turned off.
#[test]
fn link_protections() {
    let tmp = TempDir::new("linkprot");
    let dir = tmp.path().to_str().unwrap();
    let o = compare(&[guests::LINK_PROTECT, dir], &RunOpts::default());
    assert_no_bad_lines("link_protect", &o);
    let out = o.stdout_str();
    assert!(out.ends_with("done\n"), "{}", o.describe("uml"));
    for line in out.lines().filter(|l| l.contains(" says: ")) {
        assert!(line.ends_with(": 1"), "{line}\n{}", o.describe("uml"));
    }
    let off = run_uml(&[guests::LINK_PROTECT, dir, "off"], &RunOpts::default());
    let text = off.stdout_str();
    for line in [
        "protected_symlinks=2: EINVAL",
        "protected_symlinks=0, root follows: OK",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no {line:?}:\n{}",
            off.describe("uml")
        );
    }
}
