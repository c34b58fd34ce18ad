/* clock_gettime loop: ns per clock_gettime(CLOCK_MONOTONIC) through glibc, which uses the
 * vDSO when the kernel provides one. argv[1] = iterations. */
#include "bench.h"

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 2000000);
	long long sink = 0;
	for (int i = 0; i < 1000; i++) /* warm-up */
		sink += now_ns();
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		sink += now_ns();
	long long t1 = now_ns();
	if (sink == 0x7fffffff)
		puts("");
	result("clockgettime", (double)(t1 - t0) / n, "ns/call");
	return 0;
}
