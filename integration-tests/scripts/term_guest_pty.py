# Python's pty API inside the guest: pty.openpty, os.forkpty, pty.spawn, and programs run on
# a pty (`tty`, `sleep` killed by a typed ^C, a SIGWINCH handler). Prints verdicts and data,
# never pts numbers, so the output is the same natively and under uml.
import os, pty, sys, select, signal, termios, struct, fcntl, tty, time

def drain(fd, marker=None, timeout=10):
    out = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            out += d
            if marker and marker in out:
                break
    return out

# pty.openpty: data both ways, and ttyname
m, s = pty.openpty()
print("openpty names a pts:", os.ttyname(s).startswith("/dev/pts/"))
os.write(m, b"to-slave\n")
print("slave reads:", os.read(s, 100))
os.write(s, b"to-master\n")
print("master reads:", drain(m, b"to-master\r\n"))
tty.setraw(s)
os.write(m, b"\x03raw\r")
print("raw slave reads:", os.read(s, 100))
os.close(s); os.close(m)

# os.forkpty: the child runs on the slave as its controlling terminal
pid, fd = os.forkpty()
if pid == 0:
    print("child isatty", os.isatty(0), "sid==pid", os.getsid(0) == os.getpid(),
          "fg", os.tcgetpgrp(0) == os.getpgrp(), "ready")
    sys.stdout.flush()
    line = sys.stdin.readline()
    print("child got", line.strip())
    sys.stdout.flush()
    os._exit(7)
out = drain(fd, b"ready\r\n")
os.write(fd, b"hello-child\n")
out += drain(fd, b"got hello-child\r\n")
for l in out.replace(b"\r", b"").decode().splitlines():
    print("forkpty:", l)
_, st = os.waitpid(pid, 0)
print("forkpty status", os.waitstatus_to_exitcode(st))
out = drain(fd, timeout=1)
print("after exit:", out)
os.close(fd)

# ^C to a child blocked in sleep
pid, fd = os.forkpty()
if pid == 0:
    os.execv("/bin/sleep", ["sleep", "100"])
time.sleep(0.5)
t0 = time.monotonic()
os.write(fd, b"\x03")
_, st = os.waitpid(pid, 0)
print("sleep killed by", os.waitstatus_to_exitcode(st), "quickly", time.monotonic() - t0 < 5)
os.close(fd)

# window size and SIGWINCH in the child
pid, fd = os.forkpty()
if pid == 0:
    got = []
    signal.signal(signal.SIGWINCH, lambda *a: got.append(1))
    print("ready"); sys.stdout.flush()
    sys.stdin.readline()
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))
    print("winch", len(got) > 0, rows, cols); sys.stdout.flush()
    os._exit(0)
drain(fd, b"ready")
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 132, 0, 0))
os.write(fd, b"\n")
out = drain(fd, b"132")
print("winsize:", out.replace(b"\r", b"").decode().strip().splitlines()[-1])
os.waitpid(pid, 0)
os.close(fd)

# pty.spawn with stdin/stdout redirected through pipes
r1, w1 = os.pipe()
pid = os.fork()
if pid == 0:
    os.dup2(r1, 0)
    os.close(w1)
    rfd, wfd = os.pipe()
    def master_read(fd):
        return os.read(fd, 1024)
    status = pty.spawn(["/bin/sh", "-c", "read x; echo spawned:$x; exit 3"], master_read)
    os._exit(os.waitstatus_to_exitcode(status))
os.close(r1)
os.write(w1, b"abc\n")
_, st = os.waitpid(pid, 0)
print("spawn status", os.waitstatus_to_exitcode(st))


# `tty` on a pty prints its /dev/pts name
pid, fd = os.forkpty()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", "tty | sed 's/[0-9]*$/N/'"])
print("tty in forkpty:", drain(fd, b"N\r\n").strip())
os.waitpid(pid, 0)
os.close(fd)
print("done")
