/* Who may signal whom (kill, tgkill, rt_sigqueueinfo, pidfd_send_signal), pidfds that are
 * /proc/PID directories, RLIMIT_SIGPENDING for queued real-time signals, and
 * sigwaitinfo taking an unblocked signal that has a handler. Run as root: a child drops
 * to uid 65534 and signals its root parent. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

static volatile sig_atomic_t handled;
static void on_usr(int s) { (void)s; handled++; }

static int pidfd_send(int fd, int sig) { return syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0); }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGUSR1, on_usr);
    signal(SIGUSR2, on_usr);
    pid_t parent = getpid();

    /* An unprivileged child may not signal root's process; signal 0 checks the same. */
    pid_t c = fork();
    if (c == 0) {
        if (setresuid(65534, 65534, 65534) != 0) {
            printf("not root: no unprivileged checks\n");
            _exit(0);
        }
        EXPECT_ERR("nobody kill root", kill(parent, SIGUSR1), EPERM);
        EXPECT_ERR("nobody kill 0 root", kill(parent, 0), EPERM);
        EXPECT_ERR("nobody tgkill root", syscall(SYS_tgkill, parent, parent, SIGUSR1), EPERM);
        siginfo_t si = {.si_signo = SIGUSR1, .si_code = SI_QUEUE};
        EXPECT_ERR("nobody sigqueue root",
                   syscall(SYS_rt_sigqueueinfo, parent, SIGUSR1, &si), EPERM);
        report("nobody kill self", kill(getpid(), 0));
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child status %d, parent handled %d\n", WEXITSTATUS(st), (int)handled);

    /* An open /proc/PID directory is a pidfd for pidfd_send_signal; other files are not. */
    int dir = open("/proc/self", O_DIRECTORY | O_RDONLY);
    handled = 0;
    report("pidfd_send_signal /proc/self", pidfd_send(dir, SIGUSR1));
    printf("handled %d\n", (int)handled);
    int task = open("/proc/self/task", O_DIRECTORY | O_RDONLY);
    EXPECT_ERR("pidfd_send_signal /proc/self/task", pidfd_send(task, SIGUSR1), EBADF);
    int file = open("/proc/self/status", O_RDONLY);
    EXPECT_ERR("pidfd_send_signal status file", pidfd_send(file, SIGUSR1), EBADF);

    /* Queued real-time signals count against RLIMIT_SIGPENDING: with 0, tgkill and
     * sigqueue get EAGAIN, while kill still makes the signal pending. */
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &rt, NULL);
    struct rlimit old, zero = {0, 0};
    getrlimit(RLIMIT_SIGPENDING, &old);
    setrlimit(RLIMIT_SIGPENDING, &zero);
    EXPECT_ERR("tgkill rt over limit", syscall(SYS_tgkill, getpid(), gettid(), SIGRTMIN), EAGAIN);
    union sigval v = {.sival_int = 5};
    EXPECT_ERR("sigqueue rt over limit", sigqueue(getpid(), SIGRTMIN, v), EAGAIN);
    report("kill rt over limit", kill(getpid(), SIGRTMIN));
    sigset_t pend;
    sigpending(&pend);
    printf("rt pending after kill: %d\n", sigismember(&pend, SIGRTMIN));
    setrlimit(RLIMIT_SIGPENDING, &old);
    siginfo_t got;
    int n = sigwaitinfo(&rt, &got);
    printf("took %d code %d\n", n == SIGRTMIN, got.si_code);

    /* sigwaitinfo for an unblocked signal with a handler: the wait takes it, the handler
     * does not run. */
    handled = 0;
    pid_t k = fork();
    if (k == 0) {
        usleep(100000);
        kill(parent, SIGUSR2);
        _exit(0);
    }
    sigset_t want;
    sigemptyset(&want);
    sigaddset(&want, SIGUSR2);
    siginfo_t si;
    int r = sigwaitinfo(&want, &si);
    int e = errno;
    printf("sigwaitinfo unblocked: %s, from child %d, code %d, handled %d\n",
           r == SIGUSR2 ? "SIGUSR2" : ename(e), si.si_pid == k, si.si_code, (int)handled);
    waitpid(k, NULL, 0);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("mask after: usr2 %d rtmin %d\n", sigismember(&now, SIGUSR2), sigismember(&now, SIGRTMIN));
    printf("done\n");
    return 0;
}
