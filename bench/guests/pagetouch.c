/* page-touch: mmap anonymous private memory (argv[1] MiB, default 256),
 * write one byte per 4 KiB page, report ns per page. */
#include <sys/mman.h>
#include "bench.h"

int main(int argc, char **argv)
{
	long mib = arg_long(argc, argv, 1, 256);
	size_t len = (size_t)mib << 20, pages = len / 4096;
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	long long t0 = now_ns();
	for (size_t i = 0; i < pages; i++)
		p[i * 4096] = (char)i;
	long long t1 = now_ns();
	result("pagetouch", (double)(t1 - t0) / pages, "ns/page");
	munmap((void *)p, len);
	return 0;
}
