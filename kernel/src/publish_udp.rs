//! Published UDP ports (`uml run -p [HOSTADDR:]HOSTPORT:GUESTPORT/udp`): the kernel owns a
//! host UDP socket per rule. Each host client (by its address) gets a socket of the
//! instance's loopback network, which sends the client's datagrams to
//! 127.0.0.1:GUESTPORT; what the guest sends back to that socket goes to the client from
//! the host socket. The guest sees each client as 127.0.0.1 and a port of its own, as
//! Docker's proxy shows them. A client silent for [`IDLE`] loses its socket (a later
//! datagram gets a new one); no more than [`MAX_CLIENTS`] are kept per rule, the longest
//! silent going first. Datagrams the host cannot take at once are dropped, as UDP may.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use abi::Errno;
use net::{Family, Kind, NetService, SockId};

/// How long a silent client keeps its guest-side socket (Docker's UDP proxy timeout).
const IDLE: Duration = Duration::from_secs(90);
/// The most clients a rule keeps at once.
const MAX_CLIENTS: usize = 1024;
/// The largest datagram.
const MAX_DGRAM: usize = 65_536;

/// A client's guest-side socket and when it was last used.
struct Client {
    sock: SockId,
    last: Instant,
}

/// One published UDP port.
pub(crate) struct UdpRule {
    host: UdpSocket,
    guest_port: u16,
    clients: HashMap<SocketAddr, Client>,
}

impl UdpRule {
    /// Binds the rule's host address.
    pub(crate) fn bind(host: SocketAddr, guest_port: u16) -> std::io::Result<UdpRule> {
        let s = UdpSocket::bind(host)?;
        s.set_nonblocking(true)?;
        Ok(UdpRule {
            host: s,
            guest_port,
            clients: HashMap::new(),
        })
    }

    /// The host socket, to watch for reading.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.host.as_fd()
    }

    /// Moves datagrams both ways; whether any moved.
    pub(crate) fn pump(&mut self, net: &NetService) -> bool {
        let mut moved = false;
        let mut buf = vec![0u8; MAX_DGRAM];
        while let Ok((n, from)) = self.host.recv_from(&mut buf) {
            moved = true;
            if let Some(sock) = self.client(net, from) {
                let to = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), self.guest_port);
                let _ = net.send(sock, buf[..n].to_vec(), Some(to));
            }
        }
        let now = Instant::now();
        for (addr, c) in &mut self.clients {
            loop {
                match net.recv(c.sock, MAX_DGRAM, false) {
                    Ok(r) => {
                        moved = true;
                        c.last = now;
                        // A datagram the host cannot take now is dropped.
                        let _ = self.host.send_to(&r.data, addr);
                    }
                    Err(Errno::EAGAIN) => break,
                    // A pending error (the guest port was closed): the next call goes on.
                    Err(_) => {}
                }
            }
        }
        self.clients.retain(|_, c| {
            let keep = now.duration_since(c.last) < IDLE;
            if !keep {
                net.close(c.sock);
            }
            keep
        });
        moved
    }

    /// The guest-side socket of client `from`, made if it has none.
    fn client(&mut self, net: &NetService, from: SocketAddr) -> Option<SockId> {
        let now = Instant::now();
        if let Some(c) = self.clients.get_mut(&from) {
            c.last = now;
            return Some(c.sock);
        }
        if self.clients.len() >= MAX_CLIENTS {
            let oldest = self
                .clients
                .iter()
                .min_by_key(|(_, c)| c.last)
                .map(|(a, _)| *a);
            if let Some(c) = oldest.and_then(|a| self.clients.remove(&a)) {
                net.close(c.sock);
            }
        }
        let sock = net
            .socket(Family::V4, Kind::Dgram, 0, vfs::new_wait_id())
            .ok()?;
        self.clients.insert(from, Client { sock, last: now });
        Some(sock)
    }
}
