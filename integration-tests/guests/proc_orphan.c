/* Orphan reparenting. The guest makes itself a child subreaper (natively it is not PID 1;
 * under uml it is, and PID 1 reaps orphans the same way), so a grandchild whose parent exits
 * is reparented to this process in both worlds. Prints relationships, never pids. */
#include "common.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int r = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    printf("subreaper set: %s\n", r == 0 ? "ok" : ename(errno));
    pid_t top = getpid();

    /* 1: a live grandchild sees getppid() change to us when its parent exits */
    int p[2];
    if (pipe(p)) return 1;
    pid_t mid = fork();
    if (mid == 0) {
        pid_t midself = getpid();
        int q[2];
        if (pipe(q)) _exit(1);
        pid_t g = fork();
        if (g == 0) {
            pid_t first = getppid();
            close(q[0]);
            close(q[1]); /* lets the middle process exit */
            pid_t now = getppid();
            int i = 0;
            while (now == first && i++ < 200) { msleep(10); now = getppid(); }
            char res[3] = {first == midself ? 'M' : '?', now == top ? 'T' : (now == 1 ? '1' : '?'),
                           0};
            pid_t me = getpid();
            if (write(p[1], res, 2) != 2 || write(p[1], &me, sizeof me) != sizeof me) _exit(1);
            _exit(42);
        }
        close(q[1]);
        char c;
        if (read(q[0], &c, 1) != 0) _exit(1);
        _exit(7);
    }
    close(p[1]);
    int st;
    pid_t w = waitpid(mid, &st, 0);
    printf("middle exited: match=%d status=%d\n", w == mid, WEXITSTATUS(st));
    char res[3] = {0};
    pid_t gpid = 0;
    if (read(p[0], res, 2) != 2 || read(p[0], &gpid, sizeof gpid) != sizeof gpid)
        puts("bad read");
    printf("grandchild: first parent %s, new parent %s\n",
           res[0] == 'M' ? "middle" : "other",
           res[1] == 'T' ? "subreaper/init" : "other");
    w = waitpid(-1, &st, 0);
    printf("reaped reparented grandchild: match=%d status=%d\n", w == gpid, WEXITSTATUS(st));
    close(p[0]);

    /* 2: a grandchild that is already a zombie when its parent exits is reaped by us */
    if (pipe(p)) return 1;
    mid = fork();
    if (mid == 0) {
        pid_t g = fork();
        if (g == 0) _exit(43);
        if (write(p[1], &g, sizeof g) != sizeof g) _exit(1);
        msleep(100); /* g is a zombie now; we exit without reaping it */
        _exit(8);
    }
    close(p[1]);
    if (read(p[0], &gpid, sizeof gpid) != sizeof gpid) puts("bad read 2");
    close(p[0]);
    waitpid(mid, &st, 0);
    printf("middle exited: status=%d\n", WEXITSTATUS(st));
    w = waitpid(-1, &st, 0);
    printf("reaped inherited zombie: match=%d status=%d\n", w == gpid, WEXITSTATUS(st));

    /* 3: SIGCHLD from a reparented child reaches the new parent */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    mid = fork();
    if (mid == 0) {
        pid_t g = fork();
        if (g == 0) { msleep(150); _exit(44); }
        _exit(9);
    }
    waitpid(mid, &st, 0);
    siginfo_t si;
    struct timespec to = {0, 0};
    while (sigtimedwait(&set, &si, &to) > 0) { } /* drop the middle's SIGCHLD */
    to.tv_sec = 10;
    int s = sigtimedwait(&set, &si, &to);
    printf("SIGCHLD from reparented child: %s code=%d status=%d\n",
           s == SIGCHLD ? "yes" : "no", si.si_code == CLD_EXITED, si.si_status);
    w = waitpid(-1, &st, 0);
    printf("reaped: status=%d\n", WEXITSTATUS(st));
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = 0;
    w = waitpid(-1, &st, WNOHANG);
    printf("no more children: %d %s\n", w, ename(errno));
    puts("done");
    return 0;
}
