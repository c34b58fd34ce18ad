/* Namespaces: a pid namespace made by clone and by unshare (the first child is its pid 1,
 * its parent sees it by its outer pid, waitpid works across), setns into UTS and IPC
 * namespaces by /proc/PID/ns files and pidfds, setns's errnos, ioctl_ns on them.
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
#include <sys/utsname.h>
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

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *what = argc > 1 ? argv[1] : "pid";
	if (strcmp(what, "pid") == 0) {
		pid_ns_by_clone();
		pid_ns_by_unshare();
	} else if (strcmp(what, "setns") == 0) {
		uts_and_ipc();
	}
	return 0;
}
