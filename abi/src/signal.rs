//! Signal numbers and the kernel's `sigaction` layout.

use bytemuck::{Pod, Zeroable};

/// Signal numbers (x86-64).
#[allow(missing_docs)]
pub mod sig {
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGQUIT: i32 = 3;
    pub const SIGILL: i32 = 4;
    pub const SIGTRAP: i32 = 5;
    pub const SIGABRT: i32 = 6;
    pub const SIGBUS: i32 = 7;
    pub const SIGFPE: i32 = 8;
    pub const SIGKILL: i32 = 9;
    pub const SIGUSR1: i32 = 10;
    pub const SIGSEGV: i32 = 11;
    pub const SIGUSR2: i32 = 12;
    pub const SIGPIPE: i32 = 13;
    pub const SIGALRM: i32 = 14;
    pub const SIGTERM: i32 = 15;
    pub const SIGSTKFLT: i32 = 16;
    pub const SIGCHLD: i32 = 17;
    pub const SIGCONT: i32 = 18;
    pub const SIGSTOP: i32 = 19;
    pub const SIGTSTP: i32 = 20;
    pub const SIGTTIN: i32 = 21;
    pub const SIGTTOU: i32 = 22;
    pub const SIGURG: i32 = 23;
    pub const SIGXCPU: i32 = 24;
    pub const SIGXFSZ: i32 = 25;
    pub const SIGVTALRM: i32 = 26;
    pub const SIGPROF: i32 = 27;
    pub const SIGWINCH: i32 = 28;
    pub const SIGIO: i32 = 29;
    pub const SIGPWR: i32 = 30;
    pub const SIGSYS: i32 = 31;
    pub const SIGRTMIN: i32 = 32;
    pub const SIGRTMAX: i32 = 64;
    pub const NSIG: i32 = 64;
}

/// `si_code` values (`include/uapi/asm-generic/siginfo.h`).
#[allow(missing_docs)]
pub mod si_code {
    // Generic origins.
    pub const SI_USER: i32 = 0;
    pub const SI_KERNEL: i32 = 0x80;
    pub const SI_QUEUE: i32 = -1;
    pub const SI_TIMER: i32 = -2;
    pub const SI_MESGQ: i32 = -3;
    pub const SI_ASYNCIO: i32 = -4;
    pub const SI_SIGIO: i32 = -5;
    pub const SI_TKILL: i32 = -6;
    // SIGILL.
    pub const ILL_ILLOPC: i32 = 1;
    pub const ILL_ILLOPN: i32 = 2;
    pub const ILL_ILLADR: i32 = 3;
    pub const ILL_ILLTRP: i32 = 4;
    pub const ILL_PRVOPC: i32 = 5;
    pub const ILL_PRVREG: i32 = 6;
    pub const ILL_COPROC: i32 = 7;
    pub const ILL_BADSTK: i32 = 8;
    // SIGFPE.
    pub const FPE_INTDIV: i32 = 1;
    pub const FPE_INTOVF: i32 = 2;
    pub const FPE_FLTDIV: i32 = 3;
    pub const FPE_FLTOVF: i32 = 4;
    pub const FPE_FLTUND: i32 = 5;
    pub const FPE_FLTRES: i32 = 6;
    pub const FPE_FLTINV: i32 = 7;
    pub const FPE_FLTSUB: i32 = 8;
    // SIGSEGV.
    pub const SEGV_MAPERR: i32 = 1;
    pub const SEGV_ACCERR: i32 = 2;
    pub const SEGV_BNDERR: i32 = 3;
    pub const SEGV_PKUERR: i32 = 4;
    // SIGBUS.
    pub const BUS_ADRALN: i32 = 1;
    pub const BUS_ADRERR: i32 = 2;
    pub const BUS_OBJERR: i32 = 3;
    pub const BUS_MCEERR_AR: i32 = 4;
    pub const BUS_MCEERR_AO: i32 = 5;
    // SIGTRAP.
    pub const TRAP_BRKPT: i32 = 1;
    pub const TRAP_TRACE: i32 = 2;
    pub const TRAP_BRANCH: i32 = 3;
    pub const TRAP_HWBKPT: i32 = 4;
    pub const TRAP_UNK: i32 = 5;
    pub const TRAP_PERF: i32 = 6;
    // SIGCHLD.
    pub const CLD_EXITED: i32 = 1;
    pub const CLD_KILLED: i32 = 2;
    pub const CLD_DUMPED: i32 = 3;
    pub const CLD_TRAPPED: i32 = 4;
    pub const CLD_STOPPED: i32 = 5;
    pub const CLD_CONTINUED: i32 = 6;
    // SIGPOLL.
    pub const POLL_IN: i32 = 1;
    pub const POLL_OUT: i32 = 2;
    pub const POLL_MSG: i32 = 3;
    pub const POLL_ERR: i32 = 4;
    pub const POLL_PRI: i32 = 5;
    pub const POLL_HUP: i32 = 6;
    // SIGSYS.
    pub const SYS_SECCOMP: i32 = 1;
    pub const SYS_USER_DISPATCH: i32 = 2;
    /// Highest code of each class Linux knows (`NSIG*`), for `siginfo_layout`.
    pub const NSIGILL: i32 = 11;
    pub const NSIGFPE: i32 = 15;
    pub const NSIGSEGV: i32 = 10;
    pub const NSIGBUS: i32 = 5;
    pub const NSIGTRAP: i32 = 6;
    pub const NSIGCHLD: i32 = 6;
    pub const NSIGPOLL: i32 = 6;
    pub const NSIGSYS: i32 = 2;
}

/// `sa_flags` bits.
#[allow(missing_docs)]
pub mod sa {
    pub const NOCLDSTOP: u64 = 1;
    pub const NOCLDWAIT: u64 = 2;
    pub const SIGINFO: u64 = 4;
    pub const ONSTACK: u64 = 0x0800_0000;
    pub const RESTART: u64 = 0x1000_0000;
    pub const NODEFER: u64 = 0x4000_0000;
    pub const RESETHAND: u64 = 0x8000_0000;
    pub const RESTORER: u64 = 0x0400_0000;
    pub const EXPOSE_TAGBITS: u64 = 0x0000_0800;
    /// Never supported: lets programs detect that unknown flags are cleared.
    pub const UNSUPPORTED: u64 = 0x0000_0400;
    /// The flags `rt_sigaction` keeps (`UAPI_SA_FLAGS` on x86-64); others read back as 0.
    pub const UAPI_FLAGS: u64 = NOCLDSTOP
        | NOCLDWAIT
        | SIGINFO
        | ONSTACK
        | RESTART
        | NODEFER
        | RESETHAND
        | EXPOSE_TAGBITS
        | RESTORER;
}

/// `rt_sigprocmask` `how` values.
#[allow(missing_docs)]
pub mod how {
    pub const SIG_BLOCK: i32 = 0;
    pub const SIG_UNBLOCK: i32 = 1;
    pub const SIG_SETMASK: i32 = 2;
}

/// Handler values with special meaning.
pub const SIG_DFL: u64 = 0;
/// Ignore the signal.
pub const SIG_IGN: u64 = 1;

/// A 64-bit signal set, bit `n-1` for signal `n`.
pub type SigSet = u64;

/// The kernel's `struct sigaction` as `rt_sigaction` reads and writes it on x86-64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct KSigAction {
    /// Handler address, `SIG_DFL` or `SIG_IGN`.
    pub handler: u64,
    /// `SA_*` flags.
    pub flags: u64,
    /// Address of the `rt_sigreturn` trampoline.
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: SigSet,
}
const _: () = assert!(std::mem::size_of::<KSigAction>() == 32);

/// `stack_t` for `sigaltstack`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct StackT {
    /// Base of the alternate stack.
    pub sp: u64,
    /// `SS_*` flags.
    pub flags: i32,
    /// Padding, as in Linux's layout.
    pub pad: i32,
    /// Size in bytes.
    pub size: u64,
}
const _: () = assert!(std::mem::size_of::<StackT>() == 24);

/// `sigaltstack` flags.
pub const SS_ONSTACK: i32 = 1;
/// The alternate stack is disabled.
pub const SS_DISABLE: i32 = 2;
/// Disarm the alternate stack while a handler runs on it (`SS_AUTODISARM`).
pub const SS_AUTODISARM: i32 = 1 << 31;
/// Flag bits of `ss_flags` besides the mode (`SS_FLAG_BITS`).
pub const SS_FLAG_BITS: i32 = SS_AUTODISARM;
/// Smallest alternate stack Linux accepts.
pub const MINSIGSTKSZ: u64 = 2048;
