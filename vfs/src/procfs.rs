//! procfs: the guest's own `/proc`, built from the guest's processes, never the host's.
//!
//! What it owns: the *shape* of `/proc` — which names exist, their types, modes, owners and
//! inode numbers, where the magic links (`/proc/PID/{cwd,exe,root}`, `/proc/PID/fd/N`) lead,
//! and the files about files and mounts (`mounts`, `mountinfo`, `filesystems`,
//! `fdinfo/N`). What processes exist and what the files about them say comes from the
//! walker's [`ProcSource`] (the syscall layer implements it over its process table): a path
//! call names the process walking the path with [`At`]; a bare [`Dentry`] walks as no
//! process, and then `/proc` is empty.
//!
//! Invariants:
//! - Every answer is the guest's view: guest pids, guest paths, guest mounts. Nothing is
//!   read from the host's `/proc` (which would describe the host, and `/proc/self` the uml
//!   kernel).
//! - Dentries are not cached, so a name is looked up afresh by every walk: a lookup checks
//!   that the process (and descriptor) still exists (`ENOENT` otherwise) and captures what a
//!   magic link points to at that moment.
//! - A file's contents are generated when it is opened for reading (one snapshot per open
//!   file, as a small seq file gives on Linux; a reader not allowed them fails to open it);
//!   a directory's listing at the first `getdents` after opening or rewinding it (as for
//!   every directory), from the process reading it. `/proc/PID/pagemap` and
//!   `/proc/kpageflags` are sparse snapshots (8 bytes an entry, only non-zero entries
//!   stored); unlike Linux's they do not refuse reads of a size or at an offset that is
//!   not a multiple of 8.
//! - `/proc` is read-only: names are never created or removed (`ENOENT` for new names,
//!   `EPERM` to remove), and a write to a file opened for writing fails (`EINVAL` for
//!   per-process files, `EIO` for the others, as Linux files without a write method).
//!   The exceptions are `comm`, through which a process renames itself, `timerslack_ns`,
//!   `timens_offsets`, and the writable files of `/proc/sys` ([`SYSCTLS`]): the syscall layer recognises them
//!   ([`OpenFile::proc_pid_writable`], [`OpenFile::proc_sysctl`]) and does those writes
//!   itself.
//!   Who may open a `/proc/sys` file goes by its mode bits alone, as Linux's `sysctl_perm`.

use abi::flags::mode::{S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK};
use abi::flags::{dtype, OFlags};
use abi::structs::Stat;
use abi::Errno;

use crate::dentry::{Dentry, Inode};
use crate::file::{FileKind, FileRef, OpenFile};
use crate::sparse::FileData;
use crate::tmpfs::{MemData, MemInode, Time};
use crate::{mkdev, FsCred, Vfs, PROCFS_DEV};

/// A file of `/proc` whose contents the [`ProcSource`] generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcFile {
    /// `/proc/cpuinfo`.
    Cpuinfo,
    /// `/proc/meminfo`.
    Meminfo,
    /// `/proc/stat`.
    SysStat,
    /// `/proc/uptime`.
    Uptime,
    /// `/proc/loadavg`.
    Loadavg,
    /// `/proc/version`.
    Version,
    /// A file of `/proc/sys`, by its path under it (`kernel/pid_max`; one of [`SYSCTLS`]).
    Sysctl(&'static str),
    /// A file of `/proc/sysvipc` (`shm`, `sem`, `msg`): the instance's SysV IPC objects.
    Sysvipc(&'static str),
    /// `/proc/keys`: the keys the reader may view.
    Keys,
    /// `/proc/key-users`: each user's keys and quota.
    KeyUsers,
    /// A file of `/proc/net` (`tcp`, `udp6`, `dev` ...): the instance's network.
    Net(&'static str),
    /// `/proc/PID/status`.
    Status,
    /// `/proc/PID/stat`.
    Stat,
    /// `/proc/PID/statm`.
    Statm,
    /// `/proc/PID/maps`.
    Maps,
    /// `/proc/PID/smaps`.
    Smaps,
    /// `/proc/PID/pagemap` (binary; see [`ProcSource::entries`]).
    Pagemap,
    /// `/proc/PID/mem`: the process's memory at file offset = address; its reads and writes
    /// are the syscall layer's ([`OpenFile::proc_mem`]).
    Mem,
    /// `/proc/kpageflags` (binary; see [`ProcSource::entries`]).
    Kpageflags,
    /// `/proc/swaps`.
    Swaps,
    /// `/proc/PID/cmdline`.
    Cmdline,
    /// `/proc/PID/environ`.
    Environ,
    /// `/proc/PID/comm`.
    Comm,
    /// `/proc/PID/limits`.
    Limits,
    /// `/proc/PID/timerslack_ns`: the task's timer slack.
    TimerslackNs,
    /// `/proc/PID/timens_offsets`: the clock offsets of the time namespace the process's
    /// children go to.
    TimensOffsets,
}

/// What procfs asks about the guest's processes. Implemented by the syscall layer over
/// its process table for the process making a call.
pub trait ProcSource {
    /// The calling process and thread (`(tgid, tid)`); `None` when no process is walking.
    fn caller(&self) -> Option<(i32, i32)>;
    /// Every process's pid (zombies included, as Linux lists them), ascending.
    fn pids(&self) -> Vec<i32>;
    /// The effective uid and gid of process `pid` (owner of its entries); `None` if there
    /// is no such process.
    fn owner(&self, pid: i32) -> Option<(u32, u32)>;
    /// The thread ids of process `pid`, ascending.
    fn tasks(&self, pid: i32) -> Vec<i32>;
    /// Its current directory (`None` once it has exited).
    fn cwd(&self, pid: i32) -> Option<Dentry>;
    /// The program it runs (`None` once it has exited).
    fn exe(&self, pid: i32) -> Option<Dentry>;
    /// Its open descriptors, ascending.
    fn fds(&self, pid: i32) -> Vec<i32>;
    /// The file open at `fd` and its close-on-exec flag.
    fn fd(&self, pid: i32, fd: i32) -> Option<(FileRef, bool)>;
    /// The contents of `file` about process `pid` (0 for the system-wide files).
    fn contents(&self, vfs: &Vfs, pid: i32, file: ProcFile) -> Result<Vec<u8>, Errno>;
    /// A binary file of 64-bit entries, mostly 0: how many entries it has, and the index
    /// and value of each other one, in order. `/proc/PID/pagemap` of process `pid` (an
    /// entry a page of its address space, Linux's `PM_*` bits) and `/proc/kpageflags` (an
    /// entry a frame of physical memory, `KPF_*` bits). `ENOENT` from a walker that knows
    /// no memory.
    fn entries(&self, _pid: i32, _file: ProcFile) -> Result<(u64, Vec<(u64, u64)>), Errno> {
        Err(Errno::ENOENT)
    }
    /// The namespace link `name` of `/proc/PID/ns` of process `pid` leads to (by default
    /// the initial one of its kind).
    fn ns(&self, _pid: i32, name: &[u8]) -> Option<crate::Arc<crate::NsFile>> {
        crate::NsFile::of(name)
    }
}

/// The walker that is no process: its `/proc` is empty.
pub struct NoProcs;

impl ProcSource for NoProcs {
    fn caller(&self) -> Option<(i32, i32)> {
        None
    }
    fn pids(&self) -> Vec<i32> {
        Vec::new()
    }
    fn owner(&self, _pid: i32) -> Option<(u32, u32)> {
        None
    }
    fn tasks(&self, _pid: i32) -> Vec<i32> {
        Vec::new()
    }
    fn cwd(&self, _pid: i32) -> Option<Dentry> {
        None
    }
    fn exe(&self, _pid: i32) -> Option<Dentry> {
        None
    }
    fn fds(&self, _pid: i32) -> Vec<i32> {
        Vec::new()
    }
    fn fd(&self, _pid: i32, _fd: i32) -> Option<(FileRef, bool)> {
        None
    }
    fn contents(&self, _vfs: &Vfs, _pid: i32, _file: ProcFile) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENOENT)
    }
}

/// Where a path call starts and who makes it: relative paths start at `dir`, `/proc` shows
/// what `procs` answers, and permissions are checked for `cred`. A `&Dentry` converts to an
/// `At` of no process (made by the user uml runs as).
#[derive(Clone, Copy)]
pub struct At<'a> {
    /// The directory relative paths start from.
    pub dir: &'a Dentry,
    /// The processes, as the caller sees them.
    pub procs: &'a dyn ProcSource,
    /// The caller's filesystem ids; `None`: no process.
    pub cred: Option<FsCred<'a>>,
    /// The caller's root (`chroot`): absolute paths start there and `..` stops there;
    /// `None`: the file system's root.
    pub root: Option<&'a Dentry>,
    /// `openat2`'s `RESOLVE_*` flags (`abi::flags::resolve`); 0 for every other call. With
    /// `RESOLVE_BENEATH` or `RESOLVE_IN_ROOT`, `root` is the call's directory.
    pub resolve: u64,
}

impl<'a> At<'a> {
    /// `dir` as seen by `procs`, for a caller with `cred`.
    pub fn new(dir: &'a Dentry, procs: &'a dyn ProcSource, cred: FsCred<'a>) -> At<'a> {
        At {
            dir,
            procs,
            cred: Some(cred),
            root: None,
            resolve: 0,
        }
    }

    /// The same, for a caller whose root is `root` (`None`: the file system's).
    pub fn rooted(self, root: Option<&'a Dentry>) -> At<'a> {
        At { root, ..self }
    }

    /// Another directory, seen by the same process.
    pub fn with<'b>(&self, dir: &'b Dentry) -> At<'b>
    where
        'a: 'b,
    {
        At { dir, ..*self }
    }
}

impl<'a> From<&'a Dentry> for At<'a> {
    fn from(dir: &'a Dentry) -> At<'a> {
        At {
            dir,
            procs: &NoProcs,
            cred: None,
            root: None,
            resolve: 0,
        }
    }
}

/// Directories of procfs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DirKind {
    Root,
    /// A directory of `/proc/sys`: index into [`SYSCTL_DIRS`].
    Sys(u8),
    /// `/proc/sysvipc`.
    Sysvipc,
    /// `/proc/net` (a directory here; Linux's is a link to `self/net`, the same network).
    Net,
    Pid,
    Task,
    Fd,
    FdInfo,
    /// `/proc/PID/ns`.
    Ns,
}

/// A magic link: followed, it leads straight to an object rather than to a path.
#[derive(Clone)]
pub(crate) enum Target {
    /// A named object (a directory, a file with a path).
    Dentry(Dentry),
    /// An open file with no name in the tree (a pipe, a host stream).
    File(FileRef),
}

/// What a procfs node is.
#[derive(Clone)]
enum Node {
    Dir(DirKind),
    /// A file the [`ProcSource`] generates.
    File(ProcFile),
    Mounts,
    Mountinfo,
    Filesystems,
    /// `/proc/config.gz`.
    Config,
    /// `/proc/cmdline`.
    Cmdline,
    FdInfo(i32),
    /// An ordinary symlink (`self`, `thread-self`, `mounts`).
    Symlink(Vec<u8>),
    /// A magic link and where it led when it was looked up.
    Magic(Target),
    /// The nameless object a magic link led to: opening it reopens the file.
    Open(FileRef),
}

/// A procfs inode.
#[derive(Clone)]
pub(crate) struct ProcInode {
    node: Node,
    /// The process it is about (0 for system-wide entries).
    pid: i32,
    /// `S_IFMT` and permission bits.
    mode: u32,
    uid: u32,
    gid: u32,
    ino: u64,
}

/// One fixed entry of a procfs directory.
struct Entry {
    name: &'static [u8],
    node: fn() -> Node,
    mode: u32,
}

macro_rules! entries {
    ($($name:literal => $node:expr, $mode:expr;)*) => {
        &[$(Entry { name: $name, node: || $node, mode: $mode },)*]
    };
}

const R: u32 = S_IFREG | 0o444;
const DIR: u32 = S_IFDIR | 0o555;
const LNK: u32 = S_IFLNK | 0o777;

static ROOT: &[Entry] = entries! {
    b"cmdline" => Node::Cmdline, R;
    b"config.gz" => Node::Config, R;
    b"cpuinfo" => Node::File(ProcFile::Cpuinfo), R;
    b"filesystems" => Node::Filesystems, R;
    b"key-users" => Node::File(ProcFile::KeyUsers), R;
    b"keys" => Node::File(ProcFile::Keys), R;
    b"kpageflags" => Node::File(ProcFile::Kpageflags), S_IFREG | 0o400;
    b"loadavg" => Node::File(ProcFile::Loadavg), R;
    b"meminfo" => Node::File(ProcFile::Meminfo), R;
    b"mounts" => Node::Symlink(b"self/mounts".to_vec()), LNK;
    b"stat" => Node::File(ProcFile::SysStat), R;
    b"swaps" => Node::File(ProcFile::Swaps), R;
    b"sys" => Node::Dir(DirKind::Sys(0)), DIR;
    b"sysvipc" => Node::Dir(DirKind::Sysvipc), DIR;
    b"net" => Node::Dir(DirKind::Net), DIR;
    b"uptime" => Node::File(ProcFile::Uptime), R;
    b"version" => Node::File(ProcFile::Version), R;
};

/// The directories of `/proc/sys`, by path under it (the first is `/proc/sys` itself).
const SYSCTL_DIRS: &[&str] = &[
    "",
    "fs",
    "fs/inotify",
    "fs/mqueue",
    "kernel",
    "kernel/keys",
    "kernel/random",
    "net",
    "net/core",
    "net/ipv4",
    "vm",
];

/// The files of `/proc/sys` (Linux's sysctl tables, as far as uml has them): path under
/// `/proc/sys` and permission bits. Their contents come from the [`ProcSource`]
/// ([`ProcFile::Sysctl`]); writes go to the syscall layer ([`OpenFile::proc_sysctl`]).
/// Access goes by these bits alone, as Linux's `sysctl_perm`: root (fsuid 0) gets the
/// owner's, so even root cannot write a `0444` one.
pub const SYSCTLS: &[(&str, u32)] = &[
    ("fs/file-max", 0o644),
    ("fs/inotify/max_queued_events", 0o644),
    ("fs/lease-break-time", 0o644),
    ("fs/inotify/max_user_instances", 0o644),
    ("fs/inotify/max_user_watches", 0o644),
    ("fs/mqueue/msg_default", 0o644),
    ("fs/mqueue/msg_max", 0o644),
    ("fs/mqueue/msgsize_default", 0o644),
    ("fs/mqueue/msgsize_max", 0o644),
    ("fs/mqueue/queues_max", 0o644),
    ("fs/aio-max-nr", 0o644),
    ("fs/aio-nr", 0o444),
    ("fs/nr_open", 0o644),
    ("fs/pipe-max-size", 0o644),
    ("fs/pipe-user-pages-hard", 0o644),
    ("fs/pipe-user-pages-soft", 0o644),
    ("fs/protected_fifos", 0o644),
    ("fs/protected_hardlinks", 0o644),
    ("fs/protected_regular", 0o644),
    ("fs/protected_symlinks", 0o644),
    ("kernel/cap_last_cap", 0o444),
    ("kernel/core_pattern", 0o644),
    ("kernel/ctrl-alt-del", 0o644),
    ("kernel/dmesg_restrict", 0o644),
    ("kernel/domainname", 0o644),
    ("kernel/hostname", 0o644),
    ("kernel/keys/gc_delay", 0o644),
    ("kernel/keys/maxbytes", 0o644),
    ("kernel/keys/maxkeys", 0o644),
    ("kernel/keys/persistent_keyring_expiry", 0o644),
    ("kernel/keys/root_maxbytes", 0o644),
    ("kernel/keys/root_maxkeys", 0o644),
    ("kernel/msgmax", 0o644),
    ("kernel/msgmnb", 0o644),
    ("kernel/msg_next_id", 0o644),
    ("kernel/msgmni", 0o644),
    ("kernel/ngroups_max", 0o444),
    ("kernel/ns_last_pid", 0o666),
    ("kernel/osrelease", 0o444),
    ("kernel/ostype", 0o444),
    ("kernel/overflowgid", 0o644),
    ("kernel/overflowuid", 0o644),
    ("kernel/perf_event_paranoid", 0o644),
    ("kernel/pid_max", 0o644),
    ("kernel/printk", 0o644),
    ("kernel/random/boot_id", 0o444),
    ("kernel/random/entropy_avail", 0o444),
    ("kernel/random/poolsize", 0o444),
    ("kernel/random/urandom_min_reseed_secs", 0o644),
    ("kernel/random/uuid", 0o444),
    ("kernel/random/write_wakeup_threshold", 0o644),
    ("kernel/sem", 0o644),
    ("kernel/sem_next_id", 0o644),
    ("kernel/shmall", 0o644),
    ("kernel/shmmax", 0o644),
    ("kernel/shm_next_id", 0o644),
    ("kernel/shmmni", 0o644),
    ("kernel/tainted", 0o644),
    ("kernel/threads-max", 0o644),
    ("kernel/version", 0o444),
    ("net/core/somaxconn", 0o644),
    ("net/ipv4/ping_group_range", 0o644),
    ("vm/max_map_count", 0o644),
    ("vm/mmap_min_addr", 0o644),
    ("vm/overcommit_memory", 0o644),
    ("vm/unprivileged_userfaultfd", 0o644),
    ("vm/vfs_cache_pressure", 0o644),
];

/// The parent directory of a `/proc/sys` path and its last name.
fn split_sys(path: &'static str) -> (&'static str, &'static str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// The entries of `/proc/sys` directory `dir` (an index into [`SYSCTL_DIRS`]), by name:
/// (name, node, mode, index for the inode number).
fn sys_entries(dir: u8) -> Vec<(&'static str, Node, u32, u64)> {
    let Some(&here) = SYSCTL_DIRS.get(dir as usize) else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for (i, d) in SYSCTL_DIRS.iter().enumerate().skip(1) {
        let (parent, name) = split_sys(d);
        if parent == here {
            v.push((
                name,
                Node::Dir(DirKind::Sys(i as u8)),
                DIR,
                0x100 + i as u64,
            ));
        }
    }
    for (i, (path, mode)) in SYSCTLS.iter().enumerate() {
        let (parent, name) = split_sys(path);
        if parent == here {
            v.push((
                name,
                Node::File(ProcFile::Sysctl(path)),
                S_IFREG | mode,
                i as u64,
            ));
        }
    }
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// The entries of `/proc/PID` (and `/proc/PID/task/TID`) other than the magic links.
static PID: &[Entry] = entries! {
    b"cmdline" => Node::File(ProcFile::Cmdline), R;
    b"comm" => Node::File(ProcFile::Comm), S_IFREG | 0o644;
    b"environ" => Node::File(ProcFile::Environ), S_IFREG | 0o400;
    b"fd" => Node::Dir(DirKind::Fd), S_IFDIR | 0o500;
    b"fdinfo" => Node::Dir(DirKind::FdInfo), DIR;
    b"limits" => Node::File(ProcFile::Limits), R;
    b"maps" => Node::File(ProcFile::Maps), R;
    b"mem" => Node::File(ProcFile::Mem), S_IFREG | 0o600;
    b"mountinfo" => Node::Mountinfo, R;
    b"mounts" => Node::Mounts, R;
    b"ns" => Node::Dir(DirKind::Ns), S_IFDIR | 0o511;
    b"pagemap" => Node::File(ProcFile::Pagemap), S_IFREG | 0o400;
    b"smaps" => Node::File(ProcFile::Smaps), R;
    b"stat" => Node::File(ProcFile::Stat), R;
    b"statm" => Node::File(ProcFile::Statm), R;
    b"status" => Node::File(ProcFile::Status), R;
    b"task" => Node::Dir(DirKind::Task), DIR;
    b"timens_offsets" => Node::File(ProcFile::TimensOffsets), S_IFREG | 0o644;
    b"timerslack_ns" => Node::File(ProcFile::TimerslackNs), S_IFREG | 0o666;
};

/// The files of `/proc/sysvipc`.
static SYSVIPC: &[Entry] = entries! {
    b"msg" => Node::File(ProcFile::Sysvipc("msg")), R;
    b"sem" => Node::File(ProcFile::Sysvipc("sem")), R;
    b"shm" => Node::File(ProcFile::Sysvipc("shm")), R;
};

/// The files of `/proc/net`.
static NET: &[Entry] = entries! {
    b"dev" => Node::File(ProcFile::Net("dev")), R;
    b"if_inet6" => Node::File(ProcFile::Net("if_inet6")), R;
    b"route" => Node::File(ProcFile::Net("route")), R;
    b"tcp" => Node::File(ProcFile::Net("tcp")), R;
    b"tcp6" => Node::File(ProcFile::Net("tcp6")), R;
    b"udp" => Node::File(ProcFile::Net("udp")), R;
    b"udp6" => Node::File(ProcFile::Net("udp6")), R;
};

/// The magic links of `/proc/PID`.
const PID_LINKS: [&[u8]; 3] = [b"cwd", b"exe", b"root"];

/// A synthetic inode number: unique per (process, kind of entry, index).
fn ino(pid: i32, kind: u64, n: u64) -> u64 {
    ((pid as u32 as u64) << 32) | (kind << 24) | (n & 0xff_ffff) | 0x100
}

fn fixed(dir: DirKind) -> &'static [Entry] {
    match dir {
        DirKind::Root => ROOT,
        DirKind::Pid => PID,
        DirKind::Sysvipc => SYSVIPC,
        DirKind::Net => NET,
        _ => &[],
    }
}

fn dir_code(d: DirKind) -> u64 {
    match d {
        DirKind::Root => 1,
        DirKind::Pid => 2,
        DirKind::Task => 3,
        DirKind::Fd => 4,
        DirKind::FdInfo => 5,
        DirKind::Sys(i) => 0x10 + u64::from(i),
        DirKind::Sysvipc => 6,
        DirKind::Net => 7,
        DirKind::Ns => 8,
    }
}

impl ProcInode {
    fn new(node: Node, pid: i32, mode: u32, owner: (u32, u32), ino: u64) -> ProcInode {
        ProcInode {
            node,
            pid,
            mode,
            uid: owner.0,
            gid: owner.1,
            ino,
        }
    }

    /// `stat` of the node.
    pub fn stat(&self) -> Stat {
        let now = Time::now();
        let (nlink, size) = match &self.node {
            Node::Dir(_) => (2, 0),
            Node::Magic(Target::File(_)) => (1, 64),
            _ => (1, 0),
        };
        Stat {
            st_dev: mkdev(PROCFS_DEV),
            st_ino: self.ino,
            st_nlink: nlink,
            st_mode: self.mode,
            st_uid: self.uid,
            st_gid: self.gid,
            st_size: size,
            st_blksize: 1024,
            st_atime: now.sec,
            st_atime_nsec: now.nsec,
            st_mtime: now.sec,
            st_mtime_nsec: now.nsec,
            st_ctime: now.sec,
            st_ctime_nsec: now.nsec,
            ..Stat::default()
        }
    }

    /// The target of an ordinary symlink (`EINVAL` for anything else; magic links are
    /// read through [`Vfs::readlink`]).
    pub fn readlink(&self) -> Result<Vec<u8>, Errno> {
        match &self.node {
            Node::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The errno of a write to this file (Linux's for files without a write method).
    pub fn write_error(&self) -> Errno {
        if self.pid == 0 {
            Errno::EIO
        } else {
            Errno::EINVAL
        }
    }

    /// `chmod`: per-process entries refuse it; Linux lets root change the others' mode,
    /// which uml accepts without effect.
    pub fn chmod(&self) -> Result<(), Errno> {
        if self.pid != 0 {
            Err(Errno::EPERM)
        } else {
            Ok(())
        }
    }

    /// Linux's `sysctl_perm` for a `/proc/sys` file: `Some(allowed)` by its mode bits
    /// alone (root gets the owner's, so not even root writes a `0444` one); `None` for
    /// other procfs nodes.
    pub(crate) fn sysctl_perm(&self, fsuid: u32, mask: u32) -> Option<bool> {
        if !matches!(self.node, Node::File(ProcFile::Sysctl(_))) {
            return None;
        }
        let bits = if fsuid == 0 {
            self.mode >> 6
        } else {
            self.mode
        };
        Some(mask & !bits & 7 == 0)
    }

    /// The object a magic link leads to, if this is one.
    pub(crate) fn magic(&self) -> Option<&Target> {
        match &self.node {
            Node::Magic(t) => Some(t),
            _ => None,
        }
    }

    /// The process whose `/proc/PID` directory this is (not a `task/TID` one).
    pub(crate) fn tgid_dir(&self) -> Option<i32> {
        let top = ino(self.pid, 0, 0);
        matches!(self.node, Node::Dir(DirKind::Pid) if self.ino == top).then_some(self.pid)
    }
}

/// The root of a procfs mount.
pub(crate) fn root_inode() -> Inode {
    Inode::Proc(ProcInode::new(Node::Dir(DirKind::Root), 0, DIR, (0, 0), 1))
}

fn proc_of(d: &Dentry) -> Option<&ProcInode> {
    match &d.0.inode {
        Inode::Proc(p) => Some(p),
        _ => None,
    }
}

/// A pid or descriptor number as procfs names it: decimal digits, no sign, no leading zero.
fn parse_num(name: &[u8]) -> Option<i32> {
    let digits = name.iter().all(u8::is_ascii_digit);
    if name.is_empty() || !digits || (name.len() > 1 && name[0] == b'0') {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// The type bits of an open file, for the nameless object a magic link leads to.
fn file_type(f: &FileRef) -> u32 {
    f.stat().map_or(S_IFREG, |st| st.st_mode & S_IFMT)
}

/// Looks `name` up in procfs directory `dir` (whose inode is `p`).
pub(crate) fn lookup(
    procs: &dyn ProcSource,
    dir: &Dentry,
    p: &ProcInode,
    name: &[u8],
) -> Result<Dentry, Errno> {
    let Node::Dir(kind) = p.node else {
        return Err(Errno::ENOTDIR);
    };
    let Some((tgid, tid)) = procs.caller() else {
        return Err(Errno::ENOENT);
    };
    let pid = p.pid;
    let owner = if pid == 0 {
        (0, 0)
    } else {
        procs.owner(pid).ok_or(Errno::ENOENT)?
    };
    let mk = |inode: ProcInode| {
        let ft = inode.mode & S_IFMT;
        Dentry::new(Some(dir.clone()), name, Inode::Proc(inode), ft)
    };
    if let Some((i, e)) = fixed(kind).iter().enumerate().find(|(_, e)| e.name == name) {
        let n = ino(pid, dir_code(kind), i as u64);
        return Ok(mk(ProcInode::new((e.node)(), pid, e.mode, owner, n)));
    }
    let code = dir_code(kind);
    let node = match kind {
        DirKind::Root => match name {
            b"self" => Node::Symlink(tgid.to_string().into_bytes()),
            b"thread-self" => Node::Symlink(format!("{tgid}/task/{tid}").into_bytes()),
            _ => {
                let n = parse_num(name).ok_or(Errno::ENOENT)?;
                let owner = procs.owner(n).ok_or(Errno::ENOENT)?;
                let inode = ProcInode::new(Node::Dir(DirKind::Pid), n, DIR, owner, ino(n, 0, 0));
                return Ok(mk(inode));
            }
        },
        DirKind::Pid => {
            let target = match name {
                b"cwd" => procs.cwd(pid),
                b"exe" => procs.exe(pid),
                b"root" => procs.cwd(pid).map(|_| root_of(dir)),
                _ => return Err(Errno::ENOENT),
            }
            .ok_or(Errno::ENOENT)?;
            let i = PID_LINKS.iter().position(|l| *l == name).unwrap_or(0);
            let n = ino(pid, code, 0x80 + i as u64);
            return Ok(mk(ProcInode::new(
                Node::Magic(Target::Dentry(target)),
                pid,
                LNK,
                owner,
                n,
            )));
        }
        DirKind::Task => {
            let t = parse_num(name).ok_or(Errno::ENOENT)?;
            if !procs.tasks(pid).contains(&t) {
                return Err(Errno::ENOENT);
            }
            let inode = ProcInode::new(Node::Dir(DirKind::Pid), t, DIR, owner, ino(t, 0, 1));
            return Ok(mk(inode));
        }
        DirKind::Fd | DirKind::FdInfo => {
            let fd = parse_num(name).ok_or(Errno::ENOENT)?;
            let (file, _) = procs.fd(pid, fd).ok_or(Errno::ENOENT)?;
            let n = ino(pid, code, fd as u64);
            let inode = if kind == DirKind::Fd {
                let mut perm = 0;
                if file.flags().readable() {
                    perm |= 0o500;
                }
                if file.flags().writable() {
                    perm |= 0o300;
                }
                ProcInode::new(
                    Node::Magic(Target::File(file)),
                    pid,
                    S_IFLNK | perm,
                    owner,
                    n,
                )
            } else {
                ProcInode::new(Node::FdInfo(fd), pid, R, owner, n)
            };
            return Ok(mk(inode));
        }
        DirKind::Sys(d) => {
            let (_, node, mode, i) = sys_entries(d)
                .into_iter()
                .find(|e| e.0.as_bytes() == name)
                .ok_or(Errno::ENOENT)?;
            return Ok(mk(ProcInode::new(node, 0, mode, (0, 0), ino(0, code, i))));
        }
        DirKind::Ns => {
            let ns = procs.ns(pid, name).ok_or(Errno::ENOENT)?;
            let i = crate::nsfs::NAMESPACES
                .iter()
                .position(|n| n.0.as_bytes() == name);
            let file = crate::file::open_object(ns, OFlags::empty());
            return Ok(mk(ProcInode::new(
                Node::Magic(Target::File(file)),
                pid,
                S_IFLNK | 0o777,
                owner,
                ino(pid, code, i.unwrap_or(0) as u64),
            )));
        }
        DirKind::Sysvipc | DirKind::Net => return Err(Errno::ENOENT),
    };
    let n = ino(0, code, if name == b"self" { 0x80 } else { 0x81 });
    Ok(mk(ProcInode::new(node, 0, LNK, (0, 0), n)))
}

/// The guest root, reached from any dentry by its parents.
fn root_of(d: &Dentry) -> Dentry {
    let mut cur = d.clone();
    while let Some(p) = cur.0.parent.clone() {
        cur = p;
    }
    cur
}

/// Where following magic link `link` leads: the object itself, or for a nameless open
/// file a dentry that reopens it.
pub(crate) fn follow(link: &Dentry, target: &Target) -> Dentry {
    match target {
        Target::Dentry(d) => d.clone(),
        Target::File(f) => match f.dentry() {
            Some(d) => d,
            None => {
                let p = proc_of(link);
                let (pid, uid, gid, ino) = p.map_or((0, 0, 0, 0), |p| (p.pid, p.uid, p.gid, p.ino));
                let ft = file_type(f);
                let inode = ProcInode {
                    node: Node::Open(f.clone()),
                    pid,
                    mode: ft | 0o600,
                    uid,
                    gid,
                    ino,
                };
                let parent = link.0.parent.clone();
                Dentry::new(parent, &link.0.name, Inode::Proc(inode), ft)
            }
        },
    }
}

impl Vfs {
    /// What `readlink` of magic link target `t` shows: the guest path, or Linux's name for
    /// a nameless file (`pipe:[N]`, `socket:[N]`, a device's `/dev` path).
    pub(crate) fn magic_text(&self, t: &Target) -> Vec<u8> {
        let f = match t {
            Target::Dentry(d) => return self.path_of(d),
            Target::File(f) => f,
        };
        if let Some(d) = f.dentry() {
            return self.path_of(&d);
        }
        if let Some(ns) = f.object_as::<crate::nsfs::NsFile>() {
            return ns.link_text();
        }
        let st = f.stat().unwrap_or_default();
        match st.st_mode & S_IFMT {
            S_IFIFO => format!("pipe:[{}]", st.st_ino).into_bytes(),
            S_IFSOCK => format!("socket:[{}]", st.st_ino).into_bytes(),
            S_IFCHR => device_name(st.st_rdev),
            // A host file given as stdio: its host path is not the guest's business.
            _ => format!("anon_inode:[stdio:{}]", st.st_ino).into_bytes(),
        }
    }

    /// Opens procfs object `d` for `procs`: a directory, a file with its contents, or the
    /// file a magic link led to. `None` if `d` is not in procfs.
    pub(crate) fn proc_open(
        &self,
        procs: &dyn ProcSource,
        d: &Dentry,
        flags: OFlags,
    ) -> Result<Option<FileRef>, Errno> {
        let Some(p) = proc_of(d) else {
            return Ok(None);
        };
        let flags = flags | OFlags::LARGEFILE;
        if flags.contains(OFlags::PATH) {
            return Ok(None);
        }
        let data = match &p.node {
            // Files of 8 bytes an entry, sparse: holes read as 0.
            Node::File(file @ (ProcFile::Pagemap | ProcFile::Kpageflags)) if flags.readable() => {
                let (len, entries) = procs.entries(p.pid, *file)?;
                let mut data = FileData::new(crate::blockfs::BLOCK);
                for (i, entry) in entries {
                    data.write(&[std::io::IoSlice::new(&entry.to_ne_bytes())], i * 8, 8)?;
                }
                data.set_len(len * 8);
                return Ok(Some(self.proc_file(d, p, data, flags)));
            }
            // Nothing in the file itself: its offsets are addresses of the process.
            Node::File(ProcFile::Mem) => {
                procs.owner(p.pid).ok_or(Errno::ESRCH)?;
                let data = FileData::new(crate::blockfs::BLOCK);
                return Ok(Some(self.proc_file(d, p, data, flags)));
            }
            Node::Dir(_) => {
                if flags.writable() {
                    return Err(Errno::EISDIR);
                }
                return Ok(Some(OpenFile::new(Some(d.clone()), FileKind::Dir, flags)));
            }
            Node::Open(f) => return f.reopen(flags).map(Some),
            Node::Symlink(_) | Node::Magic(_) => return Err(Errno::ELOOP),
            // Nothing to generate for a writer (who may not be allowed to read it).
            Node::File(_) if !flags.readable() => Vec::new(),
            Node::File(file) => procs.contents(self, p.pid, *file)?,
            Node::Mounts => self.mounts_text(&root_of(d), false),
            Node::Mountinfo => self.mounts_text(&root_of(d), true),
            Node::Filesystems => FILESYSTEM_TYPES
                .iter()
                .map(|(t, dev)| format!("{}\t{t}\n", if *dev { "" } else { "nodev" }))
                .flat_map(String::into_bytes)
                .collect(),
            Node::Config => crate::kconfig::config_gz(),
            Node::Cmdline => crate::kconfig::CMDLINE.to_vec(),
            Node::FdInfo(fd) => {
                let (file, cloexec) = procs.fd(p.pid, *fd).ok_or(Errno::ENOENT)?;
                self.fdinfo(&file, cloexec)
            }
        };
        Ok(Some(self.proc_file(
            d,
            p,
            FileData::from_bytes(&data),
            flags,
        )))
    }

    /// An open procfs file `d` (of node `p`) holding `data`.
    fn proc_file(&self, d: &Dentry, p: &ProcInode, data: FileData, flags: OFlags) -> FileRef {
        let m = MemInode::new(
            p.ino,
            mkdev(PROCFS_DEV),
            R,
            p.uid,
            p.gid,
            MemData::File(data),
        );
        OpenFile::new(Some(d.clone()), FileKind::Mem(m), flags)
    }

    /// `/proc/PID/fdinfo/N`.
    fn fdinfo(&self, f: &FileRef, cloexec: bool) -> Vec<u8> {
        let mut flags = f.flags().bits();
        if cloexec {
            flags |= OFlags::CLOEXEC.bits();
        }
        let ino = f.stat().map_or(0, |s| s.st_ino);
        let mnt = f.dentry().map_or(0, |d| self.mount_id(&d));
        let mut extra = f.object().map(|o| o.fdinfo()).unwrap_or_default();
        if let Some(pid) = f.pidfd() {
            // A pidfd's process (its pid in the reader's namespace, Linux's `Pid` and
            // `NSpid`).
            extra.push_str(&format!("Pid:\t{pid}\nNSpid:\t{pid}\n"));
        }
        format!(
            "pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{}\nino:\t{}\n{extra}",
            f.pos(),
            flags,
            mnt,
            ino
        )
        .into_bytes()
    }

    /// The mounts of the tree whose top is `top`, the top first: (mount point, root).
    fn mount_list(&self, top: &Dentry) -> Vec<(Vec<u8>, Dentry)> {
        self.mounts_of(top)
            .into_iter()
            .map(|(path, root)| (crate::mount::path_bytes(&path), root))
            .collect()
    }

    /// The id of the mount `d` lies on (`mnt_id` of fdinfo and mountinfo).
    pub fn mount_id(&self, d: &Dentry) -> u64 {
        d.mount().map_or(1, |m| m.id)
    }

    /// `/proc/PID/mounts` (`info`: `/proc/PID/mountinfo`): the mounts of the tree (the
    /// mount namespace) whose top is `top`, the one the procfs read lies in.
    fn mounts_text(&self, top: &Dentry, info: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (point, root) in self.mount_list(top) {
            let Some(m) = &root.0.mnt else { continue };
            let f = m.flags();
            use abi::flags::mount::*;
            // `/proc/mounts` shows a read-only file system as "ro"; mountinfo shows the
            // mount's flag and the super block's apart.
            let ro = if info {
                f & MS_RDONLY != 0
            } else {
                m.is_read_only()
            };
            let mut opts = String::from(if ro { "ro" } else { "rw" });
            for (bit, name) in [
                (MS_NOSUID, ",nosuid"),
                (MS_NODEV, ",nodev"),
                (MS_NOEXEC, ",noexec"),
                (MS_NOATIME, ",noatime"),
                (MS_NODIRATIME, ",nodiratime"),
                (MS_RELATIME, ",relatime"),
                (MS_NOSYMFOLLOW, ",nosymfollow"),
            ] {
                if f & bit != 0 {
                    opts += name;
                }
            }
            let extra = match &m.sb.kind {
                crate::mount::SbKind::Tmpfs(_, shown) => shown.as_str(),
                _ => "",
            };
            let ty = m.sb.fstype;
            let src = escape(&m.sb.source);
            let mp = escape(&point);
            if info {
                let (ma, mi) = abi::structs::dev_split(crate::mount::sb_dev(&root));
                let parent = root.0.parent.as_ref().map_or(m.id, |p| self.mount_id(p));
                let sb_ro = if m.sb.read_only.load(std::sync::atomic::Ordering::Relaxed) {
                    "ro"
                } else {
                    "rw"
                };
                out.extend_from_slice(format!("{} {parent} {ma}:{mi} ", m.id).as_bytes());
                out.extend_from_slice(&escape(&m.root));
                out.push(b' ');
                out.extend_from_slice(&mp);
                let optional = m.propagation.lock().fields();
                out.extend_from_slice(format!(" {opts}{optional} - {ty} ").as_bytes());
                out.extend_from_slice(&src);
                out.extend_from_slice(format!(" {sb_ro}{extra}\n").as_bytes());
            } else {
                out.extend_from_slice(&src);
                out.push(b' ');
                out.extend_from_slice(&mp);
                out.extend_from_slice(format!(" {ty} {opts}{extra} 0 0\n").as_bytes());
            }
        }
        out
    }
}

/// A path or name as `/proc/mounts` shows it: space, tab, newline and backslash as octal
/// escapes.
fn escape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        match c {
            b' ' | b'\t' | b'\n' | b'\\' => out.extend_from_slice(format!("\\{c:03o}").as_bytes()),
            c => out.push(c),
        }
    }
    out
}

impl OpenFile {
    /// The `/proc/sys` file (its path under `/proc/sys`) this is, if it is one (whose
    /// writes the syscall layer handles).
    pub fn proc_sysctl(&self) -> Option<&'static str> {
        match proc_of(self.dentry.as_ref()?)? {
            ProcInode {
                node: Node::File(ProcFile::Sysctl(path)),
                ..
            } => Some(path),
            _ => None,
        }
    }

    /// The process whose memory this is, if it is open on a `/proc/PID/mem`.
    pub fn proc_mem(&self) -> Option<i32> {
        match proc_of(self.dentry.as_ref()?)? {
            ProcInode {
                node: Node::File(ProcFile::Mem),
                pid,
                ..
            } => Some(*pid),
            _ => None,
        }
    }

    /// The writable per-process file this is and the task it is about, if it is a
    /// `/proc/PID/comm` (whose writes rename the process), `/proc/PID/timerslack_ns`
    /// (whose writes set the task's timer slack) or `/proc/PID/timens_offsets` (whose
    /// writes set a time namespace's offsets): the syscall layer handles their writes.
    pub fn proc_pid_writable(&self) -> Option<(ProcFile, i32)> {
        match proc_of(self.dentry.as_ref()?)? {
            ProcInode {
                node:
                    Node::File(f @ (ProcFile::Comm | ProcFile::TimerslackNs | ProcFile::TimensOffsets)),
                pid,
                ..
            } => Some((*f, *pid)),
            _ => None,
        }
    }
}

/// The file system types uml has, in the order `/proc/filesystems` and `sysfs(2)` list
/// them, and whether each needs a block device.
pub const FILESYSTEM_TYPES: &[(&str, bool)] = &[
    ("sysfs", false),
    ("tmpfs", false),
    ("proc", false),
    ("devtmpfs", false),
    ("pipefs", false),
    ("overlay", false),
    ("ext3", true),
    ("ext2", true),
    ("ext4", true),
];

/// The `/dev` path of a character device, by its number.
fn device_name(rdev: u64) -> Vec<u8> {
    let (ma, mi) = abi::structs::dev_split(rdev);
    match (ma, mi) {
        (1, 3) => b"/dev/null".to_vec(),
        (1, 5) => b"/dev/zero".to_vec(),
        (1, 7) => b"/dev/full".to_vec(),
        (1, 8) => b"/dev/random".to_vec(),
        (1, 9) => b"/dev/urandom".to_vec(),
        (5, 0) => b"/dev/tty".to_vec(),
        (5, 1) => b"/dev/console".to_vec(),
        (136..=143, n) => format!("/dev/pts/{}", (ma - 136) * 256 + n).into_bytes(),
        (4, n) => format!("/dev/tty{n}").into_bytes(),
        _ => format!("/dev/char/{ma}:{mi}").into_bytes(),
    }
}

/// The entries of procfs directory `d` as `procs` sees them now (`None` if `d` is not one).
pub(crate) fn listing(procs: &dyn ProcSource, d: &Dentry) -> Option<Vec<(Vec<u8>, u64, u8)>> {
    let p = proc_of(d)?;
    let Node::Dir(kind) = p.node else {
        return None;
    };
    Some(entries(procs, p.pid, kind))
}

fn entries(procs: &dyn ProcSource, pid: i32, kind: DirKind) -> Vec<(Vec<u8>, u64, u8)> {
    if procs.caller().is_none() {
        return Vec::new();
    }
    let code = dir_code(kind);
    let dt = |mode: u32| dtype::from_mode(mode);
    let mut v: Vec<(Vec<u8>, u64, u8)> = fixed(kind)
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.to_vec(), ino(pid, code, i as u64), dt(e.mode)))
        .collect();
    match kind {
        DirKind::Root => {
            v.push((b"self".to_vec(), ino(0, code, 0x80), dtype::LNK));
            v.push((b"thread-self".to_vec(), ino(0, code, 0x81), dtype::LNK));
            v.extend(
                procs
                    .pids()
                    .into_iter()
                    .map(|p| (p.to_string().into_bytes(), ino(p, 0, 0), dtype::DIR)),
            );
        }
        DirKind::Pid => {
            for (i, l) in PID_LINKS.iter().enumerate() {
                v.push((l.to_vec(), ino(pid, code, 0x80 + i as u64), dtype::LNK));
            }
            v.sort();
        }
        DirKind::Task => v.extend(
            procs
                .tasks(pid)
                .into_iter()
                .map(|t| (t.to_string().into_bytes(), ino(t, 0, 1), dtype::DIR)),
        ),
        DirKind::Fd | DirKind::FdInfo => {
            let t = if kind == DirKind::Fd {
                dtype::LNK
            } else {
                dtype::REG
            };
            v.extend(
                procs
                    .fds(pid)
                    .into_iter()
                    .map(|fd| (fd.to_string().into_bytes(), ino(pid, code, fd as u64), t)),
            );
        }
        DirKind::Sys(d) => v.extend(
            sys_entries(d)
                .into_iter()
                .map(|(name, _, mode, i)| (name.as_bytes().to_vec(), ino(0, code, i), dt(mode))),
        ),
        DirKind::Ns => v.extend(crate::nsfs::NAMESPACES.iter().enumerate().map(|(i, n)| {
            (
                n.0.as_bytes().to_vec(),
                ino(pid, code, i as u64),
                dtype::LNK,
            )
        })),
        DirKind::Sysvipc | DirKind::Net => {}
    }
    v
}
