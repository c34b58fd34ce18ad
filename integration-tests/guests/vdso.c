/* The vDSO: found through AT_SYSINFO_EHDR, its exports looked up by name and version as
 * glibc does, its clocks checked against the raw syscalls, monotonic over long loops, its
 * getcpu, clock_getres and fallbacks. Prints ok/bad lines only.
 *   vdso             all checks
 *   vdso loop N      sleeps 20 ms, then N calls each of clock_gettime, gettimeofday and
 *                    time through glibc (which uses the vDSO), and prints "done" */
#include "common.h"
#include <elf.h>
#include <sched.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#ifndef CLOCK_TAI
#define CLOCK_TAI 11
#endif

typedef long (*gettime_fn)(clockid_t, struct timespec *);
typedef long (*gettimeofday_fn)(struct timeval *, struct timezone *);
typedef long (*time_fn)(time_t *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);
typedef long (*getres_fn)(clockid_t, struct timespec *);

/* The vDSO's dynamic symbol table, read as a dynamic loader would. */
static struct {
    unsigned long bias;
    const Elf64_Sym *sym;
    const char *str;
    unsigned nsyms;
    const Elf64_Half *versym;
    const Elf64_Verdef *verdef;
} v;

static int vdso_parse(const Elf64_Ehdr *eh) {
    if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_type != ET_DYN) return 0;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
    const Elf64_Dyn *dyn = NULL;
    int have_load = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && !have_load) {
            v.bias = (unsigned long)eh + ph[i].p_offset - ph[i].p_vaddr;
            have_load = 1;
        } else if (ph[i].p_type == PT_DYNAMIC) {
            dyn = (const Elf64_Dyn *)((const char *)eh + ph[i].p_offset);
        }
    }
    if (!have_load || !dyn) return 0;
    const Elf32_Word *hash = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        unsigned long at = v.bias + dyn->d_un.d_ptr;
        switch (dyn->d_tag) {
        case DT_SYMTAB: v.sym = (const Elf64_Sym *)at; break;
        case DT_STRTAB: v.str = (const char *)at; break;
        case DT_HASH: hash = (const Elf32_Word *)at; break;
        case DT_VERSYM: v.versym = (const Elf64_Half *)at; break;
        case DT_VERDEF: v.verdef = (const Elf64_Verdef *)at; break;
        }
    }
    if (!v.sym || !v.str || !hash) return 0;
    v.nsyms = hash[1]; /* nchain: one per symbol */
    return 1;
}

/* The name of version index `ndx`, or NULL. */
static const char *version_name(unsigned ndx) {
    const Elf64_Verdef *d = v.verdef;
    while (d) {
        if (d->vd_ndx == ndx) {
            const Elf64_Verdaux *a = (const Elf64_Verdaux *)((const char *)d + d->vd_aux);
            return v.str + a->vda_name;
        }
        if (!d->vd_next) break;
        d = (const Elf64_Verdef *)((const char *)d + d->vd_next);
    }
    return NULL;
}

static void *vdso_sym(const char *name, const char *version) {
    for (unsigned i = 0; i < v.nsyms; i++) {
        const Elf64_Sym *s = &v.sym[i];
        int type = ELF64_ST_TYPE(s->st_info), bind = ELF64_ST_BIND(s->st_info);
        if (type != STT_FUNC || (bind != STB_GLOBAL && bind != STB_WEAK) || s->st_shndx == SHN_UNDEF)
            continue;
        if (strcmp(v.str + s->st_name, name) != 0) continue;
        if (v.versym) {
            const char *ver = version_name(v.versym[i] & 0x7fff);
            if (!ver || strcmp(ver, version) != 0) continue;
        }
        return (void *)(v.bias + s->st_value);
    }
    return NULL;
}

static long long ns(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

static long long sys_ns(clockid_t c) {
    struct timespec t;
    if (syscall(SYS_clock_gettime, c, &t) != 0) return -1;
    return ns(&t);
}

static gettime_fn vgettime;

static long long vdso_ns(clockid_t c) {
    struct timespec t;
    if (vgettime(c, &t) != 0) return -1;
    return ns(&t);
}

/* Within 100 ms: room for a trap on a loaded machine, far below any real disagreement. */
#define BOUND 100000000LL

static void loop(long n) {
    struct timespec req = {0, 20 * 1000 * 1000}, t;
    struct timeval tv;
    nanosleep(&req, NULL);
    for (long i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        gettimeofday(&tv, NULL);
        time(NULL);
    }
    puts("done");
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "loop") == 0) {
        loop(atol(argv[2]));
        return 0;
    }
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
    CHECK("AT_SYSINFO_EHDR is an ELF shared object", vdso_parse(eh));
    if (!v.sym) return 1;
    vgettime = (gettime_fn)vdso_sym("__vdso_clock_gettime", "LINUX_2.6");
    gettimeofday_fn vgtod = (gettimeofday_fn)vdso_sym("__vdso_gettimeofday", "LINUX_2.6");
    time_fn vtime = (time_fn)vdso_sym("__vdso_time", "LINUX_2.6");
    getcpu_fn vgetcpu = (getcpu_fn)vdso_sym("__vdso_getcpu", "LINUX_2.6");
    getres_fn vgetres = (getres_fn)vdso_sym("__vdso_clock_getres", "LINUX_2.6");
    CHECK("exports __vdso_clock_gettime@LINUX_2.6", vgettime);
    CHECK("exports __vdso_gettimeofday@LINUX_2.6", vgtod);
    CHECK("exports __vdso_time@LINUX_2.6", vtime);
    CHECK("exports __vdso_getcpu@LINUX_2.6", vgetcpu);
    CHECK("exports __vdso_clock_getres@LINUX_2.6", vgetres);
    CHECK("no __vdso_clock_gettime@LINUX_9.9", !vdso_sym("__vdso_clock_gettime", "LINUX_9.9"));
    if (!vgettime || !vgtod || !vtime || !vgetcpu || !vgetres) return 1;

    /* Each clock read through the vDSO, the raw syscall, the vDSO again: in order. */
    static const struct { clockid_t id; const char *name; } clocks[] = {
        {CLOCK_REALTIME, "REALTIME"}, {CLOCK_MONOTONIC, "MONOTONIC"},
        {CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"}, {CLOCK_BOOTTIME, "BOOTTIME"},
        {CLOCK_TAI, "TAI"},
    };
    char what[128];
    for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        clockid_t c = clocks[i].id;
        long long a = vdso_ns(c), s = sys_ns(c), b = vdso_ns(c);
        snprintf(what, sizeof what, "%s: vdso <= syscall <= vdso, within 100 ms", clocks[i].name);
        CHECK(what, a > 0 && a <= s && s <= b && b - a < BOUND);
        struct timespec g;
        long long a2 = vdso_ns(c);
        clock_gettime(c, &g);
        long long b2 = vdso_ns(c);
        snprintf(what, sizeof what, "%s: glibc clock_gettime agrees with the vdso", clocks[i].name);
        CHECK(what, a2 <= ns(&g) && ns(&g) <= b2);
    }
    long long tai = vdso_ns(CLOCK_TAI), rt = vdso_ns(CLOCK_REALTIME);
    CHECK("TAI - REALTIME is whole seconds", (tai - rt + 1000000) % 1000000000LL < 2000000);
    static const struct { clockid_t coarse, fine; const char *name; } coarse[] = {
        {CLOCK_REALTIME_COARSE, CLOCK_REALTIME, "REALTIME_COARSE"},
        {CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC, "MONOTONIC_COARSE"},
    };
    for (int i = 0; i < 2; i++) {
        long long c1 = vdso_ns(coarse[i].coarse), f = vdso_ns(coarse[i].fine);
        long long s = sys_ns(coarse[i].coarse), c2 = vdso_ns(coarse[i].coarse);
        snprintf(what, sizeof what, "%s: at most 100 ms behind the fine clock", coarse[i].name);
        CHECK(what, c1 > 0 && c1 <= f + 1000 && f - c1 < BOUND);
        snprintf(what, sizeof what, "%s: vdso <= syscall <= vdso", coarse[i].name);
        CHECK(what, c1 <= s && s <= c2);
    }

    /* gettimeofday and time against CLOCK_REALTIME and their syscalls. */
    struct timeval tv, stv;
    struct timezone tz = {-1, -1};
    long long r1 = vdso_ns(CLOCK_REALTIME);
    long g = vgtod(&tv, &tz);
    long long r2 = vdso_ns(CLOCK_REALTIME);
    long long tv_us = tv.tv_sec * 1000000LL + tv.tv_usec;
    CHECK("gettimeofday between two REALTIME reads", g == 0 && r1 / 1000 <= tv_us && tv_us <= r2 / 1000);
    CHECK("gettimeofday usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK("gettimeofday fills the time zone", tz.tz_minuteswest != -1 && tz.tz_dsttime != -1);
    CHECK("gettimeofday with NULLs", vgtod(NULL, NULL) == 0);
    syscall(SYS_gettimeofday, &stv, NULL);
    CHECK("gettimeofday: vdso <= syscall", tv_us <= stv.tv_sec * 1000000LL + stv.tv_usec);
    time_t stored = 0;
    long t = vtime(&stored);
    long st = syscall(SYS_time, NULL);
    CHECK("time stores what it returns", t == stored);
    CHECK("time: vdso <= syscall, within 1 s", t <= st && st - t <= 1);
    CHECK("time(NULL)", vtime(NULL) >= t);
    CHECK("time within 1 s of gettimeofday", labs(t - tv.tv_sec) <= 1);

    /* clock_getres: the vDSO answers as the syscall does, for every id (valid or not). */
    int res_same = 1;
    for (int c = -1; c <= 12; c++) {
        struct timespec a = {-1, -1}, b = {-1, -1};
        long ra = vgetres(c, &a);
        long rb = syscall(SYS_clock_getres, c, &b);
        if (rb != 0) rb = -errno;
        if (ra != rb || (ra == 0 && ns(&a) != ns(&b))) res_same = 0;
    }
    CHECK("clock_getres agrees with the syscall for ids -1..12", res_same);
    CHECK("clock_getres with NULL", vgetres(CLOCK_MONOTONIC, NULL) == 0);

    /* Clocks the vDSO does not serve: the syscall, made from the vDSO. */
    struct timespec cpu;
    CHECK("PROCESS_CPUTIME_ID through the vdso", vgettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0 && cpu.tv_sec >= 0);
    CHECK("THREAD_CPUTIME_ID through the vdso", vgettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0 && cpu.tv_sec >= 0);
    CHECK("invalid clock through the vdso is -EINVAL", vgettime(12345, &cpu) == -EINVAL);

    /* getcpu. */
    unsigned cpunum = 9999, node = 9999;
    CHECK("getcpu", vgetcpu(&cpunum, &node, NULL) == 0 && cpunum < 4096 && node < 1024);
    CHECK("getcpu with NULLs", vgetcpu(NULL, NULL, NULL) == 0);
    CHECK("sched_getcpu", sched_getcpu() >= 0);

    /* Long loops never go back. */
    static const clockid_t mono[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
                                     CLOCK_MONOTONIC_COARSE, CLOCK_REALTIME};
    for (unsigned i = 0; i < sizeof mono / sizeof mono[0]; i++) {
        struct timespec p, q;
        int ok = clock_gettime(mono[i], &p) == 0;
        for (int k = 0; k < 300000 && ok; k++) {
            clock_gettime(mono[i], &q);
            if (ns(&q) < ns(&p) || q.tv_nsec < 0 || q.tv_nsec >= 1000000000L) ok = 0;
            p = q;
        }
        snprintf(what, sizeof what, "clock %d non-decreasing over 300000 reads", mono[i]);
        CHECK(what, ok);
    }
    struct timeval p, q;
    int ok = 1;
    gettimeofday(&p, NULL);
    time_t tp = time(NULL);
    for (int k = 0; k < 300000 && ok; k++) {
        gettimeofday(&q, NULL);
        time_t tq = time(NULL);
        if (q.tv_sec * 1000000LL + q.tv_usec < p.tv_sec * 1000000LL + p.tv_usec || tq < tp) ok = 0;
        p = q;
        tp = tq;
    }
    CHECK("gettimeofday and time non-decreasing over 300000 reads", ok);

    /* A forked child has the vDSO too, with the same time. */
    long long before = vdso_ns(CLOCK_MONOTONIC);
    pid_t pid = fork();
    if (pid == 0) {
        long long now = vdso_ns(CLOCK_MONOTONIC);
        _exit(now >= before && now - before < BOUND && getauxval(AT_SYSINFO_EHDR) == (unsigned long)eh ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK("a forked child reads the clock through the vdso", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* The vDSO's code is not writable. */
    pid = fork();
    if (pid == 0) {
        no_core();
        *(volatile char *)eh = 0;
        _exit(0);
    }
    waitpid(pid, &status, 0);
    CHECK("writing the vdso is SIGSEGV", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    return 0;
}
