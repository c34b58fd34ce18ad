//! Replaying mm's recorded inbox (`uml replay FILE --service mm`): a fresh [`Mm`] handles
//! each logged [`MmMsg`]; mapped files are stand-ins that give the answers the real files
//! gave when the log was written ([`FileIo`], in order), with zeros for their bytes (no
//! reply of mm depends on a file's contents).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::backend::MmKind;
use crate::service::{lock, FileIo, MappedFile, MmEntry, MmMsg, MmReply};
use crate::{FileKey, Mm, MmError, PageSource};

/// The answers the files gave while mm handled the current message, and whether a file
/// was asked something else than when the log was written.
#[derive(Default)]
struct Answers {
    queue: VecDeque<FileIo>,
    diverged: Option<String>,
}

/// A mapped file in a replay.
struct StandIn {
    key: Option<FileKey>,
    writable: bool,
    answers: Arc<Mutex<Answers>>,
}

impl StandIn {
    fn next(&self, asked: &str) -> Option<FileIo> {
        let mut a = lock(&self.answers);
        let got = a.queue.pop_front();
        if got.is_none() && a.diverged.is_none() {
            a.diverged = Some(format!(
                "a file was asked {asked} beyond the recorded answers"
            ));
        }
        got
    }

    fn mismatch(&self, asked: String, got: &FileIo) {
        let mut a = lock(&self.answers);
        if a.diverged.is_none() {
            a.diverged = Some(format!("a file was asked {asked}; the log has {got:?}"));
        }
    }
}

fn io_of(got: Result<u64, i32>, cap: usize) -> std::io::Result<usize> {
    got.map(|n| (n as usize).min(cap))
        .map_err(std::io::Error::from_raw_os_error)
}

impl PageSource for StandIn {
    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        dst.fill(0);
        match self.next("read_at") {
            Some(FileIo::Read { offset: o, got }) if o == offset => io_of(got, dst.len()),
            Some(other) => {
                self.mismatch(format!("read_at({offset})"), &other);
                Ok(0)
            }
            None => Ok(0),
        }
    }
    fn key(&self) -> Option<FileKey> {
        self.key
    }
    fn write_at(&self, offset: u64, src: &[u8]) -> std::io::Result<usize> {
        match self.next("write_at") {
            Some(FileIo::Write { offset: o, got }) if o == offset => io_of(got, src.len()),
            Some(other) => {
                self.mismatch(format!("write_at({offset})"), &other);
                Ok(src.len())
            }
            None => Ok(src.len()),
        }
    }
    fn size(&self) -> u64 {
        match self.next("size") {
            Some(FileIo::Size(n)) => n,
            Some(other) => {
                self.mismatch("size".into(), &other);
                0
            }
            None => 0,
        }
    }
    fn writable(&self) -> bool {
        self.writable
    }
}

/// A fresh mm fed logged messages.
pub struct Replayer {
    mm: Mm,
    answers: Arc<Mutex<Answers>>,
}

impl Replayer {
    /// A fresh mm over `mem_bytes` of physical memory (as the recorded run's) realised by
    /// `backend` in the host.
    pub fn new(mem_bytes: u64, backend: MmKind) -> Result<Replayer, MmError> {
        let mut mm = Mm::new(mem_bytes)?;
        mm.set_backend(backend.backend());
        Ok(Replayer {
            mm,
            answers: Arc::default(),
        })
    }

    /// Handles the logged message of `e` and returns the reply this mm gives, or why the
    /// files it maps were asked something else than in the recorded run.
    pub fn step(&mut self, e: &MmEntry) -> Result<MmReply, String> {
        *lock(&self.answers) = Answers {
            queue: e.io.iter().cloned().collect(),
            diverged: None,
        };
        let mut msg = e.msg.clone();
        if let MmMsg::Mmap {
            file:
                Some(MappedFile {
                    key,
                    writable,
                    source,
                    ..
                }),
            ..
        } = &mut msg
        {
            *source = Some(Arc::new(StandIn {
                key: *key,
                writable: *writable,
                answers: self.answers.clone(),
            }));
        }
        let reply = self.mm.handle(msg);
        let a = lock(&self.answers);
        if let Some(why) = &a.diverged {
            return Err(why.clone());
        }
        if !a.queue.is_empty() {
            return Err(format!(
                "{} recorded file answers were not asked for",
                a.queue.len()
            ));
        }
        Ok(reply)
    }

    /// The mm being fed, for statistics.
    pub fn mm(&self) -> &Mm {
        &self.mm
    }
}
