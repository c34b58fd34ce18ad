//! SysV IPC and POSIX message queue structs and constants with Linux's x86-64 layouts
//! (`include/uapi/linux/ipc.h`, `shm.h`, `sem.h`, `msg.h`, `mqueue.h` and x86's
//! `shmbuf.h`, `sembuf.h`, `msgbuf.h`).

use bytemuck::{Pod, Zeroable};

macro_rules! assert_size {
    ($t:ty, $n:expr) => {
        const _: () = assert!(std::mem::size_of::<$t>() == $n);
    };
}

/// `IPC_PRIVATE`: a key that always makes a new object.
pub const IPC_PRIVATE: i32 = 0;
/// Create the object if the key has none.
pub const IPC_CREAT: i32 = 0o1000;
/// With `IPC_CREAT`: fail (`EEXIST`) if the key has one.
pub const IPC_EXCL: i32 = 0o2000;
/// Fail instead of waiting.
pub const IPC_NOWAIT: i32 = 0o4000;
/// `*ctl` commands common to the three kinds.
pub const IPC_RMID: i32 = 0;
/// Set owner, group, mode (and a queue's `msg_qbytes`).
pub const IPC_SET: i32 = 1;
/// Read the `*id64_ds`.
pub const IPC_STAT: i32 = 2;
/// Read the limits (`shminfo64`, `seminfo`, `msginfo`).
pub const IPC_INFO: i32 = 3;
/// Ids are `seq * IPCMNI + index` (Linux's non-extended `IPCMNI`).
pub const IPCMNI: i32 = 32768;

/// `shmat` flags.
pub const SHM_RDONLY: i32 = 0o10000;
/// Round the address down to `SHMLBA`.
pub const SHM_RND: i32 = 0o20000;
/// Replace mappings in the way (with an address).
pub const SHM_REMAP: i32 = 0o40000;
/// Executable attach.
pub const SHM_EXEC: i32 = 0o100000;
/// `shmget` flags: huge pages, no swap reservation.
pub const SHM_HUGETLB: i32 = 0o4000;
/// `shmget`: no swap reservation.
pub const SHM_NORESERVE: i32 = 0o10000;
/// `shm_perm.mode` bits: marked for destruction.
pub const SHM_DEST: u32 = 0o1000;
/// `shm_perm.mode` bits: locked (`SHM_LOCK`).
pub const SHM_LOCKED: u32 = 0o2000;
/// `shmctl` commands.
pub const SHM_LOCK: i32 = 11;
/// Undo `SHM_LOCK`.
pub const SHM_UNLOCK: i32 = 12;
/// `IPC_STAT` by index.
pub const SHM_STAT: i32 = 13;
/// Usage (`shm_info`).
pub const SHM_INFO: i32 = 14;
/// `SHM_STAT` without the read-permission check.
pub const SHM_STAT_ANY: i32 = 15;

/// `semctl` commands.
pub const GETPID: i32 = 11;
/// One value.
pub const GETVAL: i32 = 12;
/// All values.
pub const GETALL: i32 = 13;
/// Tasks waiting for an increase.
pub const GETNCNT: i32 = 14;
/// Tasks waiting for zero.
pub const GETZCNT: i32 = 15;
/// Set one value.
pub const SETVAL: i32 = 16;
/// Set all values.
pub const SETALL: i32 = 17;
/// `IPC_STAT` by index.
pub const SEM_STAT: i32 = 18;
/// Usage (`seminfo` with counts).
pub const SEM_INFO: i32 = 19;
/// `SEM_STAT` without the read-permission check.
pub const SEM_STAT_ANY: i32 = 20;
/// `sem_flg`: undo the operation when the process exits.
pub const SEM_UNDO: i16 = 0x1000;
/// Largest semaphore value.
pub const SEMVMX: i32 = 32767;

/// `msgctl` commands: `IPC_STAT` by index.
pub const MSG_STAT: i32 = 11;
/// Usage (`msginfo` with counts).
pub const MSG_INFO: i32 = 12;
/// `MSG_STAT` without the read-permission check.
pub const MSG_STAT_ANY: i32 = 13;
/// `msgrcv`: truncate a longer message instead of `E2BIG`.
pub const MSG_NOERROR: i32 = 0o10000;
/// `msgrcv`: the first message of another type.
pub const MSG_EXCEPT: i32 = 0o20000;
/// `msgrcv`: copy the message at index `msgtyp` without removing it.
pub const MSG_COPY: i32 = 0o40000;

/// `struct ipc64_perm`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Ipc64Perm {
    /// Key given to `*get`.
    pub key: i32,
    /// Owner.
    pub uid: u32,
    /// Owner's group.
    pub gid: u32,
    /// Creator.
    pub cuid: u32,
    /// Creator's group.
    pub cgid: u32,
    /// Permission bits (and `SHM_DEST`, `SHM_LOCKED`).
    pub mode: u32,
    /// Sequence number.
    pub seq: u16,
    /// Padding.
    pub pad2: u16,
    /// Padding to the next `unsigned long`.
    pub pad3: u32,
    /// Unused.
    pub unused1: u64,
    /// Unused.
    pub unused2: u64,
}
assert_size!(Ipc64Perm, 48);

/// `struct shmid64_ds`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ShmidDs {
    /// Owner and mode.
    pub perm: Ipc64Perm,
    /// Size in bytes.
    pub segsz: u64,
    /// Last attach.
    pub atime: i64,
    /// Last detach.
    pub dtime: i64,
    /// Last change.
    pub ctime: i64,
    /// Creator's pid.
    pub cpid: i32,
    /// Last attacher's or detacher's pid.
    pub lpid: i32,
    /// Attaches.
    pub nattch: u64,
    /// Unused.
    pub unused: [u64; 2],
}
assert_size!(ShmidDs, 112);

/// `struct shminfo64` (`IPC_INFO`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ShmInfo64 {
    /// Largest segment.
    pub shmmax: u64,
    /// Smallest segment.
    pub shmmin: u64,
    /// Most segments.
    pub shmmni: u64,
    /// Most attaches per process.
    pub shmseg: u64,
    /// Most pages in all segments.
    pub shmall: u64,
    /// Unused.
    pub unused: [u64; 4],
}
assert_size!(ShmInfo64, 72);

/// `struct shm_info` (`SHM_INFO`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ShmUsage {
    /// Segments.
    pub used_ids: i32,
    /// Padding.
    pub pad: i32,
    /// Pages of all segments.
    pub shm_tot: u64,
    /// Resident pages.
    pub shm_rss: u64,
    /// Swapped pages.
    pub shm_swp: u64,
    /// Unused.
    pub swap_attempts: u64,
    /// Unused.
    pub swap_successes: u64,
}
assert_size!(ShmUsage, 48);

/// `struct semid64_ds`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SemidDs {
    /// Owner and mode.
    pub perm: Ipc64Perm,
    /// Last `semop`.
    pub otime: i64,
    /// Unused.
    pub unused1: u64,
    /// Last change.
    pub ctime: i64,
    /// Unused.
    pub unused2: u64,
    /// Semaphores in the set.
    pub nsems: u64,
    /// Unused.
    pub unused: [u64; 2],
}
assert_size!(SemidDs, 104);

/// `struct seminfo` (`IPC_INFO`, `SEM_INFO`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SemInfo {
    /// Unused by Linux (`SEMMAP`).
    pub semmap: i32,
    /// Most sets.
    pub semmni: i32,
    /// Most semaphores in all sets.
    pub semmns: i32,
    /// `SEMMNU`.
    pub semmnu: i32,
    /// Most semaphores per set.
    pub semmsl: i32,
    /// Most operations per `semop`.
    pub semopm: i32,
    /// `SEMUME`.
    pub semume: i32,
    /// `SEMUSZ`, or (`SEM_INFO`) the number of sets.
    pub semusz: i32,
    /// Largest value.
    pub semvmx: i32,
    /// `SEMAEM`, or (`SEM_INFO`) the number of semaphores.
    pub semaem: i32,
}
assert_size!(SemInfo, 40);

/// `struct sembuf`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SemBuf {
    /// Which semaphore.
    pub num: u16,
    /// What to add (0: wait for zero).
    pub op: i16,
    /// `IPC_NOWAIT`, `SEM_UNDO`.
    pub flg: i16,
}
assert_size!(SemBuf, 6);

/// `struct msqid64_ds`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct MsqidDs {
    /// Owner and mode.
    pub perm: Ipc64Perm,
    /// Last `msgsnd`.
    pub stime: i64,
    /// Last `msgrcv`.
    pub rtime: i64,
    /// Last change.
    pub ctime: i64,
    /// Bytes queued.
    pub cbytes: u64,
    /// Messages queued.
    pub qnum: u64,
    /// Most bytes queued.
    pub qbytes: u64,
    /// Last sender.
    pub lspid: i32,
    /// Last receiver.
    pub lrpid: i32,
    /// Unused.
    pub unused: [u64; 2],
}
assert_size!(MsqidDs, 120);

/// `struct msginfo` (`IPC_INFO`, `MSG_INFO`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct MsgInfo {
    /// `MSGPOOL`, or (`MSG_INFO`) the number of queues.
    pub msgpool: i32,
    /// `MSGMAP`, or (`MSG_INFO`) the number of messages.
    pub msgmap: i32,
    /// Largest message.
    pub msgmax: i32,
    /// Default queue size in bytes.
    pub msgmnb: i32,
    /// Most queues.
    pub msgmni: i32,
    /// `MSGSSZ`.
    pub msgssz: i32,
    /// `MSGTQL`, or (`MSG_INFO`) the bytes of all messages.
    pub msgtql: i32,
    /// `MSGSEG`.
    pub msgseg: u16,
    /// Padding.
    pub pad: u16,
}
assert_size!(MsgInfo, 32);

/// `struct mq_attr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct MqAttr {
    /// `O_NONBLOCK` or 0.
    pub flags: i64,
    /// Most messages.
    pub maxmsg: i64,
    /// Largest message.
    pub msgsize: i64,
    /// Messages queued.
    pub curmsgs: i64,
    /// Reserved.
    pub reserved: [i64; 4],
}
assert_size!(MqAttr, 64);

/// `MQ_PRIO_MAX`: priorities are below it.
pub const MQ_PRIO_MAX: u32 = 32768;
