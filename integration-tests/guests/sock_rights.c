/* SCM_RIGHTS and SCM_CREDENTIALS over AF_UNIX socketpairs: a pipe end passed to a child,
 * MSG_CTRUNC when the control buffer is short, MSG_CMSG_CLOEXEC, MSG_PEEK duplicates,
 * bad descriptors, credentials. Prints relationships, never pids or fd numbers. */
#include "common.h"
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

static int send_fds(int s, const int *fds, int n, const char *data) {
    char ctl[CMSG_SPACE(sizeof(int) * 8)];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    return sendmsg(s, &m, 0);
}

/* Receives one message; returns how many fds came and stores them. */
static int recv_fds(int s, int *fds, size_t ctl_len, int flags, char *buf, size_t blen, int *mflags) {
    char ctl[256];
    struct iovec iov = {buf, blen};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl_len ? ctl : NULL,
                       .msg_controllen = ctl_len};
    ssize_t r = recvmsg(s, &m, flags);
    if (r < 0) { printf("recvmsg: %s\n", ename(errno)); return -1; }
    *mflags = m.msg_flags;
    int n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds + n, CMSG_DATA(c), k * sizeof(int));
            n += k;
        }
    }
    printf("got %zd bytes '%.*s', %d fds, controllen=%zu, ctrunc=%d\n", r, (int)r, buf, n,
           (size_t)m.msg_controllen, !!(m.msg_flags & MSG_CTRUNC));
    return n;
}

static void pass_pipe(void) {
    int sv[2], pfd[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(pfd);
    pid_t p = fork();
    if (p == 0) {
        close(sv[0]);
        close(pfd[0]);
        close(pfd[1]);
        int fds[8], fl;
        char buf[32];
        int n = recv_fds(sv[1], fds, CMSG_SPACE(sizeof(int)), 0, buf, sizeof buf, &fl);
        if (n != 1) _exit(1);
        struct stat st;
        fstat(fds[0], &st);
        printf("child: passed fd is fifo=%d\n", S_ISFIFO(st.st_mode));
        fflush(stdout);
        write(fds[0], "through the pipe", 16);
        close(fds[0]);
        _exit(0);
    }
    close(sv[1]);
    send_fds(sv[0], &pfd[1], 1, "pipe");
    close(pfd[1]);
    char buf[64];
    ssize_t n = read(pfd[0], buf, sizeof buf);
    printf("parent read %zd '%.*s'\n", n, (int)n, buf);
    n = read(pfd[0], buf, sizeof buf);
    printf("then eof %zd\n", n);
    int st;
    waitpid(p, &st, 0);
    printf("child exit=%d\n", WEXITSTATUS(st));
    close(pfd[0]);
    close(sv[0]);
}

static void ctrunc_and_flags(void) {
    int sv[2], pfd[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    pipe(pfd);
    int three[3] = {pfd[0], pfd[1], pfd[0]};
    int fds[8], fl;
    char buf[32];
    send_fds(sv[0], three, 3, "three");
    int n = recv_fds(sv[1], fds, CMSG_SPACE(sizeof(int) * 2), 0, buf, sizeof buf, &fl);
    printf("short buffer: n=%d\n", n);
    for (int i = 0; i < n; i++) close(fds[i]);
    send_fds(sv[0], three, 1, "none");
    n = recv_fds(sv[1], fds, 0, 0, buf, sizeof buf, &fl);
    send_fds(sv[0], three, 2, "peek");
    n = recv_fds(sv[1], fds, 64, MSG_PEEK, buf, sizeof buf, &fl);
    int a = fds[0];
    n = recv_fds(sv[1], fds, 64, MSG_CMSG_CLOEXEC, buf, sizeof buf, &fl);
    printf("peek gave new fds: %d; cloexec=%d, first was not=%d\n", a != fds[0],
           !!(fcntl(fds[0], F_GETFD) & FD_CLOEXEC), !(fcntl(a, F_GETFD) & FD_CLOEXEC));
    struct stat s1, s2;
    fstat(a, &s1);
    fstat(fds[0], &s2);
    printf("same pipe: %d\n", s1.st_ino == s2.st_ino);
    int bad = 999;
    EXPECT_ERR("invalid fd", send_fds(sv[0], &bad, 1, "x"), EBADF);
    close(sv[0]);
    close(sv[1]);
    close(pfd[0]);
    close(pfd[1]);
}

static void creds(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int on = 1;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    pid_t p = fork();
    if (p == 0) {
        send(sv[0], "hi", 2, 0);
        /* Explicit credentials that are our own are fine. */
        char ctl[CMSG_SPACE(sizeof(struct ucred))];
        memset(ctl, 0, sizeof ctl);
        struct iovec iov = {"me", 2};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                           .msg_controllen = sizeof ctl};
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_CREDENTIALS;
        c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
        struct ucred uc = {getpid(), getuid(), getgid()};
        memcpy(CMSG_DATA(c), &uc, sizeof uc);
        /* The child prints nothing: its exit status says how sendmsg went. */
        _exit(sendmsg(sv[0], &m, 0) == 2 ? 0 : 1);
    }
    for (int i = 0; i < 2; i++) {
        char buf[8], ctl[64];
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                           .msg_controllen = sizeof ctl};
        ssize_t r = recvmsg(sv[1], &m, 0);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        struct ucred uc = {0};
        if (c && c->cmsg_type == SCM_CREDENTIALS) memcpy(&uc, CMSG_DATA(c), sizeof uc);
        printf("creds msg %zd: cmsg=%d pid=child:%d uid=me:%d gid=me:%d\n", r,
               c && c->cmsg_type == SCM_CREDENTIALS, uc.pid == p, uc.uid == getuid(),
               uc.gid == getgid());
    }
    int st;
    waitpid(p, &st, 0);
    printf("child sendmsg own creds: exit=%d\n", WEXITSTATUS(st));
    close(sv[0]);
    close(sv[1]);
}

/* A stream read takes the bytes before a message with files and that message, then stops. */
static void stream_boundary(void) {
    int sv[2], pfd[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(pfd);
    send(sv[0], "bc", 2, 0);
    send_fds(sv[0], &pfd[0], 1, "d");
    send(sv[0], "ef", 2, 0);
    int fds[8], fl;
    char buf[32];
    int n = recv_fds(sv[1], fds, 64, 0, buf, sizeof buf, &fl);
    for (int i = 0; i < n; i++) close(fds[i]);
    n = recv_fds(sv[1], fds, 64, 0, buf, sizeof buf, &fl);
    close(sv[0]);
    close(sv[1]);
    close(pfd[0]);
    close(pfd[1]);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    stream_boundary();
    pass_pipe();
    ctrunc_and_flags();
    creds();
    printf("done\n");
    return 0;
}
