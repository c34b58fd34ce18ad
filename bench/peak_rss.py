#!/usr/bin/env python3
"""Peak resident memory of uml's own processes while a guest runs.

Usage: bench/peak_rss.py [--uml PATH] [--interval-ms N] -- CMD ARGS

Runs `uml run -- CMD ARGS` and samples, every interval, /proc/PID/status of the uml kernel
process and all its descendants (the stubs). Guest memory lives in uml's physical-memory
memfd, so it shows as RssShmem (in the kernel, which maps all of it, and in each stub);
uml's own memory is the rest: RssAnon (heap, stacks) + RssFile (the uml binary and
libraries); page tables are not part of any RSS figure. The script prints the peak of the sum of
RssAnon + RssFile over all those processes (uml's own), and, for reference, the peak with
RssShmem added (which counts guest pages once per process mapping them).
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(pid):
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rss_kib(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("RssAnon", "RssFile", "RssShmem"):
                    fields[key] = int(rest.split()[0])
    except OSError:
        return 0, 0
    own = fields.get("RssAnon", 0) + fields.get("RssFile", 0)
    return own, own + fields.get("RssShmem", 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uml", default=os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release/uml"))
    ap.add_argument("--interval-ms", type=float, default=2.0)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")
    proc = subprocess.Popen([a.uml, "run", "--", *cmd], stdout=subprocess.DEVNULL)
    peak_own = peak_all = 0
    while proc.poll() is None:
        own = total = 0
        for pid in tree(proc.pid):
            o, t = rss_kib(pid)
            own += o
            total += t
        peak_own = max(peak_own, own)
        peak_all = max(peak_all, total)
        time.sleep(a.interval_ms / 1000)
    print(f"peak RSS of uml's own processes (RssAnon+RssFile): {peak_own / 1024:.1f} MiB")
    print(f"peak RSS including guest memory (RssShmem, per process): {peak_all / 1024:.1f} MiB")
    print(f"exit status {proc.returncode}")
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
