//! The kernel's monotonic clock as messages carry it: [`Ktime`], nanoseconds since boot (an
//! `Instant` has no serialised form, and a test can make up any `Ktime`).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A point of the kernel's monotonic clock: nanoseconds since boot.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Ktime(pub u64);

/// Converts between host `Instant`s and [`Ktime`]s.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    boot: Instant,
}

impl Clock {
    /// A clock whose zero is `boot`.
    pub fn new(boot: Instant) -> Clock {
        Clock { boot }
    }

    /// Now.
    pub fn now(&self) -> Ktime {
        self.at(nondet::ktime_get())
    }

    /// `at` on this clock (zero for an instant before boot).
    pub fn at(&self, at: Instant) -> Ktime {
        Ktime(at.saturating_duration_since(self.boot).as_nanos() as u64)
    }

    /// The host instant of `k`.
    pub fn instant(&self, k: Ktime) -> Instant {
        self.boot + Duration::from_nanos(k.0)
    }
}
