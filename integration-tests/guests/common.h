/* Shared helpers for the guest programs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Name of an errno value ("OK" for 0). */
static inline const char *ename(int e) {
    if (e == 0) return "OK";
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* Print `name=ok` for a non-negative raw syscall result, `name=EXXX` otherwise. */
static inline void report(const char *name, long ret) {
    if (ret >= 0) printf("%s=ok\n", name);
    else printf("%s=%s\n", name, ename(errno));
    fflush(stdout);
}

/* Expect a specific errno from a failing call. */
#define EXPECT_ERR(name, call, want)                                          \
    do {                                                                      \
        errno = 0;                                                            \
        long r_ = (long)(call);                                               \
        int e_ = errno;                                                       \
        if (r_ == -1 && e_ == (want)) printf("%s=%s\n", name, ename(e_));     \
        else printf("%s=BAD ret=%ld errno=%s want=%s\n", name, r_, ename(e_), \
                    ename(want));                                             \
    } while (0)

/* Check a condition, print "ok NAME" or "bad NAME". */
#define CHECK(name, cond)                                                     \
    do {                                                                      \
        if (cond) printf("ok %s\n", name);                                    \
        else printf("bad %s (errno=%s)\n", name, ename(errno));               \
    } while (0)

static inline void no_core(void) {
    struct rlimit r = {0, 0};
    setrlimit(RLIMIT_CORE, &r);
}

/* Runs argv[0] (a path) with stdout and stderr to /dev/null; its exit status, 127 if it
 * could not be run, 128 if it was killed. */
static inline int run_quiet(char *const argv[]) {
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
