//! What a syscall handler works on: the calling process, its memory and the file system.

use std::io::{IoSlice, IoSliceMut};

use abi::{Errno, UserAddr};
use bytemuck::Pod;
use mm::MmService;
use vfs::{Dentry, FileRef, VfsService, WaitSet};

use std::time::Instant;

use crate::process::{Process, ProcessTable};
use std::collections::HashMap;

use crate::{Block, Effects, HostWait, OnSignal, QueueOp, RestartBlock, WaitKey, Waiter};

/// End of x86-64 user space as Linux's `access_ok` sees it (`TASK_SIZE_MAX`).
const USER_SPACE_END: u64 = 0x7fff_ffff_f000;

/// The world as one syscall handler sees it. Handlers get `&mut Ctx` and the raw
/// [`Args`](crate::Args); every guest pointer goes through the copy helpers here, which
/// fault pages in and return `EFAULT` for bad addresses.
pub struct Ctx<'a> {
    /// Physical memory and address spaces.
    pub mm: &'a mut MmService,
    /// The file system.
    pub vfs: &'a VfsService,
    /// The calling process.
    pub proc: &'a mut Process,
    /// The calling thread's id (a key of `proc.threads`; `proc.sig` holds its signal state).
    pub tid: i32,
    /// Every other process.
    pub procs: &'a mut ProcessTable,
    /// The calling thread's registers (rax is replaced by the return value afterwards).
    pub regs: &'a mut abi::structs::UserRegs,
    /// The scheduler's read-only views: the tasks blocked on a key (as they were when the
    /// call began; [`Ctx::queue`] adds the call's own changes), whether a task is blocked.
    pub sched: &'a dyn SchedView,
    /// State kept across restarts of a blocked call.
    pub restart: &'a mut RestartBlock,
    /// What the call is to wait for, if it blocks ([`Ctx::block_on`]); handed back by
    /// [`dispatch`](crate::dispatch) as [`Outcome::Block`](crate::Outcome::Block).
    block: Option<Block>,
    /// More keys that also wake the task if it blocks ([`Ctx::also_block_on`]).
    block_also: Vec<WaitKey>,
    /// What the call did besides its value; handed back by [`dispatch`](crate::dispatch).
    pub(crate) effects: Effects,
    /// The wait queues the call looked at, with its own [`QueueOp`]s applied.
    queues: HashMap<WaitKey, Vec<Waiter>>,
    /// The futex bitset of the wait, if the call blocks.
    bitset: u32,
}

/// What handlers may ask the scheduler without a message: views of its state.
pub trait SchedView {
    /// The tasks blocked on `key`, first blocked first, with their futex bitsets.
    fn queue(&self, key: WaitKey) -> Vec<Waiter>;
    /// Whether guest thread `tid` is blocked: `Some(true)` interruptibly, `Some(false)` in
    /// a wait only its event ends, `None` if it is runnable or running.
    fn blocked(&self, tid: i32) -> Option<bool>;
}

impl SchedView for sched::SchedService {
    fn queue(&self, key: WaitKey) -> Vec<Waiter> {
        sched::SchedService::queue(self, key)
    }
    fn blocked(&self, tid: i32) -> Option<bool> {
        sched::SchedService::blocked(self, sched::TaskId(tid as u32))
    }
}

/// The wait queues alone (handler tests): nobody is blocked.
impl<F: Fn(WaitKey) -> Vec<Waiter>> SchedView for F {
    fn queue(&self, key: WaitKey) -> Vec<Waiter> {
        self(key)
    }
    fn blocked(&self, _tid: i32) -> Option<bool> {
        None
    }
}

impl<'a> Ctx<'a> {
    /// A context for one syscall of `proc`'s thread `proc.sig_thread` (made the caller with
    /// [`Process::sig_of`], so that `proc.sig` is its signal state).
    pub fn new(
        mm: &'a mut MmService,
        vfs: &'a VfsService,
        proc: &'a mut Process,
        procs: &'a mut ProcessTable,
        regs: &'a mut abi::structs::UserRegs,
        restart: &'a mut RestartBlock,
        sched: &'a dyn SchedView,
    ) -> Ctx<'a> {
        Ctx {
            mm,
            vfs,
            tid: proc.sig_thread,
            proc,
            procs,
            regs,
            sched,
            restart,
            block: None,
            block_also: Vec::new(),
            effects: Effects::default(),
            queues: HashMap::new(),
            bitset: sched::MATCH_ANY,
        }
    }
}

impl Ctx<'_> {
    /// Process `pid`: the caller (which is not in `procs` while it runs) or another.
    pub fn process(&self, pid: i32) -> Result<&Process, Errno> {
        if pid == self.proc.pid {
            return Ok(self.proc);
        }
        self.procs.get(pid).ok_or(Errno::ESRCH)
    }

    /// [`Ctx::process`], to change it.
    pub fn process_mut(&mut self, pid: i32) -> Result<&mut Process, Errno> {
        if pid == self.proc.pid {
            return Ok(self.proc);
        }
        self.procs.get_mut(pid).ok_or(Errno::ESRCH)
    }

    /// The calling thread's own state.
    pub fn thread(&mut self) -> &mut crate::process::Thread {
        self.proc.threads.entry(self.tid).or_default()
    }

    /// Parks the calling task until `key` is woken, then restarts the syscall. Returns the
    /// error the handler returns meanwhile (it is never seen by the guest).
    pub fn block_on(&mut self, key: WaitKey) -> Errno {
        self.block = Some(Block {
            keys: vec![key],
            deadline: None,
            bitset: self.bitset,
        });
        self.restart.waited = true;
        Errno::EAGAIN
    }

    /// Whether the call is to block ([`Ctx::block_on`] was called).
    pub fn blocks(&self) -> bool {
        self.block.is_some()
    }

    /// The wait the call asked for, if any, with the keys that also end it (taken by
    /// [`dispatch`](crate::dispatch)). The first key is the main one (traces show it).
    pub(crate) fn take_block(&mut self) -> Option<Block> {
        let mut block = self.block.take()?;
        block.keys.append(&mut self.block_also);
        Some(block)
    }

    /// What the call did besides its value (taken by [`dispatch`](crate::dispatch)).
    pub(crate) fn take_effects(&mut self) -> Effects {
        std::mem::take(&mut self.effects)
    }

    /// Arms timer `timer` of process `pid` (`ITIMER_REAL`, a POSIX timer) to expire at `at`
    /// (the kernel's scheduler fires it; [`crate::timers::alarm_due`]).
    pub fn arm_timer(&mut self, pid: i32, timer: sched::AlarmTimer, at: sched::Ktime) {
        self.effects.alarms.push((pid, timer, at));
    }

    /// Takes a pending signal of `set` of the calling thread, blocked or not
    /// (`rt_sigtimedwait`, a signalfd read), as Linux's `dequeue_signal`: a stale timer
    /// signal is dropped, a periodic timer's is re-armed.
    pub fn dequeue_signal_from(
        &mut self,
        set: abi::signal::SigSet,
    ) -> Option<crate::signal::SigInfo> {
        loop {
            let mut info = self.proc.sig.dequeue_from(set)?;
            let now = crate::time::ktime(nondet::ktime_get());
            if let Some(arm) = crate::timers::dequeued(self.proc, &mut info, now) {
                let pid = self.proc.pid;
                for (timer, at) in arm {
                    self.arm_timer(pid, timer, at);
                }
                return Some(info);
            }
        }
    }

    /// Says what a signal does to the call if it blocks ([`OnSignal::RestartSys`] unless
    /// told otherwise).
    pub fn on_signal(&mut self, how: OnSignal) {
        self.restart.on_signal = how;
    }

    /// Adds keys that also wake the task when it blocks (poll on several files).
    pub fn also_block_on(&mut self, keys: &[WaitKey]) {
        self.block_also.extend_from_slice(keys);
    }

    /// Parks the calling task until `file` may have changed (the pipe, stream or object
    /// it reads or writes), then restarts the syscall.
    pub fn block_on_file(&mut self, file: &FileRef) -> Errno {
        self.block_on_file_until(file, None)
    }

    /// [`Ctx::block_on_file`], and also wakes the task at `deadline` (a socket's
    /// `SO_RCVTIMEO`).
    pub fn block_on_file_until(&mut self, file: &FileRef, deadline: Option<Instant>) -> Errno {
        let mut ws = WaitSet::default();
        file.waits(&mut ws);
        self.block_on_waits(ws, deadline)
    }

    /// Parks the calling task until one of the files of `ws` may have changed, one of its
    /// objects becomes ready by itself, a signal of its mask arrives, or `deadline` passes
    /// (`poll`, `epoll_wait`).
    pub fn block_on_waits(&mut self, ws: WaitSet, deadline: Option<Instant>) -> Errno {
        let me = self.proc.pid;
        for f in ws.host {
            if let Some(id) = f.wait_id() {
                let file = Some(f);
                self.effects.host_waits.push(HostWait { id, file });
            }
        }
        self.proc.sig.wait_set = ws.signals;
        let exclusive = ws.exclusive.into_iter().map(WaitKey::FileExclusive);
        let mut keys = ws.ids.into_iter().map(WaitKey::File).chain(exclusive);
        let first = keys.next().unwrap_or(WaitKey::Timeout(me));
        let rest: Vec<WaitKey> = keys.collect();
        self.also_block_on(&rest);
        let at = match (deadline, ws.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match at {
            Some(at) => self.block_until(first, at),
            None => self.block_on(first),
        }
    }

    /// Like [`Ctx::block_on`], and also wakes the task at `deadline`.
    pub fn block_until(&mut self, key: WaitKey, deadline: Instant) -> Errno {
        let e = self.block_on(key);
        if let Some(b) = self.block.as_mut() {
            b.deadline = Some(crate::time::ktime(deadline));
        }
        e
    }

    /// The deadline of a call with a relative timeout: computed on first entry, kept while
    /// the call blocks and restarts.
    pub fn deadline_after(&mut self, timeout: std::time::Duration) -> Instant {
        *self
            .restart
            .deadline
            .get_or_insert_with(|| nondet::ktime_get() + timeout)
    }

    /// Sets the futex bitset of the wait the call blocks in (`FUTEX_WAIT_BITSET`): only a
    /// wake whose bitset intersects it wakes the task.
    pub fn wait_bitset(&mut self, bitset: u32) {
        self.bitset = bitset;
        if let Some(b) = self.block.as_mut() {
            b.bitset = bitset;
        }
    }

    /// The tasks blocked on `key`, first blocked first, as the call's own wakes and
    /// requeues so far leave them.
    pub fn queue(&mut self, key: WaitKey) -> &[Waiter] {
        let sched = self.sched;
        self.queues.entry(key).or_insert_with(|| sched.queue(key))
    }

    /// Wakes at most `n` of the tasks blocked on `key`, first blocked first; returns how
    /// many that is.
    pub fn wake_some(&mut self, key: WaitKey, n: usize) -> usize {
        self.wake_bitset(key, n, sched::MATCH_ANY)
    }

    /// Wakes at most `n` of the tasks blocked on `key` whose bitset intersects `bitset`,
    /// first blocked first; returns how many that is.
    pub fn wake_bitset(&mut self, key: WaitKey, n: usize, bitset: u32) -> usize {
        self.queue(key);
        let Some(q) = self.queues.get_mut(&key) else {
            return 0;
        };
        let mut woken = 0;
        q.retain(|w| {
            let wake = woken < n && w.bitset & bitset != 0;
            woken += usize::from(wake);
            !wake
        });
        if woken > 0 {
            let op = QueueOp::Wake {
                key,
                max: woken,
                bitset,
            };
            self.effects.queue_ops.push(op);
        }
        woken
    }

    /// Moves at most `n` of the tasks blocked on `from` (first blocked first) to the end of
    /// `to`'s queue; returns how many that is.
    pub fn requeue(&mut self, from: WaitKey, to: WaitKey, n: usize) -> usize {
        if from == to {
            return self.queue(from).len().min(n);
        }
        self.queue(from);
        self.queue(to);
        let moved: Vec<Waiter> = match self.queues.get_mut(&from) {
            Some(q) => q.drain(..n.min(q.len())).collect(),
            None => Vec::new(),
        };
        let count = moved.len();
        self.queues.entry(to).or_default().extend(moved);
        if count > 0 {
            let op = QueueOp::Requeue {
                from,
                to,
                max: count,
            };
            self.effects.queue_ops.push(op);
        }
        count
    }

    /// Wakes every task blocked on `key` (they retry their syscall).
    /// A key is woken once per call, however many times the call made it ready (an
    /// exclusive waiter of a file is woken once per wake-up).
    pub fn wake(&mut self, key: WaitKey) {
        if !self.effects.wake.contains(&key) {
            self.effects.wake.push(key);
        }
    }

    /// Wakes every task blocked on one of `keys`.
    pub fn wake_all(&mut self, keys: impl IntoIterator<Item = WaitKey>) {
        for key in keys {
            self.wake(key);
        }
    }

    /// Linux's `access_ok`: the range lies in user space (a kernel or non-canonical range
    /// is `EFAULT` before anything is read or written, even for an empty length).
    pub fn access_ok(addr: UserAddr, len: u64) -> Result<(), Errno> {
        match addr.0.checked_add(len) {
            Some(end) if end <= USER_SPACE_END => Ok(()),
            _ => Err(Errno::EFAULT),
        }
    }

    /// Copies `buf.len()` bytes of guest memory at `addr` into `buf`.
    pub fn copy_in(&mut self, addr: UserAddr, buf: &mut [u8]) -> Result<(), Errno> {
        Self::access_ok(addr, buf.len() as u64)?;
        self.mm.copy_in(self.proc.mm, addr, buf)
    }

    /// Copies `buf` to guest memory at `addr`.
    pub fn copy_out(&mut self, addr: UserAddr, buf: &[u8]) -> Result<(), Errno> {
        Self::access_ok(addr, buf.len() as u64)?;
        self.mm.copy_out(self.proc.mm, addr, buf)
    }

    /// Linux's `copy_struct_from_user` with the usual size checks: the `size` bytes at
    /// `addr` of an extensible structure whose first version is `min` bytes (`EINVAL`
    /// below) and whose version uml knows is `known` bytes, cut or zero-extended to
    /// `known`; `E2BIG` past a page or if a byte past `known` is not zero.
    pub fn copy_struct_in(
        &mut self,
        addr: UserAddr,
        size: usize,
        min: usize,
        known: usize,
    ) -> Result<Vec<u8>, Errno> {
        if size > 4096 {
            return Err(Errno::E2BIG);
        }
        if size < min {
            return Err(Errno::EINVAL);
        }
        let mut raw = vec![0u8; size];
        self.copy_in(addr, &mut raw)?;
        if raw.iter().skip(known).any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
        raw.resize(known, 0);
        Ok(raw)
    }

    /// Reads a plain-old-data value (an `abi` struct) from guest memory.
    pub fn read_val<T: Pod>(&mut self, addr: UserAddr) -> Result<T, Errno> {
        let mut v = T::zeroed();
        self.copy_in(addr, bytemuck::bytes_of_mut(&mut v))?;
        Ok(v)
    }

    /// Writes a plain-old-data value (an `abi` struct) to guest memory.
    pub fn write_val<T: Pod>(&mut self, addr: UserAddr, v: &T) -> Result<(), Errno> {
        self.copy_out(addr, bytemuck::bytes_of(v))
    }

    /// Reads a NUL-terminated path: `EFAULT` for a bad pointer, `ENAMETOOLONG` past
    /// `PATH_MAX`. An empty path is returned as such (callers decide `ENOENT`).
    pub fn read_path(&mut self, addr: UserAddr) -> Result<Vec<u8>, Errno> {
        self.mm.read_cstr(self.proc.mm, addr, abi::flags::PATH_MAX)
    }

    /// Runs `f` over the guest buffer `[addr, addr+len)` as slices of physical memory
    /// the kernel may write (for `read`-like calls). See [`Mm::with_user_slices_mut`].
    pub fn with_user_slices_mut<R>(
        &mut self,
        addr: UserAddr,
        len: u64,
        f: impl FnOnce(&mut [IoSliceMut<'_>]) -> R,
    ) -> Result<R, Errno> {
        Self::access_ok(addr, len)?;
        self.mm.with_user_slices_mut(self.proc.mm, addr, len, f)
    }

    /// Runs `f` over the guest buffer `[addr, addr+len)` as slices the kernel reads
    /// (for `write`-like calls). See [`Mm::with_user_slices`].
    pub fn with_user_slices<R>(
        &mut self,
        addr: UserAddr,
        len: u64,
        f: impl FnOnce(&[IoSlice<'_>]) -> R,
    ) -> Result<R, Errno> {
        Self::access_ok(addr, len)?;
        self.mm.with_user_slices(self.proc.mm, addr, len, f)
    }

    /// Installs a new kernel object (eventfd, epoll, timerfd) at the lowest free descriptor.
    /// `flags`: `O_NONBLOCK` for the open file, `O_CLOEXEC` for the descriptor.
    pub fn install_object(
        &mut self,
        obj: std::sync::Arc<dyn vfs::FileObject>,
        flags: abi::flags::OFlags,
    ) -> abi::SysResult {
        let file = vfs::open_object(obj, flags);
        self.install_file(file, flags.contains(abi::flags::OFlags::CLOEXEC))
    }

    /// Copies `data` into the guest ranges `iovs` in order, as far as they hold; how much
    /// was copied.
    pub fn copy_out_iovs(
        &mut self,
        iovs: &[abi::structs::IoVec],
        data: &[u8],
    ) -> Result<u64, Errno> {
        let mut off = 0;
        for iov in iovs {
            let k = (iov.len as usize).min(data.len() - off);
            if k > 0 {
                self.copy_out(UserAddr(iov.base), &data[off..off + k])?;
                off += k;
            }
        }
        Ok(off as u64)
    }

    /// Installs an open file at the lowest free descriptor.
    pub fn install_file(&mut self, file: FileRef, cloexec: bool) -> abi::SysResult {
        let limit = self.proc.nofile();
        Ok(self.proc.fds.install(file, cloexec, 0, limit)? as u64)
    }

    /// What file readiness depends on about the calling task.
    pub fn poller(&self) -> vfs::Poller {
        vfs::Poller {
            signals: self.proc.sig.pending_set(),
        }
    }

    /// The open file behind `fd`, or `EBADF`.
    pub fn file(&self, fd: i32) -> Result<FileRef, Errno> {
        self.proc.fds.get(fd)
    }

    /// What an `AT_EMPTY_PATH` call with an empty path acts on: the file `dirfd` names
    /// (any kind, `O_PATH` too), or the working directory for `AT_FDCWD`; `EBADF` for a
    /// descriptor with no name (a pipe, a socket).
    pub fn empty_path_dentry(&self, dirfd: i32) -> Result<Dentry, Errno> {
        if dirfd == abi::flags::at::FDCWD {
            return Ok(self.proc.cwd.clone());
        }
        self.file(dirfd)?.dentry().ok_or(Errno::EBADF)
    }

    /// The file open at `fd` for a call that does I/O or asks the file itself (`mmap`,
    /// `fgetxattr`): `EBADF` for an `O_PATH` descriptor too (Linux's `fdget` against
    /// `fdget_raw`).
    pub fn file_io(&self, fd: i32) -> Result<FileRef, Errno> {
        let f = self.file(fd)?;
        if f.flags().contains(abi::flags::OFlags::PATH) {
            return Err(Errno::EBADF);
        }
        Ok(f)
    }

    /// The directory a `*at` call resolves relative paths from: the cwd for `AT_FDCWD`,
    /// else the directory open at `dirfd` (`EBADF`, or `ENOTDIR` if it is not one).
    pub fn dir_base(&self, dirfd: i32) -> Result<Dentry, Errno> {
        if dirfd == abi::flags::at::FDCWD {
            return Ok(self.proc.cwd.clone());
        }
        let file = self.file(dirfd)?;
        let dentry = file.dentry().ok_or(Errno::ENOTDIR)?;
        if !dentry.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(dentry)
    }
}
