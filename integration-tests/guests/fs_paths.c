/* Newer path calls: openat2 (struct open_how checks and RESOLVE_* flags),
 * name_to_handle_at/open_by_handle_at, fchmodat2 and ustat; readlinkat of an empty path,
 * execveat's dirfd and AT_SYMLINK_NOFOLLOW, close_range's CLOSE_RANGE_UNSHARE. */
#include "common.h"
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <signal.h>
#include <sys/wait.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif

struct ustat_ {
    int f_tfree;
    unsigned long f_tinode;
    char f_fname[6], f_fpack[6];
};

static long openat2_(int dfd, const char *path, void *how, size_t size) {
    return syscall(SYS_openat2, dfd, path, how, size);
}

/* openat2 of `path` from `dfd` with `flags`, `mode`, `resolve`: prints the errno, or
 * "ok" and closes the descriptor. */
static void o2(const char *name, int dfd, const char *path, unsigned long long flags,
               unsigned long long mode, unsigned long long resolve) {
    struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
    errno = 0;
    long fd = openat2_(dfd, path, &how, sizeof how);
    report(name, fd);
    if (fd >= 0) close(fd);
}

static void test_openat2(const char *dir) {
    char p[300];
    int d = open(dir, O_DIRECTORY | O_RDONLY);
    snprintf(p, sizeof p, "%s/sub", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/file", dir);
    close(open(p, O_CREAT | O_WRONLY, 0644));
    snprintf(p, sizeof p, "%s/rel", dir);
    symlink("sub/file", p);
    snprintf(p, sizeof p, "%s/abs", dir);
    symlink("/proc/version", p);
    snprintf(p, sizeof p, "%s/up", dir);
    symlink("../", p);

    o2("plain", d, "sub/file", O_RDONLY, 0, 0);
    o2("create", d, "sub/new", O_CREAT | O_RDWR, 0600, 0);
    o2("in-root absolute", d, "/sub/file", O_RDONLY, 0, RESOLVE_IN_ROOT);
    o2("in-root dotdot", d, "../../sub/file", O_RDONLY, 0, RESOLVE_IN_ROOT);
    o2("in-root absolute link", d, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT);
    o2("beneath", d, "sub/../sub/file", O_RDONLY, 0, RESOLVE_BENEATH);
    o2("beneath dotdot", d, "sub/../../x", O_RDONLY, 0, RESOLVE_BENEATH);
    o2("beneath absolute", d, "/proc/version", O_RDONLY, 0, RESOLVE_BENEATH);
    o2("beneath absolute link", d, "abs", O_RDONLY, 0, RESOLVE_BENEATH);
    o2("beneath up link", d, "up/x", O_RDONLY, 0, RESOLVE_BENEATH);
    o2("beneath magic link", AT_FDCWD, "/proc/self/cwd", O_RDONLY, 0, RESOLVE_BENEATH);
    o2("no-symlinks", d, "rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
    o2("no-symlinks path", d, "rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS);
    o2("no-symlinks relative link", d, "rel", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);
    o2("no-magiclinks", AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);
    o2("no-magiclinks self", AT_FDCWD, "/proc/self/status", O_RDONLY, 0,
       RESOLVE_NO_MAGICLINKS);
    o2("no-xdev", AT_FDCWD, "/proc/version", O_RDONLY, 0, RESOLVE_NO_XDEV);
    o2("no-xdev same mount", d, "sub/file", O_RDONLY, 0, RESOLVE_NO_XDEV);
    o2("no-xdev link", d, "abs", O_RDONLY, 0, RESOLVE_NO_XDEV);
    o2("no-xdev proc", AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV);
    o2("cached", d, "sub/file", O_RDONLY, 0, RESOLVE_CACHED);
    o2("cached create", d, "sub/file", O_RDONLY | O_CREAT, 0600, RESOLVE_CACHED);
    o2("beneath+in-root", d, "sub/file", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT);
    o2("unknown resolve", d, "sub/file", O_RDONLY, 0, 0x40);
    o2("unknown flag", d, "sub/file", O_RDONLY | (1ULL << 40), 0, 0);
    o2("mode without create", d, "sub/file", O_RDONLY, 0600, 0);
    o2("invalid mode", d, "sub/new", O_CREAT | O_RDWR, 0170000, 0);
    o2("path with rdwr", d, "sub/file", O_PATH | O_RDWR, 0, 0);
    o2("path with cloexec", d, "sub/file", O_PATH | O_CLOEXEC, 0, 0);
    o2("invalid dirfd", -1, "sub/file", O_RDONLY, 0, 0);
    o2("null path", d, NULL, O_RDONLY, 0, 0);

    struct {
        struct open_how how;
        unsigned long long pad;
    } big = {{.flags = O_RDONLY}, 0};
    report("size 32 zero pad", openat2_(d, "sub/file", &big, sizeof big));
    big.pad = 1;
    report("size 32 nonzero pad", openat2_(d, "sub/file", &big, sizeof big));
    report("size 0", openat2_(d, "sub/file", &big, 0));
    report("size 23", openat2_(d, "sub/file", &big, 23));
    report("size 8192", openat2_(d, "sub/file", &big, 8192));
    report("invalid how", openat2_(d, "sub/file", (void *)8, 24));
    close(d);
}

static void test_fchmodat2(const char *dir) {
    char p[300];
    struct stat st;
    int d = open(dir, O_PATH | O_DIRECTORY);
    snprintf(p, sizeof p, "%s/m", dir);
    close(open(p, O_CREAT | O_WRONLY, 0640));
    snprintf(p, sizeof p, "%s/mlink", dir);
    symlink("m", p);
    report("fchmodat2", syscall(SYS_fchmodat2, d, "m", 0700, 0));
    fstatat(d, "m", &st, 0);
    printf("mode %o\n", st.st_mode & 07777);
    report("fchmodat2 nofollow file", syscall(SYS_fchmodat2, d, "m", 0600, AT_SYMLINK_NOFOLLOW));
    report("fchmodat2 via link", syscall(SYS_fchmodat2, d, "mlink", 0711, 0));
    fstatat(d, "m", &st, 0);
    printf("mode %o\n", st.st_mode & 07777);
    report("fchmodat2 nofollow link",
           syscall(SYS_fchmodat2, d, "mlink", 0600, AT_SYMLINK_NOFOLLOW));
    int f = open(p, O_PATH | O_NOFOLLOW);
    report("fchmodat2 empty path link", syscall(SYS_fchmodat2, f, "", 0600, AT_EMPTY_PATH));
    close(f);
    snprintf(p, sizeof p, "%s/m", dir);
    f = open(p, O_PATH);
    report("fchmodat2 empty path", syscall(SYS_fchmodat2, f, "", 0604, AT_EMPTY_PATH));
    fstatat(d, "m", &st, 0);
    printf("mode %o\n", st.st_mode & 07777);
    report("fchmodat2 empty without flag", syscall(SYS_fchmodat2, f, "", 0604, 0));
    close(f);
    report("fchmodat2 bad flags", syscall(SYS_fchmodat2, d, "m", 0600, -1));
    report("fchmodat2 bad fd", syscall(SYS_fchmodat2, -1, "m", 0600, 0));
    report("fchmodat2 missing", syscall(SYS_fchmodat2, d, "nope", 0600, 0));
    pid_t c = fork();
    if (c == 0) {
        if (setuid(65534)) _exit(2);
        report("fchmodat2 not owner", syscall(SYS_fchmodat2, d, "m", 0777, 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    close(d);
}

/* name_to_handle_at of `path` from `dfd` into a 128-byte handle. */
static struct file_handle *handle_of(const char *name, int dfd, const char *path, int flags) {
    struct file_handle *h = calloc(1, sizeof *h + 128);
    int mnt = -1;
    h->handle_bytes = 128;
    errno = 0;
    long r = syscall(SYS_name_to_handle_at, dfd, path, h, &mnt, flags);
    report(name, r);
    /* The size is the file system's own (8 bytes on ext4, 12 under uml). */
    if (r == 0)
        printf("  sized %s, mount id %s\n", h->handle_bytes && h->handle_bytes <= 128 ? "ok" : "bad",
               mnt >= 0 ? "set" : "unset");
    return h;
}

static void by_handle(const char *name, int mfd, struct file_handle *h, int flags) {
    errno = 0;
    long fd = syscall(SYS_open_by_handle_at, mfd, h, flags);
    report(name, fd);
    if (fd >= 0) {
        struct stat st;
        fstat(fd, &st);
        printf("  size %lld\n", (long long)st.st_size);
        close(fd);
    }
}

static void test_handles(const char *dir) {
    char p[300];
    snprintf(p, sizeof p, "%s/h", dir);
    int f = open(p, O_CREAT | O_RDWR, 0600);
    write(f, "hello", 5);
    snprintf(p, sizeof p, "%s/hlink", dir);
    symlink("h", p);
    int d = open(dir, O_DIRECTORY | O_RDONLY);

    struct file_handle probe = {0};
    int mnt;
    errno = 0;
    long r = syscall(SYS_name_to_handle_at, d, "h", &probe, &mnt, 0);
    report("probe size", r);
    printf("  needs bytes: %s\n", probe.handle_bytes > 0 ? "yes" : "no");

    struct file_handle *fh = handle_of("file", d, "h", 0);
    struct file_handle *lh = handle_of("link", d, "hlink", 0);
    struct file_handle *fh2 = handle_of("link followed", d, "hlink", AT_SYMLINK_FOLLOW);
    printf("  same handle: %s\n",
           memcmp(fh->f_handle, fh2->f_handle, fh->handle_bytes) ? "no" : "yes");
    struct file_handle *eh = handle_of("empty path", f, "", AT_EMPTY_PATH);
    free(eh);
    struct file_handle *dh = handle_of("dir", AT_FDCWD, dir, 0);
    free(handle_of("proc", AT_FDCWD, "/proc/self/status", 0));
    free(handle_of("proc fid", AT_FDCWD, "/proc/self/status", AT_HANDLE_FID));
    free(handle_of("fid connectable", d, "h", AT_HANDLE_FID | 2));
    free(handle_of("invalid flags", d, "h", -1));
    free(handle_of("empty without flag", d, "", 0));
    free(handle_of("invalid dirfd", -1, "h", 0));
    free(handle_of("missing", d, "nope", 0));
    errno = 0;
    report("invalid handle pointer", syscall(SYS_name_to_handle_at, d, "h", (void *)8, &mnt, 0));
    struct file_handle big = {.handle_bytes = 129};
    report("handle too big", syscall(SYS_name_to_handle_at, d, "h", &big, &mnt, 0));
    struct file_handle *t = calloc(1, sizeof *t + 128);
    t->handle_bytes = 128;
    report("invalid mount id pointer", syscall(SYS_name_to_handle_at, d, "h", t, (void *)8, 0));

    by_handle("open rdonly", d, fh, O_RDONLY);
    by_handle("open rdwr from cwd", AT_FDCWD, fh, O_RDWR);
    by_handle("open from file fd", f, fh, O_RDONLY);
    by_handle("open link", d, lh, O_RDONLY);
    by_handle("open link path", d, lh, O_PATH);
    by_handle("open dir rdonly", d, dh, O_RDONLY | O_DIRECTORY);
    by_handle("open dir rdwr", d, dh, O_RDWR);
    by_handle("open file as dir", d, fh, O_RDONLY | O_DIRECTORY);
    by_handle("open bad fd", -1, fh, O_RDONLY);
    by_handle("open other fs", open("/proc/self/status", O_RDONLY), fh, O_RDONLY);
    by_handle("open bad pointer", d, (void *)8, O_RDONLY);
    struct file_handle zero = {0};
    by_handle("open zero size", d, &zero, O_RDONLY);
    by_handle("open big size", d, &big, O_RDONLY);
    struct file_handle *junk = calloc(1, sizeof *junk + 128);
    *junk = *fh;
    memset(junk->f_handle, 0x5a, fh->handle_bytes);
    by_handle("open junk handle", d, junk, O_RDONLY);
    junk->handle_type = -1;
    by_handle("open negative type", d, junk, O_RDONLY);
    pid_t c = fork();
    if (c == 0) {
        if (setuid(65534)) _exit(2);
        by_handle("open without capability", d, fh, O_RDONLY);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    snprintf(p, sizeof p, "%s/h", dir);
    unlink(p);
    close(f);
    by_handle("open unlinked", d, fh, O_RDONLY);
    free(fh), free(lh), free(fh2), free(dh), free(t), free(junk);
    close(d);
}

static void test_ustat(const char *dir) {
    struct stat st;
    struct ustat_ u;
    stat(dir, &st);
    report("ustat", syscall(SYS_ustat, (unsigned)st.st_dev, &u));
    report("ustat bad buffer", syscall(SYS_ustat, (unsigned)st.st_dev, (void *)-1));
    report("ustat no such device", syscall(SYS_ustat, makedev(250, 250), &u));
    report("ustat -1", syscall(SYS_ustat, -1, &u));
}

static void test_link_calls(const char *dir) {
    char p[300], l[300], buf[64];
    snprintf(p, sizeof p, "%s/target", dir);
    close(open(p, O_CREAT | O_WRONLY, 0755));
    snprintf(l, sizeof l, "%s/sym", dir);
    symlink("target", l);
    int lf = open(l, O_PATH | O_NOFOLLOW);
    long n = readlinkat(lf, "", buf, sizeof buf);
    report("readlinkat empty path on a symlink", n);
    if (n > 0) printf("  -> %.*s\n", (int)n, buf);
    int ff = open(p, O_PATH);
    report("readlinkat empty path on a file", readlinkat(ff, "", buf, sizeof buf));
    report("readlinkat empty path on cwd", readlinkat(AT_FDCWD, "", buf, sizeof buf));
    report("readlinkat empty path, bad fd", readlinkat(-1, "", buf, sizeof buf));
    report("readlinkat size 0", readlinkat(lf, "", buf, 0));
    char *argv[] = {"x", NULL}, *envp[] = {NULL};
    report("execveat absolute path, fd -1",
           syscall(SYS_execveat, -1, "/nonexistent-uml-prog", argv, envp, 0));
    report("execveat nofollow on a symlink, file fd",
           syscall(SYS_execveat, ff, l, argv, envp, AT_SYMLINK_NOFOLLOW));
    report("execveat relative path, file fd", syscall(SYS_execveat, ff, "sym", argv, envp, 0));
    close(lf);
    close(ff);
}

#include <sched.h>

static int fd_for_child;

static int unshare_child(void *arg) {
    (void)arg;
    report("child close_range unshare", syscall(SYS_close_range, fd_for_child, fd_for_child, 2));
    report("child's fd after", fcntl(fd_for_child, F_GETFD));
    return 0;
}

static void test_close_range_unshare(void) {
    fd_for_child = open("/", O_PATH);
    static char stack[64 * 1024];
    pid_t c = clone(unshare_child, stack + sizeof stack, CLONE_FILES | SIGCHLD, NULL);
    waitpid(c, NULL, 0);
    report("parent's fd after", fcntl(fd_for_child, F_GETFD));
    close(fd_for_child);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/uml-paths-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    test_openat2(dir);
    test_fchmodat2(dir);
    test_ustat(dir);
    test_handles(dir);
    test_link_calls(dir);
    test_close_range_unshare();
    printf("done\n");
    return 0;
}
