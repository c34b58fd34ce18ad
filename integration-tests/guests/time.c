/* Clocks and sleeping. Prints ok/bad lines only. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>

static long long ns(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

static void on_alarm(int s) { (void)s; }

/* A sleep a signal handler interrupts copies the time left to `rem`: a bad `rem` makes the
 * call EFAULT instead of EINTR. */
static void interrupted_with_bad_rem(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    void *bad = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    EXPECT_ERR("nanosleep interrupted, read-only rem",
               syscall(SYS_nanosleep, &(struct timespec){5, 0}, bad), EFAULT);
    setitimer(ITIMER_REAL, &it, NULL);
    EXPECT_ERR("clock_nanosleep interrupted, read-only rem",
               syscall(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &(struct timespec){5, 0}, bad),
               EFAULT);
    struct timespec rem = {0, 0};
    setitimer(ITIMER_REAL, &it, NULL);
    EXPECT_ERR("nanosleep interrupted", syscall(SYS_nanosleep, &(struct timespec){5, 0}, &rem),
               EINTR);
    CHECK("time left reported", rem.tv_sec >= 3 && rem.tv_sec < 5);
}

int main(void) {
    struct timespec a, b;
    int mono = 1;
    CHECK("clock_gettime MONOTONIC", clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (ns(&b) < ns(&a) || b.tv_nsec < 0 || b.tv_nsec >= 1000000000L) mono = 0;
        a = b;
    }
    CHECK("monotonic non-decreasing over 1000 reads", mono);
    CHECK("raw syscall clock_gettime", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b) == 0 && ns(&b) >= ns(&a));

    struct timespec req = {0, 10 * 1000 * 1000}, t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK("nanosleep 10ms", nanosleep(&req, NULL) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long d = ns(&t1) - ns(&t0);
    CHECK("nanosleep slept >= 10ms", d >= 10 * 1000 * 1000LL);
    CHECK("nanosleep slept < 2s", d < 2000 * 1000 * 1000LL);
    req.tv_nsec = 1000000000L;
    EXPECT_ERR("nanosleep tv_nsec 1e9", nanosleep(&req, NULL), EINVAL);
    req.tv_sec = -1; req.tv_nsec = 0;
    EXPECT_ERR("nanosleep negative", nanosleep(&req, NULL), EINVAL);

    struct timespec rt;
    CHECK("clock_gettime REALTIME", clock_gettime(CLOCK_REALTIME, &rt) == 0);
    CHECK("realtime after 2020", rt.tv_sec > 1577836800);
    struct timeval tv;
    CHECK("gettimeofday", gettimeofday(&tv, NULL) == 0);
    CHECK("gettimeofday usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK("gettimeofday close to REALTIME", tv.tv_sec - rt.tv_sec >= 0 && tv.tv_sec - rt.tv_sec < 5);
    /* Linux's time() reads the coarse clock, updated once a tick: just after a second
     * boundary it can still say the second before what gettimeofday said. */
    time_t t = time(NULL);
    CHECK("time() close to gettimeofday", t - tv.tv_sec >= -1 && t - tv.tv_sec < 5);
    time_t t2 = 0;
    CHECK("raw time(&t) stores", syscall(SYS_time, &t2) == t2 && t2 >= t);
    struct timespec res;
    CHECK("clock_getres MONOTONIC", clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
    CHECK("clock_gettime PROCESS_CPUTIME", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a) == 0);
    CHECK("clock_gettime BOOTTIME", clock_gettime(CLOCK_BOOTTIME, &a) == 0);
    CHECK("clock_nanosleep relative 1ms", clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, 1000000}, NULL) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    t0.tv_nsec += 5000000;
    if (t0.tv_nsec >= 1000000000L) { t0.tv_sec++; t0.tv_nsec -= 1000000000L; }
    CHECK("clock_nanosleep TIMER_ABSTIME", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t0, NULL) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK("absolute sleep reached deadline", ns(&t1) >= ns(&t0));
    /* CPU-time clocks by id: the process's (clock_getcpuclockid) and a thread's
     * (pthread_getcpuclockid). */
    clockid_t pc, tc;
    CHECK("clock_getcpuclockid self", clock_getcpuclockid(0, &pc) == 0);
    CHECK("clock_gettime of it", clock_gettime(pc, &a) == 0 && ns(&a) > 0);
    CHECK("clock_getres of it", clock_getres(pc, &res) == 0);
    CHECK("pthread_getcpuclockid self", pthread_getcpuclockid(pthread_self(), &tc) == 0);
    CHECK("clock_gettime of the thread's", clock_gettime(tc, &b) == 0 && ns(&b) > 0);
    /* The thread CPU clock cannot be slept on: the raw call says EOPNOTSUPP. */
    EXPECT_ERR("raw clock_nanosleep THREAD_CPUTIME",
               syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &(struct timespec){0, 1000}, NULL),
               EOPNOTSUPP);
    interrupted_with_bad_rem();
    return 0;
}
