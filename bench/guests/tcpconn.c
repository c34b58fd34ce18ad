/* loopback TCP connections per second: a child connects to 127.0.0.1 and closes,
 * argv[1] times (default 2000); the parent accepts and closes each. Connections/s from
 * the first connect to the last accept. */
#include <sys/wait.h>
#include "bench.h"
#include "tcp.h"

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 2000);
	in_port_t port;
	int l = tcp_listen(&port);
	long long t0 = now_ns();
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		for (long i = 0; i < n; i++)
			close(tcp_connect(port));
		_exit(0);
	}
	for (long i = 0; i < n; i++) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			die("accept");
		close(c);
	}
	long long t1 = now_ns();
	int st;
	waitpid(p, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 1;
	result("tcpconn", n / ((t1 - t0) / 1e9), "conn/s");
	return 0;
}
