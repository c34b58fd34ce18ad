//! Details of the memory calls from a C guest (`mm_details.c`): `remap_file_pages`,
//! `mseal`, memory locks (`VmLck`, populated pages; shared anonymous memory populated where
//! touched only), guard pages (`MADV_GUARD_INSTALL`),
//! `MAP_GROWSDOWN` growth and its guard gap, and the errnos of `madvise`, `msync` and
//! `mmap`; run natively and under uml with both trap mechanisms, stdout and exit status
//! must be identical. Also `getrusage`'s peak resident sets (`rusage_maxrss.c`).
#![allow(clippy::unwrap_used)]

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts};

#[test]
fn memory_call_details() {
    for trap in ["--trap=ptrace", "--trap=seccomp"] {
        let opts = RunOpts {
            uml_flags: vec![trap.into()],
            ..RunOpts::default()
        };
        let o = compare(&[guests::MM_DETAILS], &opts);
        assert_no_bad_lines("mm_details", &o);
        let out = o.stdout_str();
        for want in [
            "  pages read g b e f\n",
            "remap attach of a removed segment=EINVAL\n",
            "munmap sealed=EPERM\n",
            "madvise dontneed sealed read-only=EPERM\n",
            "  VmLck +12 kB, resident 3\n",
            "MAP_LOCKED: VmLck +12 kB, resident 3\n",
            "  VmLck +32 kB, resident 3\n  touched one more: resident 4\n",
            "msync invalidate locked=EBUSY\n",
            "shared_validate unknown flag=EOPNOTSUPP\n",
            "  read guard: SIGSEGV, write guard: SIGSEGV, neighbour: fine\n",
            "  touch 300 pages below: fine\n",
            "  touch 300 pages below with a mapping 210 pages under: SIGSEGV\n",
        ] {
            assert!(out.contains(want), "missing {want:?}: {}", o.describe(trap));
        }
        assert!(out.ends_with("done\n"), "{}", o.describe(trap));
        assert_eq!(o.status, 0);
    }
}

/// `getrusage`'s `ru_maxrss` (`rusage_maxrss.c`): the caller's peak resident set and the
/// largest of its waited-for children's, compared by range with the native run.
#[test]
fn peak_resident_sets_of_self_and_children() {
    let o = compare(&[guests::RUSAGE_MAXRSS], &RunOpts::default());
    assert_no_bad_lines("rusage_maxrss", &o);
    let out = o.stdout_str();
    for want in [
        "after a 64 MiB child: 1\n",
        "after a 96 MiB grandchild: 1\n",
        "new child's children maxrss: 0\n",
        "an auto-reaped child does not count: 1\n",
        "own peak grew by 32 MiB: 1\n",
    ] {
        assert!(
            out.contains(want),
            "missing {want:?}: {}",
            o.describe("uml")
        );
    }
    assert!(out.ends_with("done\n"), "{}", o.describe("uml"));
}
