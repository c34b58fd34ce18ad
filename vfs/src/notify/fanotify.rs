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
//! allows it. Not implemented: the `FAN_REPORT_*FID` and name records.

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
    /// `FAN_*` bits.
    pub mask: u64,
    /// The process (or thread, `FAN_REPORT_TID`) that caused it; 0 for an overflow.
    pub pid: i32,
    /// The file (`None` for an overflow).
    pub dentry: Option<Dentry>,
    key: Option<InodeKey>,
    isdir: bool,
    /// The permission request a permission event asks about.
    pub perm: Option<u64>,
}

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
        self.flags
    }

    /// Whether events carry the thread id rather than the process id.
    pub(super) fn reports_tid(&self) -> bool {
        self.flags & FAN_REPORT_TID != 0
    }

    /// The flags event files are opened with.
    pub fn event_f_flags(&self) -> OFlags {
        self.event_f_flags
    }

    /// `fanotify_mark` with `FAN_MARK_ADD` (`add`) or `FAN_MARK_REMOVE`: `mask` to the
    /// event mask, or with `FAN_MARK_IGNORED_MASK` (`ignored`) to the ignore mask
    /// (`survive_modify`: `FAN_MARK_IGNORED_SURV_MODIFY`). Removing from a mark that does
    /// not exist is `ENOENT`.
    pub fn mark(
        &self,
        target: Target,
        add: bool,
        mask: u64,
        ignored: bool,
        survive_modify: bool,
    ) -> Result<(), Errno> {
        super::set_fan_mark(self, target, add, mask, ignored, survive_modify)
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

    /// Queues `mask` about `d` (inode `key`, a directory if `isdir`) caused by `pid`
    /// (`perm`: a permission event of that request, never merged nor dropped).
    pub(super) fn queue(
        &self,
        mask: u64,
        isdir: bool,
        pid: i32,
        d: &Dentry,
        key: InodeKey,
        perm: Option<u64>,
    ) {
        let mut s = self.state.lock();
        if perm.is_some() {
            s.queue.push_back(Event {
                mask,
                pid,
                dentry: Some(d.clone()),
                key: Some(key),
                isdir,
                perm,
            });
            drop(s);
            super::ready(self.id);
            return;
        }
        if s.limit.is_some_and(|l| s.queue.len() >= l) {
            if !s.overflowed {
                s.overflowed = true;
                s.queue.push_back(Event {
                    mask: u64::from(IN_Q_OVERFLOW),
                    pid: 0,
                    dentry: None,
                    key: None,
                    isdir: false,
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
            .find(|e| e.key == Some(key) && e.pid == pid && e.isdir == isdir && e.perm.is_none());
        match same {
            Some(e) => e.mask |= mask,
            None => s.queue.push_back(Event {
                mask,
                pid,
                dentry: Some(d.clone()),
                key: Some(key),
                isdir,
                perm: None,
            }),
        }
        drop(s);
        super::ready(self.id);
    }

    /// Takes as many events as `room` bytes of metadata hold (`EINVAL` if not even one
    /// does; `EAGAIN` if there are none).
    pub fn take(&self, room: usize) -> Result<Vec<Event>, Errno> {
        let mut s = self.state.lock();
        if s.queue.is_empty() {
            return Err(Errno::EAGAIN);
        }
        let n = (room / FAN_EVENT_METADATA_LEN).min(s.queue.len());
        if n == 0 {
            return Err(Errno::EINVAL);
        }
        let out: Vec<Event> = s.queue.drain(..n).collect();
        if out.iter().any(|e| e.dentry.is_none()) {
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

/// The `struct fanotify_event_metadata` of an event whose file is descriptor `fd`.
pub fn metadata(e: &Event, fd: i32) -> [u8; FAN_EVENT_METADATA_LEN] {
    let mut m = [0u8; FAN_EVENT_METADATA_LEN];
    m[0..4].copy_from_slice(&(FAN_EVENT_METADATA_LEN as u32).to_ne_bytes());
    m[4] = FANOTIFY_METADATA_VERSION;
    m[6..8].copy_from_slice(&(FAN_EVENT_METADATA_LEN as u16).to_ne_bytes());
    m[8..16].copy_from_slice(&e.mask.to_ne_bytes());
    m[16..20].copy_from_slice(&fd.to_ne_bytes());
    m[20..24].copy_from_slice(&e.pid.to_ne_bytes());
    m
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
        let n = self.state.lock().queue.len() * FAN_EVENT_METADATA_LEN;
        Ok(n.min(i32::MAX as usize) as i32)
    }

    /// The group's flags and one line per mark, as Linux's `fanotify_show_fdinfo`
    /// (without file handles).
    fn fdinfo(&self) -> String {
        let mut out = format!(
            "fanotify flags:{:x} event-flags:{:x}\n",
            self.flags,
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
