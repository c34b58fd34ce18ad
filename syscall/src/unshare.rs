//! `unshare(2)`: the calling process stops sharing what it shares with others.
//!
//! What a process can share in uml is its descriptor table (`CLONE_FILES`), which
//! `unshare` copies (`EMFILE` if a descriptor is at or past `/proc/sys/fs/nr_open`, as
//! Linux's `dup_fd`), and its working directory, root and umask (`CLONE_FS`, also implied
//! by `CLONE_NEWNS`, as in Linux), which it stops sharing. Its SysV semaphore undo list
//! (`CLONE_SYSVSEM`) is already its own, and `CLONE_THREAD`,
//! `CLONE_SIGHAND` and `CLONE_VM` are accepted for a single-threaded process, as Linux
//! accepts them. `CLONE_NEW*` needs `CAP_SYS_ADMIN` (`EPERM`; not for `CLONE_NEWUSER`).
//! `CLONE_NEWNS` gives the process a copy of its mount namespace (`Vfs::unshare_mounts`:
//! its root and working directory move into the copy); a new user, UTS, IPC or cgroup
//! namespace is the process's own at once, a new pid or time namespace is where its
//! children go ([`crate::ns::new_namespaces`]); `CLONE_NEWNET` fails with `EINVAL`, as a
//! kernel built without network namespaces. `CLONE_NEWUSER` implies `CLONE_FS` and needs
//! a single-threaded process (`EINVAL`), as on Linux.

use abi::{Errno, SysResult};

use crate::proc_calls::clone_flags::*;
use crate::{Args, Ctx};

/// The flags `unshare` knows (`check_unshare_flags`).
const KNOWN: u64 = THREAD
    | FS
    | NEWNS
    | SIGHAND
    | VM
    | FILES
    | SYSVSEM
    | NEWUTS
    | NEWIPC
    | NEWNET
    | NEWUSER
    | NEWPID
    | NEWCGROUP
    | NEWTIME;

/// `unshare(flags)`.
pub(crate) fn sys_unshare(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = a.raw(0);
    if flags & !KNOWN != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (THREAD | SIGHAND | VM | NEWUSER) != 0 && ctx.proc.threads.len() > 1 {
        return Err(Errno::EINVAL);
    }
    if flags & FILES != 0 {
        let nr_open = crate::ipc::sysctl(ctx, "fs/nr_open");
        let highest = ctx.proc.fds.fds().max().unwrap_or(-1);
        if highest >= 0 && highest as u64 >= nr_open {
            return Err(Errno::EMFILE);
        }
    }
    crate::ns::may_make(ctx, flags)?;
    if flags & crate::ns::ALL & !NEWNS != 0 {
        ctx.proc.ns = crate::ns::new_namespaces(ctx, flags, false)?;
    }
    if flags & NEWNS != 0 {
        let (root, cwd) = ctx
            .vfs
            .unshare_mounts(ctx.proc.root.as_ref(), &ctx.proc.cwd)?;
        ctx.proc.root = Some(root);
        ctx.proc.cwd = cwd;
    }
    if flags & FILES != 0 {
        ctx.proc.fds.unshare();
    }
    if flags & (FS | NEWNS | NEWUSER) != 0 {
        ctx.proc.fs_share = ctx.procs.new_share_id();
    }
    Ok(0)
}
