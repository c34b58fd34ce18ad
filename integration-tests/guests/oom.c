/* Asking for more memory than uml's --mem: the guest gets ENOMEM (mmap), a failed brk and a
 * NULL malloc, and keeps running; memory within the limit works. argv[1]: MiB to ask for. */
#include "common.h"
#include <stdint.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    size_t big = (size_t)atol(argc > 1 ? argv[1] : "128") << 20;
    void *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap big: %s\n", m == MAP_FAILED ? strerror(errno) : "ok");
    char *b0 = sbrk(0);
    void *r = sbrk((intptr_t)big);
    printf("sbrk big: %s\n", r == (void *)-1 ? "failed" : "ok");
    printf("break unchanged: %s\n", sbrk(0) == b0 ? "yes" : "no");
    printf("malloc big: %s\n", malloc(big) == NULL ? "NULL" : "ok");
    /* 16 MiB within the limit, every page touched. */
    size_t small = 16 << 20;
    unsigned char *s = mmap(NULL, small, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED) { puts("small mmap failed"); return 1; }
    for (size_t i = 0; i < small; i += 4096) s[i] = (unsigned char)i;
    printf("small touched: ok\n");
    return 0;
}
