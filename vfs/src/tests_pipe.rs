//! Unit tests: pipes, times, directory positions after a failed copy, open flag checks,
//! socket names and kernel objects behind open files.
#![allow(clippy::unwrap_used)]

use std::io::{IoSlice, IoSliceMut};

use abi::flags::OFlags;
use abi::structs::Timespec;
use abi::Errno;

use crate::tests::{vfs, TempDir, ROOT};
use crate::{Vfs, PIPE_BUF, PIPE_CAPACITY, UTIME_NOW, UTIME_OMIT};

fn scratch(tag: &str) -> (TempDir, Vfs) {
    let t = TempDir::new(tag);
    std::fs::create_dir_all(t.path().join("d")).unwrap();
    std::fs::write(t.path().join("f"), b"data").unwrap();
    let v = vfs(t.path(), false);
    (t, v)
}

fn read(f: &crate::FileRef, n: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; n];
    let k = f.read(&mut [IoSliceMut::new(&mut buf)])?;
    buf.truncate(k);
    Ok(buf)
}

fn write(f: &crate::FileRef, data: &[u8]) -> Result<usize, Errno> {
    f.write(&[IoSlice::new(data)])
}

#[test]
fn pipe_moves_data_in_order_and_reports_state() {
    let (_t, v) = scratch("p1");
    let (r, w) = v.pipe(OFlags::empty()).unwrap();
    assert_eq!(r.wait_id(), w.wait_id());
    assert!(r.wait_id().is_some());
    assert!(!r.poll_ready().readable);
    assert!(w.poll_ready().writable);
    assert_eq!(write(&w, b"hello").unwrap(), 5);
    assert_eq!(
        w.write(&[IoSlice::new(b" "), IoSlice::new(b"world")])
            .unwrap(),
        6
    );
    assert_eq!(r.fionread().unwrap(), 11);
    assert!(r.poll_ready().readable);
    assert_eq!(read(&r, 3).unwrap(), b"hel");
    let (mut a, mut b) = ([0u8; 2], [0u8; 10]);
    let n = r
        .read(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
        .unwrap();
    assert_eq!(n, 8);
    assert_eq!(&a, b"lo");
    assert_eq!(&b[..6], b" world");
    // Empty with a writer: EAGAIN (the syscall layer blocks).
    assert_eq!(read(&r, 4), Err(Errno::EAGAIN));
    // Wrong ends.
    assert_eq!(write(&r, b"x"), Err(Errno::EBADF));
    assert_eq!(read(&w, 1), Err(Errno::EBADF));
    // Not seekable.
    assert_eq!(r.lseek(0, 0), Err(Errno::ESPIPE));
    assert_eq!(
        r.pread(&mut [IoSliceMut::new(&mut a)], 0),
        Err(Errno::ESPIPE)
    );
    assert_eq!(w.pwrite(&[IoSlice::new(b"x")], 0), Err(Errno::ESPIPE));
    assert!(!r.is_seekable());
    let st = r.stat().unwrap();
    assert_eq!(st.st_mode, abi::flags::mode::S_IFIFO | 0o600);
    assert_eq!(st.st_blksize, 4096);
    assert_eq!(st.st_ino, w.stat().unwrap().st_ino);
    assert_eq!(r.flags().bits() & OFlags::ACCMODE, 0);
    assert_eq!(w.flags().bits() & OFlags::ACCMODE, 1);
    // Another pipe is another object.
    let (r2, _w2) = v.pipe(OFlags::NONBLOCK).unwrap();
    assert_ne!(r2.wait_id(), r.wait_id());
    assert!(r2.flags().contains(OFlags::NONBLOCK));
    assert_eq!(v.pipe(OFlags::APPEND).err(), Some(Errno::EINVAL));
}

#[test]
fn pipe_capacity_and_pipe_buf_atomicity() {
    let (_t, v) = scratch("p2");
    let (r, w) = v.pipe(OFlags::NONBLOCK).unwrap();
    // A big write fills the 16 page slots and returns the partial count.
    let big = vec![7u8; PIPE_CAPACITY + 1000];
    assert_eq!(write(&w, &big).unwrap(), PIPE_CAPACITY);
    assert_eq!(write(&w, b"x"), Err(Errno::EAGAIN));
    assert!(!w.poll_ready().writable);
    assert_eq!(r.fionread().unwrap() as usize, PIPE_CAPACITY);
    // Reading part of a page frees no slot (as Linux): small writes still do not fit.
    assert_eq!(read(&r, 100).unwrap().len(), 100);
    assert_eq!(write(&w, &[1u8; 200]), Err(Errno::EAGAIN));
    assert_eq!(write(&w, &[1u8; 100]), Err(Errno::EAGAIN));
    assert_eq!(r.fionread().unwrap() as usize, PIPE_CAPACITY - 100);
    // Emptying the first page frees its slot: POLLOUT, and a small write fits.
    assert_eq!(read(&r, PIPE_BUF - 100).unwrap().len(), PIPE_BUF - 100);
    assert!(w.poll_ready().writable);
    assert_eq!(write(&w, &[1u8; 200]).unwrap(), 200);
    // Small writes merge into the last page.
    assert_eq!(write(&w, &[2u8; 100]).unwrap(), 100);
    assert!(!w.poll_ready().writable);
    // A write over PIPE_BUF may go in partly: its odd 904 bytes top up the last page.
    assert_eq!(write(&w, &[3u8; 5000]).unwrap(), 904);
    // A PIPE_BUF write is atomic: nothing fits whole, so nothing goes in.
    assert_eq!(write(&w, &[4u8; PIPE_BUF]), Err(Errno::EAGAIN));
    // Drain: order kept.
    let mut all = Vec::new();
    loop {
        match read(&r, 10_000) {
            Ok(b) => all.extend(b),
            Err(Errno::EAGAIN) => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    let head = PIPE_CAPACITY - PIPE_BUF;
    assert_eq!(all.len(), head + 1204);
    assert!(all[..head].iter().all(|&b| b == 7));
    assert!(all[head..head + 200].iter().all(|&b| b == 1));
    assert!(all[head + 200..head + 300].iter().all(|&b| b == 2));
    assert!(all[head + 300..].iter().all(|&b| b == 3));
    // Zero-length transfers are no-ops.
    assert_eq!(write(&w, b"").unwrap(), 0);
    assert_eq!(read(&r, 0).unwrap().len(), 0);
}

#[test]
fn pipe_eof_after_last_writer_and_epipe_after_last_reader() {
    let (_t, v) = scratch("p3");
    let (r, w) = v.pipe(OFlags::empty()).unwrap();
    let w2 = w.clone(); // a dup'ed descriptor: the same open file
    write(&w, b"tail").unwrap();
    drop(w);
    assert_eq!(read(&r, 2).unwrap(), b"ta");
    assert_eq!(read(&r, 10), Ok(b"il".to_vec()));
    assert_eq!(read(&r, 10), Err(Errno::EAGAIN)); // w2 still open
    assert!(!r.poll_ready().hangup);
    drop(w2);
    assert_eq!(read(&r, 10), Ok(Vec::new())); // EOF
                                              // Linux's pipe_poll: an empty pipe without writers is POLLHUP only.
    assert!(!r.poll_ready().readable);
    assert!(r.poll_ready().hangup);

    let (r, w) = v.pipe(OFlags::empty()).unwrap();
    drop(r);
    assert_eq!(write(&w, b"x"), Err(Errno::EPIPE));
    assert!(w.poll_ready().error);
    // ... and a write end without readers is POLLOUT|POLLERR while there is room.
    assert!(w.poll_ready().writable);
}

#[test]
fn regular_files_are_always_ready_and_have_no_wait_id() {
    let (_t, v) = scratch("p4");
    let f = v.open(&v.root(), b"/f", OFlags::RDWR, 0).unwrap();
    assert_eq!(f.wait_id(), None);
    let p = f.poll_ready();
    assert!(p.readable && p.writable && !p.hangup && !p.error);
}

fn ts(sec: i64, nsec: i64) -> Timespec {
    Timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    }
}

#[test]
fn utimens_on_overlay_copies_up_and_leaves_host_alone() {
    let (t, v) = scratch("t1");
    let r = v.root();
    let host_before = std::fs::metadata(t.path().join("f")).unwrap();
    v.utimens(&r, b"/f", ts(1000, 5), ts(2000, 6), true)
        .unwrap();
    let st = v.stat(&r, b"/f", true).unwrap();
    assert_eq!((st.st_atime, st.st_atime_nsec), (1000, 5));
    assert_eq!((st.st_mtime, st.st_mtime_nsec), (2000, 6));
    assert!(st.st_ctime >= host_before_ctime(&host_before));
    // Omit keeps one time; now sets it to the present.
    v.utimens(&r, b"/f", ts(0, UTIME_OMIT), ts(0, UTIME_NOW), true)
        .unwrap();
    let st2 = v.stat(&r, b"/f", true).unwrap();
    assert_eq!((st2.st_atime, st2.st_atime_nsec), (1000, 5));
    assert!(st2.st_mtime > 1_600_000_000);
    // Directories too.
    v.utimens(&r, b"/d", ts(3000, 0), ts(4000, 0), true)
        .unwrap();
    assert_eq!(v.stat(&r, b"/d", true).unwrap().st_mtime, 4000);
    // Bad nanoseconds.
    assert_eq!(
        v.utimens(&r, b"/f", ts(0, 1_000_000_000), ts(0, 0), true),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        v.utimens(&r, b"/f", ts(0, -1), ts(0, 0), true),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        v.utimens(&r, b"/missing", ts(0, 0), ts(0, 0), true),
        Err(Errno::ENOENT)
    );
    // The host never changed.
    let host_after = std::fs::metadata(t.path().join("f")).unwrap();
    assert_eq!(
        host_before.modified().unwrap(),
        host_after.modified().unwrap()
    );
    assert_eq!(std::fs::read(t.path().join("f")).unwrap(), b"data");
    // Through an open file.
    let f = v.open(&r, b"/f", OFlags::empty(), 0).unwrap();
    f.utimens(ts(0, UTIME_OMIT), ts(77, 0), &ROOT).unwrap();
    assert_eq!(f.stat().unwrap().st_mtime, 77);
    let p = v.open(&r, b"/f", OFlags::PATH, 0).unwrap();
    assert_eq!(p.utimens(ts(1, 0), ts(1, 0), &ROOT), Err(Errno::EBADF));
    // Symlinks without following.
    v.symlink(b"f", &r, b"/l").unwrap();
    v.utimens(&r, b"/l", ts(5, 0), ts(6, 0), false).unwrap();
    assert_eq!(v.stat(&r, b"/l", false).unwrap().st_mtime, 6);
    assert_eq!(v.stat(&r, b"/f", true).unwrap().st_mtime, 77);
}

fn host_before_ctime(m: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    m.ctime()
}

#[test]
fn utimens_rw_sets_host_times() {
    let t = TempDir::new("t2");
    std::fs::write(t.path().join("f"), b"x").unwrap();
    std::fs::create_dir(t.path().join("d")).unwrap();
    std::os::unix::fs::symlink("f", t.path().join("l")).unwrap();
    let v = vfs(t.path(), true);
    let r = v.root();
    v.utimens(&r, b"/f", ts(1111, 0), ts(2222, 0), true)
        .unwrap();
    v.utimens(&r, b"/d", ts(3333, 0), ts(4444, 0), true)
        .unwrap();
    v.utimens(&r, b"/l", ts(5555, 0), ts(6666, 0), false)
        .unwrap();
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(t.path().join("f")).unwrap();
    assert_eq!((m.atime(), m.mtime()), (1111, 2222));
    assert_eq!(std::fs::metadata(t.path().join("d")).unwrap().mtime(), 4444);
    assert_eq!(
        std::fs::symlink_metadata(t.path().join("l"))
            .unwrap()
            .mtime(),
        6666
    );
    assert_eq!(std::fs::metadata(t.path().join("f")).unwrap().mtime(), 2222);
}

#[test]
fn getdents_position_survives_a_failed_copy() {
    let (_t, v) = scratch("g1");
    let f = v.open(&v.root(), b"/", OFlags::DIRECTORY, 0).unwrap();
    let first = f.getdents64(4096).unwrap();
    assert!(!first.is_empty());
    let g = v.open(&v.root(), b"/", OFlags::DIRECTORY, 0).unwrap();
    assert_eq!(
        g.getdents64_with(4096, |_| Err(Errno::EFAULT)),
        Err(Errno::EFAULT)
    );
    let mut again = Vec::new();
    let n = g
        .getdents64_with(4096, |b| {
            again = b.to_vec();
            Ok(())
        })
        .unwrap();
    assert_eq!(n, again.len());
    assert_eq!(again, first);
}

#[test]
fn open_flag_checks_match_linux() {
    let (_t, v) = scratch("o1");
    let r = v.root();
    let flags = OFlags::DIRECTORY | OFlags::CREAT;
    assert_eq!(v.open(&r, b"/d", flags, 0o644).err(), Some(Errno::EINVAL));
    assert_eq!(v.open(&r, b"/new", flags, 0o644).err(), Some(Errno::EINVAL));
    assert_eq!(
        v.open(&r, b"/d", OFlags::TRUNC, 0).err(),
        Some(Errno::EISDIR)
    );
    assert!(v.open(&r, b"/d", OFlags::PATH | OFlags::TRUNC, 0).is_ok());
}

/// A stand-in kernel object for the socket-name tests.
struct Dummy;

impl crate::FileObject for Dummy {
    fn read(&self, _: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        Err(Errno::EAGAIN)
    }
    fn write(&self, b: &[IoSlice<'_>]) -> Result<usize, Errno> {
        Ok(b.iter().map(|s| s.len()).sum())
    }
    fn poll(&self, _: &crate::Poller) -> crate::PollEvents {
        crate::PollEvents::READY
    }
    fn wait_id(&self) -> u64 {
        7
    }
    fn lseek(&self) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }
    fn stat(&self) -> abi::structs::Stat {
        abi::structs::Stat::default()
    }
}

#[test]
fn socket_names_stay_in_the_overlay() {
    let (t, v) = scratch("sock");
    let obj: crate::Arc<dyn crate::FileObject> = crate::Arc::new(Dummy);
    let root = v.root();
    let at = "/d/s.sock".to_string();
    v.bind_socket(&root, at.as_bytes(), 0o755, crate::Arc::downgrade(&obj))
        .unwrap();
    assert_eq!(
        v.bind_socket(&root, at.as_bytes(), 0o755, crate::Arc::downgrade(&obj)),
        Err(Errno::EADDRINUSE)
    );
    let st = v.stat(&root, at.as_bytes(), false).unwrap();
    assert_eq!(st.st_mode, abi::flags::mode::S_IFSOCK | 0o755);
    assert!(
        !t.path().join("d/s.sock").exists(),
        "a socket reached the host"
    );
    assert!(v.socket_at(&root, at.as_bytes()).is_ok());
    assert_eq!(
        v.open(&root, at.as_bytes(), OFlags::RDWR, 0).err(),
        Some(Errno::ENXIO)
    );
    let f = "/f";
    assert_eq!(
        v.socket_at(&root, f.as_bytes()).err(),
        Some(Errno::ECONNREFUSED)
    );
    // Abstract names are free again once their socket is gone.
    v.bind_abstract(b"\0n", crate::Arc::downgrade(&obj))
        .unwrap();
    assert_eq!(
        v.bind_abstract(b"\0n", crate::Arc::downgrade(&obj)),
        Err(Errno::EADDRINUSE)
    );
    let file = v.open_object(obj.clone(), OFlags::RDWR);
    assert_eq!(file.wait_id(), Some(7));
    assert_eq!(write(&file, b"abc"), Ok(3));
    assert_eq!(file.lseek(0, 0), Err(Errno::ESPIPE));
    drop(file);
    drop(obj);
    assert_eq!(
        v.socket_at(&root, at.as_bytes()).err(),
        Some(Errno::ECONNREFUSED)
    );
    assert_eq!(v.abstract_socket(b"\0n").err(), Some(Errno::ECONNREFUSED));
    let other: crate::Arc<dyn crate::FileObject> = crate::Arc::new(Dummy);
    v.bind_abstract(b"\0n", crate::Arc::downgrade(&other))
        .unwrap();
}
