/* Adversarial guest: blocks and ignores signals. (1) At the guest level (emulated): block
 * everything, ignore SIGSYS/SIGSEGV/SIGVTALRM; syscalls must still be trapped and a spinner
 * still preempted. (2) At the host level: jump to the stub's rt_sigreturn with a forged frame
 * that blocks every host signal, then spin: the kernel must not stall (the guest is killed
 * or preempted) and the parent keeps ticking. */
#include "common.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define STUB_TEXT 0x7f0000001000UL

static sigjmp_buf env;
static void on_fault(int s) { siglongjmp(env, s); }

static void ticks(const char *what) {
    for (int i = 1; i <= 3; i++) {
        struct timespec ts = {0, 30 * 1000000L};
        nanosleep(&ts, NULL);
        printf("%s tick %d\n", what, i);
    }
}

static void reap(pid_t pid, const char *what) {
    int st;
    for (int i = 0; i < 3000; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            if (getenv("ADV_VERBOSE")) printf("%s: status %#x\n", what, st);
            printf("%s: ended\n", what);
            return;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    printf("%s: ended\n", what);
}

static void spin(void) {
    for (volatile unsigned long x = 0;; x++) {
    }
}

static char stack[65536] __attribute__((aligned(16)));

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* (1) guest-level blocking and ignoring */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    signal(SIGSYS, SIG_IGN);
    signal(SIGVTALRM, SIG_IGN);
    long pid = syscall(SYS_getpid);
    printf("raw getpid still trapped: %d\n", pid == getpid() && pid > 0);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    pid_t s = fork();
    if (s == 0) {
        sigprocmask(SIG_BLOCK, &all, NULL);
        spin();
    }
    ticks("guest-blocked spinner");
    kill(s, SIGKILL);
    reap(s, "guest-blocked spinner");

    /* (2) host-level: forged rt_sigreturn frame through the stub's own instruction */
    unsigned long restorer = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(env, 1) == 0) {
        for (unsigned long p = STUB_TEXT; p < STUB_TEXT + 4090; p++) {
            const unsigned char *b = (const unsigned char *)p;
            if (b[0] == 0xb8 && b[1] == 15 && b[2] == 0 && b[3] == 0 && b[4] == 0 && b[5] == 0x0f &&
                b[6] == 0x05) {
                restorer = p;
                break;
            }
        }
    }
    printf("stub rt_sigreturn found: %d\n", restorer != 0);
    if (restorer) {
        pid_t c = fork();
        if (c == 0) {
            /* struct rt_sigframe minus pretcode: ucontext at rsp */
            /* Touch the stack first: with every host signal blocked, a page fault would
             * kill the spinner at once; we want it to spin. */
            memset(stack, 1, sizeof stack);
            unsigned long *uc = (unsigned long *)(stack + 32768);
            memset(uc, 0, 1024);
            uc[2] = 0;                      /* uc_stack.ss_sp */
            uc[3] = 2;                      /* ss_flags = SS_DISABLE */
            unsigned long *g = uc + 5;      /* gregs */
            g[15] = (unsigned long)(stack + 16384); /* rsp */
            g[16] = (unsigned long)spin;    /* rip */
            g[17] = 0x202;                  /* eflags */
            g[18] = 0x33 | (0x2bUL << 48);  /* cs, ss */
            uc[37] = ~0UL;                  /* uc_sigmask: block everything */
            __asm__ volatile("mov %0, %%rsp; jmp *%1" ::"r"(uc), "r"(restorer) : "memory");
        }
        ticks("host-blocked spinner");
        kill(c, SIGKILL);
        reap(c, "host-blocked spinner");
    }
    puts("done");
    return 0;
}
