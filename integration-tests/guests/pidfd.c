/* pidfd_open, pidfd_send_signal, poll on a pidfd (readable once the process exits) and
 * waitid(P_PIDFD), with their errnos. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int send_sig(int fd, int sig, siginfo_t *info, unsigned flags) {
    return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}
static int poll_in(int fd, int ms) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, ms);
    return r <= 0 ? r : pfd.revents;
}
static void result(const char *name, long r) {
    if (r < 0) printf("%s: %s\n", name, ename(errno));
    else printf("%s: %ld\n", name, r);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int self = pidfd_open(getpid(), 0);
    result("open self", self >= 0 ? 0 : -1);
    printf("cloexec: %d\n", fcntl(self, F_GETFD) == FD_CLOEXEC);
    printf("self poll: %d\n", poll_in(self, 0));
    char c;
    result("read", read(self, &c, 1));
    result("signal 0 to self", send_sig(self, 0, NULL, 0));

    int go[2];
    if (pipe(go)) return 1;
    pid_t child = fork();
    if (child == 0) {
        read(go[0], &c, 1);
        _exit(7);
    }
    int fd = pidfd_open(child, 0);
    printf("running poll: %d\n", poll_in(fd, 0));
    result("signal 0", send_sig(fd, 0, NULL, 0));
    result("signal 0 to its group (it leads none)", send_sig(fd, 0, NULL, 4));
    write(go[1], "x", 1);
    printf("exited poll: %#x\n", poll_in(fd, 5000));
    result("signal 0 to zombie", send_sig(fd, 0, NULL, 0));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    result("waitid", waitid(P_PIDFD, fd, &si, WEXITED));
    printf("pid ok %d code %d status %d\n", si.si_pid == child, si.si_code, si.si_status);
    printf("reaped poll: %#x\n", poll_in(fd, 0));
    result("signal 0 to reaped", send_sig(fd, 0, NULL, 0));
    result("open reaped", pidfd_open(child, 0));
    close(fd);

    /* a signal through the pidfd; a non-blocking pidfd makes waitid say EAGAIN */
    child = fork();
    if (child == 0) {
        for (;;) pause();
    }
    fd = pidfd_open(child, PIDFD_NONBLOCK);
    result("nonblocking waitid", waitid(P_PIDFD, fd, &si, WEXITED));
    result("SIGTERM", send_sig(fd, SIGTERM, NULL, 0));
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    memset(&si, 0, sizeof si);
    result("waitid", waitid(P_PIDFD, fd, &si, WEXITED));
    printf("killed code %d status %d\n", si.si_code, si.si_status);

    /* errnos */
    result("open pid 0", pidfd_open(0, 0));
    result("open pid -1", pidfd_open(-1, 0));
    result("open bad flags", pidfd_open(getpid(), 1));
    result("send unknown flag", send_sig(self, 0, NULL, 8));
    result("send two scopes", send_sig(self, 0, NULL, 3));
    result("send to own thread", send_sig(self, 0, NULL, 1));
    setpgid(0, 0);
    result("send to own group", send_sig(self, 0, NULL, 4));
    result("send on a pipe", send_sig(go[0], 0, NULL, 0));
    result("send on closed fd", send_sig(99, 0, NULL, 0));
    result("send bad signal", send_sig(self, 1000, NULL, 0));
    result("send bad info", send_sig(self, SIGUSR1, (siginfo_t *)8, 0));
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR2;
    result("send info signo mismatch", send_sig(self, SIGUSR1, &si, 0));
    result("waitid on a pipe", waitid(P_PIDFD, go[0], &si, WEXITED));
    result("waitid on closed fd", waitid(P_PIDFD, 99, &si, WEXITED));
    result("waitid negative fd", waitid(P_PIDFD, -1, &si, WEXITED));
    result("waitid self pidfd", waitid(P_PIDFD, self, &si, WEXITED | WNOHANG));
    return 0;
}
