//! Host directory trees: every host object is reached from the root's directory fd one
//! component at a time with `O_PATH | O_NOFOLLOW`, so no guest path can leave the tree.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use abi::flags::mode::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use abi::structs::Stat;
use abi::Errno;
use rustix::fs::{AtFlags, Mode, OFlags as HOFlags};

use crate::tmpfs::Time;
use crate::Arc;

/// A host error as the guest's errno.
pub(crate) fn herr(e: rustix::io::Errno) -> Errno {
    Errno::from_host(e.raw_os_error())
}

/// A nix error as the guest's errno.
pub(crate) fn nerr(e: nix::errno::Errno) -> Errno {
    Errno::from_host(e as i32)
}

/// One host object: an `O_PATH` descriptor to it, and how to reopen it (its parent and name).
pub(crate) struct HostNode {
    /// `O_PATH | O_NOFOLLOW` descriptor of the object itself.
    pub fd: OwnedFd,
    /// The directory holding it (`None` for the tree's root).
    pub parent: Option<Arc<HostNode>>,
    /// Its name in `parent`.
    pub name: Vec<u8>,
    /// Host `st_dev`, `st_ino` and `st_mode` type bits when it was looked up.
    pub dev: u64,
    pub ino: u64,
    pub ftype: u32,
}

/// Converts a host `stat`.
pub(crate) fn from_host_stat(s: &libc::stat) -> Stat {
    Stat {
        st_dev: s.st_dev,
        st_ino: s.st_ino,
        st_nlink: s.st_nlink,
        st_mode: s.st_mode,
        st_uid: s.st_uid,
        st_gid: s.st_gid,
        st_rdev: s.st_rdev,
        st_size: s.st_size,
        st_blksize: s.st_blksize,
        st_blocks: s.st_blocks,
        st_atime: s.st_atime,
        st_atime_nsec: s.st_atime_nsec,
        st_mtime: s.st_mtime,
        st_mtime_nsec: s.st_mtime_nsec,
        st_ctime: s.st_ctime,
        st_ctime_nsec: s.st_ctime_nsec,
        ..Stat::default()
    }
}

/// `fstat` of a host descriptor.
pub(crate) fn fstat_fd(fd: &impl AsRawFd) -> Result<Stat, Errno> {
    nix::sys::stat::fstat(fd.as_raw_fd())
        .map(|s| from_host_stat(&s))
        .map_err(nerr)
}

impl HostNode {
    /// The root of a host tree at `path` (a directory).
    pub fn open_root(path: &std::path::Path) -> std::io::Result<Arc<HostNode>> {
        let fd = rustix::fs::open(
            path,
            HOFlags::PATH | HOFlags::DIRECTORY | HOFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let st = fstat_fd(&fd).map_err(|e| std::io::Error::from_raw_os_error(e.raw()))?;
        Ok(Arc::new(HostNode {
            fd,
            parent: None,
            name: Vec::new(),
            dev: st.st_dev,
            ino: st.st_ino,
            ftype: st.st_mode & S_IFMT,
        }))
    }

    /// The child `name` of this directory, or `None` if there is none.
    pub fn lookup(self: &Arc<Self>, name: &[u8]) -> Result<Option<Arc<HostNode>>, Errno> {
        if self.ftype != S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let fd = match rustix::fs::openat(
            &self.fd,
            name,
            HOFlags::PATH | HOFlags::NOFOLLOW | HOFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) if e == rustix::io::Errno::NOENT => return Ok(None),
            Err(e) => return Err(herr(e)),
        };
        let st = fstat_fd(&fd)?;
        Ok(Some(Arc::new(HostNode {
            fd,
            parent: Some(self.clone()),
            name: name.to_vec(),
            dev: st.st_dev,
            ino: st.st_ino,
            ftype: st.st_mode & S_IFMT,
        })))
    }

    /// Current `stat`.
    pub fn stat(&self) -> Result<Stat, Errno> {
        fstat_fd(&self.fd)
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.ftype == S_IFDIR
    }

    /// Target of a symlink (`EINVAL` if it is not one).
    pub fn readlink(&self) -> Result<Vec<u8>, Errno> {
        if self.ftype != S_IFLNK {
            return Err(Errno::EINVAL);
        }
        rustix::fs::readlinkat(&self.fd, c"", Vec::new())
            .map(|c| c.into_bytes())
            .map_err(herr)
    }

    /// The directory fd and name to reach this object by (`(self, ".")` for directories).
    fn at(&self) -> (&OwnedFd, &[u8]) {
        match &self.parent {
            Some(p) if self.ftype != S_IFDIR => (&p.fd, &self.name),
            _ => (&self.fd, b"."),
        }
    }

    /// Opens the object for I/O with host flags `flags` (access mode, `O_TRUNC` …), checking
    /// it is still the same object.
    pub fn open(&self, flags: HOFlags) -> Result<OwnedFd, Errno> {
        let (dir, name) = self.at();
        let extra = if self.ftype == S_IFREG || self.ftype == S_IFDIR {
            HOFlags::empty()
        } else {
            HOFlags::NONBLOCK
        };
        let fd = rustix::fs::openat(
            dir,
            name,
            flags | extra | HOFlags::NOFOLLOW | HOFlags::CLOEXEC | HOFlags::NOCTTY,
            Mode::empty(),
        )
        .map_err(herr)?;
        let st = fstat_fd(&fd)?;
        if st.st_ino != self.ino || st.st_dev != self.dev {
            return Err(Errno::ESTALE);
        }
        Ok(fd)
    }

    /// The entries of this directory (without `.` and `..`): name, inode number, `d_type`.
    pub fn readdir(&self) -> Result<Vec<(Vec<u8>, u64, u8)>, Errno> {
        let fd = rustix::fs::openat(
            &self.fd,
            c".",
            HOFlags::RDONLY | HOFlags::DIRECTORY | HOFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(herr)?;
        let mut dir = rustix::fs::Dir::read_from(&fd).map_err(herr)?;
        let mut out = Vec::new();
        while let Some(e) = dir.read() {
            let e = e.map_err(herr)?;
            let name = e.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let dtype = abi::flags::dtype::from_mode(e.file_type().as_raw_mode());
            out.push((name.to_vec(), e.ino(), dtype));
        }
        Ok(out)
    }

    // Mutations (only used when the tree is mounted read-write).

    /// Creates a regular file `name` in this directory and opens it with `flags`.
    pub fn create_file(&self, name: &[u8], flags: HOFlags, mode: u32) -> Result<OwnedFd, Errno> {
        rustix::fs::openat(
            &self.fd,
            name,
            flags | HOFlags::CREATE | HOFlags::EXCL | HOFlags::NOFOLLOW | HOFlags::CLOEXEC,
            Mode::from_raw_mode(mode & 0o7777),
        )
        .map_err(herr)
    }

    /// `mkdirat`.
    pub fn mkdir(&self, name: &[u8], mode: u32) -> Result<(), Errno> {
        rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode & 0o7777)).map_err(herr)
    }

    /// `symlinkat`.
    pub fn symlink(&self, target: &[u8], name: &[u8]) -> Result<(), Errno> {
        rustix::fs::symlinkat(target, &self.fd, name).map_err(herr)
    }

    /// `unlinkat` (`dir`: `AT_REMOVEDIR`).
    pub fn unlink(&self, name: &[u8], dir: bool) -> Result<(), Errno> {
        let flags = if dir {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        rustix::fs::unlinkat(&self.fd, name, flags).map_err(herr)
    }

    /// `renameat2` from this directory to `to`.
    pub fn rename(&self, old: &[u8], to: &HostNode, new: &[u8], flags: u32) -> Result<(), Errno> {
        let f = rustix::fs::RenameFlags::from_bits(flags).ok_or(Errno::EINVAL)?;
        rustix::fs::renameat_with(&self.fd, old, &to.fd, new, f).map_err(herr)
    }

    /// `linkat` of this (non-directory) object as `name` in `dir`.
    pub fn link_into(&self, dir: &HostNode, name: &[u8]) -> Result<(), Errno> {
        let (from_dir, from_name) = self.at();
        rustix::fs::linkat(from_dir, from_name, &dir.fd, name, AtFlags::empty()).map_err(herr)
    }

    /// Changes the permission bits.
    pub fn chmod(&self, mode: u32) -> Result<(), Errno> {
        if self.ftype == S_IFLNK {
            return Err(Errno::EOPNOTSUPP);
        }
        let (dir, name) = self.at();
        rustix::fs::chmodat(
            dir,
            name,
            Mode::from_raw_mode(mode & 0o7777),
            AtFlags::empty(),
        )
        .map_err(herr)
    }

    /// `utimensat` (`None`: `UTIME_OMIT`), never following a final symlink.
    pub fn set_times(&self, atime: Option<Time>, mtime: Option<Time>) -> Result<(), Errno> {
        let ts = |t: Option<Time>| match t {
            Some(t) => rustix::fs::Timespec {
                tv_sec: t.sec,
                tv_nsec: t.nsec as _,
            },
            None => rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_OMIT,
            },
        };
        let times = rustix::fs::Timestamps {
            last_access: ts(atime),
            last_modification: ts(mtime),
        };
        let (dir, name) = self.at();
        rustix::fs::utimensat(dir, name, &times, AtFlags::SYMLINK_NOFOLLOW).map_err(herr)
    }

    /// Truncates a regular file.
    pub fn truncate(&self, len: u64) -> Result<(), Errno> {
        if self.ftype == S_IFDIR {
            return Err(Errno::EISDIR);
        }
        if self.ftype != S_IFREG {
            return Err(Errno::EINVAL);
        }
        let fd = self.open(HOFlags::WRONLY)?;
        rustix::fs::ftruncate(fd.as_fd(), len).map_err(herr)
    }
}
