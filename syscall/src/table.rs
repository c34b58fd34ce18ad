//! The syscall table: one declarative list mapping each implemented number to its handler
//! and support level. Numbers not listed return `ENOSYS`.

use abi::{Errno, Sysno};

use crate::{
    acct, aio, caps, copy, cred, epoll, eventfd, exec_call, fs, futex, info, ipc, itimer, kcmp,
    keys, kill, landlock, lsm, mem, membarrier, net, notify, ns, page_cache_calls, personality,
    pidfd, poll, posix_timer, priority, proc_calls, process_vm, procfs, ptrace, reboot,
    sched_calls, settime, signal, signalfd, splice, swap, sysfs_call, syslog, task, time, timerfd,
    tty, unshare, userfaultfd, Args, Ctx, Outcome,
};

/// A handler that returns a value (the common case).
pub type PlainFn = fn(&mut Ctx<'_>, &Args) -> abi::SysResult;
/// A handler that may change control flow (exit, exec, block).
pub type CtlFn = fn(&mut Ctx<'_>, &Args) -> Result<Outcome, Errno>;

/// How a syscall is handled.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Returns a value or an errno.
    Plain(PlainFn),
    /// Returns an [`Outcome`].
    Ctl(CtlFn),
    /// Always fails with this errno.
    Fail(Errno),
}

/// How completely uml implements a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// As Linux does.
    Full,
    /// Implemented with the noted gaps.
    Partial(&'static str),
    /// Deliberately returns an error; the note says why that is acceptable.
    Error(&'static str),
}

/// One row of the table.
#[derive(Clone, Copy)]
pub struct Entry {
    /// The syscall.
    pub sysno: Sysno,
    /// Its handler.
    pub handler: Handler,
    /// Its support level.
    pub support: Support,
}

macro_rules! table {
    ($($name:ident => $kind:ident($($arg:tt)*);)*) => {
        /// Every syscall uml handles, in the order listed.
        pub static TABLE: &[Entry] = &[$(table!(@entry $name $kind($($arg)*)),)*];
    };
    (@entry $name:ident full($f:path)) => {
        Entry { sysno: Sysno::$name, handler: Handler::Plain($f), support: Support::Full }
    };
    (@entry $name:ident partial($f:path, $note:literal)) => {
        Entry { sysno: Sysno::$name, handler: Handler::Plain($f), support: Support::Partial($note) }
    };
    (@entry $name:ident partial_ctl($f:path, $note:literal)) => {
        Entry { sysno: Sysno::$name, handler: Handler::Ctl($f), support: Support::Partial($note) }
    };
    (@entry $name:ident ctl($f:path)) => {
        Entry { sysno: Sysno::$name, handler: Handler::Ctl($f), support: Support::Full }
    };
    (@entry $name:ident error($e:ident, $note:literal)) => {
        Entry { sysno: Sysno::$name, handler: Handler::Fail(Errno::$e), support: Support::Error($note) }
    };
}

table! {
    // Files and descriptors.
    read => full(fs::sys_read);
    write => full(fs::sys_write);
    readv => full(fs::sys_readv);
    writev => full(fs::sys_writev);
    pread64 => full(fs::sys_pread64);
    pwrite64 => full(fs::sys_pwrite64);
    open => full(fs::sys_open);
    openat => full(fs::sys_openat);
    name_to_handle_at => partial(fs::sys_name_to_handle_at, "handles are remembered for the run: decodable while uml runs, not across runs");
    open_by_handle_at => full(fs::sys_open_by_handle_at);
    openat2 => partial(fs::sys_openat2, "RESOLVE_CACHED treats every lookup as cached");
    close => full(fs::sys_close);
    creat => full(fs::sys_creat);
    close_range => full(fs::sys_close_range);
    lseek => full(fs::sys_lseek);
    fstat => full(fs::sys_fstat);
    stat => full(fs::sys_stat);
    lstat => full(fs::sys_lstat);
    newfstatat => full(fs::sys_newfstatat);
    statx => full(fs::sys_statx);
    getdents => full(fs::sys_getdents);
    getdents64 => full(fs::sys_getdents64);
    getcwd => full(fs::sys_getcwd);
    chdir => full(fs::sys_chdir);
    chroot => partial(fs::sys_chroot, "per process, inherited by fork; /proc/PID/root still shows the instance's root");
    fchdir => full(fs::sys_fchdir);
    mkdir => full(fs::sys_mkdir);
    mkdirat => full(fs::sys_mkdirat);
    mknod => partial(fs::sys_mknod, "regular files, FIFOs, socket inodes; device nodes (root) open uml's own devices by number, others ENXIO; only regular files in host directories (else EPERM)");
    mknodat => partial(fs::sys_mknodat, "as mknod");
    rmdir => full(fs::sys_rmdir);
    unlink => full(fs::sys_unlink);
    unlinkat => full(fs::sys_unlinkat);
    rename => full(fs::sys_rename);
    renameat => full(fs::sys_renameat);
    renameat2 => full(fs::sys_renameat2);
    link => full(fs::sys_link);
    linkat => full(fs::sys_linkat);
    symlink => full(fs::sys_symlink);
    symlinkat => full(fs::sys_symlinkat);
    readlink => full(fs::sys_readlink);
    readlinkat => full(fs::sys_readlinkat);
    access => full(fs::sys_access);
    faccessat => full(fs::sys_faccessat);
    faccessat2 => full(fs::sys_faccessat2);
    chmod => full(fs::sys_chmod);
    fchmod => full(fs::sys_fchmod);
    fchmodat => full(fs::sys_fchmodat);
    fchmodat2 => full(fs::sys_fchmodat2);
    umask => full(fs::sys_umask);
    chown => full(fs::sys_chown);
    fchown => full(fs::sys_fchown);
    lchown => full(fs::sys_lchown);
    fchownat => full(fs::sys_fchownat);
    truncate => full(fs::sys_truncate);
    ftruncate => full(fs::sys_ftruncate);
    fcntl => partial(fs::sys_fcntl, "flags, DUPFD, pipe sizes, POSIX and OFD record locks, memfd seals, owners and signals (F_SETOWN, F_SETSIG), leases, dnotify (F_NOTIFY)");
    dup => full(fs::sys_dup);
    dup2 => full(fs::sys_dup2);
    dup3 => full(fs::sys_dup3);
    ioctl => partial(fs::sys_ioctl, "terminals: TCGETS/TCSETS*, TIOCG/SWINSZ, TIOCG/SPGRP, TIOCSCTTY, TIOCNOTTY, TIOCGSID, TCFLSH, TCSBRK, TIOCOUTQ; ptys: TIOCGPTN, TIOCS/GPTLCK, TIOCGPTPEER; FIONREAD, FIOCLEX/FIONCLEX, FIONBIO, FIOASYNC (sets O_ASYNC on any file); files: FS_IOC_GETFLAGS/SETFLAGS, FS_IOC_FIEMAP (files of loop-mounted ext2/3/4; EOPNOTSUPP elsewhere); sockets: SIOCGIFCONF/NAME/INDEX/FLAGS/MTU/METRIC/TXQLEN/HWADDR, and ADDR/NETMASK/BRDADDR/DSTADDR on AF_INET (setters EPERM/EOPNOTSUPP); ENOTTY otherwise (no TIOCPKT, TIOCSTI)");
    pipe => full(fs::sys_pipe);
    pipe2 => partial(fs::sys_pipe2, "O_DIRECT accepted without packet mode");
    preadv => full(fs::sys_preadv);
    pwritev => full(fs::sys_pwritev);
    preadv2 => partial(fs::sys_preadv2, "RWF_HIPRI/DSYNC/SYNC accepted as no-ops; RWF_NOWAIT only affects pipes");
    pwritev2 => partial(fs::sys_pwritev2, "RWF_HIPRI/DSYNC/SYNC accepted as no-ops; RWF_NOWAIT only affects pipes");
    utimensat => full(fs::sys_utimensat);
    futimesat => full(fs::sys_futimesat);
    utimes => full(fs::sys_utimes);
    utime => full(fs::sys_utime);
    poll => full(poll::sys_poll);
    ppoll => full(poll::sys_ppoll);
    select => full(poll::sys_select);
    pselect6 => full(poll::sys_pselect6);
    eventfd => full(eventfd::sys_eventfd);
    inotify_init => full(notify::inotify::sys_inotify_init);
    inotify_init1 => full(notify::inotify::sys_inotify_init1);
    inotify_add_watch => partial(notify::inotify::sys_inotify_add_watch, "an inode is gone when its last name is, even while open; events from the vfs calls (open, read, write, close, create, unlink, rename, attributes, unmount), none from shared-mapping writes");
    inotify_rm_watch => full(notify::inotify::sys_inotify_rm_watch);
    fanotify_init => partial(notify::fanotify::sys_fanotify_init, "no FAN_REPORT_*FID/NAME/PIDFD (EINVAL); CAP_SYS_ADMIN only");
    fanotify_mark => partial(notify::fanotify::sys_fanotify_mark, "inode, mount and filesystem marks for the file events (access, modify, open, open_exec, close) with ignore masks, FAN_OPEN_PERM/FAN_ACCESS_PERM/FAN_OPEN_EXEC_PERM; no FID-only events (EINVAL)");
    eventfd2 => full(eventfd::sys_eventfd2);
    epoll_create => full(epoll::sys_epoll_create);
    epoll_create1 => full(epoll::sys_epoll_create1);
    epoll_ctl => partial(epoll::sys_epoll_ctl, "EPOLLEXCLUSIVE accepted (every waiter wakes); EPOLLWAKEUP ignored; ET on host streams and nested epolls acts as LT");
    epoll_wait => partial(epoll::sys_epoll_wait, "several ready files are reported in interest-list order");
    epoll_pwait => partial(epoll::sys_epoll_pwait, "as epoll_wait");
    epoll_pwait2 => partial(epoll::sys_epoll_pwait2, "as epoll_wait");
    timerfd_create => partial(timerfd::sys_timerfd_create, "CLOCK_BOOTTIME as MONOTONIC; alarm clocks (root) as their base clocks");
    timerfd_settime => partial(timerfd::sys_timerfd_settime, "TFD_TIMER_CANCEL_ON_SET accepted, never cancels; a later wall-clock change does not move an ABSTIME REALTIME expiry");
    timerfd_gettime => full(timerfd::sys_timerfd_gettime);
    signalfd => full(signalfd::sys_signalfd);
    signalfd4 => full(signalfd::sys_signalfd4);
    getxattr => full(fs::sys_getxattr);
    lgetxattr => full(fs::sys_lgetxattr);
    fgetxattr => full(fs::sys_fgetxattr);
    listxattr => full(fs::sys_listxattr);
    llistxattr => full(fs::sys_llistxattr);
    flistxattr => full(fs::sys_flistxattr);
    setxattr => full(fs::sys_setxattr);
    lsetxattr => full(fs::sys_lsetxattr);
    fsetxattr => full(fs::sys_fsetxattr);
    removexattr => full(fs::sys_removexattr);
    lremovexattr => full(fs::sys_lremovexattr);
    fremovexattr => full(fs::sys_fremovexattr);
    statfs => partial(fs::sys_statfs, "the mount's type and flags; sizes of loop-device file systems and sized tmpfs, else the guest's memory");
    fstatfs => partial(fs::sys_fstatfs, "the mount's type and flags; sizes of loop-device file systems and sized tmpfs, else the guest's memory");
    ustat => partial(fs::sys_ustat, "free blocks and inodes as statfs reports them");
    mount => partial(fs::sys_mount, "tmpfs, proc, sysfs, bind, remount, move, ext2/3/4 of a loop device as an in-memory file system");
    umount2 => full(fs::sys_umount2);
    pivot_root => partial(fs::sys_pivot_root, "EINVAL when the caller's root is the top of its mount tree (uml's guest root is, as Linux's rootfs): pivot from a mount chrooted into");
    fsopen => partial(fs::sys_fsopen, "the types mount(2) has; no messages to read (ENODATA)");
    fsconfig => partial(fs::sys_fsconfig, "binary, path and fd values are taken by no option (EINVAL) but the super block flags; CREATE_EXCL is CREATE");
    fsmount => full(fs::sys_fsmount);
    fspick => full(fs::sys_fspick);
    move_mount => partial(fs::sys_move_mount, "MOVE_MOUNT_SET_GROUP is EINVAL (no peer groups)");
    open_tree => full(fs::sys_open_tree);
    open_tree_attr => partial(fs::sys_open_tree_attr, "as mount_setattr");
    mount_setattr => partial(fs::sys_mount_setattr, "propagation types (peer groups) are kept and shown, nothing propagates; MOUNT_ATTR_IDMAP is EINVAL (no user namespaces)");
    statmount => partial(fs::sys_statmount, "sb and mount basics, peer groups, fs type, root, mount point, options and namespace id; propagate_from is 0 (nothing propagates); no option arrays");
    listmount => partial(fs::sys_listmount, "one mount namespace: a namespace fd or id is EINVAL/ENOENT");
    fadvise64 => full(fs::sys_fadvise64);
    sendfile => full(copy::sys_sendfile);
    copy_file_range => full(copy::sys_copy_file_range);
    splice => full(splice::sys_splice);
    vmsplice => partial(splice::sys_vmsplice, "copies the bytes (no page gifting); pipes made by pipe(2) only, a host pipe (stdio) is EBADF");
    tee => partial(splice::sys_tee, "pipes and FIFOs of the guest's own; a host pipe (stdio) is EINVAL");
    fsync => full(copy::sys_fsync);
    fdatasync => full(copy::sys_fsync);
    syncfs => full(copy::sys_syncfs);
    sync_file_range => full(copy::sys_sync_file_range);
    readahead => full(page_cache_calls::sys_readahead);
    cachestat => partial(page_cache_calls::sys_cachestat, "every page of the file within the range counts as cached, none dirty or evicted; EPERM without write access or ownership (no permission check beyond)");
    sync => full(copy::sys_sync);
    fallocate => partial(fs::sys_fallocate, "in-memory files: tmpfs's modes (allocate, PUNCH_HOLE), ext4's on loop-mounted ext4 (ZERO_RANGE, COLLAPSE_RANGE, INSERT_RANGE too); UNSHARE_RANGE and WRITE_ZEROES are EOPNOTSUPP");
    flock => full(fs::sys_flock);
    socket => partial(net::sys_socket, "AF_UNIX stream/dgram/seqpacket (SOCK_RAW as dgram); AF_INET/AF_INET6 TCP, UDP, ICMP echo sockets (net.ipv4.ping_group_range) and raw ICMP sockets (CAP_NET_RAW) on the instance's own loopback (no other raw protocols); AF_NETLINK NETLINK_ROUTE (link/address/route dumps of lo, or of the host with --net host; link lookup; groups joined: no events of lo, the host's relayed with --net host; changes refused); other families EAFNOSUPPORT");
    socketpair => partial(net::sys_socketpair, "AF_UNIX only; AF_INET/AF_INET6 checked as socket, then EOPNOTSUPP as on Linux; other families EAFNOSUPPORT");
    recvmsg => partial(net::sys_recvmsg, "AF_UNIX: SCM_RIGHTS, SCM_CREDENTIALS, MSG_PEEK/DONTWAIT/WAITALL/TRUNC/CMSG_CLOEXEC; inet: the same flags, SO_TIMESTAMP(NS), IP_PKTINFO/RECVTTL/RECVTOS, IPV6_RECVPKTINFO/RECVHOPLIMIT/RECVTCLASS on datagrams; no MSG_OOB or MSG_ERRQUEUE");
    sendmsg => partial(net::sys_sendmsg, "AF_UNIX: SCM_RIGHTS, SCM_CREDENTIALS, MSG_DONTWAIT/NOSIGNAL; inet: MSG_MORE holds TCP bytes back and builds one UDP datagram, control messages ignored; no MSG_OOB");
    sendmmsg => partial(net::sys_sendmmsg, "only the first message may block");
    recvmmsg => partial(net::sys_recvmmsg, "only the first message may block (as with MSG_WAITFORONE); the timeout is checked after each message and written back");
    recvfrom => partial(net::sys_recvfrom, "as recvmsg");
    sendto => partial(net::sys_sendto, "as sendmsg");
    shutdown => full(net::sys_shutdown);
    accept4 => full(net::sys_accept4);
    accept => full(net::sys_accept);
    listen => full(net::sys_listen);
    bind => partial(net::sys_bind, "AF_UNIX paths (a socket inode in the overlay, never on the host; EPERM with --rw) and abstract names (per uml instance); inet: lo's addresses, no TIME_WAIT");
    connect => partial(net::sys_connect, "AF_UNIX paths and abstract names; inet: lo's addresses (others ENETUNREACH)");
    setsockopt => partial(net::sys_setsockopt, "SOL_SOCKET: SO_SNDBUF/RCVBUF sized as Linux, SO_PASSCRED; inet: SO_REUSEADDR/REUSEPORT, IPV6_V6ONLY, SO_LINGER 0 act, SO_RCVTIMEO/SNDTIMEO, SO_TIMESTAMP(NS), the IP/IPv6 receive options, ICMP_FILTER/ICMP6_FILTER act, TCP/IP options checked and kept; AF_UNIX: other common options accepted without effect (SO_RCVTIMEO/SNDTIMEO do not time out)");
    getsockopt => partial(net::sys_getsockopt, "SOL_SOCKET: SO_TYPE, SO_ERROR, SO_SNDBUF/RCVBUF, SO_PASSCRED, SO_PEERCRED, SO_ACCEPTCONN, SO_DOMAIN, SO_PROTOCOL, TCP_INFO (loopback values; the host's with --net host) and fixed values for the rest");
    getsockname => full(net::sys_getsockname);
    getpeername => full(net::sys_getpeername);
    // Memory.
    brk => full(mem::sys_brk);
    mmap => full(mem::sys_mmap);
    munmap => full(mem::sys_munmap);
    mprotect => full(mem::sys_mprotect);
    madvise => partial(mem::sys_madvise, "MADV_REMOVE on a shared file mapping drops its pages (written back) without punching a hole");
    mremap => partial(mem::sys_mremap, "MREMAP_DONTUNMAP is EINVAL");
    remap_file_pages => full(mem::sys_remap_file_pages);
    mseal => full(mem::sys_mseal);
    lsm_list_modules => full(lsm::sys_lsm_list_modules);
    file_getattr => partial(fs::sys_file_getattr, "the flags every file system shares (FS_XFLAG_IMMUTABLE, APPEND, SYNC, NOATIME, NODUMP, DAX, PROJINHERIT); no extent size hints, extent counts or project ids (uml has no XFS)");
    file_setattr => partial(fs::sys_file_setattr, "as file_getattr: tmpfs refuses the rest, ext2/3/4 a project id (EOPNOTSUPP)");
    landlock_create_ruleset => full(landlock::sys_landlock_create_ruleset);
    landlock_add_rule => partial(landlock::sys_landlock_add_rule, "TCP port rules; no UDP rights (ABI 7)");
    landlock_restrict_self => partial(landlock::sys_landlock_restrict_self, "the domain is the process's (uml's credentials are per process), not one thread's; no audit logging");
    msync => full(mem::sys_msync);
    mincore => full(mem::sys_mincore);
    memfd_create => partial(fs::sys_memfd_create, "no MFD_HUGETLB; seals with F_ADD_SEALS/F_GET_SEALS");
    membarrier => partial(membarrier::sys_membarrier, "barriers are no-ops on uml's one CPU; registrations per process (not shared by CLONE_VM processes); rseq commands EINVAL");
    mlock => full(mem::sys_mlock);
    mlock2 => full(mem::sys_mlock2);
    munlock => full(mem::sys_munlock);
    mlockall => full(mem::sys_mlockall);
    munlockall => full(mem::sys_munlockall);
    // SysV IPC and POSIX message queues.
    shmget => partial(ipc::shm::sys_shmget, "SHM_HUGETLB is ENOMEM (no huge pages); shm_rss counts every page of a segment");
    shmat => partial(ipc::shm::sys_shmat, "a fork or exit does not update shm_atime/shm_dtime/shm_lpid (shmat and shmdt do)");
    shmdt => full(ipc::shm::sys_shmdt);
    shmctl => partial(ipc::shm::sys_shmctl, "SHM_LOCK/SHM_UNLOCK only mark the segment (memory is never swapped)");
    semget => full(ipc::sem::sys_semget);
    semop => partial(ipc::sem::sys_semop, "waiters retry on every change of the set: no FIFO hand-over between waiters as Linux's pending queue");
    semtimedop => partial(ipc::sem::sys_semtimedop, "as semop");
    semctl => full(ipc::sem::sys_semctl);
    msgget => full(ipc::msg::sys_msgget);
    msgsnd => partial(ipc::msg::sys_msgsnd, "waiting senders and receivers retry on every change of the queue (no pipelined hand-over to a waiting receiver)");
    msgrcv => partial(ipc::msg::sys_msgrcv, "as msgsnd");
    msgctl => full(ipc::msg::sys_msgctl);
    mq_open => partial(ipc::mqueue::sys_mq_open, "no /dev/mqueue file system; RLIMIT_MSGQUEUE is not charged");
    mq_unlink => full(ipc::mqueue::sys_mq_unlink);
    mq_timedsend => partial(ipc::mqueue::sys_mq_timedsend, "a message sent while a receiver waits is queued and the receiver woken, not handed to it (Linux's pipelined_send): another receiver may take it first");
    mq_timedreceive => full(ipc::mqueue::sys_mq_timedreceive);
    mq_notify => partial(ipc::mqueue::sys_mq_notify, "SIGEV_SIGNAL and SIGEV_NONE; SIGEV_THREAD needs a netlink socket (EINVAL); a registration ends with its process, not with its close()");
    mq_getsetattr => full(ipc::mqueue::sys_mq_getsetattr);
    // Threads and processes.
    arch_prctl => partial(task::sys_arch_prctl, "ARCH_SET/GET_FS, ARCH_SET/GET_GS");
    set_tid_address => full(task::sys_set_tid_address);
    futex => partial(futex::sys_futex, "every op but WAIT_REQUEUE_PI/CMP_REQUEUE_PI (ENOSYS); shared futexes keyed by file page or shared anonymous frame; priority inheritance nominal");
    futex_waitv => full(futex::sys_futex_waitv);
    set_robust_list => full(task::sys_set_robust_list);
    get_robust_list => full(task::sys_get_robust_list);
    rseq => error(ENOSYS, "restartable sequences are optional; glibc falls back");
    restart_syscall => error(EINTR, "a stopped sleep resumes inside uml's kernel, so there is never a call to resume; Linux's answer then");
    execve => ctl(exec_call::sys_execve);
    execveat => ctl(exec_call::sys_execveat);
    fork => ctl(proc_calls::sys_fork);
    vfork => ctl(proc_calls::sys_vfork);
    clone => partial_ctl(proc_calls::sys_clone, "processes, vfork, CLONE_FILES, threads (CLONE_THREAD), CLONE_VM processes; CLONE_FS alone copies; CLONE_NEWNS starts the child in a copy of the mount namespace; CLONE_SIGHAND without CLONE_THREAD, pidfds, user namespaces ENOSYS");
    wait4 => partial(proc_calls::sys_wait4, "rusage is zero");
    waitid => full(proc_calls::sys_waitid);
    pidfd_open => partial(pidfd::sys_pidfd_open, "PIDFD_NONBLOCK; no PIDFD_THREAD");
    pidfd_send_signal => full(pidfd::sys_pidfd_send_signal);
    pidfd_getfd => full(pidfd::sys_pidfd_getfd);
    getpgid => full(proc_calls::sys_getpgid);
    setpgid => full(proc_calls::sys_setpgid);
    getpgrp => full(proc_calls::sys_getpgrp);
    getsid => full(proc_calls::sys_getsid);
    setsid => full(proc_calls::sys_setsid);
    prctl => partial(proc_calls::sys_prctl, "PDEATHSIG, DUMPABLE, NAME, CHILD_SUBREAPER, NO_NEW_PRIVS, KEEPCAPS, CAPBSET_READ/DROP, SECUREBITS, CAP_AMBIENT; others EINVAL");
    exit => ctl(task::sys_exit);
    exit_group => ctl(task::sys_exit_group);
    getpid => full(info::sys_getpid);
    getppid => full(proc_calls::sys_getppid);
    kcmp => partial(kcmp::sys_kcmp, "FILE, VM, FILES, FS, SIGHAND, IO, SYSVSEM by uml's objects: each process has its own fs (CLONE_FS copies) and no I/O context (IO always equal); EPOLL_TFD EOPNOTSUPP");
    ptrace => partial(ptrace::calls::sys_ptrace, "guest tracer and tracee; one tracer per process (its threads stop and resume each on its own; attaching to one thread attaches its whole process); debug registers kept and checked but never armed; PTRACE_SINGLESTEP, the VFORK_DONE event, POKETEXT into read-only mappings EIO");
    process_vm_readv => partial(process_vm::sys_process_vm_readv, "permission by ids and CAP_SYS_PTRACE alone (no Yama ptrace_scope, every process dumpable)");
    process_vm_writev => partial(process_vm::sys_process_vm_writev, "as process_vm_readv");
    gettid => full(info::sys_gettid);
    getuid => full(info::sys_getuid);
    geteuid => full(info::sys_geteuid);
    getgid => full(info::sys_getgid);
    getegid => full(info::sys_getegid);
    getgroups => full(cred::sys_getgroups);
    getresuid => full(cred::sys_getresuid);
    getresgid => full(cred::sys_getresgid);
    setuid => full(cred::sys_setuid);
    setgid => full(cred::sys_setgid);
    setreuid => full(cred::sys_setreuid);
    setregid => full(cred::sys_setregid);
    setresuid => full(cred::sys_setresuid);
    setresgid => full(cred::sys_setresgid);
    setfsuid => full(cred::sys_setfsuid);
    setfsgid => full(cred::sys_setfsgid);
    setgroups => full(cred::sys_setgroups);
    capget => full(caps::sys_capget);
    // Keys.
    add_key => partial(keys::sys_add_key, "key types user, logon, keyring (others ENODEV); quotas of /proc/sys/kernel/keys");
    request_key => partial(keys::sys_request_key, "searches the caller's keyrings; no upcall helper: a key to construct is negated and the call fails with ENOENT, as Linux without /sbin/request-key");
    keyctl => partial(keys::sys_keyctl, "GET_KEYRING_ID, JOIN_SESSION_KEYRING, UPDATE, REVOKE, CHOWN, SETPERM, DESCRIBE, CLEAR, LINK, UNLINK, SEARCH, READ, SET_REQKEY_KEYRING, SET_TIMEOUT, GET_SECURITY, INVALIDATE; no authorisation keys (INSTANTIATE/NEGATE/REJECT EPERM), persistent keyrings, SESSION_TO_PARENT, DH, PKEY, watches (EOPNOTSUPP)");
    capset => full(caps::sys_capset);
    // System information and limits.
    uname => full(info::sys_uname);
    sethostname => full(procfs::sys::sys_sethostname);
    setdomainname => full(procfs::sys::sys_setdomainname);
    sysinfo => full(info::sys_sysinfo);
    sysfs => full(sysfs_call::sys_sysfs);
    userfaultfd => partial(userfaultfd::sys_userfaultfd, "missing, minor and write-protect faults (UFFDIO_COPY/ZEROPAGE/MOVE/CONTINUE/POISON/WRITEPROTECT/WAKE); write protection of private anonymous memory only, no events, no write flag under --trap=ptrace; a syscall touching a registered missing page gets EFAULT instead of waiting");
    swapon => partial(swap::sys_swapon, "areas are kept and listed in /proc/swaps, never used (guest memory is never swapped out); a mounted loop device is not refused");
    swapoff => full(swap::sys_swapoff);
    acct => partial(acct::sys_acct, "acct_v3 records on each process exit; tty, memory, fault and I/O counts are 0; no suspension when the file system fills");
    reboot => partial(reboot::sys_reboot, "CAD_ON/CAD_OFF (kernel/ctrl-alt-del); restart, halt, power-off, kexec, suspend EPERM as without CAP_SYS_BOOT");
    vhangup => partial(tty::sys_vhangup, "checks CAP_SYS_TTY_CONFIG; does not hang the controlling terminal up");
    personality => partial(personality::sys_personality, "stored, inherited and reported; UNAME26 and STICKY_TIMEOUTS act, the address-space flags (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ADDR_LIMIT_*) do not");
    prlimit64 => partial(info::sys_prlimit64, "own process only; limits are recorded, NOFILE and STACK enforced");
    getrlimit => full(info::sys_getrlimit);
    setrlimit => full(info::sys_setrlimit);
    getrandom => full(info::sys_getrandom);
    // Time.
    clock_gettime => full(time::sys_clock_gettime);
    clock_getres => full(time::sys_clock_getres);
    gettimeofday => full(time::sys_gettimeofday);
    time => full(time::sys_time);
    times => partial(time::sys_times, "all guest CPU time counts as user time");
    getrusage => partial(sched_calls::sys_getrusage, "CPU times only (user); other counters zero");
    sched_getaffinity => full(sched_calls::sys_sched_getaffinity);
    sched_setaffinity => full(sched_calls::sys_sched_setaffinity);
    getcpu => full(sched_calls::sys_getcpu);
    getpriority => full(priority::sys_getpriority);
    setpriority => full(priority::sys_setpriority);
    io_setup => full(aio::sys_io_setup);
    io_destroy => full(aio::sys_io_destroy);
    io_submit => partial(aio::sys_io_submit, "requests complete inside io_submit; one that would block (a pipe) completes with -EAGAIN; IOCB_CMD_POLL is EINVAL");
    io_getevents => full(aio::sys_io_getevents);
    io_pgetevents => full(aio::sys_io_pgetevents);
    io_cancel => partial(aio::sys_io_cancel, "every request has completed by then: EINVAL, as Linux for completed ones");
    clock_settime => partial(settime::sys_clock_settime, "sets the instance's CLOCK_REALTIME only (the host's is never changed); file times keep the host's clock");
    settimeofday => partial(settime::sys_settimeofday, "sets the instance's CLOCK_REALTIME and time zone only");
    adjtimex => partial(settime::sys_adjtimex, "NTP parameters kept and reported; ADJ_SETOFFSET moves the instance's clock, the frequency does not change its rate; no leap seconds");
    clock_adjtime => partial(settime::sys_clock_adjtime, "as adjtimex, for CLOCK_REALTIME; other clocks EOPNOTSUPP");
    syslog => partial(syslog::sys_syslog, "the log holds uml's boot line; nothing is logged after boot");
    unshare => partial(unshare::sys_unshare, "CLONE_FILES copies the descriptor table; CLONE_NEWNS copies the mount namespace; pid, user, time, UTS, IPC and cgroup namespaces are made; CLONE_NEWNET is EINVAL (no network namespaces)");
    setns => partial(ns::sys_setns, "pid, user, time, UTS, IPC and cgroup namespaces; mount and network ones: only the initial ones have files");
    ioprio_get => full(priority::sys_ioprio_get);
    ioprio_set => partial(priority::sys_ioprio_set, "kept and reported; uml has no I/O scheduler to apply it");
    sched_getscheduler => full(sched_calls::sys_sched_getscheduler);
    sched_getparam => full(sched_calls::sys_sched_getparam);
    sched_setscheduler => partial(sched_calls::sys_sched_setscheduler, "SCHED_FIFO/RR are kept and reported but scheduled by the --sched policy, with nice values");
    sched_setparam => partial(sched_calls::sys_sched_setparam, "as sched_setscheduler");
    sched_setattr => partial(sched_calls::sys_sched_setattr, "as sched_setscheduler; SCHED_DEADLINE and utilisation clamps are EINVAL/ignored");
    sched_getattr => full(sched_calls::sys_sched_getattr);
    sched_get_priority_max => full(sched_calls::sys_sched_get_priority_max);
    sched_get_priority_min => full(sched_calls::sys_sched_get_priority_min);
    clone3 => partial_ctl(proc_calls::sys_clone3, "as clone; set_tid is ENOSYS");
    get_mempolicy => error(ENOSYS, "no NUMA");
    nanosleep => full(time::sys_nanosleep);
    clock_nanosleep => full(time::sys_clock_nanosleep);
    sched_yield => ctl(time::sys_sched_yield);
    pause => full(time::sys_pause);
    // Signals.
    rt_sigaction => full(signal::sys_rt_sigaction);
    rt_sigprocmask => full(signal::sys_rt_sigprocmask);
    sigaltstack => full(signal::sys_sigaltstack);
    rt_sigpending => full(signal::sys_rt_sigpending);
    rt_sigsuspend => full(signal::sys_rt_sigsuspend);
    rt_sigtimedwait => full(signal::sys_rt_sigtimedwait);
    signalfd => full(signalfd::sys_signalfd);
    signalfd4 => full(signalfd::sys_signalfd4);
    rt_sigreturn => ctl(signal::sys_rt_sigreturn);
    kill => full(kill::sys_kill);
    tkill => full(kill::sys_tkill);
    tgkill => full(kill::sys_tgkill);
    rt_sigqueueinfo => full(kill::sys_rt_sigqueueinfo);
    rt_tgsigqueueinfo => full(kill::sys_rt_tgsigqueueinfo);
    alarm => full(itimer::sys_alarm);
    setitimer => partial(itimer::sys_setitimer, "ITIMER_VIRTUAL and ITIMER_PROF both count uml's measure of CPU time (guest code and its syscalls, no user/system split), checked every preemption slice (10 ms)");
    getitimer => full(itimer::sys_getitimer);
    timer_create => partial(posix_timer::sys_timer_create, "CPU-time clocks are uml's measure (guest code and its syscalls), checked every preemption slice; CPU clocks of other processes are EINVAL; alarm clocks EOPNOTSUPP (no RTC)");
    timer_settime => partial(posix_timer::sys_timer_settime, "a periodic timer whose signal is ignored is re-armed at once (Linux parks it until the signal is unignored)");
    timer_gettime => full(posix_timer::sys_timer_gettime);
    timer_getoverrun => full(posix_timer::sys_timer_getoverrun);
    timer_delete => full(posix_timer::sys_timer_delete);
}

/// The table entry for a raw syscall number, if uml handles it.
pub fn lookup(nr: u64) -> Option<&'static Entry> {
    // The table is small and static; build the index once.
    static INDEX: std::sync::OnceLock<Vec<Option<&'static Entry>>> = std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut v = vec![None; 512];
        for e in TABLE {
            v[e.sysno.raw() as usize] = Some(e);
        }
        v
    });
    index.get(usize::try_from(nr).ok()?).copied().flatten()
}
