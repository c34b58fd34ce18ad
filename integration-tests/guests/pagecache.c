/* The page cache behind file mappings: MAP_SHARED file pages shared across fork and with
 * read(2)/write(2), write-back by msync/munmap, MAP_PRIVATE copy-on-write, SIGBUS past the
 * end of a truncated file, msync/mprotect errnos, madvise(DONTNEED) and mincore.
 * argv[1]: a scratch directory to create. */
#include "common.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define PAGE 4096UL

static sigjmp_buf env;
static volatile int bus_code;

static void on_bus(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    bus_code = si->si_code;
    siglongjmp(env, 1);
}

/* A file of `pages` pages, page i filled with 'A' + i. */
static int make_file(const char *name, int pages) {
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char buf[PAGE];
    for (int i = 0; i < pages; i++) {
        memset(buf, 'A' + i, sizeof buf);
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) return -1;
    }
    return fd;
}

static char byte_at(int fd, off_t off) {
    char c = 0;
    if (pread(fd, &c, 1, off) != 1) return '?';
    return c;
}

static void fork_shares(void) {
    int fd = make_file("fork", 2);
    char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("fork: mmap shared", m != MAP_FAILED);
    int p2c[2], c2p[2];
    CHECK("fork: pipes", pipe(p2c) == 0 && pipe(c2p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        /* Child: write page 1, tell the parent, wait, then check the parent's page 0 write
         * through the mapping and through read(2). */
        memcpy(m + PAGE, "child", 5);
        write(c2p[1], "x", 1);
        read(p2c[0], &c, 1);
        int ok = memcmp(m, "parent", 6) == 0;
        char buf[6] = {0};
        int rd = pread(fd, buf, 6, 0) == 6 && memcmp(buf, "parent", 6) == 0;
        _exit(ok && rd ? 0 : 1);
    }
    char c;
    read(c2p[0], &c, 1);
    CHECK("fork: child's store seen in parent mapping", memcmp(m + PAGE, "child", 5) == 0);
    char buf[5] = {0};
    CHECK("fork: child's store seen by read(2)", pread(fd, buf, 5, PAGE) == 5 && memcmp(buf, "child", 5) == 0);
    memcpy(m, "parent", 6);
    write(p2c[1], "x", 1);
    int st;
    waitpid(pid, &st, 0);
    CHECK("fork: parent's store seen in child (mapping and read)", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    munmap(m, 2 * PAGE);
    close(fd);
    close(p2c[0]); close(p2c[1]); close(c2p[0]); close(c2p[1]);
}

static void write_shows_in_mapping(void) {
    int fd = make_file("wr", 2);
    char *m = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK("write: mmap", m != MAP_FAILED);
    CHECK("write: initial", m[0] == 'A' && m[PAGE] == 'B');
    CHECK("write: pwrite", pwrite(fd, "xyz", 3, PAGE + 10) == 3);
    CHECK("write: pwrite visible", memcmp(m + PAGE + 10, "xyz", 3) == 0);
    lseek(fd, 0, SEEK_SET);
    CHECK("write: write(2)", write(fd, "hello", 5) == 5);
    CHECK("write: write(2) visible", memcmp(m, "hello", 5) == 0 && m[5] == 'A');
    char *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
    CHECK("write: private untouched page sees file", p != MAP_FAILED && memcmp(p + 10, "xyz", 3) == 0);
    munmap(p, PAGE);
    munmap(m, 2 * PAGE);
    close(fd);
}

static void msync_munmap_reopen(void) {
    int fd = make_file("sync", 3);
    char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("sync: mmap", m != MAP_FAILED);
    m[0] = '1';
    CHECK("sync: msync MS_SYNC", msync(m, PAGE, MS_SYNC) == 0);
    m[PAGE] = '2';
    CHECK("sync: msync MS_ASYNC", msync(m, 3 * PAGE, MS_ASYNC) == 0);
    m[2 * PAGE + 7] = '3';
    m[1] = '4'; /* after msync: the page was write-protected again, this store counts too */
    CHECK("sync: munmap", munmap(m, 3 * PAGE) == 0);
    close(fd);
    fd = open("sync", O_RDONLY);
    char buf[3 * PAGE];
    CHECK("sync: reread", read(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    CHECK("sync: data reached the file", buf[0] == '1' && buf[1] == '4' && buf[PAGE] == '2' &&
                                         buf[2 * PAGE + 7] == '3' && buf[2] == 'A');
    close(fd);
    /* fsync writes back too. */
    fd = open("sync", O_RDWR);
    m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    m[100] = 'F';
    CHECK("sync: fsync", fsync(fd) == 0);
    int fd2 = open("sync", O_RDONLY);
    CHECK("sync: fsync'd data read through another fd", byte_at(fd2, 100) == 'F');
    close(fd2);
    munmap(m, PAGE);
    close(fd);
}

static void private_cow(void) {
    int fd = make_file("priv", 2);
    char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char *s = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK("private: mmaps", p != MAP_FAILED && s != MAP_FAILED);
    p[0] = 'p';
    CHECK("private: own copy", p[0] == 'p' && p[1] == 'A');
    CHECK("private: shared mapping unchanged", s[0] == 'A');
    CHECK("private: msync", msync(p, 2 * PAGE, MS_SYNC) == 0);
    CHECK("private: file unchanged", byte_at(fd, 0) == 'A');
    pwrite(fd, "W", 1, 1);
    CHECK("private: copied page keeps its data", p[0] == 'p' && p[1] == 'A');
    pid_t pid = fork();
    if (pid == 0) {
        p[PAGE] = 'c';
        _exit(p[PAGE] == 'c' ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK("private: child's copy-on-write", WIFEXITED(st) && WEXITSTATUS(st) == 0 && p[PAGE] == 'B');
    CHECK("private: file unchanged after fork", byte_at(fd, PAGE) == 'B');
    munmap(p, 2 * PAGE);
    munmap(s, 2 * PAGE);
    close(fd);
}

static void truncate_sigbus(void) {
    int fd = make_file("trunc", 3);
    char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("trunc: mmap", m != MAP_FAILED);
    volatile char *v = m;
    CHECK("trunc: touch all", v[0] == 'A' && v[PAGE] == 'B' && v[2 * PAGE] == 'C');
    volatile char *pv = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    pv[2 * PAGE] = 'c'; /* a private copy of a page that truncation will cut off */
    v[PAGE + 5] = 'z';
    CHECK("trunc: ftruncate", ftruncate(fd, PAGE + 10) == 0);
    CHECK("trunc: page within EOF kept", v[PAGE + 5] == 'z' && v[PAGE + 9] == 'B');
    CHECK("trunc: tail of EOF page zeroed", v[PAGE + 10] == 0 && v[2 * PAGE - 1] == 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    bus_code = 0;
    int got = 0;
    if (sigsetjmp(env, 1) == 0) {
        (void)v[2 * PAGE];
    } else {
        got = 1;
    }
    CHECK("trunc: SIGBUS past EOF", got && bus_code == BUS_ADRERR);
    got = 0;
    if (sigsetjmp(env, 1) == 0) {
        v[2 * PAGE + 1] = 1;
    } else {
        got = 1;
    }
    CHECK("trunc: SIGBUS on store past EOF", got);
    got = 0;
    if (sigsetjmp(env, 1) == 0) {
        (void)pv[2 * PAGE];
    } else {
        got = 1;
    }
    CHECK("trunc: SIGBUS on a private copy past EOF", got);
    CHECK("trunc: private page within EOF", pv[PAGE + 5] == 'z');
    munmap((void *)pv, 3 * PAGE);
    CHECK("trunc: regrow", ftruncate(fd, 3 * PAGE) == 0);
    CHECK("trunc: regrown page reads zero", v[2 * PAGE] == 0);
    signal(SIGBUS, SIG_DFL);
    munmap(m, 3 * PAGE);
    close(fd);
}

static void errnos(void) {
    int fd = make_file("err", 1);
    char *m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    EXPECT_ERR("msync bad flags", msync(m, PAGE, 8), EINVAL);
    EXPECT_ERR("msync async|sync", msync(m, PAGE, MS_ASYNC | MS_SYNC), EINVAL);
    EXPECT_ERR("msync unaligned", msync(m + 1, PAGE, MS_SYNC), EINVAL);
    munmap(m, PAGE);
    EXPECT_ERR("msync unmapped", msync(m, PAGE, MS_SYNC), ENOMEM);
    report("msync len 0", msync(m, 0, MS_SYNC));
    int ro = open("err", O_RDONLY);
    EXPECT_ERR("mmap shared write on O_RDONLY", mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), EACCES);
    m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
    EXPECT_ERR("mprotect write on O_RDONLY shared", mprotect(m, PAGE, PROT_READ | PROT_WRITE), EACCES);
    munmap(m, PAGE);
    m = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, ro, 0);
    report("mprotect write on O_RDONLY private", mprotect(m, PAGE, PROT_READ | PROT_WRITE));
    munmap(m, PAGE);
    close(ro);
    close(fd);
}

static void dontneed_mincore(void) {
    /* Anonymous private memory: zero-filled again after DONTNEED. */
    char *a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 4; i++) a[i * PAGE] = 'x';
    unsigned char vec[4];
    CHECK("mincore: all touched", mincore(a, 4 * PAGE, vec) == 0 && vec[0] && vec[1] && vec[2] && vec[3]);
    CHECK("madvise DONTNEED", madvise(a + PAGE, 2 * PAGE, MADV_DONTNEED) == 0);
    CHECK("mincore: after DONTNEED", mincore(a, 4 * PAGE, vec) == 0 && vec[0] && !vec[1] && !vec[2] && vec[3]);
    CHECK("DONTNEED anon reads zero", a[PAGE] == 0 && a[0] == 'x');
    EXPECT_ERR("mincore unaligned", mincore(a + 1, PAGE, vec), EINVAL);
    munmap(a + 3 * PAGE, PAGE);
    EXPECT_ERR("mincore unmapped", mincore(a, 4 * PAGE, vec), ENOMEM);
    munmap(a, 3 * PAGE);
    /* Shared file mapping: the data comes back from the file. */
    int fd = make_file("dn", 2);
    char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    m[3] = 'd';
    CHECK("madvise DONTNEED shared file", madvise(m, 2 * PAGE, MADV_DONTNEED) == 0);
    CHECK("DONTNEED shared file keeps data", m[3] == 'd' && m[4] == 'A' && m[PAGE] == 'B');
    CHECK("madvise WILLNEED", madvise(m, 2 * PAGE, MADV_WILLNEED) == 0);
    EXPECT_ERR("madvise FREE on file", madvise(m, PAGE, MADV_FREE), EINVAL);
    munmap(m, 2 * PAGE);
    close(fd);
    CHECK("DONTNEED shared file data in the file", (fd = open("dn", O_RDONLY)) >= 0 && byte_at(fd, 3) == 'd');
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 2) { puts("usage: pagecache SCRATCH_DIR"); return 2; }
    CHECK("mkdir scratch", mkdir(argv[1], 0755) == 0);
    CHECK("chdir scratch", chdir(argv[1]) == 0);
    fork_shares();
    write_shows_in_mapping();
    msync_munmap_reopen();
    private_cow();
    truncate_sigbus();
    errnos();
    dontneed_mincore();
    const char *names[] = {"fork", "wr", "sync", "priv", "trunc", "err", "dn"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) unlink(names[i]);
    CHECK("chdir /", chdir("/") == 0);
    CHECK("rmdir scratch", rmdir(argv[1]) == 0);
    return 0;
}
