/* dnotify (fcntl F_NOTIFY): the signals a watched directory sends for each kind of event
 * on it and its children (DN_ACCESS, DN_MODIFY, DN_CREATE, DN_DELETE, DN_RENAME,
 * DN_ATTRIB), with F_SETSIG's siginfo (si_code POLL_MSG, si_fd, si_band) or plain SIGIO;
 * one-shot and DN_MULTISHOT requests, requests extended and moved to another descriptor,
 * removed by a 0 mask or by closing any descriptor of the description, kept across a
 * child's close; a change made by a child signals the owner; the owner F_NOTIFY sets;
 * errnos. Run in a scratch directory. */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define SIG (SIGRTMIN + 1)

static volatile int nsig;
static volatile struct {
    int signo, code, fd;
    long band;
} got[64];

static void handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (nsig < 64) {
        got[nsig].signo = sig;
        got[nsig].code = si->si_code;
        got[nsig].fd = si->si_fd;
        got[nsig].band = si->si_band;
    }
    nsig++;
}

/* Prints and forgets the signals received; descriptor numbers print as names. */
static int fd_a, fd_b, fd_c;
static void show(const char *what) {
    printf("%s:", what);
    for (int i = 0; i < nsig && i < 64; i++) {
        const char *w = got[i].fd == fd_a ? "a" : got[i].fd == fd_b ? "b"
                        : got[i].fd == fd_c ? "c" : "?";
        if (got[i].signo == SIGIO)
            printf(" SIGIO(code=%d)", got[i].code);
        else
            printf(" %s(code=%d band=%#lx)", w, got[i].code, got[i].band);
    }
    printf("\n");
    fflush(stdout);
    nsig = 0;
}

static void touch(const char *p) {
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) printf("bad create %s %s\n", p, ename(errno));
    else close(fd);
}

/* Removes what a run leaves (a run starts and ends with the directory as it found it). */
static void clean(void) {
    static const char *files[] = {"d/f1", "d/f2", "d/f3", "d/f4", "d/g1", "d/g2", "d/g3",
                                  "d/g4", "d/g5", "d/h1", "d/h2", "d/h3", "d/h4", "d/h5",
                                  "e/f2", "e/x", "e/y", "file"};
    for (unsigned i = 0; i < sizeof files / sizeof *files; i++) unlink(files[i]);
    rmdir("d/sub");
    rmdir("d");
    rmdir("e");
}

int main(void) {
    clean();
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIG, &sa, NULL);
    sigaction(SIGIO, &sa, NULL);

    mkdir("d", 0755);
    mkdir("e", 0755);
    touch("file");

    /* Errnos and the remove forms. */
    int f = open("file", O_RDONLY);
    EXPECT_ERR("notify_file", fcntl(f, F_NOTIFY, DN_CREATE), ENOTDIR);
    report("notify_file_remove", fcntl(f, F_NOTIFY, 0));
    report("notify_file_multishot_only", fcntl(f, F_NOTIFY, DN_MULTISHOT));
    close(f);
    EXPECT_ERR("notify_badfd", fcntl(99, F_NOTIFY, DN_CREATE), EBADF);
    f = open(".", O_PATH);
    EXPECT_ERR("notify_opath", fcntl(f, F_NOTIFY, DN_CREATE), EBADF);
    EXPECT_ERR("notify_opath_remove", fcntl(f, F_NOTIFY, 0), EBADF);
    close(f);

    /* Every event kind, multishot, F_SETSIG's siginfo. */
    fd_a = open("d", O_RDONLY | O_DIRECTORY);
    printf("owner before=%d\n", fcntl(fd_a, F_GETOWN) == getpid());
    report("setsig", fcntl(fd_a, F_SETSIG, SIG));
    report("notify_all",
           fcntl(fd_a, F_NOTIFY,
                 DN_ACCESS | DN_MODIFY | DN_CREATE | DN_DELETE | DN_RENAME | DN_ATTRIB |
                     DN_MULTISHOT));
    printf("owner after=%d\n", fcntl(fd_a, F_GETOWN) == getpid());
    show("nothing yet");
    int w = open("d/f1", O_CREAT | O_WRONLY, 0644);
    show("create");
    if (write(w, "hello", 5) != 5) printf("bad write\n");
    show("write");
    close(w);
    show("close");
    int r = open("d/f1", O_RDONLY);
    char buf[16];
    if (read(r, buf, sizeof buf) != 5) printf("bad read\n");
    show("read");
    close(r);
    chmod("d/f1", 0600);
    show("chmod child");
    chmod("d", 0750);
    show("chmod dir itself");
    DIR *dd = opendir("d");
    while (readdir(dd)) {
    }
    closedir(dd);
    show("list dir itself");
    rename("d/f1", "d/f2");
    show("rename within");
    rename("d/f2", "e/f2");
    show("rename out");
    rename("e/f2", "d/f3");
    show("rename in");
    mkdir("d/sub", 0755);
    show("mkdir");
    rmdir("d/sub");
    show("rmdir");
    link("d/f3", "d/f4");
    show("link");
    unlink("d/f4");
    show("unlink");
    truncate("d/f3", 1);
    show("truncate");
    touch("e/x");
    show("other dir");

    /* A 0 mask removes the request. */
    report("remove", fcntl(fd_a, F_NOTIFY, 0));
    touch("d/g1");
    show("after remove");

    /* One-shot: the first event only; extending; moving to another descriptor. */
    report("oneshot", fcntl(fd_a, F_NOTIFY, DN_CREATE));
    touch("d/g2");
    touch("d/g3");
    show("oneshot two creates");
    report("narrow", fcntl(fd_a, F_NOTIFY, DN_DELETE | DN_MULTISHOT));
    report("extend", fcntl(fd_a, F_NOTIFY, DN_CREATE));
    touch("d/g4");
    unlink("d/g4");
    show("extended");
    fd_b = dup(fd_a);
    report("moved", fcntl(fd_b, F_NOTIFY, DN_ATTRIB));
    chmod("d/g3", 0600);
    show("through dup");
    /* Closing any descriptor of the description removes it. */
    close(fd_b);
    touch("d/g5");
    show("after closing the dup");

    /* Plain SIGIO without F_SETSIG. */
    fd_c = open("d", O_RDONLY | O_DIRECTORY);
    report("notify_sigio", fcntl(fd_c, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
    touch("d/h1");
    show("sigio");
    report("setsig_c", fcntl(fd_c, F_SETSIG, SIG));
    touch("d/h2");
    show("setsig later");

    /* A child's change signals the owner; the child's close does not remove it. */
    pid_t pid = fork();
    if (pid == 0) {
        close(fd_c);
        touch("d/h3");
        _exit(0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    show("child's change");
    touch("d/h4");
    show("still there");

    /* A bit no event has: a request that never fires. */
    int fd_d = open("e", O_RDONLY | O_DIRECTORY);
    report("unknown bit", fcntl(fd_d, F_NOTIFY, 0x40));
    touch("e/y");
    show("unknown bit");
    close(fd_d);
    close(fd_c);
    close(fd_a);
    touch("d/h5");
    show("all closed");
    clean();
    printf("done\n");
    return 0;
}
