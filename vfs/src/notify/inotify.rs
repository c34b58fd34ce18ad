//! An inotify instance (`inotify(7)`): its watches and its queue of events, read as
//! `struct inotify_event` records.
//!
//! Queueing follows Linux's `fsnotify_insert_event`: an event identical to the last one
//! queued (same watch, mask and name; not `IN_IGNORED`) is dropped; once
//! `max_queued_events` wait, one `IN_Q_OVERFLOW` (watch -1) takes the place of whatever
//! comes next, until it is read. A read takes whole events, as many as fit (`EINVAL` if
//! not even the first does); it would block (`EAGAIN`) while the queue is empty. Watch
//! descriptors count up from 1 and are not reused while the instance lives.

use std::collections::{BTreeMap, VecDeque};
use std::io::IoSliceMut;

use abi::flags::inotify::{IN_IGNORED, IN_Q_OVERFLOW};
use abi::Errno;
use parking_lot::Mutex;

use super::InodeKey;
use crate::object::{iov_len_mut, new_wait_id, scatter};
use crate::{Arc, Dentry, FileObject, PollEvents, Poller};

/// `sizeof(struct inotify_event)`, also the unit names are padded to.
const EVENT_SIZE: usize = 16;

/// An inotify instance.
pub struct Inotify {
    /// Itself, for the marks to point back at.
    me: std::sync::Weak<Inotify>,
    id: u64,
    /// Its owner (whose limits it counts against).
    uid: u32,
    state: Mutex<State>,
}

struct State {
    queue: VecDeque<Event>,
    /// Bytes the queued events take when read (`FIONREAD`).
    bytes: usize,
    /// `max_queued_events` when the instance was made.
    max_events: usize,
    /// The overflow event is queued.
    overflowed: bool,
    /// Watch descriptor to inode.
    watches: BTreeMap<i32, InodeKey>,
    last_wd: i32,
}

struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Option<Vec<u8>>,
}

impl Event {
    /// `len` of the record: the name with its NUL, padded to [`EVENT_SIZE`].
    fn name_len(&self) -> usize {
        self.name
            .as_ref()
            .map_or(0, |n| (n.len() + 1).div_ceil(EVENT_SIZE) * EVENT_SIZE)
    }

    fn size(&self) -> usize {
        EVENT_SIZE + self.name_len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let len = self.name_len();
        out.extend_from_slice(&self.wd.to_ne_bytes());
        out.extend_from_slice(&self.mask.to_ne_bytes());
        out.extend_from_slice(&self.cookie.to_ne_bytes());
        out.extend_from_slice(&(len as u32).to_ne_bytes());
        if let Some(n) = &self.name {
            out.extend_from_slice(n);
            out.resize(out.len() + len - n.len(), 0);
        }
    }
}

impl Inotify {
    /// A new instance of user `uid` whose queue holds `max_events`.
    pub fn new(uid: u32, max_events: usize) -> Arc<Inotify> {
        super::count_instance(uid, 1);
        Arc::new_cyclic(|me| Inotify {
            me: me.clone(),
            id: new_wait_id(),
            uid,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                bytes: 0,
                max_events,
                overflowed: false,
                watches: BTreeMap::new(),
                last_wd: 0,
            }),
        })
    }

    pub(super) fn id(&self) -> u64 {
        self.id
    }

    pub(super) fn uid(&self) -> u32 {
        self.uid
    }

    pub(super) fn weak(&self) -> std::sync::Weak<Inotify> {
        self.me.clone()
    }

    /// `inotify_add_watch`: watches what `d` names for `mask` (events and `IN_ONESHOT`,
    /// `IN_EXCL_UNLINK`, `IN_MASK_ADD`, `IN_MASK_CREATE`; the caller checked them and the
    /// other flags); at most `max_marks` marks for the user. The watch descriptor.
    pub fn add_watch(&self, d: &Dentry, mask: u32, max_marks: usize) -> Result<i32, Errno> {
        let st = d.stat()?;
        let key = (st.st_dev, st.st_ino);
        let mut new = None;
        let wd = super::set_mark(self, key, d.is_dir(), mask, max_marks, || {
            let mut s = self.state.lock();
            // Linux's idr_alloc_cyclic: the next free number after the last one.
            let mut wd = s.last_wd;
            loop {
                wd = if wd == i32::MAX { 1 } else { wd + 1 };
                if !s.watches.contains_key(&wd) {
                    break;
                }
            }
            s.last_wd = wd;
            new = Some(wd);
            wd
        })?;
        if let Some(wd) = new {
            self.state.lock().watches.insert(wd, key);
        }
        Ok(wd)
    }

    /// `inotify_rm_watch`: `EINVAL` if `wd` is no watch of this instance; else the watch
    /// goes, with an `IN_IGNORED` event.
    pub fn rm_watch(&self, wd: i32) -> Result<(), Errno> {
        let key = *self.state.lock().watches.get(&wd).ok_or(Errno::EINVAL)?;
        if !super::remove_mark(key, self.id, wd) {
            return Err(Errno::EINVAL);
        }
        self.mark_gone(wd);
        Ok(())
    }

    /// Queues an event of watch `wd` (`name`: of a child of the watched directory).
    pub(super) fn queue(&self, wd: i32, mask: u32, cookie: u32, name: Option<&[u8]>) {
        let ev = Event {
            wd,
            mask,
            cookie,
            name: name.map(<[u8]>::to_vec),
        };
        if self.state.lock().push(ev) {
            super::ready(self.id);
        }
    }

    /// Watch `wd` is gone (removed, one-shot fired, inode gone, unmounted): `IN_IGNORED`.
    pub(super) fn mark_gone(&self, wd: i32) {
        self.state.lock().watches.remove(&wd);
        self.queue(wd, IN_IGNORED, 0, None);
    }
}

impl State {
    /// Adds `ev` unless it repeats the last event; whether the queue changed.
    fn push(&mut self, ev: Event) -> bool {
        if self.queue.len() >= self.max_events {
            if self.overflowed {
                return false;
            }
            self.overflowed = true;
            let ov = Event {
                wd: -1,
                mask: IN_Q_OVERFLOW,
                cookie: 0,
                name: None,
            };
            self.bytes += ov.size();
            self.queue.push_back(ov);
            return true;
        }
        if let Some(last) = self.queue.back() {
            if last.mask & IN_IGNORED == 0
                && last.mask == ev.mask
                && last.wd == ev.wd
                && last.name == ev.name
            {
                return false;
            }
        }
        self.bytes += ev.size();
        self.queue.push_back(ev);
        true
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        let watches = std::mem::take(&mut self.state.get_mut().watches);
        for (wd, key) in watches {
            super::remove_mark(key, self.id, wd);
        }
        super::count_instance(self.uid, -1);
    }
}

impl FileObject for Inotify {
    fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        let room = iov_len_mut(bufs);
        let mut out = Vec::new();
        let mut s = self.state.lock();
        if s.queue.is_empty() {
            return Err(Errno::EAGAIN);
        }
        while let Some(ev) = s.queue.front() {
            if out.len() + ev.size() > room {
                if out.is_empty() {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            ev.encode(&mut out);
            let ev = s.queue.pop_front().expect("front exists");
            s.bytes -= ev.size();
            if ev.mask == IN_Q_OVERFLOW {
                s.overflowed = false;
            }
        }
        drop(s);
        Ok(scatter(bufs, &out))
    }

    fn poll(&self, _who: &Poller) -> PollEvents {
        PollEvents::readable_if(!self.state.lock().queue.is_empty())
    }

    fn wait_id(&self) -> u64 {
        self.id
    }

    fn fionread(&self) -> Result<i32, Errno> {
        Ok(self.state.lock().bytes.min(i32::MAX as usize) as i32)
    }

    /// One line per watch, as Linux's `inotify_fdinfo` (without the file handle).
    fn fdinfo(&self) -> String {
        let watches: Vec<(i32, InodeKey)> = self
            .state
            .lock()
            .watches
            .iter()
            .rev()
            .map(|(&wd, &k)| (wd, k))
            .collect();
        let mut out = String::new();
        for (wd, (dev, ino)) in watches {
            let mask = super::mark_mask((dev, ino), self.id, wd).unwrap_or(0);
            out.push_str(&format!(
                "inotify wd:{wd:x} ino:{ino:x} sdev:{:x} mask:{mask:x} ignored_mask:0\n",
                super::kernel_dev(dev)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(max: usize) -> State {
        State {
            queue: VecDeque::new(),
            bytes: 0,
            max_events: max,
            overflowed: false,
            watches: BTreeMap::new(),
            last_wd: 0,
        }
    }

    fn ev(wd: i32, mask: u32, name: Option<&[u8]>) -> Event {
        Event {
            wd,
            mask,
            cookie: 0,
            name: name.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn identical_consecutive_events_merge() {
        let mut s = state(10);
        assert!(s.push(ev(1, 2, None)));
        assert!(!s.push(ev(1, 2, None)));
        assert!(s.push(ev(1, 2, Some(b"a"))));
        assert!(!s.push(ev(1, 2, Some(b"a"))));
        assert!(s.push(ev(1, 2, Some(b"b"))));
        assert!(s.push(ev(2, 2, Some(b"b"))));
        assert!(s.push(ev(1, IN_IGNORED, None)));
        assert!(s.push(ev(1, IN_IGNORED, None)));
        assert_eq!(s.queue.len(), 6);
        assert_eq!(s.bytes, 16 + 32 * 3 + 16 * 2);
    }

    #[test]
    fn overflow_once_until_read() {
        let mut s = state(2);
        assert!(s.push(ev(1, 1, None)));
        assert!(s.push(ev(1, 2, None)));
        assert!(s.push(ev(1, 4, None)));
        assert!(!s.push(ev(1, 8, None)));
        assert_eq!(s.queue.len(), 3);
        assert_eq!(
            s.queue.back().map(|e| (e.wd, e.mask)),
            Some((-1, IN_Q_OVERFLOW))
        );
    }

    #[test]
    fn records_pad_names_to_16() {
        let mut out = Vec::new();
        ev(3, 0x100, Some(b"file")).encode(&mut out);
        assert_eq!(out.len(), 32);
        assert_eq!(&out[12..16], &16u32.to_ne_bytes());
        assert_eq!(&out[16..21], b"file\0");
        let mut out = Vec::new();
        ev(3, 0x100, Some(&[b'x'; 16])).encode(&mut out);
        assert_eq!(out.len(), 48);
    }

    #[test]
    fn kernel_dev_encoding() {
        assert_eq!(
            super::super::kernel_dev(abi::structs::makedev(8, 1)),
            (8 << 20) | 1
        );
        assert_eq!(
            super::super::kernel_dev(abi::structs::makedev(0, 0x40)),
            0x40
        );
    }
}
