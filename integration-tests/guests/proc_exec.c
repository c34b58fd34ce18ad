/* execve: a chain of self-execs with a counter, FD_CLOEXEC, dispositions and masks across
 * exec, pid preserved, shebang scripts, execveat, and the errors Linux returns.
 * argv[0] must be an absolute (or cwd-relative) path to this program. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;
static const char *self;

static void handler(int sig) { (void)sig; }

static void reexec(int stage, int cloexec_fd, int keep_fd, long pid) {
    char s[16], a[16], b[16], p[32];
    snprintf(s, sizeof s, "%d", stage);
    snprintf(a, sizeof a, "%d", cloexec_fd);
    snprintf(b, sizeof b, "%d", keep_fd);
    snprintf(p, sizeof p, "%ld", pid);
    char *av[] = {(char *)self, "stage", s, a, b, p, NULL};
    char env_stage[32];
    snprintf(env_stage, sizeof env_stage, "PROC_EXEC_STAGE=%d", stage);
    char *ev[] = {env_stage, "PROC_EXEC_MARK=yes", NULL};
    fflush(stdout);
    execve(self, av, ev);
    printf("bad execve self: %s\n", ename(errno));
    exit(1);
}

static int wait_code(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static void write_file(const char *path, const char *text, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) puts("bad write_file");
    close(fd);
    chmod(path, mode);
}

/* Run `path` in a forked child with execve; the child reports the errno as exit code. */
static void try_exec(const char *name, const char *path) {
    pid_t pid = fork();
    if (pid == 0) {
        char *av[] = {(char *)path, "arg1", NULL};
        execve(path, av, environ);
        printf("%s=%s\n", name, ename(errno));
        fflush(stdout);
        _exit(100);
    }
    int code = wait_code(pid);
    if (code != 100) printf("%s child status %d\n", name, code);
}

static void errors_and_scripts(void) {
    char tmpl[] = "/tmp/proc_exec_XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) { puts("bad mkdtemp"); return; }
    char p_noexec[256], p_garbage[256], p_script[256], p_badinterp[256], p_empty[256],
        p_dirscript[256];
    snprintf(p_noexec, sizeof p_noexec, "%s/noexec", dir);
    snprintf(p_garbage, sizeof p_garbage, "%s/garbage", dir);
    snprintf(p_script, sizeof p_script, "%s/script", dir);
    snprintf(p_badinterp, sizeof p_badinterp, "%s/badinterp", dir);
    snprintf(p_empty, sizeof p_empty, "%s/empty", dir);
    snprintf(p_dirscript, sizeof p_dirscript, "%s/dirinterp", dir);

    write_file(p_noexec, "#!/bin/sh\necho hi\n", 0644);
    write_file(p_garbage, "this is neither ELF nor a script\n", 0755);
    char shebang[512];
    snprintf(shebang, sizeof shebang, "#!%s shebang-mode\nignored body\n", self);
    write_file(p_script, shebang, 0755);
    write_file(p_badinterp, "#!/nonexistent/interpreter\n", 0755);
    write_file(p_empty, "", 0755);
    char dirsb[512];
    snprintf(dirsb, sizeof dirsb, "#!%s\n", dir);
    write_file(p_dirscript, dirsb, 0755);

    try_exec("exec missing", "/nonexistent/program");
    try_exec("exec missing dir component", "/tmp/proc_exec_no_such_dir/x");
    try_exec("exec not executable", p_noexec);
    try_exec("exec directory", dir);
    try_exec("exec garbage", p_garbage);
    try_exec("exec empty file", p_empty);
    try_exec("exec missing interpreter", p_badinterp);
    try_exec("exec directory interpreter", p_dirscript);
    char notdir[300];
    snprintf(notdir, sizeof notdir, "%s/x", p_garbage);
    try_exec("exec through a file", notdir);

    /* shebang: the interpreter (this program) gets [self, "shebang-mode", script, arg1] */
    pid_t pid = fork();
    if (pid == 0) {
        char *av[] = {"ignored-argv0", "arg1", NULL};
        fflush(stdout);
        execve(p_script, av, environ);
        printf("bad exec script: %s\n", ename(errno));
        _exit(1);
    }
    printf("shebang child status %d\n", wait_code(pid));

    /* execveat: relative to a directory fd, and AT_EMPTY_PATH on an fd of the file */
    char selfdir[4096];
    strncpy(selfdir, self, sizeof selfdir - 1);
    selfdir[sizeof selfdir - 1] = 0;
    char *slash = strrchr(selfdir, '/');
    const char *base = self;
    if (slash) { *slash = 0; base = slash + 1; } else strcpy(selfdir, ".");
    if (selfdir[0] == 0) strcpy(selfdir, "/");
    pid = fork();
    if (pid == 0) {
        int dfd = open(selfdir, O_RDONLY | O_DIRECTORY);
        char *av[] = {(char *)self, "exit-with", "21", NULL};
        fflush(stdout);
        syscall(SYS_execveat, dfd, base, av, environ, 0);
        printf("bad execveat dirfd: %s\n", ename(errno));
        _exit(1);
    }
    printf("execveat(dirfd, name) status %d\n", wait_code(pid));
    pid = fork();
    if (pid == 0) {
        int fd = open(self, O_RDONLY);
        char *av[] = {(char *)self, "exit-with", "22", NULL};
        fflush(stdout);
        syscall(SYS_execveat, fd, "", av, environ, AT_EMPTY_PATH);
        printf("bad execveat empty path: %s\n", ename(errno));
        _exit(1);
    }
    printf("execveat(fd, \"\", AT_EMPTY_PATH) status %d\n", wait_code(pid));
    errno = 0;
    long r = syscall(SYS_execveat, AT_FDCWD, "", (char *[]){NULL}, environ, 0);
    printf("execveat empty path without flag: ret=%ld %s\n", r, ename(errno));

    /* the exit status of an exec'd program is the child's status */
    pid = fork();
    if (pid == 0) {
        char *av[] = {(char *)self, "exit-with", "77", NULL};
        execve(self, av, environ);
        _exit(1);
    }
    printf("exec'd program status %d\n", wait_code(pid));

    /* vfork + exec: the parent resumes once the child has exec'd */
    pid = vfork();
    if (pid == 0) {
        char *av[] = {(char *)self, "exit-with", "78", NULL};
        execve(self, av, environ);
        _exit(1);
    }
    printf("vfork+exec status %d\n", wait_code(pid));

    /* close-on-exec pipe: EOF on the read end tells the parent the exec succeeded */
    int p[2];
    if (pipe2(p, O_CLOEXEC)) puts("bad pipe2");
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        char *av[] = {(char *)self, "exit-with", "0", NULL};
        execve(self, av, environ);
        char e = (char)errno;
        if (write(p[1], &e, 1) != 1) _exit(2);
        _exit(1);
    }
    close(p[1]);
    char e;
    printf("cloexec pipe read after exec: %zd\n", read(p[0], &e, 1));
    close(p[0]);
    wait_code(pid);

    unlink(p_noexec);
    unlink(p_garbage);
    unlink(p_script);
    unlink(p_badinterp);
    unlink(p_empty);
    unlink(p_dirscript);
    rmdir(dir);
}

static void check_stage(int stage, int cloexec_fd, int keep_fd, long pid) {
    printf("stage %d argv ok\n", stage);
    CHECK("pid preserved across exec", getpid() == pid);
    const char *es = getenv("PROC_EXEC_STAGE");
    CHECK("new environment", es && atoi(es) == stage && getenv("PROC_EXEC_MARK") &&
                                  !getenv("PROC_EXEC_UNSET_ME"));
    errno = 0;
    CHECK("cloexec fd closed", fcntl(cloexec_fd, F_GETFD) == -1 && errno == EBADF);
    CHECK("plain fd kept, flag clear", fcntl(keep_fd, F_GETFD) == 0);
    char buf[8] = {0};
    CHECK("plain fd keeps offset", read(keep_fd, buf, 1) == 1 && buf[0] == 'a' + stage);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    CHECK("handled signal reset to default", sa.sa_handler == SIG_DFL);
    sigaction(SIGUSR2, NULL, &sa);
    CHECK("ignored signal stays ignored", sa.sa_handler == SIG_IGN);
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK("blocked mask kept", sigismember(&cur, SIGTERM) && !sigismember(&cur, SIGINT));
    sigpending(&cur);
    CHECK("pending signal kept", sigismember(&cur, SIGTERM));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    self = argv[0];
    if (argc >= 2 && strcmp(argv[1], "exit-with") == 0) return argc > 2 ? atoi(argv[2]) : 0;
    if (argc >= 2 && strcmp(argv[1], "shebang-mode") == 0) {
        /* argv = [interpreter, "shebang-mode", script path, arg1] */
        printf("shebang argc=%d arg1=%s script-is-path=%d\n", argc, argc > 3 ? argv[3] : "-",
               argc > 2 && strstr(argv[2], "/proc_exec_") != NULL);
        return 5;
    }
    if (argc >= 6 && strcmp(argv[1], "stage") == 0) {
        int stage = atoi(argv[2]);
        int a = atoi(argv[3]), b = atoi(argv[4]);
        long pid = atol(argv[5]);
        check_stage(stage, a, b, pid);
        if (stage < 5) {
            /* a fresh cloexec fd for the next stage, keep fd b */
            int na = open(self, O_RDONLY | O_CLOEXEC);
            reexec(stage + 1, na, b, pid);
        }
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        signal(SIGTERM, SIG_IGN); /* discard the pending SIGTERM */
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        errors_and_scripts();
        puts("done");
        return 0;
    }

    /* stage 0: set up state that exec must drop or keep */
    int a = open(self, O_RDONLY | O_CLOEXEC);
    int p[2];
    if (pipe(p)) return 1;
    if (write(p[1], "abcdefgh", 8) != 8) return 1;
    close(p[1]);
    int b = p[0];
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGUSR2, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGTERM); /* stays pending across exec */
    setenv("PROC_EXEC_UNSET_ME", "1", 1);
    char c;
    if (read(b, &c, 1) != 1) return 1; /* stage 1 reads 'b' */
    reexec(1, a, b, getpid());
    return 1;
}
