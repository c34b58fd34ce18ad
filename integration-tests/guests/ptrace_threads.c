/* Three threads that each write a line and end, joined by the main thread: what
 * `strace -f` must follow thread by thread (clone events, each thread's exit). */
#include <pthread.h>
#include <unistd.h>

static void *run(void *a) {
    write(1, "thread\n", 7);
    return a;
}

int main(void) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], 0, run, 0);
    for (int i = 0; i < 3; i++) pthread_join(t[i], 0);
    write(1, "main\n", 5);
    return 0;
}
