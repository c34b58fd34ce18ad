//! Extended attributes, stored with the overlay's in-memory inodes (a lower file gets its
//! own copy up on the first change; host files of `--rw` and `-v` keep none here).
//!
//! Namespaces as Linux's: `user.*` on regular files and directories, by the file's read
//! (get) and write (set, remove) permission; `trusted.*` for a caller holding
//! `CAP_SYS_ADMIN` only (others neither see nor set them); `security.*` readable by all,
//! set by the privileged; `system.*` (ACLs) and unknown prefixes are `EOPNOTSUPP`.

use abi::flags::mode::{S_IFDIR, S_IFMT, S_IFREG};
use abi::Errno;

use crate::dentry::Inode;
use crate::{overlay, Dentry, FsCred, Vfs};

/// Largest value (`XATTR_SIZE_MAX`).
pub const XATTR_SIZE_MAX: usize = 65536;
/// `XATTR_CREATE`: fail if it exists.
pub const XATTR_CREATE: i32 = 1;
/// `XATTR_REPLACE`: fail unless it exists.
pub const XATTR_REPLACE: i32 = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Space {
    User,
    Trusted,
    Security,
}

fn space(name: &[u8]) -> Result<Space, Errno> {
    let (prefix, rest): (Space, &[u8]) = if let Some(r) = name.strip_prefix(b"user.") {
        (Space::User, r)
    } else if let Some(r) = name.strip_prefix(b"trusted.") {
        (Space::Trusted, r)
    } else if let Some(r) = name.strip_prefix(b"security.") {
        (Space::Security, r)
    } else {
        return Err(Errno::EOPNOTSUPP);
    };
    if rest.is_empty() {
        return Err(Errno::EINVAL);
    }
    Ok(prefix)
}

impl Vfs {
    /// Whether `who` may read (`write: false`) or change the attribute `name` of `d`.
    fn xattr_permission(
        &self,
        who: &FsCred<'_>,
        d: &Dentry,
        name: &[u8],
        write: bool,
    ) -> Result<(), Errno> {
        let sp = space(name)?;
        if write && crate::mount::read_only(d) {
            return Err(Errno::EROFS);
        }
        if write {
            crate::fileattr::check_pinned(d)?;
        }
        match sp {
            Space::Trusted | Space::Security if write && !who.privileged() => Err(Errno::EPERM),
            Space::Trusted if !who.privileged() => Err(Errno::ENODATA),
            Space::User => {
                let kind = d.stat()?.st_mode & S_IFMT;
                if kind != S_IFREG && kind != S_IFDIR {
                    return Err(if write { Errno::EPERM } else { Errno::ENODATA });
                }
                self.check(who, d, if write { 2 } else { 4 })
            }
            _ => Ok(()),
        }
    }

    /// The value of attribute `name` of `d`.
    pub fn getxattr(&self, who: &FsCred<'_>, d: &Dentry, name: &[u8]) -> Result<Vec<u8>, Errno> {
        self.xattr_permission(who, d, name, false)?;
        overlay::upper(d)
            .and_then(|u| u.inner.lock().xattrs.get(name).cloned())
            .ok_or(Errno::ENODATA)
    }

    /// The names of `d`'s attributes `who` may see, each followed by a NUL.
    pub fn listxattr(&self, who: &FsCred<'_>, d: &Dentry) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        if let Some(u) = overlay::upper(d) {
            for name in u.inner.lock().xattrs.keys() {
                if space(name) == Ok(Space::Trusted) && !who.privileged() {
                    continue;
                }
                out.extend_from_slice(name);
                out.push(0);
            }
        }
        Ok(out)
    }

    /// Sets attribute `name` of `d` to `value` (`XATTR_CREATE`, `XATTR_REPLACE`).
    pub fn setxattr(
        &self,
        who: &FsCred<'_>,
        d: &Dentry,
        name: &[u8],
        value: &[u8],
        flags: i32,
    ) -> Result<(), Errno> {
        if value.len() > XATTR_SIZE_MAX {
            return Err(Errno::E2BIG);
        }
        self.xattr_permission(who, d, name, true)?;
        let Inode::Ovl(_) = &d.0.inode else {
            return Err(Errno::EOPNOTSUPP);
        };
        let u = overlay::copy_up(d)?;
        let mut inner = u.inner.lock();
        let exists = inner.xattrs.contains_key(name);
        if flags & XATTR_CREATE != 0 && exists {
            return Err(Errno::EEXIST);
        }
        if flags & XATTR_REPLACE != 0 && !exists {
            return Err(Errno::ENODATA);
        }
        inner.xattrs.insert(name.to_vec(), value.to_vec());
        drop(inner);
        crate::notify::attrib(d, abi::flags::inotify::IN_ATTRIB);
        Ok(())
    }

    /// Removes attribute `name` of `d`.
    pub fn removexattr(&self, who: &FsCred<'_>, d: &Dentry, name: &[u8]) -> Result<(), Errno> {
        self.xattr_permission(who, d, name, true)?;
        let Some(u) = overlay::upper(d) else {
            return Err(Errno::ENODATA);
        };
        let removed = u.inner.lock().xattrs.remove(name);
        removed.ok_or(Errno::ENODATA)?;
        crate::notify::attrib(d, abi::flags::inotify::IN_ATTRIB);
        Ok(())
    }
}
