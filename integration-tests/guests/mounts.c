/* mount(2)/umount2(2) of tmpfs and bind mounts in the working directory: flags, errnos,
 * busy mounts, remount read-only, noexec, /proc/self/mounts and statfs. Prints lines that
 * are the same natively (as root) and under uml. */
#include "common.h"
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#define TMPFS_MAGIC 0x01021994
#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

static char cwd[4096];

/* The /proc/self/mounts line of mount point `rel` (in the working directory), with the
 * mount point shown as `rel`. */
static void show_mount(const char *rel) {
    char want[4200], line[4400];
    snprintf(want, sizeof want, " %s/%s ", cwd, rel);
    FILE *f = fopen("/proc/self/mounts", "r");
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, want);
        if (!p) continue;
        *p = 0;
        printf("mounts %s: src=%s rest=%s", rel, line, p + strlen(want));
        found = 1;
    }
    if (!found) printf("mounts %s: none\n", rel);
    if (f) fclose(f);
}

/* A set-user-ID root copy of this program on the nosuid mount `m`, run by nobody. */
static void nosuid_exec(void) {
    int in = open("/proc/self/exe", O_RDONLY), out = open("m/suid", O_CREAT | O_WRONLY, 0755);
    static char buf[1 << 16];
    long n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, n);
    close(in);
    close(out);
    CHECK("chmod-suid", chmod("m/suid", 04755) == 0);
    fflush(stdout);
    if (fork() == 0) {
        if (setreuid(65534, 65534) != 0) _exit(1);
        execl("m/suid", "suid", "child", (char *)NULL);
        _exit(2);
    }
    int status = 0;
    wait(&status);
    printf("nosuid-child-status=%d\n", WEXITSTATUS(status));
}

/* Access time of `p` after a read of it (a readdir for a directory), or after setting
 * it to 1000 first. */
static long atime_after_read(const char *p, int reset) {
    struct stat st;
    if (reset) {
        struct timespec ts[2] = {{1000, 0}, {2000, 0}};
        utimensat(AT_FDCWD, p, ts, 0);
    }
    usleep(20000);
    int fd = open(p, O_RDONLY);
    char buf[64];
    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) syscall(SYS_getdents64, fd, buf, sizeof buf);
    else read(fd, buf, sizeof buf);
    close(fd);
    stat(p, &st);
    return (long)st.st_atim.tv_sec * 1000000000L + st.st_atim.tv_nsec;
}

/* How reads move access times under the atime mount flags. */
static void atimes(void) {
    mkdir("t", 0755);
    report("mount-atime", mount("t", "t", "tmpfs", 0, NULL));
    mkdir("t/d", 0755);
    int fd = open("t/f", O_CREAT | O_WRONLY, 0644);
    write(fd, "data", 4);
    close(fd);
    long a = atime_after_read("t/f", 1);
    printf("relatime-stale-read-updates=%d\n", a != 1000000000000L);
    printf("relatime-fresh-read-keeps=%d\n", atime_after_read("t/f", 0) == a);
    mount(NULL, "t", NULL, MS_REMOUNT | MS_STRICTATIME, NULL);
    printf("strictatime-read-updates=%d\n", atime_after_read("t/f", 0) != a);
    a = atime_after_read("t/d", 0);
    printf("strictatime-readdir-updates=%d\n", atime_after_read("t/d", 0) != a);
    mount(NULL, "t", NULL, MS_REMOUNT | MS_STRICTATIME | MS_NODIRATIME, NULL);
    printf("nodiratime-readdir-keeps=%d\n", atime_after_read("t/d", 1) == 1000000000000L);
    printf("nodiratime-read-updates=%d\n", atime_after_read("t/f", 1) != 1000000000000L);
    mount(NULL, "t", NULL, MS_REMOUNT | MS_NOATIME, NULL);
    printf("noatime-read-keeps=%d\n", atime_after_read("t/f", 1) == 1000000000000L);
    report("umount-atime", umount("t"));
}

int main(int argc, char **argv) {
    if (argc > 1) {
        uid_t r, e, s;
        getresuid(&r, &e, &s);
        printf("nosuid-exec euid=%d suid=%d\n", (int)e, (int)s);
        return 0;
    }
    if (!getcwd(cwd, sizeof cwd)) return 1;
    struct statfs sf;
    struct stat st;
    mkdir("m", 0755);
    mkdir("src", 0755);
    mkdir("b", 0755);
    close(open("file", O_CREAT | O_WRONLY, 0644));

    /* New mounts and their errors. */
    EXPECT_ERR("mount-nosuchfs", mount("x", "m", "nosuchfs", 0, NULL), ENODEV);
    EXPECT_ERR("mount-ext4-chardev", mount("/dev/zero", "m", "ext4", 0, NULL), ENOTBLK);
    EXPECT_ERR("mount-missing-target", mount("x", "nope", "tmpfs", 0, NULL), ENOENT);
    EXPECT_ERR("mount-file-target", mount("x", "file", "tmpfs", 0, NULL), ENOTDIR);
    EXPECT_ERR("mount-bad-target", mount("x", (char *)8, "tmpfs", 0, NULL), EFAULT);
    EXPECT_ERR("mount-bad-type", mount("x", "m", (char *)8, 0, NULL), EFAULT);
    EXPECT_ERR("mount-bad-option", mount("x", "m", "tmpfs", 0, "nosuchoption"), EINVAL);
    EXPECT_ERR("mount-bad-size", mount("x", "m", "tmpfs", 0, "size=12q"), EINVAL);
    report("mount-tmpfs", mount("uml-test", "m", "tmpfs", MS_NOSUID, "size=1m,mode=750"));
    show_mount("m");
    CHECK("statfs-type", statfs("m", &sf) == 0 && sf.f_type == TMPFS_MAGIC);
    printf("statfs bsize=%ld blocks=%ld free=%ld flags=%#lx\n", (long)sf.f_bsize,
           (long)sf.f_blocks, (long)sf.f_bfree, (long)sf.f_flags);
    CHECK("root-mode", stat("m", &st) == 0 && (st.st_mode & 07777) == 0750);
    int fd = open("m/f", O_CREAT | O_RDWR, 0644);
    CHECK("create", fd >= 0);
    /* 2 MiB do not fit a 1 MiB tmpfs. */
    static char big[2 << 20];
    long n = write(fd, big, sizeof big);
    printf("write-2m: %s\n", n == (long)sizeof big ? "all" : n < 0 ? ename(errno) : "short");
    CHECK("truncate", ftruncate(fd, 4096) == 0);
    nosuid_exec();
    unlink("m/suid");

    /* Busy: an open file, a working directory. */
    EXPECT_ERR("umount-busy-open", umount("m"), EBUSY);
    close(fd);
    if (chdir("m") == 0) {
        EXPECT_ERR("umount-busy-cwd", umount2(".", 0), EBUSY);
        chdir(cwd);
    }
    EXPECT_ERR("umount-not-mount", umount("src"), EINVAL);
    EXPECT_ERR("umount-bad-flags", umount2("m", 0x100), EINVAL);
    EXPECT_ERR("umount-expire-detach", umount2("m", MNT_EXPIRE | MNT_DETACH), EINVAL);
    EXPECT_ERR("umount-bad-path", umount((char *)8), EFAULT);

    /* Read-only remount: every change is EROFS. */
    report("remount-ro", mount(NULL, "m", NULL, MS_REMOUNT | MS_RDONLY, NULL));
    show_mount("m");
    CHECK("statfs-ro", statfs("m", &sf) == 0 && (sf.f_flags & ST_RDONLY));
    EXPECT_ERR("ro-creat", open("m/g", O_CREAT | O_WRONLY, 0644), EROFS);
    EXPECT_ERR("ro-open-write", open("m/f", O_WRONLY), EROFS);
    EXPECT_ERR("ro-mkdir", mkdir("m/d", 0755), EROFS);
    EXPECT_ERR("ro-unlink", unlink("m/f"), EROFS);
    EXPECT_ERR("ro-chmod", chmod("m/f", 0600), EROFS);
    EXPECT_ERR("ro-rename", rename("m/f", "m/h"), EROFS);
    EXPECT_ERR("ro-symlink", symlink("f", "m/l"), EROFS);
    EXPECT_ERR("ro-truncate", truncate("m/f", 0), EROFS);
    EXPECT_ERR("ro-access-w", access("m/f", W_OK), EROFS);
    fd = open("m/f", O_RDONLY);
    CHECK("ro-open-read", fd >= 0);
    close(fd);
    report("remount-rw-noexec", mount(NULL, "m", NULL, MS_REMOUNT | MS_NOEXEC, NULL));
    show_mount("m");

    /* noexec: a script there does not run. */
    fd = open("m/run.sh", O_CREAT | O_WRONLY, 0755);
    write(fd, "#!/bin/sh\nexit 0\n", 17);
    close(fd);
    char *script[] = {"run.sh", NULL};
    EXPECT_ERR("noexec-execve", execve("m/run.sh", script, script + 1), EACCES);

    /* Bind mount of a directory: both names show the same files. */
    close(open("src/a", O_CREAT | O_WRONLY, 0644));
    EXPECT_ERR("bind-missing-source", mount("nope", "b", NULL, MS_BIND, NULL), ENOENT);
    EXPECT_ERR("bind-dir-on-file", mount("src", "file", NULL, MS_BIND, NULL), ENOTDIR);
    report("bind", mount("src", "b", NULL, MS_BIND, NULL));
    CHECK("bind-sees-source", access("b/a", F_OK) == 0);
    close(open("b/new", O_CREAT | O_WRONLY, 0644));
    CHECK("source-sees-bind", access("src/new", F_OK) == 0);
    report("bind-remount-ro", mount(NULL, "b", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
    EXPECT_ERR("bind-ro-creat", open("b/x", O_CREAT | O_WRONLY, 0644), EROFS);
    fd = open("src/x", O_CREAT | O_WRONLY, 0644);
    CHECK("source-still-rw", fd >= 0);
    close(fd);
    report("umount-bind", umount("b"));
    CHECK("bind-gone", access("b/a", F_OK) != 0);

    /* Files open for writing keep a mount and its file system from becoming read-only. */
    fd = open("m/w", O_CREAT | O_WRONLY, 0644);
    EXPECT_ERR("remount-ro-writer", mount(NULL, "m", NULL, MS_REMOUNT | MS_RDONLY, NULL), EBUSY);
    EXPECT_ERR("bind-remount-ro-writer",
               mount(NULL, "m", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), EBUSY);
    close(fd);
    fd = open("m/w", O_RDONLY);
    report("remount-ro-reader", mount(NULL, "m", NULL, MS_REMOUNT | MS_RDONLY, NULL));
    close(fd);
    report("remount-rw-again", mount(NULL, "m", NULL, MS_REMOUNT | MS_NOEXEC, NULL));

    /* nosymfollow: symlinks there are not followed, but read. */
    symlink("f", "m/link");
    report("remount-nosymfollow",
           mount(NULL, "m", NULL, MS_REMOUNT | MS_NOEXEC | MS_NOSYMFOLLOW, NULL));
    EXPECT_ERR("nosymfollow-open", open("m/link", O_RDONLY), ELOOP);
    EXPECT_ERR("nosymfollow-stat", stat("m/link", &st), ELOOP);
    char target[16] = "";
    CHECK("nosymfollow-readlink", readlink("m/link", target, sizeof target) == 1);
    CHECK("nosymfollow-lstat", lstat("m/link", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK("statfs-nosymfollow", statfs("m", &sf) == 0 && (sf.f_flags & ST_NOSYMFOLLOW));
    report("remount-symfollow", mount(NULL, "m", NULL, MS_REMOUNT | MS_NOEXEC, NULL));
    fd = open("m/link", O_RDONLY);
    CHECK("symfollow-open", fd >= 0);
    close(fd);

    /* Unprivileged callers get EPERM. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(65534) != 0) _exit(1);
        EXPECT_ERR("user-mount", mount("x", "b", "tmpfs", 0, NULL), EPERM);
        EXPECT_ERR("user-umount", umount("m"), EPERM);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    /* Stacked mounts, MNT_EXPIRE (a use in between takes the mark away), and MNT_DETACH of
     * a busy mount. */
    report("mount-stacked", mount("top", "m", "tmpfs", 0, NULL));
    CHECK("stacked-empty", access("m/f", F_OK) != 0);
    EXPECT_ERR("expire-first", umount2("m", MNT_EXPIRE), EAGAIN);
    CHECK("expire-use", access("m", F_OK) == 0);
    EXPECT_ERR("expire-after-use", umount2("m", MNT_EXPIRE), EAGAIN);
    report("expire-second", umount2("m", MNT_EXPIRE));
    CHECK("lower-back", access("m/f", F_OK) == 0);
    fd = open("m/f", O_RDONLY);
    report("umount-detach-busy", umount2("m", MNT_DETACH));
    show_mount("m");
    char c;
    CHECK("detached-file-readable", fd >= 0 && read(fd, &c, 1) == 1);
    close(fd);
    CHECK("detached-gone", access("m/f", F_OK) != 0);
    atimes();
    return 0;
}
