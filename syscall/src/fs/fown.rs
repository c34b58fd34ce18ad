//! Signal-driven I/O: an open file's owner (`F_SETOWN`, `F_SETOWN_EX`, `F_GETOWN`,
//! `F_GETOWN_EX`), the signal it sends (`F_SETSIG`, `F_GETSIG`), and `O_ASYNC`.
//!
//! An owner is a thread, a process or a process group (Linux's `f_owner`), kept per open
//! file description. When a syscall makes a file ready (the kernel wakes the waiters of its
//! [`vfs::OpenFile::wait_id`]), each `O_ASYNC` description of that file with an owner that
//! is now ready for its own direction (readable for one open for reading, writable for one
//! open only for writing, or hung up) sends it `SIGIO`, or the `F_SETSIG` signal with
//! `si_code` `POLL_IN`. dnotify's requests send theirs through [`send_poll`]. Known gaps: the `si_code` is `POLL_IN` whatever the event, without
//! `si_fd` and `si_band`; a change made outside a syscall (a host stream) sends nothing.

use std::sync::{Arc, Weak};

use abi::signal::sig;
use abi::{Errno, SysResult, UserAddr};
use vfs::{FileRef, OpenFile};

use crate::signal::SigInfo;
use crate::{Ctx, WaitKey};

/// `F_OWNER_TID`, `F_OWNER_PID`, `F_OWNER_PGRP`.
const OWNER_TID: i32 = 0;
const OWNER_PID: i32 = 1;
const OWNER_PGRP: i32 = 2;
/// `POLL_IN`: the `si_code` of an `F_SETSIG` signal for input.
const POLL_IN: i32 = 1;
/// `POLL_MSG`: the `si_code` of a dnotify signal.
pub(crate) const POLL_MSG: i32 = 3;
/// `POLLIN | POLLRDNORM | POLLMSG`: the `si_band` of a `POLL_MSG` signal (Linux's
/// `band_table`).
const BAND_MSG: i64 = 0x1 | 0x40 | 0x400;

/// The owner and signal of one open file description.
struct Fown {
    file: Weak<OpenFile>,
    /// `F_OWNER_*` and the id (0: no owner).
    kind: i32,
    id: i32,
    /// `F_SETSIG`'s signal (0: `SIGIO`).
    sig: i32,
}

/// Every description with an owner or a signal set.
#[derive(Default)]
pub struct FownTable(Vec<Fown>);

impl FownTable {
    fn of(&mut self, f: &FileRef) -> &mut Fown {
        self.0.retain(|o| o.file.strong_count() > 0);
        let at = match self
            .0
            .iter()
            .position(|o| std::ptr::eq(o.file.as_ptr(), Arc::as_ptr(f)))
        {
            Some(i) => i,
            None => {
                self.0.push(Fown {
                    file: Arc::downgrade(f),
                    kind: OWNER_PID,
                    id: 0,
                    sig: 0,
                });
                self.0.len() - 1
            }
        };
        &mut self.0[at]
    }

    fn get(&self, f: &FileRef) -> Option<&Fown> {
        self.0
            .iter()
            .find(|o| std::ptr::eq(o.file.as_ptr(), Arc::as_ptr(f)))
    }
}

/// Whether an owner `kind`/`id` exists (`ESRCH` if not; 0 is no owner).
fn check_owner(ctx: &Ctx<'_>, kind: i32, id: i32) -> Result<(), Errno> {
    if id == 0 {
        return Ok(());
    }
    let procs = || std::iter::once(&*ctx.proc).chain(ctx.procs.iter());
    let found = match kind {
        OWNER_TID => procs().any(|p| p.threads.contains_key(&id)),
        OWNER_PID => procs().any(|p| p.pid == id),
        _ => procs().any(|p| p.pgid == id),
    };
    if found {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

/// `F_SETOWN`: a process (`arg` > 0) or process group (`arg` < 0).
pub(crate) fn setown(ctx: &mut Ctx<'_>, f: &FileRef, arg: i32) -> SysResult {
    let (kind, id) = if arg < 0 {
        (OWNER_PGRP, arg.checked_neg().ok_or(Errno::EINVAL)?)
    } else {
        (OWNER_PID, arg)
    };
    check_owner(ctx, kind, id)?;
    let o = ctx.procs.fown.of(f);
    (o.kind, o.id) = (kind, id);
    Ok(0)
}

/// `F_GETOWN`: the owner's pid, or minus its group.
pub(crate) fn getown(ctx: &Ctx<'_>, f: &FileRef) -> SysResult {
    Ok(match ctx.procs.fown.get(f) {
        Some(o) if o.kind == OWNER_PGRP => (-o.id) as i64 as u64,
        Some(o) => o.id as u64,
        None => 0,
    })
}

/// `F_SETOWN_EX`: `struct f_owner_ex { type, pid }` at `at`.
pub(crate) fn setown_ex(ctx: &mut Ctx<'_>, f: &FileRef, at: UserAddr) -> SysResult {
    let [kind, id]: [i32; 2] = ctx.read_val(at)?;
    if !(OWNER_TID..=OWNER_PGRP).contains(&kind) {
        return Err(Errno::EINVAL);
    }
    check_owner(ctx, kind, id)?;
    let o = ctx.procs.fown.of(f);
    (o.kind, o.id) = (kind, id);
    Ok(0)
}

/// `F_GETOWN_EX`.
pub(crate) fn getown_ex(ctx: &mut Ctx<'_>, f: &FileRef, at: UserAddr) -> SysResult {
    let v = ctx
        .procs
        .fown
        .get(f)
        .map_or([OWNER_PID, 0], |o| [o.kind, o.id]);
    ctx.write_val(at, &v)?;
    Ok(0)
}

/// `F_SETSIG`: 0 (`SIGIO`) or a signal number.
pub(crate) fn setsig(ctx: &mut Ctx<'_>, f: &FileRef, arg: u64) -> SysResult {
    let signo = i32::try_from(arg).map_err(|_| Errno::EINVAL)?;
    if !(0..=sig::NSIG).contains(&signo) {
        return Err(Errno::EINVAL);
    }
    ctx.procs.fown.of(f).sig = signo;
    Ok(0)
}

/// `F_GETSIG`.
pub(crate) fn getsig(ctx: &Ctx<'_>, f: &FileRef) -> SysResult {
    Ok(ctx.procs.fown.get(f).map_or(0, |o| o.sig) as u64)
}

/// Whether any open file has an owner or a signal set (else nothing is looked at after
/// a syscall).
pub(crate) fn any(ctx: &Ctx<'_>) -> bool {
    !ctx.procs.fown.0.is_empty()
}

/// After a syscall: the owners of `O_ASYNC` descriptions of the files it made ready (the
/// `File` keys in `woken`) are sent their signal.
pub(crate) fn notify(ctx: &mut Ctx<'_>, woken: &[WaitKey]) {
    let poller = ctx.poller();
    let mut sends = Vec::new();
    for o in &ctx.procs.fown.0 {
        let Some(file) = o.file.upgrade() else {
            continue;
        };
        let woke = file
            .wait_id()
            .is_some_and(|id| woken.contains(&WaitKey::File(id)));
        if !woke || o.id == 0 || !file.flags().contains(abi::flags::OFlags::ASYNC) {
            continue;
        }
        // Only a change that left this description ready for its own direction.
        let ev = file.poll_for(&poller);
        let fl = file.flags();
        let ready = (fl.readable() && ev.readable)
            || (fl.writable() && !fl.readable() && ev.writable)
            || ev.hangup;
        if ready {
            sends.push((o.kind, o.id, o.sig));
        }
    }
    for (kind, id, signo) in sends {
        let info = if signo == 0 {
            SigInfo::kernel(sig::SIGIO)
        } else {
            SigInfo {
                code: POLL_IN,
                ..SigInfo::kernel(signo)
            }
        };
        send(ctx, kind, id, info);
    }
}

/// Sends `info` to the owner `kind`/`id`.
fn send(ctx: &mut Ctx<'_>, kind: i32, id: i32, info: SigInfo) {
    let _ = match kind {
        OWNER_TID => {
            crate::kill::send_where(ctx, Some(info), Some(id), |p| p.threads.contains_key(&id))
        }
        OWNER_PID => crate::kill::send_where(ctx, Some(info), None, |p| p.pid == id),
        _ => crate::kill::send_where(ctx, Some(info), None, |p| p.pgid == id),
    };
}

/// Makes the caller's process the owner of `f` unless it has one (Linux's `__f_setown`
/// without force).
pub(crate) fn claim(ctx: &mut Ctx<'_>, f: &FileRef) {
    let pid = ctx.proc.pid;
    let o = ctx.procs.fown.of(f);
    if o.id == 0 {
        (o.kind, o.id) = (OWNER_PID, pid);
    }
}

/// Linux's `send_sigio` for `reason` (a `POLL_*` code) about descriptor `fd` of `f`: its
/// owner gets its `F_SETSIG` signal with `si_code` `reason`, `si_band` and `si_fd`, or
/// `SIGIO`.
pub(crate) fn send_poll(ctx: &mut Ctx<'_>, f: &FileRef, fd: i32, reason: i32) {
    let Some(&Fown {
        kind,
        id,
        sig: signo,
        ..
    }) = ctx.procs.fown.get(f)
    else {
        return;
    };
    if id == 0 {
        return;
    }
    let info = if signo == 0 {
        SigInfo::kernel(sig::SIGIO)
    } else {
        let band = if reason == POLL_MSG { BAND_MSG } else { !0 };
        SigInfo {
            code: reason,
            fields: crate::signal::SigFields::Poll { band, fd },
            ..SigInfo::kernel(signo)
        }
    };
    send(ctx, kind, id, info);
}
