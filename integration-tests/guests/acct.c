/* BSD process accounting (acct(2)): the errnos of acct (EISDIR, EACCES, ENOENT, ENOTDIR,
 * ELOOP, EFAULT, EPERM without CAP_SYS_PACCT), then the acct_v3 records written while a
 * file is named: a child that exits, one killed by SIGKILL, one that execs and exits, and
 * the caller's own record when accounting stops. Records of other processes (natively,
 * anything on the machine that ends meanwhile) are skipped. Run as root in a scratch
 * directory; the first argument "exit3" is the exec'd child. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/acct.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

struct rec {
    uint8_t flag, version;
    uint16_t tty;
    uint32_t exitcode, uid, gid, pid, ppid, btime;
    float etime;
    uint16_t utime, stime, mem, io, rw, minflt, majflt, swaps;
    char comm[16];
};

static pid_t kids[3];

static const char *who(uint32_t pid) {
    if (pid == (uint32_t)getpid()) return "self";
    if (pid == (uint32_t)kids[0]) return "exit7";
    if (pid == (uint32_t)kids[1]) return "killed";
    if (pid == (uint32_t)kids[2]) return "exec";
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exit3") == 0) return 3;

    /* Errnos. */
    mkdir("sub", 0755);
    int fd = open("file", O_CREAT | O_WRONLY, 0644);
    close(fd);
    symlink("loop1", "loop2");
    symlink("loop2", "loop1");
    EXPECT_ERR("acct_dir", acct("."), EISDIR);
    EXPECT_ERR("acct_devnull", acct("/dev/null"), EACCES);
    EXPECT_ERR("acct_missing", acct("nothere/x"), ENOENT);
    EXPECT_ERR("acct_notdir", acct("file/"), ENOTDIR);
    EXPECT_ERR("acct_loop", acct("loop1"), ELOOP);
    EXPECT_ERR("acct_empty", acct(""), ENOENT);
    char *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_ERR("acct_fault", acct(bad), EFAULT);
    report("acct_off_when_off", acct(NULL));
    pid_t p = fork();
    if (p == 0) {
        if (setresuid(65534, 65534, 65534) != 0) _exit(1);
        EXPECT_ERR("acct_unpriv", acct("file"), EPERM);
        EXPECT_ERR("acct_unpriv_null", acct(NULL), EPERM);
        fflush(stdout);
        _exit(0);
    }
    waitpid(p, NULL, 0);

    /* Records. */
    time_t start = time(NULL);
    report("acct_on", acct("file"));
    kids[0] = fork();
    if (kids[0] == 0) _exit(7);
    waitpid(kids[0], NULL, 0);
    kids[1] = fork();
    if (kids[1] == 0) {
        pause();
        _exit(0);
    }
    kill(kids[1], SIGKILL);
    waitpid(kids[1], NULL, 0);
    kids[2] = fork();
    if (kids[2] == 0) {
        execl("/proc/self/exe", "acct-exec", "exit3", (char *)NULL);
        _exit(99);
    }
    waitpid(kids[2], NULL, 0);
    report("acct_off", acct(NULL));
    /* Accounting is off: this child writes nothing. */
    p = fork();
    if (p == 0) _exit(5);
    waitpid(p, NULL, 0);

    struct stat st;
    stat("file", &st);
    printf("record size=%zu file size multiple=%d\n", sizeof(struct rec),
           st.st_size % sizeof(struct rec) == 0);
    fd = open("file", O_RDONLY);
    struct rec r;
    int seen = 0;
    char self_comm[16] = {0};
    FILE *c = fopen("/proc/self/comm", "r");
    if (c && fgets(self_comm, sizeof self_comm, c)) self_comm[strcspn(self_comm, "\n")] = 0;
    if (c) fclose(c);
    while (read(fd, &r, sizeof r) == (ssize_t)sizeof r) {
        const char *w = who(r.pid);
        if (!w) continue;
        seen++;
        int comm_ok = strcmp(w, "self") == 0 ? strcmp(r.comm, self_comm) == 0
                      : strcmp(w, "exec") == 0 ? strcmp(r.comm, "exe") == 0 /* the name it ran by */
                                                : strcmp(r.comm, self_comm) == 0;
        uint32_t parent = strcmp(w, "self") == 0 ? (uint32_t)getppid() : (uint32_t)getpid();
        long bdiff = (long)r.btime - (long)start;
        printf("%s: flag=%#x version=%d exitcode=%#x uid=%u gid=%u ppid_ok=%d comm_ok=%d "
               "etime_ok=%d btime_ok=%d utime_ok=%d\n",
               w, r.flag, r.version, r.exitcode, r.uid, r.gid, r.ppid == parent, comm_ok,
               r.etime >= 0 && r.etime < 500, bdiff >= -2 && bdiff <= 2, r.utime < 500);
    }
    close(fd);
    printf("records=%d\n", seen);
    unlink("file");
    unlink("loop1");
    unlink("loop2");
    rmdir("sub");
    printf("done\n");
    return 0;
}
