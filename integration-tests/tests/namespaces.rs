//! Namespaces: a pid namespace (its first process is its pid 1, its parent sees it by its
//! outer pid and waits for it), `setns` into UTS and IPC namespaces by `/proc/PID/ns`
//! files and pidfds, `ioctl_ns`, a time namespace (its offsets file, the clocks a child in
//! it reads); run natively (as root) and under uml, stdout and exit status must be
//! identical. Natively namespaces need privilege: where the machine refuses them (the
//! guest prints `skip: ...`), the test only says so.
#![allow(clippy::unwrap_used)]

use integration_tests::{assert_no_bad_lines, assert_same, guests, run_native, run_uml, RunOpts};

/// Runs the namespaces guest's part `what` natively and under uml; its output.
fn run(what: &str) -> Option<String> {
    let argv = [guests::NAMESPACES, what];
    let opts = RunOpts::default();
    let native = run_native(&argv, &opts);
    if native.stdout_str().starts_with("skip:") {
        eprintln!("namespaces {what}: skipped: {}", native.stdout_str().trim());
        return None;
    }
    assert_no_bad_lines(what, &native);
    let uml = run_uml(&argv, &opts);
    assert_same(what, &native, &uml);
    Some(native.stdout_str())
}

#[test]
fn pid_namespace() {
    let Some(out) = run("pid") else { return };
    for want in [
        "grandchild: pid=2 ppid=1\n",
        "ns init: pid=1 tid=1 ppid=0 fork=2 waited=2 status=3 kill(12345)=-1 No such process\n",
        "child's ns differs: 1, its parent is mine: 1, type: 0x20000000\n",
        "parent: waited its child by outer pid: 1, status=7\n",
        "after unshare: child pid=1 ppid=0\n",
        "after unshare: own pid unchanged=1, fork gave outer pid=1, waited=1\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn setns_uts_ipc() {
    let Some(out) = run("setns") else { return };
    for want in [
        "nstype uts=0x4000000 ipc=0x8000000\n",
        "setns(-1): -1 Bad file descriptor\n",
        "setns(regular file): -1 Invalid argument\n",
        "setns(uts, CLONE_NEWPID): -1 Invalid argument\n",
        "child: hostname=nsguest shm visible=0\n",
        "child after setns: 0 0 back to parent's name=1 shm visible=1\n",
        "parent: hostname kept=1\n",
        "setns(pidfd): 0 hostname=pidfdns\n",
        "setns back: 0 hostname kept=1\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn time_namespace() {
    let Some(out) = run("time") else { return };
    for want in [
        "children's ns differs=1\n",
        "monotonic           0         0\nboottime            0         0\n",
        "wrong clock: EINVAL\nnsec too big: EINVAL\nshort: EINVAL\nbelow zero: ERANGE\nset: ok\n",
        "monotonic        1000         0\nboottime           -2 500000000\n",
        "child in children's ns=1\n",
        "child vdso monotonic ok\n",
        "child syscall monotonic ok\n",
        "child coarse monotonic ok\n",
        "child raw monotonic ok\n",
        "child boottime ok\n",
        "child sysinfo uptime ok\n",
        "child abs sleep: 0 slept enough=1 short=1\n",
        "child setns back: 0\n",
        "child back monotonic ok\n",
        "parent monotonic ok\n",
        "after entry: EACCES\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}
