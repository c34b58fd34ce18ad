/* Details of file calls: removing from a sticky directory (only the file's or the
 * directory's owner), O_NOATIME (only the file's owner), fsync of files without storage
 * (EINVAL), syncfs of any file. */
#include "common.h"
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/uml-sticky-XXXXXX", p[300];
    if (!mkdtemp(dir)) return 1;
    chmod(dir, 01777);
    snprintf(p, sizeof p, "%s/roots", dir);
    close(open(p, O_CREAT | O_WRONLY, 0666));
    snprintf(p, sizeof p, "%s/rootdir", dir);
    mkdir(p, 0777);
    pid_t c = fork();
    if (c == 0) {
        if (setgid(65534) || setuid(65534)) _exit(2);
        snprintf(p, sizeof p, "%s/roots", dir);
        EXPECT_ERR("nobody unlinks root's file in a sticky dir", unlink(p), EPERM);
        char to[300];
        snprintf(to, sizeof to, "%s/moved", dir);
        EXPECT_ERR("nobody renames root's file in a sticky dir", rename(p, to), EPERM);
        EXPECT_ERR("nobody opens root's file O_NOATIME", open(p, O_RDONLY | O_NOATIME), EPERM);
        int fd = open(p, O_RDONLY);
        EXPECT_ERR("nobody sets O_NOATIME on root's file", fcntl(fd, F_SETFL, O_NOATIME), EPERM);
        close(fd);
        snprintf(p, sizeof p, "%s/rootdir", dir);
        EXPECT_ERR("nobody removes root's dir in a sticky dir", rmdir(p), EPERM);
        snprintf(p, sizeof p, "%s/mine", dir);
        close(open(p, O_CREAT | O_WRONLY, 0644));
        fd = open(p, O_RDONLY | O_NOATIME);
        printf("nobody opens its own file O_NOATIME: %d\n", fd >= 0);
        close(fd);
        printf("nobody renames its own file: %d\n", rename(p, to));
        printf("nobody unlinks its own file: %d\n", unlink(to));
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    snprintf(p, sizeof p, "%s/roots", dir);
    int fd = open(p, O_RDONLY | O_NOATIME);
    printf("root opens O_NOATIME: %d\n", fd >= 0);
    printf("fsync of a file: %d\n", fsync(fd));
    close(fd);
    int pp[2], sv[2];
    pipe(pp);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    EXPECT_ERR("fsync of a pipe", fsync(pp[0]), EINVAL);
    EXPECT_ERR("fdatasync of a pipe", fdatasync(pp[1]), EINVAL);
    EXPECT_ERR("fsync of a socket", fsync(sv[0]), EINVAL);
    int null = open("/dev/null", O_WRONLY);
    EXPECT_ERR("fsync of /dev/null", fsync(null), EINVAL);
    printf("syncfs of a pipe: %d\n", syncfs(pp[0]));
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    printf("fsync of a directory: %d\n", fsync(fd));
    /* splice refuses what cannot splice before it waits for the (empty) pipe. */
    int ep = epoll_create1(0), ev = eventfd(0, 0);
    EXPECT_ERR("splice empty pipe to epoll", splice(pp[0], NULL, ep, NULL, 1, 0), EINVAL);
    EXPECT_ERR("splice empty pipe to eventfd", splice(pp[0], NULL, ev, NULL, 1, 0), EINVAL);
    EXPECT_ERR("splice directory to pipe", splice(fd, NULL, pp[1], NULL, 1, 0), EINVAL);
    /* An unknown option level of a TCP socket: set and get fail differently. */
    int tcp = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    socklen_t ol = sizeof one;
    EXPECT_ERR("setsockopt level 500", setsockopt(tcp, 500, 1, &one, sizeof one), ENOPROTOOPT);
    EXPECT_ERR("setsockopt UDP level on TCP", setsockopt(tcp, IPPROTO_UDP, 1, &one, sizeof one),
               ENOPROTOOPT);
    EXPECT_ERR("getsockopt level 500", getsockopt(tcp, 500, 1, &one, &ol), EOPNOTSUPP);
    int mark = 7, udp = socket(AF_INET, SOCK_DGRAM, 0);
    printf("SIOCATMARK on TCP: %d mark=%d\n", ioctl(tcp, SIOCATMARK, &mark), mark);
    EXPECT_ERR("SIOCATMARK NULL", ioctl(tcp, SIOCATMARK, NULL), EFAULT);
    EXPECT_ERR("SIOCATMARK on UDP", ioctl(udp, SIOCATMARK, &mark), ENOTTY);
    /* An O_PATH descriptor is not for mmap or fgetxattr (EBADF, not EACCES). */
    snprintf(p, sizeof p, "%s/opath", dir);
    close(open(p, O_RDWR | O_CREAT, 0644));
    int op = open(p, O_PATH);
    EXPECT_ERR("mmap of an O_PATH fd", mmap(NULL, 4096, PROT_READ, MAP_SHARED, op, 0), EBADF);
    char xv[16];
    EXPECT_ERR("fgetxattr of an O_PATH fd", fgetxattr(op, "user.x", xv, sizeof xv), EBADF);
    close(op);
    /* readlinkat with an empty path reads the symlink open at dirfd (O_PATH|O_NOFOLLOW). */
    snprintf(p, sizeof p, "%s/alink", dir);
    symlink("some/target", p);
    int lfd = open(p, O_PATH | O_NOFOLLOW);
    char lt[64];
    ssize_t ln = readlinkat(lfd, "", lt, sizeof lt);
    printf("readlinkat of the fd itself: %zd\n", ln);
    EXPECT_ERR("readlink of an empty path", readlink("", lt, sizeof lt), ENOENT);
    close(lfd);
    /* close_range(CLOSE_RANGE_UNSHARE) in a CLONE_FILES child leaves the parent's table. */
    int shared_fd = open(dir, O_PATH);
    pid_t cf = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
    if (cf == 0) {
        syscall(SYS_close_range, shared_fd, shared_fd, 2 /* CLOSE_RANGE_UNSHARE */);
        _exit(fcntl(shared_fd, F_GETFD) == -1 ? 0 : 1);
    }
    int cst;
    waitpid(cf, &cst, 0);
    printf("close_range UNSHARE: child closed %d, parent's still open %d\n", WEXITSTATUS(cst) == 0,
           fcntl(shared_fd, F_GETFD) >= 0);
    close(shared_fd);
    /* poll of a regular file: POLLIN|POLLOUT only, never POLLPRI. */
    struct pollfd pf = {.fd = open(dir, O_RDONLY), .events = POLLIN | POLLPRI | POLLOUT | POLLRDHUP};
    poll(&pf, 1, 0);
    printf("poll of a directory: revents=0x%x\n", pf.revents);
    close(pf.fd);
    /* epolls nest at most 4 below a fifth; a sixth level is ELOOP. */
    int chain = eventfd(0, 0), lvl, nest_err = 0;
    for (lvl = 1; lvl <= 6; lvl++) {
        int e = epoll_create1(0);
        struct epoll_event ee = {.events = EPOLLIN};
        if (epoll_ctl(e, EPOLL_CTL_ADD, chain, &ee) == -1) {
            nest_err = errno;
            break;
        }
        chain = e;
    }
    printf("epoll nesting stops at level %d: %s\n", lvl, ename(nest_err));
    /* RNDGETENTCNT on /dev/urandom agrees with /proc/sys/kernel/random/entropy_avail. */
    int ur = open("/dev/urandom", O_RDONLY), ent = -1, avail = -2;
    ioctl(ur, 0x80045200 /* RNDGETENTCNT */, &ent);
    FILE *ea = fopen("/proc/sys/kernel/random/entropy_avail", "r");
    if (ea) {
        fscanf(ea, "%d", &avail);
        fclose(ea);
    }
    printf("entropy: ioctl %d, proc %d\n", ent, avail);
    close(ur);
    /* F_CREATED_QUERY: whether this open created the file. */
    snprintf(p, sizeof p, "%s/created", dir);
    int cr = open(p, O_RDWR | O_CREAT, 0644);
    printf("F_CREATED_QUERY after creating: %d\n", fcntl(cr, 1028, 0));
    close(cr);
    cr = open(p, O_RDWR | O_CREAT, 0644);
    printf("F_CREATED_QUERY after reopening: %d\n", fcntl(cr, 1028, 0));
    close(cr);

    /* RLIMIT_FSIZE: a write that crosses the limit is cut at it, one at the limit and a
     * truncation past it fail with EFBIG and raise SIGXFSZ (blocked here: pending). */
    sigset_t xfsz, pend;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    sigprocmask(SIG_BLOCK, &xfsz, NULL);
    snprintf(p, sizeof p, "%s/limited", dir);
    int lf = open(p, O_RDWR | O_CREAT, 0600);
    struct rlimit fsz = {100, RLIM_INFINITY}, fsz_old;
    getrlimit(RLIMIT_FSIZE, &fsz_old);
    setrlimit(RLIMIT_FSIZE, &fsz);
    char big[150] = {0};
    printf("write across the limit: %zd\n", write(lf, big, sizeof big));
    sigpending(&pend);
    printf("SIGXFSZ pending after a cut write: %d\n", sigismember(&pend, SIGXFSZ));
    EXPECT_ERR("write at the limit", write(lf, big, 1), EFBIG);
    printf("write of 0 at the limit: %zd\n", write(lf, big, 0));
    EXPECT_ERR("ftruncate past the limit", ftruncate(lf, 101), EFBIG);
    EXPECT_ERR("truncate past the limit", truncate(p, 200), EFBIG);
    printf("truncate to the limit: %d\n", truncate(p, 100));
    sigpending(&pend);
    printf("SIGXFSZ pending: %d\n", sigismember(&pend, SIGXFSZ));
    setrlimit(RLIMIT_FSIZE, &fsz_old);
    close(lf);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    system(cmd);
    printf("done\n");
    return 0;
}
