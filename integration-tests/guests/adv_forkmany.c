/* Stress: forks N (argv[1], default 10000) children that exit at once, reaping each. Prints
 * "ready" and pauses before, "forked N" and pauses after, so that a test can count the host
 * processes, kernel fds and physical memory of uml at both points. One fork comes before
 * "ready": the first count is then of a kernel in its steady state for a forking program
 * (under --trap=seccomp, the spare stub a forking program gets is there at both points). */
#include "common.h"
#include <sys/wait.h>
#include <time.h>

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long n = argc > 1 ? atol(argv[1]) : 10000;
    long pause = argc > 2 ? atol(argv[2]) : 700;
    pid_t warm = fork();
    if (warm == 0) _exit(0);
    if (warm < 0 || waitpid(warm, NULL, 0) != warm) { puts("warm-up fork failed"); return 1; }
    puts("ready");
    pause_ms(pause);
    long ok = 0;
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) _exit(i & 0x7f);
        if (p < 0) { printf("fork failed at %ld: %s\n", i, ename(errno)); break; }
        int st;
        if (waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == (i & 0x7f)) ok++;
    }
    printf("forked %ld\n", ok);
    pause_ms(pause);
    puts("done");
    return ok == n ? 0 : 1;
}
