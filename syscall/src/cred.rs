//! Credentials: who a process is. Real, effective, saved and filesystem user and group ids
//! ([`Cred`]) and supplementary groups (`Process::groups`), the calls that read and change
//! them with Linux's rules and errnos (`kernel/sys.c`, `kernel/groups.c`), and what `execve`
//! of a set-user-ID or set-group-ID file does to them.
//!
//! Privilege: the set*id calls go by `CAP_SETUID` and `CAP_SETGID` in the effective
//! capability set ([`crate::caps`]), which a uid 0 holds and loses with Linux's rules. These ids are uml's own: they never become host
//! privileges (uml runs as the user who started it; its host file access is that user's).

use abi::{Errno, SysResult};
use vfs::FsCred;

use crate::caps::{Caps, CAP_SETGID, CAP_SETUID};
use crate::{Args, Ctx, Process};

/// Most supplementary groups (`NGROUPS_MAX`).
pub const NGROUPS_MAX: usize = 65536;

/// `-1` as an id argument: leave this id as it is.
const UNCHANGED: u32 = u32::MAX;

/// The user and group ids of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cred {
    /// Real user id.
    pub uid: u32,
    /// Effective user id: what permission checks and signals go by.
    pub euid: u32,
    /// Saved set-user-ID: an unprivileged process may switch its effective uid back to it.
    pub suid: u32,
    /// Filesystem user id: what file permission checks go by (follows `euid`).
    pub fsuid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved set-group-ID.
    pub sgid: u32,
    /// Filesystem group id.
    pub fsgid: u32,
    /// Capability sets and securebits.
    pub caps: Caps,
}

impl Cred {
    /// Every id of the user `uid` in group `gid` (a login, or uml's first process).
    pub fn of(uid: u32, gid: u32) -> Cred {
        Cred {
            uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            caps: Caps::of(uid),
        }
    }

    /// The ids after `execve` of a file with mode `mode` owned by `owner`/`group`: a
    /// set-user-ID file's owner becomes the effective uid, a set-group-ID (and
    /// group-executable) file's group the effective gid, unless `setid` is off
    /// (`PR_SET_NO_NEW_PRIVS`); the saved and filesystem ids follow the effective ones.
    pub fn after_exec(self, mode: u32, owner: u32, group: u32, setid: bool) -> Cred {
        const S_ISUID: u32 = 0o4000;
        const S_ISGID: u32 = 0o2000;
        const S_IXGRP: u32 = 0o010;
        let mut c = self;
        if setid && mode & S_ISUID != 0 {
            c.euid = owner;
        }
        if setid && mode & (S_ISGID | S_IXGRP) == S_ISGID | S_IXGRP {
            c.egid = group;
        }
        c.suid = c.euid;
        c.fsuid = c.euid;
        c.sgid = c.egid;
        c.fsgid = c.egid;
        let setid = c.euid != self.euid || c.egid != self.egid;
        c.caps = c.caps.after_exec(c.uid, c.euid, setid);
        c
    }

    /// Whether the program runs with ids it was not started with (`AT_SECURE`).
    pub fn secure(&self) -> bool {
        self.euid != self.uid || self.egid != self.gid
    }
}

impl Process {
    /// Who its file calls are made by: its filesystem ids and supplementary groups.
    pub fn fs_cred(&self) -> FsCred<'_> {
        FsCred {
            fsuid: self.cred.fsuid,
            fsgid: self.cred.fsgid,
            groups: &self.groups,
            landlock: self.landlock.as_deref(),
        }
    }

    /// Who `access(2)` checks for (`faccessat` without `AT_EACCESS`): the real ids in
    /// place of the filesystem ones.
    pub fn access_cred(&self) -> FsCred<'_> {
        FsCred {
            fsuid: self.cred.uid,
            fsgid: self.cred.gid,
            groups: &self.groups,
            landlock: self.landlock.as_deref(),
        }
    }
}

/// One of the two id families: the calls for users and for groups share their rules.
#[derive(Clone, Copy)]
enum Ids {
    User,
    Group,
}

impl Ids {
    /// (real, effective, saved, filesystem) of `c`.
    fn get(self, c: &Cred) -> [u32; 4] {
        match self {
            Ids::User => [c.uid, c.euid, c.suid, c.fsuid],
            Ids::Group => [c.gid, c.egid, c.sgid, c.fsgid],
        }
    }

    /// Sets (real, effective, saved, filesystem); a change of user ids changes the
    /// capability sets as Linux's.
    fn set(self, c: &mut Cred, [r, e, s, fs]: [u32; 4]) {
        match self {
            Ids::User => {
                let old = self.get(c);
                (c.uid, c.euid, c.suid, c.fsuid) = (r, e, s, fs);
                c.caps.after_setuid(old, [r, e, s, fs]);
            }
            Ids::Group => (c.gid, c.egid, c.sgid, c.fsgid) = (r, e, s, fs),
        }
    }

    /// Whether `c` may set any id of this family (`CAP_SETUID` or `CAP_SETGID`).
    fn privileged(self, c: &Cred) -> bool {
        c.caps.has(match self {
            Ids::User => CAP_SETUID,
            Ids::Group => CAP_SETGID,
        })
    }
}

/// `setuid`/`setgid`: privileged, every id; else the effective (and filesystem) id, to the
/// real or saved one only.
fn set_id(ctx: &mut Ctx<'_>, ids: Ids, id: u32) -> SysResult {
    if id == UNCHANGED {
        return Err(Errno::EINVAL);
    }
    let c = &mut ctx.proc.cred;
    let [r, _, s, _] = ids.get(c);
    let new = if ids.privileged(c) {
        [id, id, id, id]
    } else if id == r || id == s {
        [r, id, s, id]
    } else {
        return Err(Errno::EPERM);
    };
    ids.set(c, new);
    Ok(0)
}

/// `setreuid`/`setregid` (`-1` leaves an id): unprivileged, the real id may become the
/// effective one and the effective id the real or saved one. The saved id follows the new
/// effective id when the real id is set or the effective id differs from the old real one.
fn set_re(ctx: &mut Ctx<'_>, ids: Ids, real: u32, eff: u32) -> SysResult {
    let c = &mut ctx.proc.cred;
    let priv_ = ids.privileged(c);
    let [r, e, s, _] = ids.get(c);
    let (mut nr, mut ne, mut ns) = (r, e, s);
    if real != UNCHANGED {
        if !priv_ && real != r && real != e {
            return Err(Errno::EPERM);
        }
        nr = real;
    }
    if eff != UNCHANGED {
        if !priv_ && eff != r && eff != e && eff != s {
            return Err(Errno::EPERM);
        }
        ne = eff;
    }
    if real != UNCHANGED || (eff != UNCHANGED && eff != r) {
        ns = ne;
    }
    ids.set(c, [nr, ne, ns, ne]);
    Ok(0)
}

/// `setresuid`/`setresgid`: unprivileged, each new id must be one of the current three.
fn set_res(ctx: &mut Ctx<'_>, ids: Ids, new: [u32; 3]) -> SysResult {
    let c = &mut ctx.proc.cred;
    let [r, e, s, _] = ids.get(c);
    let allowed = |id: u32| id == UNCHANGED || id == r || id == e || id == s;
    if !ids.privileged(c) && !new.iter().all(|&id| allowed(id)) {
        return Err(Errno::EPERM);
    }
    let pick = |id: u32, old: u32| if id == UNCHANGED { old } else { id };
    let (nr, ne, ns) = (pick(new[0], r), pick(new[1], e), pick(new[2], s));
    ids.set(c, [nr, ne, ns, ne]);
    Ok(0)
}

/// `setfsuid`/`setfsgid`: returns the old filesystem id, and sets it if the caller is
/// privileged or it is one of its real, effective, saved or filesystem ids (never an
/// error, as Linux).
fn set_fs(ctx: &mut Ctx<'_>, ids: Ids, id: u32) -> SysResult {
    let c = &mut ctx.proc.cred;
    let [r, e, s, fs] = ids.get(c);
    if id != UNCHANGED && (ids.privileged(c) || [r, e, s, fs].contains(&id)) {
        ids.set(c, [r, e, s, id]);
    }
    Ok(u64::from(fs))
}

/// Writes (real, effective, saved) to the three pointers of `getresuid`/`getresgid`.
fn get_res(ctx: &mut Ctx<'_>, a: &Args, ids: Ids) -> SysResult {
    let [r, e, s, _] = ids.get(&ctx.proc.cred);
    for (i, id) in [r, e, s].iter().enumerate() {
        ctx.write_val(a.addr(i), id)?;
    }
    Ok(0)
}

pub(crate) fn sys_setuid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set_id(ctx, Ids::User, a.u32(0))
}

pub(crate) fn sys_setgid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set_id(ctx, Ids::Group, a.u32(0))
}

pub(crate) fn sys_setreuid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set_re(ctx, Ids::User, a.u32(0), a.u32(1))
}

pub(crate) fn sys_setregid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set_re(ctx, Ids::Group, a.u32(0), a.u32(1))
}

pub(crate) fn sys_setresuid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set_res(ctx, Ids::User, [a.u32(0), a.u32(1), a.u32(2)])
}

pub(crate) fn sys_setresgid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set_res(ctx, Ids::Group, [a.u32(0), a.u32(1), a.u32(2)])
}

pub(crate) fn sys_setfsuid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set_fs(ctx, Ids::User, a.u32(0))
}

pub(crate) fn sys_setfsgid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    set_fs(ctx, Ids::Group, a.u32(0))
}

pub(crate) fn sys_getresuid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    get_res(ctx, a, Ids::User)
}

pub(crate) fn sys_getresgid(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    get_res(ctx, a, Ids::Group)
}

/// `setgroups(size, list)`: privileged only (`EPERM` first), at most `NGROUPS_MAX`
/// (`EINVAL`); kept sorted, as Linux's `groups_sort`.
pub(crate) fn sys_setgroups(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if !ctx.proc.cred.caps.has(CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    let size = a.u32(0) as usize;
    if size > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; size * 4];
    ctx.copy_in(a.addr(1), &mut raw)?;
    let mut groups: Vec<u32> = raw
        .chunks_exact(4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    groups.sort_unstable();
    ctx.proc.groups = groups;
    Ok(0)
}

/// `getgroups(size, list)`: the count for size 0; `EINVAL` for a negative size or one too
/// small for the list.
pub(crate) fn sys_getgroups(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let size = a.i32(0);
    let n = ctx.proc.groups.len();
    if size < 0 || (size > 0 && (size as usize) < n) {
        return Err(Errno::EINVAL);
    }
    if size > 0 {
        let bytes: Vec<u8> = ctx
            .proc
            .groups
            .iter()
            .flat_map(|g| g.to_ne_bytes())
            .collect();
        ctx.copy_out(a.addr(1), &bytes)?;
    }
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::Cred;

    #[test]
    fn setuid_files_change_the_effective_and_saved_ids() {
        let user = Cred::of(1000, 1000);
        let c = user.after_exec(0o4755, 0, 0, true);
        assert_eq!((c.uid, c.euid, c.suid, c.fsuid), (1000, 0, 0, 0));
        assert!(c.secure());
        let c = user.after_exec(0o2755, 0, 42, true);
        assert_eq!((c.gid, c.egid, c.sgid), (1000, 42, 42));
        // Set-group-ID without group execute is mandatory locking, not a set-group-ID.
        assert_eq!(user.after_exec(0o2745, 0, 42, true).egid, 1000);
        assert_eq!(user.after_exec(0o4755, 0, 0, false), user);
    }

    #[test]
    fn exec_resets_saved_ids_to_the_effective_ones() {
        let c = Cred {
            suid: 5,
            fsuid: 6,
            ..Cred::of(1000, 100)
        };
        let after = c.after_exec(0o755, 0, 0, true);
        assert_eq!((after.suid, after.fsuid), (1000, 1000));
    }
}
