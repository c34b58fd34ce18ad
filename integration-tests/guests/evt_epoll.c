/* epoll over pipes and eventfds: level- and edge-triggered, one-shot, timeouts, nested
 * epolls, interest dropped when the file description is released, EINTR, the signal mask of
 * epoll_pwait, and the errnos of epoll_ctl and epoll_wait. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One wait: prints the count and each (data, events) pair, by data (the order of several
 * ready files is not compared). */
static int wait_print(const char *what, int ep, int max, int timeout) {
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, max, timeout);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && ev[j - 1].data.u64 > ev[j].data.u64; j--) {
            struct epoll_event t = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = t;
        }
    printf("%s: %d", what, n < 0 ? -errno : n);
    for (int i = 0; i < n; i++)
        printf(" [%llu %#x]", (unsigned long long)ev[i].data.u64, ev[i].events);
    printf("\n");
    return n;
}

static int add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event e = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    char buf[64];
    if (pipe(p)) return 1;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK("create1", ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC);

    /* level-triggered: reported while readable */
    CHECK("add pipe", add(ep, p[0], EPOLLIN, 10) == 0);
    wait_print("empty pipe", ep, 8, 0);
    write(p[1], "ab", 2);
    wait_print("LT 1", ep, 8, 0);
    wait_print("LT 2", ep, 8, 0);
    read(p[0], buf, 2);
    wait_print("LT drained", ep, 8, 0);

    /* edge-triggered: once per new write */
    struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.u64 = 11};
    CHECK("mod ET", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e) == 0);
    write(p[1], "cd", 2);
    wait_print("ET 1", ep, 8, 0);
    wait_print("ET 2", ep, 8, 0);
    write(p[1], "ef", 2);
    wait_print("ET after write", ep, 8, 0);
    read(p[0], buf, sizeof buf);
    wait_print("ET drained", ep, 8, 0);

    /* one-shot: reported once, then disabled until EPOLL_CTL_MOD */
    e.events = EPOLLIN | EPOLLONESHOT;
    e.data.u64 = 12;
    CHECK("mod oneshot", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e) == 0);
    write(p[1], "g", 1);
    wait_print("oneshot 1", ep, 8, 0);
    wait_print("oneshot 2", ep, 8, 0);
    CHECK("rearm", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e) == 0);
    wait_print("oneshot rearmed", ep, 8, 0);
    read(p[0], buf, sizeof buf);

    /* the write end: writable; an eventfd: readable and writable */
    CHECK("add write end", add(ep, p[1], EPOLLOUT, 20) == 0);
    wait_print("write end", ep, 8, 0);
    CHECK("del write end", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL) == 0);
    int efd = eventfd(0, EFD_NONBLOCK);
    CHECK("add eventfd", add(ep, efd, EPOLLIN, 30) == 0);
    wait_print("eventfd empty", ep, 8, 0);
    uint64_t one = 1;
    write(efd, &one, 8);
    wait_print("eventfd 1", ep, 8, 0);
    read(efd, &one, 8);

    /* maxevents: two ready files, one per call, both get their turn */
    write(efd, &one, 8);
    e.events = EPOLLIN;
    e.data.u64 = 13;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e);
    write(p[1], "h", 1);
    struct epoll_event ev[4];
    int a = epoll_wait(ep, ev, 1, 0);
    uint64_t first = ev[0].data.u64;
    int b = epoll_wait(ep, ev, 1, 0);
    printf("round robin: %d %d distinct=%d\n", a, b, first != ev[0].data.u64);
    read(p[0], buf, sizeof buf);
    read(efd, &one, 8);

    /* timeouts */
    long t0 = now_ms();
    int n = epoll_wait(ep, ev, 4, 150);
    long dt = now_ms() - t0;
    printf("timeout: %d waited=%d\n", n, dt >= 140 && dt < 2000);
    struct timespec ts = {0, 100 * 1000000L};
    t0 = now_ms();
    n = epoll_pwait2(ep, ev, 4, &ts, NULL);
    dt = now_ms() - t0;
    printf("pwait2 timeout: %d waited=%d\n", n, dt >= 90 && dt < 2000);

    /* a blocking wait woken by a child's write */
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec d = {0, 150 * 1000000L};
        nanosleep(&d, NULL);
        _exit(write(p[1], "x", 1) == 1 ? 0 : 1);
    }
    wait_print("woken by child", ep, 4, -1);
    int st;
    waitpid(pid, &st, 0);
    read(p[0], buf, sizeof buf);

    /* hang-up: the last write end closes */
    int q[2];
    pipe(q);
    add(ep, q[0], EPOLLIN, 40);
    close(q[1]);
    wait_print("hangup", ep, 4, 0);
    close(q[0]);
    wait_print("closed pipe is gone", ep, 4, 0);

    /* a dup keeps the file description, so the interest stays */
    pipe(q);
    int d = dup(q[0]);
    add(ep, q[0], EPOLLIN, 50);
    close(q[0]);
    write(q[1], "y", 1);
    wait_print("after close of one dup", ep, 4, 0);
    EXPECT_ERR("del closed fd", epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL), EBADF);
    close(d);
    wait_print("after last close", ep, 4, 0);
    close(q[1]);

    /* nested epoll */
    int inner = epoll_create(1);
    add(inner, efd, EPOLLIN, 60);
    CHECK("add inner", add(ep, inner, EPOLLIN, 61) == 0);
    wait_print("inner idle", ep, 4, 0);
    write(efd, &one, 8);
    wait_print("inner ready", ep, 4, 0);
    read(efd, &one, 8);
    EXPECT_ERR("loop", add(inner, ep, EPOLLIN, 0), ELOOP);
    EXPECT_ERR("self", add(ep, ep, EPOLLIN, 0), EINVAL);
    epoll_ctl(ep, EPOLL_CTL_DEL, inner, NULL);

    /* errnos */
    EXPECT_ERR("exists", add(ep, p[0], EPOLLIN, 0), EEXIST);
    EXPECT_ERR("mod missing", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &e), ENOENT);
    EXPECT_ERR("del missing", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
    EXPECT_ERR("unknown op", epoll_ctl(ep, 9, p[1], &e), EINVAL);
    EXPECT_ERR("closed epfd", add(999, p[0], EPOLLIN, 0), EBADF);
    EXPECT_ERR("closed fd", add(ep, 999, EPOLLIN, 0), EBADF);
    EXPECT_ERR("not epoll", add(p[0], p[1], EPOLLIN, 0), EINVAL);
    int reg = open("/proc/self/exe", O_RDONLY);
    if (reg < 0) reg = open("/bin/sh", O_RDONLY);
    EXPECT_ERR("regular file", add(ep, reg, EPOLLIN, 0), EPERM);
    EXPECT_ERR("event fault", epoll_ctl(ep, EPOLL_CTL_ADD, p[1], (void *)8), EFAULT);
    EXPECT_ERR("exclusive mod", epoll_ctl(ep, EPOLL_CTL_MOD, p[0],
                                          &(struct epoll_event){EPOLLIN | EPOLLEXCLUSIVE}), EINVAL);
    CHECK("exclusive add", add(ep, p[1], EPOLLOUT | EPOLLEXCLUSIVE, 70) == 0);
    EXPECT_ERR("exclusive rdhup", add(ep, efd, EPOLLIN | EPOLLRDHUP | EPOLLEXCLUSIVE, 0), EINVAL);
    epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL);
    EXPECT_ERR("maxevents 0", epoll_wait(ep, ev, 0, 0), EINVAL);
    EXPECT_ERR("maxevents -1", epoll_wait(ep, ev, -1, 0), EINVAL);
    EXPECT_ERR("events fault", epoll_wait(ep, (void *)-4096L, 1, 0), EFAULT);
    EXPECT_ERR("wait not epoll", epoll_wait(p[0], ev, 1, 0), EINVAL);
    EXPECT_ERR("wait closed fd", epoll_wait(999, ev, 1, 0), EBADF);
    EXPECT_ERR("create 0", epoll_create(0), EINVAL);
    EXPECT_ERR("create1 flags", epoll_create1(1), EINVAL);
    sigset_t ss;
    sigemptyset(&ss);
    EXPECT_ERR("sigsetsize", syscall(SYS_epoll_pwait, ep, ev, 1, 0, &ss, 4), EINVAL);

    /* EINTR: a handler runs during the wait, even with SA_RESTART */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    errno = 0;
    n = epoll_wait(ep, ev, 4, 5000);
    printf("EINTR: %d %s alarms=%d\n", n, ename(errno), alarms);

    /* epoll_pwait's mask blocks the signal for the wait; it is delivered afterwards */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_SETMASK, NULL, &old);
    alarms = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    n = epoll_pwait(ep, ev, 4, 300, &block);
    printf("pwait masked: %d alarms_during=%d", n, alarms);
    struct timespec d2 = {0, 10 * 1000000L};
    nanosleep(&d2, NULL);
    printf(" alarms_after=%d\n", alarms);

    close(ep);
    close(inner);
    printf("done\n");
    return 0;
}
