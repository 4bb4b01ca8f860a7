"""``prepay sim``: the simulated meter, the very same firmware on the MicroPython Unix port.

    prepay sim --config METER.json --state DIR [--script FILE|-] [--cut-after-writes N]

The launcher builds the firmware bundle for the ``sim`` board (cached under
``build/sim-bundle``), runs ``micropython -X heapsize=200K -m boards.sim.power_on`` in the
state directory and talks to it line by line (``boards/sim/link.py``). It keeps the
physical world the meter lives in: the battery-backed clock, where the latching relay
or valve was left, the load, the tamper switches and the battery (``DIR/world.json``);
the meter keeps everything else in its LittleFS image (``DIR/flash.img``).

Without ``--script`` it is interactive: a terminal face of the meter (display lines and
indicators), keys typed go to the keypad, ``:`` takes a script command.
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from host import sim_script
from host.errors import UserError
from host.provisioning.bundle import build_bundle, micropython_command
from host.sim_script import ScriptError, iso, meter_seconds, parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLE_CACHE = os.path.join(REPO, "build", "sim-bundle")
SOURCES = ("firmware", "tokens", "boards/sim")
DEFAULT_HEAP = "200K"
MARK = "@@"
WORLD = "world.json"


LAST_TIME_S = meter_seconds("2099-12-31T23:59:59")   # as far as a script's 'at' goes
SCRIPT_WORD = {"power": ("load", "load 2.5kW"), "flow": ("flow", "flow 120L/h")}  # by measure
CONFIG_ERROR = "config error: "     # firmware/main.py's console line for a refused configuration


class SimError(UserError):
    """The simulated meter stopped (a crash, a failed expectation)."""


# ------------------------------------------------------------------ the bundle
def _newest_source():
    newest = 0
    for top in SOURCES:
        for folder, dirs, files in os.walk(os.path.join(REPO, top)):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
            for name in files:
                if name.endswith(".py"):
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
    return newest


def firmware_bundle():
    """The compiled sim bundle's root, rebuilt when a source is newer than it."""
    root = os.path.join(BUNDLE_CACHE, "prepay-sim")
    stamp = os.path.join(BUNDLE_CACHE, "stamp")
    newest = _newest_source()
    try:
        with open(stamp) as f:
            if int(f.read()) >= newest and os.path.isdir(root):
                return root
    except (OSError, ValueError):
        pass
    os.makedirs(os.path.dirname(BUNDLE_CACHE), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="sim-bundle-", dir=os.path.dirname(BUNDLE_CACHE))
    build_bundle("sim", None, tmp)
    make_romfs_image(os.path.join(tmp, "prepay-sim", "lib"), os.path.join(tmp, "lib.romfs"))
    with open(os.path.join(tmp, "stamp"), "w") as f:
        f.write(repr(newest))
    old = BUNDLE_CACHE + ".old-%d" % os.getpid()
    try:
        os.rename(BUNDLE_CACHE, old)
    except OSError:
        old = None
    try:
        os.rename(tmp, BUNDLE_CACHE)
    except OSError:      # another launcher won the race: use its bundle
        shutil.rmtree(tmp, ignore_errors=True)
    if old:
        shutil.rmtree(old, ignore_errors=True)
    return root


def make_romfs_image(lib_dir, out_path):
    """The bundle's /lib as a ROMFS image (mpremote's builder; its tree listing muted)."""
    import contextlib
    import io
    try:
        from mpremote.romfs import make_romfs
    except ImportError:
        raise UserError("mpremote is missing (it builds the ROMFS image): pip install mpremote")
    with contextlib.redirect_stdout(io.StringIO()):
        image = make_romfs(lib_dir, mpy_cross=False)
    with open(out_path, "wb") as f:
        f.write(image)


# ------------------------------------------------------------------ the world
class World:
    """What outlives the firmware process: clock, contacts, load, switches, battery."""

    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, WORLD)
        data = {}
        if os.path.exists(self.path):
            with open(self.path) as f:
                data = json.load(f)
        self.rtc_s = data.get("rtc_s")
        self.switch = data.get("switch", "on")
        self.load = data.get("load", 0)
        self.tampers = data.get("tampers", {})
        self.battery = data.get("battery", 100)

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"rtc_s": self.rtc_s, "switch": self.switch, "load": self.load,
                       "tampers": self.tampers, "battery": self.battery}, f)
        os.replace(tmp, self.path)


# ------------------------------------------------------------------ the process
class Meter:
    """One power-on of the firmware: a micropython process and its link."""

    def __init__(self, sim):
        self.sim = sim
        world = sim.world
        env = dict(os.environ)
        env.update({
            "MICROPYPATH": os.path.join(sim.bundle, "lib") + ":.frozen",
            "PREPAY_SIM_TIME": str(world.rtc_s),
            "PREPAY_SIM_RTC_VALID": "1",
            "PREPAY_SIM_SWITCH": world.switch,
            "PREPAY_SIM_BATTERY": str(world.battery),
            "PREPAY_SIM_IMAGE": "flash.img",
            "PREPAY_SIM_HEAP": sim.heap_mode,
        })
        if sim.cut_after is not None:
            env["PREPAY_SIM_CUT"] = str(sim.cut_after_left())
        else:
            env.pop("PREPAY_SIM_CUT", None)
        if sim.romfs:
            command = [sys.executable, "-m", "host.sim_power",
                       os.path.join(os.path.dirname(sim.bundle), "lib.romfs"), sim.bundle,
                       sim.heap]
            env["PYTHONPATH"] = REPO
        else:
            command = [sim.micropython, "-X", "heapsize=" + sim.heap, "-m",
                       "boards.sim.power_on", sim.bundle]
        self.proc = subprocess.Popen(
            command, cwd=sim.state_dir, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.writes_at_boot = None
        ready = self.read_reply()
        self.writes_at_boot = 0
        self.sim.note_reply(ready)
        if not ready.get("cut"):
            self.replay_world()

    def replay_world(self):
        world = self.sim.world
        if world.load:
            self.send("load %d" % world.load)
        for name, on in world.tampers.items():
            if on:
                self.send("tamper %s 1" % name)

    def read_reply(self):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise self.stopped()
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
            self.sim.console(line.rstrip("\n"))

    def stopped(self):
        """The error for a firmware process that ended without replying: one line for a
        refused configuration or a heap too small, the console and traceback for a crash."""
        err = self.proc.stderr.read()
        self.proc.wait()
        refused = [x for x in self.sim.recent if x.startswith(CONFIG_ERROR)]
        if refused:
            return UserError("the meter refuses its meter.json: "
                             + refused[-1][len(CONFIG_ERROR):])
        lines = (self.sim.recent + err.strip().splitlines()) or [""]
        if lines[-1].startswith("MemoryError"):
            where = [x.strip() for x in lines if x.strip().startswith("File ")]
            return UserError("the firmware ran out of memory in a %s heap (%s%s); give it "
                             "more with --heap" % (self.sim.heap, lines[-1],
                                                   ", " + where[-1] if where else ""))
        return SimError("the firmware stopped (exit %s):\n%s" % (
            self.proc.returncode, ("\n".join(self.sim.recent) + "\n" + err).strip()[-3000:]))

    def send(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        reply = self.read_reply()
        if "error" in reply:
            raise SimError("link: " + reply["error"])
        self.sim.note_reply(reply)
        return reply

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def quit(self):
        reply = self.send("quit")
        self.proc.wait(timeout=10)
        return reply


class Sim:
    def __init__(self, state_dir, heap=DEFAULT_HEAP, cut_after=None, heap_mode="step",
                 out=None, verbose=False, romfs=True):
        self.state_dir = state_dir
        self.romfs = romfs
        self.heap = heap
        self.cut_after = cut_after
        self.heap_mode = heap_mode
        self.out = out or sys.stdout
        self.verbose = verbose
        self.world = World(state_dir)
        self.bundle = firmware_bundle()
        self.micropython = micropython_command()
        self.meter = None
        self.writes_before = 0     # block writes of earlier power-ons (for the cut budget)
        self.last_writes = 0
        self.cut = False
        self.measures = None       # "power" or "flow", as the firmware's board says
        self.heap_peak = 0
        self.heap_boot = 0
        self.last_status = None
        self.profile = None
        self.recent = []

    # -- bookkeeping from replies
    def note_reply(self, reply):
        self.world.rtc_s = reply["ms"] // 1000 or self.world.rtc_s
        if reply.get("switch") in ("on", "off"):
            self.world.switch = reply["switch"]
        self.last_writes = reply.get("writes", 0)
        sim = reply.get("sim") or (reply.get("status") or {}).get("sim")
        if sim:
            self.measures = sim["measures"]
            self.heap_peak = max(self.heap_peak, sim["heap_peak"])
            self.heap_boot = max(self.heap_boot, sim["heap_boot"])
        if reply.get("cut"):
            self.cut = True

    def cut_after_left(self):
        return max(self.cut_after - self.writes_before, 0)

    def console(self, line):
        self.recent.append(line)
        del self.recent[:-40]
        if self.verbose or "crashed" in line:
            print("meter| " + line, file=sys.stderr)

    # -- power
    def power_on(self):
        if self.world.rtc_s is None:
            self.world.rtc_s = int(local_now())
        self.meter = Meter(self)

    def power_cut(self):
        if self.meter is not None:
            self.writes_before += self.last_writes
            self.meter.kill()
            self.meter = None
        self.world.save()

    def power_fail(self):
        """The power-fail signal, then the cut: the meter saves in its hold-up time."""
        if self.meter is not None:
            self.send("powerfail")
        if not self.cut:
            self.power_cut()

    @property
    def on(self):
        return self.meter is not None

    # -- commands
    def send(self, text):
        reply = self.meter.send(text)
        return reply

    def advance(self, ms):
        end_s = self.world.rtc_s * 1000 + ms
        if not self.on:
            self.world.rtc_s = end_s // 1000
            return
        while not self.cut:
            now_ms = self.world.rtc_s * 1000
            step_end = end_s
            if self.profile is not None:
                change = self.profile.next_change(self.world.rtc_s)
                if change is not None and change * 1000 < end_s:
                    step_end = change * 1000
            if step_end > now_ms:
                self.send("advance %d" % (step_end - now_ms))
            if self.cut or step_end >= end_s:
                break
            self.set_load(self.profile.value_at(step_end // 1000))

    def set_load(self, value):
        self.world.load = value
        if self.on:
            self.send("load %d" % value)

    def status(self):
        reply = self.send("status")
        self.last_status = reply.get("status")
        return self.last_status

    def finish(self):
        if self.meter is not None and not self.cut:
            reply = self.meter.quit()
            self.note_reply(reply)
            self.meter = None
        elif self.meter is not None:
            self.power_cut()
        self.world.save()


def local_now():
    """Seconds since 2000-01-01 in the host's local time (a new meter's RTC)."""
    t = time.localtime()
    return meter_seconds("%04d-%02d-%02dT%02d:%02d:%02d" % t[:6])


FIELD_ORDER = ("time", "credit", "credit_unit", "energy", "volume", "supply",
               "supply_reason", "alarm", "display", "last_token", "emergency_credit", "debt",
               "lockout_s", "tariff_rate")


def ordered(status):
    """The status with the issue's fields first, the rest after in name order."""
    out = {k: status[k] for k in FIELD_ORDER if k in status}
    for k in sorted(status):
        if k not in out and k != "sim":
            out[k] = status[k]
    return out


def field(status, path):
    value = status
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def run_command(sim, cmd, out):
    """Run one parsed script command; returns False when the power was cut by the flash."""
    name, args = cmd.name, cmd.args
    if name == "power_cut":
        sim.power_cut()
        return True
    if name == "power_fail":
        sim.power_fail()
        return not sim.cut
    if name == "power_on":
        if sim.on:
            raise ScriptError(cmd.line_no, "the meter is already on")
        sim.power_on()
        return not sim.cut
    if name == "advance":
        if (sim.world.rtc_s or 0) + args[0] // 1000 > LAST_TIME_S:
            raise ScriptError(cmd.line_no, "the meter's calendar ends with 2099; this "
                              "advance would pass it")
        sim.advance(args[0])
        return not sim.cut
    if name in ("load", "profile"):
        word, example = SCRIPT_WORD.get(sim.measures, (args[1], None))
        if args[1] != word:
            raise ScriptError(cmd.line_no, "this meter measures %s: use %s, e.g. %s"
                              % (sim.measures, word, example))
        if name == "load":
            sim.profile = None
            sim.set_load(args[0])
        else:
            sim.profile = args[0]
            sim.set_load(sim.profile.value_at(sim.world.rtc_s))
        return not sim.cut
    if name == "tamper":
        sim.world.tampers[args[0]] = args[1]
        if sim.on:
            sim.send("tamper %s %d" % (args[0], 1 if args[1] else 0))
        return not sim.cut
    if name == "battery":
        sim.world.battery = args[0]
        if sim.on:
            sim.send("battery %d" % args[0])
        return not sim.cut
    if name == "at":
        if not sim.on:
            sim.world.rtc_s = args[0]
            return True
        sim.send("at %d" % args[0])
        return not sim.cut
    if not sim.on:
        raise ScriptError(cmd.line_no, "the meter is off (power cut): 'power on' first")
    if name == "keys":
        sim.send("keys " + args[0])
    elif name == "button":
        sim.send("button %d" % args[0])
    elif name == "status":
        status = sim.status()
        if not sim.cut:
            out.write(json.dumps(ordered(status)) + "\n")
            out.flush()
    elif name == "expect":
        status = sim.status()
        if not sim.cut:
            got = field(status, args[0])
            shown = got if isinstance(got, str) else json.dumps(got)
            if shown != args[1]:
                raise ScriptError(cmd.line_no, "expected %s = %s, the meter says %s"
                                  % (args[0], args[1], shown))
    return not sim.cut


def run_script(sim, commands, out):
    """Run a checked script; returns the line number where the flash cut power, or None."""
    first = 0
    while first < len(commands) and commands[first].name in ("at", "power_cut", "power_fail"):
        if commands[first].name == "at":
            sim.world.rtc_s = commands[first].args[0]    # set before switching on
        first += 1
    sim.power_on()
    if sim.cut:
        return 0
    for cmd in commands[first:]:
        if not run_command(sim, cmd, out):
            return cmd.line_no
    return None


def prepare_state(args):
    state = args.state
    try:
        os.makedirs(state, exist_ok=True)
    except OSError as exc:
        raise UserError("cannot use %s as the state directory: %s" % (state, exc.strerror))
    target = os.path.join(state, "meter.json")
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as f:
                config = json.load(f)
        except OSError as exc:
            raise UserError("cannot read %s: %s" % (args.config, exc.strerror))
        except ValueError as exc:
            raise UserError("%s is not valid JSON: %s" % (args.config, exc))
        board = config.get("board") or {}
        if board.get("name", "sim") != "sim":
            raise UserError("%s is for the %r board; the simulator runs board 'sim'"
                            % (args.config, board.get("name")))
        config["board"] = dict(board, name="sim")
        with open(target, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1)
    elif not os.path.exists(target):
        raise UserError("%s has no meter.json yet: give --config METER.json" % state)


def run(args):
    prepare_state(args)
    if args.script is None:
        from host.sim_face import interactive
        return interactive(args)
    if args.script == "-":
        text, base = sys.stdin.read(), os.getcwd()
    else:
        try:
            with open(args.script, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise UserError("cannot read %s: %s" % (args.script, exc.strerror))
        base = os.path.dirname(os.path.abspath(args.script))
    try:
        commands = parse(text, base)
    except ScriptError as exc:
        print("prepay sim: %s: %s" % (args.script, exc), file=sys.stderr)
        return 2
    sim = Sim(args.state, heap=args.heap, cut_after=args.cut_after_writes,
              heap_mode="off" if args.no_heap_stats else "step", verbose=args.verbose,
              romfs=not args.files)
    out = sys.stdout
    try:
        cut_line = run_script(sim, commands, out)
    except ScriptError as exc:
        sim.finish()
        print("prepay sim: %s: %s" % (args.script, exc), file=sys.stderr)
        return 1
    except SimError:
        if sim.meter is not None:
            sim.meter.kill()
        sim.world.save()
        raise
    if cut_line is not None:
        out.write(json.dumps({"event": "power_cut", "after_writes": args.cut_after_writes,
                              "line": cut_line, "time": iso(sim.world.rtc_s)}) + "\n")
    sim.finish()
    heap = ("peak heap %d bytes (%d after boot)" % (sim.heap_peak, sim.heap_boot)
            if sim.heap_boot else "peak heap not measured (the meter did not finish booting)")
    print("prepay sim: %s in -X heapsize=%s; %d block writes; meter time %s"
          % (heap, sim.heap, sim.writes_before + sim.last_writes, iso(sim.world.rtc_s)),
          file=sys.stderr)
    return 0


def write_count(text):
    """--cut-after-writes N: a whole number of block writes, 0 or more."""
    if not re.fullmatch(r"[0-9]+", text):
        raise argparse.ArgumentTypeError("a number of block writes (0 or more), not %r" % text)
    return int(text)


def heap_size(text):
    """A -X heapsize value: bytes, or with K or M."""
    if not re.fullmatch(r"[1-9][0-9]*[KM]?", text):
        raise argparse.ArgumentTypeError("a heap size such as 200K or 1M, not %r" % text)
    return text


def script_help():
    """The script language, as sim_script's docstring gives it, for --help."""
    doc = sim_script.__doc__
    return "script commands:\n" + doc[doc.index("\n\n") + 2:doc.index("\n\n``parse")]


def register(sub, name, help_text):
    p = sub.add_parser(name, help=help_text, description=__doc__.split("\n\n")[0],
                       epilog=script_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="METER.json",
                   help="the meter configuration (copied into the state directory)")
    p.add_argument("--state", required=True, metavar="DIR",
                   help="state directory: flash image, clock and world of this meter")
    p.add_argument("--script", metavar="FILE", help="run a script (- for stdin) instead "
                   "of the interactive face")
    p.add_argument("--cut-after-writes", type=write_count, metavar="N",
                   help="cut the power after the N-th block write to the flash")
    p.add_argument("--heap", default=DEFAULT_HEAP, type=heap_size,
                   help="MicroPython heap (default 200K)")
    p.add_argument("--no-heap-stats", action="store_true",
                   help="skip the per-step heap measurement (faster)")
    p.add_argument("--files", action="store_true",
                   help="load the modules from .mpy files into the heap instead of running "
                   "them in place from ROMFS")
    p.add_argument("--verbose", action="store_true", help="show the firmware's console")
    p.set_defaults(run=run)
