//! Flag sets and constants of the syscalls uml implements.
#![allow(missing_docs)] // The constants carry Linux's own names; their meaning is the man pages'.

use bitflags::bitflags;
use serde::{Deserialize, Serialize};

bitflags! {
    /// `open(2)` flags (`O_*`), x86-64 values. The access mode is the low two bits.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub struct OFlags: u32 {
        const WRONLY = 0o1;
        const RDWR = 0o2;
        const CREAT = 0o100;
        const EXCL = 0o200;
        const NOCTTY = 0o400;
        const TRUNC = 0o1000;
        const APPEND = 0o2000;
        const NONBLOCK = 0o4000;
        const DSYNC = 0o10000;
        const ASYNC = 0o20000;
        const DIRECT = 0o40000;
        const LARGEFILE = 0o100000;
        const DIRECTORY = 0o200000;
        const NOFOLLOW = 0o400000;
        const NOATIME = 0o1000000;
        const CLOEXEC = 0o2000000;
        const SYNC = 0o4010000;
        const PATH = 0o10000000;
        const TMPFILE = 0o20200000;
        const _ = !0;
    }
}

impl OFlags {
    /// Mask of the access mode bits.
    pub const ACCMODE: u32 = 0o3;
    /// Whether the file is opened for reading.
    pub fn readable(self) -> bool {
        self.bits() & Self::ACCMODE != 1
    }
    /// Whether the file is opened for writing.
    pub fn writable(self) -> bool {
        matches!(self.bits() & Self::ACCMODE, 1 | 2)
    }
    /// Every flag Linux knows (`VALID_OPEN_FLAGS`): `openat2` refuses any other.
    pub const VALID: OFlags = OFlags::WRONLY
        .union(OFlags::RDWR)
        .union(OFlags::CREAT)
        .union(OFlags::EXCL)
        .union(OFlags::NOCTTY)
        .union(OFlags::TRUNC)
        .union(OFlags::APPEND)
        .union(OFlags::NONBLOCK)
        .union(OFlags::DSYNC)
        .union(OFlags::ASYNC)
        .union(OFlags::DIRECT)
        .union(OFlags::LARGEFILE)
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::NOATIME)
        .union(OFlags::CLOEXEC)
        .union(OFlags::SYNC)
        .union(OFlags::PATH)
        .union(OFlags::TMPFILE);
    /// The flags `O_PATH` may come with (`O_PATH_FLAGS`).
    pub const PATH_FLAGS: OFlags = OFlags::DIRECTORY
        .union(OFlags::NOFOLLOW)
        .union(OFlags::PATH)
        .union(OFlags::CLOEXEC);
    /// Flags `F_SETFL` may change.
    pub const SETFL_MASK: OFlags = OFlags::APPEND
        .union(OFlags::NONBLOCK)
        .union(OFlags::ASYNC)
        .union(OFlags::DIRECT)
        .union(OFlags::NOATIME);
}

bitflags! {
    /// `mmap(2)`/`mprotect(2)` protection bits (`PROT_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub struct Prot: u32 {
        const READ = 1;
        const WRITE = 2;
        const EXEC = 4;
        const GROWSDOWN = 0x0100_0000;
        const GROWSUP = 0x0200_0000;
    }
}

bitflags! {
    /// `mmap(2)` flags (`MAP_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub struct MapFlags: u32 {
        const SHARED = 0x01;
        const PRIVATE = 0x02;
        const SHARED_VALIDATE = 0x03;
        const FIXED = 0x10;
        const ANONYMOUS = 0x20;
        const GROWSDOWN = 0x100;
        const DENYWRITE = 0x800;
        const EXECUTABLE = 0x1000;
        const LOCKED = 0x2000;
        const NORESERVE = 0x4000;
        const POPULATE = 0x8000;
        const NONBLOCK = 0x10000;
        const STACK = 0x20000;
        const HUGETLB = 0x40000;
        const SYNC = 0x80000;
        const FIXED_NOREPLACE = 0x100000;
        const _ = !0;
    }
}

/// `madvise(2)` advice values.
pub mod madv {
    #![allow(missing_docs)]
    pub const NORMAL: i32 = 0;
    pub const RANDOM: i32 = 1;
    pub const SEQUENTIAL: i32 = 2;
    pub const WILLNEED: i32 = 3;
    pub const DONTNEED: i32 = 4;
    pub const FREE: i32 = 8;
    pub const REMOVE: i32 = 9;
    pub const DONTFORK: i32 = 10;
    pub const DOFORK: i32 = 11;
    pub const MERGEABLE: i32 = 12;
    pub const UNMERGEABLE: i32 = 13;
    pub const HUGEPAGE: i32 = 14;
    pub const NOHUGEPAGE: i32 = 15;
    pub const DONTDUMP: i32 = 16;
    pub const DODUMP: i32 = 17;
    pub const GUARD_INSTALL: i32 = 102;
    pub const GUARD_REMOVE: i32 = 103;
}

/// `msync(2)` flags.
pub mod ms {
    #![allow(missing_docs)]
    pub const ASYNC: i32 = 1;
    pub const INVALIDATE: i32 = 2;
    pub const SYNC: i32 = 4;
}

/// `fallocate(2)` modes (`FALLOC_FL_*`).
pub mod falloc {
    #![allow(missing_docs)]
    pub const KEEP_SIZE: u32 = 0x01;
    pub const PUNCH_HOLE: u32 = 0x02;
    pub const NO_HIDE_STALE: u32 = 0x04;
    pub const COLLAPSE_RANGE: u32 = 0x08;
    pub const ZERO_RANGE: u32 = 0x10;
    pub const INSERT_RANGE: u32 = 0x20;
    pub const UNSHARE_RANGE: u32 = 0x40;
    pub const WRITE_ZEROES: u32 = 0x80;
}

/// `FS_IOC_FIEMAP` request flags (`FIEMAP_FLAG_*`) and extent flags (`FIEMAP_EXTENT_*`).
pub mod fiemap {
    #![allow(missing_docs)]
    pub const FLAG_SYNC: u32 = 0x1;
    pub const FLAG_XATTR: u32 = 0x2;
    pub const FLAG_CACHE: u32 = 0x4;
    pub const EXTENT_LAST: u32 = 0x1;
    pub const EXTENT_UNWRITTEN: u32 = 0x800;
    /// Bytes of `struct fiemap_extent`.
    pub const EXTENT_SIZE: u64 = 56;
}

/// `memfd_create(2)` flags (`MFD_*`; bits 26-31 carry a huge page size).
pub mod mfd {
    #![allow(missing_docs)]
    pub const CLOEXEC: u32 = 0x01;
    pub const ALLOW_SEALING: u32 = 0x02;
    pub const HUGETLB: u32 = 0x04;
    pub const NOEXEC_SEAL: u32 = 0x08;
    pub const EXEC: u32 = 0x10;
}

/// `*at(2)` constants.
pub mod at {
    #![allow(missing_docs)]
    pub const FDCWD: i32 = -100;
    pub const SYMLINK_NOFOLLOW: u32 = 0x100;
    pub const EACCESS: u32 = 0x200;
    pub const REMOVEDIR: u32 = 0x200;
    pub const SYMLINK_FOLLOW: u32 = 0x400;
    pub const NO_AUTOMOUNT: u32 = 0x800;
    pub const EMPTY_PATH: u32 = 0x1000;
    pub const STATX_SYNC_TYPE: u32 = 0x6000;
    pub const RECURSIVE: u32 = 0x8000;
}

/// `openat2(2)` path resolution flags (`struct open_how`'s `resolve`).
pub mod resolve {
    #![allow(missing_docs)]
    pub const NO_XDEV: u64 = 0x01;
    pub const NO_MAGICLINKS: u64 = 0x02;
    pub const NO_SYMLINKS: u64 = 0x04;
    pub const BENEATH: u64 = 0x08;
    pub const IN_ROOT: u64 = 0x10;
    pub const CACHED: u64 = 0x20;
    pub const ALL: u64 = 0x3f;
}

/// `renameat2(2)` flags.
pub mod rename {
    #![allow(missing_docs)]
    pub const NOREPLACE: u32 = 1;
    pub const EXCHANGE: u32 = 2;
    pub const WHITEOUT: u32 = 4;
}

/// File system events, as `inotify(7)` and `fanotify(7)` name them (Linux's `FS_*` bits,
/// which both share), and the flags of `inotify_add_watch(2)` and `inotify_init1(2)`.
pub mod inotify {
    #![allow(missing_docs)]
    pub const IN_ACCESS: u32 = 0x1;
    pub const IN_MODIFY: u32 = 0x2;
    pub const IN_ATTRIB: u32 = 0x4;
    pub const IN_CLOSE_WRITE: u32 = 0x8;
    pub const IN_CLOSE_NOWRITE: u32 = 0x10;
    pub const IN_OPEN: u32 = 0x20;
    pub const IN_MOVED_FROM: u32 = 0x40;
    pub const IN_MOVED_TO: u32 = 0x80;
    pub const IN_CREATE: u32 = 0x100;
    pub const IN_DELETE: u32 = 0x200;
    pub const IN_DELETE_SELF: u32 = 0x400;
    pub const IN_MOVE_SELF: u32 = 0x800;
    /// `FS_OPEN_EXEC` (fanotify's `FAN_OPEN_EXEC`; not an inotify event).
    pub const FS_OPEN_EXEC: u32 = 0x1000;
    pub const IN_UNMOUNT: u32 = 0x2000;
    pub const IN_Q_OVERFLOW: u32 = 0x4000;
    pub const IN_IGNORED: u32 = 0x8000;
    /// fanotify's permission events (`FAN_OPEN_PERM`, `FAN_ACCESS_PERM`,
    /// `FAN_OPEN_EXEC_PERM`).
    pub const FS_OPEN_PERM: u32 = 0x1_0000;
    pub const FS_ACCESS_PERM: u32 = 0x2_0000;
    pub const FS_OPEN_EXEC_PERM: u32 = 0x4_0000;
    pub const IN_ONLYDIR: u32 = 0x0100_0000;
    pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
    pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
    pub const IN_MASK_CREATE: u32 = 0x1000_0000;
    pub const IN_MASK_ADD: u32 = 0x2000_0000;
    pub const IN_ISDIR: u32 = 0x4000_0000;
    pub const IN_ONESHOT: u32 = 0x8000_0000;
    pub const IN_CLOSE: u32 = IN_CLOSE_WRITE | IN_CLOSE_NOWRITE;
    pub const IN_MOVE: u32 = IN_MOVED_FROM | IN_MOVED_TO;
    /// Every event a watch may ask for.
    pub const IN_ALL_EVENTS: u32 = 0xfff;
    /// `IN_NONBLOCK` and `IN_CLOEXEC` are `O_NONBLOCK` and `O_CLOEXEC`.
    pub const IN_NONBLOCK: u32 = 0o4000;
    pub const IN_CLOEXEC: u32 = 0o2000000;
}

/// `fanotify_init(2)` and `fanotify_mark(2)` flags, and fanotify's own event bits (the
/// file events are [`inotify`]'s `FS_*` bits).
pub mod fanotify {
    #![allow(missing_docs)]
    pub const FAN_CLOEXEC: u32 = 0x1;
    pub const FAN_NONBLOCK: u32 = 0x2;
    pub const FAN_CLASS_NOTIF: u32 = 0x0;
    pub const FAN_CLASS_CONTENT: u32 = 0x4;
    pub const FAN_CLASS_PRE_CONTENT: u32 = 0x8;
    pub const FAN_ALL_CLASS_BITS: u32 = 0xc;
    pub const FAN_UNLIMITED_QUEUE: u32 = 0x10;
    pub const FAN_UNLIMITED_MARKS: u32 = 0x20;
    pub const FAN_ENABLE_AUDIT: u32 = 0x40;
    pub const FAN_REPORT_PIDFD: u32 = 0x80;
    pub const FAN_REPORT_TID: u32 = 0x100;
    pub const FAN_REPORT_FID: u32 = 0x200;
    pub const FAN_REPORT_DIR_FID: u32 = 0x400;
    pub const FAN_REPORT_NAME: u32 = 0x800;
    pub const FAN_REPORT_TARGET_FID: u32 = 0x1000;
    pub const FAN_REPORT_FD_ERROR: u32 = 0x2000;
    /// The file-identifier reports (`FANOTIFY_FID_BITS`).
    pub const FAN_REPORT_FID_BITS: u32 =
        FAN_REPORT_FID | FAN_REPORT_DIR_FID | FAN_REPORT_NAME | FAN_REPORT_TARGET_FID;
    pub const FAN_MARK_ADD: u32 = 0x1;
    pub const FAN_MARK_REMOVE: u32 = 0x2;
    pub const FAN_MARK_DONT_FOLLOW: u32 = 0x4;
    pub const FAN_MARK_ONLYDIR: u32 = 0x8;
    pub const FAN_MARK_MOUNT: u32 = 0x10;
    pub const FAN_MARK_IGNORED_MASK: u32 = 0x20;
    pub const FAN_MARK_IGNORED_SURV_MODIFY: u32 = 0x40;
    pub const FAN_MARK_FLUSH: u32 = 0x80;
    pub const FAN_MARK_FILESYSTEM: u32 = 0x100;
    pub const FAN_MARK_EVICTABLE: u32 = 0x200;
    pub const FAN_MARK_IGNORE: u32 = 0x400;
    pub const FAN_ATTRIB: u64 = 0x4;
    pub const FAN_MOVED_FROM: u64 = 0x40;
    pub const FAN_MOVED_TO: u64 = 0x80;
    pub const FAN_CREATE: u64 = 0x100;
    pub const FAN_DELETE: u64 = 0x200;
    pub const FAN_DELETE_SELF: u64 = 0x400;
    pub const FAN_MOVE_SELF: u64 = 0x800;
    pub const FAN_FS_ERROR: u64 = 0x8000;
    /// A rename, with the old and the new directory and name.
    pub const FAN_RENAME: u64 = 0x1000_0000;
    /// Events on directories too.
    pub const FAN_ONDIR: u64 = 0x4000_0000;
    /// A directory's mark also gets its children's events.
    pub const FAN_EVENT_ON_CHILD: u64 = 0x0800_0000;
    pub const FAN_ALLOW: u32 = 0x1;
    pub const FAN_DENY: u32 = 0x2;
    pub const FAN_AUDIT: u32 = 0x10;
    /// `fd` of an event without one (an overflow).
    pub const FAN_NOFD: i32 = -1;
    pub const FANOTIFY_METADATA_VERSION: u8 = 3;
    /// `sizeof(struct fanotify_event_metadata)`.
    pub const FAN_EVENT_METADATA_LEN: usize = 24;
    pub const FAN_EVENT_INFO_TYPE_FID: u8 = 1;
    pub const FAN_EVENT_INFO_TYPE_DFID_NAME: u8 = 2;
    pub const FAN_EVENT_INFO_TYPE_DFID: u8 = 3;
    pub const FAN_EVENT_INFO_TYPE_PIDFD: u8 = 4;
    pub const FAN_EVENT_INFO_TYPE_OLD_DFID_NAME: u8 = 10;
    pub const FAN_EVENT_INFO_TYPE_NEW_DFID_NAME: u8 = 12;
    /// `pidfd` of an event whose process is gone.
    pub const FAN_NOPIDFD: i32 = -1;
    /// `pidfd` of an event whose process could not be reported.
    pub const FAN_EPIDFD: i32 = -2;
}

/// File type and permission bits of `st_mode`.
pub mod mode {
    #![allow(missing_docs)]
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFSOCK: u32 = 0o140000;
    pub const S_IFLNK: u32 = 0o120000;
    pub const S_IFREG: u32 = 0o100000;
    pub const S_IFBLK: u32 = 0o060000;
    pub const S_IFDIR: u32 = 0o040000;
    pub const S_IFCHR: u32 = 0o020000;
    pub const S_IFIFO: u32 = 0o010000;
    pub const S_ISUID: u32 = 0o4000;
    pub const S_ISGID: u32 = 0o2000;
    pub const S_ISVTX: u32 = 0o1000;
    pub const PERM_MASK: u32 = 0o7777;
}

/// `d_type` values of `getdents64`.
pub mod dtype {
    #![allow(missing_docs)]
    pub const UNKNOWN: u8 = 0;
    pub const FIFO: u8 = 1;
    pub const CHR: u8 = 2;
    pub const DIR: u8 = 4;
    pub const BLK: u8 = 6;
    pub const REG: u8 = 8;
    pub const LNK: u8 = 10;
    pub const SOCK: u8 = 12;

    /// The `d_type` for an `st_mode`.
    pub fn from_mode(mode: u32) -> u8 {
        ((mode >> 12) & 0xf) as u8
    }
}

/// `fcntl(2)` commands and fd flags.
pub mod fcntl {
    #![allow(missing_docs)]
    pub const F_DUPFD: i32 = 0;
    pub const F_GETFD: i32 = 1;
    pub const F_SETFD: i32 = 2;
    pub const F_GETFL: i32 = 3;
    pub const F_SETFL: i32 = 4;
    pub const F_GETLK: i32 = 5;
    pub const F_SETLK: i32 = 6;
    pub const F_SETLKW: i32 = 7;
    pub const F_OFD_GETLK: i32 = 36;
    pub const F_OFD_SETLK: i32 = 37;
    pub const F_OFD_SETLKW: i32 = 38;
    pub const F_RDLCK: i16 = 0;
    pub const F_WRLCK: i16 = 1;
    pub const F_UNLCK: i16 = 2;
    pub const F_DUPFD_CLOEXEC: i32 = 1030;
    pub const F_SETOWN: i32 = 8;
    pub const F_GETOWN: i32 = 9;
    pub const F_SETSIG: i32 = 10;
    pub const F_GETSIG: i32 = 11;
    pub const F_SETOWN_EX: i32 = 15;
    pub const F_GETOWN_EX: i32 = 16;
    pub const F_SETLEASE: i32 = 1024;
    pub const F_GETLEASE: i32 = 1025;
    pub const F_NOTIFY: i32 = 1026;
    pub const F_SETPIPE_SZ: i32 = 1031;
    pub const F_GETPIPE_SZ: i32 = 1032;
    /// Whether this open created the file (Linux 6.12).
    pub const F_CREATED_QUERY: i32 = 1028;
    pub const F_ADD_SEALS: i32 = 1033;
    pub const F_GET_SEALS: i32 = 1034;
    pub const F_SEAL_SEAL: u32 = 0x01;
    pub const F_SEAL_SHRINK: u32 = 0x02;
    pub const F_SEAL_GROW: u32 = 0x04;
    pub const F_SEAL_WRITE: u32 = 0x08;
    pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
    pub const F_SEAL_EXEC: u32 = 0x20;
    pub const FD_CLOEXEC: u64 = 1;
}

/// `flock(2)` operations.
pub mod flock {
    #![allow(missing_docs)]
    pub const LOCK_SH: i32 = 1;
    pub const LOCK_EX: i32 = 2;
    pub const LOCK_NB: i32 = 4;
    pub const LOCK_UN: i32 = 8;
}

/// `lseek(2)` whence values.
pub mod seek {
    #![allow(missing_docs)]
    pub const SET: i32 = 0;
    pub const CUR: i32 = 1;
    pub const END: i32 = 2;
    pub const DATA: i32 = 3;
    pub const HOLE: i32 = 4;
}

/// `access(2)` modes.
pub mod access {
    #![allow(missing_docs)]
    pub const F_OK: u32 = 0;
    pub const X_OK: u32 = 1;
    pub const W_OK: u32 = 2;
    pub const R_OK: u32 = 4;
}

/// `ioctl(2)` requests uml knows.
pub mod ioctl {
    #![allow(missing_docs)]
    pub const TCGETS: u32 = 0x5401;
    pub const TCGETA: u32 = 0x5405;
    pub const TCSETA: u32 = 0x5406;
    pub const TCSETAW: u32 = 0x5407;
    pub const TCSETAF: u32 = 0x5408;
    pub const TCSETS: u32 = 0x5402;
    pub const TCSETSW: u32 = 0x5403;
    pub const TCSETSF: u32 = 0x5404;
    pub const TIOCGPGRP: u32 = 0x540f;
    pub const TIOCSPGRP: u32 = 0x5410;
    pub const TIOCGWINSZ: u32 = 0x5413;
    pub const TIOCSWINSZ: u32 = 0x5414;
    pub const FIONREAD: u32 = 0x541b;
    /// `RNDGETENTCNT` (`/dev/random`): the entropy count, an `int`.
    pub const RNDGETENTCNT: u32 = 0x8004_5200;
    pub const FIONBIO: u32 = 0x5421;
    pub const FIOASYNC: u32 = 0x5452;
    pub const FIOCLEX: u32 = 0x5451;
    pub const FIONCLEX: u32 = 0x5450;
    pub const TCSBRK: u32 = 0x5409;
    pub const TCXONC: u32 = 0x540a;
    pub const TCFLSH: u32 = 0x540b;
    pub const TIOCSCTTY: u32 = 0x540e;
    pub const TIOCOUTQ: u32 = 0x5411;
    pub const TIOCNOTTY: u32 = 0x5422;
    pub const TIOCGSID: u32 = 0x5429;
    pub const TIOCGPTN: u32 = 0x8004_5430;
    pub const TIOCSPTLCK: u32 = 0x4004_5431;
    pub const TIOCGPTLCK: u32 = 0x8004_5439;
    pub const TIOCGPTPEER: u32 = 0x5441;
    /// File ioctls (`<linux/fs.h>`): inode flags, clones, extent maps.
    pub const FS_IOC_GETFLAGS: u32 = 0x8008_6601;
    pub const FS_IOC_SETFLAGS: u32 = 0x4008_6602;
    pub const FS_IOC_FIEMAP: u32 = 0xc020_660b;
    pub const FICLONE: u32 = 0x4004_9409;
    pub const FICLONERANGE: u32 = 0x4020_940d;
    pub const FIGETBSZ: u32 = 0x2;
}

/// Inode flags (`FS_*_FL`, `FS_IOC_GETFLAGS`), as `chattr` sets them.
pub mod fs_fl {
    #![allow(missing_docs)]
    pub const SECRM: u32 = 0x1;
    pub const UNRM: u32 = 0x2;
    pub const COMPR: u32 = 0x4;
    pub const SYNC: u32 = 0x8;
    pub const IMMUTABLE: u32 = 0x10;
    pub const APPEND: u32 = 0x20;
    pub const NODUMP: u32 = 0x40;
    pub const NOATIME: u32 = 0x80;
    pub const JOURNAL_DATA: u32 = 0x4000;
    pub const NOTAIL: u32 = 0x8000;
    pub const DIRSYNC: u32 = 0x10000;
    pub const TOPDIR: u32 = 0x20000;
    pub const DAX: u32 = 0x0200_0000;
    pub const PROJINHERIT: u32 = 0x2000_0000;
    pub const CASEFOLD: u32 = 0x4000_0000;
    /// `FS_XFLAG_*` (`struct fsxattr`, `struct file_attr`).
    pub const XFLAG_IMMUTABLE: u64 = 0x8;
    pub const XFLAG_APPEND: u64 = 0x10;
    pub const XFLAG_SYNC: u64 = 0x20;
    pub const XFLAG_NOATIME: u64 = 0x40;
    pub const XFLAG_NODUMP: u64 = 0x80;
    pub const XFLAG_PROJINHERIT: u64 = 0x200;
    pub const XFLAG_EXTSIZE: u64 = 0x800;
    pub const XFLAG_EXTSZINHERIT: u64 = 0x1000;
    pub const XFLAG_DAX: u64 = 0x8000;
    pub const XFLAG_COWEXTSIZE: u64 = 0x10000;
    pub const XFLAG_HASATTR: u64 = 0x8000_0000;
    /// Every defined `FS_XFLAG_*` (`FS_XFLAGS_MASK`).
    pub const XFLAGS_MASK: u64 = 0x1_fffb | XFLAG_HASATTR;
}

/// `struct termios` flags and control-character indices (`<asm-generic/termbits.h>`).
pub mod termios {
    #![allow(missing_docs)]
    // c_iflag
    pub const ISTRIP: u32 = 0o40;
    pub const INLCR: u32 = 0o100;
    pub const IGNCR: u32 = 0o200;
    pub const ICRNL: u32 = 0o400;
    pub const IXON: u32 = 0o2000;
    // c_oflag
    pub const OPOST: u32 = 0o1;
    pub const ONLCR: u32 = 0o4;
    pub const OCRNL: u32 = 0o10;
    // c_cflag
    pub const B38400: u32 = 0o17;
    pub const CS8: u32 = 0o60;
    pub const CREAD: u32 = 0o200;
    // c_lflag
    pub const ISIG: u32 = 0o1;
    pub const ICANON: u32 = 0o2;
    pub const ECHO: u32 = 0o10;
    pub const ECHOE: u32 = 0o20;
    pub const ECHOK: u32 = 0o40;
    pub const ECHONL: u32 = 0o100;
    pub const NOFLSH: u32 = 0o200;
    pub const TOSTOP: u32 = 0o400;
    pub const ECHOCTL: u32 = 0o1000;
    pub const ECHOKE: u32 = 0o4000;
    pub const IEXTEN: u32 = 0o100000;
    // c_cc indices
    pub const VINTR: usize = 0;
    pub const VQUIT: usize = 1;
    pub const VERASE: usize = 2;
    pub const VKILL: usize = 3;
    pub const VEOF: usize = 4;
    pub const VTIME: usize = 5;
    pub const VMIN: usize = 6;
    pub const VSTART: usize = 8;
    pub const VSTOP: usize = 9;
    pub const VSUSP: usize = 10;
    pub const VEOL: usize = 11;
    pub const VREPRINT: usize = 12;
    pub const VDISCARD: usize = 13;
    pub const VWERASE: usize = 14;
    pub const VLNEXT: usize = 15;
    pub const VEOL2: usize = 16;
    /// Linux's `INIT_C_CC`: ^C ^\\ DEL ^U ^D, TIME 0, MIN 1, START ^Q, STOP ^S, SUSP ^Z,
    /// REPRINT ^R, DISCARD ^O, WERASE ^W, LNEXT ^V.
    pub const INIT_C_CC: [u8; 19] = [
        3, 0o34, 0o177, 0o25, 4, 0, 1, 0, 0o21, 0o23, 0o32, 0, 0o22, 0o17, 0o27, 0o26, 0, 0, 0,
    ];
}

/// Clock ids.
pub mod clock {
    #![allow(missing_docs)]
    pub const REALTIME: i32 = 0;
    pub const MONOTONIC: i32 = 1;
    pub const PROCESS_CPUTIME_ID: i32 = 2;
    pub const THREAD_CPUTIME_ID: i32 = 3;
    pub const MONOTONIC_RAW: i32 = 4;
    pub const REALTIME_COARSE: i32 = 5;
    pub const MONOTONIC_COARSE: i32 = 6;
    pub const BOOTTIME: i32 = 7;
    pub const TAI: i32 = 11;
    pub const TIMER_ABSTIME: i32 = 1;
}

/// `arch_prctl(2)` codes.
pub mod arch_prctl {
    #![allow(missing_docs)]
    pub const SET_GS: i32 = 0x1001;
    pub const SET_FS: i32 = 0x1002;
    pub const GET_FS: i32 = 0x1003;
    pub const GET_GS: i32 = 0x1004;
    pub const GET_CPUID: i32 = 0x1011;
    pub const SET_CPUID: i32 = 0x1012;
}

/// Resource numbers of `getrlimit(2)`.
pub mod rlimit {
    #![allow(missing_docs)]
    pub const CPU: u32 = 0;
    pub const FSIZE: u32 = 1;
    pub const DATA: u32 = 2;
    pub const STACK: u32 = 3;
    pub const CORE: u32 = 4;
    pub const RSS: u32 = 5;
    pub const NPROC: u32 = 6;
    pub const NOFILE: u32 = 7;
    pub const MEMLOCK: u32 = 8;
    pub const AS: u32 = 9;
    pub const LOCKS: u32 = 10;
    pub const SIGPENDING: u32 = 11;
    pub const MSGQUEUE: u32 = 12;
    pub const NICE: u32 = 13;
    pub const RTPRIO: u32 = 14;
    pub const RTTIME: u32 = 15;
    pub const NLIMITS: u32 = 16;
    pub const INFINITY: u64 = u64::MAX;
}

/// Auxiliary vector keys.
pub mod auxv {
    #![allow(missing_docs)]
    pub const AT_NULL: u64 = 0;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_FLAGS: u64 = 8;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_PLATFORM: u64 = 15;
    pub const AT_HWCAP: u64 = 16;
    pub const AT_CLKTCK: u64 = 17;
    pub const AT_SECURE: u64 = 23;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_HWCAP2: u64 = 26;
    pub const AT_EXECFN: u64 = 31;
    pub const AT_SYSINFO_EHDR: u64 = 33;
    pub const AT_MINSIGSTKSZ: u64 = 51;
}

/// Limits.
pub const PATH_MAX: usize = 4096;
/// Longest file name component.
pub const NAME_MAX: usize = 255;
/// Most symlinks followed in one path walk.
pub const MAXSYMLINKS: u32 = 40;

/// `personality(2)` values (`<linux/personality.h>`).
pub mod personality {
    #![allow(missing_docs)]
    pub const UNAME26: u32 = 0x002_0000;
    pub const ADDR_NO_RANDOMIZE: u32 = 0x004_0000;
    pub const FDPIC_FUNCPTRS: u32 = 0x008_0000;
    pub const MMAP_PAGE_ZERO: u32 = 0x010_0000;
    pub const ADDR_COMPAT_LAYOUT: u32 = 0x020_0000;
    pub const READ_IMPLIES_EXEC: u32 = 0x040_0000;
    pub const ADDR_LIMIT_32BIT: u32 = 0x080_0000;
    pub const SHORT_INODE: u32 = 0x100_0000;
    pub const WHOLE_SECONDS: u32 = 0x200_0000;
    pub const STICKY_TIMEOUTS: u32 = 0x400_0000;
    pub const ADDR_LIMIT_3GB: u32 = 0x800_0000;
    /// The flags an `execve` that changes ids clears.
    pub const PER_CLEAR_ON_SETID: u32 =
        READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE | ADDR_COMPAT_LAYOUT | MMAP_PAGE_ZERO;
    /// The argument that only queries.
    pub const QUERY: u32 = 0xffff_ffff;
}

/// Key management (`add_key(2)`, `request_key(2)`, `keyctl(2)`; `<linux/keyctl.h>`).
pub mod key {
    #![allow(missing_docs)]
    pub const SPEC_THREAD_KEYRING: i32 = -1;
    pub const SPEC_PROCESS_KEYRING: i32 = -2;
    pub const SPEC_SESSION_KEYRING: i32 = -3;
    pub const SPEC_USER_KEYRING: i32 = -4;
    pub const SPEC_USER_SESSION_KEYRING: i32 = -5;
    pub const SPEC_GROUP_KEYRING: i32 = -6;
    pub const SPEC_REQKEY_AUTH_KEY: i32 = -7;
    pub const SPEC_REQUESTOR_KEYRING: i32 = -8;

    pub const REQKEY_DEFL_NO_CHANGE: i32 = -1;
    pub const REQKEY_DEFL_DEFAULT: i32 = 0;
    pub const REQKEY_DEFL_THREAD_KEYRING: i32 = 1;
    pub const REQKEY_DEFL_PROCESS_KEYRING: i32 = 2;
    pub const REQKEY_DEFL_SESSION_KEYRING: i32 = 3;
    pub const REQKEY_DEFL_USER_KEYRING: i32 = 4;
    pub const REQKEY_DEFL_USER_SESSION_KEYRING: i32 = 5;
    pub const REQKEY_DEFL_GROUP_KEYRING: i32 = 6;
    pub const REQKEY_DEFL_REQUESTOR_KEYRING: i32 = 7;

    pub const KEYCTL_GET_KEYRING_ID: i32 = 0;
    pub const KEYCTL_JOIN_SESSION_KEYRING: i32 = 1;
    pub const KEYCTL_UPDATE: i32 = 2;
    pub const KEYCTL_REVOKE: i32 = 3;
    pub const KEYCTL_CHOWN: i32 = 4;
    pub const KEYCTL_SETPERM: i32 = 5;
    pub const KEYCTL_DESCRIBE: i32 = 6;
    pub const KEYCTL_CLEAR: i32 = 7;
    pub const KEYCTL_LINK: i32 = 8;
    pub const KEYCTL_UNLINK: i32 = 9;
    pub const KEYCTL_SEARCH: i32 = 10;
    pub const KEYCTL_READ: i32 = 11;
    pub const KEYCTL_INSTANTIATE: i32 = 12;
    pub const KEYCTL_NEGATE: i32 = 13;
    pub const KEYCTL_SET_REQKEY_KEYRING: i32 = 14;
    pub const KEYCTL_SET_TIMEOUT: i32 = 15;
    pub const KEYCTL_ASSUME_AUTHORITY: i32 = 16;
    pub const KEYCTL_GET_SECURITY: i32 = 17;
    pub const KEYCTL_SESSION_TO_PARENT: i32 = 18;
    pub const KEYCTL_REJECT: i32 = 19;
    pub const KEYCTL_INSTANTIATE_IOV: i32 = 20;
    pub const KEYCTL_INVALIDATE: i32 = 21;
    pub const KEYCTL_GET_PERSISTENT: i32 = 22;

    /// Permission bits, per class: possessor `<< 24`, user `<< 16`, group `<< 8`, other.
    pub const KEY_VIEW: u32 = 0x01;
    pub const KEY_READ: u32 = 0x02;
    pub const KEY_WRITE: u32 = 0x04;
    pub const KEY_SEARCH: u32 = 0x08;
    pub const KEY_LINK: u32 = 0x10;
    pub const KEY_SETATTR: u32 = 0x20;
    pub const KEY_ALL: u32 = 0x3f;
    pub const KEY_POS_ALL: u32 = KEY_ALL << 24;
    pub const KEY_USR_VIEW: u32 = KEY_VIEW << 16;
    pub const KEY_USR_READ: u32 = KEY_READ << 16;
    pub const KEY_USR_SEARCH: u32 = KEY_SEARCH << 16;
    pub const KEY_USR_LINK: u32 = KEY_LINK << 16;
    pub const KEY_USR_ALL: u32 = KEY_ALL << 16;
    /// Every valid permission bit.
    pub const KEY_PERM_MASK: u32 = 0x3f3f_3f3f;

    /// Longest type name, with its NUL.
    pub const TYPE_MAX: usize = 32;
    /// Longest description, with its NUL (`KEY_MAX_DESC_SIZE`).
    pub const MAX_DESC_SIZE: usize = 4096;
}

/// `kcmp(2)` types (`<linux/kcmp.h>`).
pub mod kcmp {
    #![allow(missing_docs)]
    pub const KCMP_FILE: i32 = 0;
    pub const KCMP_VM: i32 = 1;
    pub const KCMP_FILES: i32 = 2;
    pub const KCMP_FS: i32 = 3;
    pub const KCMP_SIGHAND: i32 = 4;
    pub const KCMP_IO: i32 = 5;
    pub const KCMP_SYSVSEM: i32 = 6;
    pub const KCMP_EPOLL_TFD: i32 = 7;
}

/// `mount(2)` flags (`MS_*`) and `umount2(2)` flags (`MNT_*`, `UMOUNT_NOFOLLOW`).
pub mod mount {
    #![allow(missing_docs)]
    pub const MS_RDONLY: u64 = 1;
    pub const MS_NOSUID: u64 = 2;
    pub const MS_NODEV: u64 = 4;
    pub const MS_NOEXEC: u64 = 8;
    pub const MS_SYNCHRONOUS: u64 = 16;
    pub const MS_REMOUNT: u64 = 32;
    pub const MS_MANDLOCK: u64 = 64;
    pub const MS_DIRSYNC: u64 = 128;
    pub const MS_NOSYMFOLLOW: u64 = 256;
    pub const MS_NOATIME: u64 = 1024;
    pub const MS_NODIRATIME: u64 = 2048;
    pub const MS_BIND: u64 = 4096;
    pub const MS_MOVE: u64 = 8192;
    pub const MS_REC: u64 = 16384;
    pub const MS_SILENT: u64 = 32768;
    pub const MS_POSIXACL: u64 = 1 << 16;
    pub const MS_UNBINDABLE: u64 = 1 << 17;
    pub const MS_PRIVATE: u64 = 1 << 18;
    pub const MS_SLAVE: u64 = 1 << 19;
    pub const MS_SHARED: u64 = 1 << 20;
    pub const MS_RELATIME: u64 = 1 << 21;
    pub const MS_KERNMOUNT: u64 = 1 << 22;
    pub const MS_I_VERSION: u64 = 1 << 23;
    pub const MS_STRICTATIME: u64 = 1 << 24;
    pub const MS_LAZYTIME: u64 = 1 << 25;
    pub const MS_NOUSER: u64 = 1 << 31;
    /// The old magic number in the top 16 bits of the flags (`MS_MGC_VAL`).
    pub const MS_MGC_MSK: u64 = 0xffff_0000;
    pub const MS_MGC_VAL: u64 = 0xc0ed_0000;
    pub const MNT_FORCE: u32 = 1;
    pub const MNT_DETACH: u32 = 2;
    pub const MNT_EXPIRE: u32 = 4;
    pub const UMOUNT_NOFOLLOW: u32 = 8;
    /// `statfs` `f_flags` (`ST_*`).
    pub const ST_RDONLY: u64 = 1;
    pub const ST_NOSUID: u64 = 2;
    pub const ST_NODEV: u64 = 4;
    pub const ST_NOEXEC: u64 = 8;
    pub const ST_SYNCHRONOUS: u64 = 16;
    pub const ST_VALID: u64 = 0x20;
    pub const ST_MANDLOCK: u64 = 64;
    pub const ST_NOATIME: u64 = 1024;
    pub const ST_NODIRATIME: u64 = 2048;
    pub const ST_RELATIME: u64 = 4096;
    pub const ST_NOSYMFOLLOW: u64 = 8192;
    /// The new mount API (`<linux/mount.h>`).
    pub const FSOPEN_CLOEXEC: u32 = 1;
    pub const FSPICK_CLOEXEC: u32 = 1;
    pub const FSPICK_SYMLINK_NOFOLLOW: u32 = 2;
    pub const FSPICK_NO_AUTOMOUNT: u32 = 4;
    pub const FSPICK_EMPTY_PATH: u32 = 8;
    pub const FSMOUNT_CLOEXEC: u32 = 1;
    pub const FSCONFIG_SET_FLAG: u32 = 0;
    pub const FSCONFIG_SET_STRING: u32 = 1;
    pub const FSCONFIG_SET_BINARY: u32 = 2;
    pub const FSCONFIG_SET_PATH: u32 = 3;
    pub const FSCONFIG_SET_PATH_EMPTY: u32 = 4;
    pub const FSCONFIG_SET_FD: u32 = 5;
    pub const FSCONFIG_CMD_CREATE: u32 = 6;
    pub const FSCONFIG_CMD_RECONFIGURE: u32 = 7;
    pub const FSCONFIG_CMD_CREATE_EXCL: u32 = 8;
    pub const MOVE_MOUNT_F_SYMLINKS: u32 = 1;
    pub const MOVE_MOUNT_F_AUTOMOUNTS: u32 = 2;
    pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = 4;
    pub const MOVE_MOUNT_T_SYMLINKS: u32 = 0x10;
    pub const MOVE_MOUNT_T_AUTOMOUNTS: u32 = 0x20;
    pub const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
    pub const MOVE_MOUNT_SET_GROUP: u32 = 0x100;
    pub const MOVE_MOUNT_BENEATH: u32 = 0x200;
    pub const OPEN_TREE_CLONE: u32 = 1;
    pub const MOUNT_ATTR_RDONLY: u64 = 1;
    pub const MOUNT_ATTR_NOSUID: u64 = 2;
    pub const MOUNT_ATTR_NODEV: u64 = 4;
    pub const MOUNT_ATTR_NOEXEC: u64 = 8;
    pub const MOUNT_ATTR__ATIME: u64 = 0x70;
    pub const MOUNT_ATTR_RELATIME: u64 = 0;
    pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
    pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
    pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
    pub const MOUNT_ATTR_IDMAP: u64 = 0x10_0000;
    pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x20_0000;
    /// `sizeof(struct mount_attr)`, first version.
    pub const MOUNT_ATTR_SIZE_VER0: usize = 32;
    /// `statmount` request bits.
    pub const STATMOUNT_SB_BASIC: u64 = 1;
    pub const STATMOUNT_MNT_BASIC: u64 = 2;
    pub const STATMOUNT_PROPAGATE_FROM: u64 = 4;
    pub const STATMOUNT_MNT_ROOT: u64 = 8;
    pub const STATMOUNT_MNT_POINT: u64 = 0x10;
    pub const STATMOUNT_FS_TYPE: u64 = 0x20;
    pub const STATMOUNT_MNT_NS_ID: u64 = 0x40;
    pub const STATMOUNT_MNT_OPTS: u64 = 0x80;
    /// `listmount`'s "the caller's root" id.
    pub const LSMT_ROOT: u64 = u64::MAX;
    /// `sizeof(struct mnt_id_req)`, first and second versions.
    pub const MNT_ID_REQ_SIZE_VER0: usize = 24;
    pub const MNT_ID_REQ_SIZE_VER1: usize = 32;
}

/// File system magic numbers (`f_type` of `statfs`, `<linux/magic.h>`).
pub mod magic {
    #![allow(missing_docs)]
    pub const TMPFS_MAGIC: i64 = 0x0102_1994;
    pub const EXT4_SUPER_MAGIC: i64 = 0xef53;
    pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    pub const SYSFS_MAGIC: i64 = 0x6265_6572;
    pub const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;
    pub const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
}

/// Loop device requests (`<linux/loop.h>`) and block device requests (`<linux/fs.h>`).
pub mod blk {
    #![allow(missing_docs)]
    pub const LOOP_SET_FD: u32 = 0x4C00;
    pub const LOOP_CLR_FD: u32 = 0x4C01;
    pub const LOOP_SET_STATUS: u32 = 0x4C02;
    pub const LOOP_GET_STATUS: u32 = 0x4C03;
    pub const LOOP_SET_STATUS64: u32 = 0x4C04;
    pub const LOOP_GET_STATUS64: u32 = 0x4C05;
    pub const LOOP_CHANGE_FD: u32 = 0x4C06;
    pub const LOOP_SET_CAPACITY: u32 = 0x4C07;
    pub const LOOP_SET_DIRECT_IO: u32 = 0x4C08;
    pub const LOOP_SET_BLOCK_SIZE: u32 = 0x4C09;
    pub const LOOP_CONFIGURE: u32 = 0x4C0A;
    pub const LOOP_CTL_ADD: u32 = 0x4C80;
    pub const LOOP_CTL_REMOVE: u32 = 0x4C81;
    pub const LOOP_CTL_GET_FREE: u32 = 0x4C82;
    /// `lo_flags`.
    pub const LO_FLAGS_READ_ONLY: u32 = 1;
    pub const LO_FLAGS_AUTOCLEAR: u32 = 4;
    pub const LO_FLAGS_PARTSCAN: u32 = 8;
    pub const LO_FLAGS_DIRECT_IO: u32 = 16;
    /// `LO_NAME_SIZE`, `LO_KEY_SIZE`.
    pub const LO_NAME_SIZE: usize = 64;
    pub const LO_KEY_SIZE: usize = 32;
    pub const BLKROSET: u32 = 0x125d;
    pub const BLKROGET: u32 = 0x125e;
    pub const BLKRRPART: u32 = 0x125f;
    pub const BLKGETSIZE: u32 = 0x1260;
    pub const BLKFLSBUF: u32 = 0x1261;
    pub const BLKRASET: u32 = 0x1262;
    pub const BLKRAGET: u32 = 0x1263;
    pub const BLKFRASET: u32 = 0x1264;
    pub const BLKFRAGET: u32 = 0x1265;
    pub const BLKSSZGET: u32 = 0x1268;
    pub const BLKBSZGET: u32 = 0x8008_1270;
    pub const BLKBSZSET: u32 = 0x4008_1271;
    pub const BLKGETSIZE64: u32 = 0x8008_1272;
    pub const BLKDISCARD: u32 = 0x1277;
    pub const BLKIOMIN: u32 = 0x1278;
    pub const BLKIOOPT: u32 = 0x1279;
    pub const BLKALIGNOFF: u32 = 0x127a;
    pub const BLKPBSZGET: u32 = 0x127b;
    pub const BLKDISCARDZEROES: u32 = 0x127c;
    pub const BLKZEROOUT: u32 = 0x127f;
    pub const BLKGETDISKSEQ: u32 = 0x8008_1280;
    /// `LOOP_MAJOR`, the loop control device's number (`MISC_MAJOR`, `LOOP_CTRL_MINOR`).
    pub const LOOP_MAJOR: u32 = 7;
    pub const LOOP_CTRL: (u32, u32) = (10, 237);
}

/// Landlock (`<linux/landlock.h>`): access rights, rule types and flags.
pub mod landlock {
    #![allow(missing_docs)]
    /// The ABI version `landlock_create_ruleset(NULL, 0, VERSION)` reports.
    pub const ABI_VERSION: u64 = 7;
    pub const CREATE_RULESET_VERSION: u32 = 1 << 0;
    pub const CREATE_RULESET_ERRATA: u32 = 1 << 1;
    pub const RULE_PATH_BENEATH: u32 = 1;
    pub const RULE_NET_PORT: u32 = 2;
    pub const ACCESS_FS_EXECUTE: u64 = 1 << 0;
    pub const ACCESS_FS_WRITE_FILE: u64 = 1 << 1;
    pub const ACCESS_FS_READ_FILE: u64 = 1 << 2;
    pub const ACCESS_FS_READ_DIR: u64 = 1 << 3;
    pub const ACCESS_FS_REMOVE_DIR: u64 = 1 << 4;
    pub const ACCESS_FS_REMOVE_FILE: u64 = 1 << 5;
    pub const ACCESS_FS_MAKE_CHAR: u64 = 1 << 6;
    pub const ACCESS_FS_MAKE_DIR: u64 = 1 << 7;
    pub const ACCESS_FS_MAKE_REG: u64 = 1 << 8;
    pub const ACCESS_FS_MAKE_SOCK: u64 = 1 << 9;
    pub const ACCESS_FS_MAKE_FIFO: u64 = 1 << 10;
    pub const ACCESS_FS_MAKE_BLOCK: u64 = 1 << 11;
    pub const ACCESS_FS_MAKE_SYM: u64 = 1 << 12;
    pub const ACCESS_FS_REFER: u64 = 1 << 13;
    pub const ACCESS_FS_TRUNCATE: u64 = 1 << 14;
    pub const ACCESS_FS_IOCTL_DEV: u64 = 1 << 15;
    /// Every filesystem right of this ABI.
    pub const MASK_ACCESS_FS: u64 = (1 << 16) - 1;
    /// The rights a rule on a file (not a directory) may grant.
    pub const ACCESS_FILE: u64 = ACCESS_FS_EXECUTE
        | ACCESS_FS_WRITE_FILE
        | ACCESS_FS_READ_FILE
        | ACCESS_FS_TRUNCATE
        | ACCESS_FS_IOCTL_DEV;
    pub const ACCESS_NET_BIND_TCP: u64 = 1 << 0;
    pub const ACCESS_NET_CONNECT_TCP: u64 = 1 << 1;
    pub const MASK_ACCESS_NET: u64 = (1 << 2) - 1;
    pub const SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
    pub const SCOPE_SIGNAL: u64 = 1 << 1;
    pub const MASK_SCOPE: u64 = (1 << 2) - 1;
    /// `landlock_restrict_self` flags (ABI 7: audit logging, which uml has none of).
    pub const RESTRICT_SELF_LOG_SAME_EXEC_OFF: u32 = 1 << 0;
    pub const RESTRICT_SELF_LOG_NEW_EXEC_ON: u32 = 1 << 1;
    pub const RESTRICT_SELF_LOG_SUBDOMAINS_OFF: u32 = 1 << 2;
    pub const MASK_RESTRICT_SELF: u32 = (1 << 3) - 1;
    /// Most layers a thread's domain stacks (`LANDLOCK_MAX_NUM_LAYERS`).
    pub const MAX_NUM_LAYERS: usize = 16;
}
