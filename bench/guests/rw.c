/* 64 KiB read/write throughput: write argv[2] MiB (default 64) to argv[1]
 * in 64 KiB chunks, fsync-free, then read it back; MB/s (10^6 B/s) each.
 * The file is unlinked at the end. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"

#define CHUNK (64 * 1024)

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/tmp/uml-bench-rw.dat";
	long mib = arg_long(argc, argv, 2, 64);
	long chunks = mib * (1024 * 1024 / CHUNK);
	static char buf[CHUNK];
	memset(buf, 0xa5, sizeof buf);

	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	long long t0 = now_ns();
	for (long i = 0; i < chunks; i++) {
		if (write(fd, buf, CHUNK) != CHUNK) {
			perror("write");
			return 1;
		}
	}
	close(fd);
	long long t1 = now_ns();

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	long long t2 = now_ns();
	long total = 0;
	ssize_t r;
	while ((r = read(fd, buf, CHUNK)) > 0)
		total += r;
	long long t3 = now_ns();
	close(fd);
	unlink(path);
	if (r < 0 || total != chunks * CHUNK) {
		fprintf(stderr, "read back %ld of %ld bytes\n", total, chunks * CHUNK);
		return 1;
	}
	double bytes = (double)chunks * CHUNK;
	result("write", bytes / ((t1 - t0) / 1e9) / 1e6, "MB/s");
	result("read", bytes / ((t3 - t2) / 1e9) / 1e6, "MB/s");
	return 0;
}
