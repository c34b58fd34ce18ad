"""Starts a program (vim) on a fresh pty, waits for it to draw, types Escape and `:qa!`,
and prints whether its screen output ever said E1286 ("Could not set timeout": vim's
timer_create failed) and how it exited. Usage: vim_pty.py CMD ARGS..."""
import os
import pty
import select
import sys
import time

pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
end = time.time() + 20
sent = False
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.3)
    if r:
        try:
            d = os.read(fd, 65536)
        except OSError:
            break
        if not d:
            break
        out += d
    elif not sent and out:
        os.write(fd, b"\x1b:qa!\r")
        sent = True
_, status = os.waitpid(pid, 0)
print("drew:", len(out) > 0)
print("E1286:", b"E1286" in out)
print("exit:", os.waitstatus_to_exitcode(status))
