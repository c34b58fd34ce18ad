//! uml's `/sys`: what glibc, python, util-linux and programs without systemd read about
//! the machine, describing the one CPU uml's kernel is (its loop) and a memory node, and
//! the loop devices' I/O statistics (`block/loopN/stat`, [`blockstat`](crate::blockstat)). The
//! host's `/sys` describes the host and never shows through; this is an in-memory tree
//! (read-only files, `0444`). The boot one is made when a path walk first crosses into
//! it ([`Pending`]), not at boot: most programs never look, and its loop devices' files
//! are a good part of what booting would cost; a `mount -t sysfs` makes its tree at once.

use abi::flags::mode::S_IFREG;

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::dentry::FsShared;
use crate::dentry::OvlFs;
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

/// A `/sys` tree not made yet: its top directory and file system.
pub(crate) struct Pending {
    /// Whether [`Pending::fill`] has work left (one load on the walk's hot path).
    pending: AtomicBool,
    tree: Mutex<Option<(Arc<MemInode>, Arc<OvlFs>)>>,
}

impl Pending {
    /// The tree of `top` on `fs`, to be filled.
    pub fn new(top: &Arc<MemInode>, fs: &Arc<OvlFs>) -> Pending {
        Pending {
            pending: AtomicBool::new(true),
            tree: Mutex::new(Some((top.clone(), fs.clone()))),
        }
    }

    /// Makes the tree unless it is made: a walk that reaches it finds it whole (a second
    /// walker waits for the first to finish).
    pub fn fill(&self) {
        if !self.pending.load(Ordering::Acquire) {
            return;
        }
        let mut tree = self.tree.lock();
        if let Some((top, fs)) = tree.take() {
            populate(&top, fs.dev, &fs.shared);
        }
        self.pending.store(false, Ordering::Release);
    }
}

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
