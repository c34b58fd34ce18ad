//! `execve` and `execveat` from a guest: load the new program, then hand the old address
//! space back to the kernel.

use abi::flags::at;
use abi::{Errno, UserAddr};

use crate::exec;
use crate::procfs::ProcView;
use crate::{Args, Ctx, Outcome};

/// Most argv or envp entries accepted (Linux's limit is the ARG_MAX byte budget; this bounds
/// the pointer array walk).
const MAX_ARG_STRINGS: usize = 0x7fff_ffff;

/// Reads a NULL-terminated array of string pointers (argv or envp).
fn read_strings(ctx: &mut Ctx<'_>, mut at: UserAddr) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if at.is_null() {
        return Ok(out);
    }
    let mut total = 0usize;
    loop {
        let p: u64 = ctx.read_val(at)?;
        if p == 0 {
            return Ok(out);
        }
        let s = ctx.mm.read_cstr(ctx.proc.mm, UserAddr(p), exec::ARG_MAX)?;
        total += s.len() + 1;
        if total > exec::ARG_MAX || out.len() >= MAX_ARG_STRINGS {
            return Err(Errno::E2BIG);
        }
        out.push(s);
        at = at.checked_add(8).ok_or(Errno::EFAULT)?;
    }
}

fn execve_common(
    ctx: &mut Ctx<'_>,
    dirfd: i32,
    path: UserAddr,
    argv: UserAddr,
    envp: UserAddr,
    flags: u32,
) -> Result<Outcome, Errno> {
    if flags & !(at::EMPTY_PATH | at::SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = ctx.read_path(path)?;
    let mut argv = read_strings(ctx, argv)?;
    // An empty argv gets an empty argv[0] (Linux 5.18's `bprm_stack_limits`), so the
    // program always has argc >= 1.
    if argv.is_empty() {
        argv.push(Vec::new());
    }
    let envp = read_strings(ctx, envp)?;
    let (base, path) = if path.is_empty() {
        if flags & at::EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        // The program is the file open at `dirfd` itself.
        let dentry = ctx.file(dirfd)?.dentry().ok_or(Errno::EACCES)?;
        (ctx.vfs.root(), ctx.vfs.path_of(&dentry))
    } else if path.starts_with(b"/") {
        // An absolute path ignores `dirfd`, whatever it is.
        (ctx.proc.cwd.clone(), path)
    } else {
        (ctx.dir_base(dirfd)?, path)
    };
    // fanotify's permission events for the program (Linux's open of it).
    if vfs::notify::fanotify_active() {
        if let Ok(d) = ctx.vfs.lookup(ctx.at(&base), &path, true) {
            crate::notify::fanotify::permitted_exec(ctx, &d)?;
        }
    }
    let procs = ProcView::new(ctx.proc, ctx.procs, None);
    let at = vfs::At::new(&base, &procs, ctx.proc.fs_cred()).rooted(ctx.proc.root.as_ref());
    // `AT_SYMLINK_NOFOLLOW`: the program itself may not be a symlink.
    if flags & at::SYMLINK_NOFOLLOW != 0 && ctx.vfs.lookup(at, &path, false)?.is_symlink() {
        return Err(Errno::ELOOP);
    }
    let setid = !ctx.proc.no_new_privs;
    let loaded = exec::load(
        ctx.mm,
        ctx.vfs,
        at,
        &path,
        &argv,
        &envp,
        ctx.proc.cred,
        setid,
    )
    .map_err(|e| e.errno())?;
    // The program runs in the time namespace its process's children go to (Linux's
    // `exec_task_namespaces`), whose vDSO data page it gets.
    let time_ns = ctx.proc.ns.time_for_children;
    let checked =
        crate::fs::txtbsy::check_exec(ctx, loaded.program.ino).and_then(|_| match time_ns {
            0 => Ok(()),
            _ => crate::exec::vdso::map_vvar(ctx.mm, loaded.mm, true),
        });
    if let Err(e) = checked {
        ctx.mm.destroy_space(loaded.mm);
        return Err(e);
    }
    if time_ns != ctx.proc.ns.time {
        crate::ns::time::enter(ctx, time_ns)?;
        ctx.proc.ns.time = time_ns;
    }
    let old_mm = ctx.proc.mm;
    let old_peak = ctx.mm.view().peak_resident_pages(old_mm);
    ctx.proc.maxrss = ctx.proc.maxrss.max(old_peak);
    ctx.proc.mm = loaded.mm;
    ctx.proc.cred = loaded.cred;
    ctx.proc.personality = crate::personality::on_exec(ctx.proc.personality, loaded.cred.secure());
    *ctx.regs = loaded.regs;
    ctx.proc.fds.unshare();
    for closed in ctx.proc.fds.close_on_exec() {
        crate::fs::dropped(ctx, Some(closed));
    }
    ctx.proc.sig.reset_on_exec();
    // Handlers shared with other processes become the caller's own (Linux's
    // `unshare_sighand`).
    ctx.proc.sighand_share = ctx.procs.new_share_id();
    // POSIX timers are deleted (interval timers stay).
    ctx.proc.posix_timers.clear();
    ctx.proc.keys.on_exec();
    ctx.proc.membarrier = 0;
    ctx.proc.aio = Default::default();
    ctx.proc.comm = crate::Process::comm_of(&path);
    ctx.proc.exe = loaded.program;
    ctx.proc.did_exec = true;
    // The other threads are gone (the kernel ends their tasks); the caller becomes the
    // leader, with neither a tid address nor a robust list.
    let (sched, notsc) = (ctx.thread().sched, ctx.thread().notsc);
    ctx.proc.threads = crate::Thread::only(
        ctx.proc.pid,
        crate::Thread {
            sched,
            notsc,
            ..Default::default()
        },
    );
    ctx.proc.sig_thread = ctx.proc.pid;
    crate::ptrace::exec_event(ctx.proc, ctx.tid);
    Ok(Outcome::Exec { old_mm })
}

pub(crate) fn sys_execve(ctx: &mut Ctx<'_>, a: &Args) -> Result<Outcome, Errno> {
    execve_common(ctx, at::FDCWD, a.addr(0), a.addr(1), a.addr(2), 0)
}

pub(crate) fn sys_execveat(ctx: &mut Ctx<'_>, a: &Args) -> Result<Outcome, Errno> {
    execve_common(ctx, a.i32(0), a.addr(1), a.addr(2), a.addr(3), a.u32(4))
}
