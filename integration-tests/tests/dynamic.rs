//! Dynamically linked programs (issue 4): the host's own `/bin` and `/usr/bin` (bash,
//! coreutils, grep/sed/awk, tar+gzip, python3, perl, gcc) run natively and under
//! `uml run --` on the default root (the host's `/`, read-only, under the in-memory overlay);
//! stdout and exit status must be identical.
//!
//! The longer sequences live in `integration-tests/scripts/dyn_*.sh` and run as
//! `/bin/bash SCRIPT`. They see `FIX` = a private copy of `integration-tests/fixtures/dyn` with
//! fixed mtimes, `TMPD` = a scratch directory (each script makes its own `mktemp -d` inside
//! it, so the native run and the uml run never see each other's files), `HOME` = an empty
//! directory, `PATH=/usr/bin:/bin`, `LC_ALL=C` and `TZ=UTC`.
//!
//! Tests that do not pass yet are `#[ignore]`d with the missing feature in the reason; run
//! them with `cargo test -p integration-tests --test dynamic -- --include-ignored`.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration_tests::{
    compare, run_command, script, uml_bin, uml_command, workspace_root, Outcome, RunOpts, TempDir,
};

const BASH: &str = "/bin/bash";
const PYTHON: &str = "/usr/bin/python3";
const PERL: &str = "/usr/bin/perl";

struct Env {
    _tmp: TempDir,
    fix: PathBuf,
    scratch: PathBuf,
    home: PathBuf,
}

/// Panics with a clear message when a host program the test needs is missing.
fn require(path: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing on this host (the dynamic tests run the host's own programs)"
    );
}

fn touch_d(path: &Path, when: &str) {
    let st = Command::new("touch")
        .arg("-h")
        .arg("-d")
        .arg(when)
        .arg(path)
        .status()
        .expect("run touch");
    assert!(st.success(), "touch -d failed on {}", path.display());
}

/// A private copy of `fixtures/dyn` with fixed mtimes, a world-writable scratch dir and a
/// home directory.
fn setup(tag: &str) -> Env {
    let tmp = TempDir::new(tag);
    let fix = tmp.join("fix");
    let src = workspace_root().join("integration-tests/fixtures/dyn");
    let st = Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(&fix)
        .status()
        .expect("run cp");
    assert!(st.success(), "cp -r {} failed", src.display());
    // Fixed modes and mtimes, whatever the checkout did (children before parents).
    let mut all = Vec::new();
    let mut stack = vec![fix.clone()];
    while let Some(d) = stack.pop() {
        all.push(d.clone());
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
                all.push(p);
            }
        }
    }
    for p in all.iter().rev() {
        if p.is_dir() {
            fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        touch_d(p, "2021-01-01 00:00:00 UTC");
    }
    touch_d(&fix.join("data.csv"), "2020-06-01 00:00:00 UTC");
    let scratch = tmp.join("scratch");
    fs::create_dir(&scratch).unwrap();
    fs::set_permissions(&scratch, fs::Permissions::from_mode(0o777)).unwrap();
    let home = tmp.join("home");
    fs::create_dir(&home).unwrap();
    Env {
        _tmp: tmp,
        fix,
        scratch,
        home,
    }
}

fn opts(env: &Env) -> RunOpts {
    RunOpts {
        env: vec![
            ("PATH".into(), "/usr/bin:/bin".into()),
            ("FIX".into(), env.fix.display().to_string()),
            ("TMPD".into(), env.scratch.display().to_string()),
            ("HOME".into(), env.home.display().to_string()),
            ("TMPDIR".into(), env.scratch.display().to_string()),
            ("LC_ALL".into(), "C".into()),
            ("TZ".into(), "UTC".into()),
        ],
        cwd: Some(env.home.clone()),
        timeout: Some(Duration::from_secs(120)),
        ..RunOpts::default()
    }
}

/// Runs `bash scripts/NAME` natively and under uml; asserts identical stdout and status, and
/// the expected native status.
fn run_script(name: &str, want_status: i32) -> Outcome {
    require(BASH);
    let env = setup(&name.replace('.', "-"));
    let path = script(name);
    assert!(path.is_file(), "missing {}", path.display());
    let o = compare(&[BASH.as_ref(), path.as_os_str()], &opts(&env));
    assert_eq!(
        o.status,
        want_status,
        "{name}: unexpected native status\n{}",
        o.describe("native")
    );
    o
}

/// Runs `bash -c CMD` natively and under uml (fixture environment); asserts identical stdout
/// and status.
fn bash_c(tag: &str, cmd: &str) -> Outcome {
    require(BASH);
    let env = setup(tag);
    compare(&[BASH, "-c", cmd], &opts(&env))
}

fn has(o: &Outcome, line: &str) {
    let out = o.stdout_str();
    assert!(
        out.lines().any(|l| l == line),
        "expected line {line:?} natively in:\n{out}"
    );
}

// ------------------------------------------------------------------------------ bash

/// The smallest dynamic program: bash itself, with a pipeline of dynamic coreutils.
#[test]
fn bash_c_smoke() {
    let o = bash_c(
        "smoke",
        "echo hello | tr a-z A-Z; x=$(ls /usr/bin | wc -l); test \"$x\" -gt 10 && echo many; exit 4",
    );
    assert_eq!(o.status, 4);
    assert_eq!(o.stdout_str(), "HELLO\nmany\n");
}

#[test]
fn bash_pipelines_functions_substitution() {
    let o = run_script("dyn_bash.sh", 3);
    has(&o, "fact 12 = 479001600");
    has(&o, "PIPESTATUS: 0 1 3");
    has(&o, "fib 50 = 12586269025");
    has(&o, "killed child status: 143");
    has(&o, "usr1 status: 5");
}

// ------------------------------------------------------------------------------ coreutils

/// `ls -la /usr/bin | head`, sort, cut, wc, `find /usr/share -name '*.txt' | wc -l`, `du -s`,
/// `stat -c`, `date -d @0 -u`.
#[test]
fn coreutils_ls_sort_cut_wc_find_du_stat_date() {
    let o = run_script("dyn_coreutils.sh", 0);
    has(&o, "Thu Jan  1 00:00:00 UTC 1970");
    has(&o, "1614834367");
    has(&o, "done");
}

/// `cp -r`, `mv`, `rm -r` (and ln, chmod, touch, truncate, dd, split) in a scratch directory.
#[test]
fn coreutils_cp_mv_rm_in_scratch_dir() {
    let o = run_script("dyn_files.sh", 0);
    has(&o, "diff -r ok");
    has(&o, "split ok");
    has(&o, "scratch removed");
}

/// `cp -a` preserves ownership (fchownat), modes and times.
#[test]
fn coreutils_cp_a_preserves_owner_mode_times() {
    let o = bash_c(
        "cp-a",
        r#"set -e; S=$(mktemp -d "$TMPD/cpa.XXXXXX"); cd "$S"
           cp -a "$FIX" archive
           (cd archive && find . -printf '%P %m %TY-%Tm-%Td %TT\n' | sort)
           test "$(stat -c %u:%g archive/sub)" = "$(stat -c %u:%g "$FIX/sub")" && echo "owner kept"
           cp -p archive/words.txt w2; stat -c '%a %Y' w2
           cd /; rm -r "$S""#,
    );
    assert_eq!(o.status, 0, "{}", o.describe("native"));
    has(&o, "sub 755 2021-01-01 00:00:00.0000000000");
    has(&o, "owner kept");
}

#[test]
fn grep_sed_awk() {
    let o = run_script("dyn_text.sh", 0);
    has(&o, "./text.txt:TODO: nothing here");
    has(&o, "The brown quick fox");
    has(&o, "eng 3 81.00");
}

/// `tar czf`, then `tar xzf` and `diff -r` (one uml run: each run has its own overlay).
#[test]

fn tar_czf_then_xzf_and_compare() {
    let o = run_script("dyn_tar.sh", 0);
    has(&o, "gzip -t ok");
    has(&o, "diff -r ok");
    has(&o, "round trip of sys/ ok");
}

// ------------------------------------------------------------------------------ python, perl

const PY_PROGRAM: &str = r#"
import json, os, subprocess, sys, tempfile
fix = os.environ["FIX"]
d = {"b": [1, 2, {"c": None}], "a": "\u00e9t\u00e9", "n": 1.5, "t": True}
s = json.dumps(d, sort_keys=True)
print(s)
print("round trip:", json.loads(s) == d)
with open(os.path.join(fix, "sub", "conf.json")) as f:
    conf = json.load(f)
print("conf:", conf["name"], sum(conf["items"]), conf["nested"]["ok"])
print("listdir:", sorted(os.listdir(fix)))
st = os.stat(os.path.join(fix, "words.txt"))
print("stat:", st.st_size, oct(st.st_mode), int(st.st_mtime))
print("walk:", sorted(os.path.relpath(os.path.join(r, n), fix) for r, _, fs in os.walk(fix) for n in fs))
print("uname:", os.uname().sysname, "cwd is HOME:", os.getcwd() == os.environ["HOME"])
r = subprocess.run(["/bin/sh", "-c", "echo child says $0; exit 3", "hi"], capture_output=True, text=True)
print("subprocess.run:", r.returncode, r.stdout.strip())
print("check_output:", repr(subprocess.check_output(["sort"], input="b\na\nc\n", text=True)))
p = subprocess.Popen([sys.executable, "-c", "import sys; print(sum(int(l) for l in sys.stdin))"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
out, _ = p.communicate("".join(f"{i}\n" for i in range(1, 101)))
print("python child:", out.strip(), p.returncode)
try:
    subprocess.run(["/nonexistent/program"])
except FileNotFoundError as e:
    print("missing program:", e.errno)
pid = os.fork()
if pid == 0:
    os._exit(6)
print("fork+waitpid:", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
with tempfile.TemporaryDirectory() as t:
    path = os.path.join(t, "data.bin")
    with open(path, "wb") as f:
        f.write(bytes(range(256)) * 64)
    print("tempdir file:", os.path.getsize(path), open(path, "rb").read()[255])
    os.rename(path, path + ".2")
    print("tempdir list:", os.listdir(t))
print("tempdir removed:", not os.path.exists(t))
with tempfile.NamedTemporaryFile("w+", suffix=".txt") as f:
    f.write("named temp\n")
    f.flush()
    f.seek(0)
    print("named:", f.read().strip(), f.name.endswith(".txt"), os.path.dirname(f.name) == os.environ["TMPDIR"])
fd, name = tempfile.mkstemp()
os.write(fd, b"x" * 10000)
os.lseek(fd, 0, 0)
print("mkstemp:", len(os.read(fd, 20000)))
os.close(fd)
os.unlink(name)
sys.exit(5)
"#;

#[test]
fn python3_json_os_subprocess_tempfile() {
    require(PYTHON);
    let env = setup("python");
    let o = compare(&[PYTHON, "-c", PY_PROGRAM], &opts(&env));
    assert_eq!(o.status, 5, "{}", o.describe("native"));
    has(&o, "round trip: True");
    has(&o, "subprocess.run: 3 child says hi");
    has(&o, "python child: 5050 0");
    has(&o, "fork+waitpid: 6");
    has(&o, "tempdir removed: True");
}

/// `python3 -c 'import json,os,subprocess'`: the benchmark's start-up row.
#[test]
fn python3_import_only() {
    require(PYTHON);
    let env = setup("python-import");
    let o = compare(
        &[PYTHON, "-c", "import json,os,subprocess; print('ok')"],
        &opts(&env),
    );
    assert_eq!(o.stdout_str(), "ok\n");
}

/// A signal handler runs while python waits on a lock, an event and a sleep (a futex wait
/// and a nanosleep a handler interrupts; python retries after `EINTR`, PEP 475). Before the
/// fix glibc aborted: "The futex facility returned an unexpected error code".
const PYTHON_INTERRUPTED_WAITS: &str = r#"
import _thread, signal, threading, time
signal.signal(signal.SIGALRM, lambda *a: None)
lock = _thread.allocate_lock(); lock.acquire()
signal.setitimer(signal.ITIMER_REAL, 0.2)
def took(t, want):
    return want - 0.05 <= time.monotonic() - t < want + 1.0
t = time.monotonic(); r = lock.acquire(timeout=1.0)
print("acquired", r, took(t, 1.0))
signal.setitimer(signal.ITIMER_REAL, 0.2)
t = time.monotonic(); r = threading.Event().wait(0.6)
print("event", r, took(t, 0.6))
signal.setitimer(signal.ITIMER_REAL, 0.1)
t = time.monotonic(); time.sleep(0.5)
print("slept", took(t, 0.5))
"#;

#[test]
fn python3_waits_interrupted_by_a_handler() {
    require(PYTHON);
    let env = setup("python-interrupted");
    let o = compare(&[PYTHON, "-c", PYTHON_INTERRUPTED_WAITS], &opts(&env));
    assert_eq!(
        o.stdout_str(),
        "acquired False True\nevent False True\nslept True\n"
    );
}

const PERL_PROGRAM: &str = r#"
use strict; use warnings;
use List::Util qw(sum max first);
use POSIX qw(floor strftime);
use File::Temp qw(tempdir);
my %h = (apple => 3, banana => 1, cherry => 2);
print join(",", map { "$_=$h{$_}" } sort { $h{$a} <=> $h{$b} } keys %h), "\n";
print sum(1 .. 100), " ", max(3, 9, 2), " ", first { $_ > 3 } (1, 5, 7); print "\n";
(my $t = "the quick brown fox") =~ s/(\w+)/\u$1/g; print "$t\n";
open(my $fh, "<", "$ENV{FIX}/data.csv") or die "open: $!";
my @rows = map { chomp; [split /,/] } <$fh>; close $fh; shift @rows;
printf "%d rows, best %s, avg %.2f\n", scalar @rows,
    (sort { $b->[3] <=> $a->[3] } @rows)[0][1], sum(map { $_->[3] } @rows) / @rows;
printf "%.6f %s %d\n", atan2(1, 1) * 4, scalar reverse("stressed"), floor(-2.5);
print strftime("%Y-%m-%d %H:%M:%S", gmtime(86400 * 365)), "\n";
print unpack("H*", pack("N n C", 0xdeadbeef, 258, 7)), "\n";
my @w = ("a" .. "e"); print "@w[1..3] ", scalar(@w), "\n";
my $out = `echo backticks | tr a-z A-Z`; print $out;
system("/bin/sh", "-c", "exit 3"); print "system: ", $? >> 8, "\n";
my $pid = fork // die; if (!$pid) { exit 6 } waitpid($pid, 0); print "fork: ", $? >> 8, "\n";
my $dir = tempdir(CLEANUP => 1);
open(my $o, ">", "$dir/f") or die; print $o "x" x 5000; close $o; print "temp: ", -s "$dir/f", "\n";
opendir(my $dh, $ENV{FIX}) or die; print join(" ", sort grep { !/^\./ } readdir $dh), "\n";
local $/ = undef; open(my $w, "<", "$ENV{FIX}/words.txt") or die; my %c; $c{$_}++ for split /\n/, <$w>;
print join(" ", map { "$_:$c{$_}" } sort keys %c), "\n";
exit 2;
"#;

#[test]
fn perl_e() {
    require(PERL);
    let env = setup("perl");
    let o = compare(&[PERL, "-e", PERL_PROGRAM], &opts(&env));
    assert_eq!(o.status, 2, "{}", o.describe("native"));
    has(&o, "5050 9 5");
    has(&o, "The Quick Brown Fox");
    has(&o, "fork: 6");
}

// ------------------------------------------------------------------------------ gcc

/// `gcc -O2` compiles `fixtures/dyn/hello.c` inside the guest, and the result runs inside the
/// guest (one `bash` run, so the binary is still in the overlay).
#[test]
fn gcc_compile_and_run_inside_guest() {
    require("/usr/bin/gcc");
    let o = run_script("dyn_gcc.sh", 0);
    has(&o, "gcc status: 0");
    has(&o, "fib(90) = 2880067194370816120");
    has(&o, "hello status: 7");
}

// ------------------------------------------------------------------------------ isolation

/// Writes inside the guest (overwrite, append, sed -i, truncate, chmod, rm, mkdir, python)
/// land in the overlay: the guest sees them, the host file's checksum does not change.
#[test]
fn guest_writes_never_change_the_host() {
    require(BASH);
    let tmp = TempDir::new("host-unchanged");
    let victim = tmp.join("victim.txt");
    let other = tmp.join("other.txt");
    let content: Vec<u8> = (0..20000u32)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    fs::write(&victim, &content).unwrap();
    fs::write(&other, b"keep me\n").unwrap();
    let checksum = |p: &Path| {
        let o = Command::new("sha256sum")
            .arg(p)
            .output()
            .expect("sha256sum");
        String::from_utf8_lossy(&o.stdout)
            .split(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    let before = (
        checksum(&victim),
        fs::metadata(&victim).unwrap().permissions().mode(),
    );
    let cmd = format!(
        "cd {dir} && echo overwritten >victim.txt && cat victim.txt && \
         echo appended >>victim.txt && sed -i s/overwritten/edited/ victim.txt && cat victim.txt && \
         truncate -s 3 victim.txt && wc -c <victim.txt && chmod 600 victim.txt && \
         stat -c %a victim.txt && rm other.txt && mkdir newdir && \
         cp /usr/bin/env newdir/ && ls && \
         {py} -c 'open(\"victim.txt\", \"w\").write(\"py\")' ; cat victim.txt; echo",
        dir = tmp.path().display(),
        py = PYTHON,
    );
    let o = run_command(
        uml_command(&[BASH, "-c", &cmd], &RunOpts::default()),
        Duration::from_secs(120),
    );
    // Whatever the guest managed to do, the host must not have changed.
    let after = (
        checksum(&victim),
        fs::metadata(&victim).unwrap().permissions().mode(),
    );
    assert_eq!(
        before,
        after,
        "host file changed by the guest\n{}",
        o.describe("uml")
    );
    assert_eq!(
        fs::read(&other).unwrap(),
        b"keep me\n",
        "{}",
        o.describe("uml")
    );
    assert!(!tmp.join("newdir").exists(), "{}", o.describe("uml"));
    assert_eq!(
        o.stdout_str(),
        "overwritten\nedited\nappended\n3\n600\nnewdir\nvictim.txt\npy\n",
        "{}",
        o.describe("uml")
    );
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
}

// ------------------------------------------------------------------------------ terminal

#[test]
fn interactive_bash_through_a_pty() {
    require(BASH);
    require(PYTHON);
    let run = |argv: Vec<std::ffi::OsString>| {
        let mut cmd = Command::new(PYTHON);
        cmd.arg(script("dyn_pty.py")).args(argv);
        run_command(cmd, Duration::from_secs(90))
    };
    let bash = ["/bin/bash", "--norc", "--noprofile"];
    let native = run(bash.iter().map(Into::into).collect());
    let mut uml_argv: Vec<std::ffi::OsString> = vec![uml_bin().into(), "run".into(), "--".into()];
    uml_argv.extend(bash.iter().map(Into::into));
    let uml = run(uml_argv);
    assert_eq!(native.status, 0, "{}", native.describe("native"));
    assert!(
        native.stdout_str().ends_with("exit status 5\n"),
        "{}",
        native.describe("native")
    );
    integration_tests::assert_same("interactive bash through a pty", &native, &uml);
}
