//! Setting the instance's clock: `clock_settime`, `settimeofday`, `adjtimex` and
//! `clock_adjtime`.
//!
//! The guest's `CLOCK_REALTIME` (and `CLOCK_TAI`) is the host's plus an offset
//! ([`crate::clock::set_realtime`]); setting it moves only the instance's clocks, never the
//! host's, so a guest with `CAP_SYS_TIME` may set it at will. The other clocks cannot be set
//! (`EINVAL`), as on Linux. `settimeofday`'s time zone is kept and `gettimeofday` reports
//! it.
//!
//! `adjtimex` keeps the NTP parameters of the instance (Linux's `ntp_data`): a read returns
//! them with the current time, and the clock state (`TIME_ERROR` while `STA_UNSYNC` is
//! set, as after boot; `TIME_OK` otherwise); a change needs `CAP_SYS_TIME` and is checked
//! as Linux's `timekeeping_validate_timex` checks it (`ADJ_TICK` within 10% of 10000 µs,
//! `ADJ_OFFSET_SINGLESHOT` alone, a normalised `ADJ_SETOFFSET`, a frequency that cannot
//! overflow). `ADJ_SETOFFSET` moves the clock; the frequency, offset and tick are kept and
//! reported but do not change the clock's rate (uml follows the host's rate), and no leap
//! second is ever inserted or deleted.

use parking_lot::Mutex;

use abi::flags::clock;
use abi::structs::{Timespec, Timeval};
use abi::{Errno, SysResult, UserAddr};

use crate::caps::CAP_SYS_TIME;
use crate::{Args, Ctx};

const NSEC: i128 = 1_000_000_000;
/// The latest time `settimeofday` accepts (Linux's `TIME_SETTOD_SEC_MAX`: `KTIME_SEC_MAX`
/// less 30 years of uptime).
const SETTOD_SEC_MAX: i64 = i64::MAX / 1_000_000_000 - 30 * 365 * 86_400;

/// `ADJ_*` mode bits.
const ADJ_OFFSET: u32 = 0x0001;
const ADJ_FREQUENCY: u32 = 0x0002;
const ADJ_MAXERROR: u32 = 0x0004;
const ADJ_ESTERROR: u32 = 0x0008;
const ADJ_STATUS: u32 = 0x0010;
const ADJ_TIMECONST: u32 = 0x0020;
const ADJ_TAI: u32 = 0x0080;
const ADJ_SETOFFSET: u32 = 0x0100;
const ADJ_MICRO: u32 = 0x1000;
const ADJ_NANO: u32 = 0x2000;
const ADJ_TICK: u32 = 0x4000;
const ADJ_ADJTIME: u32 = 0x8000;
const ADJ_OFFSET_READONLY: u32 = 0x2000;
/// `STA_*` status bits: unsynchronised, nanosecond resolution, and the read-only ones.
const STA_UNSYNC: i32 = 0x0040;
const STA_NANO: i32 = 0x2000;
const STA_RONLY: i32 = 0x0100 | 0x0200 | 0x0400 | 0x0800 | 0x1000 | 0x2000 | 0x4000 | 0x8000;
/// `TIME_OK`, `TIME_ERROR`.
const TIME_OK: i64 = 0;
const TIME_ERROR: i64 = 5;
/// `USER_HZ`: `ADJ_TICK` must be within 10% of a tick of this rate.
const USER_HZ: i64 = 100;
/// `PPM_SCALE`: the scale of `freq` (parts per million, 16 fraction bits).
const PPM_SCALE: i64 = 1 << 16;
/// `NTP_PHASE_LIMIT` in µs: the error bound of an unsynchronised clock.
const NTP_PHASE_LIMIT: i64 = 16_000_000;
/// `MAXFREQ_SCALED / PPM_SCALE`: the tolerance reported, scaled.
const TOLERANCE: i64 = 500 << 16;

/// `struct timex`, field by field (its padding is always written as zeros).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Timex {
    modes: u32,
    offset: i64,
    freq: i64,
    maxerror: i64,
    esterror: i64,
    status: i32,
    constant: i64,
    precision: i64,
    tolerance: i64,
    time: (i64, i64),
    tick: i64,
    tai: i32,
}

/// `sizeof(struct timex)`.
const TIMEX_SIZE: usize = 208;

impl Timex {
    fn parse(b: &[u8; TIMEX_SIZE]) -> Timex {
        let i64_at = |i: usize| i64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        let i32_at = |i: usize| i32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4]));
        Timex {
            modes: i32_at(0) as u32,
            offset: i64_at(8),
            freq: i64_at(16),
            maxerror: i64_at(24),
            esterror: i64_at(32),
            status: i32_at(40),
            constant: i64_at(48),
            precision: i64_at(56),
            tolerance: i64_at(64),
            time: (i64_at(72), i64_at(80)),
            tick: i64_at(88),
            tai: i32_at(160),
        }
    }

    fn to_bytes(self) -> [u8; TIMEX_SIZE] {
        let mut b = [0u8; TIMEX_SIZE];
        let mut put = |i: usize, v: &[u8]| b[i..i + v.len()].copy_from_slice(v);
        put(0, &self.modes.to_le_bytes());
        put(8, &self.offset.to_le_bytes());
        put(16, &self.freq.to_le_bytes());
        put(24, &self.maxerror.to_le_bytes());
        put(32, &self.esterror.to_le_bytes());
        put(40, &self.status.to_le_bytes());
        put(48, &self.constant.to_le_bytes());
        put(56, &self.precision.to_le_bytes());
        put(64, &self.tolerance.to_le_bytes());
        put(72, &self.time.0.to_le_bytes());
        put(80, &self.time.1.to_le_bytes());
        put(88, &self.tick.to_le_bytes());
        put(160, &self.tai.to_le_bytes());
        b
    }
}

/// The instance's NTP parameters and time zone.
struct State {
    /// `time_offset` (ns), `time_freq` (scaled ppm), `time_maxerror`, `time_esterror`
    /// (µs), `time_status`, `time_constant`, `tick_usec`, `time_tai`.
    offset: i64,
    freq: i64,
    maxerror: i64,
    esterror: i64,
    status: i32,
    constant: i64,
    tick: i64,
    tai: i32,
    /// `sys_tz`: minutes west of Greenwich and the DST type.
    tz: [i32; 2],
}

static STATE: Mutex<State> = Mutex::new(State {
    offset: 0,
    freq: 0,
    maxerror: NTP_PHASE_LIMIT,
    esterror: NTP_PHASE_LIMIT,
    status: STA_UNSYNC,
    constant: 2,
    tick: 1_000_000 / USER_HZ,
    tai: 0,
    tz: [0, 0],
});

/// The time zone `settimeofday` set (`struct timezone`), which `gettimeofday` reports.
pub(crate) fn timezone() -> [i32; 2] {
    STATE.lock().tz
}

fn ns_of(sec: i64, sub_ns: i64) -> i128 {
    i128::from(sec) * NSEC + i128::from(sub_ns)
}

/// The instance's `CLOCK_MONOTONIC` now, in ns: the wall clock may not be set before it
/// (Linux's check against `wall_to_monotonic`).
fn monotonic_ns(ctx: &mut Ctx<'_>) -> Result<i128, Errno> {
    let m = crate::clock::now(ctx.mm, clock::MONOTONIC)?;
    Ok(ns_of(m.tv_sec, m.tv_nsec))
}

/// Sets the wall clock to `ts` (already read): Linux's `do_sys_settimeofday64` checks.
fn settod(ctx: &mut Ctx<'_>, ts: &Timespec) -> Result<(), Errno> {
    if !(0..1_000_000_000).contains(&ts.tv_nsec) || !(0..=SETTOD_SEC_MAX).contains(&ts.tv_sec) {
        return Err(Errno::EINVAL);
    }
    if !ctx.proc.cred.caps.has(CAP_SYS_TIME) {
        return Err(Errno::EPERM);
    }
    let ns = ns_of(ts.tv_sec, ts.tv_nsec);
    if ns < monotonic_ns(ctx)? {
        return Err(Errno::EINVAL);
    }
    crate::clock::set_realtime(ctx.mm, ns, false);
    Ok(())
}

/// `clock_settime(clockid, tp)`: only `CLOCK_REALTIME` can be set.
pub(crate) fn sys_clock_settime(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let ts: Timespec = ctx.read_val(a.addr(1))?;
    if a.i32(0) != clock::REALTIME {
        return Err(Errno::EINVAL);
    }
    settod(ctx, &ts)?;
    Ok(0)
}

/// `settimeofday(tv, tz)`: either may be NULL.
pub(crate) fn sys_settimeofday(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let tv: Option<Timeval> = match a.addr(0) {
        p if p.is_null() => None,
        p => Some(ctx.read_val(p)?),
    };
    let tz: Option<[i32; 2]> = match a.addr(1) {
        p if p.is_null() => None,
        p => Some(ctx.read_val(p)?),
    };
    if let Some(tv) = tv {
        if !(0..1_000_000).contains(&tv.tv_usec) {
            return Err(Errno::EINVAL);
        }
    }
    if let Some([west, _]) = tz {
        if !(-15 * 60..=15 * 60).contains(&west) {
            return Err(Errno::EINVAL);
        }
    }
    if (tv.is_some() || tz.is_some()) && !ctx.proc.cred.caps.has(CAP_SYS_TIME) {
        return Err(Errno::EPERM);
    }
    if let Some(tz) = tz {
        STATE.lock().tz = tz;
    }
    if let Some(tv) = tv {
        let ts = Timespec {
            tv_sec: tv.tv_sec,
            tv_nsec: tv.tv_usec * 1000,
        };
        settod(ctx, &ts)?;
    }
    Ok(0)
}

/// Linux's `timekeeping_validate_timex`.
fn validate(ctx: &Ctx<'_>, t: &Timex) -> Result<(), Errno> {
    let root = ctx.proc.cred.caps.has(CAP_SYS_TIME);
    if t.modes & ADJ_ADJTIME != 0 {
        if t.modes & ADJ_OFFSET == 0
            || t.modes & !(ADJ_ADJTIME | ADJ_OFFSET | ADJ_OFFSET_READONLY) != 0
        {
            return Err(Errno::EINVAL);
        }
        if t.modes & ADJ_OFFSET_READONLY == 0 && !root {
            return Err(Errno::EPERM);
        }
    } else {
        if t.modes != 0 && !root {
            return Err(Errno::EPERM);
        }
        if t.modes & ADJ_TICK != 0 && !(900_000 / USER_HZ..=1_100_000 / USER_HZ).contains(&t.tick) {
            return Err(Errno::EINVAL);
        }
    }
    if t.modes & ADJ_SETOFFSET != 0 {
        if !root {
            return Err(Errno::EPERM);
        }
        let limit = if t.modes & ADJ_NANO != 0 {
            1_000_000_000
        } else {
            1_000_000
        };
        if !(0..limit).contains(&t.time.1) {
            return Err(Errno::EINVAL);
        }
    }
    if t.modes & ADJ_FREQUENCY != 0
        && (t.freq < i64::MIN / PPM_SCALE || t.freq > i64::MAX / PPM_SCALE)
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `adjtimex` on the instance's wall clock: applies `t`'s modes, returns the parameters
/// and the clock state.
fn adjtimex(ctx: &mut Ctx<'_>, buf: UserAddr) -> SysResult {
    let mut raw = [0u8; TIMEX_SIZE];
    ctx.copy_in(buf, &mut raw)?;
    let t = Timex::parse(&raw);
    validate(ctx, &t)?;
    if t.modes & ADJ_SETOFFSET != 0 {
        let sub = if t.modes & ADJ_NANO != 0 {
            t.time.1
        } else {
            t.time.1 * 1000
        };
        crate::clock::set_realtime(ctx.mm, ns_of(t.time.0, sub), true);
    }
    let now = crate::clock::now(ctx.mm, clock::REALTIME)?;
    let mut st = STATE.lock();
    if t.modes & ADJ_ADJTIME == 0 {
        if t.modes & ADJ_STATUS != 0 {
            st.status = (st.status & STA_RONLY) | (t.status & !STA_RONLY);
        }
        if t.modes & ADJ_NANO != 0 {
            st.status |= STA_NANO;
        }
        if t.modes & ADJ_MICRO != 0 {
            st.status &= !STA_NANO;
        }
        if t.modes & ADJ_FREQUENCY != 0 {
            st.freq = t.freq.clamp(-TOLERANCE, TOLERANCE);
        }
        if t.modes & ADJ_MAXERROR != 0 {
            st.maxerror = t.maxerror.clamp(0, NTP_PHASE_LIMIT);
        }
        if t.modes & ADJ_ESTERROR != 0 {
            st.esterror = t.esterror.clamp(0, NTP_PHASE_LIMIT);
        }
        if t.modes & ADJ_TIMECONST != 0 {
            st.constant = t.constant.clamp(0, 10);
        }
        if t.modes & ADJ_TAI != 0 && t.constant >= 0 {
            st.tai = t.constant as i32;
        }
        if t.modes & ADJ_OFFSET != 0 {
            let unit = if st.status & STA_NANO != 0 { 1 } else { 1000 };
            st.offset = t
                .offset
                .saturating_mul(unit)
                .clamp(-500_000_000, 500_000_000);
        }
        if t.modes & ADJ_TICK != 0 {
            st.tick = t.tick;
        }
    }
    let nano = st.status & STA_NANO != 0;
    let out = Timex {
        modes: t.modes,
        offset: if nano { st.offset } else { st.offset / 1000 },
        freq: st.freq,
        maxerror: st.maxerror,
        esterror: st.esterror,
        status: st.status,
        constant: st.constant,
        precision: 1,
        tolerance: TOLERANCE,
        time: (
            now.tv_sec,
            if nano {
                now.tv_nsec
            } else {
                now.tv_nsec / 1000
            },
        ),
        tick: st.tick,
        tai: st.tai,
    };
    let state = if st.status & STA_UNSYNC != 0 {
        TIME_ERROR
    } else {
        TIME_OK
    };
    drop(st);
    ctx.copy_out(buf, &out.to_bytes())?;
    Ok(state as u64)
}

/// `adjtimex(buf)`.
pub(crate) fn sys_adjtimex(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    adjtimex(ctx, a.addr(0))
}

/// `clock_adjtime(clockid, buf)`: the wall clock only; the other clocks cannot be adjusted
/// (`EOPNOTSUPP`), and ids that are no clock are `EINVAL`.
pub(crate) fn sys_clock_adjtime(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    match a.i32(0) {
        clock::REALTIME => adjtimex(ctx, a.addr(1)),
        id => {
            crate::time::host_clock(id)?;
            Err(Errno::EOPNOTSUPP)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timex_round_trips_in_linux_layout() {
        let t = Timex {
            modes: ADJ_TICK | ADJ_SETOFFSET,
            offset: -3,
            freq: 1 << 16,
            maxerror: 5,
            esterror: 6,
            status: STA_UNSYNC,
            constant: 2,
            precision: 1,
            tolerance: TOLERANCE,
            time: (7, 8),
            tick: 10_000,
            tai: 37,
        };
        let b = t.to_bytes();
        assert_eq!(&b[88..96], &10_000i64.to_le_bytes(), "tick at 88");
        assert_eq!(&b[160..164], &37i32.to_le_bytes(), "tai at 160");
        assert!(b[164..].iter().all(|&x| x == 0), "padding zero");
        assert_eq!(Timex::parse(&b), t);
    }
}
