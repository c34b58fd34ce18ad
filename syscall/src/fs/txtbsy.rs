//! `ETXTBSY`: a program file that some process runs cannot be opened for writing, and a
//! file open for writing cannot be executed (Linux's `deny_write_access`). Files are
//! matched by identity (device and inode number); each process keeps its program's
//! ([`crate::exec::Program::ino`]).

use abi::{Errno, SysResult};
use vfs::FileRef;

use crate::process::{ProcState, Process};
use crate::Ctx;

/// Every live process, the caller included.
fn live<'a>(ctx: &'a Ctx<'_>) -> impl Iterator<Item = &'a Process> {
    std::iter::once(&*ctx.proc)
        .chain(ctx.procs.iter())
        .filter(|p| !matches!(p.state, ProcState::Zombie(_)))
}

/// Whether some process runs the file `ino`.
pub(crate) fn running(ctx: &Ctx<'_>, ino: (u64, u64)) -> bool {
    live(ctx).any(|p| p.exe.ino == ino)
}

/// `ETXTBSY` if `file`, just opened for writing, is a program some process runs.
pub(crate) fn check_open(ctx: &Ctx<'_>, file: &FileRef) -> SysResult {
    match file.inode_id() {
        Ok(ino) if running(ctx, ino) => Err(Errno::ETXTBSY),
        _ => Ok(0),
    }
}

/// `ETXTBSY` if the file `ino` is open for writing anywhere (before it is executed).
pub(crate) fn check_exec(ctx: &Ctx<'_>, ino: (u64, u64)) -> SysResult {
    let written = live(ctx).any(|p| {
        p.fds.fds().any(|fd| {
            p.fds.entry(fd).is_ok_and(|e| {
                e.file.flags().writable() && e.file.is_regular() && e.file.inode_id() == Ok(ino)
            })
        })
    });
    if written {
        return Err(Errno::ETXTBSY);
    }
    Ok(0)
}
