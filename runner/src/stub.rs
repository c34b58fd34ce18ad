//! One stub: a fresh host process, traced by the kernel thread, whose address space holds
//! only the stub image, its data page and guest memory mapped from physical memory.
//!
//! Host-facing: this module forks, execs and maps. Every `unsafe` block is a libc call with
//! arguments built here; the child side of `fork` only makes async-signal-safe syscalls.
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use abi::structs::UserRegs;
use mm::MmOp;
use trap::ptrace::{Stop, Tracee};

use crate::RunnerError;

include!(concat!(env!("OUT_DIR"), "/stub_layout.rs"));

/// Fd number of physical memory inside a stub.
pub(crate) const STUB_PHYS_FD: i32 = 3;
/// Fd number of the data page's memfd inside a stub, until it is mapped.
pub(crate) const STUB_DATA_FD: i32 = 4;
/// Size of the data page.
pub(crate) const DATA_SIZE: usize = 4096;
/// Batch header: count, done, result.
const HEADER_WORDS: usize = 3;
/// Words per batch entry: nr and six arguments.
pub(crate) const ENTRY_WORDS: usize = 7;
/// The batch entry that unmaps the whole guest range (everything below the stub).
pub(crate) const UNMAP_GUEST: [u64; ENTRY_WORDS] =
    [libc::SYS_munmap as u64, 0, STUB_CODE, 0, 0, 0, 0];
/// Entries one batch holds.
const BATCH_MAX: usize = (DATA_SIZE / 8 - HEADER_WORDS - 4) / ENTRY_WORDS;
/// How much user CPU time a guest gets before the host interrupts it for preemption.
pub const TIME_SLICE: std::time::Duration = std::time::Duration::from_millis(10);
/// Highest user address of the host (end of the canonical lower half, page aligned).
pub(crate) const HOST_TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// A sealed memfd holding the stub image, created once per kernel.
pub struct StubImage {
    fd: OwnedFd,
}

fn check(r: libc::c_long, what: &'static str) -> Result<libc::c_long, RunnerError> {
    if r < 0 {
        Err(RunnerError::Host {
            what,
            errno: nix::errno::Errno::last(),
        })
    } else {
        Ok(r)
    }
}

/// Creates a memfd named `name` of `size` bytes (`MFD_CLOEXEC`, sealable).
fn memfd(name: &std::ffi::CStr, size: usize, extra: libc::c_uint) -> Result<OwnedFd, RunnerError> {
    // SAFETY: `name` is a valid C string; the call returns a new fd or -1.
    let mut fd = unsafe {
        libc::memfd_create(
            name.as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING | extra,
        )
    };
    if fd < 0 && extra != 0 {
        // Hosts before 6.3 do not know MFD_EXEC; their memfds are executable anyway.
        // SAFETY: as above.
        fd = unsafe {
            libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
        };
    }
    check(fd.into(), "memfd_create")?;
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    check(
        // SAFETY: plain syscall on our fd.
        unsafe { libc::ftruncate(fd.as_raw_fd(), size as libc::off_t) }.into(),
        "ftruncate",
    )?;
    Ok(fd)
}

const MFD_EXEC: libc::c_uint = 0x10;

impl StubImage {
    /// Writes the stub ELF into a memfd and seals it.
    pub fn new() -> Result<StubImage, RunnerError> {
        let fd = memfd(c"uml-stub", 0, MFD_EXEC)?;
        let mut off = 0;
        while off < STUB_IMAGE.len() {
            let rest = &STUB_IMAGE[off..];
            // SAFETY: writes from a live slice of the given length.
            let n = check(
                unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) }
                    as libc::c_long,
                "write",
            )?;
            off += n as usize;
        }
        let seals =
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        check(
            // SAFETY: plain fcntl on our fd.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) }.into(),
            "F_ADD_SEALS",
        )?;
        Ok(StubImage { fd })
    }
}

/// A running stub process, stopped under ptrace whenever the kernel holds it.
pub struct Stub {
    tracee: Tracee,
    /// The kernel's mapping of the stub's data memfd.
    pub(crate) data: *mut u64,
    data_len: usize,
    _data_fd: OwnedFd,
    /// Registers for running stub code: the host's initial ones (segment selectors).
    stub_regs: UserRegs,
}

impl Stub {
    /// Starts a stub: fork, trace, exec the sealed image, map the data page, unmap every
    /// host mapping but the stub's own.
    pub fn spawn(image: &StubImage, phys: BorrowedFd<'_>) -> Result<Stub, RunnerError> {
        let mut stub = Stub::spawn_raw(image, phys, DATA_SIZE)?;
        let data_end = STUB_DATA + DATA_SIZE as u64;
        // Preemption: the host sends SIGVTALRM after each slice of *user* CPU time the
        // guest burns without trapping; a guest that sleeps or makes syscalls never sees it.
        let slice_us = TIME_SLICE.as_micros() as u64;
        let itimerval = [0, slice_us, 0, slice_us];
        // SAFETY: the last 32 bytes of the data page, mapped in `spawn_raw`; the stub is
        // stopped.
        unsafe {
            std::ptr::copy_nonoverlapping(itimerval.as_ptr(), stub.data.add(DATA_SIZE / 8 - 4), 4)
        };
        stub.run_batch(&[
            [
                libc::SYS_setitimer as u64,
                libc::ITIMER_VIRTUAL as u64,
                data_end - 32,
                0,
                0,
                0,
                0,
            ],
            [libc::SYS_close as u64, STUB_DATA_FD as u64, 0, 0, 0, 0, 0],
            UNMAP_GUEST,
            [
                libc::SYS_munmap as u64,
                data_end,
                HOST_TASK_SIZE - data_end,
                0,
                0,
                0,
                0,
            ],
        ])?;
        Ok(stub)
    }

    /// Starts a stub stopped under ptrace after its exec, with a memfd of `data_len` bytes
    /// mapped in the kernel (`Stub::data`) and open in the stub as fd 4, and its first page
    /// mapped read-write at `STUB_DATA`. Nothing else of the host address space is cleaned.
    pub(crate) fn spawn_raw(
        image: &StubImage,
        phys: BorrowedFd<'_>,
        data_len: usize,
    ) -> Result<Stub, RunnerError> {
        let data_fd = memfd(c"uml-stub", data_len, 0)?;
        // SAFETY: maps DATA_SIZE bytes of our memfd; checked for MAP_FAILED below.
        let data = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                data_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                data_fd.as_raw_fd(),
                0,
            )
        };
        if data == libc::MAP_FAILED {
            return Err(RunnerError::Host {
                what: "mmap data page",
                errno: nix::errno::Errno::last(),
            });
        }
        let kernel_pid = std::process::id() as libc::pid_t;
        let (img, phys, dfd) = (image.fd.as_raw_fd(), phys.as_raw_fd(), data_fd.as_raw_fd());
        // SAFETY: the child only makes raw syscalls (no allocation, no locks) and then
        // execs or exits; the parent continues normally.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            // SAFETY: unmapping the memory mapped above.
            unsafe { libc::munmap(data, data_len) };
            return Err(RunnerError::Host {
                what: "fork",
                errno: nix::errno::Errno::last(),
            });
        }
        if pid == 0 {
            // SAFETY: see above; none of these calls returns into Rust code on failure.
            unsafe { child(kernel_pid, img, phys, dfd) }
        }
        let tracee = Tracee::new(pid);
        let mut stub = Stub {
            tracee,
            data: data.cast(),
            data_len,
            _data_fd: data_fd,
            stub_regs: UserRegs::default(),
        };
        match tracee.wait()? {
            Stop::Signal(libc::SIGTRAP) => {}
            other => return Err(RunnerError::StubStart(format!("first stop {other:?}"))),
        }
        tracee.set_options()?;
        stub.stub_regs = tracee.get_regs()?;
        stub.syscall(
            libc::SYS_mmap,
            [
                STUB_DATA,
                DATA_SIZE as u64,
                (libc::PROT_READ | libc::PROT_WRITE) as u64,
                (libc::MAP_SHARED | libc::MAP_FIXED) as u64,
                STUB_DATA_FD as u64,
                0,
            ],
        )?;
        Ok(stub)
    }

    /// The stub's host pid.
    pub fn pid(&self) -> i32 {
        self.tracee.pid()
    }

    /// Gives `regs` the host's segment selectors: a guest cannot choose its own.
    pub fn fix_segments(&self, regs: &mut UserRegs) {
        let h = &self.stub_regs;
        (regs.cs, regs.ss, regs.ds, regs.es, regs.fs, regs.gs) =
            (h.cs, h.ss, h.ds, h.es, h.fs, h.gs);
    }

    /// The registers the stub started with (for running stub code).
    pub(crate) fn stub_regs(&self) -> UserRegs {
        self.stub_regs
    }

    /// The tracee, for running guest code.
    pub fn tracee(&self) -> Tracee {
        self.tracee
    }

    /// Runs one host syscall inside the stub and returns its raw result.
    pub(crate) fn syscall(&mut self, nr: libc::c_long, args: [u64; 6]) -> Result<i64, RunnerError> {
        self.syscall_at(STUB_SYSCALL, nr, args)
    }

    /// Runs one host syscall at the stub's `rip` (a `syscall` instruction followed, in the
    /// calling thread, by `int3`).
    pub(crate) fn syscall_at(
        &mut self,
        rip: u64,
        nr: libc::c_long,
        args: [u64; 6],
    ) -> Result<i64, RunnerError> {
        let mut regs = self.stub_regs;
        regs.rip = rip;
        regs.rax = nr as u64;
        regs.orig_rax = u64::MAX;
        [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9] = args;
        self.run_stub_code(&regs)?;
        let r = self.tracee.get_regs()?.rax as i64;
        if r < 0 && r > -4096 {
            return Err(RunnerError::StubSyscall {
                nr: nr as u64,
                errno: -r as i32,
            });
        }
        Ok(r)
    }

    fn run_stub_code(&mut self, regs: &UserRegs) -> Result<(), RunnerError> {
        self.tracee.set_regs(regs)?;
        loop {
            self.tracee.cont()?;
            match self.tracee.wait()? {
                Stop::Signal(libc::SIGTRAP) => return Ok(()),
                // The preemption tick can expire while stub code runs (the guest's user
                // time is counted per process): drop it, the next one comes a slice later.
                Stop::Signal(libc::SIGVTALRM) => continue,
                other => {
                    return Err(RunnerError::StubStart(format!(
                        "stub code stopped with {other:?}"
                    )))
                }
            }
        }
    }

    /// Runs `entries` (syscall number and six arguments each) in the stub, in order,
    /// stopping at the first failure.
    pub(crate) fn run_batch(&mut self, entries: &[[u64; ENTRY_WORDS]]) -> Result<(), RunnerError> {
        for chunk in entries.chunks(BATCH_MAX) {
            let mut words = [0u64; DATA_SIZE / 8];
            words[0] = chunk.len() as u64;
            for (i, e) in chunk.iter().enumerate() {
                let at = HEADER_WORDS + i * ENTRY_WORDS;
                words[at..at + ENTRY_WORDS].copy_from_slice(e);
            }
            // SAFETY: `data` maps DATA_SIZE bytes; the stub is stopped, so nothing else
            // touches the page while we write it.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    words.as_ptr(),
                    self.data,
                    HEADER_WORDS + chunk.len() * ENTRY_WORDS,
                )
            };
            let mut regs = self.stub_regs;
            regs.rip = STUB_BATCH;
            regs.orig_rax = u64::MAX;
            self.run_stub_code(&regs)?;
            // SAFETY: reading the header words of the mapped page; the stub is stopped.
            let (done, result) = unsafe {
                (
                    self.data.add(1).read_volatile(),
                    self.data.add(2).read_volatile() as i64,
                )
            };
            if done != chunk.len() as u64 {
                let nr = chunk.get(done as usize).map_or(0, |e| e[0]);
                return Err(RunnerError::StubSyscall {
                    nr,
                    errno: -result as i32,
                });
            }
        }
        Ok(())
    }

    /// Applies queued host mapping changes in batches.
    pub fn apply(&mut self, ops: &[MmOp]) -> Result<(), RunnerError> {
        let entries = batch_entries(ops);
        if entries.is_empty() {
            return Ok(());
        }
        self.run_batch(&entries)
    }

    /// Kills and reaps the stub.
    pub fn kill(self) {
        self.tracee.kill();
    }
}

/// Host syscalls (number and six arguments) realising `ops` in a stub.
pub(crate) fn batch_entries(ops: &[MmOp]) -> Vec<[u64; ENTRY_WORDS]> {
    ops.iter()
        .filter_map(|op| match *op {
            MmOp::Mmap {
                addr,
                len,
                prot,
                offset,
            } => Some([
                libc::SYS_mmap as u64,
                addr,
                len,
                u64::from(prot),
                (libc::MAP_SHARED | libc::MAP_FIXED) as u64,
                STUB_PHYS_FD as u64,
                offset,
            ]),
            MmOp::Munmap { addr, len } => Some([libc::SYS_munmap as u64, addr, len, 0, 0, 0, 0]),
            MmOp::Mprotect { addr, len, prot } => Some([
                libc::SYS_mprotect as u64,
                addr,
                len,
                u64::from(prot),
                0,
                0,
                0,
            ]),
            MmOp::CopySegments { .. } => None,
        })
        .collect()
}

impl Drop for Stub {
    fn drop(&mut self) {
        // SAFETY: unmapping the data page mapped in `spawn`; no reference to it outlives self.
        unsafe { libc::munmap(self.data.cast(), self.data_len) };
    }
}

/// The child side of `fork`: become a tracee that dies with the kernel, keep exactly
/// physical memory (fd 3) and the data page memfd (fd 4), and exec the stub image.
///
/// # Safety
/// Must only be called in the child of `fork`; it never returns.
unsafe fn child(kernel_pid: libc::pid_t, img: i32, phys: i32, data: i32) -> ! {
    // SAFETY: (whole body) raw syscalls with integer arguments and static C strings.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != kernel_pid {
            libc::_exit(1);
        }
        // Terminal signals (Ctrl-C) go to the kernel, which decides for the guest.
        libc::setpgid(0, 0);
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) < 0 {
            libc::_exit(2);
        }
        // Move every fd we keep out of the way before placing them at 3 and 4.
        let i = libc::fcntl(img, libc::F_DUPFD_CLOEXEC, 16);
        let p = libc::fcntl(phys, libc::F_DUPFD, 16);
        let d = libc::fcntl(data, libc::F_DUPFD, 16);
        if i < 0
            || p < 0
            || d < 0
            || libc::dup2(p, STUB_PHYS_FD) < 0
            || libc::dup2(d, STUB_DATA_FD) < 0
        {
            libc::_exit(3);
        }
        for fd in 0..3 {
            libc::close(fd);
        }
        libc::syscall(
            libc::SYS_close_range,
            5u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        let argv: [*const libc::c_char; 2] = [c"uml-stub".as_ptr(), std::ptr::null()];
        let envp: [*const libc::c_char; 1] = [std::ptr::null()];
        libc::syscall(
            libc::SYS_execveat,
            i,
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        libc::_exit(4)
    }
}
