#include "common.h"
int main(void) {
    no_core();
    puts("about to dereference NULL");
    fflush(stdout);
    volatile int *p = NULL;
    *p = 1;
    puts("survived?!");
    return 1;
}
