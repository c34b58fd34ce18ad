//! Identity, system information, limits and randomness.

use abi::flags::rlimit as rl;
use abi::structs::{Rlimit, Sysinfo, Utsname};
use std::io::Read;

use abi::{Errno, SysResult};

use crate::{Args, Ctx};

pub(crate) fn sys_getpid(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    Ok(ctx.pid_seen(ctx.proc.pid) as u64)
}

pub(crate) fn sys_gettid(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    Ok(ctx.pid_seen(ctx.tid) as u64)
}

pub(crate) fn sys_getuid(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    Ok(ctx.proc.cred.uid.into())
}

pub(crate) fn sys_geteuid(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    Ok(ctx.proc.cred.euid.into())
}

pub(crate) fn sys_getgid(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    Ok(ctx.proc.cred.gid.into())
}

pub(crate) fn sys_getegid(ctx: &mut Ctx<'_>, _a: &Args) -> SysResult {
    Ok(ctx.proc.cred.egid.into())
}

/// The `utsname` the guest sees: the host's own, so programs that check the kernel
/// version see a real one (uml implements a subset of that version's ABI).
pub(crate) fn utsname() -> Utsname {
    fn field(s: &std::ffi::OsStr) -> [u8; 65] {
        let b = std::os::unix::ffi::OsStrExt::as_bytes(s);
        let mut f = [0u8; 65];
        let n = b.len().min(64);
        f[..n].copy_from_slice(&b[..n]);
        f
    }
    static UTS: std::sync::OnceLock<Utsname> = std::sync::OnceLock::new();
    *UTS.get_or_init(|| match nix::sys::utsname::uname() {
        Ok(u) => Utsname {
            sysname: field(u.sysname()),
            nodename: field(u.nodename()),
            release: field(u.release()),
            version: field(u.version()),
            machine: field(u.machine()),
            domainname: field(u.domainname()),
        },
        Err(_) => Utsname {
            sysname: field("Linux".as_ref()),
            nodename: field("uml".as_ref()),
            release: field("6.1.0".as_ref()),
            version: field("#1 SMP".as_ref()),
            machine: field("x86_64".as_ref()),
            domainname: field("(none)".as_ref()),
        },
    })
}

pub(crate) fn sys_uname(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let mut u = utsname();
    // The names are the instance's (`sethostname`, `/proc/sys/kernel/hostname`).
    let set = |f: &mut [u8; 65], v: &[u8]| {
        *f = [0; 65];
        f[..v.len().min(64)].copy_from_slice(&v[..v.len().min(64)]);
    };
    set(&mut u.nodename, &ctx.procs.sysctl.hostname);
    set(&mut u.domainname, &ctx.procs.sysctl.domainname);
    if ctx.proc.personality & abi::flags::personality::UNAME26 != 0 {
        let release = crate::personality::uname26_release(crate::procfs::sys::cstr(&u.release));
        set(&mut u.release, &release);
    }
    ctx.write_val(a.addr(0), &u)?;
    Ok(0)
}

pub(crate) fn sys_sysinfo(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let stats = ctx.mm.view().stats();
    let info = Sysinfo {
        // Whole seconds, rounded up (Linux's `do_sysinfo`).
        uptime: {
            let up = crate::time::uptime_in(&ctx.procs.ns, ctx.proc.ns.time);
            up.tv_sec + i64::from(up.tv_nsec != 0)
        },
        totalram: stats.total_bytes,
        freeram: stats.free_bytes,
        totalswap: ctx.procs.swaps.total_bytes(),
        freeswap: ctx.procs.swaps.total_bytes(),
        procs: ctx.procs.count(1) as u16,
        mem_unit: 1,
        ..Sysinfo::default()
    };
    ctx.write_val(a.addr(0), &info)?;
    Ok(0)
}

/// Gets and/or sets one limit of the calling process.
fn prlimit(ctx: &mut Ctx<'_>, resource: u32, new: Option<Rlimit>) -> Result<Rlimit, Errno> {
    let slot = ctx
        .proc
        .rlimits
        .get_mut(resource as usize)
        .ok_or(Errno::EINVAL)?;
    let old = *slot;
    if let Some(new) = new {
        if new.cur > new.max {
            return Err(Errno::EINVAL);
        }
        // Raising a hard limit needs CAP_SYS_RESOURCE, which a guest of uid != 0 lacks.
        if new.max > old.max && ctx.proc.cred.euid != 0 {
            return Err(Errno::EPERM);
        }
        if resource == rl::NOFILE && new.max > crate::fdtable::NR_OPEN_MAX {
            return Err(Errno::EPERM);
        }
        *slot = new;
    }
    Ok(old)
}

pub(crate) fn sys_prlimit64(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let pid = a.i32(0);
    if pid != 0 && pid != ctx.proc.pid {
        return Err(Errno::ESRCH);
    }
    let new = if a.addr(2).is_null() {
        None
    } else {
        Some(ctx.read_val::<Rlimit>(a.addr(2))?)
    };
    let old = prlimit(ctx, a.u32(1), new)?;
    if !a.addr(3).is_null() {
        ctx.write_val(a.addr(3), &old)?;
    }
    Ok(0)
}

pub(crate) fn sys_getrlimit(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let old = prlimit(ctx, a.u32(0), None)?;
    ctx.write_val(a.addr(1), &old)?;
    Ok(0)
}

pub(crate) fn sys_setrlimit(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let new = ctx.read_val::<Rlimit>(a.addr(1))?;
    prlimit(ctx, a.u32(0), Some(new))?;
    Ok(0)
}

/// `GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE`.
const GRND_MASK: u32 = 0x7;

pub(crate) fn sys_getrandom(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if a.u32(2) & !GRND_MASK != 0 || a.u32(2) & 0x6 == 0x6 {
        return Err(Errno::EINVAL);
    }
    let len = a.len(1).min(32 << 20);
    ctx.with_user_slices_mut(a.addr(0), len, |bufs| {
        let mut f = host_random();
        f.read_vectored(bufs)
    })?
    .map(|n| n as u64)
    .map_err(Errno::from)
}

/// The host's entropy source, opened once.
fn host_random() -> &'static std::fs::File {
    static RANDOM: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();
    RANDOM.get_or_init(|| std::fs::File::open("/dev/urandom").expect("the host has /dev/urandom"))
}
