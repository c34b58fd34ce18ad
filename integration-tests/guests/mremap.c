/* mremap: shrink, grow in place, move, MREMAP_FIXED, errors; realloc of big blocks. */
#define _GNU_SOURCE
#include "common.h"
#include <stdint.h>
#include <sys/mman.h>

#define PAGE 4096UL

int main(void) {
    char *a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap", a != MAP_FAILED);
    memset(a, 'x', 4 * PAGE);
    CHECK("shrink in place", mremap(a, 4 * PAGE, 2 * PAGE, 0) == a);
    CHECK("grow in place (room above)", mremap(a, 2 * PAGE, 3 * PAGE, 0) == a && a[PAGE] == 'x' && a[2 * PAGE] == 0);
    char *guard = mmap(a + 3 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK("guard above", guard == a + 3 * PAGE);
    EXPECT_ERR("grow without MAYMOVE", mremap(a, 3 * PAGE, 5 * PAGE, 0), ENOMEM);
    char *b = mremap(a, 3 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
    CHECK("grow by moving", b != MAP_FAILED && b != a && b[0] == 'x' && b[PAGE + 5] == 'x' && b[7 * PAGE] == 0);
    char *t = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *c = mremap(b, 8 * PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, t);
    CHECK("fixed move", c == t && c[0] == 'x');
    EXPECT_ERR("unaligned", mremap(c + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE), EINVAL);
    EXPECT_ERR("new_len 0", mremap(c, PAGE, 0, MREMAP_MAYMOVE), EINVAL);
    EXPECT_ERR("FIXED without MAYMOVE", mremap(c, PAGE, PAGE, MREMAP_FIXED, a), EINVAL);
    EXPECT_ERR("unknown flags", mremap(c, PAGE, PAGE, 0x100), EINVAL);
    EXPECT_ERR("unmapped", mremap((void *)0x10000000, PAGE, 2 * PAGE, MREMAP_MAYMOVE), EFAULT);
    /* realloc of an mmapped chunk grows through mremap in glibc */
    char *r = malloc(1 << 20);
    memset(r, 'r', 1 << 20);
    r = realloc(r, 16 << 20);
    CHECK("realloc keeps data", r && r[0] == 'r' && r[(1 << 20) - 1] == 'r');
    memset(r + (1 << 20), 's', 15 << 20);
    CHECK("realloc grown part usable", r[(16 << 20) - 1] == 's');
    free(r);
    puts("done");
    return 0;
}
