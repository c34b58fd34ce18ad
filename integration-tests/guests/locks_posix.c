/* POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW) between a parent and its children:
 * conflicts, F_GETLK's report (the holder's pid is checked, not printed), splitting and
 * merging, negative and EOF-relative ranges, errnos, release on any close and at exit,
 * F_SETLKW waiting for a release, EINTR, and EDEADLK. argv[1]: a scratch file path. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

static const char *path;
static pid_t parent;

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = whence, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

/* What F_GETLK says about [start, start+len) for a lock of `type`. */
static void getlk(const char *name, int fd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, F_GETLK, &fl) == -1) {
        printf("%s: getlk %s\n", name, ename(errno));
        return;
    }
    if (fl.l_type == F_UNLCK) {
        printf("%s: free\n", name);
        return;
    }
    printf("%s: %s start=%lld len=%lld whence=%d holder=%s\n", name,
           fl.l_type == F_WRLCK ? "W" : "R", (long long)fl.l_start, (long long)fl.l_len,
           fl.l_whence, fl.l_pid == parent ? "parent" : "other");
}

static int open_file(int flags) {
    int fd = open(path, flags);
    if (fd < 0) {
        printf("bad open %s\n", ename(errno));
        exit(1);
    }
    return fd;
}

/* Runs `f` in a child and waits for it. */
static void in_child(void (*f)(void)) {
    pid_t c = fork();
    if (c == 0) {
        f();
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
}

static void probe_basic(void) {
    int fd = open_file(O_RDWR);
    getlk("conflict", fd, F_WRLCK, 5, 10);
    printf("setlk overlap: %s\n", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, 10) ? ename(errno) : "OK");
    printf("setlk beside: %s\n", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 10) ? ename(errno) : "OK");
    getlk("read vs read", fd, F_RDLCK, 100, 10);
    getlk("write vs read", fd, F_WRLCK, 100, 10);
}

static void probe_split(void) {
    int fd = open_file(O_RDWR);
    getlk("left", fd, F_RDLCK, 30, 10);
    getlk("hole", fd, F_WRLCK, 40, 20);
    getlk("right", fd, F_RDLCK, 60, 10);
    getlk("merged", fd, F_WRLCK, 200, 1);
    getlk("negative len", fd, F_WRLCK, 290, 20);
    getlk("from eof", fd, F_WRLCK, 1000, 1);
    getlk("to end", fd, F_WRLCK, 5000, 1);
}

/* With two locks of one owner in the way, F_GETLK reports the one that starts first,
 * whatever order they were set in. */
static void probe_order(void) {
    int fd = open_file(O_RDWR);
    getlk("first of two", fd, F_WRLCK, 0, 0);
    getlk("from 6", fd, F_WRLCK, 6, 0);
    getlk("past both", fd, F_WRLCK, 15, 0);
    close(fd);
}

static void probe_free(void) {
    int fd = open_file(O_RDWR);
    getlk("after close", fd, F_WRLCK, 0, 0);
}

static void lock_and_exit(void) {
    int fd = open_file(O_RDWR);
    printf("child lock: %s\n", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) ? ename(errno) : "OK");
}

static void errnos(void) {
    int fd = open_file(O_RDWR);
    int rd = open_file(O_RDONLY);
    int wr = open_file(O_WRONLY);
    struct flock fl = {.l_type = F_WRLCK};
    EXPECT_ERR("invalid type", lk(fd, F_SETLK, 7, SEEK_SET, 0, 1), EINVAL);
    EXPECT_ERR("invalid whence", lk(fd, F_SETLK, F_WRLCK, 9, 0, 1), EINVAL);
    EXPECT_ERR("before 0", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1), EINVAL);
    EXPECT_ERR("negative len past 0", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 3, -4), EINVAL);
    EXPECT_ERR("overflow", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, INT64_MAX, 2), EOVERFLOW);
    EXPECT_ERR("read lock on O_WRONLY", lk(wr, F_SETLK, F_RDLCK, SEEK_SET, 0, 1), EBADF);
    EXPECT_ERR("write lock on O_RDONLY", lk(rd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), EBADF);
    printf("unlock on O_RDONLY: %s\n", lk(rd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1) ? ename(errno) : "OK");
    EXPECT_ERR("getlk unlck", lk(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1), EINVAL);
    EXPECT_ERR("closed fd", fcntl(99, F_SETLK, &fl), EBADF);
    EXPECT_ERR("null flock", fcntl(fd, F_SETLK, NULL), EFAULT);
    EXPECT_ERR("null getlk", fcntl(fd, F_GETLK, NULL), EFAULT);
    int opath = open(path, O_PATH);
    EXPECT_ERR("O_PATH", fcntl(opath, F_SETLK, &fl), EBADF);
    close(opath);
    close(rd);
    close(wr);
    close(fd);
}

static void on_usr1(int sig) { (void)sig; }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) return 2;
    path = argv[1];
    parent = getpid();
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return 1;
    char zeros[50] = {0};
    if (write(fd, zeros, sizeof zeros) != sizeof zeros) return 1;

    /* Basic conflicts; our own locks never conflict with us. */
    printf("lock: %s\n", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) ? ename(errno) : "OK");
    printf("relock own: %s\n", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 10) ? ename(errno) : "OK");
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10);
    lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 100, 10);
    getlk("own", fd, F_WRLCK, 0, 10);
    in_child(probe_basic);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);

    /* Split: write [20,80) then unlock [40,60) and read-lock... */
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 20, 60);
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 40, 20);
    lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 45, 5);
    /* Merge: [200,210) and [210,220) become one lock. */
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 200, 10);
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 210, 10);
    /* Negative length: [300-10, 300). */
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 300, -10);
    /* EOF-relative: the file is 50 bytes; from 50+950 on, 5 bytes. */
    lk(fd, F_SETLK, F_WRLCK, SEEK_END, 950, 5);
    /* To the end of any file. */
    lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 4000, 0);
    /* SEEK_CUR: the position is 50. */
    lseek(fd, 10, SEEK_SET);
    in_child(probe_split);

    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 5);
    lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 1, 5);
    in_child(probe_order);

    /* Closing any descriptor of the file drops all our locks on it. */
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 0);
    int other = open_file(O_RDONLY);
    close(other);
    in_child(probe_free);

    /* A child's locks go when it exits; they were never ours (fork does not share them). */
    in_child(lock_and_exit);
    printf("after child exit: %s\n", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) ? ename(errno) : "OK");
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);

    errnos();
    close(fd);
    fd = open_file(O_RDWR);

    /* F_SETLKW waits for the holder's release. */
    int sync[2];
    if (pipe(sync)) return 1;
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
    pid_t c = fork();
    if (c == 0) {
        int cfd = open_file(O_RDWR);
        write(sync[1], "x", 1);
        int r = lk(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        printf("child setlkw: %s\n", r ? ename(errno) : "OK");
        _exit(0);
    }
    char b;
    read(sync[0], &b, 1);
    msleep(200);
    printf("parent unlocks\n");
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1);
    int st;
    waitpid(c, &st, 0);

    /* Deadlock: the child holds [1,2) and waits for [0,1); we hold [0,1) and ask for [1,2). */
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
    c = fork();
    if (c == 0) {
        int cfd = open_file(O_RDWR);
        lk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1);
        write(sync[1], "x", 1);
        int r = lk(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        printf("child gets [0,1): %s\n", r ? ename(errno) : "OK");
        _exit(0);
    }
    read(sync[0], &b, 1);
    msleep(200);
    errno = 0;
    int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1);
    printf("parent setlkw [1,2): %s\n", r ? ename(errno) : "OK");
    lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1);
    waitpid(c, &st, 0);

    /* A handled signal without SA_RESTART interrupts F_SETLKW with EINTR. */
    lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
    c = fork();
    if (c == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        int cfd = open_file(O_RDWR);
        write(sync[1], "x", 1);
        int r = lk(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        printf("child interrupted: %s\n", r ? ename(errno) : "OK");
        _exit(0);
    }
    read(sync[0], &b, 1);
    msleep(200);
    kill(c, SIGUSR1);
    waitpid(c, &st, 0);
    getlk("still ours", fd, F_WRLCK, 0, 1);
    close(fd);
    unlink(path);
    return 0;
}
