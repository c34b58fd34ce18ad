/* Pseudo-terminals: allocation (posix_openpt, grantpt, unlockpt, ptsname, TIOCGPTN,
 * TIOCGPTPEER), the line discipline (canonical editing, EOF, echo, CR/NL mapping, output
 * processing, raw mode with VMIN/VTIME), poll readiness, controlling terminals (TIOCSCTTY,
 * /dev/tty, TIOCGSID, TIOCNOTTY, O_NOCTTY), signals typed to the foreground group, window
 * size with SIGWINCH, hangup when the master closes (also by an exec closing it), and SIGHUP
 * to the foreground group when the session leader gives its terminal up or exits. Prints verdicts, never pts numbers
 * or pids, so the output is the same natively and under uml. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads from `fd` until `want` bytes came or nothing more arrives for 2 s. */
static int collect(int fd, char *buf, int want) {
    int got = 0;
    while (got < want) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 2000) <= 0) break;
        ssize_t n = read(fd, buf + got, want - got);
        if (n <= 0) break;
        got += n;
    }
    buf[got] = 0;
    return got;
}

/* Whether `fd` becomes readable within `ms`. */
static int readable(int fd, int ms) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void show(const char *what, const char *s, int n) {
    printf("%s: \"", what);
    for (int i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '\r') printf("\\r");
        else if (c == '\n') printf("\\n");
        else if (c < 32 || c == 127) printf("\\x%02x", c);
        else putchar(c);
    }
    printf("\"\n");
}

/* Types `in` on the master; shows what the slave reads (one read) and what was echoed. */
static void typed(int m, int s, const char *what, const char *in, int echo_len) {
    char buf[256];
    if (write(m, in, strlen(in)) != (ssize_t)strlen(in)) printf("bad write %s\n", what);
    ssize_t n = read(s, buf, sizeof buf);
    char name[64];
    snprintf(name, sizeof name, "%s read", what);
    show(name, buf, n < 0 ? 0 : n);
    int e = collect(m, buf, echo_len);
    snprintf(name, sizeof name, "%s echo", what);
    show(name, buf, e);
}

static int open_pair(int *m, char *name) {
    *m = posix_openpt(O_RDWR | O_NOCTTY);
    if (*m < 0) return -1;
    if (grantpt(*m) || unlockpt(*m)) return -1;
    strcpy(name, ptsname(*m));
    return open(name, O_RDWR | O_NOCTTY);
}

static void allocation(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK("posix_openpt", m >= 0);
    char *name = ptsname(m);
    CHECK("ptsname in /dev/pts", name && strncmp(name, "/dev/pts/", 9) == 0);
    unsigned n = 99999;
    CHECK("TIOCGPTN", ioctl(m, TIOCGPTN, &n) == 0);
    char want[64];
    snprintf(want, sizeof want, "/dev/pts/%u", n);
    CHECK("TIOCGPTN matches ptsname", strcmp(want, name) == 0);
    struct stat st;
    CHECK("slave is a char device", stat(name, &st) == 0 && S_ISCHR(st.st_mode));
    CHECK("slave major 136", major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143);
    EXPECT_ERR("open locked slave", open(name, O_RDWR | O_NOCTTY), EIO);
    CHECK("grantpt", grantpt(m) == 0);
    CHECK("unlockpt", unlockpt(m) == 0);
    int s = open(name, O_RDWR | O_NOCTTY);
    CHECK("open slave", s >= 0);
    CHECK("isatty both", isatty(m) && isatty(s));
    char *tn = ttyname(s);
    CHECK("ttyname(slave) is ptsname", tn && strcmp(tn, name) == 0);
    CHECK("/dev/pts/ptmx", stat("/dev/pts/ptmx", &st) == 0 && S_ISCHR(st.st_mode));
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    CHECK("TIOCGPTPEER", peer >= 0 && isatty(peer));
    struct stat a, b;
    CHECK("peer is the slave", fstat(peer, &a) == 0 && fstat(s, &b) == 0 && a.st_rdev == b.st_rdev);
    EXPECT_ERR("TIOCGPTPEER on slave", ioctl(s, TIOCGPTPEER, O_RDWR), EIO);
    close(peer);
    struct termios t;
    CHECK("tcgetattr slave", tcgetattr(s, &t) == 0);
    printf("default lflag ICANON=%d ECHO=%d ISIG=%d ECHOE=%d ECHOK=%d ECHOCTL=%d\n",
           !!(t.c_lflag & ICANON), !!(t.c_lflag & ECHO), !!(t.c_lflag & ISIG),
           !!(t.c_lflag & ECHOE), !!(t.c_lflag & ECHOK), !!(t.c_lflag & ECHOCTL));
    printf("default iflag ICRNL=%d oflag OPOST=%d ONLCR=%d VMIN=%d VERASE=%d VEOF=%d\n",
           !!(t.c_iflag & ICRNL), !!(t.c_oflag & OPOST), !!(t.c_oflag & ONLCR), t.c_cc[VMIN],
           t.c_cc[VERASE], t.c_cc[VEOF]);
    close(s);
    close(m);
    CHECK("number freed", access(want, F_OK) != 0);
}

static void canonical(void) {
    char name[64];
    int m, s = open_pair(&m, name);
    CHECK("pair", s >= 0);
    typed(m, s, "erase", "abc\x7f" "d\n", 9);
    typed(m, s, "kill", "xy\x15z\n", 11);
    typed(m, s, "werase", "one two\x17three\n", 23);
    typed(m, s, "cr", "cr\r", 4);
    typed(m, s, "eof partial", "part\x04", 4);
    typed(m, s, "eof empty", "\x04", 0);
    /* A read takes at most one line. */
    write(m, "l1\nl2\n", 6);
    char buf[64];
    ssize_t n = read(s, buf, sizeof buf);
    show("first of two lines", buf, n);
    n = read(s, buf, sizeof buf);
    show("second of two lines", buf, n);
    collect(m, buf, 8);
    /* A partial line is not readable; poll says so. */
    write(m, "half", 4);
    CHECK("partial line not readable", !readable(s, 200));
    write(m, "\n", 1);
    CHECK("line readable", readable(s, 2000));
    n = read(s, buf, sizeof buf);
    show("completed line", buf, n);
    collect(m, buf, 6);
    /* FIONREAD and a short read of a line. */
    write(m, "abcdef\n", 7);
    CHECK("readable", readable(s, 2000));
    int avail = -1;
    ioctl(s, FIONREAD, &avail);
    printf("FIONREAD %d\n", avail);
    n = read(s, buf, 3);
    show("short read", buf, n);
    n = read(s, buf, sizeof buf);
    show("rest of line", buf, n);
    collect(m, buf, 8);
    /* Output processing: ONLCR, then without it. */
    write(s, "o\np", 3);
    n = collect(m, buf, 4);
    show("onlcr", buf, n);
    struct termios t;
    tcgetattr(s, &t);
    t.c_oflag &= ~ONLCR;
    tcsetattr(s, TCSANOW, &t);
    write(s, "o\np", 3);
    n = collect(m, buf, 3);
    show("no onlcr", buf, n);
    /* ECHONL without ECHO; IGNCR; INLCR. */
    t.c_lflag = (t.c_lflag & ~ECHO) | ECHONL;
    t.c_iflag |= IGNCR;
    tcsetattr(s, TCSANOW, &t);
    typed(m, s, "echonl igncr", "pw\rd\n", 1);
    t.c_iflag = (t.c_iflag & ~(IGNCR | ICRNL)) | INLCR;
    tcsetattr(s, TCSANOW, &t);
    typed(m, s, "inlcr", "t\n\x04", 0);
    EXPECT_ERR("read nonblocking empty", (fcntl(s, F_SETFL, O_NONBLOCK), read(s, buf, 10)), EAGAIN);
    fcntl(s, F_SETFL, 0);
    int avail2 = 0;
    ioctl(m, FIONREAD, &avail2);
    printf("master FIONREAD after all read %d\n", avail2);
    close(s);
    close(m);
}

static void raw(void) {
    char name[64], buf[64];
    int m, s = open_pair(&m, name);
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    t.c_cc[VMIN] = 3;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    write(m, "x\r\x03", 3);
    ssize_t n = read(s, buf, sizeof buf);
    show("raw VMIN=3", buf, n);
    CHECK("raw: no echo", !readable(m, 200));
    t.c_cc[VMIN] = 0;
    tcsetattr(s, TCSANOW, &t);
    double t0 = now();
    n = read(s, buf, sizeof buf);
    printf("VMIN=0 VTIME=0 empty: %zd quick=%d\n", n, now() - t0 < 0.5);
    t.c_cc[VTIME] = 3;
    tcsetattr(s, TCSANOW, &t);
    t0 = now();
    n = read(s, buf, sizeof buf);
    double el = now() - t0;
    printf("VMIN=0 VTIME=3 empty: %zd waited=%d\n", n, el > 0.2 && el < 2.0);
    write(m, "yz", 2);
    readable(s, 2000);
    n = read(s, buf, sizeof buf);
    show("VMIN=0 VTIME=3 data", buf, n);
    t.c_cc[VMIN] = 5;
    t.c_cc[VTIME] = 2;
    tcsetattr(s, TCSANOW, &t);
    write(m, "ab", 2);
    t0 = now();
    n = read(s, buf, sizeof buf);
    el = now() - t0;
    show("VMIN=5 VTIME=2 after 2 bytes", buf, n);
    printf("inter-byte timer: %d\n", el < 2.0);
    /* Leaving canonical mode makes a partial line readable. */
    t.c_lflag |= ICANON;
    tcsetattr(s, TCSANOW, &t);
    write(m, "pending", 7);
    CHECK("canonical partial not readable", !readable(s, 200));
    t.c_lflag &= ~ICANON;
    t.c_cc[VMIN] = 1;
    tcsetattr(s, TCSANOW, &t);
    CHECK("raw now readable", readable(s, 2000));
    n = read(s, buf, sizeof buf);
    show("after leaving canonical", buf, n);
    struct pollfd pw = {m, POLLOUT, 0};
    CHECK("master writable", poll(&pw, 1, 0) == 1);
    close(s);
    close(m);
}

static volatile sig_atomic_t got[65];
static void on_sig(int sig) { got[sig]++; }

/* The child side of the job-control checks: a new session whose controlling terminal is
 * the pty; reports over `rep`. */
static void jc_child(const char *name, int rep) {
    setsid();
    struct sigaction sa = {0};
    sa.sa_handler = on_sig;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigset_t winch;
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    sigprocmask(SIG_BLOCK, &winch, NULL);
    sigaction(SIGCONT, &sa, NULL);
    char line[256];
    int k = 0;
    int fd0 = open("/dev/tty", O_RDWR);
    k += sprintf(line + k, "tty-before-ctty=%s ", fd0 < 0 ? ename(errno) : "opened");
    int s = open(name, O_RDWR | O_NOCTTY);
    pid_t sid = -1;
    k += sprintf(line + k, "noctty-gives-none=%d ", ioctl(s, TIOCGSID, &sid) == -1 && errno == ENOTTY);
    close(s);
    s = open(name, O_RDWR); /* a session leader's first tty becomes its terminal */
    k += sprintf(line + k, "open-acquires=%d ", ioctl(s, TIOCGSID, &sid) == 0 && sid == getsid(0));
    k += sprintf(line + k, "tcgetpgrp=%d ", tcgetpgrp(s) == getpgrp());
    k += sprintf(line + k, "TIOCSCTTY-again=%d ", ioctl(s, TIOCSCTTY, 0) == 0);
    int tty = open("/dev/tty", O_RDWR);
    struct stat a;
    k += sprintf(line + k, "dev-tty=%d ", tty >= 0 && isatty(tty) && fstat(tty, &a) == 0 &&
                                              major(a.st_rdev) == 5 && minor(a.st_rdev) == 0);
    k += sprintf(line + k, "\n");
    write(rep, line, k);
    write(tty, "via-dev-tty\n", 12);
    /* Blocked reads interrupted by typed ^C, then ^\ (no SA_RESTART). */
    char buf[64];
    while (!got[SIGINT]) read(s, buf, sizeof buf);
    k = sprintf(line, "SIGINT=%d SIGQUIT=%d\n", got[SIGINT], got[SIGQUIT]);
    write(rep, line, k);
    while (!got[SIGQUIT]) read(s, buf, sizeof buf);
    k = sprintf(line, "SIGINT=%d SIGQUIT=%d\n", got[SIGINT], got[SIGQUIT]);
    write(rep, line, k);
    /* SIGWINCH (blocked, so it stays pending) on a window size change. */
    ssize_t n = read(s, buf, sizeof buf);
    sigset_t pend;
    sigpending(&pend);
    struct winsize ws;
    ioctl(s, TIOCGWINSZ, &ws);
    k = sprintf(line, "line=%zd SIGWINCH pending=%d size=%dx%d\n", n, sigismember(&pend, SIGWINCH),
                ws.ws_row, ws.ws_col);
    write(rep, line, k);
    /* Hangup: the parent closes the master. */
    write(rep, "hup-next\n", 9);
    while (!got[SIGHUP]) pause();
    errno = 0;
    ssize_t r = read(s, buf, sizeof buf);
    int re = errno;
    errno = 0;
    ssize_t w = write(s, "x", 1);
    int we = errno;
    struct pollfd p = {s, POLLIN, 0};
    poll(&p, 1, 0);
    int t2 = open("/dev/tty", O_RDWR);
    k = sprintf(line, "SIGHUP=%d SIGCONT=%d read=%zd/%s write=%zd/%s pollhup=%d tty=%s\n",
                got[SIGHUP], got[SIGCONT] > 0, r, ename(r < 0 ? re : 0), w, ename(w < 0 ? we : 0),
                !!(p.revents & POLLHUP), t2 < 0 ? ename(errno) : "opened");
    write(rep, line, k);
    _exit(0);
}

static void relay(int rep) {
    char buf[512];
    int k = 0;
    for (;;) {
        ssize_t n = read(rep, buf + k, 1);
        if (n <= 0) break;
        if (buf[k] == '\n') break;
        k++;
    }
    buf[k] = 0;
    printf("child: %s\n", buf);
    fflush(stdout);
}

static void job_control(void) {
    char name[64], buf[256];
    int m, s = open_pair(&m, name);
    close(s);
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        close(m);
        jc_child(name, p[1]);
    }
    close(p[1]);
    relay(p[0]);
    int n = collect(m, buf, 13);
    show("written via /dev/tty", buf, n);
    usleep(200000);
    write(m, "jun\x03", 4);
    relay(p[0]);
    n = collect(m, buf, 2);
    show("echo of ^C", buf, n);
    usleep(200000);
    write(m, "\x1c", 1);
    relay(p[0]);
    collect(m, buf, 2);
    struct winsize ws = {24, 80, 0, 0};
    ioctl(m, TIOCSWINSZ, &ws);
    ws.ws_row = 33;
    ws.ws_col = 111;
    ioctl(m, TIOCSWINSZ, &ws);
    write(m, "w\n", 2);
    relay(p[0]);
    collect(m, buf, 3);
    relay(p[0]); /* hup-next */
    int st;
    usleep(200000);
    pid_t fg = -1;
    CHECK("TIOCGPGRP on master", ioctl(m, TIOCGPGRP, &fg) == 0 && fg == pid);
    close(m);
    relay(p[0]);
    CHECK("child exit", waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void master_side(void) {
    char name[64], buf[16];
    int m, s = open_pair(&m, name);
    write(s, "bye", 3);
    close(s);
    ssize_t n = read(m, buf, sizeof buf);
    show("master reads what was left", buf, n);
    EXPECT_ERR("master read after slave closed", read(m, buf, sizeof buf), EIO);
    struct pollfd p = {m, POLLIN, 0};
    poll(&p, 1, 0);
    printf("master POLLHUP=%d\n", !!(p.revents & POLLHUP));
    printf("master write after slave closed: %zd\n", write(m, "x", 1));
    pid_t x;
    EXPECT_ERR("TIOCGSID not ctty", ioctl(m, TIOCGSID, &x), ENOTTY);
    EXPECT_ERR("TIOCSPGRP not ctty", (x = getpgrp(), ioctl(m, TIOCSPGRP, &x)), ENOTTY);
    EXPECT_ERR("TIOCNOTTY not ctty", ioctl(m, TIOCNOTTY), ENOTTY);
    EXPECT_ERR("TIOCGPTN bad pointer", ioctl(m, TIOCGPTN, (void *)8), EFAULT);
    close(m);
    /* A fresh setsid child has no terminal. */
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        int fd = open("/dev/tty", O_RDWR);
        printf("setsid child /dev/tty: %s\n", fd < 0 ? ename(errno) : "opened");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

/* The last master descriptor is close-on-exec: the exec hangs the pty up, and a reader
 * blocked on the slave wakes with end of file. */
static void hangup_by_exec(const char *self) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    grantpt(m);
    unlockpt(m);
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    pid_t pid = fork();
    if (pid == 0) {
        close(s);
        usleep(300000);
        execl(self, self, "--exit", (char *)NULL);
        _exit(1);
    }
    close(m);
    char buf[8];
    ssize_t n = read(s, buf, sizeof buf);
    printf("slave read after the master closed by exec: %zd %s\n", n, ename(n < 0 ? errno : 0));
    waitpid(pid, NULL, 0);
    close(s);
}

/* TIOCNOTTY by a session leader, and a session leader's exit: either way its terminal's
 * foreground group gets SIGHUP. A grandchild in the foreground group reports. */
static void leader_gives_up(int notty) {
    char name[64];
    int m, s = open_pair(&m, name);
    close(s);
    int p[2];
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        setsid();
        int t = open(name, O_RDWR);
        int g[2], h[2];
        pipe(g);
        pipe(h); /* the leader's report goes first: it closes h when done */
        pid_t gc = fork();
        if (gc == 0) {
            close(h[1]);
            setpgid(0, 0);
            struct sigaction sa = {0};
            sa.sa_handler = on_sig;
            sigaction(SIGHUP, &sa, NULL);
            write(g[1], "r", 1);
            while (!got[SIGHUP]) pause();
            char x;
            while (read(h[0], &x, 1) > 0) { }
            pid_t sid;
            int r = ioctl(t, TIOCGSID, &sid);
            char line[128];
            int k = sprintf(line, "foreground group got SIGHUP=%d, TIOCGSID after: %s\n",
                            got[SIGHUP], r == 0 ? "ok" : ename(errno));
            write(p[1], line, k);
            _exit(0);
        }
        char c;
        read(g[0], &c, 1);
        setpgid(gc, gc);
        signal(SIGTTOU, SIG_IGN);
        tcsetpgrp(t, gc);
        if (notty) {
            int r = ioctl(t, TIOCNOTTY);
            pid_t sid;
            int r2 = ioctl(t, TIOCGSID, &sid);
            char line[128];
            int k = sprintf(line, "TIOCNOTTY=%d then TIOCGSID=%s\n", r, r2 == 0 ? "ok" : ename(errno));
            write(p[1], line, k);
            close(h[1]);
            waitpid(gc, NULL, 0);
        }
        _exit(0);
    }
    close(p[1]);
    relay(p[0]);
    if (notty) relay(p[0]);
    waitpid(pid, NULL, 0);
    close(p[0]);
    close(m);
}

/* The old termio interface (TCGETA/TCSETA) over termios, and its errnos. */
static void termio(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    struct termio old, t;
    printf("TCGETA: %d\n", ioctl(s, TCGETA, &old));
    t = old;
    t.c_lflag &= ~ECHO;
    t.c_cc[VINTR] = 3 + 1;
    printf("TCSETA: %d\n", ioctl(s, TCSETA, &t));
    struct termios full;
    tcgetattr(s, &full);
    printf("termios sees it: echo=%d intr=%d\n", !!(full.c_lflag & ECHO), full.c_cc[VINTR]);
    EXPECT_ERR("TCGETA bad pointer", ioctl(s, TCGETA, (void *)8), EFAULT);
    int fd = open("/dev/null", O_RDONLY);
    EXPECT_ERR("TCGETA not a tty", ioctl(fd, TCGETA, &t), ENOTTY);
    close(fd);
    close(s);
    close(m);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--exit") == 0) return 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    hangup_by_exec(argv[0]);
    allocation();
    canonical();
    raw();
    master_side();
    job_control();
    leader_gives_up(1);
    leader_gives_up(0);
    termio();
    printf("done\n");
    return 0;
}
