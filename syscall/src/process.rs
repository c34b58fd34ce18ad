//! Guest processes (thread groups) and the table of them.
//!
//! A [`Process`] is what its threads share (Linux's `signal_struct`, files, fs, mm): its pid is
//! the thread group id, and its leader thread's tid. Its [`Thread`]s, by tid, hold what each
//! thread has of its own at this level (`set_tid_address`, `set_robust_list`, its signal mask
//! and pending signals); the kernel keeps each thread's registers and scheduling state as a
//! task. [`Process::sig`] holds the process's signal state with the per-thread part of one
//! thread, `sig_thread`; [`Process::sig_of`] makes another thread's current.

use abi::structs::Rlimit;
use mm::MmId;
use vfs::Dentry;

use crate::fdtable::FdTable;

pub use crate::cred::Cred;

/// A guest process: its address space, files, credentials, limits and signal state.
pub struct Process {
    /// Guest process id (PID 1 is the first program).
    pub pid: i32,
    /// Parent's guest pid (0 for the first program).
    pub ppid: i32,
    /// Process group.
    pub pgid: i32,
    /// Session.
    pub sid: i32,
    /// Running, stopped, or a zombie waiting to be reaped.
    pub state: ProcState,
    /// Signal sent to the parent when this process ends (`SIGCHLD`, or the clone flags').
    pub exit_signal: i32,
    /// Live and zombie children.
    pub children: std::collections::BTreeSet<i32>,
    /// Interval timers (`setitimer`, `alarm`).
    pub itimers: crate::itimer::Itimers,
    /// POSIX timers (`timer_create`).
    pub posix_timers: crate::posix_timer::PosixTimers,
    /// Its asynchronous-I/O contexts (`io_setup`), which go with its address space.
    pub aio: crate::aio::Contexts,
    /// Its address space.
    pub mm: MmId,
    /// Open files.
    pub fds: FdTable,
    /// Current directory.
    pub cwd: Dentry,
    /// Its root directory (`chroot`); `None`: the instance's root.
    pub root: Option<Dentry>,
    /// File mode creation mask.
    pub umask: u32,
    /// Ids.
    pub cred: Cred,
    /// Supplementary groups, sorted.
    pub groups: Vec<u32>,
    /// Resource limits, indexed by `RLIMIT_*`.
    pub rlimits: [Rlimit; abi::flags::rlimit::NLIMITS as usize],
    /// Signal dispositions and shared pending signals, with the mask, own pending signals
    /// and alternate stack of thread `sig_thread` (use [`Process::sig_of`]).
    pub sig: crate::signal::SigState,
    /// The thread whose per-thread signal state is in `sig`.
    pub sig_thread: i32,
    /// Its live threads, by tid (the leader's tid is `pid`). Never empty while the process
    /// runs; a leader that exited first leaves, the process stays until the last one exits.
    pub threads: std::collections::BTreeMap<i32, Thread>,
    /// Whether it has called `execve` since it was forked (`setpgid` by the parent then
    /// fails with `EACCES`).
    pub did_exec: bool,
    /// `PR_SET_CHILD_SUBREAPER`: orphaned descendants are reparented here, not to init.
    pub child_subreaper: bool,
    /// `PR_SET_PDEATHSIG`: signal sent when the parent exits (0: none).
    pub pdeath_signal: i32,
    /// CPU time its guest code has run, in ns (user time: uml counts no system time).
    pub cpu_ns: u64,
    /// CPU time of its reaped children (and theirs), in ns.
    pub children_cpu_ns: u64,
    /// The peak resident set, in pages, of the address spaces it left (by `execve` or
    /// exit; Linux's `signal->maxrss`).
    pub maxrss: u64,
    /// The largest peak resident set of its reaped children (and theirs), in pages
    /// (Linux's `signal->cmaxrss`).
    pub children_maxrss: u64,
    /// `PR_SET_NO_NEW_PRIVS`.
    pub no_new_privs: bool,
    /// Its Landlock domain (`landlock_restrict_self`; kept across `fork` and `execve`).
    pub landlock: Option<std::sync::Arc<vfs::landlock::Domain>>,
    /// The thread's name (`PR_SET_NAME`, `/proc/PID/comm`): at most 15 bytes.
    pub comm: Vec<u8>,
    /// The program it runs (`/proc/PID/exe`, `cmdline`, `environ`).
    pub exe: crate::exec::Program,
    /// When it was created, as time since boot (`/proc/PID/stat`'s `starttime`).
    pub start_time: std::time::Duration,
    /// Its session's controlling terminal.
    pub ctty: Option<crate::tty::Ctty>,
    /// Its execution domain and flags (`personality(2)`).
    pub personality: u32,
    /// Its session and process keyrings.
    pub keys: crate::keys::ProcessKeys,
    /// The `membarrier` registrations of its address space (`MEMBARRIER_CMD_REGISTER_*`).
    pub membarrier: i32,
    /// Which processes share its filesystem context (cwd, root, umask: `CLONE_FS` without
    /// `CLONE_THREAD`): those with the same value ([`ProcessTable::new_share_id`]).
    pub fs_share: u64,
    /// Which processes share its signal handlers (`CLONE_SIGHAND` without `CLONE_THREAD`),
    /// likewise.
    pub sighand_share: u64,
    /// Its tracer's link to it, while it is traced (`ptrace`).
    pub ptrace: Option<Box<crate::ptrace::Tracee>>,
    /// The processes it traces.
    pub tracees: std::collections::BTreeSet<i32>,
    /// The namespaces it is in.
    pub ns: crate::ns::NsSet,
}

impl Process {
    /// The other processes in `procs` whose filesystem context is this one's.
    pub fn fs_sharers<'a>(
        &self,
        procs: &'a mut ProcessTable,
    ) -> impl Iterator<Item = &'a mut Process> {
        let (me, share) = (self.pid, self.fs_share);
        procs
            .iter_mut()
            .filter(move |q| q.pid != me && q.fs_share == share)
    }

    /// The other processes in `procs` whose signal handlers are this one's.
    pub fn sighand_sharers<'a>(
        &self,
        procs: &'a mut ProcessTable,
    ) -> impl Iterator<Item = &'a mut Process> {
        let (me, share) = (self.pid, self.sighand_share);
        procs
            .iter_mut()
            .filter(move |q| q.pid != me && q.sighand_share == share)
    }
}

/// What one thread of a process has of its own at the syscall level.
#[derive(Clone, Debug, Default)]
pub struct Thread {
    /// `set_tid_address` / `CLONE_CHILD_CLEARTID` pointer: zeroed and futex-woken at exit.
    pub clear_child_tid: u64,
    /// `set_robust_list` head and length: walked at exit.
    pub robust_list: (u64, u64),
    /// Its signal mask and own pending signals while another thread is `sig_thread`.
    pub sig: crate::signal::ThreadSig,
    /// CPU time its guest code has run, in ns (the process's `cpu_ns` counts every thread).
    pub cpu_ns: u64,
    /// Nice value, policy, real-time and I/O priorities.
    pub sched: crate::priority::TaskSched,
    /// The PI futexes it owns that others blocked on (Linux's `pi_state_list`): when it
    /// exits, one waiter of each is woken to take the lock over.
    pub pi_state: Vec<crate::WaitKey>,
    /// Its thread keyring (`KEY_SPEC_THREAD_KEYRING`).
    pub thread_keyring: Option<i32>,
    /// `PR_SET_TSC(PR_TSC_SIGSEGV)` (Linux's `TIF_NOTSC`): reading the time-stamp counter
    /// is to fault. Inherited over `fork`/`clone`, kept over `execve`. uml keeps and
    /// reports the state; the host does not make `rdtsc` fault.
    pub notsc: bool,
    /// Its registers while it is stopped (job control or ptrace): what a tracer reads and
    /// changes; the kernel puts them back when it runs again.
    pub stopped_regs: Option<abi::structs::UserRegs>,
    /// Its FP state (XSAVE image) while it is stopped, for a tracer.
    pub stopped_fp: Option<Vec<u8>>,
}

impl Thread {
    /// The threads of a new single-threaded process whose leader is `tid`.
    pub fn only(tid: i32, t: Thread) -> std::collections::BTreeMap<i32, Thread> {
        std::iter::once((tid, t)).collect()
    }
}

impl Process {
    /// The first process (pid 1, its own session and group, one thread), running `loaded`
    /// (executed as `path`) with the open files `fds` in `cwd`, with the console as its
    /// controlling terminal.
    pub fn first(
        loaded: crate::exec::Loaded,
        path: &[u8],
        fds: FdTable,
        cwd: Dentry,
        groups: Vec<u32>,
    ) -> Process {
        let comm = Process::comm_of(path);
        Process {
            pid: 1,
            ppid: 0,
            pgid: 1,
            sid: 1,
            state: ProcState::Running,
            exit_signal: 0,
            children: Default::default(),
            itimers: Default::default(),
            posix_timers: Default::default(),
            aio: Default::default(),
            root: None,
            mm: loaded.mm,
            fds,
            cwd,
            umask: 0o022,
            cred: loaded.cred,
            groups,
            rlimits: Process::default_rlimits(),
            sig: Default::default(),
            threads: Thread::only(1, Default::default()),
            sig_thread: 1,
            comm,
            exe: loaded.program,
            start_time: crate::time::since_boot(),
            did_exec: true,
            cpu_ns: 0,
            children_cpu_ns: 0,
            maxrss: 0,
            children_maxrss: 0,
            child_subreaper: false,
            pdeath_signal: 0,
            no_new_privs: false,
            landlock: None,
            ctty: Some(crate::tty::Ctty::Console),
            personality: 0,
            keys: Default::default(),
            membarrier: 0,
            fs_share: 1,
            sighand_share: 1,
            ptrace: None,
            tracees: Default::default(),
            ns: Default::default(),
        }
    }

    /// The signal state as thread `tid` sees it (its mask, its own pending signals): the
    /// thread's part is swapped in if another thread's was there.
    pub fn sig_of(&mut self, tid: i32) -> &mut crate::signal::SigState {
        if tid != self.sig_thread {
            if let Some(t) = self.threads.get_mut(&tid) {
                let mut parked = std::mem::take(&mut t.sig);
                self.sig.swap_thread(&mut parked);
                if let Some(prev) = self.threads.get_mut(&self.sig_thread) {
                    prev.sig = parked;
                }
                self.sig_thread = tid;
            }
        }
        &mut self.sig
    }

    /// Whether some thread would take a process-directed `signo` now.
    pub fn accepts_signal(&self, signo: i32) -> bool {
        self.sig.accepts(signo)
            || self
                .threads
                .iter()
                .any(|(&tid, t)| tid != self.sig_thread && t.sig.accepts(signo))
    }

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

    /// The name a new program gets: the last component of its path, cut to 15 bytes.
    pub fn comm_of(path: &[u8]) -> Vec<u8> {
        let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        base[..base.len().min(15)].to_vec()
    }

    /// The soft limit on open descriptors.
    pub fn nofile(&self) -> u64 {
        self.rlimits[abi::flags::rlimit::NOFILE as usize].cur
    }
}

/// How a process ended, as `wait` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by a signal; `true` if it dumped core.
    Signaled(i32, bool),
}

impl ExitStatus {
    /// The `wait` status word.
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => (code & 0xff) << 8,
            ExitStatus::Signaled(sig, core) => sig | if core { 0x80 } else { 0 },
        }
    }
}

/// A process's run state as its parent's `wait` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    /// Runnable or blocked in a syscall.
    Running,
    /// Stopped by this signal; `reported` once a `wait` has seen it.
    Stopped {
        /// The stop signal.
        sig: i32,
        /// Whether a `WSTOPPED` wait has consumed the event.
        reported: bool,
    },
    /// Continued by `SIGCONT` and not yet reported to a `WCONTINUED` wait.
    Continued,
    /// Ended, waiting for its parent to reap it.
    Zombie(ExitStatus),
}

/// Every guest process, by pid. The process running a syscall is taken out of the table for
/// the duration of the call (it is `Ctx::proc`), so the table holds the *other* processes.
#[derive(Default)]
pub struct ProcessTable {
    /// Boxed, so that taking a process out for a syscall and putting it back moves a
    /// pointer, not the whole structure.
    procs: std::collections::BTreeMap<i32, Box<Process>>,
    /// The last pid or tid given (`/proc/sys/kernel/ns_last_pid`).
    pub last_pid: i32,
    /// The last id given to a group of processes sharing a context ([`Process::fs_share`]).
    last_share: u64,
    /// Most processes (`--pids`); 0 for no limit.
    pub max_pids: usize,
    /// The console's foreground process group (`TIOCGPGRP`/`TIOCSPGRP`; Ctrl-C goes here).
    pub console_pgrp: i32,
    /// Every advisory file lock (`fcntl` record locks, `flock`).
    pub locks: crate::fs::locks::LockTable,
    /// Every file lease (`F_SETLEASE`).
    pub leases: crate::fs::lease::LeaseTable,
    /// The owners and signals of open files (`F_SETOWN`, `F_SETSIG`).
    pub fown: crate::fs::fown::FownTable,
    /// The instance's `/proc/sys` values (host name, `pid_max`, ...).
    pub sysctl: crate::procfs::Sysctl,
    /// The instance's SysV IPC objects and POSIX message queues (its IPC namespace).
    pub ipc: crate::ipc::Ipc,
    /// The instance's keys and keyrings.
    pub keys: crate::keys::Keys,
    /// The process accounting file (`acct`), while accounting is on.
    pub acct: Option<vfs::FileRef>,
    /// The swap areas (`swapon`).
    pub swaps: crate::swap::Swaps,
    /// The userfaultfd contexts alive.
    pub userfaultfds: crate::userfaultfd::Registry,
    /// The `wait` status of each process that ended, until its pid is given out again
    /// (what `PIDFD_GET_INFO` reports of a reaped process).
    pub exit_codes: std::collections::BTreeMap<i32, i32>,
    /// The instance's network (its loopback TCP and UDP sockets).
    pub net: net::NetService,
    /// The namespaces made at run time.
    pub ns: crate::ns::Namespaces,
}

impl ProcessTable {
    /// An empty table admitting at most `max_pids` processes (0: unlimited).
    pub fn new(max_pids: usize) -> ProcessTable {
        ProcessTable {
            procs: Default::default(),
            last_pid: 0,
            last_share: 1,
            max_pids,
            console_pgrp: 1,
            locks: Default::default(),
            leases: Default::default(),
            fown: Default::default(),
            sysctl: Default::default(),
            ipc: Default::default(),
            keys: Default::default(),
            acct: None,
            swaps: Default::default(),
            userfaultfds: Default::default(),
            exit_codes: Default::default(),
            net: Default::default(),
            ns: Default::default(),
        }
    }

    /// Number of processes, including zombies and one taken out for a syscall (`extra`).
    pub fn count(&self, extra: usize) -> usize {
        self.procs.len() + extra
    }

    /// A new id for a group of processes sharing a context (never reused, unlike pids;
    /// the first process has 1).
    pub fn new_share_id(&mut self) -> u64 {
        self.last_share += 1;
        self.last_share
    }

    /// A free pid or tid: the next after the last one given, wrapping at `pid_max`
    /// (`/proc/sys/kernel/pid_max`), that is neither a process nor a thread in the table
    /// nor `in_use` (the caller's).
    pub fn alloc_pid(&mut self, in_use: impl Fn(i32) -> bool) -> Option<i32> {
        let pid_max = self.sysctl.pid_max;
        for _ in 0..pid_max {
            self.last_pid = if self.last_pid >= pid_max - 1 {
                2
            } else {
                self.last_pid + 1
            };
            let id = self.last_pid;
            if !self.procs.contains_key(&id)
                && !in_use(id)
                && !self.procs.values().any(|p| p.threads.contains_key(&id))
            {
                self.exit_codes.remove(&id);
                crate::ns::pid::forget(&mut self.ns, id);
                return Some(id);
            }
        }
        None
    }

    /// Gives out pid `id`, free (`clone3`'s `set_tid`), as the last one.
    pub fn claim_pid(&mut self, id: i32) {
        self.last_pid = id;
        self.exit_codes.remove(&id);
        crate::ns::pid::forget(&mut self.ns, id);
    }

    /// The process (thread group) that thread `tid` belongs to.
    pub fn tgid_of(&self, tid: i32) -> Option<i32> {
        if self
            .procs
            .get(&tid)
            .is_some_and(|p| p.threads.contains_key(&tid))
        {
            return Some(tid);
        }
        self.procs
            .values()
            .find(|p| p.threads.contains_key(&tid))
            .map(|p| p.pid)
    }

    /// Adds a process.
    pub fn insert(&mut self, p: Box<Process>) {
        self.procs.insert(p.pid, p);
    }

    /// Takes a process out (to run a syscall of it, or to reap it).
    pub fn take(&mut self, pid: i32) -> Option<Box<Process>> {
        self.procs.remove(&pid)
    }

    /// The process with this pid.
    pub fn get(&self, pid: i32) -> Option<&Process> {
        self.procs.get(&pid).map(|p| &**p)
    }

    /// The process with this pid, writable.
    pub fn get_mut(&mut self, pid: i32) -> Option<&mut Process> {
        self.procs.get_mut(&pid).map(|p| &mut **p)
    }

    /// All processes in the table.
    pub fn iter(&self) -> impl Iterator<Item = &Process> {
        self.procs.values().map(|p| &**p)
    }

    /// Brings the UTS and IPC namespaces of `set` into the table (their names in
    /// `sysctl`, their objects in `ipc`), parking those there before.
    pub fn enter_ns(&mut self, set: &crate::ns::NsSet) {
        use crate::ns::{Data, Ns};
        let ns = &mut self.ns;
        if set.uts != ns.uts_in_table {
            let s = &mut self.sysctl;
            let here = (
                std::mem::take(&mut s.hostname),
                std::mem::take(&mut s.domainname),
            );
            if let Some(Ns {
                data: Data::Uts(h, d),
                ..
            }) = ns.get_mut(set.uts)
            {
                (s.hostname, s.domainname) = (std::mem::take(h), std::mem::take(d));
            }
            match ns.get_mut(ns.uts_in_table) {
                Some(Ns { data, .. }) => *data = Data::Uts(here.0, here.1),
                None => ns.initial_uts = here,
            }
            if set.uts == 0 {
                (s.hostname, s.domainname) = std::mem::take(&mut ns.initial_uts);
            }
            ns.uts_in_table = set.uts;
        }
        if set.ipc != ns.ipc_in_table {
            let here = Box::new(std::mem::take(&mut self.ipc));
            if let Some(Ns {
                data: Data::Ipc(i), ..
            }) = ns.get_mut(set.ipc)
            {
                self.ipc = std::mem::take(&mut **i);
            }
            match ns.get_mut(ns.ipc_in_table) {
                Some(Ns { data, .. }) => *data = Data::Ipc(here),
                None => ns.initial_ipc = Some(here),
            }
            if set.ipc == 0 {
                self.ipc = ns.initial_ipc.take().map(|b| *b).unwrap_or_default();
            }
            ns.ipc_in_table = set.ipc;
        }
    }

    /// All processes in the table, writable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Process> {
        self.procs.values_mut().map(|p| &mut **p)
    }
}
