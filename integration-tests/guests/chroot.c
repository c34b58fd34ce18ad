/* chroot(2) in a child: absolute paths, `..` and absolute symlinks stay inside the new root,
 * getcwd shows paths from it ("(unreachable)" outside), a static program runs from inside;
 * and the errnos (ENOENT, ENOTDIR, EFAULT, ENAMETOOLONG, EACCES and EPERM as nobody). argv[1]:
 * a static program to copy into the new root. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[] = "/tmp/uml-chroot-XXXXXX";

static void put(const char *name, const char *text) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    write(fd, text, strlen(text));
    close(fd);
}

static void copy(const char *from, const char *name) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int in = open(from, O_RDONLY), out = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, n);
    close(in);
    close(out);
}

static void show(const char *path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("  %s: %s\n", path, ename(errno));
        return;
    }
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("  %s: %s\n", path, buf);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!mkdtemp(dir)) return 1;
    char sub[256];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0755);
    put("file", "inside");
    put("sub/file", "deeper");
    char link[256];
    snprintf(link, sizeof link, "%s/abs", dir);
    symlink("/file", link);
    if (argc > 1) copy(argv[1], "prog");

    pid_t c = fork();
    if (c == 0) {
        printf("chroot: %d\n", chroot(dir));
        char cwd[256];
        printf("getcwd outside the root: %s\n", getcwd(cwd, sizeof cwd) ? cwd : ename(errno));
        printf("chdir /sub: %d\n", chdir("/sub"));
        printf("getcwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : ename(errno));
        show("/file");
        show("file");
        show("../../../file");
        show("/../../sub/file");
        show("/abs");
        struct stat a, b;
        stat("/", &a);
        stat("/..", &b);
        printf("/.. is /: %d\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        printf("/tmp in the new root: %d\n", access("/tmp", F_OK) == 0);
        if (argc > 1) {
            fflush(stdout);
            execl("/prog", "prog", (char *)NULL);
            printf("exec /prog: %s\n", ename(errno));
        }
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);

    c = fork();
    if (c == 0) {
        EXPECT_ERR("chroot missing", chroot("/nonexistent-dir"), ENOENT);
        char f[256];
        snprintf(f, sizeof f, "%s/file", dir);
        EXPECT_ERR("chroot a file", chroot(f), ENOTDIR);
        EXPECT_ERR("chroot bad pointer", chroot((char *)8), EFAULT);
        static char longp[5000];
        memset(longp, 'a', sizeof longp - 1);
        EXPECT_ERR("chroot long path", chroot(longp), ENAMETOOLONG);
        chmod(dir, 0755);
        chmod(sub, 0700);
        if (setgid(65534) || setuid(65534)) _exit(2);
        EXPECT_ERR("nobody chroot", chroot(dir), EPERM);
        EXPECT_ERR("nobody chroot unsearchable", chroot(sub), EACCES);
        _exit(0);
    }
    waitpid(c, &st, 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    system(cmd);
    printf("done\n");
    return 0;
}
