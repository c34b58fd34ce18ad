/* ioctl(pidfd, PIDFD_GET_INFO): pid, tgid, parent and ids of a running child, of a zombie
 * (no exit information yet) and of the caller itself; a reaped child's exit status (exit
 * code, killed by a signal) and ESRCH without PIDFD_INFO_EXIT; a smaller or larger struct
 * (cut, or zero-filled past the kernel's); EINVAL for a null pointer, ENOTTY for a size
 * below the first version or a wrong direction, on a file that is not a pidfd. The cgroup
 * id (uml has no cgroups) is left out of the comparison. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

struct info {
    uint64_t mask, cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
    int32_t exit_code;
    uint32_t coredump_mask, spare;
};

#define GET_INFO _IOWR(0xFF, 11, struct info)
#define GET_INFO_SIZE(n) _IOC(_IOC_READ | _IOC_WRITE, 0xFF, 11, n)
#define INFO_PID 1ull
#define INFO_CREDS 2ull
#define INFO_CGROUPID 4ull
#define INFO_EXIT 8ull

static void show(const char *what, int fd, uint64_t mask, pid_t child) {
    struct info in;
    memset(&in, 0xaa, sizeof in);
    in.mask = mask;
    errno = 0;
    int r = ioctl(fd, GET_INFO, &in);
    int e = errno;
    if (r != 0) {
        printf("%s: %s\n", what, ename(e));
        return;
    }
    uint64_t m = in.mask & ~INFO_CGROUPID;
    printf("%s: mask=%#llx", what, (unsigned long long)m);
    if (m & INFO_PID)
        printf(" pid_ok=%d tgid_ok=%d ppid_ok=%d", in.pid == (uint32_t)child,
               in.tgid == (uint32_t)child,
               in.ppid == (uint32_t)(child == getpid() ? getppid() : getpid()));
    if (m & INFO_CREDS)
        printf(" ids=%u,%u,%u,%u,%u,%u,%u,%u", in.ruid, in.rgid, in.euid, in.egid, in.suid,
               in.sgid, in.fsuid, in.fsgid);
    if (m & INFO_EXIT) printf(" exit=%#x", in.exit_code);
    printf("\n");
}

static int pidfd_open(pid_t p) { return syscall(SYS_pidfd_open, p, 0); }

int main(void) {
    int pipefd[2];
    if (pipe(pipefd)) return 1;
    pid_t c = fork();
    if (c == 0) {
        char b;
        setresgid(100, 101, 102);
        setresuid(1000, 1001, 1002);
        close(pipefd[1]);
        read(pipefd[0], &b, 1);
        _exit(42);
    }
    close(pipefd[0]);
    int fd = pidfd_open(c);
    usleep(100000);
    show("running", fd, 0, c);
    show("running exit asked", fd, INFO_EXIT, c);

    /* Sizes and bad arguments. */
    struct info in = {0};
    EXPECT_ERR("null", ioctl(fd, GET_INFO, NULL), EINVAL);
    EXPECT_ERR("short", ioctl(fd, GET_INFO_SIZE(8), &in), ENOTTY);
    EXPECT_ERR("wrong dir", ioctl(fd, _IOC(_IOC_READ, 0xFF, 11, sizeof in), &in), ENOTTY);
    EXPECT_ERR("fault", ioctl(fd, GET_INFO, (void *)8), EFAULT);
    EXPECT_ERR("not a pidfd", ioctl(pipefd[1], GET_INFO, &in), ENOTTY);
    unsigned char big[128];
    memset(big, 0xaa, sizeof big);
    memset(big, 0, 8);
    int r = ioctl(fd, GET_INFO_SIZE(sizeof big), big);
    int zero = 1;
    for (size_t i = 72; i < sizeof big; i++) zero &= big[i] == 0;
    printf("big: %d zero-filled=%d\n", r, zero);
    unsigned char small[72];
    memset(small, 0xaa, sizeof small);
    memset(small, 0, 8);
    r = ioctl(fd, GET_INFO_SIZE(64), small);
    printf("v0: %d untouched=%d\n", r, small[64] == 0xaa && small[71] == 0xaa);

    /* A zombie, then reaped. */
    close(pipefd[1]);
    siginfo_t si;
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    show("zombie", fd, INFO_EXIT, c);
    int st;
    waitpid(c, &st, 0);
    show("reaped", fd, INFO_EXIT, c);
    show("reaped no exit asked", fd, 0, c);
    close(fd);

    /* Killed. */
    c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    fd = pidfd_open(c);
    kill(c, SIGTERM);
    waitpid(c, &st, 0);
    show("killed", fd, INFO_EXIT | INFO_PID, c);
    close(fd);

    /* Itself. */
    fd = pidfd_open(getpid());
    show("self", fd, 0, getpid());
    close(fd);
    printf("done\n");
    return 0;
}
