//! Tests of the signal state machine and the signal frame (no host processes involved).

use abi::flags::{MapFlags, Prot};
use abi::signal::{
    sa, sig, KSigAction, StackT, SIG_DFL, SIG_IGN, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK,
};
use abi::structs::UserRegs;
use abi::{Errno, UserAddr};
use mm::{MmId, MmService};

use super::*;

fn handler(h: u64) -> KSigAction {
    KSigAction {
        handler: h,
        flags: sa::SIGINFO | sa::RESTORER,
        restorer: 0x40_1000,
        mask: 0,
    }
}

fn user(signo: i32) -> SigInfo {
    SigInfo::user(signo, 1, 0)
}

fn signos(st: &mut SigState) -> Vec<i32> {
    std::iter::from_fn(|| st.dequeue().map(|(i, _)| i.signo)).collect()
}

#[test]
fn default_actions_follow_man_7_signal() {
    use DefaultAction::*;
    assert_eq!(default_action(sig::SIGHUP), Terminate);
    assert_eq!(default_action(sig::SIGQUIT), CoreDump);
    assert_eq!(default_action(sig::SIGSEGV), CoreDump);
    assert_eq!(default_action(sig::SIGXFSZ), CoreDump);
    assert_eq!(default_action(sig::SIGCHLD), Ignore);
    assert_eq!(default_action(sig::SIGURG), Ignore);
    assert_eq!(default_action(sig::SIGWINCH), Ignore);
    assert_eq!(default_action(sig::SIGCONT), Continue);
    assert_eq!(default_action(sig::SIGTSTP), Stop);
    assert_eq!(default_action(sig::SIGSTOP), Stop);
    assert_eq!(default_action(sig::SIGPIPE), Terminate);
    assert_eq!(default_action(sig::SIGSTKFLT), Terminate);
    assert_eq!(default_action(40), Terminate);
}

#[test]
fn dequeue_order_synchronous_first_then_lowest_then_rt() {
    let mut st = SigState::default();
    for s in [
        sig::SIGUSR2,
        40,
        sig::SIGUSR1,
        33,
        sig::SIGSEGV,
        sig::SIGHUP,
    ] {
        st.set_action(s, handler(0x1000));
        assert!(st.send(user(s)));
    }
    assert_eq!(
        signos(&mut st),
        vec![
            sig::SIGSEGV,
            sig::SIGHUP,
            sig::SIGUSR1,
            sig::SIGUSR2,
            33,
            40
        ]
    );
    assert!(!st.has_deliverable());
}

#[test]
fn standard_signals_coalesce_rt_signals_queue() {
    let mut st = SigState::default();
    st.set_action(sig::SIGUSR1, handler(0x1000));
    st.set_action(35, handler(0x1000));
    assert!(st.send(SigInfo::user(sig::SIGUSR1, 7, 0)));
    assert!(!st.send(SigInfo::user(sig::SIGUSR1, 8, 0)));
    for v in 0..3 {
        assert!(st.send(SigInfo::queue(35, 9, 0, v)));
    }
    let (i, d) = st.dequeue().expect("usr1");
    assert_eq!(i.pid(), Some(7), "the first one is kept");
    assert_eq!(d, Disposition::Handler(handler(0x1000)));
    for v in 0..3 {
        let (i, _) = st.dequeue().expect("rt");
        assert_eq!(
            i.fields,
            SigFields::Rt {
                pid: 9,
                uid: 0,
                value: v
            }
        );
    }
    assert!(st.dequeue().is_none());
    assert_eq!(st.queued(), 0);
}

#[test]
fn ignored_signals_are_discarded_unless_blocked() {
    let mut st = SigState::default();
    // Default-ignored and SIG_IGN signals vanish at generation.
    assert!(!st.send(user(sig::SIGCHLD)));
    assert!(!st.send(user(sig::SIGWINCH)));
    st.set_action(
        sig::SIGUSR1,
        KSigAction {
            handler: SIG_IGN,
            ..KSigAction::default()
        },
    );
    assert!(!st.send(user(sig::SIGUSR1)));
    assert_eq!(st.pending_set(), 0);
    // Blocked, they are kept (the handler may change before unblocking)...
    st.set_blocked(sigmask(sig::SIGCHLD) | sigmask(sig::SIGUSR1));
    assert!(!st.send(user(sig::SIGCHLD)), "blocked: no wake-up");
    assert!(!st.send(user(sig::SIGUSR1)));
    assert_eq!(
        st.pending_set(),
        sigmask(sig::SIGCHLD) | sigmask(sig::SIGUSR1)
    );
    assert!(!st.has_deliverable());
    // ...and consumed silently at delivery while still ignored.
    st.set_action(sig::SIGCHLD, handler(0x2000));
    st.set_blocked(0);
    assert!(st.has_deliverable());
    assert_eq!(signos(&mut st), vec![sig::SIGCHLD]);
    assert_eq!(st.pending_set(), 0);
}

#[test]
fn setting_sig_ign_flushes_pending() {
    let mut st = SigState::default();
    st.set_blocked(sigmask(sig::SIGTERM) | sigmask(40));
    st.send(user(sig::SIGTERM));
    st.send(SigInfo::queue(40, 1, 0, 1));
    st.send(SigInfo::queue(40, 1, 0, 2));
    st.set_action(
        40,
        KSigAction {
            handler: SIG_IGN,
            ..KSigAction::default()
        },
    );
    assert_eq!(st.pending_set(), sigmask(sig::SIGTERM));
    assert_eq!(st.queued(), 1);
    // SIG_DFL for a default-ignored signal flushes too.
    st.set_blocked(sigmask(sig::SIGURG));
    st.send(user(sig::SIGURG));
    st.set_action(sig::SIGURG, handler(1 << 20));
    st.set_action(sig::SIGURG, KSigAction::default());
    assert_eq!(st.pending_set(), sigmask(sig::SIGTERM));
}

#[test]
fn unknown_sa_flags_are_dropped_and_kill_stop_leave_masks() {
    let mut st = SigState::default();
    let act = KSigAction {
        handler: 0x1000,
        flags: u64::MAX,
        restorer: 1,
        mask: u64::MAX,
    };
    st.set_action(sig::SIGUSR1, act);
    let got = st.action(sig::SIGUSR1);
    assert_eq!(got.flags, sa::UAPI_FLAGS);
    assert_eq!(got.mask, !UNBLOCKABLE);
    st.set_blocked(u64::MAX);
    assert_eq!(st.blocked, !UNBLOCKABLE);
}

#[test]
fn kill_wakes_even_when_everything_is_blocked() {
    let mut st = SigState::default();
    st.set_blocked(u64::MAX);
    assert!(st.send(user(sig::SIGKILL)));
    assert!(st.fatal_pending());
    let (i, d) = st.dequeue().expect("kill");
    assert_eq!(i.signo, sig::SIGKILL);
    assert_eq!(d, Disposition::Default(DefaultAction::Terminate));
}

#[test]
fn sigcont_and_stop_signals_cancel_each_other() {
    let mut st = SigState::default();
    st.set_blocked(STOP_MASK | sigmask(sig::SIGCONT));
    st.send(user(sig::SIGTSTP));
    st.send(user(sig::SIGTTIN));
    assert_eq!(
        st.pending_set(),
        sigmask(sig::SIGTSTP) | sigmask(sig::SIGTTIN)
    );
    // SIGCONT discards them; it is queued because it is blocked, and asks for a wake-up.
    assert!(st.send(user(sig::SIGCONT)));
    assert_eq!(st.pending_set(), sigmask(sig::SIGCONT));
    // A stop signal discards the pending SIGCONT.
    st.send(user(sig::SIGTTOU));
    assert_eq!(st.pending_set(), sigmask(sig::SIGTTOU));
    // Unblocked SIGCONT with SIG_DFL: nothing queued, but the caller continues the process.
    st.set_blocked(0);
    assert!(st.send(user(sig::SIGCONT)));
    assert_eq!(st.pending_set(), 0);
    // SIGSTOP cannot be blocked and dequeues as Stop.
    st.set_blocked(u64::MAX);
    assert!(st.send(user(sig::SIGSTOP)));
    assert_eq!(
        st.dequeue().map(|x| x.1),
        Some(Disposition::Default(DefaultAction::Stop))
    );
    assert!(!st.fatal_pending());
}

#[test]
fn fatal_pending_sees_default_terminate_only() {
    let mut st = SigState::default();
    st.send(user(sig::SIGTERM));
    assert!(st.fatal_pending());
    let mut st = SigState::default();
    st.set_action(sig::SIGTERM, handler(0x1000));
    st.send(user(sig::SIGTERM));
    assert!(!st.fatal_pending());
    let mut st = SigState::default();
    st.set_blocked(sigmask(sig::SIGTERM));
    st.send(user(sig::SIGTERM));
    assert!(!st.fatal_pending());
}

#[test]
fn force_resets_blocked_or_ignored_fault_signals() {
    let mut st = SigState::default();
    st.set_action(sig::SIGSEGV, handler(0x1000));
    st.set_blocked(sigmask(sig::SIGSEGV));
    assert!(st.force(SigInfo::fault(sig::SIGSEGV, SEGV_MAPERR, 0x10)));
    assert_eq!(st.action(sig::SIGSEGV).handler, SIG_DFL);
    assert_eq!(st.blocked, 0);
    let (i, d) = st.dequeue().expect("segv");
    assert_eq!(i.fields, SigFields::Fault { addr: 0x10 });
    assert_eq!(d, Disposition::Default(DefaultAction::CoreDump));

    // Ignored: reset to default.
    let mut st = SigState::default();
    st.set_action(
        sig::SIGFPE,
        KSigAction {
            handler: SIG_IGN,
            ..KSigAction::default()
        },
    );
    assert!(st.force(SigInfo::fault(sig::SIGFPE, FPE_INTDIV, 0x10)));
    assert_eq!(
        st.dequeue().map(|x| x.1),
        Some(Disposition::Default(DefaultAction::CoreDump))
    );

    // Handled and unblocked: the handler runs.
    let mut st = SigState::default();
    st.set_action(sig::SIGILL, handler(0x1000));
    assert!(st.force(SigInfo::fault(sig::SIGILL, ILL_ILLOPN, 0x10)));
    assert!(matches!(st.dequeue(), Some((_, Disposition::Handler(_)))));

    // A frame failure while delivering SIGSEGV kills; for another signal SIGSEGV may be
    // handled.
    let mut st = SigState::default();
    st.set_action(sig::SIGSEGV, handler(0x1000));
    st.force_sigsegv(sig::SIGSEGV);
    assert_eq!(
        st.dequeue().map(|x| x.1),
        Some(Disposition::Default(DefaultAction::CoreDump))
    );
    let mut st = SigState::default();
    st.set_action(sig::SIGSEGV, handler(0x1000));
    st.force_sigsegv(sig::SIGUSR1);
    assert!(matches!(st.dequeue(), Some((i, Disposition::Handler(_))) if i.code == SI_KERNEL));
}

#[test]
fn resethand_resets_at_dequeue() {
    let mut st = SigState::default();
    let mut act = handler(0x1000);
    act.flags |= sa::RESETHAND;
    st.set_action(sig::SIGUSR1, act);
    st.send(user(sig::SIGUSR1));
    let (_, d) = st.dequeue().expect("usr1");
    assert_eq!(d, Disposition::Handler(act));
    assert_eq!(st.action(sig::SIGUSR1).handler, SIG_DFL);
}

#[test]
fn rt_queue_limit() {
    let mut st = SigState::default();
    st.set_blocked(u64::MAX);
    for i in 0..QUEUE_MAX {
        assert_eq!(
            st.try_send(SigInfo::queue(34, 1, 0, i as u64), QUEUE_MAX, false),
            Ok(false)
        );
    }
    assert_eq!(
        st.try_send(SigInfo::queue(34, 1, 0, 0), QUEUE_MAX, false),
        Err(Errno::EAGAIN)
    );
    // kill() of an RT signal is still made pending, without siginfo; standard signals
    // always get theirs.
    assert_eq!(st.try_send(user(50), QUEUE_MAX, false), Ok(false));
    assert_eq!(st.try_send(user(sig::SIGUSR1), QUEUE_MAX, false), Ok(false));
    assert_eq!(st.queued(), QUEUE_MAX + 1);
    assert_eq!(st.dequeue_from(sigmask(50)), Some(SigInfo::user(50, 0, 0)));
    assert_eq!(
        st.dequeue_from(sigmask(sig::SIGUSR1)),
        Some(user(sig::SIGUSR1))
    );
    assert_eq!(
        st.try_send(SigInfo::queue(99, 1, 0, 0), QUEUE_MAX, false),
        Err(Errno::EINVAL)
    );
}

#[test]
fn dequeue_from_ignores_mask_and_disposition() {
    let mut st = SigState::default();
    st.set_blocked(sigmask(sig::SIGUSR1) | sigmask(sig::SIGUSR2) | sigmask(33));
    st.send(user(sig::SIGUSR2));
    st.send(SigInfo::queue(33, 1, 0, 5));
    st.send(user(sig::SIGUSR1));
    assert_eq!(
        st.dequeue_from(sigmask(sig::SIGUSR2) | sigmask(33))
            .map(|i| i.signo),
        Some(sig::SIGUSR2)
    );
    assert_eq!(
        st.dequeue_from(sigmask(sig::SIGUSR2) | sigmask(33))
            .map(|i| i.signo),
        Some(33)
    );
    assert_eq!(st.dequeue_from(sigmask(sig::SIGUSR2) | sigmask(33)), None);
    assert_eq!(st.pending_set(), sigmask(sig::SIGUSR1));
}

#[test]
fn wait_set_wakes_blocked_signals() {
    let mut st = SigState::default();
    st.set_blocked(sigmask(sig::SIGUSR1));
    st.wait_set = sigmask(sig::SIGUSR1);
    assert!(st.send(user(sig::SIGUSR1)));
    assert!(!st.has_deliverable());
}

#[test]
fn discard_ignored_keeps_real_work() {
    let mut st = SigState::default();
    st.set_blocked(sigmask(sig::SIGCHLD) | sigmask(sig::SIGUSR1));
    st.send(user(sig::SIGCHLD));
    st.send(user(sig::SIGUSR1));
    st.set_blocked(sigmask(sig::SIGUSR1));
    assert!(!st.discard_ignored());
    assert_eq!(st.pending_set(), sigmask(sig::SIGUSR1));
    st.set_blocked(0);
    assert!(st.discard_ignored());
}

#[test]
fn fork_and_exec() {
    let mut st = SigState::default();
    st.set_action(sig::SIGUSR1, handler(0x1000));
    st.set_action(
        sig::SIGUSR2,
        KSigAction {
            handler: SIG_IGN,
            flags: sa::RESTART,
            restorer: 5,
            mask: 6,
        },
    );
    st.set_blocked(sigmask(sig::SIGINT));
    st.set_altstack(
        StackT {
            sp: 0x1000,
            flags: 0,
            pad: 0,
            size: 8192,
        },
        0,
    )
    .expect("altstack");
    st.send(user(sig::SIGINT));
    let child = st.fork();
    assert_eq!(child.actions, st.actions);
    assert_eq!(child.blocked, st.blocked);
    assert_eq!(child.altstack, st.altstack);
    assert_eq!(child.pending_set(), 0);
    st.reset_on_exec();
    assert_eq!(st.action(sig::SIGUSR1), KSigAction::default());
    assert_eq!(
        st.action(sig::SIGUSR2),
        KSigAction {
            handler: SIG_IGN,
            ..KSigAction::default()
        }
    );
    assert_eq!(st.blocked, sigmask(sig::SIGINT));
    assert_eq!(st.pending_set(), sigmask(sig::SIGINT));
    assert_eq!(st.altstack_report(0).flags, SS_DISABLE);
}

#[test]
fn unkillable_init_ignores_default_signals() {
    let mut st = SigState {
        unkillable: true,
        ..SigState::default()
    };
    assert!(!st.send(user(sig::SIGTERM)));
    assert!(!st.send(user(sig::SIGKILL)));
    assert!(st.send(SigInfo::kernel(sig::SIGKILL)));
    assert!(st.dequeue().is_some());
    st.set_action(sig::SIGTERM, handler(0x1000));
    assert!(st.send(user(sig::SIGTERM)));
}

#[test]
fn sigaltstack_rules() {
    let mut st = SigState::default();
    assert_eq!(st.altstack_report(0x5000).flags, SS_DISABLE);
    let ss = StackT {
        sp: 0x10000,
        flags: 0,
        pad: 0,
        size: 0x4000,
    };
    assert_eq!(
        st.set_altstack(StackT { size: 100, ..ss }, 0),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        st.set_altstack(StackT { flags: 7, ..ss }, 0),
        Err(Errno::EINVAL)
    );
    st.set_altstack(ss, 0x9000).expect("set");
    assert_eq!(st.altstack_report(0x9000).flags, 0);
    assert_eq!(st.altstack_report(0x12000).flags, SS_ONSTACK);
    assert_eq!(
        st.altstack_report(0x14000).flags,
        SS_ONSTACK,
        "top is on it"
    );
    assert_eq!(st.altstack_report(0x10000).flags, 0, "base is not");
    assert_eq!(
        st.set_altstack(
            StackT {
                flags: SS_DISABLE,
                ..ss
            },
            0x12000
        ),
        Err(Errno::EPERM)
    );
    st.set_altstack(
        StackT {
            flags: SS_DISABLE,
            ..ss
        },
        0x9000,
    )
    .expect("disable");
    assert_eq!(
        st.altstack,
        StackT {
            sp: 0,
            flags: SS_DISABLE,
            pad: 0,
            size: 0
        }
    );
    // SS_AUTODISARM: never "on" it, reported as a flag.
    st.set_altstack(
        StackT {
            flags: SS_AUTODISARM,
            ..ss
        },
        0,
    )
    .expect("autodisarm");
    assert_eq!(st.altstack_report(0x12000).flags, SS_AUTODISARM);
}

// ---- Frames ----

const STACK_BASE: u64 = 0x7000_0000;
const STACK_LEN: u64 = 1 << 20;
const XSTATE_LEN: usize = 11008;

fn space() -> (MmService, MmId) {
    let mut mm = MmService::new(mm::Mm::new(16 << 20).expect("mm"));
    let id = mm.create_space();
    mm.mmap(
        id,
        UserAddr(STACK_BASE),
        STACK_LEN,
        Prot::READ | Prot::WRITE,
        MapFlags::PRIVATE | MapFlags::ANONYMOUS | MapFlags::FIXED,
        None,
    )
    .expect("stack");
    (mm, id)
}

fn regs() -> UserRegs {
    UserRegs {
        r15: 15,
        r14: 14,
        r13: 13,
        r12: 12,
        rbp: 0xb9,
        rbx: 0xb8,
        r11: 11,
        r10: 10,
        r9: 9,
        r8: 8,
        rax: 0xa0,
        rcx: 0xc0,
        rdx: 0xd0,
        rsi: 0x51,
        rdi: 0xd1,
        orig_rax: 39,
        rip: 0x40_2345,
        cs: 0x33,
        eflags: 0x246 | 0x400 | 0x100,
        rsp: STACK_BASE + STACK_LEN - 0x1003,
        ss: 0x2b,
        fs_base: 0x7777_0000,
        gs_base: 0,
        ds: 0,
        es: 0,
        fs: 0,
        gs: 0,
    }
}

/// A plausible ptrace XSTATE image: XCR0 = x87|SSE|AVX|..., header XSTATE_BV = 7.
fn xstate() -> Vec<u8> {
    let mut img: Vec<u8> = (0..XSTATE_LEN).map(|i| (i * 7 + 3) as u8).collect();
    img[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    img[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
    img[464..512].fill(0);
    img[464..472].copy_from_slice(&0x602e7u64.to_le_bytes());
    img[512..576].fill(0);
    img[512..520].copy_from_slice(&7u64.to_le_bytes());
    img
}

fn read(mm: &mut MmService, id: MmId, addr: u64, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    mm.copy_in(id, UserAddr(addr), &mut b).expect("read");
    b
}

fn r64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8"))
}
fn r32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4"))
}

/// What the handler's `ret` does: pop pretcode.
fn ret(regs: &mut UserRegs) {
    regs.rsp += 8;
}

#[test]
fn frame_round_trip() {
    let (mut mm, id) = space();
    let mut st = SigState::default();
    st.set_blocked(sigmask(sig::SIGINT));
    st.trap = TrapInfo::page_fault(0xdead_0000, false, true);
    let act = KSigAction {
        mask: sigmask(sig::SIGHUP),
        ..handler(0x40_5000)
    };
    st.set_action(sig::SIGUSR1, act);
    let orig = regs();
    let mut r = orig;
    let fp = xstate();
    let info = SigInfo::user(sig::SIGUSR1, 77, 1000);
    setup_rt_frame(&mut mm, id, &mut r, &fp, &info, &act, &mut st).expect("setup");

    // Registers for the handler.
    assert_eq!(r.rip, 0x40_5000);
    assert_eq!(r.rdi, sig::SIGUSR1 as u64);
    assert_eq!(r.rax, 0);
    assert_eq!((r.rsp + 8) % 16, 0);
    assert!(r.rsp + RT_SIGFRAME_SIZE <= orig.rsp - 128 - XSTATE_LEN as u64);
    assert_eq!(r.rsi, r.rsp + 312);
    assert_eq!(r.rdx, r.rsp + 8);
    assert_eq!(r.eflags & (0x400 | 0x100 | 0x1_0000), 0);
    assert_eq!(r.eflags & 0x246, 0x246);
    assert_eq!(
        st.blocked,
        sigmask(sig::SIGINT) | sigmask(sig::SIGHUP) | sigmask(sig::SIGUSR1)
    );

    // The frame.
    let f = read(&mut mm, id, r.rsp, RT_SIGFRAME_SIZE as usize);
    assert_eq!(r64(&f, 0), act.restorer);
    assert_eq!(r64(&f, 8), 7, "uc_flags");
    assert_eq!(r64(&f, 16), 0, "uc_link");
    assert_eq!(r32(&f, 24 + 8) as i32, SS_DISABLE, "uc_stack.ss_flags");
    let m = 48;
    assert_eq!(r64(&f, m), 8);
    assert_eq!(r64(&f, m + 56), 15);
    assert_eq!(r64(&f, m + 104), 0xa0);
    assert_eq!(r64(&f, m + 120), orig.rsp);
    assert_eq!(r64(&f, m + 128), orig.rip);
    assert_eq!(r64(&f, m + 136), orig.eflags);
    assert_eq!(u16::from_le_bytes([f[m + 144], f[m + 145]]), 0x33);
    assert_eq!(u16::from_le_bytes([f[m + 150], f[m + 151]]), 0x2b);
    assert_eq!(r64(&f, m + 152), 6, "err");
    assert_eq!(r64(&f, m + 160), 14, "trapno");
    assert_eq!(r64(&f, m + 168), sigmask(sig::SIGINT), "oldmask");
    assert_eq!(r64(&f, m + 176), 0xdead_0000, "cr2");
    let fpp = r64(&f, m + 184);
    assert_eq!(fpp % 64, 0);
    assert!(fpp >= r.rsp + RT_SIGFRAME_SIZE);
    assert!(fpp + XSTATE_LEN as u64 + 4 <= orig.rsp - 128);
    assert_eq!(r64(&f, 304), sigmask(sig::SIGINT), "uc_sigmask");
    assert_eq!(&f[312..440], &info.to_bytes()[..]);

    // The FP area.
    let x = read(&mut mm, id, fpp, XSTATE_LEN + 4);
    assert_eq!(r32(&x, 464), FP_XSTATE_MAGIC1);
    assert_eq!(r32(&x, 468) as usize, XSTATE_LEN + 4);
    assert_eq!(r64(&x, 472), 0x602e7);
    assert_eq!(r32(&x, 480) as usize, XSTATE_LEN);
    assert_eq!(r32(&x, XSTATE_LEN), FP_XSTATE_MAGIC2);
    assert_eq!(&x[..464], &fp[..464]);
    assert_eq!(&x[512..XSTATE_LEN], &fp[512..]);

    // The handler clobbers things, then returns.
    r.rax = 0x1234;
    r.r12 = 0;
    r.eflags |= 0x400;
    st.set_blocked(u64::MAX);
    ret(&mut r);
    let back = restore_rt_frame(&mut mm, id, &mut r, &mut st).expect("restore");
    assert_eq!(back, fp, "FP state round-trips");
    let want = UserRegs {
        orig_rax: u64::MAX,
        ..orig
    };
    assert_eq!(r, want);
    assert_eq!(st.blocked, sigmask(sig::SIGINT));
}

#[test]
fn sigreturn_sanitises_eflags_and_mask() {
    let (mut mm, id) = space();
    let mut st = SigState::default();
    let act = handler(0x40_5000);
    let orig = regs();
    let mut r = orig;
    setup_rt_frame(&mut mm, id, &mut r, &xstate(), &user(10), &act, &mut st).expect("setup");
    let uc = r.rsp + 8;
    // The handler edits its ucontext: all flags on, everything blocked, new rip.
    mm.copy_out(id, UserAddr(uc + 40 + 136), &u64::MAX.to_le_bytes())
        .expect("w");
    mm.copy_out(id, UserAddr(uc + 296), &u64::MAX.to_le_bytes())
        .expect("w");
    mm.copy_out(id, UserAddr(uc + 40 + 128), &0x40_9999u64.to_le_bytes())
        .expect("w");
    mm.copy_out(id, UserAddr(uc + 40 + 144), &0u16.to_le_bytes())
        .expect("w");
    ret(&mut r);
    restore_rt_frame(&mut mm, id, &mut r, &mut st).expect("restore");
    assert_eq!(r.rip, 0x40_9999);
    assert_eq!(r.eflags, 0x50dd5 | 0x202 | (orig.eflags & !0x50dd5));
    assert_eq!(r.cs, 0x33, "cs is not taken from the frame");
    assert_eq!(st.blocked, !UNBLOCKABLE);
}

#[test]
fn no_restorer_no_frame() {
    let (mut mm, id) = space();
    let mut st = SigState::default();
    let act = KSigAction {
        flags: sa::SIGINFO,
        ..handler(0x40_5000)
    };
    let mut r = regs();
    let e = setup_rt_frame(&mut mm, id, &mut r, &xstate(), &user(10), &act, &mut st);
    assert_eq!(e, Err(Errno::EFAULT));
    assert_eq!(r, regs());
}

#[test]
fn unmapped_stack_fails_without_changes() {
    let (mut mm, id) = space();
    let mut st = SigState {
        saved_mask: Some(3),
        ..SigState::default()
    };
    let act = handler(0x40_5000);
    let mut r = UserRegs {
        rsp: STACK_BASE + 0x100,
        ..regs()
    };
    let before = r;
    let e = setup_rt_frame(&mut mm, id, &mut r, &xstate(), &user(10), &act, &mut st);
    assert_eq!(e, Err(Errno::EFAULT));
    assert_eq!(r, before);
    assert_eq!(st.saved_mask, Some(3));
    assert_eq!(st.blocked, 0);
}

#[test]
fn sigsuspend_mask_is_what_the_frame_saves() {
    let (mut mm, id) = space();
    let mut st = SigState::default();
    st.set_blocked(sigmask(sig::SIGUSR2));
    // rt_sigsuspend(SIGINT only).
    st.saved_mask = Some(st.blocked);
    st.set_blocked(sigmask(sig::SIGINT));
    let act = handler(0x40_5000);
    let mut r = regs();
    setup_rt_frame(&mut mm, id, &mut r, &xstate(), &user(10), &act, &mut st).expect("setup");
    assert_eq!(st.saved_mask, None);
    assert_eq!(st.blocked, sigmask(sig::SIGINT) | sigmask(10));
    let f = read(&mut mm, id, r.rsp, 440);
    assert_eq!(r64(&f, 304), sigmask(sig::SIGUSR2));
    ret(&mut r);
    restore_rt_frame(&mut mm, id, &mut r, &mut st).expect("restore");
    assert_eq!(st.blocked, sigmask(sig::SIGUSR2));
}

#[test]
fn nodefer_and_no_siginfo() {
    let (mut mm, id) = space();
    let mut st = SigState::default();
    let act = KSigAction {
        flags: sa::RESTORER | sa::NODEFER,
        ..handler(0x40_5000)
    };
    let mut r = regs();
    // Pre-fill the stack so we see siginfo is left alone without SA_SIGINFO.
    let junk = vec![0xeeu8; 0x4000];
    mm.copy_out(id, UserAddr(STACK_BASE + STACK_LEN - 0x5000), &junk)
        .expect("junk");
    setup_rt_frame(&mut mm, id, &mut r, &xstate(), &user(10), &act, &mut st).expect("setup");
    assert_eq!(st.blocked, 0);
    let f = read(&mut mm, id, r.rsp, 440);
    assert!(f[312..].iter().all(|&b| b == 0xee));
}

#[test]
fn altstack_frames() {
    let (mut mm, id) = space();
    let alt = StackT {
        sp: STACK_BASE,
        flags: 0,
        pad: 0,
        size: 0x8000,
    };
    let mut st = SigState::default();
    st.set_altstack(alt, 0).expect("altstack");
    let act = KSigAction {
        flags: sa::RESTORER | sa::SIGINFO | sa::ONSTACK,
        ..handler(0x40_5000)
    };
    let mut r = regs();
    setup_rt_frame(&mut mm, id, &mut r, &xstate(), &user(10), &act, &mut st).expect("setup");
    assert!(r.rsp > alt.sp && r.rsp < alt.sp + alt.size);
    let f = read(&mut mm, id, r.rsp, 440);
    assert_eq!(r64(&f, 24), alt.sp);
    assert_eq!(r32(&f, 32), 0, "uc_stack.ss_flags as set");
    assert_eq!(r64(&f, 40), alt.size);
    assert_eq!(st.altstack_report(r.rsp).flags, SS_ONSTACK);
    // Nested: a second signal on the altstack goes below the first frame.
    let first = r.rsp;
    setup_rt_frame(&mut mm, id, &mut r, &xstate(), &user(12), &act, &mut st).expect("nested");
    assert!(r.rsp < first - 128 && r.rsp > alt.sp);
    // A third one overflows the 32 KiB altstack (each frame is ~11.5 KiB).
    let before = r;
    let e = setup_rt_frame(&mut mm, id, &mut r, &xstate(), &user(14), &act, &mut st);
    assert_eq!(e, Err(Errno::EFAULT));
    assert_eq!(r, before);
    // Without SA_ONSTACK the normal stack is used.
    let mut r2 = regs();
    let plain = handler(0x40_5000);
    setup_rt_frame(&mut mm, id, &mut r2, &xstate(), &user(10), &plain, &mut st).expect("plain");
    assert!(r2.rsp > alt.sp + alt.size);
}

#[test]
fn autodisarm_disarms_and_sigreturn_rearms() {
    let (mut mm, id) = space();
    let alt = StackT {
        sp: STACK_BASE,
        flags: SS_AUTODISARM,
        pad: 0,
        size: 0x8000,
    };
    let mut st = SigState::default();
    st.set_altstack(alt, 0).expect("altstack");
    let act = KSigAction {
        flags: sa::RESTORER | sa::ONSTACK,
        ..handler(0x40_5000)
    };
    let mut r = regs();
    setup_rt_frame(&mut mm, id, &mut r, &xstate(), &user(10), &act, &mut st).expect("setup");
    assert!(r.rsp > alt.sp && r.rsp < alt.sp + alt.size);
    assert_eq!(st.altstack_report(r.rsp).flags, SS_DISABLE);
    let f = read(&mut mm, id, r.rsp, 440);
    assert_eq!(r32(&f, 32) as i32, SS_AUTODISARM);
    ret(&mut r);
    restore_rt_frame(&mut mm, id, &mut r, &mut st).expect("restore");
    assert_eq!(st.altstack, alt);
}

#[test]
fn bad_fp_frames() {
    let (mut mm, id) = space();
    let act = handler(0x40_5000);
    let fp = xstate();

    // Wrong magic1: only the legacy FXSAVE part comes back, other components reset.
    let mut st = SigState::default();
    let mut r = regs();
    setup_rt_frame(&mut mm, id, &mut r, &fp, &user(10), &act, &mut st).expect("setup");
    let f = read(&mut mm, id, r.rsp, 440);
    let fpp = r64(&f, 48 + 184);
    mm.copy_out(id, UserAddr(fpp + 464), &[0u8; 4]).expect("w");
    ret(&mut r);
    let back = restore_rt_frame(&mut mm, id, &mut r, &mut st).expect("fx only");
    assert_eq!(back.len(), XSTATE_LEN);
    assert_eq!(&back[..464], &fp[..464]);
    assert_eq!(r64(&back, 464), 0x602e7);
    assert_eq!(r64(&back, 512), 3);
    assert!(back[520..].iter().all(|&b| b == 0));

    // A non-zero XCOMP_BV would make XRSTOR fault: a bad frame.
    let mut r = regs();
    setup_rt_frame(&mut mm, id, &mut r, &fp, &user(10), &act, &mut st).expect("setup");
    let f = read(&mut mm, id, r.rsp, 440);
    let fpp = r64(&f, 48 + 184);
    mm.copy_out(id, UserAddr(fpp + 520), &1u64.to_le_bytes())
        .expect("w");
    ret(&mut r);
    assert_eq!(
        restore_rt_frame(&mut mm, id, &mut r, &mut st),
        Err(Errno::EFAULT)
    );

    // MXCSR reserved bits.
    let mut r = regs();
    setup_rt_frame(&mut mm, id, &mut r, &fp, &user(10), &act, &mut st).expect("setup");
    let f = read(&mut mm, id, r.rsp, 440);
    let fpp = r64(&f, 48 + 184);
    mm.copy_out(id, UserAddr(fpp + 24), &0x1_0000u32.to_le_bytes())
        .expect("w");
    ret(&mut r);
    assert_eq!(
        restore_rt_frame(&mut mm, id, &mut r, &mut st),
        Err(Errno::EFAULT)
    );

    // NULL fpstate: the initial FPU state.
    let mut r = regs();
    setup_rt_frame(&mut mm, id, &mut r, &fp, &user(10), &act, &mut st).expect("setup");
    mm.copy_out(id, UserAddr(r.rsp + 48 + 184), &0u64.to_le_bytes())
        .expect("w");
    ret(&mut r);
    let back = restore_rt_frame(&mut mm, id, &mut r, &mut st).expect("init");
    assert_eq!(back, init_fpstate(&st.xstate));
    assert_eq!(u16::from_le_bytes([back[0], back[1]]), 0x37f);
    assert_eq!(r32(&back, 24), 0x1f80);

    // Features outside the frame's xfeatures are reset.
    let mut r = regs();
    setup_rt_frame(&mut mm, id, &mut r, &fp, &user(10), &act, &mut st).expect("setup");
    let f = read(&mut mm, id, r.rsp, 440);
    let fpp = r64(&f, 48 + 184);
    mm.copy_out(id, UserAddr(fpp + 472), &3u64.to_le_bytes())
        .expect("w");
    ret(&mut r);
    let back = restore_rt_frame(&mut mm, id, &mut r, &mut st).expect("fpsse");
    assert_eq!(r64(&back, 512), 3);

    // A frame outside memory.
    let mut r = UserRegs {
        rsp: 0x1000,
        ..regs()
    };
    assert_eq!(
        restore_rt_frame(&mut mm, id, &mut r, &mut st),
        Err(Errno::EFAULT)
    );
}

#[test]
fn an_image_made_before_the_layout_was_known_is_fitted_to_the_host() {
    let host = XstateInfo::from_image(&xstate()).expect("layout");
    // A forged frame's legacy image, made with no known layout: 576 bytes, and a header
    // that claims a component the host does not have (bit 8).
    let mut early = init_fpstate(&XstateInfo::default());
    early[512..520].copy_from_slice(&(0x3u64 | 1 << 8).to_le_bytes());
    let fitted = fit_fpstate(early.clone(), &host);
    assert_eq!(fitted.len(), host.size);
    assert_eq!(fitted[..464], early[..464], "registers kept");
    assert_eq!(r64(&fitted, 464), host.features, "host XCR0 in sw_reserved");
    assert_eq!(
        r64(&fitted, 512),
        0x3,
        "only the host's features in XSTATE_BV"
    );
    assert!(
        fitted[576..].iter().all(|&b| b == 0),
        "the rest in its initial state"
    );
    // A longer image is cut to the host's size.
    assert_eq!(fit_fpstate(vec![0; host.size + 64], &host).len(), host.size);
}
