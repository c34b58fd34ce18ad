//! The system-wide files of `/proc`: `cpuinfo`, `meminfo`, `stat`, `uptime`, `loadavg`,
//! `version` (`/proc/sys` is [`super::sys`]). uml is one CPU; memory is the
//! `--mem` physical memory.

use mm::Mm;
use vfs::{ProcFile, ProcSource};

use super::ProcView;

/// Clock ticks per second (`USER_HZ`).
const HZ: u64 = 100;

fn ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / HZ)
}

/// Contents of a system-wide file.
pub(super) fn contents(v: &ProcView<'_>, mm: &Mm, file: ProcFile) -> Vec<u8> {
    let uts = crate::info::utsname();
    let field = |f: &[u8; 65]| {
        let n = f.iter().position(|&b| b == 0).unwrap_or(f.len());
        String::from_utf8_lossy(&f[..n]).into_owned()
    };
    let up = crate::time::since_boot();
    let busy_ns: u64 = v
        .pids()
        .iter()
        .filter_map(|&p| v.get(p))
        .map(|p| p.cpu_ns)
        .sum::<u64>();
    let idle_ns = (up.as_nanos() as u64).saturating_sub(busy_ns);
    let text = match file {
        ProcFile::Cpuinfo => cpuinfo(),
        ProcFile::Meminfo => meminfo(mm, v.table.swaps.total_bytes()),
        ProcFile::SysStat => {
            let (user, idle) = (ticks(busy_ns), ticks(idle_ns));
            let cpu = format!("{user} 0 0 {idle} 0 0 0 0 0 0");
            let btime = nondet::ktime_get_real()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.saturating_sub(up).as_secs());
            format!(
                "cpu  {cpu}\ncpu0 {cpu}\nintr 0\nctxt 0\nbtime {btime}\nprocesses {}\n\
                 procs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
                v.pids().len()
            )
        }
        ProcFile::Uptime => {
            let up = crate::time::uptime_in(&v.table.ns, v.caller.ns.time);
            format!(
                "{}.{:02} {}.{:02}\n",
                up.tv_sec,
                up.tv_nsec / 10_000_000,
                idle_ns / 1_000_000_000,
                (idle_ns / 10_000_000) % 100
            )
        }
        ProcFile::Loadavg => {
            let pids = v.pids();
            let last = pids.iter().max().copied().unwrap_or(0);
            format!("0.00 0.00 0.00 1/{} {last}\n", pids.len())
        }
        ProcFile::Version => format!(
            "{} version {} (uml) {}\n",
            field(&uts.sysname),
            field(&uts.release),
            field(&uts.version)
        ),
        _ => String::new(),
    };
    text.into_bytes()
}

/// The CPU uml is: the host's first processor (the guest runs on it and sees its `cpuid`),
/// as the only one.
fn cpuinfo() -> String {
    static CPU: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CPU.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let first = host.split("\n\n").next().unwrap_or_default();
        let mut out = String::new();
        for l in first.lines() {
            let key = l.split(':').next().unwrap_or_default().trim_end();
            let l = match key {
                "processor" | "core id" | "apicid" | "initial apicid" | "physical id" => {
                    format!("{key}\t: 0")
                }
                "siblings" | "cpu cores" => format!("{key}\t: 1"),
                _ => l.to_string(),
            };
            out += &l;
            out.push('\n');
        }
        out.push('\n');
        out
    })
    .clone()
}

/// `/proc/meminfo`: total is physical memory (`--mem`), free is its free frames; swap is
/// the swap areas' size, all of it free.
fn meminfo(mm: &Mm, swap: u64) -> String {
    let s = mm.stats();
    let used = s.total_bytes - s.free_bytes;
    let line = |k: &str, b: u64| format!("{:<16}{:>8} kB\n", format!("{k}:"), b / 1024);
    let mut out = String::new();
    for (k, b) in [
        ("MemTotal", s.total_bytes),
        ("MemFree", s.free_bytes),
        ("MemAvailable", s.free_bytes),
        ("Buffers", 0),
        ("Cached", 0),
        ("SwapCached", 0),
        ("Active", used),
        ("Inactive", 0),
        ("SwapTotal", swap),
        ("SwapFree", swap),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", used),
        ("Mapped", 0),
        ("Shmem", 0),
        ("CommitLimit", s.total_bytes),
        ("Committed_AS", s.committed_bytes),
    ] {
        out += &line(k, b);
    }
    out
}
