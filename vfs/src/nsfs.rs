//! Namespace files (Linux's nsfs): what the links of `/proc/PID/ns` lead to.
//!
//! uml has one namespace of each kind, shared by every process, so each link of every
//! process leads to the same object: `readlink` shows `KIND:[INODE]` and `stat` of the
//! opened file that inode on device 0:4, with the inode numbers Linux 6.18 gives its
//! initial namespaces (`pid_for_children` and `time_for_children` are `pid` and `time`).
//! The mount namespace's id (`NS_GET_MNTNS_ID`, `statmount`'s `mnt_ns_id`) is
//! [`MNT_NS_ID`]. Every namespace is owned by the user namespace, which, like the pid
//! namespace, is a top one: it has no parent or owner the caller may see.

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

/// A namespace, as an open file.
pub struct NsFile {
    id: u64,
    kind: &'static str,
    ino: u64,
    clone_flag: u64,
}

impl NsFile {
    /// The namespace a `/proc/PID/ns` link of this name leads to.
    pub(crate) fn of(name: &[u8]) -> Option<Arc<NsFile>> {
        let &(_, kind, ino, clone_flag) = NAMESPACES.iter().find(|n| n.0.as_bytes() == name)?;
        Some(Arc::new(NsFile {
            id: new_wait_id(),
            kind,
            ino,
            clone_flag,
        }))
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

    /// The user namespace that owns it (`NS_GET_USERNS`): `None` for the user namespace,
    /// whose owner lies outside (uml's is the initial one).
    pub fn owner(&self) -> Option<Arc<NsFile>> {
        if self.kind == "user" {
            return None;
        }
        NsFile::of(b"user")
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
