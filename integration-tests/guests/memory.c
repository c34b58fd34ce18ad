/* brk/mmap patterns. argv[1]: a scratch directory to create (for the file mapping). */
#include "common.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PAGE 4096UL

static int all_eq(const unsigned char *p, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) { puts("usage: memory SCRATCH_DIR"); return 2; }

    /* --- brk / sbrk --- */
    char *b0 = sbrk(0);
    CHECK("sbrk(0) returns break", b0 != (void *)-1);
    CHECK("raw brk(0) == sbrk(0)", (char *)syscall(SYS_brk, 0) == b0);
    char *g = sbrk(1 << 20);
    CHECK("sbrk grow 1 MiB", g == b0);
    memset(g, 0x5a, 1 << 20);
    CHECK("grown heap writable", all_eq((unsigned char *)g, 1 << 20, 0x5a));
    CHECK("break moved", (char *)sbrk(0) == b0 + (1 << 20));
    CHECK("sbrk shrink", sbrk(-(1 << 19)) != (void *)-1 && (char *)sbrk(0) == b0 + (1 << 19));
    CHECK("heap below break intact", all_eq((unsigned char *)g, 1 << 19, 0x5a));
    char *g2 = sbrk(1 << 19);
    /* Pages freed by shrinking come back zeroed. */
    CHECK("regrown heap zeroed", g2 == b0 + (1 << 19) && all_eq((unsigned char *)g2 + PAGE, (1 << 19) - PAGE, 0));
    CHECK("sbrk back to start", sbrk(-(1 << 20)) != (void *)-1 && (char *)sbrk(0) == b0);
    CHECK("brk absurd fails (break unchanged)", (char *)syscall(SYS_brk, 0x10UL) == b0);

    /* --- malloc of many sizes --- */
    int malloc_ok = 1;
    void *ptrs[64];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 64; i++) {
            size_t sz = ((size_t)1 << (i % 24)) + (size_t)i * 7;
            ptrs[i] = malloc(sz);
            if (!ptrs[i]) { malloc_ok = 0; continue; }
            memset(ptrs[i], i, sz);
        }
        for (int i = 0; i < 64; i++) {
            size_t sz = ((size_t)1 << (i % 24)) + (size_t)i * 7;
            if (ptrs[i] && !all_eq(ptrs[i], sz, (unsigned char)i)) malloc_ok = 0;
            free(ptrs[i]);
        }
    }
    CHECK("malloc/free many sizes", malloc_ok);
    void *big = calloc(1, 200 << 20);
    CHECK("calloc 200 MiB zeroed (sampled)", big && ((char *)big)[0] == 0 && ((char *)big)[(200 << 20) - 1] == 0);
    free(big);

    /* --- big anonymous mmap, touched --- */
    size_t n64 = 64UL << 20;
    unsigned char *m = mmap(NULL, n64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap 64 MiB", m != MAP_FAILED);
    CHECK("mmap page aligned", ((uintptr_t)m & (PAGE - 1)) == 0);
    int zero = 1;
    for (size_t off = 0; off < n64; off += PAGE) {
        if (m[off] != 0) zero = 0;
        m[off] = (unsigned char)(off / PAGE);
    }
    CHECK("fresh mmap zeroed", zero);
    int kept = 1;
    for (size_t off = 0; off < n64; off += PAGE)
        if (m[off] != (unsigned char)(off / PAGE)) kept = 0;
    CHECK("64 MiB touched and read back", kept);

    /* --- munmap part, re-mmap --- */
    CHECK("munmap middle 1 MiB", munmap(m + (8 << 20), 1 << 20) == 0);
    char buf[16];
    int fd0 = open(argv[0], O_RDONLY);
    /* Reading into an unmapped hole must fault -> EFAULT, not crash. */
    EXPECT_ERR("read into munmapped hole", read(fd0, m + (8 << 20), 16), EFAULT);
    unsigned char *r = mmap(m + (8 << 20), 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK("re-mmap into hole", r == m + (8 << 20));
    CHECK("re-mmapped is zero", r != MAP_FAILED && all_eq(r, 1 << 20, 0));
    CHECK("around hole intact", m[(8 << 20) - PAGE] == (unsigned char)(((8 << 20) - PAGE) / PAGE) && m[9 << 20] == (unsigned char)((9 << 20) / PAGE));
    EXPECT_ERR("MAP_FIXED_NOREPLACE over existing", mmap(m, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);

    /* --- mprotect --- */
    m[0] = 0x77;
    CHECK("mprotect read-only", mprotect(m, PAGE * 4, PROT_READ) == 0);
    CHECK("read-only still readable", m[0] == 0x77);
    int pp[2];
    CHECK("pipe", pipe(pp) == 0);
    CHECK("write() from read-only memory", write(pp[1], m, 16) == 16 && read(pp[0], buf, 16) == 16 && buf[0] == 0x77);
    close(pp[0]);
    close(pp[1]);
    CHECK("rewind", lseek(fd0, 0, SEEK_SET) == 0);
    EXPECT_ERR("read() into read-only memory", read(fd0, m, 16), EFAULT);
    CHECK("mprotect back to rw", mprotect(m, PAGE * 4, PROT_READ | PROT_WRITE) == 0);
    m[0] = 0x78;
    CHECK("writable again", m[0] == 0x78);
    CHECK("read() into rw memory", read(fd0, m, 4) == 4 && memcmp(m, "\177ELF", 4) == 0);
    EXPECT_ERR("mprotect unaligned", mprotect(m + 1, PAGE, PROT_READ), EINVAL);

    /* --- MAP_FIXED over existing mapping --- */
    unsigned char *three = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(three, 'A', 3 * PAGE);
    unsigned char *mid = mmap(three + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK("MAP_FIXED returns requested address", mid == three + PAGE);
    CHECK("MAP_FIXED replaced middle (zero)", all_eq(three + PAGE, PAGE, 0));
    CHECK("MAP_FIXED kept neighbours", all_eq(three, PAGE, 'A') && all_eq(three + 2 * PAGE, PAGE, 'A'));

    /* --- madvise(DONTNEED) zeroes private anonymous memory --- */
    memset(three, 'B', 3 * PAGE);
    CHECK("madvise DONTNEED", madvise(three, 2 * PAGE, MADV_DONTNEED) == 0);
    CHECK("DONTNEED pages read zero", all_eq(three, 2 * PAGE, 0));
    CHECK("page after DONTNEED range intact", all_eq(three + 2 * PAGE, PAGE, 'B'));
    munmap(three, 3 * PAGE);

    /* --- mmap error cases --- */
    EXPECT_ERR("mmap len 0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    EXPECT_ERR("mmap no MAP_PRIVATE/SHARED", mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
    EXPECT_ERR("mmap bad fd", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 999, 0), EBADF);
    EXPECT_ERR("munmap unaligned", munmap(m + 1, PAGE), EINVAL);
    CHECK("munmap 64 MiB", munmap(m, n64) == 0);
    CHECK("munmap of unmapped range ok", munmap(m, PAGE) == 0);

    /* --- file mappings --- */
    CHECK("mkdir scratch", mkdir(argv[1], 0755) == 0);
    CHECK("chdir scratch", chdir(argv[1]) == 0);
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("create data file", fd >= 0);
    char content[3 * PAGE + 100];
    for (size_t i = 0; i < sizeof content; i++) content[i] = (char)('a' + i % 26);
    CHECK("write data file", write(fd, content, sizeof content) == (ssize_t)sizeof content);
    char *fm = mmap(NULL, sizeof content, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("mmap file private", fm != MAP_FAILED);
    CHECK("file mapping matches contents", fm != MAP_FAILED && memcmp(fm, content, sizeof content) == 0);
    CHECK("file mapping tail past EOF zero", fm != MAP_FAILED && all_eq((unsigned char *)fm + sizeof content, PAGE - 100, 0));
    char *fo = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 2 * PAGE);
    CHECK("mmap file at offset", fo != MAP_FAILED && memcmp(fo, content + 2 * PAGE, PAGE) == 0);
    EXPECT_ERR("mmap file unaligned offset", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL);
    char *fw = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    fw[0] = 'Z';
    CHECK("private file mapping write not visible in file", pread(fd, buf, 1, 0) == 1 && buf[0] == 'a');
    munmap(fm, sizeof content);
    munmap(fo, PAGE);
    munmap(fw, PAGE);
    close(fd);
    int rofd = open("data", O_RDONLY);
    EXPECT_ERR("shared writable map of O_RDONLY fd", mmap(NULL, PAGE, PROT_WRITE, MAP_SHARED, rofd, 0), EACCES);
    close(rofd);
    CHECK("unlink data", unlink("data") == 0);
    CHECK("chdir /", chdir("/") == 0);
    CHECK("rmdir scratch", rmdir(argv[1]) == 0);
    close(fd0);
    return 0;
}
