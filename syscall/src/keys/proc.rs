//! `/proc/keys` (the keys the reader may view, possessed ones counting) and
//! `/proc/key-users` (each user's keys and quota), in Linux's formats.

use std::time::Instant;

use abi::flags::key::KEY_VIEW;

use super::calls::munged;
use super::{Asker, Key, KeyType, Keys, Quota};
use crate::procfs::Sysctl;
use crate::Process;

/// `/proc/keys` as process `reader` sees it.
pub(crate) fn proc_keys(keys: &Keys, reader: &Process) -> Vec<u8> {
    let who = Asker::of(reader, reader.sig_thread, keys);
    let possessed = keys.possessed(&who);
    let now = nondet::ktime_get();
    let mut out = String::new();
    for k in keys.iter() {
        let pos = possessed.contains(&k.serial);
        if !k.permits(&who, pos, KEY_VIEW) {
            continue;
        }
        let flag = |on: bool, c: char| if on { c } else { '-' };
        out += &format!(
            "{:08x} I{}-{}-{}{} {:5} {:>4} {:08x} {:5} {:5} {:<9.9} {}\n",
            k.serial,
            flag(k.revoked, 'R'),
            flag(k.in_quota, 'Q'),
            flag(k.negative.is_some(), 'N'),
            flag(k.invalidated, 'i'),
            1,
            timeout(k, now),
            k.perm,
            munged(k.uid),
            munged(k.gid),
            k.ktype.name(),
            describe(k),
        );
    }
    out.into_bytes()
}

/// The time left before a key expires, as `/proc/keys` shows it.
fn timeout(k: &Key, now: Instant) -> String {
    let Some(at) = k.expiry else {
        return "perm".into();
    };
    let left = at.saturating_duration_since(now).as_secs();
    match left {
        0 => "expd".into(),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s if s < 604_800 => format!("{}d", s / 86400),
        s => format!("{}w", s / 604_800),
    }
}

/// The type's description of a key (Linux's `->describe`).
fn describe(k: &Key) -> String {
    let desc = String::from_utf8_lossy(&k.desc);
    if k.negative.is_some() {
        return desc.into_owned();
    }
    match k.ktype {
        KeyType::Keyring if k.links.is_empty() => format!("{desc}: empty"),
        KeyType::Keyring => format!("{desc}: {}", k.links.len()),
        _ => format!("{desc}: {}", k.data.len()),
    }
}

/// `/proc/key-users`: per user, its keys (owned/instantiated), and its quota use against
/// its limits.
pub(crate) fn proc_key_users(keys: &Keys, sysctl: &Sysctl) -> Vec<u8> {
    let mut out = String::new();
    for (&uid, u) in keys.users() {
        let q = Quota::of(sysctl, uid);
        out += &format!(
            "{:5}: {:5} {}/{} {}/{} {}/{}\n",
            uid, u.nkeys, u.nkeys, u.nikeys, u.qnkeys, q.keys, u.qnbytes, q.bytes
        );
    }
    out.into_bytes()
}
