//! The guest's clocks: one timekeeper that both the time syscalls and the vDSO (through its
//! data page, `[vvar]`) read, so that the two always agree and guest code reads the time
//! without a trap.
//!
//! Each clock the host keeps (`REALTIME`, `MONOTONIC`, `MONOTONIC_RAW`, `BOOTTIME`) is
//! published as a line over the CPU's time-stamp counter: its value at the counter value
//! `TSC_BASE`, and nanoseconds per tick (`mult`, with `SHIFT` fraction bits). The kernel
//! refreshes the lines from the host's clocks before it resumes a guest (at most every
//! [`REFRESH_NS`] unless a time syscall asks for the time itself) and the guest's time
//! slice bounds how long a guest runs without that; in between, the vDSO extrapolates.
//!
//! Invariants:
//! - No clock but `REALTIME` (and `TAI` with it) ever goes backwards, through either path:
//!   a refresh starts each line from its own value at the refresh (or later, when the host
//!   clock is ahead), and its slope is never negative. A published line that runs ahead of
//!   the host is slowed down ("slewed") until the host catches up, never stepped back.
//! - `REALTIME` steps backwards only when the host's did (by more than [`STEP_BACK_NS`]).
//! - The rate of the counter is measured against the host's clocks over the time since the
//!   first sample; until that is [`CALIBRATION_NS`] long, or when the host's counter is not
//!   invariant, `MODE` says so and the vDSO makes the syscall for all but the coarse clocks.
//! - The data page is written under its sequence count (odd while writing).

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use abi::flags::clock;
use abi::structs::Timespec;
use abi::{Errno, PAGE_SIZE};
use mm::special::SpecialPages;
use mm::Mm;
use nix::time::ClockId;

use crate::exec::vdso::vvar;

/// Fraction bits of the published nanosecond values and rates.
const SHIFT: u32 = 32;
const NSEC: u128 = 1_000_000_000;
/// Least time between two refreshes that nobody asked for.
pub const REFRESH_NS: u64 = 1_000_000;
/// How long the counter's rate is measured before the vDSO uses it.
const CALIBRATION_NS: u64 = 1_000_000;
/// A line running ahead of its host clock is slowed so that it would be back in this long.
const SLEW_NS: u128 = 4_000_000;
/// ... but by at most this fraction (1/8).
const MAX_SLEW_SHIFT: u32 = 3;
/// `REALTIME` ahead of the host's by more than this means the host's was set back.
const STEP_BACK_NS: u128 = 1_000_000;
/// Resolution of the coarse clocks (a 250 Hz tick, as Linux's `LOW_RES_NSEC` there).
pub const COARSE_RES_NS: u64 = 4_000_000;
/// A host sample whose counter reads are further apart than this many ticks is retaken.
const MAX_SAMPLE_TICKS: u64 = 100_000;

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

/// One reading of the host's clocks, in nanoseconds, taken just after counter value `tsc`.
#[derive(Clone, Copy)]
struct Sample {
    tsc: u64,
    ns: [u128; 4],
    /// `CLOCK_TAI - CLOCK_REALTIME`, whole seconds.
    tai_sec: u64,
}

fn host_ns(id: ClockId) -> u128 {
    nix::time::clock_gettime(id).map_or(0, |ts| {
        ts.tv_sec().max(0) as u128 * NSEC + ts.tv_nsec().max(0) as u128
    })
}

fn sample() -> Sample {
    let mut best: Option<(u64, Sample)> = None;
    for _ in 0..3 {
        let tsc = trap::tsc::rdtsc();
        let ns = HOST_CLOCKS.map(host_ns);
        let tai = host_ns(ClockId::CLOCK_TAI);
        let width = trap::tsc::rdtsc().wrapping_sub(tsc);
        let s = Sample {
            tsc,
            ns,
            tai_sec: (tai.saturating_sub(ns[REALTIME]) + NSEC / 2) as u64 / NSEC as u64,
        };
        if best.is_none_or(|(w, _)| width < w) {
            best = Some((width, s));
        }
        if width <= MAX_SAMPLE_TICKS {
            break;
        }
    }
    best.map(|(_, s)| s)
        .unwrap_or_else(|| unreachable!("three tries"))
}

/// A clock as a line over the counter: `(base + (tsc - TSC_BASE) * mult) >> SHIFT` ns.
#[derive(Clone, Copy, Default)]
struct Line {
    /// Nanoseconds at the base, shifted left by `SHIFT`.
    base: u128,
    /// Nanoseconds per tick, shifted left by `SHIFT`.
    mult: u64,
}

impl Line {
    fn at(&self, delta: u64) -> u128 {
        self.base + u128::from(delta) * u128::from(self.mult)
    }
}

struct Timekeeper {
    /// The host's counter is invariant.
    tsc_ok: bool,
    /// The first sample: where the rates are measured from.
    first: Option<Sample>,
    /// Counter value of the current lines' base.
    tsc_base: u64,
    lines: [Line; 4],
    tai_sec: u64,
    /// Ticks per `REFRESH_NS` (a guess until measured).
    refresh_ticks: u64,
    /// The counter rate is measured: `MODE_TSC`.
    calibrated: bool,
}

static TIMEKEEPER: Mutex<Timekeeper> = Mutex::new(Timekeeper {
    tsc_ok: false,
    first: None,
    tsc_base: 0,
    lines: [Line { base: 0, mult: 0 }; 4],
    tai_sec: 0,
    refresh_ticks: 1 << 21,
    calibrated: false,
});

impl Timekeeper {
    /// Nanoseconds per tick (shifted) of host clock `i` since the first sample, once that is
    /// long enough ago.
    fn rate(&self, s: &Sample, i: usize) -> Option<u64> {
        let first = self.first?;
        let ticks = s.tsc.checked_sub(first.tsc).filter(|&t| t > 0)?;
        let ns = s.ns[i].checked_sub(first.ns[i])?;
        if ns < u128::from(CALIBRATION_NS) {
            return None;
        }
        let mult = (ns << SHIFT) / u128::from(ticks);
        // Between 1/64 and 64 ns per tick (16 MHz .. 64 GHz); anything else is not a clock.
        let one = 1u128 << SHIFT;
        ((one >> 6)..=(one << 6))
            .contains(&mult)
            .then_some(mult as u64)
    }

    fn refresh(&mut self, s: Sample) {
        if self.first.is_none() {
            self.tsc_ok = trap::tsc::invariant();
            self.first = Some(s);
            self.tsc_base = s.tsc;
            self.tai_sec = s.tai_sec;
            for (line, ns) in self.lines.iter_mut().zip(s.ns) {
                *line = Line {
                    base: ns << SHIFT,
                    mult: 0,
                };
            }
            return;
        }
        // A counter that went backwards (a host without a synchronised counter) is useless.
        let Some(delta) = s.tsc.checked_sub(self.tsc_base) else {
            self.tsc_ok = false;
            self.calibrated = false;
            self.tsc_base = s.tsc;
            for (line, ns) in self.lines.iter_mut().zip(s.ns) {
                line.base = line.base.max(ns << SHIFT);
                line.mult = 0;
            }
            return;
        };
        let mono_rate = self.rate(&s, MONOTONIC);
        let raw_rate = self.rate(&s, RAW);
        let rates = match (self.tsc_ok, mono_rate, raw_rate) {
            (true, Some(m), Some(r)) => Some([m, m, r, m]),
            _ => None,
        };
        if let Some(r) = raw_rate {
            self.refresh_ticks = ((u128::from(REFRESH_NS) << SHIFT) / u128::from(r)) as u64;
        }
        for (i, line) in self.lines.iter_mut().enumerate() {
            let ours = line.at(delta);
            let host = s.ns[i] << SHIFT;
            let ahead = ours.saturating_sub(host);
            line.base = if host >= ours || (i == REALTIME && ahead > STEP_BACK_NS << SHIFT) {
                host
            } else {
                ours
            };
            line.mult = rates.map_or(0, |r| {
                let rate = u128::from(r[i]);
                let ahead = if line.base == host { 0 } else { ahead >> SHIFT };
                let slow = (rate * ahead / SLEW_NS).min(rate >> MAX_SLEW_SHIFT);
                (rate - slow) as u64
            });
        }
        self.tsc_base = s.tsc;
        self.tai_sec = s.tai_sec;
        self.calibrated = rates.is_some();
    }

    /// The value of the line of a clock id at the base, and its slope: `None` for clocks
    /// that are not lines (CPU-time clocks) or not valid.
    fn clock(&self, id: i32) -> Option<Line> {
        let line = |i: usize| self.lines[i];
        Some(match id {
            clock::REALTIME => line(REALTIME),
            clock::MONOTONIC => line(MONOTONIC),
            clock::MONOTONIC_RAW => line(RAW),
            clock::BOOTTIME => line(BOOTTIME),
            clock::TAI => Line {
                base: line(REALTIME).base + ((u128::from(self.tai_sec) * NSEC) << SHIFT),
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

    /// Writes the lines into the data page under its sequence count.
    fn publish(&self, words: &[AtomicU64]) {
        use vvar::*;
        let seq = words[SEQ].load(Ordering::Relaxed);
        words[SEQ].store(seq.wrapping_add(1) | 1, Ordering::Relaxed);
        fence(Ordering::Release);
        let mode = if self.calibrated { MODE_TSC as u64 } else { 0 };
        words[MODE].store(mode, Ordering::Relaxed);
        words[TSC_BASE].store(self.tsc_base, Ordering::Relaxed);
        words[SHIFT].store(u64::from(super::clock::SHIFT), Ordering::Relaxed);
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
    let sec = (shifted >> SHIFT) / NSEC;
    (sec as u64, (shifted - ((sec * NSEC) << SHIFT)) as u64)
}

fn timekeeper() -> std::sync::MutexGuard<'static, Timekeeper> {
    TIMEKEEPER.lock().unwrap_or_else(|e| e.into_inner())
}

fn refresh_into(tk: &mut Timekeeper, mm: &mut Mm) {
    tk.refresh(sample());
    if let Some(page) = vvar_page(mm) {
        if let Some(words) = mm.special_words(&page, 0) {
            tk.publish(words);
        }
    }
}

fn vvar_page(mm: &mut Mm) -> Option<Arc<SpecialPages>> {
    mm.special(crate::exec::vdso::VVAR_NAME, &[0; PAGE_SIZE as usize])
        .ok()
}

/// Refreshes the published clocks if the last refresh is [`REFRESH_NS`] old: called by
/// the kernel before it resumes a guest.
pub fn tick(mm: &mut Mm) {
    let mut tk = timekeeper();
    let due = tk.first.is_none()
        || trap::tsc::rdtsc().wrapping_sub(tk.tsc_base) >= tk.refresh_ticks
        || (tk.tsc_ok && !tk.calibrated);
    if due {
        refresh_into(&mut tk, mm);
    }
}

/// Refreshes the published clocks now (a new address space is about to see them; a sleep
/// ended, and the sleeper must see a time past its deadline).
pub fn refresh(mm: &mut Mm) {
    refresh_into(&mut timekeeper(), mm);
}

/// The time of clock `id` now, as the vDSO would compute it at this moment (the clocks
/// are refreshed first); `EINVAL` for a clock id that is not one of the published ones.
pub fn now(mm: &mut Mm, id: i32) -> Result<Timespec, Errno> {
    let mut tk = timekeeper();
    tk.clock(id).ok_or(Errno::EINVAL)?;
    refresh_into(&mut tk, mm);
    let line = tk.clock(id).ok_or(Errno::EINVAL)?;
    let (sec, snsec) = split(line.base);
    Ok(Timespec {
        tv_sec: sec as i64,
        tv_nsec: (snsec >> SHIFT) as i64,
    })
}
