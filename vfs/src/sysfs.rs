//! uml's `/sys`: what glibc, python, util-linux and programs without systemd read about
//! the machine, describing the one CPU uml's kernel is (its loop) and a memory node, and
//! the loop devices' I/O statistics (`block/loopN/stat`, [`blockstat`](crate::blockstat)). The
//! host's `/sys` describes the host and never shows through; this is an in-memory tree
//! made at boot (read-only files, `0444`).

use abi::flags::mode::S_IFREG;

use crate::dentry::FsShared;
use crate::sparse::FileData;
use crate::tmpfs::{MemData, MemEntry, MemInode};
use crate::Arc;

/// Each file of the tree and its contents; directories are made on the way.
const FILES: &[(&str, &str)] = &[
    ("devices/system/cpu/online", "0\n"),
    ("devices/system/cpu/possible", "0\n"),
    ("devices/system/cpu/present", "0\n"),
    ("devices/system/cpu/offline", "\n"),
    ("devices/system/cpu/kernel_max", "8191\n"),
    ("devices/system/cpu/cpu0/topology/core_id", "0\n"),
    (
        "devices/system/cpu/cpu0/topology/physical_package_id",
        "0\n",
    ),
    ("devices/system/cpu/cpu0/topology/core_cpus_list", "0\n"),
    (
        "devices/system/cpu/cpu0/topology/thread_siblings_list",
        "0\n",
    ),
    ("devices/system/cpu/cpu0/topology/core_siblings_list", "0\n"),
    ("devices/system/cpu/cpu0/topology/package_cpus_list", "0\n"),
    ("devices/system/cpu/cpu0/topology/thread_siblings", "1\n"),
    ("devices/system/cpu/cpu0/topology/core_siblings", "1\n"),
    ("devices/system/cpu/cpu0/topology/core_cpus", "1\n"),
    ("devices/system/cpu/cpu0/topology/package_cpus", "1\n"),
    ("devices/system/node/online", "0\n"),
    ("devices/system/node/possible", "0\n"),
    ("devices/system/node/node0/cpulist", "0\n"),
    ("devices/system/node/node0/cpumap", "1\n"),
    (
        "kernel/mm/transparent_hugepage/enabled",
        "always madvise [never]\n",
    ),
    (
        "kernel/mm/transparent_hugepage/defrag",
        "always defer defer+madvise madvise [never]\n",
    ),
    ("kernel/mm/transparent_hugepage/hpage_pmd_size", "2097152\n"),
];

/// Empty directories that exist on every Linux.
const DIRS: &[&str] = &[
    "block",
    "bus",
    "class",
    "dev/block",
    "dev/char",
    "firmware",
    "fs/cgroup",
    "module",
    "power",
];

/// Fills `/sys` (`top`, on device `dev`).
pub(crate) fn populate(top: &Arc<MemInode>, dev: u64, shared: &FsShared) {
    let dir = |parent: &Arc<MemInode>, name: &str| -> Arc<MemInode> {
        let found = parent.with_dir(false, |e, _| match e.get(name.as_bytes()) {
            Some(MemEntry::Node(n)) => Some(n.clone()),
            _ => None,
        });
        if let Ok(Some(n)) = found {
            return n;
        }
        let n = MemInode::new_dir(shared.ino(), dev, 0o755, 0, 0);
        let _ = parent.with_dir(false, |e, _| {
            e.insert(name.as_bytes().to_vec(), MemEntry::Node(n.clone()))
        });
        parent.add_links(1);
        n
    };
    let walk = |path: &str| -> Arc<MemInode> {
        path.split('/')
            .filter(|c| !c.is_empty())
            .fold(top.clone(), |d, c| dir(&d, c))
    };
    for d in DIRS {
        walk(d);
    }
    if let Some(loops) = shared.loops() {
        loops.show_in_sysfs(&walk("block"), dev);
    }
    for (path, text) in FILES {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        let d = walk(parent);
        let data = MemData::File(FileData::from_bytes(text.as_bytes()));
        let f = MemInode::new(shared.ino(), dev, S_IFREG | 0o444, 0, 0, data);
        let _ = d.with_dir(false, |e, _| {
            e.insert(name.as_bytes().to_vec(), MemEntry::Node(f))
        });
    }
}
