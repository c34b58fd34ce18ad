//! Unit tests of the host backends: what the runner is told before a thread runs.

use abi::flags::{MapFlags, Prot};

use super::*;
use crate::backend::MmKind;
use crate::host_image::HostImage;
use crate::layout::TASK_SIZE;

const P: u64 = PAGE_SIZE;
const RW: Prot = Prot::READ.union(Prot::WRITE);

/// Two spaces with two touched pages each; the second a fork of the first.
fn two_spaces(kind: MmKind) -> (Mm, MmId, MmId, UserAddr) {
    let mut mm = Mm::new(16 << 20).expect("mm");
    mm.set_backend(kind.backend());
    let a = mm.create_space();
    let flags = MapFlags::PRIVATE | MapFlags::ANONYMOUS;
    let at = mm
        .mmap(a, UserAddr(0x100_0000), 8 * P, RW, flags, None)
        .expect("mmap");
    mm.copy_out(a, at, &[1; 2 * P as usize]).expect("touch");
    mm.handle_fault(a, at, Access::Write, false).expect("fault");
    let b = mm.fork_space(a).expect("fork");
    (mm, a, b, at)
}

fn mapped(ops: &[MmOp]) -> u64 {
    ops.iter()
        .map(|op| match op {
            MmOp::Mmap { len, .. } => len / P,
            _ => 0,
        })
        .sum()
}

#[test]
fn per_process_hands_over_each_space_queue() {
    let (mut mm, a, b, _) = two_spaces(MmKind::PerProcess);
    let ops = mm.host_ops(a).expect("a");
    assert!(!ops.is_empty());
    assert!(mm.host_ops(a).expect("a").is_empty(), "taken");
    assert!(
        mm.host_ops(b).expect("b").is_empty(),
        "a fork starts unmapped"
    );
    assert_eq!(mm.host_ops(MmId(99)), None);
}

/// The host process as the runner leaves it after `ops`, from `image`.
fn after(mut image: HostImage, ops: &[MmOp]) -> HostImage {
    ops.iter().for_each(|op| image.apply(op));
    image
}

#[test]
fn single_switches_by_the_difference_of_the_images() {
    let (mut mm, a, b, at) = two_spaces(MmKind::Single);
    let first = mm.host_ops(a).expect("a");
    assert_eq!(
        first[0],
        MmOp::Munmap {
            addr: 0,
            len: TASK_SIZE
        },
        "a new host process is rebuilt whole"
    );
    let pages = mapped(&first);
    assert!(pages >= 2, "{first:?}");
    let image_of = |mm: &Mm, id| HostImage::of_space(&mm.spaces[&id]);
    let mut host = after(HostImage::default(), &first);
    assert_eq!(host, image_of(&mm, a));
    // Already there: only what was queued since.
    assert!(mm.host_ops(a).expect("a").is_empty());
    // To the fork: b shares every frame with a and would map them as a does (read-only:
    // shared COW), so the stub keeps them all and b takes them over.
    let to_b = mm.host_ops(b).expect("b");
    assert_eq!(mapped(&to_b), 0, "{to_b:?}");
    host = after(host, &to_b);
    assert_eq!(host, image_of(&mm, b));
    assert_eq!(host.pages(), pages);
    // b writes a page: its own copy, mapped writable in b alone.
    mm.handle_fault(b, at, Access::Write, false)
        .expect("fault in b");
    host = after(host, &mm.host_ops(b).expect("b"));
    assert_eq!(host, image_of(&mm, b));
    // Back to a: only that page differs, and a maps it read-only (still shared with
    // nobody but the page cache of a's own frame: a keeps its COW-protected frame).
    let back = mm.host_ops(a).expect("a");
    assert_eq!(mapped(&back), 1, "{back:?}");
    assert!(back
        .iter()
        .all(|op| !matches!(op, MmOp::Mmap { prot, .. } if prot & 2 != 0)));
    assert_eq!(after(host, &back), image_of(&mm, a));
    let s = mm.backend().switch_stats().expect("stats");
    assert_eq!((s.switches, s.pages), (3, pages + 1));
}

#[test]
fn single_lazy_leaves_pages_to_faults() {
    let (mut mm, a, b, at) = two_spaces(MmKind::SingleLazy);
    mm.host_ops(a).expect("a");
    mm.host_ops(b).expect("b");
    let back = mm.host_ops(a).expect("a");
    assert_eq!(
        back,
        vec![MmOp::Munmap {
            addr: 0,
            len: TASK_SIZE
        }]
    );
    // The page is no longer host-mapped: touching it faults and maps it again.
    mm.handle_fault(a, at, Access::Read, false).expect("fault");
    assert!(mapped(&mm.host_ops(a).expect("a")) >= 1);
}
