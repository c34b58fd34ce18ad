/* Start-up of a dynamically linked interpreter, timed from outside (an `@startup` row):
 *   python3 -c 'import json,os,subprocess'
 * This program only execs the host's /usr/bin/python3 (else python3 from PATH). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	static const char code[] = "import json,os,subprocess";
	execl("/usr/bin/python3", "python3", "-c", code, (char *)NULL);
	execlp("python3", "python3", "-c", code, (char *)NULL);
	perror("pystartup: cannot exec python3");
	return 127;
}
