//! `mknod(2)`: regular files, FIFOs, socket inodes and device nodes made by name.
//!
//! Everything is made in an in-memory file system (the overlay's upper layer, devfs), as
//! the other new entries there. A device node opens one of uml's own devices by its number
//! (`1:3` null, `1:5` zero, `1:7` full, `1:8` random, `1:9` urandom, `5:0` tty, `5:2` ptmx,
//! `136:N` a pty's slave, `10:237` the loop control device), and a block device node of
//! major 7 the loop device of its minor; any other number is `ENXIO` on open. A
//! host device is never reached. In a host directory (`--rw`, a read-write bind mount)
//! only regular files are made; the other types are `EPERM`, as binding a socket there.

use abi::flags::mode::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK};
use abi::Errno;

use crate::dentry::Inode;
use crate::tmpfs::{DevKind, MemData};
use crate::{overlay, At, Vfs};

/// What `mknod` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeType {
    /// An empty regular file (`S_IFREG`, or no type).
    Regular,
    /// A FIFO.
    Fifo,
    /// A socket inode no socket is bound to.
    Socket,
    /// A character device node: (major, minor).
    Char(u32, u32),
    /// A block device node: (major, minor).
    Block(u32, u32),
}

impl NodeType {
    /// Its `S_IFMT` bits.
    pub(crate) fn ftype(&self) -> u32 {
        match self {
            NodeType::Regular => S_IFREG,
            NodeType::Fifo => S_IFIFO,
            NodeType::Socket => S_IFSOCK,
            NodeType::Char(..) => S_IFCHR,
            NodeType::Block(..) => S_IFBLK,
        }
    }

    /// Its device number (major, minor); `(0, 0)` for what is no device.
    pub(crate) fn dev(&self) -> (u32, u32) {
        match *self {
            NodeType::Char(major, minor) | NodeType::Block(major, minor) => (major, minor),
            _ => (0, 0),
        }
    }

    /// The node `mknod`'s `mode` and `dev` (Linux's 32-bit encoding) ask for: Linux's
    /// `may_mknod`, checked before the path: `EPERM` for a directory, `EINVAL` for a type
    /// that is none of the above.
    pub fn of(mode: u32, dev: u32) -> Result<NodeType, Errno> {
        let major = (dev & 0xfff00) >> 8;
        let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
        Ok(match mode & S_IFMT {
            0 | S_IFREG => NodeType::Regular,
            S_IFIFO => NodeType::Fifo,
            S_IFSOCK => NodeType::Socket,
            S_IFCHR => NodeType::Char(major, minor),
            S_IFBLK => NodeType::Block(major, minor),
            S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        })
    }

    /// Whether making it needs `CAP_MKNOD`: device nodes but the whiteout (`0:0`).
    fn privileged(self) -> bool {
        matches!(self, NodeType::Block(..))
            || matches!(self, NodeType::Char(major, minor) if (major, minor) != (0, 0))
    }
}

impl Vfs {
    /// `mknodat(2)`: makes a `ty` at `path` with permission bits `perm` (already masked
    /// by the umask). `cap_mknod`: the caller may make device nodes (`EPERM` otherwise,
    /// checked after `EEXIST`, `EROFS` and `EACCES`, as Linux).
    pub fn mknod<'b>(
        &self,
        base: impl Into<At<'b>>,
        path: &[u8],
        ty: NodeType,
        perm: u32,
        cap_mknod: bool,
    ) -> Result<(), Errno> {
        let base: At<'_> = base.into();
        let _ns = self.ns.lock();
        let (dir, name) = self.new_entry(base, path, false)?;
        let who = self.who(&base);
        who.landlock_check(&dir, crate::landlock::make_access(ty.ftype()))?;
        self.may_modify(&who, &dir)?;
        let owner = who.new_owner(&dir);
        if ty.privileged() && !cap_mknod {
            return Err(Errno::EPERM);
        }
        let perm = perm & 0o7777;
        match &dir.0.inode {
            Inode::Host(h) if ty == NodeType::Regular => {
                h.create_file(&name, rustix::fs::OFlags::RDONLY, perm)?;
            }
            Inode::Host(_) => return Err(Errno::EPERM),
            Inode::Ovl(o) => {
                let (ftype, data) = match ty {
                    NodeType::Regular => (S_IFREG, o.fs.new_file()),
                    NodeType::Fifo => (
                        S_IFIFO,
                        MemData::Fifo(crate::pipe::Pipe::new(owner.0, owner.1)),
                    ),
                    NodeType::Socket => (S_IFSOCK, MemData::Socket(None)),
                    NodeType::Char(major, minor) => {
                        (S_IFCHR, MemData::Dev(DevKind::of_char(major, minor)))
                    }
                    NodeType::Block(abi::flags::blk::LOOP_MAJOR, n) => {
                        (S_IFBLK, MemData::Dev(DevKind::Loop(n)))
                    }
                    NodeType::Block(major, minor) => {
                        (S_IFBLK, MemData::Dev(DevKind::NoDevice(major, minor)))
                    }
                };
                overlay::create(&dir, &name, ftype | perm, owner, data)?;
            }
            Inode::Proc(_) => return Err(Errno::ENOENT),
        }
        crate::notify::create(&dir, &name, false, None);
        Ok(())
    }
}
