# A program driven in a host pseudo-terminal, the way a user at a terminal would drive it:
# type, wait for what it prints, and report one verdict line per step, so that a driver's
# output is the same natively and under uml when everything works. Imported by the term_*
# and dyn_* drivers next to it.
import os, pty, select, sys, time


class Terminal:
    def __init__(self, argv, ps1):
        env = dict(os.environ, PS1=ps1, TERM="dumb", PATH="/usr/bin:/bin", LC_ALL="C")
        env.pop("PROMPT_COMMAND", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
        self.buf = b""
        # What came before the marker the last read waited for.
        self.seen = b""

    def read(self, timeout):
        """Appends what the terminal prints within `timeout`; False at its end."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            return False
        self.buf += data
        return bool(data)

    def read_until(self, marker, timeout):
        end = time.monotonic() + timeout
        while marker not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not self.read(left):
                return False
        i = self.buf.index(marker)
        self.seen, self.buf = self.buf[:i], self.buf[i + len(marker):]
        return True

    def step(self, name, send, marker, timeout=20, fatal=True):
        if send:
            os.write(self.fd, send)
        ok = self.read_until(marker, timeout)
        print(name, "ok" if ok else "FAILED (output so far: %r)" % self.buf[-300:], flush=True)
        if not ok and fatal:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
            sys.exit(1)

    def exit(self, command):
        """Types `command` (which ends the program) and prints its exit status."""
        os.write(self.fd, command)
        end = time.monotonic() + 20
        done = 0
        while time.monotonic() < end:
            if not self.read(0.2):
                break
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                break
        else:
            print("exit FAILED: still running", repr(self.buf[-200:]))
            os.kill(self.pid, 9)
            sys.exit(1)
        if not done:
            _, status = os.waitpid(self.pid, 0)
        print("exit status", os.waitstatus_to_exitcode(status))
