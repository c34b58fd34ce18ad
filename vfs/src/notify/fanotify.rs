//! A fanotify group (`fanotify(7)`): its queue of events about open files, each read with
//! a new descriptor of the file (the syscall layer installs it; see [`Fanotify::take`]).
//!
//! Events are the file events (`FAN_ACCESS`, `FAN_MODIFY`, `FAN_OPEN`, `FAN_OPEN_EXEC`,
//! `FAN_CLOSE_*`); a group's marks are on inodes, mounts or whole file systems
//! ([`Target`]), each with an event mask and an ignore mask. An event is merged into a
//! recent queued one about the same file from the same process (their masks are or-ed);
//! past the queue's limit (16384 unless `FAN_UNLIMITED_QUEUE`) one `FAN_Q_OVERFLOW` is
//! queued. Permission events are never merged nor dropped: each waits for the group's
//! answer (a write naming the event's descriptor), or for the group to close, which
//! allows it. A group that reports file identifiers (`FAN_REPORT_FID`, `DIR_FID`,
//! `NAME`, `TARGET_FID`) gets no descriptors: its events carry `fanotify_event_info_fid`
//! records ([`Fids`]: the file system id and handle `statfs` and `name_to_handle_at`
//! give, with a name), and merge when they name the same objects.

use std::collections::VecDeque;
use std::io::IoSlice;

use abi::flags::fanotify::*;
use abi::flags::inotify::IN_Q_OVERFLOW;
use abi::flags::OFlags;
use abi::Errno;
use parking_lot::Mutex;

use super::InodeKey;
use crate::object::new_wait_id;
use crate::{Arc, Dentry, FileObject, PollEvents, Poller};

/// The queue's length without `FAN_UNLIMITED_QUEUE`.
const MAX_EVENTS: usize = 16384;
/// How far back a new event looks for one to merge with.
const MERGE_WINDOW: usize = 128;

/// What a mark is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// An inode.
    Inode(InodeKey),
    /// A mount, by id.
    Mount(u64),
    /// A file system, by device.
    Filesystem(u64),
}

impl Target {
    /// The inode, mount (`mount`) or file system (`filesystem`) of what `d` names.
    pub fn of(d: &Dentry, mount: bool, filesystem: bool) -> Result<Target, Errno> {
        let st = d.stat()?;
        Ok(if mount {
            Target::Mount(d.mount().map_or(1, |m| m.id))
        } else if filesystem {
            Target::Filesystem(st.st_dev)
        } else {
            Target::Inode((st.st_dev, st.st_ino))
        })
    }
}

/// Which mask a `fanotify_mark` changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ignore {
    /// The event mask.
    No,
    /// The ignore mask, as `FAN_MARK_IGNORED_MASK`: it applies to directories always,
    /// and to children when the mark watches them.
    Legacy,
    /// The ignore mask, as `FAN_MARK_IGNORE`: to directories and children only with
    /// `FAN_ONDIR` and `FAN_EVENT_ON_CHILD` in it.
    WithFlags,
}

/// A fanotify group.
pub struct Fanotify {
    me: std::sync::Weak<Fanotify>,
    id: u64,
    /// `fanotify_init` flags.
    flags: u32,
    /// How event files are opened.
    event_f_flags: OFlags,
    state: Mutex<State>,
}

struct State {
    queue: VecDeque<Event>,
    /// Permission events read and not answered yet: (the reader's descriptor of the
    /// event's file, the request).
    awaiting: Vec<(i32, u64)>,
    /// `None`: unlimited.
    limit: Option<usize>,
    overflowed: bool,
}

/// One queued event.
pub struct Event {
    /// `FAN_*` bits (with `FAN_ONDIR` in a group that reports file identifiers).
    pub mask: u64,
    /// The process (or thread, `FAN_REPORT_TID`) that caused it; 0 for an overflow.
    pub pid: i32,
    /// The file a descriptor is opened for (`None` for an overflow and in a group that
    /// reports file identifiers).
    pub dentry: Option<Dentry>,
    /// The inode (what events merge by without file identifiers).
    pub(super) key: Option<InodeKey>,
    pub(super) isdir: bool,
    /// The file identifiers reported, in a group that reports them.
    pub(super) fids: Option<Fids>,
    /// The permission request a permission event asks about.
    pub perm: Option<u64>,
}

/// What an event of a group that reports file identifiers names: Linux's
/// `fanotify_fid_event` and `fanotify_name_event`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Fids {
    /// One object.
    Object(InodeKey),
    /// A directory and a name in it (the name is empty without `FAN_REPORT_NAME`), a
    /// second directory and name (`FAN_RENAME`'s new one), and the child.
    Name {
        dir: Option<InodeKey>,
        name: Vec<u8>,
        new: Option<(InodeKey, Vec<u8>)>,
        child: Option<InodeKey>,
    },
}

/// Linux's internal `FANOTIFY_UNPRIV` flag: a group made without `CAP_SYS_ADMIN`.
pub const FAN_UNPRIV: u32 = 0x8000_0000;

/// `sizeof(struct fanotify_event_info_pidfd)`.
const PIDFD_INFO_LEN: usize = 8;

impl Fanotify {
    /// A new group (`flags` and `event_f_flags` checked by the caller).
    pub fn new(flags: u32, event_f_flags: OFlags) -> Arc<Fanotify> {
        Arc::new_cyclic(|me| Fanotify {
            me: me.clone(),
            id: new_wait_id(),
            flags,
            event_f_flags,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                awaiting: Vec::new(),
                limit: (flags & FAN_UNLIMITED_QUEUE == 0).then_some(MAX_EVENTS),
                overflowed: false,
            }),
        })
    }

    pub(super) fn id(&self) -> u64 {
        self.id
    }

    pub(super) fn weak(&self) -> std::sync::Weak<Fanotify> {
        self.me.clone()
    }

    /// The `fanotify_init` flags.
    pub fn flags(&self) -> u32 {
        self.flags & !FAN_UNPRIV
    }

    /// Whether the group was made without `CAP_SYS_ADMIN` ([`FAN_UNPRIV`]): it has only
    /// inode marks, and its events name only the reader's own process.
    pub fn unprivileged(&self) -> bool {
        self.flags & FAN_UNPRIV != 0
    }

    /// Whether events carry the thread id rather than the process id.
    pub(super) fn reports_tid(&self) -> bool {
        self.flags & FAN_REPORT_TID != 0
    }

    /// The `FAN_REPORT_*FID`/`NAME` flags (zero: events carry descriptors).
    pub fn fid_mode(&self) -> u32 {
        self.flags & FAN_REPORT_FID_BITS
    }

    /// The flags event files are opened with.
    pub fn event_f_flags(&self) -> OFlags {
        self.event_f_flags
    }

    /// `fanotify_mark` with `FAN_MARK_ADD` (`add`) or `FAN_MARK_REMOVE`: `mask` to the
    /// event mask, or to the ignore mask (`ignore`; `survive_modify`:
    /// `FAN_MARK_IGNORED_SURV_MODIFY`). Removing from a mark that does not exist is
    /// `ENOENT`.
    pub fn mark(
        &self,
        target: Target,
        add: bool,
        mask: u64,
        ignore: Ignore,
        survive_modify: bool,
    ) -> Result<(), Errno> {
        super::set_fan_mark(self, target, add, mask, ignore, survive_modify)
    }

    /// `FAN_MARK_FLUSH`: removes the group's marks of that kind (mounts, file systems or
    /// inodes).
    pub fn flush(&self, mount: bool, filesystem: bool) {
        super::flush_fan_marks(self.id, |t| match t {
            Target::Mount(_) => mount,
            Target::Filesystem(_) => filesystem,
            Target::Inode(_) => !mount && !filesystem,
        });
    }

    /// Queues `e`: a permission event is never merged nor dropped; another merges into
    /// a recent one about the same object from the same process (for a directory or
    /// not alike, and `FAN_RENAME` only with itself).
    pub(super) fn queue(&self, e: Event) {
        let mut s = self.state.lock();
        if e.perm.is_none() && s.limit.is_some_and(|l| s.queue.len() >= l) {
            if !s.overflowed {
                s.overflowed = true;
                s.queue.push_back(Event {
                    mask: u64::from(IN_Q_OVERFLOW),
                    pid: 0,
                    dentry: None,
                    key: None,
                    isdir: false,
                    fids: None,
                    perm: None,
                });
                drop(s);
                super::ready(self.id);
            }
            return;
        }
        let n = s.queue.len();
        let same = s
            .queue
            .iter_mut()
            .skip(n.saturating_sub(MERGE_WINDOW))
            .rev()
            .find(|o| {
                e.perm.is_none()
                    && o.perm.is_none()
                    && o.key == e.key
                    && o.fids == e.fids
                    && o.pid == e.pid
                    && o.isdir == e.isdir
                    && (o.mask & FAN_RENAME) == (e.mask & FAN_RENAME)
                    && o.mask & u64::from(IN_Q_OVERFLOW) == 0
            });
        match same {
            Some(o) => o.mask |= e.mask,
            None => s.queue.push_back(e),
        }
        drop(s);
        super::ready(self.id);
    }

    /// The length of `e`'s record in this group.
    fn event_len(&self, e: &Event) -> usize {
        let pidfd = if self.flags & FAN_REPORT_PIDFD != 0 && e.mask & u64::from(IN_Q_OVERFLOW) == 0
        {
            PIDFD_INFO_LEN
        } else {
            0
        };
        FAN_EVENT_METADATA_LEN + fid_records(self.fid_mode(), e).len() + pidfd
    }

    /// Takes as many events as `room` bytes of records hold (`EINVAL` if not even one
    /// does; `EAGAIN` if there are none).
    pub fn take(&self, room: usize) -> Result<Vec<Event>, Errno> {
        let mut s = self.state.lock();
        if s.queue.is_empty() {
            return Err(Errno::EAGAIN);
        }
        let mut n = 0;
        let mut used = 0;
        for e in &s.queue {
            let len = self.event_len(e);
            if used + len > room {
                break;
            }
            used += len;
            n += 1;
        }
        if n == 0 {
            return Err(Errno::EINVAL);
        }
        let out: Vec<Event> = s.queue.drain(..n).collect();
        if out.iter().any(|e| e.mask & u64::from(IN_Q_OVERFLOW) != 0) {
            s.overflowed = false;
        }
        Ok(out)
    }
}

impl Fanotify {
    /// Permission event `id` was read with its file as the reader's descriptor `fd`: the
    /// answer (a write) names it.
    pub fn awaiting(&self, fd: i32, id: u64) {
        self.state.lock().awaiting.push((fd, id));
    }
}

impl Drop for Fanotify {
    /// The marks go; what was not answered is allowed.
    fn drop(&mut self) {
        super::flush_fan_marks(self.id, |_| true);
        let s = self.state.get_mut();
        let ids: Vec<u64> = s
            .queue
            .iter()
            .filter_map(|e| e.perm)
            .chain(s.awaiting.iter().map(|a| a.1))
            .collect();
        for id in ids {
            super::answer(id, true);
        }
    }
}

impl Fanotify {
    /// An event's record as a read returns it: its `struct fanotify_event_metadata` with
    /// descriptor `fd` and process `pid`, then its information records (file
    /// identifiers, and `pidfd` with `FAN_REPORT_PIDFD`).
    pub fn record(&self, e: &Event, fd: i32, pid: i32, pidfd: Option<i32>) -> Vec<u8> {
        let fids = fid_records(self.fid_mode(), e);
        let len = FAN_EVENT_METADATA_LEN + fids.len() + pidfd.map_or(0, |_| PIDFD_INFO_LEN);
        let mut m = Vec::with_capacity(len);
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.push(FANOTIFY_METADATA_VERSION);
        m.push(0);
        m.extend_from_slice(&(FAN_EVENT_METADATA_LEN as u16).to_ne_bytes());
        m.extend_from_slice(&e.mask.to_ne_bytes());
        m.extend_from_slice(&fd.to_ne_bytes());
        m.extend_from_slice(&pid.to_ne_bytes());
        m.extend_from_slice(&fids);
        if let Some(p) = pidfd {
            info_header(&mut m, FAN_EVENT_INFO_TYPE_PIDFD, PIDFD_INFO_LEN);
            m.extend_from_slice(&p.to_ne_bytes());
        }
        m
    }

    /// Whether `e` gets a `pidfd` record.
    pub fn reports_pidfd(&self, e: &Event) -> bool {
        self.flags & FAN_REPORT_PIDFD != 0 && e.mask & u64::from(IN_Q_OVERFLOW) == 0
    }
}

/// A `struct fanotify_event_info_header` of `kind` for a record of `len` bytes.
fn info_header(out: &mut Vec<u8>, kind: u8, len: usize) {
    out.push(kind);
    out.push(0);
    out.extend_from_slice(&(len as u16).to_ne_bytes());
}

/// A `struct fanotify_event_info_fid` of `kind`: the file system's id, the inode's
/// handle, then `name` (and its NUL) if any, padded to 4 bytes.
fn fid_record(out: &mut Vec<u8>, kind: u8, key: InodeKey, name: &[u8]) {
    let handle = crate::handle::handle_bytes(key);
    let named = if name.is_empty() { 0 } else { name.len() + 1 };
    let len = (4 + 8 + 8 + handle.len() + named).next_multiple_of(4);
    let start = out.len();
    info_header(out, kind, len);
    out.extend_from_slice(&key.0.to_ne_bytes());
    out.extend_from_slice(&(handle.len() as u32).to_ne_bytes());
    out.extend_from_slice(&crate::handle::FILEID_INO64_GEN.to_ne_bytes());
    out.extend_from_slice(&handle);
    if named != 0 {
        out.extend_from_slice(name);
    }
    out.resize(start + len, 0);
}

/// The file identifier records of `e` in a group of `fid_mode`, in Linux's order: the
/// directory and name, the new directory and name of a rename, the object.
fn fid_records(fid_mode: u32, e: &Event) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(fids) = &e.fids else { return out };
    let dirent =
        e.mask & (FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_RENAME) != 0;
    let ondir = e.mask & FAN_ONDIR != 0;
    let object = match fids {
        Fids::Object(k) => Some(*k),
        Fids::Name {
            dir,
            name,
            new,
            child,
        } => {
            if let Some(d) = dir {
                let kind = if e.mask & FAN_RENAME != 0 {
                    FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
                } else if name.is_empty() {
                    FAN_EVENT_INFO_TYPE_DFID
                } else {
                    FAN_EVENT_INFO_TYPE_DFID_NAME
                };
                fid_record(&mut out, kind, *d, name);
            }
            if let Some((d, n)) = new {
                fid_record(&mut out, FAN_EVENT_INFO_TYPE_NEW_DFID_NAME, *d, n);
            }
            *child
        }
    };
    if let Some(k) = object {
        let (kind, name): (u8, &[u8]) = if fid_mode == FAN_REPORT_FID || !out.is_empty() {
            (FAN_EVENT_INFO_TYPE_FID, b"")
        } else if fid_mode & FAN_REPORT_NAME != 0 && ondir {
            (FAN_EVENT_INFO_TYPE_DFID_NAME, b".")
        } else if dirent || ondir {
            (FAN_EVENT_INFO_TYPE_DFID, b"")
        } else {
            (FAN_EVENT_INFO_TYPE_FID, b"")
        };
        fid_record(&mut out, kind, k, name);
    }
    out
}

impl FileObject for Fanotify {
    /// A `struct fanotify_response` for a permission event read: `FAN_ALLOW` or
    /// `FAN_DENY` (with `FAN_AUDIT`), for the descriptor of its file (`ENOENT` if no
    /// event read waits on it).
    fn write(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        let mut raw = [0u8; 8];
        if crate::object::gather(bufs, &mut raw) < 8 {
            return Err(Errno::EINVAL);
        }
        let fd = i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let response = u32::from_ne_bytes([raw[4], raw[5], raw[6], raw[7]]);
        let allow = match response & !FAN_AUDIT {
            FAN_ALLOW => true,
            FAN_DENY => false,
            _ => return Err(Errno::EINVAL),
        };
        if fd < 0 {
            return Err(Errno::EINVAL);
        }
        let mut s = self.state.lock();
        let i = s
            .awaiting
            .iter()
            .position(|a| a.0 == fd)
            .ok_or(Errno::ENOENT)?;
        let (_, id) = s.awaiting.remove(i);
        drop(s);
        super::answer(id, allow);
        Ok(8)
    }

    fn poll(&self, _who: &Poller) -> PollEvents {
        PollEvents::readable_if(!self.state.lock().queue.is_empty())
    }

    fn wait_id(&self) -> u64 {
        self.id
    }

    fn fionread(&self) -> Result<i32, Errno> {
        let n: usize = self
            .state
            .lock()
            .queue
            .iter()
            .map(|e| self.event_len(e))
            .sum();
        Ok(n.min(i32::MAX as usize) as i32)
    }

    /// The group's flags and one line per mark, as Linux's `fanotify_show_fdinfo`
    /// (without file handles).
    fn fdinfo(&self) -> String {
        let mut out = format!(
            "fanotify flags:{:x} event-flags:{:x}\n",
            self.flags(),
            self.event_f_flags.bits()
        );
        for (target, mask, ignored, surv) in super::fan_marks_of(self.id) {
            let mflags = if surv {
                FAN_MARK_IGNORED_SURV_MODIFY
            } else {
                0
            };
            let what = match target {
                Target::Inode((dev, ino)) => {
                    format!("ino:{ino:x} sdev:{:x}", super::kernel_dev(dev))
                }
                Target::Mount(id) => format!("mnt_id:{id:x}"),
                Target::Filesystem(dev) => format!("sdev:{:x}", super::kernel_dev(dev)),
            };
            out.push_str(&format!(
                "fanotify {what} mflags:{mflags:x} mask:{mask:x} ignored_mask:{ignored:x}\n"
            ));
        }
        out
    }
}
