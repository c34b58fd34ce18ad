/* splice (file to pipe, pipe to file, pipe to pipe) and tee: offsets and file positions,
 * SPLICE_F_NONBLOCK, blocking until a writer comes, end of file, EPIPE, and errnos.
 * argv[1]: a scratch directory (created). */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static void result(const char *name, ssize_t r) {
    if (r < 0) printf("%s: %s\n", name, ename(errno));
    else printf("%s: %zd\n", name, r);
}

static void drain(const char *name, int fd) {
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    printf("%s: \"%.*s\"\n", name, (int)(n < 0 ? 0 : n), buf);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) return 2;
    if (mkdir(argv[1], 0700) && errno != EEXIST) return 1;
    if (chdir(argv[1])) return 1;
    signal(SIGPIPE, SIG_IGN);
    int in = open("in", O_RDWR | O_CREAT | O_TRUNC, 0600);
    int out = open("out", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0) return 1;
    const char *text = "hello splice world\n";
    if (write(in, text, strlen(text)) != (ssize_t)strlen(text)) return 1;
    lseek(in, 0, SEEK_SET);
    int p[2], q[2];
    if (pipe(p) || pipe(q)) return 1;

    /* file -> pipe at an offset: the offset moves, the file position does not */
    loff_t off = 6;
    result("file->pipe at 6", splice(in, &off, p[1], NULL, 6, 0));
    printf("offset now %lld, position %lld\n", (long long)off, (long long)lseek(in, 0, SEEK_CUR));
    drain("pipe holds", p[0]);
    /* file -> pipe at the position */
    result("file->pipe at position", splice(in, NULL, p[1], NULL, 5, 0));
    printf("position %lld\n", (long long)lseek(in, 0, SEEK_CUR));
    /* pipe -> file at an offset, then at the position */
    off = 3;
    result("pipe->file at 3", splice(p[0], NULL, out, &off, 100, 0));
    printf("offset now %lld\n", (long long)off);
    write(p[1], "XY", 2);
    result("pipe->file at position", splice(p[0], NULL, out, NULL, 100, 0));
    char buf[64] = {0};
    ssize_t n = pread(out, buf, sizeof buf, 0);
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == 0) buf[i] = '.';
    printf("out: \"%.*s\"\n", (int)n, buf);

    /* to and from our stdout, a host pipe when the tests run us */
    struct stat so;
    if (fstat(1, &so) == 0 && S_ISFIFO(so.st_mode)) {
        off = 0;
        printf("to stdout: [");
        ssize_t r = splice(in, &off, 1, NULL, 6, 0);
        printf("] %zd\n", r);
        write(p[1], "via pipe\n", 9);
        result("pipe to stdout", splice(p[0], NULL, 1, NULL, 100, 0));
    }

    /* pipe -> pipe moves, tee copies */
    write(p[1], "abcdef", 6);
    result("pipe->pipe 4", splice(p[0], NULL, q[1], NULL, 4, 0));
    drain("q", q[0]);
    write(p[1], "xyz", 3);
    result("tee", tee(p[0], q[1], 100, 0));
    drain("q after tee", q[0]);
    drain("p after tee", p[0]);

    /* non-blocking: nothing to move, no room */
    result("empty NONBLOCK", splice(p[0], NULL, q[1], NULL, 10, SPLICE_F_NONBLOCK));
    result("empty to file NONBLOCK", splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK));
    result("tee empty NONBLOCK", tee(p[0], q[1], 10, SPLICE_F_NONBLOCK));
    fcntl(q[1], F_SETFL, O_NONBLOCK);
    char big[4096];
    memset(big, 'z', sizeof big);
    while (write(q[1], big, sizeof big) > 0) { }
    fcntl(q[1], F_SETFL, 0);
    lseek(in, 0, SEEK_SET);
    result("full NONBLOCK", splice(in, NULL, q[1], NULL, 10, SPLICE_F_NONBLOCK));
    close(q[0]);
    close(q[1]);
    if (pipe(q)) return 1;

    /* a blocking splice waits for the writer */
    pid_t c = fork();
    if (c == 0) {
        msleep(200);
        write(p[1], "late", 4);
        _exit(0);
    }
    result("blocking pipe->pipe", splice(p[0], NULL, q[1], NULL, 100, 0));
    drain("q", q[0]);
    waitpid(c, NULL, 0);

    /* errnos */
    result("len 0", splice(-1, NULL, -1, NULL, 0, 0));
    errno = 0;
    result("bad flags", splice(p[0], NULL, q[1], NULL, 1, 0x100));
    result("bad fd", splice(99, NULL, q[1], NULL, 1, 0));
    result("file->file", splice(in, NULL, out, NULL, 1, 0));
    off = 0;
    result("offset on pipe", splice(p[0], &off, out, NULL, 1, 0));
    result("pipe to itself", splice(p[0], NULL, p[1], NULL, 1, 0));
    off = -1;
    write(p[1], "a", 1);
    result("negative offset", splice(p[0], NULL, out, &off, 1, 0));
    result("bad offset pointer", splice(p[0], NULL, out, (loff_t *)8, 1, 0));
    int app = open("out", O_WRONLY | O_APPEND);
    result("to O_APPEND", splice(p[0], NULL, app, NULL, 1, 0));
    result("from write end", splice(p[1], NULL, out, NULL, 1, 0));
    result("to read end", splice(in, NULL, p[0], NULL, 1, 0));
    result("tee file", tee(in, q[1], 1, 0));
    result("tee itself", tee(p[0], p[1], 1, 0));
    result("tee bad flags", tee(p[0], q[1], 1, 0x100));
    drain("p", p[0]);

    /* end of file and EPIPE */
    close(p[1]);
    result("eof", splice(p[0], NULL, q[1], NULL, 10, 0));
    close(q[0]);
    result("no reader", splice(in, NULL, q[1], NULL, 10, 0));
    unlink("in");
    unlink("out");
    chdir("/");
    rmdir(argv[1]);
    return 0;
}
