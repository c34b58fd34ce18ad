/* 100 small pipelines in busybox sh, timed from outside (the `@startup` row):
 *   for i in $(seq 100); do echo $i | md5sum >/dev/null; done
 * This program only execs the static busybox (from $BUSYBOX, else the first of PATH,
 * /usr/bin/busybox, /bin/busybox); busybox runs seq and md5sum as applets. */
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>

int main(void)
{
	static const char script[] =
		"for i in $(seq 100); do echo $i | md5sum >/dev/null; done";
	const char *env = getenv("BUSYBOX");
	const char *cands[] = {env, "/usr/bin/busybox", "/bin/busybox", "/usr/sbin/busybox"};
	for (unsigned i = 0; i < sizeof cands / sizeof cands[0]; i++) {
		if (!cands[i] || access(cands[i], X_OK))
			continue;
		execl(cands[i], "sh", "-c", script, (char *)NULL);
	}
	execlp("busybox", "sh", "-c", script, (char *)NULL);
	perror("pipelines100: cannot exec busybox");
	return 127;
}
