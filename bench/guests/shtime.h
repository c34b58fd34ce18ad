/* Runs `/bin/sh -c SCRIPT` (fork, exec, wait) and prints its wall time in seconds as
 * `result KEY <s> s`. The child's stdout goes to ours (the rows print a count); the
 * time includes the dynamic loading of sh and of every program in the pipeline, but not
 * the runner's own start-up (these rows are too long to repeat 20 times like `@startup`). */
#ifndef UML_BENCH_SHTIME_H
#define UML_BENCH_SHTIME_H
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

static inline int time_sh(const char *key, const char *script)
{
	long long t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		perror("exec /bin/sh");
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 2;
	}
	long long t1 = now_ns();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: `%s` failed (status %#x)\n", key, script, status);
		return 1;
	}
	fflush(stdout);
	result(key, (double)(t1 - t0) / 1e9, "s");
	return 0;
}
#endif
