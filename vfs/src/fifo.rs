//! FIFOs (named pipes): a FIFO inode of an in-memory file system (the overlay's upper
//! layer, devfs) holds one [`Pipe`], and every open of it attaches an end to that pipe,
//! following Linux's `fifo_open`:
//! - `O_RDONLY` and `O_WRONLY` wait for a partner (a writer, a reader) unless one has the
//!   FIFO open: the end is attached at once (so a partner sees it), and the syscall layer
//!   parks the opener while [`OpenFile::fifo_partner_missing`] holds, keeping the end;
//!   if the wait ends otherwise (a signal), the end is dropped and so closed again;
//! - with `O_NONBLOCK` a reader never waits, and a writer with no reader is `ENXIO`;
//! - `O_RDWR` is a reader and a writer at once and never waits.
//!
//! Reading, writing, `PIPE_BUF` atomicity, `EPIPE`, readiness and `F_SETPIPE_SZ` are the
//! pipe's ([`pipe`](crate::pipe)); when no end is open any more, what was left buffered
//! is dropped. `O_TRUNC` is ignored and `lseek` is `ESPIPE`, as for any pipe.
//!
//! FIFOs on the host are never opened (`EACCES`, see `file::open_dentry`): one in the
//! overlay's lower layer, in the `--rw` tree or in a bind mount would connect the guest to
//! host processes, and its open could block the kernel. A lower-layer FIFO that is copied
//! up (by `chmod`, `chown`, `utimes`, `rename`, `link`) becomes a FIFO of the guest's own.
//! `mknod` of a FIFO in a host directory is `EPERM` ([`Vfs::mknod`](crate::Vfs::mknod)).

use abi::flags::OFlags;
use abi::Errno;

use crate::dentry::Dentry;
use crate::file::{FileKind, FileRef, OpenFile};
use crate::pipe::{open_end, Pipe};
use crate::Arc;

/// Opens FIFO `d`, whose pipe is `pipe`, with `flags` (permissions checked by the caller).
pub(crate) fn open(d: &Dentry, pipe: &Arc<Pipe>, flags: OFlags) -> Result<FileRef, Errno> {
    let (read, write) = match flags.bits() & OFlags::ACCMODE {
        0 => (true, false),
        1 => (false, true),
        2 => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    if write && !read && flags.contains(OFlags::NONBLOCK) && !pipe.has_readers() {
        return Err(Errno::ENXIO);
    }
    let end = open_end(pipe, read, write);
    Ok(OpenFile::new(Some(d.clone()), FileKind::Pipe(end), flags))
}

impl OpenFile {
    /// Whether this is a FIFO end (not a `pipe(2)` end: it has a name).
    pub fn is_fifo(&self) -> bool {
        matches!(self.kind, FileKind::Pipe(_)) && self.dentry.is_some()
    }

    /// Whether this is a FIFO end opened without `O_NONBLOCK` that still waits for a
    /// partner: no partner had the FIFO open when it opened, and none has opened it since.
    /// A blocking `open` of a FIFO waits while this holds.
    pub fn fifo_partner_missing(&self) -> bool {
        match &self.kind {
            FileKind::Pipe(p) => {
                self.is_fifo() && !self.flags().contains(OFlags::NONBLOCK) && !p.has_partner()
            }
            _ => false,
        }
    }
}
