//! `#[repr(C)]` structs with Linux's x86-64 layouts.

use bytemuck::{Pod, Zeroable};

macro_rules! assert_size {
    ($t:ty, $n:expr) => {
        const _: () = assert!(std::mem::size_of::<$t>() == $n);
    };
}

/// `struct timespec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub tv_nsec: i64,
}
assert_size!(Timespec, 16);

/// `struct timeval`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds.
    pub tv_usec: i64,
}
assert_size!(Timeval, 16);

/// `struct stat` as `fstat`/`newfstatat` write it on x86-64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_nlink: u64,
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub pad0: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    pub st_blksize: i64,
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: i64,
    pub st_mtime: i64,
    pub st_mtime_nsec: i64,
    pub st_ctime: i64,
    pub st_ctime_nsec: i64,
    pub unused: [i64; 3],
}
assert_size!(Stat, 144);

/// `struct statx_timestamp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct StatxTimestamp {
    pub tv_sec: i64,
    pub tv_nsec: u32,
    pub reserved: i32,
}

/// `struct statx`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct Statx {
    pub stx_mask: u32,
    pub stx_blksize: u32,
    pub stx_attributes: u64,
    pub stx_nlink: u32,
    pub stx_uid: u32,
    pub stx_gid: u32,
    pub stx_mode: u16,
    pub spare0: u16,
    pub stx_ino: u64,
    pub stx_size: u64,
    pub stx_blocks: u64,
    pub stx_attributes_mask: u64,
    pub stx_atime: StatxTimestamp,
    pub stx_btime: StatxTimestamp,
    pub stx_ctime: StatxTimestamp,
    pub stx_mtime: StatxTimestamp,
    pub stx_rdev_major: u32,
    pub stx_rdev_minor: u32,
    pub stx_dev_major: u32,
    pub stx_dev_minor: u32,
    pub stx_mnt_id: u64,
    pub stx_dio_mem_align: u32,
    pub stx_dio_offset_align: u32,
    pub spare3: [u64; 12],
}
assert_size!(Statx, 256);

/// `statx` mask bits.
#[allow(missing_docs)]
pub mod statx_mask {
    pub const TYPE: u32 = 0x1;
    pub const MODE: u32 = 0x2;
    pub const NLINK: u32 = 0x4;
    pub const UID: u32 = 0x8;
    pub const GID: u32 = 0x10;
    pub const ATIME: u32 = 0x20;
    pub const MTIME: u32 = 0x40;
    pub const CTIME: u32 = 0x80;
    pub const INO: u32 = 0x100;
    pub const SIZE: u32 = 0x200;
    pub const BLOCKS: u32 = 0x400;
    pub const BASIC_STATS: u32 = 0x7ff;
    pub const BTIME: u32 = 0x800;
    pub const MNT_ID: u32 = 0x1000;
    pub const DIOALIGN: u32 = 0x2000;
    pub const MNT_ID_UNIQUE: u32 = 0x4000;
    /// `stx_attributes`: the file is the root of a mount.
    pub const ATTR_MOUNT_ROOT: u64 = 0x2000;
    /// `stx_attributes` of inode flags (the same bits as `FS_COMPR_FL`, `FS_IMMUTABLE_FL`,
    /// `FS_APPEND_FL`, `FS_NODUMP_FL`), and of encryption and verity.
    pub const ATTR_COMPRESSED: u64 = 0x4;
    pub const ATTR_IMMUTABLE: u64 = 0x10;
    pub const ATTR_APPEND: u64 = 0x20;
    pub const ATTR_NODUMP: u64 = 0x40;
    pub const ATTR_ENCRYPTED: u64 = 0x800;
    pub const ATTR_VERITY: u64 = 0x10_0000;
}

/// Splits a Linux `dev_t` into (major, minor).
pub fn dev_split(dev: u64) -> (u32, u32) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0xff);
    (major as u32, minor as u32)
}

/// Builds a Linux `dev_t` from (major, minor).
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (u64::from(major), u64::from(minor));
    ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
}

impl Stat {
    /// The `statx` view of this `stat` (all basic fields valid).
    pub fn to_statx(&self) -> Statx {
        let ts = |s: i64, ns: i64| StatxTimestamp {
            tv_sec: s,
            tv_nsec: ns as u32,
            reserved: 0,
        };
        let (rdev_major, rdev_minor) = dev_split(self.st_rdev);
        let (dev_major, dev_minor) = dev_split(self.st_dev);
        Statx {
            stx_mask: statx_mask::BASIC_STATS,
            stx_blksize: self.st_blksize as u32,
            stx_nlink: self.st_nlink as u32,
            stx_uid: self.st_uid,
            stx_gid: self.st_gid,
            stx_mode: self.st_mode as u16,
            stx_ino: self.st_ino,
            stx_size: self.st_size as u64,
            stx_blocks: self.st_blocks as u64,
            stx_atime: ts(self.st_atime, self.st_atime_nsec),
            stx_ctime: ts(self.st_ctime, self.st_ctime_nsec),
            stx_mtime: ts(self.st_mtime, self.st_mtime_nsec),
            stx_rdev_major: rdev_major,
            stx_rdev_minor: rdev_minor,
            stx_dev_major: dev_major,
            stx_dev_minor: dev_minor,
            ..Statx::default()
        }
    }
}

/// `struct iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct IoVec {
    /// Guest address of the buffer.
    pub base: u64,
    /// Its length.
    pub len: u64,
}
assert_size!(IoVec, 16);

/// Most iovecs one call takes (`UIO_MAXIOV`).
pub const UIO_MAXIOV: usize = 1024;

/// `struct utsname` (six 65-byte fields).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct Utsname {
    pub sysname: [u8; 65],
    pub nodename: [u8; 65],
    pub release: [u8; 65],
    pub version: [u8; 65],
    pub machine: [u8; 65],
    pub domainname: [u8; 65],
}
assert_size!(Utsname, 390);

/// `struct sysinfo`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct Sysinfo {
    pub uptime: i64,
    pub loads: [u64; 3],
    pub totalram: u64,
    pub freeram: u64,
    pub sharedram: u64,
    pub bufferram: u64,
    pub totalswap: u64,
    pub freeswap: u64,
    pub procs: u16,
    pub pad: [u16; 3],
    pub totalhigh: u64,
    pub freehigh: u64,
    pub mem_unit: u32,
    pub pad2: [u32; 1],
}
assert_size!(Sysinfo, 112);

/// `struct rlimit64`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Rlimit {
    /// Soft limit.
    pub cur: u64,
    /// Hard limit.
    pub max: u64,
}
assert_size!(Rlimit, 16);

/// `struct winsize`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct Winsize {
    pub ws_row: u16,
    pub ws_col: u16,
    pub ws_xpixel: u16,
    pub ws_ypixel: u16,
}
assert_size!(Winsize, 8);

/// The kernel's `struct termios` (as `TCGETS` returns it, 36 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct Termios {
    pub c_iflag: u32,
    pub c_oflag: u32,
    pub c_cflag: u32,
    pub c_lflag: u32,
    pub c_line: u8,
    pub c_cc: [u8; 19],
}
assert_size!(Termios, 36);

/// `struct flock` of `fcntl` record locks (32 bytes; the padding is explicit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[allow(missing_docs)]
pub struct Flock {
    pub l_type: i16,
    pub l_whence: i16,
    pub _pad0: u32,
    pub l_start: i64,
    pub l_len: i64,
    pub l_pid: i32,
    pub _pad1: u32,
}
assert_size!(Flock, 32);

/// A directory record writer ([`push_dirent64`], [`push_dirent`]): appends the record of
/// (`ino`, `off`, `dtype`, `name`) to `out` if it fits in `limit` bytes.
pub type PushDirent = fn(&mut Vec<u8>, usize, u64, i64, u8, &[u8]) -> bool;

/// Appends one `struct linux_dirent64` record to `out`, 8-byte aligned. Returns `false`
/// (and appends nothing) if it would not fit in `limit` bytes.
pub fn push_dirent64(
    out: &mut Vec<u8>,
    limit: usize,
    ino: u64,
    off: i64,
    dtype: u8,
    name: &[u8],
) -> bool {
    let reclen = (19 + name.len() + 1).next_multiple_of(8);
    if out.len() + reclen > limit {
        return false;
    }
    out.extend_from_slice(&ino.to_ne_bytes());
    out.extend_from_slice(&off.to_ne_bytes());
    out.extend_from_slice(&(reclen as u16).to_ne_bytes());
    out.push(dtype);
    out.extend_from_slice(name);
    out.resize(out.len() + reclen - 19 - name.len(), 0);
    true
}

/// Appends one old `struct linux_dirent` record (`getdents(2)`) to `out`: `d_ino`,
/// `d_off`, `d_reclen`, the name and its NUL, the type in the record's last byte, 8-byte
/// aligned. Returns `false` (and appends nothing) if it would not fit in `limit` bytes.
pub fn push_dirent(
    out: &mut Vec<u8>,
    limit: usize,
    ino: u64,
    off: i64,
    dtype: u8,
    name: &[u8],
) -> bool {
    let reclen = (18 + name.len() + 2).next_multiple_of(8);
    if out.len() + reclen > limit {
        return false;
    }
    out.extend_from_slice(&ino.to_ne_bytes());
    out.extend_from_slice(&off.to_ne_bytes());
    out.extend_from_slice(&(reclen as u16).to_ne_bytes());
    out.extend_from_slice(name);
    out.resize(out.len() + reclen - 18 - name.len() - 1, 0);
    out.push(dtype);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_dirent_records_end_with_the_type() {
        let mut v = Vec::new();
        assert!(push_dirent(&mut v, 100, 1, 1, 4, b"."));
        assert_eq!(v.len(), 24);
        assert_eq!(v[23], 4);
        assert_eq!(v[18..20], [b'.', 0]);
        assert!(!push_dirent(&mut v, 40, 2, 2, 8, b"hello.txt"));
    }

    #[test]
    fn dirent_records_are_aligned() {
        let mut v = Vec::new();
        assert!(push_dirent64(&mut v, 100, 1, 1, 4, b"."));
        assert_eq!(v.len(), 24);
        assert!(push_dirent64(&mut v, 100, 2, 2, 8, b"hello.txt"));
        assert_eq!(v.len(), 24 + 32);
        assert!(!push_dirent64(&mut v, 60, 3, 3, 8, b"x"));
    }

    #[test]
    fn dev_roundtrip() {
        assert_eq!(dev_split(makedev(8, 1)), (8, 1));
        assert_eq!(dev_split(makedev(259, 70000)), (259, 70000));
    }
}

/// The general registers of a stopped thread: `struct user_regs_struct` (what
/// `PTRACE_GETREGS` returns), also the kernel's view of a task's user registers.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable, serde::Serialize, serde::Deserialize,
)]
#[allow(missing_docs)]
pub struct UserRegs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}
assert_size!(UserRegs, 216);

impl UserRegs {
    /// The six syscall arguments, in ABI order (rdi, rsi, rdx, r10, r8, r9).
    pub fn syscall_args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }
}
