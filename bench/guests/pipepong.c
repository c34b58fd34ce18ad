/* pipe ping-pong: two processes bounce one byte over two pipes; µs per round trip.
 * argv[1] = round trips (default 10000); argv[2] = MiB each process touches first and keeps
 * resident (default 0): what an address-space switch must map again under --mm single. */
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 10000);
	long mib = arg_long(argc, argv, 2, 0);
	int ping[2], pong[2];
	if (pipe(ping) || pipe(pong)) {
		perror("pipe");
		return 1;
	}
	pid_t p = fork();
	if (p < 0) {
		perror("fork");
		return 1;
	}
	if (mib > 0) {
		/* After the fork: each process has pages of its own. */
		size_t len = (size_t)mib << 20;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		memset(m, 1, len);
	}
	if (p == 0) {
		char c;
		close(ping[1]);
		close(pong[0]);
		while (read(ping[0], &c, 1) == 1)
			if (write(pong[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(ping[0]);
	close(pong[1]);
	char c = 'x';
	long warm = n / 10 < 100 ? n / 10 : 100;
	long long t0 = 0;
	for (long i = -warm; i < n; i++) {
		if (i == 0)
			t0 = now_ns();
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
			perror("ping-pong");
			return 1;
		}
	}
	long long t1 = now_ns();
	close(ping[1]);
	int st;
	waitpid(p, &st, 0);
	result("pipepong", (double)(t1 - t0) / n / 1000.0, "us/roundtrip");
	return 0;
}
