/* POSIX message queues: priorities, a queue shared by name between processes, blocking and
 * O_NONBLOCK both ways, absolute timeouts, mq_getsetattr, poll readiness, mq_notify with
 * SIGEV_SIGNAL (si_code, si_value, si_pid; one registration per queue), mq_unlink, and the
 * errnos of bad names, attributes, descriptors, sizes, priorities and permissions. */
#include "common.h"
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static char name[64];
static volatile int got_sig, got_code, got_val, got_pid_ok;

static int wait_child(void) {
    int s;
    wait(&s);
    if (WIFSIGNALED(s)) return 128 + WTERMSIG(s);
    return WEXITSTATUS(s);
}

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static struct timespec in_ms(int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static void rcv(const char *what, mqd_t q) {
    char buf[128];
    unsigned prio = 99;
    ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
    if (n < 0) printf("%s: %s\n", what, ename(errno));
    else printf("%s: n=%zd prio=%u text=%.*s\n", what, n, prio, (int)n, buf);
}

static void on_usr1(int s, siginfo_t *si, void *c) {
    (void)c;
    got_sig = s;
    got_code = si->si_code;
    got_val = si->si_value.sival_int;
    got_pid_ok = si->si_pid == getpid();
}

static void show_attr(const char *what, mqd_t q) {
    struct mq_attr a;
    mq_getattr(q, &a);
    printf("%s: flags=%s maxmsg=%ld msgsize=%ld curmsgs=%ld\n", what,
           a.mq_flags & O_NONBLOCK ? "NONBLOCK" : "0", a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs);
}

/* SIGEV_THREAD: glibc's helper thread runs this once the kernel's netlink message comes. */
static volatile int thread_value;
static void on_message(union sigval v) { thread_value = v.sival_int; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(name, sizeof name, "/uml-ipc-mq-%d", getpid());
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 128};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0640, &attr);
    CHECK("mq_open create", q != (mqd_t)-1);
    show_attr("new", q);

    /* Priorities. */
    mq_send(q, "low", 3, 1);
    mq_send(q, "high", 4, 5);
    mq_send(q, "mid", 3, 3);
    mq_send(q, "high-2", 6, 5);
    show_attr("full", q);
    struct pollfd pf = {q, POLLIN | POLLOUT, 0};
    int pr = poll(&pf, 1, 0);
    printf("poll full: %d revents=%x\n", pr, pf.revents);
    struct timespec t = in_ms(100);
    EXPECT_ERR("timedsend full", mq_timedsend(q, "x", 1, 0, &t), ETIMEDOUT);
    struct mq_attr nb = {.mq_flags = O_NONBLOCK}, old;
    mq_setattr(q, &nb, &old);
    printf("old flags=%ld\n", old.mq_flags);
    EXPECT_ERR("send full nonblock", mq_send(q, "x", 1, 0), EAGAIN);
    nb.mq_flags = 0;
    mq_setattr(q, &nb, NULL);
    for (int i = 0; i < 4; i++) rcv("receive", q);
    pf.revents = 0;
    pr = poll(&pf, 1, 0);
    printf("poll empty: %d revents=%x\n", pr, pf.revents);
    t = in_ms(100);
    char buf[128];
    EXPECT_ERR("timedreceive empty", mq_timedreceive(q, buf, sizeof buf, NULL, &t), ETIMEDOUT);
    struct timespec past = {1, 0};
    mq_send(q, "ok", 2, 0);
    printf("past timeout with a message: %zd\n", mq_timedreceive(q, buf, sizeof buf, NULL, &past));

    /* Between processes: the child blocks for a message, the parent for room. */
    if (fork() == 0) {
        mqd_t c = mq_open(name, O_RDONLY);
        rcv("child receives", c);
        msleep(100);
        char got[5][130];
        unsigned prios[5];
        for (int i = 0; i < 5; i++) {
            ssize_t n = mq_receive(c, got[i], 129, &prios[i]);
            got[i][n < 0 ? 0 : n] = 0;
        }
        for (int i = 0; i < 5; i++) printf("child drains: prio=%u text=%s\n", prios[i], got[i]);
        _exit(0);
    }
    msleep(50);
    mq_send(q, "hello child", 11, 7);
    msleep(50);
    int sent[5];
    for (int i = 0; i < 5; i++) sent[i] = mq_send(q, "fill", 4, i);
    wait_child();
    for (int i = 0; i < 5; i++) printf("send %d=%d\n", i, sent[i]);

    /* Notification. */
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    ev.sigev_value.sival_int = 42;
    printf("mq_notify=%d\n", mq_notify(q, &ev));
    EXPECT_ERR("mq_notify again", mq_notify(q, &ev), EBUSY);
    if (fork() == 0) {
        mqd_t c = mq_open(name, O_WRONLY);
        EXPECT_ERR("child mq_notify while parent registered", mq_notify(c, &ev), EBUSY);
        printf("child unregister (not its own)=%d\n", mq_notify(c, NULL));
        _exit(0);
    }
    wait_child();
    mq_send(q, "ring", 4, 0);
    for (int i = 0; i < 100 && !got_sig; i++) msleep(5);
    printf("notified: sig=%d code_is_mesgq=%d value=%d pid_ok=%d\n", got_sig,
           got_code == SI_MESGQ, got_val, got_pid_ok);
    got_sig = 0;
    mq_send(q, "no second", 9, 0);
    msleep(50);
    printf("registration used up: sig=%d\n", got_sig);
    rcv("drain", q);
    rcv("drain", q);
    int again = mq_notify(q, &ev);
    int unreg = mq_notify(q, NULL);
    printf("register again=%d unregister=%d\n", again, unreg);
    if (fork() == 0) {
        mqd_t c = mq_open(name, O_WRONLY);
        printf("child registers=%d\n", mq_notify(c, &ev));
        _exit(0);
    }
    wait_child();
    printf("after registrant exited=%d\n", mq_notify(q, &ev));
    mq_notify(q, NULL);
    ev.sigev_signo = 99;
    EXPECT_ERR("mq_notify bad signal", mq_notify(q, &ev), EINVAL);
    ev.sigev_notify = 77;
    EXPECT_ERR("mq_notify bad notify", mq_notify(q, &ev), EINVAL);

    /* SIGEV_THREAD: registered, taken back (glibc's helper is told), registered again and
     * fired by a message. */
    struct sigevent tev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_message,
                           .sigev_value.sival_int = 77};
    printf("SIGEV_THREAD register=%d\n", mq_notify(q, &tev));
    printf("SIGEV_THREAD unregister=%d\n", mq_notify(q, NULL));
    printf("SIGEV_THREAD register again=%d\n", mq_notify(q, &tev));
    mq_send(q, "t", 1, 0);
    for (int i = 0; i < 500 && !thread_value; i++) usleep(10000);
    printf("SIGEV_THREAD function ran with %d\n", thread_value);
    mq_receive(q, buf, sizeof buf, NULL);

    /* Errnos. */
    EXPECT_ERR("receive small buffer", mq_receive(q, buf, 64, NULL), EMSGSIZE);
    EXPECT_ERR("send too big", mq_send(q, buf, 129, 0), EMSGSIZE);
    EXPECT_ERR("send bad prio", mq_send(q, "x", 1, 40000), EINVAL);
    EXPECT_ERR("send bad fd", mq_send(999, "x", 1, 0), EBADF);
    EXPECT_ERR("send not a queue", mq_send(1, "x", 1, 0), EBADF);
    mqd_t ro = mq_open(name, O_RDONLY);
    EXPECT_ERR("send on O_RDONLY", mq_send(ro, "x", 1, 0), EBADF);
    mqd_t wo = mq_open(name, O_WRONLY);
    EXPECT_ERR("receive on O_WRONLY", mq_receive(wo, buf, sizeof buf, NULL), EBADF);
    struct timespec badt = {0, -1};
    EXPECT_ERR("malformed timeout", mq_timedsend(wo, "x", 1, 0, &badt), EINVAL);
    EXPECT_ERR("open EEXIST", mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, NULL), EEXIST);
    EXPECT_ERR("open ENOENT", mq_open("/uml-ipc-none", O_RDWR), ENOENT);
    EXPECT_ERR("open name with slash", mq_open("/a/b", O_RDWR | O_CREAT, 0600, NULL), EACCES);
    struct mq_attr bad = {.mq_maxmsg = 0, .mq_msgsize = 8};
    EXPECT_ERR("open maxmsg 0", mq_open("/uml-ipc-bad", O_RDWR | O_CREAT, 0600, &bad), EINVAL);
    EXPECT_ERR("setattr bad flags", mq_setattr(q, &(struct mq_attr){.mq_flags = O_APPEND}, NULL), EINVAL);
    char defname[64];
    snprintf(defname, sizeof defname, "/uml-ipc-mq-def-%d", getpid());
    mqd_t d = mq_open(defname, O_CREAT | O_RDWR, 0600, NULL);
    show_attr("default", d);
    mq_close(d);
    mq_unlink(defname);

    /* As nobody. */
    if (fork() == 0) {
        if (setgid(65534) || setuid(65534)) printf("bad setuid\n");
        EXPECT_ERR("nobody open 0640 for read", mq_open(name, O_RDONLY), EACCES);
        EXPECT_ERR("nobody unlink", mq_unlink(name), EACCES);
        struct mq_attr big = {.mq_maxmsg = 100, .mq_msgsize = 8};
        EXPECT_ERR("nobody maxmsg past msg_max", mq_open("/uml-ipc-big", O_RDWR | O_CREAT, 0600, &big), EINVAL);
        printf("nobody may still send on its inherited descriptor: %d\n", mq_send(q, "n", 1, 0));
        _exit(0);
    }
    wait_child();
    show_attr("before unlink", q);
    printf("unlink=%d\n", mq_unlink(name));
    EXPECT_ERR("open after unlink", mq_open(name, O_RDWR), ENOENT);
    EXPECT_ERR("unlink again", mq_unlink(name), ENOENT);
    rcv("unlinked queue still works", q);
    printf("close=%d\n", mq_close(q));
    return 0;
}
