/* Sessions and process groups: setsid, setpgid, getpgid, getpgrp, getsid relationships and
 * errors; kill(-pgrp), killpg and kill(0) reach exactly the group. All work happens in a child
 * that starts its own session, so the output does not depend on how the test was started. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static const char *self_path;
static int report_pipe = -1;
static char member_tag;
static void on_usr(int sig) {
    char b[2] = {member_tag, sig == SIGUSR1 ? '1' : '2'};
    if (write(report_pipe, b, 2) != 2) _exit(99);
}

/* A member: reports each SIGUSR1/SIGUSR2 as "<tag><1|2>" on the pipe, until SIGTERM. */
static pid_t member(char tag, pid_t pgid, int go_fd) {
    pid_t pid = fork();
    if (pid == 0) {
        member_tag = tag;
        if (pgid >= 0 && setpgid(0, pgid)) _exit(90);
        struct sigaction sa = {0};
        sa.sa_handler = on_usr;
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGUSR2, &sa, NULL);
        char c = 'r';
        if (write(go_fd, &c, 1) != 1) _exit(91);
        for (;;) pause();
    }
    if (pgid >= 0) setpgid(pid, pgid); /* both sides, to avoid the race */
    return pid;
}

static void collect(const char *what, int fd, int expect) {
    char buf[64] = {0};
    int got = 0;
    while (got < expect * 2) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0) break;
        got += n;
    }
    /* sort the 2-byte records so the output does not depend on scheduling */
    int recs = got / 2;
    for (int i = 0; i < recs; i++)
        for (int j = i + 1; j < recs; j++)
            if (memcmp(buf + 2 * j, buf + 2 * i, 2) < 0) {
                char t[2];
                memcpy(t, buf + 2 * i, 2);
                memcpy(buf + 2 * i, buf + 2 * j, 2);
                memcpy(buf + 2 * j, t, 2);
            }
    buf[got] = 0;
    printf("%s: %s\n", what, buf);
}

static int leader(void) {
    pid_t me = getpid();
    pid_t s = setsid();
    printf("setsid returns own pid: %d\n", s == me);
    printf("getsid(0)==pid: %d getpgrp()==pid: %d getpgid(0)==pid: %d\n", getsid(0) == me,
           getpgrp() == me, getpgid(0) == me);
    EXPECT_ERR("setsid again (already leader)", setsid(), EPERM);
    EXPECT_ERR("setpgid of session leader", setpgid(0, 0), EPERM);
    EXPECT_ERR("getpgid(no such pid)", getpgid(0x3ffffff0), ESRCH);
    EXPECT_ERR("getsid(no such pid)", getsid(0x3ffffff0), ESRCH);
    EXPECT_ERR("setpgid(no such pid)", setpgid(0x3ffffff0, 0), ESRCH);
    EXPECT_ERR("setpgid negative pgid", setpgid(0, -1), EINVAL);
    EXPECT_ERR("kill(no such group)", kill(-0x3ffffff0, 0), ESRCH);

    int rp[2], go[2];
    if (pipe(rp) || pipe(go)) return 1;
    report_pipe = rp[1];

    /* child in our group: inherits session and group */
    int q[2];
    if (pipe(q)) return 1;
    pid_t c = fork();
    if (c == 0) {
        pid_t v[3] = {getsid(0), getpgrp(), getppid()};
        if (write(q[1], v, sizeof v) != sizeof v) _exit(1);
        /* a child in another group can't join a group in another session; but a new group is ok */
        int a = setpgid(0, 0) == 0 && getpgrp() == getpid();
        _exit(a ? 0 : 1);
    }
    pid_t v[3];
    if (read(q[0], v, sizeof v) != sizeof v) puts("bad read");
    int st;
    waitpid(c, &st, 0);
    printf("child inherits sid=%d pgrp=%d; child setpgid(0,0) ok=%d\n", v[0] == me, v[1] == me,
           WEXITSTATUS(st) == 0);

    /* group G led by member a, with members b and c; d stays in our group */
    char ch;
    pid_t a = member('a', 0, go[1]);
    if (read(go[0], &ch, 1) != 1) puts("bad go");
    pid_t b = member('b', a, go[1]);
    if (read(go[0], &ch, 1) != 1) puts("bad go");
    pid_t cc = member('c', a, go[1]);
    if (read(go[0], &ch, 1) != 1) puts("bad go");
    pid_t d = member('d', -1, go[1]);
    if (read(go[0], &ch, 1) != 1) puts("bad go");
    printf("getpgid: a leads=%d b in a=%d c in a=%d d in ours=%d\n", getpgid(a) == a,
           getpgid(b) == a, getpgid(cc) == a, getpgid(d) == me);
    printf("getsid of members is ours: %d\n",
           getsid(a) == me && getsid(b) == me && getsid(d) == me);

    kill(-a, SIGUSR1);
    collect("kill(-pgrp, USR1) reached", rp[0], 3);
    killpg(a, SIGUSR2);
    collect("killpg(pgrp, USR2) reached", rp[0], 3);
    /* kill(0) from inside: ask d (in our group) ... we signal our own group, so block first */
    sigset_t bl, old;
    sigemptyset(&bl);
    sigaddset(&bl, SIGUSR1);
    sigprocmask(SIG_BLOCK, &bl, &old);
    kill(0, SIGUSR1);
    collect("kill(0, USR1) reached", rp[0], 1);
    sigset_t pend;
    sigpending(&pend);
    printf("kill(0) also reached the sender: %d\n", sigismember(&pend, SIGUSR1));
    signal(SIGUSR1, SIG_IGN);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);

    /* move d into group a, then back to its own new group */
    printf("setpgid(d, a): %d\n", setpgid(d, a));
    kill(-a, SIGUSR1);
    collect("after moving d into a", rp[0], 4);
    printf("setpgid(d, d): %d\n", setpgid(d, d));
    kill(-d, SIGUSR2);
    collect("d's own group", rp[0], 1);
    EXPECT_ERR("setpgid(d, nonexistent group)", setpgid(d, 0x3ffffff0), EPERM);

    /* a grandchild is not our child: ESRCH */
    int gq[2];
    if (pipe(gq)) return 1;
    pid_t m = fork();
    if (m == 0) {
        pid_t g = fork();
        if (g == 0) { msleep(300); _exit(0); }
        if (write(gq[1], &g, sizeof g) != sizeof g) _exit(1);
        waitpid(g, NULL, 0);
        _exit(0);
    }
    pid_t g;
    if (read(gq[0], &g, sizeof g) != sizeof g) puts("bad read g");
    EXPECT_ERR("setpgid(grandchild)", setpgid(g, 0), ESRCH);
    waitpid(m, NULL, 0);

    /* after the child execs, setpgid fails with EACCES */
    int ep[2];
    if (pipe2(ep, O_CLOEXEC)) return 1;
    pid_t e = fork();
    if (e == 0) {
        close(ep[0]);
        execl(self_path, "proc_session", "sleep", (char *)NULL);
        _exit(1);
    }
    close(ep[1]);
    printf("exec done (cloexec EOF): %zd\n", read(ep[0], &ch, 1));
    EXPECT_ERR("setpgid after exec", setpgid(e, e), EACCES);
    kill(e, SIGKILL);
    waitpid(e, NULL, 0);

    /* a child in its own session: we cannot move it */
    pid_t o = fork();
    if (o == 0) {
        setsid();
        if (write(q[1], "s", 1) != 1) _exit(1);
        for (;;) pause();
    }
    if (read(q[0], &ch, 1) != 1) puts("bad read");
    EXPECT_ERR("setpgid(child in another session)", setpgid(o, a), EPERM);
    printf("other session: getsid(child)==child=%d\n", getsid(o) == o);
    kill(o, SIGKILL);
    waitpid(o, NULL, 0);

    kill(-a, SIGTERM);
    kill(d, SIGTERM);
    int n = 0;
    while (wait(&st) > 0)
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) n++;
    printf("members terminated: %d\n", n);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "sleep") == 0) {
        for (;;) pause();
    }
    self_path = argv[0];
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork();
    if (pid == 0) _exit(leader());
    int st;
    waitpid(pid, &st, 0);
    printf("leader exited %d\n", WEXITSTATUS(st));
    puts("done");
    return 0;
}
