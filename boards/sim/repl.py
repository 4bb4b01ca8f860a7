"""The console's REPL, as a MicroPython board speaks it on its USB serial: the friendly
REPL (``>>> ``), the raw REPL (Ctrl-A) and its raw-paste mode (Ctrl-E A Ctrl-A), which
is what ``mpremote`` and every host tool drive. The Unix port's own REPL has neither raw
mode nor a soft reset, so the simulated board brings this one (``boards/sim/console.py``
runs it on the process's stdin/stdout, the console's pty).

Ctrl-D is a soft reset: the process ends with ``SOFT_RESET`` (from the friendly REPL:
boot.py and main.py run again) or ``SOFT_RESET_RAW`` (from the raw REPL: boot.py only,
then the raw REPL again, as a board does), and the launcher (``host/sim/console.py``)
starts it afresh: a new heap, the flash as the last power-on left it.
"""
import sys

SOFT_RESET = 64         # exit status: boot.py and main.py again
SOFT_RESET_RAW = 65     # exit status: boot.py, then the raw REPL
RAW_BANNER = "raw REPL; CTRL-B to exit\r\n"
PASTE_WINDOW = 512      # raw-paste: bytes the host may send before each \x01
BANNER = ("MicroPython %s; Prepay simulated board (Unix port, console REPL)\r\n"
          'Type "help()" for more information.\r\n')


class Repl:
    def __init__(self, read=None, write=None):
        self.read1 = read or sys.stdin.buffer.read
        self.write = write or sys.stdout.write
        self.globals = {"__name__": "__main__"}

    # -- the friendly REPL
    def friendly(self, banner=True):
        if banner:
            self.write(BANNER % ".".join(str(x) for x in sys.implementation.version[:3]))
        while True:
            self.write(">>> ")
            line = b""
            while True:
                c = self.read1(1)
                if not c or c == b"\x04":
                    if line:
                        continue
                    self.soft_reset(SOFT_RESET)
                if c == b"\x01":
                    return self.raw()
                if c == b"\x02":
                    self.write("\r\n")
                    return self.friendly()
                if c == b"\x03":
                    self.write("\r\nKeyboardInterrupt\r\n")
                    break
                if c in (b"\r", b"\n"):
                    self.write("\r\n")
                    if line.strip():
                        self.run_line(line.decode())
                    break
                if c in (b"\x7f", b"\x08"):
                    if line:
                        line = line[:-1]
                        self.write("\x08 \x08")
                    continue
                if c >= b" ":
                    line += c
                    self.write(c.decode())

    def run_line(self, text):
        try:
            code = compile(text, "<stdin>", "single")
            exec(code, self.globals)
        except BaseException as exc:  # noqa: BLE001 - a REPL reports everything
            if isinstance(exc, SystemExit):
                raise
            sys.print_exception(exc, sys.stdout)

    # -- the raw REPL and raw-paste mode
    def raw(self):
        self.write(RAW_BANNER)
        while True:
            self.write(">")
            code = b""
            while True:
                c = self.read1(1)
                if not c:
                    self.soft_reset(SOFT_RESET_RAW)
                if c == b"\x01":            # again: the banner, a clean line
                    self.write("\r\n" + RAW_BANNER)
                    code = None
                    break
                if c == b"\x02":
                    self.write("\r\n")
                    return self.friendly()
                if c == b"\x03":
                    code = b""
                    continue
                if c == b"\x05" and not code:
                    if self.read1(2) == b"A\x01":
                        code = self.paste()
                        break
                    continue
                if c == b"\x04":
                    if not code:
                        self.write("\r\n")
                        self.soft_reset(SOFT_RESET_RAW)
                    self.write("OK")
                    break
                code += c
            if code is not None:
                self.run_raw(code)

    def paste(self):
        """Raw-paste: the window size, then a \\x01 each time a window's bytes are in."""
        w = PASTE_WINDOW
        self.write("R\x01" + chr(w & 0xFF) + chr(w >> 8))
        buf = bytearray()
        taken = 0
        while True:
            c = self.read1(1)
            if not c or c == b"\x04":
                self.write("\x04")
                return bytes(buf)
            buf += c
            taken += 1
            if taken == w:
                taken = 0
                self.write("\x01")

    def run_raw(self, code):
        error = None
        try:
            exec(compile(code, "<stdin>", "exec"), self.globals)
        except BaseException as exc:  # noqa: BLE001 - reported after the first \x04
            if isinstance(exc, SystemExit):
                raise
            error = exc
        self.write("\x04")
        if error is not None:
            sys.print_exception(error, sys.stdout)
        self.write("\x04")

    def soft_reset(self, status):
        self.write("MPY: soft reboot\r\n")
        sys.exit(status)
