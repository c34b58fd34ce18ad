//! SysV shared memory: `shmget`, `shmat`, `shmdt`, `shmctl`.
//!
//! A segment is an in-memory file of its own (shown as `/SYSV%08x (deleted)` in
//! `/proc/PID/maps`); `shmat` maps it `MAP_SHARED` through the page cache as a file
//! mapping (`ShmPages`), so every attach sees the same frames and the contents outlive
//! the attaches. `shm_nattch` counts the mappings of the segment in every address space, as
//! Linux counts its VMAs: fork copies them, `shmdt`, `munmap`, exec and exit drop them. A
//! segment removed (`IPC_RMID`) while attached is marked `SHM_DEST`, its key becomes
//! `IPC_PRIVATE`, and it goes when its last attach does (looked at on the next `shm*` call;
//! `/proc/sysvipc/shm` no longer lists it from that moment).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use abi::flags::{MapFlags, Prot};
use abi::ipc::*;
use abi::{Errno, SysResult, UserAddr, PAGE_SIZE};
use mm::{FileKey, FileMapping};

use super::{now, sysctl, Found, Ipc, Object, Perm};
use crate::{Args, Ctx};

/// `SHMMIN`.
const SHMMIN: u64 = 1;
/// `SHMSEG`: attaches per process (Linux does not enforce it).
const SHMSEG: u64 = 4096;
/// `SHMLBA` on x86.
const SHMLBA: u64 = PAGE_SIZE;

/// One segment.
pub struct Segment {
    perm: Perm,
    /// Size in bytes, as asked.
    size: u64,
    /// Its contents.
    file: vfs::FileRef,
    /// Names its mappings ([`ShmPages::serial`]): unique for the instance's life.
    serial: u64,
    atime: i64,
    dtime: i64,
    ctime: i64,
    cpid: i32,
    lpid: i32,
}

impl Object for Segment {
    fn perm(&self) -> &Perm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut Perm {
        &mut self.perm
    }
}

impl Segment {
    fn pages(&self) -> u64 {
        self.size.div_ceil(PAGE_SIZE)
    }
}

/// The page source of an attach: the segment's file, and which segment it is.
pub(crate) struct ShmPages {
    pub file: vfs::FileRef,
    serial: u64,
    writable: bool,
}

fn io_err(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw())
}

impl mm::PageSource for ShmPages {
    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        self.file.read_at(offset, dst).map_err(io_err)
    }
    fn key(&self) -> Option<FileKey> {
        self.file.inode_key().map(|(dev, ino)| FileKey { dev, ino })
    }
    fn write_at(&self, offset: u64, src: &[u8]) -> std::io::Result<usize> {
        self.file.write_at(offset, src).map_err(io_err)
    }
    fn size(&self) -> u64 {
        self.file.size()
    }
    fn writable(&self) -> bool {
        self.writable
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

impl ShmPages {
    /// Which segment this is an attach of.
    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }
}

/// The attach a mapping's source is, if it is one.
pub(crate) fn attach_of(src: &dyn mm::PageSource) -> Option<&ShmPages> {
    src.as_any()?.downcast_ref::<ShmPages>()
}

/// Attaches of every segment (by serial) in the address spaces `spaces`.
pub(crate) fn count_attaches(
    mm: &mm::Mm,
    spaces: impl IntoIterator<Item = mm::MmId>,
) -> BTreeMap<u64, u64> {
    let mut seen = std::collections::BTreeSet::new();
    let mut n = BTreeMap::new();
    for id in spaces {
        if !seen.insert(id.0) {
            continue;
        }
        for r in mm.vma_report(id) {
            if let Some(a) = r.file.as_deref().and_then(attach_of) {
                *n.entry(a.serial).or_insert(0) += 1;
            }
        }
    }
    n
}

/// Attaches of every segment, as the caller of a syscall sees the instance.
fn attaches(ctx: &Ctx<'_>) -> BTreeMap<u64, u64> {
    let live = ctx
        .procs
        .iter()
        .filter(|p| !matches!(p.state, crate::ProcState::Zombie(_)))
        .map(|p| p.mm);
    let spaces: Vec<mm::MmId> = std::iter::once(ctx.proc.mm).chain(live).collect();
    count_attaches(&ctx.mm.view(), spaces)
}

/// Drops the removed segments nobody attaches any more.
fn reap(ctx: &mut Ctx<'_>) {
    let dest: Vec<(i32, u64)> = ctx
        .procs
        .ipc
        .shm
        .iter()
        .filter(|(_, s)| s.perm.mode & SHM_DEST != 0)
        .map(|(id, s)| (id, s.serial))
        .collect();
    if dest.is_empty() {
        return;
    }
    let n = attaches(ctx);
    for (id, serial) in dest {
        if !n.contains_key(&serial) {
            ctx.procs.ipc.shm.remove(id);
        }
    }
}

static SERIAL: AtomicU64 = AtomicU64::new(1);

/// Total pages of every segment (`shm_tot`).
fn total_pages(ipc: &Ipc) -> u64 {
    ipc.shm.iter().map(|(_, s)| s.pages()).sum()
}

pub(crate) fn sys_shmget(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (key, size, flg) = (a.i32(0), a.raw(1), a.i32(2));
    reap(ctx);
    match ctx.procs.ipc.shm.lookup(key, flg)? {
        Found::Existing(id) => {
            if ctx.procs.ipc.shm.get(id)?.size < size {
                return Err(Errno::EINVAL);
            }
            Ok(ctx.procs.ipc.shm.access(id, ctx.proc, flg)? as u64)
        }
        Found::Create => {
            if size < SHMMIN || size > sysctl(ctx, "kernel/shmmax") {
                return Err(Errno::EINVAL);
            }
            let pages = size.div_ceil(PAGE_SIZE);
            let tot = total_pages(&ctx.procs.ipc);
            match tot.checked_add(pages) {
                Some(t) if t <= sysctl(ctx, "kernel/shmall") => {}
                _ => return Err(Errno::ENOSPC),
            }
            if flg & SHM_HUGETLB != 0 {
                // The instance has no huge pages (no HUGETLBFS): no huge page size, as
                // Linux's `hstate_sizelog` finds none.
                return Err(Errno::EINVAL);
            }
            // Linux's overcommit heuristic refuses a segment larger than memory; uml's
            // segment files hold their bytes, so every size past it is refused.
            if size > ctx.mm.view().stats().total_bytes {
                return Err(Errno::ENOMEM);
            }
            let max = sysctl(ctx, "kernel/shmmni").min(IPCMNI as u64) as i32;
            if ctx.procs.ipc.shm.len() >= max as usize {
                return Err(Errno::ENOSPC);
            }
            let name = format!("SYSV{key:08x} (deleted)");
            let file = ctx.vfs.shmem_file(name.as_bytes());
            file.truncate(size).map_err(|_| Errno::ENOMEM)?;
            let seg = Segment {
                perm: Perm::new(key, flg, ctx.proc),
                size,
                file,
                serial: SERIAL.fetch_add(1, Ordering::Relaxed),
                atime: 0,
                dtime: 0,
                ctime: now(),
                cpid: ctx.proc.pid,
                lpid: 0,
            };
            Ok(super::insert(ctx, |i| &mut i.shm, "kernel/shm_next_id", seg, max)? as u64)
        }
    }
}

pub(crate) fn sys_shmat(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (id, mut addr, flg) = (a.i32(0), a.raw(1), a.i32(2));
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let mut flags = MapFlags::SHARED;
    if addr != 0 {
        if addr % SHMLBA != 0 {
            if flg & SHM_RND == 0 {
                return Err(Errno::EINVAL);
            }
            addr &= !(SHMLBA - 1);
            if addr == 0 && flg & SHM_REMAP != 0 {
                return Err(Errno::EINVAL);
            }
        }
        flags |= MapFlags::FIXED;
    } else if flg & SHM_REMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let rdonly = flg & SHM_RDONLY != 0;
    let (mut prot, mut acc) = if rdonly {
        (Prot::READ, 0o444)
    } else {
        (Prot::READ | Prot::WRITE, 0o666)
    };
    if flg & SHM_EXEC != 0 {
        prot |= Prot::EXEC;
        acc |= 0o111;
    }
    reap(ctx);
    let seg = ctx.procs.ipc.shm.get(id)?;
    seg.perm.check(ctx.proc, acc)?;
    let (size, file, serial) = (seg.size, seg.file.clone(), seg.serial);
    if addr != 0 && flg & SHM_REMAP == 0 {
        let end = addr
            .checked_add(size.div_ceil(PAGE_SIZE) * PAGE_SIZE)
            .ok_or(Errno::EINVAL)?;
        let maps = ctx.mm.view().maps(ctx.proc.mm);
        if maps.iter().any(|m| m.start < end && addr < m.end) {
            return Err(Errno::EINVAL);
        }
    }
    let source = Arc::new(ShmPages {
        file,
        serial,
        writable: !rdonly,
    });
    let mapping = FileMapping { source, offset: 0 };
    let at = ctx.mm.mmap(
        ctx.proc.mm,
        UserAddr(addr),
        size,
        prot,
        flags,
        Some(mapping),
    )?;
    let pid = ctx.proc.pid;
    if let Ok(seg) = ctx.procs.ipc.shm.get_mut(id) {
        seg.atime = now();
        seg.lpid = pid;
    }
    Ok(at.0)
}

pub(crate) fn sys_shmdt(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let addr = a.raw(0);
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let report = ctx.mm.view().vma_report(ctx.proc.mm);
    let attach = |r: &mm::VmaReport| -> Option<(u64, vfs::FileRef)> {
        let a = r.file.as_deref().and_then(attach_of)?;
        let off = r.info.file_offset?;
        ((r.info.start - addr) / PAGE_SIZE == off / PAGE_SIZE).then(|| (a.serial, a.file.clone()))
    };
    let mut vmas = report
        .iter()
        .filter(|r| r.info.end > addr && r.info.start >= addr);
    let mut unmap = Vec::new();
    let mut first = None;
    for r in vmas.by_ref() {
        if let Some((serial, file)) = attach(r) {
            unmap.push((r.info.start, r.info.end));
            first = Some((serial, file.size()));
            break;
        }
    }
    let Some((serial, size)) = first else {
        return Err(Errno::EINVAL);
    };
    let size = size.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    for r in vmas {
        if r.info.end - addr > size {
            break;
        }
        if attach(r).is_some_and(|(s, _)| s == serial) {
            unmap.push((r.info.start, r.info.end));
        }
    }
    for (start, end) in unmap {
        ctx.mm.munmap(ctx.proc.mm, UserAddr(start), end - start)?;
    }
    let pid = ctx.proc.pid;
    if let Some((_, seg)) = ctx
        .procs
        .ipc
        .shm
        .iter_mut()
        .find(|(_, s)| s.serial == serial)
    {
        seg.dtime = now();
        seg.lpid = pid;
    }
    reap(ctx);
    Ok(0)
}

/// `remap_file_pages` over `[start, end)` of an attach of segment `serial`: Linux maps the
/// segment's file again, the old mapping going first; a removed segment (`IPC_RMID`) that
/// this leaves unattached goes with it, and the new mapping then fails with `EINVAL`.
pub(crate) fn remapping(ctx: &mut Ctx<'_>, serial: u64, start: u64, end: u64) -> Result<(), Errno> {
    let removed = |ctx: &Ctx<'_>| {
        let seg = ctx.procs.ipc.shm.iter().find(|(_, s)| s.serial == serial);
        seg.map(|(_, s)| s.perm.mode & SHM_DEST != 0)
    };
    if removed(ctx) == Some(false) {
        return Ok(());
    }
    ctx.mm.munmap(ctx.proc.mm, UserAddr(start), end - start)?;
    reap(ctx);
    match removed(ctx) {
        Some(_) => Ok(()),
        None => Err(Errno::EINVAL),
    }
}

/// The `shmid64_ds` of a segment.
fn stat(seg: &Segment, nattch: u64) -> ShmidDs {
    ShmidDs {
        perm: seg.perm.to_abi(),
        segsz: seg.size,
        atime: seg.atime,
        dtime: seg.dtime,
        ctime: seg.ctime,
        cpid: seg.cpid,
        lpid: seg.lpid,
        nattch,
        unused: [0; 2],
    }
}

pub(crate) fn sys_shmctl(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (id, cmd, buf) = (a.i32(0), a.i32(1), a.addr(2));
    if cmd < 0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    reap(ctx);
    match cmd {
        IPC_INFO => {
            let info = ShmInfo64 {
                shmmax: sysctl(ctx, "kernel/shmmax"),
                shmmin: SHMMIN,
                shmmni: sysctl(ctx, "kernel/shmmni"),
                shmseg: SHMSEG,
                shmall: sysctl(ctx, "kernel/shmall"),
                unused: [0; 4],
            };
            ctx.write_val(buf, &info)?;
            Ok(ctx.procs.ipc.shm.max_idx() as u64)
        }
        SHM_INFO => {
            let tot = total_pages(&ctx.procs.ipc);
            let info = ShmUsage {
                used_ids: ctx.procs.ipc.shm.len() as i32,
                shm_tot: tot,
                shm_rss: tot,
                ..ShmUsage::default()
            };
            ctx.write_val(buf, &info)?;
            Ok(ctx.procs.ipc.shm.max_idx() as u64)
        }
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            let (full, seg) = if cmd == IPC_STAT {
                (id, ctx.procs.ipc.shm.get(id)?)
            } else {
                ctx.procs.ipc.shm.by_index(id)?
            };
            if cmd != SHM_STAT_ANY {
                seg.perm.check(ctx.proc, 0o444)?;
            }
            let serial = seg.serial;
            let nattch = attaches(ctx).get(&serial).copied().unwrap_or(0);
            let ds = stat(ctx.procs.ipc.shm.get(full)?, nattch);
            ctx.write_val(buf, &ds)?;
            Ok(if cmd == IPC_STAT { 0 } else { full as u64 })
        }
        IPC_SET => {
            let ds: ShmidDs = ctx.read_val(buf)?;
            let seg = ctx.procs.ipc.shm.get_mut(id)?;
            seg.perm.check_owner(ctx.proc)?;
            seg.perm.set(&ds.perm);
            seg.ctime = now();
            Ok(0)
        }
        IPC_RMID => {
            let seg = ctx.procs.ipc.shm.get_mut(id)?;
            seg.perm.check_owner(ctx.proc)?;
            seg.perm.mode |= SHM_DEST;
            seg.perm.key = IPC_PRIVATE;
            reap(ctx);
            Ok(0)
        }
        SHM_LOCK | SHM_UNLOCK => {
            let seg = ctx.procs.ipc.shm.get_mut(id)?;
            if !ctx.proc.cred.caps.has(crate::caps::CAP_IPC_LOCK) {
                let euid = ctx.proc.cred.euid;
                let memlock = ctx.proc.rlimits[abi::flags::rlimit::MEMLOCK as usize].cur;
                if euid != seg.perm.uid && euid != seg.perm.cuid || cmd == SHM_LOCK && memlock == 0
                {
                    return Err(Errno::EPERM);
                }
            }
            if cmd == SHM_LOCK {
                seg.perm.mode |= SHM_LOCKED;
            } else {
                seg.perm.mode &= !SHM_LOCKED;
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `/proc/sysvipc/shm`: Linux's header and one line per segment.
pub(crate) fn proc_file(ipc: &Ipc, attaches: &dyn Fn(u64) -> u64) -> Vec<u8> {
    let mut out = String::from(
        "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n",
    );
    for (id, s) in ipc.shm.iter() {
        let nattch = attaches(s.serial);
        if s.perm.mode & SHM_DEST != 0 && nattch == 0 {
            continue;
        }
        let p = &s.perm;
        out.push_str(&format!(
            "{:10} {:10}  {:4o} {:21} {:5} {:5}  {:5} {:5} {:5} {:5} {:5} {:10} {:10} {:10} {:21} {:21}\n",
            p.key,
            id,
            p.mode,
            s.size,
            s.cpid,
            s.lpid,
            nattch,
            p.uid,
            p.gid,
            p.cuid,
            p.cgid,
            s.atime,
            s.dtime,
            s.ctime,
            s.pages() * PAGE_SIZE,
            0
        ));
    }
    out.into_bytes()
}
