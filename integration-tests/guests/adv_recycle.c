/* Processes that leave garbage in their FP registers, MXCSR and segment bases and then die
 * without libc must not affect the processes that come after them (under seccomp these
 * run in the dead ones' recycled stubs), and a forked child inherits its parent's FP control
 * state. Output is the same natively and under uml. */
#include "common.h"

#include <sys/auxv.h>
#include <sys/wait.h>

static unsigned get_mxcsr(void) {
    unsigned m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    return m;
}

static void set_mxcsr(unsigned m) { __asm__ volatile("ldmxcsr %0" : : "m"(m)); }

/* Round toward zero, all exceptions masked; junk in SSE registers; FS/GS bases moved
 * without a syscall where the CPU allows it; then exit_group(0) without touching TLS. */
static void dirty_and_die(void) {
    set_mxcsr(0x7f80);
    double junk = 1.2345e300;
    __asm__ volatile("movsd %0, %%xmm0\n\tmovsd %0, %%xmm7\n\tmovsd %0, %%xmm15"
                     : : "m"(junk) : "xmm0", "xmm7", "xmm15");
    if (getauxval(AT_HWCAP2) & 2) {
        unsigned long v = 0x12345000;
        __asm__ volatile("wrfsbase %0\n\twrgsbase %0" : : "r"(v));
    }
    __asm__ volatile("syscall" : : "a"(231), "D"(0) : "rcx", "r11", "memory");
    __builtin_unreachable();
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "fresh")) {
        volatile double one = 1.0, ten = 10.0, third = one / ten;
        printf("exec'd: mxcsr %#x tenth %.17g errno %d\n", get_mxcsr(), third, errno);
        return 0;
    }
    int st;
    for (int i = 0; i < 3; i++) {
        pid_t p = fork();
        if (p == 0) dirty_and_die();
        waitpid(p, &st, 0);
        printf("dirty child %d: status %d\n", i, st);
        fflush(stdout);
        p = fork();
        if (p == 0) {
            volatile double one = 1.0, ten = 10.0, third = one / ten;
            printf("forked: mxcsr %#x tenth %.17g\n", get_mxcsr(), third);
            fflush(stdout);
            _exit(errno);
        }
        waitpid(p, &st, 0);
        p = fork();
        if (p == 0) {
            execl("/proc/self/exe", argv[0], "fresh", (char *)NULL);
            _exit(127);
        }
        waitpid(p, &st, 0);
        printf("exec child: status %d\n", st);
        fflush(stdout);
    }
    set_mxcsr(0x3f80); /* round down */
    pid_t p = fork();
    if (p == 0) {
        volatile double one = 1.0, ten = 10.0, third = one / ten;
        printf("inherited: mxcsr %#x tenth %.17g\n", get_mxcsr(), third);
        fflush(stdout);
        _exit(0);
    }
    waitpid(p, &st, 0);
    set_mxcsr(0x1f80);
    printf("done\n");
    return 0;
}
