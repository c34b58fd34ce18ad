/* fanotify: errnos of fanotify_init/fanotify_mark, events of inode, directory (with
 * FAN_EVENT_ON_CHILD / FAN_ONDIR), mount and filesystem marks (on a tmpfs it mounts),
 * merging, ignore masks and their clearing by a modification, FAN_MARK_FLUSH, the event
 * files (which name the file), FAN_REPORT_TID, short and non-blocking reads, poll and a
 * blocking read woken by another process, permission events answered (allow, deny, a
 * closed group). Run in a scratch directory, as root. */
#include "common.h"
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char buf[65536] __attribute__((aligned(8)));

static void print_mask(unsigned long long m) {
    static const struct { unsigned long long bit; const char *name; } names[] = {
        {FAN_ACCESS, "ACCESS"}, {FAN_MODIFY, "MODIFY"}, {FAN_CLOSE_WRITE, "CLOSE_WRITE"},
        {FAN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {FAN_OPEN, "OPEN"}, {FAN_OPEN_EXEC, "OPEN_EXEC"},
        {FAN_Q_OVERFLOW, "Q_OVERFLOW"}, {FAN_OPEN_PERM, "OPEN_PERM"},
        {FAN_ACCESS_PERM, "ACCESS_PERM"}, {FAN_ONDIR, "ONDIR"}};
    int first = 1;
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        if (m & names[i].bit) {
            printf("%s%s", first ? "" : "|", names[i].name);
            first = 0;
            m &= ~names[i].bit;
        }
    if (m) printf("|%#llx", m);
}

/* Reads and prints what is queued (the descriptor is non-blocking). */
static void drain(int fan, const char *tag) {
    printf("-- %s\n", tag);
    for (;;) {
        ssize_t n = read(fan, buf, sizeof buf);
        if (n < 0) {
            if (errno != EAGAIN) printf("bad read %s\n", ename(errno));
            return;
        }
        struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
        for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
            char link[64], path[PATH_MAX] = "-";
            if (m->fd >= 0) {
                snprintf(link, sizeof link, "/proc/self/fd/%d", m->fd);
                ssize_t k = readlink(link, path, sizeof path - 1);
                path[k > 0 ? k : 0] = 0;
                int fl = fcntl(m->fd, F_GETFL);
                printf("vers=%d len=%u ", m->vers, m->event_len);
                print_mask(m->mask);
                printf(" pid=%s file=%s fl=%#o\n", m->pid == getpid() ? "self" : "other",
                       strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
                       fl & (O_ACCMODE | O_NONBLOCK));
                close(m->fd);
            } else {
                print_mask(m->mask);
                printf(" fd=%d\n", m->fd);
            }
        }
    }
}

static void touch(const char *p) {
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) printf("bad touch %s %s\n", p, ename(errno));
    else close(fd);
}

static void cat(const char *p) {
    int fd = open(p, O_RDONLY);
    char c[8];
    if (fd < 0) printf("bad cat %s %s\n", p, ename(errno));
    read(fd, c, sizeof c);
    close(fd);
}

static void append(const char *p) {
    int fd = open(p, O_WRONLY | O_APPEND);
    write(fd, "x", 1);
    close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    EXPECT_ERR("init bad flags", fanotify_init(0x80000000, O_RDONLY), EINVAL);
    EXPECT_ERR("init two classes", fanotify_init(FAN_CLASS_CONTENT | FAN_CLASS_PRE_CONTENT, 0),
               EINVAL);
    EXPECT_ERR("init bad event flags", fanotify_init(0, O_DIRECTORY), EINVAL);
    int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_CLOEXEC, O_RDONLY);
    CHECK("init", fan >= 0);
    printf("flags nonblock=%d cloexec=%d\n", !!(fcntl(fan, F_GETFL) & O_NONBLOCK),
           !!(fcntl(fan, F_GETFD) & FD_CLOEXEC));
    EXPECT_ERR("read empty", read(fan, buf, sizeof buf), EAGAIN);

    mkdir("d", 0755);
    touch("d/f");
    EXPECT_ERR("mark high bits", fanotify_mark(fan, FAN_MARK_ADD, 1ULL << 32, AT_FDCWD, "d/f"),
               EINVAL);
    EXPECT_ERR("mark no op", fanotify_mark(fan, 0, FAN_OPEN, AT_FDCWD, "d/f"), EINVAL);
    EXPECT_ERR("mark add+remove",
               fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_REMOVE, FAN_OPEN, AT_FDCWD, "d/f"),
               EINVAL);
    EXPECT_ERR("mark empty mask", fanotify_mark(fan, FAN_MARK_ADD, 0, AT_FDCWD, "d/f"), EINVAL);
    EXPECT_ERR("mark mount+fs",
               fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT | FAN_MARK_FILESYSTEM, FAN_OPEN,
                             AT_FDCWD, "d"),
               EINVAL);
    EXPECT_ERR("mark bad fd", fanotify_mark(99, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, "d/f"), EBADF);
    EXPECT_ERR("mark not fanotify", fanotify_mark(1, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, "d/f"),
               EINVAL);
    EXPECT_ERR("mark enoent", fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, "d/nope"),
               ENOENT);
    EXPECT_ERR("mark onlydir",
               fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_ONLYDIR, FAN_OPEN, AT_FDCWD, "d/f"),
               ENOTDIR);
    EXPECT_ERR("remove missing", fanotify_mark(fan, FAN_MARK_REMOVE, FAN_OPEN, AT_FDCWD, "d/f"),
               ENOENT);

    /* an inode mark: each event, merged while queued; the event file names the file */
    CHECK("mark file", fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN | FAN_ACCESS | FAN_MODIFY |
                                     FAN_CLOSE, AT_FDCWD, "d/f") == 0);
    cat("d/f");
    drain(fan, "open read close, merged");
    int fd = open("d/f", O_RDWR);
    drain(fan, "open");
    write(fd, "abc", 3);
    drain(fan, "write");
    lseek(fd, 0, SEEK_SET);
    read(fd, buf, 3);
    read(fd, buf, 3); /* end of file: no event */
    drain(fan, "read");
    close(fd);
    drain(fan, "close");

    /* short reads */
    cat("d/f");
    EXPECT_ERR("read 0", read(fan, buf, 0), EINVAL);
    EXPECT_ERR("read too small", read(fan, buf, sizeof(struct fanotify_event_metadata) - 1),
               EINVAL);
    printf("read one=%zd\n", read(fan, buf, sizeof(struct fanotify_event_metadata)));
    close(((struct fanotify_event_metadata *)buf)->fd);

    /* ignore mask: cleared by a modification unless it survives one */
    fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, FAN_ACCESS | FAN_OPEN, AT_FDCWD,
                  "d/f");
    cat("d/f");
    drain(fan, "open and access ignored");
    append("d/f");
    cat("d/f");
    drain(fan, "ignore mask cleared by the write");
    fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY,
                  FAN_ACCESS | FAN_OPEN, AT_FDCWD, "d/f");
    append("d/f");
    cat("d/f");
    drain(fan, "surviving ignore mask");
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fan);
    FILE *fi = fopen(path, "r");
    while (fi && fgets(line, sizeof line, fi)) {
        unsigned a, b, c;
        if (sscanf(line, "fanotify flags:%x event-flags:%x", &a, &b) == 2)
            printf("fdinfo flags=%#x event-flags=%#x\n", a, b);
        if (sscanf(line, "fanotify ino:%*x sdev:%*x mflags:%x mask:%x ignored_mask:%x", &a, &b,
                   &c) == 3)
            printf("fdinfo mflags=%#x mask=%#x ignored=%#x\n", a, b, c);
    }
    if (fi) fclose(fi);
    fanotify_mark(fan, FAN_MARK_REMOVE, FAN_OPEN | FAN_ACCESS | FAN_MODIFY | FAN_CLOSE,
                  AT_FDCWD, "d/f");
    fanotify_mark(fan, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK, FAN_ACCESS | FAN_OPEN,
                  AT_FDCWD, "d/f");
    EXPECT_ERR("removed", fanotify_mark(fan, FAN_MARK_REMOVE, FAN_OPEN, AT_FDCWD, "d/f"),
               ENOENT);
    cat("d/f");
    drain(fan, "no mark");

    /* a directory: its children with FAN_EVENT_ON_CHILD, itself with FAN_ONDIR */
    fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN | FAN_CLOSE, AT_FDCWD, "d");
    cat("d/f");
    close(open("d", O_RDONLY | O_DIRECTORY));
    drain(fan, "dir mark without flags");
    fanotify_mark(fan, FAN_MARK_ADD, FAN_EVENT_ON_CHILD | FAN_ONDIR, AT_FDCWD, "d");
    cat("d/f");
    close(open("d", O_RDONLY | O_DIRECTORY));
    drain(fan, "with FAN_EVENT_ON_CHILD and FAN_ONDIR");
    fanotify_mark(fan, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
    cat("d/f");
    drain(fan, "flushed");

    /* mount and filesystem marks on a tmpfs: its files only */
    mkdir("t", 0755);
    if (mount("fan", "t", "tmpfs", 0, NULL) != 0) printf("bad mount %s\n", ename(errno));
    touch("t/a");
    mkdir("t/sub", 0755);
    touch("t/sub/b");
    CHECK("mark mount", fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN, AT_FDCWD,
                                      "t") == 0);
    cat("t/a");
    cat("t/sub/b");
    cat("d/f");
    close(open("t/sub", O_RDONLY | O_DIRECTORY));
    drain(fan, "mount mark");
    fanotify_mark(fan, FAN_MARK_FLUSH | FAN_MARK_MOUNT, 0, AT_FDCWD, NULL);
    CHECK("mark filesystem", fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
                                           FAN_CLOSE_NOWRITE | FAN_ONDIR, AT_FDCWD, "t/sub") == 0);
    cat("t/sub/b");
    cat("d/f");
    close(open("t", O_RDONLY | O_DIRECTORY));
    drain(fan, "filesystem mark");
    fanotify_mark(fan, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL);
    unlink("t/sub/b");
    rmdir("t/sub");
    unlink("t/a");
    if (umount("t") != 0) printf("bad umount %s\n", ename(errno));
    rmdir("t");
    close(fan);

    /* FAN_REPORT_TID, event files opened read-write, a blocking read woken by a child */
    fan = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_TID, O_RDWR);
    fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, "d/f");
    struct pollfd p = {fan, POLLIN, 0};
    printf("poll empty=%d\n", poll(&p, 1, 0));
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec t = {0, 100 * 1000 * 1000};
        nanosleep(&t, NULL);
        cat("d/f");
        _exit(0);
    }
    alarm(10);
    ssize_t n = read(fan, buf, sizeof buf);
    alarm(0);
    struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
    printf("blocking read=%zd mask=%#llx from child=%d rdwr=%d\n", n,
           (unsigned long long)m->mask, m->pid == pid,
           (fcntl(m->fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    close(m->fd);
    waitpid(pid, NULL, 0);
    close(fan);

    /* permission events: a content-class group allows an open, denies a read and an
     * open, and a closed group lets a waiting open through */
    EXPECT_ERR("perm in notif class",
               fanotify_mark(fanotify_init(FAN_CLASS_NOTIF, O_RDONLY), FAN_MARK_ADD,
                             FAN_OPEN_PERM, AT_FDCWD, "d/f"),
               EINVAL);
    fan = fanotify_init(FAN_CLASS_CONTENT, O_RDONLY);
    CHECK("mark perm", fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM | FAN_ACCESS_PERM,
                                     AT_FDCWD, "d/f") == 0);
    struct fanotify_response bad = {99, FAN_ALLOW};
    EXPECT_ERR("answer unknown fd", write(fan, &bad, sizeof bad), ENOENT);
    bad.response = 7;
    EXPECT_ERR("answer bad response", write(fan, &bad, sizeof bad), EINVAL);
    pid = fork();
    if (pid == 0) {
        int f = open("d/f", O_RDONLY);
        char c[4];
        errno = 0;
        int r = read(f, c, sizeof c);
        printf("child: open=%d read=%d errno=%s\n", f >= 0, r, ename(errno));
        close(f);
        errno = 0;
        f = open("d/f", O_RDONLY);
        printf("child: second open=%d errno=%s\n", f, ename(errno));
        _exit(0);
    }
    unsigned answers[] = {FAN_ALLOW, FAN_DENY, FAN_DENY};
    for (int i = 0; i < 3; i++) {
        alarm(10);
        n = read(fan, buf, sizeof buf);
        alarm(0);
        m = (struct fanotify_event_metadata *)buf;
        printf("perm event: ");
        print_mask(m->mask);
        printf(" from child=%d\n", m->pid == pid);
        struct fanotify_response r = {m->fd, answers[i]};
        if (write(fan, &r, sizeof r) != sizeof r) printf("bad answer %s\n", ename(errno));
        close(m->fd);
    }
    waitpid(pid, NULL, 0);
    pid = fork();
    if (pid == 0) {
        close(fan); /* else the group lives on in this process */
        int f = open("d/f", O_RDONLY);
        printf("child: open after the group closed=%d\n", f >= 0);
        _exit(0);
    }
    alarm(10);
    n = read(fan, buf, sizeof buf);
    alarm(0);
    close(((struct fanotify_event_metadata *)buf)->fd);
    close(fan);
    waitpid(pid, NULL, 0);
    unlink("d/f");
    rmdir("d");
    printf("done\n");
    return 0;
}
