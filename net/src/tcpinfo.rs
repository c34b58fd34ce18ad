//! `TCP_INFO`: Linux's `struct tcp_info` for a stream socket of the loopback stack, with
//! the values a loopback connection of Linux shows (window scaling, timestamps and SACK
//! on; an MSS of 32768 over `lo`'s 65536-byte MTU; a 200 ms RTO; a few microseconds of
//! round trip) and the socket's real state, listen backlog and accept queue. Counters of
//! segments and bytes are not kept (they read 0). With `--net host` the host's own
//! `struct tcp_info` of the host socket is given (`host_ifaces::tcp_info`), or
//! [`unconnected`]'s for a socket the host does not list.

use crate::stream::state_code;
use crate::{Sock, Tcp};

/// `sizeof(struct tcp_info)` of the Linux uml reports to be.
pub(crate) const TCP_INFO_LEN: usize = 280;
const TCP_LISTEN: u8 = 10;
const TCP_CLOSE: u8 = 7;
/// `TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE`.
const OPTIONS: u8 = 7;
/// Window scale 10 both ways (`tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4`).
const WSCALE: u8 = 10 | 10 << 4;
/// `TCP_INFINITE_SSTHRESH`.
const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;
/// `lo`'s MTU less the IP and TCP headers and the timestamp option.
const ADVMSS: u32 = 65_483;
/// The round trip reported for a loopback connection, in microseconds.
const RTT_US: u32 = 10;

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

/// What every `struct tcp_info` starts with: the state, `tcpi_snd_cwnd`,
/// `tcpi_reordering`, `tcpi_pacing_rate`, `tcpi_max_pacing_rate`.
fn base(state: u8) -> Vec<u8> {
    let mut b = vec![0u8; TCP_INFO_LEN];
    b[0] = state;
    put32(&mut b, 80, 10);
    put32(&mut b, 88, 3);
    put64(&mut b, 104, u64::MAX);
    put64(&mut b, 112, u64::MAX);
    b
}

/// The `struct tcp_info` of a socket never connected (nor listening): `tcpi_rto` 1 s,
/// `tcpi_snd_mss` 536, `tcpi_rttvar` 250 ms, no `tcpi_min_rtt`, as Linux's fresh socket.
pub(crate) fn unconnected() -> Vec<u8> {
    let mut b = base(TCP_CLOSE);
    put32(&mut b, 76, INFINITE_SSTHRESH);
    put32(&mut b, 8, 1_000_000);
    put32(&mut b, 16, 536);
    put32(&mut b, 72, 250_000);
    put32(&mut b, 152, u32::MAX);
    b
}

/// The `struct tcp_info` of `s`.
pub(crate) fn tcp_info(s: &Sock) -> Vec<u8> {
    let state = state_code(s);
    if state == TCP_CLOSE && s.peer.is_none() {
        return unconnected();
    }
    let mut b = base(state);
    if let Tcp::Listen {
        backlog, accept, ..
    } = &s.tcp
    {
        debug_assert_eq!(state, TCP_LISTEN);
        // tcpi_unacked: the accept queue; tcpi_sacked: the backlog.
        put32(&mut b, 24, accept.len() as u32);
        put32(&mut b, 28, *backlog);
        return b;
    }
    // tcpi_snd_ssthresh.
    put32(&mut b, 76, INFINITE_SSTHRESH);
    b[5] = OPTIONS;
    b[6] = WSCALE;
    for (at, v) in [
        (8, 200_000),     // tcpi_rto
        (12, 40_000),     // tcpi_ato
        (16, 32_768),     // tcpi_snd_mss
        (20, 536),        // tcpi_rcv_mss
        (60, 65_535),     // tcpi_pmtu
        (64, ADVMSS),     // tcpi_rcv_ssthresh
        (68, RTT_US),     // tcpi_rtt
        (72, RTT_US / 2), // tcpi_rttvar
        (84, ADVMSS),     // tcpi_advmss
        (96, ADVMSS),     // tcpi_rcv_space
        (152, RTT_US),    // tcpi_min_rtt
        (232, 65_536),    // tcpi_snd_wnd
    ] {
        put32(&mut b, at, v);
    }
    b
}
