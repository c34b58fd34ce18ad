//! The state of a guest process (a thread group of one thread, for now).

use abi::structs::Rlimit;
use mm::MmId;
use vfs::Dentry;

use crate::fdtable::FdTable;

/// User and group ids of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cred {
    /// Real user id.
    pub uid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective group id.
    pub egid: u32,
}

/// A guest process: its address space, files, credentials, limits and signal state.
pub struct Process {
    /// Guest process id (PID 1 is the first program).
    pub pid: i32,
    /// Parent's guest pid (0 for the first program).
    pub ppid: i32,
    /// Its address space.
    pub mm: MmId,
    /// Open files.
    pub fds: FdTable,
    /// Current directory.
    pub cwd: Dentry,
    /// File mode creation mask.
    pub umask: u32,
    /// Ids.
    pub cred: Cred,
    /// Resource limits, indexed by `RLIMIT_*`.
    pub rlimits: [Rlimit; abi::flags::rlimit::NLIMITS as usize],
    /// Signal dispositions, mask, pending signals and alternate stack.
    pub sig: crate::signal::SigState,
    /// `set_tid_address` pointer.
    pub clear_child_tid: u64,
    /// `set_robust_list` head and length.
    pub robust_list: (u64, u64),
    /// Path the program was started as (`AT_EXECFN`, `/proc/self/exe` later).
    pub exe: Vec<u8>,
}

impl Process {
    /// Linux's default limits for a new process on this host kind.
    pub fn default_rlimits() -> [Rlimit; abi::flags::rlimit::NLIMITS as usize] {
        use abi::flags::rlimit::*;
        let inf = Rlimit {
            cur: INFINITY,
            max: INFINITY,
        };
        let mut r = [inf; NLIMITS as usize];
        r[STACK as usize] = Rlimit {
            cur: 8 << 20,
            max: INFINITY,
        };
        r[CORE as usize] = Rlimit {
            cur: 0,
            max: INFINITY,
        };
        r[NOFILE as usize] = Rlimit {
            cur: crate::fdtable::NR_OPEN_DEFAULT,
            max: crate::fdtable::NR_OPEN_MAX,
        };
        r[NPROC as usize] = Rlimit {
            cur: 4096,
            max: 4096,
        };
        r[MEMLOCK as usize] = Rlimit {
            cur: 8 << 20,
            max: 8 << 20,
        };
        r[SIGPENDING as usize] = Rlimit {
            cur: 4096,
            max: 4096,
        };
        r[MSGQUEUE as usize] = Rlimit {
            cur: 819_200,
            max: 819_200,
        };
        r[NICE as usize] = Rlimit { cur: 0, max: 0 };
        r[RTPRIO as usize] = Rlimit { cur: 0, max: 0 };
        r
    }

    /// The soft limit on open descriptors.
    pub fn nofile(&self) -> u64 {
        self.rlimits[abi::flags::rlimit::NOFILE as usize].cur
    }
}
