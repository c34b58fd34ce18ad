//! A process's file descriptor table, which processes made with `CLONE_FILES` (and the
//! threads of a process) share: an [`FdTable`] is a handle, [`FdTable::share`] makes another
//! handle on the same table, [`FdTable::copy`] a new table with the same entries (`fork`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

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

/// Descriptor number → open file. Invariant: every key is in `0..limit`. Borrows of the
/// shared map never outlive a method.
#[derive(Default)]
pub struct FdTable {
    entries: Rc<RefCell<BTreeMap<i32, FdEntry>>>,
}

impl FdTable {
    /// An empty table.
    pub fn new() -> FdTable {
        FdTable::default()
    }

    /// Which table this is: equal for handles on one table (`kcmp`'s `KCMP_FILES`).
    pub fn identity(&self) -> usize {
        Rc::as_ptr(&self.entries) as usize
    }

    /// Another handle on this table (`CLONE_FILES`).
    pub fn share(&self) -> FdTable {
        FdTable {
            entries: Rc::clone(&self.entries),
        }
    }

    /// A new table with the same descriptors (`fork`).
    pub fn copy(&self) -> FdTable {
        FdTable {
            entries: Rc::new(RefCell::new(self.entries.borrow().clone())),
        }
    }

    /// Makes this handle's table its own (`execve`, Linux's `unshare_files`).
    pub fn unshare(&mut self) {
        if Rc::strong_count(&self.entries) > 1 {
            *self = self.copy();
        }
    }

    /// Lets go of the table at exit: its entries if this was the last handle (the files are
    /// then closed), else nothing (the other sharers keep it).
    pub fn release(&mut self) -> Vec<FdEntry> {
        let table = std::mem::take(&mut self.entries);
        match Rc::try_unwrap(table) {
            Ok(t) => t.into_inner().into_values().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The open file behind `fd`, or `EBADF`.
    pub fn get(&self, fd: i32) -> Result<FileRef, Errno> {
        self.entries
            .borrow()
            .get(&fd)
            .map(|e| e.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// The slot behind `fd`, or `EBADF`.
    pub fn entry(&self, fd: i32) -> Result<FdEntry, Errno> {
        self.entries.borrow().get(&fd).cloned().ok_or(Errno::EBADF)
    }

    /// Sets or clears `FD_CLOEXEC` on `fd`.
    pub fn set_cloexec(&mut self, fd: i32, cloexec: bool) -> Result<(), Errno> {
        self.entries
            .borrow_mut()
            .get_mut(&fd)
            .ok_or(Errno::EBADF)?
            .cloexec = cloexec;
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
        let mut entries = self.entries.borrow_mut();
        let mut fd = min_fd;
        for (&k, _) in entries.range(min_fd..) {
            if k != fd {
                break;
            }
            fd += 1;
        }
        if fd as u64 >= limit {
            return Err(Errno::EMFILE);
        }
        entries.insert(fd, FdEntry { file, cloexec });
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
        Ok(self
            .entries
            .borrow_mut()
            .insert(fd, FdEntry { file, cloexec }))
    }

    /// Removes `fd` from the table (`close`).
    pub fn remove(&mut self, fd: i32) -> Result<FdEntry, Errno> {
        self.entries.borrow_mut().remove(&fd).ok_or(Errno::EBADF)
    }

    /// Closes every close-on-exec descriptor (at `execve`); returns what they held (a
    /// pipe's other end may be waiting for this close, and record locks go with it).
    pub fn close_on_exec(&mut self) -> Vec<FdEntry> {
        let mut closed = Vec::new();
        self.entries.borrow_mut().retain(|_, e| {
            if e.cloexec {
                closed.push(e.clone());
            }
            !e.cloexec
        });
        closed
    }

    /// The descriptors in use, ascending.
    pub fn fds(&self) -> impl Iterator<Item = i32> {
        self.entries
            .borrow()
            .keys()
            .copied()
            .collect::<Vec<_>>()
            .into_iter()
    }
}
