/* Calls many syscalls with garbage pointers; prints the result of each (ok or errno name).
 * Natively and under uml the output must be identical. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#ifndef ARCH_GET_FS
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#endif

static const struct { const char *name; unsigned long v; } bad[] = {
    {"null", 0},
    {"one", 1},
    {"low", 0x1000},
    {"deadbeef", 0xdeadbeef000UL},
    {"minus1", ~0UL},
    {"kernel", 0xffff800000000000UL},
    {"noncanon", 0x0000800000000000UL},
};

static char line[128];
#define R(label, ...)                                                    \
    do {                                                                 \
        errno = 0;                                                       \
        long r_ = syscall(__VA_ARGS__);                                  \
        snprintf(line, sizeof line, "%s(%s)", label, bad[i].name);       \
        report(line, r_);                                                \
    } while (0)

int main(void) {
    char tmpl[] = "/tmp/uml-garbage-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) { printf("mkstemp %s\n", ename(errno)); return 1; }
    write(fd, "some file content\n", 18);
    int dfd = open("/", O_RDONLY | O_DIRECTORY);
    int gp[2];
    if (pipe(gp)) return 1;
    int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
    char dirname[] = "/tmp/uml-garbage-dir-XXXXXX";
    if (!mkdtemp(dirname)) { printf("mkdtemp %s\n", ename(errno)); return 1; }
    char good[64];
    struct stat st;
    struct timespec zero = {0, 0};
    int sp[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sp);
    socklen_t slen = sizeof good;

    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)bad[i].v;
        struct iovec iov = {p, 10};
        lseek(fd, 0, SEEK_SET);
        R("read", SYS_read, fd, p, 10);
        R("pread64", SYS_pread64, fd, p, 10, 0);
        R("write", SYS_write, 1, p, 10);
        R("pwrite64", SYS_pwrite64, fd, p, 10, 0);
        R("readv_iov", SYS_readv, fd, p, 1);
        R("readv_base", SYS_preadv, fd, &iov, 1, 0, 0);
        R("writev_iov", SYS_writev, 1, p, 1);
        R("writev_base", SYS_writev, 1, &iov, 1);
        R("open", SYS_open, p, O_RDONLY);
        R("openat", SYS_openat, AT_FDCWD, p, O_RDONLY);
        R("stat_path", SYS_stat, p, &st);
        R("stat_buf", SYS_stat, "/", p);
        R("lstat_path", SYS_lstat, p, &st);
        R("lstat_buf", SYS_lstat, "/", p);
        R("fstat_buf", SYS_fstat, fd, p);
        R("newfstatat_path", SYS_newfstatat, AT_FDCWD, p, &st, 0);
        R("newfstatat_buf", SYS_newfstatat, AT_FDCWD, "/", p, 0);
        R("statx_path", SYS_statx, AT_FDCWD, p, 0, 0x7ff, good);
        R("statx_buf", SYS_statx, AT_FDCWD, "/", 0, 0x7ff, p);
        R("getdents64", SYS_getdents64, dfd, p, 4096);
        R("getcwd", SYS_getcwd, p, 4096);
        R("chdir", SYS_chdir, p);
        R("mkdir", SYS_mkdir, p, 0755);
        R("rmdir", SYS_rmdir, p);
        R("unlink", SYS_unlink, p);
        R("rename_old", SYS_rename, p, "/tmp/uml-garbage-never");
        R("rename_new", SYS_rename, "/tmp/uml-garbage-never", p);
        R("link_old", SYS_link, p, "/tmp/uml-garbage-never");
        R("symlink_target", SYS_symlink, p, "/tmp/uml-garbage-never");
        R("symlink_path", SYS_symlink, "target", p);
        R("readlink_path", SYS_readlink, p, good, sizeof good);
        R("access", SYS_access, p, F_OK);
        R("chmod", SYS_chmod, p, 0644);
        R("truncate", SYS_truncate, p, 0);
        R("uname", SYS_uname, p);
        R("sysinfo", SYS_sysinfo, p);
        R("clock_gettime", SYS_clock_gettime, CLOCK_MONOTONIC, p);
        R("clock_getres", SYS_clock_getres, CLOCK_MONOTONIC, p);
        R("gettimeofday_tv", SYS_gettimeofday, p, NULL);
        R("nanosleep_req", SYS_nanosleep, p, NULL);
        R("nanosleep_rem", SYS_nanosleep, &zero, p);
        R("getrandom", SYS_getrandom, p, 16, 0);
        R("rt_sigaction_act", SYS_rt_sigaction, SIGUSR1, p, NULL, 8);
        R("rt_sigaction_old", SYS_rt_sigaction, SIGUSR1, NULL, p, 8);
        R("rt_sigprocmask_set", SYS_rt_sigprocmask, SIG_BLOCK, p, NULL, 8);
        R("rt_sigprocmask_old", SYS_rt_sigprocmask, SIG_BLOCK, NULL, p, 8);
        R("sigaltstack_new", SYS_sigaltstack, p, NULL);
        R("sigaltstack_old", SYS_sigaltstack, NULL, p);
        R("prlimit64_new", SYS_prlimit64, 0, RLIMIT_NOFILE, p, NULL);
        R("prlimit64_old", SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, p);
        R("getrlimit", SYS_getrlimit, RLIMIT_NOFILE, p);
        R("setrlimit", SYS_setrlimit, RLIMIT_NOFILE, p);
        R("arch_prctl_get_fs", SYS_arch_prctl, ARCH_GET_FS, p);
        R("arch_prctl_get_gs", SYS_arch_prctl, ARCH_GET_GS, p);
        R("pipe", SYS_pipe, p);
        R("pipe2", SYS_pipe2, p, 0);
        R("socketpair", SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, p);
        R("bind", SYS_bind, sp[0], p, 110);
        R("connect", SYS_connect, sp[0], p, 110);
        R("sendto_buf", SYS_sendto, sp[0], p, 10, 0, NULL, 0);
        R("sendto_addr", SYS_sendto, sp[0], good, 1, 0, p, 110);
        R("recvfrom_buf", SYS_recvfrom, sp[1], p, 10, MSG_DONTWAIT, NULL, NULL);
        R("sendmsg", SYS_sendmsg, sp[0], p, 0);
        R("recvmsg", SYS_recvmsg, sp[1], p, MSG_DONTWAIT);
        R("getsockopt_val", SYS_getsockopt, sp[0], SOL_SOCKET, SO_TYPE, p, &slen);
        R("getsockopt_len", SYS_getsockopt, sp[0], SOL_SOCKET, SO_TYPE, good, p);
        R("setsockopt", SYS_setsockopt, sp[0], SOL_SOCKET, SO_PASSCRED, p, 4);
        R("getsockname", SYS_getsockname, sp[0], p, &slen);
        R("getpeername_len", SYS_getpeername, sp[0], good, p);
        R("time", SYS_time, p);
        R("times", SYS_times, p);
        R("getresuid", SYS_getresuid, p, p, p);
        R("utimensat", SYS_utimensat, AT_FDCWD, dirname, p, 0);
        R("execve_path", SYS_execve, p, NULL, NULL);
        R("wait4_status", SYS_wait4, -1, p, 0, NULL);
        R("fcntl_getlk", SYS_fcntl, fd, F_GETLK, p);
        R("fcntl_setlk", SYS_fcntl, fd, F_SETLK, p);
        R("fcntl_ofd_getlk", SYS_fcntl, fd, F_OFD_GETLK, p);
        R("splice_off_in", SYS_splice, fd, p, gp[1], NULL, 10, 0);
        R("splice_off_out", SYS_splice, gp[0], NULL, fd, p, 1, SPLICE_F_NONBLOCK);
        R("pidfd_send_signal_info", SYS_pidfd_send_signal, pidfd, 0, p, 0);
        R("waitid_pidfd_info", SYS_waitid, 3, pidfd, p, WEXITED | WNOHANG, NULL);
    }
    /* SysV IPC and POSIX message queues. */
    int shm = syscall(SYS_shmget, 0, 4096, 0600);
    int sem = syscall(SYS_semget, 0, 1, 0600);
    int msq = syscall(SYS_msgget, 0, 0600);
    struct { long flags, maxmsg, msgsize, cur, r[4]; } mqa = {0, 2, 16, 0, {0}};
    char mqname[64];
    snprintf(mqname, sizeof mqname, "uml-garbage-%d", getpid());
    int mq = syscall(SYS_mq_open, mqname, O_RDWR | O_CREAT | O_NONBLOCK, 0600, &mqa);
    unsigned short zero_op[3] = {0, 0, 04000};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)bad[i].v;
        R("shmctl_stat", SYS_shmctl, shm, 2, p);
        R("shmctl_set", SYS_shmctl, shm, 1, p);
        R("shmdt", SYS_shmdt, p);
        R("semop", SYS_semop, sem, p, 1);
        R("semtimedop", SYS_semtimedop, sem, zero_op, 1, p);
        R("semctl_getall", SYS_semctl, sem, 0, 13, p);
        R("semctl_stat", SYS_semctl, sem, 0, 2, p);
        R("msgsnd", SYS_msgsnd, msq, p, 4, 04000);
        R("msgrcv", SYS_msgrcv, msq, p, 4, 0, 04000);
        R("msgctl_stat", SYS_msgctl, msq, 2, p);
        R("mq_open", SYS_mq_open, p, O_RDONLY, 0, 0);
        R("mq_timedsend", SYS_mq_timedsend, mq, p, 1, 0, 0);
        R("mq_timedreceive", SYS_mq_timedreceive, mq, p, 16, 0, 0);
        R("mq_getsetattr", SYS_mq_getsetattr, mq, 0, p);
        R("mq_notify", SYS_mq_notify, mq, p);
        R("mq_unlink", SYS_mq_unlink, p);
    }
    syscall(SYS_shmctl, shm, 0, 0);
    syscall(SYS_semctl, sem, 0, 0, 0);
    syscall(SYS_msgctl, msq, 0, 0);
    close(mq);
    syscall(SYS_mq_unlink, mqname);
    /* set_tid_address accepts any pointer and returns the tid. */
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        R("set_tid_address", SYS_set_tid_address, (void *)bad[i].v);
    }
    close(fd);
    close(dfd);
    unlink(tmpl);
    rmdir(dirname);
    puts("done");
    return 0;
}
