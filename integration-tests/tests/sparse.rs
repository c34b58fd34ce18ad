//! Sparse in-memory files: holes that take no space, `fallocate`'s modes (allocation,
//! punching holes, and ext4's zero, collapse and insert ranges), `SEEK_DATA`/`SEEK_HOLE`,
//! space freed by a punched hole on a full size-limited tmpfs, a shared mapping seeing a
//! punched hole, `FS_IOC_FIEMAP` block maps; on a tmpfs with `size=` and on ext4 and ext2 file systems `mkfs` made on a
//! loop device. A C guest run as root in a fresh directory, natively and under uml: stdout
//! and exit status must be identical.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use integration_tests::{assert_no_bad_lines, compare, guests, RunOpts, TempDir};

#[test]
fn sparse_files_as_linux() {
    for mkfs in ["/sbin/mkfs.ext4", "/sbin/mkfs.ext2"] {
        assert!(Path::new(mkfs).exists(), "{mkfs} is missing on this host");
    }
    let dir = TempDir::new("sparse");
    let o = compare(
        &[guests::SPARSE],
        &RunOpts {
            cwd: Some(dir.path().to_path_buf()),
            ..RunOpts::default()
        },
    );
    assert_no_bad_lines("sparse", &o);
    assert_eq!(o.status, 0, "{}", o.stdout_str());
    let out = o.stdout_str();
    for want in [
        "far size=8589934593 blocks=8\n",
        "far@0 data=8589934592 hole=0\n",
        "far@-1 data=-1 ENXIO hole=-1 ENXIO\n",
        "punch freed blocks=128 fs-blocks=16\n",
        "punched@4096 data=69632 hole=4096\n",
        "ok write-after-punch\n",
        "mapped after punch=0\n",
        "alloc-keep size=0 blocks=32\n",
        "zeroed: a0 00 0c size=3072 blocks=3\n",
        "collapsed: a0 0c size=2048 blocks=2\n",
        "inserted: a0 00 00 0c size=4096 blocks=2\n",
        "d-alloc-keep=EOPNOTSUPP\n",
        "tmpfs fiemap=EOPNOTSUPP\n",
        "ext4 fiemap n=3: 0+1/0 3+1/0 4+2/0x801 count=0/3 bad-flags=-1 EBADR 0xfffffff8\n",
        "ext2 fiemap n=2: 0+1/0 2+1/0x1 count=0/2 bad-flags=-1 EBADR 0xfffffff8\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}
