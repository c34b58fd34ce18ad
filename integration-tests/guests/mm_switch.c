/* Address spaces under switching (uml run --mm single runs every guest process in one host
 * process, rewriting its memory on each switch).
 *
 *   mm_switch secret  process A fills a fresh page with a pattern and blocks; process B
 *                     (not a fork of A) probes A's address and the 16 MiB around it with
 *                     signal-safe loads, and scans every readable page of its own: it must
 *                     never see the pattern.
 *   mm_switch many    20 processes with a second thread each block until stdin closes;
 *                     prints "ready" once they all run (the test counts host processes).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define PATTERN 0xa5
#define SPAN (16 << 20)

static sigjmp_buf probe_env;

static void on_segv(int sig) {
    (void)sig;
    siglongjmp(probe_env, 1);
}

/* Whether the page at p is readable; copies it to out. */
static int probe(const volatile unsigned char *p, unsigned char *out) {
    if (sigsetjmp(probe_env, 1))
        return 0;
    for (int i = 0; i < PAGE; i++)
        out[i] = p[i];
    return 1;
}

static int all_pattern(const unsigned char *page) {
    for (int i = 0; i < PAGE; i++)
        if (page[i] != PATTERN)
            return 0;
    return 1;
}

/* Pages of the pattern among the readable pages listed in /proc/self/maps. */
static int scan_own(unsigned char *buf) {
    static char maps[1 << 16];
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    size_t n = fread(maps, 1, sizeof maps - 1, f);
    fclose(f);
    maps[n] = 0;
    int found = 0;
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r')
            continue;
        if (strstr(line, "[vvar]") || strstr(line, "[vsyscall]"))
            continue;
        for (unsigned long a = lo; a < hi; a += PAGE)
            if (probe((const unsigned char *)a, buf) && all_pattern(buf))
                found++;
    }
    return found;
}

static int secret(void) {
    int to_b[2], to_a[2];
    if (pipe(to_b) || pipe(to_a))
        return 1;
    pid_t a = fork();
    if (a == 0) {
        unsigned char *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED)
            _exit(1);
        memset(page, PATTERN, PAGE);
        uintptr_t addr = (uintptr_t)page;
        if (write(to_b[1], &addr, sizeof addr) != sizeof addr)
            _exit(1);
        char c;
        /* Blocked with the secret in memory while B runs. */
        if (read(to_a[0], &c, 1) != 1)
            _exit(1);
        _exit(page[0] == PATTERN ? 0 : 2);
    }
    pid_t b = fork();
    if (b == 0) {
        static unsigned char buf[PAGE];
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_segv;
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
        uintptr_t addr;
        if (read(to_b[0], &addr, sizeof addr) != sizeof addr)
            _exit(1);
        int at = probe((const unsigned char *)addr, buf);
        printf("B: A's page readable at its address: %s\n",
               at ? (all_pattern(buf) ? "yes, secret seen" : "yes, not the secret") : "no");
        int near = 0, seen = 0;
        for (uintptr_t p = addr - SPAN / 2; p < addr + SPAN / 2; p += PAGE)
            if (probe((const unsigned char *)p, buf)) {
                near++;
                seen += all_pattern(buf);
            }
        printf("B: secret pages within 8 MiB of it: %d\n", seen);
        printf("B: secret pages among its own readable pages: %d\n", scan_own(buf));
        fflush(stdout);
        if (write(to_a[1], "x", 1) != 1)
            _exit(1);
        _exit(0);
    }
    int sa, sb;
    waitpid(b, &sb, 0);
    waitpid(a, &sa, 0);
    printf("A exit %d, B exit %d\n", WEXITSTATUS(sa), WEXITSTATUS(sb));
    return 0;
}

static int gate[2];

static void *blocked_thread(void *arg) {
    (void)arg;
    char c;
    while (read(gate[0], &c, 1) > 0)
        ;
    return NULL;
}

static int many(void) {
    int ready[2];
    if (pipe(gate) || pipe(ready))
        return 1;
    pid_t kids[20];
    for (int i = 0; i < 20; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            close(gate[1]);
            pthread_t t;
            if (pthread_create(&t, NULL, blocked_thread, NULL))
                _exit(1);
            if (write(ready[1], "r", 1) != 1)
                _exit(1);
            blocked_thread(NULL);
            pthread_join(t, NULL);
            _exit(0);
        }
    }
    close(gate[0]);
    for (int i = 0; i < 20; i++) {
        char c;
        if (read(ready[0], &c, 1) != 1)
            return 1;
    }
    printf("ready\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    close(gate[1]);
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
    }
    printf("done: %d children exited 0\n", ok);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "secret"))
        return secret();
    if (argc > 1 && !strcmp(argv[1], "many"))
        return many();
    fprintf(stderr, "usage: mm_switch secret|many\n");
    return 2;
}
