//! Unit tests: FIFOs (open rules, one pipe per inode, what is left when every end closes)
//! and `mknod`'s node types.
#![allow(clippy::unwrap_used)]

use std::io::{IoSlice, IoSliceMut};

use abi::flags::mode::{S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT};
use abi::flags::OFlags;
use abi::Errno;

use crate::tests::{vfs, TempDir};
use crate::{FileRef, NodeType, Vfs};

fn scratch(tag: &str) -> (TempDir, Vfs) {
    let t = TempDir::new(tag);
    let v = vfs(t.path(), false);
    v.mknod(&v.root(), b"/p", NodeType::Fifo, 0o644, false)
        .unwrap();
    (t, v)
}

fn open(v: &Vfs, path: &[u8], flags: OFlags) -> Result<FileRef, Errno> {
    v.open(&v.root(), path, flags, 0)
}

fn read(f: &FileRef) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; 64];
    let n = f.read(&mut [IoSliceMut::new(&mut buf)])?;
    buf.truncate(n);
    Ok(buf)
}

#[test]
fn fifo_open_rules() {
    let (_t, v) = scratch("fifo-open");
    let st = v.stat(&v.root(), b"/p", false).unwrap();
    assert_eq!(st.st_mode, S_IFIFO | 0o644);
    let nb = OFlags::NONBLOCK;
    assert_eq!(
        open(&v, b"/p", OFlags::WRONLY | nb).err(),
        Some(Errno::ENXIO)
    );
    // A blocking reader waits for a writer; it is a reader meanwhile.
    let r = open(&v, b"/p", OFlags::empty()).unwrap();
    assert!(r.is_fifo() && r.fifo_partner_missing());
    let w = open(&v, b"/p", OFlags::WRONLY | nb).unwrap();
    assert!(!r.fifo_partner_missing() && !w.fifo_partner_missing());
    assert_eq!(r.wait_id(), w.wait_id());
    w.write(&[IoSlice::new(b"abc")]).unwrap();
    drop(w);
    assert_eq!(read(&r).unwrap(), b"abc");
    assert_eq!(read(&r).unwrap(), b"");
    // A writer that came and went still counts for a reader that waited.
    assert!(!r.fifo_partner_missing());
    drop(r);
    // A blocking writer with a reader present does not wait; O_RDWR never does.
    let r = open(&v, b"/p", nb).unwrap();
    assert!(!open(&v, b"/p", OFlags::WRONLY)
        .unwrap()
        .fifo_partner_missing());
    drop(r);
    let rw = open(&v, b"/p", OFlags::RDWR).unwrap();
    assert!(!rw.fifo_partner_missing());
    assert_eq!(rw.lseek(0, 0).err(), Some(Errno::ESPIPE));
    assert_eq!(rw.stat().unwrap().st_ino, st.st_ino);
    rw.write(&[IoSlice::new(b"stale")]).unwrap();
    drop(rw);
    // Nothing is left once every end is closed.
    let r = open(&v, b"/p", nb).unwrap();
    assert_eq!(read(&r).unwrap(), b"");
    assert_eq!(
        open(&v, b"/p", OFlags::from_bits_retain(3)).err(),
        Some(Errno::EINVAL)
    );
}

#[test]
fn mknod_types_and_devices() {
    let (_t, v) = scratch("fifo-mknod");
    assert_eq!(NodeType::of(S_IFDIR, 0), Err(Errno::EPERM));
    assert_eq!(NodeType::of(S_IFMT, 0), Err(Errno::EINVAL));
    assert_eq!(NodeType::of(0, 0), Ok(NodeType::Regular));
    // 1:3 in Linux's 32-bit encoding, and 240:7.
    let null = NodeType::of(S_IFCHR, 0x103).unwrap();
    assert_eq!(null, NodeType::Char(1, 3));
    let root = v.root();
    assert_eq!(
        v.mknod(&root, b"/p", NodeType::Fifo, 0o600, true).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(
        v.mknod(&root, b"/none/p", NodeType::Fifo, 0o600, true)
            .err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        v.mknod(&root, b"/null", null, 0o666, false).err(),
        Some(Errno::EPERM)
    );
    v.mknod(&root, b"/null", null, 0o666, true).unwrap();
    let f = open(&v, b"/null", OFlags::RDWR).unwrap();
    assert_eq!(f.write(&[IoSlice::new(b"gone")]).unwrap(), 4);
    assert_eq!(read(&f).unwrap(), b"");
    v.mknod(&root, b"/odd", NodeType::Char(240, 7), 0o600, true)
        .unwrap();
    let st = v.stat(&root, b"/odd", false).unwrap();
    assert_eq!(st.st_rdev, abi::structs::makedev(240, 7));
    assert_eq!(open(&v, b"/odd", OFlags::empty()).err(), Some(Errno::ENXIO));
    v.mknod(&root, b"/blk", NodeType::Block(1, 3), 0o600, true)
        .unwrap();
    assert_eq!(open(&v, b"/blk", OFlags::empty()).err(), Some(Errno::ENXIO));
    v.mknod(&root, b"/sock", NodeType::Socket, 0o600, false)
        .unwrap();
    assert_eq!(
        open(&v, b"/sock", OFlags::empty()).err(),
        Some(Errno::ENXIO)
    );
}
