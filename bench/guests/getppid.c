/* getppid loop: ns per raw syscall(SYS_getppid). argv[1] = iterations. */
#define _GNU_SOURCE
#include <unistd.h>
#include <sys/syscall.h>
#include "bench.h"

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 200000);
	long sink = 0;
	for (int i = 0; i < 1000; i++) /* warm-up */
		sink += syscall(SYS_getppid);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		sink += syscall(SYS_getppid);
	long long t1 = now_ns();
	if (sink == 0x7fffffff)
		puts("");
	result("getppid", (double)(t1 - t0) / n, "ns/call");
	return 0;
}
