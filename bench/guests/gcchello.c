/* One compilation, timed from outside (an `@startup` row):
 *   gcc -O2 -c bench/guests/hello.c -o /dev/null
 * This program only execs the host's /usr/bin/gcc (else gcc from PATH); hello.c is found
 * next to this file's source (__FILE__ is the absolute path run.sh compiles). The object
 * goes to /dev/null so no runner writes into the source tree. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char src[4096];
	const char *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;
	snprintf(src, sizeof src, "%.*s/hello.c", dirlen, slash ? __FILE__ : ".");
	execl("/usr/bin/gcc", "gcc", "-O2", "-c", src, "-o", "/dev/null", (char *)NULL);
	execlp("gcc", "gcc", "-O2", "-c", src, "-o", "/dev/null", (char *)NULL);
	perror("gcchello: cannot exec gcc");
	return 127;
}
