/* unshare(2) of what uml can share: a descriptor table shared by clone(CLONE_FILES)
 * becomes the child's own; flag errors; namespaces need CAP_SYS_ADMIN (EPERM as nobody). */
#include "common.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static char stack[65536];

static int child(void *arg) {
    int fd = *(int *)arg;
    printf("child unshare(CLONE_FILES): %d\n", unshare(CLONE_FILES));
    close(fd);
    printf("child closed its copy: fcntl=%d\n", fcntl(fd, F_GETFD));
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("/dev/null", O_RDONLY);
    pid_t c = clone(child, stack + sizeof stack, CLONE_FILES | SIGCHLD, &fd);
    int st;
    waitpid(c, &st, 0);
    printf("parent still has it: %d\n", fcntl(fd, F_GETFD) >= 0);
    EXPECT_ERR("unshare(-1)", unshare(-1), EINVAL);
    EXPECT_ERR("unshare(unknown bit)", unshare(0x1000), EINVAL);
    printf("unshare(CLONE_FS|CLONE_SYSVSEM|CLONE_FILES): %d\n",
           unshare(CLONE_FS | CLONE_SYSVSEM | CLONE_FILES));
    printf("unshare(0): %d\n", unshare(0));
    pid_t n = fork();
    if (n == 0) {
        if (setgid(65534) || setuid(65534)) _exit(2);
        EXPECT_ERR("nobody unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS), EPERM);
        EXPECT_ERR("nobody unshare(CLONE_NEWUTS)", unshare(CLONE_NEWUTS), EPERM);
        _exit(0);
    }
    waitpid(n, &st, 0);
    printf("done\n");
    return 0;
}
