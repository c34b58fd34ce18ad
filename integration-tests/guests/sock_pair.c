/* AF_UNIX socketpair: stream, datagram and seqpacket between a parent and a child
 * (message boundaries, shutdown, EPIPE and SIGPIPE, MSG_PEEK, MSG_WAITALL, non-blocking
 * EAGAIN, poll readiness, socket options, names). Prints relationships, never pids. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

static volatile int got_pipe;
static void on_pipe(int s) { (void)s; got_pipe++; }

static void child_done(pid_t p) {
    int st;
    waitpid(p, &st, 0);
    printf("child exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void boundaries(int type, const char *name) {
    int sv[2];
    if (socketpair(AF_UNIX, type, 0, sv) < 0) { printf("bad socketpair %s\n", name); return; }
    pid_t p = fork();
    if (p == 0) {
        close(sv[0]);
        write(sv[1], "one", 3);
        write(sv[1], "two!", 4);
        struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
        writev(sv[1], iov, 2);
        send(sv[1], "", 0, 0);
        shutdown(sv[1], SHUT_WR);
        _exit(0);
    }
    close(sv[1]);
    child_done(p);
    char buf[64];
    /* A datagram socket sees no end of file when its peer goes: the last read polls. */
    for (int i = 0; i < 6; i++) {
        int fl = (type == SOCK_DGRAM && i >= 4) ? MSG_DONTWAIT : 0;
        ssize_t n = recv(sv[0], buf, sizeof buf, fl);
        if (n < 0) { printf("%s recv %d: %s\n", name, i, ename(errno)); break; }
        printf("%s recv %d: %zd '%.*s'\n", name, i, n, (int)n, buf);
        if (n == 0 && type == SOCK_STREAM) break;
    }
    close(sv[0]);
}

static void truncation(int type, const char *name) {
    int sv[2];
    socketpair(AF_UNIX, type, 0, sv);
    send(sv[0], "hello world", 11, 0);
    char buf[32];
    ssize_t n = recv(sv[1], buf, 5, MSG_PEEK);
    printf("%s peek=%zd '%.*s'\n", name, n, (int)n, buf);
    struct iovec iov = {buf, 5};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    n = recvmsg(sv[1], &m, 0);
    printf("%s recvmsg=%zd '%.*s' trunc=%d\n", name, n, (int)n, buf, !!(m.msg_flags & MSG_TRUNC));
    send(sv[0], "0123456789", 10, 0);
    n = recv(sv[1], buf, 3, MSG_TRUNC);
    printf("%s MSG_TRUNC ret=%zd\n", name, n);
    n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
    printf("%s after: %zd %s\n", name, n, n < 0 ? ename(errno) : "data");
    close(sv[0]);
    close(sv[1]);
}

static void epipe(int type, const char *name) {
    int sv[2];
    socketpair(AF_UNIX, type, 0, sv);
    close(sv[1]);
    got_pipe = 0;
    errno = 0;
    ssize_t n = write(sv[0], "x", 1);
    printf("%s write to closed: %zd %s sigpipe=%d\n", name, n, ename(errno), got_pipe);
    got_pipe = 0;
    n = send(sv[0], "x", 1, MSG_NOSIGNAL);
    printf("%s send NOSIGNAL: %zd %s sigpipe=%d\n", name, n, ename(errno), got_pipe);
    n = send(sv[0], "x", 1, 0);
    printf("%s send: %zd %s sigpipe=%d\n", name, n, ename(errno), got_pipe);
    char c;
    n = read(sv[0], &c, 1);
    printf("%s read from closed: %zd\n", name, n);
    close(sv[0]);
}

static void nonblocking(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    char c;
    EXPECT_ERR("stream empty read", read(sv[0], &c, 1), EAGAIN);
    int fl = fcntl(sv[0], F_GETFL);
    printf("F_GETFL nonblock=%d rdwr=%d\n", !!(fl & O_NONBLOCK), (fl & O_ACCMODE) == O_RDWR);
    static char big[65536];
    long total = 0;
    for (int i = 0; i < 1000; i++) {
        ssize_t n = write(sv[0], big, sizeof big);
        if (n < 0) { printf("fill ends with %s\n", ename(errno)); break; }
        total += n;
    }
    printf("filled some=%d\n", total > 65536);
    struct pollfd pf = {sv[0], POLLOUT, 0};
    printf("poll full: %d\n", poll(&pf, 1, 0));
    long drained = 0;
    for (;;) {
        ssize_t n = read(sv[1], big, sizeof big);
        if (n <= 0) break;
        drained += n;
    }
    printf("drained all=%d\n", drained == total);
    pf.revents = 0;
    printf("poll drained: %d revents=%#x\n", poll(&pf, 1, 0), pf.revents);
    close(sv[0]);
    close(sv[1]);

    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    EXPECT_ERR("dgram DONTWAIT", recv(sv[0], &c, 1, MSG_DONTWAIT), EAGAIN);
    close(sv[0]);
    close(sv[1]);
}

static void blocking_and_poll(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct pollfd pf[2] = {{sv[0], POLLIN | POLLOUT, 0}, {sv[1], POLLIN, 0}};
    int r = poll(pf, 2, 0);
    printf("poll idle: %d %#x %#x\n", r, pf[0].revents, pf[1].revents);
    pid_t p = fork();
    if (p == 0) {
        close(sv[0]);
        usleep(50000);
        write(sv[1], "abc", 3);
        usleep(50000);
        write(sv[1], "defgh", 5);
        _exit(0);
    }
    close(sv[1]);
    char buf[16];
    ssize_t n = recv(sv[0], buf, 8, MSG_WAITALL);
    printf("WAITALL: %zd '%.*s'\n", n, (int)n, buf);
    struct pollfd q = {sv[0], POLLIN, 0};
    r = poll(&q, 1, 5000);
    printf("poll after child exit: %d in=%d hup=%d\n", r, !!(q.revents & POLLIN), !!(q.revents & POLLHUP));
    child_done(p);
    n = read(sv[0], buf, sizeof buf);
    printf("read eof: %zd\n", n);
    close(sv[0]);

    /* A blocked reader is woken by the peer's shutdown. */
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    p = fork();
    if (p == 0) {
        usleep(50000);
        shutdown(sv[1], SHUT_WR);
        _exit(0);
    }
    n = read(sv[0], buf, sizeof buf);
    printf("seqpacket read after peer SHUT_WR: %zd\n", n);
    child_done(p);
    errno = 0;
    n = write(sv[1], "x", 1);
    printf("write after own SHUT_WR: %zd %s\n", n, ename(errno));
    n = write(sv[0], "y", 1);
    printf("other direction still works: %zd\n", n);
    n = read(sv[1], buf, sizeof buf);
    printf("read it: %zd\n", n);
    close(sv[0]);
    close(sv[1]);
}

/* A blocking write larger than the socket buffer waits for the reader and moves it all. */
static void big_write(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t p = fork();
    if (p == 0) {
        close(sv[0]);
        static char buf[10000];
        long total = 0, sum = 0;
        ssize_t n;
        while ((n = read(sv[1], buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < n; i++) sum += (unsigned char)buf[i];
            total += n;
        }
        _exit(total == (1 << 20) && sum == 255L * (1 << 19) ? 0 : 1);
    }
    close(sv[1]);
    static char big[1 << 20];
    for (int i = 0; i < (1 << 20); i++) big[i] = (i & 1) ? 0xff : 0;
    ssize_t n = write(sv[0], big, sizeof big);
    printf("big write: %zd\n", n);
    close(sv[0]);
    child_done(p);
}

static void options(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
    printf("cloexec=%d\n", !!(fcntl(sv[0], F_GETFD) & FD_CLOEXEC));
    int v;
    socklen_t len = sizeof v;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len);
    printf("SO_TYPE=%d len=%u\n", v, len);
    getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &len);
    printf("SO_ERROR=%d\n", v);
    getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &len);
    printf("SO_DOMAIN=%d\n", v);
    v = 10000;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &len);
    printf("SO_SNDBUF after 10000: %d\n", v);
    v = 1;
    report("SO_PASSCRED", setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &v, sizeof v));
    getsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &v, &len);
    printf("SO_PASSCRED=%d\n", v);
    struct ucred uc;
    len = sizeof uc;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &len);
    printf("SO_PEERCRED len=%u pid=me:%d uid=me:%d gid=me:%d\n", len, uc.pid == getpid(),
           uc.uid == geteuid(), uc.gid == getegid());
    EXPECT_ERR("unknown opt", getsockopt(sv[0], SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT);
    struct sockaddr_un sa;
    len = sizeof sa;
    getsockname(sv[0], (struct sockaddr *)&sa, &len);
    printf("getsockname len=%u family=%d\n", len, sa.sun_family);
    len = sizeof sa;
    getpeername(sv[0], (struct sockaddr *)&sa, &len);
    printf("getpeername len=%u\n", len);
    struct stat st;
    fstat(sv[0], &st);
    printf("fstat sock=%d\n", S_ISSOCK(st.st_mode));
    EXPECT_ERR("lseek", lseek(sv[0], 0, SEEK_SET), ESPIPE);
    int fl = 0;
    EXPECT_ERR("getsockopt on pipe", getsockopt(0, SOL_SOCKET, SO_TYPE, &fl, &len), ENOTSOCK);
    EXPECT_ERR("invalid shutdown how", shutdown(sv[0], 7), EINVAL);
    EXPECT_ERR("invalid type flags", socketpair(AF_UNIX, SOCK_STREAM | 0x100, 0, sv), EINVAL);
    EXPECT_ERR("invalid type", socket(AF_UNIX, 4, 0), ESOCKTNOSUPPORT);
    EXPECT_ERR("invalid protocol", socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
    EXPECT_ERR("invalid family", socket(1000, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERR("socketpair efault", socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)8), EFAULT);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    signal(SIGPIPE, on_pipe);
    boundaries(SOCK_STREAM, "stream");
    boundaries(SOCK_DGRAM, "dgram");
    boundaries(SOCK_SEQPACKET, "seqpacket");
    truncation(SOCK_DGRAM, "dgram");
    truncation(SOCK_SEQPACKET, "seqpacket");
    truncation(SOCK_STREAM, "stream");
    epipe(SOCK_STREAM, "stream");
    epipe(SOCK_SEQPACKET, "seqpacket");
    nonblocking();
    blocking_and_poll();
    big_write();
    options();
    printf("done\n");
    return 0;
}
