/* AF_INET and AF_INET6 on the loopback: TCP (v4, v6, dual stack), UDP with truncation,
 * connect to a closed port (blocking and not), half-close, reset, EPIPE/SIGPIPE, bind
 * conflicts, ephemeral ports, MSG_PEEK/DONTWAIT/WAITALL, options, names, bad input, and
 * sockets shut down under a blocked accept/recv in another thread. No port number is
 * printed (they differ between runs). */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static volatile int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }

static struct sockaddr_in v4(const char *ip, int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *ip, int port) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static int port_of(int fd) {
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static const char *name_of(struct sockaddr_storage *ss, char *buf) {
    if (ss->ss_family == AF_INET)
        return inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, buf, 64);
    if (ss->ss_family == AF_INET6)
        return inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr, buf, 64);
    return "?";
}

static int ephemeral(int p) { return p >= 32768 && p <= 60999; }

/* A listener of `family` bound to `ip`, port 0. */
static int listener(int family, const char *ip, int v6only) {
    int l = socket(family, SOCK_STREAM, 0);
    if (family == AF_INET6) {
        setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        struct sockaddr_in6 a = v6(ip, 0);
        if (bind(l, (struct sockaddr *)&a, sizeof a) < 0) printf("bad bind6 %s\n", ename(errno));
    } else {
        struct sockaddr_in a = v4(ip, 0);
        if (bind(l, (struct sockaddr *)&a, sizeof a) < 0) printf("bad bind4 %s\n", ename(errno));
    }
    if (listen(l, 8) < 0) printf("bad listen %s\n", ename(errno));
    return l;
}

static int connect4(const char *ip, int port) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4(ip, port);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(c);
        errno = e;
        return -1;
    }
    return c;
}

static int connect6(const char *ip, int port) {
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = v6(ip, port);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(c);
        errno = e;
        return -1;
    }
    return c;
}

static void tcp_basics(void) {
    int l = listener(AF_INET, "127.0.0.1", 0);
    int port = port_of(l);
    CHECK("listener port is ephemeral", ephemeral(port));
    int c = connect4("127.0.0.1", port);
    CHECK("connect v4", c >= 0);
    CHECK("client port is ephemeral", ephemeral(port_of(c)));
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    int s = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
    char buf[128], nb[64];
    printf("accepted from %s len=%d same port=%d\n", name_of(&peer, nb), (int)pl,
           ntohs(((struct sockaddr_in *)&peer)->sin_port) == port_of(c));
    printf("cloexec=%d\n", (fcntl(s, F_GETFD) & FD_CLOEXEC) != 0);
    pl = sizeof peer;
    getpeername(c, (struct sockaddr *)&peer, &pl);
    printf("client peer %s port ok=%d\n", name_of(&peer, nb),
           ntohs(((struct sockaddr_in *)&peer)->sin_port) == port);

    EXPECT_ERR("recv DONTWAIT empty", recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    send(c, "hello world", 11, 0);
    long n = recv(s, buf, 5, MSG_PEEK);
    printf("peek %ld '%.*s'\n", n, (int)n, buf);
    n = recv(s, buf, sizeof buf, 0);
    printf("recv %ld '%.*s'\n", n, (int)n, buf);
    int avail = -1;
    send(c, "abcdefgh", 8, 0);
    ioctl(s, FIONREAD, &avail);
    printf("FIONREAD %d\n", avail);
    n = recv(s, buf, 8, MSG_WAITALL);
    printf("waitall %ld '%.*s'\n", n, (int)n, buf);

    /* Half-close: the client stops sending, the server still can. */
    shutdown(c, SHUT_WR);
    n = recv(s, buf, sizeof buf, 0);
    printf("server after client SHUT_WR: %ld\n", n);
    struct pollfd pf = {.fd = s, .events = POLLIN | POLLOUT};
    poll(&pf, 1, 0);
    printf("server poll in=%d out=%d hup=%d\n", !!(pf.revents & POLLIN),
           !!(pf.revents & POLLOUT), !!(pf.revents & POLLHUP));
    n = send(s, "reply", 5, 0);
    printf("server send after half-close %ld\n", n);
    n = recv(c, buf, sizeof buf, 0);
    printf("client got %ld '%.*s'\n", n, (int)n, buf);
    EXPECT_ERR("client send after SHUT_WR", send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(s);
    n = recv(c, buf, sizeof buf, 0);
    printf("client after server close: %ld\n", n);
    close(c);
    close(l);
}

static void reset_and_epipe(void) {
    char buf[64];
    int l = listener(AF_INET, "127.0.0.1", 0);
    int c = connect4("127.0.0.1", port_of(l));
    int s = accept(l, NULL, NULL);
    send(c, "unread", 6, 0);
    send(s, "last", 4, 0);
    close(s); /* with unread data: a reset */
    long n = recv(c, buf, sizeof buf, 0);
    printf("reset: first recv %ld\n", n);
    EXPECT_ERR("reset: recv", recv(c, buf, sizeof buf, 0), ECONNRESET);
    n = recv(c, buf, sizeof buf, 0);
    printf("reset: then recv %ld\n", n);
    close(c);

    c = connect4("127.0.0.1", port_of(l));
    s = accept(l, NULL, NULL);
    close(s);
    sigpipes = 0;
    n = send(c, "1", 1, 0);
    printf("epipe: first send %ld\n", n);
    EXPECT_ERR("epipe: second send", send(c, "2", 1, 0), EPIPE);
    printf("sigpipes=%d\n", sigpipes);
    EXPECT_ERR("epipe: MSG_NOSIGNAL", send(c, "3", 1, MSG_NOSIGNAL), EPIPE);
    printf("sigpipes=%d\n", sigpipes);
    n = recv(c, buf, sizeof buf, 0);
    printf("epipe: recv %ld\n", n);
    close(c);
    close(l);
}

static void refused(void) {
    /* A port nobody listens on: take one and close it. */
    int l = listener(AF_INET, "127.0.0.1", 0);
    int port = port_of(l);
    close(l);
    errno = 0;
    int c = connect4("127.0.0.1", port);
    printf("blocking connect to closed port: %d %s\n", c, ename(errno));
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = v4("127.0.0.1", port);
    EXPECT_ERR("nonblocking connect", connect(c, (struct sockaddr *)&a, sizeof a), EINPROGRESS);
    struct pollfd pf = {.fd = c, .events = POLLOUT | POLLIN};
    int r = poll(&pf, 1, 5000);
    printf("poll %d out=%d err=%d hup=%d\n", r, !!(pf.revents & POLLOUT),
           !!(pf.revents & POLLERR), !!(pf.revents & POLLHUP));
    int err = -1;
    socklen_t el = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
    printf("SO_ERROR %s\n", ename(err));
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
    printf("SO_ERROR again %s\n", ename(err));
    close(c);

    /* Non-blocking connect to a listener: in progress, then writable with no error. */
    l = listener(AF_INET, "127.0.0.1", 0);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a = v4("127.0.0.1", port_of(l));
    EXPECT_ERR("nonblocking connect to listener", connect(c, (struct sockaddr *)&a, sizeof a),
               EINPROGRESS);
    pf.fd = c;
    pf.events = POLLOUT;
    r = poll(&pf, 1, 5000);
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
    printf("poll %d out=%d SO_ERROR %s\n", r, !!(pf.revents & POLLOUT), ename(err));
    printf("connect again: %d\n", connect(c, (struct sockaddr *)&a, sizeof a));
    EXPECT_ERR("connect once more", connect(c, (struct sockaddr *)&a, sizeof a), EISCONN);
    close(c);
    close(l);
}

static void dual_stack(void) {
    char nb[64], buf[16];
    struct sockaddr_storage peer;
    socklen_t pl;
    int l = listener(AF_INET6, "::", 0);
    int c = connect4("127.0.0.1", port_of(l));
    CHECK("v4 client to dual-stack listener", c >= 0);
    pl = sizeof peer;
    int s = accept(l, (struct sockaddr *)&peer, &pl);
    printf("dual: peer %s len=%d\n", name_of(&peer, nb), (int)pl);
    pl = sizeof peer;
    getsockname(s, (struct sockaddr *)&peer, &pl);
    printf("dual: local %s\n", name_of(&peer, nb));
    send(s, "v6", 2, 0);
    printf("dual: client got %ld\n", recv(c, buf, sizeof buf, 0));
    close(s);
    close(c);
    c = connect6("::1", port_of(l));
    pl = sizeof peer;
    s = accept(l, (struct sockaddr *)&peer, &pl);
    printf("v6: peer %s\n", name_of(&peer, nb));
    close(s);
    close(c);
    c = connect6("::ffff:127.0.0.1", port_of(l));
    pl = sizeof peer;
    s = accept(l, (struct sockaddr *)&peer, &pl);
    printf("mapped: peer %s\n", name_of(&peer, nb));
    close(s);
    close(c);
    close(l);

    l = listener(AF_INET6, "::", 1);
    errno = 0;
    c = connect4("127.0.0.1", port_of(l));
    printf("v4 to v6only listener: %d %s\n", c, ename(errno));
    close(l);
    l = listener(AF_INET6, "::1", 0);
    errno = 0;
    c = connect4("127.0.0.1", port_of(l));
    printf("v4 to ::1 listener: %d %s\n", c, ename(errno));
    close(l);
    int v = -1;
    socklen_t vl = sizeof v;
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    getsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl);
    printf("IPV6_V6ONLY default %d\n", v);
    close(s6);
}

static void bind_rules(void) {
    int one = 1;
    int a = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = v4("0.0.0.0", 0);
    bind(a, (struct sockaddr *)&any, sizeof any);
    int port = port_of(a);
    CHECK("bind port 0 is ephemeral", ephemeral(port));
    int b = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in lo = v4("127.0.0.1", port);
    EXPECT_ERR("bind taken port", bind(b, (struct sockaddr *)&lo, sizeof lo), EADDRINUSE);
    EXPECT_ERR("bind twice", bind(a, (struct sockaddr *)&lo, sizeof lo), EINVAL);
    int b6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 any6 = v6("::", port);
    EXPECT_ERR("bind :: over 0.0.0.0", bind(b6, (struct sockaddr *)&any6, sizeof any6),
               EADDRINUSE);
    setsockopt(b6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    report("bind v6only :: beside 0.0.0.0", bind(b6, (struct sockaddr *)&any6, sizeof any6));
    EXPECT_ERR("IPV6_V6ONLY after bind",
               setsockopt(b6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one), EINVAL);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    report("udp on a tcp port", bind(u, (struct sockaddr *)&lo, sizeof lo));
    close(a);
    close(b);
    close(b6);
    close(u);

    /* SO_REUSEADDR: both may bind while neither listens; only one may listen. */
    int x = socket(AF_INET, SOCK_STREAM, 0), y = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(y, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in l0 = v4("127.0.0.1", 0);
    bind(x, (struct sockaddr *)&l0, sizeof l0);
    lo = v4("127.0.0.1", port_of(x));
    report("reuseaddr bind", bind(y, (struct sockaddr *)&lo, sizeof lo));
    report("reuseaddr listen 1", listen(x, 1));
    EXPECT_ERR("reuseaddr listen 2", listen(y, 1), EADDRINUSE);
    close(x);
    close(y);
    /* SO_REUSEPORT: both may listen. */
    x = socket(AF_INET, SOCK_STREAM, 0);
    y = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(x, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    setsockopt(y, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    bind(x, (struct sockaddr *)&l0, sizeof l0);
    lo = v4("127.0.0.1", port_of(x));
    report("reuseport bind", bind(y, (struct sockaddr *)&lo, sizeof lo));
    report("reuseport listen 1", listen(x, 1));
    report("reuseport listen 2", listen(y, 1));
    close(x);
    close(y);
    /* A closed listener's port is free again (no connection ever ran on it). */
    x = listener(AF_INET, "127.0.0.1", 0);
    lo = v4("127.0.0.1", port_of(x));
    close(x);
    y = socket(AF_INET, SOCK_STREAM, 0);
    report("rebind after close", bind(y, (struct sockaddr *)&lo, sizeof lo));
    close(y);
}

static void udp(void) {
    char buf[64], nb[64];
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = v4("127.0.0.1", 0);
    bind(r, (struct sockaddr *)&a, sizeof a);
    a = v4("127.0.0.1", port_of(r));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    printf("sendto %ld\n", sendto(s, "0123456789", 10, 0, (struct sockaddr *)&a, sizeof a));
    CHECK("sender got an ephemeral port", ephemeral(port_of(s)));
    long n = recv(r, buf, 4, MSG_PEEK | MSG_TRUNC);
    printf("peek trunc %ld\n", n);
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    n = recvfrom(r, buf, 4, 0, (struct sockaddr *)&from, &fl);
    printf("recvfrom %ld '%.*s' from %s len=%d port ok=%d\n", n, (int)n, buf,
           name_of(&from, nb), (int)fl, ntohs(((struct sockaddr_in *)&from)->sin_port) == port_of(s));
    EXPECT_ERR("rest of datagram is gone", recv(r, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    sendto(s, "abcdefgh", 8, 0, (struct sockaddr *)&a, sizeof a);
    struct iovec iov = {buf, 3};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    n = recvmsg(r, &m, 0);
    printf("recvmsg %ld flags trunc=%d namelen=%d\n", n, !!(m.msg_flags & MSG_TRUNC), (int)m.msg_namelen);
    sendto(s, "", 0, 0, (struct sockaddr *)&a, sizeof a);
    n = recv(r, buf, sizeof buf, 0);
    printf("empty datagram %ld\n", n);

    /* sendmmsg / recvmmsg */
    struct mmsghdr mm[3];
    struct iovec iv[3];
    char *msgs[3] = {"one", "three", "fifteen"};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        iv[i].iov_base = msgs[i];
        iv[i].iov_len = strlen(msgs[i]);
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &a;
        mm[i].msg_hdr.msg_namelen = sizeof a;
    }
    printf("sendmmsg %d\n", sendmmsg(s, mm, 3, 0));
    char rb[3][16];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        iv[i].iov_base = rb[i];
        iv[i].iov_len = sizeof rb[i];
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    int got = recvmmsg(r, mm, 3, MSG_WAITFORONE, NULL);
    printf("recvmmsg %d:", got);
    for (int i = 0; i < got; i++) printf(" %u'%.*s'", mm[i].msg_len, (int)mm[i].msg_len, rb[i]);
    printf("\n");

    /* Connected UDP to a closed port: the send goes, the next one learns. */
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    int dead = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in d = v4("127.0.0.1", 0);
    bind(dead, (struct sockaddr *)&d, sizeof d);
    d = v4("127.0.0.1", port_of(dead));
    close(dead);
    connect(c, (struct sockaddr *)&d, sizeof d);
    printf("connected udp send %ld\n", send(c, "x", 1, 0));
    EXPECT_ERR("connected udp send again", send(c, "x", 1, 0), ECONNREFUSED);
    EXPECT_ERR("unconnected udp send", send(s, "x", 1, 0), EDESTADDRREQ);
    /* A connected receiver takes only its peer's datagrams. */
    connect(r, (struct sockaddr *)&d, sizeof d);
    sendto(s, "stranger", 8, 0, (struct sockaddr *)&a, sizeof a);
    EXPECT_ERR("connected udp ignores strangers", recv(r, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    report("udp disconnect", connect(r, &unspec, sizeof unspec));
    int big = 70000;
    char *huge = calloc(1, big);
    EXPECT_ERR("datagram too long", sendto(s, huge, big, 0, (struct sockaddr *)&a, sizeof a), EMSGSIZE);
    free(huge);
    close(c);
    close(s);
    close(r);

    /* UDP over IPv6 with a v4 sender reaching a dual-stack receiver. */
    int r6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a6 = v6("::", 0);
    bind(r6, (struct sockaddr *)&a6, sizeof a6);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    a = v4("127.0.0.1", port_of(r6));
    sendto(s, "to6", 3, 0, (struct sockaddr *)&a, sizeof a);
    fl = sizeof from;
    n = recvfrom(r6, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("udp6 got %ld from %s len=%d\n", n, name_of(&from, nb), (int)fl);
    close(s);
    close(r6);
}

static void options(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0), v, one = 1;
    socklen_t l = sizeof v;
#define GET(lvl, name)                                                                \
    do {                                                                              \
        v = -7;                                                                       \
        l = sizeof v;                                                                 \
        int r_ = getsockopt(s, lvl, name, &v, &l);                                    \
        printf(#name " = %d (%s, len %d)\n", r_ < 0 ? -1 : v, ename(r_ < 0 ? errno : 0), (int)l); \
    } while (0)
    GET(SOL_SOCKET, SO_TYPE);
    GET(SOL_SOCKET, SO_DOMAIN);
    GET(SOL_SOCKET, SO_PROTOCOL);
    GET(SOL_SOCKET, SO_ACCEPTCONN);
    GET(SOL_SOCKET, SO_REUSEADDR);
    GET(SOL_SOCKET, SO_KEEPALIVE);
    GET(IPPROTO_TCP, TCP_NODELAY);
    GET(IPPROTO_IP, IP_TTL);
    int five = 5;
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &five, sizeof five);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int ten = 10000;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &ten, sizeof ten);
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &ten, sizeof ten);
    int idle = 60;
    setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    GET(SOL_SOCKET, SO_KEEPALIVE);
    GET(IPPROTO_TCP, TCP_NODELAY);
    GET(SOL_SOCKET, SO_REUSEADDR);
    GET(SOL_SOCKET, SO_RCVBUF);
    GET(SOL_SOCKET, SO_SNDBUF);
    GET(IPPROTO_TCP, TCP_KEEPIDLE);
    struct linger lg = {1, 0}, lg2;
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    l = sizeof lg2;
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg2, &l);
    printf("SO_LINGER %d %d len %d\n", lg2.l_onoff, lg2.l_linger, (int)l);
    listen(s, 1);
    GET(SOL_SOCKET, SO_ACCEPTCONN);
    EXPECT_ERR("unknown SOL_SOCKET option", getsockopt(s, SOL_SOCKET, 999, &v, &l), ENOPROTOOPT);
    EXPECT_ERR("unknown TCP option", getsockopt(s, IPPROTO_TCP, 999, &v, &l), ENOPROTOOPT);
    EXPECT_ERR("set SO_TYPE", setsockopt(s, SOL_SOCKET, SO_TYPE, &one, sizeof one), ENOPROTOOPT);
    EXPECT_ERR("TCP_KEEPIDLE 0", setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, (int[]){0}, 4), EINVAL);
    EXPECT_ERR("short int option", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, 2), EINVAL);
    EXPECT_ERR("negative optlen", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, -1), EINVAL);
    EXPECT_ERR("faulty optval", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, (void *)8, 4), EFAULT);
    EXPECT_ERR("faulty optlen pointer", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, (void *)8), EFAULT);
    close(s);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    GET(SOL_SOCKET, SO_TYPE);
    GET(SOL_SOCKET, SO_PROTOCOL);
    close(s);
}

static void bad_input(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("127.0.0.1", 0);
    struct sockaddr_in6 a6 = v6("::1", 0);
    EXPECT_ERR("bind short", bind(s, (struct sockaddr *)&a, 3), EINVAL);
    EXPECT_ERR("bind negative len", bind(s, (struct sockaddr *)&a, -1), EINVAL);
    EXPECT_ERR("bind huge len", bind(s, (struct sockaddr *)&a, 4096), EINVAL);
    EXPECT_ERR("bind bad pointer", bind(s, (struct sockaddr *)16, sizeof a), EFAULT);
    EXPECT_ERR("bind v6 addr on v4", bind(s, (struct sockaddr *)&a6, sizeof a6), EAFNOSUPPORT);
    struct sockaddr_in far = v4("192.0.2.1", 0);
    EXPECT_ERR("bind foreign address", bind(s, (struct sockaddr *)&far, sizeof far), EADDRNOTAVAIL);
    EXPECT_ERR("connect short", connect(s, (struct sockaddr *)&a, 5), EINVAL);
    EXPECT_ERR("connect bad pointer", connect(s, (struct sockaddr *)16, sizeof a), EFAULT);
    EXPECT_ERR("connect v6 addr on v4", connect(s, (struct sockaddr *)&a6, sizeof a6), EAFNOSUPPORT);
    char buf[8];
    EXPECT_ERR("recv unconnected", recv(s, buf, sizeof buf, 0), ENOTCONN);
    EXPECT_ERR("send unconnected", send(s, "x", 1, MSG_NOSIGNAL), EPIPE);
    EXPECT_ERR("shutdown unconnected", shutdown(s, SHUT_RDWR), ENOTCONN);
    EXPECT_ERR("shutdown bad how", shutdown(s, 7), EINVAL);
    EXPECT_ERR("accept unlistening", accept(s, NULL, NULL), EINVAL);
    EXPECT_ERR("getpeername unconnected", getpeername(s, (struct sockaddr *)&a, &(socklen_t){sizeof a}), ENOTCONN);
    socklen_t tiny = 4;
    struct sockaddr_in got = {0};
    getsockname(s, (struct sockaddr *)&got, &tiny);
    printf("getsockname truncated: len %d family %d\n", (int)tiny, got.sin_family);
    close(s);
    int six = socket(AF_INET6, SOCK_STREAM, 0);
    EXPECT_ERR("bind6 short", bind(six, (struct sockaddr *)&a6, 20), EINVAL);
    EXPECT_ERR("bind6 v4 addr", bind(six, (struct sockaddr *)&a, sizeof a), EINVAL);
    a6.sin6_family = AF_INET;
    EXPECT_ERR("bind6 wrong family", bind(six, (struct sockaddr *)&a6, sizeof a6), EAFNOSUPPORT);
    close(six);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    EXPECT_ERR("listen udp", listen(u, 1), EOPNOTSUPP);
    EXPECT_ERR("accept udp", accept(u, NULL, NULL), EOPNOTSUPP);
    struct sockaddr_in zero = v4("127.0.0.1", 0);
    EXPECT_ERR("sendto port 0", sendto(u, "x", 1, 0, (struct sockaddr *)&zero, sizeof zero), EINVAL);
    close(u);
    EXPECT_ERR("tcp with udp protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    EXPECT_ERR("seqpacket inet", socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
    int sv[2];
    EXPECT_ERR("socketpair inet", socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
    EXPECT_ERR("unknown type flags", socket(AF_INET, SOCK_STREAM | 0x100000, 0), EINVAL);
}

static void *blocked_accept(void *arg) {
    int l = *(int *)arg;
    errno = 0;
    int r = accept(l, NULL, NULL);
    printf("thread: accept returned %d %s\n", r, ename(errno));
    return NULL;
}

static void *blocked_recv(void *arg) {
    int c = *(int *)arg;
    char b[8];
    long n = recv(c, b, sizeof b, 0);
    printf("thread: recv returned %ld\n", n);
    return NULL;
}

static void shut_under_blocked(void) {
    pthread_t t;
    int l = listener(AF_INET, "127.0.0.1", 0);
    pthread_create(&t, NULL, blocked_accept, &l);
    usleep(200000);
    shutdown(l, SHUT_RD);
    pthread_join(t, NULL);
    close(l);
    l = listener(AF_INET, "127.0.0.1", 0);
    int c = connect4("127.0.0.1", port_of(l));
    int s = accept(l, NULL, NULL);
    pthread_create(&t, NULL, blocked_recv, &c);
    usleep(200000);
    shutdown(c, SHUT_RDWR);
    pthread_join(t, NULL);
    close(s);
    close(c);
    close(l);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, on_pipe);
    tcp_basics();
    reset_and_epipe();
    refused();
    dual_stack();
    bind_rules();
    udp();
    options();
    bad_input();
    shut_under_blocked();
    printf("done\n");
    return 0;
}
