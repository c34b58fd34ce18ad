//! Landlock's calls: `landlock_create_ruleset`, `landlock_add_rule` and
//! `landlock_restrict_self` (Linux's `security/landlock/syscalls.c`), with their errnos.
//!
//! A ruleset is an anonymous descriptor (`[landlock-ruleset]`) holding a
//! [`vfs::landlock::Layer`] while rules are added; restricting freezes a copy of it as a
//! new layer of the process's domain (`Process::landlock`), which `fork` copies and
//! `execve` keeps. The checks themselves are in [`vfs::landlock`]; the ports and scopes are
//! checked by `bind`/`connect` and `kill` through [`port_check`] and [`may_signal`]. uml
//! has no audit, so the logging flags of ABI 7 are accepted and do nothing.

use abi::flags::landlock as ll;
use abi::{Errno, SysResult};
use parking_lot::Mutex;
use vfs::landlock::{Domain, Layer};
use vfs::object::new_wait_id;
use vfs::{Arc, FileObject, PollEvents, Poller};

use crate::{Args, Ctx, Process};

/// The errata fixed in this ABI (`LANDLOCK_CREATE_RULESET_ERRATA`): as Linux 6.18's.
const ERRATA: u64 = 7;

/// A ruleset descriptor's object.
struct Ruleset {
    id: u64,
    layer: Mutex<Layer>,
}

impl FileObject for Ruleset {
    fn poll(&self, _who: &Poller) -> PollEvents {
        // No poll operation: Linux's DEFAULT_POLLMASK.
        PollEvents {
            readable: true,
            writable: true,
            ..PollEvents::default()
        }
    }

    fn wait_id(&self) -> u64 {
        self.id
    }

    fn can_poll(&self) -> bool {
        false
    }
}

/// The ruleset behind `fd`: `EBADF` for no descriptor (an `O_PATH` one is none here),
/// `EBADFD` for another kind.
fn ruleset(ctx: &Ctx<'_>, fd: i32) -> Result<vfs::FileRef, Errno> {
    let f = ctx.file(fd)?;
    if f.flags().contains(abi::flags::OFlags::PATH) {
        return Err(Errno::EBADF);
    }
    if f.object_as::<Ruleset>().is_none() {
        return Err(Errno::EBADFD);
    }
    Ok(f)
}

/// `landlock_create_ruleset(attr, size, flags)`: a ruleset descriptor, or the ABI version
/// or errata with a flag and no attributes.
pub(crate) fn sys_landlock_create_ruleset(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (attr, size, flags) = (a.addr(0), a.raw(1) as usize, a.u32(2));
    if flags != 0 {
        if attr.0 == 0 && size == 0 {
            match flags {
                ll::CREATE_RULESET_VERSION => return Ok(ll::ABI_VERSION),
                ll::CREATE_RULESET_ERRATA => return Ok(ERRATA),
                _ => {}
            }
        }
        return Err(Errno::EINVAL);
    }
    if size < 8 {
        return Err(Errno::EINVAL);
    }
    if attr.0 == 0 {
        return Err(Errno::EFAULT);
    }
    let raw = ctx.copy_struct_in(attr, size, 8, 24)?;
    let word = |i: usize| u64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let (fs, net, scoped) = (word(0), word(1), word(2));
    if fs & !ll::MASK_ACCESS_FS != 0
        || net & !ll::MASK_ACCESS_NET != 0
        || scoped & !ll::MASK_SCOPE != 0
    {
        return Err(Errno::EINVAL);
    }
    if fs == 0 && net == 0 && scoped == 0 {
        return Err(Errno::ENOMSG);
    }
    let obj = Arc::new(Ruleset {
        id: new_wait_id(),
        layer: Mutex::new(Layer::new(fs, net, scoped)),
    });
    ctx.install_object(obj, abi::flags::OFlags::RDWR | abi::flags::OFlags::CLOEXEC)
}

/// `landlock_add_rule(ruleset_fd, rule_type, rule_attr, flags)`.
pub(crate) fn sys_landlock_add_rule(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (fd, rule_type, attr) = (a.i32(0), a.u32(1), a.addr(2));
    if a.u32(3) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = ruleset(ctx, fd)?;
    let Some(rs) = f.object_as::<Ruleset>() else {
        return Err(Errno::EBADFD);
    };
    match rule_type {
        ll::RULE_PATH_BENEATH => {
            // struct landlock_path_beneath_attr (packed): u64 allowed_access, s32 parent_fd.
            let mut raw = [0u8; 12];
            ctx.copy_in(attr, &mut raw)?;
            let access = u64::from_ne_bytes(raw[..8].try_into().unwrap_or_default());
            let parent = i32::from_ne_bytes(raw[8..].try_into().unwrap_or_default());
            let handled = rs.layer.lock().handled_fs;
            if access == 0 {
                return Err(Errno::ENOMSG);
            }
            if access | handled != handled {
                return Err(Errno::EINVAL);
            }
            let pf = ctx.file(parent)?;
            if pf.object_as::<Ruleset>().is_some() {
                return Err(Errno::EBADFD);
            }
            let d = pf.dentry().ok_or(Errno::EBADFD)?;
            rs.layer.lock().add_path_rule(&d, access)?;
        }
        ll::RULE_NET_PORT => {
            // struct landlock_net_port_attr: u64 allowed_access, u64 port.
            let mut raw = [0u8; 16];
            ctx.copy_in(attr, &mut raw)?;
            let access = u64::from_ne_bytes(raw[..8].try_into().unwrap_or_default());
            let port = u64::from_ne_bytes(raw[8..].try_into().unwrap_or_default());
            let handled = rs.layer.lock().handled_net;
            if access == 0 {
                return Err(Errno::ENOMSG);
            }
            if access | handled != handled {
                return Err(Errno::EINVAL);
            }
            let port = u16::try_from(port).map_err(|_| Errno::EINVAL)?;
            rs.layer.lock().add_port_rule(port, access);
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// `landlock_restrict_self(ruleset_fd, flags)`: stacks the ruleset on the caller's domain;
/// needs `no_new_privs` or `CAP_SYS_ADMIN` (`EPERM`).
pub(crate) fn sys_landlock_restrict_self(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let (fd, flags) = (a.i32(0), a.u32(1));
    if !ctx.proc.no_new_privs && !ctx.proc.cred.caps.has(crate::caps::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if flags & !ll::MASK_RESTRICT_SELF != 0 {
        return Err(Errno::EINVAL);
    }
    // Only the logging of later domains changes: uml logs nothing.
    if fd == -1 && flags == ll::RESTRICT_SELF_LOG_SUBDOMAINS_OFF {
        return Ok(0);
    }
    let f = ruleset(ctx, fd)?;
    let layer = f
        .object_as::<Ruleset>()
        .ok_or(Errno::EBADFD)?
        .layer
        .lock()
        .clone();
    let dom = Domain::stacked(ctx.proc.landlock.as_deref(), layer)?;
    ctx.proc.landlock = Some(Arc::new(dom));
    Ok(0)
}

/// `EACCES` unless the caller's domain lets it `bind` (`connect`) TCP port `port`.
pub(crate) fn port_check(p: &Process, access: u64, port: u16) -> Result<(), Errno> {
    match &p.landlock {
        Some(dom) => dom.check_port(access, port),
        None => Ok(()),
    }
}

/// Whether a process in domain `from` may signal `to` under `LANDLOCK_SCOPE_SIGNAL`
/// (Linux's `hook_task_kill`).
pub(crate) fn may_signal(from: Option<&Domain>, to: &Process) -> bool {
    match from {
        Some(dom) => dom.reaches(to.landlock.as_deref(), ll::SCOPE_SIGNAL),
        None => true,
    }
}
