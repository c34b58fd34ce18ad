/* Open/stat-heavy directory walk by dynamic programs:
 *   find /usr -name '*.h' | wc -l
 * timed from inside with fork+exec+wait of /bin/sh (see shtime.h). */
#include "shtime.h"

int main(void)
{
	return time_sh("findh", "find /usr -name '*.h' | wc -l");
}
