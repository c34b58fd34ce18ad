//! Swap areas: `swapon`/`swapoff` of files `mkswap` made on an ext4 file system of a loop
//! device and of a loop device itself, `/proc/swaps`, `sysinfo`'s swap total, default and
//! preferred priorities, an active swap file's `ETXTBSY`, and Linux's errnos. A C guest run as root in a fresh directory, natively and under uml: stdout
//! and exit status must be identical (uml keeps the areas without ever swapping to them).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts, TempDir};

#[test]
fn swap_areas_as_linux() {
    for tool in ["/sbin/mkfs.ext4", "/sbin/mkswap"] {
        assert!(Path::new(tool).exists(), "{tool} is missing on this host");
    }
    let dir = TempDir::new("swap");
    let o = compare(
        &[guests::SWAP],
        &RunOpts {
            cwd: Some(dir.path().to_path_buf()),
            ..RunOpts::default()
        },
    );
    assert_no_bad_lines("swap", &o);
    assert_eq!(o.status, 0, "{}", o.stdout_str());
    let out = o.stdout_str();
    for want in [
        "swapon sw1=ok\n",
        "totalswap grew by 1020 KiB\n",
        "swaps sw1: file size=1020\n",
        "swapon again=EBUSY\n",
        "swapon short=EINVAL\n",
        "default priorities step down: 1\n",
        "next priority moved up: 1\n",
        "swaps sw2: file size=2044 prio=7\n",
        "swapon unprivileged=EPERM\n",
        "totalswap back: 1\n",
        "swapon tmpfs=EINVAL\n",
        "swapon partition again=EBUSY\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}
