//! What programs read about the network beyond their sockets, compared with Linux:
//! `NETLINK_ROUTE` multicast groups (joined, reported, no events), garbage netlink
//! lengths, `TCP_INFO` and its bad lengths, and with `--net host` the host's own
//! interfaces, addresses and routes (getifaddrs, if_nameindex, the `SIOCGIF*` ioctls, a
//! route dump, `/proc/net/{dev,if_inet6,route}`, iproute2's `ip`) — while `--net none`
//! keeps showing only the instance's `lo`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{
    arg, assert_no_bad_lines, compare, compare_both_traps, guests, run_native, run_uml, RunOpts,
    TRAPS,
};

const IP: &str = "/usr/sbin/ip";
const PYTHON: &str = "/usr/bin/python3";

fn host_opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.into(), "--net=host".into()],
        timeout: Some(Duration::from_secs(60)),
        ..RunOpts::default()
    }
}

fn has(out: &str, line: &str) {
    assert!(
        out.lines().any(|l| l == line),
        "expected line {line:?} in:\n{out}"
    );
}

/// Groups joined by `bind` and `NETLINK_ADD_MEMBERSHIP` are reported by `getsockname`
/// and `NETLINK_LIST_MEMBERSHIPS`; bad group numbers, lengths and pointers get Linux's
/// errnos; no event arrives; garbage message lengths are ignored; `TCP_INFO` fields and
/// lengths as Linux's — on the loopback stack and on host sockets.
#[test]
fn groups_garbage_and_tcp_info() {
    let o = compare_both_traps(&[arg(guests::NET_IFLIST)], Duration::from_secs(60));
    let out = o.stdout_str();
    has(&out, "getsockname groups=0x111 len=12 bound=1");
    has(&out, "after: groups=0x150 list r=0 len=8 0x150 0");
    has(&out, "poll 0");
    has(&out, "long len send=24 recv=EAGAIN");
    has(&out, "big r=0 len=280");
    for trap in TRAPS {
        let out = compare(&[arg(guests::NET_IFLIST)], &host_opts(trap));
        assert_no_bad_lines(&format!("--net=host {trap}"), &out);
        has(
            &out.stdout_str(),
            "client r=0 state=1 rtt>0=1 cwnd>0=1 opts=7 pmtu=65535",
        );
    }
}

/// `--net host`: the host's interfaces, addresses and routes, every way a program reads
/// them, as the host itself shows them.
#[test]
fn net_host_shows_the_hosts_interfaces() {
    for trap in TRAPS {
        let o = compare(&[arg(guests::NET_IFLIST), arg("all")], &host_opts(trap));
        assert_no_bad_lines(&format!("net_iflist all --net=host {trap}"), &o);
        let out = o.stdout_str();
        // The host has more than lo (else this test shows nothing).
        assert!(
            out.lines().any(|l| l.starts_with("dev ") && l != "dev lo"),
            "{out}"
        );
    }
}

/// iproute2's `ip` under `--net host` prints what it prints on the host (address
/// lifetimes that count down left out).
#[test]
fn net_host_ip_matches_the_host() {
    if !std::path::Path::new(IP).exists() {
        return;
    }
    let steady = |s: String| -> String {
        s.lines()
            .filter(|l| !l.contains("_lft") || l.contains("forever preferred_lft forever"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    for args in [
        &["addr"][..],
        &["link"],
        &["route"],
        &["-6", "route"],
        &["route", "show", "table", "local"],
    ] {
        let mut argv = vec![IP];
        argv.extend_from_slice(args);
        let o = host_opts("--trap=seccomp");
        let native = run_native(&argv, &o);
        let uml = run_uml(&argv, &o);
        assert_eq!(
            uml.status,
            native.status,
            "{args:?}: {}",
            uml.describe("uml")
        );
        assert_eq!(
            steady(uml.stdout_str()),
            steady(native.stdout_str()),
            "ip {args:?}"
        );
    }
}

/// `--net none`: only the instance's `lo`, whatever the host has; `/proc/net/route` has
/// no route (lo's are in the local table).
#[test]
fn net_none_shows_only_lo() {
    let o = RunOpts {
        uml_flags: vec!["--trap=seccomp".into()],
        timeout: Some(Duration::from_secs(60)),
        ..RunOpts::default()
    };
    let out = run_uml(&[arg(guests::NET_IFLIST), arg("all")], &o);
    assert_eq!(out.status, 0, "{}", out.describe("uml"));
    let out = out.stdout_str();
    has(&out, "nameindex 1 lo nametoindex=1");
    has(&out, "dev lo");
    has(&out, "ifconf lo 127.0.0.1");
    for l in out.lines() {
        if let Some(rest) = l.strip_prefix("route file ") {
            assert!(rest.starts_with("Iface\t"), "{out}");
        }
        for prefix in ["ifaddr ", "nameindex ", "dev ", "ifconf ", "if_inet6 "] {
            if l.starts_with(prefix) {
                assert!(l.contains(" lo") || l.starts_with("dev header"), "{l}");
            }
        }
    }
}

/// `ip monitor` subscribes to the link, address and route groups and waits for events
/// without complaint (none come: nothing changes).
#[test]
fn ip_monitor_waits() {
    if !std::path::Path::new(IP).exists() {
        return;
    }
    let prog = format!(
        r#"
import subprocess, time
p = subprocess.Popen(["{IP}", "monitor", "link", "address", "route"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(1)
print("still running", p.poll() is None)
p.kill()
out, err = p.communicate()
print("stderr", repr(err))
print("done")
"#
    );
    compare_both_traps(
        &[arg(PYTHON), arg("-c"), arg(&prog)],
        Duration::from_secs(60),
    );
}

/// A route of the host's that nothing uses (a table of its own), added and deleted while a
/// guest listens; `false` when this host may not change its routes.
fn change_host_route() -> bool {
    let ip = |verb: &str| {
        std::process::Command::new(IP)
            .args([
                "route",
                verb,
                "10.254.254.0/24",
                "dev",
                "lo",
                "table",
                "4242",
            ])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    ip("add") && ip("del")
}

/// Runs `cmd` (a program that prints "bound" once it listens, then the events it saw),
/// changes a host route once it is bound; its output.
fn events_seen(mut cmd: std::process::Command) -> String {
    use std::io::{BufRead, Read};
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first, "bound\n");
    assert!(change_host_route());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    child.wait().unwrap();
    rest
}

/// `--net host`: a netlink socket bound to the route group gets the host's route events,
/// as on the host (without the host's sequence numbers and port ids).
#[test]
fn net_host_relays_the_hosts_route_events() {
    if !std::path::Path::new(IP).exists() || !change_host_route() {
        return;
    }
    let prog = r#"
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.bind((0, 0x40))  # RTMGRP_IPV4_ROUTE
s.settimeout(20)
print("bound", flush=True)
seen = []
while len(seen) < 2:
    try:
        d = s.recv(65536)
    except socket.timeout:
        print("timeout")
        break
    off = 0
    while off + 16 <= len(d):
        ln, ty = struct.unpack_from("IH", d, off)
        if ty in (24, 25):
            dl, table, a, dst = d[off + 17], None, off + 28, None
            while a + 4 <= off + ln:
                al, at = struct.unpack_from("HH", d, a)
                if al < 4:
                    break
                if at == 1:
                    dst = socket.inet_ntoa(d[a + 4:a + 8])
                if at == 15:
                    table = struct.unpack_from("I", d, a + 4)[0]
                a += (al + 3) & ~3
            if table == 4242:
                seen.append("%s %s/%d" % ("new" if ty == 24 else "del", dst, dl))
        off += (ln + 3) & ~3
print("\n".join(seen))
print("done")
"#;
    let native = events_seen({
        let mut c = std::process::Command::new(PYTHON);
        c.args(["-c", prog]);
        c
    });
    assert_eq!(native, "new 10.254.254.0/24\ndel 10.254.254.0/24\ndone\n");
    for trap in TRAPS {
        let uml = events_seen(integration_tests::uml_command(
            &[PYTHON, "-c", prog],
            &host_opts(trap),
        ));
        assert_eq!(uml, native, "--net=host {trap}");
    }
}
