//! Swap areas (`swapon(2)`, `swapoff(2)`, `/proc/swaps`, the `Swap*` lines of
//! `/proc/meminfo`), with Linux's checks (`mm/swapfile.c`).
//!
//! uml never swaps: guest memory is the `--mem` physical memory and stays there. A swap
//! area is kept as Linux lists it — the file, its size in pages from its header, its
//! priority — and none of it is ever used (`Used` is 0, `SwapFree` is `SwapTotal`).
//!
//! `swapon(path, flags)`: unknown flags are `EINVAL`, then `CAP_SYS_ADMIN` (`EPERM`), then
//! at most [`MAX_SWAPFILES`] areas (`EPERM`, before the path is looked at), then the file
//! is opened for reading and writing as the caller (the open's errnos). It must be a
//! regular file of a disk file system (a loop-mounted ext2/3/4; tmpfs and the overlay's
//! in-memory or host files have no block map: `EINVAL`, as tmpfs on Linux) or a bound
//! loop device, not already a swap area (`EBUSY`), and begin with a version-1 header that
//! `mkswap` wrote (the `SWAPSPACE2` signature at the end of the first page, a non-zero
//! last page that the file reaches, no more bad pages than fit: `EINVAL` otherwise); a file
//! must have no holes (`EINVAL`). Every page after the header counts (on Linux, blocks
//! smaller than a page that a file system placed off a page boundary lose pages).
//! Priorities are Linux's: `SWAP_FLAG_PREFER` gives `flags & SWAP_FLAG_PRIO_MASK`, else the
//! next of -2, -3, ..., which a `swapoff` moves up again. `swapoff(path)`: `CAP_SYS_ADMIN`, the open, then `EINVAL` when the file is no
//! swap area.
//!
//! An active swap file is Linux's `IS_SWAPFILE`: writes, `copy_file_range` into or out of
//! it, `fallocate` and shrinking truncations are `ETXTBSY` ([`check_inactive`]).
//!
//! Known gap: a mounted loop device is not refused (`EBUSY` on Linux).

use abi::flags::OFlags;
use abi::{Errno, SysResult};
use vfs::FileRef;

use crate::caps::CAP_SYS_ADMIN;
use crate::{Args, Ctx};

/// Linux's `MAX_SWAPFILES` on x86-64 with `CONFIG_MIGRATION` (3 swap types taken for
/// migration entries) and PTE markers (1), without device-private memory or memory
/// failure handling: 32 - 4.
pub const MAX_SWAPFILES: usize = 28;
/// `SWAP_FLAG_*`.
const SWAP_FLAG_PREFER: u64 = 0x8000;
const SWAP_FLAG_PRIO_MASK: u64 = 0x7fff;
const SWAP_FLAG_DISCARD: u64 = 0x1_0000;
const SWAP_FLAG_DISCARD_ONCE: u64 = 0x2_0000;
const SWAP_FLAG_DISCARD_PAGES: u64 = 0x4_0000;
const SWAP_FLAGS_VALID: u64 = SWAP_FLAG_PRIO_MASK
    | SWAP_FLAG_PREFER
    | SWAP_FLAG_DISCARD
    | SWAP_FLAG_DISCARD_ONCE
    | SWAP_FLAG_DISCARD_PAGES;
/// The page size swap headers are written for.
const PAGE: usize = 4096;
/// The signature `mkswap` ends the first page with.
const MAGIC: &[u8; 10] = b"SWAPSPACE2";
/// `MAX_SWAP_BADPAGES`: the bad-page list fills the rest of the header page.
const MAX_SWAP_BADPAGES: u32 = ((PAGE - 10 - 1024 - 512) / 4) as u32;

/// One swap area.
pub struct SwapArea {
    /// The file or block device, held open as Linux holds it.
    file: FileRef,
    /// Its identity (`st_dev`, `st_ino`).
    key: (u64, u64),
    /// A block device (`partition`), else a file.
    block: bool,
    /// Usable pages (the header page not counted).
    pages: u64,
    /// Priority.
    prio: i32,
}

/// The instance's swap areas, in the order `swapon` added them.
#[derive(Default)]
pub struct Swaps {
    areas: Vec<SwapArea>,
    /// The priority the last area without `SWAP_FLAG_PREFER` got (Linux's
    /// `least_priority`).
    least_priority: i32,
}

impl Swaps {
    /// Total swap, in bytes (`SwapTotal`).
    pub fn total_bytes(&self) -> u64 {
        self.areas.iter().map(|a| a.pages * PAGE as u64).sum()
    }

    /// `/proc/swaps` (Linux's `swap_show`): each area's path where it is now.
    pub fn proc_swaps(&self, vfs: &vfs::Vfs) -> Vec<u8> {
        let mut out = b"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".to_vec();
        for a in &self.areas {
            let mut path = Vec::new();
            let name = a.file.dentry().map_or_else(Vec::new, |d| vfs.path_of(&d));
            for &c in &name {
                if matches!(c, b' ' | b'\t' | b'\n' | b'\\') {
                    path.extend_from_slice(format!("\\{c:03o}").as_bytes());
                } else {
                    path.push(c);
                }
            }
            out.extend_from_slice(&path);
            let kb = a.pages * (PAGE as u64 / 1024);
            let pad = 40usize.saturating_sub(path.len()).max(1);
            let kind = if a.block { "partition" } else { "file\t" };
            let tab = if kb < 10_000_000 { "\t" } else { "" };
            out.extend_from_slice(
                format!("{:pad$}{kind}\t{kb}\t{tab}0\t\t{}\n", " ", a.prio).as_bytes(),
            );
        }
        out
    }
}

/// `ETXTBSY` if `f` is an active swap area.
pub(crate) fn check_inactive(ctx: &Ctx<'_>, f: &FileRef) -> Result<(), Errno> {
    let areas = &ctx.procs.swaps.areas;
    if areas.is_empty() {
        return Ok(());
    }
    match f.inode_id() {
        Ok(key) if areas.iter().any(|a| a.key == key) => Err(Errno::ETXTBSY),
        _ => Ok(()),
    }
}

/// `swapon(2)`.
pub fn sys_swapon(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = u64::from(a.raw(1) as u32);
    if flags & !SWAP_FLAGS_VALID != 0 {
        return Err(Errno::EINVAL);
    }
    if !ctx.proc.cred.caps.has(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if ctx.procs.swaps.areas.len() >= MAX_SWAPFILES {
        return Err(Errno::EPERM);
    }
    let file = open(ctx, a)?;
    let key = file.inode_id()?;
    if ctx.procs.swaps.areas.iter().any(|s| s.key == key) {
        return Err(Errno::EBUSY);
    }
    let (block, size) = match file.loop_device() {
        Some(l) => (true, l.size()),
        None if file.is_regular() && file.fiemap(0, 0).is_ok() => (false, file.size()),
        None => return Err(Errno::EINVAL),
    };
    let mut header = [0u8; PAGE];
    if size < PAGE as u64 || file.read_at(0, &mut header)? < PAGE {
        return Err(Errno::EINVAL);
    }
    let last_page = read_header(&header).ok_or(Errno::EINVAL)?;
    if last_page + 1 > size / PAGE as u64 {
        return Err(Errno::EINVAL);
    }
    if !block && has_holes(&file, (last_page + 1) * PAGE as u64)? {
        return Err(Errno::EINVAL);
    }
    let bad = u64::from(u32::from_le_bytes(word(&header, 2)));
    let pages = last_page
        .checked_sub(bad)
        .filter(|&p| p > 0)
        .ok_or(Errno::EINVAL)?;
    let swaps = &mut ctx.procs.swaps;
    let prio = if flags & SWAP_FLAG_PREFER != 0 {
        (flags & SWAP_FLAG_PRIO_MASK) as i32
    } else {
        swaps.least_priority -= 1;
        swaps.least_priority
    };
    swaps.areas.push(SwapArea {
        file,
        key,
        block,
        pages,
        prio,
    });
    Ok(0)
}

/// `swapoff(2)`.
pub fn sys_swapoff(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if !ctx.proc.cred.caps.has(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let key = open(ctx, a)?.inode_id()?;
    let swaps = &mut ctx.procs.swaps;
    let i = swaps
        .areas
        .iter()
        .position(|s| s.key == key)
        .ok_or(Errno::EINVAL)?;
    let gone = swaps.areas.remove(i);
    if gone.prio < 0 {
        // The areas of lower priority move up one, as the next default one will.
        for s in &mut swaps.areas {
            if s.prio < gone.prio {
                s.prio += 1;
            }
        }
        swaps.least_priority += 1;
    }
    Ok(0)
}

/// Opens the path of argument 0 for reading and writing, as the caller.
fn open(ctx: &mut Ctx<'_>, a: &Args) -> Result<FileRef, Errno> {
    let path = crate::fs::path_arg(ctx, a.addr(0))?;
    let flags = OFlags::RDWR | OFlags::LARGEFILE;
    ctx.vfs.open(ctx.at(&ctx.proc.cwd), &path, flags, 0)
}

/// The `n`th 32-bit word of the header's `info` (after 1024 boot bytes).
fn word(h: &[u8; PAGE], n: usize) -> [u8; 4] {
    let at = 1024 + 4 * n;
    [h[at], h[at + 1], h[at + 2], h[at + 3]]
}

/// Linux's `read_swap_header`: the last page of a valid version-1 header, either byte
/// order.
fn read_header(h: &[u8; PAGE]) -> Option<u64> {
    if &h[PAGE - MAGIC.len()..] != MAGIC {
        return None;
    }
    let le = u32::from_le_bytes(word(h, 0)) == 1;
    let get = |n| {
        let w = word(h, n);
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    if get(0) != 1 || get(1) == 0 || get(2) > MAX_SWAP_BADPAGES {
        return None;
    }
    Some(u64::from(get(1)))
}

/// Whether `[0, len)` of `file` has a hole (its block map leaves a gap).
fn has_holes(file: &FileRef, len: u64) -> Result<bool, Errno> {
    let mut covered = 0;
    for e in file.fiemap(0, len)? {
        if e.logical > covered {
            return Ok(true);
        }
        covered = covered.max(e.logical + e.length);
    }
    Ok(covered < len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u32, last: u32, bad: u32) -> [u8; PAGE] {
        let mut h = [0u8; PAGE];
        h[PAGE - 10..].copy_from_slice(MAGIC);
        h[1024..1028].copy_from_slice(&version.to_le_bytes());
        h[1028..1032].copy_from_slice(&last.to_le_bytes());
        h[1032..1036].copy_from_slice(&bad.to_le_bytes());
        h
    }

    #[test]
    fn headers_mkswap_writes_are_read() {
        assert_eq!(read_header(&header(1, 255, 0)), Some(255));
        assert_eq!(read_header(&header(2, 255, 0)), None);
        assert_eq!(read_header(&header(1, 0, 0)), None);
        assert_eq!(read_header(&header(1, 255, MAX_SWAP_BADPAGES + 1)), None);
        let mut be = header(1, 0, 0);
        be[1024..1028].copy_from_slice(&1u32.to_be_bytes());
        be[1028..1032].copy_from_slice(&7u32.to_be_bytes());
        assert_eq!(read_header(&be), Some(7));
        let mut unsigned = header(1, 255, 0);
        unsigned[PAGE - 1] = 0;
        assert_eq!(read_header(&unsigned), None);
    }
}
