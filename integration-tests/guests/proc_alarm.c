/* alarm(), pause(), setitimer/getitimer ITIMER_REAL (one-shot and periodic). */
#include "common.h"
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t ticks;
static void on_alarm(int sig) { (void)sig; ticks++; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGALRM, on_alarm);

    printf("alarm(1) first: %u\n", alarm(1));
    printf("alarm(1) again: %u\n", alarm(1)); /* remaining time, rounded: 1 */
    double t0 = now();
    errno = 0;
    int r = pause();
    double dt = now() - t0;
    printf("pause: %d %s ticks=%d elapsed in [0.8,2.0]=%d\n", r, ename(errno), ticks,
           dt >= 0.8 && dt <= 2.0);
    printf("alarm(0) after it fired: %u\n", alarm(0));
    alarm(10);
    printf("alarm(0) cancels, returns remaining: %u\n", alarm(0));

    /* setitimer periodic: 3 ticks of 100 ms */
    ticks = 0;
    struct itimerval it = {{0, 100000}, {0, 100000}}, cur, old;
    printf("setitimer: %d\n", setitimer(ITIMER_REAL, &it, &old));
    printf("old value was zero: %d\n", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);
    getitimer(ITIMER_REAL, &cur);
    printf("getitimer: interval=%ld.%06ld value in (0,0.1]=%d\n", (long)cur.it_interval.tv_sec,
           (long)cur.it_interval.tv_usec,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 &&
               cur.it_value.tv_usec <= 100000);
    sigset_t empty, b, oldm;
    sigemptyset(&empty);
    sigemptyset(&b);
    sigaddset(&b, SIGALRM);
    sigprocmask(SIG_BLOCK, &b, &oldm);
    t0 = now();
    while (ticks < 3) sigsuspend(&empty);
    dt = now() - t0;
    sigprocmask(SIG_SETMASK, &oldm, NULL);
    struct itimerval zero = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &zero, &old);
    printf("3 ticks: elapsed in [0.25,1.5]=%d, old interval=%ld.%06ld\n", dt >= 0.25 && dt <= 1.5,
           (long)old.it_interval.tv_sec, (long)old.it_interval.tv_usec);
    getitimer(ITIMER_REAL, &cur);
    printf("disarmed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 &&
                                 cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 0);

    /* one-shot setitimer; alarm() and ITIMER_REAL are the same timer */
    struct itimerval one = {{0, 0}, {2, 700000}};
    setitimer(ITIMER_REAL, &one, NULL);
    printf("alarm() sees the ITIMER_REAL timer: %u\n", alarm(0)); /* ~2.7 s rounds to 3 */
    alarm(5);
    getitimer(ITIMER_REAL, &cur);
    printf("getitimer sees alarm(5): value in (4,5]=%d\n",
           (cur.it_value.tv_sec == 4 && cur.it_value.tv_usec > 0) ||
               (cur.it_value.tv_sec == 5 && cur.it_value.tv_usec == 0));
    alarm(0);
    errno = 0;
    r = setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {0, 1000000}}, NULL);
    printf("setitimer usec=1000000: %d %s\n", r, ename(errno));

    /* the default action of SIGALRM terminates; alarms are not inherited across fork */
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        alarm(1);
        for (;;) pause();
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child with alarm(1): signaled=%d %s\n", WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");
    alarm(30);
    pid = fork();
    if (pid == 0) _exit(alarm(0) == 0 ? 0 : 1);
    waitpid(pid, &st, 0);
    printf("alarm not inherited by fork: %d\n", WEXITSTATUS(st) == 0);
    alarm(0);
    puts("done");
    return 0;
}
