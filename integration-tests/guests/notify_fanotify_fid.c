/* fanotify groups that report file identifiers: the errnos of their flag combinations,
 * then a FAN_REPORT_DFID_NAME group (and one with FAN_REPORT_TARGET_FID) watching a
 * directory see a create, a rename, a delete, a mkdir and an rmdir in it (merged as
 * Linux merges them), each record's file system id and handle compared with statfs(2)
 * and name_to_handle_at(2); a FAN_REPORT_FID group sees a file's open, close and
 * deletion. Run in a scratch directory, as root. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>

static char buf[8192] __attribute__((aligned(8)));

struct fid {
    fsid_t fsid;
    struct file_handle h;
    unsigned char bytes[MAX_HANDLE_SZ];
};

static struct fid dir_fid, file_fid, sub_fid;

static void save_fid(const char *path, struct fid *f) {
    struct statfs st;
    int mnt;
    f->h.handle_bytes = MAX_HANDLE_SZ;
    if (statfs(path, &st) || name_to_handle_at(AT_FDCWD, path, &f->h, &mnt, 0))
        printf("bad fid of %s: %s\n", path, ename(errno));
    f->fsid = st.f_fsid;
}

/* Which saved object a record's fsid and handle name. */
static const char *which(struct fanotify_event_info_fid *info) {
    struct file_handle *h = (struct file_handle *)info->handle;
    struct fid *all[] = {&dir_fid, &file_fid, &sub_fid};
    const char *names[] = {"dir", "file", "sub"};
    for (int i = 0; i < 3; i++)
        if (!memcmp(&info->fsid, &all[i]->fsid, sizeof info->fsid) &&
            h->handle_bytes == all[i]->h.handle_bytes &&
            h->handle_type == all[i]->h.handle_type &&
            !memcmp(h->f_handle, all[i]->h.f_handle, h->handle_bytes))
            return names[i];
    return "other";
}

static void print_mask(unsigned long long m) {
    static const struct { unsigned long long bit; const char *name; } names[] = {
        {FAN_OPEN, "OPEN"}, {FAN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
        {FAN_CLOSE_WRITE, "CLOSE_WRITE"}, {FAN_ATTRIB, "ATTRIB"},
        {FAN_CREATE, "CREATE"}, {FAN_DELETE, "DELETE"}, {FAN_MOVED_FROM, "MOVED_FROM"},
        {FAN_MOVED_TO, "MOVED_TO"}, {FAN_RENAME, "RENAME"}, {FAN_DELETE_SELF, "DELETE_SELF"},
        {FAN_MOVE_SELF, "MOVE_SELF"}, {FAN_ONDIR, "ONDIR"}};
    int first = 1;
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        if (m & names[i].bit) {
            printf("%s%s", first ? "" : "|", names[i].name);
            first = 0;
            m &= ~names[i].bit;
        }
    if (m) printf("|%#llx", m);
}

/* Prints every queued event with its records. */
static void drain(int fan, const char *tag) {
    printf("-- %s\n", tag);
    ssize_t n = read(fan, buf, sizeof buf);
    if (n < 0) {
        printf("read: %s\n", ename(errno));
        return;
    }
    struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
    for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
        print_mask(m->mask);
        printf(" fd=%d pid=%s", m->fd, m->pid == getpid() ? "self" : "other");
        char *p = (char *)m + m->metadata_len, *end = (char *)m + m->event_len;
        while (p < end) {
            struct fanotify_event_info_fid *info = (struct fanotify_event_info_fid *)p;
            struct file_handle *h = (struct file_handle *)info->handle;
            const char *name = (char *)h->f_handle + h->handle_bytes;
            int has_name = name < p + info->hdr.len && *name;
            printf(" [type=%d %s%s%s]", info->hdr.info_type, which(info),
                   has_name ? " " : "", has_name ? name : "");
            if (info->hdr.len == 0) break;
            p += info->hdr.len;
        }
        printf("\n");
    }
}

static void init_errno(unsigned flags, const char *what) {
    int fd = fanotify_init(flags, O_RDONLY);
    printf("init %s: %s\n", what, fd < 0 ? ename(errno) : "ok");
    if (fd >= 0) close(fd);
}

static void mark_errno(unsigned init, unsigned flags, unsigned long long mask, const char *path,
                       const char *what) {
    int fan = fanotify_init(init, O_RDONLY);
    int r = fanotify_mark(fan, FAN_MARK_ADD | flags, mask, AT_FDCWD, path);
    printf("mark %s: %s\n", what, r < 0 ? ename(errno) : "ok");
    close(fan);
}

static void dirent_sequence(unsigned flags, unsigned long long mask, const char *tag) {
    int fan = fanotify_init(flags | FAN_NONBLOCK, O_RDONLY);
    if (fan < 0) {
        printf("bad init %s: %s\n", tag, ename(errno));
        return;
    }
    mkdir("d", 0755);
    save_fid("d", &dir_fid);
    if (fanotify_mark(fan, FAN_MARK_ADD, mask, AT_FDCWD, "d"))
        printf("bad mark: %s\n", ename(errno));
    close(open("d/a", O_CREAT | O_WRONLY, 0644));
    save_fid("d/a", &file_fid);
    rename("d/a", "d/b");
    unlink("d/b");
    mkdir("d/sub", 0755);
    save_fid("d/sub", &sub_fid);
    rmdir("d/sub");
    drain(fan, tag);
    close(fan);
    rmdir("d");
}

int main(void) {
    init_errno(FAN_CLASS_NOTIF | FAN_REPORT_NAME, "NAME alone");
    init_errno(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_REPORT_NAME, "FID|NAME");
    init_errno(FAN_CLASS_CONTENT | FAN_REPORT_FID, "CONTENT|FID");
    init_errno(FAN_CLASS_NOTIF | FAN_REPORT_TARGET_FID | FAN_REPORT_DFID_NAME, "TARGET w/o FID");
    init_errno(FAN_CLASS_NOTIF | FAN_REPORT_PIDFD | FAN_REPORT_TID, "PIDFD|TID");
    init_errno(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME_TARGET, "DFID_NAME_TARGET");
    close(open("f", O_CREAT | O_WRONLY, 0644));
    mark_errno(FAN_CLASS_NOTIF, 0, FAN_CREATE, ".", "CREATE without fid");
    mark_errno(FAN_CLASS_NOTIF | FAN_REPORT_FID, FAN_MARK_MOUNT, FAN_CREATE, ".", "CREATE on mount");
    mark_errno(FAN_CLASS_NOTIF | FAN_REPORT_DIR_FID | FAN_REPORT_FID, 0, FAN_RENAME, ".", "RENAME without name");
    mark_errno(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME_TARGET, 0, FAN_DELETE, "f", "DELETE on file");
    mark_errno(FAN_CLASS_NOTIF, FAN_MARK_IGNORE, FAN_OPEN, ".", "IGNORE on dir");

    unsigned long long dirent = FAN_CREATE | FAN_DELETE | FAN_MOVE | FAN_ONDIR;
    dirent_sequence(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME, dirent | FAN_RENAME, "dfid_name");
    dirent_sequence(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME_TARGET, dirent | FAN_RENAME,
                    "dfid_name_target");
    dirent_sequence(FAN_CLASS_NOTIF | FAN_REPORT_DIR_FID, dirent, "dir_fid");
    dirent_sequence(FAN_CLASS_NOTIF | FAN_REPORT_DIR_FID | FAN_REPORT_FID, dirent, "dfid_fid");

    int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_NONBLOCK, O_RDONLY);
    save_fid("f", &file_fid);
    fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN | FAN_CLOSE | FAN_DELETE_SELF | FAN_ATTRIB,
                  AT_FDCWD, "f");
    close(open("f", O_RDONLY));
    unlink("f");
    drain(fan, "fid");
    close(fan);
    printf("done\n");
    return 0;
}
