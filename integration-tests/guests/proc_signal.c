/* Signals: SA_SIGINFO (si_code, si_pid, si_addr), faults (SEGV/BUS/FPE/ILL) with siglongjmp
 * and with ucontext edits, nesting, SA_NODEFER, SA_RESETHAND, sigaltstack, masks and pending
 * sets, queued real-time signals, rt_sigqueueinfo, sigtimedwait, sigsuspend. */
#include "common.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static void set_handler(int sig, void (*fn)(int, siginfo_t *, void *), int flags,
                        const sigset_t *mask) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    if (mask) sa.sa_mask = *mask;
    else sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL)) printf("bad sigaction %d: %s\n", sig, ename(errno));
}

static const char *code_name(int sig, int code) {
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_TIMER: return "SI_TIMER";
    }
    if (sig == SIGSEGV) {
        if (code == SEGV_MAPERR) return "SEGV_MAPERR";
        if (code == SEGV_ACCERR) return "SEGV_ACCERR";
    }
    if (sig == SIGBUS) {
        if (code == BUS_ADRERR) return "BUS_ADRERR";
        if (code == BUS_ADRALN) return "BUS_ADRALN";
        if (code == BUS_OBJERR) return "BUS_OBJERR";
    }
    if (sig == SIGFPE) {
        if (code == FPE_INTDIV) return "FPE_INTDIV";
        if (code == FPE_INTOVF) return "FPE_INTOVF";
        if (code == FPE_FLTDIV) return "FPE_FLTDIV";
    }
    if (sig == SIGILL) {
        if (code == ILL_ILLOPN) return "ILL_ILLOPN";
        if (code == ILL_ILLOPC) return "ILL_ILLOPC";
    }
    if (sig == SIGTRAP) {
        if (code == TRAP_BRKPT) return "TRAP_BRKPT";
    }
    static char buf[32];
    snprintf(buf, sizeof buf, "code%d", code);
    return buf;
}

/* ---- basic SA_SIGINFO ---- */
static volatile sig_atomic_t got_sig, got_code, got_pid_ok, got_uid_ok, got_val;
static void info_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_pid_ok = si->si_pid == getpid();
    got_uid_ok = si->si_uid == getuid();
    got_val = si->si_value.sival_int;
}

static void siginfo_basic(void) {
    set_handler(SIGUSR1, info_handler, 0, NULL);
    got_sig = 0;
    kill(getpid(), SIGUSR1);
    printf("kill self: sig=%s code=%s pid-match=%d uid-match=%d\n", sigabbrev_np(got_sig),
           code_name(got_sig, got_code), got_pid_ok, got_uid_ok);
    got_sig = 0;
    raise(SIGUSR1);
    printf("raise: sig=%s code=%s pid-match=%d\n", sigabbrev_np(got_sig),
           code_name(got_sig, got_code), got_pid_ok);
    got_sig = 0;
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
    printf("tgkill: sig=%s code=%s\n", sigabbrev_np(got_sig), code_name(got_sig, got_code));
    got_sig = 0;
    syscall(SYS_tkill, gettid(), SIGUSR1);
    printf("tkill: sig=%s code=%s\n", sigabbrev_np(got_sig), code_name(got_sig, got_code));
    got_sig = 0;
    union sigval v = {.sival_int = 1234};
    sigqueue(getpid(), SIGUSR1, v);
    printf("sigqueue: sig=%s code=%s value=%d\n", sigabbrev_np(got_sig),
           code_name(got_sig, got_code), got_val);
    /* raw rt_sigqueueinfo with a caller-chosen negative si_code */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 4321;
    got_sig = 0;
    long r = syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si);
    printf("rt_sigqueueinfo: r=%ld sig=%s value=%d\n", r, sigabbrev_np(got_sig), got_val);
    si.si_code = SI_KERNEL; /* may not impersonate the kernel */
    errno = 0;
    r = syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si);
    printf("rt_sigqueueinfo SI_KERNEL to self: r=%ld %s\n", r, ename(errno));
    /* from a child: si_pid is the child's pid */
    got_sig = 0;
    sigset_t b, old;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    sigprocmask(SIG_BLOCK, &b, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) { kill(parent, SIGUSR1); _exit(0); }
    waitpid(pid, NULL, 0);
    siginfo_t wi;
    int s = sigwaitinfo(&b, &wi);
    printf("from child: sig=%s code=%s si_pid is child=%d\n", sigabbrev_np(s),
           code_name(s, wi.si_code), wi.si_pid == pid);
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* invalid signal numbers and uncatchable signals */
    EXPECT_ERR("kill sig 65", kill(getpid(), 65), EINVAL);
    struct sigaction sa = {0};
    sa.sa_handler = SIG_IGN;
    EXPECT_ERR("sigaction SIGKILL", sigaction(SIGKILL, &sa, NULL), EINVAL);
    EXPECT_ERR("sigaction SIGSTOP", sigaction(SIGSTOP, &sa, NULL), EINVAL);
    EXPECT_ERR("sigaction sig 0", sigaction(0, &sa, NULL), EINVAL);
    printf("kill sig 0 to self: %d\n", kill(getpid(), 0));
}

/* ---- faults ---- */
static sigjmp_buf jb;
static volatile void *fault_addr;
static volatile int fault_sig, fault_code;
static void fault_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    fault_sig = sig;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    siglongjmp(jb, 1);
}

static void report_fault(const char *what, void *expect_addr) {
    printf("%s: %s %s addr-match=%d\n", what, sigabbrev_np(fault_sig),
           code_name(fault_sig, fault_code), expect_addr ? fault_addr == expect_addr : -1);
}

static void faults(void) {
    set_handler(SIGSEGV, fault_handler, 0, NULL);
    set_handler(SIGBUS, fault_handler, 0, NULL);
    set_handler(SIGFPE, fault_handler, 0, NULL);
    set_handler(SIGILL, fault_handler, 0, NULL);
    set_handler(SIGTRAP, fault_handler, 0, NULL);

    char *none = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(jb, 1) == 0) {
        (void)*(volatile char *)(none + 123);
        puts("bad: no fault reading PROT_NONE");
    } else report_fault("read PROT_NONE", none + 123);

    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(jb, 1) == 0) {
        *(volatile char *)(ro + 4000) = 1;
        puts("bad: no fault writing read-only");
    } else report_fault("write PROT_READ", ro + 4000);

    munmap(none, 8192);
    if (sigsetjmp(jb, 1) == 0) {
        *(volatile char *)(none + 5000) = 1;
        puts("bad: no fault writing unmapped");
    } else report_fault("write unmapped", none + 5000);

    if (sigsetjmp(jb, 1) == 0) {
        (void)*(volatile int *)16;
        puts("bad: no fault at NULL+16");
    } else report_fault("read NULL+16", (void *)16);

    /* the handler keeps working after siglongjmp (mask restored by sigsetjmp(.., 1)) */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("SIGSEGV blocked after siglongjmp: %d\n", sigismember(&cur, SIGSEGV));

    volatile int a = 7, z = 0;
    if (sigsetjmp(jb, 1) == 0) {
        a = a / z;
        puts("bad: no SIGFPE");
    } else report_fault("integer divide by zero", NULL);
    volatile long long mn = INT64_MIN, m1 = -1;
    if (sigsetjmp(jb, 1) == 0) {
        mn = mn / m1;
        puts("bad: no SIGFPE for INT64_MIN/-1");
    } else report_fault("INT64_MIN / -1", NULL);

    if (sigsetjmp(jb, 1) == 0) {
        __asm__ volatile("ud2");
        puts("bad: no SIGILL");
    } else report_fault("ud2", NULL);

    if (sigsetjmp(jb, 1) == 0) {
        __asm__ volatile("int3");
        puts("bad: no SIGTRAP");
    } else printf("int3: %s\n", sigabbrev_np(fault_sig));

    /* SIGBUS: a file mapping beyond the end of the file */
    char path[] = "/tmp/proc_signal_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        if (write(fd, "x", 1) != 1) puts("bad write");
        char *m = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) printf("bad mmap file: %s\n", ename(errno));
        else if (sigsetjmp(jb, 1) == 0) {
            (void)*(volatile char *)(m + 4096 + 8);
            puts("bad: no SIGBUS");
        } else report_fault("read past EOF of file mapping", m + 4096 + 8);
        close(fd);
        unlink(path);
    }
}

/* ucontext: the handler skips the faulting instruction by editing RIP */
static void skip_ud2(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    ucontext_t *uc = ucv;
    if ((void *)uc->uc_mcontext.gregs[REG_RIP] == si->si_addr)
        uc->uc_mcontext.gregs[REG_RIP] += 2;
    else
        uc->uc_mcontext.gregs[REG_RIP] += 2, fault_code = -99;
}
static void set_rax(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    uc->uc_mcontext.gregs[REG_RAX] = 0x1234;
}
static void ucontext_edits(void) {
    fault_code = 0;
    set_handler(SIGILL, skip_ud2, 0, NULL);
    __asm__ volatile("ud2");
    printf("ud2 skipped by editing RIP: ok=%d\n", fault_code == 0);
    set_handler(SIGUSR2, set_rax, 0, NULL);
    /* raise SIGUSR2 with a raw syscall; the handler rewrites the syscall's return value */
    long ret;
    long nr = SYS_kill, pid = getpid(), sig = SIGUSR2;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(pid), "S"(sig) : "rcx", "r11", "memory");
    printf("return value after handler edited RAX: %#lx\n", ret);
    signal(SIGILL, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

/* ---- nesting and flags ---- */
static char trace[256];
static volatile int tlen;
static void tr(const char *s) {
    while (*s && tlen < 250) trace[tlen++] = *s++;
    trace[tlen] = 0;
}
static void h_usr1_nest(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)si; (void)uc;
    tr("[1");
    raise(SIGUSR2);
    tr("1]");
}
static void h_usr2_nest(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)si; (void)uc;
    tr("[2 2]");
}
static volatile int depth;
static void h_self(int sig, siginfo_t *si, void *uc) {
    (void)si; (void)uc;
    char b[16];
    snprintf(b, sizeof b, "[%d", ++depth);
    tr(b);
    if (depth == 1) raise(sig);
    tr("]");
}
static volatile int reset_count;
static void h_reset(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)si; (void)uc;
    reset_count++;
}

static void nesting(void) {
    set_handler(SIGUSR1, h_usr1_nest, 0, NULL);
    set_handler(SIGUSR2, h_usr2_nest, 0, NULL);
    tlen = 0;
    raise(SIGUSR1);
    printf("nested (USR2 not masked): %s\n", trace);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    set_handler(SIGUSR1, h_usr1_nest, 0, &m);
    tlen = 0;
    raise(SIGUSR1);
    printf("USR2 in sa_mask: %s\n", trace);

    set_handler(SIGUSR1, h_self, 0, NULL);
    tlen = 0;
    depth = 0;
    raise(SIGUSR1);
    printf("self-raise, default: %s\n", trace);
    set_handler(SIGUSR1, h_self, SA_NODEFER, NULL);
    tlen = 0;
    depth = 0;
    raise(SIGUSR1);
    printf("self-raise, SA_NODEFER: %s\n", trace);

    /* the mask inside a handler: own signal + sa_mask; restored afterwards */
    set_handler(SIGUSR1, h_reset, SA_RESETHAND, NULL);
    reset_count = 0;
    raise(SIGUSR1);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    printf("SA_RESETHAND: ran %d, now default=%d, flags kept SA_SIGINFO=%d\n", reset_count,
           sa.sa_handler == SIG_DFL, !!(sa.sa_flags & SA_SIGINFO));
    pid_t pid = fork();
    if (pid == 0) {
        set_handler(SIGUSR1, h_reset, SA_RESETHAND, NULL);
        raise(SIGUSR1);
        raise(SIGUSR1); /* default action now: terminate */
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("second signal after SA_RESETHAND: signaled=%d %s\n", WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

/* ---- sigaltstack ---- */
static char *alt_base;
static size_t alt_size;
static volatile int on_alt, ss_flags_in_handler;
static void h_alt(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)si; (void)uc;
    char local;
    on_alt = &local >= alt_base && &local < alt_base + alt_size;
    stack_t cur;
    sigaltstack(NULL, &cur);
    ss_flags_in_handler = cur.ss_flags;
}
static volatile int overflow_on_alt;
static void h_overflow(int sig, siginfo_t *si, void *uc) {
    (void)si; (void)uc;
    char local;
    overflow_on_alt = &local >= alt_base && &local < alt_base + alt_size;
    fault_sig = sig;
    siglongjmp(jb, 1);
}
static int recurse(int n) {
    volatile char pad[4096];
    pad[0] = (char)n;
    if (pad[0] == 0 && n > 0x7fffff00) return 0;
    return recurse(n + 1) + pad[0];
}

static void altstack(void) {
    alt_size = 64 * 1024;
    alt_base = malloc(alt_size);
    stack_t ss = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0};
    printf("sigaltstack set: %d\n", sigaltstack(&ss, NULL));
    stack_t old;
    sigaltstack(NULL, &old);
    printf("sigaltstack query: sp-match=%d size-match=%d flags=%d\n", old.ss_sp == alt_base,
           old.ss_size == alt_size, old.ss_flags);
    set_handler(SIGUSR1, h_alt, SA_ONSTACK, NULL);
    raise(SIGUSR1);
    printf("SA_ONSTACK handler on altstack=%d ss_flags=%s\n", on_alt,
           ss_flags_in_handler == SS_ONSTACK ? "SS_ONSTACK" : "other");
    set_handler(SIGUSR1, h_alt, 0, NULL);
    raise(SIGUSR1);
    printf("handler without SA_ONSTACK on altstack=%d ss_flags=%d\n", on_alt,
           ss_flags_in_handler);
    stack_t small = {.ss_sp = alt_base, .ss_size = 100, .ss_flags = 0};
    EXPECT_ERR("sigaltstack too small", sigaltstack(&small, NULL), ENOMEM);

    /* stack overflow: only a handler on the alternate stack can catch it */
    pid_t pid = fork();
    if (pid == 0) {
        no_core();
        set_handler(SIGSEGV, h_overflow, SA_ONSTACK, NULL);
        if (sigsetjmp(jb, 1) == 0) {
            recurse(0);
            _exit(1);
        }
        _exit(overflow_on_alt && fault_sig == SIGSEGV ? 0 : 2);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("stack overflow caught on altstack: %s\n",
           WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    sigaltstack(NULL, &old);
    printf("after SS_DISABLE flags=%s\n", old.ss_flags == SS_DISABLE ? "SS_DISABLE" : "other");
    signal(SIGUSR1, SIG_DFL);
}

/* ---- masks, pending, queueing ---- */
static char order[64];
static volatile int olen, rt_vals[8], rt_n;
static void h_order(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (sig >= SIGRTMIN) {
        if (rt_n < 8) rt_vals[rt_n++] = si->si_value.sival_int;
        order[olen++] = 'R';
    } else if (sig == SIGUSR1) order[olen++] = '1';
    else if (sig == SIGUSR2) order[olen++] = '2';
    else if (sig == SIGTERM) order[olen++] = 'T';
    order[olen] = 0;
}

static void masks(void) {
    sigset_t all;
    sigfillset(&all);
    set_handler(SIGUSR1, h_order, 0, &all);
    set_handler(SIGUSR2, h_order, 0, &all);
    set_handler(SIGTERM, h_order, 0, &all);
    set_handler(SIGRTMIN, h_order, 0, &all);
    sigset_t b, old, pend;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    sigaddset(&b, SIGUSR2);
    sigaddset(&b, SIGTERM);
    sigaddset(&b, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &b, &old);
    olen = 0;
    order[0] = 0;
    raise(SIGTERM);
    raise(SIGUSR2);
    raise(SIGUSR1);
    raise(SIGUSR1); /* standard signals do not queue */
    for (int i = 1; i <= 3; i++) {
        union sigval v = {.sival_int = i * 10};
        sigqueue(getpid(), SIGRTMIN, v); /* real-time signals queue, in order */
    }
    sigpending(&pend);
    printf("pending: USR1=%d USR2=%d TERM=%d RTMIN=%d INT=%d, delivered so far '%s'\n",
           sigismember(&pend, SIGUSR1), sigismember(&pend, SIGUSR2),
           sigismember(&pend, SIGTERM), sigismember(&pend, SIGRTMIN),
           sigismember(&pend, SIGINT), order);
    rt_n = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("after unblock: order '%s' rt values %d,%d,%d\n", order, rt_vals[0], rt_vals[1],
           rt_vals[2]);
    sigpending(&pend);
    printf("nothing pending: %d\n", sigismember(&pend, SIGUSR1) + sigismember(&pend, SIGRTMIN));

    /* SIGKILL/SIGSTOP cannot be blocked */
    sigset_t ks, got;
    sigemptyset(&ks);
    sigaddset(&ks, SIGKILL);
    sigaddset(&ks, SIGSTOP);
    sigprocmask(SIG_BLOCK, &ks, &old);
    sigprocmask(SIG_BLOCK, NULL, &got);
    printf("SIGKILL/SIGSTOP blockable: %d %d\n", sigismember(&got, SIGKILL),
           sigismember(&got, SIGSTOP));
    sigprocmask(SIG_SETMASK, &old, NULL);
    EXPECT_ERR("sigprocmask bad how", sigprocmask(99, &ks, NULL), EINVAL);

    /* ignoring a pending signal discards it */
    sigprocmask(SIG_BLOCK, &b, &old);
    raise(SIGUSR2);
    signal(SIGUSR2, SIG_IGN);
    sigpending(&pend);
    printf("pending discarded by SIG_IGN: %d\n", !sigismember(&pend, SIGUSR2));
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* sigtimedwait */
    sigset_t w;
    sigemptyset(&w);
    sigaddset(&w, SIGUSR1);
    sigprocmask(SIG_BLOCK, &w, &old);
    raise(SIGUSR1);
    siginfo_t si;
    struct timespec ts = {0, 0};
    int s = sigtimedwait(&w, &si, &ts);
    printf("sigtimedwait pending: %s code=%s\n", sigabbrev_np(s), code_name(s, si.si_code));
    ts.tv_nsec = 50 * 1000000L;
    errno = 0;
    s = sigtimedwait(&w, &si, &ts);
    printf("sigtimedwait nothing, 50 ms: %d %s\n", s, ename(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) { msleep(50); kill(parent, SIGUSR1); _exit(0); }
    ts.tv_sec = 10;
    s = sigtimedwait(&w, &si, &ts);
    printf("sigtimedwait woken by child: %s from-child=%d\n", sigabbrev_np(s), si.si_pid == pid);
    waitpid(pid, NULL, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* sigsuspend: wait with a temporary mask; the original mask comes back */
    set_handler(SIGUSR1, h_order, 0, NULL);
    sigprocmask(SIG_BLOCK, &w, &old);
    olen = 0;
    order[0] = 0;
    pid = fork();
    if (pid == 0) { msleep(50); kill(parent, SIGUSR1); _exit(0); }
    sigset_t empty;
    sigemptyset(&empty);
    errno = 0;
    int r = sigsuspend(&empty);
    sigprocmask(SIG_BLOCK, NULL, &got);
    printf("sigsuspend: %d %s handler '%s' mask restored=%d\n", r, ename(errno), order,
           sigismember(&got, SIGUSR1));
    waitpid(pid, NULL, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGRTMIN, SIG_DFL);
}

/* FP/SSE state survives a handler that uses FP registers */
static volatile double hsink;
static void h_fp(int sig) {
    (void)sig;
    double x = 1.0;
    for (int i = 0; i < 100; i++) x = x * 1.5 + 0.25;
    hsink = x;
}
static void fpstate(void) {
    signal(SIGUSR1, h_fp);
    double a = 3.25, b = 1.0 / 3.0;
    double before = a * b;
    raise(SIGUSR1);
    double after = a * b;
    printf("FP state preserved: %d\n", before == after && hsink > 1.0);
    signal(SIGUSR1, SIG_DFL);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    siginfo_basic();
    faults();
    ucontext_edits();
    nesting();
    altstack();
    masks();
    fpstate();
    puts("done");
    return 0;
}
