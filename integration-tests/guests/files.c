/* File system calls in a fresh scratch directory argv[1] (created and removed by the guest). */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>

struct linux_dirent64 {
    unsigned long d_ino;
    long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lists a directory with raw getdents64, sorted, with d_type letters. */
static void list_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) { printf("list %s: %s\n", path, ename(errno)); return; }
    char buf[512]; /* small buffer: forces several getdents64 calls */
    char *names[256];
    int n = 0;
    for (;;) {
        long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (r < 0) { printf("getdents64: %s\n", ename(errno)); break; }
        if (r == 0) break;
        for (long off = 0; off < r;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            char t = d->d_type == DT_DIR ? 'd' : d->d_type == DT_REG ? 'f' : d->d_type == DT_LNK ? 'l' : '?';
            if (n < 256) {
                names[n] = malloc(strlen(d->d_name) + 3);
                sprintf(names[n], "%s/%c", d->d_name, t);
                n++;
            }
            off += d->d_reclen;
        }
    }
    close(fd);
    qsort(names, n, sizeof names[0], cmpstr);
    printf("list %s:", path);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

static void show_stat(const char *label, int r, const struct stat *st) {
    if (r != 0) { printf("%s: %s\n", label, ename(errno)); return; }
    const char *type = S_ISREG(st->st_mode) ? "reg" : S_ISDIR(st->st_mode) ? "dir" : S_ISLNK(st->st_mode) ? "lnk" : "other";
    printf("%s: type=%s mode=%04o size=%lld nlink=%lu\n", label, type, st->st_mode & 07777,
           S_ISDIR(st->st_mode) ? -1LL : (long long)st->st_size, (unsigned long)st->st_nlink);
}

static void cat_file(const char *label, const char *path) {
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) { printf("%s: open %s\n", label, ename(errno)); return; }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) { printf("%s: read %s\n", label, ename(errno)); return; }
    buf[n] = 0;
    printf("%s: [%s]\n", label, buf);
}

int main(int argc, char **argv) {
    if (argc < 2) { puts("usage: files SCRATCH_DIR"); return 2; }
    const char *dir = argv[1];
    struct stat st;
    char buf[256];

    umask(022);
    CHECK("umask returns previous", umask(022) == 022);
    CHECK("mkdir scratch", mkdir(dir, 0777) == 0);
    show_stat("stat scratch", stat(dir, &st), &st);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK("open scratch O_DIRECTORY", dirfd >= 0);
    CHECK("chdir scratch", chdir(dir) == 0);
    char cwd[PATH_MAX];
    CHECK("getcwd == scratch", getcwd(cwd, sizeof cwd) && strcmp(cwd, dir) == 0);

    /* create / write / read / lseek */
    int fd = open("a.txt", O_CREAT | O_WRONLY | O_TRUNC, 0666);
    CHECK("create a.txt", fd >= 0);
    CHECK("write 11 bytes", write(fd, "hello world", 11) == 11);
    CHECK("lseek SEEK_CUR", lseek(fd, 0, SEEK_CUR) == 11);
    CHECK("lseek SEEK_SET 6", lseek(fd, 6, SEEK_SET) == 6);
    CHECK("overwrite", write(fd, "WORLD", 5) == 5);
    CHECK("lseek SEEK_END", lseek(fd, 0, SEEK_END) == 11);
    CHECK("lseek past end", lseek(fd, 20, SEEK_SET) == 20);
    CHECK("write after hole", write(fd, "!", 1) == 1);
    show_stat("fstat a.txt", fstat(fd, &st), &st);
    CHECK("read on O_WRONLY fails EBADF", read(fd, buf, 1) == -1 && errno == EBADF);
    close(fd);
    fd = open("a.txt", O_RDONLY);
    memset(buf, 0, sizeof buf);
    CHECK("read whole file", read(fd, buf, sizeof buf) == 21);
    CHECK("hole reads as zeros", memcmp(buf, "hello WORLD\0\0\0\0\0\0\0\0\0!", 21) == 0);
    CHECK("read at EOF returns 0", read(fd, buf, sizeof buf) == 0);
    CHECK("pread", pread(fd, buf, 5, 6) == 5 && memcmp(buf, "WORLD", 5) == 0);
    CHECK("pread leaves offset", lseek(fd, 0, SEEK_CUR) == 21);
    CHECK("write on O_RDONLY fails EBADF", write(fd, "x", 1) == -1 && errno == EBADF);
    close(fd);
    fd = open("a.txt", O_RDWR);
    CHECK("pwrite", pwrite(fd, "HELLO", 5, 0) == 5);
    CHECK("pwrite leaves offset", lseek(fd, 0, SEEK_CUR) == 0);
    struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
    CHECK("writev", writev(fd, iov, 2) == 4);
    char r1[3] = {0}, r2[4] = {0};
    struct iovec riov[2] = {{r1, 2}, {r2, 3}};
    lseek(fd, 0, SEEK_SET);
    CHECK("readv", readv(fd, riov, 2) == 5 && strcmp(r1, "ab") == 0 && strcmp(r2, "cdO") == 0);
    close(fd);
    cat_file("a.txt", "a.txt");

    /* O_APPEND, O_EXCL */
    fd = open("a.txt", O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    CHECK("O_APPEND write", write(fd, "++", 2) == 2);
    CHECK("O_APPEND offset at end", lseek(fd, 0, SEEK_CUR) == 23);
    close(fd);
    EXPECT_ERR("O_EXCL on existing", open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    fd = open("b.txt", O_CREAT | O_EXCL | O_WRONLY, 0600);
    CHECK("O_EXCL on new", fd >= 0);
    CHECK("write b", write(fd, "bee\n", 4) == 4);
    close(fd);
    show_stat("stat b.txt (0600)", stat("b.txt", &st), &st);

    /* truncate / ftruncate */
    CHECK("truncate to 5", truncate("a.txt", 5) == 0);
    cat_file("after truncate", "a.txt");
    fd = open("a.txt", O_RDWR);
    CHECK("ftruncate to 8000", ftruncate(fd, 8000) == 0);
    show_stat("fstat after ftruncate", fstat(fd, &st), &st);
    CHECK("ftruncate to 3", ftruncate(fd, 3) == 0);
    close(fd);
    cat_file("after ftruncate", "a.txt");

    /* chmod / access */
    CHECK("chmod 0640", chmod("a.txt", 0640) == 0);
    show_stat("stat a.txt", stat("a.txt", &st), &st);
    CHECK("access F_OK", access("a.txt", F_OK) == 0);
    CHECK("access R_OK", access("a.txt", R_OK) == 0);
    EXPECT_ERR("access missing", access("nope", F_OK), ENOENT);
    fd = open("a.txt", O_RDONLY);
    CHECK("fchmod 0604", fchmod(fd, 0604) == 0);
    close(fd);
    show_stat("stat after fchmod", stat("a.txt", &st), &st);

    /* directories */
    CHECK("mkdir sub", mkdir("sub", 0755) == 0);
    CHECK("mkdir sub/deep", mkdir("sub/deep", 0700) == 0);
    show_stat("stat sub/deep", stat("sub/deep", &st), &st);
    EXPECT_ERR("mkdir existing", mkdir("sub", 0755), EEXIST);
    EXPECT_ERR("rmdir non-empty", rmdir("sub"), ENOTEMPTY);
    CHECK("rmdir sub/deep", rmdir("sub/deep") == 0);

    /* symlink / readlink / lstat */
    CHECK("symlink", symlink("a.txt", "link") == 0);
    ssize_t n = readlink("link", buf, sizeof buf);
    CHECK("readlink", n == 5 && memcmp(buf, "a.txt", 5) == 0);
    show_stat("lstat link", lstat("link", &st), &st);
    show_stat("stat link", stat("link", &st), &st);
    EXPECT_ERR("readlink on regular file", readlink("a.txt", buf, sizeof buf), EINVAL);
    CHECK("dangling symlink", symlink("missing", "dangle") == 0);
    EXPECT_ERR("stat dangling", stat("dangle", &st), ENOENT);
    show_stat("lstat dangling", lstat("dangle", &st), &st);
    CHECK("symlink to dir", symlink("sub", "sublink") == 0);
    CHECK("open through dir symlink", (fd = open("sublink/x", O_CREAT | O_WRONLY, 0644)) >= 0);
    close(fd);

    /* link */
    CHECK("link", link("b.txt", "b2.txt") == 0);
    show_stat("stat b.txt after link", stat("b.txt", &st), &st);
    cat_file("b2.txt", "b2.txt");

    /* rename */
    CHECK("rename file", rename("b2.txt", "c.txt") == 0);
    EXPECT_ERR("stat old name", stat("b2.txt", &st), ENOENT);
    /* Both names are links to one inode: rename does nothing and succeeds. */
    CHECK("rename between hard links of one inode", rename("c.txt", "b.txt") == 0);
    CHECK("both names remain", access("c.txt", F_OK) == 0 && access("b.txt", F_OK) == 0);
    CHECK("unlink c.txt", unlink("c.txt") == 0);
    fd = open("c.txt", O_CREAT | O_WRONLY, 0644);
    CHECK("write c.txt", fd >= 0 && write(fd, "sea", 3) == 3);
    close(fd);
    CHECK("rename over existing", rename("c.txt", "b.txt") == 0);
    cat_file("b.txt after rename-over", "b.txt");
    show_stat("stat b.txt after rename-over", stat("b.txt", &st), &st);
    CHECK("rename into subdir", rename("b.txt", "sub/b.txt") == 0);
    CHECK("rename dir", rename("sub", "sub2") == 0);
    list_dir(".");
    list_dir("sub2");

    /* getdents with many entries */
    CHECK("mkdir many", mkdir("many", 0755) == 0);
    int many_ok = 1;
    for (int i = 0; i < 40; i++) {
        snprintf(buf, sizeof buf, "many/file-%02d-with-a-longish-name", i);
        int f = open(buf, O_CREAT | O_WRONLY, 0644);
        if (f < 0) many_ok = 0; else close(f);
    }
    CHECK("create 40 files", many_ok);
    list_dir("many");

    /* dup / dup2 / dup3 / fcntl */
    fd = open("a.txt", O_RDONLY);
    int d1 = dup(fd);
    CHECK("dup returns lowest free", d1 > fd);
    CHECK("dup shares offset", lseek(fd, 2, SEEK_SET) == 2 && lseek(d1, 0, SEEK_CUR) == 2);
    CHECK("dup2 to 50", dup2(fd, 50) == 50);
    CHECK("dup2 same fd", dup2(50, 50) == 50);
    CHECK("dup3 O_CLOEXEC", dup3(fd, 51, O_CLOEXEC) == 51);
    CHECK("FD_CLOEXEC set by dup3", fcntl(51, F_GETFD) == FD_CLOEXEC);
    CHECK("FD_CLOEXEC clear on dup2", fcntl(50, F_GETFD) == 0);
    EXPECT_ERR("dup3 same fd", dup3(50, 50, 0), EINVAL);
    CHECK("F_SETFD", fcntl(50, F_SETFD, FD_CLOEXEC) == 0 && fcntl(50, F_GETFD) == FD_CLOEXEC);
    CHECK("F_DUPFD >= 60", fcntl(fd, F_DUPFD, 60) == 60);
    CHECK("F_DUPFD_CLOEXEC >= 60", fcntl(fd, F_DUPFD_CLOEXEC, 60) == 61 && fcntl(61, F_GETFD) == FD_CLOEXEC);
    CHECK("F_GETFL O_RDONLY", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    int wfd = open("a.txt", O_WRONLY);
    CHECK("F_SETFL O_APPEND", fcntl(wfd, F_SETFL, O_APPEND) == 0 && (fcntl(wfd, F_GETFL) & O_APPEND));
    CHECK("F_GETFL O_WRONLY", (fcntl(wfd, F_GETFL) & O_ACCMODE) == O_WRONLY);
    CHECK("append via F_SETFL", write(wfd, "Z", 1) == 1);
    close(wfd);
    close(d1); close(50); close(51); close(60); close(61);
    EXPECT_ERR("close closed fd", close(50), EBADF);
    close(fd);
    cat_file("a.txt final", "a.txt");

    /* fchdir / chdir .. */
    CHECK("chdir sub2", chdir("sub2") == 0);
    CHECK("getcwd in sub2", getcwd(cwd, sizeof cwd) && strlen(cwd) > 5 && strcmp(cwd + strlen(cwd) - 5, "/sub2") == 0);
    CHECK("fchdir back", fchdir(dirfd) == 0);
    CHECK("getcwd after fchdir", getcwd(cwd, sizeof cwd) && strcmp(cwd, dir) == 0);
    CHECK("chdir ..", chdir("sub2/..") == 0 && getcwd(cwd, sizeof cwd) && strcmp(cwd, dir) == 0);

    /* *at calls relative to dirfd */
    CHECK("chdir /", chdir("/") == 0);
    fd = openat(dirfd, "a.txt", O_RDONLY);
    CHECK("openat relative to dirfd", fd >= 0 && read(fd, buf, 3) == 3);
    close(fd);
    CHECK("fstatat", fstatat(dirfd, "link", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
    CHECK("mkdirat", mkdirat(dirfd, "atdir", 0755) == 0);
    CHECK("unlinkat dir", unlinkat(dirfd, "atdir", AT_REMOVEDIR) == 0);
    CHECK("chdir back", chdir(dir) == 0);

    /* unlink while open */
    fd = open("a.txt", O_RDONLY);
    CHECK("unlink open file", unlink("a.txt") == 0);
    EXPECT_ERR("stat unlinked", stat("a.txt", &st), ENOENT);
    CHECK("read unlinked-but-open file", pread(fd, buf, 3, 0) == 3 && memcmp(buf, "abc", 3) == 0);
    close(fd);

    /* cleanup */
    const char *files[] = {"link", "dangle", "sublink", "sub2/x", "sub2/b.txt"};
    for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++)
        if (unlink(files[i]) != 0) printf("bad unlink %s: %s\n", files[i], ename(errno));
    for (int i = 0; i < 40; i++) {
        snprintf(buf, sizeof buf, "many/file-%02d-with-a-longish-name", i);
        unlink(buf);
    }
    CHECK("rmdir many", rmdir("many") == 0);
    CHECK("rmdir sub2", rmdir("sub2") == 0);
    list_dir(".");
    CHECK("chdir /tmp", chdir("/") == 0);
    CHECK("rmdir scratch", rmdir(dir) == 0);
    close(dirfd);
    return 0;
}
