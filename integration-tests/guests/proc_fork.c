/* fork / vfork: copy-on-write memory, inherited state, exit statuses, many children.
 * Children never print; they report through exit codes and pipes, so output is ordered. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <spawn.h>

static int global = 42;
static volatile int vfork_flag;

static int wait_code(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static void cow(void) {
    int *heap = malloc(sizeof(int));
    *heap = 7;
    char stack[64];
    strcpy(stack, "parent-stack");
    int *priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    priv[0] = 1;
    priv[1024] = 2;
    shared[0] = 10;
    int to_child[2], to_parent[2];
    if (pipe(to_child) || pipe(to_parent)) { puts("bad pipe"); return; }
    char c;
    pid_t pid = fork();
    if (pid == 0) {
        /* child: write everything, tell the parent, wait, verify nothing changed under us */
        global = 100;
        *heap = 101;
        strcpy(stack, "child-stack");
        priv[0] = 102;
        shared[0] = 103;
        if (write(to_parent[1], "c", 1) != 1) _exit(90);
        if (read(to_child[0], &c, 1) != 1) _exit(91);
        int bad = 0;
        if (global != 100) bad |= 1;
        if (*heap != 101) bad |= 2;
        if (strcmp(stack, "child-stack")) bad |= 4;
        if (priv[0] != 102 || priv[1024] != 2) bad |= 8;
        if (shared[0] != 203) bad |= 16; /* parent's write to the shared page is visible */
        _exit(bad);
    }
    if (read(to_parent[0], &c, 1) != 1) puts("bad sync");
    CHECK("cow global unchanged in parent", global == 42);
    CHECK("cow heap unchanged in parent", *heap == 7);
    CHECK("cow stack unchanged in parent", strcmp(stack, "parent-stack") == 0);
    CHECK("cow private mmap unchanged in parent", priv[0] == 1 && priv[1024] == 2);
    CHECK("shared mmap sees child write", shared[0] == 103);
    global = 200;
    *heap = 201;
    priv[1024] = 202;
    shared[0] = 203;
    if (write(to_child[1], "p", 1) != 1) puts("bad sync2");
    int code = wait_code(pid);
    printf("child cow check bits=%d\n", code);
    CHECK("parent keeps its own writes", global == 200 && *heap == 201 && priv[1024] == 202);
    close(to_child[0]); close(to_child[1]); close(to_parent[0]); close(to_parent[1]);
}

static void identity(void) {
    int p[2];
    if (pipe(p)) return;
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        pid_t ids[2] = {getpid(), getppid()};
        if (write(p[1], ids, sizeof ids) != sizeof ids) _exit(1);
        _exit(0);
    }
    pid_t ids[2];
    CHECK("read child ids", read(p[0], ids, sizeof ids) == sizeof ids);
    CHECK("fork returns child's pid", ids[0] == pid);
    CHECK("child's ppid is parent", ids[1] == me);
    CHECK("child pid differs", pid != me && pid > 0);
    wait_code(pid);
    close(p[0]);
    close(p[1]);
}

static void inherit(void) {
    /* cwd, umask, ignored signal, blocked mask, open fd with offset */
    char tmpl[] = "/tmp/proc_fork_XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) { puts("bad mkdtemp"); return; }
    char oldcwd[4096];
    if (!getcwd(oldcwd, sizeof oldcwd)) return;
    if (chdir(dir)) puts("bad chdir");
    mode_t oldmask = umask(027);
    signal(SIGUSR2, SIG_IGN);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    int fd = open("f", O_RDWR | O_CREAT, 0666);
    if (write(fd, "abcdef", 6) != 6) puts("bad write");
    lseek(fd, 2, SEEK_SET);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        char buf[4096];
        if (!getcwd(buf, sizeof buf) || strcmp(buf, dir)) bad |= 1;
        mode_t m = umask(0);
        umask(m);
        if (m != 027) bad |= 2;
        struct sigaction sa;
        sigaction(SIGUSR2, NULL, &sa);
        if (sa.sa_handler != SIG_IGN) bad |= 4;
        sigset_t cur;
        sigprocmask(SIG_BLOCK, NULL, &cur);
        if (!sigismember(&cur, SIGUSR1)) bad |= 8;
        char c;
        if (read(fd, &c, 1) != 1 || c != 'c') bad |= 16; /* shared offset */
        int nf = open("g", O_CREAT | O_WRONLY, 0666);
        struct stat st;
        if (nf < 0 || fstat(nf, &st) || (st.st_mode & 0777) != 0640) bad |= 32;
        _exit(bad);
    }
    printf("inherit bits=%d\n", wait_code(pid));
    CHECK("fd offset shared with child", lseek(fd, 0, SEEK_CUR) == 3);
    close(fd);
    unlink("f");
    unlink("g");
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR2, SIG_DFL);
    umask(oldmask);
    if (chdir(oldcwd)) puts("bad chdir back");
    rmdir(dir);
}

static void statuses(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(37);
    printf("exit status %d\n", wait_code(pid));
    pid = fork();
    if (pid == 0) exit(256 + 5);
    printf("exit status (256+5) %d\n", wait_code(pid));
    pid = fork();
    if (pid == 0) { syscall(SYS_exit_group, 12); _exit(1); }
    printf("exit_group status %d\n", wait_code(pid));
    pid = fork();
    if (pid == 0) { syscall(SYS_exit, 13); _exit(1); }
    printf("exit status via SYS_exit %d\n", wait_code(pid));
    pid = fork();
    if (pid == 0) _exit(0);
    printf("plain child status %d\n", wait_code(pid));
}

#define MANY 50
static void many(void) {
    pid_t pids[MANY];
    for (int i = 0; i < MANY; i++) {
        pids[i] = fork();
        if (pids[i] == 0) _exit(i + 1);
        if (pids[i] < 0) { printf("bad fork %d: %s\n", i, ename(errno)); return; }
    }
    int ok = 1;
    /* reap the even ones by pid, in reverse order */
    for (int i = MANY - 1; i >= 0; i -= 1) {
        if (i % 2) continue;
        if (wait_code(pids[i]) != i + 1) ok = 0;
    }
    /* the rest with wait(-1) */
    int sum = 0, n = 0, st;
    pid_t w;
    while ((w = wait(&st)) > 0) {
        int idx = -1;
        for (int i = 0; i < MANY; i++)
            if (pids[i] == w) idx = i;
        if (idx < 0 || idx % 2 == 0 || WEXITSTATUS(st) != idx + 1) ok = 0;
        sum += WEXITSTATUS(st);
        n++;
    }
    CHECK("many children reaped by pid", ok);
    printf("wait(-1) reaped %d, sum %d, then %s\n", n, sum, ename(errno));
}

static void nested(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pid_t g = fork();
        if (g == 0) {
            pid_t h = fork();
            if (h == 0) _exit(3);
            _exit(wait_code(h) + 4);
        }
        _exit(wait_code(g) + 10);
    }
    printf("nested fork status %d\n", wait_code(pid));
}

static void do_vfork(void) {
    vfork_flag = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        /* the parent is suspended: it cannot observe 0 after we set 1 */
        vfork_flag = 1;
        for (volatile int i = 0; i < 1000000; i++) { }
        vfork_flag = 2;
        _exit(9);
    }
    CHECK("vfork child ran to _exit before parent resumed", vfork_flag == 2);
    printf("vfork child status %d\n", wait_code(pid));

    /* vfork + exec of a missing program: child _exits with errno */
    pid = vfork();
    if (pid == 0) {
        execl("/nonexistent/prog", "prog", (char *)NULL);
        _exit(errno == ENOENT ? 20 : 21);
    }
    printf("vfork exec-fail status %d\n", wait_code(pid));

    /* posix_spawn uses clone(CLONE_VM|CLONE_VFORK); the child execs (here: fails to) */
    extern char **environ;
    char *av[] = {"prog", NULL};
    int r = posix_spawn(&pid, "/nonexistent/prog", NULL, NULL, av, environ);
    printf("posix_spawn missing program: %s\n", ename(r));
    if (r == 0) wait_code(pid);

    /* plain clone without CLONE_VM behaves as fork */
    pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(33);
    printf("clone(SIGCHLD) child status %d\n", wait_code(pid));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    cow();
    identity();
    inherit();
    statuses();
    many();
    nested();
    do_vfork();
    puts("done");
    return 0;
}
