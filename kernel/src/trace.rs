//! `--trace`: syscalls printed on stderr the way strace shows them, and unknown syscalls
//! reported once.

use std::collections::HashSet;

use syscall::Outcome;

/// Trace output state.
pub(crate) struct Tracer {
    enabled: bool,
    reported: HashSet<u64>,
}

impl Tracer {
    pub(crate) fn new(enabled: bool) -> Tracer {
        Tracer {
            enabled,
            reported: HashSet::new(),
        }
    }

    /// Whether syscalls are shown.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// A syscall with its arguments as shown ([`crate::trace_args::format`]) and its outcome.
    pub(crate) fn syscall(&mut self, pid: i32, nr: u64, args: &str, outcome: &Outcome) {
        if !self.enabled {
            return;
        }
        let name = syscall::name(nr);
        let result = match outcome.clone() {
            Outcome::Return(v) if (v as i64) < 0 && (v as i64) > -4096 => {
                let e = abi::Errno::from_raw(-(v as i64) as i32);
                e.map_or(format!("{}", v as i64), |e| {
                    format!("-1 {e:?} ({})", e.description())
                })
            }
            // Addresses in hex, counts and descriptors in decimal.
            Outcome::Return(v) if v > u64::from(u32::MAX) => format!("{v:#x}"),
            Outcome::Return(v) => format!("{v}"),
            Outcome::Yield => "0".into(),
            Outcome::Block(b) => format!("? (blocked on {:?})", b.keys.first()),
            Outcome::Exec { .. } => "0".into(),
            Outcome::Fork { seen, .. } => format!("{seen}"),
            Outcome::ExitThread(c) | Outcome::ExitGroup(c) => format!("? (exit {c})"),
        };
        eprintln!("[{pid}] {name}({args}) = {result}");
    }

    /// A syscall number uml does not implement, reported once per number.
    pub(crate) fn unknown(&mut self, nr: u64) {
        if self.enabled && self.reported.insert(nr) {
            eprintln!(
                "uml: unsupported syscall {nr} ({}) returns ENOSYS",
                syscall::name(nr)
            );
        }
    }

    /// A process ended.
    pub(crate) fn exited(&mut self, pid: i32, status: syscall::ExitStatus) {
        if self.enabled {
            match status {
                syscall::ExitStatus::Exited(code) => {
                    eprintln!("[{pid}] +++ exited with {code} +++")
                }
                syscall::ExitStatus::Signaled(signo, _) => {
                    eprintln!("[{pid}] +++ killed by signal {signo} +++")
                }
            }
        }
    }

    /// The guest was killed because physical memory ran out.
    pub(crate) fn oom(&mut self, pid: i32) {
        eprintln!("uml: out of memory (--mem): killed pid {pid}");
    }

    /// The one runner process (`--mm single`) died while `pid` was to run.
    pub(crate) fn runner_died(&mut self, pid: i32, how: &trap::HostExit) {
        eprintln!(
            "uml: the runner process died ({how:?}) as pid {pid} was to run: killed pid \
             {pid}; the other processes go on in a new runner"
        );
    }
}
