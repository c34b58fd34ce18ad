//! `siginfo_t`: what a queued signal carries, typed by class, and its exact x86-64 bytes.
//!
//! Layout (128 bytes): `si_signo` @0, `si_errno` @4, `si_code` @8, then a union @16 whose
//! member depends on the signal and code (Linux's `siginfo_layout`):
//!
//! | class  | fields (offset)                                                        |
//! |--------|------------------------------------------------------------------------|
//! | kill   | pid i32 @16, uid u32 @20                                               |
//! | timer  | tid i32 @16, overrun i32 @20, sigval @24                               |
//! | rt     | pid i32 @16, uid u32 @20, sigval @24                                   |
//! | chld   | pid i32 @16, uid u32 @20, status i32 @24, utime i64 @32, stime i64 @40 |
//! | fault  | addr u64 @16                                                           |
//! | poll   | band i64 @16, fd i32 @24                                               |
//! | sys    | call_addr u64 @16, syscall i32 @24, arch u32 @28                       |
//!
//! Bytes no member covers are zero, as Linux's `clear_siginfo` leaves them.

use abi::signal::{si_code as sc, sig};

pub use abi::signal::si_code::*;

/// Size of `siginfo_t`.
pub const SIGINFO_SIZE: usize = 128;

/// `AUDIT_ARCH_X86_64`, the `si_arch` of a `SIGSYS` from a 64-bit syscall.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// The class-specific part of a siginfo (the union at offset 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SigFields {
    /// `kill`, `tkill`, and kernel-generated signals (`SI_USER`, `SI_TKILL`, `SI_KERNEL`).
    Kill {
        /// Sender's pid (0 from the kernel).
        pid: i32,
        /// Sender's real uid.
        uid: u32,
    },
    /// `sigqueue`/`rt_sigqueueinfo` and other negative codes (`SI_QUEUE`, `SI_MESGQ`...).
    Rt {
        /// Sender's pid.
        pid: i32,
        /// Sender's real uid.
        uid: u32,
        /// `si_value` (`sigval`, as its 64 bits).
        value: u64,
    },
    /// `SIGCHLD` from the kernel (`CLD_*`).
    Chld {
        /// The child's pid.
        pid: i32,
        /// The child's real uid.
        uid: u32,
        /// Exit code (`CLD_EXITED`) or signal number.
        status: i32,
        /// User CPU time in clock ticks.
        utime: i64,
        /// System CPU time in clock ticks.
        stime: i64,
    },
    /// Synchronous faults (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP`).
    Fault {
        /// Faulting address (`si_addr`).
        addr: u64,
    },
    /// POSIX timers (`SI_TIMER`).
    Timer {
        /// Timer id.
        tid: i32,
        /// Overrun count.
        overrun: i32,
        /// `si_value`.
        value: u64,
        /// Queued by one of the process's timers (Linux's timer `sigqueue`); false for a
        /// siginfo a program made up (`rt_sigqueueinfo`). Never shown to the guest.
        from_timer: bool,
    },
    /// `SIGPOLL`/`SIGIO` (`POLL_*`, `SI_SIGIO`).
    Poll {
        /// `si_band`.
        band: i64,
        /// `si_fd`.
        fd: i32,
    },
    /// `SIGSYS` (seccomp).
    Sys {
        /// Address of the syscall instruction.
        call_addr: u64,
        /// Syscall number.
        syscall: i32,
        /// `AUDIT_ARCH_*`.
        arch: u32,
    },
}

/// One signal's `siginfo_t`, typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SigInfo {
    /// Signal number.
    pub signo: i32,
    /// `si_errno` (almost always 0).
    pub errno: i32,
    /// `si_code`: who sent it or why.
    pub code: i32,
    /// The class-specific fields.
    pub fields: SigFields,
}

fn put_i32(b: &mut [u8], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
fn get_u32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}
fn get_i32(b: &[u8], at: usize) -> i32 {
    get_u32(b, at) as i32
}
fn get_u64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Linux's `siginfo_layout`: which union member a (signo, code) pair uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Kill,
    Timer,
    Rt,
    Chld,
    Fault,
    Poll,
    Sys,
}

fn layout(signo: i32, code: i32) -> Layout {
    if code > sc::SI_USER && code < sc::SI_KERNEL {
        let limit = match signo {
            sig::SIGILL => Some((sc::NSIGILL, Layout::Fault)),
            sig::SIGFPE => Some((sc::NSIGFPE, Layout::Fault)),
            sig::SIGSEGV => Some((sc::NSIGSEGV, Layout::Fault)),
            sig::SIGBUS => Some((sc::NSIGBUS, Layout::Fault)),
            sig::SIGTRAP => Some((sc::NSIGTRAP, Layout::Fault)),
            sig::SIGCHLD => Some((sc::NSIGCHLD, Layout::Chld)),
            sig::SIGIO => Some((sc::NSIGPOLL, Layout::Poll)),
            sig::SIGSYS => Some((sc::NSIGSYS, Layout::Sys)),
            _ => None,
        };
        match limit {
            Some((max, l)) if code <= max => l,
            _ if code <= sc::NSIGPOLL => Layout::Poll,
            _ => Layout::Kill,
        }
    } else if code == sc::SI_TIMER {
        Layout::Timer
    } else if code == sc::SI_SIGIO {
        Layout::Poll
    } else if code < 0 {
        Layout::Rt
    } else {
        Layout::Kill
    }
}

impl SigInfo {
    /// A signal from `kill(2)` (`SI_USER`) by `pid`/`uid`.
    pub fn user(signo: i32, pid: i32, uid: u32) -> SigInfo {
        SigInfo {
            signo,
            errno: 0,
            code: SI_USER,
            fields: SigFields::Kill { pid, uid },
        }
    }

    /// A signal from `tkill`/`tgkill` (`SI_TKILL`; Linux lays it out as an rt siginfo
    /// with a zero value).
    pub fn tkill(signo: i32, pid: i32, uid: u32) -> SigInfo {
        SigInfo {
            signo,
            errno: 0,
            code: SI_TKILL,
            fields: SigFields::Rt { pid, uid, value: 0 },
        }
    }

    /// A signal the kernel sends for its own reasons (`SI_KERNEL`, pid and uid 0), as
    /// Linux's `force_sig`/`SEND_SIG_PRIV`.
    pub fn kernel(signo: i32) -> SigInfo {
        SigInfo {
            signo,
            errno: 0,
            code: SI_KERNEL,
            fields: SigFields::Kill { pid: 0, uid: 0 },
        }
    }

    /// A `sigqueue` (`SI_QUEUE`) signal carrying `value`.
    pub fn queue(signo: i32, pid: i32, uid: u32, value: u64) -> SigInfo {
        SigInfo {
            signo,
            errno: 0,
            code: SI_QUEUE,
            fields: SigFields::Rt { pid, uid, value },
        }
    }

    /// A synchronous fault (`SIGSEGV`/`SIGBUS`/`SIGILL`/`SIGFPE`/`SIGTRAP`) at `addr`.
    pub fn fault(signo: i32, code: i32, addr: u64) -> SigInfo {
        SigInfo {
            signo,
            errno: 0,
            code,
            fields: SigFields::Fault { addr },
        }
    }

    /// `SIGCHLD` for a child's state change (`CLD_*`).
    pub fn chld(code: i32, pid: i32, uid: u32, status: i32, utime: i64, stime: i64) -> SigInfo {
        SigInfo {
            signo: sig::SIGCHLD,
            errno: 0,
            code,
            fields: SigFields::Chld {
                pid,
                uid,
                status,
                utime,
                stime,
            },
        }
    }

    /// A POSIX timer expiry (`SI_TIMER`) as a program may make one up.
    pub fn timer(signo: i32, tid: i32, overrun: i32, value: u64) -> SigInfo {
        SigInfo {
            signo,
            errno: 0,
            code: SI_TIMER,
            fields: SigFields::Timer {
                tid,
                overrun,
                value,
                from_timer: false,
            },
        }
    }

    /// The signal POSIX timer `tid` queues when it expires (its overrun is filled in
    /// when it is taken, see [`crate::posix_timer`]).
    pub fn posix_timer(signo: i32, tid: i32, value: u64) -> SigInfo {
        SigInfo {
            fields: SigFields::Timer {
                tid,
                overrun: 0,
                value,
                from_timer: true,
            },
            ..SigInfo::timer(signo, tid, 0, value)
        }
    }

    /// The sender's pid, for the classes that carry one.
    pub fn pid(&self) -> Option<i32> {
        match self.fields {
            SigFields::Kill { pid, .. }
            | SigFields::Rt { pid, .. }
            | SigFields::Chld { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Whether the kernel generated it (Linux's `SI_FROMKERNEL`: `si_code > 0`, which
    /// includes `SI_KERNEL`).
    pub fn is_from_kernel(&self) -> bool {
        self.code > 0
    }

    /// The exact bytes of Linux's x86-64 `siginfo_t`.
    #[allow(clippy::wrong_self_convention)]
    pub fn to_bytes(&self) -> [u8; SIGINFO_SIZE] {
        let mut b = [0u8; SIGINFO_SIZE];
        put_i32(&mut b, 0, self.signo);
        put_i32(&mut b, 4, self.errno);
        put_i32(&mut b, 8, self.code);
        match self.fields {
            SigFields::Kill { pid, uid } => {
                put_i32(&mut b, 16, pid);
                put_u32(&mut b, 20, uid);
            }
            SigFields::Rt { pid, uid, value } => {
                put_i32(&mut b, 16, pid);
                put_u32(&mut b, 20, uid);
                put_u64(&mut b, 24, value);
            }
            SigFields::Chld {
                pid,
                uid,
                status,
                utime,
                stime,
            } => {
                put_i32(&mut b, 16, pid);
                put_u32(&mut b, 20, uid);
                put_i32(&mut b, 24, status);
                put_u64(&mut b, 32, utime as u64);
                put_u64(&mut b, 40, stime as u64);
            }
            SigFields::Fault { addr } => put_u64(&mut b, 16, addr),
            SigFields::Timer {
                tid,
                overrun,
                value,
                ..
            } => {
                put_i32(&mut b, 16, tid);
                put_i32(&mut b, 20, overrun);
                put_u64(&mut b, 24, value);
            }
            SigFields::Poll { band, fd } => {
                put_u64(&mut b, 16, band as u64);
                put_i32(&mut b, 24, fd);
            }
            SigFields::Sys {
                call_addr,
                syscall,
                arch,
            } => {
                put_u64(&mut b, 16, call_addr);
                put_i32(&mut b, 24, syscall);
                put_u32(&mut b, 28, arch);
            }
        }
        b
    }

    /// Decodes a guest `siginfo_t` (for `rt_sigqueueinfo`), choosing the union member as
    /// Linux's `siginfo_layout` does. Fields outside the member are dropped.
    pub fn from_bytes(b: &[u8; SIGINFO_SIZE]) -> SigInfo {
        let (signo, errno, code) = (get_i32(b, 0), get_i32(b, 4), get_i32(b, 8));
        let fields = match layout(signo, code) {
            Layout::Kill => SigFields::Kill {
                pid: get_i32(b, 16),
                uid: get_u32(b, 20),
            },
            Layout::Rt => SigFields::Rt {
                pid: get_i32(b, 16),
                uid: get_u32(b, 20),
                value: get_u64(b, 24),
            },
            Layout::Timer => SigFields::Timer {
                tid: get_i32(b, 16),
                overrun: get_i32(b, 20),
                value: get_u64(b, 24),
                from_timer: false,
            },
            Layout::Chld => SigFields::Chld {
                pid: get_i32(b, 16),
                uid: get_u32(b, 20),
                status: get_i32(b, 24),
                utime: get_u64(b, 32) as i64,
                stime: get_u64(b, 40) as i64,
            },
            Layout::Fault => SigFields::Fault {
                addr: get_u64(b, 16),
            },
            Layout::Poll => SigFields::Poll {
                band: get_u64(b, 16) as i64,
                fd: get_i32(b, 24),
            },
            Layout::Sys => SigFields::Sys {
                call_addr: get_u64(b, 16),
                syscall: get_i32(b, 24),
                arch: get_u32(b, 28),
            },
        };
        SigInfo {
            signo,
            errno,
            code,
            fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_matches_libc() {
        assert_eq!(std::mem::size_of::<nix::libc::siginfo_t>(), SIGINFO_SIZE);
    }

    #[test]
    fn kill_layout() {
        let b = SigInfo::user(sig::SIGUSR1, 42, 1000).to_bytes();
        assert_eq!(get_i32(&b, 0), 10);
        assert_eq!(get_i32(&b, 4), 0);
        assert_eq!(get_i32(&b, 8), 0);
        assert_eq!(get_i32(&b, 16), 42);
        assert_eq!(get_u32(&b, 20), 1000);
        assert!(b[12..16].iter().chain(&b[24..]).all(|&x| x == 0));
    }

    #[test]
    fn rt_layout() {
        let b = SigInfo::queue(40, 7, 3, 0x1122_3344_5566_7788).to_bytes();
        assert_eq!(get_i32(&b, 8), -1);
        assert_eq!(get_i32(&b, 16), 7);
        assert_eq!(get_u32(&b, 20), 3);
        assert_eq!(get_u64(&b, 24), 0x1122_3344_5566_7788);
        assert!(b[32..].iter().all(|&x| x == 0));
    }

    #[test]
    fn chld_layout() {
        let b = SigInfo::chld(CLD_EXITED, 5, 0, 3, 11, 22).to_bytes();
        assert_eq!(get_i32(&b, 0), sig::SIGCHLD);
        assert_eq!(get_i32(&b, 8), 1);
        assert_eq!(get_i32(&b, 16), 5);
        assert_eq!(get_i32(&b, 24), 3);
        assert_eq!(get_u64(&b, 32), 11);
        assert_eq!(get_u64(&b, 40), 22);
        assert!(b[28..32].iter().all(|&x| x == 0));
    }

    #[test]
    fn fault_and_timer_layout() {
        let b = SigInfo::fault(sig::SIGSEGV, SEGV_MAPERR, 0xdead_b000).to_bytes();
        assert_eq!(get_i32(&b, 8), 1);
        assert_eq!(get_u64(&b, 16), 0xdead_b000);
        let b = SigInfo::timer(sig::SIGALRM, 3, 2, 9).to_bytes();
        assert_eq!(get_i32(&b, 8), -2);
        assert_eq!(
            (get_i32(&b, 16), get_i32(&b, 20), get_u64(&b, 24)),
            (3, 2, 9)
        );
    }

    #[test]
    fn round_trips_through_bytes() {
        let all = [
            SigInfo::user(15, 1, 2),
            SigInfo::tkill(10, 1, 2),
            SigInfo::kernel(sig::SIGKILL),
            SigInfo::queue(33, 4, 5, 6),
            SigInfo::fault(sig::SIGBUS, BUS_ADRERR, 0x1000),
            SigInfo::fault(sig::SIGILL, ILL_ILLOPN, 0x401000),
            SigInfo::fault(sig::SIGFPE, FPE_INTDIV, 0x401002),
            SigInfo::fault(sig::SIGTRAP, TRAP_BRKPT, 0x401003),
            SigInfo::chld(CLD_KILLED, 9, 1, 9, 0, 0),
            SigInfo::timer(34, 1, 0, 77),
            SigInfo {
                signo: sig::SIGIO,
                errno: 0,
                code: sc::POLL_IN,
                fields: SigFields::Poll { band: 1, fd: 3 },
            },
            SigInfo {
                signo: sig::SIGSYS,
                errno: 0,
                code: sc::SYS_SECCOMP,
                fields: SigFields::Sys {
                    call_addr: 8,
                    syscall: 1,
                    arch: AUDIT_ARCH_X86_64,
                },
            },
        ];
        for si in all {
            assert_eq!(SigInfo::from_bytes(&si.to_bytes()), si, "{si:?}");
        }
    }

    #[test]
    fn layout_follows_linux() {
        // A user-sent SIGCHLD with SI_USER is a kill layout; an out-of-range code of a
        // fault signal is treated as SIGPOLL's when small, kill otherwise.
        assert_eq!(layout(sig::SIGCHLD, 0), Layout::Kill);
        assert_eq!(layout(sig::SIGSEGV, 3), Layout::Fault);
        assert_eq!(layout(sig::SIGUSR1, 3), Layout::Poll);
        assert_eq!(layout(sig::SIGUSR1, 50), Layout::Kill);
        assert_eq!(layout(sig::SIGSEGV, SI_KERNEL), Layout::Kill);
        assert_eq!(layout(35, SI_TKILL), Layout::Rt);
        assert_eq!(layout(35, SI_TIMER), Layout::Timer);
    }
}
