//! Capabilities: the sets a process holds (permitted, effective, inheritable, bounding,
//! ambient) and its securebits, with Linux's rules for `capget`/`capset`, the
//! `prctl` capability operations (`PR_SET_KEEPCAPS`, `PR_CAPBSET_*`, `PR_CAP_AMBIENT`,
//! securebits), what a change of user ids does to them (`cap_emulate_setxuid`) and what
//! `execve` gives (root's programs get the bounding set; others keep their ambient set).
//!
//! Privilege checks in uml go by these sets for the set*id calls (`CAP_SETUID`,
//! `CAP_SETGID`), `setgroups`, and the capability calls themselves (`CAP_SETPCAP`); file
//! permission checks still go by fsuid 0 (the file capabilities follow fsuid as Linux's
//! `cap_fs_mask` does, but a root that drops `CAP_DAC_OVERRIDE` keeps its file access).
//! The sets are per process (Linux keeps them per thread).

use abi::{Errno, SysResult};

use crate::{Args, Ctx};

/// The highest capability this kernel knows (`CAP_CHECKPOINT_RESTORE`), as
/// `/proc/sys/kernel/cap_last_cap` says.
pub const CAP_LAST_CAP: u32 = 40;
/// Every capability.
pub const ALL: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;

/// `CAP_CHOWN`.
pub const CAP_CHOWN: u32 = 0;
/// `CAP_DAC_READ_SEARCH`.
pub const CAP_DAC_READ_SEARCH: u32 = 2;
/// `CAP_FOWNER`.
pub const CAP_FOWNER: u32 = 3;
/// `CAP_KILL`.
pub const CAP_KILL: u32 = 5;
/// `CAP_LINUX_IMMUTABLE`: set and clear the immutable and append-only inode flags.
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
/// `CAP_SETGID`.
pub const CAP_SETGID: u32 = 6;
/// `CAP_SETUID`.
pub const CAP_SETUID: u32 = 7;
/// `CAP_SETPCAP`.
pub const CAP_SETPCAP: u32 = 8;
/// `CAP_NET_BIND_SERVICE`.
pub const CAP_NET_BIND_SERVICE: u32 = 10;
/// `CAP_NET_BROADCAST`.
pub const CAP_NET_BROADCAST: u32 = 11;
/// `CAP_NET_ADMIN`.
pub const CAP_NET_ADMIN: u32 = 12;
/// `CAP_NET_RAW`.
pub const CAP_NET_RAW: u32 = 13;
/// `CAP_IPC_LOCK`.
pub const CAP_IPC_LOCK: u32 = 14;
/// `CAP_IPC_OWNER`.
pub const CAP_IPC_OWNER: u32 = 15;
/// `CAP_SYS_CHROOT`.
pub const CAP_SYS_CHROOT: u32 = 18;
/// `CAP_SYS_PTRACE`.
pub const CAP_SYS_PTRACE: u32 = 19;
/// `CAP_SYS_ADMIN`.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_SYS_BOOT`.
pub const CAP_SYS_BOOT: u32 = 22;
/// `CAP_SYS_NICE`.
pub const CAP_SYS_NICE: u32 = 23;
/// `CAP_SYS_RESOURCE`.
pub const CAP_SYS_RESOURCE: u32 = 24;
/// `CAP_SYS_TIME`.
pub const CAP_SYS_TIME: u32 = 25;
/// `CAP_SYS_TTY_CONFIG`.
pub const CAP_SYS_TTY_CONFIG: u32 = 26;
/// `CAP_CHECKPOINT_RESTORE`.
pub const CAP_CHECKPOINT_RESTORE: u32 = 40;
/// `CAP_SYSLOG`.
pub const CAP_SYSLOG: u32 = 34;

/// The file capabilities that follow the filesystem uid (`CAP_FS_MASK`): chown,
/// dac_override, dac_read_search, fowner, fsetid, linux_immutable, mknod, mac_override.
const FS_MASK: u64 = 0b1_1111 | (1 << 9) | (1 << 27) | (1 << 32);

/// `SECBIT_NOROOT`: root's programs get no capabilities from being root.
const SECBIT_NOROOT: u32 = 1 << 0;
/// `SECBIT_NO_SETUID_FIXUP`: id changes leave the sets alone.
const SECBIT_NO_SETUID_FIXUP: u32 = 1 << 2;
/// `SECBIT_KEEP_CAPS`: leaving uid 0 keeps the permitted set.
const SECBIT_KEEP_CAPS: u32 = 1 << 4;
/// Every securebit and its lock.
const SECBITS_ALL: u32 = 0xff;

/// A process's capability sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// What it may make effective.
    pub permitted: u64,
    /// What its checks go by.
    pub effective: u64,
    /// What an `execve` may pass on.
    pub inheritable: u64,
    /// The most any `execve` can give.
    pub bounding: u64,
    /// What an `execve` of an ordinary program keeps.
    pub ambient: u64,
    /// `SECBIT_*`.
    pub securebits: u32,
    /// The sets hold in a user namespace below the initial one (`CLONE_NEWUSER`): every
    /// object of uml belongs to the initial one, so [`Caps::has`] is false there.
    pub in_child_user_ns: bool,
}

impl Caps {
    /// The sets of a process started as `uid` (root: all, else none).
    pub fn of(uid: u32) -> Caps {
        let all = if uid == 0 { ALL } else { 0 };
        Caps {
            permitted: all,
            effective: all,
            inheritable: 0,
            bounding: ALL,
            ambient: 0,
            securebits: 0,
            in_child_user_ns: false,
        }
    }

    /// Whether `cap` is effective in the initial user namespace (Linux's `capable`).
    pub fn has(&self, cap: u32) -> bool {
        !self.in_child_user_ns && self.has_in_own_ns(cap)
    }

    /// Whether `cap` is effective in the process's own user namespace (Linux's
    /// `ns_capable` on what that namespace owns).
    pub fn has_in_own_ns(&self, cap: u32) -> bool {
        cap <= CAP_LAST_CAP && self.effective & (1 << cap) != 0
    }

    /// The process entered a user namespace it made: it holds every capability there.
    pub fn enter_child_user_ns(&mut self) {
        self.permitted = ALL;
        self.effective = ALL;
        self.bounding = ALL;
        self.in_child_user_ns = true;
    }

    /// After the user ids went from `old` (real, effective, saved, filesystem) to `new`
    /// (`cap_emulate_setxuid` and `cap_emulate_setfsuid`).
    pub fn after_setuid(&mut self, old: [u32; 4], new: [u32; 4]) {
        if self.securebits & SECBIT_NO_SETUID_FIXUP != 0 {
            return;
        }
        let any_root = |ids: [u32; 4]| ids[..3].contains(&0);
        if any_root(old) && !any_root(new) {
            if self.securebits & SECBIT_KEEP_CAPS == 0 {
                self.permitted = 0;
                self.effective = 0;
            }
            self.ambient = 0;
        }
        if old[1] == 0 && new[1] != 0 {
            self.effective = 0;
        }
        if old[1] != 0 && new[1] == 0 {
            self.effective = self.permitted;
        }
        if old[3] == 0 && new[3] != 0 {
            self.effective &= !FS_MASK;
        }
        if old[3] != 0 && new[3] == 0 {
            self.effective |= self.permitted & FS_MASK;
        }
    }

    /// The sets after `execve` by a process with real uid `uid` that runs with effective
    /// uid `euid` (`cap_bprm_creds_from_file` for a file without capabilities); `setid`:
    /// the file was set-user-ID or set-group-ID and took effect.
    pub fn after_exec(mut self, uid: u32, euid: u32, setid: bool) -> Caps {
        if setid {
            self.ambient = 0;
        }
        let root = self.securebits & SECBIT_NOROOT == 0 && (uid == 0 || euid == 0);
        self.permitted = if root {
            (self.inheritable | self.bounding) & self.bounding
        } else {
            self.ambient
        };
        self.effective = if root && euid == 0 {
            self.permitted
        } else {
            self.ambient
        };
        // KEEP_CAPS lasts until the next execve, unless locked.
        if self.securebits & (SECBIT_KEEP_CAPS << 1) == 0 {
            self.securebits &= !SECBIT_KEEP_CAPS;
        }
        self
    }
}

/// `_LINUX_CAPABILITY_VERSION_1`: one 32-bit word per set.
const VERSION_1: u32 = 0x1998_0330;
/// `_LINUX_CAPABILITY_VERSION_2` (deprecated) and `_3`: two words per set.
const VERSION_2: u32 = 0x2007_1026;
const VERSION_3: u32 = 0x2008_0522;

/// The words per set of header `hdr`'s version; an unknown version is answered with the
/// kernel's preferred one written back and `EINVAL`.
fn words(ctx: &mut Ctx<'_>, hdr: abi::UserAddr) -> Result<usize, Errno> {
    let version: u32 = ctx.read_val(hdr)?;
    match version {
        VERSION_1 => Ok(1),
        VERSION_2 | VERSION_3 => Ok(2),
        _ => {
            ctx.write_val(hdr, &VERSION_3)?;
            Err(Errno::EINVAL)
        }
    }
}

/// `capget(hdr, data)`: the sets of `hdr.pid` (0: the caller).
pub(crate) fn sys_capget(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let hdr = a.addr(0);
    let n = words(ctx, hdr)?;
    let pid: i32 = ctx.read_val(hdr.checked_add(4).ok_or(Errno::EFAULT)?)?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let caps = if pid == 0 || pid == ctx.proc.pid {
        ctx.proc.cred.caps
    } else {
        ctx.procs.get(pid).ok_or(Errno::ESRCH)?.cred.caps
    };
    let data = a.addr(1);
    if data.is_null() {
        return Ok(0);
    }
    for i in 0..n {
        let word = |set: u64| (set >> (32 * i)) as u32;
        let d = [
            word(caps.effective),
            word(caps.permitted),
            word(caps.inheritable),
        ];
        ctx.write_val(data.checked_add(12 * i as u64).ok_or(Errno::EFAULT)?, &d)?;
    }
    Ok(0)
}

/// `capset(hdr, data)`: only the caller's own sets; the new permitted set within the old,
/// the effective within the new permitted, the inheritable within the old inheritable and
/// permitted (any, with `CAP_SETPCAP`) and the bounding set.
pub(crate) fn sys_capset(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let hdr = a.addr(0);
    let n = words(ctx, hdr)?;
    let pid: i32 = ctx.read_val(hdr.checked_add(4).ok_or(Errno::EFAULT)?)?;
    if pid != 0 && pid != ctx.proc.pid {
        return Err(Errno::EPERM);
    }
    let data = a.addr(1);
    let (mut eff, mut prm, mut inh) = (0u64, 0u64, 0u64);
    for i in 0..n {
        let d: [u32; 3] = ctx.read_val(data.checked_add(12 * i as u64).ok_or(Errno::EFAULT)?)?;
        eff |= u64::from(d[0]) << (32 * i);
        prm |= u64::from(d[1]) << (32 * i);
        inh |= u64::from(d[2]) << (32 * i);
    }
    let (eff, prm, inh) = (eff & ALL, prm & ALL, inh & ALL);
    let c = &mut ctx.proc.cred.caps;
    let setpcap = c.has(CAP_SETPCAP);
    if !setpcap && inh & !(c.inheritable | c.permitted) != 0 {
        return Err(Errno::EPERM);
    }
    if inh & !(c.inheritable | c.bounding) != 0 {
        return Err(Errno::EPERM);
    }
    if prm & !c.permitted != 0 || eff & !prm != 0 {
        return Err(Errno::EPERM);
    }
    c.effective = eff;
    c.permitted = prm;
    c.inheritable = inh;
    // Ambient capabilities must stay permitted and inheritable.
    c.ambient &= prm & inh;
    Ok(0)
}

const PR_CAPBSET_READ: i32 = 23;
const PR_CAPBSET_DROP: i32 = 24;
const PR_GET_KEEPCAPS: i32 = 7;
const PR_SET_KEEPCAPS: i32 = 8;
const PR_GET_SECUREBITS: i32 = 27;
const PR_SET_SECUREBITS: i32 = 28;
const PR_CAP_AMBIENT: i32 = 47;

/// The capability `prctl` operations, `None` for any other option.
pub(crate) fn prctl(ctx: &mut Ctx<'_>, option: i32, a: &Args) -> Option<SysResult> {
    let arg = a.raw(1);
    let c = &mut ctx.proc.cred.caps;
    let cap = || {
        u32::try_from(arg)
            .ok()
            .filter(|&n| n <= CAP_LAST_CAP)
            .ok_or(Errno::EINVAL)
    };
    Some(match option {
        PR_GET_KEEPCAPS => Ok(u64::from(c.securebits & SECBIT_KEEP_CAPS != 0)),
        // Linux's cap_task_prctl does not look at the other arguments (libcap passes junk).
        PR_SET_KEEPCAPS => match arg {
            0 | 1 if c.securebits & (SECBIT_KEEP_CAPS << 1) != 0 => Err(Errno::EPERM),
            0 => {
                c.securebits &= !SECBIT_KEEP_CAPS;
                Ok(0)
            }
            1 => {
                c.securebits |= SECBIT_KEEP_CAPS;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        },
        PR_CAPBSET_READ => cap().map(|n| u64::from(c.bounding & (1 << n) != 0)),
        PR_CAPBSET_DROP => cap().and_then(|n| {
            if !c.has(CAP_SETPCAP) {
                return Err(Errno::EPERM);
            }
            c.bounding &= !(1 << n);
            Ok(0)
        }),
        PR_GET_SECUREBITS => Ok(u64::from(c.securebits)),
        PR_SET_SECUREBITS => {
            let bits = u32::try_from(arg).map_err(|_| Errno::EINVAL);
            bits.and_then(|bits| {
                // Locked bits cannot change; only known bits exist.
                let locked = (c.securebits >> 1) & 0x55;
                if bits & !SECBITS_ALL != 0 {
                    return Err(Errno::EINVAL);
                }
                if (bits ^ c.securebits) & (locked | locked << 1) != 0 || !c.has(CAP_SETPCAP) {
                    return Err(Errno::EPERM);
                }
                c.securebits = bits;
                Ok(0)
            })
        }
        PR_CAP_AMBIENT => ambient(c, a),
        _ => return None,
    })
}

/// `prctl(PR_CAP_AMBIENT, op, cap, 0, 0)`.
fn ambient(c: &mut Caps, a: &Args) -> SysResult {
    const IS_SET: u64 = 1;
    const RAISE: u64 = 2;
    const LOWER: u64 = 3;
    const CLEAR_ALL: u64 = 4;
    let op = a.raw(1);
    if op == CLEAR_ALL {
        if a.raw(2) | a.raw(3) | a.raw(4) != 0 {
            return Err(Errno::EINVAL);
        }
        c.ambient = 0;
        return Ok(0);
    }
    if a.raw(3) | a.raw(4) != 0 {
        return Err(Errno::EINVAL);
    }
    let n = u32::try_from(a.raw(2))
        .ok()
        .filter(|&n| n <= CAP_LAST_CAP)
        .ok_or(Errno::EINVAL)?;
    let bit = 1u64 << n;
    match op {
        IS_SET => Ok(u64::from(c.ambient & bit != 0)),
        RAISE => {
            if c.permitted & c.inheritable & bit == 0 {
                return Err(Errno::EPERM);
            }
            c.ambient |= bit;
            Ok(0)
        }
        LOWER => {
            c.ambient &= !bit;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaving_root_drops_the_sets_unless_keepcaps() {
        let mut c = Caps::of(0);
        c.after_setuid([0, 0, 0, 0], [1000, 1000, 1000, 1000]);
        assert_eq!((c.permitted, c.effective), (0, 0));
        let mut k = Caps::of(0);
        k.securebits |= SECBIT_KEEP_CAPS;
        k.after_setuid([0, 0, 0, 0], [1000, 1000, 1000, 1000]);
        assert_eq!((k.permitted, k.effective), (ALL, 0));
        // A set-user-ID root program run by a user: effective back at euid 0.
        let mut s = Caps::of(0);
        s.after_setuid([1000, 0, 0, 0], [1000, 1000, 0, 1000]);
        assert_eq!((s.permitted, s.effective), (ALL, 0));
        s.after_setuid([1000, 1000, 0, 1000], [1000, 0, 0, 0]);
        assert_eq!(s.effective, ALL);
    }

    #[test]
    fn exec_gives_root_the_bounding_set_and_others_their_ambient_set() {
        let mut c = Caps::of(0);
        c.bounding &= !(1 << CAP_SETUID);
        let e = c.after_exec(0, 0, false);
        assert_eq!(e.effective, ALL & !(1 << CAP_SETUID));
        let mut u = Caps::of(1000);
        u.ambient = 1 << CAP_CHOWN;
        assert_eq!(u.after_exec(1000, 1000, false).effective, 1 << CAP_CHOWN);
        assert_eq!(u.after_exec(1000, 1000, true).effective, 0);
    }
}
