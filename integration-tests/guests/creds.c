/* Credentials: real/effective/saved/filesystem ids and supplementary groups, every set*id
 * call with Linux's rules and errnos for a privileged and an unprivileged caller (each
 * scenario in a child, so the parent stays root), /proc/self/status, execve of a
 * set-user-ID copy of this program (with and without PR_SET_NO_NEW_PRIVS), and file
 * permissions by the filesystem ids and groups (access(2) by the real ones). Runs as root. */
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

static void bad_pointers(void) {
    uid_t id;
    EXPECT_ERR("getresuid bad pointer", syscall(SYS_getresuid, &id, 8, &id), EFAULT);
    EXPECT_ERR("getresgid bad pointer", syscall(SYS_getresgid, 8, &id, &id), EFAULT);
    gid_t g = 42;
    CHECK("setgroups 42", setgroups(1, &g) == 0);
    EXPECT_ERR("getgroups bad pointer", syscall(SYS_getgroups, 4, 8), EFAULT);
    printf("getgroups 0 with a bad pointer: %ld\n", syscall(SYS_getgroups, 0, 8));
    EXPECT_ERR("PR_GET_NO_NEW_PRIVS with an argument", prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0),
               EINVAL);
    EXPECT_ERR("PR_SET_NO_NEW_PRIVS with an extra argument",
               prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL);
}

/* A root-owned directory with a 0600 file and a 0640 file of group 42, made as root. */
static char perm_dir[128];

static void open_as(const char *name, int flags) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", perm_dir, name);
    int fd = open(path, flags);
    printf("open %s %s: %s\n", name, flags == O_RDONLY ? "ro" : "rw", ename(fd < 0 ? errno : 0));
    if (fd >= 0) close(fd);
}

static void access_as(const char *when, const char *name, int flags) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", perm_dir, name);
    int r = faccessat(AT_FDCWD, path, R_OK, flags);
    printf("%s %s: %s\n", when, name, ename(r ? errno : 0));
}

static void file_permissions(void) {
    char path[256];
    gid_t g = 42;
    CHECK("setgroups 42", setgroups(1, &g) == 0);
    printf("setfsuid 1000 returns %d\n", setfsuid(1000));
    open_as("secret", O_RDONLY);
    printf("setfsuid 0 returns %d\n", setfsuid(0));
    open_as("secret", O_RDONLY);
    /* Real uid 1000, effective 0: access(2) checks for the real one, AT_EACCESS not. */
    CHECK("setresuid 1000 0 0", setresuid(1000, 0, 0) == 0);
    access_as("access", "secret", 0);
    access_as("eaccess", "secret", AT_EACCESS);
    CHECK("setresuid 1000 1000 1000", setresuid(1000, 1000, 1000) == 0);
    open_as("secret", O_RDONLY);
    open_as("group", O_RDONLY);
    open_as("group", O_RDWR);
    access_as("access", "group", 0);
    snprintf(path, sizeof path, "%s/new", perm_dir);
    EXPECT_ERR("create in a root directory", open(path, O_WRONLY | O_CREAT, 0644), EACCES);
    EXPECT_ERR("mkdir in a root directory", mkdir(path, 0755), EACCES);
    snprintf(path, sizeof path, "%s/group", perm_dir);
    EXPECT_ERR("chmod of root's file", chmod(path, 0666), EPERM);
    EXPECT_ERR("chown of root's file", chown(path, -1, 42), EPERM);
    snprintf(path, sizeof path, "%s/mine", perm_dir);
    EXPECT_ERR("chown to a foreign group", chown(path, -1, 7), EPERM);
    CHECK("chown to a supplementary group", chown(path, -1, 42) == 0);
    CHECK("chmod of my file", chmod(path, 0600) == 0);
    struct stat st;
    CHECK("stat mine", stat(path, &st) == 0);
    printf("mine: uid %u gid %u mode %o\n", st.st_uid, st.st_gid, st.st_mode & 07777);
    snprintf(path, sizeof path, "%s/secret", perm_dir);
    EXPECT_ERR("utimes of root's file", utimensat(AT_FDCWD, path, NULL, 0), EACCES);
}

static void make_perm_dir(void) {
    char path[256];
    snprintf(perm_dir, sizeof perm_dir, "/tmp/uml-creds-perm-%d", getpid());
    CHECK("mkdir perm dir", mkdir(perm_dir, 0755) == 0);
    const char *names[] = {"secret", "group", "mine"};
    const int modes[] = {0600, 0640, 0644};
    const int owners[][2] = {{0, 0}, {0, 42}, {1000, 1000}};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", perm_dir, names[i]);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, modes[i]);
        if (fd < 0 || fchown(fd, owners[i][0], owners[i][1]) || fchmod(fd, modes[i]))
            printf("make %s: %s\n", names[i], ename(errno));
        close(fd);
    }
}

static void remove_perm_dir(void) {
    char path[256];
    const char *names[] = {"secret", "group", "mine"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", perm_dir, names[i]);
        unlink(path);
    }
    rmdir(perm_dir);
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
    in_child("bad pointers", bad_pointers);
    make_perm_dir();
    in_child("file permissions", file_permissions);
    remove_perm_dir();
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
