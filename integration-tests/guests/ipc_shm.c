/* SysV shared memory between processes: a writer and a reader, shm_nattch across fork,
 * shmdt and exit, IPC_RMID while attached (SHM_DEST, key 0, destroyed at the last
 * detach), SHM_RDONLY, SHM_RND/SHM_REMAP, IPC_SET, SHM_STAT, the errnos of bad ids,
 * sizes, flags and addresses, and as a non-root user (setuid in a child). */
#include "common.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>

static struct shmid_ds st(int id) {
    struct shmid_ds ds;
    memset(&ds, 0, sizeof ds);
    if (shmctl(id, IPC_STAT, &ds) < 0) printf("stat: %s\n", ename(errno));
    return ds;
}

static int wait_child(void) {
    int s;
    wait(&s);
    if (WIFSIGNALED(s)) return 128 + WTERMSIG(s);
    return WEXITSTATUS(s);
}

/* The name column of the /proc/self/maps line of address `a`. */
static void maps_name(void *a) {
    char line[512], want[32];
    snprintf(want, sizeof want, "%lx-", (unsigned long)a);
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, want, strlen(want)) == 0) {
            char *name = strchr(line, '/');
            printf("maps: %s", name ? name : "(none)\n");
            char perms[5] = {0};
            sscanf(strchr(line, ' ') + 1, "%4s", perms);
            printf("maps perms: %s\n", perms);
        }
    }
    if (f) fclose(f);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t me = getpid();
    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    CHECK("shmget private", id >= 0);
    struct shmid_ds ds = st(id);
    printf("segsz=%zu nattch=%lu mode=%o cpid_is_me=%d lpid=%d key=%d\n", ds.shm_segsz,
           ds.shm_nattch, ds.shm_perm.mode, ds.shm_cpid == me, ds.shm_lpid, ds.shm_perm.__key);
    char *p = shmat(id, NULL, 0);
    CHECK("shmat", p != (void *)-1);
    maps_name(p);
    strcpy(p, "from parent");
    printf("nattch after shmat=%lu lpid_is_me=%d\n", st(id).shm_nattch, st(id).shm_lpid == me);
    if (fork() == 0) {
        printf("child sees: %s\n", p);
        printf("child nattch (inherited)=%lu\n", st(id).shm_nattch);
        char *q = shmat(id, NULL, 0);
        printf("child nattch (own attach)=%lu\n", st(id).shm_nattch);
        strcpy(q + 100, "from child");
        shmdt(q);
        printf("child nattch (after shmdt)=%lu\n", st(id).shm_nattch);
        _exit(0);
    }
    wait_child();
    printf("parent sees: %s; nattch=%lu\n", p + 100, st(id).shm_nattch);

    /* Contents outlive the attaches. */
    shmdt(p);
    printf("nattch after shmdt=%lu\n", st(id).shm_nattch);
    p = shmat(id, NULL, 0);
    printf("reattached sees: %s\n", p + 100);

    /* Read-only attach: a store kills the child. */
    if (fork() == 0) {
        char *r = shmat(id, NULL, SHM_RDONLY);
        maps_name(r);
        printf("ro reads: %s\n", r);
        EXPECT_ERR("mprotect ro attach writable", mprotect(r, 4096, PROT_READ | PROT_WRITE), EACCES);
        r[0] = 'x';
        _exit(0);
    }
    printf("ro child status=%d\n", wait_child());

    /* Addresses. */
    char *area = mmap(NULL, 8 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area, 8 * 4096);
    EXPECT_ERR("shmat unaligned", (long)shmat(id, area + 1, 0), EINVAL);
    char *r = shmat(id, area + 5, SHM_RND);
    printf("SHM_RND rounds down: %d\n", r == area);
    EXPECT_ERR("shmat over a mapping", (long)shmat(id, area, 0), EINVAL);
    char *r2 = shmat(id, area, SHM_REMAP);
    printf("SHM_REMAP: %d sees: %s\n", r2 == area, r2 + 100);
    EXPECT_ERR("SHM_REMAP without address", (long)shmat(id, NULL, SHM_REMAP), EINVAL);
    EXPECT_ERR("shmdt unaligned", shmdt(r2 + 1), EINVAL);
    EXPECT_ERR("shmdt not attached", shmdt(area + 6 * 4096), EINVAL);
    printf("shmdt remap=%d\n", shmdt(r2));
    printf("nattch=%lu\n", st(id).shm_nattch);

    /* IPC_SET. */
    ds = st(id);
    ds.shm_perm.mode = 0640;
    int set = shmctl(id, IPC_SET, &ds);
    printf("IPC_SET=%d mode=%o\n", set, st(id).shm_perm.mode);

    /* SHM_STAT by index. */
    struct shmid_ds ds2;
    int idx = id % 32768;
    printf("SHM_STAT gives id: %d\n", shmctl(idx, SHM_STAT, &ds2) == id);
    struct shminfo si;
    CHECK("IPC_INFO", shmctl(0, IPC_INFO, (struct shmid_ds *)&si) >= 0);
    printf("shmmin=%lu shmmni=%lu shmseg=%lu\n", si.shmmin, si.shmmni, si.shmseg);
    struct shm_info su;
    CHECK("SHM_INFO", shmctl(0, SHM_INFO, (struct shmid_ds *)&su) >= 0);
    printf("used_ids>=1: %d\n", su.used_ids >= 1);
    printf("SHM_LOCK=%d SHM_UNLOCK=%d\n", shmctl(id, SHM_LOCK, NULL), shmctl(id, SHM_UNLOCK, NULL));

    /* Keys. */
    key_t key = 0x75000000 | (me & 0xffffff);
    int k = shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0644);
    CHECK("shmget key", k >= 0);
    printf("same key again: %d\n", shmget(key, 4096, 0) == k);
    EXPECT_ERR("shmget EEXIST", shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    EXPECT_ERR("shmget bigger than existing", shmget(key, 9000, 0), EINVAL);
    EXPECT_ERR("shmget ENOENT", shmget(key + 1, 4096, 0600), ENOENT);
    EXPECT_ERR("shmget size 0", shmget(IPC_PRIVATE, 0, 0600), EINVAL);
    EXPECT_ERR("shmget huge", shmget(IPC_PRIVATE, (size_t)-4096, 0600), EINVAL);
    EXPECT_ERR("shmctl bad id", shmctl(0x7ffffff0, IPC_STAT, &ds), EINVAL);
    EXPECT_ERR("shmctl negative id", shmctl(-1, IPC_STAT, &ds), EINVAL);
    EXPECT_ERR("shmctl bad cmd", shmctl(id, 99, &ds), EINVAL);
    EXPECT_ERR("shmctl bad buf", shmctl(id, IPC_STAT, (void *)8), EFAULT);
    EXPECT_ERR("shmat bad id", (long)shmat(0x7ffffff0, NULL, 0), EINVAL);
    EXPECT_ERR("shmat negative id", (long)shmat(-1, NULL, 0), EINVAL);

    /* As nobody. */
    if (fork() == 0) {
        if (setgid(65534) || setuid(65534)) printf("bad setuid\n");
        EXPECT_ERR("nobody shmat 0640", (long)shmat(id, NULL, 0), EACCES);
        EXPECT_ERR("nobody IPC_STAT 0640", shmctl(id, IPC_STAT, &ds), EACCES);
        EXPECT_ERR("nobody IPC_RMID", shmctl(id, IPC_RMID, NULL), EPERM);
        EXPECT_ERR("nobody SHM_LOCK", shmctl(id, SHM_LOCK, NULL), EPERM);
        char *ro = shmat(k, NULL, SHM_RDONLY);
        printf("nobody ro attach of 0644: %d\n", ro != (void *)-1);
        EXPECT_ERR("nobody rw attach of 0644", (long)shmat(k, NULL, 0), EACCES);
        EXPECT_ERR("nobody shmget key for write", shmget(key, 0, 0600), EACCES);
        printf("nobody shmget key for read: %d\n", shmget(key, 0, 0400) == k);
        _exit(0);
    }
    wait_child();
    printf("nattch of key segment after nobody exits=%lu\n", st(k).shm_nattch);
    printf("rmid key=%d\n", shmctl(k, IPC_RMID, NULL));
    EXPECT_ERR("stat after rmid", shmctl(k, IPC_STAT, &ds), EINVAL);

    /* IPC_RMID while attached. */
    printf("rmid attached=%d\n", shmctl(id, IPC_RMID, NULL));
    ds = st(id);
    printf("after rmid: mode=%o key=%d nattch=%lu\n", ds.shm_perm.mode, ds.shm_perm.__key,
           ds.shm_nattch);
    printf("still usable: %s\n", p + 100);
    if (fork() == 0) {
        char *q = shmat(id, NULL, 0);
        printf("child attaches removed segment: %d\n", q != (void *)-1);
        _exit(0);
    }
    wait_child();
    shmdt(p);
    EXPECT_ERR("gone after last detach", shmctl(id, IPC_STAT, &ds), EINVAL);
    return 0;
}
