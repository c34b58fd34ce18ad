//! Replaying a recorded log against one service: `uml replay FILE --service S [--with IMPL]`.
//!
//! The recorded inbox of the service is fed, message by message, to a fresh instance; every
//! reply must equal the recorded one ([`Verdict::Matches`]), else the first divergence is
//! reported ([`Verdict::Diverged`]). `--with` feeds it to another implementation instead and
//! reports what differs (for the scheduler: the picks that differ, and each task's time
//! between becoming runnable and being picked). A log of another format or uml version, or
//! a truncated or corrupt one, is a [`ReplayError`], never a panic.
//!
//! Replayable today: `sched`. The syscall service's replies are recorded, but replaying
//! them needs the bytes its guest-memory views returned, which are not recorded yet.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;

use bincode::Options as _;

use sched::{Ktime, PolicyKind, SchedMsg, SchedReply, Scheduler, TaskId};

use crate::record::{checksum, Entry, Header, FORMAT, MAGIC, MAX_FRAME};

/// The services a log can be replayed against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The scheduler.
    Sched,
    /// The syscall handlers.
    Syscall,
    /// Memory.
    Mm,
    /// The file system.
    Vfs,
}

impl std::str::FromStr for Service {
    type Err = String;
    fn from_str(s: &str) -> Result<Service, String> {
        match s {
            "sched" => Ok(Service::Sched),
            "syscall" => Ok(Service::Syscall),
            "mm" => Ok(Service::Mm),
            "vfs" => Ok(Service::Vfs),
            _ => Err(format!("unknown service {s:?} (sched, syscall, mm or vfs)")),
        }
    }
}

/// Why a log cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file cannot be read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// It does not start with a log header.
    #[error("not a uml record log")]
    NotALog,
    /// Another log format or uml version wrote it.
    #[error("log written by uml {version} (log format {format}); this is uml {ours} (format {FORMAT})", ours = env!("CARGO_PKG_VERSION"))]
    Version {
        /// Its writer's version.
        version: String,
        /// Its format.
        format: u32,
    },
    /// The file ends inside an entry.
    #[error("truncated log: entry {0} is incomplete")]
    Truncated(u64),
    /// An entry cannot be decoded.
    #[error("corrupt log at entry {index}: {why}")]
    Corrupt {
        /// The entry's index.
        index: u64,
        /// What the decoder said.
        why: String,
    },
    /// The service's messages are not in the log.
    #[error("the {0:?} service cannot be replayed: {1}")]
    NotReplayable(Service, &'static str),
    /// `--with` names nothing of this service.
    #[error("--with {0:?} is not an implementation of the {1:?} service")]
    BadWith(String, Service),
}

/// A log read back.
#[derive(Debug)]
pub struct Log {
    /// Its header.
    pub header: Header,
    /// Its entries, in order.
    pub entries: Vec<Entry>,
}

/// Reads the whole log at `path`.
pub fn read_log(path: &Path) -> Result<Log, ReplayError> {
    let mut r = BufReader::new(std::fs::File::open(path)?);
    // A foreign file's bytes must not turn into a huge allocation: every decode is bounded.
    let header: Header = decoder(1 << 20)
        .deserialize_from(&mut r)
        .map_err(|_| ReplayError::NotALog)?;
    if header.magic != MAGIC {
        return Err(ReplayError::NotALog);
    }
    if header.format != FORMAT || header.version != env!("CARGO_PKG_VERSION") {
        return Err(ReplayError::Version {
            version: header.version,
            format: header.format,
        });
    }
    let mut entries = Vec::new();
    while !r.fill_buf()?.is_empty() {
        let index = entries.len() as u64;
        let corrupt = |why: String| ReplayError::Corrupt { index, why };
        let mut head = [0u8; 12];
        read_exact(&mut r, &mut head, index)?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let sum = u64::from_le_bytes([
            head[4], head[5], head[6], head[7], head[8], head[9], head[10], head[11],
        ]);
        if len > MAX_FRAME {
            return Err(corrupt(format!("a frame of {len} bytes")));
        }
        let mut bytes = vec![0u8; len as usize];
        read_exact(&mut r, &mut bytes, index)?;
        if checksum(&bytes) != sum {
            return Err(corrupt("checksum mismatch".into()));
        }
        let entry = decoder(u64::from(len)).deserialize(&bytes);
        entries.push(entry.map_err(|e| corrupt(e.to_string()))?);
    }
    Ok(Log { header, entries })
}

/// bincode as `bincode::serialize` writes it, reading at most `limit` bytes.
fn decoder(limit: u64) -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .allow_trailing_bytes()
        .with_limit(limit)
}

/// Fills `buf`; the end of the file inside entry `index` is a truncated log.
fn read_exact(r: &mut impl std::io::Read, buf: &mut [u8], index: u64) -> Result<(), ReplayError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => ReplayError::Truncated(index),
        _ => ReplayError::Io(e),
    })
}

/// What a replay found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every reply matched.
    Matches {
        /// How many messages were replayed.
        messages: usize,
    },
    /// The first reply that differs.
    Diverged {
        /// The message's index in the service's inbox.
        index: usize,
        /// The message.
        message: String,
        /// The recorded reply.
        recorded: String,
        /// The reply the fresh instance gave.
        produced: String,
    },
    /// A comparison against another implementation (`--with`), as text.
    Compared(String),
}

/// The scheduler's inbox: (when, message, recorded reply).
type SchedInbox = Vec<(Ktime, SchedMsg, SchedReply)>;

fn sched_inbox(log: &Log) -> SchedInbox {
    log.entries
        .iter()
        .filter_map(|e| match e {
            Entry::Sched { at, msg, reply } => Some((*at, msg.clone(), reply.clone())),
            Entry::Syscall { .. } => None,
        })
        .collect()
}

/// Replays `log`'s inbox of `service` against a fresh instance: the recorded
/// implementation, or `with`.
pub fn replay(log: &Log, service: Service, with: Option<&str>) -> Result<Verdict, ReplayError> {
    match service {
        Service::Sched => {}
        Service::Syscall => {
            return Err(ReplayError::NotReplayable(
                service,
                "its replies are recorded, but not yet the guest memory its handlers read",
            ))
        }
        Service::Mm | Service::Vfs => {
            return Err(ReplayError::NotReplayable(
                service,
                "it does not speak messages yet",
            ))
        }
    }
    let inbox = sched_inbox(log);
    let Some(with) = with else {
        return Ok(replay_sched(&inbox, log.header.sched));
    };
    let kind: PolicyKind = with
        .parse()
        .map_err(|_| ReplayError::BadWith(with.to_string(), service))?;
    Ok(Verdict::Compared(compare_sched(
        &inbox,
        log.header.sched,
        kind,
    )))
}

fn replay_sched(inbox: &SchedInbox, kind: PolicyKind) -> Verdict {
    let mut s = Scheduler::new(kind);
    for (index, (_, msg, recorded)) in inbox.iter().enumerate() {
        let produced = s.handle(msg.clone());
        if produced != *recorded {
            return Verdict::Diverged {
                index,
                message: format!("{msg:?}"),
                recorded: format!("{recorded:?}"),
                produced: format!("{produced:?}"),
            };
        }
    }
    Verdict::Matches {
        messages: inbox.len(),
    }
}

/// The recorded run next to `kind` fed the same inbox: decisions that differ, and per-task
/// wait times (from becoming runnable to being picked) under each.
fn compare_sched(inbox: &SchedInbox, recorded: PolicyKind, kind: PolicyKind) -> String {
    let mut s = Scheduler::new(kind);
    let produced: Vec<SchedReply> = inbox.iter().map(|(_, m, _)| s.handle(m.clone())).collect();
    let mut picks = 0;
    let mut differ = 0;
    for ((_, msg, rec), got) in inbox.iter().zip(&produced) {
        if *msg == SchedMsg::PickNext {
            picks += 1;
            differ += usize::from(rec != got);
        }
    }
    let before = wait_times(inbox.iter().map(|(at, m, r)| (*at, m, r)));
    let after = wait_times(
        inbox
            .iter()
            .zip(&produced)
            .map(|((at, m, _), r)| (*at, m, r)),
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sched: {} messages; {picks} picks, {differ} differ with {kind:?} (recorded: {recorded:?})",
        inbox.len()
    );
    let _ = writeln!(
        out,
        "{:>6}  {:>14}  {:>14}",
        "task", "wait recorded", "wait replayed"
    );
    let tasks: std::collections::BTreeSet<TaskId> =
        before.keys().chain(after.keys()).copied().collect();
    for t in tasks {
        let ms = |m: &BTreeMap<TaskId, u64>| m.get(&t).copied().unwrap_or(0) as f64 / 1e6;
        let _ = writeln!(
            out,
            "{:>6}  {:>11.3} ms  {:>11.3} ms",
            t.0,
            ms(&before),
            ms(&after)
        );
    }
    out
}

/// Each task's total time between becoming runnable and being picked, given the messages
/// and the replies one implementation gave.
fn wait_times<'a>(
    run: impl Iterator<Item = (Ktime, &'a SchedMsg, &'a SchedReply)>,
) -> BTreeMap<TaskId, u64> {
    let mut since: HashMap<TaskId, Ktime> = HashMap::new();
    let mut wait: BTreeMap<TaskId, u64> = BTreeMap::new();
    let mut end = Ktime(0);
    for (at, msg, reply) in run {
        end = at;
        let mut runnable = |t: TaskId| {
            since.entry(t).or_insert(at);
        };
        match msg {
            SchedMsg::Wake(t) | SchedMsg::Continue(t) | SchedMsg::Yield(t) => runnable(*t),
            SchedMsg::Block { task: t, .. } | SchedMsg::Stop(t) | SchedMsg::Exit(t) => {
                since.remove(t);
            }
            _ => {}
        }
        match reply {
            SchedReply::Woken(ts) | SchedReply::Fired { woken: ts, .. } => {
                for &t in ts {
                    since.entry(t).or_insert(at);
                }
            }
            SchedReply::Next(Some(t)) => {
                if let Some(from) = since.remove(t) {
                    *wait.entry(*t).or_default() += at.0.saturating_sub(from.0);
                }
            }
            _ => {}
        }
    }
    for (t, from) in since {
        *wait.entry(t).or_default() += end.0.saturating_sub(from.0);
    }
    wait
}

#[cfg(test)]
mod tests {
    use super::*;
    use sched::WaitKey;

    fn inbox() -> SchedInbox {
        // Feed a real scheduler to get the recorded replies.
        let msgs = vec![
            SchedMsg::Wake(TaskId(1)),
            SchedMsg::Wake(TaskId(2)),
            SchedMsg::SetNice(TaskId(2), -5),
            SchedMsg::PickNext,
            SchedMsg::Ran(TaskId(1), 5_000_000),
            SchedMsg::Yield(TaskId(1)),
            SchedMsg::PickNext,
            SchedMsg::Block {
                task: TaskId(2),
                keys: vec![WaitKey::File(1)],
                deadline: Some(Ktime(50)),
                interruptible: true,
                bitset: sched::MATCH_ANY,
            },
            SchedMsg::WakeKey {
                key: WaitKey::File(1),
                max: usize::MAX,
                bitset: sched::MATCH_ANY,
            },
            SchedMsg::PickNext,
        ];
        let mut s = Scheduler::new(PolicyKind::RoundRobin);
        msgs.into_iter()
            .enumerate()
            .map(|(i, m)| {
                let r = s.handle(m.clone());
                (Ktime(i as u64 * 1_000_000), m, r)
            })
            .collect()
    }

    #[test]
    fn the_same_policy_replays_every_reply() {
        let inbox = inbox();
        assert_eq!(
            replay_sched(&inbox, PolicyKind::RoundRobin),
            Verdict::Matches {
                messages: inbox.len()
            }
        );
    }

    #[test]
    fn another_policy_diverges_at_the_first_different_pick() {
        let Verdict::Diverged { index, .. } = replay_sched(&inbox(), PolicyKind::Priority) else {
            panic!("strict priority picks task 2 (nice -5) first");
        };
        assert_eq!(index, 3);
        let report = compare_sched(&inbox(), PolicyKind::RoundRobin, PolicyKind::Priority);
        assert!(report.contains("3 picks, 2 differ"), "{report}");
    }

    /// Garbage after a good header, and garbage alone: errors, never a panic or a huge
    /// allocation.
    #[test]
    fn garbage_is_an_error() {
        let dir = std::env::temp_dir().join(format!("uml-replay-garbage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let header = bincode::serialize(&Header::new(vec![], PolicyKind::Fair)).expect("header");
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for round in 0..200 {
            let mut bytes = if round % 2 == 0 {
                header.clone()
            } else {
                Vec::new()
            };
            for _ in 0..(round * 7 % 300) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                bytes.push(x as u8);
            }
            let path = dir.join("log");
            std::fs::write(&path, &bytes).expect("write");
            if let Ok(log) = read_log(&path) {
                assert!(log.entries.is_empty(), "round {round} decoded garbage");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn wait_time_runs_from_runnable_to_picked() {
        let inbox = inbox();
        let w = wait_times(inbox.iter().map(|(at, m, r)| (*at, m, r)));
        // Task 1: runnable at 0 ms, picked at 3; yields at 5, picked again at 9.
        assert_eq!(w[&TaskId(1)], 7_000_000);
        // Task 2: runnable at 1 ms, picked at 6; woken at 8, still waiting at the end (9).
        assert_eq!(w[&TaskId(2)], 6_000_000);
    }
}
