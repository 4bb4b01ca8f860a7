"""The one interface the HIL suite stimulates a meter through, and two rigs behind it.

``SimRig``: a simulated meter the suite starts itself (``host.sim.runner.Sim``); the
simulator's world drives everything: keys, load, virtual time, tamper, power.

``BoardRig``: a real ESP32 on a console (``--port``) and an optical head (``--ir-port``).
The console gives what the board's raw REPL can tell without the meter's tasks running
(identity, firmware hash: main.py is interrupted, then the board is soft-reset so it
boots again); a USB relay on the supply (``--power-cmd``, a command with ``{state}`` =
``on``/``off``) cuts and restores power. The ESP32 firmware has no console hooks for
keys, load or status, and no pulse generator is documented, so those steps raise
``StepUnavailable`` with the reason and the test is skipped, never passed.

Both rigs answer the optical port the same way: observations that a technician's reader
can make (credit, supply, alarms, rate) are read over IR on either.
"""
import contextlib
import json
import os
import shlex
import subprocess
import threading
import time

from host.provisioning.console import RUNNING
from host.provisioning.identity import ON_METER, firmware_hash  # noqa: F401 (the suite's)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "boards", "sim", "examples", "electricity-currency-tou.json")
KEY = "87f3ecbb2e46b48f"        # the example's public test key (tokens are made with it)
READER, TECHNICIAN = "rd-4711", "tech-0815"
START = "2026-11-23T08:00"      # a Monday
SERVE_CHUNK_MS = 300
CONFIG_NAME = "meter.json"


class StepUnavailable(Exception):
    """The rig cannot drive this step; the message says why (the test is skipped)."""


def hil_config():
    """The meter the suite expects: the TOU example with the optical port's passwords.
    A real board is provisioned with the same file (tests/hil/README.md)."""
    with open(EXAMPLE) as f:
        config = json.load(f)
    config["ir"] = {"passwords": {"reader": READER, "technician": TECHNICIAN}}
    return config


def tree_files(top):
    found = {}
    for root, _, names in os.walk(top):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, top).replace(os.sep, "/")] = f.read()
    return found


class SimRig:
    kind = "simulator"

    def __init__(self, state_dir, ir_link):
        from host.sim.runner import Sim
        from host.sim.script import meter_seconds
        os.makedirs(state_dir, exist_ok=True)
        with open(os.path.join(state_dir, CONFIG_NAME), "w") as f:
            json.dump(hil_config(), f)
        # the stock runtime in 300K, as tests/test_readout_sim.py serves its port
        self.sim = Sim(state_dir, heap="300K", heap_mode="off", ir_link=ir_link)
        self.sim.world.rtc_s = meter_seconds(START)
        self.ir_port = ir_link
        self.sim.power_on()

    @contextlib.contextmanager
    def optical(self):
        """The meter answers its optical port in real time while the block runs."""
        stop = threading.Event()
        errors = []

        def serve():
            try:
                while not stop.is_set():
                    self.sim.serve(SERVE_CHUNK_MS)
            except Exception as exc:        # said in the test, not lost in a thread
                errors.append(exc)
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield self.ir_port
        finally:
            stop.set()
            thread.join()
        if errors:
            raise errors[0]

    def identity(self):
        """The meter's identity as its status says it; the firmware hash over the bundle
        its flash is mapped from (the simulator has no console to ask it on)."""
        status = self.sim.status()
        return {"serial": status["identity"]["serial"], "pan": status["identity"]["pan"],
                "firmware_hash": firmware_hash(tree_files(self.sim.bundle))}

    def expected_firmware_hash(self):
        return firmware_hash(tree_files(self.sim.bundle))

    def status(self):
        return self.sim.status()

    def keys(self, keys):
        self.sim.send("keys " + keys)

    def set_load(self, watts):
        self.sim.set_load(watts * 1000)         # the board's load is in mW

    def advance(self, seconds):
        self.sim.advance(seconds * 1000)

    def power_cut(self):
        self.sim.power_cut()

    def power_on(self):
        self.sim.power_on()

    def close(self):
        self.sim.finish()


class BoardRig:
    kind = "board"

    def __init__(self, port, ir_port, power_cmd=None, bundle=None):
        self.port = port
        self.ir_port = ir_port
        self.power_cmd = power_cmd
        self.bundle = bundle

    @contextlib.contextmanager
    def optical(self):
        if not self.ir_port:
            raise StepUnavailable("no optical head: give --ir-port")
        yield self.ir_port

    def repl(self, code):
        """Run ``code`` in the board's raw REPL (main.py interrupted), then soft-reset so
        the meter boots again; its printed output."""
        if not self.port:
            raise StepUnavailable("no console: give --port")
        from mpremote.transport_serial import SerialTransport
        transport = SerialTransport(self.port, baudrate=115200)
        try:
            transport.enter_raw_repl(soft_reset=False)
            out = transport.exec(code)
            transport.exit_raw_repl()
            transport.serial.write(b"\x04")         # soft reset: main.py runs again
            booted(transport.serial)
        finally:
            transport.close()
        return out.decode()

    def identity(self):
        out = self.repl(BOARD_IDENTITY)
        return json.loads(out.strip().splitlines()[-1])

    def expected_firmware_hash(self):
        if not self.bundle:
            raise StepUnavailable("the firmware hash is compared with the bundle that was "
                                  "installed: give --bundle DIR (prepay provision bundle)")
        return firmware_hash(tree_files(self.bundle))

    def status(self):
        raise StepUnavailable("the ESP32 firmware has no console status hook; a real "
                              "board is observed over its optical port only")

    def keys(self, keys):
        raise StepUnavailable("the ESP32 firmware has no keypad test hook on its console; "
                              "type it on the keypad by hand")

    def set_load(self, watts):
        raise StepUnavailable("no bench load or pulse generator is documented for this "
                              "rig")

    def advance(self, seconds):
        if seconds > 120:
            raise StepUnavailable("a real board's time passes in real time: %d s is too "
                                  "long for a test" % seconds)
        time.sleep(seconds)

    def switch_supply(self, state):
        if not self.power_cmd:
            raise StepUnavailable("no supply relay: give --power-cmd 'COMMAND {state}'")
        subprocess.run(shlex.split(self.power_cmd.format(state=state)), check=True,
                       timeout=30)

    def power_cut(self):
        self.switch_supply("off")

    def power_on(self):
        self.switch_supply("on")
        time.sleep(5)           # boot

    def close(self):
        pass


def booted(serial, timeout_s=60):
    """Wait for the firmware's 'meter running' (firmware/main.py) after a soft reset."""
    said = b""
    end = time.monotonic() + timeout_s
    while RUNNING.encode() not in said:
        if time.monotonic() > end:
            raise AssertionError("the meter did not boot again: %r" % said[-300:])
        said += serial.read(serial.in_waiting or 1) if serial.in_waiting else b""
        time.sleep(0.05)


# Runs on the board (MicroPython, in its filesystem's root): identity, and firmware_hash()
# over boot.py, main.py and lib/ there (prepay provision meter checks the same).
BOARD_IDENTITY = ON_METER
