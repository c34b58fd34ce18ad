/* Guest threads (pthreads): one scenario per argv[1]. Output is the same natively and under
 * uml: relationships and counts, never raw ids. */
#include "common.h"

#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#undef CHECK
#define CHECK(name, cond)                                                     \
    do {                                                                      \
        if (cond) printf("ok %s\n", name);                                    \
        else printf("bad %s (errno=%s)\n", name, ename(errno));               \
        fflush(stdout);                                                       \
    } while (0)

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* --- create/join: many threads, each returns a value; tids are distinct. --- */
#define NCREATE 64
static pid_t tids[NCREATE];
static void *worker(void *arg) {
    long i = (long)arg;
    tids[i] = gettid_();
    return (void *)(i * 3);
}

static void create_join(void) {
    pid_t pid = getpid();
    long sum = 0, want = 0;
    for (int round = 0; round < 4; round++) {
        pthread_t th[NCREATE / 4];
        for (long i = 0; i < NCREATE / 4; i++) {
            long k = round * (NCREATE / 4) + i;
            if (pthread_create(&th[i], NULL, worker, (void *)k) != 0) {
                printf("bad create\n");
                return;
            }
            want += k * 3;
        }
        for (int i = 0; i < NCREATE / 4; i++) {
            void *r;
            pthread_join(th[i], &r);
            sum += (long)r;
        }
    }
    CHECK("join-values", sum == want);
    int not_pid = 1;
    for (int i = 0; i < NCREATE; i++)
        if (tids[i] == pid || tids[i] <= 0) not_pid = 0;
    CHECK("tids-not-pid", not_pid);
    /* Tids may be reused after a join; within one round they are distinct. */
    int round_distinct = 1;
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < NCREATE / 4; i++)
            for (int j = 0; j < i; j++)
                if (tids[r * 16 + i] == tids[r * 16 + j]) round_distinct = 0;
    CHECK("tids-distinct", round_distinct);
    CHECK("main-tid-is-pid", gettid_() == pid);
}

/* --- producer/consumer with a mutex and two condition variables. --- */
#define QCAP 4
#define ITEMS 20000
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static long queue[QCAP];
static int qhead, qlen;

static void *producer(void *arg) {
    long base = (long)arg;
    for (long i = 0; i < ITEMS; i++) {
        pthread_mutex_lock(&mu);
        while (qlen == QCAP) pthread_cond_wait(&not_full, &mu);
        queue[(qhead + qlen) % QCAP] = base + i;
        qlen++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void *consumer(void *arg) {
    long *sum = arg;
    for (long i = 0; i < ITEMS; i++) {
        pthread_mutex_lock(&mu);
        while (qlen == 0) pthread_cond_wait(&not_empty, &mu);
        *sum += queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void producer_consumer(void) {
    pthread_t p1, p2, c1, c2;
    long s1 = 0, s2 = 0;
    pthread_create(&c1, NULL, consumer, &s1);
    pthread_create(&c2, NULL, consumer, &s2);
    pthread_create(&p1, NULL, producer, (void *)0);
    pthread_create(&p2, NULL, producer, (void *)1000000);
    pthread_join(p1, NULL);
    pthread_join(p2, NULL);
    pthread_join(c1, NULL);
    pthread_join(c2, NULL);
    long want = 2L * ITEMS * (ITEMS - 1) / 2 + 1000000L * ITEMS;
    CHECK("pc-sum", s1 + s2 == want);
}

/* --- pthread_exit of the main thread: the others go on, the process ends with them. --- */
static void *late(void *arg) {
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    printf("ok late-thread-ran\n");
    printf("done\n");
    fflush(stdout);
    return NULL;
}

static void exit_main(void) {
    pthread_t t;
    pthread_create(&t, NULL, late, NULL);
    pthread_exit(NULL);
}

/* --- exit_group from a thread while others sleep. --- */
static void *sleeper(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}
static void *quitter(void *arg) {
    (void)arg;
    printf("done\n");
    fflush(stdout);
    exit(7);
}
static void exit_group_thread(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, sleeper, NULL);
    pthread_create(&b, NULL, quitter, NULL);
    for (;;) pause();
}

/* --- fork from a thread: the child has one thread and runs; the parent waits. --- */
static void *forker(void *arg) {
    (void)arg;
    pid_t c = fork();
    if (c == 0) {
        CHECK("child-single", gettid_() == getpid());
        _exit(3);
    }
    int st;
    pid_t w = waitpid(c, &st, 0);
    CHECK("thread-waited", w == c && WIFEXITED(st) && WEXITSTATUS(st) == 3);
    return NULL;
}
static void fork_thread(void) {
    pthread_t t;
    pthread_create(&t, NULL, forker, NULL);
    pthread_join(t, NULL);
    /* A child forked by one thread can be waited for by another. */
    pid_t c = fork();
    if (c == 0) _exit(4);
    int st;
    CHECK("main-waited", waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 4);
}

/* --- execve from a non-leader thread: the new program runs as the process. --- */
static char *self;
static void *execer(void *arg) {
    (void)arg;
    char *argv[] = {self, "exec2", NULL};
    execv(self, argv);
    printf("bad exec\n");
    return NULL;
}
static void exec_thread(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, sleeper, NULL);
    pthread_create(&b, NULL, execer, NULL);
    for (;;) pause();
}

/* --- robust mutex: the owner thread dies holding it; the next locker gets EOWNERDEAD. --- */
static pthread_mutex_t rmu;
static void *die_holding(void *arg) {
    (void)arg;
    pthread_mutex_lock(&rmu);
    return NULL; /* exits holding the lock */
}
static void robust(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&rmu, &a);
    pthread_t t;
    pthread_create(&t, NULL, die_holding, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(&rmu);
    CHECK("eownerdead", r == EOWNERDEAD);
    CHECK("consistent", pthread_mutex_consistent(&rmu) == 0);
    CHECK("unlock", pthread_mutex_unlock(&rmu) == 0);
    CHECK("relock", pthread_mutex_lock(&rmu) == 0);
}

/* --- a spinning thread is preempted: the others make progress. --- */
static atomic_int stop_spin;
static void *spinner(void *arg) {
    (void)arg;
    while (!atomic_load(&stop_spin)) {
    }
    return NULL;
}
static double cpu_s(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
static void spin(void) {
    pthread_t t;
    double main0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    pthread_create(&t, NULL, spinner, NULL);
    /* The main thread only gets the CPU back if the spinner is preempted. */
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    atomic_store(&stop_spin, 1);
    pthread_join(t, NULL);
    printf("ok spinner-preempted\n");
    /* The spinner's CPU time is the process's, not the sleeping main thread's. */
    double main_cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID) - main0;
    double proc_cpu = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    CHECK("thread-cpu-below-process-cpu", main_cpu < proc_cpu / 2);
}

/* --- signals: a process-directed signal reaches the one thread that does not block it;
 * pthread_kill reaches its target. --- */
static atomic_int got_usr1_tid, got_usr2_tid;
static void on_usr1(int s) { (void)s; atomic_store(&got_usr1_tid, gettid_()); }
static void on_usr2(int s) { (void)s; atomic_store(&got_usr2_tid, gettid_()); }
static atomic_int receiver_tid, ready;
static void *receiver(void *arg) {
    (void)arg;
    sigset_t m;
    sigemptyset(&m);
    pthread_sigmask(SIG_SETMASK, &m, NULL);
    atomic_store(&receiver_tid, gettid_());
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&got_usr1_tid)) pause();
    return NULL;
}
/* A thread blocks SIGUSR2; pthread_kill makes it pending for that thread alone until it
 * unblocks it, and its handler then runs in that thread. */
static atomic_int blocker_tid, blocker_ready, blocker_go, pending_in_blocker;
static void *blocker(void *arg) {
    (void)arg;
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &m, NULL);
    atomic_store(&blocker_tid, gettid_());
    atomic_store(&blocker_ready, 1);
    while (!atomic_load(&blocker_go)) sched_yield();
    sigset_t p;
    sigpending(&p);
    atomic_store(&pending_in_blocker, sigismember(&p, SIGUSR2));
    pthread_sigmask(SIG_UNBLOCK, &m, NULL);
    return NULL;
}

static void signals(void) {
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &m, NULL);
    pthread_t t;
    pthread_create(&t, NULL, receiver, NULL);
    while (atomic_load(&ready) < 1) sched_yield();
    kill(getpid(), SIGUSR1);
    pthread_join(t, NULL);
    CHECK("process-signal-to-unblocking-thread", got_usr1_tid == receiver_tid);
    pthread_kill(pthread_self(), SIGUSR2);
    CHECK("pthread_kill-self", got_usr2_tid == gettid_());

    atomic_store(&got_usr2_tid, 0);
    pthread_t b;
    pthread_create(&b, NULL, blocker, NULL);
    while (!atomic_load(&blocker_ready)) sched_yield();
    pthread_kill(b, SIGUSR2);
    sigset_t p;
    sigpending(&p);
    CHECK("not-pending-in-main", !sigismember(&p, SIGUSR2));
    CHECK("not-run-while-blocked", atomic_load(&got_usr2_tid) == 0);
    atomic_store(&blocker_go, 1);
    pthread_join(b, NULL);
    CHECK("pending-in-blocker", pending_in_blocker == 1);
    CHECK("handler-ran-in-target", got_usr2_tid == blocker_tid);
}

/* --- clone flags: Linux's EINVAL checks; CLONE_VM without CLONE_THREAD is a process that
 * shares memory; clone3 argument checks; tgkill of a thread that does not exist. --- */
static volatile int shared_word;
static int vm_child(void *arg) {
    (void)arg;
    shared_word = 42;
    return 5;
}
static int files_child(void *arg) {
    close((int)(long)arg);
    dup2(1, 100);
    return 0;
}

static void clone_flags(void) {
    errno = 0;
    EXPECT_ERR("thread-without-sighand", syscall(SYS_clone, CLONE_THREAD, 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("sighand-without-vm", syscall(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("fs-with-newns", syscall(SYS_clone, CLONE_FS | CLONE_NEWNS, 0, 0, 0, 0), EINVAL);
    unsigned long args[11] = {0};
    EXPECT_ERR("clone3-small", syscall(SYS_clone3, args, 32), EINVAL);
    args[0] = SIGCHLD; /* the exit signal belongs in its own field */
    EXPECT_ERR("clone3-csignal", syscall(SYS_clone3, args, sizeof args), EINVAL);
    args[0] = 0;
    args[6] = 4096; /* a stack size without a stack */
    EXPECT_ERR("clone3-stack", syscall(SYS_clone3, args, sizeof args), EINVAL);
    EXPECT_ERR("tgkill-no-thread", syscall(SYS_tgkill, getpid(), 999999, 0), ESRCH);
    EXPECT_ERR("tgkill-bad-tid", syscall(SYS_tgkill, getpid(), 0, 0), EINVAL);

    static char stack[64 * 1024] __attribute__((aligned(16)));
    pid_t c = clone(vm_child, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
    int st = 0;
    CHECK("vm-child-waited", c > 0 && waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 5);
    CHECK("vm-child-wrote-parent-memory", shared_word == 42);

    /* CLONE_FILES: the child's close and dup2 are the parent's; its exit closes nothing. */
    int fd = dup(1);
    c = clone(files_child, stack + sizeof stack, CLONE_FILES | SIGCHLD, (void *)(long)fd);
    CHECK("files-child-waited", c > 0 && waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 0);
    errno = 0;
    CHECK("files-child-closed-parent-fd", fcntl(fd, F_GETFD) == -1 && errno == EBADF);
    CHECK("files-child-dup2-seen", fcntl(100, F_GETFD) == 0);
    close(100);
}

/* --- raw exit of the leader, then of the last thread: the process ends with the last one,
 * with its status (glibc's pthread_exit would call exit_group for the last thread). --- */
static void *raw_exit_late(void *arg) {
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    printf("done\n");
    fflush(stdout);
    syscall(SYS_exit, 9);
    return NULL;
}
static void raw_exit(void) {
    pthread_t t;
    pthread_create(&t, NULL, raw_exit_late, NULL);
    syscall(SYS_exit, 5);
}

/* --- FP state is per thread: each thread holds its own value in xmm0 (and its own MXCSR
 * rounding mode) across syscalls that let the other threads run. --- */
#define NFP 4
static atomic_int fp_bad;
static void *fp_worker(void *arg) {
    long k = (long)arg;
    unsigned mxcsr = 0x1f80 | ((unsigned)(k & 3) << 13), got_mxcsr;
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    for (int i = 0; i < 300; i++) {
        double want = (double)(k * 1000 + i), got;
        long nr = SYS_sched_yield;
        /* xmm0 holds `want` across the raw syscall, which keeps xmm registers. */
        __asm__ volatile("movsd %2, %%xmm0\n\t"
                         "syscall\n\t"
                         "movsd %%xmm0, %1"
                         : "+a"(nr), "=m"(got)
                         : "m"(want)
                         : "rcx", "r11", "xmm0", "memory");
        if (got != want) atomic_fetch_add(&fp_bad, 1);
        if (i % 50 == 0) usleep(100);
    }
    __asm__ volatile("stmxcsr %0" : "=m"(got_mxcsr));
    if (got_mxcsr != mxcsr) atomic_fetch_add(&fp_bad, 1);
    return NULL;
}
static void fp_threads(void) {
    pthread_t th[NFP];
    for (long i = 0; i < NFP; i++) pthread_create(&th[i], NULL, fp_worker, (void *)i);
    for (int i = 0; i < NFP; i++) pthread_join(th[i], NULL);
    CHECK("fp-per-thread", atomic_load(&fp_bad) == 0);
}

int main(int argc, char **argv) {
    self = argv[0];
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "create")) create_join();
    else if (!strcmp(m, "pc")) producer_consumer();
    else if (!strcmp(m, "exitmain")) exit_main();
    else if (!strcmp(m, "exitgroup")) exit_group_thread();
    else if (!strcmp(m, "fork")) fork_thread();
    else if (!strcmp(m, "exec")) exec_thread();
    else if (!strcmp(m, "exec2")) {
        CHECK("exec-leader", gettid_() == getpid());
    } else if (!strcmp(m, "robust")) robust();
    else if (!strcmp(m, "spin")) spin();
    else if (!strcmp(m, "signals")) signals();
    else if (!strcmp(m, "clone")) clone_flags();
    else if (!strcmp(m, "rawexit")) raw_exit();
    else if (!strcmp(m, "fp")) fp_threads();
    else {
        printf("bad mode\n");
        return 1;
    }
    printf("done\n");
    return 0;
}
