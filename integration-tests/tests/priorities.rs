//! Priorities (issue 14): nice values per thread, scheduling policies and parameters, I/O
//! priorities (`guests/prio.c`), and the tools that set them (`nice`, `renice`, `ionice`,
//! python's `os.setpriority`/`os.nice`), each compared with the same run natively.
#![allow(clippy::unwrap_used)]

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts};

fn check(what: &str, argv: &[&str], flags: &[&str]) -> String {
    let opts = RunOpts {
        uml_flags: flags.iter().map(|f| f.to_string()).collect(),
        ..RunOpts::default()
    };
    let o = compare(argv, &opts);
    assert_no_bad_lines(what, &o);
    assert_eq!(o.status, 0, "{what}: {}", o.describe("native"));
    o.stdout_str()
}

#[test]
fn nice_policies_and_io_priorities() {
    for sched in ["--sched=rr", "--sched=fair", "--sched=prio"] {
        let out = check("prio", &[guests::PRIO], &[sched]);
        assert!(out.contains("child in its group: 12\n"), "{out}");
        assert!(out.contains("stat fifo 10: priority=-11 nice=0 rt_priority=10 policy=1\n"));
        assert!(out.ends_with("done\n"));
    }
}

#[test]
fn nice_renice_ionice_and_ps() {
    let script = "nice -n 5 nice; renice -n 3 -p $$ >/dev/null; nice; \
                  ionice -p $$; ionice -c 2 -n 6 -p $$; ionice -p $$; \
                  ps -o ni= -p $$; nice -n 4 sh -c 'ps -o ni= -p $$'";
    let out = check("tools", &["/bin/sh", "-c", script], &[]);
    assert_eq!(out, "5\n3\nnone: prio 0\nbest-effort: prio 6\n  3\n  7\n");
}

#[test]
fn python_setpriority_and_nice() {
    let py = "import os\n\
              os.setpriority(os.PRIO_PROCESS, 0, 5)\n\
              print(os.getpriority(os.PRIO_PROCESS, 0))\n\
              print(os.nice(2))\n\
              pid = os.fork()\n\
              if pid == 0:\n    print('child', os.getpriority(os.PRIO_PROCESS, 0)); os._exit(0)\n\
              os.waitpid(pid, 0)\n";
    let out = check("python", &["/usr/bin/python3", "-c", py], &[]);
    assert_eq!(out, "5\n7\nchild 7\n");
}

#[test]
fn deadline_timer_slack_tsc_and_other_users_tasks() {
    let out = check("task_attrs", &[guests::TASK_ATTRS], &[]);
    for line in [
        "deadline priorities 0..0",
        "getattr 0 policy=6 runtime=10000000 deadline=30000000 period=30000000 prio=0 nice=0",
        "dl fork=EAGAIN",
        "child slack 70000 default 70000",
        "write 0: 1 slack 50000",
        "other's slack write=EPERM",
        "fifo slack 0",
        "grandchild tsc state 2",
        "get_robust_list of root's=EPERM",
        "sched_setaffinity of root's=EPERM",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
    assert!(out.ends_with("done\n"), "{out}");
}
