/* Open file description locks (F_OFD_*) and flock(2): owned by the open file, shared by
 * dup and fork, released when its last descriptor closes; flock and record locks do not
 * see each other; LOCK_NB gives EWOULDBLOCK; blocking waits for the release.
 * argv[1]: a scratch file path. */
#include "common.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>

static const char *path;

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static const char *res(int r) { return r ? ename(errno) : "OK"; }

static int lk(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static void ofd_getlk(const char *name, int fd, short type) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_OFD_GETLK, &fl) == -1) {
        printf("%s: %s\n", name, ename(errno));
        return;
    }
    if (fl.l_type == F_UNLCK) printf("%s: free\n", name);
    else
        printf("%s: %s start=%lld len=%lld pid=%d\n", name, fl.l_type == F_WRLCK ? "W" : "R",
               (long long)fl.l_start, (long long)fl.l_len, fl.l_pid);
}

static int open_file(void) {
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        printf("bad open %s\n", ename(errno));
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) return 2;
    path = argv[1];
    int a = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (a < 0) return 1;
    int b = open_file();
    int st;

    /* OFD locks: two open files of one process conflict. */
    printf("ofd a: %s\n", res(lk(a, F_OFD_SETLK, F_WRLCK, 0, 10)));
    printf("ofd b: %s\n", res(lk(b, F_OFD_SETLK, F_WRLCK, 5, 10)));
    printf("posix vs ofd: %s\n", res(lk(b, F_SETLK, F_WRLCK, 5, 10)));
    ofd_getlk("ofd getlk", b, F_RDLCK);
    struct flock bad = {.l_type = F_WRLCK, .l_pid = 1};
    EXPECT_ERR("ofd l_pid", fcntl(b, F_OFD_SETLK, &bad), EINVAL);
    EXPECT_ERR("ofd getlk l_pid", fcntl(b, F_OFD_GETLK, &bad), EINVAL);

    /* A dup shares the lock; closing it keeps the lock; the child shares it too. */
    int d = dup(a);
    printf("ofd dup relock: %s\n", res(lk(d, F_OFD_SETLK, F_RDLCK, 0, 10)));
    close(d);
    ofd_getlk("after dup close", b, F_WRLCK);
    pid_t c = fork();
    if (c == 0) {
        printf("child on shared file: %s\n", res(lk(a, F_OFD_SETLK, F_WRLCK, 0, 10)));
        printf("child posix: %s\n", res(lk(b, F_SETLK, F_WRLCK, 0, 1)));
        _exit(0);
    }
    waitpid(c, &st, 0);

    /* F_OFD_SETLKW in a child waits until we close the last descriptor of `a`. */
    int sync[2];
    if (pipe(sync)) return 1;
    c = fork();
    if (c == 0) {
        close(a);
        write(sync[1], "x", 1);
        printf("child ofd setlkw: %s\n", res(lk(b, F_OFD_SETLKW, F_WRLCK, 0, 10)));
        _exit(0);
    }
    char ch;
    read(sync[0], &ch, 1);
    msleep(200);
    printf("parent closes a\n");
    close(a);
    waitpid(c, &st, 0);
    /* b is shared with the child, which has exited: its lock is still ours. */
    ofd_getlk("b still locked (own)", b, F_WRLCK);
    close(b);

    /* flock: separate open files contend; LOCK_NB fails with EWOULDBLOCK. */
    a = open_file();
    b = open_file();
    printf("flock a EX: %s\n", res(flock(a, LOCK_EX)));
    printf("flock b EX|NB: %s\n", res(flock(b, LOCK_EX | LOCK_NB)));
    printf("flock b SH|NB: %s\n", res(flock(b, LOCK_SH | LOCK_NB)));
    printf("record lock ignores flock: %s\n", res(lk(b, F_OFD_SETLK, F_WRLCK, 0, 0)));
    lk(b, F_OFD_SETLK, F_UNLCK, 0, 0);
    printf("flock a UN: %s\n", res(flock(a, LOCK_UN)));
    printf("flock b SH: %s\n", res(flock(b, LOCK_SH | LOCK_NB)));
    printf("flock a SH: %s\n", res(flock(a, LOCK_SH | LOCK_NB)));
    /* A failed conversion loses the old lock (not atomic), so b can then take EX. */
    printf("flock a EX|NB: %s\n", res(flock(a, LOCK_EX | LOCK_NB)));
    printf("flock b EX|NB: %s\n", res(flock(b, LOCK_EX | LOCK_NB)));
    printf("flock b UN twice: %s %s\n", res(flock(b, LOCK_UN)), res(flock(b, LOCK_UN)));
    EXPECT_ERR("flock bad op", flock(a, 0), EINVAL);
    EXPECT_ERR("flock SH|EX", flock(a, LOCK_SH | LOCK_EX), EINVAL);
    EXPECT_ERR("flock bad fd", flock(77, LOCK_SH), EBADF);
    int opath = open(path, O_PATH);
    EXPECT_ERR("flock O_PATH", flock(opath, LOCK_SH), EBADF);
    close(opath);

    /* A blocking flock waits for the holder's release; fork shares the lock. */
    flock(a, LOCK_EX);
    c = fork();
    if (c == 0) {
        printf("child flock shared file: %s\n", res(flock(a, LOCK_EX | LOCK_NB)));
        int own = open_file();
        write(sync[1], "x", 1);
        printf("child flock own file: %s\n", res(flock(own, LOCK_EX)));
        _exit(0);
    }
    read(sync[0], &ch, 1);
    msleep(200);
    printf("parent unlocks flock\n");
    flock(a, LOCK_UN);
    waitpid(c, &st, 0);

    /* Closing the last descriptor releases a flock lock. */
    flock(a, LOCK_EX);
    close(a);
    printf("after close: %s\n", res(flock(b, LOCK_EX | LOCK_NB)));
    unlink(path);
    return 0;
}
