//! The guest's clocks: one timekeeper that both the time syscalls and the vDSO (through its
//! data page, `[vvar]`) read, so that the two always agree and guest code reads the time
//! without a trap.
//!
//! Each clock the host keeps (`REALTIME`, `MONOTONIC`, `MONOTONIC_RAW`, `BOOTTIME`) is
//! published as a line over the CPU's time-stamp counter: its value at the counter value
//! `TSC_BASE`, and nanoseconds per tick (`MULT`, with `SHIFT` fraction bits); `TAI` is
//! `REALTIME` plus the host's whole-second offset, and the coarse clocks are the values at
//! `TSC_BASE`. The kernel refreshes the lines from the host's clocks before it resumes a
//! guest (at most every [`REFRESH_NS`] unless a time syscall or a sleep's end asks for it)
//! and the guest's time slice bounds how long a guest runs without one; in between, the vDSO
//! extrapolates.
//!
//! Invariants:
//! - No clock but `REALTIME` (and `TAI` with it) ever goes backwards, through either path:
//!   a refresh takes the counter value it starts the new lines at while the page's sequence
//!   count is odd (readers wait), and starts each line at its old line's value there or at
//!   the host clock's, whichever is later; slopes are never negative. A line running ahead
//!   of the host is slowed down ("slewed"), never stepped back.
//! - Right after a refresh every clock is at or after the host's, so a sleeper woken at the
//!   host's deadline (the kernel refreshes then) sees the deadline passed.
//! - `REALTIME` steps backwards only when the host's did (by more than 1 ms), or the guest
//!   set it back: the instance's `REALTIME` is the host's plus an offset that
//!   `clock_settime`, `settimeofday` and `adjtimex` set ([`set_realtime`]; the host's clock
//!   is never changed).
//! - The counter's rate is measured against each host clock over the time since the first
//!   sample; until that is 200 µs long, or if the host's counter is not
//!   invariant or ever goes backwards, `MODE` says so and the vDSO makes the syscall for
//!   all but the coarse clocks.

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::Mutex;

use abi::flags::clock;
use abi::structs::Timespec;
use abi::{Errno, PAGE_SIZE};
use mm::MmService;
use nix::time::ClockId;

use crate::exec::vdso::vvar;

/// Fraction bits of the published nanosecond values and rates (the page's `SHIFT`).
const FRAC_BITS: u32 = 32;
const NSEC: u128 = 1_000_000_000;
/// Least time between two refreshes that nobody asked for.
pub const REFRESH_NS: u64 = 1_000_000;
/// How long the counter's rate is measured before the vDSO uses it (its error is then a
/// few parts in 10^4, and shrinks as the measurement grows with every refresh).
const CALIBRATION_NS: u128 = 200_000;
/// A line running ahead of its host clock is slowed so that it would be back in this long.
const SLEW_NS: u128 = 20_000_000;
/// ... but by at most 2^-MAX_SLEW_SHIFT of its rate.
const MAX_SLEW_SHIFT: u32 = 6;
/// `REALTIME` ahead of the host's by more than this means the host's was set back.
const STEP_BACK_NS: u128 = 1_000_000;
/// Resolution of the coarse clocks (a 250 Hz tick, as Linux's `LOW_RES_NSEC` there).
pub const COARSE_RES_NS: u64 = 4_000_000;
/// A host sample that took more counter ticks than this is taken again (twice at most).
const MAX_SAMPLE_TICKS: u64 = 20_000;

/// The host clocks the lines follow, in line order.
const HOST_CLOCKS: [ClockId; 4] = [
    ClockId::CLOCK_REALTIME,
    ClockId::CLOCK_MONOTONIC,
    ClockId::CLOCK_MONOTONIC_RAW,
    ClockId::CLOCK_BOOTTIME,
];
const REALTIME: usize = 0;
const MONOTONIC: usize = 1;
const RAW: usize = 2;
const BOOTTIME: usize = 3;

/// One reading of the host's clocks: clock `i` read `ns[i]` right after counter value
/// `at[i]`.
#[derive(Clone, Copy)]
struct Sample {
    at: [u64; 4],
    ns: [u128; 4],
    /// `CLOCK_TAI - CLOCK_REALTIME`, whole seconds.
    tai_sec: u64,
}

fn host_ns(id: ClockId) -> u128 {
    nix::time::clock_gettime(id).map_or(0, |ts| {
        ts.tv_sec().max(0) as u128 * NSEC + ts.tv_nsec().max(0) as u128
    })
}

/// Reads the host's clocks, each right after the counter; retaken when it took long (the
/// host preempted us, or a first call was slow), keeping the quickest.
fn sample() -> Sample {
    let mut best: Option<(u64, Sample)> = None;
    for _ in 0..3 {
        let mut s = Sample {
            at: [0; 4],
            ns: [0; 4],
            tai_sec: 0,
        };
        for (i, id) in HOST_CLOCKS.into_iter().enumerate() {
            s.at[i] = trap::tsc::rdtsc();
            s.ns[i] = host_ns(id);
        }
        let tai = host_ns(ClockId::CLOCK_TAI);
        let width = trap::tsc::rdtsc().wrapping_sub(s.at[0]);
        s.tai_sec = ((tai.saturating_sub(s.ns[REALTIME]) + NSEC / 2) / NSEC) as u64;
        if best.is_none_or(|(w, _)| width < w) {
            best = Some((width, s));
        }
        if width <= MAX_SAMPLE_TICKS {
            break;
        }
    }
    best.map_or_else(|| unreachable!("sampled three times"), |(_, s)| s)
}

/// A clock as a line over the counter: `(base + (tsc - TSC_BASE) * mult) >> FRAC_BITS` ns.
#[derive(Clone, Copy, Default)]
struct Line {
    /// Nanoseconds at the base, shifted left by `FRAC_BITS`.
    base: u128,
    /// Nanoseconds per tick, shifted left by `FRAC_BITS`.
    mult: u64,
}

impl Line {
    fn at(&self, delta: u64) -> u128 {
        self.base + u128::from(delta) * u128::from(self.mult)
    }
}

struct Timekeeper {
    /// The host's counter is invariant (and has never gone backwards).
    tsc_ok: bool,
    /// The first sample: where the rates are measured from.
    first: Option<Sample>,
    /// Counter value of the current lines' base.
    tsc_base: u64,
    lines: [Line; 4],
    tai_sec: u64,
    /// Ticks per `REFRESH_NS` (a guess until measured).
    refresh_ticks: u64,
    /// The counter's rate is measured: `MODE_TSC`.
    calibrated: bool,
    /// The instance's `REALTIME` minus the host's, in ns: what `clock_settime`,
    /// `settimeofday` and `adjtimex` set (the host's clock is never changed).
    offset: i128,
}

static TIMEKEEPER: Mutex<Timekeeper> = Mutex::new(Timekeeper::new());

impl Timekeeper {
    const fn new() -> Timekeeper {
        Timekeeper {
            tsc_ok: false,
            first: None,
            tsc_base: 0,
            lines: [Line { base: 0, mult: 0 }; 4],
            tai_sec: 0,
            refresh_ticks: 1 << 21,
            calibrated: false,
            offset: 0,
        }
    }

    /// Nanoseconds per tick (shifted) of host clock `i` since the first sample, once that is
    /// long enough ago.
    fn rate(&self, s: &Sample, i: usize) -> Option<u64> {
        let first = self.first?;
        let ticks = s.at[i].checked_sub(first.at[i]).filter(|&t| t > 0)?;
        let ns = s.ns[i].checked_sub(first.ns[i])?;
        if ns < CALIBRATION_NS {
            return None;
        }
        let mult = (ns << FRAC_BITS) / u128::from(ticks);
        // Between 1/64 and 64 ns per tick (16 MHz .. 64 GHz); anything else is not a clock.
        let one = 1u128 << FRAC_BITS;
        ((one >> 6)..=(one << 6))
            .contains(&mult)
            .then_some(mult as u64)
    }

    /// Starts new lines at counter value `now` (taken after `s`) from the old lines and
    /// the host sample `s`.
    fn update(&mut self, s: &Sample, now: u64) {
        if self.first.is_none() {
            self.tsc_ok = trap::tsc::invariant();
            self.first = Some(*s);
        }
        let delta = now.checked_sub(self.tsc_base);
        if delta.is_none() && self.calibrated {
            // The counter went backwards: it cannot measure time on this host.
            self.tsc_ok = false;
        }
        let rates = [MONOTONIC, MONOTONIC, RAW, MONOTONIC].map(|r| self.rate(s, r));
        let calibrated = self.tsc_ok && rates.iter().all(Option::is_some);
        if let Some(r) = rates[RAW] {
            self.refresh_ticks = ((u128::from(REFRESH_NS) << FRAC_BITS) / u128::from(r)) as u64;
        }
        for (i, line) in self.lines.iter_mut().enumerate() {
            let rate = if calibrated { rates[i].unwrap_or(0) } else { 0 };
            let ours = line.at(delta.unwrap_or(0));
            // The host clock at `now`, from its reading just after `at[i]`.
            let elapsed = now.saturating_sub(s.at[i]);
            let host = (s.ns[i] << FRAC_BITS) + u128::from(elapsed) * u128::from(rate);
            let ahead = ours.saturating_sub(host);
            let step = host >= ours || (i == REALTIME && ahead > STEP_BACK_NS << FRAC_BITS);
            line.base = if step { host } else { ours };
            let slow = if step {
                0
            } else {
                (u128::from(rate) * (ahead >> FRAC_BITS) / SLEW_NS) as u64
            };
            line.mult = rate - slow.min(rate >> MAX_SLEW_SHIFT);
        }
        self.tsc_base = now;
        self.tai_sec = s.tai_sec;
        self.calibrated = calibrated;
    }

    /// The line of clock `id`: `None` for clocks that are not lines (CPU-time clocks) or
    /// not valid.
    fn clock(&self, id: i32) -> Option<Line> {
        let line = |i: usize| self.lines[i];
        Some(match id {
            clock::REALTIME => line(REALTIME),
            clock::MONOTONIC => line(MONOTONIC),
            clock::MONOTONIC_RAW => line(RAW),
            clock::BOOTTIME => line(BOOTTIME),
            clock::TAI => Line {
                base: line(REALTIME).base + ((u128::from(self.tai_sec) * NSEC) << FRAC_BITS),
                ..line(REALTIME)
            },
            clock::REALTIME_COARSE => Line {
                mult: 0,
                ..line(REALTIME)
            },
            clock::MONOTONIC_COARSE => Line {
                mult: 0,
                ..line(MONOTONIC)
            },
            _ => return None,
        })
    }

    /// Takes sample `s`, and starts the new lines in the data page `words` (if any) under
    /// its sequence count.
    fn refresh(&mut self, s: &Sample, words: Option<&[AtomicU64]>) {
        use vvar::*;
        let Some(words) = words else {
            return self.update(s, trap::tsc::rdtsc());
        };
        let seq = words[SEQ].load(Ordering::Relaxed);
        words[SEQ].store(seq.wrapping_add(1) | 1, Ordering::Relaxed);
        // Readers see the odd count before the counter value the new lines start at is
        // taken: a reader that did not wait read the counter before it.
        fence(Ordering::SeqCst);
        self.update(s, trap::tsc::rdtsc());
        let mode = if self.calibrated { MODE_TSC as u64 } else { 0 };
        words[MODE].store(mode, Ordering::Relaxed);
        words[TSC_BASE].store(self.tsc_base, Ordering::Relaxed);
        words[vvar::SHIFT].store(u64::from(FRAC_BITS), Ordering::Relaxed);
        words[COARSE_RES].store(COARSE_RES_NS, Ordering::Relaxed);
        for id in 0..NCLOCKS as i32 {
            let Some(line) = self.clock(id) else {
                continue;
            };
            let at = CLOCKS + id as usize * CLOCK_WORDS;
            let (sec, snsec) = split(line.base);
            words[at + SEC].store(sec, Ordering::Relaxed);
            words[at + SNSEC].store(snsec, Ordering::Relaxed);
            words[at + MULT].store(line.mult, Ordering::Relaxed);
        }
        words[SEQ].store(seq.wrapping_add(2) & !1, Ordering::Release);
    }
}

/// Whole seconds and the shifted nanoseconds left over of a shifted nanosecond count.
fn split(shifted: u128) -> (u64, u64) {
    let sec = (shifted >> FRAC_BITS) / NSEC;
    (sec as u64, (shifted - ((sec * NSEC) << FRAC_BITS)) as u64)
}

fn timekeeper() -> std::sync::MutexGuard<'static, Timekeeper> {
    TIMEKEEPER.lock().unwrap_or_else(|e| e.into_inner())
}

fn refresh_into(tk: &mut Timekeeper, mm: &mut MmService) {
    let mut s = sample();
    s.ns[REALTIME] = offset_ns(s.ns[REALTIME], tk.offset);
    let page = mm
        .special(crate::exec::vdso::VVAR_NAME, &[0; PAGE_SIZE as usize])
        .ok();
    let view = mm.view();
    tk.refresh(&s, page.and_then(|p| view.special_words(&p, 0)));
}

/// Host nanoseconds `ns` moved by `offset` (never below 0).
fn offset_ns(ns: u128, offset: i128) -> u128 {
    (ns as i128).saturating_add(offset).max(0) as u128
}

/// The instance's `REALTIME` minus the host's, in ns.
pub fn realtime_offset() -> i128 {
    timekeeper().offset
}

/// Sets the instance's `REALTIME` (and `TAI` with it) to `ns` since the epoch, or moves it
/// by `ns` (`relative`, `ADJ_SETOFFSET`); the published clocks step there at once. Other
/// clocks do not move.
pub fn set_realtime(mm: &mut MmService, ns: i128, relative: bool) {
    let mut tk = timekeeper();
    tk.offset = if relative {
        tk.offset.saturating_add(ns)
    } else {
        ns - nondet::input("realtime", || host_ns(ClockId::CLOCK_REALTIME)) as i128
    };
    refresh_into(&mut tk, mm);
}

/// Refreshes the published clocks if the last refresh is [`REFRESH_NS`] old (or the
/// counter is still being calibrated): called by the kernel before it resumes a guest.
pub fn tick(mm: &mut MmService) {
    let mut tk = timekeeper();
    let due = nondet::input("clock tick", || {
        tk.first.is_none()
            || trap::tsc::rdtsc().wrapping_sub(tk.tsc_base) >= tk.refresh_ticks
            || (tk.tsc_ok && !tk.calibrated)
    });
    if due {
        refresh_into(&mut tk, mm);
    }
}

/// Refreshes the published clocks now (a new address space is about to see them; a sleep
/// ended, and the sleeper must see a time past its deadline).
pub fn refresh(mm: &mut MmService) {
    refresh_into(&mut timekeeper(), mm);
}

/// The time of clock `id` now, as the vDSO computes it at this moment (the clocks are
/// refreshed first); `EINVAL` for a clock id that is not one of the published ones.
pub fn now(mm: &mut MmService, id: i32) -> Result<Timespec, Errno> {
    let mut tk = timekeeper();
    tk.clock(id).ok_or(Errno::EINVAL)?;
    refresh_into(&mut tk, mm);
    let (tv_sec, tv_nsec) = nondet::input("clock_gettime", || {
        tk.clock(id).map_or((0, 0), |line| {
            let (sec, snsec) = split(line.base);
            (sec as i64, (snsec >> FRAC_BITS) as i64)
        })
    });
    Ok(Timespec { tv_sec, tv_nsec })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads clock `id` from a data page as the vDSO does (`vdso/vdso.c`).
    fn read(words: &[AtomicU64], id: usize) -> u128 {
        use vvar::*;
        loop {
            let seq = words[SEQ].load(Ordering::Acquire);
            if seq & 1 != 0 {
                continue;
            }
            let at = CLOCKS + id * CLOCK_WORDS;
            let mult = words[at + MULT].load(Ordering::Relaxed);
            let base = words[TSC_BASE].load(Ordering::Relaxed);
            let delta = trap::tsc::rdtsc().saturating_sub(base);
            let snsec = words[at + SNSEC].load(Ordering::Relaxed);
            let t = (u128::from(delta) * u128::from(mult) + u128::from(snsec))
                >> words[vvar::SHIFT].load(Ordering::Relaxed);
            let sec = u128::from(words[at + SEC].load(Ordering::Relaxed));
            fence(Ordering::Acquire);
            if words[SEQ].load(Ordering::Relaxed) == seq {
                return sec * NSEC + t;
            }
        }
    }

    /// Refreshes and reads for `run`, with up to `max_gap` between refreshes (a guest
    /// running without a trap); returns the worst distance from the host's clocks seen
    /// after the first 20 ms, per clock, in ns. Every clock must never go back.
    fn follow(run: std::time::Duration, max_gap: std::time::Duration) -> [u128; 4] {
        let words: Vec<AtomicU64> = (0..PAGE_SIZE / 8).map(|_| AtomicU64::new(0)).collect();
        let mut tk = Timekeeper::new();
        let ids = [
            clock::REALTIME,
            clock::MONOTONIC,
            clock::MONOTONIC_RAW,
            clock::BOOTTIME,
        ];
        let mut last = [0u128; 4];
        let mut worst = [0u128; 4];
        let start = nondet::ktime_get();
        let mut round = 0u32;
        while start.elapsed() < run {
            tk.refresh(&sample(), Some(&words));
            let gap = max_gap * (round * 7919 % 1000) / 1000;
            let until = nondet::ktime_get() + gap;
            round += 1;
            loop {
                for (k, id) in ids.iter().enumerate() {
                    let before = host_ns(HOST_CLOCKS[k]);
                    let ours = read(&words, *id as usize);
                    let after = host_ns(HOST_CLOCKS[k]);
                    assert!(
                        ours >= last[k],
                        "clock {id} went back by {} ns",
                        last[k] - ours
                    );
                    last[k] = ours;
                    if tk.calibrated && start.elapsed() > std::time::Duration::from_millis(20) {
                        let off = before.saturating_sub(ours).max(ours.saturating_sub(after));
                        worst[k] = worst[k].max(off);
                    }
                }
                if nondet::ktime_get() >= until {
                    break;
                }
            }
        }
        assert!(tk.calibrated, "the counter was never calibrated");
        worst
    }

    #[test]
    fn published_clocks_follow_the_host_and_never_go_back() {
        if !trap::tsc::invariant() {
            return;
        }
        // Refreshes as often as a guest that traps (every few ms) and as rarely as one
        // that only its time slice interrupts (10 ms of CPU time, more on a busy host).
        for max_gap in [3, 30] {
            let gap = std::time::Duration::from_millis(max_gap);
            let worst = follow(std::time::Duration::from_millis(400), gap);
            eprintln!("refreshes up to {max_gap} ms apart: worst offsets (ns) {worst:?}");
            // A few microseconds, with room for a loaded machine preempting a read.
            for w in worst {
                assert!(w < 50_000, "a clock was {w} ns off the host's");
            }
        }
    }
}
