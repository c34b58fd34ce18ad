//! ptrace requests driven alone: attach, a stop the kernel would enter, `wait`'s report,
//! and a resume that injects a signal, as values.
#![allow(clippy::unwrap_used)]

use abi::signal::sig;
use abi::{Errno, Sysno};

use super::StopKind;
use crate::signal::SigInfo;
use crate::tests_reply::{nobody, returned, World};
use crate::{Outcome, WaitKey};

const PEEKDATA: u64 = 2;
const CONT: u64 = 7;
const ATTACH: u64 = 16;
const POKEUSR: u64 = 6;
const PEEKUSR: u64 = 3;

fn forked(w: &mut World) -> i32 {
    match w.call(Sysno::fork, &[], &nobody).outcome {
        Outcome::Fork { child, .. } => child,
        o => panic!("fork: {o:?}"),
    }
}

#[test]
fn attach_stop_wait_and_resume() {
    let mut w = World::new();
    let child = forked(&mut w);
    let c = child as u64;
    let attached = w.call(Sysno::ptrace, &[ATTACH, c, 0, 0], &nobody);
    assert_eq!(attached.outcome, Outcome::Return(0));
    assert_eq!(attached.effects.wake, vec![WaitKey::Signal(child)]);
    assert!(w.proc.tracees.contains(&child));
    // Attached but running: requests that need a stop are ESRCH; attaching again EPERM.
    let again = w.call(Sysno::ptrace, &[ATTACH, c, 0, 0], &nobody);
    assert_eq!(again, returned(Errno::EPERM.as_return()));
    let peek = w.call(Sysno::ptrace, &[PEEKDATA, c, 0, 0], &nobody);
    assert_eq!(peek, returned(Errno::ESRCH.as_return()));

    // The kernel takes the SIGSTOP into a signal-delivery stop.
    let regs = w.regs;
    let p = w.procs.get_mut(child).unwrap();
    let info = p.sig.take_deliverable().unwrap();
    assert_eq!(info.signo, sig::SIGSTOP);
    p.threads.get_mut(&child).unwrap().stopped_regs = Some(regs);
    p.ptrace
        .as_mut()
        .unwrap()
        .enter(child, StopKind::Signal, sig::SIGSTOP, info);

    let status = w.scratch(0);
    let waited = w.call(Sysno::wait4, &[u64::MAX, status, 0, 0], &nobody);
    assert_eq!(waited.outcome, Outcome::Return(c));
    assert_eq!(
        i32::from_le_bytes(w.read::<4>(status)),
        (sig::SIGSTOP << 8) | 0x7f
    );

    // Debug registers: an enabled breakpoint cannot move into the kernel's half.
    let dr = |n: u64| 848 + 8 * n;
    assert_eq!(
        w.call(Sysno::ptrace, &[POKEUSR, c, dr(0), 1], &nobody),
        returned(0)
    );
    assert_eq!(
        w.call(Sysno::ptrace, &[POKEUSR, c, dr(7), 1], &nobody),
        returned(0)
    );
    let kern = w.call(
        Sysno::ptrace,
        &[POKEUSR, c, dr(0), 0xffff_8000_0000_0000],
        &nobody,
    );
    assert_eq!(kern, returned(Errno::EINVAL.as_return()));
    let word = w.scratch(8);
    assert_eq!(
        w.call(Sysno::ptrace, &[PEEKUSR, c, dr(7), word], &nobody),
        returned(0)
    );
    assert_eq!(u64::from_le_bytes(w.read::<8>(word)), 1);

    // Resumed with another signal: it is to be delivered, as sent by the tracer.
    let resumed = w.call(Sysno::ptrace, &[CONT, c, 0, sig::SIGUSR1 as u64], &nobody);
    assert_eq!(resumed.outcome, Outcome::Return(0));
    assert_eq!(resumed.effects.resume, vec![child]);
    let t = w.procs.get(child).unwrap().ptrace.as_ref().unwrap();
    assert!(!t.stopped(child));
    assert_eq!(
        t.inject.get(&child),
        Some(&SigInfo::user(sig::SIGUSR1, 1, 0))
    );
    let bad = w.call(Sysno::ptrace, &[CONT, c, 0, 65], &nobody);
    assert_eq!(bad, returned(Errno::ESRCH.as_return()));
}
