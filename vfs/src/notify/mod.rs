//! File system notification (Linux's fsnotify): the marks notification groups put on
//! inodes, mounts and file systems, and the events the file system's operations generate
//! for them.
//!
//! What it owns: which object each mark watches and for what, and the delivery of events
//! to the groups that asked. A group is an inotify instance ([`Inotify`]: marks on inodes)
//! or a fanotify group ([`Fanotify`]: marks on inodes, mounts or file systems, see
//! [`Target`]); a directory's dnotify requests ([`dnotify`]) get the events of its inode
//! marks. An inode is known by its `(st_dev, st_ino)` ([`InodeKey`]), so a mark
//! watches the inode whatever name or dentry reaches it (a hard link, a fresh walk, an
//! overlay object before and after copy-up, which keeps its number). Marks hold no dentry:
//! they keep nothing busy (`umount` of a watched file system succeeds, and sends
//! `IN_UNMOUNT`).
//!
//! The operations call the hooks of this module where Linux's `fsnotify_*` calls are:
//! `open`, `access`, `modify`, `close` on open files, `attrib` (chmod, chown, times,
//! xattrs, link count), `create`, `delete`, `rename` on directory entries, `unmount`.
//! Every hook starts with one load of a global count of marks and returns at once when
//! there is none, so with nobody watching an open or a close costs one branch. An event on
//! a name goes to the marks of its inode and, for the events a directory watches on its
//! children (access, modify, attrib, open, close), to the marks of its parent directory
//! with the name (not across a mount root, as Linux). Files the kernel opens for itself
//! (`OpenFile::set_events`) send none. fanotify groups get the file events (open, access,
//! modify, close) with the process that caused them, which the syscall layer tells
//! ([`set_current`]) while fanotify marks exist, and permission events the syscall layer
//! asks for ([`ask_permission`]) and waits on ([`permission_answer`]).
//!
//! A group made ready by an event is told to the syscall layer through [`take_ready`],
//! which returns the wait ids to wake; the syscall dispatcher drains it after each call.
//!
//! Known gaps: an inode is taken as gone (`IN_DELETE_SELF`, then `IN_IGNORED`) when its
//! last name is removed, even while a descriptor keeps it open (Linux waits for the last
//! close); the name a parent's inotify event carries is the one the file was opened by,
//! even after a rename (fanotify's name records look the current name up in the
//! directory the file was opened in). Writes through shared memory mappings send no events (as Linux).

pub mod dnotify;
mod fan_event;
mod fanotify;
mod inotify;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Weak;

use abi::flags::fanotify::{FAN_CREATE, FAN_DELETE, FAN_MOVED_FROM, FAN_MOVED_TO, FAN_RENAME};
use abi::flags::inotify::*;
use parking_lot::Mutex;

use crate::{Dentry, OpenFile};

use fan_event::FanCtx;
pub use fanotify::{Event as FanotifyEvent, Fanotify, Ignore, Target, FAN_UNPRIV};
pub use inotify::Inotify;

/// An inode: `(st_dev, st_ino)`.
pub type InodeKey = (u64, u64);

/// How many marks exist: zero means no hook has anything to do.
static MARKS: AtomicUsize = AtomicUsize::new(0);
/// How many of them are fanotify marks.
static FAN_MARKS: AtomicUsize = AtomicUsize::new(0);

/// The process and thread making the current call (what fanotify events report), set by
/// the syscall layer while fanotify marks exist.
static CURRENT: Mutex<(i32, i32)> = Mutex::new((0, 0));

/// The marks on each inode, and what each user holds.
static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    inodes: BTreeMap::new(),
    users: BTreeMap::new(),
    fan: Vec::new(),
    dnotify: BTreeMap::new(),
});

/// Wait ids of groups that queued events since [`take_ready`] last ran.
static READY: Mutex<Vec<u64>> = Mutex::new(Vec::new());
/// Whether [`READY`] may hold anything.
static ANY_READY: AtomicBool = AtomicBool::new(false);

/// Permission decisions asked of fanotify groups: id (a wait id, woken once all answered)
/// to (groups yet to answer, one of them denied).
static PERMS: Mutex<BTreeMap<u64, (usize, bool)>> = Mutex::new(BTreeMap::new());

/// The last rename cookie handed out.
static COOKIE: AtomicU32 = AtomicU32::new(0);

/// Events a directory's mark also gets for its children (`FS_EVENTS_POSS_ON_CHILD`).
const ON_CHILD: u32 =
    IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN;

struct Registry {
    inodes: BTreeMap<InodeKey, Vec<Mark>>,
    /// Per user id: (inotify instances, marks).
    users: BTreeMap<u32, (usize, usize)>,
    /// fanotify marks.
    fan: Vec<FanMark>,
    /// dnotify requests, by directory.
    dnotify: BTreeMap<InodeKey, Vec<dnotify::Request>>,
}

/// One fanotify group's mark.
struct FanMark {
    group: Weak<Fanotify>,
    group_id: u64,
    target: Target,
    mask: u64,
    ignored: u64,
    /// `FAN_MARK_IGNORED_SURV_MODIFY`: a modification leaves the ignore mask alone.
    survive_modify: bool,
    /// The ignore mask was set with `FAN_MARK_IGNORE` (its event flags count).
    ignore_flags: bool,
}

/// Whether fanotify marks exist (the syscall layer then says who is calling,
/// [`set_current`]).
#[inline]
pub fn fanotify_active() -> bool {
    FAN_MARKS.load(Ordering::Relaxed) != 0
}

/// The process `pid` and thread `tid` make the calls from now on.
pub fn set_current(pid: i32, tid: i32) {
    *CURRENT.lock() = (pid, tid);
}

/// One group's interest in one inode.
struct Mark {
    group: Weak<Inotify>,
    /// The group's id (its wait id).
    group_id: u64,
    /// The owner of the group (whose mark count it is).
    uid: u32,
    /// The watch descriptor.
    wd: i32,
    /// Events and the flags that change delivery (`IN_ONESHOT`, `IN_EXCL_UNLINK`).
    mask: u32,
    /// The inode is a directory (`IN_UNMOUNT` says `IN_ISDIR`).
    isdir: bool,
}

/// Whether any mark exists (the hooks' one check).
#[inline]
fn active() -> bool {
    MARKS.load(Ordering::Relaxed) != 0
}

/// Wait ids of the groups that got events since the last call (cheap when none did).
pub fn take_ready() -> Vec<u64> {
    if !ANY_READY.load(Ordering::Relaxed) || !ANY_READY.swap(false, Ordering::Acquire) {
        return Vec::new();
    }
    std::mem::take(&mut *READY.lock())
}

/// Records that group `id` has events to read.
fn ready(id: u64) {
    let mut r = READY.lock();
    if !r.contains(&id) {
        r.push(id);
    }
    ANY_READY.store(true, Ordering::Release);
}

/// The inotify instances and marks user `uid` holds.
pub fn user_counts(uid: u32) -> (usize, usize) {
    REGISTRY.lock().users.get(&uid).copied().unwrap_or((0, 0))
}

/// Counts a new instance of user `uid` (`delta` 1) or one gone (-1).
fn count_instance(uid: u32, delta: isize) {
    let mut reg = REGISTRY.lock();
    let e = reg.users.entry(uid).or_default();
    e.0 = e.0.saturating_add_signed(delta);
}

/// What an event is about: an inode, and whether it is a directory and has lost its
/// last name.
struct Subject {
    key: InodeKey,
    isdir: bool,
    unlinked: bool,
}

fn subject(d: &Dentry) -> Option<Subject> {
    let st = d.stat().ok()?;
    Some(Subject {
        key: (st.st_dev, st.st_ino),
        isdir: st.st_mode & abi::flags::mode::S_IFMT == abi::flags::mode::S_IFDIR,
        unlinked: st.st_nlink == 0,
    })
}

/// The inode of `d`'s parent directory, unless `d` is a mount root.
fn parent_key(d: &Dentry) -> Option<InodeKey> {
    if d.is_root() {
        return None;
    }
    let st = d.0.parent.as_ref()?.stat().ok()?;
    Some((st.st_dev, st.st_ino))
}

/// One event for the marks of one inode.
struct Delivery<'a> {
    key: InodeKey,
    /// The event bits (with `IN_ISDIR`).
    mask: u32,
    cookie: u32,
    /// The child's name, for a directory's mark.
    name: Option<&'a [u8]>,
    /// The subject has no name left (`IN_EXCL_UNLINK` marks do not want it).
    unlinked: bool,
}

/// Sends `mask` to the marks on inode `key` (an event about the inode itself, no name).
fn to_inode(key: InodeKey, mask: u32) {
    deliver(&Delivery {
        key,
        mask,
        cookie: 0,
        name: None,
        unlinked: false,
    });
}

/// Sends `ev` to the marks on its inode that want it; a one-shot mark is removed after it.
fn deliver(ev: &Delivery<'_>) {
    let mut hits = Vec::new();
    let mut gone = Vec::new();
    {
        let mut reg = REGISTRY.lock();
        dnotify::deliver(&mut reg, ev.key, ev.mask);
        let Some(marks) = reg.inodes.get_mut(&ev.key) else {
            return;
        };
        marks.retain(|m| {
            // Every mark gets IN_UNMOUNT, whatever it asked for.
            let wanted = (m.mask | IN_UNMOUNT) & ev.mask & (IN_ALL_EVENTS | IN_UNMOUNT) != 0
                && !(ev.unlinked && m.mask & IN_EXCL_UNLINK != 0);
            if !wanted {
                return true;
            }
            let Some(g) = m.group.upgrade() else {
                return true;
            };
            let isdir = if m.isdir && ev.mask & IN_UNMOUNT != 0 {
                IN_ISDIR
            } else {
                0
            };
            hits.push((g, m.wd, isdir));
            if m.mask & IN_ONESHOT != 0 {
                gone.push((m.uid, m.group.clone(), m.wd));
                return false;
            }
            true
        });
        let now_empty = marks.is_empty();
        if now_empty {
            reg.inodes.remove(&ev.key);
        }
        for (uid, _, _) in &gone {
            uncount_mark(&mut reg, *uid);
        }
    }
    let mut mask = ev.mask;
    if mask & (IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
        // inotify never reported IN_ISDIR with these.
        mask &= !IN_ISDIR;
    }
    for (g, wd, isdir) in hits {
        g.queue(wd, mask | isdir, ev.cookie, ev.name);
    }
    for (_, g, wd) in gone {
        if let Some(g) = g.upgrade() {
            g.mark_gone(wd);
        }
    }
}

fn uncount_mark(reg: &mut Registry, uid: u32) {
    MARKS.fetch_sub(1, Ordering::Relaxed);
    if let Some(e) = reg.users.get_mut(&uid) {
        e.1 = e.1.saturating_sub(1);
    }
}

/// An event on what `d` names: to its parent's marks with its name (for events on
/// children), then to its own.
fn on_dentry(d: &Dentry, mask: u32, only_linked: bool) {
    // FS_OPEN_EXEC is fanotify's only.
    let mask = mask & !FS_OPEN_EXEC;
    let Some(s) = subject(d) else { return };
    let mask = if s.isdir { mask | IN_ISDIR } else { mask };
    let unlinked = only_linked && s.unlinked;
    if mask & ON_CHILD != 0 {
        if let Some(p) = parent_key(d) {
            deliver(&Delivery {
                key: p,
                mask,
                cookie: 0,
                name: Some(&d.0.name),
                unlinked,
            });
        }
    }
    deliver(&Delivery {
        key: s.key,
        mask,
        cookie: 0,
        name: None,
        unlinked,
    });
}

/// An event of an open file (its inode and its parent's marks); `IN_EXCL_UNLINK` marks
/// skip it once the file has no name.
fn on_file(f: &OpenFile, mask: u32) {
    if let (Some(d), true) = (&f.dentry, f.has_events()) {
        on_dentry(d, mask, true);
        if fanotify_active() {
            fan_event(d, mask, true);
        }
    }
}

/// The fanotify view of event `mask` (`IN_*`/`FS_*` bits) about what `d` names: with
/// its parent and name for an event a parent may see on its child, with its path if
/// `path` (a file event).
fn fan_ctx<'a>(d: &'a Dentry, s: &Subject, mask: u32, path: bool) -> FanCtx<'a> {
    let on_child =
        mask & !(ON_CHILD | FS_OPEN_EXEC | FS_OPEN_PERM | FS_ACCESS_PERM | FS_OPEN_EXEC_PERM) == 0;
    let dir = if on_child { parent_key(d) } else { None };
    FanCtx {
        mask: u64::from(mask),
        subject: Some(s.key),
        isdir: s.isdir,
        dir,
        name: if dir.is_some() { &d.0.name } else { b"" },
        renamed: (dir.is_some() && !s.isdir).then_some(d),
        lookup_in: None,
        new: None,
        dentry: path.then_some(d),
        mnt: path.then(|| d.mount().map_or(1, |m| m.id)),
    }
}

/// The name `d` has in its directory now: the one it was reached by, unless a rename
/// changed it since (then the entry naming the same inode).
pub(super) fn current_name(d: &Dentry, key: InodeKey) -> std::borrow::Cow<'_, [u8]> {
    let entries = d.0.parent.as_ref().and_then(|p| p.readdir().ok());
    let Some(entries) = entries else {
        return std::borrow::Cow::Borrowed(&d.0.name);
    };
    if entries.iter().any(|e| e.0 == d.0.name && e.1 == key.1) {
        return std::borrow::Cow::Borrowed(&d.0.name);
    }
    match entries.into_iter().find(|e| e.1 == key.1) {
        Some(e) => std::borrow::Cow::Owned(e.0),
        None => std::borrow::Cow::Borrowed(&d.0.name),
    }
}

/// Sends event `mask` about `d` to the fanotify groups whose marks want it (`path`: a
/// file event, which has a path).
fn fan_event(d: &Dentry, mask: u32, path: bool) {
    let Some(s) = subject(d) else { return };
    fan_event::send(&fan_ctx(d, &s, mask, path));
}

/// Sends self event `mask` (`IN_ATTRIB` of a link count, `IN_DELETE_SELF`,
/// `IN_MOVE_SELF`) about inode `s` to the fanotify groups that want it.
fn fan_self(s: &Subject, mask: u32) {
    if fanotify_active() {
        fan_event::send(&FanCtx {
            mask: u64::from(mask),
            subject: Some(s.key),
            isdir: s.isdir,
            dir: None,
            name: b"",
            renamed: None,
            lookup_in: None,
            new: None,
            dentry: None,
            mnt: None,
        });
    }
}

/// Sends directory entry event `mask` about `name` in `dir` (naming `child`, a directory
/// if `isdir`; `new`: a rename's new directory and name) to the fanotify groups.
fn fan_dirent(
    dir: &Dentry,
    mask: u64,
    name: &[u8],
    child: Option<InodeKey>,
    isdir: bool,
    new: Option<(&Dentry, &[u8])>,
) {
    if !fanotify_active() {
        return;
    }
    let Some(d) = subject(dir) else { return };
    let new = match new {
        Some((nd, n)) => match subject(nd) {
            Some(s) => Some((s.key, n)),
            None => return,
        },
        None => None,
    };
    fan_event::send(&FanCtx {
        mask,
        subject: child,
        isdir,
        dir: Some(d.key),
        name,
        renamed: None,
        lookup_in: child.is_none().then_some(dir),
        new,
        dentry: None,
        mnt: None,
    });
}

/// `fsnotify_perm`: asks the fanotify groups whose marks want permission event `mask`
/// (`FS_OPEN_PERM`, `FS_ACCESS_PERM`, `FS_OPEN_EXEC_PERM`) about `f`. The id of the
/// decision to wait for ([`permission_answer`]; also the wait id woken once every group
/// answered), or `None` if no group asks.
pub fn ask_permission(f: &OpenFile, mask: u32) -> Option<u64> {
    if !f.has_events() {
        return None;
    }
    ask_permission_for(f.dentry.as_ref()?, mask)
}

/// [`ask_permission`] about what `d` names, before it is opened (`exec`).
pub fn ask_permission_for(d: &Dentry, mask: u32) -> Option<u64> {
    if !fanotify_active() {
        return None;
    }
    let s = subject(d)?;
    let ev = fan_ctx(d, &s, mask, true);
    let groups = fan_event::groups(&ev);
    if groups.is_empty() {
        return None;
    }
    let id = crate::object::new_wait_id();
    PERMS.lock().insert(id, (groups.len(), false));
    let (pid, tid) = *CURRENT.lock();
    for (g, bits, kinds) in groups {
        let who = if g.reports_tid() { tid } else { pid };
        g.queue(fan_event::event(&g, &ev, bits, kinds, who, Some(id)));
    }
    Some(id)
}

/// The decision on permission request `id`: `None` while a group has not answered, then
/// whether every group allowed (asked once more, a decided request is forgotten).
pub fn permission_answer(id: u64) -> Option<bool> {
    let mut p = PERMS.lock();
    match p.get(&id) {
        Some(&(0, denied)) => {
            p.remove(&id);
            Some(!denied)
        }
        Some(_) => None,
        None => Some(true),
    }
}

/// A group answered permission request `id` (a closed group allows).
fn answer(id: u64, allow: bool) {
    let mut p = PERMS.lock();
    if let Some(e) = p.get_mut(&id) {
        e.0 = e.0.saturating_sub(1);
        e.1 |= !allow;
        if e.0 == 0 {
            drop(p);
            ready(id);
        }
    }
}

/// Adds to or removes from group `g`'s mark on `target` (see [`Fanotify::mark`]); a mark
/// left with nothing in either mask goes.
fn set_fan_mark(
    g: &Fanotify,
    target: Target,
    add: bool,
    mask: u64,
    ignore: Ignore,
    survive_modify: bool,
) -> Result<(), abi::Errno> {
    let ignored = ignore != Ignore::No;
    let mut reg = REGISTRY.lock();
    let id = g.id();
    let i = match reg
        .fan
        .iter()
        .position(|m| m.group_id == id && m.target == target)
    {
        Some(i) => i,
        None if add => {
            reg.fan.push(FanMark {
                group: g.weak(),
                group_id: id,
                target,
                mask: 0,
                ignored: 0,
                survive_modify: false,
                ignore_flags: false,
            });
            MARKS.fetch_add(1, Ordering::Relaxed);
            FAN_MARKS.fetch_add(1, Ordering::Relaxed);
            reg.fan.len() - 1
        }
        None => return Err(abi::Errno::ENOENT),
    };
    let m = &mut reg.fan[i];
    let bits = if ignored { &mut m.ignored } else { &mut m.mask };
    if add {
        *bits |= mask;
        if ignored && survive_modify {
            m.survive_modify = true;
        }
        if ignore == Ignore::WithFlags {
            m.ignore_flags = true;
        }
    } else {
        *bits &= !mask;
    }
    if m.mask == 0 && m.ignored == 0 {
        reg.fan.remove(i);
        MARKS.fetch_sub(1, Ordering::Relaxed);
        FAN_MARKS.fetch_sub(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Group `id`'s marks, the newest first: (target, mask, ignore mask, survives
/// modification).
fn fan_marks_of(id: u64) -> Vec<(Target, u64, u64, bool)> {
    let reg = REGISTRY.lock();
    reg.fan
        .iter()
        .rev()
        .filter(|m| m.group_id == id)
        .map(|m| (m.target, m.mask, m.ignored, m.survive_modify))
        .collect()
}

/// A `st_dev` in the kernel's own encoding (`MKDEV`: major above 20 bits of minor), as
/// fdinfo shows it.
fn kernel_dev(dev: u64) -> u64 {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major << 20) | minor
}

/// Removes group `id`'s marks on the targets `which` picks.
fn flush_fan_marks(id: u64, which: impl Fn(Target) -> bool) {
    let mut reg = REGISTRY.lock();
    let before = reg.fan.len();
    reg.fan.retain(|m| m.group_id != id || !which(m.target));
    let gone = before - reg.fan.len();
    MARKS.fetch_sub(gone, Ordering::Relaxed);
    FAN_MARKS.fetch_sub(gone, Ordering::Relaxed);
}

/// `fsnotify_open`: a file was opened (`exec`: to run it).
#[inline]
pub(crate) fn open(f: &OpenFile) {
    if active() {
        on_file(f, IN_OPEN);
    }
}

/// `fsnotify_open` of a file opened to be executed (`FAN_OPEN_EXEC` too).
#[inline]
pub(crate) fn open_exec(f: &OpenFile) {
    if active() {
        on_file(f, IN_OPEN | FS_OPEN_EXEC);
    }
}

/// `fsnotify_access`: data was read (or a directory listed).
#[inline]
pub(crate) fn access(f: &OpenFile) {
    if active() {
        on_file(f, IN_ACCESS);
    }
}

/// `fsnotify_modify`: data was written (or the size changed through the file).
#[inline]
pub(crate) fn modify(f: &OpenFile) {
    if active() {
        on_file(f, IN_MODIFY);
    }
}

/// `fsnotify_close`: the last reference to an open file went away.
#[inline]
pub(crate) fn close(f: &OpenFile) {
    if active() {
        let mask = if f.flags().writable() {
            IN_CLOSE_WRITE
        } else {
            IN_CLOSE_NOWRITE
        };
        on_file(f, mask);
    }
}

/// `fsnotify_change` and friends: `mask` (`IN_ATTRIB`, or `IN_MODIFY`/`IN_ACCESS` for a
/// truncate or a change of one time) happened to what `d` names.
#[inline]
pub(crate) fn attrib(d: &Dentry, mask: u32) {
    if active() {
        on_dentry(d, mask, false);
        if fanotify_active() {
            fan_event(d, mask, false);
        }
    }
}

/// `fsnotify_link_count`: an inode gained or lost a name (its own marks only).
fn link_count(d: &Dentry) {
    if let Some(s) = subject(d) {
        to_inode(s.key, IN_ATTRIB | if s.isdir { IN_ISDIR } else { 0 });
        fan_self(&s, IN_ATTRIB);
    }
}

/// `fsnotify_create`/`fsnotify_mkdir`/`fsnotify_link`: `name` appeared in `dir` (`link`:
/// a new name of the existing inode `link`, which gets `IN_ATTRIB` first).
#[inline]
pub(crate) fn create(dir: &Dentry, name: &[u8], isdir: bool, link: Option<&Dentry>) {
    if active() {
        if let Some(l) = link {
            link_count(l);
        }
        name_event(dir, IN_CREATE, name, isdir, 0);
        if fanotify_active() {
            let child = link.and_then(subject).map(|s| s.key);
            fan_dirent(dir, FAN_CREATE, name, child, isdir, None);
        }
    }
}

/// The inode `name` in `dir` names, read from the directory.
pub(super) fn child_key(dir: &Dentry, name: &[u8]) -> Option<InodeKey> {
    let dev = dir.stat().ok()?.st_dev;
    let ino = dir.readdir().ok()?.into_iter().find(|e| e.0 == name)?.1;
    Some((dev, ino))
}

fn name_event(dir: &Dentry, mask: u32, name: &[u8], isdir: bool, cookie: u32) {
    let Some(s) = subject(dir) else { return };
    deliver(&Delivery {
        key: s.key,
        mask: mask | if isdir { IN_ISDIR } else { 0 },
        cookie,
        name: Some(name),
        unlinked: false,
    });
}

/// What a name about to be removed or replaced leads to, looked up before the change
/// (`None` while nobody watches).
pub(crate) struct Victim {
    subject: Subject,
    /// It had one name (or is a directory): removing it removes the inode.
    last: bool,
}

/// Notes what `d` is before its name goes (cheap while nobody watches).
#[inline]
pub(crate) fn victim(d: &Dentry) -> Option<Victim> {
    if !active() {
        return None;
    }
    let st = d.stat().ok()?;
    let isdir = st.st_mode & abi::flags::mode::S_IFMT == abi::flags::mode::S_IFDIR;
    Some(Victim {
        subject: Subject {
            key: (st.st_dev, st.st_ino),
            isdir,
            unlinked: false,
        },
        last: isdir || st.st_nlink <= 1,
    })
}

/// An inode lost a name (`unlink`: with `IN_ATTRIB` for its link count; if that was its
/// last, its marks get `IN_DELETE_SELF`); whether the inode is gone.
fn name_gone(v: &Victim, attrib: bool) -> bool {
    if attrib {
        to_inode(v.subject.key, IN_ATTRIB);
        fan_self(&v.subject, IN_ATTRIB);
    }
    if v.last {
        to_inode(v.subject.key, IN_DELETE_SELF);
        fan_self(&v.subject, IN_DELETE_SELF);
    }
    v.last
}

/// `fsnotify_delete` (unlink, rmdir): `name` left `dir`; `v` is what it named. A removed
/// inode's marks go last (`IN_IGNORED`), as Linux's eviction after the directory's event.
#[inline]
pub(crate) fn delete(dir: &Dentry, name: &[u8], v: Option<Victim>) {
    if let Some(v) = v {
        let gone = name_gone(&v, !v.subject.isdir);
        name_event(dir, IN_DELETE, name, v.subject.isdir, 0);
        fan_dirent(
            dir,
            FAN_DELETE,
            name,
            Some(v.subject.key),
            v.subject.isdir,
            None,
        );
        if gone {
            remove_marks(|k| k == v.subject.key);
        }
    }
}

/// `fsnotify_move`: what `moved` names went from `old_name` in `old_dir` to `new_name`
/// in `new_dir`, replacing `replaced` (`None`: nothing, or nobody watches).
#[inline]
pub(crate) fn rename(
    moved: Option<Victim>,
    old_dir: &Dentry,
    old_name: &[u8],
    new_dir: &Dentry,
    new_name: &[u8],
    replaced: Option<Victim>,
) {
    let Some(m) = moved else { return };
    let cookie = COOKIE.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    let isdir = m.subject.isdir;
    // A rename within one directory is first dnotify's DN_RENAME (Linux's FS_RENAME,
    // which only dnotify takes from an inode mark).
    if let (Some(a), Some(b)) = (subject(old_dir), subject(new_dir)) {
        if a.key == b.key {
            name_event(old_dir, dnotify::FS_DN_RENAME, old_name, isdir, 0);
        }
    }
    let key = Some(m.subject.key);
    fan_dirent(
        old_dir,
        FAN_RENAME,
        old_name,
        key,
        isdir,
        Some((new_dir, new_name)),
    );
    name_event(old_dir, IN_MOVED_FROM, old_name, isdir, cookie);
    fan_dirent(old_dir, FAN_MOVED_FROM, old_name, key, isdir, None);
    name_event(new_dir, IN_MOVED_TO, new_name, isdir, cookie);
    fan_dirent(new_dir, FAN_MOVED_TO, new_name, key, isdir, None);
    if let Some(r) = &replaced {
        if !r.subject.isdir {
            to_inode(r.subject.key, IN_ATTRIB);
            fan_self(&r.subject, IN_ATTRIB);
        }
    }
    to_inode(m.subject.key, IN_MOVE_SELF);
    fan_self(&m.subject, IN_MOVE_SELF);
    if let Some(r) = replaced {
        if name_gone(&r, false) {
            remove_marks(|k| k == r.subject.key);
        }
    }
}

/// The file system with device `dev` was unmounted: every mark on its inodes gets
/// `IN_UNMOUNT` and is removed, inode by inode, the newest first (Linux's order of a
/// super block's inodes).
pub(crate) fn unmount(dev: u64) {
    if !active() {
        return;
    }
    let keys: Vec<InodeKey> = REGISTRY
        .lock()
        .inodes
        .keys()
        .filter(|k| k.0 == dev)
        .copied()
        .collect();
    for key in keys.into_iter().rev() {
        deliver(&Delivery {
            key,
            mask: IN_UNMOUNT,
            cookie: 0,
            name: None,
            unlinked: false,
        });
        remove_marks(|k| k == key);
    }
}

/// Removes every mark on the inodes `which` picks; their groups get `IN_IGNORED`.
fn remove_marks(which: impl Fn(InodeKey) -> bool) {
    let mut gone = Vec::new();
    {
        let mut reg = REGISTRY.lock();
        let keys: Vec<InodeKey> = reg.inodes.keys().filter(|&&k| which(k)).copied().collect();
        for k in keys {
            for m in reg.inodes.remove(&k).unwrap_or_default() {
                uncount_mark(&mut reg, m.uid);
                gone.push((m.group, m.wd));
            }
        }
    }
    for (g, wd) in gone {
        if let Some(g) = g.upgrade() {
            g.mark_gone(wd);
        }
    }
}

/// Adds or changes group `g`'s mark on `key`: `mask` replaces the old one, or is added to
/// it with `IN_MASK_ADD`; `IN_MASK_CREATE` fails with `EEXIST` if there is one. A new
/// mark needs a watch descriptor (`new_wd`) and room under `max_marks` for the user. The
/// mark's watch descriptor.
fn set_mark(
    g: &Inotify,
    key: InodeKey,
    isdir: bool,
    mask: u32,
    max_marks: usize,
    new_wd: impl FnOnce() -> i32,
) -> Result<i32, abi::Errno> {
    let mut reg = REGISTRY.lock();
    let id = g.id();
    if let Some(m) = reg
        .inodes
        .get_mut(&key)
        .and_then(|v| v.iter_mut().find(|m| m.group_id == id))
    {
        if mask & IN_MASK_CREATE != 0 {
            return Err(abi::Errno::EEXIST);
        }
        let keep = if mask & IN_MASK_ADD != 0 { m.mask } else { 0 };
        m.mask = keep | (mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK));
        return Ok(m.wd);
    }
    let uid = g.uid();
    let user = reg.users.entry(uid).or_default();
    if user.1 >= max_marks {
        return Err(abi::Errno::ENOSPC);
    }
    user.1 += 1;
    let wd = new_wd();
    reg.inodes.entry(key).or_default().push(Mark {
        group: g.weak(),
        group_id: id,
        uid,
        wd,
        mask: mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK),
        isdir,
    });
    MARKS.fetch_add(1, Ordering::Relaxed);
    Ok(wd)
}

/// Removes group `id`'s mark with watch descriptor `wd` on `key`; whether there was one.
fn remove_mark(key: InodeKey, id: u64, wd: i32) -> bool {
    let mut reg = REGISTRY.lock();
    let Some(marks) = reg.inodes.get_mut(&key) else {
        return false;
    };
    let Some(i) = marks.iter().position(|m| m.group_id == id && m.wd == wd) else {
        return false;
    };
    let m = marks.remove(i);
    if marks.is_empty() {
        reg.inodes.remove(&key);
    }
    uncount_mark(&mut reg, m.uid);
    true
}

/// The mask of group `id`'s mark `wd` on `key` (for fdinfo).
fn mark_mask(key: InodeKey, id: u64, wd: i32) -> Option<u32> {
    let reg = REGISTRY.lock();
    let m = reg
        .inodes
        .get(&key)?
        .iter()
        .find(|m| m.group_id == id && m.wd == wd)?;
    Some(m.mask)
}
