/*
 * uml's vDSO: the time calls glibc looks up by name and version (LINUX_2.6), answered from
 * the kernel's data page ([vvar], mapped read-only one page below this image) without a
 * trap when the kernel publishes a TSC time base; anything else is the real syscall, made
 * from here (so it traps like any guest syscall). A process in a time namespace other than
 * the initial one has a data page of its own whose MODE is VVAR_MODE_SYSCALL: every call
 * is the syscall there (which applies the namespace's offsets).
 *
 * The data page is an array of 64-bit words whose indices (VVAR_*) come from build.rs, the
 * one place that also gives them to the kernel. The kernel updates it under a sequence
 * count: odd while it writes; a reader retries if the count was odd or changed.
 *
 * Built with -fPIC, hidden symbols and no data: the image has no relocations and is mapped
 * as it is.
 */

typedef unsigned long u64;
typedef long s64;
typedef unsigned int u32;

struct timespec64 { s64 tv_sec; s64 tv_nsec; };
struct timeval64 { s64 tv_sec; s64 tv_usec; };
struct timezone32 { int tz_minuteswest; int tz_dsttime; };

#define NSEC_PER_SEC 1000000000UL
#define SYS_gettimeofday 96
#define SYS_time 201
#define SYS_clock_gettime 228
#define SYS_clock_getres 229
#define SYS_getcpu 309

/* Clock ids served here: REALTIME, MONOTONIC, MONOTONIC_RAW, the two coarse ones,
 * BOOTTIME and TAI. The coarse ones need no counter: they are the values at TSC_BASE. */
#define SERVED_CLOCKS ((1u << 0) | (1u << 1) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 11))
#define COARSE_CLOCKS ((1u << 5) | (1u << 6))
#define CLOCK_REALTIME 0

extern const volatile u64 vvar_page[] __attribute__((visibility("hidden")));

static inline long syscall2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static inline long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

static inline u64 rdtsc_ordered(void)
{
	u32 lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((u64)hi << 32) | lo;
}

#define barrier() __asm__ volatile("" : : : "memory")

/* Reads clock `clk` (a served one) into *ts; returns 0, or -1 when the kernel has no
 * counter-based time base for it (the caller makes the syscall). */
static int read_clock(u32 clk, struct timespec64 *ts)
{
	const volatile u64 *c = &vvar_page[VVAR_CLOCKS + VVAR_CLOCK_WORDS * clk];
	int coarse = (COARSE_CLOCKS >> clk) & 1;
	u64 seq, sec, ns;
	for (;;) {
		seq = vvar_page[VVAR_SEQ];
		if (seq & 1) {
			__asm__ volatile("pause");
			continue;
		}
		barrier();
		u64 mult = c[VVAR_MULT];
		u64 mode = vvar_page[VVAR_MODE];
		if (mode == VVAR_MODE_SYSCALL || (!coarse && mode != VVAR_MODE_TSC))
			return -1;
		u64 base = vvar_page[VVAR_TSC_BASE];
		u64 cycles = coarse ? base : rdtsc_ordered();
		u64 delta = cycles > base ? cycles - base : 0;
		unsigned __int128 t = (unsigned __int128)delta * mult + c[VVAR_SNSEC];
		ns = (u64)(t >> vvar_page[VVAR_SHIFT]);
		sec = c[VVAR_SEC];
		barrier();
		if (vvar_page[VVAR_SEQ] == seq)
			break;
	}
	/* Rarely more than a second past the base: a loop beats a division. */
	while (ns >= NSEC_PER_SEC) {
		ns -= NSEC_PER_SEC;
		sec++;
	}
	ts->tv_sec = (s64)sec;
	ts->tv_nsec = (s64)ns;
	return 0;
}

static int served(int clk)
{
	return clk >= 0 && clk < VVAR_NCLOCKS && (SERVED_CLOCKS >> clk) & 1;
}

long __vdso_clock_gettime(int clk, struct timespec64 *ts)
{
	if (served(clk) && read_clock((u32)clk, ts) == 0)
		return 0;
	return syscall2(SYS_clock_gettime, clk, (long)ts);
}

long __vdso_gettimeofday(struct timeval64 *tv, struct timezone32 *tz)
{
	/* The time zone is the kernel's (settimeofday may have set it): ask it. */
	if (tz)
		return syscall2(SYS_gettimeofday, (long)tv, (long)tz);
	if (tv) {
		struct timespec64 ts;
		if (read_clock(CLOCK_REALTIME, &ts) != 0)
			return syscall2(SYS_gettimeofday, (long)tv, (long)tz);
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	return 0;
}

long __vdso_time(long *t)
{
	struct timespec64 ts;
	if (read_clock(CLOCK_REALTIME, &ts) != 0)
		return syscall2(SYS_time, (long)t, 0);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

long __vdso_clock_getres(int clk, struct timespec64 *res)
{
	if (!served(clk) || vvar_page[VVAR_MODE] == VVAR_MODE_SYSCALL)
		return syscall2(SYS_clock_getres, clk, (long)res);
	if (res) {
		res->tv_sec = 0;
		res->tv_nsec = (COARSE_CLOCKS >> clk) & 1 ? (s64)vvar_page[VVAR_COARSE_RES] : 1;
	}
	return 0;
}

long __vdso_getcpu(u32 *cpu, u32 *node, void *unused)
{
	(void)unused;
	/* uml is one CPU on one node. */
	if (cpu)
		*cpu = 0;
	if (node)
		*node = 0;
	return 0;
}

/* The plain names, as Linux's vDSO also exports them. */
long clock_gettime(int, struct timespec64 *) __attribute__((weak, alias("__vdso_clock_gettime")));
long gettimeofday(struct timeval64 *, struct timezone32 *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
long clock_getres(int, struct timespec64 *) __attribute__((weak, alias("__vdso_clock_getres")));
long getcpu(u32 *, u32 *, void *) __attribute__((weak, alias("__vdso_getcpu")));
