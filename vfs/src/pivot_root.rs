//! `pivot_root(2)`: the mount `new_root` names becomes the caller's root mount, and the old
//! root mount moves to `put_old`, as Linux's (`fs/namespace.c`).
//!
//! In the caller's mount tree (its namespace), with `root` its root: `new_root` and
//! `put_old` are directories (`ENOTDIR`); `new_root` or `put_old` on the root's own mount
//! is `EBUSY`; `EINVAL` if the root or `new_root` is no mount root, or is the top of its
//! tree (as Linux's rootfs: uml's guest root is one, so a process pivots inside a mount
//! it chrooted into), if `new_root` lies in another tree, if `put_old` is not at or below
//! `new_root` or `new_root` not below the root, or if the mount `put_old` lies on or the
//! parent of either mount is shared. The new root's mount takes the old root's mount
//! point, with the mounts on and below it; the old root's mount, with the rest of the
//! mounts below it, goes onto `put_old` ([`Vfs::pivot_root`]). Processes whose root or
//! working directory was the old root are moved to the new one by the caller (Linux's
//! `chroot_fs_refs`, [`Pivot::moved`]).

use abi::Errno;

use crate::dentry::Dentry;
use crate::do_mount::share_inode;
use crate::mount::tree_top;
use crate::{Arc, At, Vfs};

/// What a `pivot_root` changed: the old root and the new root's old and new dentries.
pub struct Pivot {
    old_root: Dentry,
    new_root_before: Dentry,
    new_root: Dentry,
}

impl Pivot {
    /// Where a process's root or working directory `d` goes: the new root for the old
    /// root (and for the new root's dentry from before), `None` for anything else.
    pub fn moved(&self, d: &Dentry) -> Option<Dentry> {
        (Arc::ptr_eq(&d.0, &self.old_root.0) || Arc::ptr_eq(&d.0, &self.new_root_before.0))
            .then(|| self.new_root.clone())
    }
}

/// Whether `ancestor` is `d` or lies on `d`'s parent chain.
fn reaches(ancestor: &Dentry, d: &Dentry) -> bool {
    let mut cur = Some(d);
    while let Some(x) = cur {
        if Arc::ptr_eq(&x.0, &ancestor.0) {
            return true;
        }
        cur = x.0.parent.as_ref();
    }
    false
}

/// Whether the mount `d` lies on is shared (has a peer group).
fn shared(d: &Dentry) -> bool {
    d.mount()
        .is_some_and(|m| m.propagation.lock().peer_group != 0)
}

impl Vfs {
    /// `pivot_root(new_root, put_old)` of a process whose root is `base.root` (`None`:
    /// the guest root), paths resolved from `base`. The caller checked `CAP_SYS_ADMIN`.
    pub fn pivot_root(
        &self,
        base: At<'_>,
        new_root: &[u8],
        put_old: &[u8],
    ) -> Result<Pivot, Errno> {
        let new = self.walk(base, new_root, true, &mut 0)?;
        if !new.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let old = self.walk(base, put_old, true, &mut 0)?;
        if !old.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let root = base.root.cloned().unwrap_or_else(|| self.root.clone());
        let _ns = self.ns.lock();
        if !Arc::ptr_eq(&tree_top(&new).0, &tree_top(&root).0) {
            return Err(Errno::EINVAL);
        }
        if shared(&old) || new.0.parent.as_ref().is_some_and(shared) {
            return Err(Errno::EINVAL);
        }
        if root.0.parent.as_ref().is_some_and(shared) {
            return Err(Errno::EINVAL);
        }
        let root_mnt = root.mount().ok_or(Errno::EINVAL)?;
        let same = |d: &Dentry| d.mount().is_some_and(|m| Arc::ptr_eq(m, root_mnt));
        if same(&new) || same(&old) {
            return Err(Errno::EBUSY);
        }
        if root.0.mnt.is_none() || root.0.parent.is_none() {
            return Err(Errno::EINVAL);
        }
        if new.0.mnt.is_none() || new.0.parent.is_none() {
            return Err(Errno::EINVAL);
        }
        if !reaches(&new, &old) || !reaches(&root, &new) {
            return Err(Errno::EINVAL);
        }
        let new_root = self.swap_mounts(&root, &new, &old)?;
        Ok(Pivot {
            old_root: root,
            new_root_before: new,
            new_root,
        })
    }

    /// Moves the mount whose root is `new` (below the mount whose root is `root`), with
    /// the mounts on and below it, onto `root`'s mount point, and the mount of `root`,
    /// with the rest of the mounts below it, onto `put_old` (at or below `new`). Returns
    /// the new root.
    fn swap_mounts(&self, root: &Dentry, new: &Dentry, put_old: &Dentry) -> Result<Dentry, Errno> {
        type Moved = Vec<(Vec<Vec<u8>>, Dentry)>;
        // Both mounts and those below them leave the table, with their paths from the
        // mount they go with.
        let (old_mounts, new_mounts): (Moved, Moved) = {
            let mut table = self.mounts.write();
            let (Some(r), under_r) = self.mounts_under(&table, root) else {
                return Err(Errno::EINVAL);
            };
            let (Some(n), under_n) = self.mounts_under(&table, new) else {
                return Err(Errno::EINVAL);
            };
            let (r_base, n_base) = (table[r].path.len(), table[n].path.len());
            let mine = |k: &usize| *k == n || under_n.contains(k);
            let rel =
                |k: usize, base: usize| (table[k].path[base..].to_vec(), table[k].root.clone());
            let news: Moved = std::iter::once(n)
                .chain(under_n.iter().copied())
                .map(|k| rel(k, n_base))
                .collect();
            let olds: Moved = std::iter::once(r)
                .chain(under_r.iter().copied().filter(|k| !mine(k)))
                .map(|k| rel(k, r_base))
                .collect();
            let mut gone: Vec<usize> = std::iter::once(r).chain(under_r).collect();
            gone.sort_unstable();
            for k in gone.into_iter().rev() {
                table.remove(k);
            }
            (olds, news)
        };
        // `put_old` from `new`, the mount root it is below.
        let put_old_rel = {
            let mut names = Vec::new();
            let mut cur = put_old;
            while !Arc::ptr_eq(&cur.0, &new.0) {
                names.push(cur.0.name.clone());
                cur = cur.0.parent.as_ref().ok_or(Errno::EINVAL)?;
            }
            names.reverse();
            names
        };
        let new_root = self.reattach(root, new_mounts)?;
        let point = self.walk_names(&new_root, &put_old_rel)?;
        self.reattach(&point, old_mounts)?;
        Ok(new_root)
    }

    /// Mounts the first of `mounts` on `at` and the others at their names below it, in
    /// order; returns the first one's new root.
    fn reattach(&self, at: &Dentry, mounts: Vec<(Vec<Vec<u8>>, Dentry)>) -> Result<Dentry, Errno> {
        let mut top: Option<Dentry> = None;
        for (rel, old) in mounts {
            let point = match &top {
                None => at.clone(),
                Some(t) => self.walk_names(t, &rel)?,
            };
            let m = old.0.mnt.clone().ok_or(Errno::EINVAL)?;
            let d = self.insert_mount(&point, share_inode(&old)?, old.ftype(), m, None);
            top.get_or_insert(d);
        }
        top.ok_or(Errno::EINVAL)
    }
}
