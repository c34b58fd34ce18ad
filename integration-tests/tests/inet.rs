//! `AF_INET` and `AF_INET6` on the instance's own loopback network: C guests and python
//! programs (`http.server` with `urllib`, a threading `socketserver`, asyncio streams) run
//! natively and under uml with both trap mechanisms, outputs and status compared. A
//! listener on the host's 127.0.0.1 is out of the guest's reach.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{arg, assert_no_bad_lines, compare, guests, run_uml, Outcome, RunOpts};

use integration_tests::TRAPS;
const PYTHON: &str = "/usr/bin/python3";

fn opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.into()],
        timeout: Some(Duration::from_secs(120)),
        ..RunOpts::default()
    }
}

/// [`integration_tests::compare_both_traps`] with this file's timeout.
fn run_both(argv: &[std::ffi::OsString]) -> Outcome {
    integration_tests::compare_both_traps(argv, Duration::from_secs(120))
}

fn has(o: &Outcome, line: &str) {
    let out = o.stdout_str();
    assert!(
        out.lines().any(|l| l == line),
        "expected line {line:?} in:\n{out}"
    );
}

fn python(prog: &str) -> Outcome {
    run_both(&[arg(PYTHON), arg("-c"), arg(prog)])
}

#[test]
fn tcp_udp_options_and_bad_input() {
    let o = run_both(&[arg(guests::NET_INET)]);
    has(&o, "reset: recv=ECONNRESET");
    has(&o, "epipe: second send=EPIPE");
    has(&o, "SO_ERROR ECONNREFUSED");
    has(&o, "dual: peer ::ffff:127.0.0.1 len=28");
    has(&o, "recvfrom 4 '0123' from 127.0.0.1 len=16 port ok=1");
    has(&o, "bind taken port=EADDRINUSE");
    has(&o, "thread: accept returned -1 EINVAL");
    has(&o, "thread: recv returned 0");
}

#[test]
fn control_messages_tcp_info_rdhup_and_closes_under_blocked_calls() {
    let o = run_both(&[arg(guests::NET_INFO)]);
    has(&o, "  level 0 type 2 len 20: ttl 33");
    has(
        &o,
        "server after peer's SHUT_WR: poll in 1 out 1 rdhup 1 hup 0; epoll rdhup 1",
    );
    has(&o, "thread: accept returned fd 1 OK");
    has(&o, "thread: recv returned 4 'late' OK");
}

#[test]
fn epoll_echo_server_with_200_clients() {
    let o = run_both(&[arg(guests::NET_EPOLL)]);
    has(
        &o,
        "accepted 200 closed 200 clients ok 20 bytes 3300 many at once 1",
    );
}

#[test]
fn python_http_server_and_urllib() {
    let o = python(
        r#"
import http.server, threading, urllib.request
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("path " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
t = threading.Thread(target=srv.serve_forever)
t.start()
for p in ("/a", "/b/c", "/"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (srv.server_port, p), timeout=30) as r:
        print(r.status, r.read().decode())
with urllib.request.urlopen("http://localhost:%d/local" % srv.server_port, timeout=30) as r:
    print("via localhost", r.status, r.read().decode())
srv.shutdown()
t.join()
print("done")
"#,
    );
    has(&o, "200 path /b/c");
}

#[test]
fn python_threading_socketserver() {
    let o = python(
        r#"
import socket, socketserver, threading
class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
srv = S(("127.0.0.1", 0), Echo)
threading.Thread(target=srv.serve_forever, daemon=True).start()
results = {}
def client(i):
    with socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=30) as c:
        f = c.makefile("rwb")
        for k in range(3):
            f.write(b"client %d line %d\n" % (i, k))
            f.flush()
            results[(i, k)] = f.readline()
ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print(len(results), results[(7, 2)])
srv.shutdown()
srv.server_close()
print("done")
"#,
    );
    has(&o, "24 b'CLIENT 7 LINE 2\\n'");
}

#[test]
fn python_asyncio_streams_v4_and_v6() {
    let o = python(
        r#"
import asyncio, socket
async def handle(r, w):
    while data := await r.readline():
        w.write(data[:-1][::-1] + b"\n")
        await w.drain()
    w.close()
async def main():
    for host in ("127.0.0.1", "::1"):
        srv = await asyncio.start_server(handle, host, 0)
        port = srv.sockets[0].getsockname()[1]
        async def one(i):
            r, w = await asyncio.open_connection(host, port)
            w.write(b"abc%d\n" % i)
            await w.drain()
            line = await r.readline()
            w.close()
            await w.wait_closed()
            return line
        got = await asyncio.gather(*(one(i) for i in range(20)))
        print(host, len(got), got[3])
        srv.close()
        await srv.wait_closed()
asyncio.run(main())
print("done")
"#,
    );
    has(&o, "::1 20 b'3cba\\n'");
}

#[test]
fn hostname_and_localhost() {
    let o = python(
        r#"
import os, socket
print(socket.gethostname() == os.uname().nodename)
print(sorted({a[4][0] for a in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)}) != [])
print(socket.gethostbyname("localhost"))
print("done")
"#,
    );
    has(&o, "127.0.0.1");
    for trap in TRAPS {
        compare(&["/bin/uname", "-n"], &opts(trap));
    }
}

/// The guest's 127.0.0.1 is its own: a listener on the host's loopback is not reachable,
/// and never sees a connection.
#[test]
fn host_loopback_is_out_of_reach() {
    let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    host.set_nonblocking(true).unwrap();
    let port = host.local_addr().unwrap().port();
    let prog = format!(
        r#"
import errno, socket
for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::ffff:127.0.0.1")):
    s = socket.socket(fam)
    try:
        s.connect((addr, {port}))
        print("connected")
    except OSError as e:
        print(errno.errorcode[e.errno])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"x", ("127.0.0.1", {port}))
print("done")
"#
    );
    for trap in TRAPS {
        let o = run_uml(&[PYTHON, "-c", &prog], &opts(trap));
        assert_eq!(o.status, 0, "{}", o.describe("uml"));
        assert_eq!(o.stdout_str(), "ECONNREFUSED\nECONNREFUSED\ndone\n");
    }
    assert_eq!(
        host.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "the host listener saw a connection"
    );
}

#[test]
fn proc_net_lists_the_sockets() {
    let o = python(
        r#"
import socket
def rows(name):
    with open("/proc/net/" + name) as f:
        return [l.split() for l in f.read().splitlines()[1:]]
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 0))
tp = "0100007F:%04X" % s.getsockname()[1]
up = "00000000000000000000000001000000:%04X" % u.getsockname()[1]
print("tcp listener", any(r[1] == tp and r[3] == "0A" for r in rows("tcp")))
print("udp6 socket", any(r[1] == up and r[3] == "07" for r in rows("udp6")))
with open("/proc/net/dev") as f:
    print("lo in dev", any(l.strip().startswith("lo:") for l in f))
with open("/proc/net/if_inet6") as f:
    print("::1 in if_inet6", any(l.startswith("0" * 31 + "1") for l in f))
print("done")
"#,
    );
    has(&o, "tcp listener True");
    has(&o, "udp6 socket True");
}

/// `TIME_WAIT`: the side whose FIN went first keeps its address after the close; a `bind`
/// there fails unless both it and the closed connection had `SO_REUSEADDR`, and
/// `/proc/net/tcp` lists it.
#[test]
fn time_wait_keeps_the_port_of_the_side_that_closed_first() {
    let o = python(
        r#"
import socket, errno
def rows():
    with open("/proc/net/tcp") as f:
        return [l.split() for l in f.read().splitlines()[1:]]
def tw(reuse_listener, server_first):
    l = socket.socket()
    if reuse_listener: l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", 0)); l.listen()
    port = l.getsockname()[1]
    c = socket.create_connection(("127.0.0.1", port)); s, _ = l.accept()
    cport = c.getsockname()[1]
    first, second = (s, c) if server_first else (c, s)
    first.close(); second.recv(1); second.close(); l.close()
    closer = port if server_first else cport
    listed = any(r[1] == "0100007F:%04X" % closer and r[3] == "06" for r in rows())
    # Only the closer's port: natively, the other one may be taken by an unrelated socket
    # of the host (a connect elsewhere shares its port).
    out = []
    for reuse in (0, 1):
        n = socket.socket()
        n.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, reuse)
        try:
            n.bind(("127.0.0.1", closer)); r = "ok"
        except OSError as e:
            r = errno.errorcode[e.errno]
        n.close()
        out.append(r)
    print("listener reuse", reuse_listener, "server first" if server_first else "client first",
          "closer's port", out[0], out[1], "listed", listed)
for rl in (0, 1):
    for sf in (True, False):
        tw(rl, sf)
print("done")
"#,
    );
    has(
        &o,
        "listener reuse 0 server first closer's port EADDRINUSE EADDRINUSE listed True",
    );
    has(
        &o,
        "listener reuse 1 server first closer's port EADDRINUSE ok listed True",
    );
    has(
        &o,
        "listener reuse 1 client first closer's port EADDRINUSE EADDRINUSE listed True",
    );
}

/// The interface list as programs read it: `getifaddrs` and `if_nameindex` (glibc's
/// NETLINK_ROUTE dumps), `if_nametoindex`, the `SIOCGIF*` ioctls and a raw NETLINK_ROUTE
/// socket with good and bad requests, compared with Linux on the `lo` entries.
#[test]
fn interfaces_netlink_and_ioctls() {
    let o = run_both(&[arg(guests::NET_IFADDRS)]);
    has(
        &o,
        "ifaddr lo inet flags=0x10049 addr=127.0.0.1 mask=255.0.0.0",
    );
    has(&o, "nameindex 1 lo");
    has(&o, "SIOCGIFFLAGS 0x49");
    has(&o, "getlink 999: error=ENODEV then EAGAIN");
}

/// busybox `ip` reads links, addresses and routes over NETLINK_ROUTE; changes are
/// refused.
#[test]
fn busybox_ip_shape() {
    let bb = integration_tests::busybox();
    let bb = bb.to_str().unwrap();
    let ip = |args: &[&str]| {
        let mut argv = vec![bb, "ip"];
        argv.extend_from_slice(args);
        run_uml(&argv, &opts("--trap=seccomp"))
    };
    let o = ip(&["addr"]);
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    let want = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\n    \
                link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    \
                inet 127.0.0.1/8 scope host lo\n       \
                valid_lft forever preferred_lft forever\n    \
                inet6 ::1/128 scope host \n       \
                valid_lft forever preferred_lft forever\n";
    assert_eq!(o.stdout_str(), want);
    let o = ip(&["link"]);
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    assert!(o
        .stdout_str()
        .starts_with("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536"));
    let o = ip(&["route", "show", "table", "local"]);
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    assert!(o
        .stdout_str()
        .contains("local 127.0.0.1 dev lo scope host  src 127.0.0.1"));
    let o = ip(&["-6", "route"]);
    assert_eq!(o.stdout_str(), "::1 dev lo  metric 256 \n");
    let o = ip(&["addr", "add", "10.0.0.1/8", "dev", "lo"]);
    assert_ne!(o.status, 0, "{}", o.describe("uml"));
}

/// `--net host`: the same C guests, on host sockets the kernel opens for the guest,
/// compared with Linux.
#[test]
fn net_host_c_guests_match_linux() {
    for guest in [guests::NET_INET, guests::NET_EPOLL] {
        for trap in TRAPS {
            let mut o = opts(trap);
            o.uml_flags.push("--net=host".into());
            let out = compare(&[arg(guest)], &o);
            let what = format!("{guest} --net=host {trap}");
            assert_no_bad_lines(&what, &out);
            assert!(
                out.stdout_str().ends_with("done\n"),
                "{what}: {}",
                out.describe("native")
            );
            assert_eq!(out.status, 0, "{what}: {}", out.describe("native"));
        }
    }
}

/// `--net host`: `/proc/net/{tcp,udp6}` list the guest's host sockets as Linux lists them
/// (state, the owner's uid, the inode the guest sees).
#[test]
fn net_host_proc_net_lists_the_guests_sockets() {
    let prog = r#"
import os, socket
def rows(name):
    with open("/proc/net/" + name) as f:
        return [l.split() for l in f.read().splitlines()[1:]]
def row(name, s, local):
    ino = str(os.fstat(s.fileno()).st_ino)
    r = [r for r in rows(name) if r[9] == ino]
    if len(r) != 1:
        return "missing"
    r = r[0]
    return "local %s st %s uid ok %s" % (r[1] == local, r[3], r[7] == str(os.getuid()))
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
port = l.getsockname()[1]
c = socket.create_connection(("127.0.0.1", port)); e, _ = l.accept()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 0))
print("listener", row("tcp", l, "0100007F:%04X" % port))
print("server end", row("tcp", e, "0100007F:%04X" % port))
print("udp6", row("udp6", u, "00000000000000000000000001000000:%04X" % u.getsockname()[1]))
print("done")
"#;
    for trap in TRAPS {
        let mut o = opts(trap);
        o.uml_flags.push("--net=host".into());
        let out = compare(&[arg(PYTHON), arg("-c"), arg(prog)], &o);
        let what = format!("/proc/net --net=host {trap}");
        assert_no_bad_lines(&what, &out);
        assert_eq!(out.status, 0, "{what}: {}", out.describe("native"));
        has(&out, "listener local True st 0A uid ok True");
        has(&out, "server end local True st 01 uid ok True");
        has(&out, "udp6 local True st 07 uid ok True");
    }
}

/// `--net host`: a listener on the host's 127.0.0.1, started here, is reachable from the
/// guest (and, `host_loopback_is_out_of_reach`, not without the flag).
#[test]
fn net_host_reaches_the_hosts_loopback() {
    let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        for _ in 0..TRAPS.len() {
            let (mut c, _) = host.accept().unwrap();
            let mut b = [0u8; 5];
            c.read_exact(&mut b).unwrap();
            c.write_all(b"host got ").unwrap();
            c.write_all(&b).unwrap();
        }
    });
    let prog = format!(
        r#"
import socket
s = socket.create_connection(("127.0.0.1", {port}))
s.sendall(b"hello")
got = b""
while len(got) < 14:
    d = s.recv(100)
    if not d:
        break
    got += d
print(got.decode(), s.getpeername()[1] == {port})
print("done")
"#
    );
    for trap in TRAPS {
        let mut o = opts(trap);
        o.uml_flags.push("--net=host".into());
        let out = run_uml(&[PYTHON, "-c", &prog], &o);
        assert_eq!(out.status, 0, "{}", out.describe("uml"));
        assert_eq!(out.stdout_str(), "host got hello True\ndone\n");
    }
    server.join().unwrap();
}
