/* Signal-driven I/O: F_SETOWN/F_GETOWN, F_SETOWN_EX/F_GETOWN_EX, F_SETSIG/F_GETSIG, and the
 * owner of an O_ASYNC pipe told when data arrives (SIGIO, or the F_SETSIG signal with
 * si_code POLL_IN). */
#include "common.h"
#include <fcntl.h>
#include <signal.h>

static volatile sig_atomic_t got_io, got_usr1, usr1_code;
static void on_io(int s) { (void)s, got_io++; }
static void on_usr1(int s, siginfo_t *si, void *uc) {
    (void)s, (void)uc;
    got_usr1++;
    usr1_code = si->si_code;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGIO, on_io);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    int p[2];
    pipe(p);
    printf("F_GETOWN at first: %d\n", fcntl(p[0], F_GETOWN));
    printf("F_SETOWN me: %d\n", fcntl(p[0], F_SETOWN, getpid()));
    printf("F_GETOWN is me: %d\n", fcntl(p[0], F_GETOWN) == getpid());
    printf("O_ASYNC: %d\n", fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_ASYNC));
    write(p[1], "x", 1);
    printf("SIGIO on data: %d\n", got_io == 1);
    char c;
    read(p[0], &c, 1);
    int setsig = fcntl(p[0], F_SETSIG, SIGUSR1);
    printf("F_SETSIG SIGUSR1: %d get=%d\n", setsig, fcntl(p[0], F_GETSIG));
    write(p[1], "y", 1);
    printf("SIGUSR1 on data: %d code POLL_IN: %d\n", got_usr1 == 1, usr1_code == POLL_IN);
    read(p[0], &c, 1);
    struct f_owner_ex ex = {F_OWNER_PGRP, getpgrp()}, back;
    printf("F_SETOWN_EX pgrp: %d\n", fcntl(p[0], F_SETOWN_EX, &ex));
    printf("F_GETOWN is -pgrp: %d\n", fcntl(p[0], F_GETOWN) == -getpgrp());
    int getex = fcntl(p[0], F_GETOWN_EX, &back);
    printf("F_GETOWN_EX: %d type=%d pid_ok=%d\n", getex, back.type, back.pid == getpgrp());
    ex.type = 7;
    EXPECT_ERR("F_SETOWN_EX bad type", fcntl(p[0], F_SETOWN_EX, &ex), EINVAL);
    EXPECT_ERR("F_SETOWN_EX bad pointer", fcntl(p[0], F_SETOWN_EX, (void *)8), EFAULT);
    EXPECT_ERR("F_SETOWN no such process", fcntl(p[0], F_SETOWN, 4000000), ESRCH);
    EXPECT_ERR("F_SETSIG 65", fcntl(p[0], F_SETSIG, 65), EINVAL);
    int set0 = fcntl(p[0], F_SETOWN, 0);
    printf("F_SETOWN 0: %d get=%d\n", set0, fcntl(p[0], F_GETOWN));
    got_usr1 = 0;
    write(p[1], "z", 1);
    printf("no owner, no signal: %d\n", got_usr1 == 0);
    printf("done\n");
    return 0;
}
