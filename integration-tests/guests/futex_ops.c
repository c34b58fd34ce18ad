/* Futex operations between threads: bitset selectivity, FUTEX_WAKE_OP, FUTEX_CMP_REQUEUE
 * (EAGAIN and its counts), futex_waitv, private vs shared keys, and bad input. Waiters are
 * counted (a requeue onto the same futex), never guessed by sleeping. */
#include "futex_common.h"
#include <sys/mman.h>

#define P FUTEX_PRIVATE_FLAG

static uint32_t word1, word2;

struct waiter {
    uint32_t *f;
    int op;
    uint32_t bitset;
    long ret;
    int err;
};

static void *wait_thread(void *arg) {
    struct waiter *w = arg;
    errno = 0;
    w->ret = futex(w->f, w->op, *w->f, NULL, NULL, w->bitset);
    w->err = errno;
    return NULL;
}

static void start(pthread_t *t, struct waiter *w, uint32_t *f, int op, uint32_t bitset) {
    w->f = f;
    w->op = op;
    w->bitset = bitset;
    pthread_create(t, NULL, wait_thread, w);
}

static void finish(const char *name, pthread_t t, struct waiter *w) {
    pthread_join(t, NULL);
    if (w->ret == 0) printf("%s woke=0\n", name);
    else printf("%s woke=%s\n", name, ename(w->err));
}

static void bitsets(void) {
    pthread_t t[3];
    struct waiter w[3];
    uint32_t bits[3] = {1, 2, 3};
    word1 = 0;
    for (int i = 0; i < 3; i++) start(&t[i], &w[i], &word1, FUTEX_WAIT_BITSET | P, bits[i]);
    CHECK("three bitset waiters", await_waiters(&word1, P, 3) == 0);
    show("wake_bitset 2", futex(&word1, FUTEX_WAKE_BITSET | P, INT_MAX, NULL, NULL, 2));
    finish("waiter bits=2", t[1], &w[1]);
    finish("waiter bits=3", t[2], &w[2]);
    show("left after bitset 2", nwaiters(&word1, P));
    show("wake_bitset 4", futex(&word1, FUTEX_WAKE_BITSET | P, INT_MAX, NULL, NULL, 4));
    show("wake_bitset 1", futex(&word1, FUTEX_WAKE_BITSET | P, INT_MAX, NULL, NULL, 1));
    finish("waiter bits=1", t[0], &w[0]);
    show("wait_bitset 0", futex(&word1, FUTEX_WAIT_BITSET | P, 0, NULL, NULL, 0));
    show("wake_bitset 0", futex(&word1, FUTEX_WAKE_BITSET | P, 1, NULL, NULL, 0));
    /* A plain wake matches any bitset. */
    start(&t[0], &w[0], &word1, FUTEX_WAIT_BITSET | P, 0x80);
    await_waiters(&word1, P, 1);
    show("plain wake of bitset waiter", futex(&word1, FUTEX_WAKE | P, 1, NULL, NULL, 0));
    finish("waiter bits=0x80", t[0], &w[0]);
}

static void wake_op(void) {
    pthread_t t[4];
    struct waiter w[4];
    word1 = word2 = 0;
    for (int i = 0; i < 2; i++) start(&t[i], &w[i], &word1, FUTEX_WAIT | P, ~0u);
    for (int i = 2; i < 4; i++) start(&t[i], &w[i], &word2, FUTEX_WAIT | P, ~0u);
    CHECK("wake_op waiters", await_waiters(&word1, P, 2) == 0 && await_waiters(&word2, P, 2) == 0);
    /* word2 += 5; old value 0 == 0: wake one of each. */
    int op = FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 0);
    show("wake_op add,eq0", futex(&word1, FUTEX_WAKE_OP | P, 1, (void *)1L, &word2, op));
    printf("word2=%u\n", word2);
    /* word2 |= 1<<4; old value 5 == 0 fails: only the first futex. */
    op = FUTEX_OP((FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT), 4, FUTEX_OP_CMP_EQ, 0);
    show("wake_op or-shift,eq0", futex(&word1, FUTEX_WAKE_OP | P, 1, (void *)1L, &word2, op));
    printf("word2=%u\n", word2);
    /* A wake count of 0 still wakes one (Linux's loop). */
    op = FUTEX_OP(FUTEX_OP_SET, 7, FUTEX_OP_CMP_GT, 20);
    show("wake_op set,gt20 nr2=0", futex(&word1, FUTEX_WAKE_OP | P, 0, (void *)0L, &word2, op));
    printf("word2=%u\n", word2);
    op = FUTEX_OP(FUTEX_OP_ANDN, 2, FUTEX_OP_CMP_LT, 100);
    show("wake_op andn,lt100", futex(&word1, FUTEX_WAKE_OP | P, 1, (void *)5L, &word2, op));
    printf("word2=%u\n", word2);
    for (int i = 0; i < 4; i++) finish("wake_op waiter", t[i], &w[i]);
    /* Bad encodings: the op is refused before writing, the comparison after. */
    show("wake_op bad op", futex(&word1, FUTEX_WAKE_OP | P, 1, 0, &word2, (6 << 28)));
    printf("word2=%u\n", word2);
    show("wake_op bad cmp", futex(&word1, FUTEX_WAKE_OP | P, 1, 0, &word2,
                                  FUTEX_OP(FUTEX_OP_XOR, 1, 9, 0)));
    printf("word2=%u\n", word2);
    show("wake_op bad addr2", futex(&word1, FUTEX_WAKE_OP | P, 1, 0, (uint32_t *)8, 0));
}

static void cmp_requeue(void) {
    pthread_t t[3];
    struct waiter w[3];
    word1 = 3;
    word2 = 0;
    for (int i = 0; i < 3; i++) start(&t[i], &w[i], &word1, FUTEX_WAIT | P, ~0u);
    CHECK("requeue waiters", await_waiters(&word1, P, 3) == 0);
    show("cmp_requeue wrong val", futex(&word1, FUTEX_CMP_REQUEUE | P, 1, (void *)1L, &word2, 4));
    show("cmp_requeue nr_wake<0", futex(&word1, FUTEX_CMP_REQUEUE | P, -1, (void *)1L, &word2, 3));
    show("cmp_requeue 1+1", futex(&word1, FUTEX_CMP_REQUEUE | P, 1, (void *)1L, &word2, 3));
    show("left on word1", nwaiters(&word1, P));
    show("on word2", nwaiters(&word2, P));
    show("wake word2", futex(&word2, FUTEX_WAKE | P, INT_MAX, NULL, NULL, 0));
    show("wake word1", futex(&word1, FUTEX_WAKE | P, INT_MAX, NULL, NULL, 0));
    for (int i = 0; i < 3; i++) finish("requeue waiter", t[i], &w[i]);
    show("requeue nr_requeue<0", futex(&word1, FUTEX_REQUEUE | P, 1, (void *)-1L, &word2, 0));
    show("requeue nobody", futex(&word1, FUTEX_REQUEUE | P, 1, (void *)1L, &word2, 0));
}

static struct futex_waitv wv[2];

static void *waitv_thread(void *arg) {
    long *ret = arg;
    *ret = syscall(SYS_futex_waitv, wv, 2, 0, NULL, 0);
    return NULL;
}

static void waitv(void) {
    word1 = 1;
    word2 = 2;
    memset(wv, 0, sizeof wv);
    wv[0] = (struct futex_waitv){.val = 1, .uaddr = (uintptr_t)&word1, .flags = FUTEX_32 | P};
    wv[1] = (struct futex_waitv){.val = 2, .uaddr = (uintptr_t)&word2, .flags = FUTEX_32 | P};
    pthread_t t;
    long ret = -1;
    pthread_create(&t, NULL, waitv_thread, &ret);
    CHECK("waitv waiting on both", await_waiters(&word1, P, 1) == 0 && await_waiters(&word2, P, 1) == 0);
    show("wake word2", futex(&word2, FUTEX_WAKE | P, 1, NULL, NULL, 0));
    pthread_join(t, NULL);
    printf("waitv returned index %ld\n", ret);
    show("left on word1", nwaiters(&word1, P));
    struct timespec to = ms_abs(CLOCK_MONOTONIC, 50);
    show("waitv timeout", syscall(SYS_futex_waitv, wv, 2, 0, &to, CLOCK_MONOTONIC));
    to = ms_abs(CLOCK_REALTIME, 50);
    show("waitv timeout realtime", syscall(SYS_futex_waitv, wv, 2, 0, &to, CLOCK_REALTIME));
    show("waitv bad clock", syscall(SYS_futex_waitv, wv, 2, 0, &to, CLOCK_BOOTTIME));
    show("waitv flags", syscall(SYS_futex_waitv, wv, 2, 1, NULL, 0));
    show("waitv nr 0", syscall(SYS_futex_waitv, wv, 0, 0, NULL, 0));
    show("waitv nr 129", syscall(SYS_futex_waitv, wv, 129, 0, NULL, 0));
    show("waitv null", syscall(SYS_futex_waitv, NULL, 1, 0, NULL, 0));
    show("waitv bad array", syscall(SYS_futex_waitv, (void *)8, 1, 0, NULL, 0));
    word2 = 3;
    show("waitv value changed", syscall(SYS_futex_waitv, wv, 2, 0, NULL, 0));
    wv[1].flags = P;
    show("waitv no size flag", syscall(SYS_futex_waitv, wv, 2, 0, NULL, 0));
    wv[1].flags = FUTEX_32 | 0x40;
    show("waitv unknown flag", syscall(SYS_futex_waitv, wv, 2, 0, NULL, 0));
    wv[1].flags = FUTEX_32;
    wv[1].__reserved = 1;
    show("waitv reserved", syscall(SYS_futex_waitv, wv, 2, 0, NULL, 0));
    wv[1].__reserved = 0;
    wv[1].uaddr = (uintptr_t)&word2 + 1;
    show("waitv misaligned", syscall(SYS_futex_waitv, wv, 2, 0, NULL, 0));
    wv[1].uaddr = 8;
    show("waitv unmapped", syscall(SYS_futex_waitv, wv, 2, 0, NULL, 0));
    struct timespec bad = {0, 2000000000L};
    wv[1].uaddr = (uintptr_t)&word2;
    show("waitv bad timeout", syscall(SYS_futex_waitv, wv, 2, 0, &bad, CLOCK_MONOTONIC));
}

/* A shared (no private flag) wait on private memory is keyed apart from a private one. */
static void private_vs_shared(void) {
    pthread_t t;
    struct waiter w;
    word1 = 0;
    start(&t, &w, &word1, FUTEX_WAIT, ~0u);
    CHECK("shared waiter", await_waiters(&word1, 0, 1) == 0);
    show("private count of a shared waiter", nwaiters(&word1, P));
    show("private wake of a shared waiter", futex(&word1, FUTEX_WAKE | P, 1, NULL, NULL, 0));
    show("shared wake", futex(&word1, FUTEX_WAKE, 1, NULL, NULL, 0));
    finish("shared waiter", t, &w);
}

static void bad_input(void) {
    struct timespec t = ms_rel(10), bad = {0, 1000000000L}, neg = {-1, 0};
    uint32_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint32_t *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint32_t *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    char *c = (char *)&word1;
    word1 = 0;
    show("wait misaligned", futex((uint32_t *)(c + 1), FUTEX_WAIT | P, 0, NULL, NULL, 0));
    show("wake misaligned", futex((uint32_t *)(c + 2), FUTEX_WAKE, 1, NULL, NULL, 0));
    show("wait null", futex(NULL, FUTEX_WAIT | P, 0, NULL, NULL, 0));
    show("wake_private null", futex(NULL, FUTEX_WAKE | P, 1, NULL, NULL, 0));
    show("wake shared null", futex(NULL, FUTEX_WAKE, 1, NULL, NULL, 0));
    show("wake shared unmapped", futex(gone, FUTEX_WAKE, 1, NULL, NULL, 0));
    show("wake_private unmapped", futex(gone, FUTEX_WAKE | P, 1, NULL, NULL, 0));
    show("wait kernel addr", futex((uint32_t *)0xffffffffff600000UL, FUTEX_WAIT | P, 0, NULL, NULL, 0));
    show("wake shared kernel addr", futex((uint32_t *)0xffffffffff600000UL, FUTEX_WAKE, 1, NULL, NULL, 0));
    show("wake shared read-only anon", futex(ro, FUTEX_WAKE, 1, NULL, NULL, 0));
    show("wait shared read-only anon", futex(ro, FUTEX_WAIT, 0, &t, NULL, 0));
    show("wait private read-only anon", futex(ro, FUTEX_WAIT | P, 0, &t, NULL, 0));
    show("wait prot_none", futex(none, FUTEX_WAIT | P, 0, NULL, NULL, 0));
    show("wake shared prot_none", futex(none, FUTEX_WAKE, 1, NULL, NULL, 0));
    show("unknown op", futex(&word1, 99, 0, NULL, NULL, 0));
    show("wait with realtime flag", futex(&word1, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 0, &t, NULL, 0));
    show("wake with realtime flag", futex(&word1, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0));
    show("wait bad timeout ptr", futex(&word1, FUTEX_WAIT | P, 0, (void *)8, NULL, 0));
    show("wait bad nsec", futex(&word1, FUTEX_WAIT | P, 0, &bad, NULL, 0));
    show("wait negative sec", futex(&word1, FUTEX_WAIT | P, 0, &neg, NULL, 0));
    show("wait value differs", futex(&word1, FUTEX_WAIT | P, 1, NULL, NULL, 0));
    show("wait times out", futex(&word1, FUTEX_WAIT | P, 0, &t, NULL, 0));
    struct timespec abs = ms_abs(CLOCK_MONOTONIC, 10);
    show("wait_bitset abs timeout", futex(&word1, FUTEX_WAIT_BITSET | P, 0, &abs, NULL, ~0u));
    abs = ms_abs(CLOCK_REALTIME, 10);
    show("wait_bitset realtime timeout",
         futex(&word1, FUTEX_WAIT_BITSET | P | FUTEX_CLOCK_REALTIME, 0, &abs, NULL, ~0u));
    show("wake nobody", futex(&word1, FUTEX_WAKE | P, 1, NULL, NULL, 0));
    show("cmp_requeue bad addr2", futex(&word1, FUTEX_CMP_REQUEUE, 1, 0, (uint32_t *)(c + 1), 0));
    show("unlock_pi not owner", futex(&word1, FUTEX_UNLOCK_PI | P, 0, NULL, NULL, 0));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    bitsets();
    wake_op();
    cmp_requeue();
    waitv();
    private_vs_shared();
    bad_input();
    return 0;
}
