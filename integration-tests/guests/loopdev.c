/* Loop devices: /dev/loop-control, binding an image, the block and loop requests, mkfs.ext4
 * (the host's, run inside) and mounting the device. Prints lines that are the same natively
 * (as root, on the host's loop devices) and under uml; device numbers are not printed. */
#include "common.h"
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#define IMAGE_SIZE (32 << 20)

/* Field 7 (sectors written) of /sys/block/loopN/stat; its io_ticks must be non-zero. */
static unsigned long sectors_written(int n) {
    char path[64];
    unsigned long v[10] = {0};
    snprintf(path, sizeof path, "/sys/block/loop%d/stat", n);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%lu %lu %lu %lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3],
                     &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) != 10) {
        printf("bad stat file %s\n", path);
    }
    if (f) fclose(f);
    return v[6];
}

int main(void) {
    struct stat st;
    int img = open("image", O_CREAT | O_RDWR, 0600);
    CHECK("image", img >= 0 && ftruncate(img, IMAGE_SIZE) == 0);

    int ctl = open("/dev/loop-control", O_RDWR);
    CHECK("open-control", ctl >= 0);
    CHECK("control-is-char",
          fstat(ctl, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 &&
              minor(st.st_rdev) == 237);
    EXPECT_ERR("control-bad-request", ioctl(ctl, 0x4C8F, 0), ENOSYS);
    EXPECT_ERR("control-remove-negative", ioctl(ctl, LOOP_CTL_REMOVE, -1), EINVAL);
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    CHECK("get-free", n >= 0);
    char dev[64];
    snprintf(dev, sizeof dev, "/dev/loop%d", n);
    CHECK("dev-is-block", stat(dev, &st) == 0 && S_ISBLK(st.st_mode) &&
                              major(st.st_rdev) == 7 && (int)minor(st.st_rdev) == n);
    int fd = open(dev, O_RDWR);
    CHECK("open-dev", fd >= 0);
    struct loop_info64 info;
    EXPECT_ERR("status-unbound", ioctl(fd, LOOP_GET_STATUS64, &info), ENXIO);
    EXPECT_ERR("clear-unbound", ioctl(fd, LOOP_CLR_FD, 0), ENXIO);
    EXPECT_ERR("set-fd-bad-fd", ioctl(fd, LOOP_SET_FD, 9999), EBADF);
    int dirfd = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_ERR("set-fd-dir", ioctl(fd, LOOP_SET_FD, dirfd), EINVAL);
    report("set-fd", ioctl(fd, LOOP_SET_FD, img));
    EXPECT_ERR("set-fd-busy", ioctl(fd, LOOP_SET_FD, img), EBUSY);
    EXPECT_ERR("remove-bound", ioctl(ctl, LOOP_CTL_REMOVE, n), EBUSY);

    memset(&info, 0, sizeof info);
    strcpy((char *)info.lo_file_name, "uml-image");
    report("set-status64", ioctl(fd, LOOP_SET_STATUS64, &info));
    memset(&info, 0, sizeof info);
    report("get-status64", ioctl(fd, LOOP_GET_STATUS64, &info));
    struct stat ist;
    fstat(img, &ist);
    printf("status name=%s number-ok=%d inode-ok=%d offset=%llu flags=%u\n",
           (char *)info.lo_file_name, (int)info.lo_number == n, info.lo_inode == ist.st_ino,
           (unsigned long long)info.lo_offset, info.lo_flags & LO_FLAGS_READ_ONLY);

    unsigned long long size64 = 0;
    unsigned long sectors = 0;
    int ssz = 0;
    unsigned int pbsz = 0;
    report("getsize64", ioctl(fd, BLKGETSIZE64, &size64));
    report("getsize", ioctl(fd, BLKGETSIZE, &sectors));
    report("sszget", ioctl(fd, BLKSSZGET, &ssz));
    report("pbszget", ioctl(fd, BLKPBSZGET, &pbsz));
    printf("size=%llu sectors=%lu ssz=%d pbsz=%u\n", size64, sectors, ssz, pbsz);
    EXPECT_ERR("block-size-bad", ioctl(fd, LOOP_SET_BLOCK_SIZE, 1000), EINVAL);
    report("block-size-4096", ioctl(fd, LOOP_SET_BLOCK_SIZE, 4096));
    report("sszget-after", ioctl(fd, BLKSSZGET, &ssz));
    printf("ssz=%d\n", ssz);
    report("block-size-512", ioctl(fd, LOOP_SET_BLOCK_SIZE, 512));

    /* Data goes to the image, at the device's offset. */
    char buf[512] = "hello loop";
    CHECK("pwrite-dev", pwrite(fd, buf, 512, 4096) == 512);
    fsync(fd);
    char back[512] = {0};
    CHECK("image-has-it", pread(img, back, 512, 4096) == 512 && !strcmp(back, "hello loop"));
    CHECK("seek-end", lseek(fd, 0, SEEK_END) == IMAGE_SIZE);
    EXPECT_ERR("write-past-end", pwrite(fd, buf, 512, IMAGE_SIZE), ENOSPC);
    CHECK("read-past-end", pread(fd, back, 512, IMAGE_SIZE) == 0);
    unsigned long long range[2] = {4096, 4096};
    report("discard", ioctl(fd, BLKDISCARD, range));
    CHECK("discarded-zero", pread(fd, back, 512, 4096) == 512 && back[0] == 0);
    range[0] = 100;
    EXPECT_ERR("discard-unaligned", ioctl(fd, BLKDISCARD, range), EINVAL);

    /* mkfs.ext4 on the device, then mount it. */
    char *mkfs[] = {"/sbin/mkfs.ext4", "-q", "-F", dev, NULL};
    printf("mkfs.ext4=%d\n", run_quiet(mkfs));
    mkdir("mnt", 0755);
    EXPECT_ERR("mount-ext4-as-ext2", mount(dev, "mnt", "ext2", 0, NULL), EINVAL);
    report("mount-ext4", mount(dev, "mnt", "ext4", 0, NULL));
    struct statfs sf;
    CHECK("statfs-ext4", statfs("mnt", &sf) == 0 && sf.f_type == 0xEF53);
    printf("statfs bsize=%ld\n", (long)sf.f_bsize);
    CHECK("lost+found", stat("mnt/lost+found", &st) == 0 && (st.st_mode & 07777) == 0700);
    EXPECT_ERR("mount-ext4-same-point", mount(dev, "mnt", "ext4", 0, NULL), EBUSY);
    /* Its files: the block size mkfs chose, inode flags, statx's birth time and direct I/O
     * alignment (ext4 sets the extents flag of its own, left out here). */
    const int shown = FS_COMPR_FL | FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL;
    int af = open("mnt/attr", O_CREAT | O_RDWR, 0644);
    CHECK("blksize-is-fs-bsize", af >= 0 && fstat(af, &st) == 0 && st.st_blksize == sf.f_bsize);
    int fl = 0;
    report("ext4-getflags", ioctl(af, FS_IOC_GETFLAGS, &fl));
    printf("ext4-flags=%#x\n", fl & shown);
    int set = fl | FS_COMPR_FL | FS_NODUMP_FL;
    report("ext4-set-compr-nodump", ioctl(af, FS_IOC_SETFLAGS, &set));
    set = fl | FS_DIRSYNC_FL;
    EXPECT_ERR("ext4-set-dirsync-file", ioctl(af, FS_IOC_SETFLAGS, &set), EOPNOTSUPP);
    struct statx sx;
    CHECK("ext4-statx", statx(AT_FDCWD, "mnt/attr", 0, STATX_BTIME | STATX_DIOALIGN, &sx) == 0);
    printf("ext4-statx attrs=%#llx mask=%#llx btime=%d dio=%d\n",
           (unsigned long long)sx.stx_attributes & shown,
           (unsigned long long)sx.stx_attributes_mask & shown, !!(sx.stx_mask & STATX_BTIME),
           (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_mem_align && sx.stx_dio_offset_align);
    set = fl | FS_IMMUTABLE_FL;
    report("ext4-set-immutable", ioctl(af, FS_IOC_SETFLAGS, &set));
    EXPECT_ERR("ext4-immutable-unlink", unlink("mnt/attr"), EPERM);
    report("ext4-clear", ioctl(af, FS_IOC_SETFLAGS, &fl));
    close(af);
    report("ext4-unlink", unlink("mnt/attr"));
    /* /sys/block/loopN/stat: a synced write shows as sectors written. */
    unsigned long before = sectors_written(n);
    int w = open("mnt/synced", O_CREAT | O_WRONLY, 0644);
    static char mb[1 << 20];
    memset(mb, 'x', sizeof mb);
    CHECK("write-1m", write(w, mb, sizeof mb) == (long)sizeof mb);
    CHECK("fsync", fsync(w) == 0);
    close(w);
    printf("stat-sectors-grow=%d\n", sectors_written(n) - before >= (1 << 20) / 512);
    int f = open("mnt/kept", O_CREAT | O_WRONLY, 0644);
    CHECK("write-ext4", f >= 0 && write(f, "kept", 4) == 4);
    /* Not read-only while a file is open for writing. */
    EXPECT_ERR("remount-ro-writer", mount(NULL, "mnt", NULL, MS_REMOUNT | MS_RDONLY, NULL), EBUSY);
    close(f);
    report("umount-ext4", umount("mnt"));
    report("mount-again", mount(dev, "mnt", "ext4", MS_RDONLY, NULL));
    CHECK("file-kept", access("mnt/kept", F_OK) == 0);
    EXPECT_ERR("ro-ext4-creat", open("mnt/new", O_CREAT | O_WRONLY, 0644), EROFS);
    EXPECT_ERR("ro-ext4-link-dir", link("mnt", "mnt/dirlink"), EROFS);
    report("umount-again", umount("mnt"));

    /* BLKROSET: a read-only device takes no writes and no read-write mount. */
    int ro = -1;
    report("blkroget", ioctl(fd, BLKROGET, &ro));
    printf("ro=%d\n", ro);
    ro = 1;
    report("blkroset", ioctl(fd, BLKROSET, &ro));
    report("blkroget-set", ioctl(fd, BLKROGET, &ro));
    printf("ro=%d\n", ro);
    EXPECT_ERR("ro-dev-write", pwrite(fd, buf, 512, 0), EPERM);
    EXPECT_ERR("ro-dev-mount-rw", mount(dev, "mnt", "ext4", 0, NULL), EACCES);
    report("ro-dev-mount-ro", mount(dev, "mnt", "ext4", MS_RDONLY, NULL));
    report("ro-dev-umount", umount("mnt"));
    ro = 0;
    report("blkroset-clear", ioctl(fd, BLKROSET, &ro));
    /* BLKRASET/BLKRAGET: read-ahead in sectors, kept in whole pages. */
    unsigned long ra = 0;
    report("blkraset", ioctl(fd, BLKRASET, 4095UL));
    report("blkraget", ioctl(fd, BLKRAGET, &ra));
    printf("ra=%lu\n", ra);
    report("blkraset-back", ioctl(fd, BLKRASET, 256UL));

    report("clear", ioctl(fd, LOOP_CLR_FD, 0));
    close(fd);
    fd = open(dev, O_RDONLY);
    EXPECT_ERR("status-cleared", ioctl(fd, LOOP_GET_STATUS64, &info), ENXIO);
    close(fd);
    return 0;
}
