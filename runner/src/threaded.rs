//! The runner on a thread of its own (`uml run --deploy threads`): [`OnThread`] owns a
//! thread named `uml-runner` on which the runner of the trap mechanism is made, lives and
//! is dropped, and hands it each message through a `crossbeam-channel` inbox, waiting for
//! the reply on another. The runner is made there because ptrace wants it: the thread that
//! starts the stubs is their tracer, and only it may make ptrace requests of them.

use std::os::fd::{AsFd, BorrowedFd};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use mm::MmId;

use crate::{Runner, RunnerError, RunnerMsg, RunnerReply};

/// What the runner's inbox carries: a message, or one of the calls that are not messages.
/// Registers travel inline, as in [`RunnerMsg`].
#[allow(clippy::large_enum_variant)]
enum Request {
    Msg(RunnerMsg),
    HostPid(MmId),
    TakeLog,
}

/// What comes back.
#[allow(clippy::large_enum_variant)]
enum Response {
    Reply(Result<RunnerReply, RunnerError>),
    HostPid(Option<i32>),
    Log(Vec<(RunnerMsg, RunnerReply)>),
}

/// A runner on its own thread, which ends when this is dropped.
pub struct OnThread {
    inbox: Option<Sender<Request>>,
    outbox: Receiver<Response>,
    thread: Option<JoinHandle<()>>,
}

impl OnThread {
    /// Starts the runner thread and makes the runner there with `new_runner` over a
    /// descriptor of physical memory `phys` of its own; `new_runner`'s error is this one's.
    pub fn start(
        phys: BorrowedFd<'_>,
        new_runner: impl FnOnce(BorrowedFd<'_>) -> Result<Box<dyn Runner>, RunnerError> + Send + 'static,
    ) -> Result<OnThread, RunnerError> {
        let phys = crate::own_phys(phys)?;
        let (inbox, requests) = crossbeam_channel::unbounded();
        let (answers, outbox) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("uml-runner".into())
            .spawn(move || {
                // The first answer says whether the runner was made.
                let runner = new_runner(phys.as_fd());
                drop(phys);
                match runner {
                    Ok(runner) => {
                        if answers.send(Response::Reply(Ok(RunnerReply::Done))).is_ok() {
                            serve(runner, &requests, &answers);
                        }
                    }
                    Err(e) => drop(answers.send(Response::Reply(Err(e)))),
                }
            })
            .map_err(|e| RunnerError::io("runner thread", e))?;
        let runner = OnThread {
            inbox: Some(inbox),
            outbox,
            thread: Some(thread),
        };
        match runner.outbox.recv() {
            Ok(Response::Reply(Ok(_))) => Ok(runner),
            Ok(Response::Reply(Err(e))) => Err(e),
            _ => Err(RunnerError::Thread("ended before the runner was made")),
        }
    }

    /// A round trip to the runner thread.
    fn ask(&self, req: Request) -> Response {
        // The thread lives as long as the inbox and answers every request: a failure here
        // is a bug of uml's, not a guest's doing.
        let sent = self.inbox.as_ref().is_some_and(|i| i.send(req).is_ok());
        match (sent, self.outbox.recv()) {
            (true, Ok(r)) => r,
            _ => panic!("the runner thread is gone"),
        }
    }
}

/// The runner thread's loop: each request carried out, until the inbox closes.
fn serve(mut runner: Box<dyn Runner>, requests: &Receiver<Request>, answers: &Sender<Response>) {
    for req in requests {
        let response = match req {
            Request::Msg(msg) => Response::Reply(runner.handle(msg)),
            Request::HostPid(mm) => Response::HostPid(runner.host_pid(mm)),
            Request::TakeLog => Response::Log(runner.take_log()),
        };
        if answers.send(response).is_err() {
            break;
        }
    }
}

impl Drop for OnThread {
    fn drop(&mut self) {
        // Closing the inbox ends the thread's loop; the runner is dropped there.
        self.inbox.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Runner for OnThread {
    fn handle(&mut self, msg: RunnerMsg) -> Result<RunnerReply, RunnerError> {
        match self.ask(Request::Msg(msg)) {
            Response::Reply(r) => r,
            _ => Err(RunnerError::Thread("answered out of turn")),
        }
    }

    fn take_log(&mut self) -> Vec<(RunnerMsg, RunnerReply)> {
        match self.ask(Request::TakeLog) {
            Response::Log(log) => log,
            _ => Vec::new(),
        }
    }

    operations_as_messages!();

    fn host_pid(&self, mm: MmId) -> Option<i32> {
        match self.ask(Request::HostPid(mm)) {
            Response::HostPid(pid) => pid,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use abi::structs::UserRegs;
    use trap::Trap;

    use super::*;
    use crate::fake::{ScriptedRunner, Step};

    fn on_uml_runner() -> bool {
        std::thread::current().name() == Some("uml-runner")
    }

    #[test]
    fn the_runner_is_made_and_runs_on_its_thread() {
        let phys = std::fs::File::open("/dev/null").unwrap();
        let script = ScriptedRunner::new().thread(
            1,
            [
                Step::syscall(39, [0; 6]),
                // rax says where the step ran.
                Step::new(|regs| {
                    regs.rax = u64::from(on_uml_runner());
                    Trap::Interrupted
                }),
            ],
        );
        let log = script.log();
        let mut runner = OnThread::start(phys.as_fd(), move |_| {
            if on_uml_runner() {
                Ok(Box::new(script) as Box<dyn Runner>)
            } else {
                Err(RunnerError::Script("made off the runner thread".into()))
            }
        })
        .unwrap();
        let mut regs = UserRegs {
            rsp: 0x1000,
            ..UserRegs::default()
        };
        let trap = runner.send_resume(MmId(1), vec![], 1, &mut regs).unwrap();
        assert_eq!((trap, regs.orig_rax, regs.rsp), (Trap::Syscall, 39, 0x1000));
        let trap = runner.resume(MmId(1), &[], 1, &mut regs).unwrap();
        assert_eq!((trap, regs.rax), (Trap::Interrupted, 1));
        assert!(matches!(
            runner.resume(MmId(1), &[], 1, &mut regs),
            Err(RunnerError::Script(_))
        ));
        let mut xs = runner.get_fpregs(MmId(1), 1).unwrap();
        xs.as_bytes_mut()[160] = 0xab;
        runner.set_fpregs(MmId(1), 2, &xs).unwrap();
        assert_eq!(
            runner
                .handle(RunnerMsg::GetFpregs {
                    mm: MmId(1),
                    tid: 2
                })
                .unwrap(),
            RunnerReply::Fpregs(xs)
        );
        runner.switch_mm(MmId(2), &[]).unwrap();
        runner.release_thread(MmId(1), 2);
        runner.release(MmId(2));
        assert_eq!(runner.host_pid(MmId(1)), None);
        assert!(runner.take_log().is_empty());
        drop(runner);
        let inbox = log.messages();
        assert_eq!(
            inbox.len(),
            9,
            "3 resumes, 2 gets, a set, a switch, 2 releases"
        );
        assert_eq!(log.resumes(1)[0].rsp, 0x1000);
        assert_eq!(inbox[8], RunnerMsg::Release { mm: MmId(2) });
    }

    #[test]
    fn a_runner_not_made_is_an_error() {
        let phys = std::fs::File::open("/dev/null").unwrap();
        let started = OnThread::start(phys.as_fd(), |_| {
            Err(RunnerError::StubStart("no stub".into()))
        });
        assert!(matches!(started, Err(RunnerError::StubStart(_))));
    }
}
