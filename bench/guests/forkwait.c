/* fork+exit+wait: µs per iteration of fork(), child _exit(0), parent waitpid().
 * argv[1] = iterations (default 2000). */
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 2000);
	for (int i = 0; i < 10; i++) { /* warm-up */
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		waitpid(p, NULL, 0);
	}
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0) {
			perror("fork");
			return 1;
		}
		if (p == 0)
			_exit(0);
		int st;
		if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "bad child status\n");
			return 1;
		}
	}
	long long t1 = now_ns();
	result("forkwait", (double)(t1 - t0) / n / 1000.0, "us/iter");
	return 0;
}
