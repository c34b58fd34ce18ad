/* Adversarial guest: writes over every page of the stub's range it can reach (code, data,
 * read-only request pages, signal stack), with three patterns, one forked child per page
 * and pattern, then makes syscalls. Each child may die or carry on (it only damages
 * itself); the parent and the kernel must carry on, and a later child still works. */
#include "common.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define STUB_START 0x7f0000000000UL
#define STUB_END 0x7f0000030000UL

static sigjmp_buf env;
static void on_fault(int s) { siglongjmp(env, s); }

static int outcome(pid_t pid) {
    int st;
    for (int i = 0; i < 3000; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    unsigned char pats[] = {0x00, 0xff, 0x5a};
    int written = 0, survived = 0, died = 0, hung = 0;
    for (unsigned long page = STUB_START; page < STUB_END; page += 4096) {
        for (unsigned p = 0; p < sizeof pats; p++) {
            pid_t pid = fork();
            if (pid == 0) {
                struct sigaction sa;
                memset(&sa, 0, sizeof sa);
                sa.sa_handler = on_fault;
                sa.sa_flags = SA_NODEFER;
                sigaction(SIGSEGV, &sa, NULL);
                sigaction(SIGBUS, &sa, NULL);
                int ok = 0;
                if (sigsetjmp(env, 1) == 0) {
                    for (unsigned i = 0; i < 4096; i++) ((volatile unsigned char *)page)[i] = pats[p];
                    ok = 1;
                }
                /* Carry on with syscalls after the damage. */
                pid_t me = getpid();
                _exit(ok ? (me > 0 ? 10 : 11) : (me > 0 ? 20 : 21));
            }
            int r = outcome(pid);
            if (r == 10) written++, survived++;
            else if (r == 20) survived++;
            else if (r < 0) hung++;
            else died++;
        }
    }
    printf("pages %lu: written %d, survived %d, died %d, hung %d\n",
           (STUB_END - STUB_START) / 4096, written, survived, died, hung);
    /* A fresh child still runs normally. */
    pid_t pid = fork();
    if (pid == 0) _exit(getppid() > 0 ? 7 : 8);
    printf("fresh child: %d\n", outcome(pid));
    puts("done");
    return hung != 0;
}
