//! Mounts by id: what `statx` says of the mount a file lies on, and what `statmount(2)` and
//! `listmount(2)` say of the mounts of the guest's tree.
//!
//! Every mount has an id (mountinfo's first field) and a unique id
//! ([`MNT_UNIQUE_ID_OFFSET`] plus its id, so unique ids grow in the order mounts are made,
//! as Linux's). `statmount` and `listmount` see the mounts of the caller's mount
//! namespace (the tree its root lies in), not detached ones. A mount is *reachable* from a root (the caller's, or a mount's own)
//! if its root lies at or below that root; callers without `CAP_SYS_ADMIN` get `EPERM`
//! for a mount (or a listing from one) they cannot reach, as Linux. uml has one mount
//! namespace, so there are no namespace ids to ask by.

use std::sync::atomic::Ordering;

use abi::flags::mount::*;
use abi::Errno;

use crate::dentry::Dentry;
use crate::mount::{guest_path, path_bytes, sb_dev, tree_top, SbKind, MNT_UNIQUE_ID_OFFSET};
use crate::Vfs;

/// What `statmount` tells of a mount (Linux's `struct statmount`, strings as bytes).
#[derive(Clone, Debug, Default)]
pub struct MountStat {
    /// Its file system's device.
    pub sb_dev: u64,
    /// The file system's magic number.
    pub sb_magic: u64,
    /// `SB_RDONLY` (`MS_RDONLY`) if the file system is read-only.
    pub sb_flags: u32,
    /// Its unique id.
    pub id: u64,
    /// Its parent's unique id (its own for the guest root).
    pub parent_id: u64,
    /// Its id, as mountinfo shows it.
    pub id_old: u32,
    /// Its parent's id, as mountinfo shows it.
    pub parent_id_old: u32,
    /// `MOUNT_ATTR_*`.
    pub attr: u64,
    /// `MS_SHARED`, `MS_PRIVATE`, `MS_SLAVE`, `MS_UNBINDABLE`.
    pub propagation: u64,
    /// Its peer group (0: not shared).
    pub peer_group: u64,
    /// The peer group it is a slave of (0: none).
    pub master: u64,
    /// The file system type.
    pub fs_type: &'static str,
    /// Where its root is in its file system.
    pub root: Vec<u8>,
    /// Its mount point, from the caller's root.
    pub point: Vec<u8>,
    /// The file system's own options, comma-separated (`size=...` of a tmpfs).
    pub opts: Vec<u8>,
    /// What it was mounted from.
    pub source: Vec<u8>,
}

/// `MOUNT_ATTR_*` of per-mount flags `f` (Linux's `mnt_to_attr_flags`).
fn attr_of(f: u64) -> u64 {
    let mut a = [
        (MS_RDONLY, MOUNT_ATTR_RDONLY),
        (MS_NOSUID, MOUNT_ATTR_NOSUID),
        (MS_NODEV, MOUNT_ATTR_NODEV),
        (MS_NOEXEC, MOUNT_ATTR_NOEXEC),
        (MS_NODIRATIME, MOUNT_ATTR_NODIRATIME),
        (MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW),
    ]
    .iter()
    .filter(|(m, _)| f & m != 0)
    .fold(0, |acc, (_, a)| acc | a);
    a |= if f & MS_NOATIME != 0 {
        MOUNT_ATTR_NOATIME
    } else if f & MS_RELATIME != 0 {
        MOUNT_ATTR_RELATIME
    } else {
        MOUNT_ATTR_STRICTATIME
    };
    a
}

/// Whether names `path` lie at or below `root`.
fn reachable(path: &[Vec<u8>], root: &[Vec<u8>]) -> bool {
    path.starts_with(root)
}

impl Vfs {
    /// The mount `d` lies on: its id, its unique id, and whether `d` is its root (for
    /// `statx`'s `STATX_MNT_ID`, `STATX_MNT_ID_UNIQUE` and `STATX_ATTR_MOUNT_ROOT`).
    pub fn mount_of(&self, d: &Dentry) -> (u64, u64, bool) {
        let id = d.mount().map_or(1, |m| m.id);
        (id, MNT_UNIQUE_ID_OFFSET + id, d.is_root())
    }

    /// The top of the caller's mount namespace, whose root is `root` (`None`: the guest
    /// root).
    fn ns_top(&self, root: Option<&Dentry>) -> Dentry {
        root.map_or_else(|| self.root.clone(), tree_top)
    }

    /// The mount of unique id `id` in the tree whose top is `top`: its mount point's names
    /// and root.
    fn mount_by_id(&self, top: &Dentry, id: u64) -> Result<(Vec<Vec<u8>>, Dentry), Errno> {
        self.mounts_of(top)
            .into_iter()
            .find(|(_, root)| root.0.mnt.as_ref().is_some_and(|m| m.unique_id() == id))
            .ok_or(Errno::ENOENT)
    }

    /// `statmount(2)` of the mount of unique id `id`, for a caller whose root is `root`
    /// (`None`: the guest root); `privileged`: it has `CAP_SYS_ADMIN`.
    pub fn statmount(
        &self,
        id: u64,
        root: Option<&Dentry>,
        privileged: bool,
    ) -> Result<MountStat, Errno> {
        let (path, mroot) = self.mount_by_id(&self.ns_top(root), id)?;
        let m = mroot.0.mnt.clone().ok_or(Errno::ENOENT)?;
        let prop = *m.propagation.lock();
        let caller_root = root.map(guest_path).unwrap_or_default();
        if !reachable(&path, &caller_root) && !privileged {
            return Err(Errno::EPERM);
        }
        let parent = mroot
            .0
            .parent
            .as_ref()
            .and_then(|p| p.mount())
            .unwrap_or(&m);
        let point = if reachable(&path, &caller_root) {
            path_bytes(&path[caller_root.len()..])
        } else {
            path_bytes(&path)
        };
        let opts = match &m.sb.kind {
            SbKind::Tmpfs(_, shown) => shown.trim_start_matches(',').as_bytes().to_vec(),
            _ => Vec::new(),
        };
        Ok(MountStat {
            sb_dev: sb_dev(&mroot),
            sb_magic: self.statfs(&mroot).magic as u64,
            sb_flags: if m.sb.read_only.load(Ordering::Relaxed) {
                MS_RDONLY as u32
            } else {
                0
            },
            id: m.unique_id(),
            parent_id: parent.unique_id(),
            id_old: m.id as u32,
            parent_id_old: parent.id as u32,
            attr: attr_of(m.flags()),
            propagation: prop.flags(),
            peer_group: prop.peer_group,
            master: prop.master,
            fs_type: m.sb.fstype,
            root: m.root.clone(),
            point,
            opts,
            source: m.sb.source.clone(),
        })
    }

    /// `listmount(2)`: the unique ids of the mounts reachable from the mount of unique id
    /// `id` (but itself), or with `id` [`LSMT_ROOT`] from the caller's root `root` (`None`:
    /// the guest root), ascending after `last` (descending before it with `reverse`; 0:
    /// from the start), at most `max` of them.
    pub fn listmount(
        &self,
        id: u64,
        last: u64,
        reverse: bool,
        max: usize,
        root: Option<&Dentry>,
        privileged: bool,
    ) -> Result<Vec<u64>, Errno> {
        let caller_root = root.map(guest_path).unwrap_or_default();
        let top = self.ns_top(root);
        let all = self.mounts_of(&top);
        let from = if id == LSMT_ROOT {
            caller_root.clone()
        } else {
            let (path, ..) = self.mount_by_id(&top, id)?;
            path
        };
        if !reachable(&from, &caller_root) && !privileged {
            return Err(Errno::EPERM);
        }
        // Mounts made before the one listed from, on the same mount point, lie under it.
        let first = all
            .iter()
            .position(|(_, r)| r.0.mnt.as_ref().is_some_and(|m| m.unique_id() == id))
            .unwrap_or(0);
        let mut ids: Vec<u64> = all
            .iter()
            .enumerate()
            .filter(|(k, (path, _))| *k >= first && reachable(path, &from))
            .filter_map(|(_, (_, r))| r.0.mnt.as_ref().map(|m| m.unique_id()))
            .filter(|&u| u != id)
            .collect();
        ids.sort_unstable();
        if reverse {
            ids.reverse();
            ids.retain(|&u| last == 0 || u < last);
        } else {
            ids.retain(|&u| u > last);
        }
        ids.truncate(max);
        Ok(ids)
    }
}
