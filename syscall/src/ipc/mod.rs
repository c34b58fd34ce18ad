//! SysV IPC (shared memory [`shm`], semaphores [`sem`], message queues [`msg`]) and POSIX
//! message queues ([`mqueue`]): one IPC namespace per uml instance ([`Ipc`], kept in the
//! process table as Linux keeps `ipc_namespace`).
//!
//! The three SysV kinds share Linux's machinery here: [`Ids`] hands out ids as Linux does
//! (`seq * IPCMNI + index`, the lowest free index after the last one given, the sequence
//! number moving on when the index wraps), finds objects by key (`*get` with
//! `IPC_PRIVATE`, `IPC_CREAT`, `IPC_EXCL`) and checks access by Linux's `ipcperms` (owner,
//! then group, then others; guest euid 0 passes every check) and the owner-or-creator rule of
//! `IPC_SET`/`IPC_RMID`. The limits are the instance's `/proc/sys/kernel/{shm*,sem,msg*}`
//! and `fs/mqueue/*`.
//!
//! Waiting: a blocked `semop`, `msgsnd` or `msgrcv` waits on [`WaitKey::Ipc`] keys of its
//! object and runs again whenever the object changes (a retry sees the object as it is, and
//! `EIDRM` if it was removed meanwhile); a POSIX queue is a file whose wait id its senders,
//! receivers and pollers wait on. `/proc/sysvipc/{shm,sem,msg}` (`proc_file`) list the
//! objects as `ipcs` reads them.

pub mod mqueue;
pub mod msg;
pub mod sem;
pub mod shm;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use abi::ipc::{Ipc64Perm, IPCMNI, IPC_CREAT, IPC_EXCL, IPC_PRIVATE};
use abi::Errno;

use crate::process::Process;
use crate::WaitKey;

/// The instance's IPC objects.
#[derive(Default)]
pub struct Ipc {
    /// Shared memory segments.
    pub shm: Ids<shm::Segment>,
    /// Semaphore sets.
    pub sem: Ids<sem::SemSet>,
    /// Semaphore adjustments to undo at exit, by process: (pid, semid) to one per semaphore.
    pub undo: BTreeMap<(i32, i32), Vec<i32>>,
    /// Message queues.
    pub msg: Ids<msg::MsgQueue>,
    /// POSIX message queues by name.
    pub mq: mqueue::Registry,
}

/// Kinds of [`WaitKey::Ipc`].
pub(crate) mod wait {
    /// A semaphore set changed (every waiter on it retries).
    pub const SEM_SET: u8 = 1;
    /// Waiting for one semaphore to grow (`semncnt`): detail is the semaphore's number.
    pub const SEM_N: u8 = 2;
    /// Waiting for one semaphore to be zero (`semzcnt`).
    pub const SEM_Z: u8 = 3;
    /// A message queue changed.
    pub const MSG: u8 = 4;
    /// Receivers waiting on a POSIX queue (detail: the low bits of its wait id).
    pub const MQ_RECV: u8 = 5;
    /// One sender (id: its tid) waiting on a POSIX queue (detail: as `MQ_RECV`).
    pub const MQ_SEND: u8 = 6;
}

/// The wait key of a kind of change of object `id`.
pub(crate) fn key(kind: u8, id: i32, detail: u32) -> WaitKey {
    WaitKey::Ipc(kind, id, detail)
}

/// Seconds since the epoch (the `*time` fields).
pub(crate) fn now() -> i64 {
    nondet::ktime_get_real()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Linux's `kern_ipc_perm` as far as the guest sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Perm {
    /// The key it was made with (`IPC_PRIVATE` after removal of a segment still attached).
    pub key: i32,
    /// Owner and group (`IPC_SET` changes them).
    pub uid: u32,
    /// Owner's group.
    pub gid: u32,
    /// Creator and its group.
    pub cuid: u32,
    /// Creator's group.
    pub cgid: u32,
    /// Permission bits (and kind-specific flags above them).
    pub mode: u32,
    /// Sequence number (the id's upper part).
    pub seq: u16,
}

impl Perm {
    /// A new object's: owned by the caller's effective ids, with the low 9 bits of `flg`.
    pub fn new(key: i32, flg: i32, p: &Process) -> Perm {
        Perm {
            key,
            uid: p.cred.euid,
            gid: p.cred.egid,
            cuid: p.cred.euid,
            cgid: p.cred.egid,
            mode: flg as u32 & 0o777,
            seq: 0,
        }
    }

    /// The `ipc64_perm` the `*_STAT` commands report.
    pub fn to_abi(&self) -> Ipc64Perm {
        Ipc64Perm {
            key: self.key,
            uid: self.uid,
            gid: self.gid,
            cuid: self.cuid,
            cgid: self.cgid,
            mode: self.mode,
            seq: self.seq,
            ..Ipc64Perm::default()
        }
    }

    /// Linux's `ipcperms`: `EACCES` unless the caller may do what the `rwx` bits of `flg`
    /// (in any of the three positions) ask.
    pub fn check(&self, p: &Process, flg: i32) -> Result<(), Errno> {
        let want = ((flg >> 6) | (flg >> 3) | flg) as u32 & 7;
        let euid = p.cred.euid;
        let granted = if euid == self.cuid || euid == self.uid {
            self.mode >> 6
        } else if in_group(p, self.cgid) || in_group(p, self.gid) {
            self.mode >> 3
        } else {
            self.mode
        };
        if want & !granted & 7 != 0 && !p.cred.caps.has(crate::caps::CAP_IPC_OWNER) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// The owner-or-creator rule of `IPC_SET` and `IPC_RMID` (`EPERM`).
    pub fn check_owner(&self, p: &Process) -> Result<(), Errno> {
        let euid = p.cred.euid;
        if euid == self.uid || euid == self.cuid || p.cred.caps.has(crate::caps::CAP_SYS_ADMIN) {
            return Ok(());
        }
        Err(Errno::EPERM)
    }

    /// `IPC_SET`: new owner, group and permission bits.
    pub fn set(&mut self, from: &Ipc64Perm) {
        self.uid = from.uid;
        self.gid = from.gid;
        self.mode = (self.mode & !0o777) | (from.mode & 0o777);
    }
}

/// Linux's `in_group_p`: the effective group or a supplementary one.
fn in_group(p: &Process, gid: u32) -> bool {
    p.cred.egid == gid || p.groups.binary_search(&gid).is_ok()
}

/// What every kind of object has.
pub trait Object {
    /// Its owner and mode.
    fn perm(&self) -> &Perm;
    /// Its owner and mode, to change.
    fn perm_mut(&mut self) -> &mut Perm;
}

/// The objects of one kind, by index (Linux's `ipc_ids`).
pub struct Ids<T> {
    objs: BTreeMap<i32, T>,
    /// The index given last (allocation is cyclic from after it).
    last_idx: i32,
    /// The sequence number of new ids.
    seq: u16,
}

impl<T> Default for Ids<T> {
    fn default() -> Self {
        Ids {
            objs: BTreeMap::new(),
            last_idx: -1,
            seq: 0,
        }
    }
}

/// What `*get` found for a key.
pub enum Found {
    /// No object has the key (or it is `IPC_PRIVATE`): make one.
    Create,
    /// This id has it.
    Existing(i32),
}

impl<T: Object> Ids<T> {
    /// The number of objects.
    pub fn len(&self) -> usize {
        self.objs.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.objs.is_empty()
    }

    /// The highest index in use (`IPC_INFO`'s answer), or 0.
    pub fn max_idx(&self) -> i32 {
        self.objs.keys().next_back().copied().unwrap_or(0)
    }

    /// Every object with its id, by index.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &T)> {
        self.objs
            .iter()
            .map(|(&idx, o)| (i32::from(o.perm().seq) * IPCMNI + idx, o))
    }

    /// Every object with its id, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (i32, &mut T)> {
        self.objs
            .iter_mut()
            .map(|(&idx, o)| (i32::from(o.perm().seq) * IPCMNI + idx, o))
    }

    /// The object with id `id` (`EINVAL` for none, as Linux's `ipc_obtain_object_check`).
    pub fn get(&self, id: i32) -> Result<&T, Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let o = self.objs.get(&(id % IPCMNI)).ok_or(Errno::EINVAL)?;
        if i32::from(o.perm().seq) != id / IPCMNI {
            return Err(Errno::EINVAL);
        }
        Ok(o)
    }

    /// [`Ids::get`], to change.
    pub fn get_mut(&mut self, id: i32) -> Result<&mut T, Errno> {
        self.get(id)?;
        self.objs.get_mut(&(id % IPCMNI)).ok_or(Errno::EINVAL)
    }

    /// The object at index `idx` and its id (`*_STAT`: `EINVAL` for none).
    pub fn by_index(&self, idx: i32) -> Result<(i32, &T), Errno> {
        let o = self.objs.get(&idx).ok_or(Errno::EINVAL)?;
        Ok((i32::from(o.perm().seq) * IPCMNI + idx, o))
    }

    /// Removes object `id`.
    pub fn remove(&mut self, id: i32) -> Option<T> {
        self.get(id).ok()?;
        self.objs.remove(&(id % IPCMNI))
    }

    /// Linux's `ipcget` up to the kind's own checks: what `key` names with `flg`
    /// (`ENOENT` without `IPC_CREAT`, `EEXIST` with `IPC_EXCL`). For an existing object the
    /// caller then runs its checks and [`Ids::access`].
    pub fn lookup(&self, key: i32, flg: i32) -> Result<Found, Errno> {
        if key == IPC_PRIVATE {
            return Ok(Found::Create);
        }
        let found = self
            .iter()
            .find(|(_, o)| o.perm().key == key)
            .map(|(id, _)| id);
        match found {
            None if flg & IPC_CREAT == 0 => Err(Errno::ENOENT),
            None => Ok(Found::Create),
            Some(_) if flg & IPC_CREAT != 0 && flg & IPC_EXCL != 0 => Err(Errno::EEXIST),
            Some(id) => Ok(Found::Existing(id)),
        }
    }

    /// The access check of `*get` on an existing object: `EACCES` unless `flg`'s bits are
    /// granted; the id otherwise.
    pub fn access(&self, id: i32, p: &Process, flg: i32) -> Result<i32, Errno> {
        self.get(id)?.perm().check(p, flg)?;
        Ok(id)
    }

    /// Adds `obj` at a free index below `max` (`ENOSPC` if none): its id. With `next_id`
    /// (`/proc/sys/kernel/*_next_id`), the index is the lowest free one from the id's, and
    /// the sequence number the id's, as Linux's `ipc_idr_alloc`.
    pub fn insert(&mut self, mut obj: T, max: i32, next_id: Option<i32>) -> Result<i32, Errno> {
        let max = max.clamp(0, IPCMNI);
        if self.objs.len() >= max as usize {
            return Err(Errno::ENOSPC);
        }
        let free = |from: i32, to: i32| (from..to).find(|i| !self.objs.contains_key(i));
        if let Some(id) = next_id {
            let idx = free(id % IPCMNI, IPCMNI).ok_or(Errno::ENOSPC)?;
            let seq = (id / IPCMNI) as u16;
            obj.perm_mut().seq = seq;
            self.objs.insert(idx, obj);
            return Ok(i32::from(seq) * IPCMNI + idx);
        }
        let idx = match free(self.last_idx + 1, max) {
            Some(i) => i,
            None => {
                self.seq = if i32::from(self.seq) + 1 >= i32::MAX / IPCMNI {
                    0
                } else {
                    self.seq + 1
                };
                free(0, max).ok_or(Errno::ENOSPC)?
            }
        };
        self.last_idx = idx;
        obj.perm_mut().seq = self.seq;
        self.objs.insert(idx, obj);
        Ok(i32::from(self.seq) * IPCMNI + idx)
    }
}

/// Adds a new object to its kind's `ids` (below `max`), with the id
/// `/proc/sys/kernel/<next_id>` asks for if it is set.
pub(crate) fn insert<T: Object>(
    ctx: &mut crate::Ctx<'_>,
    ids: fn(&mut Ipc) -> &mut Ids<T>,
    next_id: &'static str,
    obj: T,
    max: i32,
) -> Result<i32, Errno> {
    let want = ctx.procs.sysctl.next_id(next_id);
    let id = ids(&mut ctx.procs.ipc).insert(obj, max, want)?;
    if want.is_some() {
        ctx.procs.sysctl.next_id_used(next_id);
    }
    Ok(id)
}

/// The numbers of a `/proc/sys` file of the instance (`kernel/sem` has four).
pub(crate) fn sysctl_values(ctx: &crate::Ctx<'_>, path: &str) -> Vec<u64> {
    let text = ctx.procs.sysctl.read(path, 0);
    String::from_utf8_lossy(&text)
        .split_ascii_whitespace()
        .map(|w| w.parse::<u64>().unwrap_or(u64::MAX))
        .collect()
}

/// One value of a `/proc/sys` file of the instance.
pub(crate) fn sysctl(ctx: &crate::Ctx<'_>, path: &str) -> u64 {
    sysctl_values(ctx, path).first().copied().unwrap_or(0)
}

/// What a process's exit does to the IPC objects: its semaphore adjustments are undone.
/// Returns the keys to wake.
pub fn exit(ipc: &mut Ipc, pid: i32) -> Vec<WaitKey> {
    sem::exit(ipc, pid)
}

/// The contents of `/proc/sysvipc/{shm,sem,msg}` (`which`), as `ipcs` reads them;
/// `attaches`: each segment's attaches, by serial ([`shm::count_attaches`]).
pub(crate) fn proc_file(ipc: &Ipc, which: &str, attaches: &BTreeMap<u64, u64>) -> Vec<u8> {
    match which {
        "shm" => shm::proc_file(ipc, &|serial| attaches.get(&serial).copied().unwrap_or(0)),
        "sem" => sem::proc_file(ipc),
        _ => msg::proc_file(ipc),
    }
}
