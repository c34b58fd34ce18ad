/* RLIMIT_CPU: a process that spins past its soft limit gets SIGXCPU (again each further
 * second), and SIGKILL at its hard limit. */
#include "common.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static volatile int *seen;
static void on_xcpu(int s) { (void)s; __atomic_add_fetch(seen, 1, __ATOMIC_SEQ_CST); }

int main(void) {
    seen = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t c = fork();
    if (c == 0) {
        signal(SIGXCPU, on_xcpu);
        struct rlimit r = {1, 2};
        if (setrlimit(RLIMIT_CPU, &r)) _exit(9);
        alarm(30);
        for (;;)
            ;
    }
    int st;
    waitpid(c, &st, 0);
    printf("killed by %s, SIGXCPU seen %s\n",
           WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? "SIGKILL" : "something else",
           *seen >= 1 ? "yes" : "no");
    printf("done\n");
    return 0;
}
