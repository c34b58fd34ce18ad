/* FIFOs (named pipes) in DIR (argv[1]): mkfifo/mknod and their errors, the open rules
 * (blocking rendezvous in both orders, O_NONBLOCK, O_RDWR, a signal during a blocking open),
 * data, EOF, EPIPE/SIGPIPE, readiness, metadata, names (link, rename, unlink while open) and
 * device nodes (run as root). Prints relationships, never paths, pids or inode numbers. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static const char *dir;

static const char *at(const char *name) {
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static void show_stat(const char *what, const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        printf("%s: lstat %s\n", what, ename(errno));
        return;
    }
    const char *t = S_ISFIFO(st.st_mode)  ? "fifo"
                    : S_ISREG(st.st_mode)  ? "regular"
                    : S_ISSOCK(st.st_mode) ? "socket"
                    : S_ISCHR(st.st_mode)  ? "char"
                    : S_ISBLK(st.st_mode)  ? "block"
                                           : "other";
    printf("%s: %s perm=%o size=%lld nlink=%lu", what, t, st.st_mode & 07777,
           (long long)st.st_size, (unsigned long)st.st_nlink);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        printf(" rdev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
    printf("\n");
}

static void poll_show(const char *what, int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    int n = poll(&p, 1, 0);
    printf("%s: n=%d%s%s%s%s\n", what, n, p.revents & POLLIN ? " IN" : "",
           p.revents & POLLOUT ? " OUT" : "", p.revents & POLLHUP ? " HUP" : "",
           p.revents & POLLERR ? " ERR" : "");
}

/* Whether a byte is waiting in the marker pipe (without waiting for one). */
static int marked(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static void make_nodes(void) {
    umask(022);
    report("mkfifo", mkfifo(at("p"), 0666));
    show_stat("mkfifo", at("p"));
    EXPECT_ERR("mkfifo exists", mkfifo(at("p"), 0600), EEXIST);
    EXPECT_ERR("mkfifo no parent", mkfifo(at("none/p"), 0600), ENOENT);
    close(open(at("file"), O_CREAT | O_WRONLY, 0644));
    EXPECT_ERR("mkfifo parent is a file", mkfifo(at("file/p"), 0600), ENOTDIR);
    EXPECT_ERR("mknod bad type", mknod(at("bad"), 0170000 | 0644, 0), EINVAL);
    EXPECT_ERR("mknod symlink type", mknod(at("bad"), S_IFLNK | 0644, 0), EINVAL);
    EXPECT_ERR("mknod directory", mknod(at("bad"), S_IFDIR | 0755, 0), EPERM);
    EXPECT_ERR("mknod bad pointer", mknod((const char *)8, S_IFIFO | 0644, 0), EFAULT);
    EXPECT_ERR("mknod bad type, bad pointer", mknod((const char *)8, 0170000, 0), EINVAL);
    EXPECT_ERR("mknod empty path", mknod("", S_IFIFO | 0644, 0), ENOENT);
    EXPECT_ERR("mknodat bad dirfd", mknodat(9999, "x", S_IFIFO | 0644, 0), EBADF);
    EXPECT_ERR("mknod trailing slash", mknod(at("q/"), S_IFIFO | 0644, 0), ENOENT);
    report("mknod regular", mknod(at("reg"), S_IFREG | 0666, 0));
    show_stat("mknod regular", at("reg"));
    report("mknod no type", mknod(at("notype"), 0640, 0));
    show_stat("mknod no type", at("notype"));
    report("mknod fifo setgid", mknod(at("fifo2"), S_IFIFO | 02777, 0));
    show_stat("mknod fifo setgid", at("fifo2"));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    report("mknodat fifo", mknodat(dfd, "fifo3", S_IFIFO | 0600, 0));
    show_stat("mknodat fifo", at("fifo3"));
    close(dfd);
    report("mknod socket", mknod(at("sock"), S_IFSOCK | 0644, 0));
    show_stat("mknod socket", at("sock"));
    EXPECT_ERR("open socket inode", open(at("sock"), O_RDONLY), ENXIO);
    EXPECT_ERR("truncate fifo", truncate(at("p"), 0), EINVAL);
    report("chmod fifo", chmod(at("p"), 0640));
    show_stat("chmod fifo", at("p"));
}

static void devices(void) {
    report("mknod null", mknod(at("null"), S_IFCHR | 0666, makedev(1, 3)));
    show_stat("null", at("null"));
    int fd = open(at("null"), O_RDWR);
    char buf[8] = "xxxxxxx";
    ssize_t wn = write(fd, "abc", 3);
    printf("null: write=%zd read=%zd\n", wn, read(fd, buf, sizeof buf));
    close(fd);
    report("mknod zero", mknod(at("zero"), S_IFCHR | 0444, makedev(1, 5)));
    fd = open(at("zero"), O_RDONLY);
    ssize_t zn = read(fd, buf, 4);
    printf("zero: read=%zd first=%d\n", zn, buf[0]);
    close(fd);
    report("mknod full", mknod(at("full"), S_IFCHR | 0666, makedev(1, 7)));
    fd = open(at("full"), O_WRONLY);
    EXPECT_ERR("full: write", write(fd, "a", 1), ENOSPC);
    close(fd);
    report("mknod urandom", mknod(at("urandom"), S_IFCHR | 0444, makedev(1, 9)));
    fd = open(at("urandom"), O_RDONLY);
    printf("urandom: read=%zd\n", read(fd, buf, 8));
    close(fd);
    /* A character major reserved for local use, with no driver: nothing to open. */
    report("mknod unknown char", mknod(at("nodev"), S_IFCHR | 0600, makedev(240, 7)));
    show_stat("unknown char", at("nodev"));
    EXPECT_ERR("open unknown char", open(at("nodev"), O_RDONLY), ENXIO);
    report("mknod block", mknod(at("blk"), S_IFBLK | 0600, makedev(240, 1)));
    show_stat("block", at("blk"));
    EXPECT_ERR("open block", open(at("blk"), O_RDONLY), ENXIO);
    EXPECT_ERR("mknod device exists", mknod(at("null"), S_IFCHR | 0666, makedev(1, 3)), EEXIST);
}

/* One end opens first and blocks until the other (the child, after a marker byte) comes. */
static void rendezvous(int reader_first) {
    const char *who = reader_first ? "reader first" : "writer first";
    int mark[2];
    pipe(mark);
    pid_t pid = fork();
    if (pid == 0) {
        close(mark[0]);
        usleep(100000);
        write(mark[1], "m", 1);
        int fd = open(at("p"), reader_first ? O_WRONLY : O_RDONLY);
        if (reader_first) {
            write(fd, "hello", 5);
        } else {
            char buf[16] = {0};
            ssize_t n = read(fd, buf, sizeof buf - 1);
            printf("%s: child read %zd '%s'\n", who, n, buf);
            fflush(stdout);
        }
        _exit(0);
    }
    close(mark[1]);
    int fd = open(at("p"), reader_first ? O_RDONLY : O_WRONLY);
    printf("%s: open=%s partner was there=%d\n", who, fd >= 0 ? "ok" : ename(errno),
           marked(mark[0]));
    fflush(stdout);
    if (reader_first) {
        char buf[16] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        ssize_t eof = read(fd, buf + 8, 4);
        printf("%s: read %zd '%.5s' then %zd\n", who, n, buf, eof);
        close(fd);
        waitpid(pid, NULL, 0);
    } else {
        ssize_t n = write(fd, "world", 5);
        close(fd);
        waitpid(pid, NULL, 0);
        printf("%s: write=%zd\n", who, n);
    }
    close(mark[0]);
}

static void on_alarm(int sig) { (void)sig; }

static void nonblocking(void) {
    EXPECT_ERR("nonblocking writer, no reader", open(at("p"), O_WRONLY | O_NONBLOCK), ENXIO);
    int r = open(at("p"), O_RDONLY | O_NONBLOCK);
    printf("nonblocking reader: %s\n", r >= 0 ? "ok" : ename(errno));
    char buf[16];
    printf("read, no writer yet: %zd\n", read(r, buf, sizeof buf));
    poll_show("poll reader, no writer yet", r);
    int w = open(at("p"), O_WRONLY | O_NONBLOCK);
    printf("nonblocking writer with reader: %s\n", w >= 0 ? "ok" : ename(errno));
    poll_show("poll reader, empty", r);
    EXPECT_ERR("read empty with writer", read(r, buf, sizeof buf), EAGAIN);
    poll_show("poll writer", w);
    printf("write: %zd\n", write(w, "abc", 3));
    poll_show("poll reader, data", r);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = r}, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev);
    int en = epoll_wait(ep, &got, 1, 0);
    printf("epoll: n=%d in=%d\n", en, en == 1 && (got.events & EPOLLIN));
    close(ep);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(r, &rs);
    struct timeval tv = {0, 0};
    int sn = select(r + 1, &rs, NULL, NULL, &tv);
    printf("select: n=%d set=%d\n", sn, FD_ISSET(r, &rs));
    close(w);
    poll_show("poll reader, writer gone", r);
    ssize_t rn = read(r, buf, sizeof buf);
    printf("read: %zd, then %zd\n", rn, read(r, buf, sizeof buf));
    /* A writer that opens after the reader without any writer left: no HUP until it goes. */
    w = open(at("p"), O_WRONLY | O_NONBLOCK);
    poll_show("poll reader, new writer", r);
    close(r);
    poll_show("poll writer, reader gone", w);
    signal(SIGPIPE, SIG_IGN);
    EXPECT_ERR("write, reader gone", write(w, "x", 1), EPIPE);
    signal(SIGPIPE, SIG_DFL);
    close(w);

    /* SIGPIPE kills a writer whose reader went away. */
    r = open(at("p"), O_RDONLY | O_NONBLOCK);
    w = open(at("p"), O_WRONLY);
    close(r);
    pid_t pid = fork();
    if (pid == 0) {
        write(w, "x", 1);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("writer without reader: signaled=%d sig=%d\n", WIFSIGNALED(status),
           WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    close(w);

    /* A signal during a blocking open: EINTR, and no reader is left behind. */
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    ualarm(100000, 0);
    EXPECT_ERR("blocking open interrupted", open(at("p"), O_RDONLY), EINTR);
    EXPECT_ERR("no reader left behind", open(at("p"), O_WRONLY | O_NONBLOCK), ENXIO);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    pid = fork();
    if (pid == 0) {
        usleep(300000);
        int fd = open(at("p"), O_WRONLY);
        write(fd, "late", 4);
        _exit(0);
    }
    ualarm(100000, 0);
    r = open(at("p"), O_RDONLY);
    const char *how = r >= 0 ? "ok" : ename(errno);
    char late[8] = {0};
    ssize_t ln = read(r, late, 4);
    printf("restarted open: %s read=%zd '%s'\n", how, ln, late);
    close(r);
    waitpid(pid, NULL, 0);
}

static void read_write_open(void) {
    int fd = open(at("p"), O_RDWR | O_TRUNC);
    printf("O_RDWR|O_TRUNC: %s\n", fd >= 0 ? "ok" : ename(errno));
    poll_show("poll O_RDWR, empty", fd);
    printf("write=%zd\n", write(fd, "loop", 4));
    char buf[8] = {0};
    ssize_t got = read(fd, buf, sizeof buf - 1);
    printf("read=%zd '%s'\n", got, buf);
    EXPECT_ERR("lseek", lseek(fd, 0, SEEK_SET), ESPIPE);
    EXPECT_ERR("pread", pread(fd, buf, 1, 0), ESPIPE);
    printf("F_GETPIPE_SZ=%d\n", fcntl(fd, F_GETPIPE_SZ));
    printf("F_SETPIPE_SZ(5000)=%d\n", fcntl(fd, F_SETPIPE_SZ, 5000));
    printf("F_GETPIPE_SZ=%d\n", fcntl(fd, F_GETPIPE_SZ));
    struct stat a, b;
    fstat(fd, &a);
    stat(at("p"), &b);
    printf("fstat: fifo=%d same inode=%d\n", S_ISFIFO(a.st_mode),
           a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    char link[64], target[600];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("/proc/self/fd link is the path: %d\n", strcmp(target, at("p")) == 0);
    /* What is left when every end closes is gone. */
    write(fd, "stale", 5);
    close(fd);
    fd = open(at("p"), O_RDONLY | O_NONBLOCK);
    printf("reopened after close: read=%zd\n", read(fd, buf, sizeof buf));
    printf("F_GETPIPE_SZ after reopen=%d\n", fcntl(fd, F_GETPIPE_SZ));
    close(fd);
}

static void names(void) {
    report("link fifo", link(at("p"), at("p2")));
    int r = open(at("p"), O_RDONLY | O_NONBLOCK);
    int w = open(at("p2"), O_WRONLY | O_NONBLOCK);
    printf("through a hard link: writer %s\n", w >= 0 ? "ok" : ename(errno));
    write(w, "ln", 2);
    char buf[8] = {0};
    ssize_t got = read(r, buf, sizeof buf - 1);
    printf("read=%zd '%s'\n", got, buf);
    close(w);
    close(r);
    report("rename fifo", rename(at("p2"), at("q")));
    show_stat("renamed", at("q"));
    int fd = open(at("q"), O_RDWR);
    report("unlink open fifo", unlink(at("q")));
    EXPECT_ERR("stat unlinked", access(at("q"), F_OK), ENOENT);
    printf("write=%zd\n", write(fd, "still", 5));
    memset(buf, 0, sizeof buf);
    got = read(fd, buf, sizeof buf - 1);
    printf("read=%zd '%s'\n", got, buf);
    close(fd);
    report("unlink fifo", unlink(at("p")));
    EXPECT_ERR("open unlinked", open(at("p"), O_RDONLY | O_NONBLOCK), ENOENT);
    report("mkfifo again", mkfifo(at("p"), 0600));
    show_stat("again", at("p"));
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    dir = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    make_nodes();
    if (geteuid() == 0) devices();
    rendezvous(1);
    rendezvous(0);
    nonblocking();
    read_write_open();
    names();
    printf("done\n");
    return 0;
}
