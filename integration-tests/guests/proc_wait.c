/* wait4 / waitid / waitpid: WNOHANG, WNOWAIT, WSTOPPED/WCONTINUED, statuses, SIGCHLD,
 * zombies, ECHILD. Only the parent prints. */
#include "common.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static void describe(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: signaled %s\n", what, sigabbrev_np(WTERMSIG(st)));
    else if (WIFSTOPPED(st)) printf("%s: stopped %s\n", what, sigabbrev_np(WSTOPSIG(st)));
    else if (WIFCONTINUED(st)) printf("%s: continued\n", what);
    else printf("%s: unknown status %#x\n", what, st);
}

static const char *cld_code(int c) {
    switch (c) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    case CLD_TRAPPED: return "CLD_TRAPPED";
    default: return "?";
    }
}

static volatile sig_atomic_t chld_count, chld_code, chld_pid_ok;
static volatile pid_t chld_expect;
static void on_chld(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    chld_count++;
    chld_code = si->si_code;
    chld_pid_ok = si->si_pid == chld_expect;
}

static void wnohang(void) {
    int p[2];
    if (pipe(p)) return;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(p[1]);
        ssize_t n = read(p[0], &c, 1); /* blocks until the parent writes */
        _exit(n == 1 ? 3 : 4);
    }
    close(p[0]);
    int st = -1;
    struct rusage ru;
    pid_t r = wait4(pid, &st, WNOHANG, &ru);
    printf("wait4 WNOHANG while running: %d\n", r);
    r = waitpid(-1, &st, WNOHANG);
    printf("waitpid(-1, WNOHANG) while running: %d\n", r);
    if (write(p[1], "x", 1) != 1) puts("bad write");
    close(p[1]);
    r = wait4(pid, &st, 0, &ru);
    CHECK("wait4 returns the pid", r == pid);
    describe("wait4 blocking", st);
    r = waitpid(pid, &st, WNOHANG);
    printf("WNOHANG after reap: %d %s\n", r, ename(errno));
}

static void wnowait(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(4);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
    printf("waitid WNOWAIT: r=%d pid-match=%d code=%s status=%d signo=%s\n", r, si.si_pid == pid,
           cld_code(si.si_code), si.si_status, sigabbrev_np(si.si_signo));
    CHECK("zombie still signalable after WNOWAIT", kill(pid, 0) == 0);
    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid reap: r=%d pid-match=%d code=%s status=%d uid-match=%d\n", r,
           si.si_pid == pid, cld_code(si.si_code), si.si_status, si.si_uid == getuid());
    errno = 0;
    r = waitid(P_PID, pid, &si, WEXITED);
    printf("waitid after reap: r=%d %s\n", r, ename(errno));

    /* waitid WNOHANG with nothing ready: returns 0 and si_pid 0 */
    pid = fork();
    if (pid == 0) { msleep(200); _exit(0); }
    memset(&si, 0xff, sizeof si);
    si.si_pid = 12345;
    r = waitid(P_PID, pid, &si, WEXITED | WNOHANG);
    printf("waitid WNOHANG running: r=%d si_pid=%d\n", r, si.si_pid);
    waitpid(pid, NULL, 0);
    errno = 0;
    r = waitid(P_PID, getpid(), &si, 0);
    printf("waitid without state flags: r=%d %s\n", r, ename(errno));
}

static void stop_continue(void) {
    pid_t pid = fork();
    if (pid == 0) {
        /* Its own process group, whose parent (us) is in another group of the session: not
         * orphaned, so SIGTSTP stops it even when the test runs in an orphaned group (a
         * background job), where Linux discards SIGTSTP's stop. */
        setpgid(0, 0);
        for (;;) pause();
    }
    setpgid(pid, pid);
    int st;
    kill(pid, SIGSTOP);
    pid_t r = waitpid(pid, &st, WUNTRACED);
    CHECK("waitpid WUNTRACED pid", r == pid);
    describe("after SIGSTOP", st);
    r = waitpid(pid, &st, WUNTRACED | WNOHANG);
    printf("stop reported once: %d\n", r);
    kill(pid, SIGCONT);
    r = waitpid(pid, &st, WCONTINUED);
    CHECK("waitpid WCONTINUED pid", r == pid);
    describe("after SIGCONT", st);

    /* the same with waitid */
    siginfo_t si;
    kill(pid, SIGSTOP);
    memset(&si, 0, sizeof si);
    waitid(P_PID, pid, &si, WSTOPPED);
    printf("waitid WSTOPPED: code=%s status=%s\n", cld_code(si.si_code),
           sigabbrev_np(si.si_status));
    kill(pid, SIGCONT);
    memset(&si, 0, sizeof si);
    waitid(P_PID, pid, &si, WCONTINUED);
    printf("waitid WCONTINUED: code=%s status=%s\n", cld_code(si.si_code),
           sigabbrev_np(si.si_status));

    /* SIGTSTP with default action also stops */
    kill(pid, SIGTSTP);
    waitpid(pid, &st, WUNTRACED);
    describe("after SIGTSTP", st);
    /* SIGKILL kills a stopped process */
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    describe("stopped child killed", st);
}

static void signaled(void) {
    static const int sigs[] = {SIGTERM, SIGKILL, SIGINT, SIGHUP, SIGUSR1, SIGALRM, SIGQUIT,
                               SIGABRT};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            no_core();
            raise(sigs[i]);
            for (;;) pause();
        }
        int st;
        waitpid(pid, &st, 0);
        char what[64];
        snprintf(what, sizeof what, "raise(SIG%s)", sigabbrev_np(sigs[i]));
        describe(what, st);
    }
    pid_t pid = fork();
    if (pid == 0) {
        no_core();
        *(volatile int *)8 = 1;
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    describe("NULL write", st);
    pid = fork();
    if (pid == 0) {
        no_core();
        signal(SIGSEGV, SIG_IGN); /* a fault with SIGSEGV ignored still kills */
        *(volatile int *)8 = 1;
        _exit(0);
    }
    waitpid(pid, &st, 0);
    describe("NULL write, SIGSEGV ignored", st);
    pid = fork();
    if (pid == 0) {
        /* blocked signals with default action: kill by SIGTERM is held until unblocked */
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGTERM);
        sigprocmask(SIG_BLOCK, &s, NULL);
        raise(SIGTERM);
        sigprocmask(SIG_UNBLOCK, &s, NULL);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    describe("SIGTERM after unblock", st);
    pid = fork();
    if (pid == 0) {
        raise(SIGCHLD); /* default: ignore */
        raise(SIGURG);
        raise(SIGWINCH);
        _exit(6);
    }
    waitpid(pid, &st, 0);
    describe("ignored-by-default signals", st);
}

static void sigchld(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = fork();
    if (pid == 0) _exit(1);
    chld_expect = pid;
    chld_count = 0;
    sigsuspend(&old); /* wait for SIGCHLD */
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("SIGCHLD: count=%d code=%s pid-match=%d\n", chld_count, cld_code(chld_code),
           chld_pid_ok);
    waitpid(pid, NULL, 0);

    /* SA_NOCLDSTOP: no SIGCHLD for stop */
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    pid = fork();
    if (pid == 0) { for (;;) pause(); }
    chld_expect = pid;
    chld_count = 0;
    kill(pid, SIGSTOP);
    int st;
    waitpid(pid, &st, WUNTRACED);
    msleep(50);
    printf("SA_NOCLDSTOP: SIGCHLD on stop=%d\n", chld_count);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    signal(SIGCHLD, SIG_DFL);

    /* SIGCHLD ignored: children are reaped automatically, wait gives ECHILD */
    signal(SIGCHLD, SIG_IGN);
    pid = fork();
    if (pid == 0) _exit(0);
    errno = 0;
    pid_t r = waitpid(pid, &st, 0); /* blocks until the child is gone */
    printf("SIGCHLD ignored: wait=%d %s\n", r, ename(errno));
    signal(SIGCHLD, SIG_DFL);
}

static void zombies_and_groups(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(2);
    msleep(100);
    CHECK("zombie exists until reaped", kill(pid, 0) == 0);
    int st;
    waitpid(pid, &st, 0);
    errno = 0;
    CHECK("reaped child is gone", kill(pid, 0) == -1 && errno == ESRCH);

    /* waitpid(0) waits in our own group, waitpid(-pgid) in that group */
    pid_t a = fork();
    if (a == 0) { setpgid(0, 0); msleep(50); _exit(10); }
    setpgid(a, a);
    pid_t b = fork();
    if (b == 0) _exit(11);
    pid_t r = waitpid(0, &st, 0);
    printf("waitpid(0) got same-group child=%d status=%d\n", r == b, WEXITSTATUS(st));
    r = waitpid(-a, &st, 0);
    printf("waitpid(-pgid) got that group's child=%d status=%d\n", r == a, WEXITSTATUS(st));
}

static void echild(void) {
    int st;
    errno = 0;
    pid_t r = waitpid(-1, &st, 0);
    printf("no children: waitpid=%d %s\n", r, ename(errno));
    errno = 0;
    r = waitpid(getpid(), &st, 0);
    printf("not a child: waitpid=%d %s\n", r, ename(errno));
    errno = 0;
    r = waitpid(-1, &st, WNOHANG);
    printf("no children WNOHANG: waitpid=%d %s\n", r, ename(errno));
    errno = 0;
    r = waitpid(-1, &st, 0x1000);
    printf("invalid options: waitpid=%d %s\n", r, ename(errno));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    wnohang();
    wnowait();
    stop_continue();
    signaled();
    sigchld();
    zombies_and_groups();
    echild();
    puts("done");
    return 0;
}
