/* open/close: ns per open(O_RDONLY)+close pair of an existing file.
 * argv[1] = path, argv[2] = iterations (default 20000). */
#include <fcntl.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/etc/hostname";
	long n = arg_long(argc, argv, 2, 20000);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	long long t1 = now_ns();
	result("openclose", (double)(t1 - t0) / n, "ns/pair");
	return 0;
}
