/* POSIX timers (timer_create and family) and the interval timers ITIMER_VIRTUAL/ITIMER_PROF.
 * Prints relationships and ranges, never raw times, so native and uml outputs compare equal. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cputime(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tsd(struct timespec t) { return t.tv_sec + t.tv_nsec / 1e9; }
static double tvd(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

/* Raw syscalls, so that errnos are the kernel's and not glibc's. */
static long k_create(clockid_t c, struct sigevent *ev, int *id) {
    return syscall(SYS_timer_create, c, ev, id);
}
static long k_settime(int id, int flags, const struct itimerspec *n, struct itimerspec *o) {
    return syscall(SYS_timer_settime, id, flags, n, o);
}
static long k_gettime(int id, struct itimerspec *cur) {
    return syscall(SYS_timer_gettime, id, cur);
}
static long k_getoverrun(int id) { return syscall(SYS_timer_getoverrun, id); }
static long k_delete(int id) { return syscall(SYS_timer_delete, id); }

static struct itimerspec its(double value, double interval) {
    struct itimerspec s;
    s.it_value.tv_sec = (time_t)value;
    s.it_value.tv_nsec = (long)((value - (time_t)value) * 1e9);
    s.it_interval.tv_sec = (time_t)interval;
    s.it_interval.tv_nsec = (long)((interval - (time_t)interval) * 1e9);
    return s;
}

static volatile sig_atomic_t got;
static siginfo_t last;
static void on_sig(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    last = *si;
    got++;
}

static void handle(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(sig, &sa, NULL);
}

static void block(int sig, int how) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(how, &s, NULL);
}

/* Waits (at most `secs` of wall time) until the handler ran `n` times in all. */
static void wait_got(int n, double secs) {
    double end = mono() + secs;
    while (got < n && mono() < end) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static void signal_delivery(void) {
    int sig = SIGRTMIN + 1;
    handle(sig);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 42;
    int id = -1;
    printf("create SIGEV_SIGNAL: %ld\n", k_create(CLOCK_MONOTONIC, &ev, &id));
    struct itimerspec s = its(0.05, 0), old;
    got = 0;
    double t0 = mono();
    printf("settime: %ld\n", k_settime(id, 0, &s, &old));
    printf("old was disarmed: %d\n", tsd(old.it_value) == 0 && tsd(old.it_interval) == 0);
    struct itimerspec cur;
    k_gettime(id, &cur);
    printf("gettime armed: value in (0,0.05]=%d interval=%ld.%09ld\n",
           tsd(cur.it_value) > 0 && tsd(cur.it_value) <= 0.05, (long)cur.it_interval.tv_sec,
           cur.it_interval.tv_nsec);
    wait_got(1, 5);
    double dt = mono() - t0;
    printf("signal: got=%d signo_ok=%d code=SI_TIMER:%d timerid_ok=%d overrun=%d value=%d "
           "elapsed in [0.04,2]=%d\n",
           got, last.si_signo == sig, last.si_code == SI_TIMER, last.si_timerid == id,
           last.si_overrun, last.si_value.sival_int, dt >= 0.04 && dt <= 2);
    k_gettime(id, &cur);
    printf("gettime after one-shot: %d\n", tsd(cur.it_value) == 0 && tsd(cur.it_interval) == 0);
    printf("getoverrun: %ld\n", k_getoverrun(id));
    printf("delete: %ld\n", k_delete(id));

    /* No sigevent: SIGALRM with si_value = the timer id. */
    handle(SIGALRM);
    got = 0;
    printf("create NULL sigevent: %ld\n", k_create(CLOCK_REALTIME, NULL, &id));
    s = its(0.02, 0);
    k_settime(id, 0, &s, NULL);
    wait_got(1, 5);
    printf("default: got=%d SIGALRM=%d code=SI_TIMER:%d value_is_id=%d\n", got,
           last.si_signo == SIGALRM, last.si_code == SI_TIMER, last.si_value.sival_int == id);
    k_delete(id);
}

static void overruns(void) {
    int sig = SIGRTMIN + 2;
    handle(sig);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 7;
    int id;
    k_create(CLOCK_MONOTONIC, &ev, &id);
    block(sig, SIG_BLOCK);
    got = 0;
    struct itimerspec s = its(0.01, 0.01), cur;
    k_settime(id, 0, &s, NULL);
    sleep_s(0.105);
    sigset_t pend;
    sigpending(&pend);
    printf("periodic while blocked: pending=%d got=%d\n", sigismember(&pend, sig), got);
    k_gettime(id, &cur);
    printf("gettime while pending: value in (0,0.01]=%d interval=%ld.%09ld\n",
           tsd(cur.it_value) > 0 && tsd(cur.it_value) <= 0.01, (long)cur.it_interval.tv_sec,
           cur.it_interval.tv_nsec);
    /* Taken by sigwaitinfo: it carries the expiries missed meanwhile. */
    siginfo_t si;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    int w = sigwaitinfo(&set, &si);
    int ov = si.si_overrun;
    printf("sigwaitinfo: %d overrun in [5,30]=%d getoverrun_matches=%d value=%d\n", w == sig,
           ov >= 5 && ov <= 30, k_getoverrun(id) == ov, si.si_value.sival_int);
    /* Re-armed when taken; delivered to the handler from now on. */
    block(sig, SIG_UNBLOCK);
    wait_got(3, 5);
    printf("then: got>=3=%d\n", got >= 3);
    k_delete(id);
    /* A signal the timer queued before it was deleted is dropped. */
    k_create(CLOCK_MONOTONIC, &ev, &id);
    block(sig, SIG_BLOCK);
    got = 0;
    s = its(0.01, 0);
    k_settime(id, 0, &s, NULL);
    sleep_s(0.05);
    sigpending(&pend);
    printf("before delete: pending=%d\n", sigismember(&pend, sig));
    k_delete(id);
    block(sig, SIG_UNBLOCK);
    printf("after delete and unblock: got=%d\n", got);
    /* ... and so is one queued before the timer was set again. */
    k_create(CLOCK_MONOTONIC, &ev, &id);
    block(sig, SIG_BLOCK);
    got = 0;
    s = its(0.01, 0);
    k_settime(id, 0, &s, NULL);
    sleep_s(0.05);
    s = its(100, 0);
    k_settime(id, 0, &s, NULL);
    block(sig, SIG_UNBLOCK);
    printf("after settime again and unblock: got=%d\n", got);
    k_delete(id);
}

static int target_tid;
static atomic_int thread_ready;
static siginfo_t thread_info;
static int thread_got_tid;

static void *waiter(void *arg) {
    (void)arg;
    target_tid = gettid();
    atomic_store(&thread_ready, 1);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 3);
    struct timespec to = {5, 0};
    if (sigtimedwait(&s, &thread_info, &to) > 0) thread_got_tid = gettid();
    return NULL;
}

static void thread_id(void) {
    int sig = SIGRTMIN + 3;
    block(sig, SIG_BLOCK); /* inherited by the thread */
    pthread_t th;
    pthread_create(&th, NULL, waiter, NULL);
    while (!atomic_load(&thread_ready)) sched_yield();
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 99;
    ev._sigev_un._tid = target_tid;
    int id;
    printf("create SIGEV_THREAD_ID: %ld\n", k_create(CLOCK_MONOTONIC, &ev, &id));
    struct itimerspec s = its(0.03, 0);
    k_settime(id, 0, &s, NULL);
    pthread_join(th, NULL);
    sigset_t pend;
    sigpending(&pend);
    printf("thread took it: %d timerid_ok=%d value=%d code=SI_TIMER:%d main_pending=%d\n",
           thread_got_tid == target_tid, thread_info.si_timerid == id,
           thread_info.si_value.sival_int, thread_info.si_code == SI_TIMER,
           sigismember(&pend, sig));
    k_delete(id);
    /* A thread of another process (here: the parent, a thread of no one of ours). */
    ev._sigev_un._tid = getppid();
    EXPECT_ERR("create SIGEV_THREAD_ID foreign tid", k_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    ev._sigev_un._tid = 0;
    EXPECT_ERR("create SIGEV_THREAD_ID tid 0", k_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    block(sig, SIG_UNBLOCK);
}

static void sigev_none(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    int id;
    printf("create SIGEV_NONE: %ld\n", k_create(CLOCK_MONOTONIC, &ev, &id));
    struct itimerspec s = its(0.1, 0), cur;
    k_settime(id, 0, &s, NULL);
    k_gettime(id, &cur);
    printf("none armed: value in (0.05,0.1]=%d\n",
           tsd(cur.it_value) > 0.05 && tsd(cur.it_value) <= 0.1);
    sleep_s(0.12);
    k_gettime(id, &cur);
    printf("none expired one-shot: zero=%d\n", tsd(cur.it_value) == 0 && tsd(cur.it_interval) == 0);
    s = its(0.03, 0.03);
    k_settime(id, 0, &s, NULL);
    sleep_s(0.1);
    k_gettime(id, &cur);
    printf("none periodic: value in (0,0.03]=%d interval=%ld.%09ld getoverrun=%ld\n",
           tsd(cur.it_value) > 0 && tsd(cur.it_value) <= 0.03, (long)cur.it_interval.tv_sec,
           cur.it_interval.tv_nsec, k_getoverrun(id));
    /* A zero value disarms and clears the interval. */
    s = its(0, 0.5);
    struct itimerspec old;
    k_settime(id, 0, &s, &old);
    printf("old interval=%ld.%09ld\n", (long)old.it_interval.tv_sec, old.it_interval.tv_nsec);
    k_gettime(id, &cur);
    /* Disarmed, but a SIGEV_NONE timer still reads the time to its old expiry. */
    printf("disarmed with interval given: interval zero=%d value in [0,0.03]=%d\n",
           tsd(cur.it_interval) == 0, tsd(cur.it_value) >= 0 && tsd(cur.it_value) <= 0.03);
    k_delete(id);
}

static void abstime(void) {
    handle(SIGRTMIN + 4);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN + 4;
    clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
    const char *names[] = {"REALTIME", "MONOTONIC", "BOOTTIME"};
    for (int i = 0; i < 3; i++) {
        int id;
        k_create(clocks[i], &ev, &id);
        struct timespec now;
        clock_gettime(clocks[i], &now);
        struct itimerspec s = {{0, 0}, now};
        s.it_value.tv_nsec += 50000000;
        if (s.it_value.tv_nsec >= 1000000000) {
            s.it_value.tv_sec++;
            s.it_value.tv_nsec -= 1000000000;
        }
        got = 0;
        double t0 = mono();
        printf("ABSTIME %s settime: %ld\n", names[i], k_settime(id, TIMER_ABSTIME, &s, NULL));
        struct itimerspec cur;
        k_gettime(id, &cur);
        printf("ABSTIME %s gettime relative: %d\n", names[i],
               tsd(cur.it_value) > 0 && tsd(cur.it_value) <= 0.05);
        wait_got(1, 5);
        double dt = mono() - t0;
        printf("ABSTIME %s fired: got=%d elapsed in [0.04,2]=%d\n", names[i], got,
               dt >= 0.04 && dt <= 2);
        /* In the past: at once. */
        got = 0;
        s.it_value = now;
        k_settime(id, TIMER_ABSTIME, &s, NULL);
        wait_got(1, 5);
        printf("ABSTIME %s past: got=%d\n", names[i], got);
        k_delete(id);
    }
}

static void errnos(void) {
    int id;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    EXPECT_ERR("create clock 10", k_create(10, NULL, &id), EINVAL);
    EXPECT_ERR("create clock 99", k_create(99, NULL, &id), EINVAL);
    EXPECT_ERR("create MONOTONIC_RAW", k_create(CLOCK_MONOTONIC_RAW, NULL, &id), EOPNOTSUPP);
    EXPECT_ERR("create REALTIME_COARSE", k_create(CLOCK_REALTIME_COARSE, NULL, &id), EOPNOTSUPP);
    ev.sigev_notify = 7;
    EXPECT_ERR("create notify 7", k_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 0;
    EXPECT_ERR("create signo 0", k_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    ev.sigev_signo = 65;
    EXPECT_ERR("create signo 65", k_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    EXPECT_ERR("create bad sevp", k_create(CLOCK_MONOTONIC, (void *)8, &id), EFAULT);
    EXPECT_ERR("create bad timerid", k_create(CLOCK_MONOTONIC, NULL, (void *)8), EFAULT);
    struct itimerspec s = its(1, 0), cur;
    EXPECT_ERR("settime bad id", k_settime(123456, 0, &s, NULL), EINVAL);
    EXPECT_ERR("settime -1", k_settime(-1, 0, &s, NULL), EINVAL);
    EXPECT_ERR("gettime bad id", k_gettime(123456, &cur), EINVAL);
    EXPECT_ERR("getoverrun bad id", k_getoverrun(123456), EINVAL);
    EXPECT_ERR("delete bad id", k_delete(123456), EINVAL);
    printf("create ok: %ld\n", k_create(CLOCK_MONOTONIC, NULL, &id));
    EXPECT_ERR("settime NULL", k_settime(id, 0, NULL, NULL), EINVAL);
    s.it_value.tv_nsec = 1000000000;
    EXPECT_ERR("settime nsec 1e9", k_settime(id, 0, &s, NULL), EINVAL);
    s = its(1, 0);
    s.it_interval.tv_sec = -1;
    EXPECT_ERR("settime negative interval", k_settime(id, 0, &s, NULL), EINVAL);
    EXPECT_ERR("settime bad new ptr", k_settime(id, 0, (void *)8, NULL), EFAULT);
    EXPECT_ERR("gettime bad ptr", k_gettime(id, (void *)8), EFAULT);
    k_delete(id);
    EXPECT_ERR("gettime deleted", k_gettime(id, &cur), EINVAL);
    EXPECT_ERR("delete twice", k_delete(id), EINVAL);
    /* Alarm clocks need an RTC; with none, EOPNOTSUPP after an id was taken. */
    int a = -1, b = -1, c = -1;
    k_create(CLOCK_MONOTONIC, NULL, &a);
    long r = k_create(CLOCK_BOOTTIME_ALARM, NULL, &b);
    int e = errno;
    k_create(CLOCK_MONOTONIC, NULL, &c);
    printf("alarm clock: %ld %s, ids skipped: %d\n", r, ename(e), c - a);
    k_delete(a);
    k_delete(c);
}

static atomic_int cb_calls;
static atomic_int cb_value;
static atomic_int cb_other_thread;
static void callback(union sigval v) {
    atomic_store(&cb_value, v.sival_int);
    if (gettid() != getpid()) atomic_store(&cb_other_thread, 1);
    atomic_fetch_add(&cb_calls, 1);
}

static void sigev_thread(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = callback;
    ev.sigev_value.sival_int = 1234;
    timer_t t;
    printf("librt SIGEV_THREAD create: %d\n", timer_create(CLOCK_MONOTONIC, &ev, &t));
    struct itimerspec s = its(0.02, 0.02);
    printf("librt settime: %d\n", timer_settime(t, 0, &s, NULL));
    double end = mono() + 5;
    while (atomic_load(&cb_calls) < 3 && mono() < end) sleep_s(0.005);
    printf("librt delete: %d\n", timer_delete(t));
    printf("SIGEV_THREAD: calls>=3=%d value=%d other_thread=%d\n", atomic_load(&cb_calls) >= 3,
           atomic_load(&cb_value), atomic_load(&cb_other_thread));
}

static void cpu_timers(void) {
    clockid_t clocks[] = {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
    const char *names[] = {"PROCESS_CPUTIME", "THREAD_CPUTIME"};
    handle(SIGRTMIN + 5);
    for (int i = 0; i < 2; i++) {
        struct sigevent ev;
        memset(&ev, 0, sizeof ev);
        ev.sigev_notify = SIGEV_SIGNAL;
        ev.sigev_signo = SIGRTMIN + 5;
        int id;
        printf("%s create: %ld\n", names[i], k_create(clocks[i], &ev, &id));
        got = 0;
        double c0 = cputime(clocks[i]);
        struct itimerspec s = its(0.05, 0), cur;
        k_settime(id, 0, &s, NULL);
        k_gettime(id, &cur);
        printf("%s gettime: value in (0,0.05]=%d\n", names[i],
               tsd(cur.it_value) > 0 && tsd(cur.it_value) <= 0.05);
        double end = mono() + 10;
        while (!got && mono() < end) {
        }
        double used = cputime(clocks[i]) - c0;
        printf("%s fired while spinning: got=%d cpu used >= 0.04: %d timerid_ok=%d\n", names[i],
               got, used >= 0.04, last.si_timerid == id);
        k_delete(id);
    }
    /* Our own process's CPU clock by id (clock_getcpuclockid). */
    clockid_t pc;
    clock_getcpuclockid(0, &pc);
    int id;
    printf("cpu clock of pid 0: %ld\n", k_create(pc, NULL, &id));
    k_delete(id);
}

static volatile sig_atomic_t vt, prof;
static void on_vt(int s) { (void)s, vt++; }
static void on_prof(int s) { (void)s, prof++; }

static void itimers(void) {
    signal(SIGVTALRM, on_vt);
    signal(SIGPROF, on_prof);
    struct itimerval v = {{0, 0}, {0, 50000}}, cur, old;
    double c0 = cputime(CLOCK_PROCESS_CPUTIME_ID), end = mono() + 10;
    setitimer(ITIMER_VIRTUAL, &v, NULL);
    while (!vt && mono() < end) {
    }
    printf("ITIMER_VIRTUAL fired while spinning: %d cpu >= 0.025: %d\n", vt,
           cputime(CLOCK_PROCESS_CPUTIME_ID) - c0 >= 0.025);
    getitimer(ITIMER_VIRTUAL, &cur);
    printf("ITIMER_VIRTUAL after one-shot: zero=%d\n", tvd(cur.it_value) == 0 && tvd(cur.it_interval) == 0);
    struct itimerval p = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_PROF, &p, NULL);
    end = mono() + 10;
    while (prof < 3 && mono() < end) {
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, &old);
    printf("ITIMER_PROF periodic while spinning: >=3 %d, old interval=%ld.%06ld value in "
           "(0,0.025]=%d\n",
           prof >= 3, (long)old.it_interval.tv_sec, (long)old.it_interval.tv_usec,
           tvd(old.it_value) > 0 && tvd(old.it_value) <= 0.025);
    /* Fields: the interval as set; a CPU timer's value rounded up by a tick (<= 4 ms). */
    struct itimerval set = {{0, 500000}, {1, 0}};
    setitimer(ITIMER_VIRTUAL, &set, NULL);
    getitimer(ITIMER_VIRTUAL, &cur);
    printf("ITIMER_VIRTUAL get: interval=%ld.%06ld value in [0.99,1.005]=%d\n",
           (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec,
           tvd(cur.it_value) >= 0.99 && tvd(cur.it_value) <= 1.005);
    struct itimerval z = {{0, 300000}, {0, 0}};
    setitimer(ITIMER_VIRTUAL, &z, &old);
    printf("ITIMER_VIRTUAL old: interval=%ld.%06ld value in [0.99,1.005]=%d\n",
           (long)old.it_interval.tv_sec, (long)old.it_interval.tv_usec,
           tvd(old.it_value) >= 0.99 && tvd(old.it_value) <= 1.005);
    getitimer(ITIMER_VIRTUAL, &cur);
    printf("ITIMER_VIRTUAL zero value keeps interval: interval=%ld.%06ld value=%ld.%06ld\n",
           (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec, (long)cur.it_value.tv_sec,
           (long)cur.it_value.tv_usec);
    setitimer(ITIMER_PROF, &z, NULL);
    getitimer(ITIMER_PROF, &cur);
    printf("ITIMER_PROF zero value keeps interval: interval=%ld.%06ld value=%ld.%06ld\n",
           (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec, (long)cur.it_value.tv_sec,
           (long)cur.it_value.tv_usec);
    setitimer(ITIMER_REAL, &z, NULL);
    getitimer(ITIMER_REAL, &cur);
    printf("ITIMER_REAL zero value clears interval: interval=%ld.%06ld value=%ld.%06ld\n",
           (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec, (long)cur.it_value.tv_sec,
           (long)cur.it_value.tv_usec);
    struct itimerval r = {{0, 250000}, {2, 0}};
    setitimer(ITIMER_REAL, &r, NULL);
    getitimer(ITIMER_REAL, &cur);
    printf("ITIMER_REAL get: interval=%ld.%06ld value in [1.9,2]=%d\n",
           (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec,
           tvd(cur.it_value) >= 1.9 && tvd(cur.it_value) <= 2);
    /* Periodic ITIMER_REAL with SIGALRM blocked: it fires once and waits for the signal to
     * be taken, reading a zero value meanwhile. */
    handle(SIGALRM);
    block(SIGALRM, SIG_BLOCK);
    struct itimerval fast = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &fast, NULL);
    sleep_s(0.05);
    getitimer(ITIMER_REAL, &cur);
    printf("ITIMER_REAL fired, SIGALRM pending: interval=%ld.%06ld value=%ld.%06ld\n",
           (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec, (long)cur.it_value.tv_sec,
           (long)cur.it_value.tv_usec);
    got = 0;
    block(SIGALRM, SIG_UNBLOCK);
    /* Read at once: the re-armed timer fires again 10 ms on, which a loaded host can reach
     * before the printf. */
    int taken = got;
    getitimer(ITIMER_REAL, &cur);
    printf("ITIMER_REAL taken: got=%d re-armed: value in (0,0.01]=%d\n", taken,
           tvd(cur.it_value) > 0 && tvd(cur.it_value) <= 0.01);
    setitimer(ITIMER_REAL, &off, NULL);
    setitimer(ITIMER_VIRTUAL, &off, NULL);
    setitimer(ITIMER_PROF, &off, NULL);
    EXPECT_ERR("getitimer 3", getitimer(3, &cur), EINVAL);
    struct itimerval bad = {{0, 0}, {0, 1000000}};
    EXPECT_ERR("setitimer usec 1e6", setitimer(ITIMER_VIRTUAL, &bad, NULL), EINVAL);
    EXPECT_ERR("setitimer -1", setitimer(-1, &z, NULL), EINVAL);
}

/* After fork: the child has no timers; after exec: none either, but interval timers stay. */
static void inheritance(const char *self) {
    int id;
    k_create(CLOCK_MONOTONIC, NULL, &id);
    struct itimerspec s = its(100, 0), cur;
    k_settime(id, 0, &s, NULL);
    pid_t c = fork();
    if (c == 0) {
        EXPECT_ERR("child gettime parent's timer", k_gettime(id, &cur), EINVAL);
        struct itimerval r;
        getitimer(ITIMER_REAL, &r);
        printf("child ITIMER_REAL zero: %d\n", tvd(r.it_value) == 0);
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("parent still has it: %ld\n", k_gettime(id, &cur));
    struct itimerval r = {{0, 0}, {50, 0}};
    setitimer(ITIMER_REAL, &r, NULL);
    c = fork();
    if (c == 0) {
        setitimer(ITIMER_REAL, &r, NULL);
        char buf[16];
        snprintf(buf, sizeof buf, "%d", id);
        execl(self, self, "after-exec", buf, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("exec child exit: %d\n", WEXITSTATUS(st));
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    k_delete(id);
}

static int after_exec(int id) {
    struct itimerspec cur;
    /* The timer the process had before exec is gone; its id was never reused. */
    EXPECT_ERR("after exec gettime", k_gettime(id, &cur), EINVAL);
    struct itimerval r;
    getitimer(ITIMER_REAL, &r);
    printf("after exec ITIMER_REAL kept: %d\n", tvd(r.it_value) > 40);
    return 0;
}

/* A 1 ns periodic timer set to an absolute time 30 s past: its first signal's overrun
 * is capped at INT_MAX (the expiries before uml started count too). */
static timer_t past_timer;
static volatile sig_atomic_t past_called;
static volatile int past_overrun;
static void on_past(int s) {
    (void)s;
    if (past_called) return;
    past_overrun = timer_getoverrun(past_timer);
    struct itimerspec zero = {0};
    timer_settime(past_timer, 0, &zero, NULL);
    past_called = 1;
}

static void long_past(void) {
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    signal(SIGUSR2, on_past);
    timer_create(CLOCK_REALTIME, &sev, &past_timer);
    struct itimerspec spec = {.it_interval = {0, 1}};
    clock_gettime(CLOCK_REALTIME, &spec.it_value);
    spec.it_value.tv_sec -= 30;
    timer_settime(past_timer, TIMER_ABSTIME, &spec, NULL);
    while (!past_called)
        ;
    printf("overrun of a timer 30 s past: %s\n", past_overrun == 2147483647 ? "INT_MAX" : "less");
    timer_delete(past_timer);
    signal(SIGUSR2, SIG_DFL);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "after-exec") == 0) return after_exec(atoi(argv[2]));
    signal_delivery();
    overruns();
    thread_id();
    sigev_none();
    abstime();
    errnos();
    sigev_thread();
    cpu_timers();
    itimers();
    inheritance(argv[0]);
    long_past();
    printf("done\n");
    return 0;
}
