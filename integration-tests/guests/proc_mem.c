/* /proc/self/mem: reads and writes at addresses, forced past read-only and PROT_NONE
 * protections of private mappings (a private file mapping gets its own copy; the file
 * is unchanged), EIO at unmapped memory and at a read-only shared mapping, and the
 * file position moving with read(2). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
static char data[64] = "hello world";
int main(void) {
	int fd = open("/proc/self/mem", O_RDWR);
	if (fd < 0) { perror("open"); return 1; }
	char buf[32] = {0};
	ssize_t r = pread(fd, buf, 11, (off_t)(uintptr_t)data);
	printf("pread %zd '%s'\n", r, buf);
	r = pwrite(fd, "HELLO", 5, (off_t)(uintptr_t)data);
	printf("pwrite %zd '%s'\n", r, data);
	/* read-only private anon page: forced write works */
	char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r = pwrite(fd, "xyz", 3, (off_t)(uintptr_t)ro);
	printf("pwrite ro %zd '%.3s'\n", r, ro);
	/* PROT_NONE page: forced read works */
	char *none = mmap(0, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	strcpy(none, "secret");
	mprotect(none, 4096, PROT_NONE);
	memset(buf, 0, sizeof buf);
	r = pread(fd, buf, 6, (off_t)(uintptr_t)none);
	printf("pread none %zd '%s'\n", r, buf);
	/* unmapped: EIO */
	munmap(ro, 4096);
	r = pread(fd, buf, 4, (off_t)(uintptr_t)ro);
	int e = errno;
	printf("pread unmapped %zd %s\n", r, r < 0 ? strerror(e) : "");
	/* a read-only shared file mapping: EIO? */
	int f = open("/etc/hostname", O_RDONLY);
	char *sh = mmap(0, 4096, PROT_READ, MAP_SHARED, f, 0);
	r = pwrite(fd, "Z", 1, (off_t)(uintptr_t)sh);
	e = errno;
	printf("pwrite shared ro %zd %s\n", r, r < 0 ? strerror(e) : "");
	/* private file mapping: forced write goes to a copy */
	char *pr = mmap(0, 4096, PROT_READ, MAP_PRIVATE, f, 0);
	char c0 = pr[0];
	r = pwrite(fd, "Q", 1, (off_t)(uintptr_t)pr);
	char back[2] = {0};
	pread(f, back, 1, 0);
	printf("pwrite private %zd mapped=%c file_unchanged=%d\n", r, pr[0], back[0] == c0);
	/* position moves with read/write */
	lseek(fd, (off_t)(uintptr_t)data, SEEK_SET);
	memset(buf, 0, sizeof buf);
	r = read(fd, buf, 5);
	off_t pos = lseek(fd, 0, SEEK_CUR);
	printf("read %zd '%s' pos+%ld\n", r, buf, (long)(pos - (off_t)(uintptr_t)data));
	return 0;
}
