//! Unit tests of the `Mm` facade (no host stub involved).

use std::sync::Arc;

use abi::flags::{madv, MapFlags, Prot};
use abi::Errno;

use super::*;
use crate::layout::{FAULT_AROUND, FAULT_AROUND_MAX, MMAP_BASE, MMAP_MIN_ADDR, TASK_SIZE};

const MIB: u64 = 1 << 20;
const RW: Prot = Prot::READ.union(Prot::WRITE);

fn anon() -> MapFlags {
    MapFlags::PRIVATE | MapFlags::ANONYMOUS
}

fn fixed() -> MapFlags {
    anon() | MapFlags::FIXED
}

fn setup() -> (Mm, MmId) {
    let mut mm = Mm::new(16 * MIB).expect("mm");
    let id = mm.create_space();
    (mm, id)
}

struct FakeFile(Vec<u8>);

impl PageSource for FakeFile {
    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        let off = offset as usize;
        if off >= self.0.len() {
            return Ok(0);
        }
        // Deliberately short reads to exercise the fill loop.
        let n = dst.len().min(self.0.len() - off).min(1000);
        dst[..n].copy_from_slice(&self.0[off..off + n]);
        Ok(n)
    }
}

#[test]
fn mmap_errnos() {
    let (mut mm, id) = setup();
    let a = UserAddr(0x40_0000);
    assert_eq!(mm.mmap(id, a, 0, RW, anon(), None), Err(Errno::EINVAL));
    assert_eq!(
        mm.mmap(id, UserAddr(0x40_0001), 4096, RW, fixed(), None),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mm.mmap(id, a, 4096, RW, MapFlags::ANONYMOUS, None),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mm.mmap(id, a, u64::MAX, RW, anon(), None),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        mm.mmap(id, UserAddr(0x1000), 4096, RW, fixed(), None),
        Err(Errno::EPERM)
    );
    assert_eq!(
        mm.mmap(id, UserAddr(TASK_SIZE - 4096), 8192, RW, fixed(), None),
        Err(Errno::ENOMEM)
    );
    // SHARED_VALIDATE is accepted.
    let flags = MapFlags::SHARED_VALIDATE | MapFlags::ANONYMOUS;
    assert!(mm.mmap(id, UserAddr(0), 4096, RW, flags, None).is_ok());
    // FIXED_NOREPLACE over an existing mapping.
    assert_eq!(mm.mmap(id, a, 8192, RW, fixed(), None), Ok(a));
    let nr = anon() | MapFlags::FIXED_NOREPLACE;
    assert_eq!(mm.mmap(id, a, 4096, RW, nr, None), Err(Errno::EEXIST));
    // A free hint is used, a taken one is not.
    let h = UserAddr(0x80_0000);
    assert_eq!(mm.mmap(id, h, 4096, RW, anon(), None), Ok(h));
    let other = mm.mmap(id, h, 4096, RW, anon(), None).expect("mmap");
    assert_ne!(other, h);
    assert!(other.0 < MMAP_BASE && other.0 >= MMAP_MIN_ADDR);
    // Writable shared file maps are not supported; read-only ones become private.
    let src: Arc<dyn PageSource> = Arc::new(FakeFile(vec![1; 100]));
    let shared = MapFlags::SHARED;
    let fm = || {
        Some(FileMapping {
            source: src.clone(),
            offset: 0,
        })
    };
    assert_eq!(mm.mmap(id, a, 4096, RW, shared, fm()), Err(Errno::ENODEV));
    assert!(mm
        .mmap(id, UserAddr(0), 4096, Prot::READ, shared, fm())
        .is_ok());
    let unaligned = Some(FileMapping {
        source: src.clone(),
        offset: 5,
    });
    assert_eq!(
        mm.mmap(
            id,
            UserAddr(0),
            4096,
            Prot::READ,
            MapFlags::PRIVATE,
            unaligned
        ),
        Err(Errno::EINVAL)
    );
}

#[test]
fn topdown_allocation_and_munmap_split() {
    let (mut mm, id) = setup();
    let a = mm
        .mmap(id, UserAddr(0), 3 * 4096, RW, anon(), None)
        .expect("mmap");
    assert_eq!(a.0, MMAP_BASE - 3 * 4096);
    let b = mm
        .mmap(id, UserAddr(0), 4096, Prot::READ, anon(), None)
        .expect("mmap");
    assert_eq!(b.0, a.0 - 4096);
    assert_eq!(mm.maps(id).len(), 2);
    // Punch the middle page of `a`.
    assert_eq!(mm.munmap(id, UserAddr(a.0 + 1), 4096), Err(Errno::EINVAL));
    assert_eq!(mm.munmap(id, a, 0), Err(Errno::EINVAL));
    mm.munmap(id, UserAddr(a.0 + 4096), 4096).expect("munmap");
    let maps = mm.maps(id);
    assert_eq!(maps.len(), 3);
    assert_eq!((maps[1].start, maps[1].end), (a.0, a.0 + 4096));
    assert_eq!(maps[2].start, a.0 + 8192);
    // Unmapping holes is fine.
    mm.munmap(id, UserAddr(0x10_0000), 1 << 30)
        .expect("munmap hole");
    // Re-mapping the hole merges back into one VMA.
    mm.mmap(id, UserAddr(a.0 + 4096), 4096, RW, fixed(), None)
        .expect("mmap");
    assert_eq!(mm.maps(id).len(), 2);
}

#[test]
fn mprotect_splits_and_errnos() {
    let (mut mm, id) = setup();
    let a = UserAddr(0x100_0000);
    mm.mmap(id, a, 4 * 4096, RW, fixed(), None).expect("mmap");
    assert_eq!(
        mm.mprotect(id, UserAddr(a.0 + 1), 4096, Prot::READ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mm.mprotect(id, a, 5 * 4096, Prot::READ),
        Err(Errno::ENOMEM),
        "range extends past the mapping"
    );
    assert_eq!(mm.mprotect(id, a, 0, Prot::READ), Ok(()));
    // Fault the pages in so the host has them mapped.
    mm.handle_fault(id, a, Access::Write, false).expect("fault");
    mm.mmfd(id).expect("fd").take_pending();
    mm.mprotect(id, UserAddr(a.0 + 4096), 2 * 4096, Prot::READ)
        .expect("mprotect");
    assert_eq!(mm.maps(id).len(), 3);
    assert_eq!(
        mm.mmfd(id).expect("fd").pending(),
        &[MmOp::Mprotect {
            addr: a.0 + 4096,
            len: 8192,
            prot: 1
        }]
    );
    // Writes to the read-only part fail, in the kernel and for the guest.
    assert_eq!(
        mm.copy_out(id, UserAddr(a.0 + 4096), b"x"),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        mm.handle_fault(id, UserAddr(a.0 + 4096), Access::Write, true),
        Err(FaultError::Segv { si_code: 2 })
    );
    // Back to RW: merges into one VMA again.
    mm.mprotect(id, a, 4 * 4096, RW).expect("mprotect");
    assert_eq!(mm.maps(id).len(), 1);
    // PROT_NONE pages are inaccessible.
    mm.mprotect(id, a, 4096, Prot::empty()).expect("mprotect");
    let mut b = [0u8; 1];
    assert_eq!(mm.copy_in(id, a, &mut b), Err(Errno::EFAULT));
    assert_eq!(
        mm.handle_fault(id, a, Access::Read, true),
        Err(FaultError::Segv { si_code: 2 })
    );
    // mprotect never queues an op for pages the host has not mapped.
    let c = UserAddr(0x200_0000);
    mm.mmap(id, c, 4 * 4096, RW, fixed(), None).expect("mmap");
    mm.mmfd(id).expect("fd").take_pending();
    mm.mprotect(id, c, 4 * 4096, Prot::READ).expect("mprotect");
    assert!(mm.mmfd(id).expect("fd").pending().is_empty());
}

#[test]
fn mseal_refuses_changes_to_sealed_mappings() {
    let (mut mm, id) = setup();
    let a = UserAddr(0x100_0000);
    let at = |p: u64| UserAddr(a.0 + p * 4096);
    mm.mmap(id, a, 4 * 4096, RW, fixed(), None).expect("mmap");
    assert_eq!(mm.mseal(id, at(1), 4096, 1), Err(Errno::EINVAL), "flags");
    assert_eq!(mm.mseal(id, at(3), 2 * 4096, 0), Err(Errno::ENOMEM), "hole");
    mm.mseal(id, at(1), 2 * 4096, 0).expect("mseal");
    assert_eq!(mm.maps(id).len(), 3, "split at the sealed range's edges");
    assert_eq!(mm.munmap(id, a, 4 * 4096), Err(Errno::EPERM));
    assert_eq!(mm.mprotect(id, at(2), 4096, Prot::READ), Err(Errno::EPERM));
    assert_eq!(
        mm.mmap(id, at(1), 4096, RW, fixed(), None),
        Err(Errno::EPERM)
    );
    assert_eq!(
        mm.mremap(id, at(1), 4096, 8192, 1, UserAddr(0)),
        Err(Errno::EPERM)
    );
    // Writable memory may still be discarded; the unsealed neighbours change freely.
    assert_eq!(mm.madvise(id, at(1), 4096, madv::DONTNEED), Ok(()));
    assert_eq!(mm.munmap(id, at(3), 4096), Ok(()));
    assert_eq!(mm.mprotect(id, a, 4096, Prot::READ), Ok(()));
}

#[test]
fn fault_errors() {
    let (mut mm, id) = setup();
    assert_eq!(
        mm.handle_fault(id, UserAddr(0x5000_0000), Access::Read, false),
        Err(FaultError::Segv { si_code: 1 })
    );
    assert_eq!(
        mm.handle_fault(id, UserAddr(u64::MAX), Access::Read, false),
        Err(FaultError::Segv { si_code: 1 })
    );
    let a = UserAddr(0x100_0000);
    mm.mmap(id, a, 4096, Prot::empty(), fixed(), None)
        .expect("mmap");
    assert_eq!(
        mm.handle_fault(id, a, Access::Read, false),
        Err(FaultError::Segv { si_code: 2 })
    );
    mm.mprotect(id, a, 4096, Prot::READ).expect("mprotect");
    assert_eq!(
        mm.handle_fault(id, a, Access::Write, false),
        Err(FaultError::Segv { si_code: 2 })
    );
    assert_eq!(
        mm.handle_fault(id, a, Access::Exec, false),
        Err(FaultError::Segv { si_code: 2 })
    );
}

#[test]
fn fault_then_copy_in_sees_zero_and_ops_describe_run() {
    let (mut mm, id) = setup();
    let a = UserAddr(0x100_0000);
    mm.mmap(id, a, 128 * 4096, RW, fixed(), None).expect("mmap");
    mm.handle_fault(id, UserAddr(a.0 + 70 * 4096 + 12), Access::Read, false)
        .expect("fault");
    let ops = mm.mmfd(id).expect("fd").take_pending();
    assert_eq!(ops.len(), 1, "{ops:?}");
    match ops[0] {
        MmOp::Mmap {
            addr,
            len,
            prot,
            offset,
        } => {
            assert_eq!(addr, a.0 + 64 * 4096);
            assert_eq!(len, FAULT_AROUND * 4096);
            assert_eq!(prot, 3);
            assert_eq!(offset % 4096, 0);
        }
        ref op => panic!("unexpected {op:?}"),
    }
    assert_eq!(mm.resident_pages(id), FAULT_AROUND);
    let mut buf = vec![0xffu8; 8192];
    mm.copy_in(id, UserAddr(a.0 + 70 * 4096), &mut buf)
        .expect("copy_in");
    assert!(buf.iter().all(|&b| b == 0));
    // A second fault in the same window on a mapped page is spurious at most: nothing new.
    let before = mm.stats().free_bytes;
    mm.handle_fault(id, UserAddr(a.0 + 4096), Access::Write, false)
        .expect("fault");
    let ops = mm.mmfd(id).expect("fd").take_pending();
    assert_eq!(ops.len(), 1);
    assert_eq!(mm.stats().free_bytes, before - 64 * 4096);
    // Fault-around stops at the VMA end.
    let b = UserAddr(0x300_0000);
    mm.mmap(id, b, 3 * 4096, RW, fixed(), None).expect("mmap");
    mm.handle_fault(id, b, Access::Write, false).expect("fault");
    assert_eq!(
        mm.mmfd(id).expect("fd").take_pending(),
        vec![MmOp::Mmap {
            addr: b.0,
            len: 3 * 4096,
            prot: 3,
            offset: 128 * 4096,
        }]
    );
}

#[test]
fn copy_round_trip_across_pages() {
    let (mut mm, id) = setup();
    let a = UserAddr(0x100_0000);
    mm.mmap(id, a, 4 * 4096, RW, fixed(), None).expect("mmap");
    let data: Vec<u8> = (0..10000u32).map(|i| (i * 7) as u8).collect();
    let at = UserAddr(a.0 + 4000);
    mm.copy_out(id, at, &data).expect("copy_out");
    let mut back = vec![0u8; data.len()];
    mm.copy_in(id, at, &mut back).expect("copy_in");
    assert_eq!(back, data);
    // The guest's later fault maps the kernel-populated pages with their contents.
    mm.handle_fault(id, at, Access::Read, false).expect("fault");
    // Crossing the end of the mapping is EFAULT.
    let mut big = vec![0u8; 4 * 4096];
    assert_eq!(
        mm.copy_in(id, UserAddr(a.0 + 4096), &mut big),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        mm.copy_out(id, UserAddr(u64::MAX - 2), b"abcd"),
        Err(Errno::EFAULT)
    );
    // Strings.
    mm.copy_out(id, UserAddr(a.0 + 4094), b"hello\0")
        .expect("copy_out");
    assert_eq!(
        mm.read_cstr(id, UserAddr(a.0 + 4094), 100),
        Ok(b"hello".to_vec())
    );
    assert_eq!(
        mm.read_cstr(id, UserAddr(a.0 + 4094), 5),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        mm.read_cstr(id, UserAddr(a.0 + 4094), 6),
        Ok(b"hello".to_vec())
    );
    mm.copy_out(id, UserAddr(a.0 + 4 * 4096 - 3), b"abc")
        .expect("copy_out");
    assert_eq!(
        mm.read_cstr(id, UserAddr(a.0 + 4 * 4096 - 3), 100),
        Err(Errno::EFAULT)
    );
}

#[test]
fn file_mapping_zero_fills_last_page_and_bus_beyond() {
    let (mut mm, id) = setup();
    let content: Vec<u8> = (0..(4096 + 100)).map(|i| (i % 251) as u8 + 1).collect();
    let src: Arc<dyn PageSource> = Arc::new(FakeFile(content.clone()));
    let a = UserAddr(0x100_0000);
    let fm = FileMapping {
        source: src,
        offset: 0,
    };
    mm.mmap(
        id,
        a,
        3 * 4096,
        Prot::READ,
        MapFlags::PRIVATE | MapFlags::FIXED,
        Some(fm),
    )
    .expect("mmap");
    mm.handle_fault(id, a, Access::Read, false).expect("fault");
    // Two pages are within the file; the third is past EOF and not mapped.
    let ops = mm.mmfd(id).expect("fd").take_pending();
    assert_eq!(ops.len(), 1);
    assert!(
        matches!(
            ops[0],
            MmOp::Mmap {
                len: 8192,
                prot: 1,
                ..
            }
        ),
        "{ops:?}"
    );
    let mut buf = vec![0xffu8; 8192];
    mm.copy_in(id, a, &mut buf).expect("copy_in");
    assert_eq!(&buf[..content.len()], &content[..]);
    assert!(buf[content.len()..].iter().all(|&b| b == 0));
    assert_eq!(
        mm.handle_fault(id, UserAddr(a.0 + 8192), Access::Read, false),
        Err(FaultError::Bus)
    );
    // Private file mappings made writable keep private copies, and DONTNEED re-reads.
    mm.mprotect(id, a, 3 * 4096, RW).expect("mprotect");
    mm.copy_out(id, a, b"XYZ").expect("copy_out");
    let mut b3 = [0u8; 3];
    mm.copy_in(id, a, &mut b3).expect("copy_in");
    assert_eq!(&b3, b"XYZ");
    mm.madvise(id, a, 4096, madv::DONTNEED).expect("madvise");
    mm.copy_in(id, a, &mut b3).expect("copy_in");
    assert_eq!(&b3[..], &content[..3]);
}

#[test]
fn madvise_semantics() {
    let (mut mm, id) = setup();
    let a = UserAddr(0x100_0000);
    mm.mmap(id, a, 2 * 4096, RW, fixed(), None).expect("mmap");
    mm.handle_fault(id, a, Access::Write, false).expect("fault");
    mm.copy_out(id, a, b"data").expect("copy_out");
    mm.mmfd(id).expect("fd").take_pending();
    mm.madvise(id, a, 4096, madv::DONTNEED).expect("madvise");
    assert_eq!(
        mm.mmfd(id).expect("fd").pending(),
        &[MmOp::Munmap {
            addr: a.0,
            len: 4096
        }]
    );
    let mut b = [0xffu8; 4];
    mm.copy_in(id, a, &mut b).expect("copy_in");
    assert_eq!(b, [0; 4]);
    assert_eq!(mm.madvise(id, a, 4096, 999), Err(Errno::EINVAL));
    assert_eq!(
        mm.madvise(id, UserAddr(a.0 + 1), 4096, madv::NORMAL),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        mm.madvise(id, a, 3 * 4096, madv::WILLNEED),
        Err(Errno::ENOMEM)
    );
    assert_eq!(mm.madvise(id, a, 0, madv::WILLNEED), Ok(()));
    for adv in [
        madv::NORMAL,
        madv::RANDOM,
        madv::SEQUENTIAL,
        madv::HUGEPAGE,
        madv::DONTDUMP,
    ] {
        assert_eq!(mm.madvise(id, a, 2 * 4096, adv), Ok(()));
    }
    mm.copy_out(id, a, b"more").expect("copy_out");
    mm.madvise(id, a, 2 * 4096, madv::FREE).expect("free");
    mm.copy_in(id, a, &mut b).expect("copy_in");
    assert_eq!(b, [0; 4]);
    // DONTNEED on a shared anonymous mapping keeps the data.
    let s = mm
        .mmap(
            id,
            UserAddr(0),
            4096,
            RW,
            MapFlags::SHARED | MapFlags::ANONYMOUS,
            None,
        )
        .expect("mmap");
    mm.copy_out(id, s, b"keep").expect("copy_out");
    mm.madvise(id, s, 4096, madv::DONTNEED).expect("madvise");
    mm.copy_in(id, s, &mut b).expect("copy_in");
    assert_eq!(&b, b"keep");
}

#[test]
fn brk_grow_shrink_regrow() {
    let (mut mm, id) = setup();
    let start = 0x60_0000u64;
    mm.set_brk_start(id, UserAddr(start - 100));
    assert_eq!(mm.brk(id, UserAddr(0)), UserAddr(start));
    assert_eq!(mm.brk(id, UserAddr(start - 1)), UserAddr(start));
    let top = UserAddr(start + 3 * 4096 + 10);
    assert_eq!(mm.brk(id, top), top);
    mm.copy_out(id, UserAddr(start + 2 * 4096), b"heap")
        .expect("copy_out");
    // Shrink, then regrow: the dropped pages read as zero.
    assert_eq!(mm.brk(id, UserAddr(start + 4096)), UserAddr(start + 4096));
    let mut b = [0u8; 4];
    assert_eq!(
        mm.copy_in(id, UserAddr(start + 2 * 4096), &mut b),
        Err(Errno::EFAULT)
    );
    assert_eq!(mm.brk(id, top), top);
    mm.copy_in(id, UserAddr(start + 2 * 4096), &mut b)
        .expect("copy_in");
    assert_eq!(b, [0; 4]);
    assert_eq!(mm.maps(id).len(), 1);
    // Cannot grow into another mapping.
    mm.mmap(id, UserAddr(start + 8 * 4096), 4096, RW, fixed(), None)
        .expect("mmap");
    assert_eq!(mm.brk(id, UserAddr(start + 9 * 4096)), top);
    // Cannot exceed memory.
    assert_eq!(
        mm.brk(id, UserAddr(start + 7 * 4096)),
        UserAddr(start + 7 * 4096)
    );
    let mut mm2 = Mm::new(MIB).expect("mm");
    let id2 = mm2.create_space();
    mm2.set_brk_start(id2, UserAddr(start));
    assert_eq!(mm2.brk(id2, UserAddr(start + 2 * MIB)), UserAddr(start));
}

#[test]
fn commit_limit_is_enforced() {
    let (mut mm, id) = setup();
    assert_eq!(
        mm.mmap(id, UserAddr(0), 32 * MIB, RW, anon(), None),
        Err(Errno::ENOMEM)
    );
    // Read-only and NORESERVE mappings are not charged.
    let ro = mm
        .mmap(id, UserAddr(0), 32 * MIB, Prot::READ, anon(), None)
        .expect("ro");
    let nr = mm
        .mmap(
            id,
            UserAddr(0),
            32 * MIB,
            RW,
            anon() | MapFlags::NORESERVE,
            None,
        )
        .expect("noreserve");
    let a = mm
        .mmap(id, UserAddr(0), 12 * MIB, RW, anon(), None)
        .expect("12M");
    assert_eq!(
        mm.mmap(id, UserAddr(0), 8 * MIB, RW, anon(), None),
        Err(Errno::ENOMEM)
    );
    assert_eq!(mm.mprotect(id, ro, 8 * MIB, RW), Err(Errno::ENOMEM));
    // Touch all of the charged mapping: it always gets frames.
    for p in 0..(12 * MIB / 4096) {
        mm.handle_fault(id, UserAddr(a.0 + p * 4096), Access::Write, false)
            .expect("charged fault");
    }
    // The uncharged mapping runs out (guest killed), the kernel does not.
    let mut oom = false;
    for p in 0..(32 * MIB / 4096) {
        match mm.handle_fault(id, UserAddr(nr.0 + p * 4096), Access::Write, false) {
            Ok(()) => {}
            Err(FaultError::OutOfMemory) => {
                oom = true;
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(oom);
    mm.munmap(id, a, 12 * MIB).expect("munmap");
    assert!(mm.mmap(id, UserAddr(0), 8 * MIB, RW, anon(), None).is_ok());
}

#[test]
fn user_slices_cover_accessible_prefix() {
    let (mut mm, id) = setup();
    let a = UserAddr(0x100_0000);
    mm.mmap(id, a, 2 * 4096, RW, fixed(), None).expect("mmap");
    mm.mmap(
        id,
        UserAddr(a.0 + 2 * 4096),
        4096,
        Prot::READ,
        fixed(),
        None,
    )
    .expect("mmap");
    let n = mm
        .with_user_slices_mut(id, UserAddr(a.0 + 100), 5 * 4096, |s| {
            let mut n = 0;
            for sl in s.iter_mut() {
                sl.fill(b'z');
                n += sl.len();
            }
            n
        })
        .expect("slices");
    assert_eq!(n, 2 * 4096 - 100);
    let total = mm
        .with_user_slices(id, UserAddr(a.0 + 100), 5 * 4096, |s| {
            s.iter().map(|x| x.len()).sum::<usize>()
        })
        .expect("slices");
    assert_eq!(total, 3 * 4096 - 100);
    assert_eq!(
        mm.with_user_slices_mut(id, UserAddr(a.0 + 2 * 4096), 10, |_| ()),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        mm.with_user_slices(id, UserAddr(0x5000_0000), 10, |_| ()),
        Err(Errno::EFAULT)
    );
    assert_eq!(mm.with_user_slices(id, a, 0, |s| s.len()), Ok(0));
    let mut b = [0u8; 2];
    mm.copy_in(id, UserAddr(a.0 + 4095), &mut b)
        .expect("copy_in");
    assert_eq!(b, *b"zz");
}

#[test]
fn destroy_returns_frames() {
    let (mut mm, id) = setup();
    let total = mm.stats().total_bytes;
    assert_eq!(total, 16 * MIB);
    let a = mm
        .mmap(id, UserAddr(0), 4 * MIB, RW, anon(), None)
        .expect("mmap");
    for p in (0..4 * MIB / 4096).step_by(7) {
        mm.handle_fault(id, UserAddr(a.0 + p * 4096), Access::Write, false)
            .expect("fault");
    }
    assert_eq!(mm.stats().free_bytes, total - 4 * MIB);
    assert!(mm.destroy_space(id).is_some());
    assert_eq!(mm.stats().free_bytes, total);
    assert_eq!(mm.stats().committed_bytes, 0);
    assert!(mm.destroy_space(id).is_none());
    assert_eq!(
        mm.handle_fault(id, a, Access::Read, false),
        Err(FaultError::Segv { si_code: 1 })
    );
}

#[test]
fn fork_shares_copy_on_write() {
    let (mut mm, id) = setup();
    let a = UserAddr(0x100_0000);
    mm.mmap(id, a, 4096, RW, fixed(), None).expect("mmap");
    mm.handle_fault(id, a, Access::Write, false).expect("fault");
    mm.copy_out(id, a, b"parent").expect("copy_out");
    mm.mmfd(id).expect("fd").take_pending();
    let free = mm.stats().free_bytes;
    let child = mm.fork_space(id).expect("fork");
    assert_eq!(mm.stats().free_bytes, free, "frames are shared");
    // The parent's page is now read-only in the host.
    assert_eq!(
        mm.mmfd(id).expect("fd").pending(),
        &[MmOp::Mprotect {
            addr: a.0,
            len: 4096,
            prot: 1
        }]
    );
    mm.mmfd(id).expect("fd").take_pending();
    // A write by the parent breaks COW.
    mm.handle_fault(id, a, Access::Write, true)
        .expect("cow fault");
    assert_eq!(mm.stats().free_bytes, free - 4096);
    mm.copy_out(id, a, b"PARENT").expect("copy_out");
    let mut b = [0u8; 6];
    mm.copy_in(child, a, &mut b).expect("copy_in");
    assert_eq!(&b, b"parent");
    // The child's frame is now exclusively its own: mapped writable.
    mm.handle_fault(child, a, Access::Write, false)
        .expect("fault");
    assert!(matches!(
        mm.mmfd(child).expect("fd").pending(),
        [MmOp::Mmap { prot: 3, .. }]
    ));
    mm.destroy_space(child);
    mm.destroy_space(id);
    assert_eq!(mm.stats().free_bytes, mm.stats().total_bytes);
}

#[test]
fn fixed_replaces_and_queues_munmap() {
    let (mut mm, id) = setup();
    let a = UserAddr(0x100_0000);
    mm.mmap(id, a, 2 * 4096, RW, fixed(), None).expect("mmap");
    mm.handle_fault(id, a, Access::Write, false).expect("fault");
    mm.copy_out(id, a, b"old").expect("copy_out");
    mm.mmfd(id).expect("fd").take_pending();
    mm.mmap(id, a, 4096, RW, fixed(), None).expect("mmap");
    assert_eq!(
        mm.mmfd(id).expect("fd").pending(),
        &[MmOp::Munmap {
            addr: a.0,
            len: 4096
        }]
    );
    let mut b = [0xffu8; 3];
    mm.copy_in(id, a, &mut b).expect("copy_in");
    assert_eq!(b, [0; 3]);
}

#[test]
fn big_touch_uses_few_traps() {
    let mut mm = Mm::new(64 * MIB).expect("mm");
    let id = mm.create_space();
    let len = 32 * MIB;
    let a = mm
        .mmap(id, UserAddr(0), len, RW, anon(), None)
        .expect("mmap");
    let mut traps = 0;
    let mut mapped = std::collections::BTreeSet::new();
    for p in 0..len / 4096 {
        let addr = a.0 + p * 4096;
        if mapped.contains(&p) {
            continue;
        }
        traps += 1;
        mm.handle_fault(id, UserAddr(addr), Access::Write, false)
            .expect("fault");
        for op in mm.mmfd(id).expect("fd").take_pending() {
            if let MmOp::Mmap {
                addr: ma, len: ml, ..
            } = op
            {
                for q in (ma - a.0) / 4096..(ma - a.0 + ml) / 4096 {
                    mapped.insert(q);
                }
            }
        }
    }
    // The mapping need not start on a fault-around boundary: at most one extra window.
    assert!(traps <= len / 4096 / FAULT_AROUND + 1, "{traps} traps");
}

#[test]
fn ops_are_messages() {
    fn is_serde<T: serde::Serialize + for<'de> serde::Deserialize<'de>>() {}
    is_serde::<MmOp>();
    is_serde::<MmId>();
    is_serde::<Access>();
    is_serde::<FaultError>();
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Mm>();
    let _ = Mm::new(0).err().map(|e| e.to_string());
    let _ = TASK_SIZE;
}

#[test]
#[ignore = "benchmark: cargo test -p mm --release -- --ignored"]
fn bench_touch_256m() {
    let mut mm = Mm::new(512 * MIB).expect("mm");
    let id = mm.create_space();
    let len = 256 * MIB;
    let a = mm
        .mmap(id, UserAddr(0), len, RW, anon(), None)
        .expect("mmap");
    let t = std::time::Instant::now();
    let mut p = 0;
    let mut traps = 0;
    while p < len / 4096 {
        mm.handle_fault(id, UserAddr(a.0 + p * 4096), Access::Write, false)
            .expect("fault");
        traps += 1;
        let ops = mm.mmfd(id).expect("fd").take_pending();
        let MmOp::Mmap { addr, len: l, .. } = ops[0] else {
            panic!("{ops:?}")
        };
        p = (addr + l - a.0) / 4096;
    }
    let dt = t.elapsed();
    mm.munmap(id, a, len).expect("munmap");
    eprintln!("{traps} traps, {dt:?} faulting, {:?} total", t.elapsed());
    assert_eq!(mm.stats().free_bytes, mm.stats().total_bytes);
}

/// A sequential first touch of private anonymous memory doubles the fault-around window at
/// each fault just past the last one, up to `FAULT_AROUND_MAX`; a fault elsewhere starts
/// over.
#[test]
fn sequential_faults_grow_the_window() {
    let (mut mm, id) = setup();
    let a = UserAddr(0x1000_0000);
    let pages = 4 * FAULT_AROUND_MAX;
    mm.mmap(id, a, pages * 4096, RW, fixed(), None)
        .expect("mmap");
    let mut next = 0;
    let mut windows = Vec::new();
    while next < 15 * FAULT_AROUND {
        mm.handle_fault(id, UserAddr(a.0 + next * 4096), Access::Write, false)
            .expect("fault");
        let ops = mm.mmfd(id).expect("fd").take_pending();
        let [MmOp::Mmap { addr, len, .. }] = ops[..] else {
            panic!("{ops:?}");
        };
        assert_eq!(addr, a.0 + next * 4096);
        windows.push(len / 4096);
        next += len / 4096;
    }
    assert_eq!(windows, [64, 128, 256, 512]);
    // A fault that does not continue the sequence gets the plain aligned window.
    let far = 3 * FAULT_AROUND_MAX + 5;
    mm.handle_fault(id, UserAddr(a.0 + far * 4096), Access::Read, false)
        .expect("fault");
    let ops = mm.mmfd(id).expect("fd").take_pending();
    assert!(
        matches!(ops[..], [MmOp::Mmap { len, .. }] if len == FAULT_AROUND * 4096),
        "{ops:?}"
    );
    assert_eq!(mm.resident_pages(id), 16 * FAULT_AROUND);
}

#[test]
fn frames_shared_since_a_fork_count_once() {
    // 3 MiB of read-only (uncharged) memory with frames of its own, in 16 MiB: twenty
    // forks share those frames, and must not count them twenty times.
    let (mut mm, id) = setup();
    let ro = mm
        .mmap(id, UserAddr(0), 3 * MIB, Prot::READ, anon(), None)
        .expect("ro");
    for p in 0..(3 * MIB / 4096) {
        mm.handle_fault(id, UserAddr(ro.0 + p * 4096), Access::Read, false)
            .expect("read fault");
    }
    let children: Vec<MmId> = (0..20).map(|_| mm.fork_space(id).expect("fork")).collect();
    // A child making its copy charged stops counting it as extra only for itself.
    mm.mprotect(children[0], ro, 3 * MIB, RW).expect("mprotect");
    for c in children {
        mm.destroy_space(c);
    }
    mm.destroy_space(id);
    mm.phys.flush();
    // Nothing is held any more: almost all of memory can be committed again.
    let id = mm.create_space();
    mm.mmap(id, UserAddr(0), 15 * MIB, RW, anon(), None)
        .expect("15 MiB after everything went");
}
