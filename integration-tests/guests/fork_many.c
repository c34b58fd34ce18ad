/* Many processes alive at once: each fork's commit charge is what the child may write of
 * its parent's memory, not an 8 MiB stack it never touches (a 1 GiB guest held only about
 * 120 processes before). argv[1]: how many children. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 300, i;
    pid_t *kids = calloc(n, sizeof *kids);
    int ready[2];
    pipe(ready);
    for (i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            write(ready[1], "x", 1);
            pause();
            _exit(0);
        }
        if (p < 0) {
            printf("fork %d: %s\n", i, ename(errno));
            break;
        }
        kids[i] = p;
    }
    char c;
    for (int k = 0; k < i; k++) read(ready[0], &c, 1);
    printf("children alive: %d\n", i);
    for (int k = 0; k < i; k++) kill(kids[k], SIGTERM);
    while (wait(NULL) > 0)
        ;
    printf("done\n");
    return 0;
}
