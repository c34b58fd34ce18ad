//! The files of `/proc/PID` about one process: `status`, `stat`, `statm`, `cmdline`,
//! `environ`, `comm` and `limits`.

use abi::flags::rlimit;
use abi::signal::{SIG_DFL, SIG_IGN};
use mm::{Mm, PAGE_SIZE};
use vfs::ProcFile;

use super::{kb, ProcView};
use crate::process::{ProcState, Process};

/// Memory use of a process, from its VMAs.
#[derive(Default)]
struct MemUse {
    size: u64,
    locked: u64,
    rss: u64,
    anon: u64,
    data: u64,
    stack: u64,
    exe: u64,
    lib: u64,
    code: (u64, u64),
    data_seg: (u64, u64),
}

fn mem_use(mm: &Mm, p: &Process) -> MemUse {
    let mut u = MemUse::default();
    let exe = p.exe.file.stat().ok().map(|s| (s.st_dev, s.st_ino));
    for r in mm.vma_report(p.mm) {
        let len = r.info.end - r.info.start;
        u.size += len;
        if r.info.locked {
            u.locked += len;
        }
        u.rss += r.rss_pages * PAGE_SIZE;
        u.anon += r.anon_pages * PAGE_SIZE;
        let is_stack = r.info.start <= p.exe.areas.stack && p.exe.areas.stack < r.info.end;
        if is_stack {
            u.stack += len;
        } else if r.info.prot & 2 != 0 && !r.info.shared {
            u.data += len;
        }
        let of_exe = r
            .file
            .as_deref()
            .and_then(crate::mem::mapped_file)
            .and_then(|f| f.stat().ok())
            .map(|s| (s.st_dev, s.st_ino))
            .is_some_and(|id| Some(id) == exe);
        if of_exe {
            if r.info.prot & 4 != 0 {
                u.exe += len;
                u.code = (r.info.start, r.info.end);
            } else if r.info.prot & 2 != 0 {
                u.data_seg = (r.info.start, r.info.end);
            }
        } else if r.info.prot & 4 != 0 {
            u.lib += len;
        }
    }
    u
}

/// The one-letter state and its name, of thread `tid` of `p` (for `/proc/PID`, the
/// leader's, as Linux shows for the process).
fn state(v: &ProcView<'_>, p: &Process, tid: i32) -> (char, &'static str) {
    match p.state {
        ProcState::Zombie(_) => ('Z', "zombie"),
        _ if p.ptrace.as_ref().is_some_and(|t| t.stopped(tid)) => ('t', "tracing stop"),
        ProcState::Stopped { .. } => ('T', "stopped"),
        _ if tid == v.caller.sig_thread => ('R', "running"),
        _ => match v.blocked(tid) {
            Some(true) => ('S', "sleeping"),
            Some(false) => ('D', "disk sleep"),
            None => ('R', "running"),
        },
    }
}

/// Ignored and caught signals, as masks.
fn dispositions(p: &Process) -> (u64, u64) {
    let (mut ign, mut cgt) = (0u64, 0u64);
    for signo in 1..=64 {
        let h = p.sig.action(signo).handler;
        if h == SIG_IGN {
            ign |= 1 << (signo - 1);
        } else if h != SIG_DFL {
            cgt |= 1 << (signo - 1);
        }
    }
    (ign, cgt)
}

/// Reads `[start, end)` of `p`'s memory as far as it is resident.
fn read_area(mm: &Mm, p: &Process, (start, end): (u64, u64)) -> Vec<u8> {
    let mut buf = vec![0u8; end.saturating_sub(start).min(1 << 20) as usize];
    let n = mm.read_resident(p.mm, start, &mut buf);
    buf.truncate(n);
    buf
}

/// `cmdline` as Linux gives it: the argument strings; if the program wrote over the last
/// NUL (`setproctitle`), the string that now runs on into the environment area.
fn cmdline(mm: &Mm, p: &Process) -> Vec<u8> {
    let a = p.exe.areas;
    let mut args = read_area(mm, p, a.args);
    if args.last().is_some_and(|&b| b != 0) {
        args.extend(read_area(mm, p, a.env));
        if let Some(i) = args.iter().position(|&b| b == 0) {
            args.truncate(i + 1);
        }
    }
    args
}

/// Contents of a file about process `p`, seen as its thread `tid` (`/proc/TID` and
/// `/proc/PID/task/TID`; the leader for `/proc/PID`): `stat` and `status` give that
/// thread's id and state.
pub(super) fn contents(
    v: &ProcView<'_>,
    mm: &Mm,
    p: &Process,
    tid: i32,
    file: ProcFile,
) -> Vec<u8> {
    match file {
        ProcFile::Status => status(v, mm, p, tid).into_bytes(),
        ProcFile::Stat => stat(v, mm, p, tid).into_bytes(),
        ProcFile::Statm => {
            let u = mem_use(mm, p);
            let pg = |b: u64| b / PAGE_SIZE;
            format!(
                "{} {} {} {} 0 {} 0\n",
                pg(u.size),
                pg(u.rss),
                pg(u.rss - u.anon),
                pg(u.exe),
                pg(u.data + u.stack)
            )
            .into_bytes()
        }
        ProcFile::Cmdline => cmdline(mm, p),
        ProcFile::Environ => read_area(mm, p, p.exe.areas.env),
        ProcFile::Comm => {
            let mut c = p.comm.clone();
            c.push(b'\n');
            c
        }
        ProcFile::Limits => limits(p).into_bytes(),
        ProcFile::TimensOffsets => {
            crate::ns::time::offsets_file(&v.table.ns, p.ns.time_for_children)
        }
        ProcFile::TimerslackNs => {
            let slack = p.threads.get(&tid).map_or(0, |t| t.sched.timer_slack_ns);
            format!("{slack}\n").into_bytes()
        }
        _ => Vec::new(),
    }
}

fn status(v: &ProcView<'_>, mm: &Mm, p: &Process, tid: i32) -> String {
    let u = mem_use(mm, p);
    let (st, st_name) = state(v, p, tid);
    let c = p.cred;
    let fds = p.fds.fds().last().map_or(0, |f| f as u64 + 1);
    let fdsize = fds.next_power_of_two().max(64);
    let (ign, cgt) = dispositions(p);
    let pending = p.sig.pending_set();
    let sigpending = p.rlimits[rlimit::SIGPENDING as usize].cur;
    let mut s = String::new();
    // Linux escapes a newline and a backslash in the name here (only here).
    let name = String::from_utf8_lossy(&p.comm)
        .replace('\\', "\\\\")
        .replace('\n', "\\n");
    s += &format!("Name:\t{name}\n");
    s += &format!("Umask:\t{:04o}\n", p.umask);
    s += &format!("State:\t{st} ({st_name})\n");
    s += &format!("Tgid:\t{}\nNgid:\t0\nPid:\t{tid}\n", p.pid);
    let tracer = crate::ptrace::tracer_of(p).unwrap_or(0);
    s += &format!("PPid:\t{}\nTracerPid:\t{tracer}\n", p.ppid);
    s += &format!("Uid:\t{}\t{}\t{}\t{}\n", c.uid, c.euid, c.suid, c.fsuid);
    s += &format!("Gid:\t{}\t{}\t{}\t{}\n", c.gid, c.egid, c.sgid, c.fsgid);
    // Space-separated, and a trailing space even when there are none (as Linux).
    let groups: Vec<String> = p.groups.iter().map(u32::to_string).collect();
    let groups = groups.join(" ") + " ";
    s += &format!("FDSize:\t{fdsize}\nGroups:\t{groups}\n");
    let chain = |id: i32| {
        let v = crate::ns::pid::chain(v.namespaces(), p.ns.pid, id);
        v.iter().map(i32::to_string).collect::<Vec<_>>().join("\t")
    };
    s += &format!("NStgid:\t{}\nNSpid:\t{}\n", chain(p.pid), chain(tid));
    s += &format!("NSpgid:\t{}\nNSsid:\t{}\n", p.pgid, p.sid);
    if !matches!(p.state, ProcState::Zombie(_)) {
        for (k, b) in [
            ("VmPeak", u.size),
            ("VmSize", u.size),
            ("VmLck", u.locked),
            ("VmPin", 0),
            ("VmHWM", u.rss),
            ("VmRSS", u.rss),
            ("RssAnon", u.anon),
            ("RssFile", u.rss - u.anon),
            ("RssShmem", 0),
            ("VmData", u.data),
            ("VmStk", u.stack),
            ("VmExe", u.exe),
            ("VmLib", u.lib),
            ("VmPTE", 0),
            ("VmSwap", 0),
        ] {
            s += &format!("{k}:\t{}\n", kb(b));
        }
    }
    s += &format!("CoreDumping:\t0\nThreads:\t{}\n", p.threads.len());
    s += &format!("SigQ:\t{}/{sigpending}\n", pending.count_ones());
    s += &format!("SigPnd:\t{:016x}\nShdPnd:\t{:016x}\n", 0, pending);
    s += &format!("SigBlk:\t{:016x}\n", p.sig.blocked);
    s += &format!("SigIgn:\t{ign:016x}\nSigCgt:\t{cgt:016x}\n");
    let k = c.caps;
    s += &format!(
        "CapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\n",
        k.inheritable, k.permitted, k.effective
    );
    s += &format!(
        "CapBnd:\t{:016x}\nCapAmb:\t{:016x}\n",
        k.bounding, k.ambient
    );
    s += &format!("NoNewPrivs:\t{}\n", u8::from(p.no_new_privs));
    s += "Seccomp:\t0\nSeccomp_filters:\t0\n";
    s += "Cpus_allowed:\t1\nCpus_allowed_list:\t0\n";
    s += "Mems_allowed:\t1\nMems_allowed_list:\t0\n";
    s += "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n";
    s
}

fn stat(v: &ProcView<'_>, mm: &Mm, p: &Process, tid: i32) -> String {
    let u = mem_use(mm, p);
    let (st, _) = state(v, p, tid);
    let ticks = |ns: u64| ns / 10_000_000;
    let start = p.start_time.as_millis() as u64 / 10;
    let (ign, cgt) = dispositions(p);
    let (brk_start, _) = mm.brk_range(p.mm);
    let a = p.exe.areas;
    // The leader's scheduling (or the first live thread's, once the leader has gone).
    let sched = p
        .threads
        .get(&p.pid)
        .or_else(|| p.threads.values().next())
        .map(|t| t.sched)
        .unwrap_or_default();
    // Linux's `prio - MAX_RT_PRIO`: 20 + nice, -1 - the real-time priority, or -101 for a
    // deadline task (its prio is -1).
    let priority = match sched.policy {
        crate::priority::policy::FIFO | crate::priority::policy::RR => {
            -1 - sched.rt_priority as i64
        }
        crate::priority::policy::DEADLINE => -101,
        _ => 20 + i64::from(sched.nice),
    };
    let exit_code = match p.state {
        ProcState::Zombie(e) => e.wait_status(),
        _ => 0,
    };
    let rsslim = u64::MAX;
    let fields: [String; 50] = [
        st.to_string(),
        p.ppid.to_string(),
        p.pgid.to_string(),
        p.sid.to_string(),
        "0".into(),  // tty_nr
        "-1".into(), // tpgid
        "0".into(),  // flags
        "0".into(),  // minflt
        "0".into(),
        "0".into(),
        "0".into(),
        ticks(p.cpu_ns).to_string(),
        "0".into(),
        ticks(p.children_cpu_ns).to_string(),
        "0".into(),
        priority.to_string(),
        sched.nice.to_string(),
        p.threads.len().to_string(),
        "0".into(),
        start.to_string(),
        u.size.to_string(),
        (u.rss / PAGE_SIZE).to_string(),
        rsslim.to_string(),
        u.code.0.to_string(),
        u.code.1.to_string(),
        a.stack.to_string(),
        "0".into(), // kstkesp
        "0".into(), // kstkeip
        p.sig.pending_set().to_string(),
        p.sig.blocked.to_string(),
        ign.to_string(),
        cgt.to_string(),
        "0".into(), // wchan
        "0".into(),
        "0".into(),
        p.exit_signal.to_string(),
        "0".into(), // processor
        sched.rt_priority.to_string(),
        sched.policy.to_string(),
        "0".into(),
        "0".into(),
        "0".into(),
        u.data_seg.0.to_string(),
        u.data_seg.1.to_string(),
        brk_start.to_string(),
        a.args.0.to_string(),
        a.args.1.to_string(),
        a.env.0.to_string(),
        a.env.1.to_string(),
        exit_code.to_string(),
    ];
    format!(
        "{} ({}) {}\n",
        tid,
        String::from_utf8_lossy(&p.comm),
        fields.join(" ")
    )
}

fn limits(p: &Process) -> String {
    const NAMES: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let mut s = format!(
        "{:<25} {:<20} {:<20} {:<10}\n",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    let val = |v: u64| {
        if v == rlimit::INFINITY {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    for (i, (name, unit)) in NAMES.iter().enumerate() {
        let l = p.rlimits.get(i).copied().unwrap_or_default();
        s += &format!("{:<25} {:<20} {:<20} ", name, val(l.cur), val(l.max));
        if unit.is_empty() {
            s.push('\n');
        } else {
            s += &format!("{unit:<10}\n");
        }
    }
    s
}
