//! The runners against real stubs, each check run with both trap mechanisms: isolation of
//! the stub's address space, syscall and fault traps, and FP state transfer with the host's
//! exact XSAVE size; plus what is particular to each mechanism.
#![allow(clippy::unwrap_used)]

use abi::flags::{MapFlags, Prot};
use abi::structs::UserRegs;
use abi::UserAddr;
use mm::{Access, Mm};
use runner::{new_runner, Runner, RunnerMsg, RunnerReply, TrapKind};
use trap::Trap;

/// mov eax, 39 (getpid); syscall; mov dword [0x20000000], 7; mov eax, 60 (exit); syscall
const CODE: &[u8] = &[
    0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, //
    0xc7, 0x04, 0x25, 0x00, 0x00, 0x00, 0x20, 0x07, 0, 0, 0, //
    0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05,
];
const CODE_AT: u64 = 0x1000_0000;
const DATA_AT: u64 = 0x2000_0000;
const KINDS: [TrapKind; 2] = [TrapKind::Ptrace, TrapKind::Seccomp];

fn setup(kind: TrapKind) -> (Mm, Box<dyn Runner>, mm::MmId, UserRegs) {
    let mut mm = Mm::new(64 << 20).unwrap();
    let runner = new_runner(kind, mm.phys_fd(), false).unwrap();
    let id = mm.create_space();
    let fixed = MapFlags::PRIVATE | MapFlags::ANONYMOUS | MapFlags::FIXED;
    let rwx = Prot::READ | Prot::WRITE | Prot::EXEC;
    mm.mmap(id, UserAddr(CODE_AT), 4096, rwx, fixed, None)
        .unwrap();
    mm.copy_out(id, UserAddr(CODE_AT), CODE).unwrap();
    mm.mmap(
        id,
        UserAddr(DATA_AT),
        1 << 20,
        Prot::READ | Prot::WRITE,
        fixed,
        None,
    )
    .unwrap();
    let regs = UserRegs {
        rip: CODE_AT,
        eflags: 0x202,
        ..UserRegs::default()
    };
    (mm, runner, id, regs)
}

/// Resumes guest thread 1 of `id` with `regs` (a `Resume` message carrying the space's
/// queued host ops); `regs` then holds the registers at the trap.
fn resume(mm: &mut Mm, runner: &mut dyn Runner, id: mm::MmId, regs: &mut UserRegs) -> Trap {
    let ops = mm.mmfd(id).unwrap().take_pending();
    let msg = RunnerMsg::Resume {
        mm: id,
        ops,
        tid: 1,
        regs: *regs,
    };
    let (trap, at_trap) = runner.handle(msg).unwrap().trapped().unwrap();
    *regs = at_trap;
    trap
}

/// Resumes, resolving page faults, until a trap that is not a fault.
fn run(mm: &mut Mm, runner: &mut dyn Runner, id: mm::MmId, regs: &mut UserRegs) -> Trap {
    loop {
        match resume(mm, runner, id, regs) {
            Trap::Fault { addr, present, .. } => mm
                .handle_fault(id, UserAddr(addr), Access::Unknown, present)
                .unwrap(),
            trap => return trap,
        }
    }
}

fn get_fpregs(runner: &mut dyn Runner, id: mm::MmId) -> trap::XState {
    let msg = RunnerMsg::GetFpregs { mm: id, tid: 1 };
    runner.handle(msg).unwrap().fpregs().unwrap()
}

fn release(runner: &mut dyn Runner, id: mm::MmId) {
    assert_eq!(
        runner.handle(RunnerMsg::Release { mm: id }).unwrap(),
        RunnerReply::Done
    );
}

#[test]
fn traps_syscalls_and_faults() {
    for kind in KINDS {
        let (mut mm, mut runner, id, mut regs) = setup(kind);
        let trap = resume(&mut mm, runner.as_mut(), id, &mut regs);
        assert!(
            matches!(
                trap,
                Trap::Fault {
                    addr: CODE_AT,
                    present: false,
                    ..
                }
            ),
            "{kind:?}: code is mapped on first touch: {trap:?}"
        );
        mm.handle_fault(id, UserAddr(CODE_AT), Access::Unknown, false)
            .unwrap();
        let trap = resume(&mut mm, runner.as_mut(), id, &mut regs);
        assert_eq!(trap, Trap::Syscall, "{kind:?}");
        assert_eq!(regs.orig_rax, 39);
        regs.rax = 1234;
        // The store to DATA_AT is not mapped in the host yet: a fault the mm resolves.
        let trap = resume(&mut mm, runner.as_mut(), id, &mut regs);
        let Trap::Fault {
            addr,
            present,
            error_code,
        } = trap
        else {
            panic!("{kind:?}: expected a fault, got {trap:?}")
        };
        assert_eq!(addr, DATA_AT);
        // Seccomp reports the access (a store: X86_PF_WRITE); ptrace cannot.
        match kind {
            TrapKind::Seccomp => assert_eq!(error_code.map(|e| e & 2), Some(2), "{trap:?}"),
            TrapKind::Ptrace => assert_eq!(error_code, None),
        }
        mm.handle_fault(id, UserAddr(addr), Access::Unknown, present)
            .unwrap();
        let trap = resume(&mut mm, runner.as_mut(), id, &mut regs);
        assert_eq!(trap, Trap::Syscall, "{kind:?}");
        assert_eq!(regs.orig_rax, 60);
        let mut v = [0u8; 4];
        mm.copy_in(id, UserAddr(DATA_AT), &mut v).unwrap();
        assert_eq!(
            u32::from_ne_bytes(v),
            7,
            "{kind:?}: the guest's store reached physical memory"
        );
        release(runner.as_mut(), id);
    }
}

#[test]
fn stub_address_space_holds_nothing_of_the_kernel() {
    for kind in KINDS {
        let (mut mm, mut runner, id, mut regs) = setup(kind);
        // Run up to the first syscall so that guest memory is mapped.
        assert_eq!(run(&mut mm, runner.as_mut(), id, &mut regs), Trap::Syscall);
        let pid = runner.host_pid(id).unwrap();
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
        for line in maps.lines() {
            let path = line.split_whitespace().nth(5).unwrap_or("");
            assert!(
                path.contains("memfd:uml-stub")
                    || path.contains("memfd:uml-phys")
                    || path == "[vsyscall]",
                "{kind:?}: unexpected mapping in the stub: {line}\n{maps}"
            );
        }
        assert!(
            maps.contains("memfd:uml-phys"),
            "{kind:?}: guest memory is mapped: {maps}"
        );
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count();
        let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .count();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        match kind {
            TrapKind::Ptrace => {
                assert_eq!(fds, 1, "the stub holds only physical memory");
                assert_eq!(threads, 1);
            }
            TrapKind::Seccomp => {
                // Physical memory is held only by the mapper thread's own fd table.
                assert_eq!(fds, 0, "the guest thread's fd table is empty");
                assert_eq!(threads, 2, "the guest thread and the mapper");
                assert!(status.contains("Seccomp:\t2"), "filter mode: {status}");
                assert!(status.contains("TracerPid:\t0"), "not traced: {status}");
            }
        }
        release(runner.as_mut(), id);
    }
}

#[test]
fn fp_state_round_trips_with_the_host_size() {
    for kind in KINDS {
        let (mut mm, mut runner, id, mut regs) = setup(kind);
        assert_eq!(run(&mut mm, runner.as_mut(), id, &mut regs), Trap::Syscall);
        let mut xs = get_fpregs(runner.as_mut(), id);
        assert!(
            xs.len() >= 512 + 64,
            "{kind:?}: an XSAVE area: {}",
            xs.len()
        );
        let mut fake = runner::fake::ScriptedRunner::new();
        assert_eq!(
            get_fpregs(&mut fake, id).len(),
            xs.len(),
            "the scripted runner's FP area has the host's size"
        );
        xs.as_bytes_mut()[160..176].copy_from_slice(&[0xab; 16]);
        // XSTATE_BV: the SSE component is in use (else the host treats it as initial).
        xs.as_bytes_mut()[512] |= 2;
        let set = RunnerMsg::SetFpregs {
            mm: id,
            tid: 1,
            xstate: xs,
        };
        assert_eq!(runner.handle(set).unwrap(), RunnerReply::Done);
        let back = get_fpregs(runner.as_mut(), id);
        assert_eq!(back.xmm(0), Some(&[0xab; 16][..]), "{kind:?}");
        release(runner.as_mut(), id);
    }
}
