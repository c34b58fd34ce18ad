/* /proc/sys: values that do not depend on the machine compared exactly, the others by
 * format; stat modes and listings; writes as root with effect (host name, in a UTS
 * namespace natively); EACCES/EPERM for a non-root user. */
#include "common.h"
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>

static char *readf(const char *path) {
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(buf, sizeof buf, "open:%s", ename(errno));
        return buf;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

static int is_uint_line(const char *s) {
    if (!isdigit((unsigned char)*s)) return 0;
    while (isdigit((unsigned char)*s)) s++;
    return strcmp(s, "\n") == 0;
}

static int is_uuid_line(const char *s) {
    if (strlen(s) != 37 || s[36] != '\n') return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return 0;
    }
    return 1;
}

static int writef(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    return n < 0 ? -e : (int)n;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    (void)argc, (void)argv;
    const char *exact[] = {
        "kernel/ngroups_max", "kernel/overflowuid", "kernel/overflowgid", "kernel/ostype",
        "kernel/shmmni", "kernel/shmmax", "kernel/shmall", "kernel/msgmax", "kernel/msgmnb",
        "kernel/msgmni", "kernel/sem", "kernel/cap_last_cap", "fs/nr_open",
        "fs/pipe-max-size", "fs/mqueue/msg_max", "fs/mqueue/msgsize_max",
        "fs/mqueue/queues_max", "fs/mqueue/msg_default", "fs/mqueue/msgsize_default",
        "fs/inotify/max_user_instances", "fs/inotify/max_queued_events",
        "net/core/somaxconn", "vm/max_map_count", "vm/overcommit_memory", NULL};
    char path[256];
    for (int i = 0; exact[i]; i++) {
        snprintf(path, sizeof path, "/proc/sys/%s", exact[i]);
        printf("%s = %s", exact[i], readf(path));
    }
    const char *numeric[] = {"kernel/pid_max", "kernel/threads-max", "kernel/tainted",
                             "kernel/perf_event_paranoid", "fs/file-max",
                             "fs/inotify/max_user_watches", "vm/mmap_min_addr", NULL};
    for (int i = 0; numeric[i]; i++) {
        snprintf(path, sizeof path, "/proc/sys/%s", numeric[i]);
        printf("%s is a number: %d\n", numeric[i], is_uint_line(readf(path)));
    }
    struct utsname u;
    uname(&u);
    char want[128];
    snprintf(want, sizeof want, "%s\n", u.release);
    printf("osrelease is uname's: %d\n", strcmp(readf("/proc/sys/kernel/osrelease"), want) == 0);
    snprintf(want, sizeof want, "%s\n", u.version);
    printf("version is uname's: %d\n", strcmp(readf("/proc/sys/kernel/version"), want) == 0);
    snprintf(want, sizeof want, "%s\n", u.nodename);
    printf("hostname is uname's: %d\n", strcmp(readf("/proc/sys/kernel/hostname"), want) == 0);
    snprintf(want, sizeof want, "%s\n", u.domainname);
    printf("domainname is uname's: %d\n", strcmp(readf("/proc/sys/kernel/domainname"), want) == 0);
    char boot[64], uuid1[64];
    snprintf(boot, sizeof boot, "%s", readf("/proc/sys/kernel/random/boot_id"));
    snprintf(uuid1, sizeof uuid1, "%s", readf("/proc/sys/kernel/random/uuid"));
    printf("boot_id: uuid=%d same twice=%d\n", is_uuid_line(boot),
           strcmp(boot, readf("/proc/sys/kernel/random/boot_id")) == 0);
    printf("uuid: uuid=%d fresh each read=%d\n", is_uuid_line(uuid1),
           strcmp(uuid1, readf("/proc/sys/kernel/random/uuid")) != 0);

    /* Modes and listings. */
    const char *modes[] = {"/proc/sys", "/proc/sys/kernel", "/proc/sys/kernel/random",
                           "/proc/sys/kernel/hostname", "/proc/sys/kernel/ostype",
                           "/proc/sys/kernel/pid_max", "/proc/sys/fs/pipe-max-size",
                           "/proc/sys/kernel/random/uuid", "/proc/sys/fs/mqueue", NULL};
    for (int i = 0; modes[i]; i++) {
        struct stat st;
        int r = stat(modes[i], &st);
        printf("stat %s: %d %s %o uid=%d\n", modes[i], r, S_ISDIR(st.st_mode) ? "dir" : "file",
               st.st_mode & 07777, st.st_uid);
    }
    const char *dirs[][8] = {
        {"/proc/sys", "fs", "kernel", "net", "vm", NULL},
        {"/proc/sys/kernel", "hostname", "pid_max", "random", "osrelease", "threads-max", NULL},
        {"/proc/sys/fs", "file-max", "nr_open", "pipe-max-size", "inotify", "mqueue", NULL},
        {"/proc/sys/vm", "overcommit_memory", "max_map_count", "mmap_min_addr", NULL},
        {"/proc/sys/net/core", "somaxconn", NULL},
    };
    for (int i = 0; i < 5; i++) {
        DIR *d = opendir(dirs[i][0]);
        int found = 0, want_n = 0;
        for (int j = 1; dirs[i][j]; j++) want_n++;
        struct dirent *e;
        while (d && (e = readdir(d))) {
            for (int j = 1; dirs[i][j]; j++)
                if (strcmp(e->d_name, dirs[i][j]) == 0) found++;
        }
        if (d) closedir(d);
        printf("listing %s: all there=%d\n", dirs[i][0], found == want_n);
    }

    /* Writes as root: the host name follows (natively in a UTS namespace of its own). */
    printf("write hostname: %d\n", writef("/proc/sys/kernel/hostname", "uml-test-host\n"));
    uname(&u);
    printf("uname after write: %s\n", u.nodename);
    printf("read back: %s", readf("/proc/sys/kernel/hostname"));
    printf("sethostname: %d\n", sethostname("via-syscall", 11));
    printf("proc after sethostname: %s", readf("/proc/sys/kernel/hostname"));
    /* The /proc/sys files take splice(2) writes. */
    int sp[2];
    if (pipe(sp) == 0) {
        write(sp[1], "spliced-host\n", 13);
        int hfd = open("/proc/sys/kernel/hostname", O_WRONLY);
        long n = splice(sp[0], NULL, hfd, NULL, 64, 0);
        printf("splice into hostname: %ld, now %s", n, readf("/proc/sys/kernel/hostname"));
        close(hfd);
        close(sp[0]);
        close(sp[1]);
    }
    printf("setdomainname: %d\n", setdomainname("dom.example", 11));
    uname(&u);
    printf("domain: %s / %s", u.domainname, readf("/proc/sys/kernel/domainname"));
    static char longname[80] = "x";
    EXPECT_ERR("sethostname 65 bytes", sethostname(longname, 65), EINVAL);
    printf("write osrelease as root: %d\n", writef("/proc/sys/kernel/osrelease", "9.9\n"));
    printf("write pid_max garbage: %d\n", writef("/proc/sys/kernel/pid_max", "abc\n"));
    printf("write pid_max too small: %d\n", writef("/proc/sys/kernel/pid_max", "10\n"));

    /* Not root: EACCES on open for writing, EPERM for sethostname; reads still work. */
    if (setgid(65534) != 0 || setuid(65534) != 0) {
        printf("bad setuid\n");
        return 1;
    }
    int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
    printf("non-root open hostname for writing: %d %s\n", fd, ename(fd < 0 ? errno : 0));
    fd = open("/proc/sys/kernel/pid_max", O_RDWR);
    printf("non-root open pid_max O_RDWR: %d %s\n", fd, ename(fd < 0 ? errno : 0));
    EXPECT_ERR("non-root sethostname", sethostname("nope", 4), EPERM);
    /* ns_last_pid: anyone may open it, only CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE write it. */
    fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
    printf("non-root open ns_last_pid for writing: %s\n", fd < 0 ? ename(errno) : "OK");
    if (fd >= 0) EXPECT_ERR("non-root write ns_last_pid", write(fd, "300\n", 4), EPERM);
    printf("non-root read: %s", readf("/proc/sys/kernel/hostname"));
    printf("done\n");
    return 0;
}
