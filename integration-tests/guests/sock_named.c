/* Named AF_UNIX sockets: a stream server on a path in DIR (argv[1]) accepting clients in a
 * loop, abstract names, datagrams between named sockets, autobind, and the errors of bind,
 * connect, listen and accept. Prints relationships, never pids. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static const char *dir;

static socklen_t path_addr(struct sockaddr_un *sa, const char *name) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    snprintf(sa->sun_path, sizeof sa->sun_path, "%s/%s", dir, name);
    return offsetof(struct sockaddr_un, sun_path) + strlen(sa->sun_path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *sa, const char *name) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "uml-%s-%d", name, getppid());
    return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

#define NCLIENTS 4

static void stream_server(void) {
    struct sockaddr_un sa, got;
    socklen_t len = path_addr(&sa, "srv.sock");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("listen unbound", listen(l, 5), EINVAL);
    report("bind", bind(l, (struct sockaddr *)&sa, len));
    EXPECT_ERR("bind twice, taken path", bind(l, (struct sockaddr *)&sa, len), EADDRINUSE);
    struct sockaddr_un other;
    socklen_t olen = path_addr(&other, "other.sock");
    EXPECT_ERR("bind twice", bind(l, (struct sockaddr *)&other, olen), EINVAL);
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("bind in use", bind(l2, (struct sockaddr *)&sa, len), EADDRINUSE);
    EXPECT_ERR("connect not listening", connect(l2, (struct sockaddr *)&sa, len), ECONNREFUSED);
    EXPECT_ERR("accept not listening", accept(l, NULL, NULL), EINVAL);
    report("listen", listen(l, NCLIENTS));
    socklen_t glen = sizeof got;
    getsockname(l, (struct sockaddr *)&got, &glen);
    printf("getsockname len=%d same=%d\n", glen == len, strcmp(got.sun_path, sa.sun_path) == 0);
    struct stat st;
    report("stat socket", stat(sa.sun_path, &st));
    printf("is socket=%d perm=%o\n", S_ISSOCK(st.st_mode), st.st_mode & 0777);
    EXPECT_ERR("open socket", open(sa.sun_path, O_RDONLY), ENXIO);
    int fl = fcntl(l, F_GETFL);
    fcntl(l, F_SETFL, fl | O_NONBLOCK);
    EXPECT_ERR("accept empty", accept(l, NULL, NULL), EAGAIN);
    fcntl(l, F_SETFL, fl);

    pid_t kids[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            int c = socket(AF_UNIX, SOCK_STREAM, 0);
            if (connect(c, (struct sockaddr *)&sa, len) < 0) _exit(10);
            char msg[32];
            int n = snprintf(msg, sizeof msg, "hello %d", i);
            if (write(c, msg, n) != n) _exit(11);
            shutdown(c, SHUT_WR);
            char buf[64];
            ssize_t r = read(c, buf, sizeof buf);
            if (r != n || buf[0] != 'H') _exit(12);
            if (read(c, buf, sizeof buf) != 0) _exit(13);
            _exit(0);
        }
    }
    char seen[NCLIENTS][32];
    int cred_ok = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        struct sockaddr_un peer;
        socklen_t plen = sizeof peer;
        int c = accept4(l, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
        if (c < 0) { printf("bad accept %s\n", ename(errno)); break; }
        if (i == 0) {
            printf("accepted peer len=%u cloexec=%d\n", plen, !!(fcntl(c, F_GETFD) & FD_CLOEXEC));
            glen = sizeof got;
            getsockname(c, (struct sockaddr *)&got, &glen);
            printf("accepted getsockname is server's=%d\n", strcmp(got.sun_path, sa.sun_path) == 0);
        }
        struct ucred uc;
        socklen_t ulen = sizeof uc;
        getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &ulen);
        for (int k = 0; k < NCLIENTS; k++) cred_ok += uc.pid == kids[k];
        char buf[32] = {0};
        ssize_t n = 0, r;
        while ((r = read(c, buf + n, sizeof buf - 1 - n)) > 0) n += r;
        strcpy(seen[i], buf);
        buf[0] = 'H';
        write(c, buf, n);
        close(c);
    }
    qsort(seen, NCLIENTS, sizeof seen[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < NCLIENTS; i++) printf("server got '%s'\n", seen[i]);
    printf("peer creds are the clients: %d\n", cred_ok == NCLIENTS);
    for (int i = 0; i < NCLIENTS; i++) {
        int s;
        waitpid(kids[i], &s, 0);
        printf("client %d exit=%d\n", i, WEXITSTATUS(s));
    }
    /* A pending connection wakes poll on the listener. */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    report("connect pending", connect(c, (struct sockaddr *)&sa, len));
    struct pollfd pf = {l, POLLIN, 0};
    int pr = poll(&pf, 1, 1000);
    printf("poll listener: %d revents=%#x\n", pr, pf.revents);
    close(c);
    close(l);
    close(l2);
    EXPECT_ERR("connect after close", connect(socket(AF_UNIX, SOCK_STREAM, 0),
                                              (struct sockaddr *)&sa, len), ECONNREFUSED);
    report("unlink", unlink(sa.sun_path));
    EXPECT_ERR("connect after unlink", connect(socket(AF_UNIX, SOCK_STREAM, 0),
                                               (struct sockaddr *)&sa, len), ENOENT);
    int fd = open(sa.sun_path, O_CREAT | O_WRONLY, 0644);
    close(fd);
    EXPECT_ERR("connect to regular file", connect(socket(AF_UNIX, SOCK_STREAM, 0),
                                                  (struct sockaddr *)&sa, len), ECONNREFUSED);
    unlink(sa.sun_path);
    len = path_addr(&sa, "no/such/dir.sock");
    EXPECT_ERR("bind missing dir", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&sa, len), ENOENT);
}

static void abstract(void) {
    struct sockaddr_un sa, got;
    socklen_t len = abstract_addr(&sa, "abs");
    int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    report("abstract bind", bind(l, (struct sockaddr *)&sa, len));
    int l2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    EXPECT_ERR("abstract in use", bind(l2, (struct sockaddr *)&sa, len), EADDRINUSE);
    listen(l, 1);
    socklen_t glen = sizeof got;
    getsockname(l, (struct sockaddr *)&got, &glen);
    printf("abstract getsockname len ok=%d same=%d\n", glen == len, memcmp(&got, &sa, len) == 0);
    pid_t p = fork();
    if (p == 0) {
        int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
        if (connect(c, (struct sockaddr *)&sa, len) < 0) _exit(1);
        send(c, "ab", 2, 0);
        send(c, "cde", 3, 0);
        _exit(0);
    }
    int c = accept(l, NULL, NULL);
    char buf[16];
    ssize_t a = recv(c, buf, sizeof buf, 0), b = recv(c, buf, sizeof buf, 0), e = recv(c, buf, sizeof buf, 0);
    printf("abstract seqpacket: %zd %zd then %zd\n", a, b, e);
    int s;
    waitpid(p, &s, 0);
    /* Abstract names are keyed by type too: another type finds nothing. */
    EXPECT_ERR("stream to seqpacket", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&sa, len), ECONNREFUSED);
    close(c);
    close(l);
    report("abstract name free after close", bind(l2, (struct sockaddr *)&sa, len));
    close(l2);
    len = abstract_addr(&sa, "nobody");
    EXPECT_ERR("abstract nobody", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&sa, len), ECONNREFUSED);

    int x = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    report("autobind", bind(x, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    glen = sizeof got;
    getsockname(x, (struct sockaddr *)&got, &glen);
    printf("autobind len=%u abstract=%d\n", glen, got.sun_path[0] == 0);
    close(x);
}

static void datagrams(void) {
    struct sockaddr_un srv, cli, from;
    socklen_t slen = path_addr(&srv, "dg.sock"), clen = path_addr(&cli, "dgc.sock");
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(s, (struct sockaddr *)&srv, slen);
    EXPECT_ERR("stream to dgram path", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&srv, slen), EPROTOTYPE);
    int c = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_ERR("dgram send unconnected", send(c, "x", 1, 0), ENOTCONN);
    sendto(c, "anon", 4, 0, (struct sockaddr *)&srv, slen);
    char buf[32];
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    printf("from unbound: %zd '%.*s' fromlen=%u\n", n, (int)n, buf, flen);
    bind(c, (struct sockaddr *)&cli, clen);
    sendto(c, "named", 5, 0, (struct sockaddr *)&srv, slen);
    flen = sizeof from;
    n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    printf("from bound: %zd fromlen ok=%d path ok=%d\n", n, flen == clen,
           strcmp(from.sun_path, cli.sun_path) == 0);
    sendto(s, "reply", 5, 0, (struct sockaddr *)&from, flen);
    n = recv(c, buf, sizeof buf, 0);
    printf("reply: %zd\n", n);
    report("dgram connect", connect(c, (struct sockaddr *)&srv, slen));
    write(c, "conn", 4);
    n = read(s, buf, sizeof buf);
    printf("connected write: %zd\n", n);
    struct sockaddr_un pn;
    socklen_t plen = sizeof pn;
    getpeername(c, (struct sockaddr *)&pn, &plen);
    printf("dgram getpeername ok=%d\n", plen == slen);
    int third = socket(AF_UNIX, SOCK_DGRAM, 0);
    connect(s, (struct sockaddr *)&cli, clen);
    EXPECT_ERR("send to socket connected elsewhere", sendto(third, "x", 1, 0, (struct sockaddr *)&srv, slen), EPERM);
    close(third);
    close(s);
    EXPECT_ERR("dgram to closed", sendto(c, "x", 1, 0, (struct sockaddr *)&srv, slen), ECONNREFUSED);
    close(c);
    unlink(srv.sun_path);
    unlink(cli.sun_path);
    EXPECT_ERR("dgram to missing", sendto(socket(AF_UNIX, SOCK_DGRAM, 0), "x", 1, 0, (struct sockaddr *)&srv, slen), ENOENT);
    EXPECT_ERR("listen dgram", listen(socket(AF_UNIX, SOCK_DGRAM, 0), 1), EOPNOTSUPP);
    int sv[2];
    socklen_t len;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    EXPECT_ERR("sendto on connected stream", sendto(sv[0], "x", 1, 0, (struct sockaddr *)&srv, slen), EISCONN);
    EXPECT_ERR("connect connected stream to missing path", connect(sv[0], (struct sockaddr *)&srv, slen), ENOENT);
    len = path_addr(&srv, "dg.sock");
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(s2, (struct sockaddr *)&srv, len);
    listen(s2, 1);
    EXPECT_ERR("connect connected stream", connect(sv[0], (struct sockaddr *)&srv, len), EISCONN);
    close(s2);
    unlink(srv.sun_path);
    EXPECT_ERR("invalid family", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&(struct sockaddr){.sa_family = 2}, 16), EINVAL);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    dir = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    umask(022);
    stream_server();
    abstract();
    datagrams();
    printf("done\n");
    return 0;
}
