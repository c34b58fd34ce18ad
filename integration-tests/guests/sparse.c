/* Sparse files: holes that take no space, fallocate's modes, SEEK_DATA/SEEK_HOLE, on a
 * size-limited tmpfs and on ext4 and ext2 of a loop device (mkfs run inside). Run as root in
 * a fresh directory; prints lines that are the same natively and under uml, and undoes its
 * mounts and loop device before it exits. */
#include "common.h"
#include "loop_image.h"
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

static long blocks(int fd) {
    struct stat st;
    fstat(fd, &st);
    return (long)st.st_blocks;
}

static long long size(int fd) {
    struct stat st;
    fstat(fd, &st);
    return (long long)st.st_size;
}

static void seeks(const char *name, int fd, off_t off) {
    errno = 0;
    off_t d = lseek(fd, off, SEEK_DATA);
    int de = errno;
    errno = 0;
    off_t h = lseek(fd, off, SEEK_HOLE);
    int he = errno;
    printf("%s data=%lld%s%s hole=%lld%s%s\n", name, (long long)d, d < 0 ? " " : "",
           d < 0 ? ename(de) : "", (long long)h, h < 0 ? " " : "", h < 0 ? ename(he) : "");
}

static void falloc(const char *name, int fd, int mode, off_t off, off_t len) {
    report(name, fallocate(fd, mode, off, len));
}

static long bfree(const char *path) {
    struct statfs sf;
    statfs(path, &sf);
    return (long)sf.f_bfree;
}

/* FS_IOC_FIEMAP of the whole file: its extents in blocks of `bs`, with their LAST and
 * UNWRITTEN flags; then the count alone (fm_extent_count 0) and a bad flag (EBADR). */
static void fiemap_show(const char *name, int fd, long bs) {
    struct {
        struct fiemap f;
        struct fiemap_extent e[4];
    } m;
    memset(&m, 0, sizeof m);
    m.f.fm_length = ~0ULL;
    m.f.fm_extent_count = 4;
    m.f.fm_flags = FIEMAP_FLAG_SYNC;
    if (ioctl(fd, FS_IOC_FIEMAP, &m) < 0) {
        printf("%s fiemap=%s\n", name, ename(errno));
        return;
    }
    printf("%s fiemap n=%u:", name, m.f.fm_mapped_extents);
    for (unsigned i = 0; i < m.f.fm_mapped_extents && i < 4; i++)
        printf(" %llu+%llu/%#x%s", (unsigned long long)(m.e[i].fe_logical / bs),
               (unsigned long long)(m.e[i].fe_length / bs),
               m.e[i].fe_flags & (FIEMAP_EXTENT_LAST | FIEMAP_EXTENT_UNWRITTEN),
               m.e[i].fe_physical ? "" : " phys=0");
    memset(&m, 0, sizeof m);
    m.f.fm_length = ~0ULL;
    int r = ioctl(fd, FS_IOC_FIEMAP, &m);
    printf(" count=%d/%u", r, m.f.fm_mapped_extents);
    m.f.fm_flags = ~0u;
    errno = 0;
    r = ioctl(fd, FS_IOC_FIEMAP, &m);
    printf(" bad-flags=%d %s %#x\n", r, ename(errno), m.f.fm_flags);
}

static void tmpfs_part(void) {
    mkdir("t", 0755);
    report("mount-tmpfs", mount("sparse", "t", "tmpfs", 0, "size=1m"));
    int fd = open("t/f", O_CREAT | O_RDWR, 0644);
    /* A write 8 GiB in on a 1 MiB tmpfs takes one page. */
    CHECK("far-write", pwrite(fd, "x", 1, 1LL << 33) == 1);
    printf("far size=%lld blocks=%ld\n", size(fd), blocks(fd));
    seeks("far@0", fd, 0);
    seeks("far@end-1", fd, (1LL << 33));
    seeks("far@end", fd, (1LL << 33) + 1);
    seeks("far@-1", fd, -1);
    char c = 1;
    CHECK("hole-reads-zero", pread(fd, &c, 1, 1 << 20) == 1 && c == 0);
    report("truncate-past-size", ftruncate(fd, 64 << 20));
    printf("truncated blocks=%ld\n", blocks(fd));
    /* Fill the file system, then punch a hole: the space comes back. */
    static char buf[1 << 20];
    memset(buf, 'a', sizeof buf);
    long n = pwrite(fd, buf, sizeof buf, 0);
    printf("fill=%s\n", n < 0 ? ename(errno) : n == (long)sizeof buf ? "whole" : "short");
    EXPECT_ERR("full-write", pwrite(fd, buf, 4096, 2 << 20), ENOSPC);
    long before = blocks(fd), free0 = bfree("t");
    falloc("punch", fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 65536);
    printf("punch freed blocks=%ld fs-blocks=%ld\n", before - blocks(fd), bfree("t") - free0);
    seeks("punched@0", fd, 0);
    seeks("punched@4096", fd, 4096);
    CHECK("punched-zero", pread(fd, &c, 1, 8192) == 1 && c == 0);
    CHECK("write-after-punch", pwrite(fd, "yz", 2, 3 << 20) == 2);
    EXPECT_ERR("punch-no-keep", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
    EXPECT_ERR("zero-range", fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4096), EOPNOTSUPP);
    EXPECT_ERR("collapse", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096), EOPNOTSUPP);
    EXPECT_ERR("insert", fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 4096), EOPNOTSUPP);
    EXPECT_ERR("alloc-too-much", fallocate(fd, 0, 4 << 20, 2 << 20), ENOSPC);
    /* A shared mapping sees a punched hole at once. */
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 1 << 20);
    CHECK("mmap", m != MAP_FAILED);
    m[0] = 'q';
    falloc("punch-mapped", fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1 << 20, 4096);
    printf("mapped after punch=%d\n", m[0]);
    munmap(m, 8192);
    close(fd);
    /* Allocation: KEEP_SIZE keeps the size; allocated blocks are holes to SEEK_DATA. */
    fd = open("t/g", O_CREAT | O_RDWR, 0644);
    falloc("alloc-keep", fd, FALLOC_FL_KEEP_SIZE, 0, 16384);
    printf("alloc-keep size=%lld blocks=%ld\n", size(fd), blocks(fd));
    falloc("alloc", fd, 0, 0, 8192);
    printf("alloc size=%lld blocks=%ld\n", size(fd), blocks(fd));
    fiemap_show("tmpfs", fd, 4096);
    seeks("alloc@0", fd, 0);
    CHECK("write-alloc", pwrite(fd, "d", 1, 4096) == 1);
    seeks("written@0", fd, 0);
    close(fd);
    unlink("t/f");
    unlink("t/g");
    report("umount-tmpfs", umount("t"));
}

/* The file `d/f` holding blocks of 'a', 'b', 'c' (bs bytes each). */
static int three_blocks(const char *path, long bs) {
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    char *b = malloc(3 * bs);
    memset(b, 'a', bs);
    memset(b + bs, 'b', bs);
    memset(b + 2 * bs, 'c', bs);
    CHECK("write-3", pwrite(fd, b, 3 * bs, 0) == 3 * bs);
    fsync(fd);
    free(b);
    return fd;
}

/* The file's bytes at the edges of its blocks. */
static void edges(const char *name, int fd, long bs) {
    long long n = size(fd);
    printf("%s:", name);
    for (long long at = 0; at < n; at += bs) {
        char x[2] = {0, 0};
        pread(fd, &x[0], 1, at);
        pread(fd, &x[1], 1, at + bs - 1);
        printf(" %c%c", x[0] ? x[0] : '0', x[1] ? x[1] : '0');
    }
    printf(" size=%lld blocks=%ld\n", n, blocks(fd) * 512 / bs);
}

static void disk_part(const char *dev, const char *type) {
    char mkfs_path[64];
    snprintf(mkfs_path, sizeof mkfs_path, "/sbin/mkfs.%s", type);
    char *mkfs[] = {mkfs_path, "-q", "-F", "-b", "1024", (char *)dev, NULL};
    printf("mkfs.%s=%d\n", type, run_quiet(mkfs));
    mkdir("d", 0755);
    report("mount-disk", mount(dev, "d", type, 0, NULL));
    long bs = 1024;
    int fd = three_blocks("d/f", bs);
    falloc("d-punch", fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, bs, bs);
    edges("punched", fd, bs);
    seeks("punched@0", fd, 0);
    seeks("punched@bs", fd, bs);
    falloc("d-punch-partial", fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 20);
    edges("punched-partial", fd, bs);
    falloc("d-zero", fd, FALLOC_FL_ZERO_RANGE, bs - 1, bs + 2);
    edges("zeroed", fd, bs);
    seeks("zeroed@0", fd, 0);
    falloc("d-collapse-unaligned", fd, FALLOC_FL_COLLAPSE_RANGE, 1, bs);
    falloc("d-collapse-to-end", fd, FALLOC_FL_COLLAPSE_RANGE, bs, 2 * bs);
    falloc("d-collapse", fd, FALLOC_FL_COLLAPSE_RANGE, bs, bs);
    edges("collapsed", fd, bs);
    falloc("d-insert-at-end", fd, FALLOC_FL_INSERT_RANGE, 2 * bs, bs);
    falloc("d-insert-keep", fd, FALLOC_FL_INSERT_RANGE | FALLOC_FL_KEEP_SIZE, 0, bs);
    falloc("d-insert", fd, FALLOC_FL_INSERT_RANGE, bs, 2 * bs);
    edges("inserted", fd, bs);
    seeks("inserted@bs", fd, bs);
    falloc("d-alloc-keep", fd, FALLOC_FL_KEEP_SIZE, 4 * bs, 2 * bs);
    edges("alloc-keep", fd, bs);
    fiemap_show(type, fd, bs);
    close(fd);
    unlink("d/f");
    report("umount-disk", umount("d"));
}

int main(void) {
    tmpfs_part();

    char dev[64];
    int fd = loop_image("image", 16, dev, sizeof dev);
    disk_part(dev, "ext4");
    disk_part(dev, "ext2");
    report("clear", ioctl(fd, LOOP_CLR_FD, 0));
    close(fd);
    return 0;
}
