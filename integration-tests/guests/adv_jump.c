/* Adversarial guest: jumps into every `syscall` instruction of the stub's code page with
 * chosen registers (mmap/read of the physical-memory fd, mprotect of the request pages,
 * futex sleeps, ptrace, ...), one forked child per attempt. Each attempt must end with the
 * child killed or failing; no attempt may reach host resources ("LEAK"), and the parent and
 * the kernel carry on ("done"). The stub layout is hard-coded from runner/build.rs: its code
 * page is at 0x7f0000001000, its data at 0x7f0000010000 (read-only request pages +0x1000). */
#include "common.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#define STUB_TEXT 0x7f0000001000UL
#define STUB_DATA 0x7f0000010000UL
#define STUB_REQ (STUB_DATA + 0x1000)
#define PROBE 0x10000000UL

static sigjmp_buf env;
static void on_fault(int s) { siglongjmp(env, s); }

static void catch_faults(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_NODEFER;
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
}

/* Whether `addr` can be read (a fault lands in on_fault). */
static int readable(unsigned long addr, unsigned char *out) {
    catch_faults();
    if (sigsetjmp(env, 1)) return 0;
    *out = *(volatile unsigned char *)addr;
    return 1;
}

static int writable(unsigned long addr) {
    catch_faults();
    if (sigsetjmp(env, 1)) return 0;
    *(volatile unsigned char *)addr = *(volatile unsigned char *)addr;
    return 1;
}

static const char *outcome(pid_t pid, int ms, int *killed) {
    static char buf[64];
    int st;
    for (int i = 0; i < ms; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            if (WIFEXITED(st)) snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(st));
            else { snprintf(buf, sizeof buf, "signal %d", WTERMSIG(st)); (*killed)++; }
            return buf;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return "timeout";
}

static unsigned char buf[64] __attribute__((aligned(64)));

/* Jumps to `site` with the syscall registers set; does not return (a fault longjmps). */
static void __attribute__((noinline)) jump(unsigned long site, long nr, const long *a) {
    register long r10 __asm__("r10") = a[3];
    register long r8 __asm__("r8") = a[4];
    register long r9 __asm__("r9") = a[5];
    __asm__ volatile("jmp *%%rbx" ::"b"(site), "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]),
                     "r"(r10), "r"(r8), "r"(r9)
                     : "memory", "rcx", "r11");
    __builtin_unreachable();
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    unsigned char c;
    if (!readable(STUB_TEXT, &c)) {
        puts("no stub page (not running under uml)");
        puts("done");
        return 0;
    }
    unsigned long sites[64];
    int n = 0;
    for (unsigned long p = STUB_TEXT; p < STUB_TEXT + 4095 && n < 64; p++)
        if (((unsigned char *)p)[0] == 0x0f && ((unsigned char *)p)[1] == 0x05) sites[n++] = p;
    printf("syscall sites: %d\n", n);
    struct {
        const char *what;
        long nr;
        long a[6];
    } tries[] = {
        {"mmap phys fd 3", SYS_mmap, {PROBE, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, 3, 0}},
        {"mmap fd 4", SYS_mmap, {PROBE, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, 4, 0}},
        {"mmap anon at probe", SYS_mmap, {PROBE, 4096, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0}},
        {"read phys fd 3", SYS_read, {3, (long)buf, sizeof buf, 0, 0, 0}},
        {"pread phys fd 3", SYS_pread64, {3, (long)buf, sizeof buf, 4096, 0, 0}},
        {"mprotect request pages", SYS_mprotect, {STUB_REQ, 0x2000, PROT_READ | PROT_WRITE, 0, 0, 0}},
        {"munmap stub data", SYS_munmap, {STUB_DATA, 0x20000, 0, 0, 0, 0}},
        {"futex wait on STATE", SYS_futex, {STUB_REQ, 0, 0, 0, 0, 0}},
        {"ptrace traceme", SYS_ptrace, {0, 0, 0, 0, 0, 0}},
        {"setitimer off", SYS_setitimer, {ITIMER_VIRTUAL, (long)buf, 0, 0, 0, 0}},
        {"sigprocmask block all", SYS_rt_sigprocmask, {SIG_BLOCK, (long)buf, 0, 8, 0, 0}},
    };
    int killed = 0, total = 0, leaks = 0;
    for (unsigned t = 0; t < sizeof tries / sizeof *tries; t++) {
        for (int s = 0; s < n; s++) {
            memset(buf, 0xff, sizeof buf);
            if (tries[t].nr == SYS_setitimer) memset(buf, 0, sizeof buf);
            pid_t pid = fork();
            if (pid == 0) {
                memset(buf, 0, sizeof buf);
                if (tries[t].nr == SYS_rt_sigprocmask) memset(buf, 0xff, sizeof buf);
                long args[6];
                memcpy(args, tries[t].a, sizeof args);
                unsigned char b0;
                int have_req = readable(STUB_REQ, &b0);
                catch_faults();
                if (sigsetjmp(env, 1) == 0) {
                    /* Our own STATE, read after our last syscall: the wait really sleeps. */
                    if (tries[t].nr == SYS_futex && have_req) args[2] = *(volatile int *)STUB_REQ;
                    jump(sites[s], tries[t].nr, args);
                }
                /* Back in our code after a fault: look for effects. */
                unsigned char v;
                int bad = 0;
                if (readable(PROBE, &v) && tries[t].nr != SYS_mmap) bad = 1;
                if (readable(PROBE, &v) && tries[t].a[4] >= 3) bad = 1;
                for (unsigned i = 0; i < sizeof buf; i++)
                    if (tries[t].nr != SYS_rt_sigprocmask && buf[i]) bad = 1;
                if (writable(STUB_REQ)) bad = 1;
                if (bad) printf("LEAK %s at site %d\n", tries[t].what, s);
                _exit(bad ? 99 : 0);
            }
            const char *o = outcome(pid, 3000, &killed);
            total++;
            if (!strcmp(o, "exit 99")) leaks++;
            printf("%s @%lx: %s\n", tries[t].what, sites[s] - STUB_TEXT, o);
        }
    }
    printf("attempts %d, children killed %d, leaks %d\n", total, killed, leaks);
    /* The kernel still works for us. */
    printf("getpid ok: %d\n", getpid() > 0);
    puts("done");
    return leaks != 0;
}
