//! Bind mounts: host directories mounted at guest paths (`uml run -v HOST:GUEST[:ro]`).
//!
//! A bind mount's root is a host directory tree reached only through it: read-write (writes
//! go to the host, under that directory only) or read-only (a cached tree, whose every
//! change is `EROFS`). It is confined as the guest root is: lookups inside it go one
//! component at a time with `O_NOFOLLOW` below the host directory, `..` from its root goes
//! to the guest directory it is mounted on, and absolute symlinks restart at the guest root.
//!
//! The mount point is a guest path, found by the names of a directory's ancestors (a
//! dentry's parent chain is its canonical guest path), so it may be nested anywhere. A
//! missing mount point (and its missing parents) is created in the overlay's upper layer;
//! on a host-backed directory (`--rw`, or inside another bind mount) it must exist.

use std::path::PathBuf;

use abi::flags::mode::S_IFDIR;
use abi::Errno;

use crate::dentry::{Dentry, Inode};
use crate::hostfs::HostNode;
use crate::tmpfs::MemData;
use crate::{overlay, Vfs, VfsError};

/// A host directory to mount in the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindMount {
    /// The host directory.
    pub host: PathBuf,
    /// Where the guest sees it: an absolute guest path other than `/`.
    pub guest: PathBuf,
    /// Changes are `EROFS` (else they are made on the host).
    pub read_only: bool,
}

/// A bind mount in place: the canonical guest path of its mount point, and its root.
pub(crate) struct Bind {
    path: Vec<Vec<u8>>,
    root: Dentry,
}

/// Whether `dir`'s canonical guest path is `comps`.
fn is_at(dir: &Dentry, comps: &[Vec<u8>]) -> bool {
    let mut cur = dir;
    for comp in comps.iter().rev() {
        match &cur.0.parent {
            Some(p) if cur.0.name == *comp => cur = p,
            _ => return false,
        }
    }
    cur.0.parent.is_none()
}

/// The names from the guest root down to `d`.
fn guest_path(d: &Dentry) -> Vec<Vec<u8>> {
    let mut names = Vec::new();
    let mut cur = d;
    while let Some(p) = &cur.0.parent {
        names.push(cur.0.name.clone());
        cur = p;
    }
    names.reverse();
    names
}

/// Whether `d` lies on a read-only bind mount (its changes are `EROFS`).
pub(crate) fn read_only(d: &Dentry) -> bool {
    matches!(&d.0.inode, Inode::Host(h) if h.is_cached())
}

impl Vfs {
    /// The root of the bind mount on `name` in `dir`, if there is one (the last one made
    /// wins).
    pub(crate) fn bound(&self, dir: &Dentry, name: &[u8]) -> Option<Dentry> {
        self.binds
            .iter()
            .rev()
            .find(|b| {
                b.path.last().is_some_and(|n| n == name) && is_at(dir, &b.path[..b.path.len() - 1])
            })
            .map(|b| b.root.clone())
    }

    /// Mounts `b.host` at `b.guest`, creating a missing mount point in the overlay.
    pub(crate) fn bind(&mut self, b: &BindMount) -> Result<(), VfsError> {
        let fail = |reason: String| VfsError::Bind {
            guest: b.guest.clone(),
            reason,
        };
        let errno = |e: Errno| fail(e.description().to_lowercase());
        let guest = std::os::unix::ffi::OsStrExt::as_bytes(b.guest.as_os_str());
        if guest.first() != Some(&b'/') {
            return Err(fail("not an absolute path".into()));
        }
        let host = HostNode::open_root(&b.host, b.read_only)
            .map_err(|e| fail(format!("{}: {e}", b.host.display())))?;
        if !host.is_dir() {
            return Err(fail(format!("{} is not a directory", b.host.display())));
        }
        let mut cur = self.root.clone();
        for comp in guest.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
            if comp == b"." || comp == b".." {
                return Err(fail("`.` and `..` are not allowed".into()));
            }
            let next = match self.walk((&cur).into(), comp, true, &mut 0) {
                Err(Errno::ENOENT) if matches!(cur.0.inode, Inode::Ovl(_)) => {
                    let data = MemData::Dir {
                        entries: Default::default(),
                        opaque: true,
                    };
                    overlay::create(&cur, comp, S_IFDIR | 0o755, (self.uid, self.gid), data)
                        .map_err(errno)?;
                    self.child(&crate::procfs::NoProcs, &cur, comp)
                        .map_err(errno)?
                }
                r => r.map_err(errno)?,
            };
            if !next.is_dir() {
                return Err(errno(Errno::ENOTDIR));
            }
            cur = next;
        }
        let Some(parent) = cur.0.parent.clone() else {
            return Err(fail("cannot mount over /".into()));
        };
        let root = Dentry::new_mount(parent, &cur.0.name, Inode::Host(host));
        self.binds.push(Bind {
            path: guest_path(&cur),
            root,
        });
        Ok(())
    }
}
