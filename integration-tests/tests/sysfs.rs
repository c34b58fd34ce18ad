//! uml's `/sys`: one CPU and one memory node, as the kernel's one loop is one CPU. Not
//! compared with native (the host's `/sys` describes the host's CPUs); checked for what
//! glibc (`get_nprocs`, `get_nprocs_conf`), python and util-linux's `lscpu` make of it.
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
