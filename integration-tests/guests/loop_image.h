/* A loop device over a fresh image file, for guests that make a file system on it. */
#include <linux/loop.h>
#include <sys/ioctl.h>

/* Binds a free loop device to a new image `path` of `mib` MiB; its name goes to `dev`
 * (`/dev/loopN`); returns its descriptor (LOOP_CLR_FD it when done). */
static inline int loop_image(const char *path, int mib, char *dev, size_t dev_len) {
    int img = open(path, O_CREAT | O_RDWR, 0600);
    CHECK("image", img >= 0 && ftruncate(img, (off_t)mib << 20) == 0);
    int ctl = open("/dev/loop-control", O_RDWR);
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    close(ctl);
    snprintf(dev, dev_len, "/dev/loop%d", n);
    int fd = open(dev, O_RDWR);
    report("set-fd", ioctl(fd, LOOP_SET_FD, img));
    close(img);
    return fd;
}
