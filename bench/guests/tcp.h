/* Shared helpers for the loopback TCP guests: a listener on 127.0.0.1 with a port picked by
 * the kernel, and a connect to it. Errors exit with status 2. */
#ifndef UML_BENCH_TCP_H
#define UML_BENCH_TCP_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static inline void die(const char *what)
{
	perror(what);
	exit(2);
}

/* A listening socket on 127.0.0.1:0; its port in *port (network order). */
static inline int tcp_listen(in_port_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 128) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		die("bind/listen");
	*port = a.sin_port;
	return l;
}

static inline int tcp_connect(in_port_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = port,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	if (connect(s, (struct sockaddr *)&a, sizeof a))
		die("connect");
	return s;
}

static inline void nodelay(int s)
{
	int one = 1;
	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one))
		die("TCP_NODELAY");
}
#endif
