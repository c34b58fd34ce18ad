//! Landlock (Linux's `security/landlock`): unprivileged sandboxing by stacked rulesets.
//!
//! A ruleset ([`Layer`] while it is being filled through its descriptor) names the access
//! rights it *handles* (filesystem rights, TCP port rights, scopes) and, per object, the
//! rights it *grants*: a directory grants to everything beneath it, a file to itself
//! (rules are tied to inodes, by device and inode number). `landlock_restrict_self` freezes
//! it as one more layer of the calling process's [`Domain`]; a process keeps its domain
//! across `fork` and `execve` and can only add layers (at most 16).
//!
//! An access a layer handles is allowed only if some rule of that layer on the object or
//! one of its ancestors grants it, for every layer (Linux's `is_access_to_paths_allowed`);
//! a denial is `EACCES`. Linking or renaming to another directory needs
//! `LANDLOCK_ACCESS_FS_REFER` on both sides and must not give the file rights it did not
//! have where it was (`EXDEV` otherwise, as Linux's `current_check_refer_path`).
//!
//! Where the checks sit: path calls carry the caller's domain in its [`FsCred`] (`None` for
//! an unrestricted process, which therefore pays nothing), and the checks are made next to
//! uml's own permission checks ([`perm`](crate::perm)), at the points Linux's Landlock hooks
//! are called (`file_open`, `path_mknod`, `path_mkdir`, `path_unlink`, `path_rename`,
//! `path_truncate`, ...). The rights an open file may still use later (truncate, device
//! ioctls) are those it was opened with ([`OpenFile::landlock_denied`](crate::OpenFile)).
//! The syscall layer checks ports and scopes with [`Domain::check_port`] and
//! [`Domain::reaches`].

use std::collections::HashMap;

use abi::flags::landlock as ll;
use abi::flags::mode::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFSOCK};
use abi::Errno;

use crate::{Arc, Dentry, FsCred, OFlags};

/// What a rule is tied to: an inode, by (device, inode number).
type Object = (u64, u64);

/// Per layer, the rights still missing.
type Masks = [u64; ll::MAX_NUM_LAYERS];

/// A ruleset: the rights it handles and its rules (one layer of a domain once enforced).
#[derive(Clone, Debug, Default)]
pub struct Layer {
    /// Filesystem rights it handles (`handled_access_fs`).
    pub handled_fs: u64,
    /// Network rights it handles (`handled_access_net`).
    pub handled_net: u64,
    /// What it scopes (`scoped`).
    pub scoped: u64,
    fs: HashMap<Object, u64>,
    net: HashMap<u16, u64>,
}

impl Layer {
    /// An empty ruleset handling these rights.
    pub fn new(handled_fs: u64, handled_net: u64, scoped: u64) -> Layer {
        Layer {
            handled_fs,
            handled_net,
            scoped,
            ..Layer::default()
        }
    }

    /// `LANDLOCK_RULE_PATH_BENEATH`: grants `access` beneath `d` (`EINVAL` for rights a
    /// file cannot have on a non-directory). The caller checked `access` against the
    /// handled rights.
    pub fn add_path_rule(&mut self, d: &Dentry, access: u64) -> Result<(), Errno> {
        if !d.is_dir() && access & !ll::ACCESS_FILE != 0 {
            return Err(Errno::EINVAL);
        }
        let st = d.stat()?;
        *self.fs.entry((st.st_dev, st.st_ino)).or_default() |= access;
        Ok(())
    }

    /// `LANDLOCK_RULE_NET_PORT`: grants `access` on TCP port `port`.
    pub fn add_port_rule(&mut self, port: u16, access: u64) {
        *self.net.entry(port).or_default() |= access;
    }
}

/// A process's Landlock domain: its stacked layers, oldest first.
#[derive(Clone, Debug)]
pub struct Domain {
    layers: Vec<Arc<Layer>>,
}

/// The `LANDLOCK_ACCESS_FS_MAKE_*` right creating a file of type `ftype` needs.
pub fn make_access(ftype: u32) -> u64 {
    match ftype {
        S_IFDIR => ll::ACCESS_FS_MAKE_DIR,
        S_IFLNK => ll::ACCESS_FS_MAKE_SYM,
        S_IFCHR => ll::ACCESS_FS_MAKE_CHAR,
        S_IFBLK => ll::ACCESS_FS_MAKE_BLOCK,
        S_IFIFO => ll::ACCESS_FS_MAKE_FIFO,
        S_IFSOCK => ll::ACCESS_FS_MAKE_SOCK,
        _ => ll::ACCESS_FS_MAKE_REG,
    }
}

/// The `LANDLOCK_ACCESS_FS_REMOVE_*` right removing `d` needs.
fn remove_access(d: &Dentry) -> u64 {
    if d.is_dir() {
        ll::ACCESS_FS_REMOVE_DIR
    } else {
        ll::ACCESS_FS_REMOVE_FILE
    }
}

impl Domain {
    /// `parent` (`None`: no domain yet) with `layer` stacked on it; `E2BIG` past the
    /// most layers.
    pub fn stacked(parent: Option<&Domain>, layer: Layer) -> Result<Domain, Errno> {
        let mut layers = parent.map(|p| p.layers.clone()).unwrap_or_default();
        if layers.len() >= ll::MAX_NUM_LAYERS {
            return Err(Errno::E2BIG);
        }
        layers.push(Arc::new(layer));
        Ok(Domain { layers })
    }

    /// Per layer, the part of `access` it handles.
    fn handled(&self, access: u64) -> Masks {
        let mut m = [0; ll::MAX_NUM_LAYERS];
        for (m, l) in m.iter_mut().zip(&self.layers) {
            *m = access & l.handled_fs;
        }
        m
    }

    /// `missing` less what the rules on `d` and its ancestors grant (only up to its mount's
    /// root with `in_mount`).
    fn walk(&self, d: &Dentry, mut missing: Masks, in_mount: bool) -> Masks {
        let mut cur = Some(d.clone());
        while let Some(c) = cur {
            if missing.iter().all(|&m| m == 0) {
                break;
            }
            self.grant(&c, &mut missing);
            if in_mount && c.0.mnt.is_some() {
                break;
            }
            cur = c.0.parent.clone();
        }
        missing
    }

    /// `missing` less what the rules on `d` itself grant.
    fn grant(&self, d: &Dentry, missing: &mut Masks) {
        let Ok(st) = d.stat() else { return };
        for (m, l) in missing.iter_mut().zip(&self.layers) {
            if let Some(a) = l.fs.get(&(st.st_dev, st.st_ino)) {
                *m &= !a;
            }
        }
    }

    /// Of `access`, what some layer denies on `d`.
    pub(crate) fn denied(&self, d: &Dentry, access: u64) -> u64 {
        self.walk(d, self.handled(access), false)
            .iter()
            .fold(0, |a, m| a | m)
    }

    /// `EACCES` unless every layer allows `access` on `d`.
    pub(crate) fn check_path(&self, d: &Dentry, access: u64) -> Result<(), Errno> {
        if self.denied(d, access) == 0 {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// Linking (`tgt` `None`, not `removable`) or renaming `src` from `old_dir` to
    /// `new_dir` over `tgt` (swapping the two with `exchange`), as Linux's
    /// `current_check_refer_path`: the `MAKE_*`/`REMOVE_*` rights on each directory
    /// (`EACCES`), and across directories `REFER` on both and no right gained (`EXDEV`).
    pub(crate) fn check_refer(
        &self,
        (old_dir, src): (&Dentry, &Dentry),
        (new_dir, tgt): (&Dentry, Option<&Dentry>),
        exchange: bool,
        removable: bool,
    ) -> Result<(), Errno> {
        let mut req1 = match tgt {
            Some(t) if exchange => make_access(t.ftype()),
            _ => 0,
        };
        let mut req2 = make_access(src.ftype());
        if removable {
            req1 |= remove_access(src);
            req2 |= tgt.map_or(0, remove_access);
        }
        if old_dir.same_inode(new_dir) {
            return self.check_path(new_dir, req1 | req2);
        }
        let all = ll::MASK_ACCESS_FS;
        // What each side grants, up to the common mount's root.
        let left1 = self.walk(old_dir, self.handled(all), true);
        let left2 = self.walk(new_dir, self.handled(all), true);
        let deny = |left: &Masks, req: u64| left.iter().fold(0, |a, m| a | (m & req));
        let (d1, d2) = (
            deny(&left1, req1 | ll::ACCESS_FS_REFER),
            deny(&left2, req2 | ll::ACCESS_FS_REFER),
        );
        if (d1 | d2) & !ll::ACCESS_FS_REFER != 0 {
            return Err(Errno::EACCES);
        }
        if d1 | d2 != 0 {
            return Err(Errno::EXDEV);
        }
        // The moved file must not gain a right: what the new place grants (with the
        // file's own rules) the old one granted too.
        let gains = |from: &Masks, to: &Masks, moved: &Dentry| {
            let (mut from, mut to) = (*from, *to);
            self.grant(moved, &mut from);
            self.grant(moved, &mut to);
            from.iter().zip(&to).any(|(f, t)| f & !t != 0)
        };
        if gains(&left1, &left2, src) || (exchange && tgt.is_some_and(|t| gains(&left2, &left1, t)))
        {
            return Err(Errno::EXDEV);
        }
        Ok(())
    }

    /// `EACCES` unless every layer handling `access` (`LANDLOCK_ACCESS_NET_*`) grants it
    /// on TCP port `port`.
    pub fn check_port(&self, access: u64, port: u16) -> Result<(), Errno> {
        let ok = self.layers.iter().all(|l| {
            access & l.handled_net == 0
                || l.net
                    .get(&port)
                    .is_some_and(|a| a & access & l.handled_net == access & l.handled_net)
        });
        if ok {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// Whether a process in this domain may reach one in `target` for `scope`
    /// (`LANDLOCK_SCOPE_*`): each of its layers scoping it must be one of `target`'s too
    /// (the target is in the same domain or one nested in it).
    pub fn reaches(&self, target: Option<&Domain>, scope: u64) -> bool {
        self.layers.iter().enumerate().all(|(i, l)| {
            l.scoped & scope == 0
                || target
                    .and_then(|t| t.layers.get(i))
                    .is_some_and(|t| Arc::ptr_eq(t, l))
        })
    }
}

impl FsCred<'_> {
    /// `EACCES` unless its Landlock domain (if any) allows `access` on `d`.
    pub(crate) fn landlock_check(&self, d: &Dentry, access: u64) -> Result<(), Errno> {
        match self.landlock {
            Some(dom) => dom.check_path(d, access),
            None => Ok(()),
        }
    }

    /// Linux's `hook_file_open`: `EACCES` unless its domain allows opening `d` with
    /// `flags` (reading a file or a directory, writing, executing) and, with `O_TRUNC`,
    /// truncating it; the later rights (truncate, device ioctls) it denies the open file.
    pub(crate) fn landlock_open(
        &self,
        d: &Dentry,
        flags: OFlags,
        exec: bool,
    ) -> Result<u64, Errno> {
        let Some(dom) = self.landlock else {
            return Ok(0);
        };
        let request = open_access(d.ftype(), flags, exec);
        let mut optional = ll::ACCESS_FS_TRUNCATE;
        if matches!(d.ftype(), S_IFCHR | S_IFBLK) {
            optional |= ll::ACCESS_FS_IOCTL_DEV;
        }
        let denied = dom.denied(d, request | optional);
        if denied & request != 0
            || (flags.contains(OFlags::TRUNC) && denied & ll::ACCESS_FS_TRUNCATE != 0)
        {
            return Err(Errno::EACCES);
        }
        Ok(denied)
    }

    /// Linking or renaming under its domain (see [`Domain::check_refer`]).
    pub(crate) fn landlock_refer(
        &self,
        old: (&Dentry, &Dentry),
        new: (&Dentry, Option<&Dentry>),
        exchange: bool,
        removable: bool,
    ) -> Result<(), Errno> {
        match self.landlock {
            Some(dom) => dom.check_refer(old, new, exchange, removable),
            None => Ok(()),
        }
    }
}

/// The rights opening a file of type `ftype` with `flags` needs (Linux's
/// `get_required_file_open_access`): a directory is only read.
pub(crate) fn open_access(ftype: u32, flags: OFlags, exec: bool) -> u64 {
    let mut access = 0;
    if flags.readable() || exec {
        if ftype == S_IFDIR {
            return ll::ACCESS_FS_READ_DIR;
        }
        access = ll::ACCESS_FS_READ_FILE;
    }
    if flags.writable() {
        access |= ll::ACCESS_FS_WRITE_FILE;
    }
    if exec {
        access |= ll::ACCESS_FS_EXECUTE;
    }
    access
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_checked_by_every_layer_handling_them() {
        let mut l = Layer::new(0, ll::ACCESS_NET_BIND_TCP, 0);
        l.add_port_rule(80, ll::ACCESS_NET_BIND_TCP);
        let d = Domain::stacked(None, l).unwrap();
        assert!(d.check_port(ll::ACCESS_NET_BIND_TCP, 80).is_ok());
        assert_eq!(
            d.check_port(ll::ACCESS_NET_BIND_TCP, 81),
            Err(Errno::EACCES)
        );
        // Not handled: allowed.
        assert!(d.check_port(ll::ACCESS_NET_CONNECT_TCP, 81).is_ok());
        let d2 = Domain::stacked(Some(&d), Layer::new(0, ll::ACCESS_NET_BIND_TCP, 0)).unwrap();
        assert_eq!(
            d2.check_port(ll::ACCESS_NET_BIND_TCP, 80),
            Err(Errno::EACCES)
        );
    }

    #[test]
    fn a_scope_reaches_only_its_own_or_nested_domains() {
        let outer = Domain::stacked(None, Layer::new(0, 0, ll::SCOPE_SIGNAL)).unwrap();
        let inner = Domain::stacked(Some(&outer), Layer::new(1, 0, 0)).unwrap();
        assert!(outer.reaches(Some(&inner), ll::SCOPE_SIGNAL));
        assert!(outer.reaches(Some(&outer), ll::SCOPE_SIGNAL));
        assert!(!outer.reaches(None, ll::SCOPE_SIGNAL));
        assert!(outer.reaches(None, ll::SCOPE_ABSTRACT_UNIX_SOCKET));
        // The inner domain's own layer scopes nothing; the outer one's still applies.
        assert!(!inner.reaches(None, ll::SCOPE_SIGNAL));
        assert!(inner.reaches(Some(&outer), ll::SCOPE_SIGNAL));
    }

    #[test]
    fn at_most_sixteen_layers_stack() {
        let mut d = Domain::stacked(None, Layer::new(1, 0, 0)).unwrap();
        for _ in 1..ll::MAX_NUM_LAYERS {
            d = Domain::stacked(Some(&d), Layer::new(1, 0, 0)).unwrap();
        }
        assert_eq!(
            Domain::stacked(Some(&d), Layer::new(1, 0, 0)).err(),
            Some(Errno::E2BIG)
        );
    }
}
