//! Namespace files (Linux's nsfs): what the links of `/proc/PID/ns` lead to.
//!
//! A namespace file names one namespace by its id in the syscall layer's registry (0: the
//! initial namespace of its kind, which every process starts in): `readlink` shows
//! `KIND:[INODE]` and `stat` of the opened file that inode on device 0:4, with the inode
//! numbers Linux 6.18 gives its initial namespaces, and for the others Linux's dynamic ones
//! (`0xF0000000` on; `pid_for_children` and `time_for_children` are of kind `pid` and
//! `time`). Which namespace a process's link leads to is the [`ProcSource`]'s answer
//! (`ProcSource::ns`); what a namespace's parent and owner are is the registry's.
//! The mount namespace's id (`NS_GET_MNTNS_ID`, `statmount`'s `mnt_ns_id`) is
//! [`MNT_NS_ID`].
//!
//! [`ProcSource`]: crate::ProcSource

use abi::structs::Stat;

use crate::object::{new_wait_id, FileObject};
use crate::{Arc, PollEvents, Poller};

/// The id of uml's mount namespace (as Linux 6.18's initial one).
pub const MNT_NS_ID: u64 = 4;

/// The links of `/proc/PID/ns`: name, the namespace's kind, its inode number and its
/// `CLONE_NEW*` flag (`NS_GET_NSTYPE`).
pub(crate) const NAMESPACES: [(&str, &str, u64, u64); 10] = [
    ("cgroup", "cgroup", 0xEFFF_FFFB, 0x0200_0000),
    ("ipc", "ipc", 0xEFFF_FFFF, 0x0800_0000),
    ("mnt", "mnt", 0xEFFF_FFF8, 0x0002_0000),
    ("net", "net", 0xEFFF_FFF9, 0x4000_0000),
    ("pid", "pid", 0xEFFF_FFFC, 0x2000_0000),
    ("pid_for_children", "pid", 0xEFFF_FFFC, 0x2000_0000),
    ("time", "time", 0xEFFF_FFFA, 0x0000_0080),
    ("time_for_children", "time", 0xEFFF_FFFA, 0x0000_0080),
    ("user", "user", 0xEFFF_FFFD, 0x1000_0000),
    ("uts", "uts", 0xEFFF_FFFE, 0x0400_0000),
];

/// Device of namespace files (Linux's nsfs, 0:4).
const NSFS_DEV: u64 = 4;

/// The first inode number of the namespaces made at run time (Linux's
/// `PROC_DYNAMIC_FIRST`).
const DYNAMIC_FIRST: u64 = 0xF000_0000;

/// A namespace, as an open file.
pub struct NsFile {
    id: u64,
    kind: &'static str,
    ino: u64,
    clone_flag: u64,
    ns: u64,
}

impl NsFile {
    /// The initial namespace a `/proc/PID/ns` link of this name leads to.
    pub fn of(name: &[u8]) -> Option<Arc<NsFile>> {
        NsFile::new(name, 0)
    }

    /// Namespace `ns` (the registry's id; 0: the initial one) of the kind a
    /// `/proc/PID/ns` link of this name leads to.
    pub fn new(name: &[u8], ns: u64) -> Option<Arc<NsFile>> {
        let &(_, kind, ino, clone_flag) = NAMESPACES.iter().find(|n| n.0.as_bytes() == name)?;
        Some(Arc::new(NsFile {
            id: new_wait_id(),
            kind,
            ino: if ns == 0 { ino } else { DYNAMIC_FIRST + ns },
            clone_flag,
            ns,
        }))
    }

    /// The namespace's id in the registry (0: the initial one).
    pub fn ns(&self) -> u64 {
        self.ns
    }

    /// What `readlink` of a link to it shows.
    pub(crate) fn link_text(&self) -> Vec<u8> {
        format!("{}:[{}]", self.kind, self.ino).into_bytes()
    }

    /// Its `CLONE_NEW*` flag.
    pub fn clone_flag(&self) -> u64 {
        self.clone_flag
    }

    /// Its kind (`mnt`, `pid`, ...).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Its id if it is the mount namespace.
    pub fn mnt_ns_id(&self) -> Option<u64> {
        (self.kind == "mnt").then_some(MNT_NS_ID)
    }
}

impl FileObject for NsFile {
    fn poll(&self, _who: &Poller) -> PollEvents {
        crate::object::default_pollmask()
    }

    fn wait_id(&self) -> u64 {
        self.id
    }

    fn stat(&self) -> Stat {
        Stat {
            st_dev: NSFS_DEV,
            st_ino: self.ino,
            st_nlink: 1,
            st_mode: abi::flags::mode::S_IFREG | 0o444,
            st_blksize: 4096,
            ..Stat::default()
        }
    }

    fn reopens(&self) -> bool {
        true
    }
}
