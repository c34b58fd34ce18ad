//! The stack driven through its messages alone.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use abi::Errno;

use crate::{Family, Kind, NetService, SockId};

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn sock(net: &NetService, family: Family, kind: Kind) -> SockId {
    net.socket(family, kind, 1000, vfs::new_wait_id()).unwrap()
}

/// A listener on `addr` and a client connected to it; returns (listener, client, server end).
fn pair(net: &NetService, family: Family, addr: &str) -> (SockId, SockId, SockId) {
    let l = sock(net, family, Kind::Stream);
    net.bind(l, a(addr), false).unwrap();
    net.listen(l, 16).unwrap();
    let port = net.info(l).unwrap().local.unwrap().port();
    let c = sock(net, family, Kind::Stream);
    let mut to = a(addr);
    to.set_port(port);
    net.connect(c, Some(to), false).unwrap();
    let e = net.accept(l).unwrap();
    (l, c, e)
}

#[test]
fn stream_echo_and_names() {
    let net = NetService::default();
    let (l, c, e) = pair(&net, Family::V4, "127.0.0.1:0");
    let port = net.info(l).unwrap().local.unwrap().port();
    assert!(crate::EPHEMERAL.contains(&port));
    assert_eq!(net.send(c, b"hello".to_vec(), None), Ok(5));
    let r = net.recv(e, 3, true).unwrap();
    assert_eq!(r.data, b"hel");
    assert_eq!(net.recv(e, 100, false).unwrap().data, b"hello");
    assert_eq!(net.recv(e, 100, false), Err(Errno::EAGAIN));
    let ci = net.info(c).unwrap();
    let ei = net.info(e).unwrap();
    assert_eq!(ci.peer, ei.local);
    assert_eq!(ei.peer, ci.local);
    assert!(!net.take_ready().is_empty());
}

#[test]
fn refused_and_nonblocking() {
    let net = NetService::default();
    let c = sock(&net, Family::V4, Kind::Stream);
    assert_eq!(
        net.connect(c, Some(a("127.0.0.1:9")), false),
        Err(Errno::ECONNREFUSED)
    );
    assert_eq!(
        net.connect(c, Some(a("127.0.0.1:9")), true),
        Err(Errno::EINPROGRESS)
    );
    assert_eq!(net.take_error(c), Some(Errno::ECONNREFUSED));
    // The outcome was taken: a connect reports the abort (Linux's `sock_error ?: ECONNABORTED`).
    assert_eq!(
        net.connect(c, Some(a("127.0.0.1:9")), true),
        Err(Errno::ECONNABORTED)
    );
    assert_eq!(
        net.connect(c, Some(a("10.0.0.1:80")), false),
        Err(Errno::ENETUNREACH)
    );
}

#[test]
fn backlog_full_waits_for_accept() {
    let net = NetService::default();
    let l = sock(&net, Family::V4, Kind::Stream);
    net.bind(l, a("127.0.0.1:0"), false).unwrap();
    net.listen(l, 0).unwrap();
    let to = net.info(l).unwrap().local.unwrap();
    let c1 = sock(&net, Family::V4, Kind::Stream);
    net.connect(c1, Some(to), true).unwrap_err();
    let c2 = sock(&net, Family::V4, Kind::Stream);
    assert_eq!(net.connect(c2, Some(to), true), Err(Errno::EINPROGRESS));
    assert_eq!(net.connect(c2, Some(to), true), Err(Errno::EALREADY));
    assert!(!net.poll(c2).writable);
    net.accept(l).unwrap();
    assert!(net.poll(c2).writable);
    assert_eq!(net.connect(c2, Some(to), true), Ok(()));
    assert_eq!(net.connect(c2, Some(to), true), Err(Errno::EISCONN));
}

#[test]
fn close_eof_epipe_and_reset() {
    let net = NetService::default();
    let (_l, c, e) = pair(&net, Family::V4, "127.0.0.1:0");
    net.shutdown(c, crate::SEND_SHUTDOWN).unwrap();
    assert_eq!(net.recv(e, 10, false).unwrap().data, b"");
    assert_eq!(net.send(c, b"x".to_vec(), None), Err(Errno::EPIPE));
    assert_eq!(net.send(e, b"back".to_vec(), None), Ok(4));
    assert_eq!(net.recv(c, 10, false).unwrap().data, b"back");
    net.close(e);
    assert_eq!(net.recv(c, 10, false).unwrap().data, b"");

    let (_l, c, e) = pair(&net, Family::V4, "127.0.0.1:0");
    net.send(c, b"unread".to_vec(), None).unwrap();
    net.send(e, b"last".to_vec(), None).unwrap();
    net.close(e);
    assert_eq!(net.recv(c, 10, false).unwrap().data, b"last");
    assert_eq!(net.recv(c, 10, false), Err(Errno::ECONNRESET));
    assert_eq!(net.recv(c, 10, false).unwrap().data, b"");

    let (_l, c, e) = pair(&net, Family::V4, "127.0.0.1:0");
    net.close(e);
    assert_eq!(net.send(c, b"1".to_vec(), None), Ok(1));
    assert_eq!(net.send(c, b"2".to_vec(), None), Err(Errno::EPIPE));
    assert_eq!(net.send(c, b"3".to_vec(), None), Err(Errno::EPIPE));
}

#[test]
fn bind_conflicts() {
    let net = NetService::default();
    let x = sock(&net, Family::V4, Kind::Stream);
    net.bind(x, a("127.0.0.1:5000"), false).unwrap();
    let y = sock(&net, Family::V4, Kind::Stream);
    assert_eq!(
        net.bind(y, a("0.0.0.0:5000"), false),
        Err(Errno::EADDRINUSE)
    );
    assert_eq!(net.bind(y, a("127.0.0.2:5000"), false), Ok(()));
    let z = sock(&net, Family::V6, Kind::Stream);
    assert_eq!(net.bind(z, a("[::]:5000"), false), Err(Errno::EADDRINUSE));
    net.set_opt(
        z,
        abi::net::IPPROTO_IPV6,
        abi::net::IPV6_V6ONLY,
        1i32.to_ne_bytes().to_vec(),
    )
    .unwrap();
    assert_eq!(net.bind(z, a("[::]:5000"), false), Ok(()));
    let u = sock(&net, Family::V4, Kind::Dgram);
    assert_eq!(net.bind(u, a("127.0.0.1:5000"), false), Ok(()));
    let w = sock(&net, Family::V4, Kind::Stream);
    assert_eq!(
        net.bind(w, a("192.168.1.1:5000"), false),
        Err(Errno::EADDRNOTAVAIL)
    );
    assert_eq!(net.bind(w, a("127.0.0.1:80"), false), Err(Errno::EACCES));
    // SO_REUSEADDR on both: a second bind is fine, a second listen is not.
    let (p, q) = (
        sock(&net, Family::V4, Kind::Stream),
        sock(&net, Family::V4, Kind::Stream),
    );
    for s in [p, q] {
        net.set_opt(
            s,
            abi::net::SOL_SOCKET,
            abi::net::SO_REUSEADDR,
            1i32.to_ne_bytes().to_vec(),
        )
        .unwrap();
        net.bind(s, a("127.0.0.1:6000"), false).unwrap();
    }
    net.listen(p, 1).unwrap();
    assert_eq!(net.listen(q, 1), Err(Errno::EADDRINUSE));
}

#[test]
fn dual_stack_mapped_peer() {
    let net = NetService::default();
    let (_l, c, e) = pair(&net, Family::V6, "[::]:0");
    assert_eq!(net.info(e).unwrap().peer.unwrap().ip(), a("[::1]:1").ip());
    let l = sock(&net, Family::V6, Kind::Stream);
    net.bind(l, a("[::]:0"), false).unwrap();
    net.listen(l, 4).unwrap();
    let port = net.info(l).unwrap().local.unwrap().port();
    let c4 = sock(&net, Family::V4, Kind::Stream);
    net.connect(c4, Some(a(&format!("127.0.0.1:{port}"))), false)
        .unwrap();
    let e4 = net.accept(l).unwrap();
    let peer = net.info(e4).unwrap().peer.unwrap();
    assert_eq!(peer.ip(), a("[::ffff:127.0.0.1]:1").ip());
    let _ = c;
}

#[test]
fn udp_truncation_and_refused() {
    let net = NetService::default();
    let r = sock(&net, Family::V4, Kind::Dgram);
    net.bind(r, a("127.0.0.1:0"), false).unwrap();
    let to = net.info(r).unwrap().local.unwrap();
    let s = sock(&net, Family::V4, Kind::Dgram);
    assert_eq!(net.send(s, b"hello world".to_vec(), Some(to)), Ok(11));
    let got = net.recv(r, 5, false).unwrap();
    assert_eq!((got.data.as_slice(), got.full_len), (&b"hello"[..], 11));
    assert_eq!(
        got.from,
        net.info(s).unwrap().local.map(|mut l| {
            l.set_ip(a("127.0.0.1:1").ip());
            l
        })
    );
    assert_eq!(net.recv(r, 5, false), Err(Errno::EAGAIN));
    let c = sock(&net, Family::V4, Kind::Dgram);
    net.connect(c, Some(a("127.0.0.1:9")), false).unwrap();
    assert_eq!(net.send(c, b"x".to_vec(), None), Ok(1));
    assert_eq!(net.send(c, b"x".to_vec(), None), Err(Errno::ECONNREFUSED));
    assert_eq!(net.send(s, b"x".to_vec(), None), Err(Errno::EDESTADDRREQ));
}

#[test]
fn msg_more_holds_bytes_back() {
    let net = NetService::default();
    let (_l, c, e) = pair(&net, Family::V4, "127.0.0.1:0");
    assert_eq!(net.send_more(c, b"head".to_vec(), None, true), Ok(4));
    assert_eq!(net.recv(e, 64, false), Err(Errno::EAGAIN));
    assert_eq!(net.send(c, b"+body".to_vec(), None), Ok(5));
    assert_eq!(net.recv(e, 64, false).unwrap().data, b"head+body");
    // The end of sending pushes what was held back.
    net.send_more(c, b"tail".to_vec(), None, true).unwrap();
    net.shutdown(c, crate::SEND_SHUTDOWN).unwrap();
    assert_eq!(net.recv(e, 64, false).unwrap().data, b"tail");

    let r = sock(&net, Family::V4, Kind::Dgram);
    net.bind(r, a("127.0.0.1:0"), false).unwrap();
    let to = net.info(r).unwrap().local.unwrap();
    let s = sock(&net, Family::V4, Kind::Dgram);
    assert_eq!(net.send_more(s, b"one".to_vec(), Some(to), true), Ok(3));
    assert_eq!(net.recv(r, 64, false), Err(Errno::EAGAIN));
    // Later parts go where the first went.
    assert_eq!(net.send(s, b"-two".to_vec(), Some(a("127.0.0.1:9"))), Ok(4));
    assert_eq!(net.recv(r, 64, false).unwrap().data, b"one-two");
}

#[test]
fn messages_serialise() {
    let m = crate::NetMsg::Connect {
        id: SockId(3),
        addr: Some(a("[::1]:80")),
        nonblock: true,
    };
    let b = bincode::serialize(&m).unwrap();
    assert_eq!(bincode::deserialize::<crate::NetMsg>(&b).unwrap(), m);
}

#[test]
fn time_wait_keeps_the_address_of_the_side_that_closed_first() {
    let net = NetService::default();
    let reuse = |s| {
        net.set_opt(
            s,
            abi::net::SOL_SOCKET,
            abi::net::SO_REUSEADDR,
            1i32.to_ne_bytes().to_vec(),
        )
        .unwrap()
    };
    // The server end closes first: the listener's port stays taken after everything closed.
    let (l, c, e) = pair(&net, Family::V4, "127.0.0.1:0");
    let port = net.info(l).unwrap().local.unwrap().port();
    let cport = net.info(c).unwrap().local.unwrap().port();
    net.close(e);
    net.close(c);
    net.close(l);
    let at = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    let x = sock(&net, Family::V4, Kind::Stream);
    assert_eq!(net.bind(x, at(port), false), Err(Errno::EADDRINUSE));
    reuse(x);
    // SO_REUSEADDR helps only if the closed connection had it too.
    assert_eq!(net.bind(x, at(port), false), Err(Errno::EADDRINUSE));
    assert_eq!(net.bind(x, at(cport), false), Ok(()));
    assert!(net.proc_net(Kind::Stream, Family::V4).contains(" 06 "));

    // With SO_REUSEADDR on both, the restarted server binds; without it, it does not.
    let l = sock(&net, Family::V4, Kind::Stream);
    reuse(l);
    net.bind(l, a("127.0.0.1:0"), false).unwrap();
    net.listen(l, 4).unwrap();
    let port = net.info(l).unwrap().local.unwrap().port();
    let c = sock(&net, Family::V4, Kind::Stream);
    net.connect(c, Some(at(port)), false).unwrap();
    let e = net.accept(l).unwrap();
    net.shutdown(e, crate::SEND_SHUTDOWN).unwrap();
    net.close(c);
    net.close(e);
    net.close(l);
    let y = sock(&net, Family::V4, Kind::Stream);
    assert_eq!(net.bind(y, at(port), false), Err(Errno::EADDRINUSE));
    reuse(y);
    assert_eq!(net.bind(y, at(port), false), Ok(()));

    // The side that closed second, and a connection reset by unread data, keep nothing.
    let (l, c, e) = pair(&net, Family::V4, "127.0.0.1:0");
    let port = net.info(l).unwrap().local.unwrap().port();
    net.send(e, b"unread".to_vec(), None).unwrap();
    net.close(e);
    net.close(c);
    net.close(l);
    let z = sock(&net, Family::V4, Kind::Stream);
    assert_eq!(net.bind(z, at(port), false), Ok(()));
}

#[test]
fn netlink_groups_as_linux_keeps_them() {
    let net = NetService::default();
    let s = crate::NetlinkSocket::new(&net, 3, crate::NETLINK_ROUTE, 77, (0, 0)).unwrap();
    // Never joined: no words listed.
    assert!(s.memberships().is_empty());
    s.bind(0, 0x11).unwrap();
    assert_eq!(s.name(), (77, 0x11));
    s.membership(33, true).unwrap();
    s.membership(1, false).unwrap();
    assert_eq!(s.memberships(), vec![0x10, 1]);
    assert_eq!(s.membership(0, true), Err(Errno::EINVAL));
    assert_eq!(
        s.membership(crate::netlink::RTNLGRP_MAX + 1, true),
        Err(Errno::EINVAL)
    );
    // Rebinding: only to its own port; its groups 1 to 32 are replaced.
    assert_eq!(s.bind(0, 0), Err(Errno::EINVAL));
    s.bind(77, 0x2).unwrap();
    assert_eq!(s.memberships(), vec![0x2, 1]);
    // The loopback stack sends no event.
    assert_eq!(s.recv(100, false).unwrap_err(), Errno::EAGAIN);
}
