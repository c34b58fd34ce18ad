/* Namespaces: a pid namespace made by clone and by unshare (the first child is its pid 1,
 * its parent sees it by its outer pid, waitpid works across), setns into UTS and IPC
 * namespaces by /proc/PID/ns files and pidfds, setns's errnos, ioctl_ns on them; a time
 * namespace (unshare, /proc/self/timens_offsets, the offsets a child sees through the
 * vDSO and the syscalls, setns back).
 * Prints "skip: ..." and exits 0 when the machine refuses namespaces (EPERM). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define NS_GET_PARENT 0xb702
#define NS_GET_NSTYPE 0xb703

static pid_t clone_flags(unsigned long flags)
{
	return syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

static void pid_ns_by_clone(void)
{
	/* The child reports, then stays until its parent has looked at its namespace. */
	int printed[2], go[2];
	char x;
	pipe(printed);
	pipe(go);
	pid_t c = clone_flags(CLONE_NEWPID);
	if (c < 0) {
		printf("%s\n", errno == EPERM ? "skip: clone(CLONE_NEWPID) EPERM" : "bad clone");
		exit(0);
	}
	if (c == 0) {
		pid_t me = getpid(), pp = getppid(), tid = syscall(SYS_gettid);
		pid_t g = fork();
		if (g == 0) {
			printf("grandchild: pid=%d ppid=%d\n", getpid(), getppid());
			_exit(3);
		}
		int st = 0;
		pid_t w = waitpid(g, &st, 0);
		int k = kill(12345, 0);
		int ke = errno;
		printf("ns init: pid=%d tid=%d ppid=%d fork=%d waited=%d status=%d kill(12345)=%d %s\n",
		       me, tid, pp, g, w, WEXITSTATUS(st), k, k ? strerror(ke) : "");
		write(printed[1], "x", 1);
		read(go[0], &x, 1);
		_exit(7);
	}
	read(printed[0], &x, 1);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/pid", c);
	int mine = open("/proc/self/ns/pid", O_RDONLY), child = open(path, O_RDONLY);
	int parent = ioctl(child, NS_GET_PARENT);
	struct stat a, b, p;
	fstat(mine, &a);
	fstat(child, &b);
	fstat(parent, &p);
	printf("child's ns differs: %d, its parent is mine: %d, type: %#x\n",
	       a.st_ino != b.st_ino, p.st_ino == a.st_ino, ioctl(child, NS_GET_NSTYPE));
	write(go[1], "x", 1);
	int st = 0;
	pid_t w = waitpid(c, &st, 0);
	printf("parent: waited its child by outer pid: %d, status=%d\n", w == c && c > 1,
	       WEXITSTATUS(st));
	close(mine);
	close(child);
	close(parent);
}

static void pid_ns_by_unshare(void)
{
	pid_t c = fork();
	if (c == 0) {
		if (unshare(CLONE_NEWPID) != 0) {
			printf("bad unshare: %s\n", strerror(errno));
			_exit(1);
		}
		pid_t me = getpid();
		pid_t g = fork();
		if (g == 0) {
			printf("after unshare: child pid=%d ppid=%d\n", getpid(), getppid());
			_exit(0);
		}
		int st;
		pid_t w = waitpid(g, &st, 0);
		printf("after unshare: own pid unchanged=%d, fork gave outer pid=%d, waited=%d\n",
		       getpid() == me, g > 1, w == g);
		_exit(0);
	}
	waitpid(c, NULL, 0);
}

static void uts_and_ipc(void)
{
	struct utsname u0, u;
	uname(&u0);
	int uts = open("/proc/self/ns/uts", O_RDONLY);
	int ipc = open("/proc/self/ns/ipc", O_RDONLY);
	printf("nstype uts=%#x ipc=%#x\n", ioctl(uts, NS_GET_NSTYPE), ioctl(ipc, NS_GET_NSTYPE));
	errno = 0;
	int r = syscall(SYS_setns, -1, 0);
	printf("setns(-1): %d %s\n", r, strerror(errno));
	int reg = open("/proc/self/status", O_RDONLY);
	r = syscall(SYS_setns, reg, 0);
	printf("setns(regular file): %d %s\n", r, strerror(errno));
	r = syscall(SYS_setns, uts, CLONE_NEWPID);
	printf("setns(uts, CLONE_NEWPID): %d %s\n", r, strerror(errno));
	close(reg);

	int shmid = shmget(0x4e53, 4096, IPC_CREAT | 0600);
	int go[2], done[2];
	pipe(go);
	pipe(done);
	pid_t c = clone_flags(CLONE_NEWUTS | CLONE_NEWIPC);
	if (c == 0) {
		sethostname("nsguest", 7);
		uname(&u);
		int seen = shmget(0x4e53, 0, 0);
		printf("child: hostname=%s shm visible=%d\n", u.nodename, seen >= 0);
		r = syscall(SYS_setns, uts, CLONE_NEWUTS);
		uname(&u);
		int r2 = syscall(SYS_setns, ipc, 0);
		seen = shmget(0x4e53, 0, 0);
		printf("child after setns: %d %d back to parent's name=%d shm visible=%d\n", r, r2,
		       strcmp(u.nodename, u0.nodename) == 0, seen == shmid);
		sethostname("nsguest", 7);
		write(go[1], "x", 1);
		char x;
		read(done[0], &x, 1);
		_exit(0);
	}
	char x;
	read(go[0], &x, 1);
	uname(&u);
	printf("parent: hostname kept=%d\n", strcmp(u.nodename, u0.nodename) == 0);
	write(done[1], "x", 1);
	waitpid(c, NULL, 0);
	shmctl(shmid, IPC_RMID, NULL);

	/* setns by a pidfd: into the UTS namespace of a child that named it. */
	c = clone_flags(CLONE_NEWUTS);
	if (c == 0) {
		sethostname("pidfdns", 7);
		write(go[1], "x", 1);
		read(done[0], &x, 1);
		_exit(0);
	}
	read(go[0], &x, 1);
	int pidfd = syscall(SYS_pidfd_open, c, 0);
	r = syscall(SYS_setns, pidfd, CLONE_NEWUTS);
	uname(&u);
	printf("setns(pidfd): %d hostname=%s\n", r, u.nodename);
	r = syscall(SYS_setns, uts, CLONE_NEWUTS);
	uname(&u);
	printf("setns back: %d hostname kept=%d\n", r, strcmp(u.nodename, u0.nodename) == 0);
	write(done[1], "x", 1);
	waitpid(c, NULL, 0);
	close(pidfd);
	close(uts);
	close(ipc);
}

static long long ns_of(clockid_t c, int raw)
{
	struct timespec ts;
	if (raw)
		syscall(SYS_clock_gettime, c, &ts);
	else
		clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Writes `text` to /proc/self/timens_offsets: 0 or the errno's name. */
static const char *write_offsets(const char *text)
{
	int fd = open("/proc/self/timens_offsets", O_WRONLY);
	if (fd < 0)
		return "open failed";
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	if (n == (ssize_t)strlen(text))
		return "ok";
	return e == EINVAL ? "EINVAL" : e == EACCES ? "EACCES" : e == ERANGE ? "ERANGE" :
	       e == EPERM ? "EPERM" : "other";
}

static void show_offsets(const char *who)
{
	char buf[256] = "";
	int fd = open("/proc/self/timens_offsets", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	printf("%s offsets:\n%s", who, buf);
}

/* Whether two /proc/PID/ns links lead to the same namespace. */
static int same_ns(const char *a, const char *b)
{
	char x[64] = "", y[64] = "";
	readlink(a, x, sizeof x - 1);
	readlink(b, y, sizeof y - 1);
	return x[0] && strcmp(x, y) == 0;
}

/* Whether `d` ns is within `lo`..`hi` ms. */
static void check(const char *what, long long d, long long lo, long long hi)
{
	if (d >= lo * 1000000LL && d <= hi * 1000000LL)
		printf("%s ok\n", what);
	else
		printf("%s=BAD %lld\n", what, d);
}

static void time_ns(void)
{
	int parent_ns = open("/proc/self/ns/time", O_RDONLY);
	if (unshare(CLONE_NEWTIME) != 0) {
		printf("skip: unshare(CLONE_NEWTIME) %s\n", strerror(errno));
		exit(0);
	}
	printf("children's ns differs=%d\n",
	       !same_ns("/proc/self/ns/time_for_children", "/proc/self/ns/time"));
	show_offsets("initial");
	printf("wrong clock: %s\n", write_offsets("0 1 0"));
	printf("nsec too big: %s\n", write_offsets("1 1 1000000000"));
	printf("short: %s\n", write_offsets("1 1"));
	printf("below zero: %s\n", write_offsets("boottime -2000000000000 0"));
	printf("set: %s\n", write_offsets("1 1000 0\nboottime -2 500000000\n"));
	show_offsets("set");
	long long m0 = ns_of(CLOCK_MONOTONIC, 0), b0 = ns_of(CLOCK_BOOTTIME, 0);
	long long r0 = ns_of(CLOCK_MONOTONIC_RAW, 0);
	struct sysinfo si0;
	sysinfo(&si0);
	int go[2];
	char x;
	pipe(go);
	pid_t c = fork();
	if (c == 0) {
		printf("child in children's ns=%d\n",
		       same_ns("/proc/self/ns/time", "/proc/self/ns/time_for_children"));
		check("child vdso monotonic", ns_of(CLOCK_MONOTONIC, 0) - m0, 1000000, 1005000);
		check("child syscall monotonic", ns_of(CLOCK_MONOTONIC, 1) - m0, 1000000, 1005000);
		check("child coarse monotonic", ns_of(CLOCK_MONOTONIC_COARSE, 0) - m0, 999900, 1005000);
		check("child raw monotonic", ns_of(CLOCK_MONOTONIC_RAW, 0) - r0, 1000000, 1005000);
		check("child boottime", ns_of(CLOCK_BOOTTIME, 0) - b0, -1500, -1000);
		struct sysinfo si;
		sysinfo(&si);
		check("child sysinfo uptime", (si.uptime - si0.uptime) * 1000000000LL, -2000, -1000);
		/* An absolute sleep to 50 ms from now, in the namespace's time. */
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += 50000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		long long before = ns_of(CLOCK_MONOTONIC, 0);
		int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		long long slept = ns_of(CLOCK_MONOTONIC, 0) - before;
		printf("child abs sleep: %d slept enough=%d short=%d\n", r, slept >= 40000000,
		       slept < 3000000000LL);
		int sr = syscall(SYS_setns, parent_ns, CLONE_NEWTIME);
		printf("child setns back: %d\n", sr);
		check("child back monotonic", ns_of(CLOCK_MONOTONIC, 0) - m0, 0, 5000);
		write(go[1], "x", 1);
		_exit(0);
	}
	read(go[0], &x, 1);
	waitpid(c, NULL, 0);
	check("parent monotonic", ns_of(CLOCK_MONOTONIC, 0) - m0, 0, 5000);
	printf("after entry: %s\n", write_offsets("1 5 0"));
	close(parent_ns);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *what = argc > 1 ? argv[1] : "pid";
	if (strcmp(what, "pid") == 0) {
		pid_ns_by_clone();
		pid_ns_by_unshare();
	} else if (strcmp(what, "setns") == 0) {
		uts_and_ipc();
	} else if (strcmp(what, "time") == 0) {
		time_ns();
	}
	return 0;
}
