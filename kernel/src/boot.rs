//! Booting: physical memory, the file system, the runner, and the first process.

use std::ffi::OsString;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use abi::Errno;
use mm::{Mm, MmService};
use runner::{Runner, RunnerError};
use sched::{SchedMsg, Scheduler, TaskId};
use syscall::exec::{self, ElfError, ExecError};
use syscall::fdtable::FdTable;
use syscall::{Cred, Process, ProcessTable};
use vfs::{Vfs, VfsConfig, VfsService};

use crate::{trace::Tracer, Config, Kernel, Task};

/// The first guest thread.
pub const INIT_TASK: TaskId = TaskId(1);

/// `PATH` when the environment has none (Linux's login default).
const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why the first program could not be started: a one-line message and the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StartError {
    /// What the user reads after `uml: `.
    pub message: String,
    /// The exit code (127: not found, 126: cannot execute, 1: host failure).
    pub code: i32,
}

impl StartError {
    pub(crate) fn host(what: &str, e: impl std::fmt::Display) -> StartError {
        StartError {
            message: format!("{what}: {e}"),
            code: 1,
        }
    }
}

fn describe(e: Errno) -> String {
    e.description().to_lowercase()
}

/// The guest's environment: the host's, with `-e` overrides applied.
fn environment(cfg: &Config) -> Vec<(OsString, OsString)> {
    let host: Vec<(Vec<u8>, Vec<u8>)> = nondet::input("host environment", || {
        std::env::vars_os()
            .map(|(k, v)| (k.into_vec(), v.into_vec()))
            .collect()
    });
    let mut env: Vec<(OsString, OsString)> = host
        .into_iter()
        .map(|(k, v)| (OsString::from_vec(k), OsString::from_vec(v)))
        .collect();
    for (k, v) in &cfg.env {
        match env.iter_mut().find(|(ek, _)| ek == k) {
            Some(slot) => slot.1 = v.clone(),
            None => env.push((k.clone(), v.clone())),
        }
    }
    env
}

/// Boots `cfg` with the runner `new_runner` makes over physical memory.
pub(crate) fn boot(
    cfg: &Config,
    new_runner: impl FnOnce(BorrowedFd<'_>) -> Result<Box<dyn Runner>, RunnerError> + Send + 'static,
    mut recorder: Option<crate::record::Recorder>,
) -> Result<Kernel, StartError> {
    // First, before any other thread exists: host signals are taken by one thread.
    let host =
        crate::host::HostSignals::start().map_err(|e| StartError::host("host signals", e))?;
    // The clock the guest's uptime counts from starts now.
    syscall::time::since_boot();
    let mut mm = Mm::new(cfg.mem_bytes).map_err(|e| StartError::host("physical memory", e))?;
    mm.set_backend(cfg.mm.backend());
    let mut mm = match cfg.deploy {
        sched::Deploy::Loop => MmService::new(mm),
        sched::Deploy::Threads => {
            MmService::on_thread(mm).map_err(|e| StartError::host("mm thread", e))?
        }
    };
    if recorder.is_some() {
        // From the first space on: a replay of mm starts from an empty one.
        mm.record();
    }
    if let Some(c) = recorder.as_mut().and_then(|r| r.checker()) {
        mm.replay_reads(c.mm_entries());
    }
    // Who the guest starts as: root unless `--user` says otherwise (uml's root; what
    // reaches the host is still done, and checked, as the user who runs uml).
    let user = crate::user::resolve(cfg.user.as_deref(), &cfg.root)?;
    let (uid, gid) = (user.uid, user.gid);
    let vfs = Vfs::new(VfsConfig {
        root: cfg.root.clone(),
        rw: cfg.rw,
        uid,
        gid,
        binds: cfg.binds.clone(),
    })
    .map_err(|e| match e {
        // A bad -v is the user's mistake, reported as the CLI's own errors are.
        vfs::VfsError::Bind { .. } => StartError {
            message: e.to_string(),
            code: 2,
        },
        e => StartError::host(&format!("root {}", cfg.root.display()), e),
    })?;
    let mut vfs = match cfg.deploy {
        sched::Deploy::Loop => VfsService::new(vfs),
        sched::Deploy::Threads => {
            VfsService::on_thread(vfs).map_err(|e| StartError::host("vfs thread", e))?
        }
    };
    if recorder.is_some() {
        // From boot on: the lookups that find the program are messages too.
        vfs.record();
    }
    let mut runner = match cfg.deploy {
        sched::Deploy::Loop => new_runner(mm.view().phys_fd()),
        sched::Deploy::Threads => {
            runner::threaded::OnThread::start(mm.view().phys_fd(), new_runner)
                .map(|r| Box::new(r) as Box<dyn Runner>)
        }
    }
    .map_err(|e| StartError::host("runner", e))?;
    if recorder.is_some() {
        runner = Box::new(runner::recording::Recording::new(runner));
    }

    let root = vfs.root();
    let cwd = match &cfg.workdir {
        Some(dir) => vfs
            .lookup(&root, dir.as_os_str().as_bytes(), true)
            .map_err(|e| StartError {
                message: format!("working directory {}: {}", dir.display(), describe(e)),
                code: 1,
            })?,
        // By default the guest starts where the user is, when that exists in its root.
        None => nondet::input("host working directory", || {
            std::env::current_dir()
                .ok()
                .map(|d| d.into_os_string().into_vec())
        })
        .filter(|_| cfg.root == std::path::Path::new("/"))
        .and_then(|d| vfs.lookup(&root, &d, true).ok())
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| root.clone()),
    };

    let env = environment(cfg);
    let path_var = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map_or(DEFAULT_PATH.to_vec(), |(_, v)| v.as_bytes().to_vec());
    let Some(cmd) = cfg.argv.first() else {
        return Err(StartError {
            message: "no command given".into(),
            code: 2,
        });
    };
    let cmd = cmd.as_bytes();
    let shown = String::from_utf8_lossy(cmd).into_owned();
    let path = exec::find_command(&vfs, &cwd, cmd, &path_var).map_err(|e| StartError {
        message: if cmd.contains(&b'/') {
            format!("{shown}: {}", describe(e))
        } else {
            format!("{shown}: command not found")
        },
        code: if e == Errno::EACCES { 126 } else { 127 },
    })?;
    let argv: Vec<Vec<u8>> = cfg.argv.iter().map(|a| a.as_bytes().to_vec()).collect();
    let envp: Vec<Vec<u8>> = env
        .into_iter()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            kv
        })
        .collect();
    let cred = Cred::of(uid, gid);
    let groups = user.groups;
    let loaded = exec::load(&mut mm, &vfs, &cwd, &path, &argv, &envp, cred, true).map_err(|e| {
        let code = match &e {
            ExecError::Open(Errno::ENOENT) | ExecError::Open(Errno::ENOTDIR) => 127,
            ExecError::Load(_) => 1,
            _ => 126,
        };
        let why = match &e {
            ExecError::Open(e) => describe(*e),
            ExecError::Elf(ElfError::NotElf) => "cannot execute: not an ELF executable".into(),
            other => other.to_string(),
        };
        StartError {
            message: format!("{shown}: {why}"),
            code,
        }
    })?;

    let mut fds = FdTable::new();
    for fd in 0..3 {
        if let Ok(file) = vfs.stdio(fd) {
            fds.install_at(fd, file, false, syscall::fdtable::NR_OPEN_DEFAULT)
                .map_err(|e| StartError::host("stdio", e))?;
        }
    }
    let (regs, proc_mm) = (loaded.regs, loaded.mm);
    let mut proc = Process::first(loaded, &path, fds, cwd, groups);
    // The first process has uml's own nice value, as a child has its parent's.
    let nice = host_nice();
    if let Some(t) = proc.threads.get_mut(&1) {
        t.sched.nice = nice;
    }
    let sched = sched::SchedService::new(Scheduler::new(cfg.sched), cfg.deploy)
        .map_err(|e| StartError::host("scheduler thread", e))?;
    if cfg.net_host && !cfg.publish.is_empty() {
        return Err(StartError {
            message: "-p publishes ports of the instance's own network: not with --net host".into(),
            code: 1,
        });
    }
    let ports = crate::publish::Ports::listen(&cfg.publish)
        .map_err(|e| StartError::host("published port", e))?;
    let mut procs = ProcessTable::new(cfg.max_pids);
    if cfg.net_host {
        procs.net = net::NetService::host();
    }
    procs.insert(Box::new(proc));
    let mut tasks = rustc_hash::FxHashMap::default();
    tasks.insert(INIT_TASK, Task::new(regs, 1));
    let mut mm_users = std::collections::HashMap::new();
    mm_users.insert(proc_mm, 1);
    let mut k = Kernel {
        mm,
        vfs,
        runner,
        sched,
        clock: syscall::time::clock(),
        procs,
        tasks,
        mm_users,
        host,
        host_watch: Default::default(),
        ports,
        trace: Tracer::new(cfg.trace),
        recorder,
    };
    if nice != 0 {
        k.sched_call(SchedMsg::SetNice(INIT_TASK, nice));
    }
    k.sched_call(SchedMsg::Wake(INIT_TASK));
    Ok(k)
}

/// uml's own nice value (field 19 of `/proc/self/stat`; 0 if unreadable).
fn host_nice() -> i32 {
    let stat = nondet::input("host nice", || {
        std::fs::read_to_string("/proc/self/stat").unwrap_or_default()
    });
    // Fields after the command name (which may hold spaces) start at field 3.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(19 - 3))
        .and_then(|n| n.parse().ok())
        .map_or(0, |n: i32| n.clamp(-20, 19))
}
