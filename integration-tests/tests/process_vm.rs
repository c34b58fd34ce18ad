//! `process_vm_readv`/`process_vm_writev` between processes, `kcmp`, `vmsplice` and
//! `/proc/PID/mem`, run natively and under uml with both trap mechanisms; stdout and exit
//! status must be identical.
#![allow(clippy::unwrap_used)]

use integration_tests::{compare, guests, RunOpts};

const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

#[test]
fn process_vm_kcmp_vmsplice() {
    for trap in TRAPS {
        let opts = RunOpts {
            uml_flags: vec![trap.into()],
            ..RunOpts::default()
        };
        let o = compare(&[guests::PROCESS_VM], &opts);
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        let out = o.stdout_str();
        for want in [
            "parent read: written by the child\n",
            "pieces: the |chil\n",
            "readv into a hole: 96\nreadv of the hole: EFAULT\n",
            "child sees: WRITTEN by the child\n",
            "unprivileged readv of root: EPERM\n",
            "inherited file: 0\nforked vm differs: 1\n",
            "got: spliced from memory\n",
            "no reader: EPIPE\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in:\n{out}");
        }
    }
}

#[test]
fn proc_pid_mem() {
    for trap in TRAPS {
        let opts = RunOpts {
            uml_flags: vec![trap.into()],
            ..RunOpts::default()
        };
        let o = compare(&[guests::PROC_MEM], &opts);
        assert_eq!(o.status, 0, "{}", o.describe(trap));
        let out = o.stdout_str();
        for want in [
            "pwrite ro 3 'xyz'\n",
            "pread none 6 'secret'\n",
            "pread unmapped -1 Input/output error\n",
            "pwrite private 1 mapped=Q file_unchanged=1\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in:\n{out}");
        }
    }
}
