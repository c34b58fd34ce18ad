//! The key syscalls over [`Keys`]: `add_key`, `request_key` and the `keyctl` operations,
//! with Linux's order of checks (strings first, then the keyrings named, then the type)
//! and its errnos. The keyrings a special id names are made on demand as Linux's
//! `lookup_user_key` makes them.

use std::time::Duration;

use abi::flags::key::*;
use abi::{Errno, SysResult, UserAddr};

use super::{Asker, Charge, KeyType, Keys, Quota, NEGATIVE_TIMEOUT_SECS};
use crate::{Args, Ctx};

/// Largest `add_key` payload (`1 MiB - 1`) and `KEYCTL_UPDATE` payload (a page).
const ADD_KEY_PAYLOAD_MAX: u64 = (1 << 20) - 1;
const UPDATE_PAYLOAD_MAX: u64 = 4096;

/// What a key lookup needs of the key (Linux's `key_need_perm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// These permission bits, on a usable key.
    Perm(u32),
    /// Nothing yet: the caller checks (`KEYCTL_READ`, `GET_KEYRING_ID`).
    Defer,
    /// Nothing: the key is only to be unlinked.
    Unlink,
}

/// A string argument (Linux's `strndup_user`): `EFAULT`, `EINVAL` past `max` bytes with
/// its NUL.
fn read_string(ctx: &mut Ctx<'_>, addr: UserAddr, max: usize) -> Result<Vec<u8>, Errno> {
    match ctx.mm.read_cstr(ctx.proc.mm, addr, max) {
        Err(Errno::EFAULT) => Err(Errno::EFAULT),
        Err(_) => Err(Errno::EINVAL),
        Ok(s) => Ok(s),
    }
}

/// A key type name (Linux's `key_get_type_from_user`): `EINVAL` if empty or too long,
/// `EPERM` for the internal types (a leading dot).
fn read_type(ctx: &mut Ctx<'_>, addr: UserAddr) -> Result<Vec<u8>, Errno> {
    let name = read_string(ctx, addr, TYPE_MAX)?;
    match name.first() {
        None => Err(Errno::EINVAL),
        Some(b'.') => Err(Errno::EPERM),
        Some(_) => Ok(name),
    }
}

/// The quota of keys `uid` owns.
fn quota(ctx: &Ctx<'_>, uid: u32) -> Quota {
    Quota::of(&ctx.procs.sysctl, uid)
}

/// The caller as key permissions see it.
fn asker(ctx: &Ctx<'_>) -> Asker {
    Asker::of(ctx.proc, ctx.tid, &ctx.procs.keys)
}

/// Destroys the keys nothing reaches any more (every process's and thread's keyrings
/// are the roots).
fn collect(ctx: &mut Ctx<'_>) {
    let mut roots = Vec::new();
    for p in std::iter::once(&*ctx.proc).chain(ctx.procs.iter()) {
        roots.extend(p.keys.session);
        roots.extend(p.keys.process);
        roots.extend(p.threads.values().filter_map(|t| t.thread_keyring));
    }
    ctx.procs.keys.collect(roots);
}

/// A new keyring owned by the caller's real ids (a thread, process or session keyring).
fn new_keyring(ctx: &mut Ctx<'_>, name: &[u8], perm: u32, charge: Charge) -> Result<i32, Errno> {
    let (uid, gid) = (ctx.proc.cred.uid, ctx.proc.cred.gid);
    let q = quota(ctx, uid);
    ctx.procs
        .keys
        .alloc(KeyType::Keyring, name, uid, gid, perm, charge, q)
}

/// The caller's thread keyring, made if it has none.
fn install_thread_keyring(ctx: &mut Ctx<'_>) -> Result<i32, Errno> {
    if let Some(k) = ctx.thread().thread_keyring {
        return Ok(k);
    }
    let k = new_keyring(ctx, b"_tid", KEY_POS_ALL | KEY_USR_VIEW, Charge::Overrun)?;
    ctx.thread().thread_keyring = Some(k);
    Ok(k)
}

/// The caller's process keyring, made if it has none.
fn install_process_keyring(ctx: &mut Ctx<'_>) -> Result<i32, Errno> {
    if let Some(k) = ctx.proc.keys.process {
        return Ok(k);
    }
    let k = new_keyring(ctx, b"_pid", KEY_POS_ALL | KEY_USR_VIEW, Charge::Overrun)?;
    ctx.proc.keys.process = Some(k);
    Ok(k)
}

/// Linux's `join_session_keyring`: a new anonymous session keyring, or the named one
/// (found if the caller may search it, else made).
fn join_session_keyring(ctx: &mut Ctx<'_>, name: Option<&[u8]>) -> Result<i32, Errno> {
    let ring = match name {
        None => {
            let charge = if ctx.proc.keys.session.is_some() {
                Charge::InQuota
            } else {
                Charge::Overrun
            };
            let perm = KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ;
            new_keyring(ctx, b"_ses", perm, charge)?
        }
        Some(name) => {
            let who = asker(ctx);
            match ctx.procs.keys.find_keyring_by_name(name, &who) {
                Some(k) => k,
                None => {
                    let perm = KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | KEY_USR_LINK;
                    new_keyring(ctx, name, perm, Charge::InQuota)?
                }
            }
        }
    };
    ctx.proc.keys.session = Some(ring);
    Ok(ring)
}

/// The caller's user keyrings (user, user-session), made on first use.
fn user_keyrings(ctx: &mut Ctx<'_>) -> Result<(i32, i32), Errno> {
    let uid = ctx.proc.cred.uid;
    let q = quota(ctx, uid);
    ctx.procs.keys.user_keyrings(uid, q)
}

/// Linux's `lookup_user_key`: the key `id` names (a serial or a special keyring, made
/// if `create` or if Linux always makes it), whether the caller possesses it, checked as
/// `need` says. `partial`: a negative key is acceptable.
fn lookup(
    ctx: &mut Ctx<'_>,
    id: i32,
    create: bool,
    partial: bool,
    need: Need,
) -> Result<(i32, bool), Errno> {
    let (serial, possessed) = match id {
        SPEC_THREAD_KEYRING => match ctx.thread().thread_keyring {
            Some(k) => (k, true),
            None if create => (install_thread_keyring(ctx)?, true),
            None => return Err(Errno::ENOKEY),
        },
        SPEC_PROCESS_KEYRING => match ctx.proc.keys.process {
            Some(k) => (k, true),
            None if create => (install_process_keyring(ctx)?, true),
            None => return Err(Errno::ENOKEY),
        },
        SPEC_SESSION_KEYRING => {
            let (_, user_session) = user_keyrings(ctx)?;
            match ctx.proc.keys.session {
                Some(k) if !(create && k == user_session) => (k, true),
                _ if create => (join_session_keyring(ctx, None)?, true),
                _ => {
                    ctx.proc.keys.session = Some(user_session);
                    (user_session, true)
                }
            }
        }
        SPEC_USER_KEYRING => (user_keyrings(ctx)?.0, true),
        SPEC_USER_SESSION_KEYRING => (user_keyrings(ctx)?.1, true),
        SPEC_GROUP_KEYRING => return Err(Errno::EINVAL),
        SPEC_REQKEY_AUTH_KEY | SPEC_REQUESTOR_KEYRING => return Err(Errno::ENOKEY),
        id if id < 1 => return Err(Errno::EINVAL),
        id => {
            ctx.procs.keys.get(id)?;
            let who = asker(ctx);
            (id, ctx.procs.keys.possessed(&who).contains(&id))
        }
    };
    if need == Need::Unlink {
        return Ok((serial, possessed));
    }
    let now = nondet::ktime_get();
    let who = asker(ctx);
    let key = ctx.procs.keys.get(serial)?;
    if !partial {
        if let (Err(e), Need::Perm(_)) = (key.usable(now), need) {
            return Err(e);
        }
    } else if need != Need::Defer {
        key.validate(now)?;
    }
    if let Need::Perm(p) = need {
        if !key.permits(&who, possessed, p) {
            return Err(Errno::EACCES);
        }
    }
    Ok((serial, possessed))
}

/// `add_key(type, description, payload, plen, keyring)`.
pub(crate) fn sys_add_key(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let tname = read_type(ctx, a.addr(0))?;
    let desc = if a.addr(1).is_null() {
        None
    } else {
        let d = read_string(ctx, a.addr(1), MAX_DESC_SIZE)?;
        match d.first() {
            None => return Err(Errno::EINVAL),
            Some(b'.') if tname == b"keyring" => return Err(Errno::EPERM),
            Some(_) => Some(d),
        }
    };
    let plen = a.len(3);
    if plen > ADD_KEY_PAYLOAD_MAX {
        return Err(Errno::EINVAL);
    }
    let mut payload = vec![0u8; plen as usize];
    ctx.copy_in(a.addr(2), &mut payload)?;
    collect(ctx);
    let (ring, possessed) = lookup(ctx, a.i32(4), true, false, Need::Perm(KEY_WRITE))?;
    let r = create_or_update(ctx, &tname, desc, payload, ring, possessed);
    collect(ctx);
    r
}

/// Linux's `key_create_or_update`: updates the key of that type and description
/// `ring` links to if the type can be updated, else makes a new key and links it.
fn create_or_update(
    ctx: &mut Ctx<'_>,
    tname: &[u8],
    desc: Option<Vec<u8>>,
    payload: Vec<u8>,
    ring: i32,
    possessed: bool,
) -> SysResult {
    let ktype = KeyType::by_name(tname).ok_or(Errno::ENODEV)?;
    if ctx.procs.keys.get(ring)?.ktype != KeyType::Keyring {
        return Err(Errno::ENOTDIR);
    }
    ktype.check_payload(&payload)?;
    let desc = desc.ok_or(Errno::EINVAL)?;
    ktype.check_description(&desc)?;
    if ctx.procs.keys.get(ring)?.revoked {
        return Err(Errno::EKEYREVOKED);
    }
    let who = asker(ctx);
    let keys = &ctx.procs.keys;
    let existing = keys.get(ring)?.links.iter().copied().find(|s| {
        keys.get(*s)
            .is_ok_and(|k| k.ktype == ktype && k.desc == desc && !k.revoked && !k.invalidated)
    });
    if let Some(k) = existing.filter(|_| ktype.updatable()) {
        if !keys.get(k)?.permits(&who, possessed, KEY_WRITE) {
            return Err(Errno::EACCES);
        }
        let q = quota(ctx, ctx.procs.keys.get(k)?.uid);
        ctx.procs.keys.set_payload(k, payload, q)?;
        return Ok(k as u64);
    }
    let (uid, gid) = (ctx.proc.cred.fsuid, ctx.proc.cred.fsgid);
    let q = quota(ctx, uid);
    let keys = &mut ctx.procs.keys;
    let k = keys.alloc(
        ktype,
        &desc,
        uid,
        gid,
        ktype.default_perm(),
        Charge::InQuota,
        q,
    )?;
    let made = if ktype == KeyType::Keyring {
        Ok(())
    } else {
        keys.set_payload(k, payload, q)
    }
    .and_then(|()| keys.link(ring, k));
    match made {
        Ok(()) => Ok(k as u64),
        Err(e) => {
            keys.destroy(k);
            Err(e)
        }
    }
}

/// `request_key(type, description, callout_info, dest_keyring)`: the key found in the
/// caller's keyrings (linked to `dest_keyring` if given), else, with callout info, a
/// negative key linked to the destination and `ENOENT` (no `/sbin/request-key` to
/// construct it), else `ENOKEY`.
pub(crate) fn sys_request_key(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let tname = read_type(ctx, a.addr(0))?;
    let desc = read_string(ctx, a.addr(1), MAX_DESC_SIZE)?;
    let callout = if a.addr(2).is_null() {
        None
    } else {
        Some(read_string(ctx, a.addr(2), 4096)?)
    };
    collect(ctx);
    let dest = match a.i32(3) {
        0 => None,
        id => Some(lookup(ctx, id, true, false, Need::Perm(KEY_WRITE))?.0),
    };
    let ktype = KeyType::by_name(&tname).ok_or(Errno::ENOKEY)?;
    let who = asker(ctx);
    let now = nondet::ktime_get();
    let r = match ctx
        .procs
        .keys
        .search_process_keyrings(ktype, &desc, &who, now)
    {
        Ok(k) => {
            if let Some(dest) = dest {
                if !ctx.procs.keys.get(k)?.permits(&who, true, KEY_LINK) {
                    return Err(Errno::EACCES);
                }
                ctx.procs.keys.link(dest, k)?;
            }
            Ok(k as u64)
        }
        Err(Errno::EAGAIN) if callout.is_some() => construct(ctx, ktype, &desc, dest),
        Err(Errno::EAGAIN) => Err(Errno::ENOKEY),
        Err(e) => Err(e),
    };
    collect(ctx);
    r
}

/// Linux's `construct_key_and_link` without an upcall helper: a key negated for
/// [`NEGATIVE_TIMEOUT_SECS`] linked to the destination keyring, and `ENOENT`.
fn construct(ctx: &mut Ctx<'_>, ktype: KeyType, desc: &[u8], dest: Option<i32>) -> SysResult {
    let dest = match dest {
        Some(d) => d,
        None => {
            let d = default_dest(ctx)?;
            let who = asker(ctx);
            if !ctx.procs.keys.get(d)?.permits(&who, true, KEY_WRITE) {
                return Err(Errno::EACCES);
            }
            d
        }
    };
    let (uid, gid) = (ctx.proc.cred.fsuid, ctx.proc.cred.fsgid);
    let q = quota(ctx, uid);
    let keys = &mut ctx.procs.keys;
    let k = keys.alloc(
        ktype,
        desc,
        uid,
        gid,
        ktype.default_perm(),
        Charge::InQuota,
        q,
    )?;
    if let Err(e) = keys.link(dest, k) {
        keys.destroy(k);
        return Err(e);
    }
    let key = keys.get_mut(k)?;
    key.negative = Some(Errno::ENOKEY);
    key.expiry = Some(nondet::ktime_get() + Duration::from_secs(NEGATIVE_TIMEOUT_SECS));
    Err(Errno::ENOENT)
}

/// Where `request_key` links a key it constructs without a destination (Linux's
/// `construct_get_dest_keyring`, from `KEYCTL_SET_REQKEY_KEYRING`'s setting): the first
/// of the thread, process and session keyrings from that setting on, else the
/// user-session keyring; or the user keyring.
fn default_dest(ctx: &mut Ctx<'_>) -> Result<i32, Errno> {
    let setting = ctx.proc.keys.reqkey_default;
    if setting == REQKEY_DEFL_USER_KEYRING {
        return Ok(user_keyrings(ctx)?.0);
    }
    let order = [
        (REQKEY_DEFL_THREAD_KEYRING, ctx.thread().thread_keyring),
        (REQKEY_DEFL_PROCESS_KEYRING, ctx.proc.keys.process),
        (REQKEY_DEFL_SESSION_KEYRING, ctx.proc.keys.session),
    ];
    let start = match setting {
        REQKEY_DEFL_DEFAULT | REQKEY_DEFL_REQUESTOR_KEYRING => REQKEY_DEFL_THREAD_KEYRING,
        s => s,
    };
    match order
        .iter()
        .filter(|(s, _)| *s >= start)
        .find_map(|(_, k)| *k)
    {
        Some(k) => Ok(k),
        None => Ok(user_keyrings(ctx)?.1),
    }
}

/// `keyctl(operation, ...)`.
pub(crate) fn sys_keyctl(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    collect(ctx);
    let r = keyctl(ctx, a);
    collect(ctx);
    r
}

fn keyctl(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let id = a.i32(1);
    match a.i32(0) {
        KEYCTL_GET_KEYRING_ID => {
            let (k, _) = lookup(ctx, id, a.raw(2) != 0, false, Need::Defer)?;
            Ok(k as u64)
        }
        KEYCTL_JOIN_SESSION_KEYRING => {
            let name = if a.addr(1).is_null() {
                None
            } else {
                let n = read_string(ctx, a.addr(1), MAX_DESC_SIZE)?;
                if n.first() == Some(&b'.') {
                    return Err(Errno::EPERM);
                }
                Some(n)
            };
            Ok(join_session_keyring(ctx, name.as_deref())? as u64)
        }
        KEYCTL_UPDATE => update(ctx, id, a.addr(2), a.len(3)),
        KEYCTL_REVOKE => {
            let k = match lookup(ctx, id, false, false, Need::Perm(KEY_WRITE)) {
                Err(Errno::EACCES) => lookup(ctx, id, false, false, Need::Perm(KEY_SETATTR)),
                r => r,
            }?
            .0;
            ctx.procs.keys.get_mut(k)?.revoked = true;
            Ok(0)
        }
        KEYCTL_INVALIDATE => {
            let (k, _) = lookup(ctx, id, false, false, Need::Perm(KEY_SEARCH))?;
            ctx.procs.keys.invalidate(k);
            Ok(0)
        }
        KEYCTL_CHOWN => chown(ctx, id, a.u32(2), a.u32(3)),
        KEYCTL_SETPERM => {
            let perm = a.u32(2);
            if perm & !KEY_PERM_MASK != 0 {
                return Err(Errno::EINVAL);
            }
            let (k, _) = lookup(ctx, id, true, true, Need::Perm(KEY_SETATTR))?;
            let sys_admin = ctx.proc.cred.caps.has(crate::caps::CAP_SYS_ADMIN);
            let fsuid = ctx.proc.cred.fsuid;
            let key = ctx.procs.keys.get_mut(k)?;
            if key.uid != fsuid && !sys_admin {
                return Err(Errno::EACCES);
            }
            key.perm = perm;
            Ok(0)
        }
        KEYCTL_DESCRIBE => {
            let (k, _) = lookup(ctx, id, false, true, Need::Perm(KEY_VIEW))?;
            let key = ctx.procs.keys.get(k)?;
            let mut text = format!(
                "{};{};{};{:08x};",
                key.ktype.name(),
                munged(key.uid),
                munged(key.gid),
                key.perm
            )
            .into_bytes();
            text.extend_from_slice(&key.desc);
            text.push(0);
            copy_if_fits(ctx, a.addr(2), a.len(3), &text)
        }
        KEYCTL_CLEAR => {
            let (k, _) = lookup(ctx, id, true, false, Need::Perm(KEY_WRITE))?;
            let key = ctx.procs.keys.get_mut(k)?;
            if key.ktype != KeyType::Keyring {
                return Err(Errno::ENOTDIR);
            }
            key.links.clear();
            Ok(0)
        }
        KEYCTL_LINK => {
            let (ring, _) = lookup(ctx, a.i32(2), true, false, Need::Perm(KEY_WRITE))?;
            let (k, _) = lookup(ctx, id, true, false, Need::Perm(KEY_LINK))?;
            ctx.procs.keys.link(ring, k)?;
            Ok(0)
        }
        KEYCTL_UNLINK => {
            let (ring, _) = lookup(ctx, a.i32(2), false, false, Need::Perm(KEY_WRITE))?;
            let (k, _) = lookup(ctx, id, false, true, Need::Unlink)?;
            ctx.procs.keys.unlink(ring, k)?;
            Ok(0)
        }
        KEYCTL_SEARCH => search(ctx, id, a.addr(2), a.addr(3), a.i32(4)),
        KEYCTL_READ => read(ctx, id, a.addr(2), a.len(3)),
        KEYCTL_SET_REQKEY_KEYRING => {
            let old = ctx.proc.keys.reqkey_default;
            match id {
                REQKEY_DEFL_NO_CHANGE => return Ok(old as u64),
                REQKEY_DEFL_THREAD_KEYRING => {
                    install_thread_keyring(ctx)?;
                }
                REQKEY_DEFL_PROCESS_KEYRING => {
                    install_process_keyring(ctx)?;
                }
                REQKEY_DEFL_DEFAULT
                | REQKEY_DEFL_SESSION_KEYRING
                | REQKEY_DEFL_USER_KEYRING
                | REQKEY_DEFL_USER_SESSION_KEYRING
                | REQKEY_DEFL_REQUESTOR_KEYRING => {}
                _ => return Err(Errno::EINVAL),
            }
            ctx.proc.keys.reqkey_default = id;
            Ok(old as u64)
        }
        KEYCTL_SET_TIMEOUT => {
            let (k, _) = lookup(ctx, id, true, true, Need::Perm(KEY_SETATTR))?;
            let secs = a.u32(2);
            ctx.procs.keys.get_mut(k)?.expiry =
                (secs != 0).then(|| nondet::ktime_get() + Duration::from_secs(u64::from(secs)));
            Ok(0)
        }
        KEYCTL_GET_SECURITY => {
            lookup(ctx, id, false, true, Need::Perm(KEY_VIEW))?;
            copy_if_fits(ctx, a.addr(2), a.len(3), b"\0")
        }
        KEYCTL_ASSUME_AUTHORITY if id == 0 => Ok(0),
        KEYCTL_ASSUME_AUTHORITY if id < 0 => Err(Errno::EINVAL),
        KEYCTL_ASSUME_AUTHORITY
        | KEYCTL_INSTANTIATE
        | KEYCTL_INSTANTIATE_IOV
        | KEYCTL_NEGATE
        | KEYCTL_REJECT => Err(Errno::EPERM),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// An id as `/proc` and `KEYCTL_DESCRIBE` print it: no id (`u32::MAX`) shows as the
/// overflow id.
pub(super) fn munged(id: u32) -> u32 {
    if id == u32::MAX {
        65534
    } else {
        id
    }
}

/// Copies `data` to `buf` if it fits in `len` bytes (else nothing); returns its length.
fn copy_if_fits(ctx: &mut Ctx<'_>, buf: UserAddr, len: u64, data: &[u8]) -> SysResult {
    if !buf.is_null() && len >= data.len() as u64 {
        ctx.copy_out(buf, data)?;
    }
    Ok(data.len() as u64)
}

/// `KEYCTL_UPDATE`: a new payload for a key that may be written.
fn update(ctx: &mut Ctx<'_>, id: i32, addr: UserAddr, plen: u64) -> SysResult {
    if plen > UPDATE_PAYLOAD_MAX {
        return Err(Errno::EINVAL);
    }
    let mut payload = vec![0u8; plen as usize];
    ctx.copy_in(addr, &mut payload)?;
    let (k, _) = lookup(ctx, id, false, false, Need::Perm(KEY_WRITE))?;
    let key = ctx.procs.keys.get(k)?;
    if !key.ktype.updatable() {
        return Err(Errno::EOPNOTSUPP);
    }
    key.ktype.check_payload(&payload)?;
    let q = quota(ctx, key.uid);
    ctx.procs.keys.set_payload(k, payload, q)?;
    Ok(0)
}

/// `KEYCTL_CHOWN`: only `CAP_SYS_ADMIN` gives a key away or to a group the caller is
/// not in; `u32::MAX` leaves an id as it is.
fn chown(ctx: &mut Ctx<'_>, id: i32, uid: u32, gid: u32) -> SysResult {
    let (k, _) = lookup(ctx, id, true, true, Need::Perm(KEY_SETATTR))?;
    let key = ctx.procs.keys.get(k)?;
    let p = &*ctx.proc;
    if !p.cred.caps.has(crate::caps::CAP_SYS_ADMIN) {
        let in_group = gid == p.cred.fsgid || p.groups.contains(&gid);
        if (uid != u32::MAX && uid != key.uid) || (gid != u32::MAX && gid != key.gid && !in_group) {
            return Err(Errno::EACCES);
        }
    }
    if uid != u32::MAX {
        let q = quota(ctx, uid);
        ctx.procs.keys.chown(k, uid, q)?;
    }
    if gid != u32::MAX {
        ctx.procs.keys.get_mut(k)?.gid = gid;
    }
    Ok(0)
}

/// `KEYCTL_SEARCH(keyring, type, description, dest_keyring)`.
fn search(ctx: &mut Ctx<'_>, id: i32, tname: UserAddr, desc: UserAddr, dest: i32) -> SysResult {
    let tname = read_type(ctx, tname)?;
    let desc = read_string(ctx, desc, MAX_DESC_SIZE)?;
    let (ring, possessed) = lookup(ctx, id, false, false, Need::Perm(KEY_SEARCH))?;
    let dest = match dest {
        0 => None,
        d => Some(lookup(ctx, d, true, false, Need::Perm(KEY_WRITE))?.0),
    };
    let ktype = KeyType::by_name(&tname).ok_or(Errno::ENOKEY)?;
    let who = asker(ctx);
    let now = nondet::ktime_get();
    let k = match ctx
        .procs
        .keys
        .search(ring, possessed, ktype, &desc, &who, now)
    {
        Err(Errno::EAGAIN) => return Err(Errno::ENOKEY),
        r => r?,
    };
    if let Some(dest) = dest {
        if !ctx.procs.keys.get(k)?.permits(&who, possessed, KEY_LINK) {
            return Err(Errno::EACCES);
        }
        ctx.procs.keys.link(dest, k)?;
    }
    Ok(k as u64)
}

/// `KEYCTL_READ`: a key the caller may read, or possesses; the whole payload is copied
/// only if it fits, and its size returned either way.
fn read(ctx: &mut Ctx<'_>, id: i32, buf: UserAddr, len: u64) -> SysResult {
    let (k, possessed) = lookup(ctx, id, false, false, Need::Defer).map_err(|_| Errno::ENOKEY)?;
    let who = asker(ctx);
    let key = ctx.procs.keys.get(k)?;
    if let Some(e) = key.negative {
        return Err(e);
    }
    if !key.permits(&who, possessed, KEY_READ) && !possessed {
        return Err(Errno::EACCES);
    }
    if !key.ktype.readable() {
        return Err(Errno::EOPNOTSUPP);
    }
    key.validate(nondet::ktime_get())?;
    let data = key.read();
    if buf.is_null() || len == 0 {
        return Ok(data.len() as u64);
    }
    copy_if_fits(ctx, buf, len, &data)
}

impl Keys {
    /// `KEYCTL_INVALIDATE`: the key is unusable at once and every keyring drops it (Linux's
    /// collector unlinks it soon after).
    fn invalidate(&mut self, serial: i32) {
        for k in self.keys.values_mut() {
            k.links.retain(|&s| s != serial);
        }
        if let Some(k) = self.keys.get_mut(&serial) {
            k.invalidated = true;
        }
    }
}
