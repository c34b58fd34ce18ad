//! Keys and keyrings (`add_key(2)`, `request_key(2)`, `keyctl(2)`), as Linux's
//! `security/keys`: the instance's keys by serial ([`Keys`], kept in the process table),
//! each with a type, a description, an owner, a group, permissions, a payload and a state
//! (positive, negative, revoked, invalidated, expired); per-user quotas of keys and bytes
//! (`/proc/sys/kernel/keys/{maxkeys,maxbytes,root_maxkeys,root_maxbytes}`); the thread,
//! process and session keyrings of a process ([`ProcessKeys`], the thread's in
//! [`crate::Thread`]) and each user's user and user-session keyrings; possession
//! (a key reachable from the caller's keyrings through searchable keyrings) and Linux's
//! permission rule; searches as Linux's `keyring_search` and `search_process_keyrings`;
//! `/proc/keys` and `/proc/key-users`.
//!
//! Key types: `user`, `logon` and `keyring`; any other is `ENODEV` to `add_key` and
//! `ENOKEY` to `request_key` and `KEYCTL_SEARCH`. No upcall helper is ever run: a key
//! `request_key` would construct is negated and the call fails with `ENOENT`, as Linux
//! without `/sbin/request-key`. A key lives while a keyring or a process's keyrings
//! reach it (a collection at each key call, where Linux's garbage collector runs later);
//! revoked and expired keys stay linked until then (Linux unlinks them after
//! `gc_delay`). Not implemented: request-key authorisation keys (`KEYCTL_ASSUME_AUTHORITY`,
//! `INSTANTIATE`, `NEGATE`, `REJECT` are `EPERM`, as for a caller that holds no
//! authorisation), persistent keyrings (`EOPNOTSUPP`, as Linux built without them),
//! `KEYCTL_SESSION_TO_PARENT`, restrictions, Diffie-Hellman, public-key operations, watches
//! (`EOPNOTSUPP`).

mod calls;
mod proc;
#[cfg(test)]
mod tests;

pub(crate) use calls::{sys_add_key, sys_keyctl, sys_request_key};
pub(crate) use proc::{proc_key_users, proc_keys};

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use abi::flags::key::*;
use abi::Errno;

/// How long a negated key lasts (Linux's `key_negative_timeout`).
const NEGATIVE_TIMEOUT_SECS: u64 = 60;
/// Deepest nesting a search descends (`KEYRING_SEARCH_MAX_DEPTH`).
const SEARCH_MAX_DEPTH: usize = 6;
/// Largest payload of a `user` or `logon` key.
pub const USER_PAYLOAD_MAX: usize = 32767;

/// The key types uml has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// `user`: a blob the owner may read and update.
    User,
    /// `logon`: as `user`, but never readable from user space; descriptions are
    /// `prefix:name`.
    Logon,
    /// `keyring`: a set of links to keys, at most one per type and description.
    Keyring,
}

impl KeyType {
    /// The type named `name`.
    pub fn by_name(name: &[u8]) -> Option<KeyType> {
        match name {
            b"user" => Some(KeyType::User),
            b"logon" => Some(KeyType::Logon),
            b"keyring" => Some(KeyType::Keyring),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::User => "user",
            KeyType::Logon => "logon",
            KeyType::Keyring => "keyring",
        }
    }

    /// Whether `KEYCTL_READ` works on it (Linux's `->read` method).
    fn readable(self) -> bool {
        self != KeyType::Logon
    }

    /// Whether `KEYCTL_UPDATE` and `add_key` over an existing key work on it.
    fn updatable(self) -> bool {
        self != KeyType::Keyring
    }

    /// Checks a payload for a new or updated key (Linux's `->preparse`).
    fn check_payload(self, data: &[u8]) -> Result<(), Errno> {
        let ok = match self {
            KeyType::User | KeyType::Logon => (1..=USER_PAYLOAD_MAX).contains(&data.len()),
            KeyType::Keyring => data.is_empty(),
        };
        ok.then_some(()).ok_or(Errno::EINVAL)
    }

    /// Checks a description (Linux's `->vet_description`): a `logon` key's is
    /// `prefix:name` with a prefix.
    fn check_description(self, desc: &[u8]) -> Result<(), Errno> {
        match self {
            KeyType::Logon if desc.iter().position(|&b| b == b':').unwrap_or(0) == 0 => {
                Err(Errno::EINVAL)
            }
            _ => Ok(()),
        }
    }

    /// The permissions `add_key` gives a new key of this type (possessor: everything the
    /// type allows; owner: view).
    fn default_perm(self) -> u32 {
        let mut pos = KEY_VIEW | KEY_SEARCH | KEY_LINK | KEY_SETATTR;
        if self.readable() {
            pos |= KEY_READ;
        }
        if self == KeyType::Keyring || self.updatable() {
            pos |= KEY_WRITE;
        }
        (pos << 24) | KEY_USR_VIEW
    }
}

/// One key.
#[derive(Clone, Debug)]
pub struct Key {
    /// Its serial number (positive).
    pub serial: i32,
    /// Its type.
    pub ktype: KeyType,
    /// Its description.
    pub desc: Vec<u8>,
    /// Owner.
    pub uid: u32,
    /// Group (`u32::MAX`: none).
    pub gid: u32,
    /// Permissions: possessor, user, group, other bytes.
    pub perm: u32,
    /// A blob (`user`, `logon`), or the serials a keyring links to, in link order.
    data: Vec<u8>,
    links: Vec<i32>,
    /// Negated by a failed construction, with the error a read or search then gets.
    negative: Option<Errno>,
    revoked: bool,
    invalidated: bool,
    /// When it expires (`KEYCTL_SET_TIMEOUT`).
    expiry: Option<Instant>,
    /// Whether the owner's quota is charged for it, and how many bytes.
    in_quota: bool,
    quota_bytes: u32,
    /// A user or user-session keyring (found by name only as such).
    uid_keyring: bool,
}

impl Key {
    /// Linux's `key_task_permission`: the owner's, group's or others' bits, plus the
    /// possessor's when the caller possesses the key.
    fn permits(&self, who: &Asker, possessed: bool, need: u32) -> bool {
        let grp_all = KEY_ALL << 8;
        let mut kperm = if self.uid == who.fsuid {
            self.perm >> 16
        } else if self.gid != u32::MAX
            && self.perm & grp_all != 0
            && (self.gid == who.fsgid || who.groups.contains(&self.gid))
        {
            self.perm >> 8
        } else {
            self.perm
        };
        if possessed {
            kperm |= self.perm >> 24;
        }
        kperm & need & KEY_ALL == need
    }

    /// Whether it has expired by `now`.
    fn expired(&self, now: Instant) -> bool {
        self.expiry.is_some_and(|at| now >= at)
    }

    /// Linux's `key_validate`: invalidated, revoked and expired keys are unusable.
    fn validate(&self, now: Instant) -> Result<(), Errno> {
        if self.invalidated {
            Err(Errno::ENOKEY)
        } else if self.revoked {
            Err(Errno::EKEYREVOKED)
        } else if self.expired(now) {
            Err(Errno::EKEYEXPIRED)
        } else {
            Ok(())
        }
    }

    /// Linux's `wait_for_key_construction` on a constructed key: a negative key's error,
    /// else [`Key::validate`].
    fn usable(&self, now: Instant) -> Result<(), Errno> {
        match self.negative {
            Some(e) => Err(e),
            None => self.validate(now),
        }
    }

    /// Whether it is a keyring that is still searched (not revoked or invalidated).
    fn searchable_ring(&self) -> bool {
        self.ktype == KeyType::Keyring && !self.revoked && !self.invalidated
    }

    /// What `KEYCTL_READ` returns: a blob, or a keyring's serials as native integers.
    fn read(&self) -> Vec<u8> {
        match self.ktype {
            KeyType::Keyring => self.links.iter().flat_map(|s| s.to_ne_bytes()).collect(),
            _ => self.data.clone(),
        }
    }
}

/// A user's share of the keys (Linux's `key_user`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyUser {
    /// Keys it owns.
    pub nkeys: u32,
    /// Of which instantiated.
    pub nikeys: u32,
    /// Keys charged to its quota.
    pub qnkeys: u32,
    /// Bytes charged to its quota.
    pub qnbytes: u32,
}

/// A user's quota: most keys and most bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// `maxkeys` (or `root_maxkeys`).
    pub keys: u32,
    /// `maxbytes` (or `root_maxbytes`).
    pub bytes: u32,
}

impl Quota {
    /// `uid`'s quota (`/proc/sys/kernel/keys`; root has its own).
    pub fn of(sysctl: &crate::procfs::Sysctl, uid: u32) -> Quota {
        let (keys, bytes) = if uid == 0 {
            ("kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes")
        } else {
            ("kernel/keys/maxkeys", "kernel/keys/maxbytes")
        };
        let value = |path| u32::try_from(sysctl.int(path).max(0)).unwrap_or(u32::MAX);
        Quota {
            keys: value(keys),
            bytes: value(bytes),
        }
    }
}

/// How a new key is charged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Charge {
    /// Within the quota, else `EDQUOT`.
    InQuota,
    /// Charged even past the quota (a thread or process keyring).
    Overrun,
}

/// Who asks: the caller's filesystem ids and groups, its keyrings (the roots of
/// possession) and whether it holds `CAP_SYS_ADMIN`.
#[derive(Clone, Debug)]
pub struct Asker {
    /// Filesystem uid.
    pub fsuid: u32,
    /// Filesystem gid.
    pub fsgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Thread, process and session (or, without one, user-session) keyrings.
    pub roots: [Option<i32>; 3],
    /// `CAP_SYS_ADMIN`.
    pub sys_admin: bool,
}

impl Asker {
    /// Thread `tid` of process `p`.
    pub fn of(p: &crate::Process, tid: i32, keys: &Keys) -> Asker {
        let session = p
            .keys
            .session
            .or_else(|| keys.user_session_keyring(p.cred.uid));
        let thread = p.threads.get(&tid).and_then(|t| t.thread_keyring);
        Asker {
            fsuid: p.cred.fsuid,
            fsgid: p.cred.fsgid,
            groups: p.groups.clone(),
            roots: [thread, p.keys.process, session],
            sys_admin: p.cred.caps.has(crate::caps::CAP_SYS_ADMIN),
        }
    }
}

/// A process's keyrings (Linux keeps them in the credentials): a fork shares the session
/// keyring and the default `request_key` destination, not the process keyring; an
/// `execve` drops the process keyring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessKeys {
    /// Session keyring.
    pub session: Option<i32>,
    /// Process keyring.
    pub process: Option<i32>,
    /// `KEYCTL_SET_REQKEY_KEYRING`: where `request_key` links what it constructs.
    pub reqkey_default: i32,
}

impl ProcessKeys {
    /// A forked child's.
    pub fn for_fork(&self) -> ProcessKeys {
        ProcessKeys {
            process: None,
            ..*self
        }
    }

    /// After `execve`.
    pub fn on_exec(&mut self) {
        self.process = None;
    }
}

/// The instance's keys and the users' quotas.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    keys: BTreeMap<i32, Key>,
    users: BTreeMap<u32, KeyUser>,
    /// Each user's user and user-session keyrings (Linux's per-user keyring register).
    user_keyrings: BTreeMap<u32, (i32, i32)>,
    last_serial: i32,
}

impl Keys {
    /// Key `serial`, `ENOKEY` if there is none.
    pub fn get(&self, serial: i32) -> Result<&Key, Errno> {
        self.keys.get(&serial).ok_or(Errno::ENOKEY)
    }

    fn get_mut(&mut self, serial: i32) -> Result<&mut Key, Errno> {
        self.keys.get_mut(&serial).ok_or(Errno::ENOKEY)
    }

    /// A new key (Linux's `key_alloc`), charged to `uid`'s quota: one key and the
    /// description with its NUL (`EDQUOT` past `quota` unless `charge` overruns).
    #[allow(clippy::too_many_arguments)]
    fn alloc(
        &mut self,
        ktype: KeyType,
        desc: &[u8],
        uid: u32,
        gid: u32,
        perm: u32,
        charge: Charge,
        quota: Quota,
    ) -> Result<i32, Errno> {
        let bytes = u32::try_from(desc.len() + 1).map_err(|_| Errno::EINVAL)?;
        let user = self.users.entry(uid).or_default();
        if charge == Charge::InQuota
            && (user.qnkeys + 1 > quota.keys || user.qnbytes.saturating_add(bytes) > quota.bytes)
        {
            return Err(Errno::EDQUOT);
        }
        user.qnkeys += 1;
        user.qnbytes = user.qnbytes.saturating_add(bytes);
        user.nkeys += 1;
        user.nikeys += 1;
        let serial = self.next_serial();
        let key = Key {
            serial,
            ktype,
            desc: desc.to_vec(),
            uid,
            gid,
            perm,
            data: Vec::new(),
            links: Vec::new(),
            negative: None,
            revoked: false,
            invalidated: false,
            expiry: None,
            in_quota: true,
            quota_bytes: bytes,
            uid_keyring: false,
        };
        self.keys.insert(serial, key);
        Ok(serial)
    }

    /// A serial no key has: the next one after the last, from 3 up (Linux draws them at
    /// random; any positive serial is as good to a program).
    fn next_serial(&mut self) -> i32 {
        loop {
            self.last_serial = if self.last_serial < 0x1000_0000 {
                0x1000_0000
            } else if self.last_serial == i32::MAX {
                3
            } else {
                self.last_serial + 1
            };
            if !self.keys.contains_key(&self.last_serial) {
                return self.last_serial;
            }
        }
    }

    /// Sets a blob key's payload, charging the difference in size to its owner (Linux's
    /// `key_payload_reserve`: `EDQUOT` past `quota`).
    fn set_payload(&mut self, serial: i32, data: Vec<u8>, quota: Quota) -> Result<(), Errno> {
        let key = self.get(serial)?;
        let (uid, in_quota, old) = (key.uid, key.in_quota, key.data.len());
        let old = u32::try_from(old).unwrap_or(u32::MAX);
        let new = u32::try_from(data.len()).map_err(|_| Errno::EINVAL)?;
        if in_quota {
            let user = self.users.entry(uid).or_default();
            let total = (user.qnbytes - old.min(user.qnbytes)).saturating_add(new);
            if new > old && total > quota.bytes {
                return Err(Errno::EDQUOT);
            }
            user.qnbytes = total;
        }
        let key = self.get_mut(serial)?;
        key.quota_bytes = key.quota_bytes - old.min(key.quota_bytes) + new;
        key.data = data;
        key.negative = None;
        Ok(())
    }

    /// Links `key` into `ring`, replacing a link to a key of the same type and
    /// description (Linux's `key_link`): `ENOTDIR` if `ring` is no keyring,
    /// `EKEYREVOKED` if it is revoked, `EDEADLK` if `key` is a keyring that reaches
    /// `ring`.
    fn link(&mut self, ring: i32, key: i32) -> Result<(), Errno> {
        let r = self.get(ring)?;
        if r.ktype != KeyType::Keyring {
            return Err(Errno::ENOTDIR);
        }
        if r.revoked {
            return Err(Errno::EKEYREVOKED);
        }
        let k = self.get(key)?;
        let (ktype, desc) = (k.ktype, k.desc.clone());
        if ktype == KeyType::Keyring && (key == ring || self.reaches(key, ring, 0)?) {
            return Err(Errno::EDEADLK);
        }
        let same: Vec<i32> = self.get(ring)?.links.clone();
        let replaced = same.iter().position(|s| {
            self.keys
                .get(s)
                .is_some_and(|o| o.ktype == ktype && o.desc == desc)
        });
        let r = self.get_mut(ring)?;
        match replaced {
            Some(i) => r.links[i] = key,
            None => r.links.push(key),
        }
        Ok(())
    }

    /// Whether keyring `from` reaches `to` through its nested keyrings (`ELOOP` past the
    /// deepest nesting a search follows, as Linux's cycle check).
    fn reaches(&self, from: i32, to: i32, depth: usize) -> Result<bool, Errno> {
        if depth >= SEARCH_MAX_DEPTH {
            return Err(Errno::ELOOP);
        }
        let Ok(k) = self.get(from) else {
            return Ok(false);
        };
        for &s in &k.links {
            if s == to {
                return Ok(true);
            }
            if self
                .keys
                .get(&s)
                .is_some_and(|n| n.ktype == KeyType::Keyring)
                && self.reaches(s, to, depth + 1)?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Removes the link to `key` from `ring` (`ENOTDIR`, `ENOENT` if there is none).
    fn unlink(&mut self, ring: i32, key: i32) -> Result<(), Errno> {
        let r = self.get_mut(ring)?;
        if r.ktype != KeyType::Keyring {
            return Err(Errno::ENOTDIR);
        }
        let i = r
            .links
            .iter()
            .position(|&s| s == key)
            .ok_or(Errno::ENOENT)?;
        r.links.remove(i);
        Ok(())
    }

    /// The keys `who` possesses: its keyrings, and every key it can search for from
    /// them through keyrings that let it search (possessor bits counting).
    pub fn possessed(&self, who: &Asker) -> BTreeSet<i32> {
        let mut out = BTreeSet::new();
        let mut rings: Vec<(i32, usize)> = Vec::new();
        for root in who.roots.iter().flatten() {
            if let Some(k) = self.keys.get(root) {
                if k.permits(who, true, KEY_SEARCH) && out.insert(*root) {
                    rings.push((*root, 0));
                }
            }
        }
        while let Some((ring, depth)) = rings.pop() {
            let Some(r) = self.keys.get(&ring).filter(|r| r.searchable_ring()) else {
                continue;
            };
            for &s in &r.links {
                let Some(k) = self.keys.get(&s) else { continue };
                if k.permits(who, true, KEY_SEARCH)
                    && out.insert(s)
                    && k.ktype == KeyType::Keyring
                    && depth < SEARCH_MAX_DEPTH
                {
                    rings.push((s, depth + 1));
                }
            }
        }
        out
    }

    /// Linux's `keyring_search_rcu` from `ring` for a key of `ktype` described `desc`:
    /// the key, or the error of the last unusable match (`EKEYREVOKED`, `EKEYEXPIRED`,
    /// `EACCES`, a negative key's), or `EAGAIN` when nothing matched. `EACCES` if `ring`
    /// itself may not be searched, `ENOTDIR` if it is no keyring.
    pub fn search(
        &self,
        ring: i32,
        possessed: bool,
        ktype: KeyType,
        desc: &[u8],
        who: &Asker,
        now: Instant,
    ) -> Result<i32, Errno> {
        let top = self.get(ring)?;
        if top.ktype != KeyType::Keyring {
            return Err(Errno::ENOTDIR);
        }
        if !top.permits(who, possessed, KEY_SEARCH) {
            return Err(Errno::EACCES);
        }
        let mut result = Err(Errno::EAGAIN);
        if ktype == KeyType::Keyring && top.desc == desc {
            if let Some(found) = self.consider(top, possessed, who, now, &mut result) {
                return Ok(found);
            }
        }
        self.search_nested(ring, possessed, ktype, desc, who, now, 0, &mut result)
            .map_or(result, Ok)
    }

    /// One matching key of a search: found, or the reason it is skipped left in `result`.
    fn consider(
        &self,
        key: &Key,
        possessed: bool,
        who: &Asker,
        now: Instant,
        result: &mut Result<i32, Errno>,
    ) -> Option<i32> {
        if key.revoked || key.invalidated {
            *result = Err(Errno::EKEYREVOKED);
        } else if key.expired(now) {
            *result = Err(Errno::EKEYEXPIRED);
        } else if !key.permits(who, possessed, KEY_SEARCH) {
            *result = Err(Errno::EACCES);
        } else if let Some(e) = key.negative {
            *result = Err(e);
        } else {
            return Some(key.serial);
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn search_nested(
        &self,
        ring: i32,
        possessed: bool,
        ktype: KeyType,
        desc: &[u8],
        who: &Asker,
        now: Instant,
        depth: usize,
        result: &mut Result<i32, Errno>,
    ) -> Option<i32> {
        let r = self.keys.get(&ring).filter(|r| r.searchable_ring())?;
        for &s in &r.links {
            let Some(k) = self.keys.get(&s) else { continue };
            if k.ktype == ktype && k.desc == desc {
                if let Some(found) = self.consider(k, possessed, who, now, result) {
                    return Some(found);
                }
            }
        }
        if depth >= SEARCH_MAX_DEPTH {
            return None;
        }
        for &s in &r.links {
            let Some(k) = self.keys.get(&s) else { continue };
            if k.ktype == KeyType::Keyring && k.permits(who, possessed, KEY_SEARCH) {
                if let Some(found) =
                    self.search_nested(s, possessed, ktype, desc, who, now, depth + 1, result)
                {
                    return Some(found);
                }
            }
        }
        None
    }

    /// Linux's `search_process_keyrings_rcu`: the caller's thread, process and session
    /// keyrings in turn, possessed. A keyring that found nothing or a negative key
    /// decides the error over one that found an unusable key.
    pub fn search_process_keyrings(
        &self,
        ktype: KeyType,
        desc: &[u8],
        who: &Asker,
        now: Instant,
    ) -> Result<i32, Errno> {
        let mut none = None;
        let mut other = Errno::EAGAIN;
        for ring in who.roots.iter().flatten() {
            match self.search(*ring, true, ktype, desc, who, now) {
                Ok(k) => return Ok(k),
                Err(e @ (Errno::EAGAIN | Errno::ENOKEY)) => none = Some(e),
                Err(e) => other = e,
            }
        }
        Err(none.unwrap_or(other))
    }

    /// A named keyring `who` may search, for `KEYCTL_JOIN_SESSION_KEYRING` (Linux's
    /// `find_keyring_by_name`; user keyrings are not found this way).
    fn find_keyring_by_name(&self, name: &[u8], who: &Asker) -> Option<i32> {
        self.keys
            .values()
            .find(|k| {
                k.ktype == KeyType::Keyring
                    && !k.revoked
                    && !k.invalidated
                    && !k.uid_keyring
                    && k.desc == name
                    && k.permits(who, false, KEY_SEARCH)
            })
            .map(|k| k.serial)
    }

    /// `uid`'s user keyring and user-session keyring (Linux's `look_up_user_keyrings`),
    /// made on first use: `_uid.UID`, and `_uid_ses.UID` linking to it.
    pub fn user_keyrings(&mut self, uid: u32, quota: Quota) -> Result<(i32, i32), Errno> {
        if let Some(&rings) = self.user_keyrings.get(&uid) {
            return Ok(rings);
        }
        let perm = KEY_POS_ALL | KEY_USR_ALL;
        let user = self.alloc_uid_keyring(format!("_uid.{uid}"), uid, perm, quota)?;
        let session = self.alloc_uid_keyring(format!("_uid_ses.{uid}"), uid, perm, quota)?;
        self.link(session, user)?;
        self.user_keyrings.insert(uid, (user, session));
        Ok((user, session))
    }

    fn alloc_uid_keyring(
        &mut self,
        name: String,
        uid: u32,
        perm: u32,
        quota: Quota,
    ) -> Result<i32, Errno> {
        let ring = self.alloc(
            KeyType::Keyring,
            name.as_bytes(),
            uid,
            u32::MAX,
            perm,
            Charge::InQuota,
            quota,
        )?;
        self.get_mut(ring)?.uid_keyring = true;
        Ok(ring)
    }

    /// `uid`'s user-session keyring if it was made.
    pub fn user_session_keyring(&self, uid: u32) -> Option<i32> {
        self.user_keyrings.get(&uid).map(|&(_, s)| s)
    }

    /// Destroys every key nothing reaches any more: not linked from a live keyring,
    /// not a process's or thread's keyring (`roots`), not a user keyring. Their owners'
    /// quotas get them back.
    pub fn collect(&mut self, roots: impl IntoIterator<Item = i32>) {
        let mut live: BTreeSet<i32> = BTreeSet::new();
        let mut stack: Vec<i32> = roots.into_iter().collect();
        stack.extend(self.user_keyrings.values().flat_map(|&(u, s)| [u, s]));
        while let Some(s) = stack.pop() {
            if live.insert(s) {
                if let Some(k) = self.keys.get(&s) {
                    stack.extend(k.links.iter().copied());
                }
            }
        }
        let dead: Vec<i32> = self
            .keys
            .keys()
            .copied()
            .filter(|s| !live.contains(s))
            .collect();
        for s in dead {
            self.destroy(s);
        }
    }

    fn destroy(&mut self, serial: i32) {
        let Some(k) = self.keys.remove(&serial) else {
            return;
        };
        if let Some(u) = self.users.get_mut(&k.uid) {
            u.nkeys = u.nkeys.saturating_sub(1);
            u.nikeys = u.nikeys.saturating_sub(1);
            if k.in_quota {
                u.qnkeys = u.qnkeys.saturating_sub(1);
                u.qnbytes = u.qnbytes.saturating_sub(k.quota_bytes);
            }
            if u.nkeys == 0 {
                self.users.remove(&k.uid);
            }
        }
    }

    /// Moves key `serial` to owner `uid`, moving its quota charge (`EDQUOT` if the new
    /// owner's quota cannot take it).
    fn chown(&mut self, serial: i32, uid: u32, quota: Quota) -> Result<(), Errno> {
        let k = self.get(serial)?;
        let (old, bytes, in_quota) = (k.uid, k.quota_bytes, k.in_quota);
        if old == uid {
            return Ok(());
        }
        let user = self.users.entry(uid).or_default();
        if in_quota
            && (user.qnkeys + 1 > quota.keys || user.qnbytes.saturating_add(bytes) > quota.bytes)
        {
            return Err(Errno::EDQUOT);
        }
        user.nkeys += 1;
        user.nikeys += 1;
        if in_quota {
            user.qnkeys += 1;
            user.qnbytes = user.qnbytes.saturating_add(bytes);
        }
        if let Some(u) = self.users.get_mut(&old) {
            u.nkeys = u.nkeys.saturating_sub(1);
            u.nikeys = u.nikeys.saturating_sub(1);
            if in_quota {
                u.qnkeys = u.qnkeys.saturating_sub(1);
                u.qnbytes = u.qnbytes.saturating_sub(bytes);
            }
        }
        self.get_mut(serial)?.uid = uid;
        Ok(())
    }

    /// Every key, by serial.
    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.keys.values()
    }

    /// Every user with keys, by uid.
    pub fn users(&self) -> impl Iterator<Item = (&u32, &KeyUser)> {
        self.users.iter()
    }
}
