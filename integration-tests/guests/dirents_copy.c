/* The old getdents(2) records (type in the record's last byte), a removed directory
 * (ENOENT), and copy_file_range's checks in Linux's order; in a tmpfs mounted in the cwd
 * (as root). Prints lines that are the same natively and under uml. */
#include "common.h"
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

struct old_dirent {
    unsigned long d_ino;
    unsigned long d_off;
    unsigned short d_reclen;
    char d_name[];
};

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

/* Names and types of a directory read with getdents(2), sorted. */
static void list_old(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    char buf[256];
    long n;
    int total = 0, aligned = 1, named = 0;
    char names[16][32];
    char tiny[8];
    EXPECT_ERR("getdents-tiny", syscall(SYS_getdents, fd, tiny, sizeof tiny), EINVAL);
    while ((n = syscall(SYS_getdents, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct old_dirent *d = (struct old_dirent *)(buf + off);
            char type = buf[off + d->d_reclen - 1];
            if (d->d_reclen % 8) aligned = 0;
            if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..") && named < 16)
                snprintf(names[named++], sizeof names[0], " %s:%d", d->d_name, type);
            total++;
            off += d->d_reclen;
        }
    }
    qsort(names, named, sizeof names[0], by_name);
    printf("getdents entries=%d aligned=%d end=%s:", total, aligned, n == 0 ? "0" : ename(errno));
    for (int i = 0; i < named; i++) printf("%s", names[i]);
    printf("\n");
    close(fd);
}

int main(void) {
    mkdir("t", 0755);
    if (mount("tmpfs", "t", "tmpfs", 0, NULL) != 0) {
        printf("bad mount tmpfs (errno=%s)\n", ename(errno));
        return 1;
    }
    close(open("t/file", O_CREAT | O_WRONLY, 0644));
    mkdir("t/dir", 0755);
    symlink("file", "t/link");
    list_old("t");

    mkdir("t/gone", 0755);
    int gone = open("t/gone", O_RDONLY | O_DIRECTORY);
    rmdir("t/gone");
    char buf[256];
    EXPECT_ERR("getdents-removed", syscall(SYS_getdents, gone, buf, sizeof buf), ENOENT);
    EXPECT_ERR("getdents64-removed", syscall(SYS_getdents64, gone, buf, sizeof buf), ENOENT);
    int file = open("t/file", O_RDONLY);
    EXPECT_ERR("getdents-file", syscall(SYS_getdents, file, buf, sizeof buf), ENOTDIR);
    close(file);

    /* copy_file_range: kinds before modes, then immutable, wrap, size limit, overlap. */
    int src = open("t/src", O_CREAT | O_RDWR, 0644);
    CHECK("src", write(src, "0123456789abcdef0123456789abcdef", 32) == 32);
    int dst = open("t/dst", O_CREAT | O_RDWR, 0644);
    int rdonly = open("t/dst", O_RDONLY);
    int append = open("t/dst", O_WRONLY | O_APPEND);
    int dir = open("t", O_RDONLY | O_DIRECTORY);
    int pipefd[2];
    pipe(pipefd);
    loff_t in = 0, out = 0;
    EXPECT_ERR("cfr-flags", copy_file_range(src, &in, dst, &out, 8, 1), EINVAL);
    EXPECT_ERR("cfr-dir", copy_file_range(src, &in, dir, &out, 8, 0), EISDIR);
    EXPECT_ERR("cfr-pipe-read-end", copy_file_range(src, &in, pipefd[0], NULL, 8, 0), EINVAL);
    EXPECT_ERR("cfr-readonly", copy_file_range(src, &in, rdonly, &out, 8, 0), EBADF);
    EXPECT_ERR("cfr-append", copy_file_range(src, &in, append, &out, 8, 0), EBADF);
    out = INT64_MAX - 4;
    EXPECT_ERR("cfr-wrap", copy_file_range(src, &in, dst, &out, UINT64_MAX / 2 + 8, 0),
               EOVERFLOW);
    out = INT64_MAX;
    EXPECT_ERR("cfr-past-max", copy_file_range(src, &in, dst, &out, 8, 0), EFBIG);
    in = 0;
    out = 4;
    EXPECT_ERR("cfr-overlap", copy_file_range(src, &in, src, &out, 16, 0), EINVAL);
    out = 40;
    long n = copy_file_range(src, &in, src, &out, 16, 0);
    printf("cfr-same-file-apart=%ld in=%lld out=%lld\n", n, (long long)in, (long long)out);
    in = 30;
    out = 0;
    n = copy_file_range(src, &in, dst, &out, 100, 0);
    printf("cfr-to-eof=%ld\n", n);
    in = 100;
    n = copy_file_range(src, &in, dst, &out, 100, 0);
    printf("cfr-past-eof=%ld\n", n);
    int flags = FS_IMMUTABLE_FL;
    report("set-immutable", ioctl(dst, FS_IOC_SETFLAGS, &flags));
    in = 0;
    EXPECT_ERR("cfr-immutable", copy_file_range(src, &in, dst, &out, 8, 0), EPERM);
    flags = 0;
    report("clear-immutable", ioctl(dst, FS_IOC_SETFLAGS, &flags));
    close(src);
    close(dst);
    close(rdonly);
    close(append);
    close(dir);
    close(gone);
    report("umount", umount("t"));
    rmdir("t");
    return 0;
}
