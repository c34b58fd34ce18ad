/* Credentials: real/effective/saved/filesystem ids and supplementary groups, every set*id
 * call with Linux's rules and errnos for a privileged and an unprivileged caller (each
 * scenario in a child, so the parent stays root), /proc/self/status, and execve of a
 * set-user-ID copy of this program (with and without PR_SET_NO_NEW_PRIVS). Runs as root. */
#include "common.h"
#include <fcntl.h>
#include <grp.h>
#include <sys/auxv.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void show_res(const char *when) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("%s: uid %u %u %u gid %u %u %u fsuid %d fsgid %d\n", when, r, e, s, gr, ge, gs,
           setfsuid(-1), setfsgid(-1));
}

/* The Uid:, Gid: and Groups: lines of /proc/self/status. */
static void show_status(const char *when) {
    char line[512];
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) {
        printf("%s: no status\n", when);
        return;
    }
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) || !strncmp(line, "Groups:", 7))
            printf("%s: %s", when, line);
    fclose(f);
}

static void in_child(const char *name, void (*f)(void)) {
    pid_t c = fork();
    if (c == 0) {
        printf("-- %s\n", name);
        f();
        exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) printf("%s: status %d\n", name, st);
}

static void res_uid(void) {
    CHECK("setresuid 1000 1001 1002", setresuid(1000, 1001, 1002) == 0);
    show_res("after setresuid");
    show_status("status");
    EXPECT_ERR("setuid 0", setuid(0), EPERM);
    EXPECT_ERR("setresuid to 5", setresuid(-1, -1, 5), EPERM);
    EXPECT_ERR("setreuid euid 5", setreuid(-1, 5), EPERM);
    EXPECT_ERR("setreuid ruid 1002", setreuid(1002, -1), EPERM);
    CHECK("setuid saved 1002", setuid(1002) == 0);
    show_res("after setuid 1002");
    CHECK("seteuid real 1000", seteuid(1000) == 0);
    show_res("after seteuid 1000");
    CHECK("setresuid permuted", setresuid(1002, 1000, 1000) == 0);
    show_res("after permute");
    printf("setfsuid 1002 returns %d\n", setfsuid(1002));
    printf("setfsuid 4242 returns %d\n", setfsuid(4242));
    show_res("after setfsuid");
    EXPECT_ERR("setgroups unprivileged", setgroups(0, NULL), EPERM);
    EXPECT_ERR("setgid unprivileged", setgid(77), EPERM);
}

static void plain_setuid(void) {
    CHECK("setuid 1000", setuid(1000) == 0);
    show_res("after setuid");
    EXPECT_ERR("setuid back to 0", setuid(0), EPERM);
    EXPECT_ERR("seteuid 0", seteuid(0), EPERM);
    EXPECT_ERR("setuid -1", setuid(-1), EINVAL);
}

static void re_uid(void) {
    CHECK("setreuid 1000 1001", setreuid(1000, 1001) == 0);
    show_res("after setreuid");
    CHECK("setreuid swap", setreuid(1001, 1000) == 0);
    show_res("after swap");
    CHECK("setreuid -1 1001", setreuid(-1, 1001) == 0);
    show_res("after euid only");
}

static void gids(void) {
    CHECK("setresgid 100 101 102", setresgid(100, 101, 102) == 0);
    show_res("after setresgid");
    CHECK("setregid 103 -1", setregid(103, -1) == 0);
    show_res("after setregid");
    printf("setfsgid 100 returns %d\n", setfsgid(100));
    CHECK("drop uid", setresuid(1000, 1000, 1000) == 0);
    EXPECT_ERR("setgid 0", setgid(0), EPERM);
    CHECK("setgid saved", setgid(103) == 0);
    EXPECT_ERR("setresgid 7", setresgid(7, -1, -1), EPERM);
    show_res("after drop");
    show_status("status");
}

static void groups(void) {
    gid_t g[3] = {30, 10, 20}, out[8];
    CHECK("setgroups 3", setgroups(3, g) == 0);
    int n = getgroups(8, out);
    printf("getgroups %d:", n);
    for (int i = 0; i < n; i++) printf(" %u", out[i]);
    printf("\ncount %d\n", getgroups(0, NULL));
    EXPECT_ERR("getgroups too small", getgroups(2, out), EINVAL);
    EXPECT_ERR("getgroups negative", syscall(SYS_getgroups, -1, out), EINVAL);
    EXPECT_ERR("setgroups too many", syscall(SYS_setgroups, 65537, g), EINVAL);
    EXPECT_ERR("setgroups bad pointer", syscall(SYS_setgroups, 2, 8), EFAULT);
    show_status("groups");
    CHECK("setgroups 0", setgroups(0, NULL) == 0);
    printf("count %d\n", getgroups(0, NULL));
    show_status("no groups");
}

static const char *self_copy;

/* Runs the set-user-ID copy as uid 1000 and prints what it reports. */
static void run_copy(int no_new_privs) {
    if (no_new_privs) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) exit(3);
    execl(self_copy, self_copy, "report", (char *)NULL);
    printf("exec: %s\n", ename(errno));
    exit(4);
}
static void setuid_exec(void) { run_copy(0); }
static void setuid_exec_nnp(void) { run_copy(1); }

/* Copies this program to a set-user-ID (owner 1234) and set-group-ID (group 4321) file. */
static void make_copy(char *path, size_t len) {
    snprintf(path, len, "/tmp/uml-creds-setuid-%d", getpid());
    int in = open("/proc/self/exe", O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    char buf[65536];
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n) break;
    close(in);
    close(out);
    if (fchownat(AT_FDCWD, path, 1234, 4321, 0) || chmod(path, 06755)) printf("copy: %s\n", ename(errno));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "report")) {
        show_res("set-id program");
        printf("AT_SECURE %lu\n", getauxval(AT_SECURE));
        return 0;
    }
    show_res("start");
    in_child("res uid", res_uid);
    in_child("setuid", plain_setuid);
    in_child("re uid", re_uid);
    in_child("gids", gids);
    in_child("groups", groups);
    char path[128];
    make_copy(path, sizeof path);
    self_copy = path;
    in_child("setuid exec", setuid_exec);
    in_child("setuid exec, no new privs", setuid_exec_nnp);
    unlink(path);
    CHECK("setresuid all -1", setresuid(-1, -1, -1) == 0);
    show_res("end");
    printf("done\n");
    return 0;
}
