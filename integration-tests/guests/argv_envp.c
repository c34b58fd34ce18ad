#include "common.h"
int main(int argc, char **argv) {
    /* "exec-empty-argv": exec itself with argv NULL; Linux gives it argc 1 and an empty
     * argv[0] (which then prints as below). */
    if (argc == 2 && strcmp(argv[1], "exec-empty-argv") == 0) {
        char *envp[] = {NULL};
        syscall(SYS_execve, "/proc/self/exe", NULL, envp);
        printf("execve: %s\n", ename(errno));
        return 1;
    }
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    if (argv[argc] != NULL) puts("bad argv not NULL-terminated");
    const char *vars[] = {"UML_TEST_A", "UML_TEST_B", "UML_TEST_EMPTY", "UML_TEST_UNSET", "PATH", "HOME"};
    for (unsigned i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        printf("env %s=%s\n", vars[i], v ? v : "(unset)");
    }
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) printf("cwd=%s\n", cwd);
    else printf("cwd error %s\n", ename(errno));
    return 0;
}
