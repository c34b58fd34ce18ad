/* timerfd: one-shot and interval timers, expiration counts, blocking and non-blocking
 * reads, TFD_TIMER_ABSTIME on MONOTONIC and REALTIME, gettime, poll and epoll readiness,
 * and the errnos. Times are compared with generous margins; counts are exact where the
 * timing makes them so. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static struct itimerspec its(long value_ms, long interval_ms) {
    struct itimerspec t = {{interval_ms / 1000, (interval_ms % 1000) * 1000000L},
                           {value_ms / 1000, (value_ms % 1000) * 1000000L}};
    return t;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    uint64_t n = 0;

    /* one-shot, blocking read */
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    CHECK("create", fd >= 0);
    struct itimerspec t = its(100, 0), old;
    CHECK("settime", timerfd_settime(fd, 0, &t, &old) == 0);
    printf("old disarmed: %ld %ld\n", (long)old.it_value.tv_sec, old.it_value.tv_nsec);
    struct itimerspec cur;
    timerfd_gettime(fd, &cur);
    printf("gettime pending: %d\n", cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 100000000);
    long t0 = now_ms();
    long r = read(fd, &n, 8);
    long dt = now_ms() - t0;
    printf("one-shot read: %ld n=%llu waited=%d\n", r, (unsigned long long)n, dt >= 80 && dt < 2000);
    timerfd_gettime(fd, &cur);
    printf("gettime after: %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
    close(fd);

    /* interval timer: expirations accumulate */
    fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("flags: cloexec=%d nonblock=%d\n", fcntl(fd, F_GETFD), !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    EXPECT_ERR("unarmed read", read(fd, &n, 8), EAGAIN);
    t = its(50, 50);
    timerfd_settime(fd, 0, &t, NULL);
    msleep(280);
    r = read(fd, &n, 8);
    printf("interval read: %ld count_ok=%d\n", r, n >= 4 && n <= 6);
    EXPECT_ERR("drained", read(fd, &n, 8), EAGAIN);
    EXPECT_ERR("short read", read(fd, &n, 4), EINVAL);
    EXPECT_ERR("write", write(fd, &n, 8), EINVAL);
    timerfd_gettime(fd, &cur);
    printf("interval gettime: interval=%ld value_ok=%d\n", cur.it_interval.tv_nsec,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 50000000);

    /* poll: readable once it expires */
    struct pollfd p = {fd, POLLIN, 0};
    t0 = now_ms();
    int k = poll(&p, 1, 2000);
    dt = now_ms() - t0;
    printf("poll: %d %#x soon=%d\n", k, p.revents, dt < 1000);
    read(fd, &n, 8);

    /* epoll: interval timer, ET counts each expiry as an event */
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.u64 = 7};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    struct epoll_event ev[2];
    k = epoll_wait(ep, ev, 2, 2000);
    printf("epoll: %d data=%llu ev=%#x\n", k, (unsigned long long)ev[0].data.u64, ev[0].events);
    read(fd, &n, 8);

    /* disarm */
    t = its(0, 0);
    timerfd_settime(fd, 0, &t, &old);
    printf("old interval: %ld\n", old.it_interval.tv_nsec);
    k = epoll_wait(ep, ev, 2, 150);
    printf("disarmed epoll: %d\n", k);
    close(ep);
    close(fd);

    /* absolute times: MONOTONIC in the future, REALTIME in the past with an interval */
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    t.it_interval = (struct timespec){0, 0};
    t.it_value = now;
    t.it_value.tv_nsec += 100000000;
    if (t.it_value.tv_nsec >= 1000000000) {
        t.it_value.tv_sec++;
        t.it_value.tv_nsec -= 1000000000;
    }
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL);
    t0 = now_ms();
    r = read(fd, &n, 8);
    dt = now_ms() - t0;
    printf("abstime monotonic: %ld n=%llu waited=%d\n", r, (unsigned long long)n, dt >= 80 && dt < 2000);
    close(fd);

    fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    clock_gettime(CLOCK_REALTIME, &now);
    t.it_value = now;
    t.it_value.tv_sec -= 1;
    t.it_interval = (struct timespec){0, 300000000};
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL);
    r = read(fd, &n, 8);
    printf("abstime realtime past: %ld n=%llu\n", r, (unsigned long long)n);
    close(fd);

    fd = timerfd_create(CLOCK_BOOTTIME, 0);
    CHECK("boottime", fd >= 0);
    close(fd);

    /* errnos */
    EXPECT_ERR("clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    EXPECT_ERR("create flags", timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    t = its(10, 0);
    t.it_value.tv_nsec = 1000000000;
    EXPECT_ERR("nsec range", timerfd_settime(fd, 0, &t, NULL), EINVAL);
    t = its(10, 0);
    EXPECT_ERR("settime flags", timerfd_settime(fd, 4, &t, NULL), EINVAL);
    EXPECT_ERR("settime fault", timerfd_settime(fd, 0, (void *)8, NULL), EFAULT);
    EXPECT_ERR("settime closed fd", timerfd_settime(999, 0, &t, NULL), EBADF);
    EXPECT_ERR("settime not timer", timerfd_settime(1, 0, &t, NULL), EINVAL);
    EXPECT_ERR("gettime fault", timerfd_gettime(fd, (void *)8), EFAULT);
    EXPECT_ERR("gettime not timer", timerfd_gettime(0, &cur), EINVAL);
    close(fd);
    printf("done\n");
    return 0;
}
