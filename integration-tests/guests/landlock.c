/* Landlock: the calls' errnos, a ruleset allowing one directory (argv[1]/a) and denying
 * its sibling (argv[1]/b) for reads, writes, creation, removal, listing and reparenting,
 * inherited by a child; a TCP bind rule and the signal scope. Run natively (the host's
 * Landlock) and under uml. */
#include "common.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define FS_EXECUTE (1ULL << 0)
#define FS_WRITE_FILE (1ULL << 1)
#define FS_READ_FILE (1ULL << 2)
#define FS_READ_DIR (1ULL << 3)
#define FS_REMOVE_FILE (1ULL << 5)
#define FS_MAKE_REG (1ULL << 8)
#define FS_REFER (1ULL << 13)
#define NET_BIND_TCP (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

struct ruleset_attr {
    unsigned long long fs, net, scoped;
};
struct __attribute__((packed)) path_beneath {
    unsigned long long allowed;
    int parent_fd;
};

static long create(struct ruleset_attr *a, size_t n, unsigned fl) {
    return syscall(444, a, n, fl);
}
static long add_rule(int fd, int type, void *attr, unsigned fl) {
    return syscall(445, fd, type, attr, fl);
}
static long restrict_self(int fd, unsigned fl) { return syscall(446, fd, fl); }

static char A[4096], B[4096];

static void path(char *out, const char *dir, const char *name) {
    snprintf(out, 4096, "%s/%s", dir, name);
}

static void fs_checks(const char *who) {
    char p[4096];
    path(p, A, "f");
    int fd = open(p, O_RDWR);
    printf("%s open a/f rw=%s\n", who, ename(fd < 0 ? errno : 0));
    if (fd >= 0) close(fd);
    path(p, B, "f");
    errno = 0;
    fd = open(p, O_RDONLY);
    printf("%s open b/f r=%s\n", who, ename(fd < 0 ? errno : 0));
    if (fd >= 0) close(fd);
    DIR *d = opendir(B);
    printf("%s opendir b=%s\n", who, ename(d ? 0 : errno));
    if (d) closedir(d);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char p[4096], q[4096];
    path(A, argv[1], "a");
    path(B, argv[1], "b");
    mkdir(A, 0755);
    mkdir(B, 0755);
    path(p, A, "f");
    close(open(p, O_CREAT | O_WRONLY, 0644));
    path(p, A, "moved");
    close(open(p, O_CREAT | O_WRONLY, 0644));
    path(p, B, "f");
    close(open(p, O_CREAT | O_WRONLY, 0644));

    long abi = create(NULL, 0, 1);
    printf("abi>=6 %d\n", abi >= 6);
    struct ruleset_attr attr = {0};
    EXPECT_ERR("create-empty", create(&attr, sizeof attr, 0), ENOMSG);
    EXPECT_ERR("create-small", create(&attr, 7, 0), EINVAL);
    EXPECT_ERR("create-flags", create(&attr, sizeof attr, 4), EINVAL);
    attr.fs = 1ULL << 40;
    EXPECT_ERR("create-unknown", create(&attr, sizeof attr, 0), EINVAL);
    attr.fs = FS_READ_FILE | FS_WRITE_FILE | FS_READ_DIR | FS_MAKE_REG | FS_REMOVE_FILE |
              FS_REFER;
    int rs = create(&attr, sizeof attr, 0);
    CHECK("create", rs >= 0);
    struct path_beneath pb = {.allowed = attr.fs, .parent_fd = open(A, O_PATH)};
    EXPECT_ERR("add-flags", add_rule(rs, 1, &pb, 1), EINVAL);
    EXPECT_ERR("add-type", add_rule(rs, 9, &pb, 0), EINVAL);
    int dirfd = open(A, O_RDONLY | O_DIRECTORY);
    EXPECT_ERR("add-o_path-fd", add_rule(pb.parent_fd, 1, &pb, 0), EBADF);
    EXPECT_ERR("add-not-ruleset", add_rule(dirfd, 1, &pb, 0), EBADFD);
    EXPECT_ERR("add-null", add_rule(rs, 1, NULL, 0), EFAULT);
    pb.allowed = FS_EXECUTE;
    EXPECT_ERR("add-unhandled", add_rule(rs, 1, &pb, 0), EINVAL);
    pb.allowed = 0;
    EXPECT_ERR("add-empty", add_rule(rs, 1, &pb, 0), ENOMSG);
    pb.allowed = attr.fs;
    report("add-a", add_rule(rs, 1, &pb, 0));
    path(p, A, "f");
    struct path_beneath file = {.allowed = FS_READ_DIR, .parent_fd = open(p, O_PATH)};
    EXPECT_ERR("add-dir-right-on-file", add_rule(rs, 1, &file, 0), EINVAL);
    EXPECT_ERR("restrict-flags", restrict_self(rs, 8), EINVAL);
    EXPECT_ERR("restrict-not-ruleset", restrict_self(dirfd, 0), EBADFD);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        report("restrict", restrict_self(rs, 0));
        fs_checks("child");
        path(p, B, "new");
        EXPECT_ERR("creat b/new", open(p, O_CREAT | O_WRONLY, 0644), EACCES);
        path(p, A, "new");
        int fd = open(p, O_CREAT | O_WRONLY, 0644);
        printf("creat a/new=%s\n", ename(fd < 0 ? errno : 0));
        path(p, B, "f");
        EXPECT_ERR("unlink b/f", unlink(p), EACCES);
        path(p, A, "moved");
        path(q, B, "moved");
        /* b grants no MAKE_REG: EACCES comes before the missing REFER's EXDEV. */
        EXPECT_ERR("rename a->b", rename(p, q), EACCES);
        path(q, A, "renamed");
        report("rename a->a", rename(p, q));
        report("unlink a/new", unlink((path(p, A, "new"), p)));
        pid_t g = fork();
        if (g == 0) {
            fs_checks("grandchild");
            _exit(0);
        }
        waitpid(g, NULL, 0);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    fs_checks("parent");

    /* TCP bind: no rule for the port. */
    pid = fork();
    if (pid == 0) {
        struct ruleset_attr na = {.net = NET_BIND_TCP};
        int nrs = create(&na, sizeof na, 0);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        report("restrict-net", restrict_self(nrs, 0));
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(47123)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_ERR("bind-denied", bind(s, (struct sockaddr *)&sa, sizeof sa), EACCES);
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        report("bind-udp", bind(u, (struct sockaddr *)&sa, sizeof sa));
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    /* Signal scope: the parent is outside the child's domain. */
    pid = fork();
    if (pid == 0) {
        struct ruleset_attr sc = {.scoped = SCOPE_SIGNAL};
        int srs = create(&sc, sizeof sc, 0);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        report("restrict-scope", restrict_self(srs, 0));
        EXPECT_ERR("kill-parent", kill(getppid(), 0), EPERM);
        report("kill-self", kill(getpid(), 0));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
