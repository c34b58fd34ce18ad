//! Futexes as Linux has them (issue 10, item 2): shared futexes keyed by the object behind
//! the page (shared anonymous memory over fork, shared file mappings, memfd, `/dev/shm`
//! semaphores), bitsets, `FUTEX_WAKE_OP`, `FUTEX_CMP_REQUEUE`, `futex_waitv`, PI futexes,
//! robust mutexes whose owner dies, and bad input. Each guest runs natively and under uml
//! (`scripts/test.sh` runs this file with either trap mechanism and with the services on
//! threads); stdout and exit status must be identical.
#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;
use std::time::Duration;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts, TempDir};

const PYTHON: &str = "/usr/bin/python3";

fn opts() -> RunOpts {
    RunOpts {
        timeout: Some(Duration::from_secs(120)),
        ..RunOpts::default()
    }
}

fn compare_guest(guest: &str, args: &[&OsStr]) {
    let mut argv = vec![OsStr::new(guest)];
    argv.extend_from_slice(args);
    let o = compare(&argv, &opts());
    assert_no_bad_lines(guest, &o);
    assert_eq!(o.status, 0, "{guest}\n{}", o.describe("native"));
}

/// Bitset selectivity, `FUTEX_WAKE_OP`, `FUTEX_CMP_REQUEUE` (`EAGAIN`, counts),
/// `futex_waitv`, private and shared keys of one word, and the errnos of bad input.
#[test]
fn futex_operations_match_native() {
    compare_guest(guests::FUTEX_OPS, &[]);
}

/// A process-shared mutex and condvar, named and unnamed POSIX semaphores, futexes in shared
/// file and memfd mappings, private memory after fork, and waiters whose page is copied or
/// unmapped.
#[test]
fn shared_futexes_between_processes_match_native() {
    let tmp = TempDir::new("futex");
    let scratch = tmp.join("scratch");
    compare_guest(guests::FUTEX_SHARED, &[scratch.as_os_str()]);
}

/// The PI word protocol and its errnos, PI mutexes between threads and processes, robust
/// (and robust PI) mutexes whose owner thread or process dies.
#[test]
fn pi_and_robust_futexes_match_native() {
    compare_guest(guests::FUTEX_PI, &[]);
}

/// Python's `multiprocessing` locks, values, semaphores and conditions between processes
/// (POSIX semaphores in `/dev/shm`, a shared arena).
const PY_MULTIPROCESSING: &str = r#"
import multiprocessing as mp, sys

def work(lock, v, n):
    for _ in range(n):
        with lock:
            v.value += 1

def inc(c):
    for _ in range(300):
        with c.get_lock():
            c.value += 1

def release(s):
    for _ in range(5):
        s.release()

def waiter(cond, ready, shared):
    with cond:
        ready.set()
        cond.wait_for(lambda: shared.value == 1, timeout=20)
        shared.value = 2

if __name__ == "__main__":
    mp.set_start_method("fork")
    lock = mp.Lock()
    v = mp.Value("i", 0, lock=False)
    ps = [mp.Process(target=work, args=(lock, v, 500)) for _ in range(3)]
    for p in ps: p.start()
    for p in ps: p.join()
    print("lock counter:", v.value, [p.exitcode for p in ps])
    c = mp.Value("l", 0)
    ps = [mp.Process(target=inc, args=(c,)) for _ in range(2)]
    for p in ps: p.start()
    for p in ps: p.join()
    print("value counter:", c.value)
    sem = mp.Semaphore(0)
    p = mp.Process(target=release, args=(sem,))
    p.start(); p.join()
    print("semaphore acquired:", sum(sem.acquire(timeout=5) for _ in range(5)), sem.acquire(timeout=0.05))
    cond, ready, shared = mp.Condition(), mp.Event(), mp.Value("i", 0)
    p = mp.Process(target=waiter, args=(cond, ready, shared))
    p.start()
    ready.wait(10)
    with cond:
        shared.value = 1
        cond.notify_all()
    p.join()
    print("condition:", shared.value, p.exitcode)
    sys.exit(3)
"#;

#[test]
fn python_multiprocessing_lock_and_value_match_native() {
    assert!(
        std::path::Path::new(PYTHON).exists(),
        "{PYTHON} is missing on this host"
    );
    let o = compare(&[PYTHON, "-c", PY_MULTIPROCESSING], &opts());
    assert_eq!(o.status, 3, "{}", o.describe("native"));
    let out = o.stdout_str();
    assert!(out.contains("lock counter: 1500 [0, 0, 0]"), "{out}");
    assert!(out.contains("value counter: 600"), "{out}");
    assert!(out.contains("semaphore acquired: 5 False"), "{out}");
    assert!(out.contains("condition: 2 0"), "{out}");
}
