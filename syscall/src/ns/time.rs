//! Time namespaces: the offsets of `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` (and their
//! variants) a namespace's processes see, and `/proc/PID/timens_offsets`.
//!
//! A process in a namespace reads its clocks moved by the offsets (`clock_gettime`,
//! `sysinfo`, `/proc/uptime`: [`Ctx::time_offset`]) and gives absolute deadlines in them
//! (`clock_nanosleep`, `timerfd_settime`, `timer_settime`); its vDSO makes the syscall
//! ([`crate::exec::vdso::map_vvar`]). The offsets are set through the file of a process
//! whose children go to the namespace, until a process has entered it (`EACCES`).

use abi::flags::clock;
use abi::structs::Timespec;
use abi::Errno;

use super::{Data, Namespaces, Ns};
use crate::Ctx;

const NSEC: i128 = 1_000_000_000;
/// Linux's `KTIME_SEC_MAX`: the seconds a 64-bit nanosecond count holds.
const KTIME_SEC_MAX: i64 = i64::MAX / 1_000_000_000;
const CLOCK_BOOTTIME_ALARM: i32 = 9;

/// One time namespace.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimeNs {
    /// `CLOCK_MONOTONIC`'s offset, in ns.
    pub monotonic: i64,
    /// `CLOCK_BOOTTIME`'s offset, in ns.
    pub boottime: i64,
    /// Whether a process has entered it (its offsets are then fixed).
    pub entered: bool,
}

/// Time namespace `id` (`None` for the initial one).
fn get(spaces: &Namespaces, id: u64) -> Option<&TimeNs> {
    match spaces.get(id) {
        Some(Ns {
            data: Data::Time(t),
            ..
        }) => Some(t),
        _ => None,
    }
}

/// The offset of clock `id` in time namespace `ns`, in ns (0 for the clocks it does not
/// move).
pub(crate) fn offset(spaces: &Namespaces, ns: u64, id: i32) -> i128 {
    let t = get(spaces, ns).copied().unwrap_or_default();
    i128::from(match id {
        clock::MONOTONIC | clock::MONOTONIC_RAW | clock::MONOTONIC_COARSE => t.monotonic,
        clock::BOOTTIME | CLOCK_BOOTTIME_ALARM => t.boottime,
        _ => 0,
    })
}

/// `ts` moved by `offset` ns.
pub(crate) fn shift(ts: Timespec, offset: i128) -> Timespec {
    let ns = i128::from(ts.tv_sec) * NSEC + i128::from(ts.tv_nsec) + offset;
    Timespec {
        tv_sec: ns.div_euclid(NSEC) as i64,
        tv_nsec: ns.rem_euclid(NSEC) as i64,
    }
}

impl Ctx<'_> {
    /// The offset of clock `id` in the caller's time namespace, in ns.
    pub(crate) fn time_offset(&self, id: i32) -> i128 {
        offset(&self.procs.ns, self.proc.ns.time, id)
    }
}

/// The caller enters time namespace `ns` (a child at `fork`, or by `setns`): its offsets
/// are fixed from then on.
pub(crate) fn enter(ctx: &mut Ctx<'_>, ns: u64) -> Result<(), Errno> {
    if let Some(Ns {
        data: Data::Time(t),
        ..
    }) = ctx.procs.ns.get_mut(ns)
    {
        t.entered = true;
    }
    Ok(())
}

/// `/proc/PID/timens_offsets` of a process whose children go to time namespace `ns`.
pub(crate) fn offsets_file(spaces: &Namespaces, ns: u64) -> Vec<u8> {
    let t = get(spaces, ns).copied().unwrap_or_default();
    let line = |name: &str, ns: i64| {
        let ts = shift(Timespec::default(), i128::from(ns));
        format!("{name:<10} {:>10} {:>9}\n", ts.tv_sec, ts.tv_nsec)
    };
    (line("monotonic", t.monotonic) + &line("boottime", t.boottime)).into_bytes()
}

/// Parses what is written to `timens_offsets`: up to two lines `CLOCK SECONDS
/// NANOSECONDS`, the clock by name (`monotonic`, `boottime`) or id; `EINVAL` otherwise.
fn parse(data: &[u8]) -> Result<Vec<(i32, Timespec)>, Errno> {
    let text = std::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    let text = text.split('\0').next().unwrap_or("");
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.split('\n').take(2) {
        let mut words = line.split_ascii_whitespace();
        let (Some(c), Some(sec), Some(nsec)) = (words.next(), words.next(), words.next()) else {
            return Err(Errno::EINVAL);
        };
        let id = match c {
            "monotonic" => clock::MONOTONIC,
            "boottime" => clock::BOOTTIME,
            c if c == clock::MONOTONIC.to_string() => clock::MONOTONIC,
            c if c == clock::BOOTTIME.to_string() => clock::BOOTTIME,
            _ => return Err(Errno::EINVAL),
        };
        let sec: i64 = sec.parse().map_err(|_| Errno::EINVAL)?;
        let nsec: u64 = nsec.parse().map_err(|_| Errno::EINVAL)?;
        if nsec >= 1_000_000_000 {
            return Err(Errno::EINVAL);
        }
        out.push((
            id,
            Timespec {
                tv_sec: sec,
                tv_nsec: nsec as i64,
            },
        ));
    }
    Ok(out)
}

/// A write to `/proc/PID/timens_offsets`: sets the offsets of the time namespace process
/// `pid`'s children go to, as Linux's `proc_timens_set_offset`. `EINVAL` for a bad text,
/// `EPERM` without `CAP_SYS_TIME` over the namespace, `ERANGE` for an offset that puts the
/// clock below 0 or past half of what 64-bit nanoseconds hold, `EACCES` once a process
/// has entered the namespace (or for the initial one).
pub(crate) fn write_offsets(ctx: &mut Ctx<'_>, pid: i32, data: &[u8]) -> Result<(), Errno> {
    let offsets = parse(data)?;
    let ns = ctx.process(pid)?.ns.time_for_children;
    let spaces = &ctx.procs.ns;
    if !ctx.proc.cred.caps.has_in_own_ns(crate::caps::CAP_SYS_TIME)
        || !spaces.is_within(spaces.owner(ns), ctx.proc.ns.user)
    {
        return Err(Errno::EPERM);
    }
    for (id, off) in &offsets {
        if !(-KTIME_SEC_MAX..=KTIME_SEC_MAX).contains(&off.tv_sec) {
            return Err(Errno::ERANGE);
        }
        let now = crate::clock::now(ctx.mm, *id)?;
        let at = shift(now, i128::from(off.tv_sec) * NSEC + i128::from(off.tv_nsec));
        if at.tv_sec < 0 || at.tv_sec > KTIME_SEC_MAX / 2 {
            return Err(Errno::ERANGE);
        }
    }
    let t = match ctx.procs.ns.get_mut(ns) {
        Some(Ns {
            data: Data::Time(t),
            ..
        }) if !t.entered => t,
        _ => return Err(Errno::EACCES),
    };
    for (id, off) in offsets {
        let ns = off.tv_sec * 1_000_000_000 + off.tv_nsec;
        match id {
            clock::MONOTONIC => t.monotonic = ns,
            _ => t.boottime = ns,
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_as_linux_reads_them() {
        let p = parse(b"1 10 0").unwrap();
        assert_eq!((p[0].0, p[0].1.tv_sec), (clock::MONOTONIC, 10));
        let p = parse(b"boottime -5 7\nmonotonic 3 0\n").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].0, p[0].1.tv_sec, p[0].1.tv_nsec),
            (clock::BOOTTIME, -5, 7)
        );
        for bad in [
            &b""[..],
            b"0 1 0",
            b"1 1",
            b"1 1 1000000000",
            b"1 x 0",
            b"1 1 -1",
        ] {
            assert_eq!(parse(bad).err(), Some(Errno::EINVAL), "{bad:?}");
        }
    }

    #[test]
    fn shift_keeps_nanoseconds_in_range() {
        let ts = Timespec {
            tv_sec: 1,
            tv_nsec: 500_000_000,
        };
        let s = shift(ts, -2 * NSEC);
        assert_eq!((s.tv_sec, s.tv_nsec), (-1, 500_000_000));
    }
}
