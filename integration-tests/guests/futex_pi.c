/* PI futexes and robust mutexes: the FUTEX_LOCK_PI / TRYLOCK_PI / UNLOCK_PI word protocol
 * and its errnos, PI mutexes contended between threads and between processes, robust
 * mutexes (plain and PI) whose owner dies, in another thread or another process, with and
 * without a waiter blocked at the time. Tids are never printed (they differ natively). */
#include "futex_common.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define P FUTEX_PRIVATE_FLAG

static uint32_t word;

static const char *owner_of(uint32_t v, pid_t me) {
    if ((v & FUTEX_TID_MASK) == 0) return "none";
    return (pid_t)(v & FUTEX_TID_MASK) == me ? "me" : "other";
}

static void show_word(const char *what, pid_t me) {
    printf("%s: owner=%s waiters=%d died=%d\n", what, owner_of(word, me),
           !!(word & FUTEX_WAITERS), !!(word & FUTEX_OWNER_DIED));
}

static void *trylock_thread(void *arg) {
    (void)arg;
    show("thread trylock_pi", futex(&word, FUTEX_TRYLOCK_PI | P, 0, NULL, NULL, 0));
    show("thread unlock_pi not owner", futex(&word, FUTEX_UNLOCK_PI | P, 0, NULL, NULL, 0));
    struct timespec to = ms_abs(CLOCK_REALTIME, 30);
    show("thread lock_pi timeout", futex(&word, FUTEX_LOCK_PI | P, 0, &to, NULL, 0));
    to = ms_abs(CLOCK_MONOTONIC, 30);
    show("thread lock_pi2 timeout", futex(&word, 13 /* LOCK_PI2 */ | P, 0, &to, NULL, 0));
    return NULL;
}

static pid_t handed_to;
static long locked, unlocked;
static int lock_err, unlock_err;

/* Results are printed by the main thread after the join (no interleaving). */
static void *lock_thread(void *arg) {
    (void)arg;
    locked = futex(&word, FUTEX_LOCK_PI | P, 0, NULL, NULL, 0);
    lock_err = errno;
    handed_to = (pid_t)(word & FUTEX_TID_MASK) == gettid_() ? 1 : -1;
    unlocked = futex(&word, FUTEX_UNLOCK_PI | P, 0, NULL, NULL, 0);
    unlock_err = errno;
    return NULL;
}

static void protocol(void) {
    pid_t me = gettid_();
    word = 0;
    show("lock_pi free", futex(&word, FUTEX_LOCK_PI | P, 0, NULL, NULL, 0));
    show_word("after lock", me);
    show("lock_pi again", futex(&word, FUTEX_LOCK_PI | P, 0, NULL, NULL, 0));
    show("trylock_pi again", futex(&word, FUTEX_TRYLOCK_PI | P, 0, NULL, NULL, 0));
    pthread_t t;
    pthread_create(&t, NULL, trylock_thread, NULL);
    pthread_join(t, NULL);
    show_word("after contention", me);
    show("unlock_pi", futex(&word, FUTEX_UNLOCK_PI | P, 0, NULL, NULL, 0));
    show_word("after unlock", me);
    show("unlock_pi unowned", futex(&word, FUTEX_UNLOCK_PI | P, 0, NULL, NULL, 0));
    show("trylock_pi free", futex(&word, FUTEX_TRYLOCK_PI | P, 0, NULL, NULL, 0));
    show_word("after trylock", me);
    /* Hand-over: a blocked locker owns the lock when the unlock returns. */
    pthread_create(&t, NULL, lock_thread, NULL);
    for (int i = 0; i < 10000 && !(__atomic_load_n(&word, __ATOMIC_SEQ_CST) & FUTEX_WAITERS); i++)
        usleep(1000);
    show_word("with a waiter", me);
    show("wake of a PI waiter", futex(&word, FUTEX_WAKE | P, 1, NULL, NULL, 0));
    show("unlock_pi to waiter", futex(&word, FUTEX_UNLOCK_PI | P, 0, NULL, NULL, 0));
    pthread_join(t, NULL);
    errno = lock_err;
    show("blocked lock_pi", locked);
    errno = unlock_err;
    show("unlock after hand-over", unlocked);
    printf("handed to the waiter: %d\n", handed_to);
    show_word("after hand-over", me);
    /* An owner that does not exist. */
    word = 0x3ffffff0;
    show("lock_pi dead owner", futex(&word, FUTEX_LOCK_PI | P, 0, NULL, NULL, 0));
    show_word("after dead owner", me);
    word = FUTEX_OWNER_DIED;
    show("lock_pi owner died", futex(&word, FUTEX_LOCK_PI | P, 0, NULL, NULL, 0));
    show_word("taken over", me);
    show("unlock_pi owner died", futex(&word, FUTEX_UNLOCK_PI | P, 0, NULL, NULL, 0));
    show_word("released", me);
    struct timespec to = ms_abs(CLOCK_REALTIME, 10);
    show("lock_pi realtime flag", futex(&word, FUTEX_LOCK_PI | FUTEX_CLOCK_REALTIME | P, 0, &to, NULL, 0));
    show("lock_pi misaligned", futex((uint32_t *)((char *)&word + 2), FUTEX_LOCK_PI | P, 0, NULL, NULL, 0));
    show("lock_pi null", futex(NULL, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
    show("unlock_pi null", futex(NULL, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
    uint32_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("lock_pi read-only", futex(ro, FUTEX_LOCK_PI | P, 0, NULL, NULL, 0));
}

static pthread_mutex_t pi_mutex;
static long pi_counter;

static void *pi_worker(void *arg) {
    pthread_mutex_t *m = arg;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(m);
        pi_counter++;
        pthread_mutex_unlock(m);
    }
    return NULL;
}

static void init_mutex(pthread_mutex_t *m, int pshared, int pi, int robust) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    if (pshared) pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (pi) pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    if (robust) pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int r = pthread_mutex_init(m, &a);
    if (r) printf("bad mutex init %s\n", ename(r));
}

static int child_status(pid_t pid) {
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void pi_mutexes(void) {
    init_mutex(&pi_mutex, 0, 1, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, pi_worker, &pi_mutex);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("pi threads counter=%ld\n", pi_counter);
    printf("pi trylock free: %s\n", ename(pthread_mutex_trylock(&pi_mutex)));
    pthread_mutex_unlock(&pi_mutex);

    struct shm {
        pthread_mutex_t m;
        long counter;
    } *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    init_mutex(&s->m, 1, 1, 0);
    pid_t pid = fork();
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&s->m);
        s->counter++;
        pthread_mutex_unlock(&s->m);
    }
    if (pid == 0) _exit(0);
    int st = child_status(pid);
    printf("pi processes child exit=%d counter=%ld\n", st, s->counter);
}

struct robust {
    pthread_mutex_t m;
    int ready;
};

static void *die_holding(void *arg) {
    pthread_mutex_lock(arg);
    return NULL; /* exits holding it */
}

static void lock_dead(const char *what, pthread_mutex_t *m) {
    int r = pthread_mutex_lock(m);
    printf("%s lock: %s\n", what, ename(r));
    if (r == EOWNERDEAD) {
        printf("%s consistent: %s\n", what, ename(pthread_mutex_consistent(m)));
    }
    printf("%s unlock: %s\n", what, ename(pthread_mutex_unlock(m)));
    printf("%s relock: %s\n", what, ename(pthread_mutex_lock(m)));
    pthread_mutex_unlock(m);
}

/* The owner (a thread, or a child process) dies holding a robust mutex. */
static void robust_mutexes(int pi) {
    const char *kind = pi ? "robust pi" : "robust";
    char what[64];
    /* A thread dies holding it. */
    pthread_mutex_t m;
    init_mutex(&m, 0, pi, 1);
    pthread_t t;
    pthread_create(&t, NULL, die_holding, &m);
    pthread_join(t, NULL);
    snprintf(what, sizeof what, "%s thread", kind);
    lock_dead(what, &m);

    /* A process dies holding it, nobody waiting. */
    struct robust *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    init_mutex(&r->m, 1, pi, 1);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&r->m);
        _exit(0);
    }
    printf("%s holder exit=%d\n", kind, child_status(pid));
    snprintf(what, sizeof what, "%s process", kind);
    lock_dead(what, &r->m);

    /* A process dies holding it while this one waits in the kernel. */
    int ready[2];
    if (pipe(ready)) return;
    pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&r->m);
        if (write(ready[1], "x", 1) != 1) _exit(1);
        /* Wait until the parent is blocked (its lock set FUTEX_WAITERS). */
        uint32_t *lock = (uint32_t *)&r->m;
        for (int i = 0; i < 10000 && !(__atomic_load_n(lock, __ATOMIC_SEQ_CST) & FUTEX_WAITERS); i++)
            usleep(1000);
        usleep(20000);
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) puts("bad ready");
    snprintf(what, sizeof what, "%s waiter", kind);
    lock_dead(what, &r->m);
    printf("%s dying holder exit=%d\n", kind, child_status(pid));

    /* Made inconsistent: unlocking without pthread_mutex_consistent. */
    pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&r->m);
        _exit(0);
    }
    child_status(pid);
    int e = pthread_mutex_lock(&r->m);
    printf("%s lock: %s\n", kind, ename(e));
    printf("%s unlock without consistent: %s\n", kind, ename(pthread_mutex_unlock(&r->m)));
    printf("%s lock after: %s\n", kind, ename(pthread_mutex_lock(&r->m)));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    protocol();
    pi_mutexes();
    robust_mutexes(0);
    robust_mutexes(1);
    return 0;
}
