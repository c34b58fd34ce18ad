//! uml's own `/proc`: programs read their own and each other's entries natively and under
//! `uml run --`, and compare. Where values legitimately differ (pids, addresses, inode
//! numbers), the program checks them against what the system calls say and prints a
//! verdict (`ok ...` or `bad ...`), and the verdicts are compared. The uml-only tests check
//! that the guest's `/proc` shows the guest's processes and memory and nothing of the host.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use integration_tests::{
    assert_no_bad_lines, compare, guests, run_uml, which, Outcome, RunOpts, TempDir,
};

const PYTHON: &str = "/usr/bin/python3";
const SH: &str = "/bin/sh";
const BASH: &str = "/bin/bash";

fn require(path: &str) {
    assert!(Path::new(path).exists(), "{path} is missing on this host");
}

/// Runs a Python program natively and under uml, compares, and checks for `bad` lines.
fn compare_python(tag: &str, script: &str, opts: &RunOpts) -> Outcome {
    require(PYTHON);
    let o = compare(&[PYTHON, "-c", script], opts);
    assert_no_bad_lines(tag, &o);
    o
}

/// Checks that print `ok NAME` or `bad NAME: why`; the descriptors above 2 are closed first
/// so the native run starts with the same table as the guest.
const PY_PRELUDE: &str = r#"
import errno, os, stat, sys, time
os.closerange(3, 4096)
def check(name, cond, why=""):
    print(("ok " if cond else "bad ") + name + ("" if cond else ": " + str(why)))
def err(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
"#;

#[test]
fn self_matches_the_system_calls() {
    let script = PY_PRELUDE.to_string()
        + r#"
pid = os.getpid()
check("self", os.readlink("/proc/self") == str(pid), os.readlink("/proc/self"))
check("thread-self", os.readlink("/proc/thread-self") == f"{pid}/task/{pid}")
st = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
check("status Pid", st["Pid"] == str(pid), st["Pid"])
check("status Tgid", st["Tgid"] == str(pid))
check("status PPid", st["PPid"] == str(os.getppid()), st["PPid"])
check("status Name", st["Name"] == open("/proc/self/comm").read().strip())
check("status Uid", st["Uid"].split()[0] == str(os.getuid()))
check("status Gid", st["Gid"].split()[0] == str(os.getgid()))
m = os.umask(0o027); os.umask(m)
check("status Umask", st["Umask"] == "%04o" % m, st["Umask"])
check("status State", st["State"] == "R (running)", st["State"])
check("status Threads", st["Threads"] == "1")
check("status VmRSS", int(st["VmRSS"].split()[0]) > 0, st["VmRSS"])
check("status VmSize", int(st["VmSize"].split()[0]) >= int(st["VmRSS"].split()[0]))
check("status SigBlk", len(st["SigBlk"]) == 16)
s = open("/proc/self/stat").read()
fields = [s.split(" (")[0]] + [s[s.index("(") + 1:s.rindex(")")]] + s[s.rindex(")") + 2:].split()
check("stat 52 fields", len(fields) == 52, len(fields))
check("stat pid", fields[0] == str(pid))
check("stat state", fields[2] == "R")
check("stat ppid", fields[3] == str(os.getppid()))
check("stat pgrp", fields[4] == str(os.getpgrp()))
check("stat session", fields[5] == str(os.getsid(0)))
check("stat vsize", int(fields[22]) == int(st["VmSize"].split()[0]) * 1024)
statm = open("/proc/self/statm").read().split()
check("statm", len(statm) == 7 and 0 < int(statm[1]) <= int(statm[0]), statm)
check("exe", os.readlink("/proc/self/exe") == os.path.realpath(sys.executable))
check("cwd", os.readlink("/proc/self/cwd") == os.getcwd())
check("cwd walk", sorted(os.listdir("/proc/self/cwd/")) == sorted(os.listdir(".")))
check("root", os.readlink("/proc/self/root") == "/")
check("root/..", sorted(os.listdir("/proc/self/root/..")) == sorted(os.listdir("/")))
cmd = open("/proc/self/cmdline", "rb").read().split(b"\0")
check("cmdline", [a.decode() for a in cmd[:-1]] == sys.orig_argv and cmd[-1] == b"", cmd[:2])
env = open("/proc/self/environ", "rb").read()
check("environ", b"PROCFS_TEST=42\0" in env)
maps = open("/proc/self/maps").read()
check("maps exe", os.path.realpath(sys.executable) in maps)
check("maps stack", "[stack]" in maps)
check("maps heap", "[heap]" in maps)
smaps = open("/proc/self/smaps").read()
check("smaps Rss", "Rss:" in smaps and "Pss:" in smaps and "VmFlags:" in smaps)
check("smaps records", smaps.count("Size:") - smaps.count("PageSize:") == len(maps.splitlines()))
"#;
    let opts = RunOpts {
        env: vec![("PROCFS_TEST".into(), "42".into())],
        ..Default::default()
    };
    let o = compare_python("self", &script, &opts);
    assert!(
        o.stdout_str().contains("ok smaps records"),
        "{}",
        o.stdout_str()
    );
}

#[test]
fn descriptors() {
    let script = PY_PRELUDE.to_string()
        + r#"
print(sorted(os.listdir("/proc/self/fd"), key=int))
fd = os.open("/etc/hostname", os.O_RDONLY)
r, w = os.pipe()
print(sorted(os.listdir("/proc/self/fd"), key=int))
check("fd path", os.readlink(f"/proc/self/fd/{fd}") == "/etc/hostname")
check("fd pipe", os.readlink(f"/proc/self/fd/{r}") == f"pipe:[{os.fstat(r).st_ino}]")
check("fd null", os.readlink("/proc/self/fd/0") == "/dev/null", os.readlink("/proc/self/fd/0"))
os.read(fd, 3)
info = open(f"/proc/self/fdinfo/{fd}").read().splitlines()
print(info[0], info[1])
check("fdinfo ino", f"ino:\t{os.fstat(fd).st_ino}" in info, info)
os.write(w, b"through the pipe")
again = os.open(f"/proc/self/fd/{r}", os.O_RDONLY)
print(os.read(again, 100))
check("reopen is new description", os.lseek(os.open(f"/proc/self/fd/{fd}", 0), 0, 1) == 0)
print(sorted(os.listdir(f"/proc/{os.getpid()}/fdinfo"), key=int) == sorted(os.listdir("/proc/self/fd"), key=int))
"#;
    compare_python("descriptors", &script, &RunOpts::default());
}

#[test]
fn cat_of_fd0_reads_the_pipe() {
    require(SH);
    let opts = RunOpts {
        stdin: Some(b"from stdin\n".to_vec()),
        ..Default::default()
    };
    compare(
        &[
            SH,
            "-c",
            "cat /proc/self/fd/0; echo piped | cat /proc/self/fd/0",
        ],
        &opts,
    );
}

#[test]
fn shell_sees_its_own_entries() {
    require(BASH);
    let script = r#"
v() { if [ "$2" = "$3" ]; then echo "ok $1"; else echo "bad $1: '$2' != '$3'"; fi; }
v ppid "$(grep '^PPid:' /proc/$$/status | cut -f2)" "$PPID"
v pid "$(cut -d' ' -f1 /proc/$$/stat)" "$$"
v comm "$(cat /proc/$$/comm)" bash
v exe "$(readlink /proc/$$/exe)" /usr/bin/bash
v cmdline "$(tr '\0' '\n' < /proc/$$/cmdline | sed -n '1p;2p;$p' | tr '\n' ' ')" "/bin/bash -c b "
sleep 5 & kid=$!
v kid-ppid "$(grep '^PPid:' /proc/$kid/status | cut -f2)" "$$"
v kid-in-list "$(ls /proc | grep -cx $kid)" 1
kill $kid; wait $kid 2>/dev/null
v kid-gone "$(ls /proc/$kid 2>&1 >/dev/null | wc -l)" 1
cat /proc/sys/kernel/ostype /proc/sys/kernel/osrelease /proc/sys/kernel/hostname
readlink /proc/mounts
"#;
    let o = compare(&[BASH, "-c", script, "a", "b"], &RunOpts::default());
    assert_no_bad_lines("shell", &o);
}

#[test]
fn bad_inputs_get_linux_errnos() {
    let script = PY_PRELUDE.to_string()
        + r#"
pid = os.fork()
if pid == 0:
    os._exit(3)
for _ in range(500):
    if open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z":
        break
    time.sleep(0.01)
print("zombie state", open(f"/proc/{pid}/stat").read().split(") ")[1][0])
print("zombie cwd", err(lambda: os.readlink(f"/proc/{pid}/cwd")))
print("zombie fds", os.listdir(f"/proc/{pid}/fd"))
os.waitpid(pid, 0)
print("reaped", err(lambda: os.stat(f"/proc/{pid}")))
print("readlink status", err(lambda: os.readlink("/proc/self/status")))
print("readlink fd 999", err(lambda: os.readlink("/proc/self/fd/999")))
print("open fd 999", err(lambda: os.open("/proc/self/fd/999", os.O_RDONLY)))
print("no such entry", err(lambda: os.stat("/proc/self/nonexistent")))
print("file as dir", err(lambda: os.listdir("/proc/self/status")))
print("mkdir", err(lambda: os.mkdir("/proc/foo")))
print("mkdir existing", err(lambda: os.mkdir(f"/proc/{os.getpid()}")))
print("create", err(lambda: os.open("/proc/foo", os.O_CREAT | os.O_WRONLY)))
print("unlink", err(lambda: os.unlink("/proc/self/status")))
print("rmdir", err(lambda: os.rmdir("/proc/self/fd")))
print("symlink", err(lambda: os.symlink("x", "/proc/self/y")))
print("rename", err(lambda: os.rename("/proc/uptime", "/proc/x")))
print("link", err(lambda: os.link("/proc/uptime", "/tmp/procfs-link")))
print("open dir for writing", err(lambda: os.open("/proc/self/fd", os.O_WRONLY)))
print("chmod", err(lambda: os.chmod("/proc/self/status", 0o777)))
def write(path):
    fd = os.open(path, os.O_WRONLY)
    os.write(fd, b"x")
print("write status", err(lambda: write("/proc/self/status")))
print("write uptime", err(lambda: write("/proc/uptime")))
kid = os.fork()
if kid == 0:
    time.sleep(10)
    os._exit(0)
print("write another's comm", err(lambda: write(f"/proc/{kid}/comm")))
os.kill(kid, 9)
os.waitpid(kid, 0)
with open("/proc/self/comm", "w") as f:
    f.write("renamed-by-a-very-long-name\n")
print("comm", repr(open("/proc/self/comm").read()))
with open(f"/proc/{os.getpid()}/comm", "w") as f:
    f.write("t\\wo\n")
print("comm", repr(open("/proc/self/comm").read()), open("/proc/self/status").readline())
print("comm fd", err(lambda: os.write(os.open("/proc/self/comm", os.O_RDONLY), b"x")))
fd = os.open("/proc/self/status", os.O_RDONLY)
print("seek", os.lseek(fd, 5, 0), "size", os.fstat(fd).st_size)
for p in ["status", "maps", "environ", "comm", "fd", "fdinfo", "cwd", "exe", "task"]:
    print(p, oct(os.lstat("/proc/self/" + p).st_mode))
for p in ["uptime", "meminfo", "self", "mounts", "sys/kernel/hostname"]:
    print(p, oct(os.lstat("/proc/" + p).st_mode))
"#;
    compare_python("errnos", &script, &RunOpts::default());
}

#[test]
fn ps_lists_exactly_the_guest_processes() {
    let Some(ps) = which("ps") else {
        eprintln!("skipped: no ps on this host");
        return;
    };
    let o = run_uml(
        &[
            SH,
            "-c",
            &format!("sleep 3 & {} -e -o pid,ppid,comm", ps.display()),
        ],
        &RunOpts::default(),
    );
    assert_eq!(o.status, 0, "{}", o.describe("uml"));
    let rows: Vec<Vec<String>> = o
        .stdout_str()
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    assert_eq!(
        rows,
        [["1", "0", "sh"], ["2", "1", "sleep"], ["3", "1", "ps"]],
        "{}",
        o.describe("uml")
    );
}

#[test]
fn the_guest_cannot_reach_the_host_through_proc() {
    require(SH);
    let tmp = TempDir::new("procfs-isolation");
    std::fs::write(tmp.join("marker"), "inside\n").unwrap();
    let script = r#"
echo pid1 $(cat /proc/1/comm) $(tr '\0' '\n' < /proc/1/cmdline | head -n 2 | tr '\n' ' ')
ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\n' ' '; echo
readlink /proc/1/cwd
ls /proc/self/root/.. | grep -c procfs-isolation
cat /proc/self/cwd/marker
grep -c -e uml -e /proc/ /proc/self/maps
"#;
    let opts = RunOpts {
        cwd: Some(tmp.path().to_path_buf()),
        ..Default::default()
    };
    let o = run_uml(&[SH, "-c", script], &opts);
    let got = o.stdout_str();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 6, "{}", o.describe("uml"));
    assert_eq!(lines[0], "pid1 sh /bin/sh -c", "{}", o.describe("uml"));
    // Only guest pids: sh is 1, and each substitution and pipeline stage is a child.
    let pids: Vec<u32> = lines[1]
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids[0], 1, "{}", o.describe("uml"));
    assert!(
        pids.iter().all(|&p| p < 20),
        "only guest pids: {}",
        lines[1]
    );
    let cwd = tmp.path().display().to_string();
    assert_eq!(
        &lines[2..],
        [cwd.as_str(), "0", "inside", "0"],
        "{}",
        o.describe("uml")
    );
}

#[test]
fn meminfo_and_uptime_are_the_guests() {
    let o = run_uml(
        &[
            SH,
            "-c",
            "grep MemTotal /proc/meminfo; cat /proc/uptime; cat /proc/loadavg",
        ],
        &RunOpts {
            uml_flags: vec!["--mem".into(), "256M".into()],
            ..Default::default()
        },
    );
    let out = o.stdout_str();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "MemTotal:         262144 kB",
        "{}",
        o.describe("uml")
    );
    let up: f64 = lines[1].split_whitespace().next().unwrap().parse().unwrap();
    assert!(up < 60.0, "uptime counts from uml's boot: {}", lines[1]);
    let la: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(la.len(), 5, "{}", lines[2]);
    assert!(la[3].starts_with("1/"), "{}", lines[2]);
}

/// A threaded process: `/proc/PID/task` lists every thread, `/proc/TID` and
/// `/proc/PID/task/TID` give each thread's own id and state (LTP's state waits read
/// them), and `/proc` lists leaders only.
#[test]
fn threads_have_their_own_entries() {
    let o = compare(&[guests::PROC_THREADS], &RunOpts::default());
    assert_no_bad_lines("proc_threads", &o);
    assert_eq!(o.status, 0, "{}", o.describe("native"));
    let out = o.stdout_str();
    for want in [
        "task entries 3\n",
        "/proc lists the thread 0\n",
        "/proc/TID/stat: state S id is tid 1\n",
        "task/TID/status: Pid is tid 1, Tgid is pid 1\n",
        "/proc/self/stat: state R id is pid 1\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

/// `/proc/self/pagemap`: present, file/shared and exclusive bits of anonymous, shared,
/// populated and file pages, the exclusive bit lost to fork, and frame numbers shown to
/// root only; `/proc/kpageflags`' dirty bit of a shared file page, cleared by `msync`.
#[test]
fn pagemap_as_linux() {
    let dir = TempDir::new("pagemap");
    let o = compare(
        &[guests::PAGEMAP],
        &RunOpts {
            cwd: Some(dir.path().to_path_buf()),
            ..RunOpts::default()
        },
    );
    assert_no_bad_lines("pagemap", &o);
    assert_eq!(o.status, 0, "{}", o.stdout_str());
    let out = o.stdout_str();
    for want in [
        "anon: 0x102+pfn 0x102+pfn\n",
        "untouched: 0 0\n",
        "shared-anon: 0x142+pfn\n",
        "populate: 0x102+pfn 0x102+pfn 0x102+pfn\n",
        "child-after-fork: 0x100+pfn\n",
        "unprivileged: 0x102\n",
        "kpageflags dirty=1 after-msync=0\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}
