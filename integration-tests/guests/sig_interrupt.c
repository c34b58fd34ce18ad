/* Every family of blocking call, interrupted by a signal in each of four ways: a handler
 * without SA_RESTART, a handler with SA_RESTART, an ignored signal, and a stop followed by a
 * continue. A helper process sends the signal(s) while the call blocks (a continue only once
 * the process is seen stopped); a helper thread (all signals blocked) completes the call's
 * wait once the helper says the signals are sent (and a handler, if any, has run). Each line prints what the call returned,
 * so the same program natively and under uml must print the same lines (Linux's -ERESTART*
 * rules: restarted, EINTR, or the partial count of a write). */
#include "common.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stddef.h>
#include <sys/wait.h>
#include <time.h>

#define SIGNAL_MS 100   /* the helper process signals the caller, which blocks by then */
#define SETTLE_MS 50    /* after the signals, before the wait is completed */
#define LONG_MS 5000    /* timeouts of the timed calls: never reached */
#define SLEEP_MS 1500   /* the nanosleep family's own sleep: long past the signal, even on a loaded host */

enum mode { M_HANDLER, M_RESTART, M_IGNORE, M_STOP };
static const char *mode_names[] = {"handler", "sa_restart", "ignored", "stop_cont"};

struct fx {
    int fd[2];          /* a pipe, a pty (master, slave), a listener, an epoll fd */
    int ep;
    int go[2];          /* tells the wait4 family's child to exit */
    pid_t child;
    int word;           /* the futex word */
    char name[64];      /* the listener's abstract name */
};

struct family {
    const char *name;
    void (*setup)(struct fx *);
    long (*block)(struct fx *);
    void (*complete)(struct fx *); /* run by the helper thread (or NULL) */
};

static volatile sig_atomic_t handled;
static void on_usr1(int s) { (void)s; handled++; }

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct timespec rel_ts(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    return ts;
}

/* ---- families: setup, the blocking call, its completion ---- */

static void pipe_setup(struct fx *f) { if (pipe(f->fd)) exit(90); }
static void pipe_feed(struct fx *f) { if (write(f->fd[1], "x", 1) != 1) exit(91); }

static long futex_block(struct fx *f) {
    return syscall(SYS_futex, &f->word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}
static long futex_timed_block(struct fx *f) {
    struct timespec ts = rel_ts(LONG_MS);
    return syscall(SYS_futex, &f->word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
}
static long futex_bitset_block(struct fx *f) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += LONG_MS / 1000;
    return syscall(SYS_futex, &f->word, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL,
                   FUTEX_BITSET_MATCH_ANY);
}
static void futex_wake(struct fx *f) {
    __atomic_store_n(&f->word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &f->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static long read_block(struct fx *f) {
    char c[8];
    return read(f->fd[0], c, sizeof c);
}

/* A full pipe: a write of 100 bytes moves nothing until the reader drains some. */
static void full_pipe_setup(struct fx *f) {
    pipe_setup(f);
    fcntl(f->fd[1], F_SETFL, O_NONBLOCK);
    char buf[4096] = {0};
    while (write(f->fd[1], buf, sizeof buf) > 0) { }
    fcntl(f->fd[1], F_SETFL, 0);
}
static long write_block(struct fx *f) {
    char buf[100] = {0};
    return write(f->fd[1], buf, sizeof buf);
}
static void drain(struct fx *f) {
    char buf[8192];
    if (read(f->fd[0], buf, sizeof buf) <= 0) exit(92);
}
/* 70000 bytes into an empty 64 KiB pipe: 65536 move at once, then the write blocks. */
static long write_partial_block(struct fx *f) {
    static char buf[70000];
    return write(f->fd[1], buf, sizeof buf);
}

static void pty_setup(struct fx *f) {
    f->fd[0] = posix_openpt(O_RDWR | O_NOCTTY);
    if (f->fd[0] < 0 || grantpt(f->fd[0]) || unlockpt(f->fd[0])) exit(93);
    f->fd[1] = open(ptsname(f->fd[0]), O_RDWR | O_NOCTTY);
    if (f->fd[1] < 0) exit(94);
}
static long tty_read_block(struct fx *f) {
    char c[8];
    return read(f->fd[1], c, sizeof c);
}
static void tty_type(struct fx *f) { if (write(f->fd[0], "x\n", 2) != 2) exit(95); }

static void child_setup(struct fx *f) {
    if (pipe(f->go)) exit(99);
    f->child = fork();
    if (f->child == 0) {
        char x;
        close(f->go[1]);
        while (read(f->go[0], &x, 1) < 0 && errno == EINTR) { }
        _exit(7);
    }
    close(f->go[0]);
    f->go[0] = -1;
}
static void child_go(struct fx *f) { if (write(f->go[1], "g", 1) != 1) exit(98); }
static long wait4_block(struct fx *f) {
    int st;
    long r = wait4(f->child, &st, 0, NULL);
    if (r == f->child) {
        f->child = 0;
        return WEXITSTATUS(st);
    }
    return r;
}

static long poll_block(struct fx *f) {
    struct pollfd p = {f->fd[0], POLLIN, 0};
    return poll(&p, 1, -1);
}
static long poll_timed_block(struct fx *f) {
    struct pollfd p = {f->fd[0], POLLIN, 0};
    return poll(&p, 1, LONG_MS);
}
static long select_block(struct fx *f) {
    fd_set r;
    FD_ZERO(&r);
    FD_SET(f->fd[0], &r);
    struct timeval tv = {LONG_MS / 1000, 0};
    return select(f->fd[0] + 1, &r, NULL, NULL, &tv);
}

static void epoll_setup(struct fx *f) {
    pipe_setup(f);
    f->ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = f->fd[0]};
    if (epoll_ctl(f->ep, EPOLL_CTL_ADD, f->fd[0], &e)) exit(96);
}
static long epoll_block(struct fx *f) {
    struct epoll_event e;
    return epoll_wait(f->ep, &e, 1, -1);
}

static long nanosleep_block(struct fx *f) {
    (void)f;
    struct timespec ts = rel_ts(SLEEP_MS), rem = {0, 0};
    long start = now_ms();
    long r = nanosleep(&ts, &rem);
    long took = now_ms() - start;
    long rem_ms = rem.tv_sec * 1000 + rem.tv_nsec / 1000000;
    if (r == -1) {
        int e = errno;
        printf("  nanosleep rem in (0,%d)=%d\n", SLEEP_MS, rem_ms > 0 && rem_ms < SLEEP_MS);
        errno = e;
        return r;
    }
    printf("  nanosleep slept its time=%d\n", took >= SLEEP_MS - 10);
    return r;
}

/* The listener's address: an abstract name. */
static socklen_t listen_addr(struct fx *f, struct sockaddr_un *a) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, f->name, strlen(f->name));
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(f->name);
}
static void listen_setup(struct fx *f) {
    struct sockaddr_un a;
    snprintf(f->name, sizeof f->name, "uml-sig-interrupt-%d", getpid());
    socklen_t len = listen_addr(f, &a);
    f->fd[0] = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(f->fd[0], (struct sockaddr *)&a, len) || listen(f->fd[0], 1)) exit(97);
    f->fd[1] = -1;
}
static long accept_block(struct fx *f) {
    long r = accept(f->fd[0], NULL, NULL);
    if (r >= 0) {
        close(r);
        return 1;
    }
    return r;
}
static void connect_to(struct fx *f) {
    struct sockaddr_un a;
    socklen_t len = listen_addr(f, &a);
    f->fd[1] = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(f->fd[1], (struct sockaddr *)&a, len)) exit(98);
}

/* SIGUSR2 is blocked in every thread; sigwaitinfo takes it when the helper sends it. */
static long sigwait_block(struct fx *f) {
    (void)f;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    return sigwaitinfo(&s, NULL);
}
static void send_usr2(struct fx *f) { (void)f; kill(getpid(), SIGUSR2); }

static const struct family families[] = {
    {"futex", NULL, futex_block, futex_wake},
    {"futex_timed", NULL, futex_timed_block, futex_wake},
    {"futex_bitset_abs", NULL, futex_bitset_block, futex_wake},
    {"pipe_read", pipe_setup, read_block, pipe_feed},
    {"pipe_write", full_pipe_setup, write_block, drain},
    {"pipe_write_part", pipe_setup, write_partial_block, drain},
    {"tty_read", pty_setup, tty_read_block, tty_type},
    {"wait4", child_setup, wait4_block, child_go},
    {"poll", pipe_setup, poll_block, pipe_feed},
    {"poll_timed", pipe_setup, poll_timed_block, pipe_feed},
    {"select_timed", pipe_setup, select_block, pipe_feed},
    {"epoll_wait", epoll_setup, epoll_block, pipe_feed},
    {"nanosleep", NULL, nanosleep_block, NULL},
    {"accept", listen_setup, accept_block, connect_to},
    {"sigwaitinfo", NULL, sigwait_block, send_usr2},
};

/* ---- one case ---- */

static const struct family *cur;
static enum mode cur_mode;
static struct fx fx;
/* The sender tells the completer its signals are sent. */
static int note[2];
/* The caller tells the sender it is about to make the blocking call. */
static int ready[2];

static void *completer(void *arg) {
    (void)arg;
    char x;
    while (read(note[0], &x, 1) < 0 && errno == EINTR) { }
    if (cur_mode == M_HANDLER || cur_mode == M_RESTART)
        for (int i = 0; i < 5000 && !handled; i++) msleep(1);
    msleep(SETTLE_MS);
    if (cur->complete) cur->complete(&fx);
    return NULL;
}

/* Waits (up to 5 s) until process `pid` is in state `want` (/proc/PID/stat). */
static void wait_state(pid_t pid, char want) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    for (int i = 0; i < 5000; i++) {
        FILE *f = fopen(path, "r");
        char *p = f && fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
        if (f) fclose(f);
        if (p && p[1] == ' ' && p[2] == want) return;
        msleep(1);
    }
}

static void dispose(enum mode m) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = m == M_IGNORE ? SIG_IGN : on_usr1;
    sa.sa_flags = m == M_RESTART ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

static void run_case(const struct family *fam, enum mode m) {
    memset(&fx, 0, sizeof fx);
    fx.fd[0] = fx.fd[1] = fx.ep = fx.go[0] = fx.go[1] = -1;
    cur = fam;
    cur_mode = m;
    if (pipe(note) || pipe(ready)) exit(97);
    handled = 0;
    dispose(m);
    if (fam->setup) fam->setup(&fx);

    /* The helper thread starts with every signal blocked, so a signal is the caller's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_t th;
    pthread_create(&th, NULL, completer, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    pid_t me = getpid();
    pid_t sender = fork();
    if (sender == 0) {
        /* The caller is about to make the call; once it sleeps, it sleeps in the call. */
        char r;
        while (read(ready[0], &r, 1) < 0 && errno == EINTR) { }
        msleep(SIGNAL_MS);
        wait_state(me, 'S');
        if (m == M_STOP) {
            kill(me, SIGSTOP);
            wait_state(me, 'T');
            kill(me, SIGCONT);
        } else {
            kill(me, SIGUSR1);
        }
        if (write(note[1], "n", 1) != 1) _exit(1);
        _exit(0);
    }

    if (write(ready[1], "r", 1) != 1) exit(97);
    errno = 0;
    long r = fam->block(&fx);
    int e = errno;
    printf("%-17s %-10s ", fam->name, mode_names[m]);
    if (r < 0) printf("-1 %s", ename(e));
    else printf("%ld", r);
    printf(" handled=%d\n", handled);
    fflush(stdout);

    pthread_join(th, NULL);
    waitpid(sender, NULL, 0);
    if (fx.child > 0) waitpid(fx.child, NULL, 0);
    for (int i = 0; i < 2; i++) {
        if (fx.fd[i] >= 0) close(fx.fd[i]);
        if (fx.go[i] >= 0) close(fx.go[i]);
        close(note[i]);
        close(ready[i]);
    }
    if (fx.ep >= 0) close(fx.ep);
    /* A SIGUSR2 the completion sent after an interrupted sigwaitinfo is not the next
     * case's. */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&usr2, NULL, &zero) == SIGUSR2) { }
}

/* Runs the four cases of one family in a process of its own (a stop signal to the first
 * process of a pid namespace, uml's init, is not what is being tested). */
static void run_family(const struct family *fam) {
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    for (enum mode m = M_HANDLER; m <= M_STOP; m++) run_case(fam, m);
}

int main(int argc, char **argv) {
    /* The families run side by side, each printing into a pipe of its own; their output is
     * then printed in table order. */
    enum { N = sizeof families / sizeof families[0] };
    int out[N];
    pid_t pid[N];
    const char *only = argc > 1 ? argv[1] : NULL;
    for (size_t i = 0; i < N; i++) {
        out[i] = -1;
        if (only && strcmp(only, families[i].name)) continue;
        int p[2];
        if (pipe(p)) return 1;
        pid[i] = fork();
        if (pid[i] == 0) {
            close(p[0]);
            dup2(p[1], 1);
            setvbuf(stdout, NULL, _IOLBF, 0);
            run_family(&families[i]);
            return 0;
        }
        close(p[1]);
        out[i] = p[0];
    }
    int status = 0;
    for (size_t i = 0; i < N; i++) {
        if (out[i] < 0) continue;
        char buf[4096];
        ssize_t n;
        while ((n = read(out[i], buf, sizeof buf)) > 0) fwrite(buf, 1, n, stdout);
        int st;
        waitpid(pid[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) {
            printf("%s: status %d\n", families[i].name, st);
            status = 1;
        }
    }
    printf("done\n");
    return status;
}
