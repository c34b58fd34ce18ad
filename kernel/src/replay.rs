//! Replaying a recorded log against one service: `uml replay FILE --service S [--with IMPL]`.
//!
//! The recorded inbox of the service is fed, message by message, to a fresh instance; every
//! reply must equal the recorded one ([`Verdict::Matches`]), else the first divergence is
//! reported ([`Verdict::Diverged`]). `--with` feeds it to another implementation instead and
//! reports what differs (for the scheduler: the picks that differ, and each task's time
//! between becoming runnable and being picked). A log of another format or uml version, or
//! a truncated or corrupt one, is a [`ReplayError`], never a panic.
//!
//! Replayable here: `sched` and `mm` (mapped files answer as they did in the recorded run;
//! see [`mm::replay`]). The syscall service and vfs are replayed by running the whole
//! kernel again on the log ([`crate::replay_run`]): their state depends on the rest of the
//! kernel's (syscall) and on direct writes to open files (vfs).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;

use bincode::Options as _;

use mm::backend::MmKind;
use mm::replay::Replayer;
use mm::{MmMsg, MmReply};
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
            _ => None,
        })
        .collect()
}

/// Replays `log`'s inbox of `service` against a fresh instance: the recorded
/// implementation, or `with`.
pub fn replay(log: &Log, service: Service, with: Option<&str>) -> Result<Verdict, ReplayError> {
    match service {
        Service::Sched => {}
        Service::Mm => {
            let Some(with) = with else {
                return replay_mm(log);
            };
            let kind: MmKind = with
                .parse()
                .map_err(|_| ReplayError::BadWith(with.to_string(), service))?;
            return compare_mm(log, kind).map(Verdict::Compared);
        }
        Service::Syscall | Service::Vfs => {
            return Err(ReplayError::NotReplayable(
                service,
                "it is replayed by running the whole kernel again: see replay_run::replay_kernel",
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

/// At most this much of a message or reply is printed in a divergence report.
const SHOWN: usize = 400;

pub(crate) fn shown(v: &impl std::fmt::Debug) -> String {
    let mut s = format!("{v:?}");
    if s.len() > SHOWN {
        let mut end = SHOWN;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

/// mm's logged inbox.
fn mm_inbox(log: &Log) -> impl Iterator<Item = &mm::MmEntry> {
    log.entries.iter().filter_map(|e| match e {
        Entry::Mm { entry, .. } => Some(&**entry),
        _ => None,
    })
}

/// A fresh mm of the recorded size, realised by `kind`.
fn fresh_mm(log: &Log, kind: MmKind) -> Result<Replayer, ReplayError> {
    Replayer::new(log.header.mem_bytes, kind)
        .map_err(|e| ReplayError::Io(std::io::Error::other(format!("physical memory: {e}"))))
}

/// Feeds mm's logged inbox to a fresh mm of the recorded size and backend.
fn replay_mm(log: &Log) -> Result<Verdict, ReplayError> {
    let mut mm = fresh_mm(log, log.header.mm)?;
    let inbox = mm_inbox(log);
    let mut messages = 0;
    for (index, e) in inbox.enumerate() {
        messages += 1;
        let produced = match mm.step(e) {
            Ok(r) if r == e.reply => continue,
            Ok(r) => shown(&r),
            Err(why) => why,
        };
        return Ok(Verdict::Diverged {
            index,
            message: shown(&e.msg),
            recorded: shown(&e.reply),
            produced,
        });
    }
    Ok(Verdict::Matches { messages })
}

/// What one mm did with the inbox: host ops handed to the runner, faults, frames.
#[derive(Default)]
struct MmTally {
    host_ops: u64,
    mapped_pages: u64,
    faults: u64,
    unresolved: u64,
    peak_frames: u64,
    diverged: Option<usize>,
}

fn tally(
    log: &Log,
    kind: MmKind,
) -> Result<(MmTally, Option<mm::backend::SwitchStats>), ReplayError> {
    let mut mm = fresh_mm(log, kind)?;
    let total = mm.mm().stats().total_bytes;
    let mut t = MmTally::default();
    for (i, e) in mm_inbox(log).enumerate() {
        let reply = mm.step(e).unwrap_or(MmReply::NoSpace);
        if let MmMsg::Fault { .. } = e.msg {
            t.faults += 1;
            t.unresolved += u64::from(reply != MmReply::Done);
        }
        if let MmReply::Ops(ops) = &reply {
            t.host_ops += ops.len() as u64;
            t.mapped_pages += ops
                .iter()
                .map(|op| match op {
                    mm::MmOp::Mmap { len, .. } => len / mm::PAGE_SIZE,
                    _ => 0,
                })
                .sum::<u64>();
        } else if reply != e.reply && t.diverged.is_none() {
            t.diverged = Some(i);
        }
        let used = (total - mm.mm().stats().free_bytes) / mm::PAGE_SIZE;
        t.peak_frames = t.peak_frames.max(used);
    }
    Ok((t, mm.mm().backend().switch_stats()))
}

/// The recorded backend next to `kind` fed the same inbox: the host ops each hands the
/// runner, the pages those map, switches, faults and frames.
fn compare_mm(log: &Log, kind: MmKind) -> Result<String, ReplayError> {
    let recorded = log.header.mm;
    let (a, sa) = tally(log, recorded)?;
    let (b, sb) = tally(log, kind)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "mm: {} messages, {} faults ({} not resolved), peak {} frames in use; recorded with {recorded:?}, replayed with {kind:?}",
        mm_inbox(log).count(),
        a.faults,
        a.unresolved,
        a.peak_frames
    );
    let _ = writeln!(out, "{:>26}  {:>12}  {:>12}", "", "recorded", "replayed");
    let row = |out: &mut String, what: &str, x: u64, y: u64| {
        let _ = writeln!(out, "{what:>26}  {x:>12}  {y:>12}");
    };
    row(&mut out, "host ops to the runner", a.host_ops, b.host_ops);
    row(
        &mut out,
        "pages mapped by them",
        a.mapped_pages,
        b.mapped_pages,
    );
    let (sa, sb) = (sa.unwrap_or_default(), sb.unwrap_or_default());
    row(&mut out, "address-space switches", sa.switches, sb.switches);
    row(&mut out, "pages mapped by switches", sa.pages, sb.pages);
    row(&mut out, "peak frames in use", a.peak_frames, b.peak_frames);
    if let Some(i) = b.diverged {
        let _ = writeln!(out, "other replies first differ at message {i}");
    }
    Ok(out)
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
        let header = bincode::serialize(&Header::new(
            vec![],
            PolicyKind::Fair,
            1 << 20,
            mm::backend::MmKind::PerProcess,
        ))
        .expect("header");
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
