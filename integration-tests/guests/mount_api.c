/* The new mount API in the working directory: fsopen/fsconfig/fsmount/move_mount of a
 * tmpfs, fspick reconfiguring it, open_tree clones (recursive), mount_setattr and
 * open_tree_attr, MS_MOVE, their errnos, and statmount/listmount/statx mount ids over the
 * same mounts. Prints lines that are the same natively (as root) and under uml; ids
 * themselves are never printed, only how they relate. */
#include "common.h"
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#ifndef __NR_statmount
#define __NR_statmount 457
#define __NR_listmount 458
#endif
#define NR_open_tree_attr 467
#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x200
#endif
/* Newer than the C library's headers. */
#define MNT_ID_UNIQUE 0x4000U
#define SM_SB_BASIC 0x1ULL
#define SM_MNT_BASIC 0x2ULL
#define SM_MNT_ROOT 0x8ULL
#define SM_MNT_POINT 0x10ULL
#define SM_FS_TYPE 0x20ULL
#define LSMT_ROOT_ID 0xffffffffffffffffULL

static char cwd[4096];

static long fsopen_(const char *n, unsigned f) { return syscall(__NR_fsopen, n, f); }
static long fsconfig_(int fd, unsigned cmd, const char *k, const void *v, int aux) {
    return syscall(__NR_fsconfig, fd, cmd, k, v, aux);
}
static long fsmount_(int fd, unsigned f, unsigned a) { return syscall(__NR_fsmount, fd, f, a); }
static long fspick_(int d, const char *p, unsigned f) { return syscall(__NR_fspick, d, p, f); }
static long move_mount_(int fd, const char *fp, int td, const char *tp, unsigned f) {
    return syscall(__NR_move_mount, fd, fp, td, tp, f);
}
static long open_tree_(int d, const char *p, unsigned f) { return syscall(__NR_open_tree, d, p, f); }
static long setattr_(int d, const char *p, unsigned f, struct mount_attr *a, size_t s) {
    return syscall(__NR_mount_setattr, d, p, f, a, s);
}

struct req {
    unsigned size, spare;
    unsigned long long mnt_id, param, ns_id;
};
struct sm {
    unsigned size, mnt_opts;
    unsigned long long mask;
    unsigned sb_dev_major, sb_dev_minor;
    unsigned long long sb_magic;
    unsigned sb_flags, fs_type;
    unsigned long long mnt_id, mnt_parent_id;
    unsigned mnt_id_old, mnt_parent_id_old;
    unsigned long long mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
    unsigned mnt_root, mnt_point;
    unsigned long long mnt_ns_id;
    unsigned fs_subtype, sb_source, opt_num, opt_array, opt_sec_num, opt_sec_array;
    unsigned long long supported_mask;
    unsigned uidmap_num, uidmap, gidmap_num, gidmap;
    unsigned long long spare2[43];
    char str[];
};

static long statmount_(unsigned long long id, unsigned long long mask, void *buf, size_t n) {
    struct req r = {24, 0, id, mask, 0};
    return syscall(__NR_statmount, &r, buf, n, 0);
}
static long listmount_(unsigned long long id, unsigned long long last, unsigned long long *ids,
                       size_t n) {
    struct req r = {24, 0, id, last, 0};
    return syscall(__NR_listmount, &r, ids, n, 0);
}

/* statx's unique mount id (0 on failure), and whether it is a mount root. */
static unsigned long long mnt_id(const char *p, int *root) {
    struct statx sx;
    if (statx(AT_FDCWD, p, 0, MNT_ID_UNIQUE, &sx) != 0) return 0;
    if (root)
        *root = (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
                    ? !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)
                    : -1;
    return (sx.stx_mask & MNT_ID_UNIQUE) ? sx.stx_mnt_id : 0;
}

/* The /proc/self/mounts options of mount point `rel` in the working directory. */
static void show_mount(const char *tag, const char *rel) {
    char want[4200], line[4400], opts[512] = "none";
    snprintf(want, sizeof want, " %s/%s ", cwd, rel);
    FILE *f = fopen("/proc/self/mounts", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, want);
        if (p) sscanf(p + strlen(want), "%*s %511s", opts);
    }
    if (f) fclose(f);
    printf("%s: %s\n", tag, opts);
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

/* The number after optional field `key` ("shared:", "master:") of the mountinfo line of
 * mount point `rel` in the working directory (0: none). */
static int optional_field(const char *rel, const char *key) {
    char want[4200], line[4400];
    snprintf(want, sizeof want, " %s/%s ", cwd, rel);
    FILE *f = fopen("/proc/self/mountinfo", "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, want), *dash = strstr(line, " - ");
        if (!p || !dash) continue;
        char *k = strstr(p, key);
        n = k && k < dash ? atoi(k + strlen(key)) : 0;
    }
    if (f) fclose(f);
    return n;
}

int main(void) {
    if (!getcwd(cwd, sizeof cwd)) return 1;
    mkdir("a", 0755);
    mkdir("b", 0755);
    mkdir("c", 0755);
    close(open("file", O_CREAT | O_WRONLY, 0644));
    long fd, mfd;

    /* fsopen */
    EXPECT_ERR("fsopen-nosuchfs", fsopen_("nosuchfs", 0), ENODEV);
    EXPECT_ERR("fsopen-bad-flags", fsopen_("tmpfs", 0x10), EINVAL);
    EXPECT_ERR("fsopen-bad-name", fsopen_((char *)8, 0), EFAULT);
    fd = fsopen_("tmpfs", FSOPEN_CLOEXEC);
    CHECK("fsopen", fd >= 0);
    CHECK("fsopen-cloexec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    char buf[64];
    EXPECT_ERR("fscontext-read", read(fd, buf, sizeof buf), ENODATA);

    /* fsconfig argument checks */
    EXPECT_ERR("fsconfig-bad-cmd", fsconfig_(fd, 100, "rw", NULL, 0), EOPNOTSUPP);
    EXPECT_ERR("fsconfig-flag-nokey", fsconfig_(fd, FSCONFIG_SET_FLAG, NULL, NULL, 0), EINVAL);
    EXPECT_ERR("fsconfig-flag-value", fsconfig_(fd, FSCONFIG_SET_FLAG, "rw", "x", 0), EINVAL);
    EXPECT_ERR("fsconfig-flag-aux", fsconfig_(fd, FSCONFIG_SET_FLAG, "rw", NULL, 1), EINVAL);
    EXPECT_ERR("fsconfig-string-novalue", fsconfig_(fd, FSCONFIG_SET_STRING, "source", NULL, 0),
               EINVAL);
    EXPECT_ERR("fsconfig-binary-aux", fsconfig_(fd, FSCONFIG_SET_BINARY, "sync", "x", 0), EINVAL);
    EXPECT_ERR("fsconfig-path-aux", fsconfig_(fd, FSCONFIG_SET_PATH, "sync", "/x", -1), EINVAL);
    EXPECT_ERR("fsconfig-fd-aux", fsconfig_(fd, FSCONFIG_SET_FD, "sync", NULL, -1), EINVAL);
    EXPECT_ERR("fsconfig-create-key", fsconfig_(fd, FSCONFIG_CMD_CREATE, "x", NULL, 0), EINVAL);
    EXPECT_ERR("fsconfig-bad-fd", fsconfig_(9999, FSCONFIG_SET_FLAG, "rw", NULL, 0), EBADF);
    EXPECT_ERR("fsconfig-negative-fd", fsconfig_(-1, FSCONFIG_SET_FLAG, "rw", NULL, 0), EINVAL);
    EXPECT_ERR("fsconfig-not-context", fsconfig_(1, FSCONFIG_SET_FLAG, "rw", NULL, 0), EINVAL);
    EXPECT_ERR("fsconfig-bad-key-ptr", fsconfig_(fd, FSCONFIG_SET_FLAG, (char *)8, NULL, 0),
               EFAULT);
    EXPECT_ERR("fsconfig-empty-key", fsconfig_(fd, FSCONFIG_SET_STRING, "", "x", 0), EINVAL);
    EXPECT_ERR("fsconfig-unknown-opt", fsconfig_(fd, FSCONFIG_SET_STRING, "nosuch", "1", 0),
               EINVAL);
    EXPECT_ERR("fsconfig-bad-size", fsconfig_(fd, FSCONFIG_SET_STRING, "size", "12q", 0), EINVAL);
    EXPECT_ERR("fsconfig-source-path", fsconfig_(fd, FSCONFIG_SET_PATH, "source", "/", AT_FDCWD),
               EINVAL);
    report("fsconfig-sync-path", fsconfig_(fd, FSCONFIG_SET_PATH, "sync", "/x", AT_FDCWD));
    report("fsconfig-sync-fd", fsconfig_(fd, FSCONFIG_SET_FD, "async", NULL, 0));
    report("fsconfig-source", fsconfig_(fd, FSCONFIG_SET_STRING, "source", "uml-api", 0));
    EXPECT_ERR("fsconfig-source-twice", fsconfig_(fd, FSCONFIG_SET_STRING, "source", "x", 0),
               EINVAL);
    report("fsconfig-size", fsconfig_(fd, FSCONFIG_SET_STRING, "size", "1m", 0));
    report("fsconfig-mode", fsconfig_(fd, FSCONFIG_SET_STRING, "mode", "750", 0));
    report("fsconfig-flag-rw", fsconfig_(fd, FSCONFIG_SET_FLAG, "rw", NULL, 0));
    EXPECT_ERR("fsmount-before-create", fsmount_(fd, 0, 0), EINVAL);
    EXPECT_ERR("reconfigure-before-create", fsconfig_(fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0),
               EBUSY);
    report("fsconfig-create", fsconfig_(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    EXPECT_ERR("fsconfig-create-twice", fsconfig_(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0), EBUSY);
    EXPECT_ERR("fsconfig-after-create", fsconfig_(fd, FSCONFIG_SET_FLAG, "ro", NULL, 0), EBUSY);

    /* fsmount */
    EXPECT_ERR("fsmount-bad-fd", fsmount_(9999, 0, 0), EBADF);
    EXPECT_ERR("fsmount-not-context", fsmount_(1, 0, 0), EINVAL);
    EXPECT_ERR("fsmount-bad-flags", fsmount_(fd, 0x80000000, 0), EINVAL);
    EXPECT_ERR("fsmount-bad-attr", fsmount_(fd, 0, 0x100), EINVAL);
    EXPECT_ERR("fsmount-bad-atime", fsmount_(fd, 0, 0x30), EINVAL);
    mfd = fsmount_(fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    CHECK("fsmount", mfd >= 0);
    EXPECT_ERR("fsmount-twice", fsmount_(fd, 0, 0), EBUSY);
    struct stat st;
    CHECK("detached-root-mode", fstat(mfd, &st) == 0 && S_ISDIR(st.st_mode) &&
                                    (st.st_mode & 07777) == 0750);
    int f2 = openat(mfd, "made-detached", O_CREAT | O_WRONLY, 0644);
    CHECK("create-in-detached", f2 >= 0);
    close(f2);
    CHECK("detached-not-in-tree", !exists("a/made-detached"));

    /* move_mount */
    EXPECT_ERR("move-bad-flags", move_mount_(mfd, "", AT_FDCWD, "a", 0x08), EINVAL);
    EXPECT_ERR("move-bad-from-fd", move_mount_(-1, "", AT_FDCWD, "a", MOVE_MOUNT_F_EMPTY_PATH),
               EBADF);
    EXPECT_ERR("move-from-missing", move_mount_(mfd, "nope", AT_FDCWD, "a", 0), ENOENT);
    EXPECT_ERR("move-bad-to-fd", move_mount_(mfd, "", -1, "a", MOVE_MOUNT_F_EMPTY_PATH), EBADF);
    EXPECT_ERR("move-to-missing",
               move_mount_(mfd, "", AT_FDCWD, "nope", MOVE_MOUNT_F_EMPTY_PATH), ENOENT);
    EXPECT_ERR("move-empty-no-flag", move_mount_(mfd, "", AT_FDCWD, "a", 0), ENOENT);
    EXPECT_ERR("move-not-root", move_mount_(AT_FDCWD, "b", AT_FDCWD, "a", 0), EINVAL);
    EXPECT_ERR("move-dir-on-file",
               move_mount_(mfd, "", AT_FDCWD, "file", MOVE_MOUNT_F_EMPTY_PATH), EINVAL);
    report("move-attach", move_mount_(mfd, "", AT_FDCWD, "a", MOVE_MOUNT_F_EMPTY_PATH));
    CHECK("attached-shows-file", exists("a/made-detached"));
    show_mount("attached", "a");
    int root = 0;
    unsigned long long id_a = mnt_id("a", &root);
    printf("attached-mount-root=%d\n", root);
    mnt_id("a/made-detached", &root);
    printf("attached-file-mount-root=%d\n", root);
    CHECK("statx-ids", id_a != 0 && id_a != mnt_id(".", NULL) &&
                           id_a == mnt_id("a/made-detached", NULL));
    report("move-again", move_mount_(mfd, "", AT_FDCWD, "b", MOVE_MOUNT_F_EMPTY_PATH));
    CHECK("moved-from-a", !exists("a/made-detached") && exists("b/made-detached"));
    CHECK("moved-id-kept", mnt_id("b", NULL) == id_a);
    close(mfd);
    CHECK("attached-survives-close", exists("b/made-detached"));

    /* fspick: reconfigure read-only and back */
    EXPECT_ERR("fspick-bad-flags", fspick_(AT_FDCWD, "b", 0x10), EINVAL);
    EXPECT_ERR("fspick-bad-fd", fspick_(-1, "b", 0), EBADF);
    EXPECT_ERR("fspick-missing", fspick_(AT_FDCWD, "nope", 0), ENOENT);
    EXPECT_ERR("fspick-not-root", fspick_(AT_FDCWD, "c", 0), EINVAL);
    long pfd = fspick_(AT_FDCWD, "b", FSPICK_CLOEXEC);
    CHECK("fspick", pfd >= 0);
    EXPECT_ERR("fspick-create", fsconfig_(pfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0), EBUSY);
    EXPECT_ERR("fspick-fsmount", fsmount_(pfd, 0, 0), EBUSY);
    report("fspick-ro", fsconfig_(pfd, FSCONFIG_SET_FLAG, "ro", NULL, 0));
    report("fspick-reconfigure", fsconfig_(pfd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    show_mount("picked-ro", "b");
    EXPECT_ERR("picked-ro-creat", open("b/x", O_CREAT | O_WRONLY, 0644), EROFS);
    report("fspick-rw", fsconfig_(pfd, FSCONFIG_SET_FLAG, "rw", NULL, 0));
    report("fspick-reconfigure-rw", fsconfig_(pfd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    show_mount("picked-rw", "b");
    close(pfd);

    /* open_tree */
    mkdir("b/sub", 0755);
    report("sub-mount", mount("sub", "b/sub", "tmpfs", 0, NULL));
    close(open("b/sub/in-sub", O_CREAT | O_WRONLY, 0644));
    EXPECT_ERR("open-tree-bad-flags", open_tree_(AT_FDCWD, "b", 0xFFFFFFFF), EINVAL);
    EXPECT_ERR("open-tree-recursive-alone", open_tree_(AT_FDCWD, "b", AT_RECURSIVE), EINVAL);
    EXPECT_ERR("open-tree-bad-fd", open_tree_(-1, "b", OPEN_TREE_CLONE), EBADF);
    EXPECT_ERR("open-tree-missing", open_tree_(AT_FDCWD, "nope", OPEN_TREE_CLONE), ENOENT);
    long plain = open_tree_(AT_FDCWD, "b", OPEN_TREE_CLOEXEC);
    CHECK("open-tree-plain", plain >= 0 && fcntl(plain, F_GETFD) == FD_CLOEXEC &&
                                 (fcntl(plain, F_GETFL) & O_PATH));
    EXPECT_ERR("move-plain-is-attached-elsewhere",
               move_mount_(plain, "", AT_FDCWD, "b/sub", MOVE_MOUNT_F_EMPTY_PATH), ELOOP);
    close(plain);
    long flat = open_tree_(AT_FDCWD, "b", OPEN_TREE_CLONE);
    CHECK("open-tree-clone", flat >= 0);
    report("attach-clone", move_mount_(flat, "", AT_FDCWD, "c", MOVE_MOUNT_F_EMPTY_PATH));
    close(flat);
    CHECK("clone-shares-files", exists("c/made-detached"));
    CHECK("clone-not-recursive", !exists("c/sub/in-sub"));
    CHECK("clone-new-id", mnt_id("c", NULL) != mnt_id("b", NULL));
    report("umount-clone", umount("c"));
    long rec = open_tree_(AT_FDCWD, "b", OPEN_TREE_CLONE | AT_RECURSIVE);
    CHECK("open-tree-recursive", rec >= 0);
    CHECK("recursive-sees-sub", faccessat(rec, "sub/in-sub", F_OK, 0) == 0);
    report("attach-recursive", move_mount_(rec, "", AT_FDCWD, "c", MOVE_MOUNT_F_EMPTY_PATH));
    close(rec);
    CHECK("recursive-clone-has-sub", exists("c/sub/in-sub"));
    report("umount-recursive-sub", umount("c/sub"));
    report("umount-recursive", umount("c"));
    /* A clone closed without attaching goes away with its mounts. */
    rec = open_tree_(AT_FDCWD, "b", OPEN_TREE_CLONE | AT_RECURSIVE);
    close(rec);
    CHECK("closed-clone-gone", !exists("c/sub"));

    /* mount_setattr */
    struct mount_attr attr = {0};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC;
    EXPECT_ERR("setattr-bad-flags", setattr_(AT_FDCWD, "b", 1, &attr, sizeof attr), EINVAL);
    EXPECT_ERR("setattr-small", setattr_(AT_FDCWD, "b", 0, &attr, 8), EINVAL);
    EXPECT_ERR("setattr-big", setattr_(AT_FDCWD, "b", 0, &attr, 8192), E2BIG);
    EXPECT_ERR("setattr-not-root", setattr_(AT_FDCWD, "c", 0, &attr, sizeof attr), EINVAL);
    struct mount_attr bad = {.attr_set = 0x400};
    EXPECT_ERR("setattr-unknown-attr", setattr_(AT_FDCWD, "b", 0, &bad, sizeof bad), EINVAL);
    struct mount_attr badprop = {.propagation = MS_SHARED | MS_PRIVATE};
    EXPECT_ERR("setattr-two-props", setattr_(AT_FDCWD, "b", 0, &badprop, sizeof badprop), EINVAL);
    struct mount_attr badatime = {.attr_set = MOUNT_ATTR_NOATIME};
    EXPECT_ERR("setattr-atime-no-clear", setattr_(AT_FDCWD, "b", 0, &badatime, sizeof badatime),
               EINVAL);
    report("setattr-nop", setattr_(AT_FDCWD, "nope-but-nop", 0, &(struct mount_attr){0},
                                   sizeof attr));
    long clone = open_tree_(AT_FDCWD, "b", OPEN_TREE_CLONE | AT_RECURSIVE);
    report("setattr-detached", setattr_(clone, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr));
    report("attach-setattr", move_mount_(clone, "", AT_FDCWD, "c", MOVE_MOUNT_F_EMPTY_PATH));
    close(clone);
    show_mount("setattr-top", "c");
    show_mount("setattr-sub", "c/sub");
    show_mount("setattr-source-untouched", "b");
    struct statvfs sv;
    CHECK("setattr-statvfs", statvfs("c", &sv) == 0 && (sv.f_flag & ST_RDONLY) &&
                                 (sv.f_flag & ST_NOEXEC));
    struct mount_attr clr = {.attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR__ATIME,
                             .attr_set = MOUNT_ATTR_NOATIME | MOUNT_ATTR_NOSYMFOLLOW};
    report("setattr-clear", setattr_(AT_FDCWD, "c", 0, &clr, sizeof clr));
    show_mount("setattr-cleared", "c");
    show_mount("setattr-sub-kept", "c/sub");
    report("umount-set-sub", umount("c/sub"));
    report("umount-set", umount("c"));
    struct mount_attr oattr = {.attr_set = MOUNT_ATTR_NOEXEC};
    long ota = syscall(NR_open_tree_attr, AT_FDCWD, "b", OPEN_TREE_CLONE, &oattr, sizeof oattr);
    CHECK("open-tree-attr", ota >= 0);
    report("attach-open-tree-attr", move_mount_(ota, "", AT_FDCWD, "c", MOVE_MOUNT_F_EMPTY_PATH));
    close(ota);
    show_mount("open-tree-attr", "c");
    report("umount-ota", umount("c"));

    /* statmount and listmount over these mounts */
    unsigned long long id_b = mnt_id("b", NULL), id_sub = mnt_id("b/sub", NULL);
    unsigned long long id_dot = mnt_id(".", NULL);
    static char big[4096];
    struct sm *s = (struct sm *)big;
    long r = statmount_(id_b, SM_SB_BASIC | SM_MNT_BASIC | SM_FS_TYPE |
                                  SM_MNT_POINT | SM_MNT_ROOT,
                        s, sizeof big);
    report("statmount", r);
    char point[4200];
    snprintf(point, sizeof point, "%s/b", cwd);
    printf("statmount mask=%#llx type=%s root=%s point-ok=%d magic=%#llx sb_flags=%#x\n", s->mask,
           s->str + s->fs_type, s->str + s->mnt_root, !strcmp(s->str + s->mnt_point, point),
           s->sb_magic, s->sb_flags);
    CHECK("statmount-ids", s->mnt_id == id_b && s->mnt_parent_id == id_dot &&
                               s->size > sizeof(struct sm));
    printf("statmount attr=%#llx propagation=%#llx\n", s->mnt_attr, s->mnt_propagation);
    CHECK("statmount-sb-dev", stat("b", &st) == 0 && makedev(s->sb_dev_major, s->sb_dev_minor) ==
                                                         st.st_dev);
    EXPECT_ERR("statmount-no-such", statmount_(id_sub + 1000000, 0, s, sizeof big), ENOENT);
    EXPECT_ERR("statmount-old-id", statmount_(5, 0, s, sizeof big), EINVAL);
    EXPECT_ERR("statmount-small", statmount_(id_b, SM_FS_TYPE, s, sizeof(struct sm)),
               EOVERFLOW);
    EXPECT_ERR("statmount-bad-buf", statmount_(id_b, 0, (void *)8, sizeof big), EFAULT);
    EXPECT_ERR("statmount-flags", syscall(__NR_statmount, &(struct req){24, 0, id_b, 0, 0}, s,
                                          sizeof big, 1),
               EINVAL);
    EXPECT_ERR("statmount-bad-req", syscall(__NR_statmount, (void *)8, s, sizeof big, 0), EFAULT);
    EXPECT_ERR("statmount-short-req", syscall(__NR_statmount, &(struct req){8, 0, id_b, 0, 0}, s,
                                              sizeof big, 0),
               EINVAL);
    r = statmount_(id_b, 0, s, sizeof big);
    printf("statmount-nothing=%ld mask=%#llx\n", r, s->mask);

    unsigned long long ids[4096];
    long n = listmount_(LSMT_ROOT_ID, 0, ids, 4096);
    int found_b = 0, found_sub = 0, sorted = 1;
    for (long i = 0; i < n; i++) {
        found_b |= ids[i] == id_b;
        found_sub |= ids[i] == id_sub;
        if (i && ids[i] <= ids[i - 1]) sorted = 0;
    }
    CHECK("listmount-root", n > 2 && found_b && found_sub && sorted);
    n = listmount_(id_b, 0, ids, 16);
    printf("listmount-b=%ld sub=%d\n", n, n == 1 && ids[0] == id_sub);
    n = listmount_(id_sub, 0, ids, 16);
    printf("listmount-sub=%ld\n", n);
    n = listmount_(id_b, id_sub, ids, 16);
    printf("listmount-b-after-sub=%ld\n", n);
    EXPECT_ERR("listmount-flags", syscall(__NR_listmount, &(struct req){24, 0, id_b, 0, 0}, ids,
                                          16, -1),
               EINVAL);
    EXPECT_ERR("listmount-zero-id", listmount_(0, 0, ids, 16), EINVAL);
    EXPECT_ERR("listmount-no-such", listmount_(LSMT_ROOT_ID - 1, 0, ids, 16), ENOENT);
    EXPECT_ERR("listmount-bad-buf", listmount_(id_b, 0, (void *)8, 16), EFAULT);

    /* /proc/self/ns: namespace files, and the mount namespace's id. */
    char link[64] = "", link2[64] = "";
    readlink("/proc/self/ns/mnt", link, sizeof link - 1);
    unsigned long long ino = 0;
    printf("ns-mnt-link-form=%d\n", sscanf(link, "mnt:[%llu]", &ino) == 1);
    int nsfd = open("/proc/self/ns/mnt", O_RDONLY);
    CHECK("ns-mnt-stat", fstat(nsfd, &st) == 0 && st.st_ino == ino && S_ISREG(st.st_mode) &&
                             (st.st_mode & 0777) == 0444 && major(st.st_dev) == 0);
    printf("ns-type-newns=%d\n", ioctl(nsfd, 0xb703) == CLONE_NEWNS);
    unsigned long long ns_id = 0;
    report("ns-get-mntns-id", ioctl(nsfd, 0x8008b705, &ns_id));
    r = statmount_(id_b, 0x40, s, sizeof big);
    CHECK("statmount-ns-id", r == 0 && s->mask == 0x40 && s->mnt_ns_id == ns_id);
    close(nsfd);
    nsfd = open("/proc/self/ns/net", O_RDONLY);
    EXPECT_ERR("ns-net-mntns-id", ioctl(nsfd, 0x8008b705, &ns_id), EINVAL);
    close(nsfd);
    readlink("/proc/self/ns/pid", link, sizeof link - 1);
    readlink("/proc/self/ns/pid_for_children", link2, sizeof link2 - 1);
    CHECK("ns-pid-for-children", !strcmp(link, link2) && !strncmp(link, "pid:[", 5));
    EXPECT_ERR("ns-missing", access("/proc/self/ns/nope", F_OK), ENOENT);
    int pidns = open("/proc/self/ns/pid", O_RDONLY), utsns = open("/proc/self/ns/uts", O_RDONLY);
    int userns = open("/proc/self/ns/user", O_RDONLY);
    EXPECT_ERR("ns-pid-parent", ioctl(pidns, 0xb702), EPERM);
    EXPECT_ERR("ns-uts-parent", ioctl(utsns, 0xb702), EINVAL);
    EXPECT_ERR("ns-uts-owner-uid", ioctl(utsns, 0xb704, &ns_id), EINVAL);
    unsigned owner_uid = 77;
    report("ns-user-owner-uid", ioctl(userns, 0xb704, &owner_uid));
    printf("ns-user-owner-uid=%u\n", owner_uid);
    EXPECT_ERR("ns-user-userns", ioctl(userns, 0xb701), EPERM);
    int owner = ioctl(utsns, 0xb701);
    char fdpath[64], ownerlink[64] = "", userlink[64] = "";
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", owner);
    readlink(fdpath, ownerlink, sizeof ownerlink - 1);
    readlink("/proc/self/ns/user", userlink, sizeof userlink - 1);
    CHECK("ns-uts-userns", owner >= 0 && !strcmp(ownerlink, userlink) &&
                               fcntl(owner, F_GETFD) == FD_CLOEXEC);
    close(owner);
    close(pidns);
    close(utsns);
    close(userns);

    /* Peer groups: a bind of a shared mount joins its group; a slave shows its master. */
    report("make-shared", mount(NULL, "b", NULL, MS_SHARED, NULL));
    report("bind-shared", mount("b", "c", NULL, MS_BIND, NULL));
    int group_b = optional_field("b", "shared:"), group_c = optional_field("c", "shared:");
    CHECK("bind-joins-group", group_b > 0 && group_b == group_c);
    r = statmount_(mnt_id("c", NULL), SM_MNT_BASIC, s, sizeof big);
    CHECK("statmount-peer-group", r == 0 && s->mnt_peer_group == (unsigned long long)group_b &&
                                      (s->mnt_propagation & MS_SHARED));
    report("make-slave", mount(NULL, "c", NULL, MS_SLAVE, NULL));
    CHECK("slave-master", optional_field("c", "master:") == group_b &&
                              optional_field("c", "shared:") == 0);
    report("umount-slave", umount("c"));
    report("make-private", mount(NULL, "b", NULL, MS_PRIVATE, NULL));
    printf("private-fields=%d\n", optional_field("b", "shared:"));

    /* statx of mount roots */
    mnt_id("b/sub", &root);
    printf("sub-mount-root=%d\n", root);
    mnt_id("b/made-detached", &root);
    printf("file-mount-root=%d\n", root);

    /* MS_MOVE */
    EXPECT_ERR("ms-move-not-root", mount("c", "a", NULL, MS_MOVE, NULL), EINVAL);
    EXPECT_ERR("ms-move-into-itself", mount("b", "b/sub/", NULL, MS_MOVE, NULL), ELOOP);
    report("ms-move", mount("b", "a", NULL, MS_MOVE, NULL));
    CHECK("ms-moved", exists("a/made-detached") && exists("a/sub/in-sub") &&
                          !exists("b/made-detached"));
    CHECK("ms-moved-ids", mnt_id("a", NULL) == id_b && mnt_id("a/sub", NULL) == id_sub);
    report("umount-moved-sub", umount("a/sub"));
    close(fd);
    report("umount-moved", umount("a"));
    show_mount("all-gone", "a");

    /* MOVE_MOUNT_BENEATH: under the top mount, which stays on top. */
    report("top-mount", mount("top", "c", "tmpfs", 0, NULL));
    close(open("c/top", O_CREAT | O_WRONLY, 0644));
    fd = fsopen_("tmpfs", 0);
    fsconfig_(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    mfd = fsmount_(fd, 0, 0);
    close(fd);
    close(openat(mfd, "under", O_CREAT | O_WRONLY, 0644));
    EXPECT_ERR("beneath-not-root",
               move_mount_(mfd, "", AT_FDCWD, "b", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_BENEATH),
               EINVAL);
    report("move-beneath",
           move_mount_(mfd, "", AT_FDCWD, "c", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_BENEATH));
    close(mfd);
    CHECK("beneath-top-stays", exists("c/top") && !exists("c/under"));
    report("umount-top", umount("c"));
    CHECK("beneath-shows", exists("c/under") && !exists("c/top"));
    report("umount-beneath", umount("c"));
    show_mount("beneath-gone", "c");

    /* unshare(CLONE_NEWNS): a copy of the mount namespace, whose mounts the parent does not
     * see and which goes with the child. */
    int up[2], down[2];
    pipe(up);
    pipe(down);
    unsigned long long parent_id = mnt_id(".", NULL);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        report("unshare-newns", unshare(CLONE_NEWNS));
        report("ns-private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
        report("ns-mount", mount("ns", "c", "tmpfs", 0, NULL));
        close(open("c/in-ns", O_CREAT | O_WRONLY, 0644));
        CHECK("ns-sees-own", exists("c/in-ns"));
        show_mount("ns-child-mounts", "c");
        unsigned long long own = mnt_id("c", NULL);
        CHECK("ns-copy-new-ids", mnt_id(".", NULL) != parent_id);
        CHECK("ns-statmount-own", statmount_(own, SM_MNT_BASIC, s, sizeof big) == 0 &&
                                      s->mnt_id == own);
        n = listmount_(LSMT_ROOT_ID, 0, ids, 4096);
        int has = 0;
        for (long i = 0; i < n; i++) has |= ids[i] == own;
        CHECK("ns-listmount-own", has);
        fflush(stdout);
        write(up[1], &own, sizeof own);
        char c;
        read(down[0], &c, 1);
        _exit(0);
    }
    unsigned long long child_mnt = 0;
    read(up[0], &child_mnt, sizeof child_mnt);
    CHECK("ns-parent-not-seen", !exists("c/in-ns"));
    show_mount("ns-parent-mounts", "c");
    EXPECT_ERR("ns-parent-statmount", statmount_(child_mnt, SM_MNT_BASIC, s, sizeof big), ENOENT);
    write(down[1], "x", 1);
    waitpid(child, NULL, 0);
    CHECK("ns-gone-with-child", !exists("c/in-ns"));

    /* clone(CLONE_NEWNS): the child starts in a copy. */
    fflush(stdout);
    child = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (child == 0) {
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        report("clone-ns-mount", mount("ns", "c", "tmpfs", 0, NULL));
        close(open("c/in-clone", O_CREAT | O_WRONLY, 0644));
        fflush(stdout);
        write(up[1], "x", 1);
        char c;
        read(down[0], &c, 1);
        _exit(0);
    }
    char c;
    read(up[0], &c, 1);
    CHECK("clone-ns-parent-not-seen", child > 0 && !exists("c/in-clone"));
    write(down[1], "x", 1);
    waitpid(child, NULL, 0);
    return 0;
}
