/* Per-task attributes beyond nice and the real-time policies (issue 10): SCHED_DEADLINE
 * (priority range, sched_setattr/sched_getattr of a reservation, Linux's parameter checks,
 * no fork without SCHED_FLAG_RESET_ON_FORK), timer slack (PR_SET_TIMERSLACK,
 * /proc/self/timerslack_ns written and spliced into, inherited over fork, none for real-time
 * tasks), PR_SET_TSC/PR_GET_TSC state, and the permission checks of get_robust_list and
 * sched_setaffinity against another user's process. Runs as root natively and under uml;
 * prints only values both give. */
#include "common.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

struct attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};

static long setattr(struct attr *a) { return syscall(SYS_sched_setattr, 0, a, 0); }

static struct attr dl(uint64_t runtime, uint64_t deadline, uint64_t period) {
    struct attr a = {sizeof a, SCHED_DEADLINE, 0, 0, 0, runtime, deadline, period, 0, 0};
    return a;
}

static long slack_file(void) {
    char buf[64] = {0};
    int fd = open("/proc/self/timerslack_ns", O_RDONLY);
    if (fd < 0) return -1;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 ? atol(buf) : -1;
}

static int write_slack_file(const char *text) {
    int fd = open("/proc/self/timerslack_ns", O_WRONLY);
    if (fd < 0) return -errno;
    long r = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    return r < 0 ? -e : (int)r;
}

/* The DL checks in a child of its own, which then runs as a deadline task. */
static void deadline(void) {
    long max = sched_get_priority_max(SCHED_DEADLINE);
    long min = sched_get_priority_min(SCHED_DEADLINE);
    printf("deadline priorities %ld..%ld\n", min, max);
    pid_t c = fork();
    if (c == 0) {
        struct attr a = dl(0, 30000000, 30000000);
        EXPECT_ERR("dl runtime 0", setattr(&a), EINVAL);
        a = dl(1000, 30000000, 30000000);
        EXPECT_ERR("dl runtime below 1024ns", setattr(&a), EINVAL);
        a = dl(10000000, 0, 30000000);
        EXPECT_ERR("dl deadline 0", setattr(&a), EINVAL);
        a = dl(20000000, 10000000, 30000000);
        EXPECT_ERR("dl runtime over deadline", setattr(&a), EINVAL);
        a = dl(10000000, 30000000, 20000000);
        EXPECT_ERR("dl deadline over period", setattr(&a), EINVAL);
        a = dl(10000, 50000, 50000);
        EXPECT_ERR("dl period below 100us", setattr(&a), EINVAL);
        a = dl(10000000, 30000000, 30000000);
        a.priority = 1;
        EXPECT_ERR("dl with a priority", setattr(&a), EINVAL);
        struct sched_param sp = {0};
        EXPECT_ERR("dl by sched_setscheduler", sched_setscheduler(0, SCHED_DEADLINE, &sp), EINVAL);
        a = dl(10000000, 30000000, 0);
        CHECK("dl period defaults to deadline", setattr(&a) == 0);
        struct attr g = {0};
        long r = syscall(SYS_sched_getattr, 0, &g, sizeof g, 0);
        printf("getattr %ld policy=%u runtime=%llu deadline=%llu period=%llu prio=%u nice=%d\n", r,
               g.policy, (unsigned long long)g.runtime, (unsigned long long)g.deadline,
               (unsigned long long)g.period, g.priority, g.nice);
        printf("getscheduler %d\n", sched_getscheduler(0));
        char st[512] = {0};
        FILE *f = fopen("/proc/self/stat", "r");
        if (f && fgets(st, sizeof st, f)) {
            long v[48] = {0};
            int n = 3;
            char *q = strrchr(st, ')') + 2;
            for (char *tok = strtok(q + 2, " "); tok && n < 45; tok = strtok(NULL, " ")) v[++n] = atol(tok);
            printf("stat of a dl task: priority=%ld nice=%ld rt_priority=%ld policy=%ld\n", v[18], v[19],
                   v[40], v[41]);
        }
        if (f) fclose(f);
        EXPECT_ERR("setparam of a dl task", sched_setparam(0, &sp), EINVAL);
        printf("dl timer slack %d\n", prctl(PR_GET_TIMERSLACK));
        prctl(PR_SET_TIMERSLACK, 1234);
        printf("dl timer slack after set %d\n", prctl(PR_GET_TIMERSLACK));
        EXPECT_ERR("dl fork", fork(), EAGAIN);
        a.flags = 1; /* SCHED_FLAG_RESET_ON_FORK */
        CHECK("dl reset on fork", setattr(&a) == 0);
        pid_t g2 = fork();
        if (g2 == 0) {
            printf("reset child policy %d slack %d\n", sched_getscheduler(0),
                   prctl(PR_GET_TIMERSLACK));
            _exit(0);
        }
        waitpid(g2, NULL, 0);
        struct attr other = {sizeof other, SCHED_OTHER, 0, 0, 0, 0, 0, 0, 0, 0};
        CHECK("back to normal", setattr(&other) == 0);
        printf("normal again: slack %d\n", prctl(PR_GET_TIMERSLACK));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        if (setresuid(1000, 1000, 1000)) _exit(3);
        struct attr a = dl(10000000, 30000000, 30000000);
        EXPECT_ERR("dl unprivileged", setattr(&a), EPERM);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void timer_slack(void) {
    int slack = prctl(PR_GET_TIMERSLACK);
    printf("slack %d file %ld\n", slack, slack_file());
    printf("set 70000: %d\n", prctl(PR_SET_TIMERSLACK, 70000));
    slack = prctl(PR_GET_TIMERSLACK);
    printf("slack %d file %ld\n", slack, slack_file());
    pid_t c = fork();
    if (c == 0) {
        int cur = prctl(PR_GET_TIMERSLACK);
        prctl(PR_SET_TIMERSLACK, 5);
        prctl(PR_SET_TIMERSLACK, 0);
        printf("child slack %d default %d\n", cur, prctl(PR_GET_TIMERSLACK));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    int w = write_slack_file("12345\n");
    printf("write 12345: %d slack %d\n", w, prctl(PR_GET_TIMERSLACK));
    w = write_slack_file("0");
    printf("write 0: %d slack %d\n", w, prctl(PR_GET_TIMERSLACK));
    printf("write x: %d\n", write_slack_file("x"));
    printf("write -1: %d\n", write_slack_file("-1"));
    printf("write 2^64: %d\n", write_slack_file("18446744073709551616"));
    /* Not spliced into (Linux's per-process files have no splice_write). */
    int p[2];
    if (pipe(p) == 0) {
        write(p[1], "777", 3);
        int fd = open("/proc/self/timerslack_ns", O_WRONLY);
        EXPECT_ERR("splice into timerslack_ns", splice(p[0], NULL, fd, NULL, 64, 0), EINVAL);
        close(fd);
        close(p[0]);
        close(p[1]);
    }
    prctl(PR_SET_TIMERSLACK, 0);
    struct sched_param sp = {5};
    c = fork();
    if (c == 0) {
        sched_setscheduler(0, SCHED_FIFO, &sp);
        printf("fifo slack %d\n", prctl(PR_GET_TIMERSLACK));
        int fw = write_slack_file("999");
        printf("fifo write 999: %d slack %d\n", fw, prctl(PR_GET_TIMERSLACK));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    /* Another process's, unprivileged. */
    pid_t parent = getpid();
    c = fork();
    if (c == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/timerslack_ns", parent);
        if (setresuid(1000, 1000, 1000)) _exit(3);
        int fd = open(path, O_WRONLY);
        printf("other's slack open: %s\n", fd < 0 ? ename(errno) : "OK");
        if (fd >= 0) EXPECT_ERR("other's slack write", write(fd, "5000", 4), EPERM);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void tsc(void) {
    unsigned v = 0;
    int r = prctl(PR_GET_TSC, &v);
    printf("get tsc %d state %u\n", r, v);
    EXPECT_ERR("set tsc 3", prctl(PR_SET_TSC, 3), EINVAL);
    EXPECT_ERR("get tsc to a bad pointer", prctl(PR_GET_TSC, (void *)8), EFAULT);
    pid_t c = fork();
    if (c == 0) {
        printf("set sigsegv %d\n", prctl(PR_SET_TSC, PR_TSC_SIGSEGV));
        pid_t g = fork();
        if (g == 0) {
            unsigned w = 0;
            prctl(PR_GET_TSC, &w);
            printf("grandchild tsc state %u\n", w);
            _exit(0);
        }
        waitpid(g, NULL, 0);
        printf("set enable %d\n", prctl(PR_SET_TSC, PR_TSC_ENABLE));
        prctl(PR_GET_TSC, &v);
        printf("tsc state %u\n", v);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void other_users_process(void) {
    pid_t root_child = fork();
    if (root_child == 0) {
        pause();
        _exit(0);
    }
    pid_t c = fork();
    if (c == 0) {
        if (setresuid(1000, 1000, 1000)) _exit(3);
        void *head;
        size_t len;
        EXPECT_ERR("get_robust_list of root's", syscall(SYS_get_robust_list, root_child, &head, &len),
                   EPERM);
        CHECK("get_robust_list of self", syscall(SYS_get_robust_list, 0, &head, &len) == 0);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        EXPECT_ERR("sched_setaffinity of root's", sched_setaffinity(root_child, sizeof set, &set),
                   EPERM);
        CHECK("sched_setaffinity of self", sched_setaffinity(0, sizeof set, &set) == 0);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    kill(root_child, SIGKILL);
    waitpid(root_child, NULL, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    timer_slack();
    deadline();
    tsc();
    other_users_process();
    printf("done\n");
    return 0;
}
