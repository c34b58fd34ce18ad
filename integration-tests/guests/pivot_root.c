/* pivot_root(2) in a new mount namespace, in a tmpfs chrooted into below the working
 * directory: its errnos (EBUSY, EINVAL, ENOTDIR, ENOENT, EPERM), the old root under
 * put_old and the new root in its place, a process sharing the old root moved along,
 * the pivot_root(".", ".") idiom, and mounting on a /proc magic link (ENOENT). Prints
 * lines that are the same natively (as root) and under uml. */
#include "common.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

static long pivot(const char *new_root, const char *put_old) {
    return syscall(SYS_pivot_root, new_root, put_old);
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void touch(const char *p) { close(open(p, O_CREAT | O_WRONLY, 0644)); }

/* A private namespace whose root is a tmpfs at `dir` (below the working directory). */
static void enter(const char *dir) {
    report("unshare", unshare(CLONE_NEWNS));
    report("private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
    mkdir(dir, 0755);
    report("root-tmpfs", mount("none", dir, "tmpfs", 0, NULL));
    report("chroot", chroot(dir));
    report("chdir", chdir("/"));
    touch("/rootmarker");
    mkdir("/new", 0755);
    report("new-tmpfs", mount("none", "/new", "tmpfs", 0, NULL));
    touch("/new/marker");
    mkdir("/new/old", 0755);
}

static void errnos(void) {
    enter("e");
    mkdir("/plain", 0755);
    mkdir("/plain/x", 0755);
    EXPECT_ERR("new-on-root-mount", pivot("/plain", "/plain/x"), EBUSY);
    EXPECT_ERR("put-old-on-root-mount", pivot("/new", "/plain"), EBUSY);
    mkdir("/other", 0755);
    mount("none", "/other", "tmpfs", 0, NULL);
    mkdir("/other/x", 0755);
    EXPECT_ERR("put-old-not-under-new", pivot("/new", "/other/x"), EINVAL);
    touch("/new/file");
    EXPECT_ERR("put-old-file", pivot("/new", "/new/file"), ENOTDIR);
    EXPECT_ERR("new-file", pivot("/new/file", "/new/old"), ENOTDIR);
    EXPECT_ERR("put-old-missing", pivot("/new", "/new/nope"), ENOENT);
    EXPECT_ERR("new-missing", pivot("/nope", "/new/old"), ENOENT);
    EXPECT_ERR("new-not-mount-root", pivot("/new/old", "/new/old"), EINVAL);
    mount(NULL, "/new", NULL, MS_SHARED, NULL);
    EXPECT_ERR("put-old-shared", pivot("/new", "/new/old"), EINVAL);
    mount(NULL, "/new", NULL, MS_PRIVATE, NULL);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        setresuid(65534, 65534, 65534);
        EXPECT_ERR("unprivileged", pivot("/new", "/new/old"), EPERM);
        EXPECT_ERR("unprivileged-bad-path", pivot((char *)1, "/new/old"), EPERM);
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    EXPECT_ERR("efault-path", pivot((char *)1, "/new/old"), EFAULT);
}

static void pivots(void) {
    enter("p");
    /* A process sharing the old root and working directory moves with it. */
    int go[2], done[2];
    pipe(go);
    pipe(done);
    fflush(stdout);
    pid_t sib = fork();
    if (sib == 0) {
        char c;
        read(go[0], &c, 1);
        CHECK("sibling-sees-new-root", exists("/marker") && exists("marker"));
        CHECK("sibling-old-under-put-old", exists("/old/rootmarker"));
        fflush(stdout);
        write(done[1], "x", 1);
        _exit(0);
    }
    report("pivot", pivot("/new", "/new/old"));
    CHECK("new-root", exists("/marker") && !exists("/rootmarker"));
    CHECK("cwd-moved", exists("marker"));
    CHECK("old-root-at-put-old", exists("/old/rootmarker") && exists("/old/new") && !exists("/old/new/marker"));
    char buf[256];
    CHECK("getcwd", getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0);
    fflush(stdout);
    write(go[1], "x", 1);
    char c;
    read(done[0], &c, 1);
    waitpid(sib, NULL, 0);
    EXPECT_ERR("again-root-is-new-root", pivot("/", "/old"), EBUSY);
    report("umount-old", umount2("/old", MNT_DETACH));
    CHECK("old-gone", !exists("/old/rootmarker"));
}

static void dot_dot(void) {
    enter("d");
    report("chdir-new", chdir("/new"));
    report("pivot-dot-dot", pivot(".", "."));
    report("umount-dot", umount2(".", MNT_DETACH));
    report("chdir-root", chdir("/"));
    CHECK("dot-new-root", exists("/marker") && !exists("/rootmarker"));
}

static void magic_link(void) {
    mkdir("m", 0755);
    touch("m/foo");
    touch("m/bar");
    int fd = open("m/foo", O_RDONLY);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int pfd = open(path, O_PATH | O_NOFOLLOW);
    snprintf(path, sizeof path, "/proc/self/fd/%d", pfd);
    EXPECT_ERR("mount-on-magic-link", mount("m/bar", path, "", MS_BIND, NULL), ENOENT);
    close(pfd);
    close(fd);
}

static void in_child(const char *name, void (*f)(void)) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        f();
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("%s-exit=%d\n", name, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void) {
    in_child("errnos", errnos);
    in_child("pivots", pivots);
    in_child("dot-dot", dot_dot);
    in_child("magic", magic_link);
    return 0;
}
