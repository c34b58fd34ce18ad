/* Details of memory calls: remap_file_pages (emulated by a fixed shared mapping of the
 * file's pages), mseal, memory locks (VmLck, populated pages as mincore sees them), guard
 * pages, MAP_GROWSDOWN growth, and the errnos of madvise, msync and mmap. */
#include "common.h"
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <signal.h>
#include <sys/wait.h>

#define PG 4096L

static void test_remap_file_pages(void) {
    char path[] = "/tmp/uml-remap-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    char buf[PG];
    for (int i = 0; i < 8; i++) {
        memset(buf, 'a' + i, PG);
        write(fd, buf, PG);
    }
    char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    report("remap page 0 to file page 6", remap_file_pages(m, PG, 0, 6, 0));
    report("remap pages 2-3 to file pages 4-5", remap_file_pages(m + 2 * PG, 2 * PG, 0, 4, 0));
    printf("  pages read %c %c %c %c\n", m[0], m[PG], m[2 * PG], m[3 * PG]);
    m[0] = 'Z';
    char c;
    pread(fd, &c, 1, 6 * PG);
    printf("  write through the remapped page reaches file page 6: %c\n", c);
    report("remap with prot", remap_file_pages(m, PG, PROT_READ, 0, 0));
    report("remap size 0", remap_file_pages(m, 0, 0, 0, 0));
    report("remap beyond the mapping", remap_file_pages(m + 3 * PG, 2 * PG, 0, 0, 0));
    report("remap unmapped", remap_file_pages((void *)0x10000, PG, 0, 0, 0));
    report("remap wrapping pgoff", remap_file_pages(m, PG, 0, -1UL, 0));
    munmap(m, 4 * PG);
    char *p = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    report("remap private mapping", remap_file_pages(p, PG, 0, 1, 0));
    munmap(p, 2 * PG);
    char *an = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("remap anonymous mapping", remap_file_pages(an, PG, 0, 1, 0));
    munmap(an, 2 * PG);
    close(fd);

    /* An attach of a removed segment: remapping drops the last attach, then fails. */
    int id = shmget(IPC_PRIVATE, PG, IPC_CREAT | 0600);
    char *s = shmat(id, NULL, 0);
    report("remap shm attach", remap_file_pages(s, PG, 0, 0, 0));
    shmctl(id, IPC_RMID, NULL);
    report("remap attach of a removed segment", remap_file_pages(s, PG, 0, 0, 0));
    report("remap it again", remap_file_pages(s, PG, 0, 0, 0));
    report("shmdt after", shmdt(s));
}

static long mseal_(void *a, size_t len, unsigned long flags) {
    return syscall(462, a, len, flags);
}

static void test_mseal(void) {
    char *m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("mseal flags", mseal_(m, PG, 1));
    report("mseal unaligned", mseal_(m + 1, PG, 0));
    report("mseal wrapping length", mseal_(m, -PG + 2, 0));
    report("mseal zero length", mseal_(m, 0, 0));
    munmap(m + 6 * PG, PG);
    report("mseal over a hole", mseal_(m + 5 * PG, 2 * PG, 0));
    report("mseal unmapped", mseal_((void *)0x10000, PG, 0));
    report("mseal pages 2-3", mseal_(m + 2 * PG, 2 * PG, 0));
    report("mseal again", mseal_(m + 2 * PG, 2 * PG, 0));
    report("mprotect sealed", mprotect(m, 4 * PG, PROT_READ));
    report("mprotect unsealed part", mprotect(m, 2 * PG, PROT_READ));
    report("munmap sealed", munmap(m + 3 * PG, PG));
    report("munmap unsealed part", munmap(m + 4 * PG, PG));
    errno = 0;
    report("mmap fixed over sealed",
           mmap(m + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
                   MAP_FAILED
               ? -1
               : 0);
    errno = 0;
    report("mremap sealed", mremap(m + 2 * PG, PG, 2 * PG, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0);
    char *dst = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = 0;
    report("mremap fixed of a range holding a seal",
           mremap(m, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED ? -1 : 0);
    report("madvise dontneed sealed writable", madvise(m + 2 * PG, PG, MADV_DONTNEED));
    m[2 * PG] = 'x';
    printf("  still there: %c\n", m[2 * PG]);
    char *r = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("mseal read-only", mseal_(r, 2 * PG, 0));
    report("madvise dontneed sealed read-only", madvise(r, PG, MADV_DONTNEED));
    report("madvise willneed sealed read-only", madvise(r, PG, MADV_WILLNEED));
    pid_t c = fork();
    if (c == 0) {
        report("child munmap sealed", munmap(m + 2 * PG, PG));
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

/* VmLck of /proc/self/status, in kB. */
static long vmlck(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmLck: %ld", &v) == 1) break;
    fclose(f);
    return v;
}

static int resident(char *a, int pages) {
    unsigned char vec[64];
    int n = 0;
    if (mincore(a, pages * PG, vec)) return -1;
    for (int i = 0; i < pages; i++) n += vec[i] & 1;
    return n;
}

static void test_mlock(void) {
    long base = vmlck();
    char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("untouched resident %d\n", resident(m, 4));
    report("mlock", mlock(m + 100, 2 * PG));
    printf("  VmLck +%ld kB, resident %d\n", vmlck() - base, resident(m, 4));
    report("mlock again", mlock(m, PG));
    printf("  VmLck +%ld kB\n", vmlck() - base);
    report("madvise dontneed locked", madvise(m, PG, MADV_DONTNEED));
    report("madvise willneed locked", madvise(m, PG, MADV_WILLNEED));
    report("munlock", munlock(m, 4 * PG));
    printf("  VmLck +%ld kB\n", vmlck() - base);
    report("mlock unmapped", mlock((void *)0x10000, PG));
    report("mlock2 bad flags", syscall(SYS_mlock2, m, PG, 2));
    report("mlock2 onfault", syscall(SYS_mlock2, m + 3 * PG, PG, 1));
    printf("  VmLck +%ld kB\n", vmlck() - base);
    munmap(m, 4 * PG);
    printf("  VmLck after munmap +%ld kB\n", vmlck() - base);
    /* Shared anonymous memory gets the touched pages only, locked on fault or not. */
    char *sh = mmap(NULL, 8 * PG, PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(sh, 0, 3 * PG);
    report("mlock2 onfault shared", syscall(SYS_mlock2, sh, 8 * PG, 1));
    printf("  VmLck +%ld kB, resident %d\n", vmlck() - base, resident(sh, 8));
    sh[6 * PG] = 1;
    printf("  touched one more: resident %d\n", resident(sh, 8));
    munmap(sh, 8 * PG);
    char *l = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED,
                   -1, 0);
    printf("MAP_LOCKED: VmLck +%ld kB, resident %d\n", vmlck() - base, resident(l, 3));
    pid_t c = fork();
    if (c == 0) {
        printf("  child VmLck +%ld kB\n", vmlck() - base);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    munmap(l, 3 * PG);
    report("mlockall bad flags", mlockall(8));
    report("mlockall onfault alone", mlockall(MCL_ONFAULT));
    report("mlockall", mlockall(MCL_CURRENT | MCL_FUTURE));
    printf("  locked some: %s\n", vmlck() > 0 ? "yes" : "no");
    char *f = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("  future mapping resident %d\n", resident(f, 2));
    report("munlockall", munlockall());
    printf("  VmLck %ld\n", vmlck());
    munmap(f, 2 * PG);

    char path[] = "/tmp/uml-msync-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    ftruncate(fd, PG);
    char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
    report("msync invalidate locked", msync(s, PG, MS_INVALIDATE));
    report("msync sync locked", msync(s, PG, MS_SYNC));
    munmap(s, PG);
    close(fd);
}

static void test_mmap_errnos(void) {
    char path[] = "/tmp/uml-mmap-XXXXXX";
    int fd = mkstemp(path);
    ftruncate(fd, PG);
    int wo = open(path, O_WRONLY);
    unlink(path);
    errno = 0;
    report("mmap write-only file", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, wo, 0) == MAP_FAILED ? -1 : 0);
    errno = 0;
    report("mmap write-only file, length 0", mmap(NULL, 0, PROT_READ, MAP_SHARED, wo, 0) == MAP_FAILED ? -1 : 0);
    errno = 0;
    report("mmap write-only file, no type", mmap(NULL, PG, PROT_READ, 0, wo, 0) == MAP_FAILED ? -1 : 0);
    errno = 0;
    report("mmap bad fd, length 0", mmap(NULL, 0, PROT_READ, MAP_SHARED, -1, 0) == MAP_FAILED ? -1 : 0);
    errno = 0;
    void *v = mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | (1 << 10), fd, 0);
    report("shared_validate unknown flag", v == MAP_FAILED ? -1 : 0);
    errno = 0;
    v = mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_POPULATE, fd, 0);
    report("shared_validate populate", v == MAP_FAILED ? -1 : 0);
    if (v != MAP_FAILED) munmap(v, PG);
    errno = 0;
    v = mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
    report("shared_validate sync", v == MAP_FAILED ? -1 : 0);
    errno = 0;
    v = mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0);
    report("shared_validate anonymous", v == MAP_FAILED ? -1 : 0);
    close(fd);
    close(wo);
}

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

/* Whether a child touching `a` (writing if `w`) dies of SIGSEGV. */
static const char *touch_in_child(volatile char *a, int w) {
    pid_t c = fork();
    if (c == 0) {
        if (w) a[0] = 'w';
        else (void)a[0];
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? "SIGSEGV" : "fine";
}

static void test_guards(void) {
    char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 'x', 4 * PG);
    report("guard install", madvise(m + PG, 2 * PG, MADV_GUARD_INSTALL));
    printf("  read guard: %s, write guard: %s, neighbour: %s\n", touch_in_child(m + PG, 0),
           touch_in_child(m + 2 * PG, 1), touch_in_child(m, 1));
    int pfd[2];
    pipe(pfd);
    errno = 0;
    report("write(2) from a guard page", write(pfd[1], m + PG, 10));
    close(pfd[0]);
    close(pfd[1]);
    report("guard dontneed keeps it", madvise(m + PG, PG, MADV_DONTNEED));
    printf("  still guarded: %s\n", touch_in_child(m + PG, 0));
    report("guard remove", madvise(m + PG, 2 * PG, MADV_GUARD_REMOVE));
    printf("  after remove: %s, reads %d, neighbour keeps %c\n", touch_in_child(m + PG, 1),
           m[PG], m[3 * PG]);
    report("guard unmapped", madvise((void *)0x10000, PG, MADV_GUARD_INSTALL));
    report("guard unaligned", madvise(m + 1, PG, MADV_GUARD_INSTALL));
    mlock(m, PG);
    report("guard locked", madvise(m, PG, MADV_GUARD_INSTALL));
    munmap(m, 4 * PG);
}

static void test_growsdown(void) {
    /* A MAP_GROWSDOWN page at the top of a free 512-page region. */
    char *r = mmap(NULL, 512 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(r, 512 * PG);
    char *top = mmap(r + 511 * PG, PG, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
    printf("growsdown mapped: %s\n", top == r + 511 * PG ? "yes" : "no");
    printf("  touch 4 pages below: %s\n", touch_in_child(top - 4 * PG, 1));
    printf("  touch 300 pages below: %s\n", touch_in_child(top - 300 * PG, 1));
    /* A mapping within the guard gap stops the growth. */
    mmap(r, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("  touch 300 pages below with a mapping 210 pages under: %s\n",
           touch_in_child(top - 300 * PG, 1));
    printf("  touch 4 pages below still: %s\n", touch_in_child(top - 4 * PG, 1));
    top[-4 * PG] = 'g';
    unsigned char vec[8];
    mincore(top - 4 * PG, 5 * PG, vec);
    printf("  grown in place: %c, mincore ok\n", top[-4 * PG]);
    munmap(r, 512 * PG);
}

/* vm.max_map_count: mmap fails with ENOMEM past 65530 mappings, and so does a munmap or
 * mprotect that would split one; unmapping a whole one makes room again. In a child, whose
 * address space is thrown away after. */
static void test_map_count(void) {
    pid_t p = fork();
    if (p == 0) {
        char *at = (char *)0x100000000UL, *first = NULL, *last = NULL;
        long n = 0;
        int err = 0;
        for (;; at += 6 * PG) {
            char *m = mmap(at, 3 * PG, PROT_NONE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (m == MAP_FAILED) {
                err = errno;
                break;
            }
            if (!first) first = m;
            last = m;
            n++;
        }
        printf("map count: stopped by %s after more than 65000: %s\n", ename(err),
               n > 65000 && n <= 65530 ? "yes" : "no");
        report("munmap splitting at the limit", munmap(first + PG, PG));
        report("mprotect splitting at the limit", mprotect(first + PG, PG, PROT_READ));
        report("mprotect of a whole mapping", mprotect(first, 3 * PG, PROT_READ));
        report("munmap of a whole mapping", munmap(last, 3 * PG));
        printf("  mmap again: %s\n",
               mmap(last, 3 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == last
                   ? "ok" : "failed");
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
}

/* A shared mapping of /dev/zero from a read-only descriptor can never become writable; a
 * private one can. */
static void test_dev_zero_maywrite(void) {
    int fd = open("/dev/zero", O_RDONLY);
    char *sh = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
    char *pr = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    report("/dev/zero shared read-only fd, mprotect write", mprotect(sh, PG, PROT_READ | PROT_WRITE));
    report("/dev/zero private read-only fd, mprotect write", mprotect(pr, PG, PROT_READ | PROT_WRITE));
    munmap(sh, PG);
    munmap(pr, PG);
    close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    test_map_count();
    test_dev_zero_maywrite();
    test_remap_file_pages();
    test_mseal();
    test_mlock();
    test_mmap_errnos();
    test_guards();
    test_growsdown();
    printf("done\n");
    return 0;
}
