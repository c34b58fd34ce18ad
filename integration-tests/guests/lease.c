/* File leases: F_SETLEASE/F_GETLEASE rules (read lease only without writers, write lease
 * only without other opens, owner or CAP_LEASE), and breaking: another process's open for
 * writing sends the holder SIGIO and waits until the holder gives the lease up; a
 * non-blocking open fails with EWOULDBLOCK. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t got_sigio;
static void on_sigio(int s) { (void)s, got_sigio++; }

static double mono(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[] = "/tmp/uml-lease-XXXXXX";
    int w = mkstemp(path);
    write(w, "data", 4);
    EXPECT_ERR("read lease on a file open for writing", fcntl(w, F_SETLEASE, F_RDLCK), EAGAIN);
    close(w);
    int r = open(path, O_RDONLY);
    printf("read lease: %d get=%d\n", fcntl(r, F_SETLEASE, F_RDLCK), fcntl(r, F_GETLEASE));
    int r2 = open(path, O_RDONLY);
    printf("second reader keeps it: get=%d\n", fcntl(r, F_GETLEASE));
    EXPECT_ERR("write lease with another open", fcntl(r, F_SETLEASE, F_WRLCK), EAGAIN);
    close(r2);
    printf("write lease alone: %d get=%d\n", fcntl(r, F_SETLEASE, F_WRLCK), fcntl(r, F_GETLEASE));
    printf("unlock: %d get=%d\n", fcntl(r, F_SETLEASE, F_UNLCK), fcntl(r, F_GETLEASE));
    EXPECT_ERR("unknown lease type", fcntl(r, F_SETLEASE, 7), EINVAL);
    int p[2];
    pipe(p);
    EXPECT_ERR("lease on a pipe", fcntl(p[0], F_SETLEASE, F_RDLCK), EINVAL);

    /* Breaking a read lease. */
    signal(SIGIO, on_sigio);
    printf("read lease again: %d\n", fcntl(r, F_SETLEASE, F_RDLCK));
    pid_t c = fork();
    if (c == 0) {
        /* Printed once the blocking open is done (after the holder's lines). */
        int nb = open(path, O_WRONLY | O_NONBLOCK);
        int nb_errno = errno;
        double t0 = mono();
        int fd = open(path, O_WRONLY);
        double waited = mono() - t0;
        printf("child non-blocking open for writing: %d %s\n", nb, nb < 0 ? ename(nb_errno) : "");
        printf("child open for writing done: ok=%d waited=%d\n", fd >= 0, waited >= 0.1);
        _exit(0);
    }
    while (!got_sigio) usleep(1000);
    printf("holder got SIGIO: %d\n", got_sigio >= 1);
    usleep(200 * 1000);
    int gave = fcntl(r, F_SETLEASE, F_UNLCK);
    int st;
    waitpid(c, &st, 0);
    printf("gave it up: %d\n", gave);
    /* An open for reading does not break a read lease. */
    printf("read lease once more: %d\n", fcntl(r, F_SETLEASE, F_RDLCK));
    got_sigio = 0;
    c = fork();
    if (c == 0) {
        int fd = open(path, O_RDONLY | O_NONBLOCK);
        printf("child open for reading: ok=%d\n", fd >= 0);
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("no SIGIO for a reader: %d\n", got_sigio == 0);
    fcntl(r, F_SETLEASE, F_UNLCK);
    close(r);
    unlink(path);
    printf("done\n");
    return 0;
}
