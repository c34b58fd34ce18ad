/* Netlink groups, bad netlink and TCP_INFO arguments, and (with the argument "all") every
 * interface, address and route as programs read them: getifaddrs, if_nameindex, the
 * SIOCGIF* ioctls, a raw RTM_GETROUTE dump, /proc/net/{dev,if_inet6,route}. Lines are
 * printed sorted where Linux's order is its hash tables'. Counters are not printed (they
 * move). Nothing here changes an interface. */
#include "common.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

static char lines[512][160];
static int nlines;

static int cmp(const void *a, const void *b) { return strcmp(a, b); }

/* Prints the lines kept since the last flush, sorted. */
static void flush(void) {
    qsort(lines, nlines, sizeof lines[0], cmp);
    for (int i = 0; i < nlines; i++)
        printf("%s\n", lines[i]);
    nlines = 0;
}

#define KEEP(...)                                                     \
    do {                                                              \
        if (nlines < 512)                                             \
            snprintf(lines[nlines++], sizeof lines[0], __VA_ARGS__); \
    } while (0)

static const char *ip(int family, const void *a, char *b) {
    return inet_ntop(family, a, b, INET6_ADDRSTRLEN) ? b : "?";
}

static const char *sa(struct sockaddr *s, char *b) {
    if (!s)
        return "-";
    if (s->sa_family == AF_INET)
        return ip(AF_INET, &((struct sockaddr_in *)s)->sin_addr, b);
    if (s->sa_family == AF_INET6)
        return ip(AF_INET6, &((struct sockaddr_in6 *)s)->sin6_addr, b);
    return "other";
}

static void ifaddrs(void) {
    struct ifaddrs *all, *i;
    if (getifaddrs(&all)) {
        printf("bad getifaddrs %s\n", ename(errno));
        return;
    }
    for (i = all; i; i = i->ifa_next) {
        char a[64], m[64], d[64];
        int f = i->ifa_addr ? i->ifa_addr->sa_family : -1;
        if (f == AF_PACKET)
            KEEP("ifaddr %s packet flags=%#x", i->ifa_name, i->ifa_flags);
        else
            KEEP("ifaddr %s %d flags=%#x addr=%s mask=%s brd=%s", i->ifa_name, f, i->ifa_flags,
                 sa(i->ifa_addr, a), sa(i->ifa_netmask, m),
                 (i->ifa_flags & IFF_BROADCAST) ? sa(i->ifa_broadaddr, d) : "-");
    }
    freeifaddrs(all);
    flush();
}

static void ioctls(void) {
    struct if_nameindex *n = if_nameindex(), *p;
    if (!n) {
        printf("bad if_nameindex %s\n", ename(errno));
        return;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    for (p = n; p->if_index; p++) {
        struct ifreq r;
        char b[64];
        printf("nameindex %u %s nametoindex=%u\n", p->if_index, p->if_name,
               if_nametoindex(p->if_name));
        memset(&r, 0, sizeof r);
        strncpy(r.ifr_name, p->if_name, IFNAMSIZ - 1);
        int fl = ioctl(s, SIOCGIFFLAGS, &r) ? -1 : (unsigned short)r.ifr_flags;
        int mtu = ioctl(s, SIOCGIFMTU, &r) ? -1 : r.ifr_mtu;
        int q = ioctl(s, SIOCGIFTXQLEN, &r) ? -1 : r.ifr_qlen;
        printf("  flags=%#x mtu=%d txqlen=%d", fl, mtu, q);
        if (ioctl(s, SIOCGIFHWADDR, &r) == 0) {
            unsigned char *h = (unsigned char *)r.ifr_hwaddr.sa_data;
            printf(" hw=%d/%02x:%02x:%02x:%02x:%02x:%02x", r.ifr_hwaddr.sa_family, h[0], h[1],
                   h[2], h[3], h[4], h[5]);
        }
        errno = 0;
        if (ioctl(s, SIOCGIFADDR, &r) == 0)
            printf(" addr=%s", sa(&r.ifr_addr, b));
        else
            printf(" addr=%s", ename(errno));
        if (ioctl(s, SIOCGIFNETMASK, &r) == 0)
            printf(" mask=%s", sa(&r.ifr_netmask, b));
        if (ioctl(s, SIOCGIFBRDADDR, &r) == 0)
            printf(" brd=%s", sa(&r.ifr_broadaddr, b));
        printf("\n");
    }
    if_freenameindex(n);
    struct ifreq rs[64];
    struct ifconf c = { .ifc_len = sizeof rs, .ifc_req = rs };
    if (ioctl(s, SIOCGIFCONF, &c) == 0)
        for (int k = 0; k < c.ifc_len / (int)sizeof(struct ifreq); k++) {
            char b[64];
            KEEP("ifconf %s %s", rs[k].ifr_name, sa(&rs[k].ifr_addr, b));
        }
    flush();
    close(s);
}

/* A raw RTM_GETROUTE dump: every route's family, table, type, scope, destination,
 * gateway and device. */
static void routes(void) {
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct {
        struct nlmsghdr h;
        struct rtmsg r;
    } q = { .h = { .nlmsg_len = sizeof q, .nlmsg_type = RTM_GETROUTE,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 7 } };
    if (send(s, &q, sizeof q, 0) != sizeof q) {
        printf("bad route dump send %s\n", ename(errno));
        return;
    }
    static char buf[65536];
    int done = 0;
    while (!done) {
        ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                done = 1;
                break;
            }
            if (h->nlmsg_type != RTM_NEWROUTE)
                continue;
            struct rtmsg *r = NLMSG_DATA(h);
            if (r->rtm_family != AF_INET && r->rtm_family != AF_INET6)
                continue;
            char dst[64] = "default", gw[64] = "-", dev[IF_NAMESIZE] = "-";
            int table = r->rtm_table;
            struct rtattr *a = RTM_RTA(r);
            int l = RTM_PAYLOAD(h);
            for (; RTA_OK(a, l); a = RTA_NEXT(a, l)) {
                if (a->rta_type == RTA_DST)
                    ip(r->rtm_family, RTA_DATA(a), dst);
                else if (a->rta_type == RTA_GATEWAY)
                    ip(r->rtm_family, RTA_DATA(a), gw);
                else if (a->rta_type == RTA_OIF)
                    if_indextoname(*(int *)RTA_DATA(a), dev);
                else if (a->rta_type == RTA_TABLE)
                    table = *(int *)RTA_DATA(a);
            }
            /* The main and local tables (a test may add routes elsewhere meanwhile). */
            if (table != RT_TABLE_MAIN && table != RT_TABLE_LOCAL)
                continue;
            KEEP("route %d table=%d type=%d scope=%d %s/%d via %s dev %s seq=%u", r->rtm_family,
                 table, r->rtm_type, r->rtm_scope, dst, r->rtm_dst_len, gw, dev, h->nlmsg_seq);
        }
    }
    flush();
    close(s);
}

/* /proc/net files: the interface names of dev, the lines of if_inet6 and route. */
static void procnet(void) {
    char l[512];
    FILE *f = fopen("/proc/net/dev", "r");
    for (int k = 0; f && fgets(l, sizeof l, f); k++) {
        char *c = strchr(l, ':');
        if (k < 2)
            printf("dev header %s", l);
        else if (c) {
            *c = 0;
            KEEP("dev %s", l + strspn(l, " "));
        }
    }
    if (f)
        fclose(f);
    flush();
    f = fopen("/proc/net/if_inet6", "r");
    while (f && fgets(l, sizeof l, f))
        KEEP("if_inet6 %.*s", (int)strcspn(l, "\n"), l);
    if (f)
        fclose(f);
    flush();
    f = fopen("/proc/net/route", "r");
    while (f && fgets(l, sizeof l, f))
        printf("route file %s", l);
    if (f)
        fclose(f);
}

static int nl_socket(void) { return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); }

/* Multicast groups: joined by bind and by NETLINK_ADD_MEMBERSHIP, reported back; with
 * nothing changing an interface, no event arrives. */
static void groups(void) {
    int s = nl_socket();
    struct sockaddr_nl a = { .nl_family = AF_NETLINK,
                             .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
    CHECK("bind with groups", bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    struct sockaddr_nl got;
    socklen_t gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    printf("getsockname groups=%#x len=%u bound=%d\n", got.nl_groups, gl, got.nl_pid != 0);
    unsigned int w[4] = { 0 };
    socklen_t wl = sizeof w;
    int r = getsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, w, &wl);
    printf("list r=%d len=%u %#x %#x\n", r, wl, w[0], w[1]);
    int g = RTNLGRP_IPV4_ROUTE;
    CHECK("add membership", setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) == 0);
    g = 33; /* RTNLGRP_NSID: past the 32 groups of nl_groups */
    CHECK("add membership 33", setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) == 0);
    g = RTNLGRP_LINK;
    CHECK("drop membership", setsockopt(s, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &g, sizeof g) == 0);
    gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    memset(w, 0, sizeof w);
    wl = 4;
    r = getsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, w, &wl);
    printf("after: groups=%#x list r=%d len=%u %#x %#x\n", got.nl_groups, r, wl, w[0], w[1]);
    /* Bad input. */
    g = 0;
    EXPECT_ERR("add group 0", setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, 4), EINVAL);
    g = 1000;
    EXPECT_ERR("add group 1000", setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, 4), EINVAL);
    g = 1;
    EXPECT_ERR("add short", setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, 2), EINVAL);
    EXPECT_ERR("add unmapped", setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, (void *)16, 4),
               EFAULT);
    EXPECT_ERR("set rx ring", setsockopt(s, SOL_NETLINK, 6 /* NETLINK_RX_RING */, &g, 4),
               ENOPROTOOPT);
    EXPECT_ERR("set list", setsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, &g, 4),
               ENOPROTOOPT);
    CHECK("set ext ack", setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &(int){ 5 }, 4) == 0);
    int v = -1;
    socklen_t vl = sizeof v;
    r = getsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &v, &vl);
    printf("ext ack r=%d v=%d len=%u\n", r, v, vl);
    /* A value shorter than an int reads as 0. */
    CHECK("set ext ack short", setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &g, 2) == 0);
    vl = 2;
    r = getsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &v, &vl);
    printf("ext ack short r=%d %s\n", r, r ? ename(errno) : "");
    vl = sizeof v;
    r = getsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &v, &vl);
    printf("ext ack now r=%d v=%d\n", r, v);
    vl = sizeof v;
    EXPECT_ERR("get add membership", getsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &v, &vl),
               ENOPROTOOPT);
    vl = (socklen_t)-1;
    EXPECT_ERR("get list negative", getsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, w, &vl),
               EINVAL);
    a.nl_pid = got.nl_pid + 1;
    EXPECT_ERR("rebind elsewhere", bind(s, (struct sockaddr *)&a, sizeof a), EINVAL);
    a.nl_pid = 0;
    EXPECT_ERR("rebind port 0", bind(s, (struct sockaddr *)&a, sizeof a), EINVAL);
    a.nl_pid = got.nl_pid;
    a.nl_groups = 0;
    CHECK("rebind own port, no groups", bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    wl = sizeof w;
    getsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, w, &wl);
    printf("rebound: groups=%#x words %#x %#x\n", got.nl_groups, w[0], w[1]);
    /* Nothing changes: no event. */
    struct pollfd p = { .fd = s, .events = POLLIN };
    printf("poll %d\n", poll(&p, 1, 200));
    char buf[256];
    EXPECT_ERR("recv", recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(s);
    /* A socket that never joined a group lists none. */
    s = nl_socket();
    wl = sizeof w;
    r = getsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, w, &wl);
    printf("fresh list r=%d len=%u\n", r, wl);
    close(s);
}

/* Garbage netlink lengths: nothing is answered, nothing breaks. */
static void garbage(void) {
    int s = nl_socket();
    char buf[4096];
    struct {
        struct nlmsghdr h;
        struct ifaddrmsg i;
    } q = { .h = { .nlmsg_len = 0xffff, .nlmsg_type = RTM_GETADDR,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 } };
    printf("long len send=%zd", send(s, &q, sizeof q, 0));
    printf(" recv=%s\n", recv(s, buf, sizeof buf, MSG_DONTWAIT) < 0 ? ename(errno) : "data");
    q.h.nlmsg_len = 4;
    printf("short len send=%zd", send(s, &q, sizeof q, 0));
    printf(" recv=%s\n", recv(s, buf, sizeof buf, MSG_DONTWAIT) < 0 ? ename(errno) : "data");
    printf("3 bytes send=%zd", send(s, &q, 3, 0));
    printf(" recv=%s\n", recv(s, buf, sizeof buf, MSG_DONTWAIT) < 0 ? ename(errno) : "data");
    EXPECT_ERR("send unmapped", send(s, (void *)16, 32, 0), EFAULT);
    close(s);
}

/* TCP_INFO: the fields tools read, and bad lengths. */
static void tcpinfo(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct tcp_info t;
    socklen_t tl = sizeof t;
    memset(&t, 0xee, sizeof t);
    int r = getsockopt(l, IPPROTO_TCP, TCP_INFO, &t, &tl);
    printf("fresh r=%d len=%u state=%d snd_mss=%u cwnd=%u rto=%u\n", r, tl, t.tcpi_state,
           t.tcpi_snd_mss, t.tcpi_snd_cwnd, t.tcpi_rto);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 7);
    getsockname(l, (struct sockaddr *)&a, &al);
    tl = sizeof t;
    getsockopt(l, IPPROTO_TCP, TCP_INFO, &t, &tl);
    printf("listen state=%d backlog=%u queued=%u\n", t.tcpi_state, t.tcpi_sacked, t.tcpi_unacked);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int e = accept(l, NULL, NULL);
    write(c, "hello", 5);
    char b[8];
    read(e, b, sizeof b);
    tl = sizeof t;
    r = getsockopt(c, IPPROTO_TCP, TCP_INFO, &t, &tl);
    printf("client r=%d state=%d rtt>0=%d cwnd>0=%d opts=%d pmtu=%u\n", r, t.tcpi_state,
           t.tcpi_rtt > 0, t.tcpi_snd_cwnd > 0, t.tcpi_options, t.tcpi_pmtu);
    tl = 8;
    memset(&t, 0, sizeof t);
    r = getsockopt(e, IPPROTO_TCP, TCP_INFO, &t, &tl);
    printf("short r=%d len=%u state=%d rto=%u\n", r, tl, t.tcpi_state, t.tcpi_rto);
    tl = 0;
    r = getsockopt(e, IPPROTO_TCP, TCP_INFO, &t, &tl);
    printf("zero r=%d len=%u\n", r, tl);
    static char big[4096];
    tl = sizeof big;
    r = getsockopt(e, IPPROTO_TCP, TCP_INFO, big, &tl);
    printf("big r=%d len=%u\n", r, tl);
    tl = (socklen_t)-1;
    EXPECT_ERR("negative len", getsockopt(e, IPPROTO_TCP, TCP_INFO, &t, &tl), EINVAL);
    tl = sizeof t;
    EXPECT_ERR("unmapped value", getsockopt(e, IPPROTO_TCP, TCP_INFO, (void *)16, &tl), EFAULT);
    EXPECT_ERR("unmapped len", getsockopt(e, IPPROTO_TCP, TCP_INFO, &t, (void *)16), EFAULT);
    close(c);
    read(e, b, sizeof b);
    tl = sizeof t;
    getsockopt(e, IPPROTO_TCP, TCP_INFO, &t, &tl);
    printf("after peer close state=%d\n", t.tcpi_state);
    close(e);
    close(l);
}

int main(int argc, char **argv) {
    groups();
    garbage();
    tcpinfo();
    if (argc > 1 && !strcmp(argv[1], "all")) {
        ifaddrs();
        ioctls();
        routes();
        procnet();
    }
    printf("done\n");
    return 0;
}
