//! `TIME_WAIT`: a connection closed from this side first (its FIN went before the peer's)
//! keeps its local address for [`TIME_WAIT_LEN`] after its socket is gone, as Linux's
//! `inet_timewait_sock` does. While it lasts, a `bind` to that address fails with
//! `EADDRINUSE` unless the new socket and the closed one both had `SO_REUSEADDR` (or both
//! `SO_REUSEPORT`); `/proc/net/tcp` lists it. A port the stack picks for a `connect` may
//! reuse it (Linux's `tcp_tw_reuse` does so on loopback), and a reset from the peer (its
//! close with unread data) ends it at once.
//!
//! The connection that is still waiting for the peer's FIN (Linux's orphaned `FIN_WAIT2`)
//! keeps its address the same way; `/proc/net/tcp` shows that state while the peer is open.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::{Family, Net, SockId, Tcp, SEND_SHUTDOWN};

/// `TCP_TIMEWAIT_LEN`.
pub(crate) const TIME_WAIT_LEN: Duration = Duration::from_secs(60);
/// `net.ipv4.tcp_max_tw_buckets`: beyond this many, a closing connection goes at once (Linux
/// logs "time wait bucket table overflow").
const MAX_TIME_WAIT: usize = 131_072;

/// A closed connection in `TIME_WAIT` (or orphaned `FIN_WAIT2`).
#[derive(Debug)]
pub(crate) struct TimeWait {
    pub(crate) family: Family,
    pub(crate) local: SocketAddr,
    pub(crate) peer: Option<SocketAddr>,
    /// The peer's socket (it may be gone).
    pub(crate) peer_id: Option<SockId>,
    pub(crate) v6only: bool,
    pub(crate) reuseaddr: bool,
    pub(crate) reuseport: bool,
    pub(crate) until: Instant,
}

impl TimeWait {
    pub(crate) fn live(&self, now: Instant) -> bool {
        self.until > now
    }

    /// Linux's `tw_substate`: `TIME_WAIT` (6) once the peer sent its FIN, else
    /// `FIN_WAIT2` (5).
    pub(crate) fn state_code(&self, net: &Net) -> u8 {
        let peer_open = self
            .peer_id
            .and_then(|p| net.socks.get(&p))
            .is_some_and(|p| {
                p.shutdown & SEND_SHUTDOWN == 0 && matches!(p.tcp, Tcp::Established(_))
            });
        if peer_open {
            5
        } else {
            6
        }
    }
}

/// Socket `id`, whose peer is `peer_id`, goes having sent its FIN before the peer's: its
/// address stays taken.
pub(crate) fn enter(net: &mut Net, id: SockId, peer_id: Option<SockId>) {
    let now = nondet::ktime_get();
    let Some(tw) = net.socks.get(&id).and_then(|s| {
        Some(TimeWait {
            family: s.family,
            local: s.local?,
            peer: s.peer,
            peer_id,
            v6only: s.opts.v6only,
            reuseaddr: s.opts.reuseaddr,
            reuseport: s.opts.reuseport,
            until: now + TIME_WAIT_LEN,
        })
    }) else {
        return;
    };
    // Oldest first: every entry lasts as long.
    while net.time_wait.front().is_some_and(|t| !t.live(now)) {
        net.time_wait.pop_front();
    }
    if net.time_wait.len() < MAX_TIME_WAIT {
        net.time_wait.push_back(tw);
    }
}

/// The peer `id` resets the connection (it closed with unread data): a `TIME_WAIT` waiting
/// on it ends.
pub(crate) fn reset_by(net: &mut Net, id: SockId) {
    net.time_wait.retain(|t| t.peer_id != Some(id));
}
