//! Advisory file locks: POSIX record locks (`fcntl` `F_GETLK`/`F_SETLK`/`F_SETLKW`, owned
//! by a process), open file description record locks (`F_OFD_*`, owned by the open file)
//! and `flock` locks (whole file, owned by the open file).
//!
//! Locks are kept by the file's identity ([`vfs::OpenFile::inode_id`]), so every name and
//! descriptor of a file sees the same locks. Record locks of both kinds share one list per
//! file and conflict with each other; `flock` locks are a separate list, as on Linux.
//!
//! Invariants: the record locks of one owner on one file never overlap, and those of the
//! same type are never adjacent (they are merged). A POSIX lock lives until its process
//! unlocks it, closes any descriptor of the file, or exits; an open-file lock lives until
//! it is unlocked or its open file description is gone (it is held through a `Weak`
//! reference, and dead ones are pruned whenever the table is looked at). A blocked locker
//! waits on [`WaitKey::Lock`], which every change of a file's locks wakes.
//!
//! Deadlock detection follows Linux: a POSIX owner about to block notes whom it waits
//! for; a request whose chain of waited-for owners comes back to the requester fails with
//! `EDEADLK`. A note is trusted only while some task is still blocked on that file.

use std::collections::HashMap;
use std::sync::Weak;

use abi::flags::fcntl::{
    F_GETLK, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_RDLCK, F_SETLKW, F_UNLCK, F_WRLCK,
};
use abi::flags::flock::{LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN};
use abi::flags::{seek, OFlags};
use abi::structs::Flock;
use abi::{Errno, SysResult, UserAddr};
use vfs::{FileRef, OpenFile};

use crate::{Args, Ctx, WaitKey};

/// A file's identity: (`st_dev`, `st_ino`).
pub type InodeId = (u64, u64);

/// Linux's `OFFSET_MAX`: the end of a lock that runs to the end of any file.
const OFFSET_MAX: i64 = i64::MAX;

/// How many hops deadlock detection follows (Linux's `MAX_DEADLK_ITERATIONS`).
const MAX_DEADLOCK_HOPS: usize = 10;

/// Who holds a lock.
#[derive(Clone, Debug)]
enum Owner {
    /// A process (POSIX record locks).
    Process(i32),
    /// An open file description (OFD record locks, `flock`).
    File(Weak<OpenFile>),
}

impl Owner {
    fn same(&self, other: &Owner) -> bool {
        match (self, other) {
            (Owner::Process(a), Owner::Process(b)) => a == b,
            (Owner::File(a), Owner::File(b)) => Weak::ptr_eq(a, b),
            _ => false,
        }
    }

    fn alive(&self) -> bool {
        match self {
            Owner::Process(_) => true,
            Owner::File(f) => f.strong_count() > 0,
        }
    }
}

/// One lock on bytes `start..=end` (`end` at most `OFFSET_MAX`; `flock` locks cover all).
#[derive(Clone, Debug)]
struct Lock {
    owner: Owner,
    start: u64,
    end: u64,
    write: bool,
}

impl Lock {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start <= end && start <= self.end
    }

    /// Whether it stands in the way of `owner` locking `start..=end` (for writing if
    /// `write`).
    fn conflicts(&self, owner: &Owner, start: u64, end: u64, write: bool) -> bool {
        !self.owner.same(owner) && self.overlaps(start, end) && (write || self.write)
    }
}

/// The locks on one file.
#[derive(Default)]
struct FileLocks {
    records: Vec<Lock>,
    flocks: Vec<Lock>,
}

impl FileLocks {
    fn prune(&mut self) -> bool {
        let before = self.records.len() + self.flocks.len();
        self.records.retain(|l| l.owner.alive());
        self.flocks.retain(|l| l.owner.alive());
        before != self.records.len() + self.flocks.len()
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.flocks.is_empty()
    }
}

/// Every advisory lock of the guest, and which POSIX owners wait for which.
#[derive(Default)]
pub struct LockTable {
    files: HashMap<InodeId, FileLocks>,
    /// Blocked POSIX owner → (the file, the owner of the lock it waits behind).
    waiting: HashMap<i32, (InodeId, i32)>,
}

impl LockTable {
    /// Whether no lock is held anywhere (closing a file then has nothing to look up).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    fn file(&mut self, id: InodeId) -> &mut FileLocks {
        let fl = self.files.entry(id).or_default();
        fl.prune();
        fl
    }

    /// Drops the entry of `id` if nothing is left in it.
    fn tidy(&mut self, id: InodeId) {
        if self.files.get(&id).is_some_and(FileLocks::is_empty) {
            self.files.remove(&id);
        }
    }

    /// Process `pid` closed a descriptor of file `id`: its POSIX locks there go, and so do
    /// the locks of open files that are gone. Returns whether anything was released.
    fn closed(&mut self, pid: i32, id: InodeId) -> bool {
        let Some(fl) = self.files.get_mut(&id) else {
            return false;
        };
        let before = fl.records.len();
        fl.records
            .retain(|l| !matches!(l.owner, Owner::Process(p) if p == pid));
        let changed = fl.prune() || before != fl.records.len();
        self.tidy(id);
        changed
    }

    /// Process `pid` exited (its descriptors already closed): every POSIX lock of it goes,
    /// and locks of open files that are gone. Returns the files whose locks changed.
    pub fn exited(&mut self, pid: i32) -> Vec<InodeId> {
        self.waiting.remove(&pid);
        let ids: Vec<InodeId> = self.files.keys().copied().collect();
        ids.into_iter().filter(|&id| self.closed(pid, id)).collect()
    }

    /// The first record lock in the way of `owner` locking `start..=end`.
    fn conflict(
        &mut self,
        id: InodeId,
        owner: &Owner,
        start: u64,
        end: u64,
        write: bool,
    ) -> Option<Lock> {
        let found = self
            .file(id)
            .records
            .iter()
            .find(|l| l.conflicts(owner, start, end, write))
            .cloned();
        self.tidy(id);
        found
    }

    /// Sets (`Some(write)`) or removes (`None`) `owner`'s record lock on `start..=end`,
    /// splitting and merging its other locks there (`posix_lock_inode`'s second half).
    fn apply(&mut self, id: InodeId, owner: Owner, start: u64, end: u64, kind: Option<bool>) {
        let fl = self.file(id);
        let (mut start, mut end) = (start, end);
        let mut kept = Vec::with_capacity(fl.records.len() + 2);
        for l in fl.records.drain(..) {
            if !l.owner.same(&owner) {
                kept.push(l);
            } else if kind == Some(l.write) {
                // Same type: merge when overlapping or adjacent.
                if l.end.saturating_add(1) >= start && end.saturating_add(1) >= l.start {
                    start = start.min(l.start);
                    end = end.max(l.end);
                } else {
                    kept.push(l);
                }
            } else if !l.overlaps(start, end) {
                kept.push(l);
            } else {
                if l.start < start {
                    kept.push(Lock {
                        end: start - 1,
                        ..l.clone()
                    });
                }
                if l.end > end {
                    kept.push(Lock {
                        start: end + 1,
                        ..l
                    });
                }
            }
        }
        if let Some(write) = kind {
            // As Linux's list: an owner's locks stay together, in order of their start
            // (which decides which conflict `F_GETLK` reports first).
            let same = |l: &Lock| l.owner.same(&owner);
            let at = kept
                .iter()
                .position(|l| same(l) && l.start > start)
                .or_else(|| kept.iter().rposition(same).map(|i| i + 1))
                .unwrap_or(kept.len());
            kept.insert(
                at,
                Lock {
                    owner,
                    start,
                    end,
                    write,
                },
            );
        }
        fl.records = kept;
        self.tidy(id);
    }

    /// Whether `me` blocking behind a lock of `holder` would close a cycle of POSIX owners
    /// waiting for each other. `live` says whether tasks still wait on a file.
    fn deadlock(&self, me: i32, holder: i32, live: impl Fn(InodeId) -> bool) -> bool {
        let mut owner = holder;
        for _ in 0..MAX_DEADLOCK_HOPS {
            match self.waiting.get(&owner) {
                Some(&(id, next)) if live(id) => {
                    if next == me {
                        return true;
                    }
                    owner = next;
                }
                _ => return false,
            }
        }
        false
    }
}

/// Closes `file` (a descriptor of the calling process just left its table): the process's
/// POSIX locks on the file are released, and the open file's own locks if this was its
/// last reference. Tasks waiting for those locks retry.
pub(crate) fn release_on_close(ctx: &mut Ctx<'_>, file: FileRef) {
    if ctx.procs.locks.is_empty() {
        return;
    }
    let Ok(id) = file.inode_id() else {
        return;
    };
    drop(file);
    if ctx.procs.locks.closed(ctx.proc.pid, id) {
        ctx.wake(WaitKey::Lock(id.0, id.1));
    }
}

/// The byte range a `struct flock` names, resolved against `file` (`flock64_to_posix_lock`):
/// `EINVAL` for a bad whence or a range before 0, `EOVERFLOW` past `OFFSET_MAX`.
fn range(file: &FileRef, fl: &Flock) -> Result<(u64, u64), Errno> {
    let base = match i32::from(fl.l_whence) {
        seek::SET => 0,
        seek::CUR => file.lseek(0, seek::CUR).unwrap_or(0) as i64,
        seek::END => file.stat()?.st_size,
        _ => return Err(Errno::EINVAL),
    };
    if fl.l_start > OFFSET_MAX - base {
        return Err(Errno::EOVERFLOW);
    }
    let mut start = base + fl.l_start;
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    let end;
    if fl.l_len > 0 {
        if fl.l_len - 1 > OFFSET_MAX - start {
            return Err(Errno::EOVERFLOW);
        }
        end = start + (fl.l_len - 1);
    } else if fl.l_len < 0 {
        if start + fl.l_len < 0 {
            return Err(Errno::EINVAL);
        }
        end = start - 1;
        start += fl.l_len;
    } else {
        end = OFFSET_MAX;
    }
    Ok((start as u64, end as u64))
}

/// `F_RDLCK` → `Some(false)`, `F_WRLCK` → `Some(true)`, `F_UNLCK` → `None`; else `EINVAL`.
fn lock_kind(l_type: i16) -> Result<Option<bool>, Errno> {
    match l_type {
        F_RDLCK => Ok(Some(false)),
        F_WRLCK => Ok(Some(true)),
        F_UNLCK => Ok(None),
        _ => Err(Errno::EINVAL),
    }
}

/// The `fcntl` record-lock commands on `file` with the `struct flock` at `at`.
pub(crate) fn fcntl_lock(ctx: &mut Ctx<'_>, file: FileRef, cmd: i32, at: UserAddr) -> SysResult {
    if file.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let mut fl: Flock = ctx.read_val(at)?;
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    let owner = if ofd {
        Owner::File(std::sync::Arc::downgrade(&file))
    } else {
        Owner::Process(ctx.proc.pid)
    };
    if matches!(cmd, F_GETLK | F_OFD_GETLK) {
        if fl.l_type != F_RDLCK && fl.l_type != F_WRLCK {
            return Err(Errno::EINVAL);
        }
        let (start, end) = range(&file, &fl)?;
        if ofd && fl.l_pid != 0 {
            return Err(Errno::EINVAL);
        }
        let id = file.inode_id()?;
        let write = fl.l_type == F_WRLCK;
        match ctx.procs.locks.conflict(id, &owner, start, end, write) {
            None => fl.l_type = F_UNLCK,
            Some(l) => {
                fl.l_type = if l.write { F_WRLCK } else { F_RDLCK };
                fl.l_whence = seek::SET as i16;
                fl.l_start = l.start as i64;
                fl.l_len = if l.end == OFFSET_MAX as u64 {
                    0
                } else {
                    (l.end - l.start + 1) as i64
                };
                fl.l_pid = match l.owner {
                    Owner::Process(p) => p,
                    Owner::File(_) => -1,
                };
            }
        }
        ctx.write_val(at, &fl)?;
        return Ok(0);
    }
    let (start, end) = range(&file, &fl)?;
    let kind = lock_kind(fl.l_type)?;
    let flags = file.flags();
    match kind {
        Some(false) if !flags.readable() => return Err(Errno::EBADF),
        Some(true) if !flags.writable() => return Err(Errno::EBADF),
        _ => {}
    }
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let id = file.inode_id()?;
    let pid = ctx.proc.pid;
    let locks = &mut ctx.procs.locks;
    locks.waiting.remove(&pid);
    if let Some(write) = kind {
        if let Some(held) = locks.conflict(id, &owner, start, end, write) {
            if !matches!(cmd, F_SETLKW | F_OFD_SETLKW) {
                return Err(Errno::EAGAIN);
            }
            if let (false, Owner::Process(holder)) = (ofd, held.owner) {
                let sched = ctx.sched;
                let live = |(dev, ino)| !sched.queue(WaitKey::Lock(dev, ino)).is_empty();
                if locks.deadlock(pid, holder, live) {
                    return Err(Errno::EDEADLK);
                }
                locks.waiting.insert(pid, (id, holder));
            }
            return Err(ctx.block_on(WaitKey::Lock(id.0, id.1)));
        }
    }
    locks.apply(id, owner, start, end, kind);
    ctx.wake(WaitKey::Lock(id.0, id.1));
    Ok(0)
}

/// `flock(2)`: a shared or exclusive lock on the whole file, held by the open file
/// description. Changing a lock's type first drops the old one (not atomic, as on Linux).
pub(crate) fn sys_flock(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let file = ctx.file(a.i32(0))?;
    if file.flags().contains(OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let op = a.i32(1);
    let want = match op & !LOCK_NB {
        LOCK_SH => Some(false),
        LOCK_EX => Some(true),
        LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    let id = file.inode_id()?;
    let me = Owner::File(std::sync::Arc::downgrade(&file));
    let locks = &mut ctx.procs.locks;
    let fl = locks.file(id);
    let mut changed = false;
    if let Some(i) = fl.flocks.iter().position(|l| l.owner.same(&me)) {
        if want == Some(fl.flocks[i].write) {
            return Ok(0);
        }
        fl.flocks.remove(i);
        changed = true;
    }
    let mut blocked = false;
    if let Some(write) = want {
        if fl
            .flocks
            .iter()
            .any(|l| l.conflicts(&me, 0, u64::MAX, write))
        {
            blocked = true;
        } else {
            fl.flocks.push(Lock {
                owner: me,
                start: 0,
                end: u64::MAX,
                write,
            });
            changed = true;
        }
    }
    locks.tidy(id);
    if changed {
        ctx.wake(WaitKey::Lock(id.0, id.1));
    }
    if blocked {
        if op & LOCK_NB != 0 {
            return Err(Errno::EWOULDBLOCK);
        }
        return Err(ctx.block_on(WaitKey::Lock(id.0, id.1)));
    }
    Ok(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ID: InodeId = (1, 2);

    fn ranges(t: &LockTable, pid: i32) -> Vec<(u64, u64, bool)> {
        let mut v: Vec<_> = t.files[&ID]
            .records
            .iter()
            .filter(|l| matches!(l.owner, Owner::Process(p) if p == pid))
            .map(|l| (l.start, l.end, l.write))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn unlocking_the_middle_splits_and_same_types_merge() {
        let mut t = LockTable::default();
        t.apply(ID, Owner::Process(1), 0, 99, Some(true));
        t.apply(ID, Owner::Process(1), 40, 59, None);
        assert_eq!(ranges(&t, 1), [(0, 39, true), (60, 99, true)]);
        t.apply(ID, Owner::Process(1), 40, 59, Some(true));
        assert_eq!(ranges(&t, 1), [(0, 99, true)]);
        t.apply(ID, Owner::Process(1), 10, 19, Some(false));
        assert_eq!(
            ranges(&t, 1),
            [(0, 9, true), (10, 19, false), (20, 99, true)]
        );
        t.apply(ID, Owner::Process(1), 0, OFFSET_MAX as u64, None);
        assert!(t.is_empty());
    }

    #[test]
    fn readers_share_and_writers_conflict_across_owners() {
        let mut t = LockTable::default();
        t.apply(ID, Owner::Process(1), 0, 9, Some(false));
        assert!(t.conflict(ID, &Owner::Process(2), 5, 5, false).is_none());
        assert!(t.conflict(ID, &Owner::Process(2), 5, 5, true).is_some());
        assert!(t.conflict(ID, &Owner::Process(1), 5, 5, true).is_none());
        assert!(t.conflict(ID, &Owner::Process(2), 10, 20, true).is_none());
    }

    #[test]
    fn a_cycle_of_waiters_is_a_deadlock() {
        let mut t = LockTable::default();
        t.waiting.insert(2, (ID, 3));
        t.waiting.insert(3, (ID, 1));
        assert!(t.deadlock(1, 2, |_| true));
        assert!(!t.deadlock(4, 2, |_| true));
        // Notes on files nobody waits on any more are stale.
        assert!(!t.deadlock(1, 2, |_| false));
    }

    #[test]
    fn open_file_locks_go_with_their_file() {
        let mut t = LockTable::default();
        let (r, w) = vfs::Vfs::new(vfs::VfsConfig {
            root: "/".into(),
            rw: false,
            uid: 0,
            gid: 0,
            binds: Vec::new(),
        })
        .unwrap()
        .pipe(OFlags::empty())
        .unwrap();
        t.apply(
            ID,
            Owner::File(std::sync::Arc::downgrade(&r)),
            0,
            9,
            Some(true),
        );
        assert!(t
            .conflict(ID, &Owner::File(std::sync::Arc::downgrade(&w)), 0, 0, false)
            .is_some());
        drop(r);
        assert!(t.conflict(ID, &Owner::Process(1), 0, 0, true).is_none());
        assert!(t.is_empty());
    }
}
