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
