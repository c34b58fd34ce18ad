//! Published ports (`uml run -p`): a host client reaches a guest server on the instance's
//! own network through the host port the kernel owns, over TCP and UDP.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use integration_tests::RunOpts;

const PYTHON: &str = "/usr/bin/python3";

fn opts(port: String) -> RunOpts {
    RunOpts {
        uml_flags: vec!["--trap=seccomp".into(), port],
        timeout: Some(Duration::from_secs(120)),
        ..RunOpts::default()
    }
}

/// `-p HOSTPORT:GUESTPORT`: a python `http.server` in the guest, on the instance's own
/// network, answers a plain TCP client of the host's 127.0.0.1:HOSTPORT (the kernel owns
/// the host listener and relays each connection to the guest's listener).
#[test]
fn published_port_reaches_a_guest_http_server() {
    use std::io::{Read, Write};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let prog = r#"
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from the guest " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 8000), H)
s.handle_request()
s.handle_request()
print("done")
"#;
    let o = opts(format!("-p{port}:8000"));
    let mut child = integration_tests::uml_command(&[PYTHON, "-c", prog], &o)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut served = 0;
    while served < 2 && Instant::now() < deadline {
        let got = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut c| {
            c.set_read_timeout(Some(Duration::from_secs(30)))?;
            write!(c, "GET /n{served} HTTP/1.0\r\nHost: x\r\n\r\n")?;
            let mut out = String::new();
            c.read_to_string(&mut out)?;
            Ok(out)
        });
        match got {
            Ok(out) if out.starts_with("HTTP/1.0 200") => {
                assert!(
                    out.ends_with(&format!("hello from the guest /n{served}")),
                    "{out}"
                );
                served += 1;
            }
            // The guest is not listening yet: the connection is closed at once.
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    if served < 2 {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(served, 2, "{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
}

/// `-p HOSTPORT:GUESTPORT/udp`: a python UDP echo server in the guest answers two host
/// clients; each is a client of its own in the guest (127.0.0.1, a port of its own).
#[test]
fn published_udp_port_reaches_a_guest_echo_server() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let prog = r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 9053))
ports = set()
for i in range(4):
    data, addr = s.recvfrom(100)
    ports.add(addr[1])
    s.sendto(b"echo " + data + b" from " + addr[0].encode(), addr)
print("clients", len(ports))
print("done")
"#;
    let o = opts(format!("-p{port}:9053/udp"));
    let mut child = integration_tests::uml_command(&[PYTHON, "-c", prog], &o)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let clients: Vec<std::net::UdpSocket> = (0..2)
        .map(|_| {
            let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            c.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            c
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut answered = 0;
    while answered < 4 && Instant::now() < deadline {
        let c = &clients[answered % 2];
        let msg = format!("n{answered}");
        c.send_to(msg.as_bytes(), ("127.0.0.1", port)).unwrap();
        let mut buf = [0u8; 100];
        // Lost until the guest has bound its port: sent again.
        if let Ok(n) = c.recv(&mut buf) {
            let got = String::from_utf8_lossy(&buf[..n]).into_owned();
            assert_eq!(got, format!("echo {msg} from 127.0.0.1"));
            answered += 1;
        }
    }
    if answered < 4 {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(answered, 4, "{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "clients 2\ndone\n");
}
