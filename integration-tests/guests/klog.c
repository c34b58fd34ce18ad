/* syslog(2): the errors and permissions of every action that changes nothing (safe natively
 * as root: no clearing, no console changes), and reads of the log's start. */
#include "common.h"
#include <sys/klog.h>
#include <sys/wait.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char buf[64];
    printf("open: %d close: %d\n", klogctl(1, NULL, 0), klogctl(0, NULL, 0));
    /* What the log holds is the kernel's own (a host's may be empty to a container). */
    int n = klogctl(3, buf, sizeof buf);
    printf("read all: ok=%d records=%d\n", n >= 0, n <= 0 || (buf[0] == '<' && buf[2] == '>'));
    printf("read all, 0 bytes: %d\n", klogctl(3, buf, 0));
    printf("buffer size: %d\n", klogctl(10, NULL, 0) > 0);
    EXPECT_ERR("unknown action", klogctl(100, buf, 0), EINVAL);
    EXPECT_ERR("read NULL", klogctl(2, NULL, 0), EINVAL);
    EXPECT_ERR("read all, length -1", klogctl(3, buf, -1), EINVAL);
    EXPECT_ERR("console level 0", klogctl(8, NULL, 0), EINVAL);
    EXPECT_ERR("console level 9", klogctl(8, NULL, 9), EINVAL);
    pid_t c = fork();
    if (c == 0) {
        if (setgid(65534) || setuid(65534)) _exit(2);
        EXPECT_ERR("nobody read", klogctl(2, buf, sizeof buf), EPERM);
        EXPECT_ERR("nobody clear", klogctl(5, NULL, 0), EPERM);
        EXPECT_ERR("nobody unknown action", klogctl(100, buf, 0), EPERM);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("done\n");
    return 0;
}
