//! `signalfd` and `signalfd4`: pending signals read as `struct signalfd_siginfo` records.
//!
//! The descriptor holds only a mask; what it reads and reports is the *reading* process's
//! pending signals of that mask (the signals are normally blocked, so they stay pending
//! until read). A read takes as many as fit (`EINVAL` below one record; `EAGAIN`, or
//! blocking until one arrives, with none). Readable for `poll`/`epoll` while one of the mask
//! is pending for the asking task ([`vfs::Poller`]); a task waiting on one is woken by the
//! arrival of such a signal even though it is blocked ([`vfs::WaitSet::signals`]); both
//! pass through nested epolls.

use abi::flags::OFlags;
use abi::structs::IoVec;
use abi::{Errno, SysResult};
use parking_lot::Mutex;
use vfs::object::new_wait_id;
use vfs::{Arc, FileObject, FileRef, PollEvents, Poller, WaitSet};

use crate::signal::{SigFields, SigInfo, UNBLOCKABLE};
use crate::{Args, Ctx};

/// Size of `struct signalfd_siginfo`.
const RECORD: usize = 128;
/// Size of the kernel's `sigset_t`.
const SIGSET_SIZE: u64 = 8;

/// A signalfd: the signals it reads.
pub(crate) struct SignalFd {
    id: u64,
    mask: Mutex<u64>,
}

impl FileObject for SignalFd {
    fn poll(&self, who: &Poller) -> PollEvents {
        PollEvents {
            readable: who.signals & *self.mask.lock() != 0,
            ..PollEvents::default()
        }
    }

    fn wait_id(&self) -> u64 {
        self.id
    }

    fn waits(&self, ws: &mut WaitSet) {
        ws.ids.push(self.id);
        ws.signals |= *self.mask.lock();
    }
}

/// The signalfd behind an open file, if it is one.
pub(crate) fn signalfd_of(f: &FileRef) -> Option<&SignalFd> {
    f.object_as::<SignalFd>()
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

/// One `struct signalfd_siginfo`.
fn record(info: &SigInfo) -> [u8; RECORD] {
    let mut b = [0u8; RECORD];
    put(&mut b, 0, &(info.signo as u32).to_ne_bytes());
    put(&mut b, 4, &info.errno.to_ne_bytes());
    put(&mut b, 8, &info.code.to_ne_bytes());
    let (pid, uid) = (12, 16);
    match info.fields {
        SigFields::Kill { pid: p, uid: u } => {
            put(&mut b, pid, &p.to_ne_bytes());
            put(&mut b, uid, &u.to_ne_bytes());
        }
        SigFields::Rt {
            pid: p,
            uid: u,
            value,
        } => {
            put(&mut b, pid, &p.to_ne_bytes());
            put(&mut b, uid, &u.to_ne_bytes());
            put(&mut b, 44, &(value as i32).to_ne_bytes());
            put(&mut b, 48, &value.to_ne_bytes());
        }
        SigFields::Chld {
            pid: p,
            uid: u,
            status,
            utime,
            stime,
        } => {
            put(&mut b, pid, &p.to_ne_bytes());
            put(&mut b, uid, &u.to_ne_bytes());
            put(&mut b, 40, &status.to_ne_bytes());
            put(&mut b, 56, &utime.to_ne_bytes());
            put(&mut b, 64, &stime.to_ne_bytes());
        }
        SigFields::Fault { addr } => put(&mut b, 72, &addr.to_ne_bytes()),
        SigFields::Timer {
            tid,
            overrun,
            value,
            ..
        } => {
            put(&mut b, 24, &tid.to_ne_bytes());
            put(&mut b, 32, &overrun.to_ne_bytes());
            put(&mut b, 44, &(value as i32).to_ne_bytes());
            put(&mut b, 48, &value.to_ne_bytes());
        }
        SigFields::Poll { band, fd } => {
            put(&mut b, 28, &(band as u32).to_ne_bytes());
            put(&mut b, 20, &fd.to_ne_bytes());
        }
        SigFields::Sys {
            call_addr,
            syscall,
            arch,
        } => {
            put(&mut b, 72, &call_addr.to_ne_bytes());
            put(&mut b, 84, &syscall.to_ne_bytes());
            put(&mut b, 96, &arch.to_ne_bytes());
        }
    }
    b
}

/// A read of signalfd `sfd` (file `f`) into `iovs`: the pending signals of its mask, as
/// many as whole records fit.
pub(crate) fn read(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    sfd: &SignalFd,
    iovs: &[IoVec],
    nowait: bool,
) -> SysResult {
    let total: u64 = iovs.iter().map(|v| v.len).sum();
    let want = (total / RECORD as u64) as usize;
    if want == 0 {
        return Err(Errno::EINVAL);
    }
    let mask = *sfd.mask.lock();
    let mut buf = Vec::new();
    while buf.len() / RECORD < want {
        let Some(info) = ctx.dequeue_signal_from(mask) else {
            break;
        };
        buf.extend_from_slice(&record(&info));
    }
    if buf.is_empty() {
        if nowait || f.flags().contains(OFlags::NONBLOCK) {
            return Err(Errno::EAGAIN);
        }
        return Err(ctx.block_on_file(f));
    }
    ctx.copy_out_iovs(iovs, &buf)
}

fn do_signalfd(ctx: &mut Ctx<'_>, a: &Args, flags: u32) -> SysResult {
    let fl = OFlags::from_bits_retain(flags);
    if a.len(2) != SIGSET_SIZE || fl != fl.intersection(OFlags::CLOEXEC | OFlags::NONBLOCK) {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = ctx.read_val(a.addr(1))?;
    let mask = mask & !UNBLOCKABLE;
    let fd = a.i32(0);
    if fd != -1 {
        let f = ctx.file(fd)?;
        *signalfd_of(&f).ok_or(Errno::EINVAL)?.mask.lock() = mask;
        return Ok(fd as u64);
    }
    let obj = Arc::new(SignalFd {
        id: new_wait_id(),
        mask: Mutex::new(mask),
    });
    ctx.install_object(obj, fl)
}

/// `signalfd(fd, mask, sizemask)`: a new signalfd (`fd` -1) or a new mask for `fd`.
pub(crate) fn sys_signalfd(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    do_signalfd(ctx, a, 0)
}

/// `signalfd4(fd, mask, sizemask, flags)`: `SFD_CLOEXEC`, `SFD_NONBLOCK`.
pub(crate) fn sys_signalfd4(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    do_signalfd(ctx, a, a.u32(3))
}
