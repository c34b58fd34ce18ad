/* Priorities: nice values per thread (setpriority/getpriority for a thread, a process group
 * and a user; nice()), inherited over fork and threads, scheduling policies and parameters
 * (sched_setscheduler, sched_setparam, sched_setattr/getattr with their size protocol,
 * SCHED_RESET_ON_FORK), I/O priorities, and what /proc/self/stat shows of them. Runs as
 * root natively and under uml; prints only values both give. */
#include "common.h"
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/wait.h>

struct attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};

static long setattr(pid_t pid, struct attr *a, unsigned flags) {
    return syscall(SYS_sched_setattr, pid, a, flags);
}
static long getattr(pid_t pid, struct attr *a, unsigned size, unsigned flags) {
    return syscall(SYS_sched_getattr, pid, a, size, flags);
}
static long ioprio_get(int which, int who) { return syscall(SYS_ioprio_get, which, who); }
static long ioprio_set(int which, int who, int prio) {
    return syscall(SYS_ioprio_set, which, who, prio);
}
#define IOPRIO(class, data) (((class) << 13) | (data))

static int nice_now(void) {
    errno = 0;
    return getpriority(PRIO_PROCESS, 0);
}

/* Fields 18, 19, 40 and 41 of /proc/self/stat: priority, nice, rt_priority, policy. */
static void stat_fields(const char *when) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f || !fgets(buf, sizeof buf, f)) {
        printf("stat %s: unreadable\n", when);
        return;
    }
    fclose(f);
    char *p = strrchr(buf, ')') + 2; /* field 3 */
    long v[64];
    int n = 3;
    for (char *tok = strtok(p + 2, " "); tok && n < 52; tok = strtok(NULL, " ")) v[++n] = atol(tok);
    printf("stat %s: priority=%ld nice=%ld rt_priority=%ld policy=%ld\n", when, v[18], v[19],
           v[40], v[41]);
}

static void *thread_nice(void *arg) {
    (void)arg;
    pid_t tid = syscall(SYS_gettid);
    setpriority(PRIO_PROCESS, tid, 7);
    printf("thread: own nice %d\n", getpriority(PRIO_PROCESS, tid));
    return NULL;
}

static void nice_values(void) {
    printf("start nice %d\n", nice_now());
    CHECK("setpriority self 5", setpriority(PRIO_PROCESS, 0, 5) == 0);
    printf("nice %d, via pid %d\n", nice_now(), getpriority(PRIO_PROCESS, getpid()));
    stat_fields("nice 5");

    pthread_t t;
    pthread_create(&t, NULL, thread_nice, NULL);
    pthread_join(t, NULL);
    printf("main after thread: %d\n", nice_now());

    pid_t c = fork();
    if (c == 0) {
        printf("child inherits %d\n", nice_now());
        setpriority(PRIO_PROCESS, 0, 10);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("parent after child: %d\n", nice_now());

    /* A process group of its own: the child waits on a pipe while the parent renices it. */
    int p[2], q[2];
    if (pipe(p) || pipe(q)) exit(1);
    c = fork();
    if (c == 0) {
        char x;
        setpgid(0, 0);
        if (write(q[1], "r", 1) != 1 || read(p[0], &x, 1) != 1) _exit(1);
        printf("child in its group: %d\n", nice_now());
        _exit(0);
    }
    char x;
    if (read(q[0], &x, 1) != 1) exit(1);
    CHECK("setpriority pgrp", setpriority(PRIO_PGRP, c, 12) == 0);
    printf("getpriority pgrp %d\n", getpriority(PRIO_PGRP, c));
    if (write(p[1], "g", 1) != 1) exit(1);
    waitpid(c, NULL, 0);

    EXPECT_ERR("which 7", setpriority(7, 0, 1), EINVAL);
    EXPECT_ERR("get which 7", getpriority(7, 0), EINVAL);
    EXPECT_ERR("no such pid", setpriority(PRIO_PROCESS, 999999, 1), ESRCH);
    EXPECT_ERR("get no such pid", getpriority(PRIO_PROCESS, 999999), ESRCH);
    EXPECT_ERR("no such user", setpriority(PRIO_USER, 4242, 1), ESRCH);
    EXPECT_ERR("get no such user", getpriority(PRIO_USER, 4242), ESRCH);
    setpriority(PRIO_PROCESS, 0, 100);
    printf("clamped high %d\n", nice_now());
    setpriority(PRIO_PROCESS, 0, -100);
    printf("clamped low %d\n", nice_now());
    setpriority(PRIO_PROCESS, 0, 0);
    errno = 0;
    int r = nice(3);
    printf("nice(3) = %d errno %s\n", r, ename(errno));
    setpriority(PRIO_PROCESS, 0, 0);
}

static void policies(void) {
    struct sched_param sp = {0};
    printf("policy %d\n", sched_getscheduler(0));
    CHECK("batch", sched_setscheduler(0, SCHED_BATCH, &sp) == 0);
    printf("policy %d\n", sched_getscheduler(0));
    sp.sched_priority = 10;
    CHECK("fifo 10", sched_setscheduler(0, SCHED_FIFO, &sp) == 0);
    sp.sched_priority = 0;
    sched_getparam(0, &sp);
    printf("policy %d param %d\n", sched_getscheduler(0), sp.sched_priority);
    stat_fields("fifo 10");
    sp.sched_priority = 20;
    CHECK("setparam 20", sched_setparam(0, &sp) == 0);
    sched_getparam(0, &sp);
    printf("param %d\n", sp.sched_priority);

    sp.sched_priority = 5;
    CHECK("fifo reset-on-fork", sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0);
    printf("policy %#x\n", sched_getscheduler(0));
    pid_t c = fork();
    if (c == 0) {
        struct sched_param cp;
        sched_getparam(0, &cp);
        printf("child policy %#x param %d\n", sched_getscheduler(0), cp.sched_priority);
        _exit(0);
    }
    waitpid(c, NULL, 0);

    sp.sched_priority = 0;
    EXPECT_ERR("fifo prio 0", sched_setscheduler(0, SCHED_FIFO, &sp), EINVAL);
    sp.sched_priority = 5;
    EXPECT_ERR("other prio 5", sched_setscheduler(0, SCHED_OTHER, &sp), EINVAL);
    sp.sched_priority = 0;
    EXPECT_ERR("policy 42", sched_setscheduler(0, 42, &sp), EINVAL);
    EXPECT_ERR("pid -1", sched_setscheduler(-1, SCHED_OTHER, &sp), EINVAL);
    EXPECT_ERR("null param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL), EINVAL);
    EXPECT_ERR("getparam null", syscall(SYS_sched_getparam, 0, NULL), EINVAL);
    EXPECT_ERR("getscheduler -1", sched_getscheduler(-1), EINVAL);
    EXPECT_ERR("getscheduler none", sched_getscheduler(999999), ESRCH);
    EXPECT_ERR("param pointer 8", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, 8), EFAULT);
    CHECK("back to other", sched_setscheduler(0, SCHED_OTHER, &sp) == 0);

    struct attr a;
    memset(&a, 0, sizeof a);
    CHECK("getattr", getattr(0, &a, sizeof a, 0) == 0);
    printf("attr size %u policy %u nice %d prio %u flags %llu\n", a.size, a.policy, a.nice,
           a.priority, (unsigned long long)a.flags);
    EXPECT_ERR("getattr size 10", getattr(0, &a, 10, 0), EINVAL);
    EXPECT_ERR("getattr flags", getattr(0, &a, sizeof a, 1), EINVAL);
    memset(&a, 0, sizeof a);
    a.size = 8;
    EXPECT_ERR("setattr size 8", setattr(0, &a, 0), E2BIG);
    printf("size written back %u\n", a.size);
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.nice = 4;
    EXPECT_ERR("setattr flags arg", setattr(0, &a, 1), EINVAL);
    CHECK("setattr nice 4", setattr(0, &a, 0) == 0);
    printf("nice after setattr %d\n", nice_now());
    a.policy = SCHED_IDLE;
    a.nice = 0;
    CHECK("setattr idle", setattr(0, &a, 0) == 0);
    memset(&a, 0, sizeof a);
    getattr(0, &a, 48, 0);
    printf("attr size %u policy %u nice %d\n", a.size, a.policy, a.nice);
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    CHECK("setattr other", setattr(0, &a, 0) == 0);
    EXPECT_ERR("setattr null", setattr(0, NULL, 0), EINVAL);
}

static void io_priorities(void) {
    printf("ioprio %ld\n", ioprio_get(1, 0));
    CHECK("ioprio be 5", ioprio_set(1, 0, IOPRIO(2, 5)) == 0);
    printf("ioprio %#lx\n", ioprio_get(1, 0));
    CHECK("ioprio rt 3", ioprio_set(1, getpid(), IOPRIO(1, 3)) == 0);
    printf("ioprio %#lx\n", ioprio_get(1, getpid()));
    pid_t c = fork();
    if (c == 0) {
        printf("child ioprio %#lx\n", ioprio_get(1, 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("pgrp best %#lx\n", ioprio_get(2, 0));
    EXPECT_ERR("ioprio class 7", ioprio_set(1, 0, IOPRIO(7, 0)), EINVAL);
    EXPECT_ERR("ioprio none with data", ioprio_set(1, 0, IOPRIO(0, 3)), EINVAL);
    EXPECT_ERR("ioprio which 9", ioprio_set(9, 0, IOPRIO(2, 0)), EINVAL);
    EXPECT_ERR("ioprio get which 9", ioprio_get(9, 0), EINVAL);
    EXPECT_ERR("ioprio no such pid", ioprio_set(1, 999999, IOPRIO(2, 0)), ESRCH);
    CHECK("ioprio none", ioprio_set(1, 0, 0) == 0);
}

/* An unprivileged caller: it may raise its nice value but not lower it (RLIMIT_NICE is 0),
 * nor touch another user's process, nor take real-time policies or I/O classes. */
static void unprivileged(void) {
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(3);
        CHECK("raise to 5", setpriority(PRIO_PROCESS, 0, 5) == 0);
        EXPECT_ERR("lower to 1", setpriority(PRIO_PROCESS, 0, 1), EACCES);
        EXPECT_ERR("another user's", setpriority(PRIO_PROCESS, parent, 3), EPERM);
        errno = 0;
        int r = nice(-1);
        printf("nice(-1) = %d %s\n", r, ename(errno));
        struct sched_param sp = {1};
        EXPECT_ERR("fifo unprivileged", sched_setscheduler(0, SCHED_FIFO, &sp), EPERM);
        EXPECT_ERR("ioprio rt unprivileged", ioprio_set(1, 0, IOPRIO(1, 0)), EPERM);
        CHECK("ioprio idle", ioprio_set(1, 0, IOPRIO(3, 0)) == 0);
        printf("unprivileged nice %d\n", nice_now());
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    nice_values();
    unprivileged();
    policies();
    io_priorities();
    stat_fields("end");
    printf("done\n");
    return 0;
}
