/* /proc of a threaded process: /proc/PID/task lists every thread, /proc/TID and
 * /proc/PID/task/TID show each thread's own state and id, and /proc lists leaders only. */
#include "common.h"
#include <dirent.h>
#include <linux/futex.h>
#include <pthread.h>

static int word;
static volatile int tids[2];

static void *sleeper(void *a) {
    tids[(long)a] = gettid();
    while (__atomic_load_n(&word, __ATOMIC_SEQ_CST) == 0)
        syscall(SYS_futex, &word, FUTEX_WAIT, 0, NULL);
    return NULL;
}

static char state_of(const char *path, int *id) {
    char b[512];
    FILE *f = fopen(path, "r");
    if (!f) return '-';
    size_t n = fread(b, 1, sizeof b - 1, f);
    fclose(f);
    b[n] = 0;
    *id = atoi(b);
    char *s = strrchr(b, ')');
    return s ? s[2] : '?';
}

static int status_field(const char *path, const char *key) {
    char line[256];
    int v = -1;
    FILE *f = fopen(path, "r");
    if (!f) return -2;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key))) v = atoi(line + strlen(key));
    fclose(f);
    return v;
}

static int listed(const char *dir, int id) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0, n = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            n++;
            if (atoi(e->d_name) == id) found = 1;
        }
    closedir(d);
    return found ? n : -n;
}

int main(void) {
    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, sleeper, (void *)i);
    while (!tids[0] || !tids[1]) usleep(1000);
    usleep(200000);
    int me = getpid(), tid = tids[0], id = 0;
    char p[128];
    printf("task entries %d\n", listed("/proc/self/task", tid));
    printf("/proc lists the thread %d\n", listed("/proc", tid) > 0);
    snprintf(p, sizeof p, "/proc/%d/stat", tid);
    char st = state_of(p, &id);
    printf("/proc/TID/stat: state %c id is tid %d\n", st, id == tid);
    snprintf(p, sizeof p, "/proc/%d/task/%d/stat", me, tid);
    st = state_of(p, &id);
    printf("task/TID/stat: state %c id is tid %d\n", st, id == tid);
    snprintf(p, sizeof p, "/proc/%d/task/%d/status", me, tid);
    printf("task/TID/status: Pid is tid %d, Tgid is pid %d\n", status_field(p, "Pid:") == tid,
           status_field(p, "Tgid:") == me);
    st = state_of("/proc/self/stat", &id);
    printf("/proc/self/stat: state %c id is pid %d\n", st, id == me);
    snprintf(p, sizeof p, "/proc/%d/task/%d/stat", me, me);
    st = state_of(p, &id);
    printf("task/PID/stat: state %c\n", st);
    snprintf(p, sizeof p, "/proc/%d/task/%d/stat", me, 999999);
    printf("task/999999/stat: %c\n", state_of(p, &id));
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &word, FUTEX_WAKE, 2);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("done\n");
    return 0;
}
