//! Pseudo-terminals: `/dev/ptmx` and devpts (`/dev/pts`).
//!
//! Opening `/dev/ptmx` allocates a [`Pty`]: the file is its master, and `/dev/pts/N` (the
//! lowest free N) appears, locked until `TIOCSPTLCK` unlocks it, then opened as its slave.
//! Typed input (master writes) goes through the [`ldisc`](crate::ldisc) to the slave's
//! readers; slave writes come out, processed, at the master. Both ends share one termios,
//! one window size and one wait id (like a pipe's), which every change wakes.
//!
//! Sessions and process groups are guest ids the pty only records (who it is the
//! controlling terminal of, its foreground group): the syscall layer decides who may change
//! them. Signals a pty raises (typed `INTR`/`QUIT`/`SUSP`, `SIGWINCH` on a new window size,
//! `SIGHUP`/`SIGCONT` to the session leader when the master closes) are queued in the
//! [`Devpts`] for the kernel to send ([`crate::Vfs::take_tty_signals`]).
//!
//! Ends are counted per open file description. When the master's closes the pty hangs up:
//! the slave's reads give end of file (`EIO` for a read that was waiting, which the syscall
//! layer knows), its writes `EIO`, and `/dev/pts/N` disappears.
//! When the last slave description closes, the master reads `EIO` once drained (and
//! writes `EIO`, as before any slave was opened).
//!
//! Known gaps: no packet mode (`TIOCPKT`), no `TIOCSTI`; a `VTIME` deadline is per
//! terminal, not per reader (a reader interrupted by a signal may leave one that ends the
//! next read early).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Weak;
use std::time::{Duration, Instant};

use abi::flags::mode::S_IFCHR;
use abi::flags::OFlags;
use abi::signal::sig;
use abi::structs::{Termios, Winsize};
use abi::Errno;
use parking_lot::Mutex;

use crate::dentry::{Dentry, FsShared};
use crate::file::{FileKind, FileRef, OpenFile};
use crate::ldisc::{Ldisc, OUTPUT_MAX};
use crate::pipe::PollEvents;
use crate::tmpfs::{DevKind, MemData, MemEntry, MemInode};
use crate::Arc;

/// Most ptys at once (Linux's default `/proc/sys/kernel/pty/max`).
const PTY_MAX: u32 = 4096;
/// Group owning `/dev/pts/N` (`tty`).
const TTY_GID: u32 = 5;

/// Who a queued terminal signal goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalTarget {
    /// Every process of a process group.
    Group(i32),
    /// One process.
    Process(i32),
}

/// A signal a terminal raised, for the kernel to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TtySignal {
    /// To whom.
    pub to: SignalTarget,
    /// The signal number.
    pub signo: i32,
}

/// The devpts instance of one `Vfs`: the `/dev/pts` directory, the live ptys by number, and
/// the signals they raised.
pub(crate) struct Devpts {
    dir: Arc<MemInode>,
    shared: Arc<FsShared>,
    ptys: Mutex<BTreeMap<u32, Weak<Pty>>>,
    /// A number taken by the host console's alias (`/dev/pts/K` when uml runs on one).
    reserved: Option<u32>,
    signals: Mutex<Vec<TtySignal>>,
    has_signals: AtomicBool,
}

impl Devpts {
    pub fn new(dir: Arc<MemInode>, shared: Arc<FsShared>, reserved: Option<u32>) -> Arc<Devpts> {
        Arc::new(Devpts {
            dir,
            shared,
            ptys: Mutex::new(BTreeMap::new()),
            reserved,
            signals: Mutex::new(Vec::new()),
            has_signals: AtomicBool::new(false),
        })
    }

    fn queue(&self, to: SignalTarget, signo: i32) {
        self.signals.lock().push(TtySignal { to, signo });
        self.has_signals.store(true, Ordering::Release);
    }

    /// The signals raised since the last call (cheap when there are none).
    pub fn take_signals(&self) -> Vec<TtySignal> {
        if !self.has_signals.swap(false, Ordering::Acquire) {
            return Vec::new();
        }
        std::mem::take(&mut *self.signals.lock())
    }

    /// Opening `/dev/ptmx`: a new pty, its `/dev/pts/N` owned by `uid`, and its master.
    pub fn open_master(
        self: &Arc<Self>,
        d: &Dentry,
        flags: OFlags,
        uid: u32,
    ) -> Result<FileRef, Errno> {
        let mut ptys = self.ptys.lock();
        let index = (0..PTY_MAX)
            .find(|n| Some(*n) != self.reserved && !ptys.contains_key(n))
            .ok_or(Errno::ENOSPC)?;
        let pty = Arc::new(Pty {
            index,
            id: crate::object::new_wait_id(),
            devpts: self.clone(),
            inner: Mutex::new(PtyInner {
                ld: Ldisc::new(),
                winsize: Winsize::default(),
                locked: true,
                slaves: 0,
                other_closed: false,
                hung_up: false,
                session: 0,
                pgrp: 0,
                read_deadline: None,
            }),
        });
        ptys.insert(index, Arc::downgrade(&pty));
        drop(ptys);
        let node = MemInode::new(
            self.shared.ino(),
            self.dir.dev,
            S_IFCHR | 0o620,
            uid,
            TTY_GID,
            MemData::Dev(DevKind::PtySlave(index)),
        );
        let _ = self.dir.with_dir(true, |e, _| {
            e.insert(index.to_string().into_bytes(), MemEntry::Node(node))
        });
        let end = PtyEnd { pty, master: true };
        Ok(OpenFile::new(Some(d.clone()), FileKind::Pty(end), flags))
    }

    /// Opening `/dev/pts/N`.
    pub fn open_slave(&self, index: u32, d: &Dentry, flags: OFlags) -> Result<FileRef, Errno> {
        let pty = self
            .ptys
            .lock()
            .get(&index)
            .and_then(Weak::upgrade)
            .ok_or(Errno::EIO)?;
        pty.open_slave(Some(d.clone()), flags)
    }

    fn remove(&self, index: u32) {
        self.ptys.lock().remove(&index);
        let _ = self.dir.with_dir(true, |e, _| {
            e.remove(index.to_string().as_bytes());
        });
    }
}

struct PtyInner {
    ld: Ldisc,
    winsize: Winsize,
    /// `TIOCSPTLCK`: the slave cannot be opened yet.
    locked: bool,
    /// Open slave descriptions.
    slaves: usize,
    /// The last slave description closed (the master reads `EIO` once drained).
    other_closed: bool,
    /// The master closed.
    hung_up: bool,
    /// The session it is the controlling terminal of (0: none).
    session: i32,
    /// Its foreground process group (0: none).
    pgrp: i32,
    /// When a non-canonical read waiting for `VTIME` gives up.
    read_deadline: Option<Instant>,
}

/// One pseudo-terminal.
pub struct Pty {
    index: u32,
    id: u64,
    devpts: Arc<Devpts>,
    inner: Mutex<PtyInner>,
}

/// A pty shared with the syscall layer (a process's controlling terminal).
pub type PtyRef = Arc<Pty>;

impl std::fmt::Debug for Pty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pty({})", self.index)
    }
}

/// One end of a pty, owned by an open file description.
pub(crate) struct PtyEnd {
    pub pty: Arc<Pty>,
    pub master: bool,
}

impl Drop for PtyEnd {
    fn drop(&mut self) {
        let p = &self.pty;
        let mut i = p.inner.lock();
        if self.master {
            i.hung_up = true;
            i.ld.flush_input();
            if i.session > 0 {
                p.devpts
                    .queue(SignalTarget::Process(i.session), sig::SIGHUP);
                p.devpts
                    .queue(SignalTarget::Process(i.session), sig::SIGCONT);
            }
            i.session = 0;
            i.pgrp = 0;
            drop(i);
            p.devpts.remove(p.index);
        } else {
            i.slaves = i.slaves.saturating_sub(1);
            if i.slaves == 0 {
                i.other_closed = true;
            }
        }
    }
}

impl Pty {
    /// Its number (`/dev/pts/N`, `TIOCGPTN`).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The wait id of both ends.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// A new slave open file (`/dev/pts/N`, `/dev/tty`, `TIOCGPTPEER`): `EIO` while locked
    /// or after hangup.
    pub fn open_slave(
        self: &Arc<Self>,
        dentry: Option<Dentry>,
        flags: OFlags,
    ) -> Result<FileRef, Errno> {
        let mut i = self.inner.lock();
        if i.locked || i.hung_up {
            return Err(Errno::EIO);
        }
        i.slaves += 1;
        i.other_closed = false;
        drop(i);
        let end = PtyEnd {
            pty: self.clone(),
            master: false,
        };
        Ok(OpenFile::new(dentry, FileKind::Pty(end), flags))
    }

    /// `TIOCSPTLCK`.
    pub fn set_locked(&self, locked: bool) {
        self.inner.lock().locked = locked;
    }

    /// `TIOCGPTLCK`.
    pub fn locked(&self) -> bool {
        self.inner.lock().locked
    }

    /// Whether the master has closed.
    pub fn hung_up(&self) -> bool {
        self.inner.lock().hung_up
    }

    /// The session it controls and its foreground group (0: none).
    pub fn session_pgrp(&self) -> (i32, i32) {
        let i = self.inner.lock();
        (i.session, i.pgrp)
    }

    /// Becomes (or stops being, with 0) the controlling terminal of `session`, with
    /// foreground group `pgrp`.
    pub fn set_session(&self, session: i32, pgrp: i32) {
        let mut i = self.inner.lock();
        i.session = session;
        i.pgrp = pgrp;
    }

    /// `TIOCSPGRP` (checked by the caller).
    pub fn set_pgrp(&self, pgrp: i32) {
        self.inner.lock().pgrp = pgrp;
    }

    /// Sends `signo` to the foreground group (`SIGHUP` when the session leader exits).
    pub fn signal_foreground(&self, signo: i32) {
        let g = self.inner.lock().pgrp;
        if g > 0 {
            self.devpts.queue(SignalTarget::Group(g), signo);
        }
    }

    fn queue_typed_signals(&self, i: &mut PtyInner) {
        for s in std::mem::take(&mut i.ld.signals) {
            if i.pgrp > 0 {
                self.devpts.queue(SignalTarget::Group(i.pgrp), s);
            }
        }
    }

    pub(crate) fn read(&self, master: bool, out: &mut [u8]) -> Result<usize, Errno> {
        let mut i = self.inner.lock();
        if master {
            if i.ld.output.is_empty() {
                return Err(if i.other_closed {
                    Errno::EIO
                } else {
                    Errno::EAGAIN
                });
            }
            let n = out.len().min(i.ld.output.len());
            for (d, s) in out.iter_mut().zip(i.ld.output.drain(..n)) {
                *d = s;
            }
            return Ok(n);
        }
        if i.hung_up {
            return Ok(0);
        }
        if out.is_empty() {
            return Ok(0);
        }
        if i.ld.canonical() {
            if !i.ld.has_input() {
                return Err(Errno::EAGAIN);
            }
            return Ok(i.ld.read(out));
        }
        let (min, time) = i.ld.min_time();
        let avail = i.ld.readable_len();
        let want = usize::from(min).clamp(1, out.len());
        let now = Instant::now();
        let expired = i.read_deadline.is_some_and(|at| now >= at);
        if avail >= want || (min == 0 && time == 0) || expired {
            i.read_deadline = None;
            return Ok(i.ld.read(out));
        }
        // VTIME counts from the read (VMIN 0) or from the last byte received (VMIN > 0).
        if time > 0 && (min == 0 || avail > 0) && i.read_deadline.is_none() {
            i.read_deadline = Some(now + Duration::from_millis(u64::from(time) * 100));
        }
        Err(Errno::EAGAIN)
    }

    pub(crate) fn write(&self, master: bool, data: &[u8]) -> Result<usize, Errno> {
        let mut i = self.inner.lock();
        if master {
            let n = i.ld.receive(data);
            if n > 0 && i.ld.min_time().0 > 0 {
                i.read_deadline = None;
            }
            self.queue_typed_signals(&mut i);
            return if n == 0 { Err(Errno::EAGAIN) } else { Ok(n) };
        }
        if i.hung_up {
            return Err(Errno::EIO);
        }
        match i.ld.write(data) {
            0 => Err(Errno::EAGAIN),
            n => Ok(n),
        }
    }

    /// When a waiting non-canonical read gives up (`VTIME`).
    pub(crate) fn read_deadline(&self) -> Option<Instant> {
        self.inner.lock().read_deadline
    }

    pub(crate) fn poll(&self, master: bool) -> PollEvents {
        let i = self.inner.lock();
        if master {
            PollEvents {
                readable: !i.ld.output.is_empty(),
                writable: i.ld.input_room() > 0,
                hangup: i.other_closed,
                error: false,
                rdhup: false,
                seq: None,
            }
        } else if i.hung_up {
            PollEvents {
                readable: true,
                writable: true,
                hangup: true,
                error: true,
                rdhup: false,
                seq: None,
            }
        } else {
            PollEvents {
                readable: i.ld.has_input(),
                writable: i.ld.output.len() < OUTPUT_MAX / 2,
                hangup: false,
                error: false,
                rdhup: false,
                seq: None,
            }
        }
    }

    /// `FIONREAD` (`TIOCINQ`): bytes a read would find.
    pub(crate) fn readable_len(&self, master: bool) -> usize {
        let i = self.inner.lock();
        if master {
            i.ld.output.len()
        } else {
            i.ld.readable_len()
        }
    }

    /// `TIOCOUTQ`: bytes written and not yet read by the other side.
    pub fn output_len(&self, master: bool) -> usize {
        self.readable_len(!master)
    }

    fn live(&self, master: bool) -> Result<parking_lot::MutexGuard<'_, PtyInner>, Errno> {
        let i = self.inner.lock();
        if !master && i.hung_up {
            return Err(Errno::EIO);
        }
        Ok(i)
    }

    pub(crate) fn tcgets(&self, master: bool) -> Result<Termios, Errno> {
        Ok(self.live(master)?.ld.termios)
    }

    pub(crate) fn tcsets(
        &self,
        master: bool,
        when: crate::TcsetWhen,
        t: &Termios,
    ) -> Result<(), Errno> {
        let mut i = self.live(master)?;
        if when == crate::TcsetWhen::Flush {
            i.ld.flush_input();
        }
        i.ld.set_termios(t);
        i.read_deadline = None;
        Ok(())
    }

    pub(crate) fn winsize(&self, master: bool) -> Result<Winsize, Errno> {
        Ok(self.live(master)?.winsize)
    }

    /// `TIOCSWINSZ`: a change sends `SIGWINCH` to the foreground group.
    pub(crate) fn set_winsize(&self, master: bool, w: &Winsize) -> Result<(), Errno> {
        let mut i = self.live(master)?;
        if i.winsize != *w {
            i.winsize = *w;
            if i.pgrp > 0 {
                self.devpts
                    .queue(SignalTarget::Group(i.pgrp), sig::SIGWINCH);
            }
        }
        Ok(())
    }

    /// `TCFLSH`: 0 input, 1 output, 2 both (as seen from the end `master` says).
    pub fn flush(&self, master: bool, queue: i32) -> Result<(), Errno> {
        let mut i = self.live(master)?;
        let (input, output) = match queue {
            0 => (true, false),
            1 => (false, true),
            2 => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        // The master's input is the slave's output.
        let (slave_in, slave_out) = if master {
            (output, input)
        } else {
            (input, output)
        };
        if slave_in {
            i.ld.flush_input();
        }
        if slave_out {
            i.ld.output.clear();
        }
        Ok(())
    }
}
