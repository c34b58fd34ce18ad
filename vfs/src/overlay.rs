//! The overlay: an in-memory upper layer ([`MemInode`] tree) over a read-only host lower
//! layer. With no lower layer it is a plain tmpfs (devfs is one, pre-filled with devices).
//!
//! Rules (as Linux's overlayfs): an upper entry hides the lower one of the same name; a
//! whiteout hides it and shows nothing; an upper directory merges with the lower directory
//! of the same path unless it is opaque. Every change copies the object (and its ancestors)
//! up first; the lower layer is never written. New directories and renamed directories are
//! opaque (a renamed directory is copied up whole first).

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::atomic::Ordering;

use abi::flags::mode::{S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG};
use abi::Errno;
use parking_lot::Mutex;
use rustix::fs::OFlags as HOFlags;

use crate::dentry::{Dentry, Inode, OvlNode};
use crate::sparse::FileData;
use crate::tmpfs::{self, MemData, MemEntry, MemInner, MemInode, Time};
use crate::Arc;

fn node(d: &Dentry) -> Result<&OvlNode, Errno> {
    match &d.0.inode {
        Inode::Ovl(o) => Ok(o),
        Inode::Host(_) | Inode::Proc(_) => Err(Errno::EXDEV),
    }
}

/// The upper inode of `d`, if it has one (looking again in its parent's upper directory in
/// case another dentry of the same object copied it up).
pub(crate) fn upper(d: &Dentry) -> Option<Arc<MemInode>> {
    let Inode::Ovl(o) = &d.0.inode else {
        return None;
    };
    let cached = o.upper.lock().clone();
    if cached.is_some() {
        return cached;
    }
    if d.0.mnt.is_some() {
        return None;
    }
    let gen = tmpfs::dir_generation();
    if o.no_upper.load(Ordering::Relaxed) == gen {
        return None;
    }
    let found = (|| {
        let pu = upper(d.0.parent.as_ref()?)?;
        match pu.entry(&d.0.name) {
            Some(MemEntry::Node(n)) if n.ftype() == d.ftype() => Some(n),
            _ => None,
        }
    })();
    match &found {
        Some(n) => *o.upper.lock() = Some(n.clone()),
        None => o.no_upper.store(gen, Ordering::Relaxed),
    }
    found
}

/// The child `name` of directory `p`.
pub(crate) fn lookup(p: &Dentry, name: &[u8]) -> Result<Dentry, Errno> {
    let po = node(p)?;
    let pu = upper(p);
    let (entry, popaque) = match &pu {
        Some(u) => (u.entry(name), u.is_opaque()),
        None => (None, false),
    };
    let plower = if popaque { None } else { po.lower.as_ref() };
    let (upper, lower, ftype) = match entry {
        Some(MemEntry::Whiteout) => return Err(Errno::ENOENT),
        Some(MemEntry::Node(n)) => {
            let ft = n.ftype();
            let lower = match plower {
                Some(l) if ft == S_IFDIR && !n.is_opaque() => {
                    l.lookup(name)?.filter(|h| h.is_dir())
                }
                _ => None,
            };
            (Some(n), lower, ft)
        }
        None => {
            let l = plower
                .ok_or(Errno::ENOENT)?
                .lookup(name)?
                .ok_or(Errno::ENOENT)?;
            let ft = l.ftype;
            (None, Some(l), ft)
        }
    };
    let inode = Inode::Ovl(OvlNode::new(upper, lower, po.fs.clone()));
    Ok(Dentry::new(Some(p.clone()), name, inode, ftype))
}

/// Copies `d` (and its ancestors) up if needed; returns its upper inode. Directories are
/// copied empty (they stay merged with the lower one).
pub(crate) fn copy_up(d: &Dentry) -> Result<Arc<MemInode>, Errno> {
    if let Some(u) = upper(d) {
        return Ok(u);
    }
    let o = node(d)?;
    let parent = d.0.parent.as_ref().ok_or(Errno::EIO)?;
    let lower = o.lower.as_ref().ok_or(Errno::ENOENT)?;
    let pu = copy_up(parent)?;
    let st = lower.stat()?;
    let data = match st.st_mode & S_IFMT {
        S_IFDIR => MemData::Dir {
            entries: Default::default(),
            opaque: false,
        },
        S_IFLNK => MemData::Symlink(lower.readlink()?),
        S_IFREG => {
            let fd = lower.open(HOFlags::RDONLY)?;
            let mut v = Vec::with_capacity(st.st_size.max(0) as usize);
            std::fs::File::from(fd).read_to_end(&mut v)?;
            MemData::File(FileData::from_bytes(&v))
        }
        // The guest's own FIFO from now on: the host's is never opened.
        S_IFIFO => MemData::Fifo(crate::pipe::Pipe::new(st.st_uid, st.st_gid)),
        _ => o.fs.new_file(),
    };
    let t = |s: i64, ns: i64| Time { sec: s, nsec: ns };
    let new = Arc::new(MemInode {
        ino: st.st_ino,
        dev: st.st_dev,
        inner: Mutex::new(MemInner {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            nlink: st.st_nlink,
            atime: t(st.st_atime, st.st_atime_nsec),
            mtime: t(st.st_mtime, st.st_mtime_nsec),
            ctime: t(st.st_ctime, st.st_ctime_nsec),
            data,
            seals: None,
            xattrs: Default::default(),
            flags: 0,
            btime: None,
            linkable: false,
        }),
    });
    let name = d.0.name.clone();
    let up = pu.with_dir(false, move |entries, _| match entries.get(&name) {
        Some(MemEntry::Node(n)) => n.clone(),
        _ => {
            entries.insert(name, MemEntry::Node(new.clone()));
            new
        }
    })?;
    *o.upper.lock() = Some(up.clone());
    Ok(up)
}

/// Copies a whole tree up and makes it opaque (before a directory is renamed).
pub(crate) fn deep_copy_up(d: &Dentry) -> Result<Arc<MemInode>, Errno> {
    let u = copy_up(d)?;
    if !d.is_dir() || u.is_opaque() {
        return Ok(u);
    }
    for (name, _, _) in readdir(d)? {
        deep_copy_up(&lookup(d, &name)?)?;
    }
    u.with_dir(false, |entries, opaque| {
        entries.retain(|_, e| matches!(e, MemEntry::Node(_)));
        *opaque = true;
    })?;
    Ok(u)
}

/// The merged entries of directory `d` (no `.`/`..`): upper entries, then lower entries
/// neither shadowed nor whited out.
pub(crate) fn readdir(d: &Dentry) -> Result<Vec<(Vec<u8>, u64, u8)>, Errno> {
    let o = node(d)?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut opaque = false;
    if let Some(u) = upper(d) {
        let entries: Vec<(Vec<u8>, MemEntry)> = u.with_dir(false, |e, op| {
            opaque = *op;
            e.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        })?;
        for (name, e) in entries {
            if let MemEntry::Node(n) = e {
                out.push((name.clone(), n.ino, abi::flags::dtype::from_mode(n.ftype())));
            }
            seen.insert(name);
        }
    }
    if !opaque {
        if let Some(l) = &o.lower {
            for (name, ino, dt) in l.readdir()?.iter() {
                if !seen.contains(name) {
                    out.push((name.clone(), *ino, *dt));
                }
            }
        }
    }
    Ok(out)
}

/// Creates `name` (known not to exist) in directory `p` with `mode` (type and permission
/// bits), `owner` (uid, gid) and contents `data`.
pub(crate) fn create(
    p: &Dentry,
    name: &[u8],
    mode: u32,
    owner: (u32, u32),
    data: MemData,
) -> Result<Arc<MemInode>, Errno> {
    let o = node(p)?;
    let pu = copy_up(p)?;
    let is_dir = matches!(data, MemData::Dir { .. });
    let data = match data {
        MemData::Dir { entries, .. } => MemData::Dir {
            entries,
            opaque: true,
        },
        other => other,
    };
    let new = MemInode::new(o.fs.shared.ino(), o.fs.dev, mode, owner.0, owner.1, data);
    let n2 = new.clone();
    pu.with_dir(true, move |entries, _| {
        entries.insert(name.to_vec(), MemEntry::Node(n2))
    })?;
    if is_dir {
        pu.add_links(1);
    }
    Ok(new)
}

/// Whether the lower directory under `p` (if it shows through) has `name`.
fn lower_has(p: &Dentry, pu: &MemInode, name: &[u8]) -> Result<bool, Errno> {
    if pu.is_opaque() {
        return Ok(false);
    }
    match &node(p)?.lower {
        Some(l) => Ok(l.lookup(name)?.is_some()),
        None => Ok(false),
    }
}

/// Drops the link count of an inode that lost the name it had.
fn unlinked(pu: &MemInode, e: Option<MemEntry>) {
    if let Some(MemEntry::Node(n)) = e {
        if n.is_dir() {
            pu.add_links(-1);
            n.add_links(-2);
        } else {
            n.add_links(-1);
        }
    }
}

/// Removes `name` from directory `p` (whiting it out if the lower layer has it). The caller
/// has checked type and emptiness.
pub(crate) fn remove(p: &Dentry, name: &[u8]) -> Result<(), Errno> {
    let pu = copy_up(p)?;
    let wh = lower_has(p, &pu, name)?;
    let old = pu.with_dir(true, |entries, _| {
        if wh {
            entries.insert(name.to_vec(), MemEntry::Whiteout)
        } else {
            entries.remove(name)
        }
    })?;
    unlinked(&pu, old);
    Ok(())
}

/// Binds `n` as `name` in directory `p`, replacing what was there.
fn insert(p: &Dentry, name: &[u8], n: Arc<MemInode>) -> Result<(), Errno> {
    let pu = copy_up(p)?;
    let is_dir = n.is_dir();
    let old = pu.with_dir(true, |entries, _| {
        entries.insert(name.to_vec(), MemEntry::Node(n))
    })?;
    unlinked(&pu, old);
    if is_dir {
        pu.add_links(1);
    }
    Ok(())
}

/// Makes a copied-up inode the upper of `d`, opaque if a directory.
fn moved(d: &Dentry) -> Result<Arc<MemInode>, Errno> {
    let u = if d.is_dir() {
        deep_copy_up(d)?
    } else {
        copy_up(d)?
    };
    if u.is_dir() {
        u.with_dir(false, |_, opaque| *opaque = true)?;
    }
    Ok(u)
}

/// Renames `old` (named `oname` in `op`) to `nname` in `np`; `target` is what `nname` names
/// now, if anything. The caller has done every check.
pub(crate) fn rename(
    old: &Dentry,
    op: &Dentry,
    oname: &[u8],
    np: &Dentry,
    nname: &[u8],
    target: Option<&Dentry>,
    exchange: bool,
) -> Result<(), Errno> {
    let src = moved(old)?;
    let now = Time::now();
    src.inner.lock().ctime = now;
    if exchange {
        let target = target.ok_or(Errno::ENOENT)?;
        let dst = moved(target)?;
        dst.inner.lock().ctime = now;
        let (opu, npu) = (copy_up(op)?, copy_up(np)?);
        opu.with_dir(true, |e, _| {
            e.insert(oname.to_vec(), MemEntry::Node(dst.clone()))
        })?;
        npu.with_dir(true, |e, _| {
            e.insert(nname.to_vec(), MemEntry::Node(src.clone()))
        })?;
        if src.is_dir() != dst.is_dir() {
            let d = if src.is_dir() { 1 } else { -1 };
            npu.add_links(d);
            opu.add_links(-d);
        }
        return Ok(());
    }
    remove_entry_keep(op, oname, &src)?;
    insert(np, nname, src)
}

/// Removes the name of an inode that lives on elsewhere (rename).
fn remove_entry_keep(p: &Dentry, name: &[u8], n: &MemInode) -> Result<(), Errno> {
    let pu = copy_up(p)?;
    let wh = lower_has(p, &pu, name)?;
    pu.with_dir(true, |entries, _| {
        if wh {
            entries.insert(name.to_vec(), MemEntry::Whiteout);
        } else {
            entries.remove(name);
        }
    })?;
    if n.is_dir() {
        pu.add_links(-1);
    }
    Ok(())
}

/// Hard-links `old` as `name` in `p`.
pub(crate) fn link(old: &Dentry, p: &Dentry, name: &[u8]) -> Result<(), Errno> {
    let u = copy_up(old)?;
    {
        // Linux's `vfs_link`: a file with no link takes one only if it is an `O_TMPFILE`
        // file made linkable, and only once.
        let mut i = u.inner.lock();
        if i.nlink == 0 && !std::mem::take(&mut i.linkable) {
            return Err(Errno::ENOENT);
        }
    }
    let pu = copy_up(p)?;
    let u2 = u.clone();
    pu.with_dir(true, |entries, _| {
        entries.insert(name.to_vec(), MemEntry::Node(u2))
    })?;
    u.add_links(1);
    Ok(())
}
