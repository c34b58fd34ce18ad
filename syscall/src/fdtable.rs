//! A process's file descriptor table.

use std::collections::BTreeMap;

use abi::Errno;
use vfs::FileRef;

/// Default and hard limit on the number of descriptors (`RLIMIT_NOFILE`).
pub const NR_OPEN_DEFAULT: u64 = 1024;
/// Hard limit on descriptors.
pub const NR_OPEN_MAX: u64 = 1 << 20;

/// One slot of the table: the open file and the per-descriptor close-on-exec flag.
#[derive(Clone)]
pub struct FdEntry {
    /// The open file description (shared by dup'ed descriptors).
    pub file: FileRef,
    /// `FD_CLOEXEC`.
    pub cloexec: bool,
}

/// Descriptor number → open file. Invariant: every key is in `0..limit`.
#[derive(Clone, Default)]
pub struct FdTable {
    entries: BTreeMap<i32, FdEntry>,
}

impl FdTable {
    /// An empty table.
    pub fn new() -> FdTable {
        FdTable::default()
    }

    /// The open file behind `fd`, or `EBADF`.
    pub fn get(&self, fd: i32) -> Result<FileRef, Errno> {
        self.entries
            .get(&fd)
            .map(|e| e.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// The slot behind `fd`, or `EBADF`.
    pub fn entry(&self, fd: i32) -> Result<&FdEntry, Errno> {
        self.entries.get(&fd).ok_or(Errno::EBADF)
    }

    /// Sets or clears `FD_CLOEXEC` on `fd`.
    pub fn set_cloexec(&mut self, fd: i32, cloexec: bool) -> Result<(), Errno> {
        self.entries.get_mut(&fd).ok_or(Errno::EBADF)?.cloexec = cloexec;
        Ok(())
    }

    /// Installs `file` at the lowest free descriptor `>= min_fd` below `limit`
    /// (`EMFILE` if none; `EINVAL` if `min_fd` is out of range, as `F_DUPFD` wants).
    pub fn install(
        &mut self,
        file: FileRef,
        cloexec: bool,
        min_fd: i32,
        limit: u64,
    ) -> Result<i32, Errno> {
        if min_fd < 0 || min_fd as u64 >= limit {
            return Err(Errno::EINVAL);
        }
        let mut fd = min_fd;
        for (&k, _) in self.entries.range(min_fd..) {
            if k != fd {
                break;
            }
            fd += 1;
        }
        if fd as u64 >= limit {
            return Err(Errno::EMFILE);
        }
        self.entries.insert(fd, FdEntry { file, cloexec });
        Ok(fd)
    }

    /// Installs `file` at exactly `fd`, closing what was there (`dup2`). `EBADF` if `fd`
    /// is out of range.
    pub fn install_at(
        &mut self,
        fd: i32,
        file: FileRef,
        cloexec: bool,
        limit: u64,
    ) -> Result<Option<FdEntry>, Errno> {
        if fd < 0 || fd as u64 >= limit {
            return Err(Errno::EBADF);
        }
        Ok(self.entries.insert(fd, FdEntry { file, cloexec }))
    }

    /// Removes `fd` from the table (`close`).
    pub fn remove(&mut self, fd: i32) -> Result<FdEntry, Errno> {
        self.entries.remove(&fd).ok_or(Errno::EBADF)
    }

    /// Closes every close-on-exec descriptor (at `execve`); returns the wait ids of the
    /// files closed, whose waiters are to retry (a pipe or pty end may be gone).
    pub fn close_on_exec(&mut self) -> Vec<u64> {
        let mut ids = Vec::new();
        self.entries.retain(|_, e| {
            if e.cloexec {
                ids.extend(e.file.wait_id());
            }
            !e.cloexec
        });
        ids
    }

    /// The descriptors in use, ascending.
    pub fn fds(&self) -> impl Iterator<Item = i32> + '_ {
        self.entries.keys().copied()
    }
}
