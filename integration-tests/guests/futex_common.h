/* Futex helpers shared by the futex guests. */
#include "common.h"
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

static inline long futex(uint32_t *uaddr, int op, uint32_t val, const void *timeout_or_val2,
                         uint32_t *uaddr2, uint32_t val3) {
    return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

/* `name=value` for a call's result, `name=ENAME` for a failure. */
static inline void show(const char *name, long ret) {
    if (ret >= 0) printf("%s=%ld\n", name, ret);
    else printf("%s=%s\n", name, ename(errno));
    fflush(stdout);
}

/* How many tasks wait on the futex at `f` (`priv`: FUTEX_PRIVATE_FLAG or 0), woken
 * nobody: a requeue of the futex onto itself counts its waiters and moves none. */
static inline long nwaiters(uint32_t *f, int priv) {
    return futex(f, FUTEX_REQUEUE | priv, 0, (void *)(long)INT_MAX, f, 0);
}

/* Waits (polling) until `n` tasks wait on `f`; 0 if they do within 10 s. */
static inline int await_waiters(uint32_t *f, int priv, long n) {
    for (int i = 0; i < 10000; i++) {
        if (nwaiters(f, priv) >= n) return 0;
        usleep(1000);
    }
    return -1;
}

/* A relative timespec of `ms` milliseconds. */
static inline struct timespec ms_rel(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    return t;
}

/* An absolute timespec `ms` milliseconds from now on `clock`. */
static inline struct timespec ms_abs(clockid_t clock, long ms) {
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_nsec += (ms % 1000) * 1000000;
    t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    return t;
}

static inline pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }
