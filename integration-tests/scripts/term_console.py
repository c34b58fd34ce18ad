# Drives `argv` (an interactive bash, natively or under uml) in a host pseudo-terminal, the
# way a user at a terminal would: prompt, a command, the window size and its change, `tty`,
# Ctrl-C and Ctrl-Z of a foreground `sleep 100`, a background read stopped by SIGTTIN, and
# `exit`. One line per check, so the output
# is the same natively and under uml when everything works.
import fcntl, os, struct, sys, termios, time

from ptydrive import Terminal

t = Terminal(sys.argv[1:], "term$ ")
step = t.step


def set_size(rows, cols):
    fcntl.ioctl(t.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


set_size(30, 100)

PROMPT = b"term$ "
step("prompt", b"", PROMPT)
step("command", b"echo $((6 * 7))-answer\n", b"42-answer")
step("prompt after command", b"", PROMPT)
step("window size", b"stty size\n", b"30 100\r\n")
step("prompt after stty", b"", PROMPT)
step("tty", b"tty | sed 's/[0-9]*$/N/'\n", b"/dev/pts/N\r\n")
step("prompt after tty", b"", PROMPT)
step("trap set", b"trap 'echo got-winch' WINCH; echo armed\n", b"armed\r\n")
step("prompt after trap", b"", PROMPT)
set_size(50, 120)
time.sleep(0.5)
step("new window size", b"stty size\n", b"50 120\r\n")
print("SIGWINCH trap ran:", b"got-winch" in t.seen, flush=True)
step("prompt after resize", b"", PROMPT)
os.write(t.fd, b"sleep 100\n")
time.sleep(1.0)
t0 = time.monotonic()
step("ctrl-c of sleep 100", b"\x03", PROMPT, timeout=10)
print("prompt back quickly:", time.monotonic() - t0 < 5, flush=True)
step("status after ctrl-c", b"echo status=$?\n", b"status=130")
step("prompt after status", b"", PROMPT)
os.write(t.fd, b"sleep 100\n")
time.sleep(1.0)
step("ctrl-z of sleep 100", b"\x1a", b"Stopped", timeout=10)
step("prompt after ctrl-z", b"", PROMPT)
step("jobs", b"jobs\n", b"Stopped")
step("prompt after jobs", b"", PROMPT)
step("kill the stopped job", b"kill -9 %sleep; sleep 0.3; jobs; echo killed\n", b"killed\r\n")
step("prompt after kill", b"", PROMPT)
step("background read stops (SIGTTIN)", b"cat & sleep 0.5; jobs\n", b"Stopped")
step("prompt after jobs", b"", PROMPT)
step("kill the background job", b"kill -9 %cat; sleep 0.3; jobs; echo killed-bg\n", b"killed-bg\r\n")
step("prompt after kill", b"", PROMPT)
t.exit(b"exit\n")
