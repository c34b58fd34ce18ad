/* uml-only (`uml run --pids N -- proc_forkbomb --in-sandbox`): forks until fork() fails with
 * EAGAIN, reports it, then sets off a real fork bomb and exits without cleaning up; uml must
 * still end. Refuses to run without --in-sandbox, and every process arms alarm(20) so a bomb
 * started by mistake dies by itself. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_KIDS 4096

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--in-sandbox") != 0) {
        fprintf(stderr, "proc_forkbomb: refusing to run without --in-sandbox\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    alarm(20);
    int limit = argc > 2 ? atoi(argv[2]) : 0;

    /* phase 1: fork sleeping children until fork fails */
    static pid_t kids[MAX_KIDS];
    int n = 0, err = 0;
    while (n < MAX_KIDS) {
        pid_t p = fork();
        if (p == 0) {
            alarm(20); /* alarms are not inherited across fork */
            for (;;) pause(); /* killed by the parent (or by the alarm) */
        }
        if (p < 0) { err = errno; break; }
        kids[n++] = p;
    }
    printf("fork failed: %s\n", ename(err));
    if (limit > 0) printf("children within the limit: %d\n", n < limit);
    for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
    int reaped = 0;
    while (wait(NULL) > 0) reaped++;
    printf("reaped all: %d\n", reaped == n);
    /* after reaping, fork works again */
    pid_t p = fork();
    if (p == 0) _exit(0);
    printf("fork after cleanup: %s\n", p > 0 ? "ok" : ename(errno));
    if (p > 0) waitpid(p, NULL, 0);

    /* phase 2: a real fork bomb in its own group, abandoned */
    p = fork();
    if (p == 0) {
        setpgid(0, 0);
        alarm(20);
        for (int i = 0; i < 100000; i++) {
            pid_t r = fork();
            if (r == 0) alarm(20);
            else if (r < 0) msleep(1);
        }
        for (;;) pause();
    }
    msleep(500);
    puts("leaving the bomb behind");
    return 0;
}
