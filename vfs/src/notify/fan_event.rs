//! Which fanotify groups an event reaches, with which bits, and what each reports of it
//! (Linux's `fanotify_group_event_mask` and `fanotify_alloc_event`).
//!
//! An event ([`FanCtx`]) is about an inode (the subject); the marks it looks at are those
//! on the subject (on the directory for a directory entry event), on its parent
//! directory (for an event on a child, with the child's name), on the new directory of a
//! rename, on the file system, and on the mount when the event has a path (file events
//! only: attribute, directory entry and self events have none). A group that reports
//! descriptors gets the path; one that reports file identifiers gets the identifiers its
//! `FAN_REPORT_*` flags ask for.

use std::sync::Weak;

use abi::flags::fanotify::*;
use abi::flags::inotify::*;

use super::fanotify::{Event, Fids};
use super::{Fanotify, Target};
use super::{InodeKey, REGISTRY};
use crate::{Arc, Dentry};

/// The directory entry events (`ALL_FSNOTIFY_DIRENT_EVENTS`).
const DIRENT: u64 = FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_RENAME;

/// Kinds of mark an event matched (`FSNOTIFY_ITER_TYPE_*`).
const ON_SB: u8 = 1;
const ON_INODE: u8 = 4;
const ON_PARENT: u8 = 8;
const ON_INODE2: u8 = 16;

/// One event as fanotify's marks see it.
pub(super) struct FanCtx<'a> {
    /// `FAN_*` event bits (without `FAN_ONDIR`).
    pub mask: u64,
    /// The inode the event is about (the child of a directory entry event, if known).
    pub subject: Option<InodeKey>,
    /// The subject is a directory.
    pub isdir: bool,
    /// The directory of a directory entry event, or the parent of a child's event.
    pub dir: Option<InodeKey>,
    /// The name in `dir`.
    pub name: &'a [u8],
    /// An open file's name, which a rename may have changed since: looked up (in `dir`)
    /// only for a group that reports names.
    pub renamed: Option<&'a Dentry>,
    /// The directory a directory entry event's subject, not known, can be looked up in
    /// by `name` (only for a group that reports it).
    pub lookup_in: Option<&'a Dentry>,
    /// A rename's new directory and name.
    pub new: Option<(InodeKey, &'a [u8])>,
    /// The file's path (file events): mount marks see the event, and groups that report
    /// descriptors get it.
    pub dentry: Option<&'a Dentry>,
    /// The mount of the path.
    pub mnt: Option<u64>,
}

impl FanCtx<'_> {
    /// The file system the event happened on.
    fn dev(&self) -> Option<u64> {
        self.subject.or(self.dir).map(|k| k.0)
    }

    /// The inode whose own marks see the event.
    fn inode(&self) -> Option<InodeKey> {
        if self.mask & DIRENT != 0 {
            self.dir
        } else {
            self.subject
        }
    }
}

/// The groups whose marks want `ev`, with the bits each gets and the kinds of mark that
/// matched: the union of the masks of the marks that apply, less the union of their
/// ignore masks; a directory's event only for marks with `FAN_ONDIR`, a child's only for
/// a parent's mark with `FAN_EVENT_ON_CHILD`.
pub(super) fn groups(ev: &FanCtx<'_>) -> Vec<(Arc<Fanotify>, u64, u8)> {
    let Some(dev) = ev.dev() else {
        return Vec::new();
    };
    let inode = ev.inode();
    let parent = if ev.mask & DIRENT == 0 { ev.dir } else { None };
    let inode2 = ev.new.map(|n| n.0);
    let mut found: Vec<(u64, Weak<Fanotify>, u64, u64, u8)> = Vec::new();
    {
        let mut reg = REGISTRY.lock();
        for m in reg.fan.iter_mut() {
            let mut kinds = 0u8;
            match m.target {
                Target::Inode(k) => {
                    if Some(k) == inode {
                        kinds |= ON_INODE;
                    }
                    if Some(k) == parent {
                        kinds |= ON_PARENT;
                    }
                    if Some(k) == inode2 {
                        kinds |= ON_INODE2;
                    }
                }
                Target::Mount(id) if Some(id) == ev.mnt => kinds |= 2,
                Target::Filesystem(d) if d == dev => kinds |= ON_SB,
                _ => {}
            }
            if kinds == 0 {
                continue;
            }
            let child = kinds == ON_PARENT;
            // A directory's mark that wants nothing of its children takes no part.
            if child && (m.mask | m.ignored) & FAN_EVENT_ON_CHILD == 0 && !m.ignore_flags {
                continue;
            }
            if ev.mask & u64::from(IN_MODIFY) != 0 && !m.survive_modify {
                m.ignored = 0;
            }
            let ignore = effective_ignore(m, ev.isdir, child) & ev.mask;
            let applies = (!child || m.mask & FAN_EVENT_ON_CHILD != 0)
                && (!ev.isdir || m.mask & FAN_ONDIR != 0);
            let want = if applies { m.mask & ev.mask } else { 0 };
            let matched = if want != 0 { kinds } else { 0 };
            match found.iter_mut().find(|g| g.0 == m.group_id) {
                Some(g) => {
                    g.2 |= want;
                    g.3 |= ignore;
                    g.4 |= matched;
                }
                None => found.push((m.group_id, m.group.clone(), want, ignore, matched)),
            }
        }
    }
    found
        .into_iter()
        .filter(|g| g.2 & !g.3 != 0)
        .filter_map(|(_, g, want, ignore, kinds)| Some((g.upgrade()?, want & !ignore, kinds)))
        .filter(|(g, _, _)| wants_event(g.fid_mode(), ev))
        .collect()
}

/// The events mark `m`'s ignore mask ignores on a directory (`isdir`) or on a child of
/// the marked directory (`child`) (`fsnotify_effective_ignore_mask`).
fn effective_ignore(m: &super::FanMark, isdir: bool, child: bool) -> u64 {
    if m.ignored == 0 || (!isdir && !child) {
        return m.ignored;
    }
    let flags = if m.ignore_flags {
        m.ignored
    } else {
        // Always on directories; on children when the mark watches them.
        FAN_ONDIR | (m.mask & FAN_EVENT_ON_CHILD)
    };
    if (isdir && flags & FAN_ONDIR == 0) || (child && flags & FAN_EVENT_ON_CHILD == 0) {
        return 0;
    }
    m.ignored & !(FAN_ONDIR | FAN_EVENT_ON_CHILD)
}

/// Whether a group of `fid_mode` can report `ev` at all: one that reports descriptors
/// needs a path to a file or directory; one that reports only directories needs one.
fn wants_event(fid_mode: u32, ev: &FanCtx<'_>) -> bool {
    if fid_mode == 0 {
        ev.dentry.is_some()
    } else if fid_mode & FAN_REPORT_FID == 0 {
        ev.dir.is_some() || ev.isdir
    } else {
        true
    }
}

/// The event group `g` queues for `ev` with `bits` (`kinds`: the marks that matched),
/// caused by `pid` (`perm`: the permission request it asks about).
pub(super) fn event(
    g: &Fanotify,
    ev: &FanCtx<'_>,
    bits: u64,
    kinds: u8,
    pid: i32,
    perm: Option<u64>,
) -> Event {
    let fid_mode = g.fid_mode();
    if fid_mode == 0 {
        return Event {
            mask: bits,
            pid,
            dentry: ev.dentry.cloned(),
            key: ev.subject,
            isdir: ev.isdir,
            fids: None,
            perm,
        };
    }
    let mask = if ev.isdir { bits | FAN_ONDIR } else { bits };
    Event {
        mask,
        pid,
        dentry: None,
        key: None,
        isdir: ev.isdir,
        fids: fids(fid_mode, ev, mask, kinds),
        perm,
    }
}

/// What a group of `fid_mode` reports of `ev` (as `fanotify_alloc_event` chooses).
fn fids(fid_mode: u32, ev: &FanCtx<'_>, mask: u64, kinds: u8) -> Option<Fids> {
    let dirent = mask & DIRENT != 0;
    let ondir = mask & FAN_ONDIR != 0;
    let subject = match (ev.subject, ev.lookup_in) {
        (None, Some(d)) if fid_mode & FAN_REPORT_TARGET_FID != 0 => super::child_key(d, ev.name),
        (s, _) => s,
    };
    let mut id = if dirent && fid_mode & FAN_REPORT_TARGET_FID == 0 {
        ev.dir
    } else {
        subject
    };
    let mut dirid = if dirent || !ev.isdir {
        ev.dir
    } else {
        ev.subject
    };
    if fid_mode & FAN_REPORT_DIR_FID == 0 || dirid.is_none() {
        return id.map(Fids::Object);
    }
    let report_child = if dirent {
        fid_mode & FAN_REPORT_TARGET_FID != 0
    } else {
        fid_mode & FAN_REPORT_FID != 0 && !ondir
    };
    let child = if report_child && id != dirid {
        id
    } else {
        None
    };
    id = dirid;
    let current;
    let mut name: &[u8] = match (ev.renamed, subject) {
        (Some(d), Some(k)) if fid_mode & FAN_REPORT_NAME != 0 => {
            current = super::current_name(d, k);
            &current
        }
        _ => ev.name,
    };
    let named;
    if fid_mode & FAN_REPORT_NAME == 0 {
        named = child.is_some();
        name = b"";
    } else {
        named = dirent || !ondir;
    }
    let mut new = None;
    if mask & FAN_RENAME != 0 {
        let sb = kinds & ON_SB != 0;
        if !(sb || kinds & ON_INODE != 0) {
            dirid = None;
            name = b"";
        }
        if sb || kinds & ON_INODE2 != 0 {
            new = ev.new.map(|(k, n)| (k, n.to_vec()));
        }
    }
    if named && (!name.is_empty() || new.is_some() || child.is_some()) {
        Some(Fids::Name {
            dir: dirid,
            name: name.to_vec(),
            new,
            child,
        })
    } else {
        id.map(Fids::Object)
    }
}

/// Sends `ev` to the groups whose marks want it.
pub(super) fn send(ev: &FanCtx<'_>) {
    let (pid, tid) = *super::CURRENT.lock();
    for (g, bits, kinds) in groups(ev) {
        let who = if g.reports_tid() { tid } else { pid };
        let e = event(&g, ev, bits, kinds, who, None);
        g.queue(e);
    }
}
