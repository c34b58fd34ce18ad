/* Reads every header under /usr/include through a pipeline of dynamic programs:
 *   tar cf - /usr/include | gzip -1 | wc -c
 * timed from inside with fork+exec+wait of /bin/sh (see shtime.h). */
#include "shtime.h"

int main(void)
{
	return time_sh("targzip", "tar cf - /usr/include 2>/dev/null | gzip -1 | wc -c");
}
