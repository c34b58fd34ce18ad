/* fork+exec+wait: µs per iteration of fork(), child execve(argv[2]) (a static binary that
 * exits 0, e.g. bench/out/true), parent waitpid(). argv[1] = iterations (default 500). */
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

extern char **environ;

static int once(const char *prog)
{
	pid_t p = fork();
	if (p < 0) {
		perror("fork");
		return -1;
	}
	if (p == 0) {
		char *av[] = {(char *)prog, NULL};
		execve(prog, av, environ);
		_exit(127);
	}
	int st;
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "child of %s failed (status %#x)\n", prog, st);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 500);
	const char *prog = argc > 2 ? argv[2] : "bench/out/true";
	for (int i = 0; i < 5; i++) /* warm-up */
		if (once(prog))
			return 1;
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (once(prog))
			return 1;
	long long t1 = now_ns();
	result("forkexec", (double)(t1 - t0) / n / 1000.0, "us/iter");
	return 0;
}
