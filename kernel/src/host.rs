//! The host side of the console: signals the user sends to `uml` (Ctrl-C, Ctrl-\, Ctrl-Z,
//! window changes, `kill`) become guest signals, and a host stream a guest reads from
//! (stdin, a tty) is waited for without stalling the kernel.
//!
//! A helper thread takes the host signals with `sigwait` (the kernel thread keeps them
//! blocked), queues them, and wakes the kernel through a pipe the idle loop polls.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};

/// Host signals forwarded to the guest.
const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTSTP,
    Signal::SIGWINCH,
    Signal::SIGTERM,
    Signal::SIGHUP,
];

/// How often a running kernel looks at watched host streams.
pub(crate) const STREAM_CHECK: Duration = Duration::from_millis(5);

/// Host signals received and not yet handled, and the pipe that wakes an idle kernel.
pub(crate) struct HostSignals {
    pending: Arc<Mutex<Vec<i32>>>,
    flag: Arc<AtomicBool>,
    wake_read: OwnedFd,
    /// When the kernel last polled its watched host streams.
    pub(crate) last_stream_check: Instant,
}

impl HostSignals {
    /// Blocks the forwarded signals in the calling (kernel) thread and starts the thread
    /// that receives them. Must run before any other thread is started.
    pub(crate) fn start() -> std::io::Result<HostSignals> {
        let mut set = SigSet::empty();
        for s in FORWARDED {
            set.add(s);
        }
        set.thread_block()?;
        let (wake_read, wake_write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)?;
        let pending = Arc::new(Mutex::new(Vec::new()));
        let flag = Arc::new(AtomicBool::new(false));
        let (p, f) = (pending.clone(), flag.clone());
        std::thread::Builder::new()
            .name("uml-host-signals".into())
            .spawn(move || loop {
                let Ok(sig) = set.wait() else { continue };
                if let Ok(mut q) = p.lock() {
                    q.push(sig as i32);
                }
                f.store(true, Ordering::Release);
                let _ = nix::unistd::write(&wake_write, &[1]);
            })?;
        Ok(HostSignals {
            pending,
            flag,
            wake_read,
            last_stream_check: nondet::ktime_get(),
        })
    }

    /// The signals received since the last call (cheap when there are none).
    pub(crate) fn take(&self) -> Vec<i32> {
        // A plain load first: the common case (no signal) takes no locked instruction.
        if !self.flag.load(Ordering::Relaxed) || !self.flag.swap(false, Ordering::Acquire) {
            return Vec::new();
        }
        let mut buf = [0u8; 64];
        while matches!(nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&self.wake_read), &mut buf), Ok(n) if n > 0)
        {
        }
        self.pending
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }

    /// The descriptor that becomes readable when a host signal arrives.
    pub(crate) fn wake_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.wake_read.as_fd()
    }
}
