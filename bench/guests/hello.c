/* The gcc row's input (`gcc -O2 -c bench/guests/hello.c`, see gcchello.c); like every
 * guests/NAME.c file it is also built into bench/out/hello, a static hello world. */
#include <stdio.h>

int main(void)
{
	printf("hello, world\n");
	return 0;
}
