//! Path walk: the kernel's own resolution, component by component.
//!
//! `..` at the guest root stays there, absolute symlink targets start again at the guest
//! root, at most [`MAXSYMLINKS`] links are followed in one walk (`ELOOP`), a component longer
//! than [`NAME_MAX`] is `ENAMETOOLONG`, as is a path of [`PATH_MAX`] bytes or more. Host
//! objects are only ever reached through `HostNode::lookup` (one component, `O_NOFOLLOW`),
//! so nothing a guest names can resolve outside the root. `openat2`'s `RESOLVE_*` flags
//! ([`At::resolve`]) restrict a walk: no mount crossings, no (magic) symlinks, nothing
//! outside the start directory.

use abi::flags::mount::MS_NOSYMFOLLOW;
use abi::flags::{resolve, MAXSYMLINKS, NAME_MAX, PATH_MAX};
use abi::Errno;

use crate::dentry::{Dentry, Inode};
use crate::procfs::{self, At, ProcSource};
use crate::{overlay, Vfs};

/// The last component of a path whose parent was walked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Last {
    /// A plain name.
    Norm(Vec<u8>),
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// The path was `/` (or only slashes).
    Root,
}

/// A walked parent: the directory, what is left to create or remove in it, and whether
/// the path ended with a slash.
pub(crate) struct Parent {
    pub dir: Dentry,
    pub last: Last,
    pub trailing_slash: bool,
}

fn check_len(path: &[u8]) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// A step of a walk from `from` to `to`: `EXDEV` if it changes mounts under
/// `RESOLVE_NO_XDEV`.
fn cross(base: At<'_>, from: &Dentry, to: &Dentry) -> Result<(), Errno> {
    if base.resolve & resolve::NO_XDEV == 0 {
        return Ok(());
    }
    let same = match (from.mount(), to.mount()) {
        (None, None) => true,
        (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(Errno::EXDEV)
    }
}

impl Vfs {
    /// The child `name` of directory `dir` (a mount root if one is mounted there), as
    /// `procs` sees it.
    pub(crate) fn child(
        &self,
        procs: &dyn ProcSource,
        dir: &Dentry,
        name: &[u8],
    ) -> Result<Dentry, Errno> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if let Some(m) = self.bound(dir, name) {
            if let Some(mnt) = &m.0.mnt {
                mnt.used();
            }
            return Ok(m);
        }
        match &dir.0.inode {
            Inode::Host(h) => {
                let c = h.lookup(name)?.ok_or(Errno::ENOENT)?;
                let ft = c.ftype;
                Ok(Dentry::new(Some(dir.clone()), name, Inode::Host(c), ft))
            }
            Inode::Ovl(_) => overlay::lookup(dir, name),
            Inode::Proc(p) => procfs::lookup(procs, dir, p, name),
        }
    }

    /// Like [`Vfs::child`], `None` for `ENOENT`.
    pub(crate) fn child_opt(
        &self,
        procs: &dyn ProcSource,
        dir: &Dentry,
        name: &[u8],
    ) -> Result<Option<Dentry>, Errno> {
        match self.child(procs, dir, name) {
            Ok(d) => Ok(Some(d)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Resolves `path` from `base` (or the root if absolute), following a final symlink if
    /// `follow`. `links` counts the symlinks followed so far. A magic link of procfs leads
    /// straight to its object.
    pub(crate) fn walk(
        &self,
        base: At<'_>,
        path: &[u8],
        follow: bool,
        links: &mut u32,
    ) -> Result<Dentry, Errno> {
        self.walk_from(base, path, follow, links, true)
    }

    /// [`Vfs::walk`]; `ends` says whether the end of `path` ends the whole walk (it is not
    /// the target of a symlink met on the way), whose final symlink the link protections
    /// check ([`Vfs::may_follow_link`]).
    fn walk_from(
        &self,
        base: At<'_>,
        path: &[u8],
        follow: bool,
        links: &mut u32,
        ends: bool,
    ) -> Result<Dentry, Errno> {
        check_len(path)?;
        let mut cur = if path[0] == b'/' {
            if base.resolve & resolve::BENEATH != 0 {
                return Err(Errno::EXDEV);
            }
            base.root.unwrap_or(&self.root).clone()
        } else {
            base.dir.clone()
        };
        let trailing = path.ends_with(b"/");
        let comps: Vec<&[u8]> = path
            .split(|&c| c == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        for (i, &comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            if !cur.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            self.may_search(&self.who(&base), &cur)?;
            match comp {
                b"." => continue,
                b".." => {
                    // `..` of the caller's root is the root itself (an escape for
                    // `RESOLVE_BENEATH`).
                    if base.root.is_some_and(|r| cur.same_inode(r)) {
                        if base.resolve & resolve::BENEATH != 0 {
                            return Err(Errno::EXDEV);
                        }
                    } else {
                        let up = cur.parent_or_self();
                        cross(base, &cur, &up)?;
                        cur = up;
                    }
                    continue;
                }
                _ => {}
            }
            let child = self.child(base.procs, &cur, comp)?;
            cross(base, &cur, &child)?;
            if child.is_symlink() && (!last || follow || trailing) {
                *links += 1;
                if *links > MAXSYMLINKS {
                    return Err(Errno::ELOOP);
                }
                if last && ends {
                    self.may_follow_link(&self.who(&base), &cur, &child)?;
                }
                // Symlinks on a `nosymfollow` mount are not followed, nor any with
                // `RESOLVE_NO_SYMLINKS`.
                if base.resolve & resolve::NO_SYMLINKS != 0
                    || crate::mount::has_flag(&child, MS_NOSYMFOLLOW)
                {
                    return Err(Errno::ELOOP);
                }
                if let Some(t) = child.magic() {
                    // Linux's `nd_jump_link`: no magic links for `RESOLVE_NO_MAGICLINKS`,
                    // nor for scoped lookups, whose root they could leave.
                    if base.resolve & resolve::NO_MAGICLINKS != 0 {
                        return Err(Errno::ELOOP);
                    }
                    if base.resolve & (resolve::BENEATH | resolve::IN_ROOT) != 0 {
                        return Err(Errno::EXDEV);
                    }
                    let to = procfs::follow(&child, t);
                    cross(base, &cur, &to)?;
                    cur = to;
                    continue;
                }
                let target = child.readlink()?;
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                if target[0] == b'/' {
                    cross(base, &cur, base.root.unwrap_or(&self.root))?;
                }
                cur = self.walk_from(base.with(&cur), &target, true, links, last && ends)?;
                continue;
            }
            cur = child;
        }
        if trailing && !cur.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }

    /// Walks every component of `path` but the last.
    pub(crate) fn walk_parent(&self, base: At<'_>, path: &[u8]) -> Result<Parent, Errno> {
        check_len(path)?;
        let trailing_slash = path.ends_with(b"/");
        let end = path.iter().rposition(|&c| c != b'/').map_or(0, |i| i + 1);
        let trimmed = &path[..end];
        if trimmed.is_empty() {
            if base.resolve & resolve::BENEATH != 0 {
                return Err(Errno::EXDEV);
            }
            return Ok(Parent {
                dir: base.root.unwrap_or(&self.root).clone(),
                last: Last::Root,
                trailing_slash: true,
            });
        }
        let (dirpart, name) = match trimmed.iter().rposition(|&c| c == b'/') {
            Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
            None => (&b""[..], trimmed),
        };
        let dir = if dirpart.is_empty() {
            base.dir.clone()
        } else {
            self.walk(base, dirpart, true, &mut 0)?
        };
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let last = match name {
            b"." => Last::Dot,
            b".." => Last::DotDot,
            n if n.len() > NAME_MAX => return Err(Errno::ENAMETOOLONG),
            n => Last::Norm(n.to_vec()),
        };
        if last != Last::Dot && last != Last::DotDot {
            self.may_search(&self.who(&base), &dir)?;
        }
        Ok(Parent {
            dir,
            last,
            trailing_slash,
        })
    }
}
