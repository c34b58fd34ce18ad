//! `setns(2)` and the requests on namespace files (`ioctl_ns(2)`).

use abi::flags::OFlags;
use abi::{Errno, SysResult};

use super::{NsSet, ALL};
use crate::caps::CAP_SYS_ADMIN;
use crate::proc_calls::clone_flags::*;
use crate::{Args, Ctx};

/// `setns(fd, nstype)`: the caller enters the namespace `fd` names (a `/proc/PID/ns`
/// file: `nstype` 0 or its kind), or those of kinds `nstype` of the process a pidfd names.
/// A pid (time) namespace becomes where the caller's children go (and, for time, the
/// caller's own: `EUSERS` for a multithreaded caller); it must be the caller's or below it
/// (`EINVAL`). `CAP_SYS_ADMIN` in the
/// caller's user namespace is needed (`EPERM`). Mount and network namespaces: only the
/// initial ones have files, and entering them changes nothing.
pub(crate) fn sys_setns(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (fd, nstype) = (a.i32(0), a.raw(1) as u32 as u64);
    let f = ctx.file(fd)?;
    let mine = ctx.proc.ns;
    let target = if let Some(ns) = f.object_as::<vfs::NsFile>() {
        if nstype != 0 && nstype != ns.clone_flag() {
            return Err(Errno::EINVAL);
        }
        let mut t = NsSet::default();
        set(&mut t, ns.clone_flag(), ns.ns());
        (ns.clone_flag(), t)
    } else if let Some(pid) = f.pidfd() {
        if nstype == 0 || nstype & !ALL != 0 {
            return Err(Errno::EINVAL);
        }
        let p = if pid == ctx.proc.pid {
            &*ctx.proc
        } else {
            ctx.procs.get(pid).ok_or(Errno::ESRCH)?
        };
        (nstype, p.ns)
    } else {
        return Err(Errno::EINVAL);
    };
    let (kinds, t) = target;
    if !ctx.proc.cred.caps.has_in_own_ns(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let spaces = &ctx.procs.ns;
    if kinds & NEWPID != 0 && !spaces.is_within(t.pid, mine.pid) {
        return Err(Errno::EINVAL);
    }
    if kinds & NEWUSER != 0 && t.user != mine.user {
        // Only into a user namespace the caller's owns (it holds every capability there).
        if !spaces.is_within(t.user, mine.user) || ctx.proc.threads.len() > 1 {
            return Err(Errno::EINVAL);
        }
        ctx.proc.cred.caps.enter_child_user_ns();
    } else if kinds & NEWUSER != 0 && f.pidfd().is_none() {
        // Its own user namespace again.
        return Err(Errno::EINVAL);
    }
    let mut next = mine;
    for kind in [NEWPID, NEWUSER, NEWTIME, NEWUTS, NEWIPC, NEWCGROUP] {
        if kinds & kind != 0 {
            let id = get(&t, kind);
            set(&mut next, kind, id);
        }
    }
    if kinds & NEWTIME != 0 {
        if ctx.proc.threads.len() > 1 {
            return Err(Errno::EUSERS);
        }
        crate::ns::time::enter(ctx, next.time_for_children)?;
        next.time = next.time_for_children;
        if next.time != mine.time {
            crate::exec::vdso::map_vvar(ctx.mm, ctx.proc.mm, next.time != 0)?;
        }
    }
    ctx.proc.ns = next;
    Ok(0)
}

/// The namespace of kind `kind` in `s` (pid, time: the one for children).
fn get(s: &NsSet, kind: u64) -> u64 {
    match kind {
        NEWPID => s.pid,
        NEWUSER => s.user,
        NEWTIME => s.time,
        NEWUTS => s.uts,
        NEWIPC => s.ipc,
        NEWCGROUP => s.cgroup,
        _ => 0,
    }
}

/// Sets the namespace of kind `kind` in `s` to `id` (pid, time: the one for children).
fn set(s: &mut NsSet, kind: u64, id: u64) {
    match kind {
        NEWPID => {
            s.pid = id;
            s.pid_for_children = id;
        }
        NEWUSER => s.user = id,
        NEWTIME => {
            s.time = id;
            s.time_for_children = id;
        }
        NEWUTS => s.uts = id,
        NEWIPC => s.ipc = id,
        NEWCGROUP => s.cgroup = id,
        _ => {}
    }
}

/// The `ioctl_ns` requests on namespace file `ns`, or `None` if `cmd` is not one: its
/// owning user namespace, its parent (pid and user namespaces), its kind, a user
/// namespace's owner and a mount namespace's id. A namespace outside the caller's (of
/// the same kind for a parent, its user namespace for an owner) is `EPERM`.
pub(crate) fn ioctl(
    ctx: &mut Ctx<'_>,
    ns: &vfs::NsFile,
    cmd: u32,
    arg: abi::UserAddr,
) -> Option<SysResult> {
    const NS_GET_USERNS: u32 = 0xb701;
    const NS_GET_PARENT: u32 = 0xb702;
    const NS_GET_NSTYPE: u32 = 0xb703;
    const NS_GET_OWNER_UID: u32 = 0xb704;
    const NS_GET_MNTNS_ID: u32 = 0x8008_b705;
    let spaces = &ctx.procs.ns;
    let mine = ctx.proc.ns;
    let open = |ctx: &mut Ctx<'_>, link: &[u8], id: u64| {
        let f = vfs::NsFile::new(link, id).ok_or(Errno::EINVAL)?;
        ctx.install_object(f, OFlags::CLOEXEC)
    };
    Some(match cmd {
        NS_GET_USERNS => {
            // A user namespace's owner is its parent; the initial one has none.
            let owner = spaces.owner(ns.ns());
            if ns.kind() == "user" && ns.ns() == 0 || !spaces.is_within(owner, mine.user) {
                return Some(Err(Errno::EPERM));
            }
            open(ctx, b"user", owner)
        }
        NS_GET_PARENT => {
            let (link, within): (&[u8], u64) = match ns.kind() {
                "pid" => (b"pid", mine.pid),
                "user" => (b"user", mine.user),
                _ => return Some(Err(Errno::EINVAL)),
            };
            let parent = spaces.parent(ns.ns());
            if ns.ns() == within || ns.ns() == 0 || !spaces.is_within(parent, within) {
                return Some(Err(Errno::EPERM));
            }
            open(ctx, link, parent)
        }
        NS_GET_OWNER_UID if ns.kind() == "user" => {
            let uid = super::user::owner_uid(spaces, ns.ns());
            ctx.write_val(arg, &uid).map(|()| 0)
        }
        NS_GET_OWNER_UID => Err(Errno::EINVAL),
        NS_GET_NSTYPE => Ok(ns.clone_flag()),
        NS_GET_MNTNS_ID => match ns.mnt_ns_id() {
            Some(id) => ctx.write_val(arg, &id).map(|()| 0),
            None => Err(Errno::EINVAL),
        },
        _ => return None,
    })
}
