//! `eventfd` and `eventfd2`: a 64-bit counter read and written through a descriptor.
//!
//! A write (of exactly 8 bytes) adds its value (`EAGAIN`, or blocking, if the sum would pass
//! `u64::MAX - 1`); a read returns the counter and zeroes it, or with `EFD_SEMAPHORE`
//! returns 1 and decrements it (`EAGAIN`, or blocking, while it is 0). Readable while
//! non-zero, writable while another 1 fits.

use std::io::{IoSlice, IoSliceMut};

use abi::flags::OFlags;
use abi::{Errno, SysResult};
use parking_lot::Mutex;
use vfs::object::{gather, iov_len, iov_len_mut, new_wait_id, scatter};
use vfs::{Arc, FileObject, PollEvents, Poller};

use crate::{Args, Ctx};

/// `EFD_SEMAPHORE`.
const EFD_SEMAPHORE: u32 = 1;

/// The largest value the counter holds.
const MAX: u64 = u64::MAX - 1;

struct EventFd {
    id: u64,
    semaphore: bool,
    /// The counter and how many reads and writes changed it ([`PollEvents::seq`]).
    count: Mutex<(u64, u64)>,
}

impl FileObject for EventFd {
    fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        if iov_len_mut(bufs) < 8 {
            return Err(Errno::EINVAL);
        }
        let mut st = self.count.lock();
        let (count, events) = &mut *st;
        if *count == 0 {
            return Err(Errno::EAGAIN);
        }
        let v = if self.semaphore { 1 } else { *count };
        *count -= v;
        *events += 1;
        Ok(scatter(bufs, &v.to_ne_bytes()))
    }

    fn write(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        let mut raw = [0u8; 8];
        if iov_len(bufs) != 8 {
            return Err(Errno::EINVAL);
        }
        gather(bufs, &mut raw);
        let v = u64::from_ne_bytes(raw);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let mut st = self.count.lock();
        let (count, events) = &mut *st;
        if v > MAX - *count {
            return Err(Errno::EAGAIN);
        }
        *count += v;
        *events += 1;
        Ok(8)
    }

    fn poll(&self, _who: &Poller) -> PollEvents {
        let (count, events) = *self.count.lock();
        PollEvents {
            readable: count > 0,
            writable: count < MAX,
            hangup: false,
            error: false,
            rdhup: false,
            seq: Some(events),
        }
    }

    fn wait_id(&self) -> u64 {
        self.id
    }
}

fn do_eventfd(ctx: &mut Ctx<'_>, initval: u32, flags: u32) -> SysResult {
    let fl = OFlags::from_bits_retain(flags);
    let known = OFlags::CLOEXEC | OFlags::NONBLOCK;
    if flags & !EFD_SEMAPHORE & !known.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let obj = Arc::new(EventFd {
        id: new_wait_id(),
        semaphore: flags & EFD_SEMAPHORE != 0,
        count: Mutex::new((u64::from(initval), 0)),
    });
    ctx.install_object(obj, fl.intersection(known))
}

/// `eventfd(initval)`: no flags.
pub(crate) fn sys_eventfd(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    do_eventfd(ctx, a.u32(0), 0)
}

/// `eventfd2(initval, flags)`: `EFD_SEMAPHORE`, `EFD_NONBLOCK`, `EFD_CLOEXEC`.
pub(crate) fn sys_eventfd2(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    do_eventfd(ctx, a.u32(0), a.u32(1))
}

/// Whether `f` is an eventfd.
pub(crate) fn is_eventfd(f: &vfs::FileRef) -> bool {
    f.object_as::<EventFd>().is_some()
}

/// Adds 1 to eventfd `f`'s counter, as the kernel's `eventfd_signal` (an asynchronous-I/O
/// completion with `IOCB_FLAG_RESFD`): at most up to the largest value; its waiters wake.
pub(crate) fn signal(ctx: &mut Ctx<'_>, f: &vfs::FileRef) {
    if let Some(e) = f.object_as::<EventFd>() {
        let mut c = e.count.lock();
        if c.0 < MAX {
            c.0 += 1;
            c.1 += 1;
        }
        ctx.wake(crate::WaitKey::File(e.id));
    }
}
