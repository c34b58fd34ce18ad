//! The kernel's nondeterministic inputs, read through one funnel so that a run can be
//! recorded and re-run exactly (`uml run --record`, `uml replay --service syscall`).
//!
//! What it owns: every value the kernel takes from the host that is not a function of what
//! the guest did — the clocks ([`ktime_get`], [`ktime_get_real`], as Linux names its
//! timekeeping reads), random bytes ([`get_random_bytes`]), the host's environment and
//! working directory at boot, and what the host's streams answered (the console's reads,
//! writes, polls and ioctls: [`input`]). Files of the root are not inputs here: a replay
//! runs on the same root.
//!
//! Each thread is in one of three modes, live by default:
//! - **live**: the value is read from the host; nothing is kept (one thread-local branch);
//! - **recording** ([`record`]): the value is read from the host and kept, tagged with what
//!   was read, until the kernel takes it for its log ([`take_recorded`]);
//! - **replaying** ([`replay`]): the value is the next recorded one, and the host is not
//!   asked (a replay must not write to the terminal or read the user's keyboard). A read
//!   of another kind than recorded, or past the end, is a divergence: it is kept for the
//!   replay's report ([`divergence`]) and the host answers instead, so the run can end.
//!
//! Modes are per thread because only the kernel's own thread is replayed: helper threads
//! (the mm or scheduler thread of `--deploy threads`, the runner's) read the host live.
//!
//! Invariant: a recorded run and its replay read their inputs in the same order, so the
//! kernel must not let the order of its reads depend on anything but its inputs (no
//! iteration over randomly seeded hash maps where the order reaches the guest).
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One recorded input: what was read, and its value (bincode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// What was read (e.g. `"ktime"`, `"random"`, `"stream read"`).
    pub what: String,
    /// The value as bincode.
    pub value: Vec<u8>,
}

/// Where a replay read something else than the recording did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The index of the input in the recorded order.
    pub index: usize,
    /// What the recording read there (`None`: nothing, its inputs had ended).
    pub recorded: Option<String>,
    /// What the replay read.
    pub read: String,
}

enum Mode {
    Live,
    Recording(Vec<Input>),
    Replaying {
        inputs: VecDeque<Input>,
        next: usize,
        diverged: Option<Divergence>,
    },
}

thread_local! {
    static MODE: RefCell<Mode> = const { RefCell::new(Mode::Live) };
}

/// The zero of the monotonic values recorded (an `Instant` has no serialised form): the
/// first recorded or replayed read of the process. One for the whole process, so that a
/// run and its replay in one process (a test) see the same instants.
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// From now on this thread's inputs are kept (see [`take_recorded`]).
pub fn record() {
    MODE.with(|m| *m.borrow_mut() = Mode::Recording(Vec::new()));
}

/// From now on this thread's inputs are `inputs`, in order.
pub fn replay(inputs: Vec<Input>) {
    MODE.with(|m| {
        *m.borrow_mut() = Mode::Replaying {
            inputs: inputs.into(),
            next: 0,
            diverged: None,
        }
    });
}

/// Back to reading the host live (the end of a recording or replay).
pub fn live() {
    MODE.with(|m| *m.borrow_mut() = Mode::Live);
}

/// The inputs recorded since the last call, oldest first.
pub fn take_recorded() -> Vec<Input> {
    MODE.with(|m| match &mut *m.borrow_mut() {
        Mode::Recording(v) => std::mem::take(v),
        _ => Vec::new(),
    })
}

/// The first read of a replay that did not match the recording, if any.
pub fn divergence() -> Option<Divergence> {
    MODE.with(|m| match &*m.borrow() {
        Mode::Replaying { diverged, .. } => diverged.clone(),
        _ => None,
    })
}

/// How many recorded inputs a replay has not read yet.
pub fn unread() -> usize {
    MODE.with(|m| match &*m.borrow() {
        Mode::Replaying { inputs, .. } => inputs.len(),
        _ => 0,
    })
}

/// Reads input `what` from the host with `host`, or, replaying, takes the recorded value
/// (and does not call `host`).
pub fn input<T: Serialize + DeserializeOwned>(what: &str, host: impl FnOnce() -> T) -> T {
    let recorded = MODE.with(|m| match &mut *m.borrow_mut() {
        Mode::Live | Mode::Recording(_) => None,
        Mode::Replaying {
            inputs,
            next,
            diverged,
        } => {
            if diverged.is_some() {
                return None;
            }
            let index = *next;
            let got = inputs
                .front()
                .filter(|i| i.what == what)
                .and_then(|i| bincode::deserialize::<T>(&i.value).ok());
            match got {
                Some(v) => {
                    inputs.pop_front();
                    *next += 1;
                    Some(v)
                }
                None => {
                    *diverged = Some(Divergence {
                        index,
                        recorded: inputs.front().map(|i| i.what.clone()),
                        read: what.to_string(),
                    });
                    None
                }
            }
        }
    });
    if let Some(v) = recorded {
        return v;
    }
    let v = host();
    MODE.with(|m| {
        if let Mode::Recording(log) = &mut *m.borrow_mut() {
            if let Ok(value) = bincode::serialize(&v) {
                log.push(Input {
                    what: what.to_string(),
                    value,
                });
            }
        }
    });
    v
}

/// [`input`] of a plain-data value (a `#[repr(C)]` ABI struct) or an error.
pub fn input_pod<T: bytemuck::Pod, E: Serialize + DeserializeOwned>(
    what: &str,
    host: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    input(what, || host().map(|v| bytemuck::bytes_of(&v).to_vec()))
        .map(|b| bytemuck::try_pod_read_unaligned(&b).unwrap_or_else(|_| T::zeroed()))
}

/// The zero of the process's monotonic clock: its first use. Not an input (it reads no
/// host value a replay would need): a recorded or replayed [`ktime_get`] counts from it.
pub fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// The monotonic clock (Linux's `ktime_get`).
pub fn ktime_get() -> Instant {
    if MODE.with(|m| matches!(*m.borrow(), Mode::Live)) {
        return Instant::now();
    }
    let epoch = epoch();
    let nanos = input("ktime", || {
        Instant::now().saturating_duration_since(epoch).as_nanos() as u64
    });
    epoch + Duration::from_nanos(nanos)
}

/// The wall clock (Linux's `ktime_get_real`).
pub fn ktime_get_real() -> SystemTime {
    let since = |t: SystemTime| match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => (
            -(e.duration().as_secs() as i64),
            e.duration().subsec_nanos(),
        ),
    };
    let (secs, nanos) = input("ktime_real", || since(SystemTime::now()));
    let whole = Duration::from_secs(secs.unsigned_abs());
    let t = if secs >= 0 {
        SystemTime::UNIX_EPOCH + whole
    } else {
        SystemTime::UNIX_EPOCH - whole
    };
    t + Duration::from_nanos(u64::from(nanos))
}

/// Time elapsed since `since` on the monotonic clock ([`ktime_get`]).
pub fn elapsed(since: Instant) -> Duration {
    ktime_get().saturating_duration_since(since)
}

/// Fills `buf` with random bytes (Linux's `get_random_bytes`): the host's `getrandom`.
pub fn get_random_bytes(buf: &mut [u8]) {
    let got: Vec<u8> = input("random", || {
        let mut b = vec![0u8; buf.len()];
        host_random(&mut b);
        b
    });
    let n = got.len().min(buf.len());
    buf[..n].copy_from_slice(&got[..n]);
}

/// The host's randomness (`/dev/urandom`, which never blocks once the host has booted).
fn host_random(buf: &mut [u8]) {
    use std::io::Read;
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_reads_the_host() {
        live();
        let a = ktime_get();
        assert!(ktime_get() >= a);
        assert!(take_recorded().is_empty());
    }

    #[test]
    fn a_replay_reads_what_was_recorded() {
        record();
        let t0 = ktime_get();
        std::thread::sleep(Duration::from_millis(2));
        let t1 = ktime_get();
        let real = ktime_get_real();
        let mut r = [0u8; 16];
        get_random_bytes(&mut r);
        let echoed: Vec<u8> = input("stream read", || b"typed".to_vec());
        let log = take_recorded();
        assert_eq!(log.len(), 5);

        replay(log);
        let u0 = ktime_get();
        let u1 = ktime_get();
        assert_eq!(u1 - u0, t1 - t0);
        assert_eq!(ktime_get_real(), real);
        let mut s = [0u8; 16];
        get_random_bytes(&mut s);
        assert_eq!(s, r);
        let again: Vec<u8> = input("stream read", || panic!("the host is not asked"));
        assert_eq!(again, echoed);
        assert_eq!((divergence(), unread()), (None, 0));
        live();
    }

    #[test]
    fn another_read_is_a_divergence() {
        record();
        let mut r = [0u8; 4];
        get_random_bytes(&mut r);
        let log = take_recorded();
        replay(log);
        let _ = ktime_get();
        let d = divergence().expect("diverged");
        assert_eq!(
            (d.index, d.recorded.as_deref(), d.read.as_str()),
            (0, Some("random"), "ktime")
        );
        // Past the end as well.
        replay(Vec::new());
        let _ = ktime_get_real();
        assert_eq!(divergence().map(|d| d.recorded), Some(None));
        live();
    }
}
