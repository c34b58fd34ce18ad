//! userfaultfd (`userfaultfd(2)`, `/dev/userfaultfd`'s `USERFAULTFD_IOC_NEW`, Linux's
//! `fs/userfaultfd.c`): a thread's page fault in a registered range is handed to user space
//! as a message on the descriptor, and the thread waits until another thread resolves it.
//!
//! A context is the descriptor's object: the address space it was made in, the features
//! `UFFDIO_API` enabled, and its faults — reported but unread (what `read` returns, 32-byte
//! `struct uffd_msg`s of `UFFD_EVENT_PAGEFAULT`, and what makes it readable for `poll`), and
//! read but unresolved. mm decides which faults are the context's ([`mm::userfault`]); the
//! kernel loop then calls [`fault_raised`]: the message is queued, the context's readers
//! wake, and the thread parks, outside any syscall, until the context's wait id is woken
//! (by a resolving ioctl, or the context's last close). Woken, it runs its faulting
//! instruction again: the page is there, or the fault is raised anew (a fault already
//! reported is not reported twice). A signal wakes it as well: the handler runs and the
//! instruction is retried after it, as on Linux.
//!
//! Ioctls: `UFFDIO_API` (once; `EINVAL` before it for everything else), `UFFDIO_REGISTER`
//! (`MISSING`, `MINOR` and `WP` modes) and `UNREGISTER`, `UFFDIO_WAKE`, `UFFDIO_COPY`,
//! `UFFDIO_ZEROPAGE`, `UFFDIO_MOVE`, `UFFDIO_CONTINUE`, `UFFDIO_POISON`,
//! `UFFDIO_WRITEPROTECT`; each wakes the faults of its range unless told `DONTWAKE`, and a
//! partial fill is `EAGAIN` with the count written back. Features: `PAGEFAULT_FLAG_WP`,
//! `MISSING_SHMEM`, `MINOR_SHMEM`, `SIGBUS` (no messages: the fault is `SIGBUS`),
//! `THREAD_ID`, `EXACT_ADDRESS`, `POISON`, `MOVE`.
//!
//! Known gaps: write protection of private anonymous memory only, of present pages only
//! (no `WP_UNPOPULATED` markers); no events (fork, remap, remove, unmap); under
//! `--trap=ptrace` uml does not learn whether a fault was a write, so a missing-page
//! fault never has `UFFD_PAGEFAULT_FLAG_WRITE`; the kernel's own accesses to guest memory (a
//! syscall's buffer in a registered range) do not wait for the handler but fail with
//! `EFAULT`, as for a context made with `UFFD_USER_MODE_ONLY`.

use std::collections::{BTreeMap, VecDeque};
use std::io::IoSliceMut;
use std::sync::Weak;

use abi::flags::OFlags;
use abi::{Errno, SysResult, UserAddr};
use mm::userfault::{UffdOp, MODE_MINOR, MODE_MISSING};
use mm::MmId;
use parking_lot::Mutex;
use vfs::object::{iov_len_mut, new_wait_id, scatter};
use vfs::{Arc, FileObject, FileRef, PollEvents, Poller};

use crate::caps::CAP_SYS_PTRACE;
use crate::{Args, Ctx, WaitKey};

/// `UFFD_USER_MODE_ONLY`.
const USER_MODE_ONLY: u32 = 1;
/// `UFFD_API`.
const UFFD_API: u64 = 0xaa;
/// `UFFD_EVENT_PAGEFAULT`.
const EVENT_PAGEFAULT: u8 = 0x12;
/// `sizeof(struct uffd_msg)`.
const MSG_SIZE: usize = 32;
/// `UFFD_FEATURE_*` uml has.
const FEATURE_PAGEFAULT_FLAG_WP: u64 = 1 << 0;
const FEATURE_MISSING_SHMEM: u64 = 1 << 5;
const FEATURE_SIGBUS: u64 = 1 << 7;
const FEATURE_THREAD_ID: u64 = 1 << 8;
const FEATURE_MINOR_SHMEM: u64 = 1 << 10;
const FEATURE_EXACT_ADDRESS: u64 = 1 << 11;
const FEATURE_POISON: u64 = 1 << 14;
const FEATURE_MOVE: u64 = 1 << 16;
const FEATURES: u64 = FEATURE_PAGEFAULT_FLAG_WP
    | FEATURE_MISSING_SHMEM
    | FEATURE_SIGBUS
    | FEATURE_THREAD_ID
    | FEATURE_MINOR_SHMEM
    | FEATURE_EXACT_ADDRESS
    | FEATURE_POISON
    | FEATURE_MOVE;
/// The ioctl numbers (`_UFFDIO_*`), as bits of the `ioctls` masks.
const NR_REGISTER: u32 = 0x00;
const NR_UNREGISTER: u32 = 0x01;
const NR_WAKE: u32 = 0x02;
const NR_COPY: u32 = 0x03;
const NR_ZEROPAGE: u32 = 0x04;
const NR_MOVE: u32 = 0x05;
const NR_WRITEPROTECT: u32 = 0x06;
const NR_CONTINUE: u32 = 0x07;
const NR_POISON: u32 = 0x08;
const NR_API: u32 = 0x3f;
/// `UFFD_API_IOCTLS`.
const API_IOCTLS: u64 = 1 << NR_REGISTER | 1 << NR_UNREGISTER | 1 << NR_API;
/// `UFFD_API_RANGE_IOCTLS`.
const RANGE_IOCTLS: u64 = 1 << NR_WAKE
    | 1 << NR_COPY
    | 1 << NR_ZEROPAGE
    | 1 << NR_MOVE
    | 1 << NR_WRITEPROTECT
    | 1 << NR_CONTINUE
    | 1 << NR_POISON;
/// `_IOWR(0xAA, nr, size)` and `_IOR`.
const fn iowr(nr: u32, size: u32) -> u32 {
    3 << 30 | size << 16 | 0xaa << 8 | nr
}
const fn ior(nr: u32, size: u32) -> u32 {
    2 << 30 | size << 16 | 0xaa << 8 | nr
}
const UFFDIO_API: u32 = iowr(NR_API, 24);
const UFFDIO_REGISTER: u32 = iowr(NR_REGISTER, 32);
const UFFDIO_UNREGISTER: u32 = ior(NR_UNREGISTER, 16);
const UFFDIO_WAKE: u32 = ior(NR_WAKE, 16);
const UFFDIO_COPY: u32 = iowr(NR_COPY, 40);
const UFFDIO_ZEROPAGE: u32 = iowr(NR_ZEROPAGE, 32);
const UFFDIO_MOVE: u32 = iowr(NR_MOVE, 40);
const UFFDIO_WRITEPROTECT: u32 = iowr(NR_WRITEPROTECT, 24);
const UFFDIO_CONTINUE: u32 = iowr(NR_CONTINUE, 32);
const UFFDIO_POISON: u32 = iowr(NR_POISON, 32);
/// `USERFAULTFD_IOC_NEW` (`_IO(0xAA, 0)`), on `/dev/userfaultfd`.
const USERFAULTFD_IOC_NEW: u32 = 0xaa00;
/// The `DONTWAKE` bit every filling ioctl's mode has.
const MODE_DONTWAKE: u64 = 1;
/// `UFFDIO_COPY_MODE_WP`, `UFFDIO_CONTINUE_MODE_WP`.
const MODE_WP: u64 = 2;
/// `UFFDIO_WRITEPROTECT_MODE_WP` and `_DONTWAKE`.
const WRITEPROTECT_MODE_WP: u64 = 1;
const WRITEPROTECT_MODE_DONTWAKE: u64 = 2;
/// `UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES`.
const MOVE_ALLOW_SRC_HOLES: u64 = 2;
/// The largest copy read in one go (the rest is `EAGAIN` with the count, as a partial
/// copy on Linux).
const MAX_COPY: u64 = 16 << 20;

/// A fault of the context's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fault {
    tid: i32,
    /// The faulting address.
    addr: u64,
    /// `UFFD_PAGEFAULT_FLAG_*`.
    flags: u32,
}

impl Fault {
    fn page(&self) -> u64 {
        self.addr & !(mm::PAGE_SIZE - 1)
    }
}

#[derive(Default)]
struct State {
    /// `UFFDIO_API` was done, with these features.
    features: Option<u64>,
    /// Reported, not read yet.
    unread: VecDeque<Fault>,
    /// Read, not resolved yet.
    read: Vec<Fault>,
}

/// A userfaultfd context.
pub struct Userfaultfd {
    /// Its number, and the wait id its readers and faulting threads sleep on.
    id: u64,
    /// The address space it handles.
    mm: MmId,
    state: Mutex<State>,
}

/// The contexts alive, by number (for the kernel loop to find a fault's).
pub type Registry = BTreeMap<u64, Weak<Userfaultfd>>;

impl FileObject for Userfaultfd {
    fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        let mut st = self.state.lock();
        let room = iov_len_mut(bufs);
        let Some(features) = st.features else {
            return Err(Errno::EINVAL);
        };
        if room < MSG_SIZE {
            return Err(Errno::EINVAL);
        }
        if st.unread.is_empty() {
            return Err(Errno::EAGAIN);
        }
        let mut out = Vec::new();
        while out.len() + MSG_SIZE <= room {
            let Some(f) = st.unread.pop_front() else {
                break;
            };
            out.extend_from_slice(&message(&f, features));
            st.read.push(f);
        }
        Ok(scatter(bufs, &out))
    }

    fn poll(&self, _who: &Poller) -> PollEvents {
        let st = self.state.lock();
        PollEvents {
            readable: !st.unread.is_empty(),
            writable: false,
            hangup: false,
            error: st.features.is_none(),
            rdhup: false,
            seq: None,
        }
    }

    fn wait_id(&self) -> u64 {
        self.id
    }
}

/// The `struct uffd_msg` of fault `f`.
fn message(f: &Fault, features: u64) -> [u8; MSG_SIZE] {
    let mut m = [0u8; MSG_SIZE];
    m[0] = EVENT_PAGEFAULT;
    m[8..16].copy_from_slice(&u64::from(f.flags).to_le_bytes());
    let addr = if features & FEATURE_EXACT_ADDRESS != 0 {
        f.addr
    } else {
        f.page()
    };
    m[16..24].copy_from_slice(&addr.to_le_bytes());
    if features & FEATURE_THREAD_ID != 0 {
        m[24..28].copy_from_slice(&f.tid.to_le_bytes());
    }
    m
}

/// A new context of the caller's address space, installed with `flags` (`O_CLOEXEC`,
/// `O_NONBLOCK`, `UFFD_USER_MODE_ONLY`).
pub(crate) fn create(ctx: &mut Ctx<'_>, flags: u32) -> SysResult {
    let known = OFlags::CLOEXEC | OFlags::NONBLOCK;
    if flags & !(known.bits() | USER_MODE_ONLY) != 0 {
        return Err(Errno::EINVAL);
    }
    let id = new_wait_id();
    let obj = Arc::new(Userfaultfd {
        id,
        mm: ctx.proc.mm,
        state: Mutex::new(State::default()),
    });
    ctx.procs.userfaultfds.retain(|_, w| w.strong_count() > 0);
    ctx.procs.userfaultfds.insert(id, Arc::downgrade(&obj));
    let flags = OFlags::from_bits_retain(flags).intersection(known) | OFlags::RDWR;
    ctx.install_object(obj, flags)
}

/// `userfaultfd(flags)`: a context that handles the kernel's faults too (no
/// `UFFD_USER_MODE_ONLY`) needs `CAP_SYS_PTRACE` unless `vm.unprivileged_userfaultfd` is 1
/// (`EPERM`).
pub(crate) fn sys_userfaultfd(ctx: &mut Ctx<'_>, a: &Args) -> SysResult {
    let flags = a.u32(0);
    let anyone = ctx.procs.sysctl.int("vm/unprivileged_userfaultfd") == 1;
    if flags & USER_MODE_ONLY == 0 && !anyone && !ctx.proc.cred.caps.has(CAP_SYS_PTRACE) {
        return Err(Errno::EPERM);
    }
    create(ctx, flags)
}

/// What the kernel loop does with a thread whose fault is context `ctx`'s.
pub enum Raised {
    /// Park it on this key (after waking the context's readers, if `woke`).
    Park {
        /// What it waits on.
        key: WaitKey,
        /// A new message is there: the context's readers are to wake (on `key` too).
        woke: bool,
    },
    /// `UFFD_FEATURE_SIGBUS`: the fault is `SIGBUS`.
    Sigbus,
    /// The context is gone: its registrations are to be dropped and the access retried.
    Gone,
}

/// Thread `tid` faulted at `addr` with `flags` in a range of context `ctx`.
pub fn fault_raised(registry: &Registry, ctx: u64, tid: i32, addr: u64, flags: u32) -> Raised {
    let Some(c) = registry.get(&ctx).and_then(Weak::upgrade) else {
        return Raised::Gone;
    };
    let mut st = c.state.lock();
    if st.features.is_some_and(|f| f & FEATURE_SIGBUS != 0) {
        return Raised::Sigbus;
    }
    let key = WaitKey::File(c.id);
    let fault = Fault { tid, addr, flags };
    let known = |f: &Fault| f.tid == tid && f.page() == fault.page();
    if st.unread.iter().any(known) || st.read.iter().any(known) {
        return Raised::Park { key, woke: false };
    }
    // A thread waits for one fault: an older one of its was given up (a signal came).
    st.unread.retain(|f| f.tid != tid);
    st.read.retain(|f| f.tid != tid);
    st.unread.push_back(fault);
    Raised::Park { key, woke: true }
}

/// The requests of a userfaultfd, and `/dev/userfaultfd`'s `USERFAULTFD_IOC_NEW` (its
/// argument the flags, no capability needed; any other request there is `EINVAL`); `None`
/// when `f` is neither.
pub(crate) fn ioctl(ctx: &mut Ctx<'_>, f: &FileRef, req: u32, arg: UserAddr) -> Option<SysResult> {
    if f.is_userfaultfd_dev() {
        return Some(match req {
            USERFAULTFD_IOC_NEW => create(ctx, arg.0 as u32),
            _ => Err(Errno::EINVAL),
        });
    }
    let c = f.object_as::<Userfaultfd>()?;
    if req != UFFDIO_API && c.state.lock().features.is_none() {
        return Some(Err(Errno::EINVAL));
    }
    Some(match req {
        UFFDIO_API => api(ctx, c, arg),
        UFFDIO_REGISTER => register(ctx, c, arg),
        UFFDIO_UNREGISTER => {
            let [start, len]: [u64; 2] = match ctx.read_val(arg) {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            let op = UffdOp::Unregister {
                ctx: c.id,
                start,
                len,
            };
            ctx.mm.userfault(c.mm, op).map(|_| {
                wake(ctx, c, start, len);
                0
            })
        }
        UFFDIO_WAKE => ctx.read_val::<[u64; 2]>(arg).and_then(|[start, len]| {
            check_range(start, len)?;
            wake(ctx, c, start, len);
            Ok(0)
        }),
        UFFDIO_COPY => copy(ctx, c, arg),
        UFFDIO_ZEROPAGE | UFFDIO_CONTINUE | UFFDIO_POISON => fill(ctx, c, req, arg),
        UFFDIO_MOVE => move_pages(ctx, c, arg),
        UFFDIO_WRITEPROTECT => writeprotect(ctx, c, arg),
        _ => return None,
    })
}

/// `UFFDIO_API`: the API and features asked must be known, and only once (`EINVAL`, the
/// structure zeroed); reports every feature and the context's ioctls.
fn api(ctx: &mut Ctx<'_>, c: &Userfaultfd, arg: UserAddr) -> SysResult {
    let [api, features, _]: [u64; 3] = ctx.read_val(arg)?;
    let mut st = c.state.lock();
    if api != UFFD_API || features & !FEATURES != 0 || st.features.is_some() {
        ctx.write_val(arg, &[0u64; 3])?;
        return Err(Errno::EINVAL);
    }
    ctx.write_val(arg, &[UFFD_API, FEATURES, API_IOCTLS])?;
    st.features = Some(features);
    Ok(0)
}

/// Linux's `validate_range` on the ioctl side (`EINVAL`).
fn check_range(start: u64, len: u64) -> Result<(), Errno> {
    mm::userfault::range_end(start, len).map(|_| ())
}

/// `UFFDIO_REGISTER`: `struct uffdio_register` is the range, the mode, and the ioctls the
/// range then takes (written back).
fn register(ctx: &mut Ctx<'_>, c: &Userfaultfd, arg: UserAddr) -> SysResult {
    let [start, len, mode, _]: [u64; 4] = ctx.read_val(arg)?;
    let modes = u64::from(MODE_MISSING | MODE_MINOR | mm::userfault::MODE_WP);
    if mode == 0 || mode & !modes != 0 {
        return Err(Errno::EINVAL);
    }
    check_range(start, len)?;
    let op = UffdOp::Register {
        ctx: c.id,
        start,
        len,
        modes: mode as u32,
    };
    ctx.mm.userfault(c.mm, op)?;
    let mut ioctls = RANGE_IOCTLS;
    if mode & u64::from(MODE_MINOR) == 0 {
        ioctls &= !(1 << NR_CONTINUE);
    }
    if mode & u64::from(mm::userfault::MODE_WP) == 0 {
        ioctls &= !(1 << NR_WRITEPROTECT);
    }
    ctx.write_val(UserAddr(arg.0 + 24), &ioctls)?;
    Ok(0)
}

/// The faults of `[start, start+len)` are resolved: their threads retry (every parked
/// thread of the context wakes; those whose fault is still there park again).
fn wake(ctx: &mut Ctx<'_>, c: &Userfaultfd, start: u64, len: u64) {
    let inside = |f: &Fault| f.page() >= start && f.page() - start < len;
    let mut st = c.state.lock();
    st.unread.retain(|f| !inside(f));
    st.read.retain(|f| !inside(f));
    drop(st);
    ctx.wake(WaitKey::File(c.id));
}

/// Carries out the filling `op` over `[dst, dst+len)` on the context's space: the bytes
/// done (or the error) go to the structure's count at `count_at`, the range's faults wake
/// unless `mode` says `DONTWAKE`; a partial fill is `EAGAIN`.
fn fill_range(
    ctx: &mut Ctx<'_>,
    c: &Userfaultfd,
    op: UffdOp,
    count_at: UserAddr,
    (dst, len, mode): (u64, u64, u64),
) -> SysResult {
    let r = ctx.mm.userfault(c.mm, op);
    let shown = r.map_or_else(|e| -(e as i64), |n| n as i64);
    ctx.write_val(count_at, &shown)?;
    let done = r?;
    if mode & MODE_DONTWAKE == 0 {
        wake(ctx, c, dst, done);
    }
    if done == len {
        Ok(0)
    } else {
        Err(Errno::EAGAIN)
    }
}

/// `UFFDIO_COPY`: `dst`, `src`, `len`, `mode`, then the count. The source is the
/// caller's memory.
fn copy(ctx: &mut Ctx<'_>, c: &Userfaultfd, arg: UserAddr) -> SysResult {
    let [dst, src, len, mode]: [u64; 4] = ctx.read_val(arg)?;
    check_range(dst, len)?;
    if src.checked_add(len).is_none() || mode & !(MODE_DONTWAKE | MODE_WP) != 0 {
        return Err(Errno::EINVAL);
    }
    let n = len.min(MAX_COPY);
    let mut data = vec![0u8; n as usize];
    ctx.copy_in(UserAddr(src), &mut data)?;
    let op = UffdOp::Copy {
        ctx: c.id,
        dst,
        data,
        wp: mode & MODE_WP != 0,
    };
    fill_range(ctx, c, op, UserAddr(arg.0 + 32), (dst, len, mode))
}

/// `UFFDIO_ZEROPAGE`, `UFFDIO_CONTINUE`, `UFFDIO_POISON`: the range, `mode`, then the
/// count.
fn fill(ctx: &mut Ctx<'_>, c: &Userfaultfd, req: u32, arg: UserAddr) -> SysResult {
    let [dst, len, mode]: [u64; 3] = ctx.read_val(arg)?;
    check_range(dst, len)?;
    let modes = if req == UFFDIO_CONTINUE {
        MODE_DONTWAKE | MODE_WP
    } else {
        MODE_DONTWAKE
    };
    if mode & !modes != 0 || mode & MODE_WP != 0 {
        return Err(Errno::EINVAL);
    }
    let ctx_id = c.id;
    let op = match req {
        UFFDIO_ZEROPAGE => UffdOp::Zeropage {
            ctx: ctx_id,
            dst,
            len,
        },
        UFFDIO_CONTINUE => UffdOp::Continue {
            ctx: ctx_id,
            dst,
            len,
        },
        _ => UffdOp::Poison {
            ctx: ctx_id,
            dst,
            len,
        },
    };
    fill_range(ctx, c, op, UserAddr(arg.0 + 24), (dst, len, mode))
}

/// `UFFDIO_WRITEPROTECT`: the range and `mode`; lifting the protection wakes the range's
/// faults unless `DONTWAKE` (which protecting may not be told: `EINVAL`).
fn writeprotect(ctx: &mut Ctx<'_>, c: &Userfaultfd, arg: UserAddr) -> SysResult {
    let [start, len, mode]: [u64; 3] = ctx.read_val(arg)?;
    check_range(start, len)?;
    let both = WRITEPROTECT_MODE_WP | WRITEPROTECT_MODE_DONTWAKE;
    if mode & !both != 0 || mode & both == both {
        return Err(Errno::EINVAL);
    }
    let wp = mode & WRITEPROTECT_MODE_WP != 0;
    let op = UffdOp::Writeprotect {
        ctx: c.id,
        start,
        len,
        wp,
    };
    ctx.mm.userfault(c.mm, op)?;
    if !wp && mode & WRITEPROTECT_MODE_DONTWAKE == 0 {
        wake(ctx, c, start, len);
    }
    Ok(0)
}

/// `UFFDIO_MOVE`: `dst`, `src`, `len`, `mode`, then the count.
fn move_pages(ctx: &mut Ctx<'_>, c: &Userfaultfd, arg: UserAddr) -> SysResult {
    let [dst, src, len, mode]: [u64; 4] = ctx.read_val(arg)?;
    check_range(dst, len)?;
    check_range(src, len)?;
    if mode & !(MODE_DONTWAKE | MOVE_ALLOW_SRC_HOLES) != 0 {
        return Err(Errno::EINVAL);
    }
    let op = UffdOp::Move {
        ctx: c.id,
        dst,
        src,
        len,
        allow_holes: mode & MOVE_ALLOW_SRC_HOLES != 0,
    };
    fill_range(ctx, c, op, UserAddr(arg.0 + 32), (dst, len, mode))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ioctl_numbers_are_linux_s() {
        assert_eq!(UFFDIO_API, 0xc018_aa3f);
        assert_eq!(UFFDIO_REGISTER, 0xc020_aa00);
        assert_eq!(UFFDIO_UNREGISTER, 0x8010_aa01);
        assert_eq!(UFFDIO_WAKE, 0x8010_aa02);
        assert_eq!(UFFDIO_COPY, 0xc028_aa03);
        assert_eq!(UFFDIO_ZEROPAGE, 0xc020_aa04);
        assert_eq!(UFFDIO_MOVE, 0xc028_aa05);
    }

    #[test]
    fn messages_carry_the_page_unless_exact() {
        let f = Fault {
            tid: 7,
            addr: 0x1234_5678,
            flags: 1,
        };
        let m = message(&f, 0);
        assert_eq!(m[0], EVENT_PAGEFAULT);
        assert_eq!(
            u64::from_le_bytes(m[16..24].try_into().unwrap()),
            0x1234_5000
        );
        assert_eq!(&m[24..28], &[0; 4]);
        let m = message(&f, FEATURE_EXACT_ADDRESS | FEATURE_THREAD_ID);
        assert_eq!(
            u64::from_le_bytes(m[16..24].try_into().unwrap()),
            0x1234_5678
        );
        assert_eq!(i32::from_le_bytes(m[24..28].try_into().unwrap()), 7);
    }
}
