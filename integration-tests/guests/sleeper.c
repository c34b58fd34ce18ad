/* Sleeps argv[1] seconds (default 30) with nanosleep, then prints "woke". */
#include "common.h"
#include <time.h>
int main(int argc, char **argv) {
    struct timespec ts = {argc > 1 ? atoi(argv[1]) : 30, 0};
    puts("sleeping");
    fflush(stdout);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    puts("woke");
    return 0;
}
