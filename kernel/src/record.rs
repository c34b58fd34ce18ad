//! Recording what crosses the service boundaries (`uml run --record FILE`).
//!
//! A log is one bincode [`Header`] (magic, log format, uml version, the run's flags and
//! scheduling policy, a seed), then frames until the end of the file: each a little-endian
//! `u32` length, a `u64` checksum of the bytes ([`checksum`]: FNV-1a), and a bincode
//! [`Entry`] stamped with the kernel clock ([`sched::Ktime`]) when the message was sent. Recorded
//! today: every message to the scheduler and to the runner with its reply; every message to mm with its reply,
//! what mapped files answered and the bytes each guest-memory read returned; and every
//! syscall (the caller's registers on entry and the handler's [`syscall::Reply`]); and what
//! the kernel read from the host meanwhile ([`Entry::Inputs`]: clocks, randomness, its
//! streams' answers), so that the whole kernel can be run again on the log
//! ([`crate::replay_run`]). [`crate::replay`] reads it back.
//!
//! With recording off the kernel pays one branch per message.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use abi::structs::UserRegs;
use sched::{Ktime, PolicyKind, SchedMsg, SchedReply};
use serde::{Deserialize, Serialize};

/// The first bytes of every log.
pub const MAGIC: [u8; 8] = *b"umlrec\0\0";

/// The log layout this uml writes and reads; a change of [`Header`] or [`Entry`] bumps it.
pub const FORMAT: u32 = 5;

/// The largest frame a reader accepts (a longer length is corruption).
pub const MAX_FRAME: u32 = 64 << 20;

/// The checksum of a frame's bytes (64-bit FNV-1a).
pub fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The start of a log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// [`FORMAT`].
    pub format: u32,
    /// The uml version that wrote it.
    pub version: String,
    /// The command line of the recorded run (for the reader).
    pub flags: Vec<String>,
    /// The recorded run's scheduling policy.
    pub sched: PolicyKind,
    /// Bytes of guest physical memory (`--mem`).
    pub mem_bytes: u64,
    /// How the host realised the address spaces (`--mm`).
    pub mm: mm::backend::MmKind,
    /// The seed of the run's randomness (none is drawn yet: 0).
    pub seed: u64,
}

impl Header {
    /// The header of a log this uml writes.
    pub fn new(
        flags: Vec<String>,
        sched: PolicyKind,
        mem_bytes: u64,
        mm: mm::backend::MmKind,
    ) -> Header {
        Header {
            magic: MAGIC,
            format: FORMAT,
            version: env!("CARGO_PKG_VERSION").to_string(),
            flags,
            sched,
            mem_bytes,
            mm,
            seed: 0,
        }
    }
}

/// One recorded message and its reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    /// A message to the scheduler.
    Sched {
        /// When it was sent.
        at: Ktime,
        /// The message.
        msg: SchedMsg,
        /// The scheduler's reply.
        reply: SchedReply,
    },
    /// A syscall and the syscall service's reply.
    Syscall {
        /// When it was dispatched.
        at: Ktime,
        /// The calling process.
        pid: i32,
        /// The calling thread.
        tid: i32,
        /// Its registers on entry (number in `orig_rax`, arguments).
        regs: Box<UserRegs>,
        /// The handler's reply.
        reply: Box<syscall::Reply>,
    },
    /// A message to the runner with its reply.
    Runner {
        /// When (the kernel clock).
        at: Ktime,
        /// The message.
        msg: Box<runner::RunnerMsg>,
        /// The runner's reply.
        reply: Box<runner::RunnerReply>,
    },
    /// A message to mm with its reply, the answers mapped files gave, and the bytes a
    /// guest-memory read returned ([`mm::MmEntry`]).
    Mm {
        /// When (the kernel clock).
        at: Ktime,
        /// The message and what came of it.
        entry: Box<mm::MmEntry>,
    },
    /// A path call to vfs with its reply ([`vfs::service`]).
    Vfs {
        /// When (the kernel clock).
        at: Ktime,
        /// The message and its reply.
        entry: Box<vfs::service::VfsEntry>,
    },
    /// What the kernel read from the host since the last entry of this kind: clocks,
    /// randomness, its streams' answers ([`nondet`]).
    Inputs(Vec<nondet::Input>),
}

impl Entry {
    /// Which stream of the log it belongs to (each stream is in order on its own).
    pub fn stream(&self) -> Stream {
        match self {
            Entry::Sched { .. } => Stream::Sched,
            Entry::Syscall { .. } => Stream::Syscall,
            Entry::Runner { .. } => Stream::Runner,
            Entry::Mm { .. } => Stream::Mm,
            Entry::Vfs { .. } => Stream::Vfs,
            Entry::Inputs(_) => Stream::Inputs,
        }
    }
}

/// The streams of a log: one per service inbox, and the host inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stream {
    /// Messages to the scheduler.
    Sched,
    /// Syscalls.
    Syscall,
    /// Messages to the runner.
    Runner,
    /// Messages to mm.
    Mm,
    /// Messages to vfs.
    Vfs,
    /// Host inputs.
    Inputs,
}

/// Where a [`Recorder`]'s entries go.
enum Sink {
    /// The log file; the first write error is kept for [`Recorder::finish`].
    File {
        out: BufWriter<File>,
        error: Option<std::io::Error>,
    },
    /// A replay: each entry is compared with the recorded one at its place in its stream.
    Check(crate::replay_run::Checker),
}

/// A log being written, or a replay's entries being checked against a log.
pub struct Recorder {
    sink: Sink,
}

impl Recorder {
    /// Creates the log at `path` and writes its header.
    pub fn create(path: &Path, header: &Header) -> std::io::Result<Recorder> {
        let mut out = BufWriter::new(File::create(path)?);
        bincode::serialize_into(&mut out, header).map_err(std::io::Error::other)?;
        Ok(Recorder {
            sink: Sink::File { out, error: None },
        })
    }

    /// A recorder that checks a replay's entries ([`crate::replay_run`]).
    pub(crate) fn checking(checker: crate::replay_run::Checker) -> Recorder {
        Recorder {
            sink: Sink::Check(checker),
        }
    }

    /// The checker of a replay.
    pub(crate) fn checker(&mut self) -> Option<&mut crate::replay_run::Checker> {
        match &mut self.sink {
            Sink::Check(c) => Some(c),
            Sink::File { .. } => None,
        }
    }

    /// The checker of a replay, once it ended.
    pub(crate) fn into_checker(self) -> Option<crate::replay_run::Checker> {
        match self.sink {
            Sink::Check(c) => Some(c),
            Sink::File { .. } => None,
        }
    }

    /// Appends one entry as a frame (a failure is kept for [`Recorder::finish`]).
    pub fn write(&mut self, entry: &Entry) {
        let (out, error) = match &mut self.sink {
            Sink::Check(c) => return c.check(entry),
            Sink::File { error: Some(_), .. } => return,
            Sink::File { out, error } => (out, error),
        };
        let framed = bincode::serialize(entry)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                out.write_all(&(bytes.len() as u32).to_le_bytes())?;
                out.write_all(&checksum(&bytes).to_le_bytes())?;
                out.write_all(&bytes)
            });
        if let Err(e) = framed {
            *error = Some(e);
        }
    }

    /// Writes the messages `mm` and the runner logged since the last call, stamped `at`,
    /// and the host inputs read meanwhile.
    pub fn write_logs(
        &mut self,
        mm: &mut mm::MmService,
        vfs: &vfs::VfsService,
        runner: &mut dyn runner::Runner,
        at: Ktime,
    ) {
        for entry in vfs.take_log() {
            self.write(&Entry::Vfs {
                at,
                entry: Box::new(entry),
            });
        }
        for entry in mm.take_log() {
            self.write(&Entry::Mm {
                at,
                entry: Box::new(entry),
            });
        }
        for (msg, reply) in runner.take_log() {
            self.write(&Entry::Runner {
                at,
                msg: Box::new(msg),
                reply: Box::new(reply),
            });
        }
        let inputs = nondet::take_recorded();
        if !inputs.is_empty() {
            self.write(&Entry::Inputs(inputs));
        }
    }

    /// Flushes the log; the first error of the whole recording, if any.
    pub fn finish(self) -> std::io::Result<()> {
        match self.sink {
            Sink::File { error: Some(e), .. } => Err(e),
            Sink::File { mut out, .. } => out.flush(),
            Sink::Check(_) => Ok(()),
        }
    }
}
