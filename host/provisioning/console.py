"""A meter's console (USB serial on an ESP32, a pty on the simulated board) through
mpremote's own raw-REPL transport over pyserial (device paths and pyserial URLs): run
code, write files whole (written beside, then renamed over: a power cut leaves the old
file or the new one), soft-reset and wait for the meter to say it runs. Counts the
bytes it sends, for the benchmark.

Files go in base64 chunks of ``CHUNK`` bytes, each one raw-REPL exec (raw-paste where
the board offers it): a third more bytes than the file, where Python's bytes repr of
``.mpy`` code is two to three times as many; 4 KiB decoded at a time suits an ESP32's
heap. Files the meter already holds byte for byte (by SHA-256, computed on the meter)
are not sent again, so a re-run after a failure sends only what is missing."""
import base64
import hashlib
import time

from host.errors import UserError
from host.text import reason

CHUNK = 4096
RUNNING = "meter running"           # firmware/main.py, once the meter has booted
CONFIG_ERROR = "config error: "     # firmware/main.py, a configuration it refuses
SOFT_REBOOT = b"soft reboot"
MAIN = "main.py"


class ConsoleError(UserError):
    """The console stopped answering, or the meter refused what was sent."""


class Console:
    def __init__(self, port):
        try:
            from mpremote.transport_serial import SerialTransport
        except ImportError:
            raise UserError("mpremote is missing: pip install mpremote")
        try:
            self.transport = SerialTransport(port, baudrate=115200)
        except Exception as exc:  # noqa: BLE001 - mpremote raises its own kinds
            raise ConsoleError("cannot open the console %s: %s" % (port, reason(exc)))
        self.port = port
        self.sent = 0
        serial = self.transport.serial
        write = serial.write

        def counted(data):
            self.sent += len(data)
            return write(data)
        serial.write = counted

    def raw(self, soft_reset=False):
        """Into the raw REPL (Ctrl-C stops main.py first); ``soft_reset``: a fresh heap."""
        try:
            self.transport.enter_raw_repl(soft_reset=soft_reset)
        except Exception as exc:  # noqa: BLE001
            raise ConsoleError("no REPL on %s: %s" % (self.port, reason(exc)))

    def run(self, code):
        """Run ``code`` in the raw REPL; what it printed."""
        try:
            return self.transport.exec(code).decode()
        except Exception as exc:  # noqa: BLE001
            raise ConsoleError(reason(exc))

    def hashes(self, paths):
        """{path: sha256 hex} of the files among ``paths`` the meter holds."""
        found = {}
        for line in self.run(HASHES % (list(paths),)).splitlines():
            path, _, digest = line.strip().rpartition(" ")
            if path:
                found[path] = digest
        return found

    def install(self, files, progress=None):
        """Write ``files`` (path -> bytes) the meter does not hold already; how many
        were sent. ``main.py`` is removed first and written last: a board whose install
        was cut boots into the REPL, never half a firmware."""
        held = self.hashes(files)
        todo = [p for p in sorted(files) if held.get(p) != hashlib.sha256(files[p]).hexdigest()]
        if todo and MAIN in files:      # no main.py while the firmware is half there
            self.run("import os\ntry:\n os.remove(%r)\nexcept OSError:\n pass" % MAIN)
            todo = [p for p in todo if p != MAIN] + [MAIN]
        made = set()
        for n, path in enumerate(todo, 1):
            folder = path.rpartition("/")[0]
            if folder and folder not in made:
                self.makedirs(folder)
                made.add(folder)
            self.write_file(path, files[path])
            if progress:
                progress(n, len(todo), path)
        return len(todo)

    def write_file(self, path, data):
        """``path`` whole or not at all: written to ``path + '.new'``, then renamed."""
        self.run("from binascii import a2b_base64 as a\nf = open(%r, 'wb')\nw = f.write"
                 % (path + ".new"))
        for i in range(0, len(data), CHUNK):
            self.run("w(a(%r))" % base64.b64encode(data[i:i + CHUNK]).decode())
        self.run("f.close()\nimport os\nos.rename(%r, %r)\ndel f, w, a"
                 % (path + ".new", path))

    def makedirs(self, path):
        self.run("import os\np = ''\nfor d in %r.split('/'):\n p += d\n try: os.mkdir(p)\n"
                 " except OSError: pass\n p += '/'" % path)

    def boot(self, timeout_s):
        """Soft-reset into main.py (the friendly REPL's Ctrl-D) and wait for the meter
        to say it runs: ``("running", said)``, ``("refused", the reason)`` for a
        configuration the firmware refuses, ``("stopped", said)`` when main.py ended
        into the REPL, ``("silent", said)`` after ``timeout_s``. The first boot imports
        the key and erases LittleFS's free blocks (docs/meter-security.md): seconds on
        the simulator, about half a minute on an ESP32."""
        serial = self.transport.serial
        try:
            self.transport.exit_raw_repl()
            time.sleep(0.1)
            serial.reset_input_buffer()
            serial.write(b"\x04")
        except Exception as exc:  # noqa: BLE001
            raise ConsoleError(reason(exc))
        said = b""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            try:
                waiting = serial.in_waiting
                if not waiting:             # never a blocking read: the meter goes quiet
                    time.sleep(0.05)
                    continue
                said += serial.read(waiting)
            except Exception as exc:  # noqa: BLE001 - the console went away
                raise ConsoleError("the console went away: %s" % reason(exc))
            after = said.split(SOFT_REBOOT, 1)[-1].decode(errors="replace")
            for line in after.splitlines():
                if line.startswith(CONFIG_ERROR):
                    return "refused", line[len(CONFIG_ERROR):].strip()
                if line.strip() == RUNNING:
                    return "running", after
            if SOFT_REBOOT in said and after.rstrip().endswith(">>>"):
                return "stopped", after
        return "silent", said.decode(errors="replace")

    def close(self):
        try:
            self.transport.close()
        except Exception:  # noqa: BLE001
            pass


HASHES = """
import hashlib
from binascii import hexlify
for p in %r:
    try:
        f = open(p, 'rb')
    except OSError:
        continue
    h = hashlib.sha256()
    while True:
        b = f.read(1024)
        if not b:
            break
        h.update(b)
    f.close()
    print(p, hexlify(h.digest()).decode())
"""

