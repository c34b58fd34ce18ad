//! The event-fd family (eventfd, epoll, timerfd): each guest (C, and python3 event loops)
//! runs natively and under uml with both trap backends; stdout and exit status must match.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

/// Runs `argv` natively and under uml with each trap backend; asserts equal output, no `bad`
/// lines, a final `done` line and exit status 0.
fn run_guest(argv: &[&str]) {
    run_guest_with(argv, &TRAPS);
}

/// [`run_guest`] with the trap backends `traps` only.
fn run_guest_with(argv: &[&str], traps: &[&str]) {
    for &trap in traps {
        let opts = RunOpts {
            uml_flags: vec![trap.into()],
            timeout: Some(Duration::from_secs(60)),
            ..RunOpts::default()
        };
        let o = compare(argv, &opts);
        let what = format!("{} {trap}", argv[0]);
        assert_no_bad_lines(&what, &o);
        assert!(
            o.stdout_str().ends_with("done\n"),
            "{what}: {}",
            o.describe("native")
        );
        assert_eq!(o.status, 0, "{what}");
    }
}

#[test]
fn eventfd() {
    run_guest(&[guests::EVT_EVENTFD]);
}

#[test]
fn epoll() {
    run_guest(&[guests::EVT_EPOLL]);
}

/// Each event on a file wakes one `EPOLLEXCLUSIVE` waiter (the output counts them).
#[test]
fn epoll_exclusive_wakes_one() {
    run_guest(&[guests::EPOLL_EXCL]);
}

#[test]
fn timerfd() {
    run_guest(&[guests::EVT_TIMERFD]);
}

const PYTHON: &str = "/usr/bin/python3";

/// python's `selectors.EpollSelector` over pipes and a subprocess's output, with timeouts,
/// and `select.epoll` edge-triggered.
const PY_SELECTOR: &str = r#"
import os, select, selectors, subprocess, sys, time
sel = selectors.EpollSelector()
r, w = os.pipe()
os.set_blocking(r, False)
sel.register(r, selectors.EVENT_READ, "pipe")
t0 = time.monotonic()
print("idle:", sel.select(timeout=0.1), time.monotonic() - t0 >= 0.09)
os.write(w, b"hello")
print("ready:", [(k.data, ev) for k, ev in sel.select(timeout=1)])
print("read:", os.read(r, 100))
p = subprocess.Popen(["/bin/sh", "-c", "sleep 0.2; echo from child; exit 4"], stdout=subprocess.PIPE)
os.set_blocking(p.stdout.fileno(), False)
sel.register(p.stdout, selectors.EVENT_READ, "child")
out = b""
while True:
    events = sel.select(timeout=5)
    if not events:
        print("timeout!")
        break
    chunk = os.read(p.stdout.fileno(), 100)
    if not chunk:
        break
    out += chunk
print("child:", out, p.wait())
sel.unregister(p.stdout)
p.stdout.close()
ep = select.epoll()
ep.register(w, select.EPOLLOUT | select.EPOLLET)
print("edge:", ep.poll(0), ep.poll(0))
ep.close()
sel.close()
print("done")
"#;

#[test]
fn python3_epoll_selector() {
    run_guest(&[PYTHON, "-c", PY_SELECTOR]);
}

/// An `asyncio` loop with a sleep and a subprocess.
const PY_ASYNCIO: &str = r#"
import asyncio
async def main():
    await asyncio.sleep(0.05)
    p = await asyncio.create_subprocess_exec("/bin/echo", "hi", stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate()
    print("sub", out, p.returncode)
asyncio.run(main())
print("done")
"#;

/// asyncio's child watcher runs in a thread.
#[test]
fn python3_asyncio() {
    for trap in TRAPS {
        run_guest_with(&[PYTHON, "-c", PY_ASYNCIO], &[trap]);
    }
}

#[test]
fn signalfd() {
    run_guest(&[guests::EVT_SIGNALFD]);
}

#[test]
fn garbage_pointers() {
    run_guest(&[guests::EVT_GARBAGE]);
}
