/* Blocking syscalls interrupted by a handled signal: EINTR without SA_RESTART, transparent
 * restart with SA_RESTART (read, wait4), and the calls Linux never restarts (nanosleep, poll,
 * pause, sigsuspend-like waits). Ignored signals interrupt nothing. */
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static void handle(int sig, int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void timer_ms(int ms) {
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    char buf[16];
    ssize_t n;

    /* read on an empty pipe (we hold the write end): alarm(1) without SA_RESTART -> EINTR */
    if (pipe(p)) return 1;
    handle(SIGALRM, 0);
    alarms = 0;
    alarm(1);
    errno = 0;
    n = read(p[0], buf, sizeof buf);
    printf("read, no SA_RESTART: %zd %s alarms=%d\n", n, ename(errno), alarms);

    /* with SA_RESTART the read continues and returns the data a child writes later */
    handle(SIGALRM, SA_RESTART);
    alarms = 0;
    pid_t pid = fork();
    if (pid == 0) {
        msleep(1500);
        if (write(p[1], "late", 4) != 4) _exit(1);
        _exit(0);
    }
    alarm(1);
    errno = 0;
    n = read(p[0], buf, sizeof buf);
    printf("read, SA_RESTART: %zd %s alarms=%d data=%.*s\n", n, ename(errno), alarms,
           n > 0 ? (int)n : 0, buf);
    waitpid(pid, NULL, 0);

    /* wait4 interrupted / restarted */
    handle(SIGALRM, 0);
    pid = fork();
    if (pid == 0) { msleep(400); _exit(5); }
    alarms = 0;
    timer_ms(100);
    int st = 0;
    errno = 0;
    pid_t r = waitpid(pid, &st, 0);
    printf("waitpid, no SA_RESTART: %d %s alarms=%d\n", r == pid ? 1 : r, ename(errno), alarms);
    handle(SIGALRM, SA_RESTART);
    alarms = 0;
    timer_ms(100);
    errno = 0;
    r = waitpid(pid, &st, 0);
    printf("waitpid, SA_RESTART: match=%d status=%d alarms=%d\n", r == pid, WEXITSTATUS(st),
           alarms);

    /* nanosleep returns EINTR even with SA_RESTART, with the remaining time */
    alarms = 0;
    timer_ms(100);
    struct timespec req = {5, 0}, rem = {0, 0};
    errno = 0;
    int k = nanosleep(&req, &rem);
    printf("nanosleep, SA_RESTART: %d %s alarms=%d remaining 3..5 s=%d\n", k, ename(errno),
           alarms, rem.tv_sec >= 3 && rem.tv_sec < 5);

    /* poll returns EINTR even with SA_RESTART */
    alarms = 0;
    timer_ms(100);
    struct pollfd pf = {p[0], POLLIN, 0};
    errno = 0;
    k = poll(&pf, 1, 5000);
    printf("poll, SA_RESTART: %d %s alarms=%d\n", k, ename(errno), alarms);

    /* pause always returns EINTR */
    alarms = 0;
    timer_ms(100);
    errno = 0;
    k = pause();
    printf("pause: %d %s alarms=%d\n", k, ename(errno), alarms);

    /* an ignored signal does not interrupt a blocking read */
    signal(SIGUSR1, SIG_IGN);
    pid_t parent = getpid();
    pid = fork();
    if (pid == 0) {
        msleep(100);
        kill(parent, SIGUSR1);
        msleep(100);
        if (write(p[1], "after", 5) != 5) _exit(1);
        _exit(0);
    }
    errno = 0;
    n = read(p[0], buf, sizeof buf);
    printf("read across ignored signal: %zd %s\n", n, ename(errno));
    waitpid(pid, NULL, 0);

    /* a blocked signal does not interrupt either */
    handle(SIGUSR1, 0);
    sigset_t b, old;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    sigprocmask(SIG_BLOCK, &b, &old);
    alarms = 0;
    pid = fork();
    if (pid == 0) {
        msleep(100);
        kill(parent, SIGUSR1);
        msleep(100);
        if (write(p[1], "blocked", 7) != 7) _exit(1);
        _exit(0);
    }
    n = read(p[0], buf, sizeof buf);
    printf("read across blocked signal: %zd handler-ran=%d\n", n, alarms);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("handler ran after unblock: %d\n", alarms);
    waitpid(pid, NULL, 0);

    /* write blocked on a full pipe, interrupted: no SA_RESTART and nothing written -> EINTR */
    handle(SIGALRM, 0);
    static char big[65536 + 4096];
    close(p[0]);
    if (pipe(p)) return 1;
    n = write(p[1], big, 65536);
    alarms = 0;
    timer_ms(100);
    errno = 0;
    n = write(p[1], big, 100);
    printf("write to full pipe interrupted: %zd %s alarms=%d\n", n, ename(errno), alarms);
    puts("done");
    return 0;
}
