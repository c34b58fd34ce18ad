//! `AF_UNIX` sockets inside the guest: socketpairs, descriptor and credential passing,
//! named (path) and abstract sockets, python's `socket`/`socketserver`. Every program runs
//! natively and under uml with both trap mechanisms (stdout and status must match). Bound
//! paths live in the guest's overlay only: the host directory stays untouched. Other
//! families fail as on a kernel without networking.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::time::Duration;

use integration_tests::{
    arg, assert_no_bad_lines, compare, guests, run_uml, Outcome, RunOpts, TempDir,
};

use integration_tests::TRAPS;
const PYTHON: &str = "/usr/bin/python3";

fn opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.into()],
        timeout: Some(Duration::from_secs(60)),
        ..RunOpts::default()
    }
}

/// [`integration_tests::compare_both_traps`] with this file's timeout.
fn run_both(argv: &[std::ffi::OsString]) -> Outcome {
    integration_tests::compare_both_traps(argv, Duration::from_secs(60))
}

/// A listing of `dir` with each entry's type, size and mtime, and the directory's own mtime:
/// equal listings mean nothing was created, removed or changed on the host.
fn snapshot(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            format!(
                "{:?} {:?} {} {:?}",
                e.file_name(),
                m.file_type(),
                m.len(),
                m.modified().ok()
            )
        })
        .collect();
    v.sort();
    v.push(format!(
        "dir mtime {:?}",
        fs::metadata(dir).unwrap().modified().ok()
    ));
    v
}

fn has(o: &Outcome, line: &str) {
    let out = o.stdout_str();
    assert!(
        out.lines().any(|l| l == line),
        "expected line {line:?} in:\n{out}"
    );
}

#[test]
fn socketpair_stream_dgram_seqpacket() {
    let o = run_both(&[arg(guests::SOCK_PAIR)]);
    has(&o, "dgram recv 2: 5 'abcde'");
    has(&o, "stream write to closed: -1 EPIPE sigpipe=1");
    has(&o, "seqpacket write to closed: -1 EPIPE sigpipe=0");
    has(&o, "WAITALL: 8 'abcdefgh'");
}

#[test]
fn scm_rights_and_credentials() {
    let o = run_both(&[arg(guests::SOCK_RIGHTS)]);
    has(&o, "parent read 16 'through the pipe'");
    has(&o, "got 5 bytes 'three', 2 fds, controllen=24, ctrunc=1");
    has(&o, "got 3 bytes 'bcd', 1 fds, controllen=24, ctrunc=0");
}

#[test]
fn named_and_abstract_sockets_leave_the_host_alone() {
    let tmp = TempDir::new("sock-named");
    fs::write(tmp.join("keep.txt"), b"host file\n").unwrap();
    // The native runs bind real sockets (and remove them); uml's must never reach the host.
    for trap in TRAPS {
        let o = compare(&[arg(guests::SOCK_NAMED), arg(tmp.path())], &opts(trap));
        assert_no_bad_lines(trap, &o);
        assert!(
            o.stdout_str().ends_with("done\n"),
            "{}",
            o.describe("native")
        );
        has(&o, "server got 'hello 3'");
        has(&o, "is socket=1 perm=755");
    }
    // Under uml alone, with the socket files left in place at exit.
    let before = snapshot(tmp.path());
    let o = run_uml(
        &[
            arg("/bin/sh"),
            arg("-c"),
            arg(format!(
                "{} {} >/dev/null && {PYTHON} -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind(\"{}/left.sock\"); print(\"bound\")' && ls {}",
                guests::SOCK_NAMED,
                tmp.path().display(),
                tmp.path().display(),
                tmp.path().display(),
            )),
        ],
        &opts("--trap=seccomp"),
    );
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    has(&o, "bound");
    has(&o, "left.sock");
    assert_eq!(before, snapshot(tmp.path()), "the host directory changed");
}

const PY_SOCKETS: &str = r#"
import os, socket, socketserver, stat, sys
d = sys.argv[1]
a, b = socket.socketpair()
print("family:", a.family == socket.AF_UNIX, a.type == socket.SOCK_STREAM, flush=True)
a.sendall(b"ping")
print("pair:", b.recv(10), flush=True)
pid = os.fork()
if pid == 0:
    a.close()
    b.sendall(b"from child")
    os._exit(0)
b.close()
data = b""
while True:
    chunk = a.recv(3)
    if not chunk:
        break
    data += chunk
print("child sent:", data, "status:", os.waitpid(pid, 0)[1], flush=True)
a.close()
x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
x.send(b"one")
x.send(b"two")
print("dgram:", y.recv(10), y.recv(10), flush=True)
y.setblocking(False)
try:
    y.recv(10)
except BlockingIOError:
    print("dgram empty: EAGAIN", flush=True)
r, w = os.pipe()
socket.send_fds(x, [b"fd"], [w])
msg, fds, flags, addr = socket.recv_fds(y, 10, 4)
os.write(fds[0], b"via passed fd")
print("send_fds:", msg, len(fds), os.read(r, 100), flush=True)

path = os.path.join(d, "py.sock")
class Upper(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline().upper())
srv = socketserver.UnixStreamServer(path, Upper)
print("server address ok:", srv.server_address == path, flush=True)
pid = os.fork()
if pid == 0:
    for i in range(3):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        c.sendall(b"hello %d\n" % i)
        got = b""
        while True:
            chunk = c.recv(100)
            if not chunk:
                break
            got += chunk
        print("client got:", got, flush=True)
        c.close()
    os._exit(0)
for i in range(3):
    srv.handle_request()
print("client status:", os.waitpid(pid, 0)[1], flush=True)
srv.server_close()
print("socket file:", stat.S_ISSOCK(os.stat(path).st_mode), flush=True)
os.unlink(path)
print("done", flush=True)
"#;

#[test]
fn python_socketpair_and_unix_stream_server() {
    assert!(
        Path::new(PYTHON).exists(),
        "{PYTHON} is missing on this host"
    );
    let tmp = TempDir::new("sock-py");
    let argv = [arg(PYTHON), arg("-c"), arg(PY_SOCKETS), arg(tmp.path())];
    let o = run_both(&argv);
    has(&o, "client got: b'HELLO 2\\n'");
    has(&o, "send_fds: b'fd' 1 b'via passed fd'");
    // uml alone: its bind leaves nothing on the host.
    let before = snapshot(tmp.path());
    let o = run_uml(&argv, &opts("--trap=seccomp"));
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    assert_eq!(before, snapshot(tmp.path()), "the host directory changed");
}

/// Families without a stack in uml (netlink, packet) fail as on a kernel built without
/// them: `EAFNOSUPPORT` (uml only: natively they exist). `AF_INET` and `AF_INET6` exist
/// (the instance's own loopback, `tests/inet.rs`), and have no `socketpair`.
#[test]
fn other_families_are_unsupported() {
    let prog = r#"
import errno, socket
for fam in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET):
    try:
        socket.socket(fam, socket.SOCK_STREAM if fam != socket.AF_NETLINK else socket.SOCK_RAW)
        print(fam.name, "created")
    except OSError as e:
        print(fam.name, errno.errorcode[e.errno])
try:
    socket.socketpair(socket.AF_INET)
except OSError as e:
    print("socketpair AF_INET", errno.errorcode[e.errno])
"#;
    for trap in TRAPS {
        let o = run_uml(&[PYTHON, "-c", prog], &opts(trap));
        assert_eq!(o.status, 0, "{}", o.describe("uml"));
        for l in [
            "AF_INET created",
            "AF_INET6 created",
            "AF_NETLINK created",
            "AF_PACKET EAFNOSUPPORT",
            "socketpair AF_INET ENOTSUP", // EOPNOTSUPP, as python names 95
        ] {
            has(&o, l);
        }
    }
}
