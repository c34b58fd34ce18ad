/* ETXTBSY both ways (a running program opened for writing; a file open for writing
 * executed), and execveat's dirfd and AT_SYMLINK_NOFOLLOW rules. The guest runs copies
 * of itself: `txtbsy sleep` sleeps a little, `txtbsy exit N` exits with N. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void msleep(int ms) { usleep(ms * 1000); }

static int copy(const char *from, const char *to) {
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, n);
    close(in);
    close(out);
    return n;
}

static int status_of(pid_t c) {
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "sleep")) {
        msleep(400);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "exit")) return atoi(argv[2]);
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/uml-txtbsy-XXXXXX", prog[300], link[300];
    mkdtemp(dir);
    snprintf(prog, sizeof prog, "%s/prog", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    copy("/proc/self/exe", prog);

    /* A running program cannot be opened for writing (nor emptied). */
    pid_t c = fork();
    if (c == 0) {
        execl(prog, prog, "sleep", (char *)NULL);
        _exit(99);
    }
    msleep(150);
    EXPECT_ERR("open running program for writing", open(prog, O_WRONLY), ETXTBSY);
    EXPECT_ERR("truncating open of running program", open(prog, O_WRONLY | O_TRUNC), ETXTBSY);
    struct stat st;
    stat(prog, &st);
    printf("still whole: %d\n", st.st_size > 1000);
    int rd = open(prog, O_RDONLY);
    printf("open for reading: %s\n", rd >= 0 ? "ok" : ename(errno));
    close(rd);
    printf("sleeper exit %d\n", status_of(c));
    int w = open(prog, O_WRONLY);
    printf("open for writing once it ended: %s\n", w >= 0 ? "ok" : ename(errno));

    /* ... and a file open for writing cannot be executed. */
    c = fork();
    if (c == 0) {
        execl(prog, prog, "exit", "3", (char *)NULL);
        printf("exec while open for writing: %s\n", ename(errno));
        _exit(0);
    }
    printf("child exit %d\n", status_of(c));
    close(w);
    c = fork();
    if (c == 0) {
        execl(prog, prog, "exit", "3", (char *)NULL);
        _exit(99);
    }
    printf("after close: exit %d\n", status_of(c));

    /* execveat: an absolute path ignores dirfd (even -1); NOFOLLOW refuses a symlink. */
    symlink(prog, link);
    char *args[] = {prog, "exit", "4", NULL};
    extern char **environ;
    c = fork();
    if (c == 0) {
        syscall(SYS_execveat, -1, prog, args, environ, 0);
        _exit(99);
    }
    printf("execveat(-1, absolute): exit %d\n", status_of(c));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    c = fork();
    if (c == 0) {
        syscall(SYS_execveat, dfd, "link", args, environ, AT_SYMLINK_NOFOLLOW);
        printf("execveat NOFOLLOW on a symlink: %s\n", ename(errno));
        _exit(0);
    }
    status_of(c);
    c = fork();
    if (c == 0) {
        syscall(SYS_execveat, dfd, "link", args, environ, 0);
        _exit(99);
    }
    printf("execveat following the symlink: exit %d\n", status_of(c));
    unlink(link);
    unlink(prog);
    rmdir(dir);
    printf("done\n");
    return 0;
}
