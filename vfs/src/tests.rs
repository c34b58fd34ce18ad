//! Unit tests: overlay isolation, copy-up, whiteouts, path-walk confinement, rw mode, devfs.
#![allow(clippy::unwrap_used)]

use std::io::{IoSlice, IoSliceMut};
use std::path::{Path, PathBuf};

use abi::flags::OFlags;
use abi::Errno;

use crate::{At, FileRef, FsCred, NoProcs, Vfs, VfsConfig};

/// A temporary host directory, removed on drop (shared with the other vfs test modules).
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "uml-vfs-{}-{}-{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A host tree: a/x.txt ("hello"), a/b/, a/b/y, top.txt.
fn tree(tag: &str) -> TempDir {
    let t = TempDir::new(tag);
    let p = t.path();
    std::fs::create_dir_all(p.join("a/b")).unwrap();
    std::fs::write(p.join("a/x.txt"), b"hello").unwrap();
    std::fs::write(p.join("a/b/y"), b"yy").unwrap();
    std::fs::write(p.join("top.txt"), b"top").unwrap();
    t
}

/// A caller with every file capability (fsuid 0).
pub(super) const ROOT: FsCred<'static> = FsCred {
    fsuid: 0,
    fsgid: 0,
    groups: &[],
    landlock: None,
};

pub(super) fn vfs(root: &Path, rw: bool) -> Vfs {
    Vfs::new(VfsConfig {
        root: root.to_path_buf(),
        rw,
        uid: 0,
        gid: 0,
        binds: Vec::new(),
    })
    .unwrap()
}

fn read_all(f: &FileRef) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut buf = [0u8; 3];
        let n = f.read(&mut [IoSliceMut::new(&mut buf)]).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn cat(v: &Vfs, path: &str) -> Result<Vec<u8>, Errno> {
    let f = v.open(&v.root(), path.as_bytes(), OFlags::empty(), 0)?;
    Ok(read_all(&f))
}

fn write_file(v: &Vfs, path: &str, data: &[u8], flags: OFlags) -> Result<(), Errno> {
    let f = v.open(
        &v.root(),
        path.as_bytes(),
        OFlags::WRONLY | OFlags::CREAT | flags,
        0o644,
    )?;
    assert_eq!(f.write(&[IoSlice::new(data)])?, data.len());
    Ok(())
}

/// Every entry name of a directory, through getdents64 with a small buffer.
fn list(v: &Vfs, path: &str) -> Vec<String> {
    let f = v
        .open(&v.root(), path.as_bytes(), OFlags::DIRECTORY, 0)
        .unwrap();
    let mut names = Vec::new();
    loop {
        let buf = f.getdents64(64).unwrap();
        if buf.is_empty() {
            break;
        }
        let mut i = 0;
        while i < buf.len() {
            let reclen = u16::from_ne_bytes([buf[i + 16], buf[i + 17]]) as usize;
            let name = &buf[i + 19..i + reclen];
            let end = name.iter().position(|&c| c == 0).unwrap();
            names.push(String::from_utf8_lossy(&name[..end]).into_owned());
            i += reclen;
        }
    }
    names.sort();
    names
}

/// Snapshot of every file and its content under a host dir.
fn host_snapshot(p: &Path) -> Vec<(PathBuf, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            let content = if m.is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            if m.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path(), content, m.permissions().mode()));
        }
    }
    out.sort();
    out
}

#[test]
fn overlay_never_touches_host() {
    let t = tree("iso");
    let before = host_snapshot(t.path());
    let v = vfs(t.path(), false);
    let r = v.root();
    write_file(&v, "/a/x.txt", b"changed", OFlags::TRUNC).unwrap();
    write_file(&v, "/new.txt", b"new", OFlags::empty()).unwrap();
    v.mkdir(&r, b"/a/newdir", 0o755).unwrap();
    v.rename(&r, b"/top.txt", &r, b"/a/newdir/moved", 0)
        .unwrap();
    v.rename(&r, b"/a/b", &r, b"/bb", 0).unwrap();
    v.unlink(&r, b"/bb/y").unwrap();
    v.rmdir(&r, b"/bb").unwrap();
    v.chmod(&r, b"/a/x.txt", 0o600, true).unwrap();
    v.symlink(b"x.txt", &r, b"/a/link").unwrap();
    v.link(&r, b"/a/x.txt", &r, b"/a/hard", false).unwrap();
    v.truncate(&r, b"/a/hard", 2, u64::MAX).unwrap();
    // The guest sees its changes.
    assert_eq!(cat(&v, "/a/x.txt").unwrap(), b"ch");
    assert_eq!(cat(&v, "/a/link").unwrap(), b"ch");
    assert_eq!(cat(&v, "/a/newdir/moved").unwrap(), b"top");
    assert_eq!(v.stat(&r, b"/top.txt", false), Err(Errno::ENOENT));
    assert_eq!(v.stat(&r, b"/a/b", false), Err(Errno::ENOENT));
    assert_eq!(
        v.stat(&r, b"/a/x.txt", false).unwrap().st_mode & 0o777,
        0o600
    );
    assert_eq!(v.stat(&r, b"/a/x.txt", false).unwrap().st_nlink, 2);
    // The host does not.
    assert_eq!(host_snapshot(t.path()), before);
}

#[test]
fn copy_up_preserves_content_mode_and_times() {
    let t = tree("copyup");
    let v = vfs(t.path(), false);
    let r = v.root();
    let before = v.stat(&r, b"/a/x.txt", true).unwrap();
    let f = v.open(&r, b"/a/x.txt", OFlags::RDWR, 0).unwrap();
    let after = v.stat(&r, b"/a/x.txt", true).unwrap();
    assert_eq!(before.st_ino, after.st_ino);
    assert_eq!(before.st_mode, after.st_mode);
    assert_eq!(before.st_size, after.st_size);
    assert_eq!(before.st_mtime, after.st_mtime);
    assert_eq!(before.st_mtime_nsec, after.st_mtime_nsec);
    assert_eq!(read_all(&f), b"hello");
    f.write(&[IoSlice::new(b"!")]).unwrap();
    assert_eq!(cat(&v, "/a/x.txt").unwrap(), b"hello!");
    assert_eq!(std::fs::read(t.path().join("a/x.txt")).unwrap(), b"hello");
}

#[test]
fn whiteouts_hide_lower_files_in_listings() {
    let t = tree("wh");
    let v = vfs(t.path(), false);
    let r = v.root();
    assert_eq!(list(&v, "/a"), [".", "..", "b", "x.txt"]);
    v.unlink(&r, b"/a/x.txt").unwrap();
    write_file(&v, "/a/z", b"z", OFlags::empty()).unwrap();
    assert_eq!(list(&v, "/a"), [".", "..", "b", "z"]);
    assert_eq!(cat(&v, "/a/x.txt"), Err(Errno::ENOENT));
    // Re-creating over the whiteout shows the new file.
    write_file(&v, "/a/x.txt", b"again", OFlags::empty()).unwrap();
    assert_eq!(cat(&v, "/a/x.txt").unwrap(), b"again");
    // A directory removed and re-created is empty (opaque).
    v.unlink(&r, b"/a/b/y").unwrap();
    v.rmdir(&r, b"/a/b").unwrap();
    v.mkdir(&r, b"/a/b", 0o755).unwrap();
    assert_eq!(list(&v, "/a/b"), [".", ".."]);
}

#[test]
fn getdents_merges_and_is_stable() {
    let t = tree("dents");
    let v = vfs(t.path(), false);
    let r = v.root();
    v.mkdir(&r, b"/a/up", 0o755).unwrap();
    let f = v.open(&r, b"/a", OFlags::DIRECTORY, 0).unwrap();
    let first = f.getdents64(24).unwrap();
    assert_eq!(first.len(), 24); // "." only
    write_file(&v, "/a/late", b"", OFlags::empty()).unwrap();
    let rest = f.getdents64(4096).unwrap();
    assert!(!rest.windows(4).any(|w| w == b"late"));
    assert!(f.getdents64(4096).unwrap().is_empty());
    f.lseek(0, 0).unwrap();
    let again = f.getdents64(4096).unwrap();
    assert!(again.windows(4).any(|w| w == b"late"));
    f.lseek(0, 0).unwrap();
    assert_eq!(f.getdents64(8), Err(Errno::EINVAL));
    assert_eq!(list(&v, "/a"), [".", "..", "b", "late", "up", "x.txt"]);
    let file = v.open(&r, b"/a/x.txt", OFlags::empty(), 0).unwrap();
    assert_eq!(file.getdents64(4096), Err(Errno::ENOTDIR));
}

#[test]
fn mkdir_rmdir_errors() {
    let t = tree("mk");
    let v = vfs(t.path(), false);
    let r = v.root();
    assert_eq!(v.mkdir(&r, b"/a", 0o755), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(&r, b"/", 0o755), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(&r, b"/nope/x", 0o755), Err(Errno::ENOENT));
    assert_eq!(v.mkdir(&r, b"/top.txt/x", 0o755), Err(Errno::ENOTDIR));
    assert_eq!(v.rmdir(&r, b"/a"), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rmdir(&r, b"/"), Err(Errno::EBUSY));
    assert_eq!(v.rmdir(&r, b"/a/."), Err(Errno::EINVAL));
    assert_eq!(v.rmdir(&r, b"/top.txt"), Err(Errno::ENOTDIR));
    assert_eq!(v.rmdir(&r, b"/dev"), Err(Errno::EBUSY));
    assert_eq!(v.unlink(&r, b"/a"), Err(Errno::EISDIR));
    v.mkdir(&r, b"/a/c/", 0o700).unwrap();
    assert!(v.stat(&r, b"/a/c", true).unwrap().st_mode & 0o170000 == 0o040000);
    v.rmdir(&r, b"/a/c").unwrap();
    assert_eq!(
        v.rename(&r, b"/a", &r, b"/a/b/inside", 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(v.rename(&r, b"/", &r, b"/x", 0), Err(Errno::EBUSY));
    assert_eq!(v.rename(&r, b"/top.txt", &r, b"/a", 0), Err(Errno::EISDIR));
    assert_eq!(v.rename(&r, b"/a", &r, b"/top.txt", 0), Err(Errno::ENOTDIR));
    assert_eq!(
        v.rename(&r, b"/dev/null", &r, b"/null", 0),
        Err(Errno::EXDEV)
    );
    let long = vec![b'x'; 256];
    assert_eq!(v.mkdir(&r, &long, 0o755), Err(Errno::ENAMETOOLONG));
    assert_eq!(
        v.stat(&r, &vec![b'a'; 5000], true),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(v.stat(&r, b"", true), Err(Errno::ENOENT));
}

#[test]
fn renamed_lower_directory_keeps_content() {
    let t = tree("rendir");
    let v = vfs(t.path(), false);
    let r = v.root();
    v.rename(&r, b"/a", &r, b"/z", 0).unwrap();
    assert_eq!(cat(&v, "/z/b/y").unwrap(), b"yy");
    assert_eq!(list(&v, "/z"), [".", "..", "b", "x.txt"]);
    assert_eq!(v.stat(&r, b"/a", true), Err(Errno::ENOENT));
    // Recreating /a does not resurrect lower content.
    v.mkdir(&r, b"/a", 0o755).unwrap();
    assert_eq!(list(&v, "/a"), [".", ".."]);
    assert!(t.path().join("a/x.txt").exists());
}

#[test]
fn symlink_loops_are_eloop() {
    let t = tree("loop");
    std::os::unix::fs::symlink("l2", t.path().join("l1")).unwrap();
    std::os::unix::fs::symlink("l1", t.path().join("l2")).unwrap();
    std::os::unix::fs::symlink("self", t.path().join("self")).unwrap();
    let v = vfs(t.path(), false);
    let r = v.root();
    assert_eq!(v.stat(&r, b"/l1", true), Err(Errno::ELOOP));
    assert_eq!(v.stat(&r, b"/self/x", true), Err(Errno::ELOOP));
    assert!(v.stat(&r, b"/l1", false).is_ok());
    assert_eq!(
        v.open(&r, b"/l1", OFlags::NOFOLLOW, 0).map(|_| ()),
        Err(Errno::ELOOP)
    );
    assert_eq!(v.readlink(&r, b"/l1").unwrap(), b"l2");
    assert_eq!(v.readlink(&r, b"/top.txt"), Err(Errno::EINVAL));
}

#[test]
fn nothing_escapes_the_root() {
    let t = tree("escape");
    let p = t.path();
    std::fs::create_dir_all(p.join("etc")).unwrap();
    std::fs::write(p.join("etc/passwd"), b"guest passwd").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", p.join("abs")).unwrap();
    std::os::unix::fs::symlink("../../../../etc", p.join("a/b/rel")).unwrap();
    let v = vfs(p, false);
    let r = v.root();
    assert_eq!(cat(&v, "/abs").unwrap(), b"guest passwd");
    assert_eq!(cat(&v, "/a/b/rel/passwd").unwrap(), b"guest passwd");
    assert_eq!(cat(&v, "/../../../../etc/passwd").unwrap(), b"guest passwd");
    let parent = v.lookup(&r, b"/a/../../..", true).unwrap();
    assert_eq!(v.path_of(&parent), b"/");
    let d = v.lookup(&r, b"/a/b/rel", true).unwrap();
    assert_eq!(v.path_of(&d), b"/etc");
    assert_eq!(
        v.stat(&r, b"/a/b/rel", true).unwrap().st_ino,
        std::fs::metadata(p.join("etc"))
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .unwrap()
    );
}

#[test]
fn rw_writes_go_to_host() {
    let t = tree("rw");
    let v = vfs(t.path(), true);
    let r = v.root();
    write_file(&v, "/a/x.txt", b"HELLO", OFlags::TRUNC).unwrap();
    write_file(&v, "/created", b"c", OFlags::EXCL).unwrap();
    v.mkdir(&r, b"/d", 0o755).unwrap();
    v.rename(&r, b"/top.txt", &r, b"/d/t", 0).unwrap();
    v.unlink(&r, b"/a/b/y").unwrap();
    v.symlink(b"t", &r, b"/d/s").unwrap();
    let p = t.path();
    assert_eq!(std::fs::read(p.join("a/x.txt")).unwrap(), b"HELLO");
    assert_eq!(std::fs::read(p.join("created")).unwrap(), b"c");
    assert_eq!(std::fs::read(p.join("d/t")).unwrap(), b"top");
    assert_eq!(std::fs::read(p.join("d/s")).unwrap(), b"top");
    assert!(!p.join("a/b/y").exists());
    assert_eq!(
        write_file(&v, "/created", b"c", OFlags::EXCL),
        Err(Errno::EEXIST)
    );
    assert_eq!(v.rmdir(&r, b"/d"), Err(Errno::ENOTEMPTY));
    assert_eq!(list(&v, "/d"), [".", "..", "s", "t"]);
}

#[test]
fn devfs_null_zero_full() {
    let t = tree("dev");
    let v = vfs(t.path(), false);
    let r = v.root();
    let null = v.open(&r, b"/dev/null", OFlags::RDWR, 0).unwrap();
    assert_eq!(null.write(&[IoSlice::new(b"abc")]).unwrap(), 3);
    assert_eq!(read_all(&null), b"");
    let zero = v.open(&r, b"/dev/zero", OFlags::empty(), 0).unwrap();
    let mut buf = [1u8; 8];
    assert_eq!(zero.read(&mut [IoSliceMut::new(&mut buf)]).unwrap(), 8);
    assert_eq!(buf, [0; 8]);
    let full = v.open(&r, b"/dev/full", OFlags::RDWR, 0).unwrap();
    assert_eq!(full.write(&[IoSlice::new(b"x")]), Err(Errno::ENOSPC));
    assert_eq!(full.read(&mut [IoSliceMut::new(&mut buf)]).unwrap(), 8);
    let st = v.stat(&r, b"/dev/null", true).unwrap();
    assert_eq!(st.st_rdev, abi::structs::makedev(1, 3));
    assert_eq!(st.st_mode, 0o020666);
    let rnd = v.open(&r, b"/dev/urandom", OFlags::empty(), 0).unwrap();
    let mut b = [0u8; 32];
    assert_eq!(rnd.read(&mut [IoSliceMut::new(&mut b)]).unwrap(), 32);
    assert!(list(&v, "/dev").contains(&"null".to_string()));
    assert_eq!(
        v.path_of(&v.lookup(&r, b"/dev/../dev/null", true).unwrap()),
        b"/dev/null"
    );
    // The host's /dev is not visible.
    assert_eq!(v.stat(&r, b"/dev/sda", true), Err(Errno::ENOENT));
}

#[test]
fn open_flags_semantics() {
    let t = tree("flags");
    let v = vfs(t.path(), false);
    let r = v.root();
    assert_eq!(
        v.open(&r, b"/a", OFlags::WRONLY, 0).map(|_| ()),
        Err(Errno::EISDIR)
    );
    assert_eq!(
        v.open(&r, b"/top.txt", OFlags::DIRECTORY, 0).map(|_| ()),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        v.open(&r, b"/top.txt/", OFlags::empty(), 0).map(|_| ()),
        Err(Errno::ENOTDIR)
    );
    let ro = v.open(&r, b"/top.txt", OFlags::empty(), 0).unwrap();
    assert_eq!(ro.write(&[IoSlice::new(b"x")]), Err(Errno::EBADF));
    assert_eq!(ro.truncate(0), Err(Errno::EINVAL));
    assert_eq!(ro.lseek(0, 2).unwrap(), 3);
    assert_eq!(ro.lseek(-4, 1), Err(Errno::EINVAL));
    assert_eq!(ro.lseek(0, 9), Err(Errno::EINVAL));
    let mut b = [0u8; 2];
    assert_eq!(ro.pread(&mut [IoSliceMut::new(&mut b)], 1).unwrap(), 2);
    assert_eq!(&b, b"op");
    let ap = v
        .open(&r, b"/top.txt", OFlags::WRONLY | OFlags::APPEND, 0)
        .unwrap();
    ap.write(&[IoSlice::new(b"++")]).unwrap();
    assert_eq!(cat(&v, "/top.txt").unwrap(), b"top++");
    let p = v.open(&r, b"/top.txt", OFlags::PATH, 0).unwrap();
    assert_eq!(p.read(&mut [IoSliceMut::new(&mut b)]), Err(Errno::EBADF));
    assert!(p.stat().is_ok());
    let mut rd = [0u8; 16];
    let n = v.open_exec(&r, b"/top.txt").map(|_| ());
    assert_eq!(n, Err(Errno::EACCES));
    assert_eq!(v.open_exec(&r, b"/a").map(|_| ()), Err(Errno::EACCES));
    assert_eq!(ro.read_at(0, &mut rd).unwrap(), 3);
    assert_eq!(ro.tcgets().map(|_| ()), Err(Errno::ENOTTY));
}

#[test]
fn host_root_overlay_and_stdio() {
    let v = vfs(Path::new("/"), false);
    let r = v.root();
    assert!(v.stat(&r, b"/etc", true).unwrap().st_mode & 0o040000 != 0);
    let name = format!("/uml-vfs-test-{}", std::process::id());
    write_file(&v, &name, b"guest only", OFlags::empty()).unwrap();
    assert_eq!(cat(&v, &name).unwrap(), b"guest only");
    assert!(!Path::new(&name).exists());
    assert!(list(&v, "/").contains(&"dev".to_string()));
    let out = v.stdio(1).unwrap();
    assert!(out.flags().writable() || out.flags().readable());
    assert!(out.dentry().is_none());
    assert!(out.stat().is_ok());
    assert_eq!(v.stdio(7).map(|_| ()), Err(Errno::EBADF));
}

/// The lower-layer cache: more directories than it keeps descriptors for and more nodes
/// than it remembers, walked twice and in a different order; every file still reads back,
/// symlinks resolve, missing names stay `ENOENT`, and stat results match the host's.
#[test]
fn lower_cache_survives_eviction_and_reset() {
    use std::os::unix::fs::MetadataExt;
    let t = TempDir::new("cache");
    let p = t.path();
    let mut deep = p.to_path_buf();
    for i in 0..12 {
        deep = deep.join(format!("d{i}"));
        std::fs::create_dir(&deep).unwrap();
        std::fs::write(deep.join("f"), format!("file {i}")).unwrap();
        std::os::unix::fs::symlink("f", deep.join("l")).unwrap();
    }
    let v = vfs(p, false);
    let path = |i: usize, leaf: &str| {
        let mut s = String::new();
        for j in 0..=i {
            s.push_str(&format!("/d{j}"));
        }
        s.push('/');
        s.push_str(leaf);
        s
    };
    for round in 0..3 {
        let order: Vec<usize> = if round == 1 {
            (0..12).rev().collect()
        } else {
            (0..12).collect()
        };
        for &i in &order {
            let want = format!("file {i}").into_bytes();
            assert_eq!(cat(&v, &path(i, "f")).unwrap(), want);
            assert_eq!(cat(&v, &path(i, "l")).unwrap(), want);
            assert_eq!(cat(&v, &path(i, "nope")), Err(Errno::ENOENT));
            let st = v.stat(&v.root(), path(i, "f").as_bytes(), true).unwrap();
            let host = std::fs::metadata(deep_path(p, i).join("f")).unwrap();
            assert_eq!((st.st_ino, st.st_size as u64), (host.ino(), host.len()));
            assert_eq!(list(&v, &path(i, ".")).len(), if i == 11 { 4 } else { 5 });
        }
    }
    // A cwd deep in the tree keeps working across cache resets.
    let cwd = v.lookup(&v.root(), path(10, ".").as_bytes(), true).unwrap();
    for _ in 0..3 {
        for i in 0..12 {
            let _ = v.stat(&v.root(), path(i, "l").as_bytes(), false).unwrap();
        }
        assert_eq!(cat_at(&v, &cwd, "d11/f"), b"file 11");
        assert_eq!(cat_at(&v, &cwd, "../f"), b"file 9");
    }
}

/// The host descriptor a regular host file reads through.
fn host_fd(f: &FileRef) -> std::os::fd::RawFd {
    use std::os::fd::AsRawFd;
    match &f.kind {
        crate::file::FileKind::Host(fd) => fd.as_raw_fd(),
        _ => panic!("not a host file"),
    }
}

/// Opens of a lower file for reading share one host descriptor, each at its own position;
/// an open file keeps reading after the cache dropped its descriptor for newer ones; a
/// copy-up reads the whole file whatever was read before, and an open of the lower file
/// made before the copy-up still reads the lower file, as on Linux's overlayfs.
#[test]
fn lower_file_opens_share_a_read_descriptor() {
    let t = tree("shared-read");
    let v = vfs(t.path(), false);
    let open = |p: &str| v.open(&v.root(), p.as_bytes(), OFlags::empty(), 0).unwrap();
    let first = open("/a/x.txt");
    let second = open("/a/x.txt");
    assert_eq!(host_fd(&first), host_fd(&second));
    let mut two = [0u8; 2];
    assert_eq!(first.read(&mut [IoSliceMut::new(&mut two)]).unwrap(), 2);
    assert_eq!(read_all(&second), b"hello");
    assert_eq!(read_all(&first), b"llo");
    // Two newer files take the cache's two places: x.txt's open files read on, and its
    // next open gets a descriptor of its own.
    let (y, top) = (open("/a/b/y"), open("/top.txt"));
    let third = open("/a/x.txt");
    assert_ne!(host_fd(&third), host_fd(&first));
    assert_eq!(host_fd(&open("/top.txt")), host_fd(&top));
    assert_eq!(
        (read_all(&y), read_all(&top)),
        (b"yy".to_vec(), b"top".to_vec())
    );
    assert_eq!(read_all(&third), b"hello");
    // Copy-up after reads through the shared descriptor.
    write_file(&v, "/a/x.txt", b"HE", OFlags::empty()).unwrap();
    assert_eq!(cat(&v, "/a/x.txt").unwrap(), b"HEllo");
    let mut all = [0u8; 8];
    let n = third.pread(&mut [IoSliceMut::new(&mut all)], 0).unwrap();
    assert_eq!(&all[..n], b"hello");
    assert_eq!(std::fs::read(t.path().join("a/x.txt")).unwrap(), b"hello");
}

fn deep_path(root: &Path, i: usize) -> PathBuf {
    let mut p = root.to_path_buf();
    for j in 0..=i {
        p = p.join(format!("d{j}"));
    }
    p
}

fn cat_at(v: &Vfs, base: &crate::Dentry, path: &str) -> Vec<u8> {
    let f = v.open(base, path.as_bytes(), OFlags::empty(), 0).unwrap();
    read_all(&f)
}

#[test]
fn host_special_files_are_never_opened() {
    let t = tree("special");
    nix::unistd::mkfifo(
        &t.path().join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let sock = std::os::unix::net::UnixListener::bind(t.path().join("sock")).unwrap();
    for rw in [false, true] {
        let v = vfs(t.path(), rw);
        for flags in [
            OFlags::empty(),
            OFlags::WRONLY,
            OFlags::RDWR | OFlags::NONBLOCK,
        ] {
            assert_eq!(
                v.open(&v.root(), b"/fifo", flags, 0).err(),
                Some(Errno::EACCES),
                "fifo rw={rw}"
            );
            assert_eq!(
                v.open(&v.root(), b"/sock", flags, 0).err(),
                Some(Errno::ENXIO),
                "socket rw={rw}"
            );
        }
        // They are still visible, as they are on the host.
        assert!(v.stat(&v.root(), b"/fifo", false).is_ok());
    }
    drop(sock);
}

#[test]
fn chown_in_the_overlay_leaves_the_host_alone() {
    let t = tree("chown");
    let host_before = std::fs::metadata(t.path().join("top.txt")).unwrap();
    let v = vfs(t.path(), false);
    v.chown(&v.root(), b"/top.txt", Some(1234), Some(5678), true)
        .unwrap();
    let st = v.stat(&v.root(), b"/top.txt", true).unwrap();
    assert_eq!((st.st_uid, st.st_gid), (1234, 5678));
    v.chown(&v.root(), b"/top.txt", None, Some(42), true)
        .unwrap();
    let st = v.stat(&v.root(), b"/top.txt", true).unwrap();
    assert_eq!((st.st_uid, st.st_gid), (1234, 42));
    let host_after = std::fs::metadata(t.path().join("top.txt")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (host_before.uid(), host_before.gid()),
        (host_after.uid(), host_after.gid())
    );
    assert_eq!(
        v.chown(&v.root(), b"/nope", Some(1), None, true),
        Err(Errno::ENOENT)
    );
}

#[test]
fn memfd_is_a_nameless_regular_file() {
    use abi::flags::falloc::{KEEP_SIZE, PUNCH_HOLE};
    for rw in [false, true] {
        let t = tree("memfd");
        let v = vfs(t.path(), rw);
        let f = v.memfd_create(b"buf", true);
        let d = f.dentry().unwrap();
        assert_eq!(v.path_of(&d), b"/memfd:buf (deleted)".to_vec());
        assert!(v.lookup(&v.root(), b"memfd:buf (deleted)", true).is_err());
        assert_eq!(f.stat().unwrap().st_size, 0);
        f.truncate(10).unwrap();
        f.write_at(0, b"0123456789").unwrap();
        assert_eq!(f.inode_key().unwrap().1, f.stat().unwrap().st_ino);
        f.fallocate(PUNCH_HOLE | KEEP_SIZE, 2, 3).unwrap();
        let mut buf = [0u8; 10];
        assert_eq!(f.read_at(0, &mut buf).unwrap(), 10);
        assert_eq!(&buf, b"01\x00\x00\x0056789");
        f.fallocate(0, 0, 20).unwrap();
        assert_eq!(f.size(), 20);
        f.fallocate(KEEP_SIZE, 0, 40).unwrap();
        assert_eq!(f.size(), 20);
        assert_eq!(f.fallocate(PUNCH_HOLE, 0, 1), Err(Errno::EOPNOTSUPP));
        assert_eq!(f.fallocate(0, 0, 0), Err(Errno::EINVAL));
        assert!(std::fs::read_dir(t.path())
            .unwrap()
            .all(|e| { !e.unwrap().file_name().to_string_lossy().contains("memfd") }));
    }
}

#[test]
fn permissions_go_by_the_callers_filesystem_ids_and_groups() {
    let t = tree("perm");
    let v = vfs(t.path(), false);
    let r = v.root();
    let open = |who: FsCred<'_>, path: &str, flags: OFlags| {
        let at = At::new(&r, &NoProcs, who);
        v.open(at, path.as_bytes(), flags, 0).map(|_| ())
    };
    v.chmod(&r, b"/a/x.txt", 0o640, true).unwrap();
    v.chown(&r, b"/a/x.txt", Some(0), Some(42), true).unwrap();
    v.chmod(&r, b"/a/b", 0o700, true).unwrap();
    let user = FsCred {
        fsuid: 1000,
        fsgid: 1000,
        groups: &[],
        landlock: None,
    };
    let in_42 = FsCred {
        groups: &[7, 42],
        ..user
    };
    assert_eq!(open(user, "/a/x.txt", OFlags::empty()), Err(Errno::EACCES));
    assert_eq!(open(in_42, "/a/x.txt", OFlags::empty()), Ok(()));
    assert_eq!(open(in_42, "/a/x.txt", OFlags::WRONLY), Err(Errno::EACCES));
    assert_eq!(open(ROOT, "/a/x.txt", OFlags::RDWR), Ok(()));
    // Search permission on the way.
    assert_eq!(open(user, "/a/b/y", OFlags::empty()), Err(Errno::EACCES));
    let at = At::new(&r, &NoProcs, user);
    assert_eq!(v.mkdir(at, b"/a/new", 0o755), Err(Errno::EACCES));
    assert_eq!(v.chmod(at, b"/a/x.txt", 0o777, true), Err(Errno::EPERM));
    assert_eq!(v.access(at, b"/a/x.txt", 4, true), Err(Errno::EACCES));
    let x = v.lookup(&r, b"/a/x.txt", true).unwrap();
    // An owner may give the file to a group it is in, and no other.
    v.chown(&r, b"/a/x.txt", Some(1000), None, true).unwrap();
    assert_eq!(v.chown_dentry(&x, None, Some(42), &in_42), Ok(()));
    assert_eq!(v.chown_dentry(&x, None, Some(5), &in_42), Err(Errno::EPERM));
    assert_eq!(v.chown_dentry(&x, Some(0), None, &in_42), Err(Errno::EPERM));
}
