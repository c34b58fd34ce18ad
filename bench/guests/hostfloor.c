/* Host floors of uml's mechanisms, measured natively (no uml involved):
 *   sigsys     a syscall trapped by a seccomp filter (SECCOMP_RET_TRAP), delivered as SIGSYS
 *              to a handler that returns through rt_sigreturn: the least a guest syscall can
 *              cost under --trap=seccomp, before any kernel work or hand-off (ns/call);
 *   shmemtouch first touch of pages of a MAP_SHARED memfd mapping, which is how guest memory
 *              is backed (ns/page), next to anontouch, private anonymous memory (ns/page).
 * argv[1] = syscall iterations, argv[2] = MiB to touch. */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <ucontext.h>
#include "bench.h"

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RAX] = 1;
}

static double touch(char *p, size_t len)
{
	long long t0 = now_ns();
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	return (double)(now_ns() - t0) / (double)(len / 4096);
}

int main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 200000);
	size_t len = (size_t)arg_long(argc, argv, 2, 256) << 20;

	char *anon = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = memfd_create("floor", 0);
	if (anon == MAP_FAILED || fd < 0 || ftruncate(fd, (off_t)len) != 0)
		return 2;
	char *shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED)
		return 2;
	result("anontouch", touch(anon, len), "ns/page");
	result("shmemtouch", touch(shm, len), "ns/page");

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		return 2;
	long sink = 0;
	for (int i = 0; i < 1000; i++)
		sink += syscall(SYS_getppid);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		sink += syscall(SYS_getppid);
	double per = (double)(now_ns() - t0) / n;
	if (sink != 1000 + n)
		return 3;
	result("sigsys", per, "ns/call");
	return 0;
}
