//! Replaying the syscall service: the whole kernel run again on a record log
//! (`uml replay FILE --service syscall`).
//!
//! A syscall's reply depends on state the rest of the kernel built (the process table,
//! files, address spaces, wait queues), so a fresh syscall service is a fresh kernel booted
//! as the recorded one was, whose only contact with the world is the log:
//! - the runner is [`runner::replaying::Replaying`]: each message gets the recorded reply
//!   (the trap and registers, FP state), so the guest "runs" exactly as it did;
//! - guest memory the kernel reads holds what the recording read there
//!   ([`mm::MmService::replay_reads`]), since no guest code runs to write it;
//! - every host input — clocks, randomness, the host environment, what the terminal or
//!   pipes answered — is the recorded one ([`nondet`]), and nothing is written to the host.
//!
//! Everything else (syscall handlers, vfs, net, mm, the scheduler) runs for real, and every
//! message the kernel sends is checked against the recorded one at its place in its stream
//! ([`Checker`]): the syscalls with their replies, and the scheduler's, mm's and the
//! runner's messages with theirs. The first difference stops the run and is reported; a
//! replay that ends where the recording ended, having sent every recorded message, matches.
//!
//! Not replayable: runs that reached the host's network (`--net host`, `-p`) or wrote host
//! files (`--rw`, writable `-v`), whose replay would repeat those effects on the host.

use std::collections::{BTreeMap, VecDeque};

use crate::record::{Entry, Stream};
use crate::replay::{Log, ReplayError, Service, Verdict};
use crate::{Config, Kernel, KernelError};

/// Compares a replay's entries with the recorded ones, stream by stream.
pub struct Checker {
    expected: BTreeMap<Stream, VecDeque<Entry>>,
    seen: BTreeMap<Stream, usize>,
    diverged: Option<Verdict>,
    /// The last syscall checked (where a divergence of another stream happened).
    last_syscall: Option<String>,
}

impl Checker {
    /// A checker of `log`'s service streams (its inputs are replayed, not checked).
    pub fn new(log: &Log) -> Checker {
        let mut expected: BTreeMap<Stream, VecDeque<Entry>> = BTreeMap::new();
        for e in &log.entries {
            if e.stream() != Stream::Inputs {
                expected.entry(e.stream()).or_default().push_back(e.clone());
            }
        }
        Checker {
            expected,
            seen: BTreeMap::new(),
            diverged: None,
            last_syscall: None,
        }
    }

    /// The recorded mm entries not yet checked.
    pub fn mm_entries(&self) -> impl Iterator<Item = &mm::MmEntry> {
        self.expected
            .get(&Stream::Mm)
            .into_iter()
            .flatten()
            .filter_map(|e| match e {
                Entry::Mm { entry, .. } => Some(&**entry),
                _ => None,
            })
    }

    /// Checks the replay's next entry of its stream.
    pub fn check(&mut self, produced: &Entry) {
        if self.diverged.is_some() {
            return;
        }
        let stream = produced.stream();
        let seen = self.seen.entry(stream).or_default();
        let index = *seen;
        *seen += 1;
        let recorded = self.expected.get_mut(&stream).and_then(VecDeque::pop_front);
        if recorded.as_ref() == Some(produced) {
            if stream == Stream::Syscall {
                self.last_syscall = Some(format!("syscall {index}, {}", parts(produced).0));
            }
            return;
        }
        let mut d = divergence(stream, index, recorded.as_ref(), Some(produced));
        if let (Verdict::Diverged { message, .. }, Some(last)) = (&mut d, &self.last_syscall) {
            message.push_str(&format!(" (after {last})"));
        }
        self.diverged = Some(d);
    }

    /// Whether an entry differed.
    pub fn diverged(&self) -> bool {
        self.diverged.is_some()
    }

    /// The verdict once the replay ended: the first difference, else the first recorded
    /// entry the replay never sent, else a match (counting the messages of `counted`).
    fn verdict(mut self, counted: Stream) -> Verdict {
        if let Some(d) = self.diverged.take() {
            return d;
        }
        for (stream, left) in &self.expected {
            if let Some(e) = left.front() {
                let index = self.seen.get(stream).copied().unwrap_or(0);
                return divergence(*stream, index, Some(e), None);
            }
        }
        Verdict::Matches {
            messages: self.seen.get(&counted).copied().unwrap_or(0),
        }
    }
}

/// The message of an entry, and what came of it.
fn parts(e: &Entry) -> (String, String) {
    use crate::replay::shown;
    match e {
        Entry::Syscall {
            pid,
            tid,
            regs,
            reply,
            ..
        } => {
            let nr = regs.orig_rax;
            let args = regs.syscall_args();
            let call = format!("pid {pid} tid {tid}: {}{args:x?}", syscall::name(nr));
            (call, shown(reply))
        }
        Entry::Sched { at, msg, reply } => (format!("at {at:?}: {}", shown(msg)), shown(reply)),
        Entry::Runner { msg, reply, .. } => (shown(msg), shown(reply)),
        Entry::Mm { entry, .. } => (shown(&entry.msg), shown(&(&entry.reply, &entry.io))),
        Entry::Vfs { entry, .. } => (shown(&entry.msg), shown(&entry.reply)),
        Entry::Inputs(i) => (String::from("host inputs"), shown(i)),
    }
}

fn divergence(
    stream: Stream,
    index: usize,
    recorded: Option<&Entry>,
    produced: Option<&Entry>,
) -> Verdict {
    let (rec_msg, rec_reply) = recorded.map_or((None, None), |e| {
        let (m, r) = parts(e);
        (Some(m), Some(r))
    });
    let (pro_msg, pro_reply) = produced.map_or((None, None), |e| {
        let (m, r) = parts(e);
        (Some(m), Some(r))
    });
    let what = format!("{stream:?} message {index}");
    match (rec_msg, pro_msg) {
        // The same message, another reply.
        (Some(rm), Some(pm)) if rm == pm => Verdict::Diverged {
            index,
            message: format!("{what}: {pm}"),
            recorded: rec_reply.unwrap_or_default(),
            produced: pro_reply.unwrap_or_default(),
        },
        (rm, pm) => Verdict::Diverged {
            index,
            message: format!("{what} differs"),
            recorded: rm.map_or("nothing (the recorded run had ended)".into(), |m| {
                format!("{m} -> {}", rec_reply.unwrap_or_default())
            }),
            produced: pm.map_or("nothing (the replay ended here)".into(), |m| {
                format!("{m} -> {}", pro_reply.unwrap_or_default())
            }),
        },
    }
}

/// Runs the kernel of `cfg` (the recorded run's options) again on `log`, checking every
/// message against the recorded one; the verdict counts the messages of `service`, the
/// syscall service or vfs (whose state is made by the syscalls' direct writes to open
/// files as much as by its messages, see [`vfs::service`]).
pub fn replay_kernel(cfg: &Config, log: &Log, service: Service) -> Result<Verdict, ReplayError> {
    let counted = match service {
        Service::Syscall => Stream::Syscall,
        Service::Vfs => Stream::Vfs,
        _ => {
            return Err(ReplayError::NotReplayable(
                service,
                "it is replayed on its own, not by running the kernel again",
            ))
        }
    };
    if cfg.net_host || !cfg.publish.is_empty() {
        return Err(ReplayError::NotReplayable(
            service,
            "the run reached the host's network (--net host, -p)",
        ));
    }
    if cfg.rw || cfg.binds.iter().any(|b| !b.read_only) {
        return Err(ReplayError::NotReplayable(
            service,
            "the run wrote host files (--rw or a writable -v)",
        ));
    }
    let mut inputs = Vec::new();
    let mut replies = Vec::new();
    for e in &log.entries {
        match e {
            Entry::Inputs(i) => inputs.extend(i.iter().cloned()),
            Entry::Runner { reply, .. } => replies.push((**reply).clone()),
            _ => {}
        }
    }
    let cfg = Config {
        record: None,
        trace: false,
        // The services answer the same on the kernel's loop as on threads.
        deploy: sched::Deploy::Loop,
        mm: log.header.mm,
        mem_bytes: log.header.mem_bytes,
        sched: log.header.sched,
        ..cfg.clone()
    };
    let recorder = crate::record::Recorder::checking(Checker::new(log));
    nondet::replay(inputs);
    let mut checker = None;
    let ended = Kernel::run_checked(&cfg, replies, recorder, &mut checker);
    let input_divergence = nondet::divergence();
    nondet::live();
    let Some(checker) = checker else {
        return Err(ReplayError::NotReplayable(
            service,
            "the kernel could not boot as the recorded one did",
        ));
    };
    let verdict = checker.verdict(counted);
    if matches!(verdict, Verdict::Diverged { .. }) {
        return Ok(verdict);
    }
    if let Some(d) = input_divergence {
        return Ok(Verdict::Diverged {
            index: d.index,
            message: format!("host input {} differs", d.index),
            recorded: d
                .recorded
                .unwrap_or("nothing (the recorded run had ended)".into()),
            produced: d.read,
        });
    }
    match ended {
        Ok(_) => Ok(verdict),
        Err(e) => Ok(Verdict::Diverged {
            index: 0,
            message: "the replay ended with an error".into(),
            recorded: "the recorded run went on".into(),
            produced: e.to_string(),
        }),
    }
}

impl Kernel {
    /// Boots with a runner that gives `replies` and runs to the end, leaving the replay's
    /// checker in `checker`.
    fn run_checked(
        cfg: &Config,
        replies: Vec<runner::RunnerReply>,
        recorder: crate::record::Recorder,
        checker: &mut Option<Checker>,
    ) -> Result<crate::ExitStatus, KernelError> {
        let new_runner = |_: std::os::fd::BorrowedFd<'_>| {
            Ok(Box::new(runner::replaying::Replaying::new(replies)) as Box<dyn runner::Runner>)
        };
        let mut k = crate::boot::boot(cfg, new_runner, Some(recorder))?;
        let status = k.main_loop();
        k.flush_logs();
        *checker = k.recorder.take().and_then(|r| r.into_checker());
        status
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use abi::Sysno;
    use runner::fake::{ScriptedRunner, Step};

    use super::*;
    use crate::ExitStatus;

    /// A scripted run recorded, then replayed on a fresh kernel: every reply matches; a log
    /// whose first syscall reply was changed diverges there.
    #[test]
    fn a_recorded_run_replays_on_a_fresh_kernel() {
        let path = std::env::temp_dir().join(format!("uml-replay-run-{}.log", std::process::id()));
        let sys = |nr: Sysno, args: [u64; 6]| Step::syscall(nr as u64, args);
        let runner = ScriptedRunner::new().thread(
            1,
            [
                sys(Sysno::getpid, [0; 6]),
                sys(Sysno::mmap, [0, 4096, 3, 0x22, u64::MAX, 0]),
                sys(Sysno::clock_gettime, [1, 0, 0, 0, 0, 0]),
                sys(Sysno::exit_group, [3, 0, 0, 0, 0, 0]),
            ],
        );
        let cfg = Config {
            root: "/".into(),
            mem_bytes: 64 << 20,
            argv: vec!["/bin/busybox".into()],
            record: Some(path.clone()),
            ..Config::default()
        };
        let status = Kernel::run_with(&cfg, move |_| Ok(Box::new(runner)));
        assert_eq!(status.unwrap(), ExitStatus::Code(3));
        let mut log = crate::replay::read_log(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let cfg = Config {
            record: None,
            ..cfg
        };
        let v = replay_kernel(&cfg, &log, Service::Syscall).unwrap();
        assert_eq!(v, Verdict::Matches { messages: 4 });

        let first = log.entries.iter_mut().find_map(|e| match e {
            Entry::Syscall { reply, .. } => Some(reply),
            _ => None,
        });
        first.unwrap().outcome = syscall::Outcome::Return(12345);
        match replay_kernel(&cfg, &log, Service::Syscall).unwrap() {
            Verdict::Diverged {
                index, recorded, ..
            } => assert!(index == 0 && recorded.contains("12345"), "{recorded}"),
            v => panic!("{v:?}"),
        }
    }
}
