/* loopback TCP throughput: a child writes argv[1] MiB (default 256) in 64 KiB writes to a
 * connection on 127.0.0.1, the parent reads them (64 KiB reads) and acknowledges the end
 * with one byte; MB/s (10^6 B/s) from the first write to the acknowledgement. */
#include <string.h>
#include <sys/wait.h>
#include "bench.h"
#include "tcp.h"

#define CHUNK (64 * 1024)

int main(int argc, char **argv)
{
	long mib = arg_long(argc, argv, 1, 256);
	long long total = (long long)mib << 20;
	static char buf[CHUNK];
	in_port_t port;
	int l = tcp_listen(&port);
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(l);
		int s = tcp_connect(port);
		memset(buf, 'x', sizeof buf);
		char c;
		if (read(s, &c, 1) != 1) /* start signal */
			_exit(1);
		long long t0 = now_ns();
		for (long long done = 0; done < total;) {
			ssize_t n = write(s, buf, CHUNK);
			if (n <= 0)
				die("write");
			done += n;
		}
		shutdown(s, SHUT_WR);
		if (read(s, &c, 1) != 1)
			die("read ack");
		long long t1 = now_ns();
		result("tcpstream", (double)total / ((t1 - t0) / 1e9) / 1e6, "MB/s");
		_exit(0);
	}
	int c = accept(l, NULL, NULL);
	if (c < 0)
		die("accept");
	if (write(c, "g", 1) != 1)
		die("write");
	long long got = 0;
	for (;;) {
		ssize_t n = read(c, buf, CHUNK);
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		got += n;
	}
	if (got != total) {
		fprintf(stderr, "got %lld of %lld bytes\n", got, total);
		return 1;
	}
	if (write(c, "a", 1) != 1)
		die("write ack");
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
