//! userfaultfd: a thread reads another thread's page faults from the descriptor and
//! resolves them (`UFFDIO_COPY`, `ZEROPAGE`, `MOVE`) while the faulting thread waits
//! outside any syscall; a signal to the waiting thread runs its handler and the access is
//! retried; write protection (a store waits until the handler lifts it); a process whose
//! thread waits on a fault exits, is killed, closes the context or execs;
//! `UFFD_FEATURE_SIGBUS`, `UFFDIO_POISON`, unregistering, closing,
//! `/dev/userfaultfd`, and the errnos of bad requests. A C guest run natively and under
//! uml with both trap mechanisms: stdout and exit status must be identical. Under ptrace
//! uml does not learn whether a fault was a write, so there the guest leaves
//! `UFFD_PAGEFAULT_FLAG_WRITE` out of what it prints.
#![allow(clippy::unwrap_used)]

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts};

#[test]
fn userfaultfd_as_linux() {
    let ptrace = RunOpts {
        uml_flags: vec!["--trap=ptrace".into()],
        env: vec![("UFFD_NO_WRITE_FLAG".into(), "1".into())],
        ..RunOpts::default()
    };
    let o = compare(&[guests::UFFD], &ptrace);
    assert_no_bad_lines("uffd", &o);
    assert_eq!(o.status, 0, "{}", o.stdout_str());
    let seccomp = RunOpts {
        uml_flags: vec!["--trap=seccomp".into()],
        ..RunOpts::default()
    };
    let o = compare(&[guests::UFFD], &seccomp);
    assert_no_bad_lines("uffd", &o);
    assert_eq!(o.status, 0, "{}", o.stdout_str());
    let out = o.stdout_str();
    for want in [
        "fault 1: event=0x12 flags=0 page=0\n",
        "copy.copy=4096\n",
        "fault 3: event=0x12 flags=0x1 page=2\n",
        "move.move=4096\n",
        "read X 0 MW S, signals=1\n",
        "copy over a page=EEXIST\n",
        "range ioctls=0x13c\n",
        "poisoned: code=2\n",
        "wp fault: flags=0x3 page=1\n",
        "store waited: 1, now W\n",
        "parked thread, case 1: exited=0 code=0 signaled=1 sig=9\n",
        "parked thread, case 3: exited=1 code=5 signaled=0 sig=0\n",
        "unregistered page reads 0\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}
