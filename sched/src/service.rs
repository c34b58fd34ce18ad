//! Where the scheduler runs ([`Deploy`]): on the kernel's own loop, where a message and
//! its reply are a function call (a queue push and pop with no thread wake-up), or on a
//! thread of its own that consumes a `crossbeam-channel` inbox and answers on another.
//! Either way the kernel holds a [`SchedService`] and sends it the same messages.

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use serde::{Deserialize, Serialize};

use crate::{SchedMsg, SchedReply, Scheduler, TaskId, WaitKey, Waiter};

/// How the kernel's services are deployed (`uml run --deploy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Deploy {
    /// Every service on the kernel's loop.
    #[default]
    Loop,
    /// Each service on a thread of its own, reached through channels.
    Threads,
}

impl std::str::FromStr for Deploy {
    type Err = String;
    fn from_str(s: &str) -> Result<Deploy, String> {
        match s {
            "loop" => Ok(Deploy::Loop),
            "threads" => Ok(Deploy::Threads),
            _ => Err(format!("unknown deployment {s:?} (loop or threads)")),
        }
    }
}

/// What the scheduler's inbox carries: a message, or one of the read-only views.
enum Request {
    Msg(SchedMsg),
    Waiters(WaitKey),
    Queue(WaitKey),
    IsStopped(TaskId),
    Blocked(TaskId),
}

/// What comes back.
enum Response {
    Reply(SchedReply),
    Count(usize),
    Queue(Vec<Waiter>),
    Flag(bool),
    Blocked(Option<bool>),
}

/// The scheduler as the kernel reaches it.
pub struct SchedService(Where);

enum Where {
    /// On the caller's loop.
    Local(Scheduler),
    /// On its own thread, which ends when the inbox is dropped.
    Thread {
        inbox: Option<Sender<Request>>,
        outbox: Receiver<Response>,
        thread: Option<JoinHandle<()>>,
    },
}

impl SchedService {
    /// `sched` deployed as `deploy` says (a thread that cannot be started is a host
    /// failure).
    pub fn new(sched: Scheduler, deploy: Deploy) -> std::io::Result<SchedService> {
        Ok(SchedService(match deploy {
            Deploy::Loop => Where::Local(sched),
            Deploy::Threads => {
                let (inbox, requests) = crossbeam_channel::unbounded();
                let (answers, outbox) = crossbeam_channel::unbounded();
                let thread = std::thread::Builder::new()
                    .name("uml-sched".into())
                    .spawn(move || serve(sched, requests, answers))?;
                Where::Thread {
                    inbox: Some(inbox),
                    outbox,
                    thread: Some(thread),
                }
            }
        }))
    }

    /// A round trip to the service thread.
    fn ask(inbox: &Option<Sender<Request>>, outbox: &Receiver<Response>, req: Request) -> Response {
        // The thread lives as long as the inbox, and answers every request: a failure
        // here is a bug of uml's, not a guest's doing.
        let sent = inbox.as_ref().map(|i| i.send(req));
        match (sent, outbox.recv()) {
            (Some(Ok(())), Ok(r)) => r,
            _ => panic!("the scheduler thread is gone"),
        }
    }

    /// Sends `msg`; the scheduler's reply.
    pub fn call(&mut self, msg: SchedMsg) -> SchedReply {
        match &mut self.0 {
            Where::Local(s) => s.handle(msg),
            Where::Thread { inbox, outbox, .. } => {
                match Self::ask(inbox, outbox, Request::Msg(msg)) {
                    Response::Reply(r) => r,
                    _ => SchedReply::Ok,
                }
            }
        }
    }

    /// How many tasks are blocked on `key`.
    pub fn waiters(&self, key: WaitKey) -> usize {
        match &self.0 {
            Where::Local(s) => s.waiters(key),
            Where::Thread { inbox, outbox, .. } => {
                match Self::ask(inbox, outbox, Request::Waiters(key)) {
                    Response::Count(n) => n,
                    _ => 0,
                }
            }
        }
    }

    /// The tasks blocked on `key`, first blocked first, with their bitsets.
    pub fn queue(&self, key: WaitKey) -> Vec<Waiter> {
        match &self.0 {
            Where::Local(s) => s.queue(key),
            Where::Thread { inbox, outbox, .. } => {
                match Self::ask(inbox, outbox, Request::Queue(key)) {
                    Response::Queue(q) => q,
                    _ => Vec::new(),
                }
            }
        }
    }

    /// Whether `t` is stopped by job control.
    pub fn is_stopped(&self, t: TaskId) -> bool {
        match &self.0 {
            Where::Local(s) => s.is_stopped(t),
            Where::Thread { inbox, outbox, .. } => {
                matches!(
                    Self::ask(inbox, outbox, Request::IsStopped(t)),
                    Response::Flag(true)
                )
            }
        }
    }
}

impl SchedService {
    /// Whether `t` is blocked, and if so interruptibly ([`Scheduler::blocked`]).
    pub fn blocked(&self, t: TaskId) -> Option<bool> {
        match &self.0 {
            Where::Local(s) => s.blocked(t),
            Where::Thread { inbox, outbox, .. } => {
                match Self::ask(inbox, outbox, Request::Blocked(t)) {
                    Response::Blocked(b) => b,
                    _ => None,
                }
            }
        }
    }
}

impl Drop for SchedService {
    fn drop(&mut self) {
        if let Where::Thread { inbox, thread, .. } = &mut self.0 {
            // Closing the inbox ends the thread's loop.
            inbox.take();
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// The service thread: answers every request until the inbox closes.
fn serve(mut sched: Scheduler, requests: Receiver<Request>, answers: Sender<Response>) {
    for req in requests {
        let resp = match req {
            Request::Msg(m) => Response::Reply(sched.handle(m)),
            Request::Waiters(k) => Response::Count(sched.waiters(k)),
            Request::Queue(k) => Response::Queue(sched.queue(k)),
            Request::IsStopped(t) => Response::Flag(sched.is_stopped(t)),
            Request::Blocked(t) => Response::Blocked(sched.blocked(t)),
        };
        if answers.send(resp).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyKind;

    /// The same messages give the same replies on the loop and on a thread.
    #[test]
    fn both_deployments_answer_alike() {
        let msgs = [
            SchedMsg::Wake(TaskId(1)),
            SchedMsg::Wake(TaskId(2)),
            SchedMsg::Block {
                task: TaskId(1),
                keys: vec![WaitKey::File(4)],
                deadline: None,
                interruptible: true,
                bitset: crate::MATCH_ANY,
            },
            SchedMsg::PickNext,
            SchedMsg::WakeKey {
                key: WaitKey::File(4),
                max: 1,
                bitset: crate::MATCH_ANY,
            },
            SchedMsg::PickNext,
        ];
        let mut local =
            SchedService::new(Scheduler::new(PolicyKind::Fair), Deploy::Loop).expect("loop");
        let mut thread =
            SchedService::new(Scheduler::new(PolicyKind::Fair), Deploy::Threads).expect("thread");
        for m in msgs {
            assert_eq!(local.call(m.clone()), thread.call(m));
        }
        let k = WaitKey::File(9);
        assert_eq!(local.waiters(k), thread.waiters(k));
        assert_eq!(local.queue(k), thread.queue(k));
        assert_eq!(local.is_stopped(TaskId(1)), thread.is_stopped(TaskId(1)));
    }
}
