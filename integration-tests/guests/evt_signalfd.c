/* signalfd: blocked pending signals read as signalfd_siginfo records (kill, sigqueue,
 * SIGCHLD), several per read, EAGAIN, a blocking read woken by a child's kill, poll and
 * epoll readiness, changing the mask, and the errnos. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

static void show(const char *what, struct signalfd_siginfo *s, pid_t me) {
    printf("%s: signo=%u code=%d pid_ok=%d uid_ok=%d int=%d\n", what, s->ssi_signo, s->ssi_code,
           s->ssi_pid == (uint32_t)me, s->ssi_uid == getuid(), s->ssi_int);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigaddset(&mask, SIGRTMIN);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    pid_t me = getpid();

    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK("create", fd >= 0);
    printf("flags: cloexec=%d nonblock=%d\n", fcntl(fd, F_GETFD), !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    struct signalfd_siginfo si[4];
    EXPECT_ERR("empty", read(fd, si, sizeof si), EAGAIN);
    EXPECT_ERR("short", read(fd, si, 100), EINVAL);
    struct pollfd p = {fd, POLLIN, 0};
    printf("poll idle: %d\n", poll(&p, 1, 0));

    kill(me, SIGUSR1);
    int k = poll(&p, 1, 0);
    printf("poll pending: %d %#x\n", k, p.revents);
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 5};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    struct epoll_event ev;
    printf("epoll pending: %d\n", epoll_wait(ep, &ev, 1, 0));
    long n = read(fd, si, sizeof si);
    printf("read one: %ld\n", n);
    show("kill", &si[0], me);
    printf("epoll after read: %d\n", epoll_wait(ep, &ev, 1, 0));

    /* several at once, lowest number first; sigqueue carries its value */
    union sigval v = {.sival_int = 77};
    sigqueue(me, SIGRTMIN, v);
    kill(me, SIGUSR2);
    kill(me, SIGUSR1);
    n = read(fd, si, sizeof si);
    printf("read several: %ld\n", n / (long)sizeof si[0]);
    for (int i = 0; i < n / (long)sizeof si[0]; i++) show("rec", &si[i], me);

    /* SIGCHLD from a child's exit */
    pid_t c = fork();
    if (c == 0) _exit(3);
    waitpid(c, NULL, 0);
    n = read(fd, si, sizeof si);
    printf("chld: %ld signo=%u code=%d status=%d pid_ok=%d\n", n, si[0].ssi_signo, si[0].ssi_code,
           si[0].ssi_status, si[0].ssi_pid == (uint32_t)c);

    /* a blocking read (mask now SIGUSR1 only) woken by a child's kill */
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    int bfd = signalfd(-1, &one, 0);
    c = fork();
    if (c == 0) {
        struct timespec d = {0, 150 * 1000000L};
        nanosleep(&d, NULL);
        kill(getppid(), SIGUSR2);
        nanosleep(&d, NULL);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    n = read(bfd, si, sizeof si);
    printf("blocking read: %ld signo=%u from_child=%d\n", n, si[0].ssi_signo, si[0].ssi_pid == (uint32_t)c);
    waitpid(c, NULL, 0);
    /* SIGUSR2 stayed pending: not in this fd's mask */
    sigset_t pend;
    sigpending(&pend);
    printf("usr2 still pending: %d\n", sigismember(&pend, SIGUSR2));
    CHECK("update mask", signalfd(bfd, &mask, 0) == bfd);
    n = read(bfd, si, sizeof si);
    printf("after update: %ld signo=%u\n", n, si[0].ssi_signo);
    /* SIGCHLD of the second child */
    read(fd, si, sizeof si);

    /* epoll wait woken by a blocked signal */
    c = fork();
    if (c == 0) {
        struct timespec d = {0, 150 * 1000000L};
        nanosleep(&d, NULL);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    k = epoll_wait(ep, &ev, 1, 5000);
    printf("epoll woken: %d data=%llu\n", k, (unsigned long long)ev.data.u64);
    waitpid(c, NULL, 0);
    read(fd, si, sizeof si);

    /* through a nested epoll */
    int outer = epoll_create1(0);
    struct epoll_event oe = {.events = EPOLLIN, .data.u64 = 9};
    epoll_ctl(outer, EPOLL_CTL_ADD, ep, &oe);
    printf("nested idle: %d\n", epoll_wait(outer, &ev, 1, 0));
    c = fork();
    if (c == 0) {
        struct timespec d = {0, 150 * 1000000L};
        nanosleep(&d, NULL);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    k = epoll_wait(outer, &ev, 1, 5000);
    printf("nested woken: %d data=%llu\n", k, (unsigned long long)ev.data.u64);
    waitpid(c, NULL, 0);
    read(fd, si, sizeof si);
    close(outer);

    /* errnos */
    EXPECT_ERR("sizemask", syscall(SYS_signalfd4, -1, &mask, 4, 0), EINVAL);
    EXPECT_ERR("flags", syscall(SYS_signalfd4, -1, &mask, 8, 1), EINVAL);
    EXPECT_ERR("fault", syscall(SYS_signalfd4, -1, (void *)8, 8, 0), EFAULT);
    EXPECT_ERR("not signalfd", signalfd(ep, &mask, 0), EINVAL);
    EXPECT_ERR("closed fd", signalfd(999, &mask, 0), EBADF);
    close(ep);
    close(fd);
    close(bfd);
    printf("done\n");
    return 0;
}
