//! Handlers driven alone: a syscall goes in, and its [`Reply`] — the outcome and every
//! effect — comes out as a value, with a fake of the scheduler's wait-queue view. The
//! address space and file system are real (a memfd and the host's `/`, read-only under an
//! overlay), as the kernel's own are.

use std::os::unix::ffi::OsStrExt;

use abi::structs::UserRegs;
use abi::Sysno;
use mm::MmService;
use vfs::{Vfs, VfsConfig, VfsService};

use crate::fdtable::FdTable;
use crate::{
    Block, Cred, Effects, FutexKey, Outcome, Process, ProcessTable, QueueOp, Reply, RestartBlock,
    WaitKey, Waiter,
};

/// A one-process world: the test program itself loaded as pid 1 (its code never runs).
pub(crate) struct World {
    pub(crate) mm: MmService,
    vfs: VfsService,
    pub(crate) proc: Process,
    pub(crate) procs: ProcessTable,
    pub(crate) regs: UserRegs,
    pub(crate) restart: RestartBlock,
}

impl World {
    pub(crate) fn new() -> World {
        let mut mm = MmService::new(mm::Mm::new(64 << 20).expect("physical memory"));
        let vfs = VfsService::new(
            Vfs::new(VfsConfig {
                root: "/".into(),
                rw: false,
                uid: 0,
                gid: 0,
                binds: Vec::new(),
            })
            .expect("vfs"),
        );
        let exe = std::env::current_exe().expect("test binary");
        let path = exe.as_os_str().as_bytes().to_vec();
        let cwd = vfs.root();
        let cred = Cred::default();
        let argv = std::slice::from_ref(&path);
        let loaded = crate::exec::load(&mut mm, &vfs, &cwd, &path, argv, &[], cred, true)
            .expect("load the test binary");
        let regs = loaded.regs;
        let proc = Process::first(loaded, &path, FdTable::new(), cwd, vec![0]);
        World {
            mm,
            vfs,
            proc,
            procs: ProcessTable::new(0),
            regs,
            restart: RestartBlock::default(),
        }
    }

    /// Guest scratch memory: below the initial stack pointer, on the stack's mapped pages.
    pub(crate) fn scratch(&self, off: u64) -> u64 {
        (self.regs.rsp & !0xfff) - 0x1000 + off
    }

    /// Runs one syscall; `waiters` fakes the scheduler's wait queues.
    pub(crate) fn call(
        &mut self,
        nr: Sysno,
        args: &[u64],
        waiters: &dyn crate::SchedView,
    ) -> Reply {
        let mut regs = self.regs;
        regs.orig_rax = nr.raw();
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9] = a;
        let mut ctx = crate::Ctx::new(
            &mut self.mm,
            &self.vfs,
            &mut self.proc,
            &mut self.procs,
            &mut regs,
            &mut self.restart,
            waiters,
        );
        let reply = crate::dispatch(&mut ctx, &mut |_| {});
        if !matches!(reply.outcome, Outcome::Block(_)) {
            self.restart = RestartBlock::default();
        }
        reply
    }

    pub(crate) fn write(&mut self, addr: u64, bytes: &[u8]) {
        self.mm
            .copy_out(self.proc.mm, abi::UserAddr(addr), bytes)
            .expect("guest write");
    }

    pub(crate) fn read<const N: usize>(&mut self, addr: u64) -> [u8; N] {
        let mut b = [0u8; N];
        self.mm
            .copy_in(self.proc.mm, abi::UserAddr(addr), &mut b)
            .expect("guest read");
        b
    }
}

pub(crate) fn nobody(_: WaitKey) -> Vec<Waiter> {
    Vec::new()
}

pub(crate) fn returned(v: u64) -> Reply {
    Reply {
        outcome: Outcome::Return(v),
        effects: Effects::default(),
    }
}

/// An empty pipe's read blocks on the pipe; a write returns its count and wakes the pipe's
/// waiters; the read then completes.
#[test]
fn pipe_read_blocks_and_write_wakes() {
    let mut w = World::new();
    let fds = w.scratch(0);
    assert_eq!(w.call(Sysno::pipe2, &[fds, 0], &nobody), returned(0));
    let [r0, r1, r2, r3, w0, w1, w2, w3] = w.read::<8>(fds);
    let (rfd, wfd) = (
        u32::from_le_bytes([r0, r1, r2, r3]) as u64,
        u32::from_le_bytes([w0, w1, w2, w3]) as u64,
    );
    let buf = w.scratch(64);
    let reply = w.call(Sysno::read, &[rfd, buf, 16], &nobody);
    let Outcome::Block(Block { keys, deadline, .. }) = &reply.outcome else {
        panic!("read of an empty pipe: {reply:?}");
    };
    assert!(matches!(keys[..], [WaitKey::File(_)]), "{keys:?}");
    assert_eq!(*deadline, None);
    assert_eq!(reply.effects, Effects::default());

    w.write(buf, b"abc");
    let wrote = w.call(Sysno::write, &[wfd, buf, 3], &nobody);
    assert_eq!(wrote.outcome, Outcome::Return(3));
    assert_eq!(wrote.effects.wake, keys.clone());
    // The read completes, and wakes writers waiting for room.
    let read = w.call(Sysno::read, &[rfd, buf + 8, 16], &nobody);
    assert_eq!(read.outcome, Outcome::Return(3));
    assert_eq!(read.effects.wake, keys.clone());
    assert_eq!(&w.read::<3>(buf + 8), b"abc");
}

/// A futex wait blocks on (space, address); a wake of one with two waiters (as the
/// scheduler's view says) wakes one, as a value.
#[test]
fn futex_wait_and_wake_are_values() {
    let mut w = World::new();
    let word = w.scratch(128);
    w.write(word, &0u32.to_le_bytes());
    const WAIT_PRIVATE: u64 = 128;
    const WAKE_PRIVATE: u64 = 129;
    let key = WaitKey::Futex(FutexKey::Private {
        mm: w.proc.mm.0,
        addr: word,
    });
    let reply = w.call(Sysno::futex, &[word, WAIT_PRIVATE, 0, 0], &nobody);
    assert_eq!(
        reply.outcome,
        Outcome::Block(Block {
            keys: vec![key],
            deadline: None,
            bitset: sched::MATCH_ANY,
        })
    );
    // The word changed: EAGAIN at once.
    w.restart = RestartBlock::default();
    let again = w.call(Sysno::futex, &[word, WAIT_PRIVATE, 7, 0], &nobody);
    assert_eq!(again, returned(abi::Errno::EAGAIN.as_return()));
    let waiter = |t| Waiter {
        task: sched::TaskId(t),
        bitset: sched::MATCH_ANY,
    };
    let two = |k: WaitKey| {
        if k == key {
            vec![waiter(2), waiter(3)]
        } else {
            vec![]
        }
    };
    let woke = w.call(Sysno::futex, &[word, WAKE_PRIVATE, 1], &two);
    assert_eq!(woke.outcome, Outcome::Return(1));
    let wake = QueueOp::Wake {
        key,
        max: 1,
        bitset: sched::MATCH_ANY,
    };
    assert_eq!(woke.effects.queue_ops, vec![wake]);
}

/// A sleep blocks on nothing but its deadline, on the scheduler's clock.
#[test]
fn nanosleep_blocks_until_a_deadline() {
    let mut w = World::new();
    let ts = w.scratch(256);
    let mut t = 5u64.to_le_bytes().to_vec();
    t.extend_from_slice(&0u64.to_le_bytes());
    w.write(ts, &t);
    let before = crate::time::ktime(std::time::Instant::now());
    let reply = w.call(Sysno::nanosleep, &[ts, 0], &nobody);
    let Outcome::Block(Block { keys, deadline, .. }) = reply.outcome else {
        panic!("{reply:?}");
    };
    assert_eq!(keys, vec![WaitKey::Timeout(1)]);
    let d = deadline.expect("a deadline").0 - before.0;
    assert!((5_000_000_000..5_100_000_000).contains(&d), "{d}");
}

/// Replies serialise (what a record of the syscall service holds).
#[test]
fn replies_round_trip_through_bincode() {
    let reply = Reply {
        outcome: Outcome::Block(Block {
            keys: vec![WaitKey::File(3), WaitKey::Signal(1)],
            deadline: Some(sched::Ktime(42)),
            bitset: 3,
        }),
        effects: Effects {
            wake: vec![WaitKey::Child(1)],
            queue_ops: vec![QueueOp::Requeue {
                from: WaitKey::Futex(FutexKey::Mm { mm: 1, addr: 8 }),
                to: WaitKey::FutexPi(FutexKey::SharedAnon { page: 0, offset: 4 }),
                max: 1,
            }],
            alarms: vec![(1, sched::AlarmTimer::ItimerReal, sched::Ktime(9))],
            host_waits: vec![crate::HostWait { id: 5, file: None }],
            nice: vec![(2, 5)],
            resume: vec![4],
        },
    };
    let bytes = bincode::serialize(&reply).expect("serialize");
    assert_eq!(
        bincode::deserialize::<Reply>(&bytes).expect("deserialize"),
        reply
    );
}
