//! vfs on a thread of its own (`--deploy threads`).
//!
//! The caller sends a message with its start directories as objects ([`AtObj`]) into the
//! thread's inbox and waits for the [`Out`] on another channel. A walk into `/proc` needs
//! the process table, which the caller owns and the thread cannot reach: the thread's
//! [`ProcSource`] ([`Remote`]) sends each question back as a [`ProcQuery`], and the
//! waiting caller answers it from its own table ([`ProcAnswer`]) before it goes on waiting.
//! Only one message is out at a time, so vfs sees one caller, as on the kernel's loop.

use std::thread::JoinHandle;

use crossbeam_channel::{select, Receiver, Sender};

use abi::Errno;

use super::{exec, AtObj, Out, VfsMsg};
use crate::{Arc, At, Dentry, FileRef, NoProcs, NsFile, ProcFile, ProcSource, Vfs};

/// A question of [`ProcSource`]'s, with its arguments.
enum ProcQuery {
    Caller,
    Pids,
    Owner(i32),
    Tasks(i32),
    Cwd(i32),
    Exe(i32),
    Fds(i32),
    Fd(i32, i32),
    Contents(i32, ProcFile),
    Entries(i32, ProcFile),
    Ns(i32, Vec<u8>),
}

/// An answer to a [`ProcQuery`], by the type it returns.
enum ProcAnswer {
    Caller(Option<(i32, i32)>),
    Ids(Vec<i32>),
    Owner(Option<(u32, u32)>),
    Dentry(Option<Dentry>),
    Fd(Option<(FileRef, bool)>),
    Bytes(Result<Vec<u8>, Errno>),
    Entries(Result<(u64, Vec<(u64, u64)>), Errno>),
    Ns(Option<Arc<NsFile>>),
}

/// `procs`' answer to `q` (`vfs`: the caller's, for the files it generates).
fn answer(procs: &dyn ProcSource, vfs: &Vfs, q: ProcQuery) -> ProcAnswer {
    match q {
        ProcQuery::Caller => ProcAnswer::Caller(procs.caller()),
        ProcQuery::Pids => ProcAnswer::Ids(procs.pids()),
        ProcQuery::Owner(pid) => ProcAnswer::Owner(procs.owner(pid)),
        ProcQuery::Tasks(pid) => ProcAnswer::Ids(procs.tasks(pid)),
        ProcQuery::Cwd(pid) => ProcAnswer::Dentry(procs.cwd(pid)),
        ProcQuery::Exe(pid) => ProcAnswer::Dentry(procs.exe(pid)),
        ProcQuery::Fds(pid) => ProcAnswer::Ids(procs.fds(pid)),
        ProcQuery::Fd(pid, fd) => ProcAnswer::Fd(procs.fd(pid, fd)),
        ProcQuery::Contents(pid, f) => ProcAnswer::Bytes(procs.contents(vfs, pid, f)),
        ProcQuery::Entries(pid, f) => ProcAnswer::Entries(procs.entries(pid, f)),
        ProcQuery::Ns(pid, name) => ProcAnswer::Ns(procs.ns(pid, &name)),
    }
}

/// The process table as the vfs thread sees it: each question goes to the waiting caller.
/// A caller that is gone answers nothing: no processes.
struct Remote<'c> {
    queries: &'c Sender<ProcQuery>,
    answers: &'c Receiver<ProcAnswer>,
}

impl Remote<'_> {
    fn ask(&self, q: ProcQuery) -> Option<ProcAnswer> {
        self.queries.send(q).ok()?;
        self.answers.recv().ok()
    }
}

impl ProcSource for Remote<'_> {
    fn caller(&self) -> Option<(i32, i32)> {
        match self.ask(ProcQuery::Caller) {
            Some(ProcAnswer::Caller(c)) => c,
            _ => None,
        }
    }
    fn pids(&self) -> Vec<i32> {
        match self.ask(ProcQuery::Pids) {
            Some(ProcAnswer::Ids(v)) => v,
            _ => Vec::new(),
        }
    }
    fn owner(&self, pid: i32) -> Option<(u32, u32)> {
        match self.ask(ProcQuery::Owner(pid)) {
            Some(ProcAnswer::Owner(o)) => o,
            _ => None,
        }
    }
    fn tasks(&self, pid: i32) -> Vec<i32> {
        match self.ask(ProcQuery::Tasks(pid)) {
            Some(ProcAnswer::Ids(v)) => v,
            _ => Vec::new(),
        }
    }
    fn cwd(&self, pid: i32) -> Option<Dentry> {
        match self.ask(ProcQuery::Cwd(pid)) {
            Some(ProcAnswer::Dentry(d)) => d,
            _ => None,
        }
    }
    fn exe(&self, pid: i32) -> Option<Dentry> {
        match self.ask(ProcQuery::Exe(pid)) {
            Some(ProcAnswer::Dentry(d)) => d,
            _ => None,
        }
    }
    fn fds(&self, pid: i32) -> Vec<i32> {
        match self.ask(ProcQuery::Fds(pid)) {
            Some(ProcAnswer::Ids(v)) => v,
            _ => Vec::new(),
        }
    }
    fn fd(&self, pid: i32, fd: i32) -> Option<(FileRef, bool)> {
        match self.ask(ProcQuery::Fd(pid, fd)) {
            Some(ProcAnswer::Fd(f)) => f,
            _ => None,
        }
    }
    fn contents(&self, _vfs: &Vfs, pid: i32, file: ProcFile) -> Result<Vec<u8>, Errno> {
        match self.ask(ProcQuery::Contents(pid, file)) {
            Some(ProcAnswer::Bytes(b)) => b,
            _ => Err(Errno::ESRCH),
        }
    }
    fn entries(&self, pid: i32, file: ProcFile) -> Result<(u64, Vec<(u64, u64)>), Errno> {
        match self.ask(ProcQuery::Entries(pid, file)) {
            Some(ProcAnswer::Entries(e)) => e,
            _ => Err(Errno::ENOENT),
        }
    }
    fn ns(&self, pid: i32, name: &[u8]) -> Option<Arc<NsFile>> {
        match self.ask(ProcQuery::Ns(pid, name.to_vec())) {
            Some(ProcAnswer::Ns(n)) => n,
            _ => None,
        }
    }
}

/// The channels and thread of a vfs on a thread of its own.
pub(crate) struct VfsThread {
    inbox: Option<Sender<VfsMsg<AtObj>>>,
    outbox: Receiver<Out>,
    queries: Receiver<ProcQuery>,
    answers: Sender<ProcAnswer>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for VfsThread {
    fn drop(&mut self) {
        // Closing the inbox ends the thread's loop.
        self.inbox.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl VfsThread {
    /// Starts the thread that carries out messages on `vfs`.
    pub fn start(vfs: Arc<Vfs>) -> std::io::Result<VfsThread> {
        let (inbox, requests) = crossbeam_channel::unbounded::<VfsMsg<AtObj>>();
        let (replies, outbox) = crossbeam_channel::unbounded();
        let (ask, queries) = crossbeam_channel::unbounded();
        let (answers, answered) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("uml-vfs".into())
            .spawn(move || {
                let procs = Remote {
                    queries: &ask,
                    answers: &answered,
                };
                for msg in requests {
                    let out = exec(&vfs, &msg, &procs);
                    // The message's objects go before the caller goes on.
                    drop(msg);
                    if replies.send(out).is_err() {
                        break;
                    }
                }
            })?;
        Ok(VfsThread {
            inbox: Some(inbox),
            outbox,
            queries,
            answers,
            thread: Some(thread),
        })
    }

    /// Sends `msg` to the thread and waits for what it gives, answering its questions
    /// about `/proc` meanwhile from the message's own process table (`vfs`: the same vfs,
    /// for the files that table generates).
    pub fn call(&self, vfs: &Vfs, msg: &VfsMsg<At<'_>, &[u8]>) -> Out {
        let mut procs: Option<&dyn ProcSource> = None;
        let sent = msg.map_at(|a| {
            procs.get_or_insert(a.procs);
            AtObj::of(a)
        });
        let procs = procs.unwrap_or(&NoProcs);
        // The thread lives as long as its inbox and answers every message: a failure here
        // is a bug of uml's, not a guest's doing.
        let sent = self.inbox.as_ref().is_some_and(|i| i.send(sent).is_ok());
        assert!(sent, "the vfs thread is gone");
        loop {
            select! {
                recv(self.outbox) -> out => match out {
                    Ok(out) => return out,
                    Err(_) => panic!("the vfs thread is gone"),
                },
                recv(self.queries) -> q => {
                    if let Ok(q) = q {
                        let _ = self.answers.send(answer(procs, vfs, q));
                    }
                }
            }
        }
    }
}
