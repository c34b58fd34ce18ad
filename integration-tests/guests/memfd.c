/* memfd_create (flags, names, fstat, ftruncate + MAP_SHARED across fork) and fallocate on
 * an in-memory file (mode 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, and the errnos). */
#include "common.h"
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define PAGE 4096UL

static long memfd(const char *name, unsigned flags) {
    return syscall(SYS_memfd_create, name, flags);
}

static long falloc(int fd, int mode, long off, long len) {
    return syscall(SYS_fallocate, fd, mode, off, len);
}

static off_t size_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : -1;
}

static void create(void) {
    int fd = memfd("plain", 0);
    CHECK("memfd_create", fd >= 0);
    struct stat st;
    CHECK("memfd fstat", fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0 &&
                         (st.st_mode & 0777) == 0777);
    CHECK("memfd rw", write(fd, "abc", 3) == 3 && pread(fd, (char[3]){0}, 3, 0) == 3);
    CHECK("memfd no cloexec", fcntl(fd, F_GETFD) == 0);
    close(fd);
    fd = memfd("cx", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    CHECK("memfd cloexec", fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
    close(fd);
    char longname[300];
    memset(longname, 'n', sizeof longname);
    longname[249] = 0;
    fd = memfd(longname, 0);
    CHECK("memfd 249-byte name", fd >= 0);
    close(fd);
    longname[249] = 'n';
    longname[250] = 0;
    EXPECT_ERR("memfd 250-byte name", memfd(longname, 0), EINVAL);
    EXPECT_ERR("memfd bad flags", memfd("x", 0x1000), EINVAL);
    EXPECT_ERR("memfd bad name", memfd((const char *)8, 0), EFAULT);
}

static void shared_across_fork(void) {
    int fd = memfd("shm", MFD_CLOEXEC);
    CHECK("shm ftruncate", ftruncate(fd, 3 * PAGE) == 0 && size_of(fd) == 3 * PAGE);
    char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("shm mmap", m != MAP_FAILED);
    CHECK("shm zero", m[0] == 0 && m[3 * PAGE - 1] == 0);
    strcpy(m, "from parent");
    pid_t pid = fork();
    if (pid == 0) {
        int ok = strcmp(m, "from parent") == 0;
        strcpy(m + PAGE, "from child");
        _exit(ok ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK("shm child saw parent", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK("shm parent sees child", strcmp(m + PAGE, "from child") == 0);
    char buf[11] = {0};
    CHECK("shm read(2) sees child", pread(fd, buf, 10, PAGE) == 10 && strcmp(buf, "from child") == 0);
    /* A second mapping of the same memfd shares the pages too. */
    char *m2 = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, PAGE);
    CHECK("shm second mapping", m2 != MAP_FAILED && strcmp(m2, "from child") == 0);
    munmap(m2, PAGE);
    munmap(m, 3 * PAGE);
    close(fd);
}

static void fallocate_calls(void) {
    int fd = memfd("falloc", 0);
    CHECK("fallocate mode 0 extends", falloc(fd, 0, 0, 10000) == 0 && size_of(fd) == 10000);
    CHECK("fallocate mode 0 inside keeps size", falloc(fd, 0, 10, 100) == 0 && size_of(fd) == 10000);
    CHECK("fallocate KEEP_SIZE", falloc(fd, FALLOC_FL_KEEP_SIZE, 0, 20000) == 0 && size_of(fd) == 10000);
    char buf[PAGE];
    memset(buf, 'x', sizeof buf);
    pwrite(fd, buf, sizeof buf, 0);
    char *m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK("fallocate punch hole", falloc(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 200) == 0);
    char got[3] = {0};
    pread(fd, got, 3, 99);
    CHECK("punched hole reads zero", got[0] == 'x' && got[1] == 0 && size_of(fd) == 10000);
    CHECK("punched hole zero in mapping", m[99] == 'x' && m[100] == 0 && m[299] == 0 && m[300] == 'x');
    munmap(m, PAGE);
    EXPECT_ERR("fallocate punch without keep", falloc(fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP);
    EXPECT_ERR("fallocate zero range on tmpfs", falloc(fd, FALLOC_FL_ZERO_RANGE, 0, 10), EOPNOTSUPP);
    EXPECT_ERR("fallocate collapse+keep", falloc(fd, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, PAGE), EOPNOTSUPP);
    EXPECT_ERR("fallocate punch+zero", falloc(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 10), EOPNOTSUPP);
    EXPECT_ERR("fallocate collapse on tmpfs", falloc(fd, FALLOC_FL_COLLAPSE_RANGE, 0, PAGE), EOPNOTSUPP);
    EXPECT_ERR("fallocate unknown mode", falloc(fd, 0x100, 0, 10), EOPNOTSUPP);
    EXPECT_ERR("fallocate len 0", falloc(fd, 0, 0, 0), EINVAL);
    EXPECT_ERR("fallocate negative offset", falloc(fd, 0, -1, 10), EINVAL);
    EXPECT_ERR("fallocate too big", falloc(fd, 0, 0x7fffffffffffffffL, 10), EFBIG);
    EXPECT_ERR("fallocate bad fd", falloc(999, 0, 0, 10), EBADF);
    int p[2];
    pipe(p);
    EXPECT_ERR("fallocate pipe", falloc(p[1], 0, 0, 10), ESPIPE);
    close(p[0]); close(p[1]);
    int ro = open("/dev/null", O_RDONLY);
    EXPECT_ERR("fallocate read-only fd", falloc(ro, 0, 0, 10), EBADF);
    close(ro);
    int dn = open("/dev/null", O_WRONLY);
    EXPECT_ERR("fallocate /dev/null", falloc(dn, 0, 0, 10), ENODEV);
    close(dn);
    close(fd);
}

static void seals(void) {
    int fd = memfd("sealed", MFD_ALLOW_SEALING);
    CHECK("seals: none yet", fcntl(fd, F_GET_SEALS) == 0);
    CHECK("seals: size", ftruncate(fd, 2 * PAGE) == 0);
    CHECK("seals: add shrink|grow", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
    CHECK("seals: get", fcntl(fd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW));
    EXPECT_ERR("seals: shrink", ftruncate(fd, PAGE), EPERM);
    EXPECT_ERR("seals: grow", ftruncate(fd, 3 * PAGE), EPERM);
    EXPECT_ERR("seals: write past end", pwrite(fd, "x", 1, 2 * PAGE), EPERM);
    CHECK("seals: write inside", pwrite(fd, "x", 1, 10) == 1);
    EXPECT_ERR("seals: fallocate past end", falloc(fd, 0, 0, 3 * PAGE), EPERM);
    char *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    EXPECT_ERR("seals: write seal while mapped", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
    munmap(m, PAGE);
    CHECK("seals: write seal", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0);
    EXPECT_ERR("seals: write", pwrite(fd, "x", 1, 0), EPERM);
    EXPECT_ERR("seals: mmap shared writable", mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EPERM);
    m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK("seals: mmap shared read-only", m != MAP_FAILED && m[10] == 'x');
    EXPECT_ERR("seals: mprotect writable", mprotect(m, PAGE, PROT_READ | PROT_WRITE), EACCES);
    munmap(m, PAGE);
    m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK("seals: private writable mapping", m != MAP_FAILED);
    munmap(m, PAGE);
    EXPECT_ERR("seals: punch hole", falloc(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10), EPERM);
    CHECK("seals: seal", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == 0);
    EXPECT_ERR("seals: sealed", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), EPERM);
    EXPECT_ERR("seals: bad seal", fcntl(fd, F_ADD_SEALS, 0x1000), EINVAL);
    close(fd);
    fd = memfd("unsealable", 0);
    CHECK("seals: default F_SEAL_SEAL", fcntl(fd, F_GET_SEALS) == F_SEAL_SEAL);
    EXPECT_ERR("seals: add without ALLOW_SEALING", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), EPERM);
    close(fd);
    EXPECT_ERR("seals: on a pipe", fcntl(0, F_GET_SEALS), EINVAL);
}

int main(void) {
    create();
    seals();
    shared_across_fork();
    fallocate_calls();
    return 0;
}
