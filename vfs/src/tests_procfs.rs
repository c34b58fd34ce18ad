//! Unit tests: procfs over a fake process table (lookups, listings, magic links, reopening
//! through `fd/N`, errnos of a read-only file system, the empty /proc of no process).
#![allow(clippy::unwrap_used)]

use std::io::{IoSlice, IoSliceMut};

use abi::flags::OFlags;
use abi::Errno;

use crate::tests::{vfs, TempDir};
use crate::{At, Dentry, FileRef, ProcFile, ProcSource, Vfs};

/// Two processes: 1 (cwd `/a`, fds 0 = a pipe's read end, 1 = `/top.txt`) calls;
/// 2 (cwd `/a/b`, no fds) is another one.
struct Fake {
    root: Dentry,
    a: Dentry,
    b: Dentry,
    fds: Vec<(i32, FileRef)>,
}

impl ProcSource for Fake {
    fn caller(&self) -> Option<(i32, i32)> {
        Some((1, 1))
    }
    fn pids(&self) -> Vec<i32> {
        vec![1, 2]
    }
    fn owner(&self, pid: i32) -> Option<(u32, u32)> {
        (pid == 1 || pid == 2).then_some((0, 0))
    }
    fn tasks(&self, pid: i32) -> Vec<i32> {
        vec![pid]
    }
    fn cwd(&self, pid: i32) -> Option<Dentry> {
        match pid {
            1 => Some(self.a.clone()),
            2 => Some(self.b.clone()),
            _ => None,
        }
    }
    fn exe(&self, _pid: i32) -> Option<Dentry> {
        Some(self.root.clone())
    }
    fn fds(&self, pid: i32) -> Vec<i32> {
        if pid == 1 {
            self.fds.iter().map(|(n, _)| *n).collect()
        } else {
            Vec::new()
        }
    }
    fn fd(&self, pid: i32, fd: i32) -> Option<(FileRef, bool)> {
        let f = self.fds.iter().find(|(n, _)| pid == 1 && *n == fd)?;
        Some((f.1.clone(), false))
    }
    fn contents(&self, _vfs: &Vfs, pid: i32, file: ProcFile) -> Result<Vec<u8>, Errno> {
        Ok(format!("{pid} {file:?}\n").into_bytes())
    }
}

struct Setup {
    _t: TempDir,
    v: Vfs,
    fake: Fake,
    /// The write end of the pipe whose read end is fd 0.
    w: FileRef,
}

fn setup(tag: &str) -> Setup {
    let t = TempDir::new(tag);
    std::fs::create_dir_all(t.path().join("a/b")).unwrap();
    std::fs::write(t.path().join("a/x.txt"), b"hello").unwrap();
    std::fs::write(t.path().join("top.txt"), b"top").unwrap();
    let v = vfs(t.path(), false);
    let root = v.root();
    let a = v.lookup(&root, b"/a", true).unwrap();
    let b = v.lookup(&root, b"/a/b", true).unwrap();
    let (r, w) = v.pipe(OFlags::empty()).unwrap();
    let top = v.open(&root, b"/top.txt", OFlags::empty(), 0).unwrap();
    let fake = Fake {
        root,
        a,
        b,
        fds: vec![(0, r), (1, top)],
    };
    Setup { _t: t, v, fake, w }
}

impl Setup {
    fn at(&self) -> At<'_> {
        At::new(&self.fake.root, &self.fake, crate::tests::ROOT)
    }
    fn open(&self, path: &str, flags: OFlags) -> Result<FileRef, Errno> {
        self.v.open(self.at(), path.as_bytes(), flags, 0)
    }
    fn cat(&self, path: &str) -> Result<String, Errno> {
        let f = self.open(path, OFlags::empty())?;
        let mut out = Vec::new();
        loop {
            let mut buf = [0u8; 7];
            let n = f.read(&mut [IoSliceMut::new(&mut buf)])?;
            if n == 0 {
                return Ok(String::from_utf8(out).unwrap());
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
    fn readlink(&self, path: &str) -> Result<String, Errno> {
        let t = self.v.readlink(self.at(), path.as_bytes())?;
        Ok(String::from_utf8(t).unwrap())
    }
    fn list(&self, path: &str) -> Vec<String> {
        let f = self.open(path, OFlags::DIRECTORY).unwrap();
        let mut buf = Vec::new();
        f.getdents64_for(&self.fake, 1 << 16, |b| {
            buf = b.to_vec();
            Ok(())
        })
        .unwrap();
        let mut names = Vec::new();
        let mut i = 0;
        while i < buf.len() {
            let reclen = u16::from_ne_bytes([buf[i + 16], buf[i + 17]]) as usize;
            let name = &buf[i + 19..i + reclen];
            let end = name.iter().position(|&c| c == 0).unwrap();
            names.push(String::from_utf8_lossy(&name[..end]).into_owned());
            i += reclen;
        }
        names
    }
}

#[test]
fn no_process_sees_an_empty_proc() {
    let s = setup("procfs-empty");
    let root = s.v.root();
    assert_eq!(
        s.v.lookup(&root, b"/proc/self", false).unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(
        s.v.stat(&root, b"/proc/uptime", true).unwrap_err(),
        Errno::ENOENT
    );
    let f = s.v.open(&root, b"/proc", OFlags::DIRECTORY, 0).unwrap();
    assert_eq!(f.getdents64(4096).unwrap().len(), 48, "only . and ..");
}

#[test]
fn listings_and_links() {
    let s = setup("procfs-list");
    let top = s.list("/proc");
    for n in [
        "1",
        "2",
        "self",
        "thread-self",
        "uptime",
        "meminfo",
        "sys",
        "mounts",
    ] {
        assert!(top.iter().any(|e| e == n), "{n} missing from {top:?}");
    }
    assert_eq!(s.readlink("/proc/self").unwrap(), "1");
    assert_eq!(s.readlink("/proc/thread-self").unwrap(), "1/task/1");
    assert_eq!(s.readlink("/proc/mounts").unwrap(), "self/mounts");
    assert_eq!(s.readlink("/proc/self/cwd").unwrap(), "/a");
    assert_eq!(s.readlink("/proc/2/cwd").unwrap(), "/a/b");
    assert_eq!(s.readlink("/proc/self/root").unwrap(), "/");
    assert_eq!(s.readlink("/proc/self/fd/1").unwrap(), "/top.txt");
    assert!(s.readlink("/proc/1/fd/0").unwrap().starts_with("pipe:["));
    assert_eq!(s.list("/proc/self/fd"), [".", "..", "0", "1"]);
    assert_eq!(s.list("/proc/2/fd"), [".", ".."]);
    assert_eq!(s.list("/proc/self/task"), [".", "..", "1"]);
}

#[test]
fn magic_links_lead_to_the_object() {
    let s = setup("procfs-magic");
    assert_eq!(s.cat("/proc/self/cwd/x.txt").unwrap(), "hello");
    assert_eq!(s.cat("/proc/2/cwd/../x.txt").unwrap(), "hello");
    assert_eq!(s.cat("/proc/self/fd/1").unwrap(), "top");
    assert_eq!(s.cat("/proc/thread-self/cwd/x.txt").unwrap(), "hello");
    // The root's `..` is the root: /proc/self/root/.. cannot leave it.
    let d = s.v.lookup(s.at(), b"/proc/self/root/..", true).unwrap();
    assert!(d.stat().unwrap().st_ino == s.fake.root.stat().unwrap().st_ino);
    // fd/0 is a pipe's read end: opening it gives a new read end of the same pipe.
    let r = s.open("/proc/self/fd/0", OFlags::empty()).unwrap();
    s.w.write(&[IoSlice::new(b"via pipe")]).unwrap();
    let mut buf = [0u8; 16];
    let n = r.read(&mut [IoSliceMut::new(&mut buf)]).unwrap();
    assert_eq!(&buf[..n], b"via pipe");
}

#[test]
fn contents_come_from_the_source() {
    let s = setup("procfs-contents");
    assert_eq!(s.cat("/proc/self/status").unwrap(), "1 Status\n");
    assert_eq!(s.cat("/proc/2/maps").unwrap(), "2 Maps\n");
    assert_eq!(s.cat("/proc/uptime").unwrap(), "0 Uptime\n");
    assert_eq!(
        s.cat("/proc/sys/kernel/ostype").unwrap(),
        "0 Sysctl(\"kernel/ostype\")\n"
    );
    assert_eq!(
        s.cat("/proc/sys/net/core/somaxconn").unwrap(),
        "0 Sysctl(\"net/core/somaxconn\")\n"
    );
    assert!(s.cat("/proc/self/mounts").unwrap().contains(" /proc proc "));
    let info = s.cat("/proc/self/fdinfo/1").unwrap();
    assert!(info.starts_with("pos:\t0\nflags:\t0100000\n"), "{info}");
    assert!(s.cat("/proc/filesystems").unwrap().contains("\tproc\n"));
}

#[test]
fn bad_inputs_get_linux_errnos() {
    let s = setup("procfs-errnos");
    let e = |r: Result<String, Errno>| r.unwrap_err();
    assert_eq!(e(s.readlink("/proc/self/status")), Errno::EINVAL);
    assert_eq!(e(s.readlink("/proc/self/fd/999")), Errno::ENOENT);
    assert_eq!(e(s.cat("/proc/self/fd/999")), Errno::ENOENT);
    assert_eq!(e(s.cat("/proc/3/status")), Errno::ENOENT);
    assert_eq!(e(s.cat("/proc/01/status")), Errno::ENOENT);
    assert_eq!(e(s.cat("/proc/+1/status")), Errno::ENOENT);
    assert_eq!(e(s.cat("/proc/-1/status")), Errno::ENOENT);
    assert_eq!(e(s.cat("/proc/self/fd/+1")), Errno::ENOENT);
    assert_eq!(e(s.cat("/proc/99999999999/status")), Errno::ENOENT);
    assert_eq!(e(s.cat("/proc/self/nonexistent")), Errno::ENOENT);
    assert_eq!(e(s.cat("/proc/self/status/x")), Errno::ENOTDIR);
    let at = s.at();
    assert_eq!(
        s.v.mkdir(at, b"/proc/new", 0o755).unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(s.v.mkdir(at, b"/proc/1", 0o755).unwrap_err(), Errno::EEXIST);
    assert_eq!(
        s.v.unlink(at, b"/proc/self/status").unwrap_err(),
        Errno::EPERM
    );
    assert_eq!(s.v.rmdir(at, b"/proc/1").unwrap_err(), Errno::EPERM);
    assert_eq!(
        s.v.symlink(b"x", at, b"/proc/1/y").unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(
        s.v.open(at, b"/proc/x", OFlags::CREAT | OFlags::WRONLY, 0o644)
            .unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(
        s.open("/proc/self/fd", OFlags::WRONLY).unwrap_err(),
        Errno::EISDIR
    );
    // Root may open a file for writing; the write itself fails, as on Linux.
    let f = s.open("/proc/self/status", OFlags::WRONLY).unwrap();
    assert_eq!(f.write(&[IoSlice::new(b"x")]).unwrap_err(), Errno::EINVAL);
    let f = s.open("/proc/uptime", OFlags::WRONLY).unwrap();
    assert_eq!(f.write(&[IoSlice::new(b"x")]).unwrap_err(), Errno::EIO);
    assert_eq!(
        s.v.chmod(at, b"/proc/self/status", 0o777, true)
            .unwrap_err(),
        Errno::EPERM
    );
}
