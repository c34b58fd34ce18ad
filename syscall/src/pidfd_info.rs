//! `ioctl(pidfd, PIDFD_GET_INFO, struct pidfd_info *)` (Linux 6.13+, pidfs): who a pidfd's
//! process is — pid, thread group, parent, the eight ids — and, once it has been reaped,
//! how it ended (`PIDFD_INFO_EXIT`).
//!
//! As Linux's `pidfd_info`: the request's size is in the command (`_IOWR(0xFF, 11, ...)`);
//! a command of that number with another direction or type, or a size below the first
//! version's 64 bytes, is not this request (`ENOTTY`); a null pointer is `EINVAL`. The
//! caller's `mask` asks for the optional parts; the answer's `mask` says what it holds. A
//! reaped process has only its exit left: without `PIDFD_INFO_EXIT` in the request that is
//! `ESRCH`. The answer is cut to the caller's size, or zero-filled past the kernel's.
//! A process outside the caller's pid namespace is `EREMOTE`. Known gaps: no cgroup id (uml has no cgroups) and no core dump information.

use abi::{Errno, SysResult, UserAddr};

use crate::Ctx;

/// `PIDFD_GET_INFO`'s type and number (`_IOWR(PIDFS_IOCTL_MAGIC, 11, ...)`).
const PIDFS_IOCTL_MAGIC: u32 = 0xff;
const GET_INFO_NR: u32 = 11;
/// `_IOC_READ | _IOC_WRITE`.
const IOC_READ_WRITE: u32 = 3;
/// `PIDFD_INFO_SIZE_VER0`, and the size of uml's `struct pidfd_info` (`VER1`).
const SIZE_VER0: usize = 64;
const SIZE: usize = 72;
/// `mask` bits.
const PIDFD_INFO_PID: u64 = 1 << 0;
const PIDFD_INFO_CREDS: u64 = 1 << 1;
const PIDFD_INFO_EXIT: u64 = 1 << 3;

/// The pidfd request `cmd` on process `pid`, or `None` if `cmd` is not one.
pub(crate) fn ioctl(ctx: &mut Ctx<'_>, pid: i32, cmd: u32, arg: UserAddr) -> Option<SysResult> {
    let (dir, size, kind, nr) = (
        cmd >> 30,
        (cmd >> 16) & 0x3fff,
        (cmd >> 8) & 0xff,
        cmd & 0xff,
    );
    if nr != GET_INFO_NR {
        return None;
    }
    if dir != IOC_READ_WRITE || kind != PIDFS_IOCTL_MAGIC || (size as usize) < SIZE_VER0 {
        return Some(Err(Errno::ENOTTY));
    }
    Some(get_info(ctx, pid, size as usize, arg))
}

fn get_info(ctx: &mut Ctx<'_>, pid: i32, usize_: usize, arg: UserAddr) -> SysResult {
    if arg.0 == 0 {
        return Err(Errno::EINVAL);
    }
    let asked: u64 = ctx.read_val(arg)?;
    // A process outside the caller's pid namespace is another's to ask about, reaped or
    // not (`EREMOTE` since Linux 6.18.14).
    if ctx.pid_seen(pid) == 0 {
        return Err(Errno::EREMOTE);
    }
    let mut mask = 0u64;
    let mut info = [0u8; SIZE];
    let put = |info: &mut [u8; SIZE], at: usize, v: u32| {
        info[at..at + 4].copy_from_slice(&v.to_le_bytes());
    };
    let proc = if pid == ctx.proc.pid {
        Some(&*ctx.proc)
    } else {
        ctx.procs.get(pid)
    };
    match proc {
        Some(p) => {
            let c = &p.cred;
            let ids = [p.pid, p.pid, p.ppid].map(|id| ctx.pid_seen(id));
            for (i, v) in ids.iter().enumerate() {
                put(&mut info, 16 + 4 * i, *v as u32);
            }
            let creds = [
                c.uid, c.gid, c.euid, c.egid, c.suid, c.sgid, c.fsuid, c.fsgid,
            ];
            for (i, v) in creds.iter().enumerate() {
                put(&mut info, 28 + 4 * i, *v);
            }
            mask |= PIDFD_INFO_PID | PIDFD_INFO_CREDS;
        }
        // Reaped: only how it ended is left.
        None if asked & PIDFD_INFO_EXIT == 0 => return Err(Errno::ESRCH),
        None => {
            if let Some(&status) = ctx.procs.exit_codes.get(&pid) {
                put(&mut info, 60, status as u32);
                mask |= PIDFD_INFO_EXIT;
            }
        }
    }
    info[..8].copy_from_slice(&mask.to_le_bytes());
    let mut out = info.to_vec();
    out.resize(usize_, 0);
    ctx.copy_out(arg, &out)?;
    Ok(0)
}
