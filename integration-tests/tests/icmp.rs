//! ICMP on the instance's loopback: echo sockets, raw ICMP sockets and `ping`, natively
//! and under uml. Natively these need root (raw sockets, and the guest sets the host's
//! `net.ipv4.ping_group_range` for a moment, restoring it), so they are skipped otherwise.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use integration_tests::{arg, guests, run_native, run_uml, Outcome, RunOpts, TRAPS};

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn opts(trap: &str) -> RunOpts {
    RunOpts {
        uml_flags: vec![trap.into()],
        timeout: Some(Duration::from_secs(60)),
        ..RunOpts::default()
    }
}

#[test]
fn echo_and_raw_sockets_match_linux() {
    if !root() {
        eprintln!("not root: raw sockets and ping_group_range need it natively; skipped");
        return;
    }
    integration_tests::compare_both_traps(&[arg(guests::NET_ICMP)], Duration::from_secs(60));
}

/// `ping`'s output with its times (which differ from run to run) blanked.
fn untimed(o: &Outcome) -> String {
    o.stdout_str()
        .lines()
        .map(|l| {
            let l = match l.find(" time=") {
                Some(i) => &l[..i],
                None => l,
            };
            let l = match l.find(", time ") {
                Some(i) => &l[..i],
                None => l,
            };
            if l.starts_with("rtt ") {
                "rtt"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn same_ping(what: &str, native: &Outcome, uml: &Outcome) {
    assert_eq!(native.status, 0, "{}", native.describe(what));
    assert_eq!(uml.status, 0, "{}", uml.describe(what));
    assert_eq!(untimed(native), untimed(uml), "{what}");
}

/// Debian's `ping`, if it is there and can run natively (as root: a raw socket).
fn ping() -> Option<std::path::PathBuf> {
    let Some(ping) = integration_tests::which("ping") else {
        eprintln!("no ping (iputils-ping); skipped");
        return None;
    };
    if !root() {
        eprintln!("not root: ping natively needs a raw socket; skipped");
        return None;
    }
    Some(ping)
}

/// `ping -c 2 -i 0.2 TARGET`.
fn ping_argv(ping: &std::path::Path, target: &str) -> Vec<std::ffi::OsString> {
    let mut v = vec![arg(ping)];
    v.extend(["-c", "2", "-i", "0.2", target].iter().map(arg));
    v
}

/// Debian's `ping` as root (a raw socket, as it falls back to when echo sockets are not
/// allowed), over IPv4 and IPv6, never touching a host socket.
#[test]
fn ping_as_root() {
    let Some(ping) = ping() else { return };
    for target in ["127.0.0.1", "::1"] {
        let argv = ping_argv(&ping, target);
        let native = run_native(&argv, &opts(TRAPS[0]));
        for trap in TRAPS {
            let uml = run_uml(&argv, &opts(trap));
            same_ping(&format!("ping {target} {trap}"), &native, &uml);
        }
    }
}

/// An unprivileged `ping` in the guest uses an echo socket once the guest's
/// `ping_group_range` lets its group; its output is a root `ping`'s.
#[test]
fn ping_unprivileged_through_an_echo_socket() {
    let Some(ping) = ping() else { return };
    for target in ["127.0.0.1", "::1"] {
        let native = run_native(&ping_argv(&ping, target), &opts(TRAPS[0]));
        let script = format!(
            "echo 100 100 > /proc/sys/net/ipv4/ping_group_range && \
             setpriv --reuid=100 --regid=100 --clear-groups {} -c 2 -i 0.2 {target}",
            ping.display()
        );
        for trap in TRAPS {
            let uml = run_uml(&[arg("/bin/sh"), arg("-c"), arg(&script)], &opts(trap));
            same_ping(&format!("unprivileged ping {target} {trap}"), &native, &uml);
        }
    }
}
