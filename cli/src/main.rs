//! `uml`: run a Linux program under uml's kernel.
//!
//! `uml run [OPTIONS] -- CMD ARGS` boots a kernel for one program and exits with its status
//! (128+N when a signal N killed it); `uml syscalls` prints the syscall table; `uml replay`
//! feeds a recorded log to one service.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "uml",
    version,
    about = "A user-mode Linux kernel: run Linux programs in a sandbox"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run CMD ARGS under a fresh kernel.
    Run(RunArgs),
    /// Print the syscall table with each entry's support level.
    Syscalls,
    /// Feed a log recorded with `uml run --record` to a fresh instance of one service and
    /// compare its replies (exit 0: all match; 1: the first divergence is printed).
    Replay(ReplayArgs),
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// The log.
    log: PathBuf,
    /// The service whose inbox is replayed: sched, mm, or syscall and vfs (the whole kernel
    /// run again on the log: every syscall's reply and every message it sends, vfs's
    /// included, are checked).
    #[arg(long)]
    service: kernel::replay::Service,
    /// Replay against this implementation instead of the recorded one (for sched: rr, fair
    /// or prio) and print what differs.
    #[arg(long = "with", value_name = "IMPL")]
    with: Option<String>,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Host directory to use as the guest's root (read-only under an in-memory overlay).
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// Write through to the root instead of the in-memory overlay.
    #[arg(long)]
    rw: bool,
    /// Mount host directory HOST at guest path GUEST (writes go to HOST; `:ro` makes them
    /// EROFS); repeatable.
    #[arg(short = 'v', long = "volume", value_name = "HOST:GUEST[:ro]", value_parser = parse_bind)]
    volumes: Vec<kernel::BindMount>,
    /// Physical memory of the guest (e.g. 512M, 1G).
    #[arg(long, default_value = "1G", value_parser = parse_size)]
    mem: u64,
    /// Set an environment variable in the guest (K=V); repeatable.
    #[arg(short = 'e', long = "env", value_parser = parse_env)]
    env: Vec<(OsString, OsString)>,
    /// The guest's working directory.
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<PathBuf>,
    /// Print each syscall on stderr.
    #[arg(long)]
    trace: bool,
    /// Scheduling policy: rr (round robin), fair (least weighted virtual runtime first, as
    /// Linux's CFS) or prio (strict priority by nice value).
    #[arg(long, default_value = "rr")]
    sched: kernel::PolicyKind,
    /// Trap mechanism: seccomp (a filter and signal handlers in the stub) or ptrace
    /// (PTRACE_SYSEMU); the environment variable UML_TRAP sets the default.
    #[arg(long, env = "UML_TRAP", default_value = "seccomp")]
    trap: kernel::TrapKind,
    /// The guest's user, NAME|UID[:GROUP|GID] as in the guest's /etc/passwd and /etc/group
    /// (default: root, uml's own; files reaching the host are still written as you).
    #[arg(short = 'u', long = "user", value_name = "USER[:GROUP]")]
    user: Option<String>,
    /// How the host realises guest address spaces: per-process (a host process each) or
    /// single (one host process runs them all, rewritten on each switch; single-lazy leaves
    /// the pages to faults); UML_MM sets the default.
    #[arg(long, env = "UML_MM", default_value = "per-process")]
    mm: kernel::MmKind,
    /// Where the kernel's services run: loop (on the kernel's own loop) or threads (each on
    /// a thread of its own, reached through channels); UML_DEPLOY sets the default.
    #[arg(long, env = "UML_DEPLOY", default_value = "loop")]
    deploy: kernel::Deploy,
    /// Record every message that crosses a service boundary to FILE (see `uml replay`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// The guest's network: `none`, a loopback network of the instance's own; `host`, the
    /// host's network (guest inet sockets are host sockets the kernel opens for it).
    #[arg(long, value_name = "none|host", default_value = "none", value_parser = ["none", "host"])]
    net: String,
    /// Publish a guest port: connections (or with /udp datagrams) to the host's
    /// HOSTADDR:HOSTPORT (default 127.0.0.1) go to the guest's socket on GUESTPORT
    /// (`--net none`).
    #[arg(
        short = 'p',
        long = "publish",
        value_name = "[HOSTADDR:]HOSTPORT:GUESTPORT[/udp]"
    )]
    publish: Vec<kernel::Publish>,
    /// Most guest processes; fork fails with EAGAIN beyond it (0: no limit).
    #[arg(long, default_value_t = 4096)]
    pids: usize,
    /// The program and its arguments.
    #[arg(last = true, required = true, num_args = 1..)]
    argv: Vec<OsString>,
}

/// Parses a size with an optional K/M/G/T suffix (powers of 1024; "iB"/"B" allowed).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().trim_end_matches("iB").trim_end_matches('B');
    let (digits, shift) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        Some('T') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("invalid size {s:?}"))?;
    let bytes = n
        .checked_shl(shift)
        .filter(|b| b >> shift == n)
        .ok_or(format!("size {s:?} too large"))?;
    if bytes < (16 << 20) {
        return Err(format!("size {s:?} is below the 16M minimum"));
    }
    Ok(bytes)
}

/// Parses `HOST:GUEST[:ro|:rw]`: HOST an existing directory, GUEST an absolute path.
fn parse_bind(s: &str) -> Result<kernel::BindMount, String> {
    let (rest, read_only) = match s.rsplit_once(':') {
        Some((rest, "ro")) => (rest, true),
        Some((rest, "rw")) => (rest, false),
        _ => (s, false),
    };
    let (host, guest) = rest
        .split_once(':')
        .ok_or(format!("expected HOST:GUEST[:ro], got {s:?}"))?;
    if !guest.starts_with('/') {
        return Err(format!("guest path {guest:?} is not absolute"));
    }
    if guest.split('/').any(|c| c == "." || c == "..") {
        return Err(format!("guest path {guest:?} has a `.` or `..` component"));
    }
    if guest.trim_matches('/').is_empty() {
        return Err("cannot mount over the guest's /".into());
    }
    let host = std::fs::canonicalize(host).map_err(|e| format!("host directory {host:?}: {e}"))?;
    if !host.is_dir() {
        return Err(format!("host path {} is not a directory", host.display()));
    }
    Ok(kernel::BindMount {
        host,
        guest: guest.into(),
        read_only,
    })
}

fn parse_env(s: &str) -> Result<(OsString, OsString), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.into(), v.into())),
        _ => Err(format!("expected K=V, got {s:?}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Syscalls => {
            print_syscalls();
            ExitCode::SUCCESS
        }
        Command::Run(args) => run(args),
        Command::Replay(args) => replay(args),
    }
}

fn replay(args: ReplayArgs) -> ExitCode {
    use kernel::replay::{read_log, replay, Service, Verdict};
    let shown = args.log.display();
    let verdict = read_log(&args.log).and_then(|log| match args.service {
        Service::Syscall | Service::Vfs if args.with.is_none() => replay_kernel(&log, args.service),
        service => replay(&log, service, args.with.as_deref()),
    });
    match verdict {
        Ok(Verdict::Matches { messages }) => {
            println!("{shown}: {messages} messages replayed, every reply matches");
            ExitCode::SUCCESS
        }
        Ok(Verdict::Compared(report)) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Ok(Verdict::Diverged {
            index,
            message,
            recorded,
            produced,
        }) => {
            println!("{shown}: message {index} diverges: {message}");
            println!("  recorded: {recorded}");
            println!("  produced: {produced}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("uml: {shown}: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the kernel of the recorded run again on `log` (its options are the recorded
/// command line's), checking `service`'s messages with the others.
fn replay_kernel(
    log: &kernel::replay::Log,
    service: kernel::replay::Service,
) -> Result<kernel::replay::Verdict, kernel::replay::ReplayError> {
    use kernel::replay::ReplayError;
    let Ok(Cli {
        command: Command::Run(args),
    }) = Cli::try_parse_from(&log.header.flags)
    else {
        return Err(ReplayError::NotReplayable(
            service,
            "the log's command line is not a `uml run`",
        ));
    };
    kernel::replay_run::replay_kernel(&config(args), log, service)
}

/// The kernel's configuration for `uml run ARGS`.
fn config(args: RunArgs) -> kernel::Config {
    kernel::Config {
        root: args.root,
        rw: args.rw,
        binds: args.volumes,
        mem_bytes: args.mem,
        env: args.env,
        workdir: args.workdir,
        trace: args.trace,
        sched: args.sched,
        max_pids: args.pids,
        net_host: args.net == "host",
        publish: args.publish,
        trap: args.trap,
        record: args.record,
        deploy: args.deploy,
        mm: args.mm,
        user: args.user,
        argv: args.argv,
    }
}

fn run(args: RunArgs) -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let cfg = config(args);
    match kernel::Kernel::run(&cfg) {
        Ok(status) => ExitCode::from(status.shell_code().clamp(0, 255) as u8),
        Err(kernel::KernelError::Start(e)) => {
            eprintln!("uml: {}", e.message);
            ExitCode::from(e.code.clamp(0, 255) as u8)
        }
        Err(e) => {
            eprintln!("uml: {e}");
            ExitCode::from(125)
        }
    }
}

fn print_syscalls() {
    use std::io::Write;
    use syscall::table::{Support, TABLE};
    let mut rows: Vec<_> = TABLE.iter().collect();
    rows.sort_by_key(|e| e.sysno.raw());
    let mut out = String::new();
    out.push_str(&format!(
        "{:>4}  {:<18} {:<8} note\n",
        "nr", "name", "support"
    ));
    for e in rows {
        let (level, note) = match e.support {
            Support::Full => ("full", ""),
            Support::Partial(n) => ("partial", n),
            Support::Error(n) => ("error", n),
        };
        out.push_str(&format!(
            "{:>4}  {:<18} {:<8} {}\n",
            e.sysno.raw(),
            e.sysno.name(),
            level,
            note
        ));
    }
    out.push_str("All other syscalls return ENOSYS (reported once under --trace).\n");
    // A closed pipe (`uml syscalls | head`) is not an error worth reporting.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
}
