/* Error paths: prints `name=ERRNO` lines. argv[1]: scratch directory to create. */
#include "common.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <time.h>

#define R(name, ...) do { errno = 0; report(name, syscall(__VA_ARGS__)); } while (0)

int main(int argc, char **argv) {
    if (argc < 2) { puts("usage: errnos SCRATCH_DIR"); return 2; }
    char buf[64];
    struct stat st;
    if (mkdir(argv[1], 0755) != 0 || chdir(argv[1]) != 0) { printf("setup failed %s\n", ename(errno)); return 1; }
    int fd = open("file", O_CREAT | O_RDWR, 0644);
    write(fd, "data", 4);
    mkdir("dir", 0755);

    /* EBADF */
    R("read_badfd", SYS_read, 999, buf, 1);
    R("write_badfd", SYS_write, -1, buf, 1);
    R("close_badfd", SYS_close, 12345);
    R("fstat_badfd", SYS_fstat, 777, &st);
    R("lseek_badfd", SYS_lseek, 555, 0, SEEK_SET);
    R("dup_badfd", SYS_dup, 444);
    R("dup2_badfd", SYS_dup2, 444, 10);
    R("fcntl_badfd", SYS_fcntl, 444, F_GETFL);
    R("getdents64_badfd", SYS_getdents64, 444, buf, sizeof buf);
    R("fchdir_badfd", SYS_fchdir, 444);
    R("openat_badfd", SYS_openat, 444, "relative", O_RDONLY);
    R("openat_badfd_abs_ok", SYS_openat, 444, "/", O_RDONLY);

    /* ENOENT */
    R("open_missing", SYS_open, "missing", O_RDONLY);
    R("open_missing_dir", SYS_open, "nodir/file", O_CREAT | O_WRONLY, 0644);
    R("stat_missing", SYS_stat, "missing", &st);
    R("unlink_missing", SYS_unlink, "missing");
    R("rmdir_missing", SYS_rmdir, "missing");
    R("chdir_missing", SYS_chdir, "missing");
    R("rename_missing", SYS_rename, "missing", "other");
    R("readlink_missing", SYS_readlink, "missing", buf, sizeof buf);
    R("open_empty_path", SYS_open, "", O_RDONLY);
    R("exec_missing", SYS_execve, "/nonexistent/prog", (char *[]){"x", NULL}, (char *[]){NULL});

    /* EFAULT */
    R("write_ptr1", SYS_write, 1, (void *)1, 10);
    lseek(fd, 0, SEEK_SET);
    R("read_ptr8", SYS_read, fd, (void *)8, 4);
    R("pread_ptr8", SYS_pread64, fd, (void *)8, 4, 0);
    R("stat_path1", SYS_stat, (char *)1, &st);
    R("stat_buf1", SYS_stat, "file", (void *)1);
    R("open_path1", SYS_open, (char *)1, O_RDONLY);
    R("uname_null", SYS_uname, NULL);
    R("pipe_null", SYS_pipe, NULL);
    R("clock_gettime_bad", SYS_clock_gettime, CLOCK_MONOTONIC, (void *)16);

    /* EINVAL */
    R("lseek_whence99", SYS_lseek, fd, 0, 99);
    R("lseek_negative", SYS_lseek, fd, -100, SEEK_SET);
    R("mmap_len0", SYS_mmap, NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    R("mmap_unaligned_fixed", SYS_mmap, (void *)0x100001, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    R("munmap_unaligned", SYS_munmap, (void *)0x100001, 4096);
    R("dup3_flags", SYS_dup3, fd, 20, 12345);
    R("fcntl_cmd", SYS_fcntl, fd, 9999);
    R("clock_gettime_clock", SYS_clock_gettime, 9999, buf);
    R("rt_sigaction_sigkill", SYS_rt_sigaction, SIGKILL, buf, NULL, 8);
    R("rt_sigaction_sig0", SYS_rt_sigaction, 0, NULL, NULL, 8);
    R("rt_sigprocmask_how", SYS_rt_sigprocmask, 99, buf, NULL, 8);
    R("open_bad_flags_rdonly_trunc_dir", SYS_open, "dir", O_RDONLY | O_DIRECTORY | O_CREAT, 0644);

    /* ENOTDIR / EISDIR / EEXIST */
    R("open_file_as_dir", SYS_open, "file/x", O_RDONLY);
    R("open_O_DIRECTORY_file", SYS_open, "file", O_RDONLY | O_DIRECTORY);
    R("chdir_file", SYS_chdir, "file");
    R("rmdir_file", SYS_rmdir, "file");
    R("getdents64_file", SYS_getdents64, fd, buf, sizeof buf);
    R("open_dir_wronly", SYS_open, "dir", O_WRONLY);
    R("unlink_dir", SYS_unlink, "dir");
    int dfd = open("dir", O_RDONLY | O_DIRECTORY);
    R("read_dir", SYS_read, dfd, buf, sizeof buf);
    R("rename_file_over_dir", SYS_rename, "file", "dir");
    R("mkdir_exists", SYS_mkdir, "file", 0755);
    R("mkdir_exists_dir", SYS_mkdir, "dir", 0755);
    R("symlink_exists", SYS_symlink, "x", "file");
    R("link_exists", SYS_link, "file", "dir");
    R("open_excl_exists", SYS_open, "file", O_CREAT | O_EXCL | O_WRONLY, 0644);
    R("rmdir_dot", SYS_rmdir, ".");
    R("rmdir_nonempty_parent", SYS_rmdir, "..");

    /* ENAMETOOLONG */
    char longname[NAME_MAX + 50];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    R("open_component_too_long", SYS_open, longname, O_RDONLY);
    static char longpath[PATH_MAX + 100];
    for (size_t i = 0; i < sizeof longpath - 1; i++) longpath[i] = (i % 2) ? '/' : 'a';
    longpath[sizeof longpath - 1] = 0;
    R("stat_path_too_long", SYS_stat, longpath, &st);

    /* ELOOP */
    symlink("loop1", "loop2");
    symlink("loop2", "loop1");
    R("open_symlink_loop", SYS_open, "loop1", O_RDONLY);
    R("stat_symlink_loop", SYS_stat, "loop1", &st);
    R("lstat_symlink_loop", SYS_lstat, "loop1", &st);
    symlink("file", "flink");
    R("open_O_NOFOLLOW_symlink", SYS_open, "flink", O_RDONLY | O_NOFOLLOW);

    /* EACCES / EPERM-free checks that hold for root and non-root alike */
    R("exec_nonexec_file", SYS_execve, "file", (char *[]){"file", NULL}, (char *[]){NULL});
    R("exec_dir", SYS_execve, "dir", (char *[]){"dir", NULL}, (char *[]){NULL});

    /* ESPIPE, ENOTTY */
    int p[2];
    if (pipe(p) == 0) {
        R("lseek_pipe", SYS_lseek, p[0], 0, SEEK_SET);
        R("pread_pipe", SYS_pread64, p[0], buf, 1, 0);
        R("write_pipe_read_end", SYS_write, p[0], "x", 1);
        close(p[0]);
        close(p[1]);
    } else {
        printf("pipe failed %s\n", ename(errno));
    }
    R("ioctl_tcgets_file", SYS_ioctl, fd, 0x5401 /* TCGETS */, buf);

    /* ENOSYS: unallocated syscall numbers */
    R("syscall_400", 400);
    R("syscall_445_plus_1000", 1445);
    R("syscall_negative", -1);

    /* cleanup */
    close(dfd);
    close(fd);
    unlink("loop1");
    unlink("loop2");
    unlink("flink");
    unlink("file");
    rmdir("dir");
    chdir("/");
    report("rmdir_scratch", rmdir(argv[1]));
    return 0;
}
