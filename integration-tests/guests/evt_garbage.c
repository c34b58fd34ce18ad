/* The event-fd calls with garbage pointers: each result (ok or errno name) is printed, and
 * natively and under uml the output must be identical. */
#include "common.h"
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

static const struct { const char *name; unsigned long v; } bad[] = {
    {"null", 0},
    {"one", 1},
    {"deadbeef", 0xdeadbeef000UL},
    {"minus1", ~0UL},
    {"kernel", 0xffff800000000000UL},
    {"noncanon", 0x0000800000000000UL},
};

#define R(label, ...)                                                              \
    do {                                                                           \
        errno = 0;                                                                 \
        long r_ = syscall(__VA_ARGS__);                                            \
        printf("%s(%s)=%s\n", label, bad[i].name, r_ < 0 ? ename(errno) : "ok"); \
    } while (0)

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int efd = eventfd(0, EFD_NONBLOCK);
    int ep = epoll_create1(0);
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK);
    uint64_t one = 1;
    struct epoll_event ev[2];
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)bad[i].v;
        write(efd, &one, 8);
        R("eventfd_read", SYS_read, efd, p, 8);
        read(efd, &one, 8);
        R("eventfd_write", SYS_write, efd, p, 8);
        read(efd, &one, 8);
        R("epoll_ctl_event", SYS_epoll_ctl, ep, EPOLL_CTL_ADD, efd, p);
        epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);
        R("epoll_wait_events", SYS_epoll_wait, ep, p, 2, 0);
        R("epoll_pwait_mask", SYS_epoll_pwait, ep, ev, 2, 0, p, 8);
        if (p) /* a NULL timeout waits forever */
            R("epoll_pwait2_timeout", SYS_epoll_pwait2, ep, ev, 2, p, NULL, 8);
        R("timerfd_settime_new", SYS_timerfd_settime, tfd, 0, p, NULL);
        R("timerfd_gettime", SYS_timerfd_gettime, tfd, p);
        R("signalfd4_mask", SYS_signalfd4, sfd, p, 8, 0);
        kill(getpid(), SIGUSR1);
        R("signalfd_read", SYS_read, sfd, p, 128);
    }
    printf("done\n");
    return 0;
}
