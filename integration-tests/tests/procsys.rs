//! `/proc/sys` (issue 10): the `procsys` guest runs natively and under `uml run --` and the
//! outputs must be identical. Natively it runs in a UTS namespace of its own
//! (`unshare --uts`), so that its host-name writes never reach the host; it needs root
//! there. Values that depend on the machine are compared by format, the others exactly.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use integration_tests::{
    assert_no_bad_lines, assert_same, busybox, compare, guests, run_native, run_uml, which, RunOpts,
};

fn opts() -> RunOpts {
    RunOpts {
        timeout: Some(Duration::from_secs(60)),
        ..RunOpts::default()
    }
}

fn native_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

#[test]
fn proc_sys_reads_writes_and_permissions() {
    let Some(unshare) = which("unshare") else {
        eprintln!("skipped: no unshare (util-linux) to keep the native run's writes off the host");
        return;
    };
    if !native_root() {
        eprintln!("skipped: the native run needs root for its own UTS namespace");
        return;
    }
    let native = run_native(
        &[unshare.to_str().unwrap(), "--uts", guests::PROCSYS],
        &opts(),
    );
    let uml = run_uml(&[guests::PROCSYS], &opts());
    assert_same("procsys", &native, &uml);
    assert_no_bad_lines("procsys", &native);
    let out = native.stdout_str();
    for line in [
        "uname after write: uml-test-host",
        "non-root open hostname for writing: -1 EACCES",
        "non-root sethostname=EPERM",
        "splice into hostname: 13, now spliced-host",
        "non-root write ns_last_pid=EPERM",
        "write osrelease as root: -13",
        "done",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }
}

/// `sysctl` (procps) reads the same names and values natively and under uml.
#[test]
fn sysctl_tool() {
    let Some(sysctl) = which("sysctl") else {
        eprintln!("skipped: no sysctl (procps) on this host");
        return;
    };
    let s = sysctl.to_str().unwrap();
    compare(
        &[
            s,
            "kernel.ostype",
            "kernel.ngroups_max",
            "fs.nr_open",
            "vm.max_map_count",
        ],
        &opts(),
    );
    compare(
        &[s, "-n", "kernel.overflowuid", "net.core.somaxconn"],
        &opts(),
    );
    // Every file uml has reads (the host has many more, so this one is uml's alone).
    let all = run_uml(&[s, "-a"], &opts());
    assert_eq!(all.status, 0, "{}", all.describe("uml"));
    let text = all.stdout_str();
    for name in SYSCTL_NAMES {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{name} = "))),
            "sysctl -a under uml lacks {name}:\n{text}"
        );
    }
}

const SYSCTL_NAMES: &[&str] = &[
    "kernel.pid_max",
    "kernel.threads-max",
    "kernel.hostname",
    "kernel.random.boot_id",
    "fs.file-max",
    "fs.pipe-max-size",
    "fs.mqueue.queues_max",
    "vm.overcommit_memory",
    "net.core.somaxconn",
];

/// `kernel/pid_max` bounds the pids given from then on (uml only: natively the write would
/// change the host's).
#[test]
fn pid_max_bounds_new_pids() {
    let bb = busybox();
    let script = "echo 400 > /proc/sys/kernel/pid_max && cat /proc/sys/kernel/pid_max && \
                  i=0; max=0; while [ $i -lt 500 ]; do sh -c 'echo $$' > /tmp/p; \
                  p=$(cat /tmp/p); [ $p -gt $max ] && max=$p; i=$((i+1)); done; \
                  echo max below 400: $([ $max -lt 400 ] && echo yes || echo no)";
    let o = run_uml(&[bb.to_str().unwrap(), "sh", "-c", script], &opts());
    assert_eq!(
        o.stdout_str(),
        "400\nmax below 400: yes\n",
        "{}",
        o.describe("uml")
    );
}

/// `kernel/ns_last_pid` is the last pid given, and a write sets it: the next process gets
/// the pid after it (uml only: natively the write would change the host's).
#[test]
fn ns_last_pid_sets_the_next_pid() {
    let bb = busybox();
    let script = "echo 500 > /proc/sys/kernel/ns_last_pid && cat /proc/sys/kernel/ns_last_pid \
                  && sh -c 'echo $$' && echo 4000000 > /proc/sys/kernel/ns_last_pid \
                  || echo refused";
    let o = run_uml(&[bb.to_str().unwrap(), "sh", "-c", script], &opts());
    assert_eq!(
        o.stdout_str(),
        "501\n502\nrefused\n",
        "{}",
        o.describe("uml")
    );
}

/// Files test suites read before they start (core dumps, the console log level, pipe and
/// link protections, leases, the dentry cache): Linux's defaults, and writes kept (uml
/// only: natively the writes would change the host's).
#[test]
fn defaults_of_files_programs_read() {
    let bb = busybox();
    let script = "cd /proc/sys && cat kernel/core_pattern kernel/printk fs/lease-break-time \
                  fs/pipe-user-pages-soft fs/protected_hardlinks fs/protected_symlinks \
                  vm/vfs_cache_pressure && echo '|/bin/catch %p' > kernel/core_pattern && \
                  cat kernel/core_pattern && echo 7 4 1 7 > kernel/printk && cat kernel/printk";
    let o = run_uml(&[bb.to_str().unwrap(), "sh", "-c", script], &opts());
    assert_eq!(
        o.stdout_str(),
        "core\n4\t4\t1\t7\n45\n16384\n1\n1\n100\n|/bin/catch %p\n7\t4\t1\t7\n",
        "{}",
        o.describe("uml")
    );
}
