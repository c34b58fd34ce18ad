/* Futexes shared between processes, keyed by the object behind the page: a process-shared
 * pthread mutex and condvar over MAP_SHARED anonymous memory, POSIX semaphores (named, in
 * /dev/shm, and unnamed in shared memory), a futex in a shared file mapping and in a memfd
 * mapped twice; private memory after fork stays private (copy-on-write); a waiter whose
 * page is copied or unmapped keeps its key. argv[1]: a scratch directory to create. */
#include "futex_common.h"
#include <fcntl.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define PAGE 4096UL
#define ROUNDS 5000

static void *shared_anon(size_t len) {
    return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

static int child_status(pid_t pid) {
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct shared_lock {
    pthread_mutex_t m;
    pthread_cond_t c;
    long counter;
    int turn;
};

static void mutex_and_condvar(void) {
    struct shared_lock *s = shared_anon(sizeof *s);
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->m, &ma);
    pthread_cond_init(&s->c, &ca);
    pid_t pid = fork();
    int me = pid == 0 ? 1 : 0;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&s->m);
        s->counter++;
        pthread_mutex_unlock(&s->m);
    }
    /* Ping-pong on the condvar: each side waits for its turn 20 times. */
    for (int i = 0; i < 20; i++) {
        pthread_mutex_lock(&s->m);
        while (s->turn % 2 != me) pthread_cond_wait(&s->c, &s->m);
        s->turn++;
        pthread_cond_broadcast(&s->c);
        pthread_mutex_unlock(&s->m);
    }
    if (pid == 0) _exit(0);
    printf("mutex child exit=%d\n", child_status(pid));
    printf("mutex counter=%ld turns=%d\n", s->counter, s->turn);
}

static void ping_pong(const char *what, sem_t *ping, sem_t *pong) {
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 20; i++) {
            if (sem_wait(ping) != 0) _exit(1);
            sem_post(pong);
        }
        _exit(0);
    }
    int ok = 1;
    for (int i = 0; i < 20; i++) {
        sem_post(ping);
        if (sem_wait(pong) != 0) ok = 0;
    }
    printf("%s ping-pong ok=%d child exit=%d\n", what, ok, child_status(pid));
    int v = -1;
    sem_getvalue(ping, &v);
    printf("%s ping value=%d\n", what, v);
    struct timespec to = ms_abs(CLOCK_REALTIME, 30);
    errno = 0;
    int r = sem_timedwait(ping, &to);
    printf("%s timedwait=%d %s\n", what, r, ename(r ? errno : 0));
}

static void semaphores(void) {
    char name[64];
    snprintf(name, sizeof name, "/uml-futex-test-%d", (int)getpid());
    sem_t *ping = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    CHECK("sem_open ping", ping != SEM_FAILED);
    strcat(name, "b");
    sem_t *pong = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    CHECK("sem_open pong", pong != SEM_FAILED);
    ping_pong("named", ping, pong);
    sem_unlink(name);
    name[strlen(name) - 1] = 0;
    sem_unlink(name);
    sem_t *u = shared_anon(2 * sizeof(sem_t));
    CHECK("sem_init pshared", sem_init(&u[0], 1, 0) == 0 && sem_init(&u[1], 1, 0) == 0);
    ping_pong("unnamed", &u[0], &u[1]);
}

/* Child waits through its own mapping of `path` (or of `fd`), parent wakes through
 * another. */
static void file_futex(const char *what, int fd) {
    uint32_t *w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("map file", w != MAP_FAILED);
    w[5] = 0;
    pid_t pid = fork();
    if (pid == 0) {
        uint32_t *mine = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        struct timespec to = ms_rel(10000);
        long r = futex(&mine[5], FUTEX_WAIT, 0, &to, NULL, 0);
        _exit(r == 0 && mine[5] == 1 ? 0 : 3);
    }
    CHECK("file waiter counted", await_waiters(&w[5], 0, 1) == 0);
    show("private count of a shared-file waiter", nwaiters(&w[5], FUTEX_PRIVATE_FLAG));
    w[5] = 1;
    show("wake via another mapping", futex(&w[5], FUTEX_WAKE, INT_MAX, NULL, NULL, 0));
    printf("%s waiter exit=%d\n", what, child_status(pid));
    munmap(w, PAGE);
}

static void files(const char *dir) {
    CHECK("mkdir scratch", mkdir(dir, 0755) == 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/futex", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("create file", fd >= 0 && ftruncate(fd, PAGE) == 0);
    file_futex("shared file", fd);
    close(fd);
    unlink(path);
    rmdir(dir);
    int mfd = memfd_create("futex", 0);
    CHECK("memfd", mfd >= 0 && ftruncate(mfd, PAGE) == 0);
    file_futex("memfd", mfd);
    /* A private read-only file mapping is keyed by the file page too. */
    uint32_t *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    uint32_t *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, mfd, 0);
    shared[9] = 0;
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec to = ms_rel(10000);
        _exit(futex(&ro[9], FUTEX_WAIT, 0, &to, NULL, 0) == 0 ? 0 : 3);
    }
    CHECK("read-only private waiter counted", await_waiters(&shared[9], 0, 1) == 0);
    show("wake read-only private waiter", futex(&shared[9], FUTEX_WAKE, 1, NULL, NULL, 0));
    printf("ro private waiter exit=%d\n", child_status(pid));
    close(mfd);
}

static uint32_t priv_word;

/* Private memory stays private across fork: neither side's wake reaches the other. */
static void private_after_fork(void) {
    priv_word = 0;
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec to = ms_rel(300);
        long r = futex(&priv_word, FUTEX_WAIT, 0, &to, NULL, 0);
        _exit(r == -1 && errno == ETIMEDOUT ? 0 : 3);
    }
    usleep(50000);
    show("parent wake of child's private copy", futex(&priv_word, FUTEX_WAKE, 1, NULL, NULL, 0));
    printf("private child exit=%d (0: timed out)\n", child_status(pid));
}

struct waiter {
    uint32_t *f;
    long ret;
    int err;
    long timeout_ms;
};

static void *wait_thread(void *arg) {
    struct waiter *w = arg;
    struct timespec to = ms_rel(w->timeout_ms);
    errno = 0;
    w->ret = futex(w->f, FUTEX_WAIT, 0, w->timeout_ms ? &to : NULL, NULL, 0);
    w->err = errno;
    return NULL;
}

static void report_waiter(const char *what, pthread_t t, struct waiter *w) {
    pthread_join(t, NULL);
    printf("%s: %s\n", what, w->ret == 0 ? "woken" : ename(w->err));
}

/* A waiter keeps the key it blocked with while its page is copied on write (fork) or
 * unmapped. */
static void cow_and_unmap(void) {
    static uint32_t cow_word;
    pthread_t t;
    struct waiter w = {&cow_word, 0, 0, 0};
    pthread_create(&t, NULL, wait_thread, &w);
    CHECK("cow waiter counted", await_waiters(&cow_word, 0, 1) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        cow_word = 7; /* the child's own copy */
        _exit((int)futex(&cow_word, FUTEX_WAKE, 1, NULL, NULL, 0));
    }
    printf("child's wake of its copy woke %d\n", child_status(pid));
    cow_word = 1; /* copies the page in the parent too */
    show("parent wake after copy", futex(&cow_word, FUTEX_WAKE, 1, NULL, NULL, 0));
    report_waiter("cow waiter", t, &w);

    /* Unmapped while waiting: nothing wakes it but its deadline. */
    uint32_t *a = shared_anon(PAGE);
    a[0] = 0;
    struct waiter u = {a, 0, 0, 300};
    pthread_create(&t, NULL, wait_thread, &u);
    CHECK("unmap waiter counted", await_waiters(a, 0, 1) == 0);
    munmap(a, PAGE);
    report_waiter("waiter of an unmapped page", t, &u);

    /* Unmapped, then woken through another mapping of the same object. */
    int mfd = memfd_create("futex2", 0);
    CHECK("memfd2", mfd >= 0 && ftruncate(mfd, PAGE) == 0);
    uint32_t *m1 = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    uint32_t *m2 = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    struct waiter v = {&m1[3], 0, 0, 10000};
    pthread_create(&t, NULL, wait_thread, &v);
    CHECK("memfd waiter counted", await_waiters(&m2[3], 0, 1) == 0);
    munmap(m1, PAGE);
    show("wake through the other mapping", futex(&m2[3], FUTEX_WAKE, 1, NULL, NULL, 0));
    report_waiter("waiter of an unmapped memfd page", t, &v);
    close(mfd);

    /* Shared anonymous memory inherited over fork: the child waits, the parent wakes. */
    uint32_t *s = shared_anon(PAGE);
    s[100] = 0;
    pid = fork();
    if (pid == 0) {
        struct timespec to = ms_rel(10000);
        _exit(futex(&s[100], FUTEX_WAIT, 0, &to, NULL, 0) == 0 ? 0 : 3);
    }
    CHECK("shared anon waiter counted", await_waiters(&s[100], 0, 1) == 0);
    show("wake shared anon", futex(&s[100], FUTEX_WAKE, 1, NULL, NULL, 0));
    printf("shared anon waiter exit=%d\n", child_status(pid));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        puts("usage: futex_shared SCRATCH_DIR");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    mutex_and_condvar();
    semaphores();
    files(argv[1]);
    private_after_fork();
    cow_and_unmap();
    return 0;
}
