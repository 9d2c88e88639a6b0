#!/usr/bin/env python3
"""pty-drive.py - drive an interactive shell through a real terminal, as a user at a keyboard would.

Usage: pty-drive.py [--timeout S] [--kernel] -- COMMAND...   (COMMAND starts `bash --norc -i`, directly, through
xenvm-exec or through `srun --pty`)

COMMAND runs on a new pseudo-terminal (30 rows x 90 columns).  The dialogue: the shell's prompt
appears and PS1 is set to 'PROMPT$ '; `tty`; `stty size`; the terminal is resized to 40x100 and `stty size` asked
again; `sleep 100` interrupted by Ctrl-C (then `echo rc=$?`); `sleep 101` stopped by Ctrl-Z,
`jobs`, `fg`, Ctrl-C; readline line editing (a backspace); `exit 3`.  Prints one line per
finding, "name: value" (with --kernel also "kernel: <uname -r>", last), for the caller to compare (native vs in a VM), and the transcript (bytes
escaped) after a line "transcript:".  Exit status 0 when the dialogue ran to its end.
"""
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
import fcntl

PROMPT = b"PROMPT$ "


class Term:
    def __init__(self, argv, timeout):
        self.timeout = timeout
        self.buf = b""  # everything read
        self.pos = 0  # where the next expect starts
        env = dict(os.environ, PS1=PROMPT.decode(), TERM="xterm")
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.resize(30, 90)

    def resize(self, rows, cols):
        # the kernel sends SIGWINCH to the terminal's foreground group, as a terminal window does
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def send(self, data):
        try:
            os.write(self.fd, data)
        except OSError:
            pass  # the command ended (EIO): what it printed tells why

    def _read(self, until):
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return False
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return None  # EIO: the command ended
            if not chunk:
                return None
            self.buf += chunk
            return True

    def expect(self, pattern, timeout=None):
        """The first match of pattern (bytes regex) after the last one, or None on timeout/end."""
        until = time.monotonic() + (timeout or self.timeout)
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            if not self._read(until):
                return None

    def wait(self):
        until = time.monotonic() + self.timeout
        while self._read(until):
            pass
        for _ in range(int(self.timeout * 10)):
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(st)
            time.sleep(0.1)
        os.kill(self.pid, signal.SIGKILL)
        return "timeout"


def main():
    args = sys.argv[1:]
    timeout = 60.0
    kernel = False
    while args[:1] in (["--timeout"], ["--kernel"]):
        if args[0] == "--kernel":
            kernel = True
            args = args[1:]
        else:
            timeout = float(args[1])
            args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    t = Term(args, timeout)
    out = {}

    def step(name, send, pattern, value=lambda m: "yes", timeout=None):
        if send is not None:
            t.send(send)
        m = t.expect(pattern, timeout)
        out[name] = value(m) if m else "NO (timeout)"
        return m

    def report():
        for k, v in out.items():
            print(f"{k}: {v}")
        print("transcript:")
        print(repr(t.buf)[2:-1].replace("\\r\\n", "\\r\\n\n"))
        sys.stdout.flush()

    # killed by the caller's timeout: what was found so far still tells where it stuck
    signal.signal(signal.SIGTERM, lambda *_: (report(), os._exit(1)))
    # The shell's own first prompt (slurmstepd does not pass PS1 on), then ours; written in two
    # quoted halves so that the echo of the command line does not look like the prompt.
    t.expect(rb"[$#] ")
    t.send(b"PS1='PROM''PT$ '\r")
    if not step("prompt", None, re.escape(PROMPT)):
        os.kill(t.pid, signal.SIGKILL)
        report()
        return 1
    t.timeout = min(t.timeout, 20.0)  # the first prompt took the start-up; the rest is quick
    step("tty", b"tty\r", rb"[\r\n](/dev/pts/\d+|not a tty)\r?\n", lambda m: m.group(1).decode())
    t.expect(re.escape(PROMPT))
    step("size", b"stty size\r", rb"[\r\n](\d+ \d+)\r?\n", lambda m: m.group(1).decode())
    t.expect(re.escape(PROMPT))
    t.resize(40, 100)
    time.sleep(1)  # SIGWINCH travels (in a VM: to xenvm-exec, WINSIZE, the guest's pty)
    step("resized", b"stty size\r", rb"[\r\n](\d+ \d+)\r?\n", lambda m: m.group(1).decode())
    t.expect(re.escape(PROMPT))
    step("monitor", b"set -o | grep '^monitor'\r", rb"[\r\n]monitor\s+(on|off)",
         lambda m: m.group(1).decode())
    t.expect(re.escape(PROMPT))
    t.send(b"sleep 100\r")
    time.sleep(2)
    t.send(b"\x03")  # Ctrl-C
    step("ctrl-c", None, re.escape(PROMPT), timeout=15)
    step("ctrl-c status", b"echo rc=$?\r", rb"rc=(\d+)", lambda m: m.group(1).decode())
    t.expect(re.escape(PROMPT))
    t.send(b"sleep 101\r")
    time.sleep(2)
    t.send(b"\x1a")  # Ctrl-Z
    step("ctrl-z", None, rb"\[1\]\+\s+Stopped\s+sleep 101", timeout=15)
    t.expect(re.escape(PROMPT))
    step("jobs", b"jobs\r", rb"\[1\]\+\s+(Stopped)", lambda m: m.group(1).decode())
    t.expect(re.escape(PROMPT))
    step("fg", b"fg\r", rb"[\r\n]sleep 101\r?\n")
    time.sleep(1)
    t.send(b"\x03")
    step("fg ctrl-c", None, re.escape(PROMPT), timeout=15)
    # readline: a typo erased with backspace before Enter
    step("line editing", b"echo hellx\x7fo-edited\r", rb"[\r\n](hello-edited)\r?\n",
         lambda m: m.group(1).decode())
    t.expect(re.escape(PROMPT))
    t.send(b"echo once-only\r")
    t.expect(rb"[\r\n]once-only\r?\n")
    t.expect(re.escape(PROMPT))
    out["echoed"] = str(t.buf.count(b"echo once-only"))
    if kernel:  # where the shell runs (the host's kernel or the guest's), for the caller
        step("kernel", b"uname -r\r", rb"[\r\n]([0-9][^\r\n]*)\r?\n", lambda m: m.group(1).decode())
        t.expect(re.escape(PROMPT))
    t.send(b"exit 3\r")
    out["exit status"] = str(t.wait())
    if "kernel" in out:
        out["kernel"] = out.pop("kernel")  # last, for the caller to split off
    text = t.buf.decode("latin-1")
    out["nul bytes"] = str(t.buf.count(b"\0") + t.buf.count(b"^@"))
    out["job control warning"] = "yes" if re.search(
        r"no job control|cannot set terminal process group", text) else "no"
    report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
