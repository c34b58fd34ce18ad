/* userfaultfd: a thread reads the fault messages of another thread's missing pages and
 * resolves them (UFFDIO_COPY, ZEROPAGE, MOVE), a signal to the parked thread runs its
 * handler and the access is retried, UFFD_FEATURE_SIGBUS, UFFDIO_POISON, unregistering,
 * /dev/userfaultfd, and the errnos of bad requests. Prints lines that are the same natively
 * and under uml (run as root). */
#include "common.h"
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <sys/mman.h>

#define PAGE 4096

/* What Linux 6.8+ added, for older headers. */
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
struct uffdio_move {
    __u64 dst, src, len, mode;
    __s64 move;
};
#define UFFDIO_MOVE _IOWR(UFFDIO, 0x05, struct uffdio_move)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
struct uffdio_poison {
    struct uffdio_range range;
    __u64 mode;
    __s64 updated;
};
#define UFFDIO_POISON _IOWR(UFFDIO, 0x08, struct uffdio_poison)
#endif

static char *area;
static int uffd;
static volatile int usr1;
static sigjmp_buf jb;
static volatile int bus_code;

static void on_usr1(int s) { (void)s; usr1++; }
static void on_bus(int s, siginfo_t *si, void *c) {
    (void)s, (void)c;
    bus_code = si->si_code;
    siglongjmp(jb, 1);
}

static struct uffd_msg next_msg(void) {
    struct pollfd p = {.fd = uffd, .events = POLLIN};
    struct uffd_msg m;
    memset(&m, 0, sizeof m);
    if (poll(&p, 1, 10000) != 1) printf("bad poll\n");
    if (read(uffd, &m, sizeof m) != sizeof m) printf("bad read (errno=%s)\n", ename(errno));
    return m;
}

/* UFFD_NO_WRITE_FLAG set: UFFD_PAGEFAULT_FLAG_WRITE is not shown (uml under ptrace does
 * not know whether a fault was a write). */
static void show(const char *what, struct uffd_msg m) {
    unsigned long long flags = m.arg.pagefault.flags;
    if (getenv("UFFD_NO_WRITE_FLAG")) flags &= ~(unsigned long long)UFFD_PAGEFAULT_FLAG_WRITE;
    printf("%s: event=%#x flags=%#llx page=%lld\n", what, m.event, flags,
           (long long)((char *)(uintptr_t)m.arg.pagefault.address - area) / PAGE);
}

/* The handler thread: page 0 by UFFDIO_COPY, page 1 by ZEROPAGE, page 2 by MOVE, page 4
 * after a signal to the faulting thread. */
static void *handler(void *arg) {
    pid_t main_tid = *(pid_t *)arg;
    static char src[PAGE] __attribute__((aligned(PAGE)));
    struct uffd_msg m = next_msg();
    show("fault 1", m);
    memset(src, 'X', PAGE);
    struct uffdio_copy c = {.dst = (uintptr_t)area, .src = (uintptr_t)src, .len = PAGE};
    report("copy", ioctl(uffd, UFFDIO_COPY, &c));
    printf("copy.copy=%lld\n", (long long)c.copy);

    m = next_msg();
    show("fault 2", m);
    struct uffdio_zeropage z = {.range = {.start = (uintptr_t)area + PAGE, .len = PAGE}};
    report("zeropage", ioctl(uffd, UFFDIO_ZEROPAGE, &z));

    m = next_msg();
    show("fault 3", m);
    char *mv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(mv, 'M', PAGE);
    struct uffdio_move mo = {.dst = (uintptr_t)area + 2 * PAGE, .src = (uintptr_t)mv, .len = PAGE};
    report("move", ioctl(uffd, UFFDIO_MOVE, &mo));
    printf("move.move=%lld\n", (long long)mo.move);

    m = next_msg();
    show("fault 4", m);
    syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
    usleep(200000);
    c.dst = (uintptr_t)area + 4 * PAGE;
    memset(src, 'S', PAGE);
    report("copy after signal", ioctl(uffd, UFFDIO_COPY, &c));
    return NULL;
}

static void errnos(void) {
    struct uffdio_api api = {.api = UFFD_API};
    EXPECT_ERR("api again", ioctl(uffd, UFFDIO_API, &api), EINVAL);
    printf("api again zeroed: %d\n", api.api == 0 && api.features == 0);
    char small[8];
    EXPECT_ERR("read short", read(uffd, small, sizeof small), EINVAL);
    struct uffd_msg m;
    EXPECT_ERR("read nothing", read(uffd, &m, sizeof m), EAGAIN);
    struct pollfd p = {.fd = uffd, .events = POLLIN};
    printf("poll idle=%d\n", poll(&p, 1, 0));
    char src[PAGE];
    memset(src, 1, PAGE);
    struct uffdio_copy c = {.dst = (uintptr_t)area, .src = (uintptr_t)src, .len = PAGE};
    EXPECT_ERR("copy over a page", ioctl(uffd, UFFDIO_COPY, &c), EEXIST);
    printf("copy.copy=%lld\n", (long long)c.copy);
    c.dst += 1;
    EXPECT_ERR("copy unaligned", ioctl(uffd, UFFDIO_COPY, &c), EINVAL);
    c.dst = (uintptr_t)src & ~(uintptr_t)(PAGE - 1);
    EXPECT_ERR("copy unregistered", ioctl(uffd, UFFDIO_COPY, &c), ENOENT);
    struct uffdio_zeropage z = {.range = {.start = (uintptr_t)area + 5 * PAGE, .len = PAGE},
                                .mode = 4};
    EXPECT_ERR("zeropage bad mode", ioctl(uffd, UFFDIO_ZEROPAGE, &z), EINVAL);
    struct uffdio_register r = {.range = {.start = (uintptr_t)area + 1, .len = PAGE},
                                .mode = UFFDIO_REGISTER_MODE_MISSING};
    EXPECT_ERR("register unaligned", ioctl(uffd, UFFDIO_REGISTER, &r), EINVAL);
    r.range.start = (uintptr_t)area;
    r.mode = 0;
    EXPECT_ERR("register no mode", ioctl(uffd, UFFDIO_REGISTER, &r), EINVAL);
    struct uffdio_range w = {.start = (uintptr_t)area, .len = 0};
    EXPECT_ERR("wake empty", ioctl(uffd, UFFDIO_WAKE, &w), EINVAL);
    int u2 = syscall(SYS_userfaultfd, O_CLOEXEC);
    struct uffdio_range rr = {.start = (uintptr_t)area, .len = PAGE};
    EXPECT_ERR("before api", ioctl(u2, UFFDIO_UNREGISTER, &rr), EINVAL);
    EXPECT_ERR("unknown flags", syscall(SYS_userfaultfd, 0x100), EINVAL);
    close(u2);
    /* Without CAP_SYS_PTRACE (vm.unprivileged_userfaultfd 0): user-mode faults only. */
    CHECK("seteuid", seteuid(65534) == 0);
    EXPECT_ERR("unprivileged", syscall(SYS_userfaultfd, O_CLOEXEC), EPERM);
    int u4 = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    CHECK("unprivileged user-mode only", u4 >= 0);
    close(u4);
    CHECK("seteuid back", seteuid(0) == 0);
}

/* Write protection: a store to a protected page waits until the handler lifts it. */
static char *wp_page;
static volatile int wp_seen_unchanged;
static void *wp_handler(void *arg) {
    int u = *(int *)arg;
    struct pollfd p = {.fd = u, .events = POLLIN};
    struct uffd_msg m;
    if (poll(&p, 1, 10000) != 1 || read(u, &m, sizeof m) != sizeof m) printf("bad wp read\n");
    printf("wp fault: flags=%#llx page=%d\n", (unsigned long long)m.arg.pagefault.flags,
           (char *)(uintptr_t)m.arg.pagefault.address == wp_page);
    wp_seen_unchanged = wp_page[5] == 'a';
    struct uffdio_writeprotect w = {.range = {.start = (uintptr_t)wp_page, .len = PAGE}};
    report("unprotect", ioctl(u, UFFDIO_WRITEPROTECT, &w));
    return NULL;
}

static void wp_part(void) {
    int u = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP};
    report("api wp", ioctl(u, UFFDIO_API, &api));
    wp_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(wp_page, 'a', PAGE);
    struct uffdio_register r = {.range = {.start = (uintptr_t)wp_page, .len = PAGE},
                                .mode = UFFDIO_REGISTER_MODE_WP};
    report("register wp", ioctl(u, UFFDIO_REGISTER, &r));
    printf("wp range ioctls=%#llx\n", (unsigned long long)r.ioctls);
    struct uffdio_writeprotect w = {.range = {.start = (uintptr_t)wp_page, .len = PAGE},
                                    .mode = UFFDIO_WRITEPROTECT_MODE_WP};
    report("protect", ioctl(u, UFFDIO_WRITEPROTECT, &w));
    w.mode = UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE;
    EXPECT_ERR("protect dontwake", ioctl(u, UFFDIO_WRITEPROTECT, &w), EINVAL);
    printf("protected page reads %c\n", wp_page[7]);
    pthread_t t;
    pthread_create(&t, NULL, wp_handler, &u);
    wp_page[5] = 'W';
    pthread_join(t, NULL);
    printf("store waited: %d, now %c\n", wp_seen_unchanged, wp_page[5]);
    close(u);
}

/* A thread parked on a fault while its process exits, is killed, closes the context (the
 * thread then goes on with a zero page) or execs. */
static char *life_page;
static void *toucher(void *a) {
    (void)a;
    volatile char c = life_page[0];
    (void)c;
    return NULL;
}

static void lifecycle_part(void) {
    for (int how = 0; how < 4; how++) {
        pid_t p = fork();
        if (p == 0) {
            int u = syscall(SYS_userfaultfd, O_CLOEXEC);
            struct uffdio_api api = {.api = UFFD_API};
            ioctl(u, UFFDIO_API, &api);
            life_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            struct uffdio_register r = {.range = {.start = (uintptr_t)life_page, .len = PAGE},
                                        .mode = UFFDIO_REGISTER_MODE_MISSING};
            ioctl(u, UFFDIO_REGISTER, &r);
            pthread_t t;
            pthread_create(&t, NULL, toucher, NULL);
            usleep(100000);
            if (how == 0) _exit(3);
            if (how == 1) kill(getpid(), SIGKILL);
            if (how == 2) {
                close(u);
                pthread_join(t, NULL);
                _exit(4);
            }
            execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
            _exit(99);
        }
        int st;
        waitpid(p, &st, 0);
        printf("parked thread, case %d: exited=%d code=%d signaled=%d sig=%d\n", how,
               WIFEXITED(st), WEXITSTATUS(st), WIFSIGNALED(st), WTERMSIG(st));
    }
}

/* UFFD_FEATURE_SIGBUS: a missing page is SIGBUS, no message. And UFFDIO_POISON. */
static void sigbus_part(void) {
    int u = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_SIGBUS};
    report("api sigbus", ioctl(u, UFFDIO_API, &api));
    char *a = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct uffdio_register r = {.range = {.start = (uintptr_t)a, .len = 2 * PAGE},
                                .mode = UFFDIO_REGISTER_MODE_MISSING};
    report("register sigbus", ioctl(u, UFFDIO_REGISTER, &r));
    struct sigaction sa = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO};
    sigaction(SIGBUS, &sa, NULL);
    bus_code = 0;
    if (sigsetjmp(jb, 1) == 0) {
        volatile char x = a[10];
        (void)x;
        printf("bad no SIGBUS\n");
    }
    printf("sigbus feature: code=%d\n", bus_code);
    struct uffdio_poison po = {.range = {.start = (uintptr_t)a + PAGE, .len = PAGE}};
    report("poison", ioctl(u, UFFDIO_POISON, &po));
    printf("poison.updated=%lld\n", (long long)po.updated);
    bus_code = 0;
    if (sigsetjmp(jb, 1) == 0) {
        volatile char x = a[PAGE];
        (void)x;
        printf("bad no SIGBUS on poison\n");
    }
    printf("poisoned: code=%d\n", bus_code);
    close(u);
    /* Closed: the range faults as any memory. */
    printf("after close: %d\n", a[20]);
}

int main(void) {
    uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    CHECK("userfaultfd", uffd >= 0);
    struct pollfd p0 = {.fd = uffd, .events = POLLIN};
    printf("poll before api=%d revents=%#x\n", poll(&p0, 1, 0), p0.revents);
    struct uffdio_api api = {.api = UFFD_API};
    report("api", ioctl(uffd, UFFDIO_API, &api));
    printf("api=%#llx ioctls=%#llx move=%d poison=%d\n", (unsigned long long)api.api,
           (unsigned long long)api.ioctls, !!(api.features & UFFD_FEATURE_MOVE),
           !!(api.features & UFFD_FEATURE_POISON));
    area = mmap(NULL, 6 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct uffdio_register r = {.range = {.start = (uintptr_t)area, .len = 6 * PAGE},
                                .mode = UFFDIO_REGISTER_MODE_MISSING};
    report("register", ioctl(uffd, UFFDIO_REGISTER, &r));
    printf("range ioctls=%#llx\n", (unsigned long long)r.ioctls);

    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    pid_t me = syscall(SYS_gettid);
    pthread_t t;
    pthread_create(&t, NULL, handler, &me);
    char a0 = area[15];
    char a1 = area[PAGE + 15];
    area[2 * PAGE + 15] = 'W';
    char a2 = area[2 * PAGE];
    char a4 = area[4 * PAGE + 1];
    pthread_join(t, NULL);
    printf("read %c %d %c%c %c, signals=%d\n", a0, a1, a2, area[2 * PAGE + 15], a4, usr1);
    struct uffd_msg m;
    EXPECT_ERR("nothing left", read(uffd, &m, sizeof m), EAGAIN);

    errnos();
    struct uffdio_range rr = {.start = (uintptr_t)area + 3 * PAGE, .len = PAGE};
    report("unregister", ioctl(uffd, UFFDIO_UNREGISTER, &rr));
    printf("unregistered page reads %d\n", area[3 * PAGE + 7]);
    close(uffd);

    wp_part();
    lifecycle_part();
    sigbus_part();

    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    CHECK("open /dev/userfaultfd", dev >= 0);
    int u3 = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
    CHECK("USERFAULTFD_IOC_NEW", u3 >= 0);
    struct uffdio_api api3 = {.api = UFFD_API};
    report("api via dev", ioctl(u3, UFFDIO_API, &api3));
    EXPECT_ERR("dev bad ioctl", ioctl(dev, _IO(0xAA, 1), 0), EINVAL);
    return 0;
}
