/* An epoll echo server on 127.0.0.1 with 200 concurrent clients in 20 forked processes
 * (10 connections each, all open at once): every client sends a line on each of its
 * connections, reads the echo back, checks it and closes. The server is edge-triggered
 * and non-blocking throughout. */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define PROCS 20
#define PER 10

static int client(int port, int id) {
    int fds[PER];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < PER; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[i], (struct sockaddr *)&a, sizeof a) < 0) return 10;
    }
    for (int i = 0; i < PER; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "client %d conn %d\n", id, i);
        if (write(fds[i], msg, n) != n) return 11;
    }
    for (int i = 0; i < PER; i++) {
        char want[64], got[64];
        int n = snprintf(want, sizeof want, "client %d conn %d\n", id, i), k = 0;
        while (k < n) {
            long r = read(fds[i], got + k, n - k);
            if (r <= 0) return 12;
            k += r;
        }
        if (memcmp(want, got, n) != 0) return 13;
        close(fds[i]);
    }
    return 0;
}

int main(void) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 512) < 0) return 1;
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    fflush(stdout);
    for (int p = 0; p < PROCS; p++) {
        if (fork() == 0) _exit(client(port, p));
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    int accepted = 0, closed = 0, open_now = 0, most = 0;
    long bytes = 0;
    while (closed < PROCS * PER) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 30000);
        if (n <= 0) {
            printf("bad epoll_wait %d %s\n", n, ename(errno));
            return 2;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                for (;;) {
                    int c = accept4(l, NULL, NULL, SOCK_NONBLOCK);
                    if (c < 0) break;
                    accepted++;
                    if (++open_now > most) most = open_now;
                    struct epoll_event ce = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            for (;;) {
                char buf[4096];
                long r = read(fd, buf, sizeof buf);
                if (r > 0) {
                    bytes += r;
                    if (write(fd, buf, r) != r) printf("bad short echo\n");
                    continue;
                }
                if (r == 0 || errno != EAGAIN) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    close(fd);
                    closed++;
                    open_now--;
                }
                break;
            }
        }
    }
    int ok = 0;
    for (int p = 0; p < PROCS; p++) {
        int st;
        wait(&st);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) ok++;
        else printf("bad client status %d\n", st);
    }
    printf("accepted %d closed %d clients ok %d bytes %ld many at once %d\n", accepted, closed,
           ok, bytes, most > PER);
    printf("done\n");
    return 0;
}
