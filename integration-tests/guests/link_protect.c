/* Link protections (issue 10): with fs/protected_hardlinks, a user links only files it
 * owns or may read and write that are regular and neither set-user-ID nor executable
 * set-group-ID (EPERM); with fs/protected_symlinks, a symlink ending a path in a sticky
 * world-writable directory is followed only by its owner or when the directory's owner
 * owns it (EACCES, for root too), while a symlink in the middle of a path is not checked.
 * Prints whether each outcome matches the sysctl's value ("as ... says: 1"), so that it
 * compares between hosts that set them differently. As root, in a scratch directory under argv[1]; with
 * argv[2] "off" it first turns protected_symlinks off (uml only). */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int sysctl(const char *name) {
    char path[128], buf[16] = {0};
    snprintf(path, sizeof path, "/proc/sys/fs/%s", name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    read(fd, buf, sizeof buf - 1);
    close(fd);
    return atoi(buf);
}

static void mkfile(const char *path, mode_t mode, uid_t uid) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) { printf("bad create %s: %s\n", path, ename(errno)); return; }
    close(fd);
    if (chown(path, uid, uid) || chmod(path, mode)) printf("bad chown/chmod %s\n", path);
}

/* As uid 1000: link `src` to `dst`; "denied" when protected_hardlinks refuses (EPERM). */
static void user_link(const char *what, const char *src, const char *dst, int refused) {
    pid_t c = fork();
    if (c == 0) {
        if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(3);
        errno = 0;
        int r = link(src, dst);
        int e = errno;
        int prot = sysctl("protected_hardlinks");
        int want_fail = prot == 1 && refused;
        printf("hardlink %s as protected_hardlinks says: %d\n", what,
               want_fail ? (r == -1 && e == EPERM) : r == 0);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) return 2;
    if (argc > 2 && strcmp(argv[2], "off") == 0) {
        int fd = open("/proc/sys/fs/protected_symlinks", O_WRONLY);
        if (fd < 0 || write(fd, "0\n", 2) != 2) printf("bad write protected_symlinks\n");
        if (fd >= 0) close(fd);
        fd = open("/proc/sys/fs/protected_symlinks", O_WRONLY);
        errno = 0;
        long r = write(fd, "2\n", 2);
        printf("protected_symlinks=2: %s\n", r < 0 ? ename(errno) : "accepted");
        close(fd);
    }
    char dir[256];
    snprintf(dir, sizeof dir, "%s/linkprot.XXXXXX", argv[1]);
    if (!mkdtemp(dir)) { printf("bad mkdtemp\n"); return 1; }
    chmod(dir, 01777);
    char p[8][300];
    const char *names[] = {"root600", "root666", "suid", "sgidx", "sgid", "fifo", "mine", "l"};
    for (int i = 0; i < 8; i++) snprintf(p[i], sizeof p[i], "%s/%s", dir, names[i]);
    mkfile(p[0], 0600, 0);
    mkfile(p[1], 0666, 0);
    mkfile(p[2], 04777, 0);
    mkfile(p[3], 02777, 0);
    mkfile(p[4], 02767, 0);
    mkfifo(p[5], 0666);
    mkfile(p[6], 0600, 1000);
    char dst[320];
    const char *what[] = {"root's 0600", "root's 0666", "setuid", "setgid exec", "setgid no exec",
                          "root's fifo", "own file"};
    int refused[] = {1, 0, 1, 1, 0, 1, 0};
    for (int i = 0; i < 7; i++) {
        snprintf(dst, sizeof dst, "%s.ln%d", p[7], i);
        user_link(what[i], p[i], dst, refused[i]);
    }
    snprintf(dst, sizeof dst, "%s.rootln", p[7]);
    CHECK("root links root's 0600 file", link(p[0], dst) == 0);

    /* A symlink of uid 1000 in the sticky world-writable directory, to a file and to a
     * directory. */
    char sl[320], sd[320], sub[320];
    snprintf(sl, sizeof sl, "%s/sym", dir);
    snprintf(sd, sizeof sd, "%s/symdir", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0755);
    mkfile(p[7], 0644, 0);
    pid_t c = fork();
    if (c == 0) {
        if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(3);
        if (symlink(p[7], sl) || symlink(sub, sd)) printf("bad symlink\n");
        int fd = open(sl, O_RDONLY);
        printf("owner follows its symlink: %s\n", fd < 0 ? ename(errno) : "OK");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    int prot = sysctl("protected_symlinks");
    errno = 0;
    int fd = open(sl, O_RDONLY);
    int e = errno;
    printf("root follows another's symlink as protected_symlinks says: %d\n",
           prot == 1 ? (fd < 0 && e == EACCES) : fd >= 0);
    if (argc > 2) printf("protected_symlinks=%d, root follows: %s\n", prot, fd < 0 ? ename(e) : "OK");
    if (fd >= 0) close(fd);
    struct stat st;
    printf("stat through it as protected_symlinks says: %d\n",
           prot == 1 ? stat(sl, &st) == -1 && errno == EACCES : stat(sl, &st) == 0);
    printf("lstat of it: %d\n", lstat(sl, &st) == 0);
    char mid[340];
    snprintf(mid, sizeof mid, "%s/.", sd);
    printf("symlink in the middle of a path: %d\n", stat(mid, &st) == 0);
    /* Owned by the directory's owner: followed. */
    char rl[320];
    snprintf(rl, sizeof rl, "%s/rootsym", dir);
    symlink(p[7], rl);
    c = fork();
    if (c == 0) {
        if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(3);
        int f = open(rl, O_RDONLY);
        printf("user follows the directory owner's symlink: %s\n", f < 0 ? ename(errno) : "OK");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("done\n");
    return 0;
}
