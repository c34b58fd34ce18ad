/* Pipes: capacity, PIPE_BUF atomicity with two writers, EOF, EPIPE/SIGPIPE, pipe2 flags,
 * FIONREAD, blocking wake-ups, poll/ppoll/select/pselect on pipes. */
#include "common.h"
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void describe(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: signaled %s\n", what, sigabbrev_np(WTERMSIG(st)));
    else printf("%s: status %#x\n", what, st);
}

static void revents(const char *what, short ev) {
    printf("%s:%s%s%s%s%s\n", what, ev & POLLIN ? " IN" : "", ev & POLLOUT ? " OUT" : "",
           ev & POLLHUP ? " HUP" : "", ev & POLLERR ? " ERR" : "", ev & POLLNVAL ? " NVAL" : "");
}

static void capacity(void) {
    int p[2];
    if (pipe2(p, O_NONBLOCK)) return;
    printf("F_GETPIPE_SZ=%d\n", fcntl(p[1], F_GETPIPE_SZ));
    static char buf[65536 * 2];
    memset(buf, 'x', sizeof buf);
    long total = 0;
    ssize_t n;
    while ((n = write(p[1], buf, 4096)) > 0) total += n;
    printf("filled with 4096-byte writes: %ld then %s\n", total, ename(errno));
    int avail = -1;
    ioctl(p[0], FIONREAD, &avail);
    printf("FIONREAD full=%d\n", avail);
    errno = 0;
    n = write(p[1], buf, 1);
    printf("1-byte write to full pipe: %zd %s\n", n, ename(errno));
    /* free one page: a PIPE_BUF write fits again */
    n = read(p[0], buf, 4096);
    printf("read %zd, write PIPE_BUF: %zd\n", n, write(p[1], buf, PIPE_BUF));
    /* drain */
    total = 0;
    while ((n = read(p[0], buf, sizeof buf)) > 0) total += n;
    printf("drained %ld then %s\n", total, ename(errno));
    /* a large non-blocking write into an empty pipe is partial */
    n = write(p[1], buf, sizeof buf);
    printf("128 KiB non-blocking write into empty pipe: %zd\n", n);
    close(p[0]);
    close(p[1]);
    /* F_SETPIPE_SZ rounds up to a power-of-two number of pages */
    if (pipe(p)) return;
    int set = fcntl(p[0], F_SETPIPE_SZ, 5000);
    printf("F_SETPIPE_SZ(5000)=%d F_GETPIPE_SZ=%d\n", set, fcntl(p[0], F_GETPIPE_SZ));
    /* The size is an unsigned int: past 2^31 it is EINVAL, even for root. */
    errno = 0;
    int r = fcntl(p[0], F_SETPIPE_SZ, (1U << 31) + 1);
    printf("F_SETPIPE_SZ(2^31+1)=%d %s\n", r, ename(errno));
    errno = 0;
    r = fcntl(p[0], F_SETPIPE_SZ, (1UL << 32) + 4096);
    printf("F_SETPIPE_SZ(2^32+4096)=%d %s\n", r, ename(errno));
    close(p[0]);
    close(p[1]);
}

#define RECS 300
static void atomicity(void) {
    int p[2];
    if (pipe(p)) return;
    pid_t w[2];
    for (int k = 0; k < 2; k++) {
        w[k] = fork();
        if (w[k] == 0) {
            close(p[0]);
            char rec[PIPE_BUF];
            memset(rec, k ? 'B' : 'A', sizeof rec);
            for (int i = 0; i < RECS; i++) {
                rec[0] = (char)i;
                if (write(p[1], rec, sizeof rec) != sizeof rec) _exit(1);
            }
            _exit(0);
        }
    }
    close(p[1]);
    static char stream[2 * RECS * PIPE_BUF + 1];
    long total = 0;
    ssize_t n;
    while ((n = read(p[0], stream + total, sizeof stream - total)) > 0) total += n;
    printf("atomicity: read %ld bytes, then EOF=%d\n", total, n == 0);
    int torn = 0, counts[2] = {0, 0}, order_ok = 1, next[2] = {0, 0};
    for (long off = 0; off + PIPE_BUF <= total; off += PIPE_BUF) {
        char c = stream[off + 1];
        for (int i = 1; i < PIPE_BUF; i++)
            if (stream[off + i] != c) torn++;
        int k = c == 'B';
        counts[k]++;
        if ((unsigned char)stream[off] != (unsigned char)(next[k]++ & 0xff)) order_ok = 0;
    }
    printf("atomicity: records A=%d B=%d torn=%d in-order=%d\n", counts[0], counts[1], torn,
           order_ok);
    for (int k = 0; k < 2; k++) waitpid(w[k], NULL, 0);
    close(p[0]);
}

static void eof_and_epipe(void) {
    int p[2];
    int st;
    /* EOF only when every write end is closed (here: a child holds one) */
    if (pipe(p)) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        msleep(100);
        if (write(p[1], "late", 4) != 4) _exit(1);
        _exit(0); /* closes the last write end */
    }
    close(p[1]);
    char buf[16];
    ssize_t n = read(p[0], buf, sizeof buf);
    ssize_t m = read(p[0], buf, sizeof buf);
    printf("blocking read got %zd, then EOF read %zd\n", n, m);
    waitpid(pid, NULL, 0);
    close(p[0]);

    /* writing to a pipe without readers: SIGPIPE kills by default (the read end is closed
     * before the fork, so the child's write never races with it) */
    if (pipe(p)) return;
    close(p[0]);
    pid = fork();
    if (pid == 0) {
        if (write(p[1], "x", 1) < 0) _exit(3);
        _exit(4);
    }
    close(p[1]);
    waitpid(pid, &st, 0);
    describe("write without readers", st);

    /* SIGPIPE ignored: EPIPE */
    signal(SIGPIPE, SIG_IGN);
    if (pipe(p)) return;
    close(p[0]);
    errno = 0;
    n = write(p[1], "x", 1);
    printf("SIGPIPE ignored: write=%zd %s\n", n, ename(errno));
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);

    /* SIGPIPE blocked: stays pending, EPIPE */
    sigset_t s, old, pend;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    sigprocmask(SIG_BLOCK, &s, &old);
    if (pipe(p)) return;
    close(p[0]);
    errno = 0;
    n = write(p[1], "x", 1);
    sigpending(&pend);
    printf("SIGPIPE blocked: write=%zd %s pending=%d\n", n, ename(errno),
           sigismember(&pend, SIGPIPE));
    close(p[1]);
    signal(SIGPIPE, SIG_IGN); /* discard the pending one */
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGPIPE, SIG_DFL);

    /* a reader that exits while a writer is blocked on a full pipe: writer gets EPIPE */
    signal(SIGPIPE, SIG_IGN);
    if (pipe(p)) return;
    pid = fork();
    if (pid == 0) {
        close(p[1]);
        msleep(100);
        _exit(0);
    }
    close(p[0]);
    static char big[200000];
    n = write(p[1], big, sizeof big);
    printf("blocked writer when reader exits: partial=%d\n", n > 0 && n < (ssize_t)sizeof big);
    errno = 0;
    n = write(p[1], big, 1);
    printf("next write: %zd %s\n", n, ename(errno));
    close(p[1]);
    waitpid(pid, NULL, 0);
    signal(SIGPIPE, SIG_DFL);
}

static void flags(void) {
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) return;
    printf("pipe2 flags: cloexec=%d/%d nonblock=%d/%d rdonly=%d wronly=%d\n",
           fcntl(p[0], F_GETFD) & FD_CLOEXEC, fcntl(p[1], F_GETFD) & FD_CLOEXEC,
           !!(fcntl(p[0], F_GETFL) & O_NONBLOCK), !!(fcntl(p[1], F_GETFL) & O_NONBLOCK),
           (fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY,
           (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY);
    char c;
    errno = 0;
    ssize_t n = read(p[0], &c, 1);
    printf("empty non-blocking read: %zd %s\n", n, ename(errno));
    errno = 0;
    n = write(p[0], "x", 1);
    printf("write to read end: %zd %s\n", n, ename(errno));
    close(p[1]);
    n = read(p[0], &c, 1);
    printf("non-blocking read after writer closed: %zd\n", n);
    close(p[0]);
    if (pipe2(p, 0)) return;
    printf("pipe2(0): cloexec=%d nonblock=%d\n", fcntl(p[0], F_GETFD) & FD_CLOEXEC,
           !!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
    /* toggling O_NONBLOCK with F_SETFL */
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    errno = 0;
    n = read(p[0], &c, 1);
    printf("after F_SETFL O_NONBLOCK: %zd %s\n", n, ename(errno));
    close(p[0]);
    close(p[1]);
    errno = 0;
    int pr = pipe2(p, O_APPEND);
    printf("pipe2 bad flags: %d %s\n", pr, ename(errno));
    /* partial read: asking for more than is there returns what is there */
    if (pipe(p)) return;
    if (write(p[1], "12345", 5) != 5) puts("bad write");
    char buf[100];
    printf("read(100) of 5 buffered bytes: %zd\n", read(p[0], buf, sizeof buf));
    /* dup'ed write end keeps the pipe open */
    int d = dup(p[1]);
    close(p[1]);
    if (write(d, "z", 1) != 1) puts("bad dup write");
    printf("read via dup'ed writer: %zd\n", read(p[0], buf, sizeof buf));
    close(d);
    printf("EOF after last dup closed: %zd\n", read(p[0], buf, sizeof buf));
    close(p[0]);
}

static void polling(void) {
    int p[2];
    if (pipe(p)) return;
    struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    long long t0 = now_ms();
    int r = poll(fds, 1, 100);
    long long dt = now_ms() - t0;
    printf("poll empty pipe, 100 ms: r=%d waited>=90ms=%d\n", r, dt >= 90);
    r = poll(fds, 2, 0);
    printf("poll both ends: r=%d\n", r);
    revents(" read end", fds[0].revents);
    revents(" write end", fds[1].revents);
    if (write(p[1], "hello", 5) != 5) puts("bad write");
    r = poll(fds, 2, 0);
    printf("poll after write: r=%d\n", r);
    revents(" read end", fds[0].revents);

    /* a full pipe is not writable */
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char buf[65536];
    while (write(p[1], buf, sizeof buf) > 0) { }
    r = poll(&fds[1], 1, 0);
    printf("poll full pipe write end: r=%d\n", r);
    char drain[65536];
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    while (read(p[0], drain, sizeof drain) > 0) { }
    fcntl(p[0], F_SETFL, 0);

    /* blocking poll woken by a child's write */
    pid_t pid = fork();
    if (pid == 0) {
        msleep(100);
        if (write(p[1], "w", 1) != 1) _exit(1);
        _exit(0);
    }
    fds[0].revents = 0;
    r = poll(fds, 1, 10000);
    printf("poll woken by child write: r=%d\n", r);
    revents(" read end", fds[0].revents);
    waitpid(pid, NULL, 0);
    char c;
    if (read(p[0], &c, 1) != 1) puts("bad read");

    /* HUP when the writer closes; ERR when the reader closes */
    close(p[1]);
    r = poll(fds, 1, 0);
    printf("poll read end, writer closed: r=%d\n", r);
    revents(" read end", fds[0].revents);
    close(p[0]);
    if (pipe(p)) return;
    if (write(p[1], "d", 1) != 1) puts("bad write");
    close(p[1]);
    fds[0].fd = p[0];
    poll(fds, 1, 0);
    revents("poll data + writer closed", fds[0].revents);
    close(p[0]);
    if (pipe(p)) return;
    close(p[0]);
    fds[1].fd = p[1];
    poll(&fds[1], 1, 0);
    revents("poll write end, reader closed", fds[1].revents);
    close(p[1]);
    struct pollfd bad = {p[1], POLLIN, 0};
    r = poll(&bad, 1, 0);
    printf("poll closed fd: r=%d\n", r);
    revents(" closed fd", bad.revents);
    struct pollfd neg = {-1, POLLIN, 7};
    r = poll(&neg, 1, 0);
    printf("poll fd -1: r=%d revents=%d\n", r, neg.revents);

    /* ppoll with a timeout and a signal mask */
    if (pipe(p)) return;
    struct timespec ts = {0, 50 * 1000000L};
    sigset_t mask;
    sigemptyset(&mask);
    struct pollfd pf = {p[0], POLLIN, 0};
    t0 = now_ms();
    r = ppoll(&pf, 1, &ts, &mask);
    printf("ppoll 50 ms: r=%d waited>=40ms=%d\n", r, now_ms() - t0 >= 40);

    /* select */
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    struct timeval tv = {0, 50000};
    t0 = now_ms();
    r = select(p[0] + 1, &rd, NULL, NULL, &tv);
    printf("select empty 50 ms: r=%d waited>=40ms=%d set=%d\n", r, now_ms() - t0 >= 40,
           FD_ISSET(p[0], &rd));
    if (write(p[1], "s", 1) != 1) puts("bad write");
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    FD_SET(p[1], &wr);
    int maxfd = p[0] > p[1] ? p[0] : p[1];
    tv.tv_sec = 1;
    tv.tv_usec = 0;
    r = select(maxfd + 1, &rd, &wr, NULL, &tv);
    printf("select ready: r=%d read=%d write=%d\n", r, FD_ISSET(p[0], &rd), FD_ISSET(p[1], &wr));
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    ts.tv_sec = 0;
    ts.tv_nsec = 0;
    r = pselect(p[0] + 1, &rd, NULL, NULL, &ts, &mask);
    printf("pselect ready: r=%d read=%d\n", r, FD_ISSET(p[0], &rd));
    close(p[1]);
    close(p[0]);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    errno = 0;
    tv.tv_sec = 0;
    r = select(p[0] + 1, &rd, NULL, NULL, &tv);
    printf("select closed fd: r=%d %s\n", r, ename(errno));
}

static void blocking_writer(void) {
    /* a writer blocked on a full pipe is woken when the reader drains it */
    int p[2];
    if (pipe(p)) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        msleep(100);
        static char buf[65536];
        long total = 0;
        ssize_t n;
        while ((n = read(p[0], buf, sizeof buf)) > 0) total += n;
        _exit(total == 300000 ? 0 : 1);
    }
    close(p[0]);
    static char big[300000];
    ssize_t n = write(p[1], big, sizeof big);
    close(p[1]);
    int st;
    waitpid(pid, &st, 0);
    printf("blocking 300000-byte write: %zd, reader got all=%d\n", n, WEXITSTATUS(st) == 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    capacity();
    atomicity();
    eof_and_epipe();
    flags();
    polling();
    blocking_writer();
    puts("done");
    return 0;
}
