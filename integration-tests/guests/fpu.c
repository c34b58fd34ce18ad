/* Keeps patterns in xmm0-15 (and ymm0-15 when AVX exists) and MXCSR across syscalls, a page
 * fault and a signal handler that uses them itself, and checks they are unchanged. Prints ok
 * lines. */
#include "common.h"
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

static uint8_t in[16][32] __attribute__((aligned(32)));
static uint8_t out[16][32] __attribute__((aligned(32)));

static void fill(void) {
    for (int r = 0; r < 16; r++)
        for (int b = 0; b < 32; b++) in[r][b] = (uint8_t)(r * 37 + b * 11 + 5);
    memset(out, 0, sizeof out);
}

#define LOADX(n) "movdqa " #n "*32(%[in]), %%xmm" #n "\n"
#define STOREX(n) "movdqa %%xmm" #n ", " #n "*32(%[out])\n"
#define LOADY(n) "vmovdqa " #n "*32(%[in]), %%ymm" #n "\n"
#define STOREY(n) "vmovdqa %%ymm" #n ", " #n "*32(%[out])\n"
#define ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)

/* Between load and store: getppid, write(1, msg, len), then touch a fresh page (page fault). */
#define BODY                                                       \
    "mov $110, %%eax\n syscall\n"                                  \
    "mov $1, %%eax\n mov $1, %%edi\n mov %[msg], %%rsi\n"          \
    "mov %[len], %%rdx\n syscall\n"                                \
    "movb $1, (%[page])\n"                                         \
    "mov $39, %%eax\n syscall\n"

#define CLOBBERS                                                                                  \
    "rax", "rcx", "rdx", "rsi", "rdi", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", \
        "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",     \
        "xmm15"

static char *fresh_page(void) {
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { puts("bad mmap"); exit(1); }
    return p;
}

static volatile double handler_result;

/* Computes in the FP registers, and leaves them changed, as handlers do. */
static void on_usr1(int sig) {
    volatile double x = sig;
    for (int i = 0; i < 8; i++) x = x * 1.25 + 0.5;
    handler_result = x;
    __asm__ volatile("pxor %%xmm0, %%xmm0\n pcmpeqb %%xmm7, %%xmm7\n pcmpeqb %%xmm15, %%xmm15\n"
                     "ldmxcsr %0\n" : : "m"((uint32_t){0x3f80}) : "xmm0", "xmm7", "xmm15");
}

int main(void) {
    static const char m1[] = "syscall from xmm test\n";
    static const char m2[] = "syscall from ymm test\n";

    fill();
    char *page = fresh_page();
    __asm__ volatile(ALL(LOADX) BODY ALL(STOREX)
                     :
                     : [in] "r"(in), [out] "r"(out), [msg] "r"(m1), [len] "r"(sizeof m1 - 1),
                       [page] "r"(page)
                     : CLOBBERS);
    int ok = 1;
    for (int r = 0; r < 16; r++)
        if (memcmp(in[r], out[r], 16) != 0) { printf("bad xmm%d\n", r); ok = 0; }
    if (ok) puts("ok xmm0-15 preserved");

    /* MXCSR: round toward zero, masked exceptions. */
    uint32_t mx = 0x7f80, mx_after = 0, mx_orig;
    __asm__ volatile("stmxcsr %0" : "=m"(mx_orig));
    page = fresh_page();
    __asm__ volatile("ldmxcsr %[mx]\n" BODY "stmxcsr %[after]\n"
                     : [after] "=m"(mx_after)
                     : [mx] "m"(mx), [msg] "r"(m1), [len] "r"(sizeof m1 - 1), [page] "r"(page)
                     : "rax", "rcx", "rdx", "rsi", "rdi", "r11", "memory");
    __asm__ volatile("ldmxcsr %0" : : "m"(mx_orig));
    if ((mx_after & 0xffc0) == (mx & 0xffc0)) puts("ok mxcsr preserved");
    else printf("bad mxcsr %#x\n", mx_after);

    /* x87 control word */
    uint16_t cw = 0x0f7f, cw_after = 0, cw_orig;
    __asm__ volatile("fnstcw %0" : "=m"(cw_orig));
    __asm__ volatile("fldcw %[cw]\n mov $110, %%eax\n syscall\n fnstcw %[after]\n"
                     : [after] "=m"(cw_after)
                     : [cw] "m"(cw)
                     : "rax", "rcx", "r11", "memory");
    __asm__ volatile("fldcw %0" : : "m"(cw_orig));
    if (cw_after == cw) puts("ok x87 control word preserved");
    else printf("bad x87 cw %#x\n", cw_after);

    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx")) {
        fill();
        page = fresh_page();
        __asm__ volatile(ALL(LOADY) BODY ALL(STOREY) "vzeroupper\n"
                         :
                         : [in] "r"(in), [out] "r"(out), [msg] "r"(m2), [len] "r"(sizeof m2 - 1),
                           [page] "r"(page)
                         : CLOBBERS);
        ok = 1;
        for (int r = 0; r < 16; r++)
            if (memcmp(in[r], out[r], 32) != 0) { printf("bad ymm%d\n", r); ok = 0; }
        if (ok) puts("ok ymm0-15 preserved");
    } else {
        /* Keep the output identical on machines without AVX. */
        write(1, m2, sizeof m2 - 1);
        puts("ok ymm0-15 preserved");
    }
    /* A handler runs between load and store (kill(getpid(), SIGUSR1) is delivered as the
     * syscall returns) and changes xmm and MXCSR: rt_sigreturn brings them all back. */
    signal(SIGUSR1, on_usr1);
    fill();
    long pid = getpid();
    uint32_t mx_sig = 0x7f80, mx_sig_after = 0;
    __asm__ volatile("stmxcsr %0" : "=m"(mx_orig));
    __asm__ volatile("ldmxcsr %[mx]\n" ALL(LOADX) "mov $62, %%eax\n mov %[pid], %%rdi\n mov $10, %%esi\n syscall\n"
                     ALL(STOREX) "stmxcsr %[after]\n"
                     : [after] "=m"(mx_sig_after)
                     : [in] "r"(in), [out] "r"(out), [pid] "r"(pid), [mx] "m"(mx_sig)
                     : CLOBBERS);
    __asm__ volatile("ldmxcsr %0" : : "m"(mx_orig));
    ok = 1;
    for (int r = 0; r < 16; r++)
        if (memcmp(in[r], out[r], 16) != 0) { printf("bad xmm%d after a signal handler\n", r); ok = 0; }
    if (ok) puts("ok xmm0-15 preserved across a signal handler");
    if ((mx_sig_after & 0xffc0) == (mx_sig & 0xffc0)) puts("ok mxcsr preserved across a signal handler");
    else printf("bad mxcsr %#x after a signal handler\n", mx_sig_after);
    printf("handler ran: %d\n", handler_result > 0);

    /* Floating point still computes correctly after all that. */
    volatile double a = 1.5, b = 2.25;
    if (a * b == 3.375) puts("ok fp arithmetic");
    else puts("bad fp arithmetic");
    return 0;
}
