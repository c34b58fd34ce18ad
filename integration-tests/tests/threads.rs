//! Guest threads: pthreads programs (`guests/threads.c`, one scenario per argument), python3
//! `threading` and a parallel `sort`, each compared with the same run natively (stdout and
//! exit status), with each trap mechanism that runs threads.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{assert_no_bad_lines, compare, guests, which, Outcome, RunOpts, TempDir};

/// The trap mechanisms threads are tested with.
const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

fn opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.into()],
        timeout: Some(Duration::from_secs(60)),
        ..RunOpts::default()
    }
}

/// Runs `threads MODE` natively and under uml with every trap mechanism; asserts equal
/// output, no `bad` lines, a final `done` and exit status `status`.
fn scenario(mode: &str, status: i32) {
    for trap in TRAPS {
        let o = compare(&[guests::THREADS, mode], &opts(trap));
        let what = format!("threads {mode} {trap}");
        assert_no_bad_lines(&what, &o);
        check_done(&what, &o, status);
    }
}

fn check_done(what: &str, o: &Outcome, status: i32) {
    assert!(
        o.stdout_str().ends_with("done\n"),
        "{what}: no final `done`\n{}",
        o.describe("native")
    );
    assert_eq!(o.status, status, "{what}: {}", o.describe("native"));
}

#[test]
fn create_and_join_many() {
    scenario("create", 0);
}

#[test]
fn mutex_condvar_producer_consumer() {
    scenario("pc", 0);
}

/// Each thread keeps its own SSE registers and MXCSR while the others run.
#[test]
fn fp_state_is_per_thread() {
    scenario("fp", 0);
}

#[test]
fn main_thread_exits_first() {
    scenario("exitmain", 0);
}

/// The leader and then the last thread leave with raw `exit`: the process ends with the
/// last one, with its status.
#[test]
fn raw_exit_of_every_thread() {
    scenario("rawexit", 9);
}

#[test]
fn exit_group_from_a_thread() {
    scenario("exitgroup", 7);
}

#[test]
fn fork_from_a_thread() {
    scenario("fork", 0);
}

#[test]
fn execve_from_a_thread() {
    scenario("exec", 0);
}

#[test]
fn robust_mutex_owner_death() {
    scenario("robust", 0);
}

#[test]
fn spinning_thread_is_preempted() {
    scenario("spin", 0);
}

#[test]
fn clone_flag_checks_and_clone_vm_process() {
    scenario("clone", 0);
}

#[test]
fn thread_directed_and_process_directed_signals() {
    scenario("signals", 0);
}

/// python3's `threading`: four workers drain a `queue.Queue` under a lock.
#[test]
fn python_threading_queue() {
    let Some(python) = which("python3") else {
        eprintln!("skipping: no python3 on this host");
        return;
    };
    let script = r#"
import threading, queue
q = queue.Queue()
out = []
lock = threading.Lock()
def worker():
    while True:
        item = q.get()
        if item is None:
            q.task_done()
            break
        with lock:
            out.append(item * item)
        q.task_done()
ts = [threading.Thread(target=worker) for _ in range(4)]
for t in ts: t.start()
for i in range(2000): q.put(i)
for t in ts: q.put(None)
q.join()
for t in ts: t.join()
print(len(out), sum(out), threading.active_count())
"#;
    for trap in TRAPS {
        let o = compare(&[python.to_str().unwrap(), "-c", script], &opts(trap));
        assert_eq!(o.stdout_str(), "2000 2664667000 1\n", "{trap}");
    }
}

/// coreutils `sort --parallel=2` on a large generated input: with a 1 MiB buffer (temporary
/// files, merged) and with one large enough for its sorting threads.
#[test]
fn parallel_sort() {
    let Some(sort) = which("sort") else {
        eprintln!("skipping: no sort on this host");
        return;
    };
    let tmp = TempDir::new("sort");
    let input = tmp.join("in.txt");
    let text: String = (1..=600_000u64)
        .map(|i| format!("{} {i}\n", (i * 7919) % 100_003))
        .collect();
    std::fs::write(&input, text).unwrap();
    let input = input.to_str().unwrap();
    for trap in TRAPS {
        for size in ["-S1M", "-S64M"] {
            let o = compare(
                &[sort.to_str().unwrap(), "--parallel=2", size, input],
                &opts(trap),
            );
            assert_eq!(o.status, 0, "{trap} {size}");
            assert_eq!(
                o.stdout.len(),
                std::fs::metadata(input).unwrap().len() as usize
            );
        }
    }
}
