//! `memfd_create(2)` files: regular in-memory files with no name in the tree. Each has a
//! dentry of its own under the root, named as Linux shows it (`memfd:NAME (deleted)`), so
//! that `fstat`, `fchmod` and a path for `/proc/PID/fd` work as for any in-memory file.

use abi::flags::mode::S_IFREG;
use abi::flags::{fcntl, OFlags};
use abi::Errno;

use crate::dentry::{Dentry, Inode, OvlNode};
use crate::file::{FileKind, OpenFile};
use crate::tmpfs::{MemData, MemInode};
use crate::{FileRef, Vfs};

impl Vfs {
    /// A new, empty memfd named `name` (without the `memfd:` prefix), open read-write;
    /// `sealing`: seals may be added (else it is sealed with `F_SEAL_SEAL`).
    pub fn memfd_create(&self, name: &[u8], sealing: bool) -> FileRef {
        let fs = &self.memfd;
        let inode = MemInode::new(
            fs.shared.ino(),
            fs.dev,
            S_IFREG | 0o777,
            self.uid,
            self.gid,
            fs.new_file(),
        );
        inode.inner.lock().seals = Some(if sealing { 0 } else { fcntl::F_SEAL_SEAL });
        let mut shown = b"memfd:".to_vec();
        shown.extend_from_slice(name);
        shown.extend_from_slice(b" (deleted)");
        let node = OvlNode::new(Some(inode.clone()), None, fs.clone());
        let d = Dentry::new(Some(self.root()), &shown, Inode::Ovl(node), S_IFREG);
        OpenFile::new(Some(d), FileKind::Mem(inode), OFlags::RDWR)
    }
}

impl Vfs {
    /// A new, empty in-memory file with no name in the tree, open read-write, shown as
    /// `/NAME` (a SysV shared memory segment's `SYSV%08x (deleted)`); never sealable.
    pub fn shmem_file(&self, name: &[u8]) -> FileRef {
        let fs = &self.memfd;
        let inode = MemInode::new(
            fs.shared.ino(),
            fs.dev,
            S_IFREG | 0o777,
            self.uid,
            self.gid,
            fs.new_file(),
        );
        let node = OvlNode::new(Some(inode.clone()), None, fs.clone());
        let d = Dentry::new(Some(self.root()), name, Inode::Ovl(node), S_IFREG);
        OpenFile::new(Some(d), FileKind::Mem(inode), OFlags::RDWR)
    }
}

/// Seals that forbid writing.
const NO_WRITE: u32 = fcntl::F_SEAL_WRITE | fcntl::F_SEAL_FUTURE_WRITE;

impl MemInode {
    /// The seals, `EINVAL` for a file that cannot be sealed.
    pub(crate) fn seals(&self) -> Result<u32, Errno> {
        self.inner.lock().seals.ok_or(Errno::EINVAL)
    }

    /// `EPERM` if the seals forbid writing `[off, end)` of the file (`F_SEAL_WRITE`,
    /// `F_SEAL_FUTURE_WRITE`; `F_SEAL_GROW` past its end).
    pub(crate) fn check_write_seals(&self, end: u64) -> Result<(), Errno> {
        let i = self.inner.lock();
        let seals = i.seals.unwrap_or(0);
        let size = match &i.data {
            MemData::File(f) => f.len(),
            _ => 0,
        };
        if seals & NO_WRITE != 0 || seals & fcntl::F_SEAL_GROW != 0 && end > size {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// `EPERM` if the seals forbid resizing the file to `len`.
    pub(crate) fn check_resize_seals(&self, len: u64) -> Result<(), Errno> {
        let i = self.inner.lock();
        let seals = i.seals.unwrap_or(0);
        let size = match &i.data {
            MemData::File(f) => f.len(),
            _ => 0,
        };
        if len < size && seals & fcntl::F_SEAL_SHRINK != 0
            || len > size && seals & fcntl::F_SEAL_GROW != 0
        {
            return Err(Errno::EPERM);
        }
        Ok(())
    }
}

impl OpenFile {
    /// `F_GET_SEALS`: `EINVAL` unless this is a memfd.
    pub fn seals(&self) -> Result<u32, Errno> {
        match &self.kind {
            FileKind::Mem(m) => m.seals(),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Whether the seals forbid writable shared mappings (and making shared mappings
    /// writable).
    pub fn write_sealed(&self) -> bool {
        self.seals().is_ok_and(|s| s & NO_WRITE != 0)
    }

    /// `F_ADD_SEALS`, with Linux's checks; `writably_mapped`: a shared mapping of the file
    /// may write to it (`F_SEAL_WRITE` is then `EBUSY`).
    pub fn add_seals(&self, seals: u32, writably_mapped: bool) -> Result<(), Errno> {
        use fcntl::*;
        let all = F_SEAL_SEAL
            | F_SEAL_SHRINK
            | F_SEAL_GROW
            | F_SEAL_WRITE
            | F_SEAL_FUTURE_WRITE
            | F_SEAL_EXEC;
        if !self.flags().writable() {
            return Err(Errno::EPERM);
        }
        if seals & !all != 0 {
            return Err(Errno::EINVAL);
        }
        let FileKind::Mem(m) = &self.kind else {
            return Err(Errno::EINVAL);
        };
        let mut i = m.inner.lock();
        let mode = i.mode;
        let cur = i.seals.as_mut().ok_or(Errno::EINVAL)?;
        if *cur & F_SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        if seals & F_SEAL_WRITE != 0 && *cur & F_SEAL_WRITE == 0 && writably_mapped {
            return Err(Errno::EBUSY);
        }
        let mut seals = seals;
        if seals & F_SEAL_EXEC != 0 && mode & 0o111 != 0 {
            seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
        }
        *cur |= seals;
        Ok(())
    }
}
