//! Unit tests of ptys through the file system: `/dev/ptmx`, `/dev/pts/N`, locking, data and
//! echo both ways, signals queued for the kernel, hangup.
#![allow(clippy::unwrap_used)]

use std::io::{IoSlice, IoSliceMut};

use abi::flags::OFlags;
use abi::signal::sig;
use abi::Errno;

use crate::tests::{vfs, TempDir};
use crate::{FileRef, SignalTarget, TtySignal, Vfs};

fn open(v: &Vfs, path: &str) -> Result<FileRef, Errno> {
    v.open(&v.root(), path.as_bytes(), OFlags::RDWR | OFlags::NOCTTY, 0)
}

fn read(f: &FileRef) -> Result<Vec<u8>, Errno> {
    let mut buf = [0u8; 64];
    let n = f.read(&mut [IoSliceMut::new(&mut buf)])?;
    Ok(buf[..n].to_vec())
}

fn write(f: &FileRef, data: &[u8]) -> Result<usize, Errno> {
    f.write(&[IoSlice::new(data)])
}

#[test]
fn ptmx_allocates_a_locked_slave_that_goes_away_with_the_master() {
    let t = TempDir::new("pty");
    let v = vfs(t.path(), false);
    let m = open(&v, "/dev/ptmx").unwrap();
    let (pty, master) = m.pty().unwrap();
    assert!(master);
    let name = format!("/dev/pts/{}", pty.index());
    assert_eq!(open(&v, &name).unwrap_err(), Errno::EIO);
    pty.set_locked(false);
    let s = open(&v, &name).unwrap();
    assert_eq!(s.pty().map(|(_, m)| m), Some(false));
    // Typed input is echoed and read as a line.
    assert_eq!(write(&m, b"hi\r").unwrap(), 3);
    assert_eq!(read(&s).unwrap(), b"hi\n");
    assert_eq!(read(&m).unwrap(), b"hi\r\n");
    assert_eq!(read(&s).unwrap_err(), Errno::EAGAIN);
    // Output is processed.
    assert_eq!(write(&s, b"a\nb").unwrap(), 3);
    assert_eq!(read(&m).unwrap(), b"a\r\nb");
    // ^C raises SIGINT for the foreground group.
    pty.set_session(7, 9);
    write(&m, b"\x03").unwrap();
    let want = TtySignal {
        to: SignalTarget::Group(9),
        signo: sig::SIGINT,
    };
    assert_eq!(v.take_tty_signals(), vec![want]);
    assert!(v.take_tty_signals().is_empty());
    // Hangup: the session leader is told, the slave reads end of file, writes fail, and
    // the name is gone.
    drop(m);
    let sent: Vec<i32> = v.take_tty_signals().iter().map(|s| s.signo).collect();
    assert_eq!(sent, vec![sig::SIGHUP, sig::SIGCONT]);
    assert_eq!(read(&s).unwrap(), b"");
    assert_eq!(write(&s, b"x").unwrap_err(), Errno::EIO);
    assert_eq!(open(&v, &name).unwrap_err(), Errno::ENOENT);
}

#[test]
fn master_reads_eio_once_the_slave_closed() {
    let t = TempDir::new("pty");
    let v = vfs(t.path(), false);
    let m = open(&v, "/dev/pts/ptmx").unwrap();
    let (pty, _) = m.pty().unwrap();
    pty.set_locked(false);
    let s = open(&v, &format!("/dev/pts/{}", pty.index())).unwrap();
    assert_eq!(read(&m).unwrap_err(), Errno::EAGAIN);
    write(&s, b"x").unwrap();
    drop(s);
    assert_eq!(read(&m).unwrap(), b"x");
    assert_eq!(read(&m).unwrap_err(), Errno::EIO);
    assert!(m.poll_ready().hangup);
}
