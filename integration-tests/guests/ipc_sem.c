/* SysV semaphores: a mutex between processes, blocking and waking (GETNCNT/GETZCNT),
 * atomic multi-operation semop, IPC_NOWAIT, semtimedop timeouts, SEM_UNDO applied at exit,
 * EIDRM for a waiter whose set is removed, EINTR on a signal (even with SA_RESTART),
 * semctl's commands and the errnos of bad ids, numbers, values and permissions. */
#include "common.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
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

static int op(int id, int num, int delta, int flg) {
    struct sembuf b = {num, delta, flg};
    return semop(id, &b, 1);
}

/* Waits until `n` tasks wait on semaphore `num` (cmd GETNCNT or GETZCNT). */
static void wait_for_waiters(int id, int num, int cmd, int n) {
    for (int i = 0; i < 5000 && semctl(id, num, cmd) != n; i++) msleep(2);
    printf("%s(%d)=%d\n", cmd == GETNCNT ? "GETNCNT" : "GETZCNT", num, semctl(id, num, cmd));
}

static void on_alarm(int s) { (void)s; }

static void show(int id, const char *what) {
    unsigned short v[3];
    union semun u = {.array = v};
    semctl(id, 0, GETALL, u);
    printf("%s: %d %d %d\n", what, v[0], v[1], v[2]);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    CHECK("semget", id >= 0);
    unsigned short init[3] = {1, 0, 5};
    union semun u = {.array = init};
    printf("SETALL=%d\n", semctl(id, 0, SETALL, u));
    show(id, "values");
    printf("GETVAL(2)=%d GETPID_is_me=%d\n", semctl(id, 2, GETVAL), semctl(id, 0, GETPID) == getpid());
    struct semid_ds ds;
    u.buf = &ds;
    semctl(id, 0, IPC_STAT, u);
    printf("nsems=%lu mode=%o otime=%ld\n", ds.sem_nsems, ds.sem_perm.mode, (long)ds.sem_otime);

    /* A mutex between processes guarding a non-atomic counter. */
    volatile int *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (int c = 0; c < 3; c++) {
        if (fork() == 0) {
            for (int i = 0; i < 200; i++) {
                op(id, 0, -1, SEM_UNDO);
                int v = *counter;
                if (i % 16 == 0) sched_yield();
                *counter = v + 1;
                op(id, 0, 1, SEM_UNDO);
            }
            _exit(0);
        }
    }
    for (int c = 0; c < 3; c++) wait_child();
    printf("counter=%d sem0=%d\n", *counter, semctl(id, 0, GETVAL));

    /* Waiting for an increase. */
    if (fork() == 0) {
        int r = op(id, 1, -1, 0);
        printf("child got sem1: %d\n", r);
        _exit(0);
    }
    wait_for_waiters(id, 1, GETNCNT, 1);
    op(id, 1, 1, 0);
    wait_child();
    /* Waiting for zero. */
    if (fork() == 0) {
        int r = op(id, 2, 0, 0);
        printf("child saw zero: %d\n", r);
        _exit(0);
    }
    wait_for_waiters(id, 2, GETZCNT, 1);
    u.val = 0;
    int r0 = semctl(id, 2, SETVAL, u);
    wait_child();
    printf("SETVAL 0=%d\n", r0);
    show(id, "after waits");

    /* All or nothing. */
    struct sembuf two[2] = {{0, -1, 0}, {1, -1, IPC_NOWAIT}};
    EXPECT_ERR("semop atomic (sem1 is 0)", semop(id, two, 2), EAGAIN);
    show(id, "unchanged");
    struct sembuf three[3] = {{0, -1, 0}, {0, 1, 0}, {2, 3, 0}};
    printf("semop 3 ops=%d\n", semop(id, three, 3));
    show(id, "after 3 ops");
    EXPECT_ERR("IPC_NOWAIT", op(id, 1, -1, IPC_NOWAIT), EAGAIN);
    struct timespec ts = {0, 100 * 1000000L};
    struct sembuf b = {1, -1, 0};
    EXPECT_ERR("semtimedop timeout", semtimedop(id, &b, 1, &ts), EAGAIN);
    struct timespec bad = {0, 2000000000L};
    EXPECT_ERR("semtimedop bad timeout", semtimedop(id, &b, 1, &bad), EINVAL);

    /* SEM_UNDO at exit. */
    if (fork() == 0) {
        op(id, 0, -1, SEM_UNDO);
        op(id, 2, 2, SEM_UNDO);
        _exit(0);
    }
    wait_child();
    show(id, "after undo at exit");
    if (fork() == 0) {
        op(id, 2, -3, SEM_UNDO);
        u.val = 7;
        semctl(id, 2, SETVAL, u); /* clears the adjustment */
        _exit(0);
    }
    wait_child();
    show(id, "SETVAL clears undo");
    printf("GETPID is child: %d\n", semctl(id, 2, GETPID) != getpid());

    /* Ranges and bad arguments. */
    u.val = 40000;
    EXPECT_ERR("SETVAL 40000", semctl(id, 0, SETVAL, u), ERANGE);
    u.val = -1;
    EXPECT_ERR("SETVAL -1", semctl(id, 0, SETVAL, u), ERANGE);
    EXPECT_ERR("semop past SEMVMX", op(id, 2, 32767, 0), ERANGE);
    EXPECT_ERR("semop bad num", op(id, 5, 1, 0), EFBIG);
    EXPECT_ERR("semop 0 ops", semop(id, &b, 0), EINVAL);
    static struct sembuf many[600];
    EXPECT_ERR("semop 600 ops", semop(id, many, 600), E2BIG);
    EXPECT_ERR("semop bad sops", semop(id, (void *)8, 1), EFAULT);
    EXPECT_ERR("semop bad id", op(0x7ffffff0, 0, 1, 0), EINVAL);
    EXPECT_ERR("GETVAL bad num", semctl(id, 3, GETVAL), EINVAL);
    EXPECT_ERR("semctl bad cmd", semctl(id, 0, 99), EINVAL);
    EXPECT_ERR("semctl bad id", semctl(0x7ffffff0, 0, GETVAL), EINVAL);
    EXPECT_ERR("semget nsems 0", semget(IPC_PRIVATE, 0, 0600), EINVAL);
    EXPECT_ERR("semget nsems too many", semget(IPC_PRIVATE, 40000, 0600), EINVAL);
    key_t key = 0x75100000 | (getpid() & 0xfffff);
    int k = semget(key, 2, IPC_CREAT | IPC_EXCL | 0640);
    CHECK("semget key", k >= 0);
    EXPECT_ERR("semget more than existing", semget(key, 3, 0), EINVAL);
    printf("semget fewer: %d\n", semget(key, 1, 0) == k);
    EXPECT_ERR("semget EEXIST", semget(key, 2, IPC_CREAT | IPC_EXCL), EEXIST);
    EXPECT_ERR("semget ENOENT", semget(key + 1, 2, 0), ENOENT);

    struct seminfo si;
    u.__buf = &si;
    CHECK("IPC_INFO", semctl(0, 0, IPC_INFO, u) >= 0);
    printf("semmsl=%d semopm=%d semvmx=%d semmni=%d\n", si.semmsl, si.semopm, si.semvmx, si.semmni);
    CHECK("SEM_INFO", semctl(0, 0, SEM_INFO, u) >= 0);
    printf("SEM_INFO sets>=2: %d sems>=5: %d\n", si.semusz >= 2, si.semaem >= 5);
    u.buf = &ds;
    printf("SEM_STAT gives id: %d\n", semctl(k % 32768, 0, SEM_STAT, u) == k);
    semctl(k, 0, IPC_STAT, u);
    ds.sem_perm.mode = 0604;
    printf("IPC_SET=%d\n", semctl(k, 0, IPC_SET, u));
    semctl(k, 0, IPC_STAT, u);
    printf("mode after IPC_SET=%o\n", ds.sem_perm.mode);

    /* As nobody. */
    if (fork() == 0) {
        if (setgid(65534) || setuid(65534)) printf("bad setuid\n");
        EXPECT_ERR("nobody semop 0600", op(id, 0, 1, 0), EACCES);
        EXPECT_ERR("nobody GETVAL 0600", semctl(id, 0, GETVAL), EACCES);
        EXPECT_ERR("nobody IPC_RMID", semctl(id, 0, IPC_RMID), EPERM);
        printf("nobody GETVAL 0604=%d\n", semctl(k, 0, GETVAL));
        EXPECT_ERR("nobody semop 0604", op(k, 0, 1, 0), EACCES);
        struct sembuf z = {0, 0, 0};
        printf("nobody wait-for-zero 0604=%d\n", semop(k, &z, 1));
        _exit(0);
    }
    wait_child();

    /* EINTR, with SA_RESTART too. */
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    if (fork() == 0) {
        alarm(1);
        EXPECT_ERR("semop interrupted", op(k, 1, -1, 0), EINTR);
        _exit(0);
    }
    wait_child();

    /* EIDRM for waiters. */
    if (fork() == 0) {
        EXPECT_ERR("waiter of removed set", op(k, 1, -1, 0), EIDRM);
        _exit(0);
    }
    wait_for_waiters(k, 1, GETNCNT, 1);
    int rm = semctl(k, 0, IPC_RMID);
    wait_child();
    printf("IPC_RMID=%d\n", rm);
    EXPECT_ERR("GETVAL after rmid", semctl(k, 0, GETVAL), EINVAL);
    printf("IPC_RMID=%d\n", semctl(id, 0, IPC_RMID));
    return 0;
}
