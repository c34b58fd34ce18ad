/* The interface list as programs read it, compared with Linux on the `lo` entries only
 * (the host has more interfaces): getifaddrs (glibc asks NETLINK_ROUTE for link and
 * address dumps), if_nameindex, if_nametoindex/if_indextoname, the SIOCGIF* ioctls, and a
 * raw NETLINK_ROUTE socket fed good and bad requests. Nothing here changes the host's
 * interfaces when run natively (no setter is called). */
#include "common.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static const char *fam(int f) {
    return f == AF_INET ? "inet" : f == AF_INET6 ? "inet6" : f == AF_PACKET ? "packet" : "?";
}

static void addr(const char *what, struct sockaddr *sa) {
    char b[64] = "-";
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, b, sizeof b);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, b, sizeof b);
    printf(" %s=%s", what, b);
}

static void ifaddrs(void) {
    struct ifaddrs *all, *i;
    if (getifaddrs(&all)) {
        printf("bad getifaddrs %s\n", ename(errno));
        return;
    }
    for (i = all; i; i = i->ifa_next) {
        if (strcmp(i->ifa_name, "lo"))
            continue;
        printf("ifaddr lo %s flags=%#x", i->ifa_addr ? fam(i->ifa_addr->sa_family) : "none",
               i->ifa_flags);
        if (i->ifa_addr && i->ifa_addr->sa_family != AF_PACKET) {
            addr("addr", i->ifa_addr);
            addr("mask", i->ifa_netmask);
        }
        printf("\n");
    }
    freeifaddrs(all);
}

static void nameindex(void) {
    struct if_nameindex *n = if_nameindex(), *p;
    if (!n) {
        printf("bad if_nameindex %s\n", ename(errno));
        return;
    }
    for (p = n; p->if_index; p++)
        if (!strcmp(p->if_name, "lo"))
            printf("nameindex %u %s\n", p->if_index, p->if_name);
    if_freenameindex(n);
    char b[IF_NAMESIZE];
    printf("if_nametoindex(lo)=%u\n", if_nametoindex("lo"));
    errno = 0;
    printf("if_nametoindex(nosuch0)=%u %s\n", if_nametoindex("nosuch0"), ename(errno));
    printf("if_indextoname(1)=%s\n", if_indextoname(1, b) ? b : ename(errno));
}

static void ioctls(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &r) == 0)
        printf("SIOCGIFFLAGS %#x\n", (unsigned short)r.ifr_flags);
    if (ioctl(s, SIOCGIFMTU, &r) == 0)
        printf("SIOCGIFMTU %d\n", r.ifr_mtu);
    if (ioctl(s, SIOCGIFINDEX, &r) == 0)
        printf("SIOCGIFINDEX %d\n", r.ifr_ifindex);
    if (ioctl(s, SIOCGIFADDR, &r) == 0)
        addr("SIOCGIFADDR", &r.ifr_addr), printf("\n");
    if (ioctl(s, SIOCGIFNETMASK, &r) == 0)
        addr("SIOCGIFNETMASK", &r.ifr_netmask), printf("\n");
    r.ifr_ifindex = 1;
    if (ioctl(s, SIOCGIFNAME, &r) == 0)
        printf("SIOCGIFNAME 1 %s\n", r.ifr_name);
    strcpy(r.ifr_name, "nosuch0");
    EXPECT_ERR("SIOCGIFFLAGS nosuch0", ioctl(s, SIOCGIFFLAGS, &r), ENODEV);
    EXPECT_ERR("SIOCGIFADDR unmapped", ioctl(s, SIOCGIFADDR, (void *)16), EFAULT);
    /* SIOCGIFCONF: the length first, then the entries; only lo is printed. */
    struct ifconf c = { .ifc_len = 0, .ifc_buf = NULL };
    if (ioctl(s, SIOCGIFCONF, &c) == 0 && c.ifc_len > 0 && c.ifc_len % sizeof(struct ifreq) == 0)
        printf("ok SIOCGIFCONF length\n");
    struct ifreq rs[64];
    c.ifc_len = sizeof rs;
    c.ifc_req = rs;
    if (ioctl(s, SIOCGIFCONF, &c) == 0)
        for (int k = 0; k < c.ifc_len / (int)sizeof(struct ifreq); k++)
            if (!strcmp(rs[k].ifr_name, "lo"))
                addr("SIOCGIFCONF lo", &rs[k].ifr_addr), printf("\n");
    close(s);
    /* The device requests work on an AF_UNIX socket too (glibc's if_nametoindex uses one). */
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    strcpy(r.ifr_name, "lo");
    if (ioctl(s, SIOCGIFINDEX, &r) == 0)
        printf("unix SIOCGIFINDEX %d\n", r.ifr_ifindex);
    EXPECT_ERR("unix SIOCGIFADDR", ioctl(s, SIOCGIFADDR, &r), ENOTTY);
    close(s);
}

struct req {
    struct nlmsghdr h;
    struct ifinfomsg i;
};

/* Sends one request; prints what came back (message types, error codes). */
static void ask(int s, const char *what, void *msg, size_t len) {
    char buf[16384];
    if (send(s, msg, len, 0) != (ssize_t)len) {
        printf("%s: send %s\n", what, ename(errno));
        return;
    }
    printf("%s:", what);
    ssize_t n;
    /* Every datagram the request brought (an acknowledgement is one of its own). */
    while ((n = recv(s, buf, sizeof buf, MSG_DONTWAIT)) >= 0)
    for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_ERROR)
            printf(" error=%s", ename(-((struct nlmsgerr *)NLMSG_DATA(h))->error));
        else if (h->nlmsg_type == RTM_NEWLINK) {
            struct ifinfomsg *i = NLMSG_DATA(h);
            struct rtattr *a = IFLA_RTA(i);
            int l = IFLA_PAYLOAD(h);
            for (; RTA_OK(a, l); a = RTA_NEXT(a, l))
                if (a->rta_type == IFLA_IFNAME)
                    printf(" link %d %s flags=%#x", i->ifi_index, (char *)RTA_DATA(a), i->ifi_flags);
        } else
            printf(" type=%d", h->nlmsg_type);
    }
    printf(" then %s\n", ename(errno));
}

static void netlink(void) {
    EXPECT_ERR("netlink stream", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), ESOCKTNOSUPPORT);
    EXPECT_ERR("netlink protocol 99", socket(AF_NETLINK, SOCK_RAW, 99), EPROTONOSUPPORT);
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl a = { .nl_family = AF_NETLINK };
    EXPECT_ERR("bind short", bind(s, (struct sockaddr *)&a, 4), EINVAL);
    a.nl_family = AF_INET;
    EXPECT_ERR("bind family", bind(s, (struct sockaddr *)&a, sizeof a), EINVAL);
    a.nl_family = AF_NETLINK;
    CHECK("bind", bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t al = sizeof a;
    CHECK("getsockname pid", getsockname(s, (struct sockaddr *)&a, &al) == 0 &&
                                 al == sizeof a && a.nl_pid == (unsigned)getpid());
    EXPECT_ERR("recv empty", recv(s, &a, sizeof a, MSG_DONTWAIT), EAGAIN);
    EXPECT_ERR("listen", listen(s, 1), EOPNOTSUPP);
    char junk[20] = { 3, 0, 0, 0 };
    CHECK("garbage is sent", send(s, junk, sizeof junk, 0) == sizeof junk);
    EXPECT_ERR("garbage gets no answer", recv(s, junk, sizeof junk, MSG_DONTWAIT), EAGAIN);
    struct req q = { .h = { .nlmsg_len = sizeof q, .nlmsg_type = RTM_GETLINK,
                            .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 7 },
                     .i = { .ifi_family = AF_UNSPEC, .ifi_index = 1 } };
    ask(s, "getlink 1", &q, sizeof q);
    q.i.ifi_index = 999;
    ask(s, "getlink 999", &q, sizeof q);
    q.h.nlmsg_type = 1000;
    ask(s, "type 1000", &q, sizeof q);
    q.h.nlmsg_type = RTM_GETLINK;
    q.i.ifi_index = 1;
    q.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    ask(s, "getlink 1 ack", &q, sizeof q);
    /* A reply cut to a small buffer: MSG_TRUNC says its real length. */
    q.h.nlmsg_flags = NLM_F_REQUEST;
    send(s, &q, sizeof q, 0);
    char small[16];
    struct iovec v = { small, sizeof small };
    struct msghdr m = { .msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &v, .msg_iovlen = 1 };
    ssize_t n = recvmsg(s, &m, MSG_PEEK | MSG_TRUNC);
    CHECK("peek trunc length", n > 16 && (m.msg_flags & MSG_TRUNC));
    CHECK("sender is the kernel", m.msg_namelen == sizeof a && a.nl_family == AF_NETLINK && a.nl_pid == 0);
    n = recv(s, small, sizeof small, 0);
    CHECK("cut to 16", n == 16);
    EXPECT_ERR("rest is gone", recv(s, small, sizeof small, MSG_DONTWAIT), EAGAIN);
    EXPECT_ERR("unmapped buffer", send(s, (void *)16, 32, 0), EFAULT);
    close(s);
}

int main(void) {
    ifaddrs();
    nameindex();
    ioctls();
    netlink();
    printf("done\n");
    return 0;
}
