/* Host floor of a --mm single switch, run natively by bench/switch.sh. A switch is K mapping
 * changes (MAP_SHARED|MAP_FIXED maps of a memfd and unmaps) that the runner's mapper thread
 * makes while the kernel thread spins for them, then T pages touched (the host minor faults
 * the guest takes after). Between switches the mapper sleeps on a futex, as the runner's does,
 * and the kernel thread spins for GAP µs (the other process's turn).
 * Prints the switch made inline (one thread) and through a sleeping thread. argv: K T GAP. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int fd, changes, touch;
static char *const base = (char *)0x100000000ULL;
static _Atomic unsigned req, done;

static double now_us(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* One switch's mapping changes: every other change unmaps, the rest map another page. */
static void switch_maps(unsigned k) {
	for (int i = 0; i < changes; i++) {
		char *at = base + (size_t)i * 0x10000;
		if (i % 2 && k % 2)
			munmap(at, 4096);
		else
			mmap(at, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
			     (off_t)((k + i) % 64) * 4096);
	}
}

static void touch_pages(void) {
	for (int p = 0; p < touch; p++)
		(void)*(volatile char *)(base + (size_t)(2 * (p % ((changes + 1) / 2))) * 0x10000);
}

static void *mapper(void *unused) {
	unsigned seen = 0;
	(void)unused;
	for (;;) {
		unsigned r = atomic_load(&req);
		if (r == seen) {
			syscall(SYS_futex, &req, FUTEX_WAIT, seen, NULL, NULL, 0);
			continue;
		}
		seen = r;
		switch_maps(r);
		atomic_store(&done, r);
	}
	return NULL;
}

static void spin_for(double us) {
	double t = now_us();
	while (now_us() - t < us)
		;
}

int main(int argc, char **argv) {
	changes = atoi(argv[1]);
	touch = atoi(argv[2]);
	double gap = atof(argv[3]);
	int iters = 4000;
	fd = memfd_create("phys", 0);
	if (ftruncate(fd, 64 * 4096))
		return 1;
	for (int i = 0; i < changes; i++)
		mmap(base + (size_t)i * 0x10000, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		     fd, 0);

	double t0 = now_us();
	for (unsigned k = 1; k <= (unsigned)iters; k++) {
		switch_maps(k);
		touch_pages();
		spin_for(gap);
	}
	double inline_us = (now_us() - t0) / iters - gap;

	pthread_t th;
	pthread_create(&th, NULL, mapper, NULL);
	usleep(1000);
	t0 = now_us();
	for (unsigned k = 1; k <= (unsigned)iters; k++) {
		atomic_store(&req, k);
		syscall(SYS_futex, &req, FUTEX_WAKE, 1, NULL, NULL, 0);
		while (atomic_load(&done) != k)
			;
		touch_pages();
		spin_for(gap);
	}
	double woken_us = (now_us() - t0) / iters - gap;
	printf("changes=%d touched=%d: inline %.1f us, through a sleeping mapper thread %.1f us per "
	       "switch\n",
	       changes, touch, inline_us, woken_us);
	return 0;
}
