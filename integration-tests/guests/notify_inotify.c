/* inotify: the events of file operations on a watched directory and file (names, IN_ISDIR,
 * rename cookies, DELETE_SELF/MOVE_SELF/IGNORED), in the current directory (the host tree,
 * which uml shows through its overlay), on a tmpfs and through a bind mount (IN_UNMOUNT);
 * errnos of the calls, watch flags (ONESHOT, MASK_ADD, MASK_CREATE, ONLYDIR, DONT_FOLLOW,
 * EXCL_UNLINK), coalescing, queue overflow, short reads, FIONREAD, fdinfo, poll/select/epoll
 * readiness and a blocking read woken by another process. Run in a scratch directory, as
 * root (it mounts). */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>

static char buf[1 << 20] __attribute__((aligned(8)));
static uint32_t cookies[64];
static int ncookies;

static const char *names[] = {"ACCESS", "MODIFY", "ATTRIB", "CLOSE_WRITE", "CLOSE_NOWRITE",
                              "OPEN", "MOVED_FROM", "MOVED_TO", "CREATE", "DELETE",
                              "DELETE_SELF", "MOVE_SELF", "?", "UNMOUNT", "Q_OVERFLOW",
                              "IGNORED"};

static void print_mask(uint32_t m) {
    int first = 1;
    for (int i = 0; i < 16; i++)
        if (m & (1u << i)) {
            printf("%s%s", first ? "" : "|", names[i]);
            first = 0;
        }
    if (m & IN_ISDIR) printf("|ISDIR");
    if (m & ~(0xffffu | IN_ISDIR)) printf("|%#x", m & ~(0xffffu | IN_ISDIR));
}

/* Cookies print as their order of appearance (c1, c2 ...), 0 as c0. */
static int cookie_no(uint32_t c) {
    if (c == 0) return 0;
    for (int i = 0; i < ncookies; i++)
        if (cookies[i] == c) return i + 1;
    cookies[ncookies] = c;
    return ++ncookies;
}

/* Reads and prints whatever is queued (the descriptor is non-blocking). */
static void drain(int fd, const char *tag) {
    printf("-- %s\n", tag);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno != EAGAIN) printf("bad read %s\n", ename(errno));
            return;
        }
        for (ssize_t i = 0; i < n;) {
            struct inotify_event *e = (struct inotify_event *)(buf + i);
            printf("wd=%d ", e->wd);
            print_mask(e->mask);
            printf(" c%d len=%u name=%s\n", cookie_no(e->cookie), e->len,
                   e->len ? e->name : "-");
            i += sizeof *e + e->len;
        }
    }
}

static void touch(const char *p) {
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) printf("bad touch %s %s\n", p, ename(errno));
    else close(fd);
}

/* Every operation once, in directory `dir`, watched with IN_ALL_EVENTS (and the file
 * `dir/f` with its own watch). */
static void scenario(int in, const char *dir, const char *tag) {
    char p[512], q[512], r[512];
    int wd = inotify_add_watch(in, dir, IN_ALL_EVENTS);
    CHECK("watch dir", wd > 0);
    snprintf(p, sizeof p, "%s/f", dir);
    int fd = open(p, O_CREAT | O_RDWR, 0644);
    write(fd, "hello", 5);
    write(fd, "hello", 5);
    int fwd = inotify_add_watch(in, p, IN_ALL_EVENTS);
    lseek(fd, 0, SEEK_SET);
    read(fd, q, 3);
    read(fd, q, 0);
    ftruncate(fd, 2);
    fchmod(fd, 0600);
    close(fd);
    drain(in, tag);
    fd = open(p, O_RDONLY | O_TRUNC);
    close(fd);
    fd = open(p, O_WRONLY | O_TRUNC);
    close(fd);
    truncate(p, 10);
    struct timespec ts[2] = {{1, 0}, {2, 0}};
    utimensat(AT_FDCWD, p, ts, 0);
    ts[0].tv_nsec = UTIME_OMIT;
    utimensat(AT_FDCWD, p, ts, 0);
    ts[0].tv_nsec = 0;
    ts[1].tv_nsec = UTIME_OMIT;
    utimensat(AT_FDCWD, p, ts, 0);
    chown(p, getuid(), -1);
    drain(in, "attributes");
    snprintf(q, sizeof q, "%s/g", dir);
    link(p, q);
    rename(q, p); /* same inode: nothing happens */
    snprintf(r, sizeof r, "%s/h", dir);
    rename(q, r);
    symlink("f", q);
    unlink(q);
    snprintf(q, sizeof q, "%s/sub", dir);
    mkdir(q, 0755);
    int dfd = open(q, O_RDONLY | O_DIRECTORY);
    char dents[512];
    syscall(SYS_getdents64, dfd, dents, sizeof dents);
    close(dfd);
    rename(q, r); /* ENOTDIR: h is a file */
    snprintf(r, sizeof r, "%s/sub2", dir);
    rename(q, r);
    rmdir(r);
    mkfifo(q, 0600);
    unlink(q);
    drain(in, "names");
    snprintf(r, sizeof r, "%s/h", dir);
    rename(r, p); /* h and f name the same inode: nothing happens */
    drain(in, "rename onto a link of itself");
    unlink(r);
    drain(in, "unlink one of two names");
    touch(r);
    rename(r, p); /* a new h replaces f: f's inode loses its last name */
    drain(in, "rename over");
    unlink(p);
    drain(in, "unlink");
    CHECK("rm_watch file gone", inotify_rm_watch(in, fwd) == -1 && errno == EINVAL);
    CHECK("rm_watch dir", inotify_rm_watch(in, wd) == 0);
    drain(in, "rm_watch");
}

static int ready(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    EXPECT_ERR("init1 bad flags", inotify_init1(1), EINVAL);
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    CHECK("init1", in >= 0);
    printf("flags nonblock=%d cloexec=%d\n", !!(fcntl(in, F_GETFL) & O_NONBLOCK),
           !!(fcntl(in, F_GETFD) & FD_CLOEXEC));
    int plain = inotify_init();
    printf("init nonblock=%d\n", !!(fcntl(plain, F_GETFL) & O_NONBLOCK));
    EXPECT_ERR("read empty", read(in, buf, sizeof buf), EAGAIN);
    EXPECT_ERR("write", write(in, "x", 1), EBADF);

    /* errnos */
    mkdir("d", 0755);
    touch("d/file");
    symlink("file", "d/link");
    EXPECT_ERR("add bad fd", inotify_add_watch(99, ".", IN_OPEN), EBADF);
    EXPECT_ERR("add not inotify", inotify_add_watch(1, ".", IN_OPEN), EINVAL);
    EXPECT_ERR("add no bits", inotify_add_watch(in, ".", 0), EINVAL);
    EXPECT_ERR("add unknown bits", inotify_add_watch(in, ".", 0x00800000), EINVAL);
    printf("add flags only: wd=%d\n", inotify_add_watch(in, ".", IN_ONESHOT));
    EXPECT_ERR("add add+create", inotify_add_watch(in, ".", IN_OPEN | IN_MASK_ADD | IN_MASK_CREATE),
               EINVAL);
    EXPECT_ERR("add enoent", inotify_add_watch(in, "d/nope", IN_OPEN), ENOENT);
    EXPECT_ERR("add onlydir", inotify_add_watch(in, "d/file", IN_OPEN | IN_ONLYDIR), ENOTDIR);
    EXPECT_ERR("add efault", inotify_add_watch(in, (char *)1, IN_OPEN), EFAULT);
    EXPECT_ERR("rm bad wd", inotify_rm_watch(in, 12345), EINVAL);
    EXPECT_ERR("rm bad fd", inotify_rm_watch(99, 1), EBADF);
    EXPECT_ERR("rm not inotify", inotify_rm_watch(1, 1), EINVAL);

    /* one watch per inode and group: the same wd back; MASK_ADD, MASK_CREATE */
    int w1 = inotify_add_watch(in, "d/file", IN_OPEN);
    int w2 = inotify_add_watch(in, "d/link", IN_CLOSE_WRITE);
    int w3 = inotify_add_watch(in, "d/link", IN_ATTRIB | IN_DONT_FOLLOW);
    printf("same wd through the link=%d symlink's own=%d\n", w1 == w2, w3 != w1);
    EXPECT_ERR("mask create", inotify_add_watch(in, "d/file", IN_OPEN | IN_MASK_CREATE), EEXIST);
    inotify_add_watch(in, "d/file", IN_MODIFY | IN_MASK_ADD);
    int fd = open("d/file", O_WRONLY);
    write(fd, "x", 1);
    close(fd);
    drain(in, "mask add (close_write replaced)");
    inotify_rm_watch(in, w1);
    inotify_rm_watch(in, w3);
    drain(in, "rm");

    /* fdinfo shows the mask with its flags */
    w1 = inotify_add_watch(in, "d", IN_MODIFY | IN_ONESHOT | IN_EXCL_UNLINK);
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", in);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        unsigned wdx, mask;
        if (sscanf(line, "inotify wd:%x ino:%*x sdev:%*x mask:%x", &wdx, &mask) == 2)
            printf("fdinfo wd=%d mask=%#x\n", wdx == (unsigned)w1, mask);
    }
    if (f) fclose(f);
    /* one-shot: the first event, then IGNORED */
    fd = open("d/file", O_WRONLY);
    write(fd, "x", 1);
    write(fd, "y", 1);
    close(fd);
    drain(in, "oneshot");
    /* EXCL_UNLINK: nothing from a file once it has no name */
    w1 = inotify_add_watch(in, "d", IN_MODIFY | IN_EXCL_UNLINK);
    fd = open("d/file", O_WRONLY);
    write(fd, "x", 1);
    unlink("d/file");
    write(fd, "y", 1);
    close(fd);
    unlink("d/link");
    drain(in, "excl_unlink");
    inotify_rm_watch(in, w1);
    drain(in, "rm");

    /* reads: too small, exact, FIONREAD */
    w1 = inotify_add_watch(in, "d", IN_CREATE);
    touch("d/abc");
    touch("d/abcdefghijklmnopqrstuvwxyz");
    int avail = -1;
    ioctl(in, FIONREAD, &avail);
    printf("fionread=%d\n", avail);
    EXPECT_ERR("read 0", read(in, buf, 0), EINVAL);
    EXPECT_ERR("read too small", read(in, buf, 16), EINVAL);
    printf("read one=%zd\n", read(in, buf, 40));
    printf("read rest=%zd\n", read(in, buf, sizeof buf));
    inotify_rm_watch(in, w1);
    drain(in, "rm");

    /* coalescing: identical consecutive events merge, others do not */
    w1 = inotify_add_watch(in, "d/abc", IN_MODIFY | IN_ATTRIB);
    fd = open("d/abc", O_WRONLY);
    for (int i = 0; i < 5; i++) write(fd, "x", 1);
    fchmod(fd, 0600);
    write(fd, "x", 1);
    close(fd);
    drain(in, "coalesce");
    inotify_rm_watch(in, w1);
    drain(in, "rm");

    /* overflow: max_queued_events, then one IN_Q_OVERFLOW */
    f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
    int maxq = 0;
    if (f) {
        fscanf(f, "%d", &maxq);
        fclose(f);
    }
    printf("max_queued_events=%d\n", maxq);
    w1 = inotify_add_watch(in, "d/abc", IN_OPEN | IN_CLOSE);
    for (int i = 0; i < maxq / 2 + 10; i++) close(open("d/abc", O_RDONLY));
    int total = 0, over = 0, last_wd = 0;
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n;) {
            struct inotify_event *e = (struct inotify_event *)(buf + i);
            total++;
            if (e->mask & IN_Q_OVERFLOW) over++, last_wd = e->wd;
            i += sizeof *e + e->len;
        }
    printf("overflow: events=%d overflows=%d wd=%d\n", total, over, last_wd);
    close(open("d/abc", O_RDONLY));
    drain(in, "after overflow");
    inotify_rm_watch(in, w1);
    drain(in, "rm");

    /* readiness and a blocking read woken by another process */
    w1 = inotify_add_watch(plain, "d", IN_CREATE);
    printf("ready empty=%d\n", ready(plain));
    touch("d/one");
    printf("ready after=%d\n", ready(plain));
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(plain, &rs);
    struct timeval tv = {0, 0};
    printf("select=%d\n", select(plain + 1, &rs, NULL, NULL, &tv));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, plain, &ev);
    printf("epoll=%d\n", epoll_wait(ep, &got, 1, 0));
    read(plain, buf, sizeof buf);
    printf("epoll drained=%d\n", epoll_wait(ep, &got, 1, 0));
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec t = {0, 100 * 1000 * 1000};
        nanosleep(&t, NULL);
        touch("d/two");
        _exit(0);
    }
    printf("epoll wait=%d\n", epoll_wait(ep, &got, 1, 10000));
    n = read(plain, buf, sizeof buf);
    struct inotify_event *e = (struct inotify_event *)buf;
    printf("blocking read=%zd name=%s\n", n, n > 0 ? e->name : "-");
    pid = fork();
    if (pid == 0) {
        struct timespec t = {0, 100 * 1000 * 1000};
        nanosleep(&t, NULL);
        touch("d/three");
        _exit(0);
    }
    alarm(10);
    n = read(plain, buf, sizeof buf);
    alarm(0);
    printf("blocking read=%zd name=%s\n", n, n > 0 ? e->name : "-");
    waitpid(-1, NULL, 0);
    waitpid(-1, NULL, 0);
    close(ep);

    /* the operations in the current directory, then on a tmpfs (unmounted while watched),
     * then through a bind mount */
    mkdir("s", 0755);
    scenario(in, "s", "scratch");
    mkdir("t", 0755);
    if (mount("notify", "t", "tmpfs", 0, NULL) != 0) printf("bad mount %s\n", ename(errno));
    scenario(in, "t", "tmpfs");
    touch("t/x");
    inotify_add_watch(in, "t/x", IN_OPEN);
    inotify_add_watch(in, "t", IN_OPEN);
    CHECK("umount tmpfs", umount("t") == 0);
    drain(in, "umount");
    mkdir("b", 0755);
    touch("s/y");
    if (mount("s", "b", NULL, MS_BIND, NULL) != 0) printf("bad bind %s\n", ename(errno));
    w1 = inotify_add_watch(in, "b/y", IN_ATTRIB);
    chmod("s/y", 0600);
    drain(in, "through a bind mount");
    CHECK("umount bind", umount("b") == 0);
    drain(in, "bind umount: the file system is still mounted");
    inotify_rm_watch(in, w1);
    drain(in, "rm");
    close(in);
    close(plain);
    /* leave the scratch directory as it was */
    const char *files[] = {"d/abc", "d/abcdefghijklmnopqrstuvwxyz", "d/one", "d/two",
                           "d/three", "s/y"};
    for (unsigned i = 0; i < sizeof files / sizeof *files; i++)
        if (unlink(files[i]) != 0) printf("bad cleanup %s %s\n", files[i], ename(errno));
    const char *dirs[] = {"d", "s", "t", "b"};
    for (unsigned i = 0; i < sizeof dirs / sizeof *dirs; i++)
        if (rmdir(dirs[i]) != 0) printf("bad cleanup %s %s\n", dirs[i], ename(errno));
    printf("done\n");
    return 0;
}
