//! uml's `/sys` (one CPU, as the kernel's one loop is one CPU, and one memory node) and its
//! kernel configuration. Not compared with native (the host's describe the host); checked
//! for what glibc (`get_nprocs`, `get_nprocs_conf`), python, util-linux's `lscpu` and gzip
//! make of them.
#![allow(clippy::unwrap_used)]

use integration_tests::{run_uml, RunOpts};

#[test]
fn one_cpu_as_glibc_python_and_lscpu_see_it() {
    let script = "nproc; getconf _NPROCESSORS_CONF; getconf _NPROCESSORS_ONLN; \
                  cat /sys/devices/system/cpu/online /sys/devices/system/cpu/possible; \
                  python3 -c 'import os; print(os.cpu_count(), len(os.sched_getaffinity(0)))'; \
                  lscpu | grep -E '^(CPU\\(s\\)|On-line CPU)'; \
                  ls /sys; cat /sys/kernel/mm/transparent_hugepage/enabled";
    let o = run_uml(&["/bin/sh", "-c", script], &RunOpts::default());
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    assert_eq!(
        o.stdout_str(),
        "1\n1\n1\n0\n0\n1 1\nCPU(s):              1\nOn-line CPU(s) list: 0\n\
         block\nbus\nclass\ndev\ndevices\nfirmware\nfs\nkernel\nmodule\npower\n\
         always madvise [never]\n"
    );
}

/// `/proc/config.gz` says what uml's kernel has (programs and LTP check it before using a
/// feature), as a gzip file any reader takes; `/proc/cmdline` exists.
#[test]
fn kernel_config_says_what_uml_has() {
    let script = "gzip -t /proc/config.gz && echo ok; \
                  zcat /proc/config.gz | grep -E '^(CONFIG_EVENTFD=|CONFIG_HZ=|CONFIG_INET=|CONFIG_USER_NS=|# CONFIG_NET_NS )'; \
                  cat /proc/cmdline";
    let o = run_uml(&["/bin/sh", "-c", script], &RunOpts::default());
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    assert_eq!(
        o.stdout_str(),
        "ok\nCONFIG_USER_NS=y\nCONFIG_EVENTFD=y\nCONFIG_INET=y\nCONFIG_HZ=250\n# CONFIG_NET_NS is not set\numl\n"
    );
}
