//! SysV IPC (shared memory, semaphores, message queues) and POSIX message queues: C guests
//! that use them between processes, run natively and under uml with both trap mechanisms
//! (stdout and exit status must be identical), and `ipcs` listing what a guest created.
//! Objects are private or keyed by the guest's pid, and every guest removes what it made.
#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;

use integration_tests::{assert_no_bad_lines, compare, guests, which, RunOpts};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

fn opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.into()],
        ..RunOpts::default()
    }
}

/// Runs guest `argv` under both trap mechanisms; its stdout (the same every time).
fn guest(argv: &[&OsStr], tag: &str) -> String {
    let mut out = String::new();
    for trap in TRAPS {
        let o = compare(argv, &opts(trap));
        assert_no_bad_lines(tag, &o);
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        out = o.stdout_str();
    }
    out
}

fn contains_all(out: &str, wants: &[&str]) {
    for want in wants {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn sysv_shared_memory() {
    let out = guest(&[OsStr::new(guests::IPC_SHM)], "ipc-shm");
    contains_all(
        &out,
        &[
            "maps: /SYSV00000000 (deleted)\n",
            "child nattch (own attach)=3\n",
            "parent sees: from child; nattch=1\n",
            "reattached sees: from child\n",
            "ro child status=139\n",
            "SHM_RND rounds down: 1\n",
            "nobody shmat 0640=EACCES\n",
            "nobody IPC_RMID=EPERM\n",
            "after rmid: mode=3640 key=0 nattch=1\n",
            "gone after last detach=EINVAL\n",
        ],
    );
}

#[test]
fn sysv_semaphores() {
    let out = guest(&[OsStr::new(guests::IPC_SEM)], "ipc-sem");
    contains_all(
        &out,
        &[
            "counter=600 sem0=1\n",
            "GETNCNT(1)=1\nchild got sem1: 0\n",
            "GETZCNT(2)=1\n",
            "unchanged: 1 0 0\n",
            "semtimedop timeout=EAGAIN\n",
            "after undo at exit: 1 0 3\n",
            "SETVAL clears undo: 1 0 7\n",
            "semop interrupted=EINTR\n",
            "waiter of removed set=EIDRM\n",
        ],
    );
}

#[test]
fn sysv_message_queues() {
    let out = guest(&[OsStr::new(guests::IPC_MSG)], "ipc-msg");
    contains_all(
        &out,
        &[
            "type -2: n=6 type=1 text=one-b\n",
            "except 2: n=6 type=7 text=seven\n",
            "noerror: n=2 type=2 text=tw\n",
            "child type 5: n=5 type=5 text=five\n",
            "child send=0\n",
            "interrupted: EINTR\n",
            "waiter of removed queue: EIDRM\n",
        ],
    );
}

#[test]
fn posix_message_queues() {
    let out = guest(&[OsStr::new(guests::IPC_MQ)], "ipc-mq");
    contains_all(
        &out,
        &[
            "receive: n=4 prio=5 text=high\nreceive: n=6 prio=5 text=high-2\n",
            "timedreceive empty=ETIMEDOUT\n",
            "child receives: n=11 prio=7 text=hello child\n",
            "notified: sig=10 code_is_mesgq=1 value=42 pid_ok=1\n",
            "registration used up: sig=0\n",
            "after registrant exited=0\n",
            "SIGEV_THREAD register=0\nSIGEV_THREAD unregister=0\nSIGEV_THREAD register again=0\n",
            "SIGEV_THREAD function ran with 77\n",
            "unlinked queue still works: n=1 prio=0 text=n\n",
        ],
    );
}

#[test]
fn ipcs_lists_what_was_created() {
    let Some(ipcs) = which("ipcs") else {
        eprintln!("skipped: util-linux ipcs is not installed");
        return;
    };
    let out = guest(
        &[OsStr::new(guests::IPC_IPCS), ipcs.as_os_str()],
        "ipc-ipcs",
    );
    contains_all(
        &out,
        &[
            "------ Shared Memory Segments --------\nkey        shmid",
            "KEY0 ID ",
            "KEY1 ID ",
            "KEY2 ID ",
            "$ ipcs -m -i ID\n\nShared memory Segment shmid\nuid\nmode\n",
        ],
    );
}
