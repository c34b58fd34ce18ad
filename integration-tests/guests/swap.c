/* Swap areas: swapon/swapoff of files mkswap made on an ext4 of a loop device and of a loop
 * device itself, their lines in /proc/swaps, ETXTBSY for an active swap file, sysinfo's
 * swap total, priorities, and the errnos Linux gives (no header, a file shorter than its
 * header says, tmpfs, a directory, already on, not on, bad flags, no CAP_SYS_ADMIN). Run
 * as root in a fresh directory; prints lines that are the same natively and under uml, and
 * undoes its swap areas, mounts and loop devices before it exits. */
#include "common.h"
#include "loop_image.h"
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/sysinfo.h>

static long swapon_(const char *path, int flags) { return syscall(SYS_swapon, path, flags); }
static long swapoff_(const char *path) { return syscall(SYS_swapoff, path); }

/* A file of `kb` KiB written with zeros (no holes). */
static void zero_file(const char *path, int kb) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    char b[1024] = {0};
    for (int i = 0; i < kb; i++)
        if (write(fd, b, sizeof b) != sizeof b) printf("bad write %s\n", path);
    fsync(fd);
    close(fd);
}

static int mkswap(const char *path) {
    char *argv[] = {"/sbin/mkswap", (char *)path, NULL};
    return run_quiet(argv);
}

/* The /proc/swaps line of the file whose path ends with `name`: type, size, priority
 * (`prio` 0: not shown). */
static void show(const char *name, int with_prio) {
    FILE *f = fopen("/proc/swaps", "r");
    char line[512];
    int found = 0;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f)) {
        char path[400], type[32];
        long size, used, prio;
        if (sscanf(line, "%399s %31s %ld %ld %ld", path, type, &size, &used, &prio) != 5) continue;
        size_t l = strlen(path);
        if (l < n || strcmp(path + l - n, name) != 0 || path[l - n - 1] != '/') continue;
        found = 1;
        if (with_prio)
            printf("swaps %s: %s size=%ld prio=%ld\n", name, type, size, prio);
        else
            printf("swaps %s: %s size=%ld\n", name, type, size);
    }
    if (!found) printf("swaps %s: none\n", name);
    if (f) fclose(f);
}

static long prio_of(const char *name) {
    FILE *f = fopen("/proc/swaps", "r");
    char line[512], path[400], type[32];
    long size, used, prio, r = 0;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%399s %31s %ld %ld %ld", path, type, &size, &used, &prio) == 5 &&
            strlen(path) > n && strcmp(path + strlen(path) - n, name) == 0)
            r = prio;
    if (f) fclose(f);
    return r;
}

static unsigned long long total_swap(void) {
    struct sysinfo si;
    sysinfo(&si);
    return (unsigned long long)si.totalswap * si.mem_unit;
}

int main(void) {
    char dev[64];
    int lfd = loop_image("image", 32, dev, sizeof dev);
    /* 4 KiB blocks: extents page-aligned, so every page after the header counts. */
    char *mkfs[] = {"/sbin/mkfs.ext4", "-q", "-F", "-b", "4096", dev, NULL};
    printf("mkfs=%d\n", run_quiet(mkfs));
    mkdir("d", 0755);
    report("mount", mount(dev, "d", "ext4", 0, NULL));

    zero_file("d/sw1", 1024);
    zero_file("d/sw2", 2048);
    zero_file("d/plain", 1024);
    zero_file("d/short", 1024);
    printf("mkswap=%d %d %d\n", mkswap("d/sw1"), mkswap("d/sw2"), mkswap("d/short"));
    CHECK("truncate", truncate("d/short", 512 * 1024) == 0);

    unsigned long long before = total_swap();
    report("swapon sw1", swapon_("d/sw1", 0));
    unsigned long long after = total_swap();
    printf("totalswap grew by %llu KiB\n", (after - before) / 1024);
    show("sw1", 0);
    EXPECT_ERR("swapon again", swapon_("d/sw1", 0), EBUSY);
    EXPECT_ERR("swapon no header", swapon_("d/plain", 0), EINVAL);
    EXPECT_ERR("swapon short", swapon_("d/short", 0), EINVAL);
    EXPECT_ERR("swapon missing", swapon_("d/missing", 0), ENOENT);
    EXPECT_ERR("swapon dir", swapon_("d", 0), EISDIR);
    EXPECT_ERR("swapon bad flags", swapon_("d/sw2", 0x80000), EINVAL);
    EXPECT_ERR("swapoff not on", swapoff_("d/sw2"), EINVAL);
    /* An active swap file is not written, shrunk or reallocated; growing it is fine. */
    int sfd = open("d/sw1", O_RDWR);
    EXPECT_ERR("write swap file", write(sfd, "x", 1), ETXTBSY);
    EXPECT_ERR("write nothing to swap file", write(sfd, "x", 0), ETXTBSY);
    EXPECT_ERR("shrink swap file", ftruncate(sfd, 4096), ETXTBSY);
    EXPECT_ERR("truncate swap file", truncate("d/sw1", 8192), ETXTBSY);
    EXPECT_ERR("fallocate swap file", fallocate(sfd, 0, 0, 4096), ETXTBSY);
    int other = open("d/plain", O_RDWR);
    EXPECT_ERR("copy into swap file", copy_file_range(other, NULL, sfd, NULL, 10, 0), ETXTBSY);
    EXPECT_ERR("copy out of swap file", copy_file_range(sfd, NULL, other, NULL, 10, 0), ETXTBSY);
    char rb[10];
    printf("read swap file: %zd\n", read(sfd, rb, sizeof rb));
    close(other);
    close(sfd);

    report("swapon sw2", swapon_("d/sw2", 0));
    show("sw2", 0);
    printf("default priorities step down: %d\n", prio_of("sw2") == prio_of("sw1") - 1);
    long p1 = prio_of("sw1");
    report("swapoff sw1", swapoff_("d/sw1"));
    show("sw1", 0);
    printf("next priority moved up: %d\n", prio_of("sw2") == p1);
    report("swapoff sw2", swapoff_("d/sw2"));
    report("swapon sw2 preferred", swapon_("d/sw2", SWAP_FLAG_PREFER | 7));
    show("sw2", 1);

    CHECK("seteuid", seteuid(65534) == 0);
    EXPECT_ERR("swapon unprivileged", swapon_("d/sw1", 0), EPERM);
    EXPECT_ERR("swapoff unprivileged", swapoff_("d/sw2"), EPERM);
    CHECK("seteuid back", seteuid(0) == 0);
    report("swapoff sw2 again", swapoff_("d/sw2"));
    printf("totalswap back: %d\n", total_swap() == before);

    mkdir("t", 0755);
    report("mount tmpfs", mount("swap", "t", "tmpfs", 0, "size=4m"));
    zero_file("t/sw", 1024);
    printf("mkswap tmpfs=%d\n", mkswap("t/sw"));
    EXPECT_ERR("swapon tmpfs", swapon_("t/sw", 0), EINVAL);
    report("umount tmpfs", umount("t"));

    /* A loop device as a swap partition. */
    char dev2[64];
    int lfd2 = loop_image("image2", 1, dev2, sizeof dev2);
    printf("mkswap partition=%d\n", mkswap(dev2));
    report("swapon partition", swapon_(dev2, 0));
    show(strrchr(dev2, '/') + 1, 0);
    EXPECT_ERR("swapon partition again", swapon_(dev2, 0), EBUSY);
    report("swapoff partition", swapoff_(dev2));
    report("clear partition", ioctl(lfd2, LOOP_CLR_FD, 0));
    close(lfd2);

    report("umount", umount("d"));
    report("clear", ioctl(lfd, LOOP_CLR_FD, 0));
    close(lfd);
    return 0;
}
