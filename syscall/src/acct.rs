//! BSD process accounting (`acct(2)`, Linux's `CONFIG_BSD_PROCESS_ACCT_V3`): while a file
//! is named, every process that ends appends a `struct acct_v3` record of itself to it.
//!
//! `acct(path)` takes `CAP_SYS_PACCT` (`EPERM`, before the path is looked at) and opens
//! the file for appending as the caller (the open's errnos: `ENOENT`, `EISDIR`, `EROFS`,
//! `EACCES`, `ELOOP`...); it must be a regular file (`EACCES`). `acct(NULL)` stops
//! accounting. As on Linux, stopping or switching files first writes a record of the
//! caller (alive: no exit code, no times) to the file it leaves.
//!
//! A record (64 bytes, Linux's `fill_ac`): flags (`AFORK` for a process that never
//! exec'd, `ACORE`, `AXSIG`), version 3, the exit code as `wait` reports it, the real
//! uid and gid, pid and parent's pid, creation time (seconds since the epoch), elapsed
//! time as an IEEE float of 1/100 s, user and system time (`comp_t`: 13-bit mantissa,
//! base-8 exponent, in 1/100 s), the command name. Known gaps: the terminal, average
//! memory, page-fault and I/O counts are 0 (uml counts none of them per process), all of
//! the CPU time is user time, and accounting is not suspended when the file system runs
//! short of space.

use std::io::IoSlice;

use abi::flags::OFlags;
use abi::{Errno, SysResult};
use vfs::FileRef;

use crate::process::{ExitStatus, Process, ProcessTable};
use crate::{Args, Ctx};

/// `CAP_SYS_PACCT`.
const CAP_SYS_PACCT: u32 = 20;
/// `ACCT_VERSION` (little-endian: `ACCT_BYTEORDER` 0).
const ACCT_VERSION: u8 = 3;
/// `ac_flag` bits.
const AFORK: u8 = 0x01;
const ACORE: u8 = 0x08;
const AXSIG: u8 = 0x10;
/// `AHZ`: the unit of the times, per second.
const AHZ: u64 = 100;
/// `sizeof(struct acct_v3)`.
const RECORD_SIZE: usize = 64;

/// `acct(2)`.
pub fn sys_acct(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    if !ctx.proc.cred.caps.has(CAP_SYS_PACCT) {
        return Err(Errno::EPERM);
    }
    let new = if a.raw(0) == 0 {
        None
    } else {
        let path = crate::fs::path_arg(ctx, a.addr(0))?;
        let flags = OFlags::WRONLY | OFlags::APPEND | OFlags::LARGEFILE;
        let f = ctx.vfs.open(ctx.at(&ctx.proc.cwd), &path, flags, 0)?;
        if !f.is_regular() {
            return Err(Errno::EACCES);
        }
        Some(f)
    };
    if let Some(old) = std::mem::replace(&mut ctx.procs.acct, new) {
        write(&old, &record(ctx.proc, None));
    }
    Ok(0)
}

/// Process `proc` ended with `status`: its record, if accounting is on.
pub(crate) fn process_ended(procs: &ProcessTable, proc: &Process, status: ExitStatus) {
    if let Some(f) = &procs.acct {
        write(f, &record(proc, Some(status)));
    }
}

/// Appends `rec` (a failed write loses it, as Linux's).
fn write(f: &FileRef, rec: &[u8]) {
    let _ = f.write(&[IoSlice::new(rec)]);
}

/// The `struct acct_v3` of `p`, which ended with `status` (`None`: still running).
fn record(p: &Process, status: Option<ExitStatus>) -> [u8; RECORD_SIZE] {
    let elapsed = crate::time::since_boot().saturating_sub(p.start_time);
    let elapsed_ahz = elapsed.as_nanos() as u64 / (1_000_000_000 / AHZ);
    let now = nondet::ktime_get_real()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
        .saturating_add(crate::clock::realtime_offset());
    let btime = (now / 1_000_000_000) as i64 - (elapsed_ahz / AHZ) as i64;
    let mut flag = 0;
    let (exitcode, utime) = match status {
        Some(s) => {
            if !p.did_exec {
                flag |= AFORK;
            }
            if let ExitStatus::Signaled(_, core) = s {
                flag |= AXSIG | if core { ACORE } else { 0 };
            }
            (s.wait_status() as u32, p.cpu_ns / (1_000_000_000 / AHZ))
        }
        None => (0, 0),
    };
    let mut r = [0u8; RECORD_SIZE];
    r[0] = flag;
    r[1] = ACCT_VERSION;
    let words = [
        exitcode,
        p.cred.uid,
        p.cred.gid,
        p.pid as u32,
        p.ppid as u32,
        btime.clamp(0, i64::from(u32::MAX)) as u32,
        encode_float(elapsed_ahz),
    ];
    for (i, w) in words.iter().enumerate() {
        r[4 + 4 * i..8 + 4 * i].copy_from_slice(&w.to_le_bytes());
    }
    // ac_utime; ac_stime, ac_mem, ac_io, ac_rw, ac_minflt, ac_majflt, ac_swaps are 0.
    r[32..34].copy_from_slice(&encode_comp_t(utime).to_le_bytes());
    let n = p.comm.len().min(15);
    r[48..48 + n].copy_from_slice(&p.comm[..n]);
    r
}

/// Linux's `encode_comp_t`: 13-bit mantissa, 3-bit base-8 exponent, rounded; `0xffff`
/// when it does not fit.
fn encode_comp_t(mut value: u64) -> u16 {
    const MANT: u32 = 13;
    const MAXFRACT: u64 = (1 << MANT) - 1;
    let (mut exp, mut round) = (0u32, false);
    while value > MAXFRACT {
        round = value & 4 != 0;
        value >>= 3;
        exp += 1;
    }
    if round {
        value += 1;
        if value > MAXFRACT {
            value >>= 3;
            exp += 1;
        }
    }
    if exp > 7 {
        return u16::MAX;
    }
    ((exp << MANT) as u16) + value as u16
}

/// Linux's `encode_float`: `value` as the bits of an IEEE single, the mantissa truncated.
fn encode_float(value: u64) -> u32 {
    if value == 0 {
        return 0;
    }
    // Normalized so that the top bit is set: the 23 bits below it are the mantissa.
    let shift = value.leading_zeros();
    let mant = ((value << shift) >> 40) as u32 & 0x7f_ffff;
    mant | ((190 - shift) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comp_t_is_linux_s() {
        assert_eq!(encode_comp_t(0), 0);
        assert_eq!(encode_comp_t(8191), 8191);
        // 8192 = 1024 * 8: mantissa 1024, exponent 1.
        assert_eq!(encode_comp_t(8192), (1 << 13) | 1024);
        // 8196 >> 3 = 1024, bit 2 set: rounds up.
        assert_eq!(encode_comp_t(8196), (1 << 13) | 1025);
        assert_eq!(encode_comp_t(u64::MAX), u16::MAX);
    }

    #[test]
    fn float_is_ieee_truncated() {
        for v in [1u64, 2, 3, 100, 12345, 1 << 30, (1 << 24) + 1] {
            let want = (v as f32).to_bits();
            let got = encode_float(v);
            // Truncation differs from rounding by at most one unit in the last place.
            assert!(want.abs_diff(got) <= 1, "{v}: {want:#x} {got:#x}");
            assert!(f32::from_bits(got) as u64 <= v);
        }
        assert_eq!(f32::from_bits(encode_float(100)), 100.0);
        assert_eq!(encode_float(0), 0);
    }
}
