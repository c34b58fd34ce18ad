//! `/proc/sys`: the values of the sysctl files vfs's procfs lists ([`vfs::SYSCTLS`]), and
//! writes to them. The values belong to the uml instance ([`Sysctl`], kept in the process
//! table): `kernel/hostname` and `kernel/domainname` are what `uname` reports and what
//! `sethostname`/`setdomainname` set; `kernel/pid_max` bounds the pids handed out from
//! then on; `kernel/{msg,sem,shm}_next_id` give the next SysV object of their kind its id
//! (`CONFIG_CHECKPOINT_RESTORE`; back to -1 once used); `fs/pipe-max-size` bounds `F_SETPIPE_SZ` for unprivileged callers;
//! `fs/aio-max-nr` bounds `io_setup` (`fs/aio-nr` is the events of the live contexts);
//! `fs/protected_{symlinks,hardlinks}` switch vfs's link protections; `kernel/ns_last_pid`
//! is the last pid given and sets the next. The other
//! writable values are kept (a read shows what was written) without further effect.
//! Defaults are Linux's for a machine of the instance's size (`--mem`, one CPU); the
//! release and version strings are the host's, as `uname` reports them.
//!
//! Who may write is decided by procfs on open (the files' mode bits, as Linux's
//! `sysctl_perm`: guest root may write the `0644` ones, anyone else gets `EACCES`). A write
//! is parsed as Linux's `proc_dointvec`/`proc_dostring`: numbers separated by blanks, a
//! trailing newline; anything else, or a number out of the file's range, is `EINVAL`.

use std::collections::BTreeMap;

use abi::Errno;

use crate::Ctx;

/// Linux's `PID_MAX_LIMIT` on 64-bit machines, and the lowest `pid_max` it accepts.
const PID_MAX_LIMIT: i64 = 4 * 1024 * 1024;
const PID_MAX_MIN: i64 = 301;
/// Longest host or domain name (`__NEW_UTS_LEN`).
const UTS_LEN: usize = 64;
const PAGE_SIZE: u64 = 4096;

/// The instance's sysctl values.
#[derive(Clone, Debug)]
pub struct Sysctl {
    /// `kernel/hostname`, the `uname` node name.
    pub hostname: Vec<u8>,
    /// `kernel/domainname`, the `uname` domain name.
    pub domainname: Vec<u8>,
    /// `kernel/pid_max`: pids are below it.
    pub pid_max: i32,
    /// `fs/pipe-max-size`: the largest pipe an unprivileged `F_SETPIPE_SZ` may ask for.
    pub pipe_max_size: u64,
    /// `fs/aio-max-nr`: the most events all `io_setup` contexts may hold together.
    pub aio_max_nr: u64,
    /// The kernel log `syslog(2)` reads (`None` until first looked at: the boot line).
    pub klog: Option<Vec<u8>>,
    /// The other writable values, as last written.
    written: BTreeMap<&'static str, String>,
    /// `kernel/random/boot_id`: one per instance.
    boot_id: String,
}

impl Default for Sysctl {
    fn default() -> Sysctl {
        let uts = crate::info::utsname();
        Sysctl {
            hostname: cstr(&uts.nodename).to_vec(),
            domainname: cstr(&uts.domainname).to_vec(),
            pid_max: 32768,
            pipe_max_size: 1 << 20,
            aio_max_nr: 65536,
            klog: None,
            written: BTreeMap::new(),
            boot_id: uuid(),
        }
    }
}

/// The bytes of a NUL-padded `utsname` field.
pub(crate) fn cstr(f: &[u8]) -> &[u8] {
    let n = f.iter().position(|&b| b == 0).unwrap_or(f.len());
    &f[..n]
}

/// A random (version 4) UUID, as `kernel/random/uuid` gives.
fn uuid() -> String {
    let mut b = [0u8; 16];
    nondet::get_random_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..].concat()
    )
}

/// Linux's default for a file whose value does not follow the instance's state.
/// `mem`: the instance's memory in bytes.
fn default_value(path: &str, mem: u64) -> String {
    let pages = mem / PAGE_SIZE;
    match path {
        // Linux's files_maxfiles_init: 10% of memory at 1 KiB per file, at least NR_FILE.
        "fs/file-max" => (pages * (PAGE_SIZE / 1024) / 10).max(8192).to_string(),
        "fs/inotify/max_queued_events" => "16384".into(),
        "fs/inotify/max_user_instances" => "128".into(),
        // 1% of memory, at 1 KiB per watch, within Linux's bounds.
        "fs/inotify/max_user_watches" => (mem / 100 / 1080).clamp(8192, 1_048_576).to_string(),
        "fs/mqueue/msg_default" | "fs/mqueue/msg_max" => "10".into(),
        "fs/mqueue/msgsize_default" | "fs/mqueue/msgsize_max" => "8192".into(),
        "fs/mqueue/queues_max" => "256".into(),
        "fs/nr_open" => "1048576".into(),
        "kernel/cap_last_cap" => "40".into(),
        "kernel/ctrl-alt-del" => "0".into(),
        "kernel/dmesg_restrict" => "0".into(),
        "kernel/keys/gc_delay" => "300".into(),
        "kernel/keys/maxbytes" => "20000".into(),
        "kernel/keys/maxkeys" => "200".into(),
        "kernel/keys/persistent_keyring_expiry" => "259200".into(),
        "kernel/keys/root_maxbytes" => "25000000".into(),
        "kernel/keys/root_maxkeys" => "1000000".into(),
        "kernel/core_pattern" => "core".into(),
        "kernel/random/entropy_avail" | "kernel/random/poolsize" => "256".into(),
        "kernel/random/urandom_min_reseed_secs" => "60".into(),
        "kernel/random/write_wakeup_threshold" => "256".into(),
        "kernel/printk" => "4\t4\t1\t7".into(),
        "fs/lease-break-time" => "45".into(),
        "fs/pipe-user-pages-hard" => "0".into(),
        "fs/pipe-user-pages-soft" => "16384".into(),
        "fs/protected_fifos" | "fs/protected_regular" => "0".into(),
        "fs/protected_hardlinks" | "fs/protected_symlinks" => "1".into(),
        "vm/vfs_cache_pressure" => "100".into(),
        "kernel/msgmax" => "8192".into(),
        "kernel/msgmnb" => "16384".into(),
        "kernel/msgmni" => "32000".into(),
        "kernel/msg_next_id" | "kernel/sem_next_id" | "kernel/shm_next_id" => "-1".into(),
        "kernel/ngroups_max" => "65536".into(),
        "kernel/overflowgid" | "kernel/overflowuid" => "65534".into(),
        "kernel/perf_event_paranoid" => "2".into(),
        "kernel/sem" => "32000\t1024000000\t500\t32000".into(),
        "kernel/shmall" | "kernel/shmmax" => "18446744073692774399".into(),
        "kernel/shmmni" => "4096".into(),
        "kernel/tainted" => "0".into(),
        // Linux's set_max_threads: memory over 8 kernel stacks of 16 KiB.
        "kernel/threads-max" => (pages / 32).clamp(20, 0x3fff_ffff).to_string(),
        "net/core/somaxconn" => "4096".into(),
        // No group may open ICMP echo sockets.
        "net/ipv4/ping_group_range" => "1\t0".into(),
        "vm/max_map_count" => mm::layout::MAX_MAP_COUNT.to_string(),
        "vm/mmap_min_addr" => "65536".into(),
        "vm/overcommit_memory" | "vm/unprivileged_userfaultfd" => "0".into(),
        _ => String::new(),
    }
}

impl Sysctl {
    /// The contents of `/proc/sys/<path>`.
    pub(crate) fn read(&self, path: &str, mem: u64) -> Vec<u8> {
        let uts = crate::info::utsname();
        let text = match path {
            "kernel/hostname" => String::from_utf8_lossy(&self.hostname).into_owned(),
            "kernel/domainname" => String::from_utf8_lossy(&self.domainname).into_owned(),
            "kernel/ostype" => String::from_utf8_lossy(cstr(&uts.sysname)).into_owned(),
            "kernel/osrelease" => String::from_utf8_lossy(cstr(&uts.release)).into_owned(),
            "kernel/version" => String::from_utf8_lossy(cstr(&uts.version)).into_owned(),
            "kernel/pid_max" => self.pid_max.to_string(),
            "fs/pipe-max-size" => self.pipe_max_size.to_string(),
            "fs/aio-max-nr" => self.aio_max_nr.to_string(),
            "kernel/random/boot_id" => self.boot_id.clone(),
            "kernel/random/uuid" => uuid(),
            p => match self.written.get(p) {
                Some(v) => v.clone(),
                None => default_value(p, mem),
            },
        };
        format!("{text}\n").into_bytes()
    }

    /// The value of a one-number file (`kernel/keys/maxkeys`); 0 if it is none.
    pub(crate) fn int(&self, path: &str) -> i64 {
        let text = self.read(path, 0);
        String::from_utf8_lossy(&text).trim().parse().unwrap_or(0)
    }

    /// Sets a one-number file (`kernel/ctrl-alt-del`, which `reboot` also sets).
    pub(crate) fn set_int(&mut self, path: &'static str, v: i64) {
        self.written.insert(path, v.to_string());
    }

    /// The id `kernel/{msg,sem,shm}_next_id` (`path`) asks the next object of its kind to
    /// get, if it is set (not -1).
    pub(crate) fn next_id(&self, path: &str) -> Option<i32> {
        self.written
            .get(path)
            .and_then(|v| v.parse::<i32>().ok())
            .filter(|&v| v >= 0)
    }

    /// `SYSLOG_ACTION_CONSOLE_LEVEL`: the first number of `kernel/printk` becomes `level`.
    pub(crate) fn set_console_loglevel(&mut self, level: i32) {
        let now = String::from_utf8_lossy(&self.read("kernel/printk", 0)).into_owned();
        let mut v: Vec<&str> = now.split_ascii_whitespace().collect();
        let level = level.to_string();
        if let Some(first) = v.first_mut() {
            *first = &level;
        }
        self.written.insert("kernel/printk", v.join("\t"));
    }

    /// `net/ipv4/ping_group_range`: the groups that may open ICMP echo sockets.
    pub(crate) fn ping_group_range(&self) -> (u32, u32) {
        let text = self.read("net/ipv4/ping_group_range", 0);
        let text = String::from_utf8_lossy(&text);
        let mut v = text
            .split_ascii_whitespace()
            .map(|w| w.parse().unwrap_or(0));
        (v.next().unwrap_or(1), v.next().unwrap_or(0))
    }

    /// An object got the id `path` asked for: the file goes back to -1.
    pub(crate) fn next_id_used(&mut self, path: &'static str) {
        self.written.insert(path, "-1".into());
    }

    /// A write of `data` to `/proc/sys/<path>` (its permission was checked on open).
    fn write(&mut self, path: &'static str, data: &[u8]) -> Result<(), Errno> {
        match path {
            "kernel/hostname" => self.hostname = dostring(data),
            "kernel/domainname" => self.domainname = dostring(data),
            "kernel/pid_max" => {
                let [v] = dointvec::<1>(data)?;
                if !(PID_MAX_MIN..=PID_MAX_LIMIT).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.pid_max = v as i32;
            }
            "fs/aio-max-nr" => {
                let [v] = dointvec::<1>(data)?;
                self.aio_max_nr = u64::try_from(v).map_err(|_| Errno::EINVAL)?;
            }
            "fs/pipe-max-size" => {
                let [v] = dointvec::<1>(data)?;
                self.pipe_max_size = round_pipe_size(v).ok_or(Errno::EINVAL)?;
            }
            "kernel/core_pattern" => {
                // proc_dostring into a CORENAME_MAX_SIZE buffer.
                let text = String::from_utf8_lossy(&data[..data.len().min(127)]);
                let line = text.split(['\n', '\0']).next().unwrap_or_default();
                self.written.insert(path, line.to_string());
            }
            "kernel/sem" | "kernel/printk" => {
                let v = dointvec::<4>(data)?;
                let s: Vec<String> = v.iter().map(i64::to_string).collect();
                self.written.insert(path, s.join("\t"));
            }
            "kernel/msg_next_id" | "kernel/sem_next_id" | "kernel/shm_next_id" => {
                let [v] = dointvec::<1>(data)?;
                if !(-1..=i64::from(i32::MAX)).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.written.insert(path, v.to_string());
            }
            "net/ipv4/ping_group_range" => {
                // ipv4_ping_group_range: two gids; a low above the high one empties it.
                let [lo, hi] = dointvec::<2>(data)?;
                let gid = 0..=i64::from(i32::MAX);
                if !gid.contains(&lo) || !gid.contains(&hi) {
                    return Err(Errno::EINVAL);
                }
                let (lo, hi) = if lo <= hi { (lo, hi) } else { (1, 0) };
                self.written.insert(path, format!("{lo}\t{hi}"));
            }
            "vm/overcommit_memory" | "fs/protected_fifos" | "fs/protected_regular" => {
                let [v] = dointvec::<1>(data)?;
                if !(0..=2).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.written.insert(path, v.to_string());
            }
            "fs/protected_hardlinks" | "fs/protected_symlinks" | "vm/unprivileged_userfaultfd" => {
                let [v] = dointvec::<1>(data)?;
                if !(0..=1).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.written.insert(path, v.to_string());
            }
            _ => {
                let [v] = dointvec::<1>(data)?;
                self.written.insert(path, v.to_string());
            }
        }
        Ok(())
    }
}

/// `proc_dostring`: the text up to a newline or NUL, at most [`UTS_LEN`] bytes.
fn dostring(data: &[u8]) -> Vec<u8> {
    let end = data
        .iter()
        .position(|&b| b == b'\n' || b == 0)
        .unwrap_or(data.len());
    data[..end.min(UTS_LEN)].to_vec()
}

/// `proc_dointvec` for `N` values: decimal numbers (a sign allowed) separated by blanks,
/// optionally ended by a newline; fewer than `N` leaves the rest unchanged in Linux, which
/// uml treats as an error only when there is none at all.
fn dointvec<const N: usize>(data: &[u8]) -> Result<[i64; N], Errno> {
    let text = std::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    let mut out = [0i64; N];
    let mut n = 0;
    for word in text.split_ascii_whitespace() {
        if n == N {
            return Err(Errno::EINVAL);
        }
        out[n] = match word.parse::<i64>() {
            Ok(v) => v,
            // Values past i64 (shmmax's default) are kept as the largest.
            Err(_) if word.bytes().all(|b| b.is_ascii_digit()) => i64::MAX,
            Err(_) => return Err(Errno::EINVAL),
        };
        n += 1;
    }
    if n == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(out)
}

/// Linux's `round_pipe_size`: at least a page, a power of two, at most 2 GiB.
fn round_pipe_size(v: i64) -> Option<u64> {
    let v = u64::try_from(v).ok()?;
    if v > 1 << 31 {
        return None;
    }
    Some(v.max(PAGE_SIZE).next_power_of_two())
}

/// A write of `data` to `/proc/sys/<path>`. `kernel/ns_last_pid` (anyone may open it) is
/// for `CAP_SYS_ADMIN` or `CAP_CHECKPOINT_RESTORE` (`EPERM`), a value from 0 to `pid_max`:
/// the next pid given is the one after it.
pub(crate) fn write(ctx: &mut Ctx<'_>, path: &'static str, data: &[u8]) -> Result<(), Errno> {
    if path == "kernel/ns_last_pid" {
        let caps = ctx.proc.cred.caps;
        if !caps.has(crate::caps::CAP_SYS_ADMIN) && !caps.has(crate::caps::CAP_CHECKPOINT_RESTORE) {
            return Err(Errno::EPERM);
        }
        let [v] = dointvec::<1>(data)?;
        if !(0..=i64::from(ctx.procs.sysctl.pid_max)).contains(&v) {
            return Err(Errno::EINVAL);
        }
        ctx.procs.last_pid = v as i32;
        return Ok(());
    }
    ctx.procs.sysctl.write(path, data)?;
    // The file system applies the link protections.
    match path {
        "fs/protected_symlinks" => ctx
            .vfs
            .set_protected_symlinks(ctx.procs.sysctl.int(path) != 0),
        "fs/protected_hardlinks" => ctx
            .vfs
            .set_protected_hardlinks(ctx.procs.sysctl.int(path) != 0),
        _ => {}
    }
    Ok(())
}

/// `sethostname(name, len)` and `setdomainname(name, len)`: guest root only (`EPERM`),
/// at most 64 bytes (`EINVAL`).
pub(crate) fn set_uts_name(ctx: &mut Ctx<'_>, a: &crate::Args, host: bool) -> abi::SysResult {
    if ctx.proc.cred.euid != 0 {
        return Err(Errno::EPERM);
    }
    let len = i64::from(a.i32(1));
    if !(0..=UTS_LEN as i64).contains(&len) {
        return Err(Errno::EINVAL);
    }
    let mut name = vec![0u8; len as usize];
    ctx.copy_in(a.addr(0), &mut name)?;
    if host {
        ctx.procs.sysctl.hostname = name;
    } else {
        ctx.procs.sysctl.domainname = name;
    }
    Ok(0)
}

pub(crate) fn sys_sethostname(ctx: &mut Ctx<'_>, a: &crate::Args) -> abi::SysResult {
    set_uts_name(ctx, a, true)
}

pub(crate) fn sys_setdomainname(ctx: &mut Ctx<'_>, a: &crate::Args) -> abi::SysResult {
    set_uts_name(ctx, a, false)
}
