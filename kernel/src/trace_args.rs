//! How `--trace` shows a syscall's arguments, as strace does: descriptors and numbers in
//! decimal (`AT_FDCWD` by name), paths and written data as quoted strings read from guest
//! memory (only pages already resident: tracing never faults a page in), open flags,
//! protections and signals by name, modes in octal; anything else in hex.

use abi::flags::OFlags;

/// What one argument is.
#[derive(Clone, Copy)]
enum Arg {
    /// A descriptor, or `AT_FDCWD` (-100).
    Fd,
    /// A signed number.
    Int,
    /// A NUL-terminated string (a path).
    Str,
    /// A buffer whose length is argument `n`, shown as a string (data written).
    Buf(usize),
    /// `O_*` flags.
    Open,
    /// `PROT_*` bits.
    Prot,
    /// A mode, in octal.
    Mode,
    /// A signal number.
    Signal,
    /// Anything else.
    Hex,
}

use Arg::*;

/// The argument kinds of the syscalls shown decoded; others show six hex words.
fn kinds(name: &str) -> Option<&'static [Arg]> {
    Some(match name {
        "read" | "getdents64" => &[Fd, Hex, Int],
        "write" => &[Fd, Buf(2), Int],
        "pread64" => &[Fd, Hex, Int, Int],
        "pwrite64" => &[Fd, Buf(2), Int, Int],
        "open" => &[Str, Open, Mode],
        "openat" => &[Fd, Str, Open, Mode],
        "creat" | "mkdir" | "chmod" => &[Str, Mode],
        "mkdirat" | "fchmodat" | "mknodat" => &[Fd, Str, Mode],
        "close" | "fsync" | "fchdir" | "dup" => &[Fd],
        "dup2" => &[Fd, Fd],
        "dup3" => &[Fd, Fd, Open],
        "pipe2" => &[Hex, Open],
        "lseek" => &[Fd, Int, Int],
        "fstat" => &[Fd, Hex],
        "stat" | "lstat" | "statfs" => &[Str, Hex],
        "newfstatat" => &[Fd, Str, Hex, Hex],
        "statx" => &[Fd, Str, Hex, Hex, Hex],
        "access" => &[Str, Int],
        "faccessat" | "faccessat2" => &[Fd, Str, Int, Hex],
        "execve" => &[Str, Hex, Hex],
        "execveat" => &[Fd, Str, Hex, Hex, Hex],
        "chdir" | "rmdir" | "unlink" | "chroot" | "acct" => &[Str],
        "unlinkat" => &[Fd, Str, Hex],
        "rename" | "symlink" | "link" => &[Str, Str],
        "symlinkat" => &[Str, Fd, Str],
        "renameat" | "renameat2" | "linkat" => &[Fd, Str, Fd, Str, Hex],
        "readlink" => &[Str, Hex, Int],
        "readlinkat" => &[Fd, Str, Hex, Int],
        "chown" | "lchown" => &[Str, Int, Int],
        "fchownat" => &[Fd, Str, Int, Int, Hex],
        "truncate" => &[Str, Int],
        "ftruncate" => &[Fd, Int],
        "getcwd" => &[Hex, Int],
        "umask" => &[Mode],
        "kill" => &[Int, Signal],
        "tkill" => &[Int, Signal],
        "tgkill" => &[Int, Int, Signal],
        "rt_sigaction" => &[Signal, Hex, Hex, Int],
        "exit" | "exit_group" => &[Int],
        "wait4" => &[Int, Hex, Hex, Hex],
        "mmap" => &[Hex, Int, Prot, Hex, Fd, Hex],
        "mprotect" => &[Hex, Int, Prot],
        "munmap" => &[Hex, Int],
        "ioctl" | "fcntl" => &[Fd, Hex, Hex],
        "sethostname" => &[Buf(1), Int],
        _ => return None,
    })
}

/// A string of guest memory as strace quotes it (at most 32 bytes, then `...`).
fn quoted(bytes: &[u8], more: bool) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:o}")),
        }
    }
    s.push('"');
    if more {
        s.push_str("...");
    }
    s
}

fn signal(n: u64) -> String {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match n {
        0 => "0".into(),
        1..=31 => NAMES[n as usize - 1].into(),
        32..=64 => format!("SIGRT_{}", n - 32),
        _ => format!("{}", n as i64),
    }
}

fn open_flags(v: u64) -> String {
    let f = OFlags::from_bits_retain(v as u32);
    let mut parts = vec![match f.bits() & OFlags::ACCMODE {
        0 => "O_RDONLY".to_string(),
        1 => "O_WRONLY".to_string(),
        2 => "O_RDWR".to_string(),
        _ => "O_ACCMODE".to_string(),
    }];
    let rest = f.difference(OFlags::from_bits_retain(OFlags::ACCMODE));
    let mut left = rest.bits();
    for (name, flag) in rest.iter_names() {
        // TMPFILE and SYNC include other bits; show each name once, whole.
        if left & flag.bits() == flag.bits() {
            parts.push(format!("O_{name}"));
            left &= !flag.bits();
        }
    }
    if left != 0 {
        parts.push(format!("{left:#o}"));
    }
    parts.join("|")
}

fn prot(v: u64) -> String {
    let names: Vec<&str> = [(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")]
        .iter()
        .filter(|(b, _)| v & b != 0)
        .map(|(_, n)| *n)
        .collect();
    match (names.is_empty(), v & !7) {
        (true, 0) => "PROT_NONE".into(),
        (_, 0) => names.join("|"),
        (_, rest) => format!("{}|{rest:#x}", names.join("|")),
    }
}

/// `args` of the syscall `name` as strace shows them; `read(addr, max)` gives the guest's
/// resident bytes at an address (up to `max`).
pub(crate) fn format(name: &str, args: [u64; 6], read: &dyn Fn(u64, usize) -> Vec<u8>) -> String {
    let Some(kinds) = kinds(name) else {
        return args
            .iter()
            .map(|a| format!("{a:#x}"))
            .collect::<Vec<_>>()
            .join(", ");
    };
    kinds
        .iter()
        .zip(args)
        .map(|(k, v)| match *k {
            Fd if v as i32 == -100 => "AT_FDCWD".into(),
            Fd | Int => format!("{}", v as i64),
            Str if v == 0 => "NULL".into(),
            Str => {
                let b = read(v, 4096);
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                let shown = end.min(64);
                quoted(&b[..shown], shown < end)
            }
            Buf(n) => {
                let len = args.get(n).copied().unwrap_or(0) as usize;
                let b = read(v, len.min(32));
                quoted(&b, len > b.len())
            }
            Open => open_flags(v),
            Prot => prot(v),
            Mode if v == 0 => "0".into(),
            Mode => format!("0{v:o}"),
            Signal => signal(v),
            Hex if v == 0 => "NULL".into(),
            Hex => format!("{v:#x}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_read_as_strace_shows_them() {
        let mem = |addr: u64, max: usize| -> Vec<u8> {
            let data: &[u8] = if addr == 0x1000 {
                b"/etc/hostname\0"
            } else {
                b"hi\n"
            };
            data[..data.len().min(max)].to_vec()
        };
        assert_eq!(
            format(
                "openat",
                [(-100i64) as u64, 0x1000, 0o2000000, 0, 0, 0],
                &mem
            ),
            "AT_FDCWD, \"/etc/hostname\", O_RDONLY|O_CLOEXEC, 0"
        );
        assert_eq!(
            format("write", [1, 0x2000, 3, 0, 0, 0], &mem),
            "1, \"hi\\n\", 3"
        );
        assert_eq!(format("kill", [5, 15, 0, 0, 0, 0], &mem), "5, SIGTERM");
        assert_eq!(
            format("mmap", [0, 4096, 3, 0x22, u64::MAX, 0], &mem),
            "NULL, 4096, PROT_READ|PROT_WRITE, 0x22, -1, NULL"
        );
        assert_eq!(
            format(
                "openat",
                [3, 0x1000, 0o1 | 0o100 | 0o1000, 0o644, 0, 0],
                &mem
            ),
            "3, \"/etc/hostname\", O_WRONLY|O_CREAT|O_TRUNC, 0644"
        );
        assert_eq!(
            format("getpid", [0; 6], &mem),
            "0x0, 0x0, 0x0, 0x0, 0x0, 0x0"
        );
    }
}
