/* getrusage's ru_maxrss (issue 10): a process's own peak resident set grows as it touches
 * memory; RUSAGE_CHILDREN is the largest peak of the children it waited for (and of their
 * waited-for children), 0 in a new child, and untouched by children reaped because
 * SIGCHLD is ignored. Values are compared by range (Linux's RSS counters are approximate),
 * natively and under uml. */
#include "common.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MIB 1024L /* ru_maxrss is in KiB */

static long maxrss(int who) {
    struct rusage ru;
    if (getrusage(who, &ru) != 0) return -1;
    return ru.ru_maxrss;
}

static void touch(long mib) {
    char *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) _exit(9);
    for (long i = 0; i < mib << 20; i += 4096) p[i] = 1;
}

static void child_touching(long mib, int grandchild) {
    pid_t c = fork();
    if (c == 0) {
        if (grandchild) {
            child_touching(mib, 0);
            _exit(0);
        }
        printf("new child's children maxrss: %ld\n", maxrss(RUSAGE_CHILDREN));
        touch(mib);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long base = maxrss(RUSAGE_CHILDREN);
    printf("children maxrss at start below 16 MiB: %d\n", base < 16 * MIB);
    child_touching(64, 0);
    long c1 = maxrss(RUSAGE_CHILDREN);
    printf("after a 64 MiB child: %d\n", c1 >= 60 * MIB && c1 < 90 * MIB);
    child_touching(96, 1);
    long c2 = maxrss(RUSAGE_CHILDREN);
    printf("after a 96 MiB grandchild: %d\n", c2 >= 90 * MIB && c2 < 128 * MIB);
    signal(SIGCHLD, SIG_IGN);
    pid_t c = fork();
    if (c == 0) {
        touch(160);
        _exit(0);
    }
    while (waitpid(c, NULL, 0) != -1 || errno == EINTR) {}
    long c3 = maxrss(RUSAGE_CHILDREN);
    printf("an auto-reaped child does not count: %d\n", c3 == c2);
    long s0 = maxrss(RUSAGE_SELF);
    touch(32);
    long s1 = maxrss(RUSAGE_SELF);
    printf("own peak grew by 32 MiB: %d\n", s1 - s0 >= 24 * MIB && s1 - s0 < 48 * MIB);
    long t = maxrss(RUSAGE_THREAD);
    printf("thread's is its memory's: %d\n", t == s1);
    printf("done\n");
    return 0;
}
