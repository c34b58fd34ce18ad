/* loopback TCP request/response: two processes bounce one byte over a TCP_NODELAY
 * connection on 127.0.0.1; µs per round trip, argv[1] round trips (default 10000) after
 * 100 warm-ups. */
#include <sys/wait.h>
#include "bench.h"
#include "tcp.h"

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 10000);
	in_port_t port;
	int l = tcp_listen(&port);
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			die("accept");
		nodelay(c);
		char b;
		while (read(c, &b, 1) == 1)
			if (write(c, &b, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(l);
	int s = tcp_connect(port);
	nodelay(s);
	char b = 'x';
	long warm = n / 10 < 100 ? n / 10 : 100;
	long long t0 = 0;
	for (long i = -warm; i < n; i++) {
		if (i == 0)
			t0 = now_ns();
		if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1)
			die("round trip");
	}
	long long t1 = now_ns();
	close(s);
	int st;
	waitpid(p, &st, 0);
	result("tcprr", (double)(t1 - t0) / n / 1000.0, "us/roundtrip");
	return 0;
}
