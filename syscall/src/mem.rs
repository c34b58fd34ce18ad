//! Memory syscalls: thin argument checks over [`mm::Mm`], which owns the semantics.

use abi::flags::{MapFlags, Prot};
use abi::{Errno, SysResult};
use mm::FileMapping;

use crate::{Args, Ctx};

/// Adapts an open file to the page source a private file mapping reads from.
struct FilePages(vfs::FileRef);

impl mm::PageSource for FilePages {
    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        self.0
            .read_at(offset, dst)
            .map_err(|e| std::io::Error::from_raw_os_error(e.raw()))
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

pub(crate) fn sys_mmap(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (addr, len) = (a.addr(0), a.len(1));
    let prot = Prot::from_bits(a.u32(2)).ok_or(Errno::EINVAL)?;
    let flags = MapFlags::from_bits_retain(a.u32(3));
    let (fd, offset) = (a.i32(4), a.raw(5));
    if offset % abi::PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let file = if flags.contains(MapFlags::ANONYMOUS) {
        None
    } else {
        let file = ctx.file(fd)?;
        let fl = file.flags();
        if !fl.readable() || fl.contains(abi::flags::OFlags::PATH) {
            return Err(Errno::EACCES);
        }
        let shared = flags.bits() & MapFlags::SHARED_VALIDATE.bits() != MapFlags::PRIVATE.bits();
        if shared && prot.contains(Prot::WRITE) && !fl.writable() {
            return Err(Errno::EACCES);
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

pub(crate) fn sys_madvise(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    ctx.mm
        .madvise(ctx.proc.mm, a.addr(0), a.len(1), a.i32(2))
        .map(|()| 0)
}
