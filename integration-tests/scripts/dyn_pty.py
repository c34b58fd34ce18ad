# Drives `argv` (an interactive bash, natively or under uml) in a host pseudo-terminal with
# python's pty module: waits for bash's prompt, runs a command, interrupts a `sleep 30` with
# Ctrl-C, and `exit 5`s. One line per check, so the output is the same natively and under
# uml when everything works.
import os, sys, time

from ptydrive import Terminal

PROMPT = b"dyn-test$ "
t = Terminal(sys.argv[1:], PROMPT.decode())
t.step("prompt", b"", PROMPT)
t.step("command", b"echo $((6 * 7))-answer\n", b"42-answer")
t.step("prompt after command", b"", PROMPT)
# The terminal echoes what is typed exactly once (readline turns the tty's ECHO off).
t.step("echo", b"echo one-$((1 + 1))\n", b"one-2", 10, False)
print("typed line echoed", t.seen.count(b"echo one-$((1 + 1))"), "time(s)")
t.step("prompt after echo", b"", PROMPT)
t.step("tty", b"tty | sed 's/[0-9]*$/N/'; echo tty-done\n", b"/dev/pts/N\r\ntty-done", 10, False)
t.step("prompt after tty", b"", PROMPT)
os.write(t.fd, b"sleep 30\n")
time.sleep(1.0)
t.step("ctrl-c of sleep", b"\x03", PROMPT, timeout=10)
t.step("status after ctrl-c", b"echo status=$?\n", b"status=130")
t.step("prompt after status", b"", PROMPT)
t.exit(b"exit 5\n")
