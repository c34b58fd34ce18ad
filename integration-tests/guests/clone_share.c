/* clone without CLONE_THREAD sharing memory, filesystem context, descriptors and signal
 * handlers (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND): what the child changes,
 * the parent sees; a plain fork's changes stay its own; exec takes the handlers private. */
#include "common.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

static volatile int touched;
static int child_fd = -1;
static void on_usr1(int s) { (void)s; }

static int child(void *arg) {
    (void)arg;
    touched = 42;
    chdir("/tmp");
    umask(027);
    signal(SIGUSR1, on_usr1);
    child_fd = open("/dev/null", O_RDONLY);
    return 0;
}

static void show(const char *who) {
    char cwd[256];
    getcwd(cwd, sizeof cwd);
    mode_t m = umask(0);
    umask(m);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    printf("%s: cwd %s umask %03o handler %s\n", who, cwd, m,
           sa.sa_handler == on_usr1 ? "child's" : "default");
}

int main(void) {
    chdir("/");
    umask(022);
    char *stack = malloc(1 << 16);
    pid_t c = clone(child, stack + (1 << 16), CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | SIGCHLD, NULL);
    int st;
    waitpid(c, &st, 0);
    printf("shared memory: %d, shared descriptor valid: %d\n", touched,
           child_fd >= 0 && fcntl(child_fd, F_GETFD) >= 0);
    show("after sharing child");
    chdir("/");
    umask(022);
    signal(SIGUSR1, SIG_DFL);
    if (fork() == 0) {
        chdir("/tmp");
        umask(077);
        signal(SIGUSR1, on_usr1);
        _exit(0);
    }
    wait(NULL);
    show("after forked child");
    printf("done\n");
    return 0;
}
