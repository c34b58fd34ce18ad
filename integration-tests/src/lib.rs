//! End-to-end test harness for `uml`.
//!
//! Runs a program natively and under `uml run --`, and compares stdout and exit status. The
//! guest programs in `guests/` are compiled by `build.rs`; their paths are in [`guests`].

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Paths of the compiled static guest programs (one constant per `guests/*.c`).
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// How long one run may take before it is killed and the test fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The result of running one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Exit status, shell style: the exit code, or 128+N when killed by signal N.
    pub status: i32,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
}

impl Outcome {
    /// Stdout as (lossy) text.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as (lossy) text.
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// A readable dump of this outcome for failure messages.
    pub fn describe(&self, label: &str) -> String {
        format!(
            "--- {label}: status {}\n--- {label} stdout:\n{}\n--- {label} stderr:\n{}\n",
            self.status,
            self.stdout_str(),
            self.stderr_str()
        )
    }
}

/// Converts an [`ExitStatus`] into the shell convention (128+N for signal N).
pub fn shell_status(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => -1,
    }
}

/// The workspace root (parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("integration-tests has a parent")
        .to_path_buf()
}

/// The test script `name` in `integration-tests/scripts/`.
pub fn script(name: &str) -> PathBuf {
    workspace_root()
        .join("integration-tests/scripts")
        .join(name)
}

/// Locates the `uml` binary: `$UML_BIN`, else `uml` next to the test executable's profile
/// directory (same target dir and profile as the tests), else `<workspace>/target/x86_64-unknown-linux-gnu/release/uml`.
pub fn uml_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("UML_BIN") {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/deps/<test-binary>
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            let candidate = profile_dir.join("uml");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let fallback = workspace_root().join("target/x86_64-unknown-linux-gnu/release/uml");
    assert!(
        fallback.is_file(),
        "uml binary not found at {} (run `cargo build --release` or set UML_BIN)",
        fallback.display()
    );
    fallback
}

/// Runs `cmd` with stdin from /dev/null, collecting stdout/stderr, killing it after `timeout`.
pub fn run_command(cmd: Command, timeout: Duration) -> Outcome {
    run_command_with_stdin(cmd, None, timeout)
}

/// Like [`run_command`], but feeds `stdin` (when given) through a pipe.
pub fn run_command_with_stdin(
    mut cmd: Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Outcome {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {desc}: {e}"));
    let writer = stdin.map(|data| {
        let data = data.to_vec();
        let mut pipe = child.stdin.take().expect("stdin piped");
        thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(&data);
        })
    });
    let mut out = child.stdout.take().expect("stdout piped");
    let mut err = child.stderr.take().expect("stderr piped");
    let out_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("try_wait") {
            Some(s) => break s,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                // What it printed before it hung (the readers end once nothing else holds
                // the pipes; a descendant that still does leaves them open).
                let t = Instant::now();
                while !(out_t.is_finished() && err_t.is_finished())
                    && t.elapsed() < Duration::from_secs(2)
                {
                    thread::sleep(Duration::from_millis(10));
                }
                let so_far = |h: thread::JoinHandle<Vec<u8>>| {
                    if h.is_finished() {
                        String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned()
                    } else {
                        "(still held open)".to_string()
                    }
                };
                panic!(
                    "timed out after {timeout:?}: {desc}\n--- stdout so far:\n{}\n--- stderr so far:\n{}",
                    so_far(out_t),
                    so_far(err_t)
                );
            }
            None => thread::sleep(Duration::from_millis(5)),
        }
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    Outcome {
        status: shell_status(status),
        stdout: out_t.join().expect("stdout reader"),
        stderr: err_t.join().expect("stderr reader"),
    }
}

/// Options shared by a native run and the matching uml run.
#[derive(Debug, Clone, Default)]
pub struct RunOpts {
    /// Extra environment variables (set natively; passed as `-e K=V` to uml).
    pub env: Vec<(String, String)>,
    /// Working directory (native `current_dir`; `-w DIR` for uml).
    pub cwd: Option<PathBuf>,
    /// Extra flags for `uml run` (before `--`), e.g. `--rw`.
    pub uml_flags: Vec<String>,
    /// Timeout for each run ([`DEFAULT_TIMEOUT`] when `None`).
    pub timeout: Option<Duration>,
    /// Data fed to stdin (stdin is /dev/null when `None`).
    pub stdin: Option<Vec<u8>>,
}

impl RunOpts {
    fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }
}

/// Runs `argv` natively.
pub fn run_native<S: AsRef<OsStr>>(argv: &[S], opts: &RunOpts) -> Outcome {
    let mut cmd = Command::new(argv[0].as_ref());
    cmd.args(argv[1..].iter().map(AsRef::as_ref));
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    if let Some(d) = &opts.cwd {
        cmd.current_dir(d);
    }
    run_command_with_stdin(cmd, opts.stdin.as_deref(), opts.timeout())
}

/// Builds the `uml run [flags] -- argv` command without running it.
pub fn uml_command<S: AsRef<OsStr>>(argv: &[S], opts: &RunOpts) -> Command {
    let mut cmd = Command::new(uml_bin());
    cmd.arg("run");
    cmd.args(&opts.uml_flags);
    for (k, v) in &opts.env {
        cmd.arg("-e").arg(format!("{k}={v}"));
    }
    if let Some(d) = &opts.cwd {
        cmd.arg("-w").arg(d);
    }
    cmd.arg("--");
    cmd.args(argv.iter().map(AsRef::as_ref));
    cmd
}

/// Runs `argv` under `uml run --`.
pub fn run_uml<S: AsRef<OsStr>>(argv: &[S], opts: &RunOpts) -> Outcome {
    run_command_with_stdin(
        uml_command(argv, opts),
        opts.stdin.as_deref(),
        opts.timeout(),
    )
}

/// Asserts that two outcomes have the same stdout and status, showing both on mismatch.
pub fn assert_same(what: &str, native: &Outcome, uml: &Outcome) {
    if native.stdout != uml.stdout || native.status != uml.status {
        let mut diff = String::new();
        let n = native.stdout_str();
        let u = uml.stdout_str();
        for (i, (a, b)) in n.lines().zip(u.lines()).enumerate() {
            if a != b {
                diff = format!(
                    "first differing line {}:\n  native: {a}\n  uml:    {b}\n",
                    i + 1
                );
                break;
            }
        }
        panic!(
            "{what}: native and uml differ\n{diff}{}{}",
            native.describe("native"),
            uml.describe("uml")
        );
    }
}

/// Runs `argv` natively and under uml with the same options; asserts equal stdout and status.
/// Returns the native outcome.
pub fn compare<S: AsRef<OsStr>>(argv: &[S], opts: &RunOpts) -> Outcome {
    let what: Vec<String> = argv
        .iter()
        .map(|s| s.as_ref().to_string_lossy().into_owned())
        .collect();
    let native = run_native(argv, opts);
    let uml = run_uml(argv, opts);
    assert_same(&what.join(" "), &native, &uml);
    native
}

/// Asserts that stdout contains no line starting with `bad` (guests print `bad ...` on failure).
pub fn assert_no_bad_lines(what: &str, o: &Outcome) {
    let bad: Vec<String> = o
        .stdout_str()
        .lines()
        .filter(|l| l.starts_with("bad") || l.contains("=BAD"))
        .map(str::to_owned)
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: failed checks natively:\n{}\n{}",
        bad.join("\n"),
        o.describe(what)
    );
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh temporary directory, removed (recursively) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `/tmp/uml-it-<pid>-<n>-<tag>` (mode 0755).
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("uml-it-{}-{n}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        let canonical = fs::canonicalize(&path).expect("canonicalize temp dir");
        TempDir { path: canonical }
    }

    /// The directory's (canonical, absolute) path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `self.path().join(rel)`.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Converts a path to an [`OsString`] argument.
pub fn arg(p: impl AsRef<Path>) -> OsString {
    p.as_ref().as_os_str().to_owned()
}

/// True when the ELF file at `path` has a `PT_INTERP` header (dynamically linked).
pub fn is_dynamic_elf(path: &Path) -> bool {
    let data = fs::read(path).unwrap_or_default();
    if data.len() < 64 || &data[..4] != b"\x7fELF" || data[4] != 2 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([data[o], data[o + 1]]) as usize;
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&data[o..o + 8]);
        u64::from_le_bytes(b) as usize
    };
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        o + 4 <= data.len()
            && u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]) == 3
    })
}

/// Finds `name` in `$PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The static busybox found in `$PATH` (panics with an install hint when missing or dynamic).
pub fn busybox() -> PathBuf {
    let bb = which("busybox")
        .expect("busybox not in PATH: install busybox-static (scripts/test.sh does)");
    assert!(
        !is_dynamic_elf(&bb),
        "{} is dynamically linked: install busybox-static (scripts/test.sh does)",
        bb.display()
    );
    bb
}

/// Reads `/proc/PID/stat` and returns (state, ppid, starttime).
pub fn proc_stat(pid: u32) -> Option<(char, u32, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After "comm)": state(3) ppid(4) ... starttime(22) => indices 0, 1, 19.
    Some((
        f.first()?.chars().next()?,
        f.get(1)?.parse().ok()?,
        f.get(19)?.parse().ok()?,
    ))
}

/// All live (non-zombie) descendants of `pid`, as (pid, starttime).
pub fn descendants(pid: u32) -> Vec<(u32, u64)> {
    let mut all = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
                if let Some((state, ppid, start)) = proc_stat(p) {
                    if state != 'Z' && state != 'X' {
                        all.push((p, ppid, start));
                    }
                }
            }
        }
    }
    let mut found: Vec<(u32, u64)> = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, ppid, start) in &all {
            if ppid == parent && !found.iter().any(|&(q, _)| q == p) {
                found.push((p, start));
                frontier.push(p);
            }
        }
    }
    found
}

/// True when process `pid` with the given start time still exists and is not a zombie.
pub fn alive(pid: u32, starttime: u64) -> bool {
    matches!(proc_stat(pid), Some((state, _, start)) if start == starttime && state != 'Z' && state != 'X')
}

/// The two trap mechanisms, as `uml run` flags.
pub const TRAPS: [&str; 2] = ["--trap=ptrace", "--trap=seccomp"];

/// Compares `argv` natively and under uml with each trap mechanism (each run given
/// `timeout`); asserts no `bad` lines, a final `done` and status 0. The last outcome.
pub fn compare_both_traps(argv: &[OsString], timeout: Duration) -> Outcome {
    let mut last = None;
    for trap in TRAPS {
        let opts = RunOpts {
            uml_flags: vec![trap.into()],
            timeout: Some(timeout),
            ..RunOpts::default()
        };
        let o = compare(argv, &opts);
        let what = format!("{:?} {trap}", argv[0]);
        assert_no_bad_lines(&what, &o);
        assert!(
            o.stdout_str().ends_with("done\n"),
            "{what}: {}",
            o.describe("native")
        );
        assert_eq!(o.status, 0, "{what}: {}", o.describe("native"));
        last = Some(o);
    }
    last.expect("two trap mechanisms")
}
