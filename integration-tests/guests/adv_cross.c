/* Adversarial guest: tries to read another guest process's memory. A parent fills pages
 * with a secret and frees them; children then allocate and scan fresh memory, try
 * /proc/PID/mem, process_vm_readv and ptrace on the parent, and the parent checks that its
 * freed mapping is really gone and that copy-on-write keeps writes apart. Any sight of the
 * secret prints LEAK. Linux lets root (CAP_SYS_PTRACE) read any process's memory through
 * those three, so the child makes them as an unprivileged user, whom Linux refuses. */
#include "common.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define PAGES 256
static const char SECRET[] = "UML-SECRET-7f3a9c";

static sigjmp_buf env;
static void on_fault(int s) { siglongjmp(env, s); }

static int scan(const char *p, size_t len) {
    for (size_t i = 0; i + sizeof SECRET - 1 <= len; i += 64)
        if (!memcmp(p + i, SECRET, sizeof SECRET - 1)) return 1;
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    size_t len = PAGES * 4096UL;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < len; i += 64) memcpy(p + i, SECRET, sizeof SECRET - 1);
    munmap(p, len);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(env, 1) == 0) {
        volatile char c = p[0];
        (void)c;
        puts("LEAK freed mapping still readable");
    } else {
        puts("freed mapping gone: ok");
    }
    /* Keep a live secret in the parent too. */
    char *live = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pid_t parent = getpid();
    pid_t kid = fork();
    if (kid == 0) {
        int leaks = 0;
        char *q = mmap(NULL, 4 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; i < 4 * len; i += 4096) q[i] |= 0; /* touch */
        leaks += scan(q, 4 * len);
        leaks += scan(live, len); /* written by the parent after the fork */
        if (setuid(65534)) leaks++;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", parent);
        int fd = open(path, O_RDONLY);
        char buf[64] = {0};
        if (fd >= 0 && pread(fd, buf, sizeof buf, (long)live) > 0 && !memcmp(buf, SECRET, 8)) leaks++;
        struct iovec l = {buf, sizeof buf}, r = {live, sizeof buf};
        if (process_vm_readv(parent, &l, 1, &r, 1, 0) > 0 && !memcmp(buf, SECRET, 8)) leaks++;
        if (ptrace(PTRACE_ATTACH, parent, 0, 0) == 0) {
            long w = ptrace(PTRACE_PEEKDATA, parent, live, 0);
            if (!memcmp(&w, SECRET, 8)) leaks++;
        }
        printf("child scan: %s\n", leaks ? "LEAK" : "ok");
        _exit(leaks);
    }
    for (size_t i = 0; i < len; i += 64) memcpy(live + i, SECRET, sizeof SECRET - 1);
    int st;
    waitpid(kid, &st, 0);
    printf("child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    /* Copy-on-write the other way: the child's writes stay the child's. */
    memset(live, 'P', len);
    kid = fork();
    if (kid == 0) {
        memset(live, 'C', len);
        _exit(0);
    }
    waitpid(kid, &st, 0);
    int mixed = 0;
    for (size_t i = 0; i < len; i++) mixed |= live[i] != 'P';
    printf("cow: %s\n", mixed ? "LEAK" : "ok");
    puts("done");
    return 0;
}
