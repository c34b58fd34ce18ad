//! The key table's rules on their own: permissions, links, quotas, searches, collection.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use abi::flags::key::*;
use abi::Errno;

use super::{Asker, Charge, KeyType, Keys, Quota};

const QUOTA: Quota = Quota {
    keys: 200,
    bytes: 20000,
};

fn asker(uid: u32, roots: [Option<i32>; 3]) -> Asker {
    Asker {
        fsuid: uid,
        fsgid: uid,
        groups: Vec::new(),
        roots,
        sys_admin: false,
    }
}

fn keyring(keys: &mut Keys, name: &str, uid: u32) -> i32 {
    let perm = KeyType::Keyring.default_perm();
    keys.alloc(
        KeyType::Keyring,
        name.as_bytes(),
        uid,
        uid,
        perm,
        Charge::Overrun,
        QUOTA,
    )
    .unwrap()
}

fn user_key(keys: &mut Keys, ring: i32, desc: &str, data: &[u8], uid: u32) -> i32 {
    let perm = KeyType::User.default_perm();
    let k = keys
        .alloc(
            KeyType::User,
            desc.as_bytes(),
            uid,
            uid,
            perm,
            Charge::InQuota,
            QUOTA,
        )
        .unwrap();
    keys.set_payload(k, data.to_vec(), QUOTA).unwrap();
    keys.link(ring, k).unwrap();
    k
}

#[test]
fn default_permissions_are_linux_s() {
    assert_eq!(KeyType::User.default_perm(), 0x3f01_0000);
    assert_eq!(KeyType::Keyring.default_perm(), 0x3f01_0000);
    assert_eq!(KeyType::Logon.default_perm(), 0x3d01_0000);
}

#[test]
fn possessor_bits_add_to_the_owner_s() {
    let mut keys = Keys::default();
    let ring = keyring(&mut keys, "_pid", 1000);
    let k = user_key(&mut keys, ring, "k", b"x", 1000);
    let who = asker(1000, [None, Some(ring), None]);
    let key = keys.get(k).unwrap();
    assert!(key.permits(&who, true, KEY_READ));
    assert!(!key.permits(&who, false, KEY_READ));
    assert!(key.permits(&who, false, KEY_VIEW));
    assert!(keys.possessed(&who).contains(&k));
    // Another user possesses nothing of it, and root is not special.
    let other = asker(0, [None, None, None]);
    assert!(!keys.get(k).unwrap().permits(&other, false, KEY_VIEW));
}

#[test]
fn a_link_replaces_the_key_of_the_same_type_and_description() {
    let mut keys = Keys::default();
    let ring = keyring(&mut keys, "r", 0);
    let a = user_key(&mut keys, ring, "same", b"a", 0);
    let b = user_key(&mut keys, ring, "same", b"b", 0);
    assert_eq!(keys.get(ring).unwrap().links, vec![b]);
    keys.collect([ring]);
    assert_eq!(keys.get(a).err(), Some(Errno::ENOKEY));
    assert!(keys.get(b).is_ok());
}

#[test]
fn keyring_cycles_are_refused() {
    let mut keys = Keys::default();
    let a = keyring(&mut keys, "a", 0);
    let b = keyring(&mut keys, "b", 0);
    keys.link(a, b).unwrap();
    assert_eq!(keys.link(b, a), Err(Errno::EDEADLK));
    assert_eq!(keys.link(a, a), Err(Errno::EDEADLK));
    let k = user_key(&mut keys, a, "k", b"x", 0);
    assert_eq!(keys.link(k, a), Err(Errno::ENOTDIR));
}

#[test]
fn quotas_count_keys_and_bytes_exactly() {
    let mut keys = Keys::default();
    let ring = keyring(&mut keys, "_tid", 1000);
    user_key(&mut keys, ring, "test1", &[0; 64], 1000);
    let used = keys.users[&1000];
    assert_eq!((used.qnkeys, used.qnbytes), (2, 5 + 6 + 64));
    // Up to the byte limit exactly, not one past it.
    let left = QUOTA.bytes - used.qnbytes;
    let perm = KeyType::User.default_perm();
    let k = keys
        .alloc(
            KeyType::User,
            b"big",
            1000,
            1000,
            perm,
            Charge::InQuota,
            QUOTA,
        )
        .unwrap();
    let too_much = vec![0; (left - 4 + 1) as usize];
    assert_eq!(keys.set_payload(k, too_much, QUOTA), Err(Errno::EDQUOT));
    keys.set_payload(k, vec![0; (left - 4) as usize], QUOTA)
        .unwrap();
    assert_eq!(keys.users[&1000].qnbytes, QUOTA.bytes);
    // Up to the key limit.
    let small = Quota {
        keys: 3,
        bytes: QUOTA.bytes * 2,
    };
    assert_eq!(
        keys.alloc(
            KeyType::User,
            b"x",
            1000,
            1000,
            perm,
            Charge::InQuota,
            small
        ),
        Err(Errno::EDQUOT)
    );
    // Collection gives it all back.
    keys.collect([]);
    assert!(!keys.users.contains_key(&1000));
}

#[test]
fn searches_report_the_state_of_what_they_find() {
    let mut keys = Keys::default();
    let ring = keyring(&mut keys, "_tid", 0);
    let nested = keyring(&mut keys, "nested", 0);
    keys.link(ring, nested).unwrap();
    let k = user_key(&mut keys, nested, "deep", b"x", 0);
    let who = asker(0, [Some(ring), None, None]);
    let now = Instant::now();
    let find = |keys: &Keys, d: &[u8]| keys.search_process_keyrings(KeyType::User, d, &who, now);
    assert_eq!(find(&keys, b"deep"), Ok(k));
    assert_eq!(find(&keys, b"none"), Err(Errno::EAGAIN));
    keys.get_mut(k).unwrap().revoked = true;
    assert_eq!(find(&keys, b"deep"), Err(Errno::EKEYREVOKED));
    keys.get_mut(k).unwrap().revoked = false;
    keys.get_mut(k).unwrap().expiry = Some(now - Duration::from_secs(1));
    assert_eq!(find(&keys, b"deep"), Err(Errno::EKEYEXPIRED));
    keys.get_mut(k).unwrap().expiry = None;
    keys.get_mut(k).unwrap().negative = Some(Errno::ENOKEY);
    assert_eq!(find(&keys, b"deep"), Err(Errno::ENOKEY));
    // A keyring the caller may not search hides what it holds.
    keys.get_mut(k).unwrap().negative = None;
    keys.get_mut(nested).unwrap().perm = KEY_POS_ALL & !(KEY_SEARCH << 24);
    assert_eq!(find(&keys, b"deep"), Err(Errno::EAGAIN));
}
