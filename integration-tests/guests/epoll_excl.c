/* EPOLLEXCLUSIVE: four processes wait on one pipe, each through its own epoll with an
 * exclusive entry; each byte written wakes exactly one of them. */
#include "common.h"
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>

int main(void) {
    int *woken = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fds[2];
    pipe(fds);
    for (int i = 0; i < 4; i++)
        if (fork() == 0) {
            int efd = epoll_create1(0);
            struct epoll_event ev = {.events = EPOLLIN | EPOLLET | EPOLLEXCLUSIVE};
            epoll_ctl(efd, EPOLL_CTL_ADD, fds[0], &ev);
            if (epoll_wait(efd, &ev, 1, 5000) == 1) __atomic_add_fetch(woken, 1, __ATOMIC_SEQ_CST);
            _exit(0);
        }
    usleep(300000);
    for (int round = 1; round <= 4; round++) {
        write(fds[1], "x", 1);
        usleep(200000);
        printf("byte %d woke %d in all\n", round, __atomic_load_n(woken, __ATOMIC_SEQ_CST));
        char c;
        read(fds[0], &c, 1);
        usleep(100000);
    }
    while (wait(NULL) > 0)
        ;
    printf("done\n");
    return 0;
}
