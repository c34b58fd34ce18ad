/* A small tracer and its tracees (ptrace(2) between guest processes): PTRACE_TRACEME and
 * the exec stop, PTRACE_SYSCALL stops counted between two marker calls, PEEKDATA/POKEDATA,
 * GETREGS/SETREGS (a syscall's result rewritten at its exit stop), signal-delivery stops
 * with the signal injected or suppressed, PTRACE_DETACH, PTRACE_ATTACH to a running
 * process, fork events with the child auto-attached, TracerPid and the 't' state, and
 * errnos. Prints only what is the same natively and under uml (no pids, no addresses). */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

static volatile long target = 0x1122334455667788L;
static volatile int got_signal;

static void on_signal(int s) { got_signal = s; }

/* A line of /proc/PID/status starting with `key`, without the key. */
static void status_field(pid_t pid, const char *key, char *out, size_t n) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY);
    ssize_t r = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0) close(fd);
    out[0] = 0;
    if (r <= 0) return;
    buf[r] = 0;
    char *p = strstr(buf, key);
    if (!p) return;
    p += strlen(key);
    while (*p == '\t' || *p == ' ') p++;
    size_t i = 0;
    while (p[i] && p[i] != '\n' && i + 1 < n) { out[i] = p[i]; i++; }
    out[i] = 0;
}

/* The traced program (after its exec): marker calls around a known set of syscalls,
 * signals raised for the tracer to inject or suppress, then its own view after the
 * tracer detached. */
static int tracee_main(void) {
    /* What it reports goes to the tracer through fd 3, which the tracer prints after
     * its exit (the two would race on stdout once it is detached). */
    FILE *out = fdopen(3, "w");
    if (!out) return 93;
    signal(SIGUSR1, on_signal);
    signal(SIGUSR2, on_signal);
    syscall(SYS_getppid); /* start marker */
    long a = syscall(SYS_getpid);
    long b = syscall(SYS_getuid);
    syscall(SYS_getppid); /* end marker */
    fprintf(out, "tracee: getpid gave %ld, getuid %s\n", a, b == (long)getuid() ? "same" : "differs");
    fprintf(out, "tracee: target=%lx\n", (long)target);
    raise(SIGUSR1);
    fprintf(out, "tracee: after first raise got %d\n", got_signal);
    got_signal = 0;
    raise(SIGUSR1);
    fprintf(out, "tracee: after second raise got %d\n", got_signal);
    raise(SIGUSR1); /* the tracer detaches here, passing the signal on */
    char tp[32];
    status_field(getpid(), "TracerPid:", tp, sizeof tp);
    fprintf(out, "tracee: detached, got %d, TracerPid %s\n", got_signal, tp);
    fclose(out);
    return 7;
}

/* Waits for `pid`; prints what stopped it. Returns the status. */
static int wait_for(pid_t pid, const char *what) {
    int st = 0;
    fflush(stdout);
    pid_t r = waitpid(pid, &st, __WALL);
    if (r != pid) {
        printf("bad wait %s: %s\n", what, ename(errno));
        exit(1);
    }
    return st;
}

static void describe(const char *what, int st) {
    if (WIFSTOPPED(st))
        printf("%s: stopped sig=%d event=%d\n", what, WSTOPSIG(st) & 0x7f, st >> 16);
    else if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %d\n", what, WTERMSIG(st));
    fflush(stdout);
}

static const char *sysname(long nr) {
    switch (nr) {
    case SYS_getppid: return "getppid";
    case SYS_getpid: return "getpid";
    case SYS_getuid: return "getuid";
    default: return "other";
    }
}

static void traceme_exec(const char *self) {
    int report_pipe[2];
    if (pipe(report_pipe) != 0) exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        close(report_pipe[0]);
        if (report_pipe[1] != 3) {
            dup2(report_pipe[1], 3);
            close(report_pipe[1]);
        }
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(90);
        errno = 0;
        long again = ptrace(PTRACE_TRACEME, 0, 0, 0);
        if (again != -1 || errno != EPERM) _exit(91);
        execl(self, self, "tracee", (char *)0);
        _exit(92);
    }
    int st = wait_for(pid, "exec");
    describe("exec stop", st);
    char tp[32], state[32];
    status_field(pid, "TracerPid:", tp, sizeof tp);
    status_field(pid, "State:", state, sizeof state);
    CHECK("TracerPid is the tracer", atoi(tp) == getpid());
    printf("tracee state: %s\n", state);
    CHECK("no siginfo needed: getsiginfo", ({
              siginfo_t si;
              ptrace(PTRACE_GETSIGINFO, pid, 0, &si) == 0 && si.si_signo == SIGTRAP;
          }));
    EXPECT_ERR("setoptions bad", ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)0x80000000L), EINVAL);
    EXPECT_ERR("peekdata at 0", ptrace(PTRACE_PEEKDATA, pid, 0, 0), EIO);
    EXPECT_ERR("peekuser unaligned", ptrace(PTRACE_PEEKUSER, pid, (void *)3, 0), EIO);
    EXPECT_ERR("pokeuser in i387", ptrace(PTRACE_POKEUSER, pid, (void *)offsetof(struct user, i387), 0), EIO);
    EXPECT_ERR("getregs to NULL", ptrace(PTRACE_GETREGS, pid, 0, 0), EFAULT);
    EXPECT_ERR("cont with signal 65", ptrace(PTRACE_CONT, pid, 0, (void *)65L), EIO);
    errno = 0;
    long word = ptrace(PTRACE_PEEKDATA, pid, (void *)&target, 0);
    printf("peekdata target: %lx (%s)\n", word, ename(errno));
    report("pokedata", ptrace(PTRACE_POKEDATA, pid, (void *)&target, (void *)0xabcdL));
    long dr0 = ptrace(PTRACE_PEEKUSER, pid, (void *)offsetof(struct user, u_debugreg[0]), 0);
    printf("dr0: %lx\n", dr0);

    /* Syscall stops, between the markers. */
    int inside = 0, entries = 0, exits = 0, rewritten = 0;
    report("ptrace syscall", ptrace(PTRACE_SYSCALL, pid, 0, 0));
    for (;;) {
        st = wait_for(pid, "syscall");
        if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) break;
        struct user_regs_struct r;
        if (ptrace(PTRACE_GETREGS, pid, 0, &r) != 0) { printf("bad getregs\n"); break; }
        int entry = r.rax == (unsigned long)-ENOSYS;
        if (entry) {
            if (r.orig_rax == SYS_getppid && !inside) inside = 1;
            else if (r.orig_rax == SYS_getppid && inside) inside = 2;
            if (inside) {
                entries++;
                printf("entry %s\n", sysname(r.orig_rax));
            }
        } else if (inside) {
            exits++;
            printf("exit %s\n", sysname(r.orig_rax));
            if (r.orig_rax == SYS_getpid) {
                r.rax = 12345;
                rewritten = ptrace(PTRACE_SETREGS, pid, 0, &r) == 0;
            }
            if (inside == 2) {
                ptrace(PTRACE_CONT, pid, 0, 0);
                break;
            }
        }
        ptrace(PTRACE_SYSCALL, pid, 0, 0);
    }
    printf("syscall stops: %d entries, %d exits, rewritten %d\n", entries, exits, rewritten);

    /* First SIGUSR1: SIGUSR2 is delivered instead. */
    st = wait_for(pid, "sigusr1");
    describe("signal stop", st);
    siginfo_t si;
    report("getsiginfo", ptrace(PTRACE_GETSIGINFO, pid, 0, &si));
    printf("siginfo: signo=%d code=%s\n", si.si_signo, si.si_code == SI_TKILL ? "SI_TKILL" : "other");
    ptrace(PTRACE_CONT, pid, 0, (void *)SIGUSR2);
    /* Second: suppressed. */
    st = wait_for(pid, "sigusr1 again");
    describe("signal stop", st);
    ptrace(PTRACE_CONT, pid, 0, 0);
    /* Third: detach, passing it on. */
    st = wait_for(pid, "sigusr1 third");
    describe("signal stop", st);
    report("detach", ptrace(PTRACE_DETACH, pid, 0, (void *)SIGUSR1));
    EXPECT_ERR("cont after detach", ptrace(PTRACE_CONT, pid, 0, 0), ESRCH);
    close(report_pipe[1]);
    st = wait_for(pid, "exit");
    char buf[1024];
    ssize_t n = read(report_pipe[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("%s", buf);
    close(report_pipe[0]);
    describe("tracee", st);
}

static void attach_running(void) {
    pid_t pid = fork();
    if (pid == 0) {
        for (;;) pause();
    }
    EXPECT_ERR("attach self", ptrace(PTRACE_ATTACH, getpid(), 0, 0), EPERM);
    EXPECT_ERR("cont untraced", ptrace(PTRACE_CONT, pid, 0, 0), ESRCH);
    report("attach", ptrace(PTRACE_ATTACH, pid, 0, 0));
    EXPECT_ERR("attach twice", ptrace(PTRACE_ATTACH, pid, 0, 0), EPERM);
    int st = wait_for(pid, "attach");
    describe("attached", st);
    report("setoptions sysgood", ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)PTRACE_O_TRACESYSGOOD));
    report("detach", ptrace(PTRACE_DETACH, pid, 0, 0));
    kill(pid, SIGTERM);
    st = wait_for(pid, "sigterm");
    describe("attached", st);
}

/* PTRACE_ATTACH to a job-stopped process: it is in a tracing stop at once (requests
 * work without a wait), and after PTRACE_DETACH it is job-stopped again until SIGCONT. */
static void attach_stopped(void) {
    pid_t pid = fork();
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(5);
    }
    int st = 0;
    waitpid(pid, &st, WUNTRACED);
    describe("job-stopped", st);
    report("attach", ptrace(PTRACE_ATTACH, pid, 0, 0));
    struct user_fpregs_struct fp;
    report("getfpregs", ptrace(PTRACE_GETFPREGS, pid, 0, &fp));
    printf("mxcsr mask nonzero: %d\n", fp.mxcr_mask != 0);
    report("pokeuser dr7", ptrace(PTRACE_POKEUSER, pid, (void *)offsetof(struct user, u_debugreg[7]), (void *)1));
    report("detach", ptrace(PTRACE_DETACH, pid, 0, 0));
    kill(pid, SIGCONT);
    st = wait_for(pid, "continued");
    describe("job-stopped", st);
}

static void fork_events(void) {
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        pid_t gc = fork();
        if (gc == 0) _exit(3);
        int st = 0;
        pid_t r = waitpid(gc, &st, 0);
        _exit(r == gc && WIFEXITED(st) ? 10 + WEXITSTATUS(st) : 99);
    }
    int st = wait_for(pid, "sigstop");
    describe("child", st);
    report("setoptions", ptrace(PTRACE_SETOPTIONS, pid, 0,
                                (void *)(PTRACE_O_TRACEFORK | PTRACE_O_TRACESYSGOOD)));
    ptrace(PTRACE_CONT, pid, 0, 0);
    st = wait_for(pid, "fork event");
    describe("child", st);
    unsigned long msg = 0;
    report("geteventmsg", ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg));
    pid_t gc = (pid_t)msg;
    st = wait_for(gc, "grandchild start");
    describe("grandchild", st);
    ptrace(PTRACE_CONT, gc, 0, 0);
    st = wait_for(gc, "grandchild exit");
    describe("grandchild (tracer's wait)", st);
    ptrace(PTRACE_CONT, pid, 0, 0);
    /* Its SIGCHLD (sent when the tracer's wait released the grandchild) stops it first. */
    for (;;) {
        st = wait_for(pid, "child exit");
        describe("child", st);
        if (!WIFSTOPPED(st)) break;
        ptrace(PTRACE_CONT, pid, 0, 0);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "tracee") == 0) return tracee_main();
    traceme_exec(argv[0]);
    attach_running();
    attach_stopped();
    fork_events();
    printf("done\n");
    return 0;
}
