//! Published ports (`uml run -p [HOSTADDR:]HOSTPORT:GUESTPORT[/udp]`, `--net none`; UDP in
//! [`crate::publish_udp`]): the kernel owns a host TCP listener per published TCP port; each connection it accepts becomes a
//! connection of the instance's loopback network to 127.0.0.1:GUESTPORT, which the
//! guest's listener there accepts as any other. The kernel relays the bytes between the
//! host connection and the guest-side socket it holds (the client end): what the host
//! sends is sent on the client end as far as its peer has room, what the guest's end
//! sends is written to the host connection, and an end of file or reset on one side is
//! passed to the other. Nothing of the host's reaches the guest but those bytes.
//!
//! The relays run when the kernel would otherwise wait (before it sleeps, and after the
//! host descriptors it watches wake it) and every `STREAM_CHECK` while guests run. A
//! connection nobody listens for in the guest is closed at once (the host client sees
//! its connection reset or closed).

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};

use abi::Errno;
use net::{Family, Kind, NetService, SockId};

use crate::publish_udp::UdpRule;

/// One `-p` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    /// The host address and port to listen on.
    pub host: SocketAddr,
    /// The guest port its connections go to (on 127.0.0.1).
    pub guest_port: u16,
    /// `/udp`: datagrams are relayed, not connections.
    pub udp: bool,
}

impl std::str::FromStr for Publish {
    type Err = String;

    /// `[HOSTADDR:]HOSTPORT:GUESTPORT[/tcp|/udp]`; HOSTADDR defaults to 127.0.0.1 (an
    /// IPv6 one in brackets).
    fn from_str(s: &str) -> Result<Publish, String> {
        let (spec, proto) = s.rsplit_once('/').unwrap_or((s, "tcp"));
        let udp = match proto {
            "tcp" => false,
            "udp" => true,
            p => return Err(format!("{s}: unknown protocol {p:?} (tcp or udp)")),
        };
        let (host, guest) = spec
            .rsplit_once(':')
            .ok_or_else(|| format!("{s}: expected [HOSTADDR:]HOSTPORT:GUESTPORT"))?;
        let port = |p: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("{s}: bad port {p:?}"))
        };
        let guest_port = port(guest)?;
        let host = match host.rsplit_once(':') {
            None => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port(host)?),
            Some((addr, p)) => {
                let addr = addr.trim_start_matches('[').trim_end_matches(']');
                let ip = addr
                    .parse()
                    .map_err(|_| format!("{s}: bad host address {addr:?}"))?;
                SocketAddr::new(ip, port(p)?)
            }
        };
        Ok(Publish {
            host,
            guest_port,
            udp,
        })
    }
}

/// A host connection and the guest-side socket it is relayed to.
struct Relay {
    host: TcpStream,
    sock: SockId,
    /// Bytes from the guest not yet written to the host.
    to_host: Vec<u8>,
    /// Bytes from the host not yet taken by the guest's socket.
    to_guest: Vec<u8>,
    host_eof: bool,
    guest_eof: bool,
}

/// The published ports and their connections.
#[derive(Default)]
pub(crate) struct Ports {
    listeners: Vec<(TcpListener, u16)>,
    relays: Vec<Relay>,
    udp: Vec<UdpRule>,
}

/// The most a relay moves in one step.
const STEP: usize = 256 * 1024;

impl Ports {
    /// Listens on each rule's host address.
    pub(crate) fn listen(rules: &[Publish]) -> std::io::Result<Ports> {
        let mut p = Ports::default();
        for r in rules {
            let named =
                |e: std::io::Error| std::io::Error::new(e.kind(), format!("-p {}: {e}", r.host));
            if r.udp {
                p.udp
                    .push(UdpRule::bind(r.host, r.guest_port).map_err(named)?);
                continue;
            }
            let l = TcpListener::bind(r.host).map_err(named)?;
            l.set_nonblocking(true)?;
            p.listeners.push((l, r.guest_port));
        }
        Ok(p)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.listeners.is_empty() && self.udp.is_empty()
    }

    /// The host descriptors to watch, and whether to watch each for writing.
    pub(crate) fn fds(&self) -> Vec<(BorrowedFd<'_>, bool)> {
        let mut v: Vec<(BorrowedFd<'_>, bool)> = self
            .listeners
            .iter()
            .map(|(l, _)| (l.as_fd(), false))
            .collect();
        v.extend(
            self.relays
                .iter()
                .filter(|r| !r.host_eof || !r.to_host.is_empty())
                .map(|r| (r.host.as_fd(), !r.to_host.is_empty())),
        );
        v.extend(self.udp.iter().map(|u| (u.fd(), false)));
        v
    }

    /// Accepts what the host listeners have and moves what can be moved; returns whether
    /// anything happened (the stack's ready list then has wait ids to wake).
    pub(crate) fn pump(&mut self, net: &NetService) -> bool {
        let mut moved = false;
        for (l, guest_port) in &self.listeners {
            while let Ok((host, _)) = l.accept() {
                moved = true;
                if let Some(r) = connect(net, host, *guest_port) {
                    self.relays.push(r);
                }
            }
        }
        for r in &mut self.relays {
            moved |= r.step(net);
        }
        for u in &mut self.udp {
            moved |= u.pump(net);
        }
        self.relays.retain(|r| {
            let done = r.host_eof && r.guest_eof && r.to_host.is_empty();
            if done {
                net.close(r.sock);
            }
            !done
        });
        moved
    }
}

/// A guest-side socket connected to 127.0.0.1:`port` for `host`; `None` (and the host
/// connection dropped) when nothing listens there.
fn connect(net: &NetService, host: TcpStream, port: u16) -> Option<Relay> {
    host.set_nonblocking(true).ok()?;
    let sock = net
        .socket(Family::V4, Kind::Stream, 0, vfs::new_wait_id())
        .ok()?;
    let to = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port);
    match net.connect(sock, Some(to), true) {
        Ok(()) | Err(Errno::EINPROGRESS) => Some(Relay {
            host,
            sock,
            to_host: Vec::new(),
            to_guest: Vec::new(),
            host_eof: false,
            guest_eof: false,
        }),
        Err(_) => {
            net.close(sock);
            None
        }
    }
}

impl Relay {
    /// Moves bytes both ways; whether any moved or an end changed.
    fn step(&mut self, net: &NetService) -> bool {
        let mut moved = false;
        // Host to guest.
        if self.to_guest.is_empty() && !self.host_eof {
            let mut buf = vec![0u8; STEP];
            match self.host.read(&mut buf) {
                Ok(0) => {
                    self.host_eof = true;
                    let _ = net.shutdown(self.sock, net::SEND_SHUTDOWN);
                    moved = true;
                }
                Ok(n) => {
                    buf.truncate(n);
                    self.to_guest = buf;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => {
                    self.host_eof = true;
                    self.guest_eof = true;
                    self.to_host.clear();
                    moved = true;
                }
            }
        }
        if !self.to_guest.is_empty() {
            match net.send(self.sock, self.to_guest.clone(), None) {
                Ok(n) => {
                    self.to_guest.drain(..n);
                    moved = true;
                }
                Err(Errno::EAGAIN) => {}
                Err(_) => {
                    // The guest's end is gone: so is the host connection.
                    self.to_guest.clear();
                    self.host_eof = true;
                    self.guest_eof = true;
                    let _ = self.host.shutdown(std::net::Shutdown::Both);
                    moved = true;
                }
            }
        }
        // Guest to host.
        if self.to_host.is_empty() && !self.guest_eof {
            match net.recv(self.sock, STEP, false) {
                Ok(r) if r.data.is_empty() => {
                    self.guest_eof = true;
                    let _ = self.host.shutdown(std::net::Shutdown::Write);
                    moved = true;
                }
                Ok(r) => self.to_host = r.data,
                Err(Errno::EAGAIN) => {}
                Err(_) => {
                    self.guest_eof = true;
                    self.host_eof = true;
                    let _ = self.host.shutdown(std::net::Shutdown::Both);
                    moved = true;
                }
            }
        }
        if !self.to_host.is_empty() {
            match self.host.write(&self.to_host) {
                Ok(n) => {
                    self.to_host.drain(..n);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => {
                    self.to_host.clear();
                    self.guest_eof = true;
                    self.host_eof = true;
                }
            }
            if self.to_host.is_empty() && self.guest_eof {
                let _ = self.host.shutdown(std::net::Shutdown::Write);
            }
        }
        moved
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Publish;

    #[test]
    fn rules_parse_as_docker_writes_them() {
        let p: Publish = "8080:80".parse().unwrap();
        assert_eq!(p.host, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(p.guest_port, 80);
        let p: Publish = "0.0.0.0:8080:80/tcp".parse().unwrap();
        assert_eq!(p.host, "0.0.0.0:8080".parse().unwrap());
        let p: Publish = "[::1]:8080:80".parse().unwrap();
        assert_eq!(p.host, "[::1]:8080".parse().unwrap());
        assert!(!p.udp);
        let p: Publish = "5353:53/udp".parse().unwrap();
        assert_eq!((p.guest_port, p.udp), (53, true));
        for bad in [
            "80",
            "0:80",
            "8080:0",
            "x:8080:80",
            "70000:80",
            "1:2/sctp",
            "",
        ] {
            assert!(bad.parse::<Publish>().is_err(), "{bad}");
        }
    }
}
