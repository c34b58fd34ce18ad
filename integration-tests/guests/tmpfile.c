/* O_TMPFILE: an unnamed file in a directory, named later by linkat through /proc/self/fd/N
 * or AT_EMPTY_PATH; O_EXCL makes it unlinkable; the flag's errnos. Run in a fresh directory;
 * prints lines that are the same natively and under uml. */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void link_fd(const char *name, int fd, const char *to) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    report(name, linkat(AT_FDCWD, path, AT_FDCWD, to, AT_SYMLINK_FOLLOW));
}

int main(void) {
    umask(022);
    mkdir("d", 0755);
    int fd = open("d", O_TMPFILE | O_RDWR, 0666);
    CHECK("open-tmpfile", fd >= 0);
    CHECK("write", write(fd, "hello", 5) == 5);
    struct stat st;
    fstat(fd, &st);
    printf("tmpfile nlink=%lu mode=%o size=%lld entries=%d\n", (unsigned long)st.st_nlink,
           st.st_mode, (long long)st.st_size, entries("d"));
    char path[64], target[256] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    long n = readlink(path, target, sizeof target - 1);
    const char *slash = n > 0 ? strrchr(target, '/') : NULL;
    printf("fd link: hash=%d deleted=%d\n", slash && slash[1] == '#',
           n > 10 && !strcmp(target + n - 10, " (deleted)"));
    link_fd("link-proc", fd, "d/named");
    fstat(fd, &st);
    char buf[8] = {0};
    int r = open("d/named", O_RDONLY);
    CHECK("read-named", r >= 0 && read(r, buf, sizeof buf) == 5 && !strcmp(buf, "hello"));
    close(r);
    printf("linked nlink=%lu entries=%d\n", (unsigned long)st.st_nlink, entries("d"));
    link_fd("link-again", fd, "d/again");
    close(fd);

    /* O_EXCL: never linkable; an unlinked ordinary file is not either. */
    fd = open("d", O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    CHECK("open-excl", fd >= 0);
    link_fd("link-excl", fd, "d/excl");
    close(fd);
    fd = open("d/gone", O_CREAT | O_RDWR, 0600);
    unlink("d/gone");
    link_fd("link-unlinked", fd, "d/back");
    close(fd);

    /* AT_EMPTY_PATH: root may, others get ENOENT. */
    fd = open("d", O_TMPFILE | O_RDWR, 0644);
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(65534) != 0) _exit(1);
        errno = 0;
        int e = linkat(fd, "", AT_FDCWD, "d/nobody", AT_EMPTY_PATH) == 0 ? 0 : errno;
        printf("empty-path-unprivileged=%s\n", ename(e));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    report("empty-path-root", linkat(fd, "", AT_FDCWD, "d/empty", AT_EMPTY_PATH));
    fstat(fd, &st);
    printf("empty-path nlink=%lu mode=%o\n", (unsigned long)st.st_nlink, st.st_mode);
    close(fd);

    /* Set-group-ID bits and umask go as for any created file. */
    fd = open("d", O_TMPFILE | O_RDWR, 07777);
    fstat(fd, &st);
    printf("mode-07777=%o\n", st.st_mode);
    close(fd);

    /* A directory removed while its tmpfile is open. */
    mkdir("sub", 0700);
    fd = open("sub", O_TMPFILE | O_RDWR, 0600);
    report("rmdir-sub", rmdir("sub"));
    CHECK("write-after-rmdir", pwrite(fd, "abc", 3, 0) == 3 && pread(fd, buf, 3, 0) == 3);
    close(fd);

    EXPECT_ERR("rdonly", open("d", O_TMPFILE | O_RDONLY, 0600), EINVAL);
    EXPECT_ERR("creat", open("d", O_TMPFILE | O_CREAT | O_RDWR, 0600), EINVAL);
    EXPECT_ERR("no-directory-bit", open("d", (O_TMPFILE & ~O_DIRECTORY) | O_RDWR, 0600), EINVAL);
    EXPECT_ERR("on-file", open("d/named", O_TMPFILE | O_RDWR, 0600), ENOTDIR);
    EXPECT_ERR("missing", open("nope", O_TMPFILE | O_RDWR, 0600), ENOENT);
    EXPECT_ERR("procfs", open("/proc", O_TMPFILE | O_RDWR, 0600), EOPNOTSUPP);
    printf("entries=%d\n", entries("d"));
    /* Leave the directory as found: the other run takes the same one. */
    unlink("d/named");
    unlink("d/again");
    unlink("d/empty");
    report("rmdir-d", rmdir("d"));
    return 0;
}
