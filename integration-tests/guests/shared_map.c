/* MAP_SHARED file mappings: writes through the mapping reach the file, and file writes show
 * in the mapping. argv[1]: a scratch directory to create. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PAGE 4096UL

int main(int argc, char **argv) {
    if (argc < 2) { puts("usage: shared_map SCRATCH_DIR"); return 2; }
    CHECK("mkdir scratch", mkdir(argv[1], 0755) == 0);
    CHECK("chdir scratch", chdir(argv[1]) == 0);
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK("create data file", fd >= 0);
    char content[PAGE];
    for (size_t i = 0; i < sizeof content; i++) content[i] = (char)('a' + i % 26);
    CHECK("write data file", write(fd, content, sizeof content) == (ssize_t)sizeof content);
    char buf[2];
    char *fs = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("mmap file shared", fs != MAP_FAILED);
    if (fs == MAP_FAILED) return 1;
    fs[1] = 'Y';
    CHECK("msync", msync(fs, PAGE, MS_SYNC) == 0);
    CHECK("shared mapping write visible via pread", pread(fd, buf, 2, 0) == 2 && buf[0] == 'a' && buf[1] == 'Y');
    CHECK("pwrite visible in shared mapping", pwrite(fd, "Q", 1, 5) == 1 && fs[5] == 'Q');
    munmap(fs, PAGE);
    close(fd);
    CHECK("unlink data", unlink("data") == 0);
    CHECK("chdir /", chdir("/") == 0);
    CHECK("rmdir scratch", rmdir(argv[1]) == 0);
    return 0;
}
