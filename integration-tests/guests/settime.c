/* Setting the clock. `settime errors`: the failures of clock_settime, settimeofday, adjtimex
 * and clock_adjtime, none of which changes anything (safe to run natively as root, and
 * compared with Linux). `settime set` (under uml only: natively it would set the host's
 * clock): sets the instance's wall clock and time zone and checks every reader agrees. */
#include "common.h"
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>

static long settime(clockid_t c, const struct timespec *ts) {
    return syscall(SYS_clock_settime, c, ts);
}

static void errors(void) {
    struct timespec ok = {978307200, 0}, bad_ns = {978307200, -1};
    EXPECT_ERR("clock_settime MONOTONIC", settime(CLOCK_MONOTONIC, &ok), EINVAL);
    EXPECT_ERR("clock_settime BOOTTIME", settime(CLOCK_BOOTTIME, &ok), EINVAL);
    EXPECT_ERR("clock_settime bad id", settime(1234, &ok), EINVAL);
    EXPECT_ERR("clock_settime bad ptr", settime(CLOCK_REALTIME, (void *)8), EFAULT);
    EXPECT_ERR("clock_settime nsec -1", settime(CLOCK_REALTIME, &bad_ns), EINVAL);
    struct timeval tv = {978307200, 1000000};
    EXPECT_ERR("settimeofday usec 1e6", syscall(SYS_settimeofday, &tv, NULL), EINVAL);
    struct timezone tz = {1000, 0};
    EXPECT_ERR("settimeofday tz 1000 min", syscall(SYS_settimeofday, NULL, &tz), EINVAL);
    EXPECT_ERR("settimeofday bad ptr", syscall(SYS_settimeofday, (void *)8, NULL), EFAULT);
    printf("settimeofday NULL NULL: %ld\n", syscall(SYS_settimeofday, NULL, NULL));

    struct timex t;
    memset(&t, 0, sizeof t);
    long st = adjtimex(&t);
    printf("adjtimex read: ok=%d tolerance=%ld precision_ok=%d\n", st >= 0, t.tolerance,
           t.precision >= 1);
    memset(&t, 0, sizeof t);
    t.modes = ADJ_TICK;
    t.tick = 900000 / 100 - 1;
    EXPECT_ERR("adjtimex tick too small", adjtimex(&t), EINVAL);
    t.tick = 1100000 / 100 + 1;
    EXPECT_ERR("adjtimex tick too large", adjtimex(&t), EINVAL);
    memset(&t, 0, sizeof t);
    t.modes = 0x8000;
    EXPECT_ERR("adjtimex ADJ_ADJTIME alone", adjtimex(&t), EINVAL);
    printf("  tai not leaked: %d\n", t.tai == 0);
    t.modes = ADJ_SETOFFSET;
    t.time.tv_usec = 1000000;
    EXPECT_ERR("adjtimex SETOFFSET usec 1e6", adjtimex(&t), EINVAL);
    EXPECT_ERR("adjtimex bad ptr", adjtimex((struct timex *)8), EFAULT);
    memset(&t, 0, sizeof t);
    EXPECT_ERR("clock_adjtime MONOTONIC", syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &t),
               EOPNOTSUPP);
    EXPECT_ERR("clock_adjtime bad id", syscall(SYS_clock_adjtime, 1234, &t), EINVAL);
    printf("clock_adjtime REALTIME read: ok=%d\n",
           syscall(SYS_clock_adjtime, CLOCK_REALTIME, &t) >= 0);

    /* Without CAP_SYS_TIME nothing may be set. */
    pid_t c = fork();
    if (c == 0) {
        if (setgid(65534) || setuid(65534)) _exit(2);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        EXPECT_ERR("nobody clock_settime", settime(CLOCK_REALTIME, &now), EPERM);
        struct timeval tvn = {now.tv_sec, 0};
        EXPECT_ERR("nobody settimeofday", syscall(SYS_settimeofday, &tvn, NULL), EPERM);
        struct timex tn;
        memset(&tn, 0, sizeof tn);
        tn.modes = ADJ_MAXERROR;
        EXPECT_ERR("nobody adjtimex", adjtimex(&tn), EPERM);
        memset(&tn, 0, sizeof tn);
        printf("nobody adjtimex read: ok=%d\n", adjtimex(&tn) >= 0);
        fflush(stdout);
        _exit(0);
    }
    int s;
    waitpid(c, &s, 0);
}

static double secs(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void set(void) {
    double mono0 = secs(CLOCK_MONOTONIC);
    struct timespec y2001 = {978307200, 500000000};
    printf("clock_settime 2001: %ld\n", settime(CLOCK_REALTIME, &y2001));
    double r = secs(CLOCK_REALTIME);
    printf("REALTIME in 2001: %d\n", r >= 978307200.5 && r < 978307210);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("gettimeofday agrees: %d\n", tv.tv_sec >= 978307200 && tv.tv_sec < 978307210);
    printf("time() agrees: %d\n", time(NULL) >= 978307200 && time(NULL) < 978307210);
    struct timespec raw;
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &raw);
    printf("syscall agrees: %d\n", raw.tv_sec >= 978307200 && raw.tv_sec < 978307210);
    printf("MONOTONIC unmoved: %d\n", secs(CLOCK_MONOTONIC) - mono0 < 5);
    printf("TAI follows: %d\n", secs(CLOCK_TAI) - secs(CLOCK_REALTIME) < 100);
    /* A timer at an absolute wall time of the new clock. */
    struct timespec at;
    clock_gettime(CLOCK_REALTIME, &at);
    at.tv_nsec += 50 * 1000000;
    if (at.tv_nsec >= 1000000000) at.tv_sec++, at.tv_nsec -= 1000000000;
    double m = secs(CLOCK_MONOTONIC);
    clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL);
    double slept = secs(CLOCK_MONOTONIC) - m;
    printf("ABSTIME sleep on the new clock: %d\n", slept >= 0.04 && slept < 5);

    struct timex t;
    memset(&t, 0, sizeof t);
    t.modes = ADJ_SETOFFSET;
    t.time.tv_sec = 3600;
    printf("adjtimex SETOFFSET +1h: %d\n", adjtimex(&t) >= 0);
    r = secs(CLOCK_REALTIME);
    printf("REALTIME an hour on: %d\n", r >= 978310800 && r < 978310810);
    memset(&t, 0, sizeof t);
    t.modes = ADJ_MAXERROR | ADJ_STATUS;
    t.maxerror = 1234;
    t.status = 0;
    printf("adjtimex set: %d\n", adjtimex(&t));
    memset(&t, 0, sizeof t);
    int state = adjtimex(&t);
    printf("adjtimex read: state=%d maxerror=%ld\n", state, t.maxerror);

    struct timezone tz = {-60, 0}, back;
    printf("settimeofday tz: %ld\n", syscall(SYS_settimeofday, NULL, &tz));
    gettimeofday(&tv, &back);
    printf("gettimeofday tz: %d\n", back.tz_minuteswest);
    struct timespec before_boot = {1, 0};
    EXPECT_ERR("clock_settime before boot", settime(CLOCK_REALTIME, &before_boot), EINVAL);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "set") == 0) set();
    else errors();
    printf("done\n");
    return 0;
}
