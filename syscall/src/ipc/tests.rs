//! Unit tests of the IPC machinery: id allocation and lookup by key, and `semop`'s
//! all-or-nothing rule.
#![allow(clippy::unwrap_used)]

use abi::ipc::{IPCMNI, IPC_CREAT, IPC_EXCL, IPC_PRIVATE, SEM_UNDO};
use abi::Errno;

use super::{Found, Ids, Object, Perm};

struct Dummy(Perm);

impl Object for Dummy {
    fn perm(&self) -> &Perm {
        &self.0
    }
    fn perm_mut(&mut self) -> &mut Perm {
        &mut self.0
    }
}

fn obj(key: i32) -> Dummy {
    Dummy(Perm {
        key,
        ..Perm::default()
    })
}

#[test]
fn ids_are_cyclic_and_change_sequence_on_wrap() {
    let mut ids = Ids::default();
    assert_eq!(ids.insert(obj(0), 3, None).unwrap(), 0);
    assert_eq!(ids.insert(obj(0), 3, None).unwrap(), 1);
    ids.remove(0).unwrap();
    // The next index after the last one given, not the lowest free.
    assert_eq!(ids.insert(obj(0), 3, None).unwrap(), 2);
    // Wrapping: the lowest free index with the next sequence number.
    assert_eq!(ids.insert(obj(0), 3, None).unwrap(), IPCMNI);
    assert_eq!(ids.insert(obj(0), 3, None), Err(Errno::ENOSPC));
    // An id of a freed slot's old sequence is unknown.
    assert_eq!(ids.get(0).err(), Some(Errno::EINVAL));
    assert!(ids.get(IPCMNI).is_ok());
    assert_eq!(ids.get(-1).err(), Some(Errno::EINVAL));
    assert_eq!(ids.by_index(2).unwrap().0, 2);
    assert_eq!(ids.max_idx(), 2);
}

#[test]
fn lookup_by_key_follows_ipcget() {
    let mut ids = Ids::default();
    let id = ids.insert(obj(42), 10, None).unwrap();
    assert!(matches!(ids.lookup(IPC_PRIVATE, 0), Ok(Found::Create)));
    assert!(matches!(ids.lookup(42, 0), Ok(Found::Existing(i)) if i == id));
    assert!(matches!(ids.lookup(42, IPC_CREAT), Ok(Found::Existing(_))));
    assert_eq!(
        ids.lookup(42, IPC_CREAT | IPC_EXCL).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(ids.lookup(43, 0).err(), Some(Errno::ENOENT));
    assert!(matches!(ids.lookup(43, IPC_CREAT), Ok(Found::Create)));
}

#[test]
fn semop_is_all_or_nothing() {
    use super::sem::tests_support::{set_of, try_ops_for_test, values};
    use abi::ipc::SemBuf;
    let mut set = set_of(&[1, 0]);
    let mut adj = Vec::new();
    let ops = [
        SemBuf {
            num: 0,
            op: -1,
            flg: 0,
        },
        SemBuf {
            num: 1,
            op: -1,
            flg: 0,
        },
    ];
    assert_eq!(try_ops_for_test(&mut set, &mut adj, &ops), Ok(false));
    assert_eq!(values(&set), vec![1, 0]);
    let ops = [
        SemBuf {
            num: 0,
            op: -1,
            flg: SEM_UNDO,
        },
        SemBuf {
            num: 1,
            op: 2,
            flg: SEM_UNDO,
        },
    ];
    assert_eq!(try_ops_for_test(&mut set, &mut adj, &ops), Ok(true));
    assert_eq!(values(&set), vec![0, 2]);
    assert_eq!(adj, vec![1, -2]);
    let ops = [SemBuf {
        num: 1,
        op: 32767,
        flg: 0,
    }];
    assert_eq!(
        try_ops_for_test(&mut set, &mut adj, &ops),
        Err(Errno::ERANGE)
    );
    assert_eq!(values(&set), vec![0, 2]);
}

#[test]
fn next_id_picks_the_id_as_ipc_idr_alloc() {
    let mut ids = Ids::default();
    let asked = 3 * IPCMNI + 7;
    assert_eq!(ids.insert(obj(0), 10, Some(asked)).unwrap(), asked);
    assert!(ids.get(asked).is_ok());
    // Taken: the lowest free index from the one asked for, with the asked sequence.
    assert_eq!(ids.insert(obj(0), 10, Some(asked)).unwrap(), asked + 1);
    // Without one, allocation goes on as before (cyclic from the last index it gave).
    assert_eq!(ids.insert(obj(0), 10, None).unwrap(), 0);
}
