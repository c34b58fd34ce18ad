//! Mounts as objects of the new mount API: detached mounts (`fsmount(2)`, `open_tree(2)`
//! with `OPEN_TREE_CLONE`), attaching and moving them (`move_mount(2)`, `MS_MOVE`) and
//! changing their attributes (`mount_setattr(2)`).
//!
//! A detached mount is the top of a tree of its own: a root dentry with no parent, held by
//! the descriptor that `fsmount`/`open_tree` returned (an `O_PATH` file of it) and by
//! whatever was opened below it. `AT_RECURSIVE` clones the mounts below the source too;
//! they are table entries of that tree ([`Mount::tree`](crate::mount::Mount)). A detached
//! tree lasts until it is attached or every descriptor and file in it is closed, when it
//! and its mounts go, as Linux's dissolved anonymous namespaces. Attaching (or moving) a
//! mount makes a new root dentry at the target for it and for each mount on or below it,
//! in the order they were made: files already open there keep working, and `..` from
//! them still leads where it led before.
//!
//! A mount namespace is such a tree too: `unshare(CLONE_NEWNS)` copies the caller's whole
//! tree ([`Vfs::unshare_mounts`]) and the process's root and working directory move into
//! the copy, which its children inherit; the mounts it makes there are seen by the
//! processes in that namespace only, and the namespace goes when none is left in it.
//! Propagation types are kept per mount (peer groups, masters: [`Propagation`](crate::mount::Propagation)) and shown,
//! with nothing propagated between peers.

use abi::flags::mount::*;
use abi::Errno;

use crate::dentry::Dentry;
use crate::do_mount::share_inode;
use crate::mount::{guest_path, mount_root, tree_top, Mnt, Mount};
use crate::{procfs, Arc, Vfs};

/// What `mount_setattr` changes (Linux's `struct mount_kattr`).
#[derive(Clone, Copy, Debug, Default)]
pub struct MountAttr {
    /// Per-mount flags (`MS_*`) to set.
    pub set: u64,
    /// Per-mount flags (`MS_*`) to clear (before setting).
    pub clear: u64,
    /// A propagation type (`MS_SHARED`, ...) or 0.
    pub propagation: u64,
    /// The mounts below too (`AT_RECURSIVE`).
    pub recursive: bool,
}

/// `MOUNT_ATTR_*` bits other than the atime enum as `MS_*` per-mount flags.
fn attr_bits(attr: u64) -> u64 {
    [
        (MOUNT_ATTR_RDONLY, MS_RDONLY),
        (MOUNT_ATTR_NOSUID, MS_NOSUID),
        (MOUNT_ATTR_NODEV, MS_NODEV),
        (MOUNT_ATTR_NOEXEC, MS_NOEXEC),
        (MOUNT_ATTR_NODIRATIME, MS_NODIRATIME),
        (MOUNT_ATTR_NOSYMFOLLOW, MS_NOSYMFOLLOW),
    ]
    .iter()
    .filter(|(a, _)| attr & a != 0)
    .fold(0, |f, (_, m)| f | m)
}

/// The atime flags of an atime value (`MOUNT_ATTR_RELATIME`, `_NOATIME`,
/// `_STRICTATIME`; `EINVAL` for another).
fn atime_bits(attr: u64) -> Result<u64, Errno> {
    match attr & MOUNT_ATTR__ATIME {
        MOUNT_ATTR_RELATIME => Ok(MS_RELATIME),
        MOUNT_ATTR_NOATIME => Ok(MS_NOATIME),
        MOUNT_ATTR_STRICTATIME => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// The attributes `fsmount` and `mount_setattr` know besides `MOUNT_ATTR_IDMAP`.
const ATTRS: u64 = MOUNT_ATTR_RDONLY
    | MOUNT_ATTR_NOSUID
    | MOUNT_ATTR_NODEV
    | MOUNT_ATTR_NOEXEC
    | MOUNT_ATTR__ATIME
    | MOUNT_ATTR_NODIRATIME
    | MOUNT_ATTR_NOSYMFOLLOW;

/// `fsmount`'s `attr_flags` as per-mount flags (`MS_*`): `EINVAL` for unknown bits or
/// atime values.
pub fn fsmount_flags(attr: u64) -> Result<u64, Errno> {
    if attr & !ATTRS != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(attr_bits(attr) | atime_bits(attr)?)
}

/// An `O_PATH` open file of `d` (what `fsmount` and `open_tree` return).
pub fn mount_file(d: &Dentry) -> crate::FileRef {
    crate::file::open_path(d)
}

impl MountAttr {
    /// From `struct mount_attr`'s `attr_set`, `attr_clr` and `propagation`, with Linux's
    /// checks (`build_mount_kattr`); `MOUNT_ATTR_IDMAP` is the caller's to refuse.
    pub fn new(set: u64, clr: u64, propagation: u64, recursive: bool) -> Result<MountAttr, Errno> {
        let kinds = MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED;
        if propagation & !kinds != 0 || propagation.count_ones() > 1 {
            return Err(Errno::EINVAL);
        }
        if (set | clr) & !(ATTRS | MOUNT_ATTR_IDMAP) != 0 {
            return Err(Errno::EINVAL);
        }
        let mut a = MountAttr {
            set: attr_bits(set),
            clear: attr_bits(clr),
            propagation,
            recursive,
        };
        if clr & MOUNT_ATTR__ATIME != 0 {
            if clr & MOUNT_ATTR__ATIME != MOUNT_ATTR__ATIME {
                return Err(Errno::EINVAL);
            }
            a.clear |= MS_RELATIME | MS_NOATIME;
            a.set |= atime_bits(set)?;
        } else if set & MOUNT_ATTR__ATIME != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(a)
    }
}

impl Vfs {
    /// Indices in `table` of the mount whose root is `root` (`None` for the top of a
    /// tree) and of the mounts on and below it, in the order they were made.
    pub(crate) fn mounts_under(
        &self,
        table: &[Mount],
        root: &Dentry,
    ) -> (Option<usize>, Vec<usize>) {
        let own = root.0.mnt.as_ref().and_then(|mnt| {
            table
                .iter()
                .position(|m| m.root.0.mnt.as_ref().is_some_and(|x| Arc::ptr_eq(x, mnt)))
        });
        let Some(i) = own else {
            if root.0.parent.is_some() {
                // Unmounted: nothing is below it any more.
                return (None, Vec::new());
            }
            let top = tree_top(root);
            let all = (0..table.len())
                .filter(|&k| table[k].in_tree(&top, &self.root))
                .collect();
            return (None, all);
        };
        let me = &table[i];
        let below = (i + 1..table.len())
            .filter(|&k| {
                let m = &table[k];
                m.tree.as_ref().map(|w| w.as_ptr()) == me.tree.as_ref().map(|w| w.as_ptr())
                    && m.path.starts_with(&me.path)
            })
            .collect();
        (Some(i), below)
    }

    /// `open_tree(OPEN_TREE_CLONE)` of `src`: a detached mount of the file system `src`
    /// lies on, rooted at `src`, with the mount's flags; `recursive`: the mounts below
    /// `src` too. Returns its root.
    pub fn open_tree_clone(&self, src: &Dentry, recursive: bool) -> Result<Dentry, Errno> {
        let _ns = self.ns.lock();
        let top = Dentry::new_root(share_inode(src)?, src.ftype(), self.clone_mnt(src)?);
        if !recursive {
            return Ok(top);
        }
        let src_path = guest_path(src);
        let below: Vec<(Vec<Vec<u8>>, Dentry)> = {
            let table = self.mounts.read();
            let (_, below) = self.mounts_under(&table, &mount_root(src));
            below
                .into_iter()
                .map(|k| &table[k])
                .filter(|m| m.path.len() > src_path.len() && m.path.starts_with(&src_path))
                .map(|m| (m.path[src_path.len()..].to_vec(), m.root.clone()))
                .collect()
        };
        for (rel, old) in below {
            // A mount whose mount point is gone from the copy stays behind.
            let Ok(point) = self.walk_names(&top, &rel) else {
                continue;
            };
            let mnt = self.clone_mnt(&old)?;
            self.add_mount(&point, share_inode(&old)?, old.ftype(), mnt);
        }
        Ok(top)
    }

    /// `unshare(CLONE_NEWNS)` of a process whose root is `root` (`None`: the guest root)
    /// and working directory `cwd`: a copy of its mount namespace (every mount of the tree
    /// its root lies in), as a tree of its own. Returns its root and working directory in
    /// the copy.
    pub fn unshare_mounts(
        &self,
        root: Option<&Dentry>,
        cwd: &Dentry,
    ) -> Result<(Dentry, Dentry), Errno> {
        let old_top = root.map_or_else(|| self.root.clone(), tree_top);
        let top = self.open_tree_clone(&old_top, true)?;
        let moved = |d: &Dentry| {
            if !Arc::ptr_eq(&tree_top(d).0, &old_top.0) {
                return d.clone();
            }
            self.walk_names(&top, &guest_path(d))
                .unwrap_or_else(|_| d.clone())
        };
        let new_root = root.map_or_else(|| top.clone(), moved);
        Ok((new_root, moved(cwd)))
    }

    /// The dentry at the names `rel` below `from` (mounts crossed, no symlink followed).
    pub(crate) fn walk_names(&self, from: &Dentry, rel: &[Vec<u8>]) -> Result<Dentry, Errno> {
        let mut cur = from.clone();
        for comp in rel {
            cur = self.child(&procfs::NoProcs, &cur, comp)?;
        }
        Ok(cur)
    }

    /// `move_mount(2)`: the mount whose root is `from` (attached, or a detached mount)
    /// goes onto `to`, or with `beneath` under the mount whose root `to` is; `EINVAL` if
    /// `from` is no mount root or the guest root.
    pub fn move_mount(&self, from: &Dentry, to: &Dentry, beneath: bool) -> Result<(), Errno> {
        if from.0.mnt.is_none() || Arc::ptr_eq(&from.0, &self.root.0) {
            return Err(Errno::EINVAL);
        }
        let _ns = self.ns.lock();
        self.graft(from, to, beneath)
    }

    /// Moves the mount whose root is `src` (attached, or the top of a detached tree), with
    /// the mounts on and below it, onto `at`, as Linux's `do_move_mount`; `beneath`: under
    /// the mount whose root `at` is (`MOVE_MOUNT_BENEATH`), which stays on top.
    pub(crate) fn graft(&self, src: &Dentry, at: &Dentry, beneath: bool) -> Result<(), Errno> {
        let mnt = src.0.mnt.clone().ok_or(Errno::EINVAL)?;
        if at.0.parent.is_none() {
            return Err(Errno::EINVAL);
        }
        crate::do_mount::mountable(at)?;
        let over = if beneath {
            let top = at.0.mnt.clone().ok_or(Errno::EINVAL)?;
            if Arc::ptr_eq(&top, &mnt) {
                return Err(Errno::EINVAL);
            }
            Some(top)
        } else {
            None
        };
        if src.is_dir() != at.is_dir() {
            return Err(Errno::EINVAL);
        }
        let mut cur = Some(at);
        while let Some(d) = cur {
            if d.0.mnt.as_ref().is_some_and(|m| Arc::ptr_eq(m, &mnt)) {
                return Err(Errno::ELOOP);
            }
            cur = d.0.parent.as_ref();
        }
        // Its own entry (none for a detached top) and those on and below it leave the
        // table, with their paths from its root.
        let (root, below) = {
            let mut table = self.mounts.write();
            let (own, under) = self.mounts_under(&table, src);
            if own.is_none() && src.0.parent.is_some() {
                return Err(Errno::EINVAL);
            }
            let base = own.map_or(0, |i| table[i].path.len());
            let root = own.map_or_else(|| src.clone(), |i| table[i].root.clone());
            let below: Vec<(Vec<Vec<u8>>, Dentry)> = under
                .iter()
                .map(|&k| (table[k].path[base..].to_vec(), table[k].root.clone()))
                .collect();
            // `own` comes before every index of `under`.
            for k in own.into_iter().chain(under).rev() {
                table.remove(k);
            }
            (root, below)
        };
        let over = over.as_ref();
        let new_root = self.insert_mount(at, share_inode(&root)?, root.ftype(), mnt, over);
        for (rel, old) in below {
            let point = self.walk_names(&new_root, &rel)?;
            let m = old.0.mnt.clone().ok_or(Errno::EINVAL)?;
            self.insert_mount(&point, share_inode(&old)?, old.ftype(), m, over);
        }
        Ok(())
    }

    /// `mount_setattr(2)` on the mount whose root is `d` (`EINVAL` otherwise).
    pub fn mount_setattr(&self, d: &Dentry, attr: &MountAttr) -> Result<(), Errno> {
        let Some(mnt) = &d.0.mnt else {
            return Err(Errno::EINVAL);
        };
        let _ns = self.ns.lock();
        let mut mnts: Vec<Arc<Mnt>> = vec![mnt.clone()];
        if attr.recursive {
            let table = self.mounts.read();
            let (_, below) = self.mounts_under(&table, d);
            mnts.extend(below.iter().filter_map(|&k| table[k].root.0.mnt.clone()));
        }
        // Read-only needs every mount free of writers first, as Linux's
        // `mount_setattr_prepare`.
        let busy = |m: &Arc<Mnt>| {
            m.flags() & MS_RDONLY == 0 && m.writers.load(std::sync::atomic::Ordering::Relaxed) > 0
        };
        if attr.set & MS_RDONLY != 0 && mnts.iter().any(busy) {
            return Err(Errno::EBUSY);
        }
        for m in mnts {
            m.set_flags((m.flags() & !attr.clear) | attr.set)?;
            if attr.propagation != 0 {
                m.propagation.lock().set(attr.propagation);
            }
        }
        Ok(())
    }
}
