/* What inet sockets tell about their traffic: control messages of UDP receives
 * (IP_PKTINFO, IP_RECVTTL with the sender's IP_TTL, IP_RECVTOS, SO_TIMESTAMP(NS),
 * IPV6_RECVPKTINFO/HOPLIMIT/TCLASS, an IPv4 datagram on an IPv6 socket, MSG_CTRUNC),
 * SO_RCVTIMEO, TCP_INFO through a connection's life, POLLRDHUP/EPOLLRDHUP on half-close,
 * and descriptors closed under a blocked accept/recv in another thread. No port or time
 * is printed. */
#include "common.h"
#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

static int udp_bound(int family, const char *ip) {
    int s = socket(family, SOCK_DGRAM, 0);
    struct sockaddr_storage ss = {0};
    socklen_t l;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, ip, &a->sin_addr);
        l = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, ip, &a->sin6_addr);
        l = sizeof *a;
    }
    if (bind(s, (struct sockaddr *)&ss, l) < 0) printf("bad bind %s\n", ename(errno));
    return s;
}

static void name_of(int s, struct sockaddr_storage *ss, socklen_t *l) {
    *l = sizeof *ss;
    getsockname(s, (struct sockaddr *)ss, l);
}

static void show_cmsgs(const char *what, struct msghdr *m) {
    printf("%s: flags ctrunc %d controllen %zu\n", what, !!(m->msg_flags & MSG_CTRUNC),
           (size_t)m->msg_controllen);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        printf("  level %d type %d len %zu:", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        unsigned char *d = CMSG_DATA(c);
        char a[64], b[64];
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMP) {
            struct timeval *tv = (struct timeval *)d, now;
            gettimeofday(&now, NULL);
            printf(" timeval recent %d usec ok %d", now.tv_sec - tv->tv_sec < 5, tv->tv_usec < 1000000);
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
            struct timespec *ts = (struct timespec *)d, now;
            clock_gettime(CLOCK_REALTIME, &now);
            printf(" timespec recent %d nsec ok %d", now.tv_sec - ts->tv_sec < 5, ts->tv_nsec < 1000000000);
        } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo *pi = (struct in_pktinfo *)d;
            inet_ntop(AF_INET, &pi->ipi_spec_dst, a, sizeof a);
            inet_ntop(AF_INET, &pi->ipi_addr, b, sizeof b);
            printf(" ifindex %d spec_dst %s addr %s", pi->ipi_ifindex, a, b);
        } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL) {
            printf(" ttl %d", *(int *)d);
        } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TOS) {
            printf(" tos 0x%x", d[0]);
        } else if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo *pi = (struct in6_pktinfo *)d;
            inet_ntop(AF_INET6, &pi->ipi6_addr, a, sizeof a);
            printf(" addr %s ifindex %d", a, pi->ipi6_ifindex);
        } else if (c->cmsg_level == SOL_IPV6 && (c->cmsg_type == IPV6_HOPLIMIT || c->cmsg_type == IPV6_TCLASS)) {
            printf(" value %d", *(int *)d);
        }
        printf("\n");
    }
}

/* Sends one datagram from `from` to `to`'s name and receives it with a control buffer of
 * `room` bytes. */
static void exchange(const char *what, int from, int to, size_t room) {
    struct sockaddr_storage ss;
    socklen_t l;
    name_of(to, &ss, &l);
    if (sendto(from, "data", 4, 0, (struct sockaddr *)&ss, l) != 4) printf("bad send %s\n", ename(errno));
    char buf[16], ctl[512];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = room};
    long n = recvmsg(to, &m, 0);
    if (n != 4) printf("bad recv %ld %s\n", n, ename(errno));
    show_cmsgs(what, &m);
}

static void udp_controls(void) {
    int one = 1;
    int r = udp_bound(AF_INET, "127.0.0.1"), s = udp_bound(AF_INET, "127.0.0.2");
    exchange("none asked", s, r, 512);
    setsockopt(r, SOL_IP, IP_PKTINFO, &one, sizeof one);
    setsockopt(r, SOL_IP, IP_RECVTTL, &one, sizeof one);
    setsockopt(r, SOL_IP, IP_RECVTOS, &one, sizeof one);
    setsockopt(r, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one);
    int ttl = 33, tos = 0x10;
    setsockopt(s, SOL_IP, IP_TTL, &ttl, sizeof ttl);
    setsockopt(s, SOL_IP, IP_TOS, &tos, sizeof tos);
    exchange("v4 all", s, r, 512);
    setsockopt(r, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    int v = -1;
    socklen_t vl = sizeof v;
    getsockopt(r, SOL_SOCKET, SO_TIMESTAMP, &v, &vl);
    printf("SO_TIMESTAMP after SO_TIMESTAMPNS: %d\n", v);
    exchange("v4 ns", s, r, 512);
    exchange("v4 room for one", s, r, CMSG_SPACE(sizeof(struct timespec)) + 4);
    exchange("v4 no room", s, r, 8);
    {
        /* A control buffer the kernel cannot write: the data still comes. */
        struct sockaddr_storage ss;
        socklen_t l;
        name_of(r, &ss, &l);
        sendto(s, "data", 4, 0, (struct sockaddr *)&ss, l);
        char buf[16];
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = (void *)16, .msg_controllen = 64};
        errno = 0;
        long n = recvmsg(r, &m, 0);
        printf("unwritable control buffer: %ld %s controllen %zu flags 0x%x\n", n, ename(errno),
               (size_t)m.msg_controllen, m.msg_flags);
    }
    close(r);
    close(s);
    int r6 = udp_bound(AF_INET6, "::1"), s6 = udp_bound(AF_INET6, "::1");
    setsockopt(r6, SOL_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    setsockopt(r6, SOL_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one);
    setsockopt(r6, SOL_IPV6, IPV6_RECVTCLASS, &one, sizeof one);
    int hops = 7, tclass = 0x20;
    setsockopt(s6, SOL_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops);
    setsockopt(s6, SOL_IPV6, IPV6_TCLASS, &tclass, sizeof tclass);
    exchange("v6 all", s6, r6, 512);
    close(r6);
    close(s6);
    /* An IPv4 datagram to a dual-stack socket. */
    int d = udp_bound(AF_INET6, "::"), s4 = udp_bound(AF_INET, "127.0.0.1");
    setsockopt(d, SOL_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    setsockopt(d, SOL_IP, IP_PKTINFO, &one, sizeof one);
    setsockopt(d, SOL_IP, IP_RECVTTL, &one, sizeof one);
    struct sockaddr_storage ss;
    socklen_t l;
    name_of(d, &ss, &l);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = ((struct sockaddr_in6 *)&ss)->sin6_port};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    sendto(s4, "data", 4, 0, (struct sockaddr *)&to, sizeof to);
    char buf[16], ctl[512];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    recvmsg(d, &m, 0);
    show_cmsgs("v4 to dual stack", &m);
    close(d);
    close(s4);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void timeouts(void) {
    int u = udp_bound(AF_INET, "127.0.0.1");
    struct timeval tv = {0, 150000};
    setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char b[4];
    double t0 = now();
    errno = 0;
    long n = recv(u, b, sizeof b, 0);
    double dt = now() - t0;
    printf("SO_RCVTIMEO recv: %ld %s waited enough %d not too long %d\n", n, ename(errno), dt >= 0.14, dt < 3);
    struct timeval bad = {0, 1000000};
    EXPECT_ERR("SO_RCVTIMEO usec 1e6", setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad), EDOM);
    close(u);
}

static void tcp_info_of(const char *what, int s) {
    struct tcp_info t;
    memset(&t, 0xee, sizeof t);
    socklen_t l = sizeof t;
    int r = getsockopt(s, IPPROTO_TCP, TCP_INFO, &t, &l);
    /* The congestion window grows with each acknowledgement: only its floor is shown. */
    printf("%s: r=%d state %u opts %u wscale %u/%u snd_mss %u rcv_mss %u pmtu %u ssthresh %u cwnd>=10 %d "
           "reordering %u unacked %u sacked %u retrans %u lost %u rtt>0 %d advmss %u\n",
           what, r, t.tcpi_state, t.tcpi_options, t.tcpi_snd_wscale, t.tcpi_rcv_wscale, t.tcpi_snd_mss,
           t.tcpi_rcv_mss, t.tcpi_pmtu, t.tcpi_snd_ssthresh, t.tcpi_snd_cwnd >= 10, t.tcpi_reordering,
           t.tcpi_unacked, t.tcpi_sacked, t.tcpi_total_retrans, t.tcpi_lost, t.tcpi_rtt > 0, t.tcpi_advmss);
}

static int listener(int backlog) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, backlog);
    return l;
}

static int connect_to(int l) {
    struct sockaddr_storage ss;
    socklen_t len;
    name_of(l, &ss, &len);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&ss, len) < 0) printf("connect: %s\n", ename(errno));
    return c;
}

static void settle(void) { usleep(50000); }

static void poll_bits(const char *what, int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP};
    poll(&p, 1, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    int n = epoll_wait(ep, &out, 1, 0);
    close(ep);
    printf("%s: poll in %d out %d rdhup %d hup %d; epoll rdhup %d\n", what, !!(p.revents & POLLIN),
           !!(p.revents & POLLOUT), !!(p.revents & POLLRDHUP), !!(p.revents & POLLHUP),
           n == 1 && (out.events & EPOLLRDHUP));
}

static void tcp_states(void) {
    int fresh = socket(AF_INET, SOCK_STREAM, 0);
    tcp_info_of("fresh", fresh);
    close(fresh);
    int l = listener(4);
    tcp_info_of("listening", l);
    int c = connect_to(l);
    settle();
    tcp_info_of("listening, one queued", l);
    int s = accept(l, NULL, NULL);
    char b[16];
    write(c, "hello", 5);
    read(s, b, sizeof b);
    tcp_info_of("client", c);
    tcp_info_of("server", s);
    poll_bits("established", s);
    shutdown(c, SHUT_WR);
    settle();
    tcp_info_of("client after SHUT_WR", c);
    tcp_info_of("server after peer's SHUT_WR", s);
    poll_bits("server after peer's SHUT_WR", s);
    poll_bits("client after SHUT_WR", c);
    close(s);
    settle();
    tcp_info_of("client after both", c);
    poll_bits("client after both", c);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct tcp_info t;
    socklen_t tl = sizeof t;
    EXPECT_ERR("TCP_INFO on udp", getsockopt(u, IPPROTO_TCP, TCP_INFO, &t, &tl), EOPNOTSUPP);
    close(u);
    close(c);
    close(l);
}

static int shared_fd;

static void *blocked_accept(void *arg) {
    (void)arg;
    errno = 0;
    int r = accept(shared_fd, NULL, NULL);
    printf("thread: accept returned fd %d %s\n", r >= 0, ename(errno));
    if (r >= 0) close(r);
    return NULL;
}

static void *blocked_recv(void *arg) {
    (void)arg;
    char b[16] = {0};
    errno = 0;
    long n = recv(shared_fd, b, sizeof b, 0);
    printf("thread: recv returned %ld '%s' %s\n", n, n > 0 ? b : "", ename(errno));
    return NULL;
}

static void closed_under_blocked(void) {
    pthread_t t;
    int l = listener(4);
    struct sockaddr_storage ss;
    socklen_t len;
    name_of(l, &ss, &len);
    shared_fd = l;
    pthread_create(&t, NULL, blocked_accept, NULL);
    usleep(200000);
    printf("close listener under accept: %d\n", close(l));
    /* The listener lives on while accept holds it. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    int r = connect(c, (struct sockaddr *)&ss, len);
    int e = errno;
    pthread_join(t, NULL);
    printf("connect after close: %s\n", r == 0 ? "OK" : ename(e));
    close(c);
    l = listener(4);
    c = connect_to(l);
    int s = accept(l, NULL, NULL);
    shared_fd = c;
    pthread_create(&t, NULL, blocked_recv, NULL);
    usleep(200000);
    printf("close under recv: %d\n", close(c));
    write(s, "late", 4);
    pthread_join(t, NULL);
    close(s);
    close(l);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    udp_controls();
    timeouts();
    tcp_states();
    closed_under_blocked();
    printf("done\n");
    return 0;
}
