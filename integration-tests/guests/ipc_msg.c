/* SysV message queues: typed messages between processes, msgtyp 0/positive/negative,
 * MSG_EXCEPT, MSG_NOERROR and E2BIG, MSG_COPY, blocking receivers and senders (msg_qbytes
 * lowered with IPC_SET), EIDRM, EINTR, msgctl's commands, and the errnos of bad ids, types,
 * sizes and permissions. */
#include "common.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>

struct m {
    long type;
    char text[64];
};

static int wait_child(void) {
    int s;
    wait(&s);
    if (WIFSIGNALED(s)) return 128 + WTERMSIG(s);
    return WEXITSTATUS(s);
}

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) { }
}

static int snd(int id, long type, const char *text, int flg) {
    struct m m = {type, ""};
    strcpy(m.text, text);
    return msgsnd(id, &m, strlen(text) + 1, flg);
}

static void rcv(const char *what, int id, long typ, size_t sz, int flg) {
    struct m m;
    memset(&m, 0, sizeof m);
    long n = msgrcv(id, &m, sz, typ, flg);
    if (n < 0) printf("%s: %s\n", what, ename(errno));
    else printf("%s: n=%ld type=%ld text=%.*s\n", what, n, m.type, (int)n, m.text);
}

static void qstat(int id, const char *what) {
    struct msqid_ds ds;
    if (msgctl(id, IPC_STAT, &ds) < 0) {
        printf("%s: stat %s\n", what, ename(errno));
        return;
    }
    printf("%s: qnum=%lu cbytes=%lu qbytes=%lu mode=%o\n", what, ds.msg_qnum,
           ds.__msg_cbytes, ds.msg_qbytes, ds.msg_perm.mode);
}

static void on_alarm(int s) { (void)s; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK("msgget", id >= 0);
    qstat(id, "empty");
    snd(id, 3, "three", 0);
    snd(id, 1, "one-a", 0);
    snd(id, 2, "two", 0);
    snd(id, 1, "one-b", 0);
    snd(id, 7, "seven", 0);
    qstat(id, "five queued");
    struct msqid_ds ds;
    msgctl(id, IPC_STAT, &ds);
    printf("lspid_is_me=%d lrpid=%d stime_set=%d\n", ds.msg_lspid == getpid(), ds.msg_lrpid,
           ds.msg_stime != 0);
    rcv("MSG_COPY 1", id, 1, 64, MSG_COPY | IPC_NOWAIT);
    rcv("MSG_COPY 9", id, 9, 64, MSG_COPY | IPC_NOWAIT);
    rcv("MSG_COPY without IPC_NOWAIT", id, 1, 64, MSG_COPY);
    rcv("type 0", id, 0, 64, 0);
    rcv("type 1", id, 1, 64, 0);
    rcv("type -2", id, -2, 64, 0);
    rcv("except 2", id, 2, 64, MSG_EXCEPT);
    rcv("too small", id, 0, 2, 0);
    rcv("noerror", id, 0, 2, MSG_NOERROR);
    rcv("empty nowait", id, 0, 64, IPC_NOWAIT);
    rcv("type 5 nowait", id, 5, 64, IPC_NOWAIT);
    qstat(id, "drained");

    /* A receiver waiting for type 5 between processes. */
    if (fork() == 0) {
        rcv("child type 5", id, 5, 64, 0);
        _exit(0);
    }
    msleep(50);
    snd(id, 4, "four", 0);
    msleep(50);
    snd(id, 5, "five", 0);
    wait_child();
    rcv("parent gets", id, 0, 64, IPC_NOWAIT);

    /* A sender waiting for room. */
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 20;
    printf("IPC_SET qbytes=%d\n", msgctl(id, IPC_SET, &ds));
    qstat(id, "small");
    printf("fill=%d\n", snd(id, 1, "0123456789abcdef", 0));
    EXPECT_ERR("full nowait", snd(id, 1, "xyz", IPC_NOWAIT), EAGAIN);
    if (fork() == 0) {
        printf("child send=%d\n", snd(id, 2, "later", 0));
        _exit(0);
    }
    msleep(100);
    struct m room;
    long got = msgrcv(id, &room, 64, 0, 0);
    wait_child();
    printf("make room: n=%ld text=%s\n", got, room.text);
    rcv("sent after room", id, 0, 64, IPC_NOWAIT);

    /* Bad arguments. */
    EXPECT_ERR("mtype 0", snd(id, 0, "x", 0), EINVAL);
    struct m big = {1, ""};
    EXPECT_ERR("size > msgmax", msgsnd(id, &big, 9000, 0), EINVAL);
    EXPECT_ERR("unmapped buffer", msgsnd(id, (void *)8, 4, 0), EFAULT);
    EXPECT_ERR("unknown id", snd(0x7ffffff0, 1, "x", 0), EINVAL);
    EXPECT_ERR("negative id", snd(-1, 1, "x", 0), EINVAL);
    EXPECT_ERR("msgrcv bad id", msgrcv(0x7ffffff0, &big, 8, 0, 0), EINVAL);
    EXPECT_ERR("msgctl bad cmd", msgctl(id, 99, &ds), EINVAL);
    EXPECT_ERR("msgctl bad buf", msgctl(id, IPC_STAT, (void *)8), EFAULT);
    key_t key = 0x75200000 | (getpid() & 0xfffff);
    int k = msgget(key, IPC_CREAT | IPC_EXCL | 0640);
    CHECK("msgget key", k >= 0);
    printf("same key: %d\n", msgget(key, 0) == k);
    EXPECT_ERR("msgget EEXIST", msgget(key, IPC_CREAT | IPC_EXCL), EEXIST);
    EXPECT_ERR("msgget ENOENT", msgget(key + 1, 0), ENOENT);
    struct msginfo mi;
    CHECK("IPC_INFO", msgctl(0, IPC_INFO, (struct msqid_ds *)&mi) >= 0);
    printf("msgmax=%d msgmnb=%d msgmni=%d msgssz=%d msgseg=%d\n", mi.msgmax, mi.msgmnb,
           mi.msgmni, mi.msgssz, mi.msgseg);
    snd(k, 1, "abc", 0);
    CHECK("MSG_INFO", msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) >= 0);
    printf("MSG_INFO queues>=2: %d msgs>=1: %d\n", mi.msgpool >= 2, mi.msgmap >= 1);
    printf("MSG_STAT gives id: %d\n", msgctl(k % 32768, MSG_STAT, &ds) == k);

    /* As nobody. */
    if (fork() == 0) {
        if (setgid(65534) || setuid(65534)) printf("bad setuid\n");
        EXPECT_ERR("nobody send 0600", snd(id, 1, "x", 0), EACCES);
        EXPECT_ERR("nobody stat 0600", msgctl(id, IPC_STAT, &ds), EACCES);
        EXPECT_ERR("nobody IPC_RMID", msgctl(id, IPC_RMID, NULL), EPERM);
        EXPECT_ERR("nobody msgget 0640", msgget(key, 0600), EACCES);
        int own = msgget(IPC_PRIVATE, 0600);
        msgctl(own, IPC_STAT, &ds);
        ds.msg_qbytes = 100000;
        EXPECT_ERR("nobody raises qbytes past msgmnb", msgctl(own, IPC_SET, &ds), EPERM);
        ds.msg_qbytes = 100;
        printf("nobody lowers qbytes=%d\n", msgctl(own, IPC_SET, &ds));
        msgctl(own, IPC_RMID, NULL);
        _exit(0);
    }
    wait_child();
    /* (Raising msg_qbytes past msgmnb takes CAP_SYS_RESOURCE, which a container's root
     * may lack natively: not compared.) */

    /* EINTR and EIDRM. */
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    if (fork() == 0) {
        alarm(1);
        rcv("interrupted", id, 9, 64, 0);
        _exit(0);
    }
    wait_child();
    if (fork() == 0) {
        rcv("waiter of removed queue", id, 9, 64, 0);
        _exit(0);
    }
    msleep(100);
    int rm = msgctl(id, IPC_RMID, NULL);
    wait_child();
    printf("IPC_RMID=%d\n", rm);
    printf("IPC_RMID key=%d\n", msgctl(k, IPC_RMID, NULL));
    qstat(k, "removed");
    return 0;
}
