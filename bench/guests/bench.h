/* Shared helpers for uml benchmark guests. Every guest prints its
 * measurements as lines of the form `result <key> <value> <unit>`. */
#ifndef UML_BENCH_H
#define UML_BENCH_H
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline long long now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("clock_gettime");
		exit(2);
	}
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long arg_long(int argc, char **argv, int i, long dflt)
{
	return argc > i ? strtol(argv[i], NULL, 0) : dflt;
}

static inline void result(const char *key, double value, const char *unit)
{
	printf("result %s %.3f %s\n", key, value, unit);
	fflush(stdout);
}
#endif
