//! `mount(2)` and `umount2(2)`: the guest's own mounts, in uml's mount table
//! ([`mount`](crate::mount)). Nothing is ever mounted on the host.
//!
//! `mount` takes, in Linux's order (`path_mount`): `MS_REMOUNT` (with `MS_BIND`: the
//! per-mount flags only; without: the flags and a tmpfs's `size=`/`mode=`), `MS_BIND` (a
//! guest file or directory mounted again elsewhere, sharing its inode and the source
//! mount's flags), the propagation types (`MS_SHARED`, `MS_PRIVATE`, `MS_SLAVE`,
//! `MS_UNBINDABLE`: peer groups and masters kept per mount, with `MS_REC` for those below,
//! and shown; nothing propagates), `MS_MOVE` (a mount root and the mounts on and below it
//! move, [`mount_tree`](crate::mount_tree)), and new mounts of the types uml has: `tmpfs`
//! (an empty in-memory file system; `size=` limits its files with `ENOSPC`, `mode=`,
//! `uid=`, `gid=` set its root, `nr_inodes=`, `huge=`, `mpol=`, `inode32`/`inode64`,
//! `noswap` are accepted), `proc`, `sysfs`, and `ext2`/`ext3`/`ext4` from a loop device
//! ([`blockfs`](crate::blockfs)); any other type is `ENODEV`; the same disk file system
//! again on its own mount root is `EBUSY`. Nothing is mounted on a procfs magic link
//! (`ENOENT`), which a target reached through a magic link to an `O_PATH` descriptor of one
//! is. The per-mount flags are described in
//! [`mount`](crate::mount).
//!
//! `umount2` removes the mount on the target, the topmost one there (`EINVAL` if it is no
//! mount root): `EBUSY` while it is in use (anything holds a dentry below its root: a
//! working directory, an open file, a mount on top of one of its directories), unless
//! `MNT_DETACH`, which removes it and the mounts below it at once (their users keep what
//! they hold).
//! `MNT_EXPIRE` marks first (`EAGAIN`) and unmounts at the second call if nothing used the
//! mount in between; `MNT_FORCE` is accepted; `UMOUNT_NOFOLLOW` does not follow a final
//! symlink.
//!
//! Not implemented: `MS_REC` copies of the mounts below a bind mount's source (only the
//! source's own file system is bound; `open_tree(AT_RECURSIVE)` copies them), `size=N%`
//! (accepted, no limit), and remounting a tmpfs below what it holds.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use abi::flags::mode::S_IFDIR;
use abi::flags::mount::*;
use abi::Errno;

use crate::blockfs::{self, DiskType, Space};
use crate::dentry::{Dentry, Inode, OvlFs, OvlNode};
use crate::mount::{Mnt, SbKind, SuperBlock, MNT_FLAGS};
use crate::tmpfs::{DevKind, MemData, MemInode};
use crate::{overlay, procfs, At, Vfs};

/// What `mount(2)` was given besides the target.
#[derive(Clone, Copy, Debug, Default)]
pub struct MountArgs<'a> {
    /// The source (a device, a directory to bind, or any name).
    pub source: Option<&'a [u8]>,
    /// The file system type.
    pub fstype: Option<&'a [u8]>,
    /// `MS_*` flags.
    pub flags: u64,
    /// The options string (`data`), up to its NUL.
    pub data: Option<&'a [u8]>,
}

const ATIME_FLAGS: u64 = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
const PROPAGATION: u64 = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

/// The per-mount flags `mount` asks for (relatime unless told otherwise, as Linux).
fn mnt_flags(flags: u64) -> u64 {
    let mut f = flags & MNT_FLAGS;
    if flags & (MS_NOATIME | MS_STRICTATIME) == 0 {
        f |= MS_RELATIME;
    }
    if flags & MS_STRICTATIME != 0 {
        f &= !(MS_RELATIME | MS_NOATIME);
    }
    f
}

/// Whether something may be mounted on `at`: not on a procfs magic link (`ENOENT`), which
/// a mount point reached through a magic link to an `O_PATH` descriptor of one would be
/// (Linux's `cant_mount`).
pub(crate) fn mountable(at: &Dentry) -> Result<(), Errno> {
    match at.magic() {
        Some(_) => Err(Errno::ENOENT),
        None => Ok(()),
    }
}

/// A tmpfs's options.
struct TmpfsOptions {
    size: Option<u64>,
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
}

fn parse_size(v: &str) -> Result<Option<u64>, Errno> {
    if v.ends_with('%') {
        return Ok(None);
    }
    let (num, mult) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 1 << 30),
        Some(b't' | b'T') => (&v[..v.len() - 1], 1 << 40),
        _ => (v, 1),
    };
    let n: u64 = num.parse().map_err(|_| Errno::EINVAL)?;
    // size=0 means no limit, as Linux's tmpfs.
    Ok(n.checked_mul(mult).filter(|&b| b > 0))
}

fn parse_tmpfs(data: Option<&[u8]>) -> Result<TmpfsOptions, Errno> {
    let mut o = TmpfsOptions {
        size: None,
        mode: None,
        uid: None,
        gid: None,
    };
    let text = std::str::from_utf8(data.unwrap_or_default()).map_err(|_| Errno::EINVAL)?;
    for opt in text.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
        let num = |v: &str| v.parse::<u32>().map_err(|_| Errno::EINVAL);
        match k {
            "size" => o.size = parse_size(v)?,
            "mode" => o.mode = Some(u32::from_str_radix(v, 8).map_err(|_| Errno::EINVAL)?),
            "uid" => o.uid = Some(num(v)?),
            "gid" => o.gid = Some(num(v)?),
            "nr_inodes" | "nr_blocks" | "huge" | "mpol" => {}
            "inode32" | "inode64" | "noswap" => {}
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(o)
}

/// Whether a tmpfs takes the options of `data` (`EINVAL` otherwise).
pub(crate) fn check_tmpfs_options(data: &[u8]) -> Result<(), Errno> {
    parse_tmpfs(Some(data)).map(|_| ())
}

/// Applies a tmpfs's new `size=` (from `data`, a remount's options) to `sb`; nothing for
/// other types.
pub(crate) fn reconfigure_tmpfs(sb: &SuperBlock, data: Option<&[u8]>) -> Result<(), Errno> {
    if let SbKind::Tmpfs(fs, _) = &sb.kind {
        let o = parse_tmpfs(data)?;
        if let (Some(space), Some(size)) = (&fs.space, o.size) {
            space.capacity.store(size, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// `/proc/mounts` options of a tmpfs (Linux's `shmem_show_options`).
fn tmpfs_shown(o: &TmpfsOptions, mode: u32, uid: u32, gid: u32) -> String {
    let mut s = String::new();
    if let Some(b) = o.size {
        s += &format!(",size={}k", b.div_ceil(1024));
    }
    if mode != 0o1777 {
        s += &format!(",mode={mode:o}");
    }
    if uid != 0 {
        s += &format!(",uid={uid}");
    }
    if gid != 0 {
        s += &format!(",gid={gid}");
    }
    s
}

impl Vfs {
    /// `mount(2)` on `target` (resolved from `base`); `privileged`: the caller has
    /// `CAP_SYS_ADMIN` (`EPERM` otherwise, after the target is resolved, as Linux).
    pub fn mount(
        &self,
        base: At<'_>,
        target: &[u8],
        args: &MountArgs<'_>,
        privileged: bool,
    ) -> Result<(), Errno> {
        let mut flags = args.flags;
        if flags & MS_MGC_MSK == MS_MGC_VAL {
            flags &= !MS_MGC_MSK;
        }
        let at = self.walk(base, target, true, &mut 0)?;
        if flags & MS_NOUSER != 0 {
            return Err(Errno::EINVAL);
        }
        if !privileged {
            return Err(Errno::EPERM);
        }
        let _ns = self.ns.lock();
        if flags & MS_REMOUNT != 0 {
            return self.remount(&at, flags, args.data);
        }
        if flags & MS_BIND != 0 {
            return self.bind_mount(base, &at, args.source);
        }
        if flags & PROPAGATION != 0 {
            let kinds = (flags & PROPAGATION).count_ones();
            if !at.is_root() || kinds != 1 || flags & !(PROPAGATION | MS_REC | MS_SILENT) != 0 {
                return Err(Errno::EINVAL);
            }
            let attr = crate::MountAttr {
                propagation: flags & PROPAGATION,
                recursive: flags & MS_REC != 0,
                ..Default::default()
            };
            drop(_ns);
            return self.mount_setattr(&at, &attr);
        }
        if flags & MS_MOVE != 0 {
            return self.move_mount_path(base, &at, args.source);
        }
        self.new_mount(base, &at, args, flags)
    }

    fn remount(&self, at: &Dentry, flags: u64, data: Option<&[u8]>) -> Result<(), Errno> {
        let Some(mnt) = &at.0.mnt else {
            return Err(Errno::EINVAL);
        };
        let mut new = mnt_flags(flags);
        if flags & ATIME_FLAGS == 0 {
            new = (new & !ATIME_FLAGS) | (mnt.flags() & ATIME_FLAGS);
        }
        if flags & MS_BIND == 0 {
            let ro = flags & MS_RDONLY != 0;
            mnt.sb.set_read_only(ro)?;
            reconfigure_tmpfs(&mnt.sb, data)?;
        }
        mnt.set_flags(new)
    }

    fn bind_mount(&self, base: At<'_>, at: &Dentry, source: Option<&[u8]>) -> Result<(), Errno> {
        let source = source.filter(|s| !s.is_empty()).ok_or(Errno::EINVAL)?;
        let src = self.walk(base, source, true, &mut 0)?;
        if src.is_dir() != at.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mnt = self.clone_mnt(&src)?;
        self.place(at, share_inode(&src)?, src.ftype(), mnt)
    }

    /// A new mount of the file system `src` lies on, with that mount's flags.
    pub(crate) fn clone_mnt(&self, src: &Dentry) -> Result<Arc<Mnt>, Errno> {
        let from = src.mount().ok_or(Errno::EINVAL)?;
        let rel = crate::mount::guest_path(src);
        let base = crate::mount::guest_path(&crate::mount::mount_root(src)).len();
        Ok(Mnt::cloned(self.next_mnt_id(), from, &rel[base..]))
    }

    /// Mounts `inode` on `at` (`EINVAL` on the top of a tree).
    fn place(&self, at: &Dentry, inode: Inode, ftype: u32, mnt: Arc<Mnt>) -> Result<(), Errno> {
        if at.0.parent.is_none() {
            return Err(Errno::EINVAL);
        }
        mountable(at)?;
        self.add_mount(at, inode, ftype, mnt);
        Ok(())
    }

    /// `MS_MOVE`: the mount whose root `source` names, and the mounts on and below it, move
    /// to `at`.
    fn move_mount_path(
        &self,
        base: At<'_>,
        at: &Dentry,
        source: Option<&[u8]>,
    ) -> Result<(), Errno> {
        let source = source.filter(|s| !s.is_empty()).ok_or(Errno::EINVAL)?;
        let src = self.walk(base, source, true, &mut 0)?;
        if src.0.mnt.is_none() || src.0.parent.is_none() {
            return Err(Errno::EINVAL);
        }
        self.graft(&src, at, false)
    }

    fn new_mount(
        &self,
        base: At<'_>,
        at: &Dentry,
        args: &MountArgs<'_>,
        flags: u64,
    ) -> Result<(), Errno> {
        let fstype = args.fstype.ok_or(Errno::EINVAL)?;
        let (sb, inode) = self.make_fs(base, fstype, args.source, args.data, flags)?;
        if !at.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        // The same file system on the same mount point again (Linux's `do_add_mount`).
        if at.0.mnt.as_ref().is_some_and(|m| m.sb.same_fs(&sb)) {
            return Err(Errno::EBUSY);
        }
        let id = self.next_mnt_id();
        self.place(at, inode, S_IFDIR, Mnt::new(id, mnt_flags(flags), sb))
    }

    /// A new file system of type `fstype` (`ENODEV` for a type uml lacks): its super block
    /// and root. `flags`: the `MS_*` flags (`MS_RDONLY` makes the file system read-only).
    pub(crate) fn make_fs(
        &self,
        base: At<'_>,
        fstype: &[u8],
        source: Option<&[u8]>,
        data: Option<&[u8]>,
        flags: u64,
    ) -> Result<(Arc<SuperBlock>, Inode), Errno> {
        let anon_dev = abi::structs::makedev(0, 0x40 + (self.next_mnt_id() as u32 & 0xfff));
        let shared = &self.memfd.shared;
        let (kind, fstype, inode): (SbKind, &'static str, Inode) = match fstype {
            b"tmpfs" => {
                let o = parse_tmpfs(data)?;
                let who = self.who(&base);
                let mode = o.mode.unwrap_or(0o1777) & 0o7777;
                let (uid, gid) = (o.uid.unwrap_or(who.fsuid), o.gid.unwrap_or(who.fsgid));
                let root = MemInode::new_dir(shared.ino(), anon_dev, mode, uid, gid);
                let fs = Arc::new(OvlFs {
                    dev: anon_dev,
                    shared: shared.clone(),
                    space: o.size.map(|s| Space::new(s, root.clone())),
                    io: None,
                    format: None,
                });
                let shown = tmpfs_shown(&o, mode, uid, gid);
                let node = OvlNode::new(Some(root), None, fs.clone());
                (SbKind::Tmpfs(fs, shown), "tmpfs", Inode::Ovl(node))
            }
            b"proc" => (SbKind::Proc, "proc", procfs::root_inode()),
            b"sysfs" => {
                let fs = Arc::new(OvlFs::new(anon_dev, shared.clone()));
                let top = MemInode::new_dir(1, anon_dev, 0o555, 0, 0);
                top.add_links(1);
                crate::sysfs::populate(&top, anon_dev, shared);
                (
                    SbKind::Sysfs,
                    "sysfs",
                    Inode::Ovl(OvlNode::new(Some(top), None, fs)),
                )
            }
            name => {
                let ty = DiskType::of(name).ok_or(Errno::ENODEV)?;
                let src = source.filter(|s| !s.is_empty()).ok_or(Errno::EINVAL)?;
                let dev = self.walk(base, src, true, &mut 0)?;
                if dev.ftype() != abi::flags::mode::S_IFBLK {
                    return Err(Errno::ENOTBLK);
                }
                if crate::mount::has_flag(&dev, MS_NODEV) {
                    return Err(Errno::EACCES);
                }
                let n = match overlay::upper(&dev).map(|u| u.inner.lock().data_dev()) {
                    Some(Some(DevKind::Loop(n))) => n,
                    _ => return Err(Errno::ENXIO),
                };
                let device = self.loops.get_or_probe(n)?;
                let disk = blockfs::disk_fs(&device, ty, shared)?;
                if device.read_only() && flags & MS_RDONLY == 0 {
                    return Err(Errno::EACCES);
                }
                let node = OvlNode::new(Some(disk.root.clone()), None, disk.fs.clone());
                (SbKind::Disk(disk), ty.name(), Inode::Ovl(node))
            }
        };
        let sb = Arc::new(SuperBlock {
            fstype,
            source: source.unwrap_or(b"none").to_vec(),
            kind,
            read_only: (flags & MS_RDONLY != 0).into(),
            writers: 0.into(),
        });
        Ok((sb, inode))
    }

    /// `umount2(2)`; `privileged`: the caller has `CAP_SYS_ADMIN` (`EPERM` otherwise,
    /// checked before the target is resolved, as Linux).
    pub fn umount(
        &self,
        base: At<'_>,
        target: &[u8],
        flags: u32,
        privileged: bool,
    ) -> Result<(), Errno> {
        if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
            return Err(Errno::EINVAL);
        }
        if !privileged {
            return Err(Errno::EPERM);
        }
        let d = self.walk(base, target, flags & UMOUNT_NOFOLLOW == 0, &mut 0)?;
        // The topmost mount there, as Linux's `LOOKUP_MOUNTPOINT` (a walk that starts at a
        // mount root, the caller's root, does not cross the mounts stacked on it).
        let d = match &d.0.parent {
            Some(p) if d.0.mnt.is_some() => self.bound(p, &d.0.name).unwrap_or(d),
            _ => d,
        };
        let _ns = self.ns.lock();
        let mut table = self.mounts.write();
        let Some(i) = table.iter().rposition(|m| Arc::ptr_eq(&m.root.0, &d.0)) else {
            return Err(if d.0.parent.is_none() && flags & MNT_DETACH == 0 {
                Errno::EBUSY
            } else {
                Errno::EINVAL
            });
        };
        if flags & MNT_EXPIRE != 0 {
            if flags & (MNT_FORCE | MNT_DETACH) != 0 {
                return Err(Errno::EINVAL);
            }
            let mnt = d.0.mnt.as_ref().ok_or(Errno::EINVAL)?;
            if !mnt.expire() {
                return Err(Errno::EAGAIN);
            }
        }
        if let Some(mnt) = &d.0.mnt {
            self.forget_handles(mnt);
        }
        // Held by the table and by `d`: anything more is a user below the root.
        if Arc::strong_count(&d.0) > 2 && flags & MNT_DETACH == 0 {
            return Err(Errno::EBUSY);
        }
        let gone = table.remove(i);
        // Unmounting writes back what is dirty.
        crate::blockfs::synced(Some(&gone.root));
        let mut removed = Vec::new();
        if flags & MNT_DETACH != 0 {
            let mut k = i;
            while k < table.len() {
                let below =
                    table[k].path.len() > gone.path.len() && table[k].path.starts_with(&gone.path);
                if below {
                    removed.push(table.remove(k).root);
                } else {
                    k += 1;
                }
            }
        }
        removed.push(gone.root);
        // A file system no mount shows any more is shut down: its watches end.
        let shown = |sb: &Arc<crate::mount::SuperBlock>| {
            std::iter::once(&self.root)
                .chain(table.iter().map(|m| &m.root))
                .any(|r| r.0.mnt.as_ref().is_some_and(|x| Arc::ptr_eq(&x.sb, sb)))
        };
        let ended: Vec<Dentry> = removed
            .into_iter()
            .filter(|r| r.0.mnt.as_ref().is_some_and(|m| !shown(&m.sb)))
            .collect();
        drop(table);
        for root in ended {
            if let Ok(st) = root.stat() {
                crate::notify::unmount(st.st_dev);
            }
        }
        Ok(())
    }
}

/// A new inode of the mount root `src` names (the same file, for another mount).
pub(crate) fn share_inode(src: &Dentry) -> Result<Inode, Errno> {
    Ok(match &src.0.inode {
        Inode::Host(h) => Inode::Host(h.clone()),
        Inode::Proc(p) => Inode::Proc(p.clone()),
        Inode::Ovl(o) => {
            let up = overlay::copy_up(src)?;
            Inode::Ovl(OvlNode::new(Some(up), o.lower.clone(), o.fs.clone()))
        }
    })
}

impl crate::tmpfs::MemInner {
    /// The device a device node opens.
    pub(crate) fn data_dev(&self) -> Option<DevKind> {
        match &self.data {
            MemData::Dev(k) => Some(*k),
            _ => None,
        }
    }
}
