//! Unit tests of vfs as a service: the typed calls log their messages and replies while
//! recording (and nothing otherwise), a fresh vfs over the same root, driven by those
//! messages alone, gives every recorded reply, and a vfs on a thread of its own answers as
//! one on the caller's loop, its walks of `/proc` asking the caller's process table.
#![allow(clippy::unwrap_used)]

use abi::flags::OFlags;
use abi::Errno;

use crate::service::{VfsMsg, VfsReply};
use crate::tests::{vfs, TempDir, ROOT};
use crate::{At, Dentry, FileRef, NoProcs, NodeType, ProcFile, ProcSource, Vfs, VfsService};

/// A session of path calls by guest root, relative to `/` or to `/d`.
fn session(s: &VfsService) {
    let root = s.root();
    let at = At::new(&root, &NoProcs, ROOT);
    s.mkdir(at, b"/d", 0o755).unwrap();
    let d = s.lookup(at, b"d", true).unwrap();
    let at_d = at.with(&d);
    let f = s
        .open(at_d, b"f", OFlags::CREAT | OFlags::WRONLY, 0o640)
        .unwrap();
    drop(f);
    s.symlink(b"f", at_d, b"l").unwrap();
    assert_eq!(s.readlink(at, b"/d/l").unwrap(), b"f");
    s.mknod(at_d, b"p", NodeType::Fifo, 0o600, true).unwrap();
    s.rename(at_d, b"f", at, b"/d/g", 0).unwrap();
    assert_eq!(s.stat(at, b"/d/l", true), Err(Errno::ENOENT));
    s.link(at, b"/d/g", at_d, b"h", false).unwrap();
    assert_eq!(s.stat(at, b"/d/h", true).unwrap().st_nlink, 2);
    s.chmod(at, b"/d/g", 0o600, true).unwrap();
    s.truncate(at, b"/d/g", 100, u64::MAX).unwrap();
    assert_eq!(s.access(at, b"/d/nothere", 0, true), Err(Errno::ENOENT));
    assert_eq!(s.rmdir(at, b"/d"), Err(Errno::ENOTEMPTY));
    for name in [&b"g"[..], b"h", b"l", b"p"] {
        s.unlink(at_d, name).unwrap();
    }
    s.rmdir(at, b"/d").unwrap();
}

#[test]
fn nothing_is_logged_unless_recording() {
    let t = TempDir::new("svc-quiet");
    let s = VfsService::new(vfs(t.path(), false));
    session(&s);
    assert!(s.take_log().is_empty());
}

#[test]
fn a_recorded_session_replays_on_a_fresh_vfs_by_messages_alone() {
    let t = TempDir::new("svc-replay");
    let mut s = VfsService::new(vfs(t.path(), false));
    s.record();
    session(&s);
    let log = s.take_log();
    assert_eq!(log.len(), 19, "{log:#?}");
    assert!(s.take_log().is_empty(), "taken once");
    // The messages are values: the start directory as a path, the caller's ids.
    match &log[2].msg {
        VfsMsg::Open {
            at,
            path,
            flags,
            mode,
        } => {
            assert_eq!(
                (&at.dir[..], &path[..], *mode),
                (&b"/d"[..], &b"f"[..], 0o640)
            );
            assert_eq!(at.cred, Some((0, 0, vec![])));
            assert_eq!(*flags, (OFlags::CREAT | OFlags::WRONLY).bits());
        }
        m => panic!("{m:?}"),
    }
    assert!(matches!(&log[2].reply, VfsReply::Node(n) if n.mode == 0o100640 && n.size == 0));
    assert_eq!(log[7].reply, VfsReply::Err(Errno::ENOENT as i32));

    // Over the same (unchanged) host root, a fresh vfs answers every message alike.
    let fresh = VfsService::new(vfs(t.path(), false));
    for (i, e) in log.iter().enumerate() {
        assert_eq!(fresh.handle(&e.msg), e.reply, "message {i}: {:?}", e.msg);
    }
}

#[test]
fn a_bad_message_is_an_errno() {
    let t = TempDir::new("svc-bad");
    let s = VfsService::new(vfs(t.path(), false));
    let at = crate::service::AtMsg {
        dir: b"/missing".to_vec(),
        root: None,
        caller: None,
        cred: None,
        landlocked: false,
        resolve: 0,
    };
    let mkdir = VfsMsg::Mkdir {
        at: at.clone(),
        path: b"x".to_vec(),
        mode: 0o755,
    };
    assert_eq!(s.handle(&mkdir), VfsReply::Err(Errno::ENOENT as i32));
    let mknod = VfsMsg::Mknod {
        at: crate::service::AtMsg {
            dir: b"/".to_vec(),
            ..at
        },
        path: b"n".to_vec(),
        kind: 0o170000,
        dev: (0, 0),
        perm: 0o600,
        cap: true,
    };
    assert_eq!(s.handle(&mknod), VfsReply::Err(Errno::EINVAL as i32));
}

#[test]
fn a_vfs_on_its_own_thread_answers_as_one_on_the_loop() {
    let t = TempDir::new("svc-thread");
    let mut on_loop = VfsService::new(vfs(t.path(), false));
    let mut threaded = VfsService::on_thread(vfs(t.path(), false)).unwrap();
    on_loop.record();
    threaded.record();
    session(&on_loop);
    session(&threaded);
    let log = threaded.take_log();
    assert_eq!(log.len(), 19);
    assert_eq!(log, on_loop.take_log());
}

/// One process, 7, whose working directory is `cwd` and whose `status` is a line.
struct OneProcess {
    cwd: Dentry,
}

impl ProcSource for OneProcess {
    fn caller(&self) -> Option<(i32, i32)> {
        Some((7, 7))
    }
    fn pids(&self) -> Vec<i32> {
        vec![7]
    }
    fn owner(&self, pid: i32) -> Option<(u32, u32)> {
        (pid == 7).then_some((0, 0))
    }
    fn tasks(&self, pid: i32) -> Vec<i32> {
        vec![pid]
    }
    fn cwd(&self, pid: i32) -> Option<Dentry> {
        (pid == 7).then(|| self.cwd.clone())
    }
    fn exe(&self, _pid: i32) -> Option<Dentry> {
        None
    }
    fn fds(&self, _pid: i32) -> Vec<i32> {
        Vec::new()
    }
    fn fd(&self, _pid: i32, _fd: i32) -> Option<(FileRef, bool)> {
        None
    }
    fn contents(&self, _vfs: &Vfs, pid: i32, file: ProcFile) -> Result<Vec<u8>, Errno> {
        Ok(format!("{pid} {file:?}\n").into_bytes())
    }
}

#[test]
fn proc_walks_on_a_vfs_thread_ask_the_callers_process_table() {
    let t = TempDir::new("svc-thread-proc");
    std::fs::create_dir(t.path().join("work")).unwrap();
    let s = VfsService::on_thread(vfs(t.path(), false)).unwrap();
    let root = s.root();
    let cwd = s.lookup(&root, b"/work", true).unwrap();
    let procs = OneProcess { cwd: cwd.clone() };
    let at = At::new(&root, &procs, ROOT);
    assert_eq!(s.readlink(at, b"/proc/self").unwrap(), b"7");
    let found = s.lookup(at, b"/proc/self/cwd", true).unwrap();
    assert_eq!(found.stat().unwrap().st_ino, cwd.stat().unwrap().st_ino);
    assert_eq!(s.readlink(at, b"/proc/7/cwd").unwrap(), b"/work");
    assert_eq!(s.stat(at, b"/proc/8", true), Err(Errno::ENOENT));
    let status = s.open(at, b"/proc/7/status", OFlags::empty(), 0).unwrap();
    let mut buf = [0u8; 64];
    let n = status.read_at(0, &mut buf).unwrap();
    assert!(buf[..n].starts_with(b"7 "), "{:?}", &buf[..n]);
}
