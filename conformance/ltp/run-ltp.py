#!/usr/bin/env python3
"""Conformance runner: LTP's syscall suite, natively and under `uml run`.

What it does, in order:
  1. build   -- checks the LTP source tree the user points at (--ltp-src) is at the pinned
                commit (warns if not), configures it with LDFLAGS=-static, builds LTP's library
                and testcases/kernel/syscalls (plus the few other directories whose binaries
                runtest/syscalls names), and installs them under BUILD_DIR/install.
                Tests that did not build are reported as NOTBUILT.
  2. run     -- runs every test of runtest/syscalls (one line: a name and a command) natively
                and under `uml run`, and optionally under gVisor (`runsc do`), each in a fresh
                temporary directory (TMPDIR), with LTP_TIMEOUT_MUL and a hard kill after
                --timeout seconds, up to -j N at a time. Under uml the test runs below a tiny
                static PID-1 reaper (reaper.c) since the guest's first process is PID 1 (as under
                gVisor).
                Verdict from LTP's exit code: 0 PASS, 32 CONF (TCONF: skipped/unsupported),
                anything else FAIL, TIMEOUT when killed; UMLCRASH when uml itself panicked or
                died of a signal.
  3. report  -- writes BUILD_DIR/report.txt, report.tsv and report.json: per test the verdicts,
                a summary, and the diff against expectations.txt (every test that passes
                natively but not under uml, with a one-line reason). A test failing under uml
                but passing natively that is not in expectations is a REGRESSION: the runner
                exits with status 1. An expected failure that now passes is reported as
                "now passes, remove from expectations".

Raw logs go to BUILD_DIR/logs/{native,uml,gvisor}/NAME.log. This is an on-demand tool; it is
not part of the project's test suite (scripts/test.sh does not call it).
"""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# The LTP commit the expectations were produced with (linux-test-project/ltp, master of
# 2026-08-20, "test_macros*.c: Simplify with macros macros").
PINNED_COMMIT = "695827725f4fc14fe583043127e0335c29bbd52d"

# LTP's exit code is a bit mask of the result types it saw (include/tst_res_flags.h).
TCONF = 32

MODES = ("native", "uml", "gvisor")


def log(msg):
    print(f"[run-ltp] {msg}", file=sys.stderr, flush=True)


def sh(cmd, cwd=None, logfile=None, check=True):
    """Runs a build command at low priority, its output appended to logfile."""
    log(f"$ {' '.join(cmd)}" + (f"   (in {cwd})" if cwd else ""))
    with open(logfile, "a") if logfile else open(os.devnull, "w") as out:
        r = subprocess.run(["nice", "-n", "10"] + cmd, cwd=cwd, stdout=out,
                           stderr=subprocess.STDOUT)
    if check and r.returncode != 0:
        sys.exit(f"run-ltp: command failed ({r.returncode}): {' '.join(cmd)}"
                 + (f"; see {logfile}" if logfile else ""))
    return r.returncode


# ---------------------------------------------------------------------------------------------
# runtest/syscalls


def parse_runtest(path):
    """[(name, command)] of a runtest file, in file order (comments and blank lines skipped)."""
    tests = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) == 2:
                tests.append((parts[0], parts[1]))
    return tests


def program_of(command):
    return shlex.split(command)[0]


# ---------------------------------------------------------------------------------------------
# Build


def build(args):
    src = os.path.abspath(args.ltp_src)
    if not os.path.isfile(os.path.join(src, "runtest", "syscalls")):
        sys.exit(f"run-ltp: {src} does not look like an LTP source tree (no runtest/syscalls)")
    head = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    if head != PINNED_COMMIT:
        log(f"WARNING: {src} is at {head or 'an unknown commit'}, not the pinned "
            f"{PINNED_COMMIT}; results may differ from expectations.txt")
    prefix = os.path.join(args.build_dir, "install")
    os.makedirs(args.build_dir, exist_ok=True)
    blog = os.path.join(args.build_dir, "build.log")
    open(blog, "w").close()
    jobs = f"-j{args.jobs}"

    if not os.path.isfile(os.path.join(src, "configure")):
        sh(["make", "autotools"], cwd=src, logfile=blog)
    # Reconfigure unless config.status already records this prefix and static linking.
    status = os.path.join(src, "config.status")
    configured = False
    if os.path.isfile(status):
        text = open(status, errors="replace").read()
        configured = f"--prefix={prefix}" in text and "LDFLAGS=-static" in text
    if not configured:
        sh(["./configure", f"--prefix={prefix}", "LDFLAGS=-static"], cwd=src, logfile=blog)
    sh(["make", jobs, "-C", "lib"], cwd=src, logfile=blog)
    # -k: one test that does not build (statically) must not stop the others.
    sh(["make", "-k", jobs, "-C", "testcases/kernel/syscalls"], cwd=src, logfile=blog,
       check=False)
    sh(["make", "-k", "-C", "testcases/kernel/syscalls", "install"], cwd=src, logfile=blog,
       check=False)

    # runtest/syscalls also names a few programs that live elsewhere (security/, ipc/):
    # build the directories that hold their sources.
    bindir = os.path.join(prefix, "testcases", "bin")
    tests = parse_runtest(os.path.join(src, "runtest", "syscalls"))
    missing = sorted({program_of(c) for _, c in tests
                      if not os.path.exists(os.path.join(bindir, program_of(c)))})
    dirs = set()
    for root, _, files in os.walk(os.path.join(src, "testcases")):
        if "Makefile" in files and any(f"{m}.c" in files for m in missing):
            dirs.add(root)
    for d in sorted(dirs):
        sh(["make", "-k", jobs, "-C", d], cwd=src, logfile=blog, check=False)
        sh(["make", "-k", "-C", d, "install"], cwd=src, logfile=blog, check=False)

    shutil.copy(os.path.join(src, "runtest", "syscalls"),
                os.path.join(args.build_dir, "runtest-syscalls"))
    with open(os.path.join(args.build_dir, "ltp-commit"), "w") as f:
        f.write(head + "\n")
    notbuilt = [m for m in missing if not os.path.exists(os.path.join(bindir, m))]
    log(f"build done; {len(notbuilt)} program(s) of runtest/syscalls not built: "
        + " ".join(notbuilt))


def build_reaper(args):
    out = os.path.join(args.build_dir, "reaper")
    src = os.path.join(HERE, "reaper.c")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        subprocess.run(["cc", "-static", "-O2", "-Wall", "-o", out, src], check=True)
    return out


def is_static(path):
    """True if the ELF file has no PT_INTERP (no dynamic loader). Scripts count as static."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF":
                return True
            phoff = int.from_bytes(head[32:40], "little")
            phentsize = int.from_bytes(head[54:56], "little")
            phnum = int.from_bytes(head[56:58], "little")
            f.seek(phoff)
            for _ in range(phnum):
                ph = f.read(phentsize)
                if int.from_bytes(ph[0:4], "little") == 3:  # PT_INTERP
                    return False
    except OSError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Running one test


def unmount_below(path):
    """Lazily unmounts whatever a native test killed at its timeout left mounted below path
    (LTP mounts loop devices under its tmpdir), deepest first, so that removing the tmpdir does
    not walk (and empty) a mounted filesystem."""
    prefix = path.rstrip("/") + "/"
    try:
        with open("/proc/self/mounts") as f:
            points = [line.split()[1].replace("\\040", " ") for line in f]
    except OSError:
        return
    for mp in sorted((m for m in points if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
    # ... and detaches the loop devices (tst_device) still backed by a file below path.
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    for line in loops.splitlines():
        if f"({prefix}" in line:
            subprocess.run(["losetup", "-d", line.split(":", 1)[0]], stderr=subprocess.DEVNULL)


class Runner:
    def __init__(self, args):
        self.args = args
        self.prefix = os.path.join(args.build_dir, "install")
        self.bindir = os.path.join(self.prefix, "testcases", "bin")
        self.reaper = build_reaper(args)
        self.path = f"{self.bindir}:/usr/sbin:/usr/bin:/sbin:/bin"
        self.lock = threading.Lock()
        self.done = 0

    def env(self, tmp):
        return {
            "PATH": self.path,
            "TMPDIR": tmp,
            "LTPROOT": self.prefix,
            "LTP_TIMEOUT_MUL": str(self.args.timeout_mul),
            "LTP_RUNTIME_MUL": str(self.args.runtime_mul),
            "LTP_COLORIZE_OUTPUT": "0",
            "HOME": "/root",
            "LANG": "C",
        }

    def argv(self, command):
        """The test's argv: split directly unless the line needs a shell."""
        if re.search(r"[|;&<>$`*?(){}]", command):
            return ["/bin/sh", "-c", command]
        return shlex.split(command)

    def command_for(self, mode, command, tmp):
        env = self.env(tmp)
        argv = self.argv(command)
        if mode == "native":
            return argv, env, tmp
        if mode == "uml":
            cmd = [self.args.uml, "run", "-w", tmp]
            for k, v in env.items():
                cmd += ["-e", f"{k}={v}"]
            return cmd + ["--", self.reaper] + argv, dict(os.environ, **env), tmp
        # gVisor: runsc do runs the command in a sandbox over the host's root filesystem; there
        # too the first process is PID 1 (env execs the reaper).
        cmd = [self.args.runsc, "--rootless", "--network=none", "do", "--cwd", tmp, "env", "-i"]
        cmd += [f"{k}={v}" for k, v in env.items()]
        return cmd + [self.reaper] + argv, dict(os.environ, **env), tmp

    def run(self, name, command, mode, total):
        program = program_of(command)
        exe = os.path.join(self.bindir, program)
        logpath = os.path.join(self.args.build_dir, "logs", mode, f"{name}.log")
        if not os.path.exists(exe) and not shutil.which(program, path=self.path):
            result = {"verdict": "NOTBUILT", "rc": None, "secs": 0.0}
            with open(logpath, "w") as f:
                f.write(f"# {program} was not built\n")
            return self.finish(name, mode, result, total)
        tmp = tempfile.mkdtemp(prefix=f"{name}.", dir=os.path.join(self.args.build_dir, "tmp"))
        os.chmod(tmp, 0o777)
        cmd, env, cwd = self.command_for(mode, command, tmp)
        start = time.monotonic()
        timed_out = False
        with open(logpath, "w") as out:
            out.write(f"# mode: {mode}\n# command: {shlex.join(cmd)}\n# tmpdir: {tmp}\n")
            out.flush()
            p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = p.wait(timeout=self.args.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                rc = p.wait()
            # Anything the test left in its process group (native) goes too.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        secs = time.monotonic() - start
        with open(logpath, "a") as out:
            out.write(f"\n# exit: {rc}{' (killed after timeout)' if timed_out else ''}"
                      f" in {secs:.1f}s\n")
        text = open(logpath, errors="replace").read()
        verdict = self.verdict(mode, rc, timed_out, text)
        if mode == "native":
            unmount_below(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        return self.finish(name, mode, {"verdict": verdict, "rc": rc, "secs": round(secs, 2)},
                           total)

    @staticmethod
    def verdict(mode, rc, timed_out, text):
        if timed_out:
            return "TIMEOUT"
        if mode == "uml" and ("panicked at" in text or rc < 0):
            # uml itself died: a Rust panic, or a signal killed the uml process.
            return "UMLCRASH"
        if rc == 0:
            return "PASS"
        if rc == TCONF:
            return "CONF"
        return "FAIL"

    def finish(self, name, mode, result, total):
        with self.lock:
            self.done += 1
            if self.args.verbose or result["verdict"] in ("UMLCRASH",):
                log(f"[{self.done}/{total}] {mode:6} {name}: {result['verdict']}")
            elif self.done % 50 == 0:
                log(f"{self.done}/{total} runs done")
        return name, mode, result


# ---------------------------------------------------------------------------------------------
# Expectations and report


def read_expectations(path):
    """{test: reason}. Format: one test a line, `NAME  CLUSTER: detail`; # starts a comment."""
    exp = {}
    if not os.path.exists(path):
        return exp
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            exp[parts[0]] = parts[1] if len(parts) > 1 else ""
    return exp


def cluster_of(reason):
    return reason.split(":", 1)[0].strip() if reason else "unclassified"


# Suggested clusters for new failures (--write-expectations): the first rule whose pattern
# matches a TFAIL/TBROK/TCONF line of the uml log names the cluster. A human checks them.
CLUSTER_RULES = [
    (r"Failed to acquire device|tst_device", "block devices missing (no loop devices, mkfs/mount of a test device)"),
    (r"Cannot parse kernel \.config", "/proc/config.gz missing (test needs kernel config options)"),
    (r"tst_checkpoint|wasn't woken up|checkpoint", "shared futexes across processes (LTP checkpoints never wake)"),
    (r"(msg|shm|sem)(get|ctl|op|snd|rcv|at)\b.*ENOSYS|allocate semaphore", "SysV IPC missing"),
    (r"mq_(open|notify|unlink|timed)", "POSIX message queues missing"),
    (r"inotify|fanotify", "inotify/fanotify missing"),
    (r"xattr", "extended attributes missing"),
    (r"socket\((2|10),.*EAFNOSUPPORT", "AF_INET/AF_INET6 sockets missing"),
    (r"/proc/sys/", "/proc/sys missing"),
    (r"__NR_cap(get|set)", "capabilities missing (capget/capset)"),
    (r"add_key|keyctl|request_key", "keyrings missing"),
    (r"timer_(create|settime|gettime|delete)", "POSIX timers missing"),
    (r"set(res|re|fs)?[ug]id|setgroups|\b(ch|fch|lch)own|EPERM|owner", "credentials and ownership (set*id, chown, permission checks)"),
    (r"unshare|setns|/proc/self/ns|namespace|chroot|pivot_root|\bmount\(|umount|fsopen|clone3?\(?.*ENOSYS", "mounts, chroot and namespaces missing"),
    (r"clock_settime|settimeofday|adjtimex|clock_adjtime|stime", "setting the clock missing"),
    (r"ptrace", "ptrace missing"),
    (r"F_SETLEASE|lease", "file leases missing"),
    (r"not supported on your arch|ENOSYS", "syscall missing (ENOSYS)"),
]


def suggest_cluster(logpath, verdict):
    try:
        lines = [l for l in open(logpath, errors="replace").read().splitlines()
                 if re.search(r"TFAIL|TBROK|TCONF|panicked", l)]
    except OSError:
        lines = []
    for pattern, cluster in CLUSTER_RULES:
        for line in lines:
            if re.search(pattern, line):
                return f"{cluster}: {line.strip()[:120]}"
    if verdict == "TIMEOUT":
        return "hangs (killed at the timeout): " + (lines[0].strip()[:100] if lines else "")
    return "unclassified: " + (lines[0].strip()[:120] if lines else verdict)


def first_problem(logpath):
    """The first TFAIL/TBROK (else TCONF) line of a log: a starting point for a reason."""
    try:
        lines = open(logpath, errors="replace").read().splitlines()
    except OSError:
        return ""
    for kinds in (("TFAIL", "TBROK"), ("TCONF",), ("FAIL", "BROK", "panicked")):
        for line in lines:
            if any(k in line for k in kinds):
                return line.strip()[:160]
    return ""


def write_expectations(path, results, old, logdir):
    """Rewrites expectations.txt from this run: keeps the reason of every test still failing,
    adds new failures as `unclassified: <first failing line>`, drops tests that now pass.
    Tests not run this time keep their lines."""
    new = dict(old)
    for name, r in results.items():
        if "uml" not in r or "native" not in r:
            continue
        if r["native"]["verdict"] == "PASS" and r["uml"]["verdict"] != "PASS":
            if name not in new:
                new[name] = suggest_cluster(os.path.join(logdir, f"{name}.log"),
                                            r["uml"]["verdict"])
        elif name in new and r["native"]["verdict"] == "PASS":
            del new[name]
    by_cluster = {}
    for name, reason in new.items():
        by_cluster.setdefault(cluster_of(reason), []).append(name)
    with open(path, "w") as f:
        f.write("# Tests of LTP's runtest/syscalls that pass natively but not under uml, one a line:\n"
                "#   NAME  CLUSTER: detail\n"
                "# Maintained by conformance/ltp/run-ltp.py (--write-expectations keeps reasons,\n"
                "# adds new failures with a suggested cluster, drops tests that now pass); the\n"
                "# clusters were checked by reading the uml logs.\n")
        for cl in sorted(by_cluster, key=lambda c: (-len(by_cluster[c]), c)):
            f.write(f"\n# {cl} ({len(by_cluster[cl])})\n")
            for name in sorted(by_cluster[cl]):
                f.write(f"{name:24} {new[name]}\n")


def summarize(tests, results, exp, modes):
    counts = {m: {} for m in modes}
    for name, _ in tests:
        for m in modes:
            v = results.get(name, {}).get(m, {}).get("verdict")
            if v:
                counts[m][v] = counts[m].get(v, 0) + 1
    native_pass = [n for n, _ in tests if results.get(n, {}).get("native", {}).get("verdict") == "PASS"]
    s = {"tests": len(tests), "counts": counts, "native_pass": len(native_pass)}
    for m in modes:
        if m == "native":
            continue
        ok = [n for n in native_pass if results[n].get(m, {}).get("verdict") == "PASS"]
        s[f"{m}_pass_of_native_pass"] = len(ok)
        s[f"{m}_percent"] = round(100.0 * len(ok) / len(native_pass), 1) if native_pass else 0.0
    diff = {"regressions": [], "now_passing": [], "expected": [], "crashes": []}
    if "uml" in modes:
        for n in native_pass:
            v = results[n]["uml"]["verdict"]
            if v == "UMLCRASH":
                diff["crashes"].append(n)
            if v != "PASS":
                (diff["expected"] if n in exp else diff["regressions"]).append(n)
            elif n in exp:
                diff["now_passing"].append(n)
        for n, _ in tests:
            if results.get(n, {}).get("uml", {}).get("verdict") == "UMLCRASH" and n not in diff["crashes"]:
                diff["crashes"].append(n)
        clusters = {}
        for n in diff["expected"]:
            clusters.setdefault(cluster_of(exp[n]), []).append(n)
        s["clusters"] = {c: sorted(v) for c, v in
                         sorted(clusters.items(), key=lambda kv: (-len(kv[1]), kv[0]))}
    s["diff"] = diff
    return s


def write_report(args, tests, results, summary, exp, modes):
    bd = args.build_dir
    with open(os.path.join(bd, "report.tsv"), "w") as f:
        f.write("test\tcommand\t" + "\t".join(f"{m}\t{m}_rc\t{m}_secs" for m in modes)
                + "\texpectation\n")
        for name, command in tests:
            r = results.get(name, {})
            cols = []
            for m in modes:
                x = r.get(m, {})
                cols += [x.get("verdict", ""), "" if x.get("rc") is None else str(x["rc"]),
                         str(x.get("secs", ""))]
            f.write(f"{name}\t{command}\t" + "\t".join(cols) + f"\t{exp.get(name, '')}\n")
    with open(os.path.join(bd, "report.json"), "w") as f:
        json.dump({"ltp_commit": open(os.path.join(bd, "ltp-commit")).read().strip()
                   if os.path.exists(os.path.join(bd, "ltp-commit")) else None,
                   "timeout": args.timeout, "timeout_mul": args.timeout_mul,
                   "runtime_mul": args.runtime_mul,
                   "summary": summary,
                   "tests": [{"name": n, "command": c, **results.get(n, {}),
                              "expectation": exp.get(n)} for n, c in tests]}, f, indent=1)
    lines = summary_text(summary, modes, exp)
    lines.append("")
    lines.append("Per test:" + "".join(f"  {m:9}" for m in modes))
    for name, _ in tests:
        r = results.get(name, {})
        note = ""
        if r.get("native", {}).get("verdict") == "PASS" and "uml" in r:
            if r["uml"]["verdict"] != "PASS":
                note = f"  [{cluster_of(exp[name])}]" if name in exp else "  REGRESSION"
            elif name in exp:
                note = "  now passes, remove from expectations"
        lines.append(f"  {name:24}" + "".join(f" {r.get(m, {}).get('verdict', '-'):9}" for m in modes)
                     + note)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(bd, "report.txt"), "w") as f:
        f.write(text)
    return text


def summary_text(s, modes, exp):
    out = [f"LTP runtest/syscalls: {s['tests']} tests"]
    for m in modes:
        c = s["counts"][m]
        out.append(f"  {m:7} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    out.append(f"  native pass: {s['native_pass']}")
    for m in modes:
        if m != "native":
            out.append(f"  {m} pass among native passes: {s[m + '_pass_of_native_pass']}"
                       f" ({s[m + '_percent']}%)")
    d = s["diff"]
    if "uml" in modes:
        out.append("")
        out.append(f"Expected uml failures (in expectations.txt): {len(d['expected'])}")
        for c, names in s.get("clusters", {}).items():
            ex = " ".join(names[:4]) + (" ..." if len(names) > 4 else "")
            out.append(f"  {len(names):4}  {c}  ({ex})")
        out.append(f"REGRESSIONS (pass natively, fail under uml, not in expectations): "
                   f"{len(d['regressions'])}")
        for n in d["regressions"]:
            out.append(f"  REGRESSION {n}")
        out.append(f"Now passing under uml (remove from expectations): {len(d['now_passing'])}")
        for n in d["now_passing"]:
            out.append(f"  now passes, remove from expectations: {n}")
        if d["crashes"]:
            out.append(f"UML CRASHES (panic or uml killed by a signal): {len(d['crashes'])}")
            for n in d["crashes"]:
                out.append(f"  UMLCRASH {n}")
    return out


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ltp-src", help="LTP source tree (needed to build)")
    ap.add_argument("--build-dir", default="/tmp/uml-ltp",
                    help="install prefix, logs and reports (default /tmp/uml-ltp)")
    ap.add_argument("--skip-build", action="store_true",
                    help="use the tests already installed in BUILD_DIR")
    ap.add_argument("--build-only", action="store_true", help="build and install, run nothing")
    ap.add_argument("-j", "--jobs", type=int, default=2,
                    help="parallel runs under uml/gVisor, and make -j (default 2); native runs "
                         "go one at a time beside them, since LTP tests run as root on the "
                         "host expect to be alone there")
    ap.add_argument("--timeout", type=float, default=60,
                    help="hard kill after this many seconds per run (default 60)")
    ap.add_argument("--timeout-mul", type=float, default=1, help="LTP_TIMEOUT_MUL (default 1)")
    ap.add_argument("--runtime-mul", type=float, default=0.1,
                    help="LTP_RUNTIME_MUL: scales the runtime of the few tests that loop for a "
                         "set time (up to 600 s) so they fit the hard timeout (default 0.1)")
    ap.add_argument("--uml", default=os.path.join(REPO, "target", "x86_64-unknown-linux-gnu", "release", "uml"),
                    help="the uml binary (default: this repository's target/x86_64-unknown-linux-gnu/release/uml)")
    ap.add_argument("--gvisor", action="store_true", help="add a column for gVisor (runsc)")
    ap.add_argument("--runsc", default=shutil.which("runsc") or "runsc",
                    help="the runsc binary (default: runsc on PATH)")
    ap.add_argument("--modes", default=None,
                    help="comma-separated subset of native,uml,gvisor (default native,uml"
                         "[,gvisor])")
    ap.add_argument("--reuse", metavar="REPORT_JSON",
                    help="take the verdicts of the modes not run this time (see --modes) from "
                         "an earlier report.json, e.g. --modes uml --reuse old/report.json "
                         "runs only uml and compares with the earlier native run")
    ap.add_argument("--report-only", action="store_true",
                    help="run nothing: rebuild the report (and, with --write-expectations, the "
                         "expectations) from --reuse REPORT_JSON and the logs in BUILD_DIR")
    ap.add_argument("-t", "--tests", default=None,
                    help="only tests whose name matches this regular expression")
    ap.add_argument("--expectations", default=os.path.join(HERE, "expectations.txt"),
                    help="expectations file (default: expectations.txt beside this script)")
    ap.add_argument("--write-expectations", action="store_true",
                    help="rewrite the expectations file from this run")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every verdict")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)

    if not args.skip_build:
        if not args.ltp_src:
            ap.error("--ltp-src DIR is needed to build (or --skip-build)")
        build(args)
    if args.build_only:
        return 0

    runtest = os.path.join(args.build_dir, "runtest-syscalls")
    if not os.path.exists(runtest):
        sys.exit(f"run-ltp: {runtest} missing; build first (--ltp-src DIR)")
    tests = parse_runtest(runtest)
    if args.tests:
        rx = re.compile(args.tests)
        tests = [(n, c) for n, c in tests if rx.search(n)]
    # Duplicate names in runtest (rare) would overwrite each other's logs: keep the first.
    seen = set()
    tests = [(n, c) for n, c in tests if not (n in seen or seen.add(n))]

    modes = args.modes.split(",") if args.modes else ["native", "uml"] + (
        ["gvisor"] if args.gvisor else [])
    modes = [m for m in MODES if m in modes]
    results = {}
    run_modes = [] if args.report_only else list(modes)
    if args.report_only and not args.reuse:
        ap.error("--report-only needs --reuse REPORT_JSON")
    if "uml" in run_modes and not os.access(args.uml, os.X_OK):
        sys.exit(f"run-ltp: {args.uml} not found; build uml (cargo build --release) or --uml")
    if "gvisor" in run_modes and not shutil.which(args.runsc):
        sys.exit(f"run-ltp: {args.runsc} not found; /work/shared/tools/install-anchors.sh "
                 "installs it, or pass --runsc")
    if args.reuse:
        old = json.load(open(args.reuse))
        for t in old["tests"]:
            for m in MODES:
                if m in t and m not in run_modes:
                    results.setdefault(t["name"], {})[m] = t[m]
        modes = [m for m in MODES if m in run_modes or any(m in r for r in results.values())]
    for m in run_modes:
        os.makedirs(os.path.join(args.build_dir, "logs", m), exist_ok=True)
    os.makedirs(os.path.join(args.build_dir, "tmp"), exist_ok=True)

    notstatic = [n for n, c in tests
                 if os.path.exists(os.path.join(args.build_dir, "install/testcases/bin", program_of(c)))
                 and not is_static(os.path.join(args.build_dir, "install/testcases/bin", program_of(c)))]
    if notstatic:
        log(f"{len(notstatic)} test program(s) are not static: {' '.join(notstatic)}")

    runner = Runner(args)
    jobs = [(n, c, m) for n, c in tests for m in run_modes]
    log(f"{len(tests)} tests, modes {','.join(run_modes)}: {len(jobs)} runs, -j{args.jobs}, "
        f"timeout {args.timeout}s, LTP_TIMEOUT_MUL={args.timeout_mul}, "
        f"LTP_RUNTIME_MUL={args.runtime_mul}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as native_lane, \
            concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futs = [(native_lane if m == "native" else pool).submit(runner.run, n, c, m, len(jobs))
                for n, c, m in jobs]
        for fut in concurrent.futures.as_completed(futs):
            name, mode, result = fut.result()
            if result["verdict"] != "PASS":
                result["why"] = first_problem(
                    os.path.join(args.build_dir, "logs", mode, f"{name}.log"))
            results.setdefault(name, {})[mode] = result

    exp = read_expectations(args.expectations)
    if args.write_expectations:
        write_expectations(args.expectations, results, exp,
                           os.path.join(args.build_dir, "logs", "uml"))
        exp = read_expectations(args.expectations)
    summary = summarize(tests, results, exp, modes)
    write_report(args, tests, results, summary, exp, modes)
    print("\n".join(summary_text(summary, modes, exp)))
    print(f"\nFull report: {args.build_dir}/report.txt (.tsv, .json); logs in "
          f"{args.build_dir}/logs/")
    return 1 if summary["diff"]["regressions"] else 0


if __name__ == "__main__":
    sys.exit(main())
