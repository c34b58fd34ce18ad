/* Inode flags on a tmpfs (mounted in the cwd, as root): FS_IOC_GETFLAGS/SETFLAGS, what
 * immutable and append-only forbid, statx attributes and birth time, fchmod's owner
 * check, and FICLONE's checks. Prints lines that are the same natively and under uml. */
#include "common.h"
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

static int getflags(int fd) {
    int f = -1;
    if (ioctl(fd, FS_IOC_GETFLAGS, &f) != 0) return -1;
    return f;
}

static long setflags(int fd, int f) { return ioctl(fd, FS_IOC_SETFLAGS, &f); }

static void show_statx(const char *name, const char *path) {
    struct statx sx;
    if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) {
        printf("bad statx %s\n", name);
        return;
    }
    unsigned long long flags = STATX_ATTR_COMPRESSED | STATX_ATTR_IMMUTABLE |
                               STATX_ATTR_APPEND | STATX_ATTR_NODUMP;
    time_t now = time(NULL);
    int btime_ok = (sx.stx_mask & STATX_BTIME) && sx.stx_btime.tv_sec <= now &&
                   sx.stx_btime.tv_sec > now - 600;
    printf("statx %s attrs=%#llx mask=%#llx btime=%d\n", name,
           (unsigned long long)sx.stx_attributes & flags,
           (unsigned long long)sx.stx_attributes_mask & flags, btime_ok);
}

/* struct file_attr (FILE_ATTR_SIZE_VER0 = 24 bytes). */
struct fattr {
    unsigned long long xflags;
    unsigned extsize, nextents, projid, cowextsize;
};

static long getattr_(int dfd, const char *p, struct fattr *a, size_t n, unsigned fl) {
    return syscall(468, dfd, p, a, n, fl);
}

static long setattr_(int dfd, const char *p, struct fattr *a, size_t n, unsigned fl) {
    return syscall(469, dfd, p, a, n, fl);
}

static void file_attr_calls(void) {
    int fd = open("t/fa", O_CREAT | O_RDWR, 0644);
    struct fattr a = {0};
    unsigned char big[32];
    memset(big, 0xff, sizeof big);
    report("fa-get", getattr_(AT_FDCWD, "t/fa", &a, sizeof a, 0));
    printf("fa-xflags-new=%#llx projid=%u\n", a.xflags, a.projid);
    a.xflags = 0x80 | 0x40; /* NODUMP | NOATIME */
    report("fa-set-nodump-noatime", setattr_(AT_FDCWD, "t/fa", &a, sizeof a, 0));
    memset(&a, 0xff, sizeof a);
    long r = getattr_(fd, "", &a, sizeof a, AT_EMPTY_PATH);
    printf("fa-get-empty-path=%ld xflags=%#llx flags=%#x\n", r, a.xflags, getflags(fd));
    r = getattr_(fd, NULL, (struct fattr *)big, sizeof big, AT_EMPTY_PATH);
    printf("fa-get-big=%ld tail=%d\n", r, big[24] | big[31]);
    a = (struct fattr){.xflags = 0x8};
    report("fa-set-immutable", setattr_(AT_FDCWD, "t/fa", &a, sizeof a, 0));
    EXPECT_ERR("fa-immutable-write", open("t/fa", O_WRONLY), EPERM);
    a = (struct fattr){0};
    report("fa-clear", setattr_(AT_FDCWD, "t/fa", &a, sizeof a, 0));
    printf("fa-flags-cleared=%#x\n", getflags(fd));
    a = (struct fattr){.projid = 5};
    EXPECT_ERR("fa-set-projid", setattr_(AT_FDCWD, "t/fa", &a, sizeof a, 0), EOPNOTSUPP);
    a = (struct fattr){.xflags = 0x800, .extsize = 65536};
    EXPECT_ERR("fa-set-extsize", setattr_(AT_FDCWD, "t/fa", &a, sizeof a, 0), EOPNOTSUPP);
    a = (struct fattr){.xflags = 0x4};
    EXPECT_ERR("fa-set-unknown", setattr_(AT_FDCWD, "t/fa", &a, sizeof a, 0), EINVAL);
    a = (struct fattr){0};
    EXPECT_ERR("fa-small", getattr_(AT_FDCWD, "t/fa", &a, 23, 0), EINVAL);
    EXPECT_ERR("fa-too-big", getattr_(AT_FDCWD, "t/fa", &a, 4097, 0), E2BIG);
    EXPECT_ERR("fa-bad-flags", setattr_(AT_FDCWD, "t/fa", &a, sizeof a, 0x2), EINVAL);
    EXPECT_ERR("fa-null-path", getattr_(AT_FDCWD, NULL, &a, sizeof a, 0), EFAULT);
    EXPECT_ERR("fa-file-dirfd", getattr_(fd, "fa", &a, sizeof a, 0), ENOTDIR);
    EXPECT_ERR("fa-missing", getattr_(AT_FDCWD, "t/none", &a, sizeof a, 0), ENOENT);
    EXPECT_ERR("fa-null-attr", setattr_(AT_FDCWD, "t/fa", NULL, sizeof a, 0), EFAULT);
    close(fd);
    unlink("t/fa");
}

int main(void) {
    mkdir("t", 0755);
    if (mount("tmpfs", "t", "tmpfs", 0, NULL) != 0) {
        printf("bad mount tmpfs (errno=%s)\n", ename(errno));
        return 1;
    }
    int fd = open("t/f", O_CREAT | O_RDWR, 0644);
    CHECK("create", fd >= 0 && write(fd, "abc", 3) == 3);
    printf("flags-new=%#x\n", getflags(fd));
    show_statx("new", "t/f");
    EXPECT_ERR("set-compr", setflags(fd, FS_COMPR_FL), EOPNOTSUPP);
    report("set-nodump", setflags(fd, FS_NODUMP_FL));
    printf("flags=%#x\n", getflags(fd));
    show_statx("nodump", "t/f");

    /* Append-only. */
    report("set-append", setflags(fd, FS_APPEND_FL));
    show_statx("append", "t/f");
    EXPECT_ERR("append-open-wronly", open("t/f", O_WRONLY), EPERM);
    EXPECT_ERR("append-open-trunc", open("t/f", O_WRONLY | O_APPEND | O_TRUNC), EPERM);
    int afd = open("t/f", O_WRONLY | O_APPEND);
    CHECK("append-open-append", afd >= 0 && write(afd, "d", 1) == 1);
    EXPECT_ERR("append-clear-o_append", fcntl(afd, F_SETFL, 0), EPERM);
    close(afd);
    CHECK("append-open-rdonly", (afd = open("t/f", O_RDONLY)) >= 0);
    close(afd);
    EXPECT_ERR("append-unlink", unlink("t/f"), EPERM);
    EXPECT_ERR("append-rename", rename("t/f", "t/g"), EPERM);
    EXPECT_ERR("append-link", link("t/f", "t/h"), EPERM);
    EXPECT_ERR("append-chmod", chmod("t/f", 0600), EPERM);
    EXPECT_ERR("append-chown", chown("t/f", 1, 1), EPERM);
    EXPECT_ERR("append-truncate", truncate("t/f", 0), EPERM);
    EXPECT_ERR("append-ftruncate", ftruncate(fd, 0), EPERM);
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    EXPECT_ERR("append-utimens-set", utimensat(AT_FDCWD, "t/f", ts, 0), EPERM);
    report("append-utimens-now", utimensat(AT_FDCWD, "t/f", NULL, 0));
    struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    EXPECT_ERR("append-utimens-now-omit", utimensat(AT_FDCWD, "t/f", now_omit, 0), EPERM);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    report("append-utimens-omit", utimensat(AT_FDCWD, "t/f", omit, 0));
    EXPECT_ERR("append-setxattr", setxattr("t/f", "user.x", "1", 1, 0), EPERM);
    report("append-access-w", access("t/f", W_OK));

    /* Immutable. */
    report("set-immutable", setflags(fd, FS_IMMUTABLE_FL));
    show_statx("immutable", "t/f");
    EXPECT_ERR("immutable-open-wronly", open("t/f", O_WRONLY | O_APPEND), EPERM);
    CHECK("immutable-open-rdonly", (afd = open("t/f", O_RDONLY)) >= 0);
    close(afd);
    EXPECT_ERR("immutable-access-w", access("t/f", W_OK), EPERM);
    EXPECT_ERR("immutable-unlink", unlink("t/f"), EPERM);
    EXPECT_ERR("immutable-utimens-now", utimensat(AT_FDCWD, "t/f", NULL, 0), EPERM);
    EXPECT_ERR("immutable-fchmod", fchmod(fd, 0600), EPERM);
    EXPECT_ERR("immutable-fallocate", fallocate(fd, 0, 0, 4096), EPERM);
    report("clear-flags", setflags(fd, 0));
    report("unlink-cleared", unlink("t/f"));
    close(fd);

    /* Directories: an immutable one gains and loses nothing, an append-only one loses
     * nothing. */
    mkdir("t/d", 0755);
    close(open("t/d/in", O_CREAT | O_WRONLY, 0644));
    int dfd = open("t/d", O_RDONLY | O_DIRECTORY);
    report("dir-immutable", setflags(dfd, FS_IMMUTABLE_FL));
    EXPECT_ERR("immutable-dir-create", open("t/d/new", O_CREAT | O_WRONLY, 0644), EPERM);
    EXPECT_ERR("immutable-dir-unlink", unlink("t/d/in"), EPERM);
    EXPECT_ERR("immutable-dir-mkdir", mkdir("t/d/sub", 0755), EPERM);
    report("dir-append", setflags(dfd, FS_APPEND_FL));
    int nfd = open("t/d/new", O_CREAT | O_WRONLY, 0644);
    CHECK("append-dir-create", nfd >= 0);
    close(nfd);
    EXPECT_ERR("append-dir-unlink", unlink("t/d/in"), EPERM);
    EXPECT_ERR("append-dir-rename", rename("t/d/in", "t/moved"), EPERM);
    report("dir-clear", setflags(dfd, 0));
    close(dfd);
    unlink("t/d/in");
    unlink("t/d/new");
    rmdir("t/d");

    /* Without CAP_LINUX_IMMUTABLE (an unprivileged owner), and as a non-owner. */
    fd = open("t/own", O_CREAT | O_RDWR, 0666);
    int other = open("t/other", O_CREAT | O_RDWR, 0666);
    CHECK("chown-own", fchown(fd, 65534, 65534) == 0);
    CHECK("seteuid", setegid(65534) == 0 && seteuid(65534) == 0);
    report("user-set-nodump", setflags(fd, FS_NODUMP_FL));
    EXPECT_ERR("user-set-immutable", setflags(fd, FS_IMMUTABLE_FL), EPERM);
    EXPECT_ERR("user-set-not-owner", setflags(other, FS_NODUMP_FL), EPERM);
    EXPECT_ERR("user-fchmod-not-owner", fchmod(other, 0600), EPERM);
    report("user-fchmod-owner", fchmod(fd, 0600));
    CHECK("seteuid-back", seteuid(0) == 0 && setegid(0) == 0);

    /* file_getattr/file_setattr: the same flags as FS_XFLAG_*; tmpfs keeps no XFS ones. */
    file_attr_calls();

    /* FICLONE: tmpfs shares no extents. */
    int ro = open("t/other", O_RDONLY);
    int dir = open("t", O_RDONLY | O_DIRECTORY);
    EXPECT_ERR("clone", ioctl(other, FICLONE, fd), EOPNOTSUPP);
    EXPECT_ERR("clone-into-readonly", ioctl(ro, FICLONE, fd), EBADF);
    EXPECT_ERR("clone-dir", ioctl(other, FICLONE, dir), EISDIR);
    EXPECT_ERR("clone-bad-fd", ioctl(other, FICLONE, 999), EBADF);
    int null = open("/dev/null", O_RDONLY);
    EXPECT_ERR("clone-other-fs", ioctl(other, FICLONE, null), EXDEV);
    struct file_clone_range r = {.src_fd = fd, .src_length = 4096};
    EXPECT_ERR("clonerange", ioctl(other, FICLONERANGE, &r), EOPNOTSUPP);
    EXPECT_ERR("getflags-devnull", ioctl(null, FS_IOC_GETFLAGS, &r), ENOTTY);
    close(null);
    close(dir);
    close(ro);
    close(other);
    close(fd);

    report("umount", umount("t"));
    rmdir("t");
    return 0;
}
