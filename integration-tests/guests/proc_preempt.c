/* Preemption: children spin forever without a syscall; the parent still gets the CPU, prints
 * five lines with nanosleep between them, then kills the spinners. Must finish. */
#include "common.h"
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define SPINNERS 3

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t kids[SPINNERS];
    for (int i = 0; i < SPINNERS; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            volatile unsigned long x = 0;
            for (;;) x++;
        }
    }
    for (int i = 1; i <= 5; i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        sched_yield();
        printf("tick %d\n", i);
    }
    for (int i = 0; i < SPINNERS; i++) kill(kids[i], SIGKILL);
    int killed = 0;
    for (int i = 0; i < SPINNERS; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) == kids[i] && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
            killed++;
    }
    printf("spinners killed: %d\n", killed);

    /* a spinner that must be stopped by SIGSTOP and resumed by SIGCONT, then terminated */
    pid_t s = fork();
    if (s == 0) {
        volatile unsigned long x = 0;
        for (;;) x++;
    }
    int st;
    kill(s, SIGSTOP);
    waitpid(s, &st, WUNTRACED);
    printf("spinner stopped: %d\n", WIFSTOPPED(st));
    kill(s, SIGCONT);
    waitpid(s, &st, WCONTINUED);
    printf("spinner continued: %d\n", WIFCONTINUED(st));
    kill(s, SIGTERM);
    waitpid(s, &st, 0);
    printf("spinner terminated: %s\n", WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");
    puts("done");
    return 0;
}
