//! File leases: `fcntl` `F_SETLEASE`/`F_GETLEASE`.
//!
//! A lease belongs to an open file description of a regular file its process owns (or
//! holds `CAP_LEASE` for). A read lease needs the file open for writing nowhere (this
//! description included: `EAGAIN`); a write lease needs no other open description of the
//! file at all. It lasts until `F_UNLCK` or the description's last close.
//!
//! Breaking (Linux's `__break_lease`): an open of the file by another description that
//! conflicts — any open against a write lease, an open for writing against a read lease —
//! sends the lease holder's process `SIGIO` and waits until the holder gives the lease up
//! (or downgrades a write lease to read for an opener that only reads) or
//! `/proc/sys/fs/lease-break-time` seconds pass, when the lease is taken away. A
//! non-blocking open fails with `EWOULDBLOCK` instead of waiting (the holder is still
//! told).
//!
//! `truncate` by name breaks leases as an open for writing does. While a writer waits, the
//! holder cannot downgrade to a read lease (`EAGAIN`), only give the lease up.
//!
//! Known gaps: the break comes after the open's own work, so `O_TRUNC` has emptied the file
//! by the time the opener waits (Linux breaks first); `F_SETSIG` does not change the
//! signal.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use abi::flags::fcntl::{F_RDLCK, F_UNLCK, F_WRLCK};
use abi::flags::OFlags;
use abi::signal::sig;
use abi::{Errno, SysResult};
use vfs::{FileRef, OpenFile};

use crate::signal::SigInfo;
use crate::{Ctx, WaitKey};

use super::locks::InodeId;

/// `CAP_LEASE`.
const CAP_LEASE: u32 = 28;
/// `S_IFMT`, `S_IFREG`.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

/// One lease.
struct Lease {
    /// The open file description it belongs to.
    file: Weak<OpenFile>,
    /// `F_RDLCK` or `F_WRLCK`.
    kind: i16,
    /// The process that set it (told when it is broken).
    owner: i32,
    /// When a break began, the time it is taken away.
    breaking: Option<Instant>,
    /// The break is for a writer: the lease may not become a read lease meanwhile (the
    /// waiting opener counts as open for writing, as on Linux).
    for_writer: bool,
}

/// Every lease of the guest, by file.
#[derive(Default)]
pub struct LeaseTable(HashMap<InodeId, Vec<Lease>>);

impl LeaseTable {
    /// Whether no lease is held anywhere (closing and opening then look nothing up).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The leases of file `id` whose descriptions are still open.
    fn of(&mut self, id: InodeId) -> &mut Vec<Lease> {
        let v = self.0.entry(id).or_default();
        v.retain(|l| l.file.strong_count() > 0);
        v
    }

    fn tidy(&mut self, id: InodeId) {
        if self.0.get(&id).is_some_and(Vec::is_empty) {
            self.0.remove(&id);
        }
    }
}

fn same(l: &Lease, f: &FileRef) -> bool {
    std::ptr::eq(l.file.as_ptr(), Arc::as_ptr(f))
}

/// The open descriptions of file `id` in every process's descriptor table, once each.
fn open_descriptions(ctx: &Ctx<'_>, id: InodeId) -> Vec<FileRef> {
    let mut out: Vec<FileRef> = Vec::new();
    for p in std::iter::once(&*ctx.proc).chain(ctx.procs.iter()) {
        for fd in p.fds.fds() {
            let Ok(f) = p.fds.get(fd) else { continue };
            if f.inode_id().ok() == Some(id) && !out.iter().any(|o| Arc::ptr_eq(o, &f)) {
                out.push(f);
            }
        }
    }
    out
}

/// `F_GETLEASE`: the lease of `file`'s description, or `F_UNLCK`.
pub(crate) fn get(ctx: &mut Ctx<'_>, file: &FileRef) -> SysResult {
    let id = file.inode_id()?;
    let kind = ctx
        .procs
        .leases
        .of(id)
        .iter()
        .find(|l| same(l, file))
        .map_or(F_UNLCK, |l| l.kind);
    ctx.procs.leases.tidy(id);
    Ok(kind as u64)
}

/// `F_SETLEASE`.
pub(crate) fn set(ctx: &mut Ctx<'_>, file: &FileRef, arg: u64) -> SysResult {
    let kind = match i16::try_from(arg) {
        Ok(k @ (F_RDLCK | F_WRLCK | F_UNLCK)) => k,
        _ => return Err(Errno::EINVAL),
    };
    let st = file.stat()?;
    if st.st_mode & S_IFMT != S_IFREG {
        return Err(Errno::EINVAL);
    }
    if st.st_uid != ctx.proc.cred.fsuid && !ctx.proc.cred.caps.has(CAP_LEASE) {
        return Err(Errno::EACCES);
    }
    let id = (st.st_dev, st.st_ino);
    if kind == F_UNLCK {
        ctx.procs.leases.of(id).retain(|l| !same(l, file));
        ctx.procs.leases.tidy(id);
        ctx.wake(WaitKey::Lock(id.0, id.1));
        return Ok(0);
    }
    let others = open_descriptions(ctx, id);
    let conflict = match kind {
        F_RDLCK => others.iter().any(|f| f.flags().writable()),
        _ => others.iter().any(|f| !Arc::ptr_eq(f, file)),
    };
    let leases = ctx.procs.leases.of(id);
    let writer_waits = leases.iter().any(|l| same(l, file) && l.for_writer);
    let conflict = conflict || (kind == F_RDLCK && writer_waits);
    let taken = leases
        .iter()
        .any(|l| !same(l, file) && (kind == F_WRLCK || l.kind == F_WRLCK));
    if conflict || taken {
        ctx.procs.leases.tidy(id);
        return Err(Errno::EAGAIN);
    }
    let owner = ctx.proc.pid;
    match leases.iter_mut().find(|l| same(l, file)) {
        Some(l) => {
            l.kind = kind;
            l.owner = owner;
        }
        None => leases.push(Lease {
            file: Arc::downgrade(file),
            kind,
            owner,
            breaking: None,
            for_writer: false,
        }),
    }
    // A downgrade may be what a waiting opener waited for.
    ctx.wake(WaitKey::Lock(id.0, id.1));
    Ok(0)
}

/// `file` was just opened with `flags`: the leases of other descriptions it conflicts with
/// are broken. `Err` when the open must wait for them (or, non-blocking, fail).
pub(crate) fn break_on_open(ctx: &mut Ctx<'_>, file: &FileRef, flags: OFlags) -> Result<(), Errno> {
    if ctx.procs.leases.is_empty() {
        return Ok(());
    }
    let Ok(id) = file.inode_id() else {
        return Ok(());
    };
    let writes = flags.writable() || flags.contains(OFlags::TRUNC);
    break_leases(
        ctx,
        id,
        Some(file),
        writes,
        flags.contains(OFlags::NONBLOCK),
    )
}

/// `truncate` of file `id` by name: its leases are broken as by an open for writing.
pub(crate) fn break_on_truncate(ctx: &mut Ctx<'_>, id: InodeId) -> Result<(), Errno> {
    if ctx.procs.leases.is_empty() {
        return Ok(());
    }
    break_leases(ctx, id, None, true, false)
}

/// Breaks the leases of file `id` (but `by`'s own) that an access conflicts with: a write
/// conflicts with every lease, a read with write leases. `Err` to wait (or, `nonblock`,
/// `EWOULDBLOCK`) while any is still there.
fn break_leases(
    ctx: &mut Ctx<'_>,
    id: InodeId,
    by: Option<&FileRef>,
    writes: bool,
    nonblock: bool,
) -> Result<(), Errno> {
    let secs = crate::ipc::sysctl(ctx, "fs/lease-break-time").min(1 << 20);
    let now = nondet::ktime_get();
    let mut tell = Vec::new();
    let mut wait_until = None;
    let leases = ctx.procs.leases.of(id);
    // A lease whose time ran out is taken away.
    leases.retain(|l| l.breaking.is_none_or(|at| at > now));
    for l in leases.iter_mut() {
        if by.is_some_and(|f| same(l, f)) || !(writes || l.kind == F_WRLCK) {
            continue;
        }
        l.for_writer |= writes;
        let at = *l.breaking.get_or_insert_with(|| {
            tell.push(l.owner);
            now + Duration::from_secs(secs)
        });
        wait_until = Some(wait_until.map_or(at, |w: Instant| w.min(at)));
    }
    ctx.procs.leases.tidy(id);
    for owner in tell {
        let info = SigInfo::kernel(sig::SIGIO);
        let _ = crate::kill::send_where(ctx, Some(info), None, |p| p.pid == owner);
    }
    let Some(deadline) = wait_until else {
        return Ok(());
    };
    if nonblock {
        return Err(Errno::EWOULDBLOCK);
    }
    Err(ctx.block_until(WaitKey::Lock(id.0, id.1), deadline))
}
