//! Futex handlers driven alone: keys, bitsets, requeues and the PI protocol as values.

use abi::Sysno;
use sched::{TaskId, MATCH_ANY};

use super::{FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS};
use crate::tests_reply::{nobody, returned, World};
use crate::{Block, FutexKey, Outcome, QueueOp, RestartBlock, WaitKey, Waiter};

const WAIT: u64 = 0;
const WAKE: u64 = 1;
const CMP_REQUEUE: u64 = 4;
const LOCK_PI: u64 = 6;
const UNLOCK_PI: u64 = 7;
const WAIT_BITSET: u64 = 9;
const WAKE_BITSET: u64 = 10;
const PRIVATE: u64 = 128;

fn waiter(t: u32, bitset: u32) -> Waiter {
    Waiter {
        task: TaskId(t),
        bitset,
    }
}

fn errno(e: abi::Errno) -> crate::Reply {
    returned(e.as_return())
}

fn word_of(w: &mut World, addr: u64) -> u32 {
    u32::from_ne_bytes(w.read::<4>(addr))
}

fn mmap_shared_anon(w: &mut World) -> u64 {
    // mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0)
    let r = w.call(Sysno::mmap, &[0, 4096, 3, 0x21, u64::MAX, 0], &nobody);
    match r.outcome {
        Outcome::Return(a) if a < 1 << 47 => a,
        other => panic!("mmap: {other:?}"),
    }
}

/// A bitset wait blocks with its bitset; a bitset wake counts, and asks the scheduler to
/// wake, only waiters whose bitset it intersects.
#[test]
fn bitset_wait_and_wake() {
    let mut w = World::new();
    let word = w.scratch(64);
    w.write(word, &0u32.to_ne_bytes());
    let key = WaitKey::Futex(FutexKey::Private {
        mm: w.proc.mm.0,
        addr: word,
    });
    let r = w.call(
        Sysno::futex,
        &[word, WAIT_BITSET | PRIVATE, 0, 0, 0, 6],
        &nobody,
    );
    assert_eq!(
        r.outcome,
        Outcome::Block(Block {
            keys: vec![key],
            deadline: None,
            bitset: 6
        })
    );
    w.restart = RestartBlock::default();
    let zero = w.call(
        Sysno::futex,
        &[word, WAIT_BITSET | PRIVATE, 0, 0, 0, 0],
        &nobody,
    );
    assert_eq!(zero, errno(abi::Errno::EINVAL));
    let queue = |k: WaitKey| {
        if k == key {
            vec![waiter(2, 1), waiter(3, 2), waiter(4, 3)]
        } else {
            vec![]
        }
    };
    let r = w.call(
        Sysno::futex,
        &[word, WAKE_BITSET | PRIVATE, 9, 0, 0, 2],
        &queue,
    );
    assert_eq!(r.outcome, Outcome::Return(2));
    let op = QueueOp::Wake {
        key,
        max: 2,
        bitset: 2,
    };
    assert_eq!(r.effects.queue_ops, vec![op]);
    // A plain wake of 0 still wakes one, as Linux's loop does.
    let r = w.call(Sysno::futex, &[word, WAKE | PRIVATE, 0], &queue);
    assert_eq!(r.outcome, Outcome::Return(1));
}

/// CMP_REQUEUE compares the word first (EAGAIN), then wakes and moves waiters in that
/// order; the reply says both.
#[test]
fn cmp_requeue_wakes_then_moves() {
    let mut w = World::new();
    let (a, b) = (w.scratch(128), w.scratch(132));
    w.write(a, &5u32.to_ne_bytes());
    let mm = w.proc.mm.0;
    let (ka, kb) = (
        WaitKey::Futex(FutexKey::Private { mm, addr: a }),
        WaitKey::Futex(FutexKey::Private { mm, addr: b }),
    );
    let queue = |k: WaitKey| {
        if k == ka {
            vec![
                waiter(2, MATCH_ANY),
                waiter(3, MATCH_ANY),
                waiter(4, MATCH_ANY),
            ]
        } else {
            vec![]
        }
    };
    let args = |val3| [a, CMP_REQUEUE | PRIVATE, 1, 1, b, val3];
    let r = w.call(Sysno::futex, &args(4), &queue);
    assert_eq!(r, errno(abi::Errno::EAGAIN));
    let r = w.call(Sysno::futex, &args(5), &queue);
    assert_eq!(r.outcome, Outcome::Return(2));
    let ops = vec![
        QueueOp::Wake {
            key: ka,
            max: 1,
            bitset: MATCH_ANY,
        },
        QueueOp::Requeue {
            from: ka,
            to: kb,
            max: 1,
        },
    ];
    assert_eq!(r.effects.queue_ops, ops);
    let misaligned = w.call(Sysno::futex, &[a, CMP_REQUEUE, 1, 1, b + 1, 5], &queue);
    assert_eq!(misaligned, errno(abi::Errno::EINVAL));
}

/// Without the private flag, a word in private memory is keyed (mm, address) apart from
/// the private key, and a word in shared anonymous memory by its page.
#[test]
fn shared_keys_follow_the_mapping() {
    let mut w = World::new();
    let word = w.scratch(256);
    w.write(word, &0u32.to_ne_bytes());
    let r = w.call(Sysno::futex, &[word, WAIT, 0, 0], &nobody);
    let mm = w.proc.mm.0;
    let Outcome::Block(b) = r.outcome else {
        panic!("{r:?}");
    };
    assert_eq!(
        b.keys,
        vec![WaitKey::Futex(FutexKey::Mm { mm, addr: word })]
    );
    w.restart = RestartBlock::default();
    let shared = mmap_shared_anon(&mut w);
    let r = w.call(Sysno::futex, &[shared + 8, WAIT, 0, 0], &nobody);
    let Outcome::Block(b) = r.outcome else {
        panic!("{r:?}");
    };
    assert!(
        matches!(
            b.keys[..],
            [WaitKey::Futex(FutexKey::SharedAnon { offset: 8, .. })]
        ),
        "{b:?}"
    );
    w.restart = RestartBlock::default();
    let r = w.call(Sysno::futex, &[word + 1, WAKE, 1], &nobody);
    assert_eq!(r, errno(abi::Errno::EINVAL));
    let r = w.call(Sysno::futex, &[0x1000, WAKE, 1], &nobody);
    assert_eq!(r, errno(abi::Errno::EFAULT));
    // A private wake needs no mapping at all.
    let r = w.call(Sysno::futex, &[0x1000, WAKE | PRIVATE, 1], &nobody);
    assert_eq!(r.outcome, Outcome::Return(0));
}

/// LOCK_PI takes a free word, refuses a second lock (EDEADLK), finds no owner for a stale
/// tid (ESRCH, with FUTEX_WAITERS set); UNLOCK_PI hands the lock to the first waiter.
#[test]
fn pi_lock_protocol() {
    let mut w = World::new();
    let word = w.scratch(512);
    let me = w.proc.sig_thread as u32;
    w.write(word, &0u32.to_ne_bytes());
    let lock = [word, LOCK_PI | PRIVATE, 0, 0];
    assert_eq!(w.call(Sysno::futex, &lock, &nobody), returned(0));
    assert_eq!(word_of(&mut w, word), me);
    assert_eq!(
        w.call(Sysno::futex, &lock, &nobody),
        errno(abi::Errno::EDEADLK)
    );
    let key = WaitKey::FutexPi(FutexKey::Private {
        mm: w.proc.mm.0,
        addr: word,
    });
    let queue = |k: WaitKey| {
        if k == key {
            vec![waiter(77, MATCH_ANY), waiter(78, MATCH_ANY)]
        } else {
            vec![]
        }
    };
    let r = w.call(Sysno::futex, &[word, WAKE | PRIVATE, 1], &queue);
    assert_eq!(r, errno(abi::Errno::EINVAL));
    let r = w.call(Sysno::futex, &[word, UNLOCK_PI | PRIVATE], &queue);
    assert_eq!(r.outcome, Outcome::Return(0));
    assert_eq!(word_of(&mut w, word), 77 | FUTEX_WAITERS);
    let wake = QueueOp::Wake {
        key,
        max: 1,
        bitset: MATCH_ANY,
    };
    assert_eq!(r.effects.queue_ops, vec![wake]);
    let r = w.call(Sysno::futex, &[word, UNLOCK_PI | PRIVATE], &nobody);
    assert_eq!(r, errno(abi::Errno::EPERM));
    w.write(word, &0x3fff_fff0u32.to_ne_bytes());
    assert_eq!(
        w.call(Sysno::futex, &lock, &nobody),
        errno(abi::Errno::ESRCH)
    );
    assert_eq!(word_of(&mut w, word), 0x3fff_fff0 | FUTEX_WAITERS);
    w.write(word, &FUTEX_OWNER_DIED.to_ne_bytes());
    assert_eq!(w.call(Sysno::futex, &lock, &nobody), returned(0));
    assert_eq!(word_of(&mut w, word) & !FUTEX_TID_MASK, FUTEX_OWNER_DIED);
}

/// A thread that exits holding a robust futex marks it FUTEX_OWNER_DIED and names the
/// shared key of a waiter to wake; its clear_child_tid word is zeroed and woken too.
#[test]
fn exit_marks_robust_futexes_and_wakes_shared_keys() {
    let mut w = World::new();
    let me = w.proc.sig_thread as u32;
    let shared = mmap_shared_anon(&mut w);
    // The list head at +0 points at one entry at +64 whose futex is at +64+offset(8).
    let (head, entry, futex, ctid) = (shared, shared + 64, shared + 72, shared + 128);
    let le = |v: u64| v.to_ne_bytes();
    w.write(head, &le(entry));
    w.write(head + 8, &le(8));
    w.write(head + 16, &le(0));
    w.write(entry, &le(head));
    w.write(futex, &(me | FUTEX_WAITERS).to_ne_bytes());
    w.write(ctid, &me.to_ne_bytes());
    let t = crate::Thread {
        robust_list: (head, 24),
        clear_child_tid: ctid,
        ..Default::default()
    };
    let space = w.proc.mm;
    let wake = super::exit_thread_mm(&mut w.mm, space, me as i32, &t);
    assert_eq!(word_of(&mut w, futex), FUTEX_OWNER_DIED | FUTEX_WAITERS);
    assert_eq!(word_of(&mut w, ctid), 0);
    assert!(
        matches!(
            wake[..],
            [
                WaitKey::Futex(FutexKey::SharedAnon { offset: 72, .. }),
                WaitKey::Futex(FutexKey::SharedAnon { offset: 128, .. })
            ]
        ),
        "{wake:?}"
    );
}
