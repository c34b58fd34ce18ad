/* signalfd: pending signals of the mask read as records (blocked ones too), poll readiness,
 * non-blocking reads, a blocking read woken by a child's SIGCHLD, mask updates and errors.
 * Prints verdicts, never pids. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK("signalfd", fd >= 0);
    CHECK("cloexec", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    struct signalfd_siginfo si;
    EXPECT_ERR("empty nonblocking read", read(fd, &si, sizeof si), EAGAIN);
    struct pollfd p = {fd, POLLIN, 0};
    printf("poll before: %d\n", poll(&p, 1, 0));
    kill(getpid(), SIGUSR1);
    int r = poll(&p, 1, 0);
    printf("poll after kill: %d revents=%d\n", r, p.revents);
    EXPECT_ERR("short buffer", read(fd, &si, 100), EINVAL);
    ssize_t n = read(fd, &si, sizeof si);
    printf("read %zd signo=%d code=%d pid-matches=%d uid-matches=%d\n", n, si.ssi_signo,
           si.ssi_code, si.ssi_pid == (unsigned)getpid(), si.ssi_uid == getuid());
    sigset_t pend;
    sigpending(&pend);
    CHECK("consumed", !sigismember(&pend, SIGUSR1));
    /* A blocking read woken by SIGCHLD. */
    fcntl(fd, F_SETFL, 0);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(200000);
        _exit(42);
    }
    n = read(fd, &si, sizeof si);
    printf("blocking read %zd signo=%d code=%d status=%d pid-matches=%d\n", n, si.ssi_signo,
           si.ssi_code, si.ssi_status, si.ssi_pid == (unsigned)pid);
    waitpid(pid, NULL, 0);
    /* Two records in one read. */
    kill(getpid(), SIGUSR1);
    union sigval v = {.sival_int = 7};
    sigqueue(getpid(), SIGCHLD, v);
    struct signalfd_siginfo two[3];
    n = read(fd, two, sizeof two);
    printf("two records: %zd first=%d second=%d int=%d\n", n, two[0].ssi_signo, two[1].ssi_signo,
           two[1].ssi_int);
    /* A new mask on the same descriptor. */
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, SIGUSR2);
    CHECK("update mask", signalfd(fd, &only, 0) == fd);
    kill(getpid(), SIGUSR1);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    EXPECT_ERR("SIGUSR1 no longer in mask", read(fd, &si, sizeof si), EAGAIN);
    EXPECT_ERR("invalid flags", signalfd(-1, &set, 1), EINVAL);
    EXPECT_ERR("invalid size", syscall(SYS_signalfd4, -1, &set, 4, 0), EINVAL);
    EXPECT_ERR("unmapped mask pointer", syscall(SYS_signalfd4, -1, (void *)8, 8, 0), EFAULT);
    EXPECT_ERR("not a signalfd", signalfd(1, &set, 0), EINVAL);
    EXPECT_ERR("closed fd", signalfd(99, &set, 0), EBADF);
    EXPECT_ERR("write", write(fd, &si, sizeof si), EINVAL);
    struct stat st;
    CHECK("fstat", fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == 0);
    printf("done\n");
    return 0;
}
