//! Unit tests of [`Mm::futex_object`]: which object a shared futex word lies in.

use abi::flags::{MapFlags, Prot};
use abi::Errno;

use super::tests_pagecache::{file, map, A, KEY, RW};
use super::*;

const P: u64 = PAGE_SIZE;

fn anon(mm: &mut Mm, id: MmId, prot: Prot, shared: bool) {
    let share = if shared {
        MapFlags::SHARED
    } else {
        MapFlags::PRIVATE
    };
    let flags = share | MapFlags::ANONYMOUS | MapFlags::FIXED;
    mm.mmap(id, A, 2 * P, prot, flags, None).expect("mmap");
}

/// Shared anonymous memory is keyed by its frame, the same in a forked child; private
/// anonymous memory is the space's own; a read-only private anonymous page makes no futex.
#[test]
fn anonymous_memory() {
    let mut mm = Mm::new(16 << 20).expect("mm");
    let id = mm.create_space();
    anon(&mut mm, id, RW, true);
    let word = UserAddr(A.0 + P + 8);
    let obj = mm.futex_object(id, word, false).expect("shared anon");
    assert!(
        matches!(obj, FutexObject::SharedAnon { offset: 8, .. }),
        "{obj:?}"
    );
    let child = mm.fork_space(id).expect("fork");
    assert_eq!(mm.futex_object(child, word, true), Ok(obj));
    let other = mm
        .futex_object(id, UserAddr(A.0 + 8), false)
        .expect("first page");
    assert_ne!(other, obj);

    let id = mm.create_space();
    anon(&mut mm, id, RW, false);
    assert_eq!(mm.futex_object(id, word, true), Ok(FutexObject::Private));
    let id = mm.create_space();
    anon(&mut mm, id, Prot::READ, false);
    assert_eq!(mm.futex_object(id, word, false), Err(Errno::EFAULT));
    let id = mm.create_space();
    anon(&mut mm, id, Prot::empty(), true);
    assert_eq!(mm.futex_object(id, word, false), Err(Errno::EFAULT));
    assert_eq!(
        mm.futex_object(id, UserAddr(A.0 + 8 * P), false),
        Err(Errno::EFAULT)
    );
}

/// A shared file mapping, and a private one the guest may not write, are keyed by the file
/// page; a private writable one is the space's own; writing needs a writable mapping.
#[test]
fn file_mappings() {
    let mut mm = Mm::new(16 << 20).expect("mm");
    let f = file(2, true);
    let word = UserAddr(A.0 + P + 12);
    let page = FutexObject::File {
        file: KEY,
        offset: P + 12,
    };
    let id = mm.create_space();
    map(&mut mm, id, &f, 2, RW, true);
    assert_eq!(mm.futex_object(id, word, true), Ok(page));
    let id = mm.create_space();
    map(&mut mm, id, &f, 2, Prot::READ, false);
    assert_eq!(mm.futex_object(id, word, false), Ok(page));
    assert_eq!(mm.futex_object(id, word, true), Err(Errno::EFAULT));
    let id = mm.create_space();
    map(&mut mm, id, &f, 2, RW, false);
    assert_eq!(mm.futex_object(id, word, false), Ok(FutexObject::Private));
    let ro = file(2, false);
    let id = mm.create_space();
    map(&mut mm, id, &ro, 2, Prot::READ, true);
    assert_eq!(mm.futex_object(id, word, false), Ok(page));
    assert_eq!(mm.futex_object(id, word, true), Err(Errno::EFAULT));
}
