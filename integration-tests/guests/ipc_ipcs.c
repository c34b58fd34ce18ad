/* `ipcs` (util-linux) after creating one shared memory segment (attached), one semaphore
 * set and one message queue with keys of this run: the lines of `ipcs -a` and `ipcs -u`
 * that are headers or name these keys, with the id column masked (ids differ between
 * kernels), then `ipcs -m -i ID`'s field names. Everything is removed at the end.
 * argv[1]: the ipcs program. */
#include "common.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

static void run(const char *cmd, const char *label, const char *keys[3], int mask_ids) {
    FILE *p = popen(cmd, "r");
    char line[512];
    printf("$ ipcs %s\n", label);
    while (p && fgets(line, sizeof line, p)) {
        int mine = 0;
        for (int i = 0; i < 3; i++)
            if (keys && strstr(line, keys[i])) mine = 1 + i;
        if (line[0] == '-' || strncmp(line, "key", 3) == 0 || line[0] == '\n') {
            printf("%s", line);
        } else if (mine && mask_ids) {
            /* key, id, rest: mask the id. */
            char key[32], id[32];
            int off = 0;
            sscanf(line, "%31s %31s %n", key, id, &off);
            printf("KEY%d ID %s", mine - 1, line + off);
        } else if (!keys) {
            /* Field names only. */
            char *colon = strchr(line, ':');
            char *eq = strchr(line, '=');
            if (colon) *colon = 0;
            if (eq) *eq = 0;
            printf("%s\n", line);
        }
    }
    if (p) pclose(p);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *ipcs = argc > 1 ? argv[1] : "ipcs";
    int base = 0x75300000 | ((getpid() & 0xffff) << 4);
    char k[3][16];
    const char *keys[3] = {k[0], k[1], k[2]};
    for (int i = 0; i < 3; i++) snprintf(k[i], sizeof k[i], "0x%08x", base + i);
    int shm = shmget(base, 5000, IPC_CREAT | IPC_EXCL | 0640);
    int sem = semget(base + 1, 3, IPC_CREAT | IPC_EXCL | 0600);
    int msg = msgget(base + 2, IPC_CREAT | IPC_EXCL | 0666);
    CHECK("created", shm >= 0 && sem >= 0 && msg >= 0);
    void *at = shmat(shm, NULL, 0);
    struct { long t; char x[10]; } m = {1, "123456789"};
    msgsnd(msg, &m, 10, 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s -a", ipcs);
    run(cmd, "-a", keys, 1);
    snprintf(cmd, sizeof cmd, "%s -u", ipcs);
    run(cmd, "-u (headers)", keys, 1);
    snprintf(cmd, sizeof cmd, "%s -m -i %d", ipcs, shm);
    run(cmd, "-m -i ID", NULL, 0);
    shmdt(at);
    shmctl(shm, IPC_RMID, NULL);
    semctl(sem, 0, IPC_RMID);
    msgctl(msg, IPC_RMID, NULL);
    snprintf(cmd, sizeof cmd, "%s -a", ipcs);
    run(cmd, "-a after removal", keys, 1);
    return 0;
}
