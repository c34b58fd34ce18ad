//! Directory notification (Linux's dnotify, `fcntl(fd, F_NOTIFY, DN_*)`): an open
//! directory asks for a signal when the directory or a file in it is read, written,
//! created, deleted, renamed within it, or has its attributes changed.
//!
//! A request belongs to an open file description and the descriptor table that made it
//! (Linux's `dn_filp` and `dn_owner`): `F_NOTIFY` again through the same description adds
//! to its events and updates the descriptor number the signal carries; a close of a
//! descriptor of the description in that table removes it ([`flush`]). Without
//! `DN_MULTISHOT`, the first event that fires it removes it. The events come from the
//! inode marks' delivery of [`super`] (the directory's own events and those of its
//! children, and the events on its names); a `rename` within one directory is its
//! `DN_RENAME`. A fired request is queued for the syscall layer ([`take_signals`]), which
//! sends the description's owner its signal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Weak;

use abi::flags::inotify::*;
use abi::Errno;
use parking_lot::Mutex;

use super::{InodeKey, Registry, MARKS, REGISTRY};
use crate::{Arc, FileRef, OpenFile};

/// `DN_*`: the events of `F_NOTIFY`.
pub const DN_ACCESS: u32 = 0x1;
/// A file in the directory was written.
pub const DN_MODIFY: u32 = 0x2;
/// A name was created (or moved in).
pub const DN_CREATE: u32 = 0x4;
/// A name was removed (or moved out).
pub const DN_DELETE: u32 = 0x8;
/// A name was renamed within the directory.
pub const DN_RENAME: u32 = 0x10;
/// Attributes changed.
pub const DN_ATTRIB: u32 = 0x20;
/// Keep the request after it fired.
pub const DN_MULTISHOT: u32 = 0x8000_0000;

/// `FS_RENAME` (once `FS_DN_RENAME`): the event a rename within one directory sends it
/// before `IN_MOVED_FROM`.
pub(super) const FS_DN_RENAME: u32 = 0x1000_0000;

/// The events a request can want.
const ALL_EVENTS: u32 = IN_ACCESS
    | IN_MODIFY
    | IN_ATTRIB
    | IN_CREATE
    | IN_DELETE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | FS_DN_RENAME;

/// One `F_NOTIFY` request on a directory.
pub(super) struct Request {
    file: Weak<OpenFile>,
    /// The descriptor table that made it.
    owner: usize,
    /// The descriptor the signal names (`si_fd`).
    fd: i32,
    /// `FS_*` events, as [`ALL_EVENTS`].
    mask: u32,
    multishot: bool,
}

/// Requests that fired since [`take_signals`] last ran: the description and descriptor.
static FIRED: Mutex<Vec<(Weak<OpenFile>, i32)>> = Mutex::new(Vec::new());
/// Whether [`FIRED`] may hold anything.
static ANY_FIRED: AtomicBool = AtomicBool::new(false);

/// Linux's `convert_arg`: `DN_*` to the `FS_*` events they watch.
fn events_of(arg: u32) -> u32 {
    [
        (DN_ACCESS, IN_ACCESS),
        (DN_MODIFY, IN_MODIFY),
        (DN_CREATE, IN_CREATE | IN_MOVED_TO),
        (DN_DELETE, IN_DELETE | IN_MOVED_FROM),
        (DN_RENAME, FS_DN_RENAME),
        (DN_ATTRIB, IN_ATTRIB),
    ]
    .iter()
    .filter(|(dn, _)| arg & dn != 0)
    .fold(0, |m, (_, fs)| m | fs)
}

/// `fcntl(fd, F_NOTIFY, arg)` on `f` by descriptor table `owner`: no event but
/// `DN_MULTISHOT` removes the table's request on `f`; else `f` must be a directory
/// (`ENOTDIR`) and the request is made or extended. Whether a request now exists (the
/// caller then becomes the description's owner unless it has one).
pub fn request(f: &FileRef, owner: usize, fd: i32, arg: u32) -> Result<bool, Errno> {
    if arg & !DN_MULTISHOT == 0 {
        flush(f, owner);
        return Ok(false);
    }
    let st = f.stat()?;
    let key = (st.st_dev, st.st_ino);
    if st.st_mode & abi::flags::mode::S_IFMT != abi::flags::mode::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    let mask = events_of(arg);
    let multishot = arg & DN_MULTISHOT != 0;
    let mut reg = REGISTRY.lock();
    let reqs = reg.dnotify.entry(key).or_default();
    match reqs
        .iter_mut()
        .find(|r| r.owner == owner && std::ptr::eq(r.file.as_ptr(), Arc::as_ptr(f)))
    {
        Some(r) => {
            r.fd = fd;
            r.mask |= mask;
            r.multishot |= multishot;
        }
        None => {
            // The newest first, as Linux's list.
            reqs.insert(
                0,
                Request {
                    file: Arc::downgrade(f),
                    owner,
                    fd,
                    mask,
                    multishot,
                },
            );
            MARKS.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(true)
}

/// Linux's `dnotify_flush`: a descriptor of `f` in table `owner` was closed; the table's
/// request on it goes.
pub fn flush(f: &OpenFile, owner: usize) {
    if !super::active() {
        return;
    }
    let mut reg = REGISTRY.lock();
    let dead = |r: &Request| {
        r.file.strong_count() == 0 || (r.owner == owner && std::ptr::eq(r.file.as_ptr(), f))
    };
    let mut gone = 0;
    for reqs in reg.dnotify.values_mut() {
        let before = reqs.len();
        reqs.retain(|r| !dead(r));
        gone += before - reqs.len();
    }
    reg.dnotify.retain(|_, v| !v.is_empty());
    MARKS.fetch_sub(gone, Ordering::Relaxed);
}

/// The requests on directory `key` that want event `mask` fire; a one-shot one goes.
pub(super) fn deliver(reg: &mut Registry, key: InodeKey, mask: u32) {
    let test = mask & ALL_EVENTS;
    if test == 0 {
        return;
    }
    let Some(reqs) = reg.dnotify.get_mut(&key) else {
        return;
    };
    let mut fired = FIRED.lock();
    let before = reqs.len();
    reqs.retain(|r| {
        if r.mask & test == 0 {
            return true;
        }
        fired.push((r.file.clone(), r.fd));
        r.multishot
    });
    let gone = before - reqs.len();
    if reqs.is_empty() {
        reg.dnotify.remove(&key);
    }
    MARKS.fetch_sub(gone, Ordering::Relaxed);
    if !fired.is_empty() {
        ANY_FIRED.store(true, Ordering::Release);
    }
}

/// The requests that fired since the last call, each as its open file description and
/// the descriptor its signal names (cheap when none did).
pub fn take_signals() -> Vec<(FileRef, i32)> {
    if !ANY_FIRED.swap(false, Ordering::Acquire) {
        return Vec::new();
    }
    std::mem::take(&mut *FIRED.lock())
        .into_iter()
        .filter_map(|(f, fd)| Some((f.upgrade()?, fd)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_flags_map_to_linux_s_events() {
        assert_eq!(events_of(DN_CREATE), IN_CREATE | IN_MOVED_TO);
        assert_eq!(events_of(DN_DELETE), IN_DELETE | IN_MOVED_FROM);
        assert_eq!(events_of(DN_RENAME | DN_MULTISHOT), FS_DN_RENAME);
        assert_eq!(
            events_of(DN_ACCESS | DN_MODIFY | DN_ATTRIB),
            IN_ACCESS | IN_MODIFY | IN_ATTRIB
        );
    }
}
