/* process_vm_readv/process_vm_writev between a parent and its child (partial copies,
 * errnos, the permission check after the child drops root), kcmp on descriptors, address
 * spaces and descriptor tables, and vmsplice into and out of a pipe. */
#include "common.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define KCMP_FILE 0
#define KCMP_VM 1
#define KCMP_FILES 2

static char data[8192] __attribute__((aligned(4096)));

static long vm_readv(pid_t pid, struct iovec *l, unsigned long ln, struct iovec *r,
                     unsigned long rn, unsigned long flags) {
    return syscall(SYS_process_vm_readv, pid, l, ln, r, rn, flags);
}
static long vm_writev(pid_t pid, struct iovec *l, unsigned long ln, struct iovec *r,
                      unsigned long rn, unsigned long flags) {
    return syscall(SYS_process_vm_writev, pid, l, ln, r, rn, flags);
}
static long kcmp(pid_t a, pid_t b, int type, unsigned long x, unsigned long y) {
    return syscall(SYS_kcmp, a, b, type, x, y);
}
static void result(const char *name, long r) {
    if (r < 0) printf("%s: %s\n", name, ename(errno));
    else printf("%s: %ld\n", name, r);
}

static void process_vm(void) {
    int go[2], done[2];
    if (pipe(go) || pipe(done)) exit(1);
    char *end = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(end + 4096, 4096); /* a mapped page followed by a hole */
    pid_t child = fork();
    if (child == 0) {
        strcpy(data, "written by the child");
        memset(end, 'e', 4096);
        write(go[1], "r", 1);
        char c;
        read(done[0], &c, 1);
        printf("child sees: %s\n", data);
        fflush(stdout);
        _exit(0);
    }
    char c, buf[64] = {0}, two[2][8];
    read(go[0], &c, 1);
    struct iovec l = {buf, sizeof buf}, r = {data, 21};
    result("readv", vm_readv(child, &l, 1, &r, 1, 0));
    printf("parent read: %s\n", buf);
    /* Two local buffers from one remote range. */
    struct iovec ls[2] = {{two[0], 4}, {two[1], 4}};
    struct iovec rs = {data + 11, 8};
    result("readv scattered", vm_readv(child, ls, 2, &rs, 1, 0));
    printf("pieces: %.4s|%.4s\n", two[0], two[1]);
    /* A remote range running into the hole: the mapped part only. */
    char big[8192];
    struct iovec lb = {big, sizeof big}, rb = {end + 4000, 200};
    result("readv into a hole", vm_readv(child, &lb, 1, &rb, 1, 0));
    rb.iov_base = end + 4096;
    result("readv of the hole", vm_readv(child, &lb, 1, &rb, 1, 0));
    result("flags", vm_readv(child, &l, 1, &r, 1, 1));
    struct iovec bad_len = {buf, (size_t)-1};
    result("negative length", vm_readv(child, &bad_len, 1, &r, 1, 0));
    struct iovec bad_base = {(void *)-1, 10};
    result("bad local", vm_readv(child, &bad_base, 1, &r, 1, 0));
    result("bad local array", vm_readv(child, (void *)-1, 1, &r, 1, 0));
    result("too many", vm_readv(child, &l, 1025, &r, 1, 0));
    result("nothing local", vm_readv(-1, &l, 0, &r, 1, 0));
    result("no such pid", vm_readv(-1, &l, 1, &r, 1, 0));
    struct iovec w = {"WRITTEN", 7};
    result("writev", vm_writev(child, &w, 1, &r, 1, 0));
    write(done[1], "d", 1);
    waitpid(child, NULL, 0);
    result("reaped", vm_readv(child, &l, 1, &r, 1, 0));

    /* An unprivileged process may not read a root one. */
    pid_t parent = getpid();
    child = fork();
    if (child == 0) {
        if (setuid(65534)) _exit(1);
        struct iovec cl = {buf, 8}, cr = {data, 8};
        result("unprivileged readv of root", vm_readv(parent, &cl, 1, &cr, 1, 0));
        result("unprivileged kcmp of root", kcmp(parent, getpid(), KCMP_VM, 0, 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
}

static void kcmp_calls(void) {
    int fd = open("/dev/null", O_RDONLY);
    int dup_fd = dup(fd);
    int other = open("/dev/null", O_RDONLY);
    pid_t me = getpid();
    result("same file", kcmp(me, me, KCMP_FILE, fd, dup_fd));
    printf("other file differs: %d\n", kcmp(me, me, KCMP_FILE, fd, other) > 0);
    result("bad fd", kcmp(me, me, KCMP_FILE, fd, 999));
    result("bad type", kcmp(me, me, 99, 0, 0));
    result("no such pid", kcmp(me, 0x3fffffff, KCMP_VM, 0, 0));
    int go[2];
    if (pipe(go)) exit(1);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(go[0], &c, 1);
        _exit(0);
    }
    result("inherited file", kcmp(me, child, KCMP_FILE, fd, fd));
    printf("forked vm differs: %d\n", kcmp(me, child, KCMP_VM, 0, 0) > 0);
    printf("forked files differ: %d\n", kcmp(me, child, KCMP_FILES, 0, 0) > 0);
    result("own vm", kcmp(me, me, KCMP_VM, 0, 0));
    write(go[1], "x", 1);
    waitpid(child, NULL, 0);
}

static void vmsplice_calls(void) {
    int p[2];
    if (pipe(p)) exit(1);
    char msg[] = "spliced from memory";
    struct iovec v[2] = {{msg, 8}, {msg + 8, sizeof msg - 8}};
    result("vmsplice in", vmsplice(p[1], v, 2, 0));
    char out[64] = {0};
    struct iovec o = {out, sizeof out};
    result("vmsplice out", vmsplice(p[0], &o, 1, 0));
    printf("got: %s\n", out);
    result("empty pipe nonblock", vmsplice(p[0], &o, 1, SPLICE_F_NONBLOCK));
    result("bad flags", vmsplice(p[1], v, 2, 0x100));
    result("not a pipe", vmsplice(open("/dev/null", O_WRONLY), v, 1, 0));
    result("bad fd", vmsplice(-1, v, 1, 0));
    struct iovec bad = {(void *)-1, 8};
    result("bad buffer", vmsplice(p[1], &bad, 1, 0));
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    result("no reader", vmsplice(p[1], v, 1, 0));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    process_vm();
    kcmp_calls();
    vmsplice_calls();
    return 0;
}
