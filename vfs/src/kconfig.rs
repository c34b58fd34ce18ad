//! `/proc/config.gz` and `/proc/cmdline`: the kernel configuration programs and test
//! suites (LTP's `tst_kconfig`) read to learn what the kernel has. It says what uml's kernel
//! implements — `=y` for what works, "is not set" for what is missing — so that a program
//! that checks first skips what is not there instead of failing on it. Compressed as gzip
//! with stored (uncompressed) deflate blocks: any gzip reader takes it.

/// Options uml has.
const YES: &[&str] = &[
    "64BIT",
    "SECURITY",
    "SECURITY_LANDLOCK",
    "INOTIFY_USER",
    "FANOTIFY",
    "FANOTIFY_ACCESS_PERMISSIONS",
    "X86_64",
    "MMU",
    "MULTIUSER",
    "NAMESPACES",
    "USER_NS",
    "PID_NS",
    "UTS_NS",
    "IPC_NS",
    "SYSFS",
    "PROC_FS",
    "PROC_SYSCTL",
    "TMPFS",
    "TMPFS_XATTR",
    "DEVTMPFS",
    "UNIX98_PTYS",
    "BINFMT_ELF",
    "BINFMT_SCRIPT",
    "FUTEX",
    "FUTEX_PI",
    "EPOLL",
    "SIGNALFD",
    "TIMERFD",
    "EVENTFD",
    "SHMEM",
    "MEMFD_CREATE",
    "POSIX_TIMERS",
    "FILE_LOCKING",
    "ADVISE_SYSCALLS",
    "NET",
    "UNIX",
    "IKCONFIG",
    "IKCONFIG_PROC",
    "HZ_250",
    "PROC_PID_CPUSET",
    "RSEQ",
    "SYSVIPC",
    "POSIX_MQUEUE",
    "CHECKPOINT_RESTORE",
    "AIO",
    "INET",
    "IPV6",
    "KEYS",
    "BLK_DEV_LOOP",
    "CROSS_MEMORY_ATTACH",
    "FHANDLE",
    "DNOTIFY",
    "BSD_PROCESS_ACCT",
    "BSD_PROCESS_ACCT_V3",
    "TIME_NS",
    "SWAP",
    "USERFAULTFD",
    "HAVE_ARCH_USERFAULTFD_WP",
    "HAVE_ARCH_USERFAULTFD_MINOR",
];

/// Options uml lacks (what tests commonly check).
const NO: &[&str] = &[
    "MODULES",
    "NET_NS",
    "CGROUPS",
    "MEMCG",
    "IO_URING",
    "SECCOMP",
    "SECCOMP_FILTER",
    "NUMA",
    "KSM",
    "TRANSPARENT_HUGEPAGE",
    "HUGETLBFS",
    "QUOTA",
    "QFMT_V2",
    "MEMORY_FAILURE",
    "MANDATORY_FILE_LOCKING",
    "TRACING",
    "FTRACE",
    "KPROBES",
    "PERF_EVENTS",
    "BPF_SYSCALL",
    "TLS",
    "PREEMPT_RT",
    "DEBUG_KERNEL",
];

/// The configuration, as a kernel's `.config`.
fn text() -> String {
    let mut s = String::from("#\n# uml kernel configuration\n#\n");
    for o in YES {
        s += &format!("CONFIG_{o}=y\n");
    }
    s += "CONFIG_HZ=250\nCONFIG_LSM=\"landlock\"\n";
    for o in NO {
        s += &format!("# CONFIG_{o} is not set\n");
    }
    s
}

/// CRC-32 (IEEE), as gzip's trailer wants.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `data` as a gzip member of stored deflate blocks.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let n = c.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// `/proc/config.gz`.
pub(crate) fn config_gz() -> Vec<u8> {
    gzip(text().as_bytes())
}

/// `/proc/cmdline`: the kernel's command line.
pub(crate) const CMDLINE: &[u8] = b"uml\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_framing_are_gzip_s() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        let z = config_gz();
        assert_eq!(&z[..3], &[0x1f, 0x8b, 8]);
        let n = u32::from_le_bytes(z[z.len() - 4..].try_into().expect("isize"));
        assert_eq!(n as usize, text().len());
    }
}
