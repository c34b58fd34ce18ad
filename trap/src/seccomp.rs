//! The seccomp mechanism: a BPF filter in each stub turns every guest syscall into a
//! `SIGSYS` (`SECCOMP_RET_TRAP`); a handler in the stub reports that signal, faults and the
//! preemption tick through shared memory and resumes guest code with `rt_sigreturn`. No
//! ptrace stop is on the syscall or fault path. This module holds what does not touch the
//! host: the two BPF programs, the layout of the host's signal frame, the classification of
//! a report as a [`Trap`], and the conversion between the signal frame's FP state and the
//! `PTRACE_GETREGSET NT_X86_XSTATE` image the rest of uml uses. The stub's code
//! (`runner/stub/stub.S`) and its host side (`runner::seccomp`) use them.
//!
//! # Why a guest cannot do more here than under ptrace
//!
//! Under ptrace the guest's host process can execute nothing but its own instructions: every
//! syscall stops and is emulated. Here the guest shares its host process with the stub's code
//! and data, so the argument is about what that sharing gives it.
//!
//! 1. **Syscalls.** The guest thread's filter ([`guest_filter`]) traps every syscall whose
//!    instruction pointer lies outside the stub's code pages, whatever its ABI. From the
//!    stub's code it allows exactly: `rt_sigreturn` (equivalent to the guest setting its own
//!    registers, which it can anyway), `sched_yield` (it takes no argument and only gives
//!    up the CPU, as trapping does), `futex` `FUTEX_WAIT` on the `STATE` word with no
//!    timeout and `FUTEX_WAKE` on the `TRAP_SEQ` word (both in stub memory; a wait only parks
//!    the thread, a wake only wakes the kernel thread, which re-checks), and `arch_prctl`
//!    `ARCH_SET_FS`/`ARCH_SET_GS` (what the guest may ask the kernel for anyway). Anything
//!    else from the stub's code traps too, and the runner kills the guest for it. So jumping
//!    into the stub's `syscall` instructions with chosen registers reaches nothing else.
//! 2. **File descriptors.** The guest thread's fd table is empty: physical memory is held
//!    only by the *mapper* thread, created without `CLONE_FILES` (so it has its own table),
//!    and closed in the guest thread's table right after. None of the allowed calls takes an
//!    fd. The guest can neither name nor use physical memory.
//! 3. **Mappings.** Every host mapping change is made by the mapper thread, from a batch the
//!    kernel writes into the *request pages*, which are mapped read-only in the stub (the
//!    guest cannot `mprotect` them: no such syscall is allowed). The mapper runs only stub
//!    code, uses no stack, and its own filter ([`mapper_filter`]) allows only `mmap`,
//!    `munmap`, `mprotect` and `futex` from the stub's code. The guest can write the mapper's
//!    completion words (the read-write data page), so the kernel treats them as hints: before
//!    it writes a new batch, and before it leaves the stub, it checks with
//!    `FUTEX_CMP_REQUEUE` onto the same word (which moves no one and returns the number of
//!    waiters) that the mapper is asleep on the request word — a state only the mapper can be
//!    in, since the guest may not wait there. A half-read batch can therefore never mix two
//!    batches' fields.
//! 4. **Parking.** A guest thread may only run guest code when the kernel says so: the
//!    handler leaves its wait only when `STATE == 2*TRAP_SEQ+1`, and `STATE` lives in the
//!    read-only request page. The kernel makes `STATE` even as soon as it picks up a report and
//!    odd only when it answers. Before the kernel runs another address space it *parks* the
//!    stub it leaves: it requires the guest thread to sleep in `FUTEX_WAIT` on `STATE`
//!    (counted as above). From that wait the only way out is the code after the `syscall`
//!    instruction, which reloads every operand from absolute addresses and loops while
//!    `STATE` is even; a signal arriving meanwhile runs the same handler. So a parked guest
//!    runs no instruction of its own until the kernel resumes it, and by then the runner has
//!    applied (and confirmed) every pending unmap and write-protect of that address space. A
//!    guest that fakes a report (writes `TRAP_SEQ` itself) keeps running, but only until the
//!    kernel leaves it: parking then fails within a timeout and the guest is killed. Frames
//!    another process may receive are never still mapped in a stub that can run.
//! 5. **The frame and the signal mask.** The kernel rewrites the canonical frame (registers,
//!    `uc_flags`, `uc_stack`, segment word, fpstate pointer, signal mask = none blocked) before
//!    each resume, so a guest that scribbled on the signal stack only hurts itself; a
//!    sigreturn frame the host rejects becomes a `SIGSEGV` for the guest. A report whose frame
//!    is not the canonical one (the guest moved its stack into the signal stack) kills it.
//! 6. **Preemption and stalls.** The tick is `ITIMER_VIRTUAL` → `SIGVTALRM`, armed before the
//!    filter: the guest cannot re-arm it (`setitimer` traps). It can block it, by jumping to
//!    the `rt_sigreturn` instruction with a frame of its own, or sleep by jumping to the
//!    `futex` wait. The kernel therefore never waits unboundedly: after spinning it sleeps in
//!    slices, and at each one checks that the stub is alive, that its CPU time has not run
//!    far past the time slice without a report (preemption blocked), and that its guest
//!    thread is not asleep without having reported; any of these kills the guest (it is
//!    reported as a `SIGKILL`, so the kernel and the other guests carry on).
//! 7. **Other guests.** Each address space is its own host process with its own stub; nothing
//!    is shared between stubs but the read-only stub image. Physical memory is only reachable
//!    through mappings the kernel asked for. A stub serves another address space only after
//!    its own is gone, and only once it is parked (so its previous guest runs no instruction
//!    any more); before it runs again its mapper removes every guest mapping (the first
//!    entry of the new space's first batch), its frame's FP area holds the host's initial
//!    state again and its FS/GS bases are marked unknown (set at the first resume); registers, `uc_*` words and the signal mask are rewritten at every resume. What
//!    the previous guest left in the data page or on the signal stack is read only as
//!    untrusted hints, as always.
//! 8. **One guest thread per stub.** Everything above assumes one guest host thread per
//!    stub: one `STATE`/`TRAP_SEQ` pair, one signal stack, one canonical frame. Guest
//!    threads of one address space therefore all run in that host thread, one at a time
//!    (the kernel runs one guest thread at a time anyway): the runner writes the resuming
//!    thread's registers into the frame as for any resume and swaps the frame's FP area
//!    when another thread resumes there, as UML switches between the threads of a process.
//!    Host threads, host futexes and host signal masks never see guest threads.
//! 9. **One stub for every guest (`--mm single`).** Then the guest threads of all guest
//!    processes take turns in one stub's one guest host thread, and a switch between
//!    processes rewrites its guest range: the switch's batch unmaps every page the target
//!    lacks and maps every page the target maps otherwise (mm's `single` backend, from its
//!    model of what the stub maps, which a new stub starts by unmapping everything below
//!    `TASK_SIZE`). Before that batch is applied the runner parks the stub
//!    (`Runner::quiesce`, point 4), so the guest that ran last — even one that faked its
//!    report — runs no instruction while the next one's pages are mapped in; after it, none
//!    of its pages is mapped unless the target maps the same physical page at the same
//!    address with the same protection. Points 1–3, 5, 6 and 8 hold unchanged (one filter, no fd, one frame); point 7's
//!    "other guests" are now separated in time, not in space: the stub's own pages are the
//!    only ones every guest sees, as in point 7.
//!
//! What stays weaker than ptrace: the guest can burn host CPU outside its time slice between
//! a faked report and the next park or watchdog check (bounded by the timeouts), and it can
//! corrupt its own registers and FP state at will — both only affect itself.

use abi::structs::UserRegs;

use crate::{SignalInfo, Trap};

/// One BPF instruction (`struct sock_filter`), as its 8 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFilter {
    /// Opcode.
    pub code: u16,
    /// Jump offset if true.
    pub jt: u8,
    /// Jump offset if false.
    pub jf: u8,
    /// Constant.
    pub k: u32,
}

impl SockFilter {
    /// The instruction's bytes in host order.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0..2].copy_from_slice(&self.code.to_ne_bytes());
        b[2] = self.jt;
        b[3] = self.jf;
        b[4..8].copy_from_slice(&self.k.to_ne_bytes());
        b
    }
}

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;
/// `AUDIT_ARCH_X86_64`.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_TRAP`.
pub const RET_TRAP: u32 = 0x0003_0000;
/// `SECCOMP_RET_KILL_PROCESS`.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_IP_LO: u32 = 8;
const OFF_IP_HI: u32 = 12;
const fn off_arg_lo(n: u32) -> u32 {
    16 + 8 * n
}
const fn off_arg_hi(n: u32) -> u32 {
    20 + 8 * n
}

type Insn = (SockFilter, Option<&'static str>, Option<&'static str>);

/// A tiny assembler with labels, so that the programs stay readable.
struct Asm {
    insns: Vec<Insn>,
    labels: Vec<(&'static str, usize)>,
}

impl Asm {
    fn new() -> Asm {
        Asm {
            insns: Vec::new(),
            labels: Vec::new(),
        }
    }
    fn label(&mut self, name: &'static str) {
        self.labels.push((name, self.insns.len()));
    }
    fn op(&mut self, code: u16, k: u32) {
        self.insns.push((
            SockFilter {
                code,
                jt: 0,
                jf: 0,
                k,
            },
            None,
            None,
        ));
    }
    fn ld(&mut self, off: u32) {
        self.op(BPF_LD_W_ABS, off);
    }
    fn ret(&mut self, k: u32) {
        self.op(BPF_RET_K, k);
    }
    /// `if A <op> k goto t else goto f` (`None` = next instruction).
    fn jmp(&mut self, code: u16, k: u32, t: Option<&'static str>, f: Option<&'static str>) {
        self.insns.push((
            SockFilter {
                code,
                jt: 0,
                jf: 0,
                k,
            },
            t,
            f,
        ));
    }
    fn finish(self) -> Vec<SockFilter> {
        let find = |l: &str| {
            self.labels
                .iter()
                .find(|(n, _)| *n == l)
                .map(|&(_, i)| i)
                .unwrap_or_else(|| panic!("bpf label {l}"))
        };
        self.insns
            .iter()
            .enumerate()
            .map(|(i, &(mut ins, t, f))| {
                let rel = |l: Option<&'static str>| match l {
                    None => 0u8,
                    Some(l) => {
                        let d = find(l) - i - 1;
                        u8::try_from(d).unwrap_or_else(|_| panic!("bpf jump too far"))
                    }
                };
                ins.jt = rel(t);
                ins.jf = rel(f);
                ins
            })
            .collect()
    }
}

/// The code range check: falls through when the syscall's instruction pointer is in
/// `code`, else jumps to `outside`.
fn ip_in(a: &mut Asm, code: std::ops::Range<u64>, outside: &'static str) {
    assert_eq!(
        code.start >> 32,
        (code.end - 1) >> 32,
        "stub code spans 4 GiB"
    );
    a.ld(OFF_IP_HI);
    a.jmp(BPF_JEQ_K, (code.start >> 32) as u32, None, Some(outside));
    a.ld(OFF_IP_LO);
    a.jmp(BPF_JGE_K, code.start as u32, None, Some(outside));
    a.jmp(BPF_JGE_K, code.end as u32, Some(outside), None);
}

/// The guest thread's filter. `code` is the stub's code; `state` the word the handler waits
/// on; `trap_seq` the word it wakes the kernel on.
pub fn guest_filter(code: std::ops::Range<u64>, state: u64, trap_seq: u64) -> Vec<SockFilter> {
    let mut a = Asm::new();
    a.ld(OFF_ARCH);
    a.jmp(BPF_JEQ_K, AUDIT_ARCH_X86_64, None, Some("trap"));
    ip_in(&mut a, code, "trap");
    a.ld(OFF_NR);
    a.jmp(
        BPF_JEQ_K,
        libc::SYS_rt_sigreturn as u32,
        Some("allow"),
        None,
    );
    a.jmp(BPF_JEQ_K, libc::SYS_sched_yield as u32, Some("allow"), None);
    a.jmp(BPF_JEQ_K, libc::SYS_futex as u32, Some("futex"), None);
    a.jmp(
        BPF_JEQ_K,
        libc::SYS_arch_prctl as u32,
        Some("arch_prctl"),
        None,
    );
    a.ret(RET_TRAP);
    // futex: FUTEX_WAIT on `state` with no timeout, or FUTEX_WAKE on `trap_seq`.
    a.label("futex");
    a.ld(off_arg_hi(1));
    a.jmp(BPF_JEQ_K, 0, None, Some("trap"));
    a.ld(off_arg_lo(1));
    a.jmp(BPF_JEQ_K, 0, Some("wait"), None);
    a.jmp(BPF_JEQ_K, 1, Some("wake"), Some("trap"));
    a.label("wait");
    a.ld(off_arg_lo(3));
    a.jmp(BPF_JEQ_K, 0, None, Some("trap"));
    a.ld(off_arg_hi(3));
    a.jmp(BPF_JEQ_K, 0, None, Some("trap"));
    a.ld(off_arg_hi(0));
    a.jmp(BPF_JEQ_K, (state >> 32) as u32, None, Some("trap"));
    a.ld(off_arg_lo(0));
    a.jmp(BPF_JEQ_K, state as u32, Some("allow"), Some("trap"));
    a.label("wake");
    a.ld(off_arg_hi(0));
    a.jmp(BPF_JEQ_K, (trap_seq >> 32) as u32, None, Some("trap"));
    a.ld(off_arg_lo(0));
    a.jmp(BPF_JEQ_K, trap_seq as u32, Some("allow"), Some("trap"));
    // arch_prctl: ARCH_SET_FS (0x1002) or ARCH_SET_GS (0x1001) only.
    a.label("arch_prctl");
    a.ld(off_arg_hi(0));
    a.jmp(BPF_JEQ_K, 0, None, Some("trap"));
    a.ld(off_arg_lo(0));
    a.jmp(BPF_JEQ_K, 0x1002, Some("allow"), None);
    a.jmp(BPF_JEQ_K, 0x1001, Some("allow"), Some("trap"));
    a.label("allow");
    a.ret(RET_ALLOW);
    a.label("trap");
    a.ret(RET_TRAP);
    a.finish()
}

/// The mapper thread's filter: `mmap`, `munmap`, `mprotect` and `futex` from the stub's
/// code; anything else kills the stub (the mapper only runs stub code, so that is a bug).
pub fn mapper_filter(code: std::ops::Range<u64>) -> Vec<SockFilter> {
    let mut a = Asm::new();
    a.ld(OFF_ARCH);
    a.jmp(BPF_JEQ_K, AUDIT_ARCH_X86_64, None, Some("kill"));
    ip_in(&mut a, code, "kill");
    a.ld(OFF_NR);
    for nr in [
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mprotect,
        libc::SYS_futex,
    ] {
        a.jmp(BPF_JEQ_K, nr as u32, Some("allow"), None);
    }
    a.label("kill");
    a.ret(RET_KILL_PROCESS);
    a.label("allow");
    a.ret(RET_ALLOW);
    a.finish()
}

/// Layout of the host's `struct rt_sigframe` / `struct ucontext` on x86-64.
pub mod frame {
    /// `uc_flags`.
    pub const UC_FLAGS: usize = 0;
    /// `uc_stack` (`ss_sp`, `ss_flags`, `ss_size`).
    pub const UC_STACK: usize = 16;
    /// `uc_mcontext.gregs` (23 words).
    pub const GREGS: usize = 40;
    /// `uc_mcontext.fpstate`.
    pub const FPSTATE: usize = 224;
    /// `uc_sigmask` (the kernel's 8-byte set).
    pub const SIGMASK: usize = 296;
    /// Size of `struct ucontext`; `siginfo` follows it in the frame.
    pub const UCONTEXT_SIZE: usize = 304;
    /// `REG_RIP`.
    pub const RIP: usize = 16;
    /// `REG_CSGSFS`.
    pub const CSGSFS: usize = 18;
    /// `REG_ERR`: the hardware error code of the fault.
    pub const ERR: usize = 19;
    /// Number of `gregs`.
    pub const NGREG: usize = 23;
    /// Offset of the software-reserved bytes in the FXSAVE area.
    pub const SW_RESERVED: usize = 464;
    /// `FP_XSTATE_MAGIC1`.
    pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
    /// Offset of `XSTATE_BV` (the XSAVE header).
    pub const XSTATE_BV: usize = 512;
}

/// The general registers of a signal frame's `gregs` as [`UserRegs`] (segment bases are
/// filled in by the caller).
pub fn regs_from_gregs(g: &[u64; frame::NGREG], regs: &mut UserRegs) {
    regs.r8 = g[0];
    regs.r9 = g[1];
    regs.r10 = g[2];
    regs.r11 = g[3];
    regs.r12 = g[4];
    regs.r13 = g[5];
    regs.r14 = g[6];
    regs.r15 = g[7];
    regs.rdi = g[8];
    regs.rsi = g[9];
    regs.rbp = g[10];
    regs.rbx = g[11];
    regs.rdx = g[12];
    regs.rax = g[13];
    regs.rcx = g[14];
    regs.rsp = g[15];
    regs.rip = g[16];
    regs.eflags = g[17];
    let csgsfs = g[18];
    regs.cs = csgsfs & 0xffff;
    regs.gs = (csgsfs >> 16) & 0xffff;
    regs.fs = (csgsfs >> 32) & 0xffff;
    regs.ss = (csgsfs >> 48) & 0xffff;
    regs.ds = 0;
    regs.es = 0;
}

/// Writes the general registers of `regs` into `gregs` (`CSGSFS`, `ERR`, `TRAPNO`,
/// `OLDMASK` and `CR2` are left alone).
pub fn gregs_from_regs(regs: &UserRegs, g: &mut [u64; frame::NGREG]) {
    g[0] = regs.r8;
    g[1] = regs.r9;
    g[2] = regs.r10;
    g[3] = regs.r11;
    g[4] = regs.r12;
    g[5] = regs.r13;
    g[6] = regs.r14;
    g[7] = regs.r15;
    g[8] = regs.rdi;
    g[9] = regs.rsi;
    g[10] = regs.rbp;
    g[11] = regs.rbx;
    g[12] = regs.rdx;
    g[13] = regs.rax;
    g[14] = regs.rcx;
    g[15] = regs.rsp;
    g[16] = regs.rip;
    g[17] = regs.eflags;
}

/// What one report of the stub's handler means. `signo`, `code` and `addr` come from the
/// frame's siginfo, `err` from its `gregs` (the page-fault error code for a fault); `in_stub`
/// is whether the reported instruction pointer lies in the stub's code. `None` means the
/// guest misused the stub (or someone else signalled it) and must be killed.
pub fn classify(signo: i32, code: i32, addr: u64, err: u64, in_stub: bool) -> Option<Trap> {
    use abi::signal::si_code;
    const SYS_SECCOMP: i32 = 1;
    Some(match signo {
        libc::SIGSYS if code == SYS_SECCOMP => {
            if in_stub {
                return None;
            }
            Trap::Syscall
        }
        libc::SIGVTALRM => Trap::Interrupted,
        libc::SIGSEGV if code == si_code::SEGV_MAPERR || code == si_code::SEGV_ACCERR => {
            Trap::Fault {
                addr,
                present: code == si_code::SEGV_ACCERR,
                error_code: Some(err as u32),
            }
        }
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE => {
            Trap::Signal(SignalInfo { signo, code, addr })
        }
        libc::SIGTRAP => Trap::Signal(SignalInfo {
            signo,
            code,
            addr: 0,
        }),
        _ => return None,
    })
}

/// The trap that kills a guest which misused the stub (or whose stub died).
pub fn killed() -> Trap {
    Trap::Signal(SignalInfo {
        signo: libc::SIGKILL,
        code: 0x80,
        addr: 0,
    })
}

/// Facts about the host's FP state in signal frames, read from the first (trusted) frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameFp {
    /// Bytes of XSAVE data in the frame (`fx_sw.xstate_size`).
    pub xstate_size: usize,
    /// Features the frame holds (`fx_sw.xfeatures`).
    pub xfeatures: u64,
}

fn rd32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn rd64(b: &[u8], o: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(w)
}

impl FrameFp {
    /// Parses the software-reserved bytes of a frame's FP area (at least 512 bytes).
    pub fn parse(fp: &[u8]) -> Option<FrameFp> {
        let sw = frame::SW_RESERVED;
        if fp.len() < 512 || rd32(fp, sw) != frame::FP_XSTATE_MAGIC1 {
            return None;
        }
        let xstate_size = rd32(fp, sw + 16) as usize;
        if !(576..=1 << 16).contains(&xstate_size) {
            return None;
        }
        Some(FrameFp {
            xstate_size,
            xfeatures: rd64(fp, sw + 8),
        })
    }
}

/// The frame's FP area `fp` (`xstate_size` bytes) as a regset image of `regset_size` bytes
/// whose software-reserved bytes are `regset_sw` (what `PTRACE_GETREGSET` puts there).
pub fn frame_to_regset(fp: &[u8], regset_size: usize, regset_sw: &[u8; 48]) -> crate::XState {
    let mut out = vec![0u8; regset_size];
    let n = fp.len().min(regset_size);
    out[..n].copy_from_slice(&fp[..n]);
    out[frame::SW_RESERVED..frame::SW_RESERVED + 48].copy_from_slice(regset_sw);
    crate::XState::from_bytes(out)
}

/// Writes the regset image `xs` into the frame's FP area `fp` (`info.xstate_size` bytes),
/// keeping the frame's own software-reserved bytes and dropping features it cannot hold.
pub fn regset_to_frame(xs: &crate::XState, fp: &mut [u8], info: FrameFp) {
    let src = xs.as_bytes();
    let n = src.len().min(fp.len()).min(info.xstate_size);
    let sw = frame::SW_RESERVED;
    fp[..sw.min(n)].copy_from_slice(&src[..sw.min(n)]);
    if n > 512 {
        fp[512..n].copy_from_slice(&src[512..n]);
    }
    if fp.len() >= 520 {
        let bv = rd64(fp, frame::XSTATE_BV) & info.xfeatures;
        fp[frame::XSTATE_BV..frame::XSTATE_BV + 8].copy_from_slice(&bv.to_le_bytes());
    }
    // MXCSR must not set bits the CPU rejects, or the host's sigreturn fails.
    let mask = match rd32(fp, 28) {
        0 => 0xffff,
        m => m,
    };
    let mxcsr = rd32(fp, 24) & mask;
    fp[24..28].copy_from_slice(&mxcsr.to_le_bytes());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A minimal BPF interpreter for the instructions the assembler emits.
    fn run(prog: &[SockFilter], data: &[u8; 64]) -> u32 {
        let mut pc = 0;
        let mut acc = 0u32;
        loop {
            let i = prog[pc];
            match i.code {
                BPF_LD_W_ABS => acc = rd32(data, i.k as usize),
                BPF_RET_K => return i.k,
                BPF_JEQ_K | BPF_JGE_K => {
                    let t = if i.code == BPF_JEQ_K {
                        acc == i.k
                    } else {
                        acc >= i.k
                    };
                    pc += usize::from(if t { i.jt } else { i.jf });
                }
                c => panic!("opcode {c:#x}"),
            }
            pc += 1;
        }
    }

    fn data(nr: i64, ip: u64, args: [u64; 6]) -> [u8; 64] {
        let mut d = [0u8; 64];
        d[0..4].copy_from_slice(&(nr as u32).to_le_bytes());
        d[4..8].copy_from_slice(&AUDIT_ARCH_X86_64.to_le_bytes());
        d[8..16].copy_from_slice(&ip.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            d[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        d
    }

    const CODE: std::ops::Range<u64> = 0x7f00_0000_0000..0x7f00_0000_0400;
    const STATE: u64 = 0x7f00_0001_1000;
    const SEQ: u64 = 0x7f00_0001_0000;

    #[test]
    fn guest_filter_traps_all_but_the_harmless_stub_calls() {
        let f = guest_filter(CODE, STATE, SEQ);
        let ip = CODE.start + 0x20;
        assert_eq!(run(&f, &data(39, 0x40_1000, [0; 6])), RET_TRAP);
        assert_eq!(run(&f, &data(15, 0x40_1000, [0; 6])), RET_TRAP);
        assert_eq!(run(&f, &data(15, ip, [0; 6])), RET_ALLOW);
        assert_eq!(run(&f, &data(24, ip, [7; 6])), RET_ALLOW, "sched_yield");
        assert_eq!(run(&f, &data(24, 0x40_1000, [0; 6])), RET_TRAP);
        assert_eq!(run(&f, &data(15, CODE.end, [0; 6])), RET_TRAP);
        assert_eq!(
            run(&f, &data(9, ip, [0; 6])),
            RET_TRAP,
            "mmap from the stub"
        );
        assert_eq!(run(&f, &data(0, ip, [3, 0, 0, 0, 0, 0])), RET_TRAP);
        assert_eq!(run(&f, &data(202, ip, [STATE, 0, 5, 0, 0, 0])), RET_ALLOW);
        assert_eq!(run(&f, &data(202, ip, [STATE, 0, 5, 8, 0, 0])), RET_TRAP);
        assert_eq!(run(&f, &data(202, ip, [SEQ, 0, 5, 0, 0, 0])), RET_TRAP);
        assert_eq!(run(&f, &data(202, ip, [SEQ, 1, 1, 0, 0, 0])), RET_ALLOW);
        assert_eq!(run(&f, &data(202, ip, [STATE, 1, 1, 0, 0, 0])), RET_TRAP);
        assert_eq!(run(&f, &data(202, ip, [SEQ, 4, 1, 0, 0, 0])), RET_TRAP);
        assert_eq!(run(&f, &data(158, ip, [0x1002, 7, 0, 0, 0, 0])), RET_ALLOW);
        assert_eq!(run(&f, &data(158, ip, [0x1003, 7, 0, 0, 0, 0])), RET_TRAP);
        let mut d = data(15, ip, [0; 6]);
        d[4..8].copy_from_slice(&0x4000_0003u32.to_le_bytes());
        assert_eq!(run(&f, &d), RET_TRAP, "another ABI");
    }

    #[test]
    fn mapper_filter_allows_only_mapping_calls_from_the_stub() {
        let f = mapper_filter(CODE);
        let ip = CODE.start + 0x20;
        assert_eq!(run(&f, &data(9, ip, [0; 6])), RET_ALLOW);
        assert_eq!(run(&f, &data(10, ip, [0; 6])), RET_ALLOW);
        assert_eq!(run(&f, &data(9, 0x40_0000, [0; 6])), RET_KILL_PROCESS);
        assert_eq!(run(&f, &data(0, ip, [0; 6])), RET_KILL_PROCESS);
    }

    #[test]
    fn fp_conversion_keeps_registers_and_fixes_headers() {
        let mut fp = vec![0u8; 1024];
        fp[464..468].copy_from_slice(&frame::FP_XSTATE_MAGIC1.to_le_bytes());
        fp[472..480].copy_from_slice(&7u64.to_le_bytes());
        fp[480..484].copy_from_slice(&1024u32.to_le_bytes());
        fp[160..176].copy_from_slice(&[0xab; 16]);
        let info = FrameFp::parse(&fp).unwrap();
        assert_eq!(info.xstate_size, 1024);
        let sw = [0x11u8; 48];
        let mut xs = frame_to_regset(&fp, 2048, &sw);
        assert_eq!(xs.xmm(0), Some(&[0xab; 16][..]));
        assert_eq!(&xs.as_bytes()[464..512], &sw);
        xs.as_bytes_mut()[176..192].copy_from_slice(&[0xcd; 16]);
        xs.as_bytes_mut()[512..520].copy_from_slice(&0xffu64.to_le_bytes());
        let mut back = fp.clone();
        regset_to_frame(&xs, &mut back, info);
        assert_eq!(&back[176..192], &[0xcd; 16]);
        assert_eq!(&back[464..512], &fp[464..512], "frame sw bytes kept");
        assert_eq!(rd64(&back, 512), 7, "features the frame lacks dropped");
    }
}
