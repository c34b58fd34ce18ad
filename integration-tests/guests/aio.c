/* Linux native AIO through raw syscalls (no libaio): io_setup, io_submit of the read and
 * write forms and fsync, io_getevents (with and without enough completions, with a
 * timeout), io_pgetevents, an eventfd told of completions, io_cancel and io_destroy, and
 * the errnos of bad contexts, requests and pointers. Prints lines compared with Linux. */
#include "common.h"
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>

static long io_setup(unsigned nr, aio_context_t *c) { return syscall(SYS_io_setup, nr, c); }
static long io_destroy(aio_context_t c) { return syscall(SYS_io_destroy, c); }
static long io_submit(aio_context_t c, long nr, struct iocb **cbs) {
    return syscall(SYS_io_submit, c, nr, cbs);
}
static long io_getevents(aio_context_t c, long min, long nr, struct io_event *ev,
                         struct timespec *t) {
    return syscall(SYS_io_getevents, c, min, nr, ev, t);
}

static void prep(struct iocb *cb, int fd, unsigned op, void *buf, size_t n, long long off,
                 uint64_t data) {
    memset(cb, 0, sizeof *cb);
    cb->aio_fildes = fd;
    cb->aio_lio_opcode = op;
    cb->aio_buf = (uint64_t)(uintptr_t)buf;
    cb->aio_nbytes = n;
    cb->aio_offset = off;
    cb->aio_data = data;
}

static double mono(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void) {
    aio_context_t ctx = 0;
    long setup = io_setup(16, &ctx);
    printf("io_setup: %ld ctx nonzero=%d\n", setup, ctx != 0);

    char path[] = "/tmp/uml-aio-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    char hello[] = "hello, asynchronous world";
    struct iocb w, r, f, *list[3];
    char back[64] = {0};
    prep(&w, fd, IOCB_CMD_PWRITE, hello, strlen(hello), 100, 0x11);
    prep(&f, fd, IOCB_CMD_FSYNC, NULL, 0, 0, 0x22);
    prep(&r, fd, IOCB_CMD_PREAD, back, sizeof back, 100, 0x33);
    list[0] = &w, list[1] = &f, list[2] = &r;
    printf("submit 3: %ld\n", io_submit(ctx, 3, list));
    struct io_event ev[8];
    long n = io_getevents(ctx, 3, 8, ev, NULL);
    printf("getevents: %ld\n", n);
    /* Completion order is not the submission order on Linux (fsync runs on a worker):
     * print by request. */
    for (int want = 0; want < 3; want++)
        for (long i = 0; i < n; i++)
            if (ev[i].obj == (uint64_t)(uintptr_t)list[want])
                printf(" data=%#llx res=%lld res2=%lld\n", (unsigned long long)ev[i].data,
                       (long long)ev[i].res, (long long)ev[i].res2);
    printf("read back: %s\n", back);
    printf("file size: %ld\n", (long)lseek(fd, 0, SEEK_END));

    /* Vectored forms, and a read past the end (a short count). */
    char a1[5], a2[7];
    struct iovec iov[2] = {{a1, sizeof a1}, {a2, sizeof a2}};
    struct iocb rv;
    prep(&rv, fd, IOCB_CMD_PREADV, iov, 2, 100, 0x44);
    struct iocb *one = &rv;
    printf("submit preadv: %ld\n", io_submit(ctx, 1, &one));
    n = io_getevents(ctx, 1, 1, ev, NULL);
    printf("preadv: n=%ld res=%lld %.5s|%.7s\n", n, (long long)ev[0].res, a1, a2);
    struct iocb past;
    prep(&past, fd, IOCB_CMD_PREAD, back, sizeof back, 120, 0x55);
    one = &past;
    io_submit(ctx, 1, &one);
    n = io_getevents(ctx, 1, 1, ev, NULL);
    printf("read near end: res=%lld\n", (long long)ev[0].res);

    /* Nothing completed: a zero timeout returns 0 at once, a short one after waiting. */
    struct timespec zero = {0, 0}, short_wait = {0, 50 * 1000000};
    printf("getevents none, zero timeout: %ld\n", io_getevents(ctx, 1, 1, ev, &zero));
    double t0 = mono();
    n = io_getevents(ctx, 1, 1, ev, &short_wait);
    printf("getevents none, 50 ms: %ld waited>=40ms=%d\n", n, mono() - t0 >= 0.04);
    sigset_t none;
    sigemptyset(&none);
    struct {
        sigset_t *set;
        size_t size;
    } usig = {&none, 8};
    printf("pgetevents none, zero timeout: %ld\n",
           syscall(SYS_io_pgetevents, ctx, 1, 1, ev, &zero, &usig));
    usig.size = 4;
    EXPECT_ERR("pgetevents bad sigsetsize", syscall(SYS_io_pgetevents, ctx, 1, 1, ev, &zero, &usig),
               EINVAL);

    /* An eventfd told of each completion. */
    int efd = eventfd(0, 0);
    struct iocb we;
    prep(&we, fd, IOCB_CMD_PWRITE, hello, 5, 0, 0x66);
    we.aio_flags = IOCB_FLAG_RESFD;
    we.aio_resfd = efd;
    struct iocb *two[2] = {&we, &we};
    printf("submit 2 with resfd: %ld\n", io_submit(ctx, 2, two));
    uint64_t count = 0;
    read(efd, &count, sizeof count);
    printf("eventfd count: %llu\n", (unsigned long long)count);
    printf("reap: %ld\n", io_getevents(ctx, 2, 2, ev, NULL));
    we.aio_resfd = fd;
    one = &we;
    EXPECT_ERR("resfd not an eventfd", io_submit(ctx, 1, &one), EINVAL);

    /* Errors of io_submit: the first request's own failure, else the count so far. */
    aio_context_t bad = 0xdead000;
    EXPECT_ERR("submit bad ctx", io_submit(bad, 1, list), EINVAL);
    EXPECT_ERR("submit nr -1", io_submit(ctx, -1, list), EINVAL);
    EXPECT_ERR("submit bad list", io_submit(ctx, 1, (struct iocb **)-1), EFAULT);
    struct iocb *null_cb = NULL;
    EXPECT_ERR("submit NULL iocb", io_submit(ctx, 1, &null_cb), EFAULT);
    struct iocb x;
    prep(&x, 999, IOCB_CMD_PREAD, back, 10, 0, 0);
    one = &x;
    EXPECT_ERR("submit bad fd", io_submit(ctx, 1, &one), EBADF);
    int ro = open("/proc/self/exe", O_RDONLY);
    prep(&x, ro, IOCB_CMD_PWRITE, back, 10, 0, 0);
    EXPECT_ERR("submit write to read-only fd", io_submit(ctx, 1, &one), EBADF);
    prep(&x, fd, 77, back, 10, 0, 0);
    EXPECT_ERR("submit unknown opcode", io_submit(ctx, 1, &one), EINVAL);
    prep(&x, fd, IOCB_CMD_PREAD, back, 10, 0, 0);
    x.aio_reserved2 = 1;
    EXPECT_ERR("submit reserved2", io_submit(ctx, 1, &one), EINVAL);
    prep(&x, fd, IOCB_CMD_PREAD, back, 10, 0, 0);
    x.aio_rw_flags = 0x8000;
    EXPECT_ERR("submit unknown rw_flags", io_submit(ctx, 1, &one), EOPNOTSUPP);
    prep(&x, fd, IOCB_CMD_NOOP, NULL, 0, 0, 0);
    EXPECT_ERR("submit noop", io_submit(ctx, 1, &one), EINVAL);
    struct iocb ok;
    prep(&ok, fd, IOCB_CMD_FSYNC, NULL, 0, 0, 0x88);
    prep(&x, 999, IOCB_CMD_PREAD, back, 10, 0, 0);
    struct iocb *mixed[2] = {&ok, &x};
    printf("submit good then bad: %ld\n", io_submit(ctx, 2, mixed));
    n = io_getevents(ctx, 1, 1, ev, NULL);
    printf("reap fsync: %ld data=%#llx res=%lld\n", n, (unsigned long long)ev[0].data,
           (long long)ev[0].res);
    printf("submit 0: %ld\n", io_submit(ctx, 0, list));

    /* A read of an empty pipe with RWF_NOWAIT completes with EAGAIN. */
    int p[2];
    pipe(p);
    prep(&x, p[0], IOCB_CMD_PREAD, back, 10, 0, 0x77);
    x.aio_rw_flags = RWF_NOWAIT;
    printf("submit nowait pipe read: %ld\n", io_submit(ctx, 1, &one));
    n = io_getevents(ctx, 1, 1, ev, NULL);
    printf("pipe read: n=%ld res=%s\n", n, ev[0].res < 0 ? ename((int)-ev[0].res) : "data");

    /* io_getevents and io_cancel errors. */
    EXPECT_ERR("getevents bad ctx", io_getevents(0, 0, 0, NULL, NULL), EINVAL);
    EXPECT_ERR("getevents min > nr", io_getevents(ctx, 2, 1, ev, NULL), EINVAL);
    EXPECT_ERR("getevents bad timeout", io_getevents(ctx, 1, 1, ev, (struct timespec *)8), EFAULT);
    /* Linux takes the timespec unchecked: nanoseconds past a second only move the
     * deadline. */
    struct timespec over = {0, 1000000001};
    printf("getevents tv_nsec past 1e9: %ld\n", io_getevents(ctx, 1, 1, ev, &over));
    EXPECT_ERR("cancel NULL iocb", syscall(SYS_io_cancel, ctx, NULL, ev), EFAULT);
    EXPECT_ERR("cancel completed", syscall(SYS_io_cancel, ctx, &w, ev), EINVAL);

    /* io_setup errors; io_destroy. */
    aio_context_t c2 = 0;
    EXPECT_ERR("setup NULL", io_setup(1, NULL), EFAULT);
    c2 = 1;
    EXPECT_ERR("setup ctx not zero", io_setup(1, &c2), EINVAL);
    c2 = 0;
    EXPECT_ERR("setup 0 events", io_setup(0, &c2), EINVAL);
    EXPECT_ERR("setup -1 events", io_setup(-1, &c2), EINVAL);
    FILE *mx = fopen("/proc/sys/fs/aio-max-nr", "r");
    unsigned long max = 0;
    if (mx) fscanf(mx, "%lu", &max), fclose(mx);
    EXPECT_ERR("setup past aio-max-nr", io_setup(max + 1, &c2), EAGAIN);
    printf("destroy: %ld\n", io_destroy(ctx));
    EXPECT_ERR("destroy again", io_destroy(ctx), EINVAL);
    EXPECT_ERR("destroy bad", io_destroy(~0UL), EINVAL);
    EXPECT_ERR("getevents destroyed", io_getevents(ctx, 0, 1, ev, NULL), EINVAL);
    printf("done\n");
    return 0;
}
