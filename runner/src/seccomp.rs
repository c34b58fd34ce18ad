//! The seccomp runner: one stub host process per guest address space, as [`crate::PerProcess`],
//! but guest syscalls, faults and the preemption tick reach the kernel through a signal
//! handler in the stub and shared memory instead of ptrace stops.
//!
//! A stub is started exactly like a ptrace stub (fork, `execveat` of the sealed image, under
//! ptrace), set up by running its code under ptrace — signal stack, handlers, a *mapper*
//! thread with its own fd table, `ITIMER_VIRTUAL`, the guest thread's seccomp filter — and
//! then detached: from there on no ptrace request is made. It dies with the kernel through
//! `PR_SET_PDEATHSIG(SIGKILL)` (set before its exec; a detached tracee has no
//! `PTRACE_O_EXITKILL`). Stubs are started by a spawner thread ([`Spawner`]), ahead of need
//! once a process has forked, so that a new address space does not wait for a stub's fork,
//! exec and set-up. A stub whose address space is gone (exit, exec) is *recycled* for the
//! next one instead ([`SecStub::recycle`]): parked, emptied of guest memory, its FP state
//! and segment bases reset; so a fork+exec+exit loop starts no stub at all.
//!
//! Memory of a stub (one memfd, mapped read-write in the kernel):
//! - `STUB_DATA` (read-write in the stub): the report words (`TRAP_SEQ`, sleep hints, the
//!   handler's report, FS/GS base) and the mapper's completion words. Untrusted.
//! - `STUB_REQ` (two pages, read-only in the stub): `STATE` (the reply word), the mapper's
//!   request sequence and batch, the canonical frame address, spin budget, the BPF programs.
//! - the signal stack (read-write): the host's signal frame, which the kernel reads and
//!   rewrites in place (registers and FP state).
//!
//! The protocol and why it keeps guests apart is in `trap::seccomp`. Waiting: each side
//! spins on the shared word ([`SPIN_KERNEL`], [`SPIN_STUB`]), giving up the CPU every
//! [`YIELD_EVERY`] pauses, then futex-sleeps (the kernel in slices, with a watchdog); a side
//! only wakes the other when that one announced it sleeps, so a round trip with both sides
//! spinning makes no host syscall at all. A yield that lets another host task run puts both
//! sides in *contended* mode for a while: they sleep after a short spin, since spinning on a
//! busy host only feeds other tasks. `UML_SECCOMP_STATS=1` prints counters at exit.
#![allow(unsafe_code)]

use rustc_hash::FxHashMap;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use abi::structs::UserRegs;
use mm::{MmId, MmOp};
use trap::seccomp::{self as sc, frame, FrameFp};
use trap::{GuestThread, Trap, TrapError, XState};

use crate::stub::{
    batch_entries, Stub, StubImage, ENTRY_WORDS, HOST_TASK_SIZE, STUB_DATA_FD, STUB_PHYS_FD,
    TIME_SLICE, UNMAP_GUEST,
};
use crate::stub::{STUB_CLONE, STUB_CODE_END, STUB_HANDLER, STUB_READY, STUB_REQ, STUB_RESTORER};
use crate::{Runner, RunnerError, STUB_CODE, STUB_DATA};

/// Size of a stub's shared memfd.
const REGION: usize = 0x2_0000;
/// Offset (in the memfd and from `STUB_DATA`) of the read-only request pages.
const REQ_OFF: usize = 0x1000;
const REQ_LEN: usize = 0x2000;
/// Offset and size of the signal stack.
const ALT_OFF: usize = 0x1_0000;
const ALT_LEN: usize = 0x1_0000;

// The data page (keep in sync with stub.S).
const D_TRAP_SEQ: usize = 0x00;
const D_KSLEEP: usize = 0x04;
const D_SSLEEP: usize = 0x0c;
const D_PARK: usize = 0x10;
const D_UC: usize = 0x20;
const D_FS: usize = 0x28;
const D_GS: usize = 0x30;
const D_SETFSGS: usize = 0x38;
const D_CURFS: usize = 0x40;
const D_CURGS: usize = 0x48;
const D_MAP_DONE: usize = 0x80;
const D_MAP_KSLEEP: usize = 0x84;
const D_MAP_ERR: usize = 0x88;
const D_MAP_IDX: usize = 0x90;
/// Statistics only (written by the stub, untrusted): how often the handler slept.
const D_STAT_SSLEEPS: usize = 0xa0;
/// Scratch for the set-up structs (only while the stub is traced).
const D_SCRATCH: usize = 0xc00;
// The request pages, as offsets into the memfd.
const R_STATE: usize = REQ_OFF;
const R_REQ_SEQ: usize = REQ_OFF + 0x04;
const R_REQ_COUNT: usize = REQ_OFF + 0x08;
const R_ENTRIES: usize = REQ_OFF + 0x10;
const R_FPROG_M: usize = REQ_OFF + 0x1000;
const R_FPROG_G: usize = REQ_OFF + 0x1010;
const R_SPIN: usize = REQ_OFF + 0x1020;
const R_FSGSBASE: usize = REQ_OFF + 0x1028;
const R_FRAME_RSP: usize = REQ_OFF + 0x1030;
const R_FILTER_M: usize = REQ_OFF + 0x1100;
const R_FILTER_G: usize = REQ_OFF + 0x1400;
/// Entries one mapper batch holds (stub.S caps it too).
const MAP_MAX: usize = 72;

/// How long the kernel spins for a report before it sleeps (overridable with
/// `UML_SECCOMP_KSPIN_US`). Long enough to cover a guest that computes briefly between
/// syscalls (gzip between two pipe reads): a kernel thread that slept costs a host wake-up
/// and its CPU going idle, which made `tar | gzip` 3.7 s instead of 2.7 s at 50 µs here. A
/// guest that computes for longer costs at most this much kernel CPU per trap.
pub const SPIN_KERNEL: Duration = Duration::from_micros(200);
/// `pause` iterations (~40–60 ns each here) the stub's handler spins for the reply before it
/// sleeps, yielding every [`YIELD_EVERY`] (overridable with `UML_SECCOMP_SPIN`).
pub const SPIN_STUB: u64 = 1024;
/// Spinning loops (both sides) give up the CPU every this many `pause`s (1–2 µs here): when
/// the host is busy and the kernel thread and the stub share a CPU, the other side then runs
/// at once instead of after a time slice; when it runs elsewhere the yield returns at once.
pub const YIELD_EVERY: u32 = 32;
/// The kernel spins without yielding for this long first: a guest syscall's round trip
/// through the host's signal delivery and `rt_sigreturn` alone takes about 2.3 µs here (see
/// `bench/guests/sigsys_floor.c`), and a yield is a host syscall that costs a round trip's
/// worth of spinning when the other CPU is idle.
const YIELD_AFTER: Duration = Duration::from_micros(6);
/// One futex sleep of the kernel; the watchdog looks at the stub after each.
const SLEEP_SLICE: Duration = Duration::from_millis(10);
/// Recycled stubs kept for new address spaces (one covers a fork+exec+exit loop; a second
/// a pipeline's worth of short-lived processes).
const POOL_MAX: usize = 2;
/// How long a stub may take to park (or its mapper to go idle) before it is killed.
const PARK_TIMEOUT: Duration = Duration::from_millis(200);
/// CPU time a guest may burn without any report before it counts as unpreemptible.
const CPU_LIMIT: Duration = Duration::from_millis(5 * 10);

/// `SA_RESTORER`.
const SA_RESTORER: u64 = 0x0400_0000;
const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_CMP_REQUEUE: i32 = 4;

/// Counters for tuning, printed when the runner is dropped if `UML_SECCOMP_STATS` is set.
/// Off, they cost one relaxed load per event.
mod stats {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

    pub static ON: AtomicBool = AtomicBool::new(false);
    macro_rules! counters {
        ($($name:ident),*) => {
            $(pub static $name: AtomicU64 = AtomicU64::new(0);)*
            pub fn dump() {
                let mut out = String::from("uml seccomp stats:");
                $(out += &format!(" {}={}", stringify!($name).to_lowercase(), $name.load(Relaxed));)*
                eprintln!("{out}");
            }
        };
    }
    counters!(
        RESUMES,
        SPIN_HITS,
        SPIN_NS,
        SLEEPS,
        SLEEP_NS,
        STUB_WAKES,
        STUB_SLEEPS,
        HANDLE_NS,
        APPLIES,
        APPLY_ENTRIES,
        APPLY_NS,
        PARKS,
        PARK_NS,
        SPAWNS,
        SPAWN_NS,
        SPAWN_WAIT_NS,
        SPAWN_RAW_NS,
        SPAWN_READY_NS,
        RELEASE_NS,
        RECYCLES,
        CONTENDED_ENTER,
        FP_GET,
        FP_SET
    );

    pub fn on() -> bool {
        ON.load(Relaxed)
    }
    pub fn add(c: &AtomicU64, v: u64) {
        if on() {
            c.fetch_add(v, Relaxed);
        }
    }
    pub fn now() -> Option<std::time::Instant> {
        on().then(std::time::Instant::now)
    }
    pub fn since(c: &AtomicU64, t: Option<std::time::Instant>) {
        if let Some(t) = t {
            c.fetch_add(t.elapsed().as_nanos() as u64, Relaxed);
        }
    }
}

/// Host facts probed once: the regset XSAVE size and its software-reserved bytes.
#[derive(Clone, Copy)]
struct Xinfo {
    size: usize,
    sw: [u8; 48],
}

/// One seccomp stub.
struct SecStub {
    stub: Stub,
    base: *mut u8,
    pid: i32,
    /// The last report picked up.
    trap_seq: u32,
    /// The last batch posted to the mapper.
    req_seq: u32,
    /// Stub address of the canonical ucontext and of its FP area.
    uc: u64,
    fpstate: u64,
    /// The canonical frame words the kernel rewrites before each resume.
    uc_head: [u64; 5],
    csgsfs: u64,
    fp: FrameFp,
    cur_fs: u64,
    cur_gs: u64,
    parked: bool,
    dead: bool,
    reaped: bool,
    /// When the last report was picked up (statistics only).
    picked: Option<Instant>,
    /// The handler's spin budget when the host is not busy.
    spin: u64,
    /// The guest thread whose FP state the frame holds (the last one to run here).
    tid: Option<i32>,
    /// The frame FP areas of the other guest threads of this address space.
    fp_saved: FxHashMap<i32, Vec<u8>>,
    /// The FP area of the ready report (the host's initial FP state), for a recycled stub.
    fp_init: Vec<u8>,
    /// Recycled: the previous address space's mappings are still there, to be removed by
    /// the first batch before the stub runs again.
    stale: bool,
    /// The mapper was seen asleep on the request word and no batch was posted since: it can
    /// only wait there again (it leaves its loop only for a new `REQ_SEQ`, which is ours).
    mapper_idle: bool,
}

fn futex(word: &AtomicU32, op: i32, val: u32, timeout: usize, word2: usize, val3: u32) -> i64 {
    // SAFETY: `word` is a live futex word in shared memory; the other arguments are plain
    // integers or (for the timeout of FUTEX_WAIT) a pointer the caller keeps alive.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            op,
            val,
            timeout,
            word2,
            val3,
        )
    }
}

/// Round trips left in contended mode (see [`yield_cpu`]).
static CONTENDED: AtomicU32 = AtomicU32::new(0);
/// A yield that takes longer than this ran some other host task: the host is busy.
const YIELD_SLOW: Duration = Duration::from_micros(50);
/// How many round trips a busy host keeps both sides from spinning before they try again.
const CONTENDED_FOR: u32 = 256;

/// Whether the host was found busy recently. Then spinning only feeds other host tasks (a
/// yield hands them a whole time slice, and a spinner loses the scheduler's credit for
/// sleeping), so both sides sleep after a short spin instead.
fn contended() -> bool {
    CONTENDED.load(Ordering::Relaxed) > 0
}

/// Counts one round trip against contended mode.
fn contended_tick() {
    let c = CONTENDED.load(Ordering::Relaxed);
    if c > 0 {
        CONTENDED.store(c - 1, Ordering::Relaxed);
    }
}

/// Gives up the CPU while spinning; enters contended mode if another host task took it.
fn yield_cpu() {
    let t = Instant::now();
    // SAFETY: no arguments, no memory.
    unsafe { libc::sched_yield() };
    if t.elapsed() > YIELD_SLOW {
        stats::add(&stats::CONTENDED_ENTER, 1);
        CONTENDED.store(CONTENDED_FOR, Ordering::Relaxed);
    }
}

fn futex_wake(word: &AtomicU32, n: u32) {
    futex(word, FUTEX_WAKE, n, 0, 0, 0);
}

fn futex_wait(word: &AtomicU32, val: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    futex(
        word,
        FUTEX_WAIT,
        val,
        &ts as *const libc::timespec as usize,
        0,
        0,
    );
}

/// How many threads sleep on `word`, without waking or moving them (a requeue onto itself).
fn waiters(word: &AtomicU32) -> i64 {
    let cur = word.load(Ordering::SeqCst);
    futex(
        word,
        FUTEX_CMP_REQUEUE,
        0,
        i32::MAX as usize,
        word.as_ptr() as usize,
        cur,
    )
}

/// The CPU time of host process `pid` (all its threads).
fn process_cpu(pid: i32) -> Option<Duration> {
    let clock = ((!pid) << 3) | 2; // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live timespec the call writes.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    (r == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// The scheduler state letter of the main thread of host process `pid`.
fn thread_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 2..].chars().next()
}

fn spin_budget_stub() -> u64 {
    std::env::var("UML_SECCOMP_SPIN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SPIN_STUB)
}

fn spin_budget_kernel() -> Duration {
    static BUDGET: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(|| {
        std::env::var("UML_SECCOMP_KSPIN_US")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(SPIN_KERNEL, Duration::from_micros)
    })
}

fn has_fsgsbase() -> bool {
    // SAFETY: getauxval reads the process's auxiliary vector.
    let hwcap2 = unsafe { libc::getauxval(26) }; // AT_HWCAP2
    hwcap2 & 2 != 0 // HWCAP2_FSGSBASE
}

/// Runs a closure when dropped.
struct Defer<F: FnMut()>(F);

impl<F: FnMut()> Drop for Defer<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

enum Wait {
    Report,
    Dead,
}

impl SecStub {
    /// A 32-bit word of the shared memfd.
    fn word(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off.is_multiple_of(4) && off + 4 <= REGION);
        // SAFETY: `base` maps REGION bytes for as long as `self.stub` lives; the offset is
        // aligned and in range; other processes only access the word atomically or by
        // plain aligned stores, which AtomicU32 tolerates.
        unsafe { &*(self.base.add(off) as *const AtomicU32) }
    }

    fn read64(&self, off: usize) -> u64 {
        debug_assert!(off + 8 <= REGION);
        // SAFETY: in range of the mapping; the stub may write concurrently, so volatile.
        unsafe { std::ptr::read_volatile(self.base.add(off) as *const u64) }
    }

    fn write64(&self, off: usize, v: u64) {
        debug_assert!(off + 8 <= REGION);
        // SAFETY: in range of the mapping.
        unsafe { std::ptr::write_volatile(self.base.add(off) as *mut u64, v) }
    }

    /// Writes `v` at `off` unless it is there already.
    fn set64(&self, off: usize, v: u64) {
        if self.read64(off) != v {
            self.write64(off, v);
        }
    }

    /// Stores `v` in the word at `off` unless it is there already.
    fn set32(&self, off: usize, v: u32) {
        let w = self.word(off);
        if w.load(Ordering::Relaxed) != v {
            w.store(v, Ordering::Relaxed);
        }
    }

    /// The memfd offset of stub address `addr..addr+len` if it lies in the signal stack.
    fn alt_off(addr: u64, len: usize) -> Option<usize> {
        let start = STUB_DATA + ALT_OFF as u64;
        let end = start + ALT_LEN as u64;
        (addr >= start && addr.checked_add(len as u64)? <= end).then(|| (addr - STUB_DATA) as usize)
    }

    fn bytes(&self, off: usize, len: usize) -> &[u8] {
        assert!(off + len <= REGION);
        // SAFETY: in range of the mapping, which lives as long as self. The stub may write
        // it concurrently only if it misbehaves; the bytes are then merely garbage.
        unsafe { std::slice::from_raw_parts(self.base.add(off), len) }
    }

    fn bytes_mut(&mut self, off: usize, len: usize) -> &mut [u8] {
        assert!(off + len <= REGION);
        // SAFETY: as for `bytes`; `&mut self` keeps this the only slice the kernel holds.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(off), len) }
    }

    /// Starts, sets up and detaches a stub; returns it after its first (ready) report.
    fn spawn(
        image: &StubImage,
        phys: BorrowedFd<'_>,
        xinfo: &mut Option<Xinfo>,
    ) -> Result<SecStub, RunnerError> {
        let t = stats::now();
        let stub = Stub::spawn_raw(image, phys, REGION)?;
        stats::since(&stats::SPAWN_RAW_NS, t);
        let tracee = stub.tracee();
        if xinfo.is_none() {
            let size = tracee.probe_xstate_size()?;
            let mut xs = XState::zeroed(size);
            tracee.get_xstate(&mut xs)?;
            let mut sw = [0u8; 48];
            sw.copy_from_slice(&xs.as_bytes()[frame::SW_RESERVED..frame::SW_RESERVED + 48]);
            *xinfo = Some(Xinfo { size, sw });
        }
        let base = stub.data.cast::<u8>();
        let mut s = SecStub {
            pid: tracee.pid(),
            stub,
            base,
            trap_seq: 0,
            req_seq: 0,
            uc: 0,
            fpstate: 0,
            uc_head: [0; 5],
            csgsfs: 0,
            fp: FrameFp {
                xstate_size: 0,
                xfeatures: 0,
            },
            cur_fs: 0,
            cur_gs: 0,
            parked: false,
            dead: false,
            reaped: false,
            picked: None,
            spin: spin_budget_stub().max(u64::from(YIELD_EVERY) + 1),
            tid: None,
            fp_saved: FxHashMap::default(),
            fp_init: Vec::new(),
            stale: false,
            mapper_idle: false,
        };
        let rw = (libc::PROT_READ | libc::PROT_WRITE) as u64;
        let shared_fixed = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        // The BPF programs, in the read-only pages.
        let code = STUB_CODE..STUB_CODE_END;
        let progs = [
            (R_FPROG_M, R_FILTER_M, sc::mapper_filter(code.clone())),
            (
                R_FPROG_G,
                R_FILTER_G,
                sc::guest_filter(
                    code,
                    STUB_DATA + R_STATE as u64,
                    STUB_DATA + D_TRAP_SEQ as u64,
                ),
            ),
        ];
        for (fprog, at, insns) in &progs {
            let bytes: Vec<u8> = insns.iter().flat_map(|i| i.to_bytes()).collect();
            assert!(at + bytes.len() <= REQ_OFF + REQ_LEN);
            s.bytes_mut(*at, bytes.len()).copy_from_slice(&bytes);
            s.write64(*fprog, insns.len() as u64);
            s.write64(fprog + 8, STUB_DATA + *at as u64);
        }
        s.write64(R_SPIN, s.spin);
        s.write64(R_FSGSBASE, u64::from(has_fsgsbase()));
        // Set-up structs in the scratch area of the data page.
        let scratch = STUB_DATA + D_SCRATCH as u64;
        let slice_us = TIME_SLICE.as_micros() as u64;
        let words: [u64; 12] = [
            // 0: stack_t of the signal stack
            STUB_DATA + ALT_OFF as u64,
            0,
            ALT_LEN as u64,
            // 3: struct kernel_sigaction
            STUB_HANDLER,
            (libc::SA_SIGINFO | libc::SA_ONSTACK) as u64 | SA_RESTORER,
            STUB_RESTORER,
            u64::MAX,
            // 7: all signals, 8: none
            u64::MAX,
            0,
            // 9: itimerval (interval, value) — 4 words
            0,
            slice_us,
            0,
        ];
        for (i, w) in words.iter().enumerate() {
            s.write64(D_SCRATCH + 8 * i, *w);
        }
        s.write64(D_SCRATCH + 8 * 12, slice_us);
        let at = |i: u64| scratch + 8 * i;
        // The set-up before the mapper exists, in one batch (each is a ptrace round trip):
        // the request pages, the signal stack, the mask, no new privileges, the host's
        // mappings gone.
        let mut batch: Vec<[u64; ENTRY_WORDS]> = vec![
            [
                libc::SYS_mmap as u64,
                STUB_REQ,
                REQ_LEN as u64,
                libc::PROT_READ as u64,
                shared_fixed,
                STUB_DATA_FD as u64,
                REQ_OFF as u64,
            ],
            [
                libc::SYS_mmap as u64,
                STUB_DATA + ALT_OFF as u64,
                ALT_LEN as u64,
                rw,
                shared_fixed,
                STUB_DATA_FD as u64,
                ALT_OFF as u64,
            ],
            [libc::SYS_sigaltstack as u64, at(0), 0, 0, 0, 0, 0],
        ];
        let region_end = STUB_DATA + REGION as u64;
        batch.extend([
            [
                libc::SYS_rt_sigprocmask as u64,
                libc::SIG_SETMASK as u64,
                at(7),
                0,
                8,
                0,
                0,
            ],
            [
                libc::SYS_prctl as u64,
                libc::PR_SET_NO_NEW_PRIVS as u64,
                1,
                0,
                0,
                0,
                0,
            ],
            [libc::SYS_close as u64, STUB_DATA_FD as u64, 0, 0, 0, 0, 0],
            UNMAP_GUEST,
            [
                libc::SYS_munmap as u64,
                region_end,
                HOST_TASK_SIZE - region_end,
                0,
                0,
                0,
                0,
            ],
        ]);
        s.stub.run_batch(&batch)?;
        // The mapper: same address space and signal handlers, its own copy of the fd table
        // (physical memory), every signal blocked (inherited from the mask set above).
        let flags = (libc::CLONE_VM | libc::CLONE_SIGHAND | libc::CLONE_THREAD) as u64;
        s.stub
            .syscall_at(STUB_CLONE, libc::SYS_clone, [flags, 0, 0, 0, 0, 0])?;
        // The handlers are installed only now: each `int3` report of the set-up with every
        // signal blocked has reset SIGTRAP's disposition (a forced signal that is blocked).
        let mut batch = vec![
            [libc::SYS_close as u64, STUB_PHYS_FD as u64, 0, 0, 0, 0, 0],
            [
                libc::SYS_rt_sigprocmask as u64,
                libc::SIG_SETMASK as u64,
                at(8),
                0,
                8,
                0,
                0,
            ],
        ];
        for sig in [
            libc::SIGSYS,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
            libc::SIGTRAP,
            libc::SIGVTALRM,
        ] {
            batch.push([libc::SYS_rt_sigaction as u64, sig as u64, at(3), 0, 8, 0, 0]);
        }
        batch.extend([
            [
                libc::SYS_setitimer as u64,
                libc::ITIMER_VIRTUAL as u64,
                at(9),
                0,
                0,
                0,
                0,
            ],
            [
                libc::SYS_seccomp as u64,
                1, // SECCOMP_SET_MODE_FILTER
                0,
                STUB_DATA + R_FPROG_G as u64,
                0,
                0,
                0,
            ],
        ]);
        s.stub.run_batch(&batch)?;
        s.bytes_mut(0, 0x1000).fill(0);
        let mut regs = s.stub.stub_regs();
        regs.rip = STUB_READY;
        regs.orig_rax = u64::MAX;
        tracee.set_regs(&regs)?;
        tracee.detach()?;
        let t = stats::now();
        // The ready report: its frame is the canonical one (no guest code has run yet).
        match s.wait_report(Duration::from_secs(5)) {
            Wait::Report => {}
            Wait::Dead => return Err(RunnerError::StubStart("no ready report".into())),
        }
        stats::since(&stats::SPAWN_READY_NS, t);
        let uc = s.read64(D_UC);
        let uc_off = SecStub::alt_off(uc, frame::UCONTEXT_SIZE + 128)
            .ok_or_else(|| RunnerError::StubStart(format!("frame at {uc:#x}")))?;
        let fpstate = s.read64(uc_off + frame::FPSTATE);
        let fp_off = SecStub::alt_off(fpstate, 512)
            .ok_or_else(|| RunnerError::StubStart(format!("fpstate at {fpstate:#x}")))?;
        let fp = FrameFp::parse(s.bytes(fp_off, 512))
            .filter(|f| SecStub::alt_off(fpstate, f.xstate_size).is_some())
            .ok_or_else(|| RunnerError::StubStart("no XSAVE frame".into()))?;
        s.uc = uc;
        s.fpstate = fpstate;
        s.fp = fp;
        s.fp_init = s.bytes(fp_off, fp.xstate_size).to_vec();
        for i in 0..5 {
            s.uc_head[i] = s.read64(uc_off + 8 * i);
        }
        s.csgsfs = s.read64(uc_off + frame::GREGS + 8 * frame::CSGSFS);
        s.write64(R_FRAME_RSP, uc - 8);
        Ok(s)
    }

    /// Waits for the next report (or the stub's death), spinning first, then sleeping in
    /// slices with the watchdog.
    fn wait_report(&mut self, limit: Duration) -> Wait {
        let last = self.trap_seq;
        let start = Instant::now();
        let spin = spin_budget_kernel();
        let mut i = 0u32;
        let got = loop {
            let v = self.word(D_TRAP_SEQ).load(Ordering::Acquire);
            if v != last {
                stats::add(&stats::SPIN_HITS, 1);
                stats::since(&stats::SPIN_NS, stats::on().then_some(start));
                break v;
            }
            std::hint::spin_loop();
            i = i.wrapping_add(1);
            if i.is_multiple_of(YIELD_EVERY) {
                let waited = start.elapsed();
                if contended() || waited > spin {
                    break last;
                }
                if waited > YIELD_AFTER {
                    yield_cpu();
                }
            }
        };
        let got = if got != last {
            got
        } else {
            let mut cpu0 = None;
            let mut asleep = 0;
            loop {
                self.word(D_KSLEEP).store(1, Ordering::SeqCst);
                let seq = self.word(D_TRAP_SEQ);
                if seq.load(Ordering::SeqCst) == last {
                    futex_wait(seq, last, SLEEP_SLICE);
                }
                self.word(D_KSLEEP).store(0, Ordering::SeqCst);
                let v = self.word(D_TRAP_SEQ).load(Ordering::SeqCst);
                if v != last {
                    stats::add(&stats::SLEEPS, 1);
                    stats::since(&stats::SLEEP_NS, stats::on().then_some(start));
                    break v;
                }
                // The watchdog.
                if !self.alive() {
                    return Wait::Dead;
                }
                let cpu = process_cpu(self.pid).unwrap_or_default();
                let cpu0 = *cpu0.get_or_insert(cpu);
                let burnt = cpu.saturating_sub(cpu0);
                asleep = if thread_state(self.pid) == Some('S') {
                    asleep + 1
                } else {
                    0
                };
                if burnt > CPU_LIMIT || asleep >= 3 || start.elapsed() > limit {
                    tracing::warn!(
                        pid = self.pid,
                        ?burnt,
                        asleep,
                        "seccomp stub does not report: killing its guest"
                    );
                    self.kill();
                    return Wait::Dead;
                }
            }
        };
        self.trap_seq = got;
        self.picked = stats::now();
        // The report is picked up: the stub's guest thread stays in stub code until STATE is
        // odd again.
        self.word(R_STATE)
            .store(got.wrapping_mul(2), Ordering::SeqCst);
        Wait::Report
    }

    /// Whether the stub process still exists (reaps it if not).
    fn alive(&mut self) -> bool {
        if self.reaped {
            return false;
        }
        let mut status = 0;
        // SAFETY: `status` is a live c_int; the pid is our child.
        let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG | libc::__WALL) };
        if r == self.pid {
            tracing::debug!(pid = self.pid, status, "seccomp stub ended");
            self.reaped = true;
            self.dead = true;
            return false;
        }
        true
    }

    /// Kills the stub (the guest misbehaved or the stub failed) and reaps it.
    fn kill(&mut self) {
        self.dead = true;
        if self.reaped {
            return;
        }
        // SAFETY: plain syscalls on our own, not yet reaped, child.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, libc::__WALL);
        }
        self.reaped = true;
    }

    /// Waits until `word` has a sleeper (a guest thread parked on STATE, or the mapper idle
    /// on its request word). False if that does not happen in time. While `hint` (a word the
    /// sleeper sets before it sleeps; the guest can write it, so it only saves work) is
    /// clear, this spins on it instead of asking the host: a futex call per spin takes the
    /// lock of the futex's hash bucket that the sleeper needs to go to sleep.
    fn wait_asleep(&mut self, off: usize, hint: Option<usize>) -> bool {
        let start = Instant::now();
        let mut n = 0u32;
        loop {
            let maybe = hint.is_none_or(|h| self.word(h).load(Ordering::SeqCst) != 0);
            if maybe && waiters(self.word(off)) >= 1 {
                return true;
            }
            n += 1;
            if n > 100 {
                if start.elapsed() > PARK_TIMEOUT || !self.alive() {
                    return false;
                }
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }

    /// Waits until the mapper is idle (asleep on its request word).
    fn wait_mapper_idle(&mut self) -> bool {
        if !self.mapper_idle {
            self.mapper_idle = self.wait_asleep(R_REQ_SEQ, None);
        }
        self.mapper_idle
    }

    /// Makes sure no guest instruction of this stub runs until it is resumed, and that its
    /// mapper is idle. Kills the stub if it does not comply.
    fn park(&mut self) {
        if self.dead || self.parked {
            return;
        }
        stats::add(&stats::PARKS, 1);
        let t = stats::now();
        let _t = Defer(|| stats::since(&stats::PARK_NS, t));
        self.word(D_PARK).store(1, Ordering::SeqCst);
        if !self.wait_asleep(R_STATE, Some(D_SSLEEP)) || !self.wait_mapper_idle() {
            tracing::warn!(
                pid = self.pid,
                "seccomp stub does not park: killing its guest"
            );
            self.kill();
            return;
        }
        self.parked = true;
    }

    /// Applies queued mapping changes through the mapper thread.
    fn apply(&mut self, entries: &[[u64; ENTRY_WORDS]]) -> Result<(), RunnerError> {
        stats::add(&stats::APPLIES, 1);
        stats::add(&stats::APPLY_ENTRIES, entries.len() as u64);
        let t = stats::now();
        let _t = Defer(|| stats::since(&stats::APPLY_NS, t));
        for chunk in entries.chunks(MAP_MAX) {
            // The previous batch is really done (the mapper sleeps again) before its
            // entries are overwritten.
            if !self.wait_mapper_idle() {
                return Err(RunnerError::StubStart("mapper does not answer".into()));
            }
            for (i, e) in chunk.iter().enumerate() {
                for (j, w) in e.iter().enumerate() {
                    self.write64(R_ENTRIES + 8 * (i * ENTRY_WORDS + j), *w);
                }
            }
            self.write64(R_REQ_COUNT, chunk.len() as u64);
            self.req_seq = self.req_seq.wrapping_add(1);
            self.mapper_idle = false;
            let want = self.req_seq;
            self.word(R_REQ_SEQ).store(want, Ordering::SeqCst);
            futex_wake(self.word(R_REQ_SEQ), 1);
            let start = Instant::now();
            let mut i = 0u32;
            while self.word(D_MAP_DONE).load(Ordering::Acquire) != want {
                i = i.wrapping_add(1);
                if !i.is_multiple_of(YIELD_EVERY) {
                    std::hint::spin_loop();
                    continue;
                }
                if !contended() && start.elapsed() < SPIN_KERNEL {
                    yield_cpu();
                    continue;
                }
                let ks = self.word(D_MAP_KSLEEP);
                ks.store(1, Ordering::SeqCst);
                let done = self.word(D_MAP_DONE);
                let cur = done.load(Ordering::SeqCst);
                if cur != want {
                    futex_wait(done, cur, SLEEP_SLICE);
                }
                ks.store(0, Ordering::SeqCst);
                if start.elapsed() > Duration::from_secs(2) || !self.alive() {
                    return Err(RunnerError::StubStart("mapper does not answer".into()));
                }
            }
            let err = self.read64(D_MAP_ERR) as i64;
            if err != 0 {
                let idx = self.read64(D_MAP_IDX) as usize;
                return Err(RunnerError::StubSyscall {
                    nr: chunk.get(idx).map_or(0, |e| e[0]),
                    errno: (-err) as i32,
                });
            }
        }
        Ok(())
    }

    /// Writes `regs` into the canonical frame and lets the guest thread run.
    fn reply(&mut self, regs: &UserRegs) {
        stats::add(&stats::RESUMES, 1);
        contended_tick();
        // The handler spins for the answer only while the host is not busy (then it
        // sleeps after YIELD_EVERY pauses, without yielding).
        let spin = if contended() {
            u64::from(YIELD_EVERY)
        } else {
            self.spin
        };
        if self.read64(R_SPIN) != spin {
            self.write64(R_SPIN, spin);
        }
        stats::since(&stats::HANDLE_NS, self.picked.take());
        // Only words that differ are written: a line the kernel does not write stays in the
        // stub's CPU cache for the host's sigreturn (and for the handler's spin).
        let uc_off = (self.uc - STUB_DATA) as usize;
        for i in 0..self.uc_head.len() {
            self.set64(uc_off + 8 * i, self.uc_head[i]);
        }
        let mut old = [0u64; frame::NGREG];
        for (i, w) in old.iter_mut().enumerate() {
            *w = self.read64(uc_off + frame::GREGS + 8 * i);
        }
        let mut g = old;
        sc::gregs_from_regs(regs, &mut g);
        g[frame::CSGSFS] = self.csgsfs;
        for (i, (w, was)) in g.iter().zip(old).enumerate() {
            if *w != was {
                self.write64(uc_off + frame::GREGS + 8 * i, *w);
            }
        }
        self.set64(uc_off + frame::FPSTATE, self.fpstate);
        self.set64(uc_off + frame::SIGMASK, 0);
        // `cur_fs`/`cur_gs` are the bases the guest thread trapped with (read back at each
        // report where the guest can change them itself, with FSGSBASE).
        let mut flags = 0;
        if regs.fs_base != self.cur_fs {
            self.write64(D_FS, regs.fs_base);
            self.cur_fs = regs.fs_base;
            flags |= 1;
        }
        if regs.gs_base != self.cur_gs {
            self.write64(D_GS, regs.gs_base);
            self.cur_gs = regs.gs_base;
            flags |= 2;
        }
        self.set32(D_SETFSGS, flags);
        self.set32(D_PARK, 0);
        let state = self.word(R_STATE);
        state.store(
            self.trap_seq.wrapping_mul(2).wrapping_add(1),
            Ordering::SeqCst,
        );
        if self.parked || self.word(D_SSLEEP).load(Ordering::SeqCst) != 0 {
            stats::add(&stats::STUB_WAKES, 1);
            futex_wake(state, i32::MAX as u32);
        }
        self.parked = false;
    }

    /// Reads the report just picked up into `regs` and classifies it.
    fn report(&mut self, regs: &mut UserRegs, fsgsbase: bool) -> Trap {
        if self.read64(D_UC) != self.uc {
            // The frame is not where it must be: the guest played with the signal stack.
            self.kill();
            return sc::killed();
        }
        let uc_off = (self.uc - STUB_DATA) as usize;
        let mut g = [0u64; frame::NGREG];
        for (i, w) in g.iter_mut().enumerate() {
            *w = self.read64(uc_off + frame::GREGS + 8 * i);
        }
        let info_off = uc_off + frame::UCONTEXT_SIZE;
        let signo = self.word(info_off).load(Ordering::Relaxed) as i32;
        let code = self.word(info_off + 8).load(Ordering::Relaxed) as i32;
        let addr = self.read64(info_off + 16);
        let rip = g[frame::RIP];
        let in_stub = (STUB_CODE..=STUB_CODE_END).contains(&rip);
        let err = g[frame::ERR];
        let Some(trap) = sc::classify(signo, code, addr, err, in_stub) else {
            tracing::warn!(pid = self.pid, signo, code, rip, "guest misused its stub");
            self.kill();
            return sc::killed();
        };
        sc::regs_from_gregs(&g, regs);
        if fsgsbase {
            self.cur_fs = self.read64(D_CURFS);
            self.cur_gs = self.read64(D_CURGS);
        }
        regs.fs_base = self.cur_fs;
        regs.gs_base = self.cur_gs;
        if trap == Trap::Syscall {
            regs.orig_rax = regs.rax;
            regs.rax = (-(libc::ENOSYS as i64)) as u64;
        } else {
            regs.orig_rax = u64::MAX;
        }
        trap
    }

    /// Makes the frame hold guest thread `tid`'s FP state: the one that ran last keeps its
    /// own aside. A thread new here starts with the frame as it is (its creator's state,
    /// which the kernel overwrites if it keeps another).
    fn switch_thread(&mut self, tid: i32) {
        if self.tid == Some(tid) {
            return;
        }
        let off = (self.fpstate - STUB_DATA) as usize;
        let len = self.fp.xstate_size;
        if let Some(prev) = self.tid {
            let area = self.bytes(off, len).to_vec();
            self.fp_saved.insert(prev, area);
        }
        if let Some(area) = self.fp_saved.remove(&tid) {
            self.bytes_mut(off, len).copy_from_slice(&area);
        }
        self.tid = Some(tid);
    }

    /// Guest thread `tid` is gone from this address space.
    fn forget_thread(&mut self, tid: i32) {
        self.fp_saved.remove(&tid);
        if self.tid == Some(tid) {
            self.tid = None;
        }
    }

    fn get_fp(&self, x: Xinfo) -> XState {
        stats::add(&stats::FP_GET, 1);
        let off = (self.fpstate - STUB_DATA) as usize;
        sc::frame_to_regset(self.bytes(off, self.fp.xstate_size), x.size, &x.sw)
    }

    fn set_fp(&mut self, xs: &XState) {
        stats::add(&stats::FP_SET, 1);
        let off = (self.fpstate - STUB_DATA) as usize;
        let fp = self.fp;
        sc::regset_to_frame(xs, self.bytes_mut(off, fp.xstate_size), fp);
    }

    /// Makes a stub whose address space is gone ready for another: parked (so nothing runs
    /// in it until it is resumed), with the host's initial FP state in its frame, as a fresh
    /// stub after its ready report; the old guest memory is unmapped (one `munmap` of the
    /// whole guest range) by the first batch of its next address space, before it runs.
    /// Registers, segment bases and the signal mask are rewritten at every resume anyway.
    /// `None` if it could not be parked (it is then killed).
    fn recycle(mut self) -> Option<SecStub> {
        self.park();
        if self.dead {
            return None;
        }
        self.stale = true;
        let off = (self.fpstate - STUB_DATA) as usize;
        let init = std::mem::take(&mut self.fp_init);
        self.bytes_mut(off, init.len()).copy_from_slice(&init);
        self.fp_init = init;
        self.tid = None;
        self.fp_saved.clear();
        // The previous guest may have moved its segment bases behind the kernel's back
        // (`wrfsbase`): the first resume sets both.
        self.cur_fs = u64::MAX;
        self.cur_gs = u64::MAX;
        stats::add(&stats::RECYCLES, 1);
        Some(self)
    }

    fn release(mut self) {
        stats::add(
            &stats::STUB_SLEEPS,
            u64::from(self.word(D_STAT_SSLEEPS).load(Ordering::Relaxed)),
        );
        let t = stats::now();
        self.kill();
        stats::since(&stats::RELEASE_NS, t);
    }
}

// SAFETY: a `SecStub` owns its stub's shared mapping (`base`, and the `Stub`'s data page)
// exclusively: nothing else holds those pointers, so handing the whole value to another
// thread (the spawner gives each new stub to the kernel thread) moves sole access with it.
unsafe impl Send for SecStub {}

/// What the spawner hands over: a ready stub and the host's XSAVE facts, or why it failed.
type Spawned = Result<(SecStub, Xinfo), RunnerError>;

/// Stubs started ahead of need. Starting a stub (fork, exec, set-up under ptrace, detach)
/// takes most of a millisecond, and none of it depends on the address space the stub will
/// serve, so a spawner thread starts them: the first as soon as the runner exists (while the
/// kernel boots and loads the program), then on request, and, once a second address space
/// was asked for (the first fork: a program that forks once tends to fork again), always one
/// spare for the next, on the other CPU while the guest runs. A program that never forks
/// costs no extra stub.
///
/// The spawner is the stubs' parent thread: `PR_SET_PDEATHSIG` fires when it ends, so it
/// lives as long as the runner (and ends on its own once the runner is gone, releasing any
/// stub it still holds; nothing waits for it). The kernel thread reaps stubs with `waitpid`,
/// which Linux allows for children of any thread of the process.
struct Spawner {
    ready: std::sync::mpsc::Receiver<Spawned>,
    /// Asks the spawner for one more stub.
    want: std::sync::mpsc::Sender<()>,
    /// Stubs handed over so far.
    taken: u64,
    /// A stub was asked for and not yet taken.
    asked: bool,
}

impl Spawner {
    fn start(image: StubImage, phys: OwnedFd) -> Result<Spawner, RunnerError> {
        let (tx, ready) = std::sync::mpsc::channel::<Spawned>();
        let (want, wanted) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("uml-stub-spawner".into())
            .spawn(move || {
                let mut xinfo = None;
                for () in wanted {
                    let t = stats::now();
                    let spawned = SecStub::spawn(&image, phys.as_fd(), &mut xinfo).and_then(|s| {
                        let x = xinfo.ok_or(RunnerError::StubStart("no XSAVE facts".into()))?;
                        Ok((s, x))
                    });
                    stats::since(&stats::SPAWN_NS, t);
                    if let Err(std::sync::mpsc::SendError(unwanted)) = tx.send(spawned) {
                        // The runner is gone.
                        if let Ok((s, _)) = unwanted {
                            s.release();
                        }
                        return;
                    }
                }
            })
            .map_err(|e| RunnerError::StubStart(format!("spawner thread: {e}")))?;
        // The first stub is needed anyway: it starts while the kernel boots.
        let asked = want.send(()).is_ok();
        Ok(Spawner {
            ready,
            want,
            taken: 0,
            asked,
        })
    }

    /// The next stub (waiting for it if the spawner is still at work); from the second on,
    /// asks for a spare for the one after.
    fn take(&mut self) -> Spawned {
        let gone = || RunnerError::StubStart("spawner thread ended".into());
        if !self.asked {
            self.want.send(()).map_err(|_| gone())?;
        }
        let got = self.ready.recv().map_err(|_| gone())?;
        self.taken += 1;
        self.asked = self.taken >= 2 && self.want.send(()).is_ok();
        got
    }
}

/// The seccomp runner (`--trap=seccomp`): one stub host process per guest address space.
pub struct Seccomp {
    spawner: Spawner,
    stubs: FxHashMap<MmId, SecStub>,
    /// Stubs whose address space is gone, recycled for the next ones (at most
    /// [`POOL_MAX`]): a fork+exec+exit takes no new stub at all.
    pool: Vec<SecStub>,
    /// The address space whose guest thread may be running (not parked).
    current: Option<MmId>,
    xinfo: Option<Xinfo>,
    fsgsbase: bool,
    pid_log: Option<std::fs::File>,
}

impl Seccomp {
    /// A runner whose stubs map guest memory from `phys` (physical memory).
    pub fn new(phys: BorrowedFd<'_>) -> Result<Seccomp, RunnerError> {
        let (phys, pid_log) = crate::runner_resources(phys)?;
        if std::env::var_os("UML_SECCOMP_STATS").is_some() {
            stats::ON.store(true, Ordering::Relaxed);
        }
        Ok(Seccomp {
            spawner: Spawner::start(StubImage::new()?, phys)?,
            stubs: FxHashMap::default(),
            pool: Vec::new(),
            current: None,
            xinfo: None,
            fsgsbase: has_fsgsbase(),
            pid_log,
        })
    }

    /// Makes sure `mm` has a stub, parks the one that ran before, applies queued ops.
    /// `Ok(false)`: the stub is dead (the guest must be killed).
    fn enter(&mut self, id: MmId, ops: &[MmOp]) -> Result<bool, RunnerError> {
        if !self.stubs.contains_key(&id) {
            let stub = match self.pool.pop() {
                Some(stub) => stub,
                None => {
                    let t = stats::now();
                    let (stub, xinfo) = self.spawner.take()?;
                    self.xinfo = Some(xinfo);
                    stats::add(&stats::SPAWNS, 1);
                    stats::since(&stats::SPAWN_WAIT_NS, t);
                    stub
                }
            };
            if let Some(log) = self.pid_log.as_mut() {
                let _ = writeln!(log, "{}", stub.pid);
            }
            self.stubs.insert(id, stub);
        }
        if self.current != Some(id) {
            if let Some(prev) = self.current.take() {
                if let Some(p) = self.stubs.get_mut(&prev) {
                    p.park();
                }
            }
            self.current = Some(id);
        }
        let Some(stub) = self.stubs.get_mut(&id) else {
            return Ok(false);
        };
        if stub.dead {
            return Ok(false);
        }
        let mut entries = batch_entries(ops);
        if std::mem::take(&mut stub.stale) {
            entries.insert(0, UNMAP_GUEST);
        }
        if !entries.is_empty() {
            if let Err(e) = stub.apply(&entries) {
                tracing::warn!(pid = stub.pid, "seccomp stub mapping failed ({e}): killing");
                stub.kill();
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Drop for Seccomp {
    fn drop(&mut self) {
        for (_, s) in self.stubs.drain() {
            s.release();
        }
        for s in self.pool.drain(..) {
            s.release();
        }
        if stats::on() {
            stats::dump();
        }
    }
}

/// Guest thread `tid` of a seccomp stub: the mechanism's [`GuestThread`]. Its registers
/// and FP state live in the stub's canonical frame (the thread that ran last keeps its FP
/// state there, the others' are set aside, see `SecStub::switch_thread`).
struct SecThread<'a> {
    stub: &'a mut SecStub,
    tid: i32,
    fsgsbase: bool,
    xinfo: Option<Xinfo>,
}

impl GuestThread for SecThread<'_> {
    fn run(&mut self, regs: &mut UserRegs) -> Result<Trap, TrapError> {
        self.stub.switch_thread(self.tid);
        self.stub.reply(regs);
        Ok(match self.stub.wait_report(Duration::MAX) {
            Wait::Report => self.stub.report(regs, self.fsgsbase),
            Wait::Dead => {
                self.stub.kill();
                sc::killed()
            }
        })
    }

    fn get_fp(&mut self, xs: &mut XState) -> Result<(), TrapError> {
        if let Some(x) = self.xinfo {
            self.stub.switch_thread(self.tid);
            *xs = self.stub.get_fp(x);
        }
        Ok(())
    }

    fn set_fp(&mut self, xs: &XState) -> Result<(), TrapError> {
        self.stub.switch_thread(self.tid);
        self.stub.set_fp(xs);
        Ok(())
    }
}

impl Seccomp {
    /// Guest thread `tid` of `mm`'s stub, if it has one.
    fn thread(&mut self, mm: MmId, tid: i32) -> Option<SecThread<'_>> {
        let (fsgsbase, xinfo) = (self.fsgsbase, self.xinfo);
        self.stubs.get_mut(&mm).map(|stub| SecThread {
            stub,
            tid,
            fsgsbase,
            xinfo,
        })
    }
}

impl Runner for Seccomp {
    fn switch_mm(&mut self, mm: MmId, ops: &[MmOp]) -> Result<(), RunnerError> {
        self.enter(mm, ops).map(|_| ())
    }

    fn resume(
        &mut self,
        mm: MmId,
        ops: &[MmOp],
        tid: i32,
        regs: &mut UserRegs,
    ) -> Result<Trap, RunnerError> {
        if !self.enter(mm, ops)? {
            return Ok(sc::killed());
        }
        match self.thread(mm, tid) {
            Some(mut t) => Ok(t.run(regs)?),
            None => Ok(sc::killed()),
        }
    }

    fn get_fpregs(&mut self, mm: MmId, tid: i32) -> Result<XState, RunnerError> {
        let x = self
            .xinfo
            .ok_or(RunnerError::StubStart("no stub yet".into()))?;
        let mut xs = XState::zeroed(x.size);
        if let Some(mut t) = self.thread(mm, tid).filter(|t| !t.stub.dead) {
            t.get_fp(&mut xs)?;
        }
        Ok(xs)
    }

    fn set_fpregs(&mut self, mm: MmId, tid: i32, xs: &XState) -> Result<(), RunnerError> {
        if let Some(mut t) = self.thread(mm, tid).filter(|t| !t.stub.dead) {
            t.set_fp(xs)?;
        }
        Ok(())
    }

    fn release(&mut self, mm: MmId) {
        if self.current == Some(mm) {
            self.current = None;
        }
        if let Some(s) = self.stubs.remove(&mm) {
            if self.pool.len() >= POOL_MAX {
                s.release();
            } else if let Some(s) = s.recycle() {
                self.pool.push(s);
            }
        }
    }

    fn host_pid(&self, mm: MmId) -> Option<i32> {
        self.stubs.get(&mm).map(|s| s.pid)
    }

    fn release_thread(&mut self, mm: MmId, tid: i32) {
        if let Some(s) = self.stubs.get_mut(&mm) {
            s.forget_thread(tid);
        }
    }

    fn quiesce(&mut self, mm: MmId) {
        // As when the kernel leaves a stub for another one: a guest that faked its report
        // must not be running while the next guest's pages are mapped in.
        if let Some(s) = self.stubs.get_mut(&mm) {
            s.park();
        }
    }
}
