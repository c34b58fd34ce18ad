//! The process side of `/proc`: [`ProcView`] answers procfs's questions
//! ([`vfs::ProcSource`]) from the process table as the calling process sees it, and
//! generates the files about processes ([`pid`], [`maps`]) and about the system
//! ([`system`]). Values are the guest's own: guest pids, guest memory, guest paths; nothing
//! of the host's processes or of the uml kernel.

mod maps;
pub(crate) mod mem;
mod pid;
pub(crate) mod sys;
mod system;

pub use sys::Sysctl;

use abi::Errno;
use mm::MmService;
use vfs::{Dentry, FileRef, ProcFile, ProcSource, Vfs};

use crate::process::{ProcState, Process, ProcessTable};
use crate::{Ctx, SchedView};

/// The processes as one caller sees them: itself (taken out of the table for its call)
/// and the table. Without `mm`, files about memory cannot be generated (`ENOENT`): that
/// view only walks paths (`execve`, whose loader holds the memory manager).
pub(crate) struct ProcView<'a> {
    caller: &'a Process,
    table: &'a ProcessTable,
    mm: Option<&'a MmService>,
    /// Who is blocked; without it every other process shows as sleeping.
    sched: Option<&'a dyn SchedView>,
}

impl<'a> ProcView<'a> {
    /// The view of `caller`.
    pub fn new(caller: &'a Process, table: &'a ProcessTable, mm: Option<&'a MmService>) -> Self {
        ProcView {
            caller,
            table,
            mm,
            sched: None,
        }
    }

    /// The view, with the scheduler's say of who is blocked.
    pub fn with_sched(self, sched: &'a dyn SchedView) -> Self {
        ProcView {
            sched: Some(sched),
            ..self
        }
    }

    /// Whether thread `tid` waits: `Some(true)` interruptibly (`S`), `Some(false)` not
    /// (`D`), `None` when it runs or may run (`R`; without a scheduler view: `S`).
    pub fn blocked(&self, tid: i32) -> Option<bool> {
        self.sched.map_or(Some(true), |s| s.blocked(tid))
    }

    /// The namespaces made at run time.
    pub fn namespaces(&self) -> &'a crate::ns::Namespaces {
        &self.table.ns
    }

    /// The process with `pid`, the caller included; a thread's id names its process
    /// (as `/proc/TID` does on Linux, though only leaders are listed).
    fn get(&self, pid: i32) -> Option<&'a Process> {
        let has = |p: &Process| p.pid == pid || p.threads.contains_key(&pid);
        if has(self.caller) {
            return Some(self.caller);
        }
        self.table
            .get(pid)
            .or_else(|| self.table.iter().find(|p| has(p)))
    }

    /// A live process (not a zombie) with `pid`.
    fn live(&self, pid: i32) -> Option<&'a Process> {
        self.get(pid)
            .filter(|p| !matches!(p.state, ProcState::Zombie(_)))
    }
}

impl ProcSource for ProcView<'_> {
    fn caller(&self) -> Option<(i32, i32)> {
        Some((self.caller.pid, self.caller.sig_thread))
    }

    fn pids(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self.table.iter().map(|p| p.pid).collect();
        v.push(self.caller.pid);
        v.sort_unstable();
        v
    }

    fn owner(&self, pid: i32) -> Option<(u32, u32)> {
        self.get(pid).map(|p| (p.cred.euid, p.cred.egid))
    }

    fn tasks(&self, pid: i32) -> Vec<i32> {
        let Some(p) = self.get(pid).filter(|p| p.pid == pid) else {
            return Vec::new();
        };
        let mut tids: Vec<i32> = p.threads.keys().copied().collect();
        if tids.is_empty() {
            tids.push(p.pid);
        }
        tids.sort_unstable();
        tids
    }

    fn cwd(&self, pid: i32) -> Option<Dentry> {
        self.live(pid).map(|p| p.cwd.clone())
    }

    fn ns(&self, pid: i32, name: &[u8]) -> Option<vfs::Arc<vfs::NsFile>> {
        vfs::NsFile::new(name, self.get(pid)?.ns.by_link(name))
    }

    fn exe(&self, pid: i32) -> Option<Dentry> {
        self.live(pid).map(|p| p.exe.file.clone())
    }

    fn fds(&self, pid: i32) -> Vec<i32> {
        self.live(pid)
            .map(|p| p.fds.fds().collect())
            .unwrap_or_default()
    }

    fn fd(&self, pid: i32, fd: i32) -> Option<(FileRef, bool)> {
        let e = self.live(pid)?.fds.entry(fd).ok()?;
        Some((e.file.clone(), e.cloexec))
    }

    /// `pagemap` shows frame numbers to `CAP_SYS_ADMIN` only, as Linux's.
    fn entries(&self, pid: i32, file: ProcFile) -> Result<(u64, Vec<(u64, u64)>), Errno> {
        let view = self.mm.ok_or(Errno::ENOENT)?.view();
        if file == ProcFile::Kpageflags {
            return Ok(view.kpageflags());
        }
        let p = self.get(pid).ok_or(Errno::ESRCH)?;
        let show_pfn = self.caller.cred.caps.has(crate::caps::CAP_SYS_ADMIN);
        let pages = mm::layout::TASK_SIZE / mm::PAGE_SIZE;
        Ok((pages, view.pagemap(p.mm, show_pfn)))
    }

    fn contents(&self, vfs: &Vfs, pid: i32, file: ProcFile) -> Result<Vec<u8>, Errno> {
        let view = self.mm.ok_or(Errno::ENOENT)?.view();
        let mm = &*view;
        if let ProcFile::Sysctl("fs/aio-nr") = file {
            let events: u64 = self
                .pids()
                .into_iter()
                .filter_map(|p| self.live(p))
                .map(|p| p.aio.events())
                .sum();
            return Ok(format!("{events}\n").into_bytes());
        }
        if let ProcFile::Sysctl("kernel/ns_last_pid") = file {
            let ns = &self.table.ns;
            let last = crate::ns::pid::last_pid(ns, self.caller.ns.pid_for_children);
            return Ok(format!("{}\n", last.unwrap_or(self.table.last_pid)).into_bytes());
        }
        if let ProcFile::Sysctl(path) = file {
            return Ok(self.table.sysctl.read(path, mm.stats().total_bytes));
        }
        if let ProcFile::Net(which) = file {
            let f = net::ProcNet::ALL.iter().find(|(n, _)| *n == which);
            return f
                .map(|(_, f)| f.text(&self.table.net).into_bytes())
                .ok_or(Errno::ENOENT);
        }
        if let ProcFile::Sysvipc(which) = file {
            let spaces = self
                .pids()
                .into_iter()
                .filter_map(|p| self.live(p))
                .map(|p| p.mm);
            let attaches = crate::ipc::shm::count_attaches(mm, spaces);
            return Ok(crate::ipc::proc_file(&self.table.ipc, which, &attaches));
        }
        match file {
            ProcFile::Swaps => return Ok(self.table.swaps.proc_swaps(vfs)),
            ProcFile::Keys => return Ok(crate::keys::proc_keys(&self.table.keys, self.caller)),
            ProcFile::KeyUsers => {
                let sysctl = &self.table.sysctl;
                return Ok(crate::keys::proc_key_users(&self.table.keys, sysctl));
            }
            _ => {}
        }
        if pid == 0 {
            return Ok(system::contents(self, mm, file));
        }
        let p = self.get(pid).ok_or(Errno::ESRCH)?;
        // Another process's timer slack is for CAP_SYS_NICE only.
        let nice_cap = self.caller.cred.caps.has(crate::caps::CAP_SYS_NICE);
        if file == ProcFile::TimerslackNs && p.pid != self.caller.pid && !nice_cap {
            return Err(Errno::EPERM);
        }
        Ok(match file {
            ProcFile::Maps => maps::maps(vfs, mm, p),
            ProcFile::Smaps => maps::smaps(vfs, mm, p),
            _ => pid::contents(self, mm, p, pid, file),
        })
    }
}

impl ProcSource for Ctx<'_> {
    fn caller(&self) -> Option<(i32, i32)> {
        self.procs_view().caller()
    }
    fn pids(&self) -> Vec<i32> {
        self.procs_view().pids()
    }
    fn owner(&self, pid: i32) -> Option<(u32, u32)> {
        self.procs_view().owner(pid)
    }
    fn tasks(&self, pid: i32) -> Vec<i32> {
        self.procs_view().tasks(pid)
    }
    fn cwd(&self, pid: i32) -> Option<Dentry> {
        self.procs_view().cwd(pid)
    }
    fn exe(&self, pid: i32) -> Option<Dentry> {
        self.procs_view().exe(pid)
    }
    fn fds(&self, pid: i32) -> Vec<i32> {
        self.procs_view().fds(pid)
    }
    fn fd(&self, pid: i32, fd: i32) -> Option<(FileRef, bool)> {
        self.procs_view().fd(pid, fd)
    }
    fn contents(&self, vfs: &Vfs, pid: i32, file: ProcFile) -> Result<Vec<u8>, Errno> {
        self.procs_view().contents(vfs, pid, file)
    }
    fn entries(&self, pid: i32, file: ProcFile) -> Result<(u64, Vec<(u64, u64)>), Errno> {
        self.procs_view().entries(pid, file)
    }
    fn ns(&self, pid: i32, name: &[u8]) -> Option<vfs::Arc<vfs::NsFile>> {
        self.procs_view().ns(pid, name)
    }
}

impl<'c> Ctx<'c> {
    /// The processes as the caller sees them.
    pub(crate) fn procs_view(&self) -> ProcView<'_> {
        ProcView::new(self.proc, self.procs, Some(&*self.mm)).with_sched(self.sched)
    }

    /// A path call's start `dir`, walked by the caller (its `/proc`, its filesystem ids).
    pub(crate) fn at<'b>(&'b self, dir: &'b Dentry) -> vfs::At<'b> {
        vfs::At::new(dir, self, self.proc.fs_cred()).rooted(self.proc.root.as_ref())
    }
}

/// Whether writes to `file` are the syscall layer's: `/proc/PID/comm`,
/// `/proc/PID/timerslack_ns`, `/proc/PID/timens_offsets` and the `/proc/sys` files.
pub(crate) fn writes_here(file: &FileRef) -> bool {
    file.proc_pid_writable().is_some() || file.proc_sysctl().is_some()
}

/// How many bytes of a write to such a file Linux looks at (the rest is accepted unread).
pub(crate) fn write_limit(file: &FileRef) -> usize {
    match file.proc_pid_writable() {
        Some((ProcFile::Comm, _)) => 15,
        Some((ProcFile::TimensOffsets, _)) => 4096,
        // kstrtoull_from_user's buffer.
        Some(_) => 23,
        None => 4096,
    }
}

/// A write of `len` bytes, whose first ones are `data` (at most [`write_limit`]), to a
/// file whose writes are the syscall layer's ([`writes_here`]).
pub(crate) fn write(ctx: &mut Ctx<'_>, file: &FileRef, data: &[u8], len: u64) -> abi::SysResult {
    match (file.proc_pid_writable(), file.proc_sysctl()) {
        (Some((ProcFile::Comm, pid)), _) => write_comm(ctx, pid, data),
        (Some((ProcFile::TimensOffsets, pid)), _) => crate::ns::time::write_offsets(ctx, pid, data),
        (Some((_, tid)), _) => write_timerslack(ctx, tid, data),
        (None, Some(path)) => sys::write(ctx, path, data),
        (None, None) => return Err(Errno::EINVAL),
    }?;
    Ok(len)
}

/// A write to `/proc/PID/comm`: as Linux, the first 15 bytes become the process's name (up
/// to a NUL; a newline stays part of it); only the process itself may rename itself
/// (`EINVAL` for another).
fn write_comm(ctx: &mut Ctx<'_>, pid: i32, data: &[u8]) -> Result<(), Errno> {
    if pid != ctx.proc.pid {
        return Err(Errno::EINVAL);
    }
    let mut name = data[..data.len().min(15)].to_vec();
    if let Some(nul) = name.iter().position(|&b| b == 0) {
        name.truncate(nul);
    }
    ctx.proc.comm = name;
    Ok(())
}

/// A write to `/proc/TID/timerslack_ns`: a decimal number (`kstrtoull`: `EINVAL`,
/// `ERANGE`) becomes thread `tid`'s timer slack, 0 its default; none for a real-time or
/// deadline thread. Another thread's needs `CAP_SYS_NICE` (`EPERM`).
fn write_timerslack(ctx: &mut Ctx<'_>, tid: i32, data: &[u8]) -> Result<(), Errno> {
    let slack = parse_ull(data)?;
    if tid != ctx.tid && !ctx.proc.cred.caps.has(crate::caps::CAP_SYS_NICE) {
        return Err(Errno::EPERM);
    }
    let pid = if ctx.proc.threads.contains_key(&tid) {
        ctx.proc.pid
    } else {
        ctx.procs.tgid_of(tid).ok_or(Errno::ESRCH)?
    };
    let t = ctx.process_mut(pid)?.threads.get_mut(&tid);
    let s = &mut t.ok_or(Errno::ESRCH)?.sched;
    s.timer_slack_ns = match slack {
        _ if s.rt_or_dl() => 0,
        0 => s.default_timer_slack_ns,
        v => v,
    };
    Ok(())
}

/// Linux's `kstrtoull` in base 10: an optional `+`, digits, an optional newline; `EINVAL`
/// for anything else, `ERANGE` past 64 bits.
fn parse_ull(buf: &[u8]) -> Result<u64, Errno> {
    let text = buf.strip_suffix(b"\n").unwrap_or(buf);
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Errno::EINVAL);
    }
    digits.iter().try_fold(0u64, |v, &d| {
        v.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(Errno::ERANGE)
    })
}

/// Formats `kb` kilobytes right-aligned as `/proc` does (`%8lu kB`).
fn kb(bytes: u64) -> String {
    format!("{:8} kB", bytes / 1024)
}
