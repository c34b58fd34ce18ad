/* eventfd: counter and semaphore modes, EAGAIN when empty or full, bad lengths and values,
 * a blocking read woken by a child's write, poll readiness, fstat and lseek. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static int readable(int fd, int events) {
    struct pollfd p = {fd, (short)events, 0};
    int n = poll(&p, 1, 0);
    return n < 0 ? -1 : p.revents;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    uint64_t v = 0;

    /* counter mode: writes add, a read takes all */
    int fd = eventfd(3, EFD_NONBLOCK);
    CHECK("create", fd >= 0);
    printf("poll initial: %#x\n", readable(fd, POLLIN | POLLOUT));
    v = 4;
    CHECK("write 4", write(fd, &v, 8) == 8);
    CHECK("read 7", read(fd, &v, 8) == 8 && v == 7);
    printf("poll empty: %#x\n", readable(fd, POLLIN | POLLOUT));
    EXPECT_ERR("read empty", read(fd, &v, 8), EAGAIN);
    EXPECT_ERR("short read", read(fd, &v, 4), EINVAL);
    EXPECT_ERR("short write", write(fd, &v, 7), EINVAL);
    v = UINT64_MAX;
    EXPECT_ERR("write max", write(fd, &v, 8), EINVAL);
    v = UINT64_MAX - 1;
    CHECK("write max-1", write(fd, &v, 8) == 8);
    printf("poll full: %#x\n", readable(fd, POLLIN | POLLOUT));
    v = 1;
    EXPECT_ERR("write overflow", write(fd, &v, 8), EAGAIN);
    uint64_t big[2] = {0, 0};
    CHECK("long read gives 8", read(fd, big, sizeof big) == 8 && big[0] == UINT64_MAX - 1);
    big[0] = 5;
    EXPECT_ERR("long write", write(fd, big, sizeof big), EINVAL);
    v = 0;
    CHECK("write 0", write(fd, &v, 8) == 8);
    EXPECT_ERR("still empty", read(fd, &v, 8), EAGAIN);
    printf("lseek: %ld\n", (long)lseek(fd, 5, SEEK_SET));
    EXPECT_ERR("pread", pread(fd, &v, 8, 0), ESPIPE);
    printf("fl nonblock=%d rdwr=%d\n", !!(fcntl(fd, F_GETFL) & O_NONBLOCK),
           (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    printf("fd cloexec=%d\n", fcntl(fd, F_GETFD));
    close(fd);

    /* semaphore mode: each read takes one */
    fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    printf("sem cloexec=%d\n", fcntl(fd, F_GETFD));
    for (int i = 0; i < 3; i++) {
        errno = 0;
        long r = read(fd, &v, 8);
        printf("sem read %d: %ld %s v=%llu\n", i, r, ename(r < 0 ? errno : 0),
               (unsigned long long)(r < 0 ? 0 : v));
    }
    close(fd);

    EXPECT_ERR("unknown flags", eventfd(0, 0x10), EINVAL);
    EXPECT_ERR("eventfd2 unknown flags", syscall(SYS_eventfd2, 0, 0x40), EINVAL);
    int old = syscall(SYS_eventfd, 1);
    CHECK("old eventfd", old >= 0 && read(old, &v, 8) == 8 && v == 1);
    close(old);

    /* a blocking read sleeps until a child writes */
    fd = eventfd(0, 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        uint64_t w = 42;
        _exit(write(fd, &w, 8) == 8 ? 0 : 1);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    v = 0;
    long r = read(fd, &v, 8);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("blocking read: %ld v=%llu waited=%d\n", r, (unsigned long long)v, ms >= 150);
    int st;
    waitpid(pid, &st, 0);
    printf("child: %d\n", WEXITSTATUS(st));

    /* a blocking write waits for a reader to make room */
    v = UINT64_MAX - 1;
    write(fd, &v, 8);
    pid = fork();
    if (pid == 0) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        uint64_t w;
        _exit(read(fd, &w, 8) == 8 && w == UINT64_MAX - 1 ? 0 : 1);
    }
    v = 9;
    r = write(fd, &v, 8);
    waitpid(pid, &st, 0);
    CHECK("blocking write", r == 8 && WEXITSTATUS(st) == 0 && read(fd, &v, 8) == 8 && v == 9);

    struct stat sb;
    CHECK("fstat", fstat(fd, &sb) == 0 && (sb.st_mode & S_IFMT) == 0);
    close(fd);
    printf("done\n");
    return 0;
}
