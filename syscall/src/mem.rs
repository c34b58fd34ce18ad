//! Memory syscalls: thin argument checks over [`mm::Mm`], which owns the semantics.

use abi::flags::{MapFlags, Prot};
use abi::{Errno, SysResult};
use mm::{FileKey, FileMapping};

use crate::{Args, Ctx};

/// Adapts an open file to the page source a file mapping reads from and writes back to.
struct FilePages(vfs::FileRef);

fn io_err(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw())
}

impl mm::PageSource for FilePages {
    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        self.0.read_at(offset, dst).map_err(io_err)
    }

    fn key(&self) -> Option<FileKey> {
        file_key(&self.0)
    }

    fn write_at(&self, offset: u64, src: &[u8]) -> std::io::Result<usize> {
        self.0.write_at(offset, src).map_err(io_err)
    }

    fn size(&self) -> u64 {
        self.0.size()
    }

    fn writable(&self) -> bool {
        self.0.flags().writable() && !self.0.write_sealed()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// The page-cache identity of a regular file.
fn file_key(f: &vfs::FileRef) -> Option<FileKey> {
    f.inode_key().map(|(dev, ino)| FileKey { dev, ino })
}

/// The page-cache identity of `f` if the cache may hold pages of it (a cheap test first:
/// most calls find nothing to do).
fn cached_key(ctx: &Ctx<'_>, f: &vfs::FileRef) -> Option<FileKey> {
    if ctx.mm.view().cache_is_empty() {
        return None;
    }
    file_key(f)
}

/// Page-cache coherence, before a file is read, written or truncated through a descriptor
/// (and on `fsync`): the dirty pages that shared mappings hold are written to it.
pub(crate) fn sync_file(ctx: &mut Ctx<'_>, f: &vfs::FileRef) {
    if let Some(k) = cached_key(ctx, f) {
        ctx.mm.sync_file(k);
    }
}

/// Page-cache coherence, after bytes `bytes` of a file were written or a hole punched:
/// mappings see the new contents.
pub(crate) fn file_changed(ctx: &mut Ctx<'_>, f: &vfs::FileRef, bytes: std::ops::Range<u64>) {
    if let Some(k) = cached_key(ctx, f) {
        ctx.mm.file_changed(k, bytes);
    }
}

/// Page-cache coherence, after a file was truncated: mappings lose pages (and private
/// copies of pages) past the new end, and see the zeroed tail of the last page.
pub(crate) fn file_truncated(ctx: &mut Ctx<'_>, f: &vfs::FileRef) {
    if let Some(k) = cached_key(ctx, f) {
        ctx.mm.file_truncated(k);
    }
}

/// Whether a shared mapping may write to `f` (`F_SEAL_WRITE` is then `EBUSY`).
pub(crate) fn writably_mapped(ctx: &Ctx<'_>, f: &vfs::FileRef) -> bool {
    file_key(f).is_some_and(|k| ctx.mm.view().shared_writable(k))
}

/// [`file_changed`] after a write of `n` bytes to `f`: at `off`, or (`None`) just before
/// the file position, where a write at the position (or appending) leaves it.
pub(crate) fn file_written(ctx: &mut Ctx<'_>, f: &vfs::FileRef, off: Option<u64>, n: u64) {
    let Some(k) = cached_key(ctx, f).filter(|&k| ctx.mm.view().is_cached(k)) else {
        return;
    };
    let end = match off {
        Some(o) => o.saturating_add(n),
        None => f.lseek(0, abi::flags::seek::CUR).unwrap_or(u64::MAX),
    };
    ctx.mm.file_changed(k, end.saturating_sub(n)..end);
}

/// The open file a file mapping reads from (for `/proc/PID/maps`).
pub(crate) fn mapped_file(src: &dyn mm::PageSource) -> Option<&vfs::FileRef> {
    let any = src.as_any()?;
    match any.downcast_ref::<FilePages>() {
        Some(f) => Some(&f.0),
        None => crate::ipc::shm::attach_of(src).map(|a| &a.file),
    }
}

/// A page source over `file`.
pub(crate) fn file_pages(file: vfs::FileRef, offset: u64) -> FileMapping {
    FileMapping {
        source: std::sync::Arc::new(FilePages(file)),
        offset,
    }
}

pub(crate) fn sys_brk(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    Ok(ctx.mm.brk(ctx.proc.mm, a.addr(0)).0)
}

/// The `mmap` flags `MAP_SHARED_VALIDATE` accepts (Linux's `LEGACY_MAP_MASK`, with
/// `MAP_FIXED_NOREPLACE`; no uml file supports `MAP_SYNC`, nor `MAP_UNINITIALIZED`'s
/// 0x4000000 any effect).
const LEGACY_MAP_MASK: u32 = 0x03
    | 0x10
    | 0x20
    | 0x100
    | 0x800
    | 0x1000
    | 0x2000
    | 0x4000
    | 0x8000
    | 0x10000
    | 0x20000
    | 0x40000
    | 0x100000
    | 0x4000000;

pub(crate) fn sys_mmap(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (addr, len) = (a.addr(0), a.len(1));
    let prot = Prot::from_bits(a.u32(2)).ok_or(Errno::EINVAL)?;
    let flags = MapFlags::from_bits_retain(a.u32(3));
    let (fd, offset) = (a.i32(4), a.raw(5));
    if offset % abi::PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let maptype = flags.bits() & MapFlags::SHARED_VALIDATE.bits();
    let file = if flags.contains(MapFlags::ANONYMOUS) {
        // Linux's `do_mmap` validates flags only for files: anonymous memory knows
        // MAP_SHARED and MAP_PRIVATE alone.
        if maptype == MapFlags::SHARED_VALIDATE.bits() {
            return Err(Errno::EINVAL);
        }
        None
    } else {
        let file = ctx.file_io(fd)?;
        // The length and the mapping type are checked before the file's access mode.
        if len == 0 || maptype == 0 {
            return Err(Errno::EINVAL);
        }
        if maptype == MapFlags::SHARED_VALIDATE.bits() && flags.bits() & !LEGACY_MAP_MASK != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let fl = file.flags();
        if !fl.readable() {
            return Err(Errno::EACCES);
        }
        let shared = flags.bits() & MapFlags::SHARED_VALIDATE.bits() != MapFlags::PRIVATE.bits();
        if shared && prot.contains(Prot::WRITE) && !fl.writable() {
            return Err(Errno::EACCES);
        }
        if shared && prot.contains(Prot::WRITE) && file.write_sealed() {
            return Err(Errno::EPERM);
        }
        let st = file.stat()?;
        if st.st_mode & abi::flags::mode::S_IFMT == abi::flags::mode::S_IFDIR {
            return Err(Errno::ENODEV);
        }
        Some(file_pages(file, offset))
    };
    Ok(ctx.mm.mmap(ctx.proc.mm, addr, len, prot, flags, file)?.0)
}

pub(crate) fn sys_munmap(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    ctx.mm.munmap(ctx.proc.mm, a.addr(0), a.len(1)).map(|()| 0)
}

pub(crate) fn sys_mprotect(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let prot = Prot::from_bits(a.u32(2)).ok_or(Errno::EINVAL)?;
    ctx.mm
        .mprotect(ctx.proc.mm, a.addr(0), a.len(1), prot)
        .map(|()| 0)
}

/// `mseal(2)`: seals the mappings of a range against change (see `mm::vma::Vma::sealed`).
pub(crate) fn sys_mseal(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    ctx.mm
        .mseal(ctx.proc.mm, a.addr(0), a.len(1), a.raw(2))
        .map(|()| 0)
}

pub(crate) fn sys_madvise(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    ctx.mm
        .madvise(ctx.proc.mm, a.addr(0), a.len(1), a.i32(2))
        .map(|()| 0)
}

/// Whether `[addr, addr+len)` is entirely covered by mappings of the caller
/// (`ENOMEM` otherwise, as `msync`/`mincore`/`mlock` report unmapped ranges).
fn mapped(ctx: &Ctx<'_>, addr: u64, len: u64) -> Result<(), Errno> {
    let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
    let mut at = addr;
    let mut maps = ctx.mm.view().maps(ctx.proc.mm);
    maps.sort_by_key(|m| m.start);
    for m in maps {
        if at >= end {
            break;
        }
        if m.end <= at {
            continue;
        }
        if m.start > at {
            return Err(Errno::ENOMEM);
        }
        at = m.end;
    }
    if at < end {
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

/// Checks an (addr, len) pair the way the memory-range calls do: page-aligned start.
fn range(a: &Args) -> Result<(u64, u64), Errno> {
    let (addr, len) = (a.raw(0), a.len(1));
    if addr % abi::PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let len = abi::UserAddr(len).page_up().ok_or(Errno::ENOMEM)?.0;
    Ok((addr, len))
}

pub(crate) fn sys_msync(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    const MS_ASYNC: i32 = 1;
    const MS_INVALIDATE: i32 = 2;
    const MS_SYNC: i32 = 4;
    let flags = a.i32(2);
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & MS_ASYNC != 0 && flags & MS_SYNC != 0
    {
        return Err(Errno::EINVAL);
    }
    let (addr, len) = range(a)?;
    mapped(ctx, addr, len)?;
    // Locked pages cannot be invalidated.
    if flags & MS_INVALIDATE != 0
        && ctx
            .mm
            .view()
            .vmas_in(ctx.proc.mm, addr, addr.saturating_add(len))
            .iter()
            .any(|(m, _)| m.locked)
    {
        return Err(Errno::EBUSY);
    }
    // MS_ASYNC writes back at once too (the kernel has no flusher to defer to);
    // MS_INVALIDATE has nothing to do: mappings share the page cache's frames.
    ctx.mm.msync(ctx.proc.mm, abi::UserAddr(addr), len)?;
    Ok(0)
}

pub(crate) fn sys_mincore(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (addr, len) = range(a)?;
    let vec = ctx
        .mm
        .view()
        .mincore(ctx.proc.mm, abi::UserAddr(addr), len)?;
    ctx.copy_out(a.addr(2), &vec)?;
    Ok(0)
}

/// `mlock(addr, len)`.
pub(crate) fn sys_mlock(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    ctx.mm
        .mlock(ctx.proc.mm, a.addr(0), a.len(1), true, false)
        .map(|()| 0)
}

/// `mlock2(addr, len, flags)`: `MLOCK_ONFAULT` locks without populating.
pub(crate) fn sys_mlock2(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    const MLOCK_ONFAULT: u32 = 1;
    if a.u32(2) & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    let onfault = a.u32(2) != 0;
    ctx.mm
        .mlock(ctx.proc.mm, a.addr(0), a.len(1), true, onfault)
        .map(|()| 0)
}

/// `munlock(addr, len)`.
pub(crate) fn sys_munlock(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    ctx.mm
        .mlock(ctx.proc.mm, a.addr(0), a.len(1), false, false)
        .map(|()| 0)
}

/// `mlockall(flags)`: 0 is `EINVAL` (it would mean `munlockall` to mm).
pub(crate) fn sys_mlockall(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if a.i32(0) == 0 {
        return Err(Errno::EINVAL);
    }
    ctx.mm.mlockall(ctx.proc.mm, a.i32(0)).map(|()| 0)
}

pub(crate) fn sys_munlockall(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    ctx.mm.mlockall(ctx.proc.mm, 0).map(|()| 0)
}

pub(crate) fn sys_mremap(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    Ok(ctx
        .mm
        .mremap(
            ctx.proc.mm,
            a.addr(0),
            a.len(1),
            a.len(2),
            a.u32(3),
            a.addr(4),
        )?
        .0)
}

/// `remap_file_pages(start, size, prot, pgoff, flags)`: emulated as Linux has done since
/// 3.16, by mapping the file's pages from `pgoff` over `[start, start+size)` of a shared
/// file mapping (`MAP_SHARED|MAP_FIXED`, with the mapping's protection). The range may span
/// contiguous VMAs of the same file and protection; anything else is `EINVAL`.
pub(crate) fn sys_remap_file_pages(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    const MAP_NONBLOCK: u64 = 0x10000;
    let (prot, pgoff, flags) = (a.raw(2), a.raw(3), a.raw(4));
    let start = a.raw(0) & !(abi::PAGE_SIZE - 1);
    let size = a.raw(1) & !(abi::PAGE_SIZE - 1);
    let end = start.checked_add(size).filter(|&e| e > start);
    let pages_fit = pgoff.checked_add(size / abi::PAGE_SIZE).is_some();
    let (Some(end), true, 0) = (end, pages_fit, prot) else {
        return Err(Errno::EINVAL);
    };
    let vmas = ctx.mm.view().vmas_in(ctx.proc.mm, start, end);
    let Some((first, Some(source))) = vmas.first().cloned() else {
        return Err(Errno::EINVAL);
    };
    let mut reach = first.start;
    for (m, f) in &vmas {
        let same_file = f
            .as_ref()
            .is_some_and(|f| std::sync::Arc::ptr_eq(f, &source));
        if m.start != reach || !m.shared || m.prot != first.prot || !same_file {
            return Err(Errno::EINVAL);
        }
        reach = m.end;
    }
    if first.start > start || reach < end {
        return Err(Errno::EINVAL);
    }
    let offset = pgoff.checked_mul(abi::PAGE_SIZE).ok_or(Errno::EOVERFLOW)?;
    if let Some(serial) = crate::ipc::shm::attach_of(&*source).map(|a| a.serial()) {
        crate::ipc::shm::remapping(ctx, serial, start, end)?;
    }
    let prot = Prot::from_bits_truncate(first.prot);
    let mflags = MapFlags::SHARED
        | MapFlags::FIXED
        | MapFlags::from_bits_retain((flags & MAP_NONBLOCK) as u32);
    let file = FileMapping { source, offset };
    ctx.mm.mmap(
        ctx.proc.mm,
        abi::UserAddr(start),
        size,
        prot,
        mflags,
        Some(file),
    )?;
    Ok(0)
}
