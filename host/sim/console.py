"""The simulated board on the bench: MicroPython with a console, as an ESP32 on USB.

The firmware process (``boards/sim/console.py``) has the console as its stdin, stdout
and stderr: the slave of a pty whose bytes a thread joins to the pty technicians' tools
open (``console.path``, or a stable link), as the optical port is joined
(``host/sim/ir.py``). Both bridges outlive the process, so a soft reset, which ends the
process with the REPL's status (``boards/sim/repl.py``), is a new process on the same
paths: a new heap, the flash as it was left, the bytes sent meanwhile waiting in the pty.

The state directory holds the flash (``flash.img``: LittleFS, with the key partition
in its last 2 blocks) and the battery-backed clock (``rtc``); ``meter.json`` is on the
flash, where provisioning writes it, not beside it.
"""
import os
import signal
import subprocess
import time

from host.errors import UserError
from host.firmware.build import runtime_command
from host.sim.bundle import REPO
from host.sim.ir import IrBridge
from host.sim.runner import local_now
from host.sim.state import CONFIG, meter_files

SOFT_RESET, SOFT_RESET_RAW = 64, 65          # boards/sim/repl.py
RTC_FILE = "rtc"
DEFAULT_HEAP = "512K"   # the bundle's .mpy files load from LittleFS into the heap


def prepare_console_state(state, blank):
    """A console board's state: new, or one a console board left (no meter.json beside
    the flash). ``blank``: only a new one."""
    if os.path.exists(state) and not os.path.isdir(state):
        raise UserError("cannot use %s as the state directory: it is a file" % state)
    found = meter_files(state) if os.path.isdir(state) else []
    if CONFIG in found:
        raise UserError("%s holds a scripted meter (its meter.json beside the flash); a "
                        "board with a console needs another --state" % state)
    if blank and found:
        raise UserError("%s already holds a board (%s): --blank starts from an empty "
                        "one; --console boots what it holds" % (state, ", ".join(found)))
    os.makedirs(state, exist_ok=True)


class ConsoleBoard:
    def __init__(self, state_dir, heap=DEFAULT_HEAP, console_link=None, ir_link=None):
        self.state_dir = os.path.abspath(state_dir)
        self.heap = heap
        self.micropython = runtime_command("stock")
        self.console = IrBridge(console_link)
        self.ir = IrBridge(ir_link)
        self.proc = None
        self.stopping = False
        self.resets = 0

    def rtc_s(self):
        """The battery-backed clock now: what the meter last set, plus the host's time
        since (``boards/sim/realtime.py`` keeps it); the host's local time at first."""
        try:
            with open(os.path.join(self.state_dir, RTC_FILE)) as f:
                rtc_s, host_s = (int(x) for x in f.read().split())
            return rtc_s + int(time.time()) - host_s
        except (OSError, ValueError):
            return int(local_now())

    def start(self, raw=False):
        env = dict(os.environ)
        for name in list(env):
            if name.startswith("PREPAY_SIM_"):
                del env[name]
        env.update({
            "MICROPYPATH": REPO, "PREPAY_SIM_TIME": str(self.rtc_s()),
            "PREPAY_SIM_RTC_VALID": "1", "PREPAY_SIM_IR": self.ir.meter_path,
            "PREPAY_SIM_HEAP": "off", "PREPAY_SIM_IMAGE": "flash.img",
            "PREPAY_SIM_RTC_FILE": os.path.join(self.state_dir, RTC_FILE),
        })
        if raw:
            env["PREPAY_SIM_REPL"] = "raw"
        slave = self.console.meter_fd
        self.proc = subprocess.Popen(
            [self.micropython, "-X", "heapsize=" + self.heap, "-m", "boards.sim.console"],
            cwd=self.state_dir, env=env, stdin=slave, stdout=slave, stderr=slave)

    def run(self):
        """Power on and keep the board running, through soft resets, until ``stop``.
        Returns the exit status of a process that ended otherwise (a crash)."""
        raw = False
        while not self.stopping:
            self.start(raw)
            status = self.proc.wait()
            if status in (SOFT_RESET, SOFT_RESET_RAW):
                raw = status == SOFT_RESET_RAW
                self.resets += 1
                continue
            if not self.stopping:
                return status
        return 0

    def stop(self):
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def close(self):
        self.console.close()
        self.ir.close()
