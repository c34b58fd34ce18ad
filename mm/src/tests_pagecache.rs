//! Unit tests of the page cache through the `Mm` facade.

use std::sync::Arc;

use abi::flags::{MapFlags, Prot};
use abi::Errno;
use std::sync::Mutex;

use super::*;

const P: u64 = PAGE_SIZE;
pub(crate) const RW: Prot = Prot::READ.union(Prot::WRITE);
pub(crate) const A: UserAddr = UserAddr(0x100_0000);
pub(crate) const KEY: FileKey = FileKey { dev: 7, ino: 42 };

/// An in-memory file with an identity.
pub(crate) struct MemFile {
    data: Mutex<Vec<u8>>,
    writable: bool,
}

impl PageSource for MemFile {
    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        let d = self.data.lock().expect("lock");
        let off = (offset as usize).min(d.len());
        let n = dst.len().min(d.len() - off);
        dst[..n].copy_from_slice(&d[off..off + n]);
        Ok(n)
    }
    fn key(&self) -> Option<FileKey> {
        Some(KEY)
    }
    fn write_at(&self, offset: u64, src: &[u8]) -> std::io::Result<usize> {
        let mut d = self.data.lock().expect("lock");
        let end = offset as usize + src.len();
        if d.len() < end {
            d.resize(end, 0);
        }
        d[offset as usize..end].copy_from_slice(src);
        Ok(src.len())
    }
    fn size(&self) -> u64 {
        self.data.lock().expect("lock").len() as u64
    }
    fn writable(&self) -> bool {
        self.writable
    }
}

/// A file of `pages` pages, page i filled with `b'a' + i`.
pub(crate) fn file(pages: u8, writable: bool) -> Arc<MemFile> {
    let data = (0..pages)
        .flat_map(|i| std::iter::repeat(b'a' + i).take(P as usize))
        .collect();
    Arc::new(MemFile {
        data: Mutex::new(data),
        writable,
    })
}

pub(crate) fn map(mm: &mut Mm, id: MmId, f: &Arc<MemFile>, pages: u64, prot: Prot, shared: bool) {
    let src: Arc<dyn PageSource> = f.clone();
    let share = if shared {
        MapFlags::SHARED
    } else {
        MapFlags::PRIVATE
    };
    let fm = FileMapping {
        source: src,
        offset: 0,
    };
    mm.mmap(id, A, pages * P, prot, share | MapFlags::FIXED, Some(fm))
        .expect("mmap");
}

fn byte(mm: &mut Mm, id: MmId, addr: u64) -> u8 {
    let mut b = [0u8];
    mm.copy_in(id, UserAddr(addr), &mut b).expect("copy_in");
    b[0]
}

fn setup() -> (Mm, MmId) {
    let mut mm = Mm::new(16 << 20).expect("mm");
    let id = mm.create_space();
    (mm, id)
}

#[test]
fn shared_pages_are_one_frame_for_every_mapper() {
    let (mut mm, a) = setup();
    let b = mm.create_space();
    let f = file(3, true);
    map(&mut mm, a, &f, 3, RW, true);
    map(&mut mm, b, &f, 3, RW, true);
    mm.handle_fault(a, A, Access::Read, false).expect("fault");
    assert_eq!(mm.cached_pages(), 3, "fault-around cached the whole file");
    mm.copy_out(a, UserAddr(A.0 + P + 1), b"XY")
        .expect("copy_out");
    assert_eq!(
        byte(&mut mm, b, A.0 + P + 1),
        b'X',
        "the other space sees the store"
    );
    assert_eq!(mm.cached_pages(), 3, "no second copy");
    assert_eq!(
        f.data.lock().expect("lock")[P as usize + 1],
        b'b',
        "not written back yet"
    );
    mm.sync_file(KEY);
    assert_eq!(
        &f.data.lock().expect("lock")[P as usize + 1..P as usize + 3],
        b"XY"
    );
}

#[test]
fn clean_shared_pages_are_write_protected_until_stored() {
    let (mut mm, id) = setup();
    let f = file(1, true);
    map(&mut mm, id, &f, 1, RW, true);
    mm.handle_fault(id, A, Access::Read, false).expect("fault");
    let ops = mm.mmfd(id).expect("fd").take_pending();
    assert!(matches!(ops[..], [MmOp::Mmap { prot: 1, .. }]), "{ops:?}");
    // The store faults on the read-only page: marked dirty, mapped writable.
    mm.handle_fault(id, A, Access::Write, true).expect("fault");
    let ops = mm.mmfd(id).expect("fd").take_pending();
    assert!(matches!(ops[..], [MmOp::Mmap { prot: 3, .. }]), "{ops:?}");
    // Written back: clean again, so write-protected again.
    mm.msync(id, A, P).expect("msync");
    let ops = mm.mmfd(id).expect("fd").take_pending();
    assert!(
        matches!(ops[..], [MmOp::Mprotect { prot: 1, .. }]),
        "{ops:?}"
    );
    // A second msync has nothing to do.
    mm.msync(id, A, P).expect("msync");
    assert!(mm.mmfd(id).expect("fd").take_pending().is_empty());
}

#[test]
fn private_mappings_copy_on_write_and_never_write_back() {
    let (mut mm, id) = setup();
    let other = mm.create_space();
    let f = file(2, true);
    map(&mut mm, id, &f, 2, RW, false);
    map(&mut mm, other, &f, 2, Prot::READ, true);
    mm.copy_out(id, A, b"P").expect("copy_out");
    assert_eq!(byte(&mut mm, id, A.0), b'P');
    assert_eq!(
        byte(&mut mm, other, A.0),
        b'a',
        "the cached page is untouched"
    );
    mm.munmap(id, A, 2 * P).expect("munmap");
    mm.sync_file(KEY);
    assert_eq!(
        f.data.lock().expect("lock")[0],
        b'a',
        "the file is untouched"
    );
    // A file write shows in an untouched private page (it maps the cached frame).
    map(&mut mm, id, &f, 2, RW, false);
    f.data.lock().expect("lock")[P as usize] = b'W';
    mm.file_changed(KEY, P..P + 1);
    assert_eq!(byte(&mut mm, id, A.0 + P), b'W');
    assert_eq!(byte(&mut mm, other, A.0 + P), b'W');
}

#[test]
fn truncation_unmaps_pages_past_the_end() {
    let (mut mm, id) = setup();
    let f = file(3, true);
    map(&mut mm, id, &f, 3, RW, true);
    mm.handle_fault(id, A, Access::Read, false).expect("fault");
    mm.mmfd(id).expect("fd").take_pending();
    f.data.lock().expect("lock").truncate(P as usize + 10);
    mm.file_changed(KEY, 0..u64::MAX);
    assert_eq!(mm.cached_pages(), 2);
    let ops = mm.mmfd(id).expect("fd").take_pending();
    assert!(
        ops.iter()
            .any(|op| matches!(op, MmOp::Munmap { addr, .. } if *addr == A.0 + 2 * P)),
        "{ops:?}"
    );
    assert_eq!(
        mm.handle_fault(id, UserAddr(A.0 + 2 * P), Access::Read, false),
        Err(FaultError::Bus)
    );
    assert_eq!(byte(&mut mm, id, A.0 + P + 9), b'b');
    assert_eq!(byte(&mut mm, id, A.0 + P + 10), 0, "the tail is zeroed");
}

#[test]
fn last_unmap_writes_back_and_frees_every_frame() {
    let (mut mm, id) = setup();
    let free = mm.stats().free_bytes;
    let f = file(2, true);
    map(&mut mm, id, &f, 2, RW, true);
    let child = mm.fork_space(id).expect("fork");
    mm.copy_out(child, UserAddr(A.0 + P), b"kid")
        .expect("copy_out");
    assert_eq!(byte(&mut mm, id, A.0 + P), b'k', "shared across fork");
    mm.destroy_space(child);
    assert_eq!(
        f.data.lock().expect("lock")[P as usize],
        b'b',
        "the parent still maps it"
    );
    mm.munmap(id, A, 2 * P).expect("munmap");
    assert_eq!(
        &f.data.lock().expect("lock")[P as usize..P as usize + 3],
        b"kid"
    );
    assert_eq!(mm.cached_pages(), 0);
    assert_eq!(mm.stats().free_bytes, free);
}

#[test]
fn mincore_reports_residency_and_errnos() {
    let (mut mm, id) = setup();
    let f = file(2, true);
    map(&mut mm, id, &f, 2, Prot::READ, true);
    assert_eq!(mm.mincore(id, A, 2 * P), Ok(vec![0, 0]));
    mm.handle_fault(id, A, Access::Read, false).expect("fault");
    assert_eq!(mm.mincore(id, A, 2 * P), Ok(vec![1, 1]));
    assert_eq!(mm.mincore(id, A, 3 * P), Err(Errno::ENOMEM));
}

#[test]
fn read_only_opened_files_never_become_writable_shared() {
    let (mut mm, id) = setup();
    let f = file(1, false);
    map(&mut mm, id, &f, 1, Prot::READ, true);
    assert_eq!(mm.mprotect(id, A, P, RW), Err(Errno::EACCES));
    map(&mut mm, id, &f, 1, Prot::READ, false);
    assert_eq!(mm.mprotect(id, A, P, RW), Ok(()), "private mappings may");
}

#[test]
fn cached_frames_count_once_against_memory() {
    // 64 pages of memory; a 40-page file mapped shared by two spaces fits (40 frames),
    // where two private copies would not.
    let mut mm = Mm::new(64 * P).expect("mm");
    let a = mm.create_space();
    let b = mm.create_space();
    let f = file(40, true);
    map(&mut mm, a, &f, 40, RW, true);
    map(&mut mm, b, &f, 40, RW, true);
    let mut buf = vec![0u8; 40 * P as usize];
    mm.copy_in(a, A, &mut buf).expect("copy_in a");
    mm.copy_in(b, A, &mut buf).expect("copy_in b");
    assert_eq!(mm.stats().free_bytes, 24 * P);
    // Commit accounting still refuses what cannot fit beside the cached pages.
    let anon = MapFlags::PRIVATE | MapFlags::ANONYMOUS;
    assert_eq!(
        mm.mmap(a, UserAddr(0), 30 * P, RW, anon, None),
        Err(Errno::ENOMEM)
    );
    assert!(mm.mmap(a, UserAddr(0), 20 * P, RW, anon, None).is_ok());
}
