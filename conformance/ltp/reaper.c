/*
 * reaper: a tiny PID-1 wrapper for running LTP tests under `uml run`.
 *
 * Under uml the guest's first program is PID 1. LTP tests expect to be an ordinary process
 * whose orphaned grandchildren are reaped by someone else, and PID 1 also has special signal
 * semantics (signals without a handler are not delivered to it). So this wrapper is PID 1:
 * it forks, runs `argv[1] argv[2] ...` in the child, reaps every child that ends up
 * reparented to it, and exits with the test's own status (128+N if the test was killed by
 * signal N). SIGTERM, SIGINT, SIGHUP and SIGQUIT received by the wrapper are passed on to
 * the test. Processes the test left behind get GRACE_SECONDS to finish once the test itself
 * has exited; then they are killed (kill(-1, SIGKILL)) so that a stray child never turns a
 * finished test into a timeout.
 *
 * Build: cc -static -O2 -o reaper reaper.c
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define GRACE_SECONDS 5

static volatile pid_t test_pid;

static void kill_leftovers(int sig)
{
	(void)sig;
	kill(-1, SIGKILL);
}

static void forward(int sig)
{
	if (test_pid > 0)
		kill(test_pid, sig);
}

int main(int argc, char **argv)
{
	static const int fwd[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	int status = 0, test_status = -1;
	pid_t pid;
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CMD [ARGS...]\n", argv[0]);
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("reaper: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "reaper: exec %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	test_pid = pid;
	for (i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		signal(fwd[i], forward);

	for (;;) {
		pid_t w = wait(&status);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: nothing left to reap */
		}
		if (w == pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
			test_status = status;
			signal(SIGALRM, kill_leftovers);
			alarm(GRACE_SECONDS);
		}
	}
	if (test_status < 0)
		return 2;
	if (WIFEXITED(test_status))
		return WEXITSTATUS(test_status);
	if (WIFSIGNALED(test_status))
		return 128 + WTERMSIG(test_status);
	return 2;
}
