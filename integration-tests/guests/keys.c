/* Keys and keyrings (add_key, request_key, keyctl) with their errnos, and personality().
 * Serial numbers differ between runs and kernels, so only their relations are printed.
 * The program starts a session keyring of its own, so that the output does not depend on
 * the keyrings it was started with. */
#include "common.h"
#include <sys/personality.h>
#include <sys/utsname.h>
#include <sys/wait.h>

typedef int key_serial_t;
#define KEY_SPEC_THREAD_KEYRING -1
#define KEY_SPEC_PROCESS_KEYRING -2
#define KEY_SPEC_SESSION_KEYRING -3
#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_UPDATE 2
#define KEYCTL_REVOKE 3
#define KEYCTL_SETPERM 5
#define KEYCTL_DESCRIBE 6
#define KEYCTL_CLEAR 7
#define KEYCTL_LINK 8
#define KEYCTL_UNLINK 9
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11
#define KEYCTL_SET_REQKEY_KEYRING 14
#define KEYCTL_INVALIDATE 21

static long add_key(const char *type, const char *desc, const void *p, size_t n, int ring) {
    return syscall(SYS_add_key, type, desc, p, n, ring);
}
static long request_key(const char *type, const char *desc, const char *callout, int ring) {
    return syscall(SYS_request_key, type, desc, callout, ring);
}
static long keyctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d) {
    return syscall(SYS_keyctl, op, a, b, c, d);
}
static void result(const char *name, long r) {
    if (r < 0) printf("%s: %s\n", name, ename(errno));
    else printf("%s: %ld\n", name, r);
}

static void keys(void) {
    long ses = keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0);
    printf("join: %s\n", ses > 0 ? "ok" : ename(errno));
    printf("session is it: %d\n", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0, 0) == ses);
    result("no thread keyring", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 0, 0, 0));
    printf("thread keyring made: %d\n", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 1, 0, 0) > 0);

    long k1 = add_key("user", "k1", "payload", 7, KEY_SPEC_SESSION_KEYRING);
    char buf[256];
    memset(buf, 0, sizeof buf);
    result("read", keyctl(KEYCTL_READ, k1, (unsigned long)buf, sizeof buf, 0));
    printf("payload: %s\n", buf);
    result("read short (size only)", keyctl(KEYCTL_READ, k1, (unsigned long)buf, 3, 0));
    result("update", keyctl(KEYCTL_UPDATE, k1, (unsigned long)"new", 3, 0));
    memset(buf, 0, sizeof buf);
    keyctl(KEYCTL_READ, k1, (unsigned long)buf, sizeof buf, 0);
    printf("payload: %s\n", buf);
    printf("add again updates: %d\n", add_key("user", "k1", "again", 5, KEY_SPEC_SESSION_KEYRING) == k1);
    result("describe", keyctl(KEYCTL_DESCRIBE, k1, (unsigned long)buf, sizeof buf, 0));
    printf("description: %s\n", buf);
    result("describe too small", keyctl(KEYCTL_DESCRIBE, k1, (unsigned long)buf, 4, 0));
    printf("search finds it: %d\n",
           keyctl(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (unsigned long)"user", (unsigned long)"k1", 0) == k1);
    result("search missing", keyctl(KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, (unsigned long)"user", (unsigned long)"k9", 0));
    printf("request finds it: %d\n", request_key("user", "k1", NULL, 0) == k1);
    result("request missing", request_key("user", "k9", NULL, 0));

    long lg = add_key("logon", "svc:pw", "secret", 6, KEY_SPEC_SESSION_KEYRING);
    printf("logon: %d\n", lg > 0);
    result("read logon", keyctl(KEYCTL_READ, lg, (unsigned long)buf, sizeof buf, 0));
    result("logon without prefix", add_key("logon", "nocolon", "x", 1, KEY_SPEC_SESSION_KEYRING));
    key_serial_t ids[4] = {0};
    result("read keyring", keyctl(KEYCTL_READ, KEY_SPEC_SESSION_KEYRING, (unsigned long)ids, sizeof ids, 0));
    printf("links: %d %d %d\n", ids[0] == k1, ids[1] == lg, ids[2]);

    result("dot keyring", add_key("keyring", ".k", NULL, 0, KEY_SPEC_SESSION_KEYRING));
    result("dot type", add_key(".user", "k", "x", 1, KEY_SPEC_SESSION_KEYRING));
    result("unknown type", add_key("nosuchtype", "k", "x", 1, KEY_SPEC_SESSION_KEYRING));
    result("empty payload", add_key("user", "k", "", 0, KEY_SPEC_SESSION_KEYRING));
    result("keyring payload", add_key("keyring", "k", "x", 1, KEY_SPEC_SESSION_KEYRING));
    result("null payload", add_key("user", "k", NULL, 8, KEY_SPEC_SESSION_KEYRING));
    result("bad type", add_key((char *)-1, "k", "x", 1, KEY_SPEC_SESSION_KEYRING));
    result("bad ring", add_key("user", "k", "x", 1, 0));
    result("no such key", keyctl(KEYCTL_REVOKE, 0x7fffffff, 0, 0, 0));
    result("key as keyring", add_key("user", "k", "x", 1, k1));
    result("bad perm", keyctl(KEYCTL_SETPERM, k1, 0x40000000, 0, 0));
    result("bad op", keyctl(9999, 0, 0, 0, 0));

    long a = add_key("keyring", "a", NULL, 0, KEY_SPEC_SESSION_KEYRING);
    long b = add_key("keyring", "b", NULL, 0, a);
    result("cycle", keyctl(KEYCTL_LINK, a, b, 0, 0));
    result("link", keyctl(KEYCTL_LINK, k1, b, 0, 0));
    printf("nested search: %d\n",
           keyctl(KEYCTL_SEARCH, a, (unsigned long)"user", (unsigned long)"k1", 0) == k1);
    result("unlink", keyctl(KEYCTL_UNLINK, k1, b, 0, 0));
    result("unlink again", keyctl(KEYCTL_UNLINK, k1, b, 0, 0));
    result("clear", keyctl(KEYCTL_CLEAR, a, 0, 0, 0));
    result("clear a key", keyctl(KEYCTL_CLEAR, k1, 0, 0, 0));

    result("revoke", keyctl(KEYCTL_REVOKE, lg, 0, 0, 0));
    result("read revoked", keyctl(KEYCTL_READ, lg, (unsigned long)buf, sizeof buf, 0));
    result("revoke again", keyctl(KEYCTL_REVOKE, lg, 0, 0, 0));
    result("update revoked", keyctl(KEYCTL_UPDATE, lg, (unsigned long)"x", 1, 0));
    printf("add over revoked makes another: %d\n",
           add_key("logon", "svc:pw", "s", 1, KEY_SPEC_SESSION_KEYRING) != lg);
    result("invalidate", keyctl(KEYCTL_INVALIDATE, k1, 0, 0, 0));
    /* What an invalidated key then looks like depends on when Linux's collector runs. */
    result("reqkey default", keyctl(KEYCTL_SET_REQKEY_KEYRING, 1, 0, 0, 0));
    result("reqkey old", keyctl(KEYCTL_SET_REQKEY_KEYRING, -1, 0, 0, 0));
    result("reqkey bad", keyctl(KEYCTL_SET_REQKEY_KEYRING, 6, 0, 0, 0));

    long proc = keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1, 0, 0);
    pid_t pid = fork();
    if (pid == 0) {
        printf("child session same: %d\n", keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0, 0) == ses);
        long p = keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0, 0, 0);
        printf("child process keyring: %s\n", p < 0 ? ename(errno) : p == proc ? "same" : "other");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void persona(void) {
    printf("personality: %#x\n", personality(0xffffffff));
    printf("set linux32, old %#x\n", personality(PER_LINUX32));
    printf("now %#x\n", personality(0xffffffff));
    pid_t pid = fork();
    if (pid == 0) {
        printf("child %#x\n", personality(0xffffffff));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    personality(PER_LINUX | UNAME26);
    struct utsname u;
    uname(&u);
    printf("uname26 release starts 2.6.: %d\n", strncmp(u.release, "2.6.", 4) == 0);
    personality(PER_LINUX);
    uname(&u);
    printf("release back: %d\n", strncmp(u.release, "2.6.", 4) != 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    keys();
    persona();
    return 0;
}
