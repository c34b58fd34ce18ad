/* ICMP on the loopback: net.ipv4.ping_group_range deciding who opens ICMP echo sockets,
 * echo sockets over IPv4 and IPv6 (the identifier is the socket's port, the stack's
 * checksum, replies with TTL/hop limit and packet info as control messages, bad sends),
 * and raw ICMP sockets (root: the IP header in front, ICMP_FILTER/ICMP6_FILTER, the
 * ICMPv6 checksum filled in). Run as root; it saves and restores the range. No
 * identifier, port or time is printed. */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#define RANGE "/proc/sys/net/ipv4/ping_group_range"

static void write_range(const char *v) {
    int fd = open(RANGE, O_WRONLY);
    if (fd < 0 || write(fd, v, strlen(v)) < 0) printf("range write %s: %s\n", v, ename(errno));
    if (fd >= 0) close(fd);
}

static void show_range(void) {
    char b[64] = {0};
    int fd = open(RANGE, O_RDONLY);
    long n = read(fd, b, sizeof b - 1);
    close(fd);
    for (long i = 0; i < n; i++)
        if (b[i] == '\t') b[i] = 'T';
    printf("range: %s", b);
}

static unsigned sum16(const unsigned char *p, size_t n, unsigned s) {
    for (size_t i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
    if (n & 1) s += p[n - 1] << 8;
    return s;
}

static unsigned short fold(unsigned s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (unsigned short)~s;
}

/* Whether an ICMPv6 message from src to dst carries a right checksum. */
static int v6_sum_ok(const unsigned char *m, size_t n, struct in6_addr *src, struct in6_addr *dst) {
    unsigned s = sum16(src->s6_addr, 16, 0);
    s = sum16(dst->s6_addr, 16, s);
    s += (unsigned)n + IPPROTO_ICMPV6;
    return fold(sum16(m, n, s)) == 0;
}

static int port_of(int fd) {
    struct sockaddr_in6 a;
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    return ntohs(a.sin6_port); /* sin_port sits at the same offset */
}

static int readable(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 5000) == 1;
}

static void echo_request(unsigned char *b, int type, int id, int seq, const char *data) {
    memset(b, 0, 8);
    b[0] = type;
    b[4] = id >> 8, b[5] = id & 0xff;
    b[6] = seq >> 8, b[7] = seq & 0xff;
    strcpy((char *)b + 8, data);
}

/* Prints the control messages of m. */
static void show_cmsgs(struct msghdr *m) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        printf("  cmsg level %d type %d len %zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL)
            printf(" ttl %d", *(int *)CMSG_DATA(c));
        if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)
            printf(" hoplimit %d", *(int *)CMSG_DATA(c));
        if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);
            char a[64], d[64];
            inet_ntop(AF_INET, &pi->ipi_spec_dst, a, sizeof a);
            inet_ntop(AF_INET, &pi->ipi_addr, d, sizeof d);
            printf(" ifindex %d spec_dst %s addr %s", pi->ipi_ifindex, a, d);
        }
        if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(c);
            char a[64];
            inet_ntop(AF_INET6, &pi->ipi6_addr, a, sizeof a);
            printf(" addr %s ifindex %d", a, pi->ipi6_ifindex);
        }
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMP) {
            struct timeval *tv = (struct timeval *)CMSG_DATA(c), now;
            gettimeofday(&now, NULL);
            printf(" recent %d", now.tv_sec - tv->tv_sec < 5 && tv->tv_sec <= now.tv_sec);
        }
        printf("\n");
    }
}

static void ping_v4(void) {
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (s < 0) { printf("bad ping socket %s\n", ename(errno)); return; }
    int t = 0, p = 0;
    socklen_t l = sizeof t;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &t, &l);
    getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &p, &l);
    printf("ping4: type %d protocol %d port before send %d\n", t, p, port_of(s));
    int one = 1;
    setsockopt(s, SOL_IP, IP_RECVTTL, &one, sizeof one);
    setsockopt(s, SOL_IP, IP_PKTINFO, &one, sizeof one);
    setsockopt(s, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one);
    unsigned char b[64];
    struct sockaddr_in to = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    echo_request(b, ICMP_ECHO, 0x1234, 7, "hello");
    long n = sendto(s, b, 8 + 5, 0, (struct sockaddr *)&to, sizeof to);
    int port = port_of(s);
    printf("ping4: sent %ld bound %d\n", n, port > 0);
    if (!readable(s)) { printf("bad ping4 no reply\n"); return; }
    unsigned char r[128];
    char ctl[256];
    struct sockaddr_in from;
    struct iovec iov = {r, sizeof r};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                       .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    n = recvmsg(s, &m, 0);
    char a[64];
    inet_ntop(AF_INET, &from.sin_addr, a, sizeof a);
    printf("ping4: got %ld type %d code %d id is port %d seq %d sum ok %d data %.5s from %s port %d namelen %d\n",
           n, r[0], r[1], ((r[4] << 8) | r[5]) == port, (r[6] << 8) | r[7],
           fold(sum16(r, n, 0)) == 0, r + 8, a, ntohs(from.sin_port), m.msg_namelen);
    show_cmsgs(&m);
    /* Bad sends. */
    echo_request(b, ICMP_ECHOREPLY, 1, 1, "x");
    EXPECT_ERR("ping4 send reply type", sendto(s, b, 9, 0, (struct sockaddr *)&to, sizeof to), EINVAL);
    echo_request(b, ICMP_ECHO, 1, 1, "x");
    b[1] = 1;
    EXPECT_ERR("ping4 send code 1", sendto(s, b, 9, 0, (struct sockaddr *)&to, sizeof to), EINVAL);
    b[1] = 0;
    EXPECT_ERR("ping4 send short", sendto(s, b, 4, 0, (struct sockaddr *)&to, sizeof to), EINVAL);
    EXPECT_ERR("ping4 send no address", send(s, b, 9, 0), EDESTADDRREQ);
    EXPECT_ERR("ping4 send short address", sendto(s, b, 9, 0, (struct sockaddr *)&to, 8), EINVAL);
    struct sockaddr_in6 six = {.sin6_family = AF_INET6};
    EXPECT_ERR("ping4 send v6 address", sendto(s, b, 9, 0, (struct sockaddr *)&six, sizeof six), EAFNOSUPPORT);
    /* A bound identifier, a connected socket. */
    int s1 = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    int reuse = -1;
    l = sizeof reuse;
    getsockopt(s1, SOL_SOCKET, SO_REUSEADDR, &reuse, &l);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(port)};
    printf("ping4: SO_REUSEADDR %d\n", reuse);
    report("ping4 bind shared id", bind(s1, (struct sockaddr *)&at, sizeof at));
    close(s1);
    s1 = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    reuse = 0;
    setsockopt(s1, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    EXPECT_ERR("ping4 bind taken id", bind(s1, (struct sockaddr *)&at, sizeof at), EADDRINUSE);
    close(s1);
    int s2 = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    at.sin_port = htons(4242);
    report("ping4 bind 4242", bind(s2, (struct sockaddr *)&at, sizeof at));
    EXPECT_ERR("ping4 bind again", bind(s2, (struct sockaddr *)&at, sizeof at), EINVAL);
    report("ping4 connect", connect(s2, (struct sockaddr *)&to, sizeof to));
    echo_request(b, ICMP_ECHO, 0, 9, "again");
    n = send(s2, b, 13, 0);
    readable(s2);
    n = recv(s2, r, sizeof r, 0);
    printf("ping4 bound: got %ld type %d id %d seq %d\n", n, r[0], (r[4] << 8) | r[5], (r[6] << 8) | r[7]);
    /* The first socket does not see the second one's reply. */
    EXPECT_ERR("ping4 other id not seen", recv(s, r, sizeof r, MSG_DONTWAIT), EAGAIN);
    /* A reply cut short. */
    echo_request(b, ICMP_ECHO, 0, 10, "truncated");
    send(s2, b, 17, 0);
    readable(s2);
    struct msghdr m2 = {.msg_iov = &iov, .msg_iovlen = 1};
    iov.iov_len = 10;
    n = recvmsg(s2, &m2, 0);
    printf("ping4 short buffer: got %ld trunc %d\n", n, !!(m2.msg_flags & MSG_TRUNC));
    close(s2);
    close(s);
}

static void ping_v6(void) {
    int s = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
    if (s < 0) { printf("bad ping6 socket %s\n", ename(errno)); return; }
    int one = 1;
    setsockopt(s, SOL_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one);
    setsockopt(s, SOL_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    unsigned char b[64];
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    echo_request(b, ICMPV6_ECHO_REQUEST, 0x4321, 3, "six");
    long n = sendto(s, b, 11, 0, (struct sockaddr *)&to, sizeof to);
    int port = port_of(s);
    if (!readable(s)) { printf("bad ping6 no reply\n"); return; }
    unsigned char r[128];
    char ctl[256];
    struct sockaddr_in6 from;
    struct iovec iov = {r, sizeof r};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                       .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    n = recvmsg(s, &m, 0);
    char a[64];
    inet_ntop(AF_INET6, &from.sin6_addr, a, sizeof a);
    struct in6_addr lo = IN6ADDR_LOOPBACK_INIT;
    printf("ping6: got %ld type %d code %d id is port %d seq %d sum ok %d data %.3s from %s port %d\n",
           n, r[0], r[1], ((r[4] << 8) | r[5]) == port, (r[6] << 8) | r[7],
           v6_sum_ok(r, n, &lo, &lo), r + 8, a, ntohs(from.sin6_port));
    show_cmsgs(&m);
    echo_request(b, ICMP_ECHO, 1, 1, "x");
    EXPECT_ERR("ping6 send v4 type", sendto(s, b, 9, 0, (struct sockaddr *)&to, sizeof to), EINVAL);
    close(s);
}

static void raw_v4(void) {
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (s < 0) { printf("bad raw socket %s\n", ename(errno)); return; }
    int t = 0;
    socklen_t l = sizeof t;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &t, &l);
    printf("raw4: type %d name port %d\n", t, port_of(s));
    /* Only echo requests and replies. */
    unsigned filt = ~((1u << ICMP_ECHO) | (1u << ICMP_ECHOREPLY));
    report("raw4 ICMP_FILTER", setsockopt(s, SOL_RAW, ICMP_FILTER, &filt, sizeof filt));
    unsigned got = 0;
    l = sizeof got;
    getsockopt(s, SOL_RAW, ICMP_FILTER, &got, &l);
    printf("raw4: filter back %d len %d\n", got == filt, l);
    unsigned char b[64];
    int id = 0x5a00 | (getpid() & 0xff);
    echo_request(b, ICMP_ECHO, id, 1, "rawdata");
    unsigned short c = fold(sum16(b, 15, 0));
    b[2] = c >> 8, b[3] = c & 0xff;
    struct sockaddr_in to = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    printf("raw4: sent %ld\n", (long)sendto(s, b, 15, 0, (struct sockaddr *)&to, sizeof to));
    int seen = 0;
    for (int i = 0; i < 50 && seen < 2 && readable(s); i++) {
        unsigned char r[256];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        long n = recvfrom(s, r, sizeof r, 0, (struct sockaddr *)&from, &fl);
        int ihl = (r[0] & 15) * 4;
        if (n < ihl + 8 || ((r[ihl + 4] << 8) | r[ihl + 5]) != id) continue;
        char src[64], dst[64];
        inet_ntop(AF_INET, r + 12, src, sizeof src);
        inet_ntop(AF_INET, r + 16, dst, sizeof dst);
        printf("raw4: got %ld version %d ihl %d total %d ttl %d proto %d hdr sum ok %d %s -> %s type %d sum ok %d data %.7s from port %d\n",
               n, r[0] >> 4, ihl, (r[2] << 8) | r[3], r[8], r[9], fold(sum16(r, ihl, 0)) == 0,
               src, dst, r[ihl], fold(sum16(r + ihl, n - ihl, 0)) == 0, r + ihl + 8,
               ntohs(from.sin_port));
        seen++;
    }
    close(s);
}

static void raw_v6(void) {
    int s = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    if (s < 0) { printf("bad raw6 socket %s\n", ename(errno)); return; }
    printf("raw6: name port %d\n", port_of(s));
    struct icmp6_filter f;
    memset(&f, 0xff, sizeof f);
    f.data[ICMPV6_ECHO_REPLY >> 5] &= ~(1u << (ICMPV6_ECHO_REPLY & 31));
    report("raw6 ICMP6_FILTER", setsockopt(s, SOL_ICMPV6, ICMPV6_FILTER, &f, sizeof f));
    int one = 1;
    setsockopt(s, SOL_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one);
    unsigned char b[64];
    int id = 0x6b00 | (getpid() & 0xff);
    echo_request(b, ICMPV6_ECHO_REQUEST, id, 2, "raw6");
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    printf("raw6: sent %ld\n", (long)sendto(s, b, 12, 0, (struct sockaddr *)&to, sizeof to));
    EXPECT_ERR("raw6 send 3 bytes", sendto(s, b, 3, 0, (struct sockaddr *)&to, sizeof to), EINVAL);
    for (int i = 0; i < 50 && readable(s); i++) {
        unsigned char r[256];
        char ctl[128];
        struct sockaddr_in6 from;
        struct iovec iov = {r, sizeof r};
        struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                           .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
        long n = recvmsg(s, &m, 0);
        if (n < 8 || ((r[4] << 8) | r[5]) != id) continue;
        struct in6_addr lo = IN6ADDR_LOOPBACK_INIT;
        printf("raw6: got %ld type %d sum ok %d data %.4s from port %d\n", n, r[0],
               v6_sum_ok(r, n, &lo, &lo), r + 8, ntohs(from.sin6_port));
        show_cmsgs(&m);
        break;
    }
    close(s);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char saved[64] = {0};
    int fd = open(RANGE, O_RDONLY);
    if (fd < 0 || read(fd, saved, sizeof saved - 1) < 0) { printf("bad range read\n"); return 1; }
    close(fd);
    write_range("1 0");
    show_range();
    EXPECT_ERR("ping socket out of range", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), EACCES);
    EXPECT_ERR("ping6 socket out of range", socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6), EACCES);
    write_range("5 3");
    show_range();
    write_range("0 2147483647");
    show_range();
    EXPECT_ERR("icmpv6 on inet", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMPV6), EPROTONOSUPPORT);
    EXPECT_ERR("icmp on inet6", socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMP), EPROTONOSUPPORT);
    ping_v4();
    ping_v6();
    write_range(saved);
    raw_v4();
    raw_v6();
    printf("done\n");
    return 0;
}
