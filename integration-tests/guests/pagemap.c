/* /proc/self/pagemap: present pages of anonymous, shared and file mappings, MAP_POPULATE,
 * the exclusive bit across fork, and frame numbers shown to root only; /proc/kpageflags'
 * dirty bit of a shared file page before and after msync. Prints each entry's
 * flag bits (55-63) and whether a frame number shows; the same natively and under uml. */
#include "common.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static uint64_t entry(void *addr) {
    int fd = open("/proc/self/pagemap", O_RDONLY);
    uint64_t e = 0;
    if (pread(fd, &e, 8, (uintptr_t)addr / 4096 * 8) != 8) printf("bad pagemap read\n");
    close(fd);
    return e;
}

/* KPF_DIRTY of the frame behind `addr`, from /proc/kpageflags (-1: no frame shown). */
static int dirty(void *addr) {
    uint64_t pfn = entry(addr) & ((1ULL << 55) - 1), flags = 0;
    if (!pfn) return -1;
    int fd = open("/proc/kpageflags", O_RDONLY);
    if (pread(fd, &flags, 8, pfn * 8) != 8) printf("bad kpageflags read\n");
    close(fd);
    return (flags >> 4) & 1;
}

static void show(const char *name, char *base, int pages) {
    printf("%s:", name);
    for (int i = 0; i < pages; i++) {
        uint64_t e = entry(base + i * 4096);
        printf(" %#llx%s", (unsigned long long)(e >> 55), (e & ((1ULL << 55) - 1)) ? "+pfn" : "");
    }
    printf("\n");
}

int main(void) {
    /* Pages are touched whole mapping at a time: uml maps untouched neighbours of a
     * faulting anonymous page at once (its fault-around), Linux does not. */
    char *a = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a[0] = 1;
    a[4096] = 1;
    show("anon", a, 2);
    char *u = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("untouched", u, 2);
    char *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s[0] = 1;
    show("shared-anon", s, 1);
    char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
    p[0] = 1;
    show("populate", p, 3);
    int fd = open("pagemap-file", O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK("file", fd >= 0 && ftruncate(fd, 2 * 4096) == 0);
    char *f = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    volatile char c = f[0] + f[4096];
    (void)c;
    show("file", f, 2);
    close(fd);
    unlink("pagemap-file");
    /* A store through a shared file mapping dirties the page; msync cleans it. */
    fd = open("pagemap-dirty", O_CREAT | O_RDWR | O_TRUNC, 0600);
    static char page[4096];
    CHECK("dirty-file", write(fd, page, sizeof page) == sizeof page && fsync(fd) == 0);
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    m[8] = 'B';
    int before = dirty(m);
    report("msync", msync(m, 4096, MS_SYNC));
    printf("kpageflags dirty=%d after-msync=%d\n", before, dirty(m));
    munmap(m, 4096);
    close(fd);
    unlink("pagemap-dirty");

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        show("child-after-fork", a, 1);
        /* Dumpable again after dropping root, so /proc/self stays its own. */
        if (setuid(65534) != 0 || prctl(PR_SET_DUMPABLE, 1) != 0) _exit(1);
        a[0] = 2;
        show("unprivileged", a, 1);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
