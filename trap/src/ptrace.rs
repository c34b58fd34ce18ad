//! The ptrace mechanism: `PTRACE_SYSEMU` stops on every guest syscall (the host never runs
//! it), signal-delivery stops report faults, and registers move with `PTRACE_GETREGS`/
//! `SETREGS` and `PTRACE_GETREGSET`/`SETREGSET NT_X86_XSTATE`.
//!
//! This module is one of the few places that talk to the host directly; each `unsafe` block
//! is a single libc call whose pointers refer to live, correctly sized Rust values.
#![allow(unsafe_code)]

use abi::structs::UserRegs;
use nix::errno::Errno as HostErrno;

use crate::{GuestThread, HostExit, SignalInfo, Trap, TrapError, XState};

/// `NT_X86_XSTATE`, the regset of the full XSAVE area.
const NT_X86_XSTATE: libc::c_int = 0x202;
/// `PTRACE_SYSEMU`.
const PTRACE_SYSEMU: libc::c_uint = 31;

/// A host thread traced by this kernel thread (the tracer is the thread that started it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tracee {
    pid: libc::pid_t,
}

/// What a `waitpid` on the tracee reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A `PTRACE_SYSEMU` syscall stop.
    Syscall,
    /// A signal-delivery stop (or the exec `SIGTRAP`): the signal has not been delivered.
    Signal(i32),
    /// A group-stop or event stop with this status.
    Other(i32),
    /// The process is gone.
    Exited(HostExit),
}

impl Tracee {
    /// Wraps a host pid that this thread traces.
    pub fn new(pid: i32) -> Tracee {
        Tracee { pid }
    }

    /// The host pid.
    pub fn pid(self) -> i32 {
        self.pid
    }

    fn err(self, request: &'static str) -> TrapError {
        TrapError::Ptrace {
            request,
            pid: self.pid,
            errno: HostErrno::last(),
        }
    }

    fn request(
        self,
        name: &'static str,
        req: libc::c_uint,
        addr: usize,
        data: usize,
    ) -> Result<(), TrapError> {
        // SAFETY: `addr`/`data` are either plain integers or pointers to live values of the
        // size the request expects (checked at each caller); ptrace touches nothing else.
        let r = unsafe {
            libc::ptrace(
                req,
                self.pid,
                addr as *mut libc::c_void,
                data as *mut libc::c_void,
            )
        };
        if r < 0 {
            Err(self.err(name))
        } else {
            Ok(())
        }
    }

    /// Sets `PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD`: the tracee dies with the kernel, and
    /// syscall stops are told apart from `SIGTRAP`.
    pub fn set_options(self) -> Result<(), TrapError> {
        let opts = (libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACESYSGOOD) as usize;
        self.request("SETOPTIONS", libc::PTRACE_SETOPTIONS, 0, opts)
    }

    /// Reads the general registers.
    pub fn get_regs(self) -> Result<UserRegs, TrapError> {
        let mut regs = UserRegs::default();
        // `UserRegs` has exactly the layout of `struct user_regs_struct` (216 bytes).
        self.request(
            "GETREGS",
            libc::PTRACE_GETREGS,
            0,
            &mut regs as *mut UserRegs as usize,
        )?;
        Ok(regs)
    }

    /// Writes the general registers.
    pub fn set_regs(self, regs: &UserRegs) -> Result<(), TrapError> {
        self.request(
            "SETREGS",
            libc::PTRACE_SETREGS,
            0,
            regs as *const UserRegs as usize,
        )
    }

    /// The host's full XSAVE size: `GETREGSET` on a large buffer reports how much it filled.
    pub fn probe_xstate_size(self) -> Result<usize, TrapError> {
        let mut buf = vec![0u8; 1 << 16];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        self.request(
            "GETREGSET",
            libc::PTRACE_GETREGSET,
            NT_X86_XSTATE as usize,
            &mut iov as *mut libc::iovec as usize,
        )?;
        Ok(iov.iov_len)
    }

    /// Reads the FP/XSTATE into `xs` (whose size must be the probed host size).
    pub fn get_xstate(self, xs: &mut XState) -> Result<(), TrapError> {
        let bytes = xs.as_bytes_mut();
        let mut iov = libc::iovec {
            iov_base: bytes.as_mut_ptr().cast(),
            iov_len: bytes.len(),
        };
        self.request(
            "GETREGSET",
            libc::PTRACE_GETREGSET,
            NT_X86_XSTATE as usize,
            &mut iov as *mut libc::iovec as usize,
        )
    }

    /// Writes the FP/XSTATE from `xs` (whose size must be the probed host size).
    pub fn set_xstate(self, xs: &XState) -> Result<(), TrapError> {
        let bytes = xs.as_bytes();
        let mut iov = libc::iovec {
            iov_base: bytes.as_ptr() as *mut libc::c_void,
            iov_len: bytes.len(),
        };
        self.request(
            "SETREGSET",
            libc::PTRACE_SETREGSET,
            NT_X86_XSTATE as usize,
            &mut iov as *mut libc::iovec as usize,
        )
    }

    /// The siginfo of the current signal-delivery stop.
    pub fn get_siginfo(self) -> Result<SignalInfo, TrapError> {
        // SAFETY: siginfo_t is plain data; all-zero is a valid value.
        let mut si: libc::siginfo_t = unsafe { std::mem::zeroed() };
        self.request(
            "GETSIGINFO",
            libc::PTRACE_GETSIGINFO,
            0,
            &mut si as *mut libc::siginfo_t as usize,
        )?;
        let addr = match si.si_signo {
            // SAFETY: for these signals the kernel filled the fault-address union member.
            libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE => unsafe {
                si.si_addr() as u64
            },
            _ => 0,
        };
        Ok(SignalInfo {
            signo: si.si_signo,
            code: si.si_code,
            addr,
        })
    }

    /// Resumes until the next syscall entry (which will not be executed) or signal.
    pub fn sysemu(self) -> Result<(), TrapError> {
        self.request("SYSEMU", PTRACE_SYSEMU, 0, 0)
    }

    /// Resumes, running syscalls for real (used for the stub's own code).
    pub fn cont(self) -> Result<(), TrapError> {
        self.request("CONT", libc::PTRACE_CONT, 0, 0)
    }

    /// Detaches, letting the tracee run on from its current registers without a signal.
    pub fn detach(self) -> Result<(), TrapError> {
        self.request("DETACH", libc::PTRACE_DETACH, 0, 0)
    }

    /// Waits for the tracee's next stop or its end.
    pub fn wait(self) -> Result<Stop, TrapError> {
        let mut status: libc::c_int = 0;
        loop {
            // SAFETY: `status` is a live c_int the call writes.
            let r = unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) };
            if r >= 0 {
                break;
            }
            let errno = HostErrno::last();
            if errno != HostErrno::EINTR {
                return Err(TrapError::Wait {
                    pid: self.pid,
                    errno,
                });
            }
        }
        Ok(decode_status(status))
    }

    /// Resumes with `PTRACE_SYSEMU` and classifies the next stop as a [`Trap`]. Signal stops
    /// are consumed (the signal is not delivered by the host; the kernel decides).
    pub fn run_until_trap(self) -> Result<Trap, TrapError> {
        loop {
            self.sysemu()?;
            match self.wait()? {
                Stop::Syscall => return Ok(Trap::Syscall),
                Stop::Exited(e) => return Ok(Trap::Exited(e)),
                Stop::Other(_) => continue,
                // The preemption timer (ITIMER_VIRTUAL in the stub): the slice is over.
                Stop::Signal(libc::SIGVTALRM) => return Ok(Trap::Interrupted),
                Stop::Signal(sig) => {
                    let info = self.get_siginfo()?;
                    let resolvable = sig == libc::SIGSEGV
                        && (info.code == abi::signal::si_code::SEGV_MAPERR
                            || info.code == abi::signal::si_code::SEGV_ACCERR);
                    if resolvable {
                        return Ok(Trap::Fault {
                            addr: info.addr,
                            present: info.code == abi::signal::si_code::SEGV_ACCERR,
                            error_code: None,
                        });
                    }
                    return Ok(Trap::Signal(info));
                }
            }
        }
    }

    /// Kills the tracee and reaps it.
    pub fn kill(self) {
        // SAFETY: plain syscall on a pid we own (a child of this thread).
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let mut status = 0;
        // SAFETY: `status` is a live c_int.
        unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) };
    }
}

fn decode_status(status: libc::c_int) -> Stop {
    if libc::WIFEXITED(status) {
        Stop::Exited(HostExit::Code(libc::WEXITSTATUS(status)))
    } else if libc::WIFSIGNALED(status) {
        Stop::Exited(HostExit::Signal(libc::WTERMSIG(status)))
    } else if libc::WIFSTOPPED(status) {
        let sig = libc::WSTOPSIG(status);
        if sig == libc::SIGTRAP | 0x80 {
            Stop::Syscall
        } else if status >> 16 != 0 {
            Stop::Other(status)
        } else {
            Stop::Signal(sig)
        }
    } else {
        Stop::Other(status)
    }
}

impl GuestThread for Tracee {
    fn run(&mut self, regs: &mut UserRegs) -> Result<Trap, TrapError> {
        self.set_regs(regs)?;
        let trap = self.run_until_trap()?;
        if !matches!(trap, Trap::Exited(_)) {
            *regs = self.get_regs()?;
        }
        Ok(trap)
    }

    fn get_fp(&mut self, xs: &mut XState) -> Result<(), TrapError> {
        self.get_xstate(xs)
    }

    fn set_fp(&mut self, xs: &XState) -> Result<(), TrapError> {
        self.set_xstate(xs)
    }
}
