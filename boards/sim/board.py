"""The simulated board: the interface of boards/README.md on the MicroPython Unix port.

``build_board(board_config)`` mounts the meter's filesystem (a LittleFS image file in
the state directory, memory-mapped or read and written, cut after N block writes when
asked; its last ``KEY_BLOCKS`` blocks are the key partition, ``key_flash``) and returns
a ``SimBoard``: relay or valve, metering chip or pulse input fed by the script's load,
keypad and button fed by the script, display and buzzer recorded, tamper switches,
battery, the power-fail signal, virtual RTC, the optical port (the pty
``PREPAY_SIM_IR`` names, ``ir_port.py``) and a watchdog that never bites.

Run parameters come from the environment (set by ``prepay sim``), not the meter
configuration: ``PREPAY_SIM_TIME`` (RTC seconds since 2000 at power-on),
``PREPAY_SIM_RTC_VALID`` (0/1), ``PREPAY_SIM_IMAGE`` (flash image path, default
``flash.img``), ``PREPAY_SIM_FLASH`` (``address:size`` of that image when the host
has memory-mapped it; a frozen build maps it itself), ``PREPAY_SIM_CUT`` (cut power
after N block writes), ``PREPAY_SIM_SWITCH`` (where the latching relay / valve was
left: on/off), ``PREPAY_SIM_HEAP`` (``step``: measure the heap at every wake-up; ``off``),
``PREPAY_SIM_NETWORK`` (``down``: the network service starts down; ``net.py``).

Board section of meter.json: ``{"name": "sim", "variant": "electricity"|"water"|"gas"|
"heat", "supply": "relay"|"valve", "metering": "chip"|"pulses", "ml_per_pulse": 1000,
"sample_s": 900, "valve_run_ms": 5000, "flash_blocks": 128, "tamper": [...]}``;
everything but ``name`` has a default from the variant.
"""
import os

from boards.sim.clock import VirtualClock
from boards.sim.physics import Load, MeteringChip, PulseInput

MOUNT = "/flash"
BLOCK_SIZE = 4096
KEY_BLOCKS = 2          # the chip's last blocks: the key partition (meter.keystore)
VARIANTS = {  # variant: (supply, metering)
    "electricity": ("relay", "chip"),
    "heat": ("valve", "chip"),
    "water": ("valve", "pulses"),
    "gas": ("valve", "pulses"),
}
BOARD_KEYS = ("name", "variant", "supply", "metering", "ml_per_pulse", "sample_s",
              "valve_run_ms", "flash_blocks", "tamper")
TAMPER_INPUTS = ("cover", "magnet", "tilt")
WRAP = 1 << 30
FLASH = None     # the mounted flash, for power_on to see a cut during boot


def _env_int(name, default):
    v = os.getenv(name)
    return default if v is None or v == "" else int(v)


class Switch:
    """Latching relay (switches at once) or motorised valve (runs ``run_ms``)."""

    def __init__(self, kind, clock, load, run_ms, position):
        self.kind = kind
        self.clock = clock
        self.load = load
        self.run_ms = run_ms if kind == "valve" else 0
        self.position = position     # where the contacts are: "on"/"off"
        self.until = 0
        self.commanded = kind == "valve"   # a valve has end switches; a relay no feedback
        self.operations = 0
        load.set_flowing(position == "on")

    def _move(self, to):
        if self.clock.ms < self.until:
            return "busy"
        self.commanded = True
        if self.position != to:
            self.operations += 1
            self.position = to
            self.until = self.clock.ms + self.run_ms
            self.load.set_flowing(to == "on")
            self.clock.kick("metering")     # what the meter measures just changed
        return "ok"

    def connect(self):
        return self._move("on")

    def disconnect(self):
        return self._move("off")

    def state(self):
        if not self.commanded:
            return "unknown"
        if self.clock.ms < self.until:
            return "moving"
        return self.position


class Keypad:
    def __init__(self):
        self.keys = ""

    def poll(self):
        if not self.keys:
            return None
        k = self.keys[0]
        self.keys = self.keys[1:]
        return k


class Display:
    def __init__(self):
        self.lines = (" " * 16, " " * 16)
        self.indicators = {"supply": False, "alarm": False, "tamper": False, "lockout": False}
        self.redraws = 0

    def show(self, line1, line2, supply=False, alarm=False, tamper=False, lockout=False):
        lines = (("%-16s" % line1)[:16], ("%-16s" % line2)[:16])
        ind = {"supply": supply, "alarm": alarm, "tamper": tamper, "lockout": lockout}
        if lines == self.lines and ind == self.indicators:
            return False
        self.lines = lines
        self.indicators = ind
        self.redraws += 1
        return True


class Buzzer:
    def __init__(self, clock):
        self.clock = clock
        self.until = 0
        self.beeps = 0

    def beep(self, ms, freq_hz=None):
        self.until = self.clock.ms + ms
        self.beeps += 1

    def off(self):
        self.until = 0

    @property
    def sounding(self):
        return self.clock.ms < self.until


class Leds:
    names = ("alarm", "supply")

    def __init__(self):
        self.on = {}

    def set(self, name, on):
        if name in self.names:
            self.on[name] = bool(on)

    def is_on(self, name):
        return self.on.get(name, False)


class Button:
    def __init__(self):
        self.presses = 0

    def take_presses(self):
        n = self.presses
        self.presses = 0
        return n

    def pressed(self):
        return False


class Tamper:
    def __init__(self, names):
        self.names = tuple(names)
        self.state = {}
        self.latched = []

    def set(self, name, on):
        if on and not self.state.get(name) and name not in self.latched:
            self.latched.append(name)
        self.state[name] = on

    def active(self):
        return [n for n in self.names if self.state.get(n)]

    def take_triggered(self):
        out = self.latched
        self.latched = []
        return out


class PowerFail:
    """The power-fail comparator: ``signal()`` is the mains going away (``power fail``
    in a script); the process is killed once the hold-up time is over."""

    def __init__(self):
        self.handler = None
        self.event = False
        self.down = False

    def signal(self):
        self.down = True
        self.event = True
        if self.handler is not None:
            self.handler()

    def failing(self):
        return self.down

    def take_event(self):
        e = self.event
        self.event = False
        return e

    def set_handler(self, fn):
        self.handler = fn


class Battery:
    def __init__(self, percent):
        self.pct = percent

    def percent(self):
        return self.pct

    def level_mv(self):
        return 3000 + self.pct * 6


class Rtc:
    def __init__(self, clock, valid):
        self.clock = clock
        self._valid = valid
        self.shift = 0

    def now_s(self):
        return self.clock.ms // 1000

    def set_s(self, seconds):
        self.shift += seconds * 1000 - self.clock.ms   # ticks_ms runs on undisturbed
        self.clock.ms = seconds * 1000
        self.clock.wake_all()
        self._valid = True

    def valid(self):
        return self._valid


class Watchdog:
    def __init__(self):
        self.timeout_ms = None
        self.feeds = 0

    def start(self, timeout_ms):
        self.timeout_ms = timeout_ms

    def feed(self):
        self.feeds += 1


def flash_blocks(board_config):
    """Blocks of the board's flash (the host maps the image file by this size)."""
    return board_config.get("flash_blocks", 128)


def mapped_flash(image, size):
    """The image file's bytes mapped shared, outside the heap, where reads and programs
    cost no system call and a killed process leaves what it wrote: mapped by the host
    process for the PyPI port (``PREPAY_SIM_FLASH``, ``host/sim/power.py``) or by this
    binary's ``simflash`` module (the frozen builds, ``boards/sim/micropython-modules``).
    None when neither can, or for a file of another size (FileFlash then reports it)."""
    given = os.getenv("PREPAY_SIM_FLASH")
    if given:
        import uctypes
        address, n = given.split(":")
        return uctypes.bytearray_at(int(address), int(n))
    try:
        import simflash
    except ImportError:
        return None
    try:
        os.stat(image)
    except OSError:
        from boards.sim.blockdev import create_image
        create_image(image, size)
    try:
        return simflash.map(image, size)
    except ValueError:
        return None


def mount_flash(image, blocks, cut_after):
    """Mount LittleFS (formatting a new one) on the state's flash image but its last
    KEY_BLOCKS, at /flash; returns the whole chip (the one the console board mounted at
    power-on, ``boards/sim/console.py``, when there is one)."""
    import sys
    import vfs
    chip = sys.modules.get("simchip")
    if chip is not None:
        return chip.flash
    memory = mapped_flash(image, blocks * BLOCK_SIZE)
    if memory is not None:
        from boards.sim.blockdev import RamFlash
        flash = RamFlash(BLOCK_SIZE, blocks, memory=memory)
    else:  # 256-byte buffers instead of two 4 KiB ones: 8 KB less of the meter's heap
        from boards.sim.blockdev import FileFlash
        flash = FileFlash(image, BLOCK_SIZE, blocks, sync=False, piece=256)
    from boards.sim.partition import Partition
    part = Partition(flash, 0, blocks - KEY_BLOCKS)
    try:
        fs = vfs.VfsLfs2(part)
    except OSError:
        _refuse_old_layout(vfs, flash)
        vfs.VfsLfs2.mkfs(part)
        fs = vfs.VfsLfs2(part)
    if cut_after is not None:
        flash.cut_after(cut_after)
    vfs.mount(fs, MOUNT)
    global FLASH
    FLASH = flash
    return flash


def _refuse_old_layout(vfs, flash):
    """An image whose LittleFS spans the whole chip is from a simulator without a key
    partition: formatting it would lose that meter's state, so it is refused."""
    try:
        vfs.VfsLfs2(flash)
    except OSError:
        return
    raise ValueError("board: %s is from a simulator without a key partition; give this "
                     "meter a new state directory"
                     % (os.getenv("PREPAY_SIM_IMAGE") or "flash.img"))


class SimBoard:
    name = "sim"
    config_scrub_dir = None     # meter.json is in the state directory on the host's disk,
    # where app_keys overwrites the key in place; the flash image never holds that file

    def __init__(self, cfg):
        for k in cfg:
            if k not in BOARD_KEYS:
                raise ValueError("board.%s: unknown field for the sim board" % k)
        variant = cfg.get("variant", "electricity")
        if variant not in VARIANTS:
            raise ValueError("board.variant: one of %s" % ", ".join(VARIANTS))
        supply_kind, metering = VARIANTS[variant]
        supply_kind = cfg.get("supply", supply_kind)
        metering = cfg.get("metering", metering)
        self.clock = VirtualClock(_env_int("PREPAY_SIM_TIME", 0) * 1000)
        self.load = Load(self.clock)
        self.metering = MeteringChip(self.load) if metering == "chip" else None
        self.pulse_input = None
        if metering == "pulses":
            self.pulse_input = PulseInput(self.load, cfg.get("ml_per_pulse", 1000))
        position = os.getenv("PREPAY_SIM_SWITCH") or "on"
        self.supply = Switch(supply_kind, self.clock, self.load,
                             cfg.get("valve_run_ms", 5000), position)
        self.sample_ms = cfg.get("sample_s", 900) * 1000
        self.keypad = Keypad()
        self.display = Display()
        self.buzzer = Buzzer(self.clock)
        self.leds = Leds()
        self.button = Button()
        self.tamper = Tamper(cfg.get("tamper", TAMPER_INPUTS))
        self.power_fail = PowerFail()
        self.battery = Battery(_env_int("PREPAY_SIM_BATTERY", 100))
        self.rtc = Rtc(self.clock, _env_int("PREPAY_SIM_RTC_VALID", 1) == 1)
        from boards.sim.ir_port import ir_port
        self.ir_port = ir_port(os.getenv("PREPAY_SIM_IR"))    # the launcher's pty
        self.watchdog = Watchdog()
        from boards.sim.net import SimNetwork
        self.network = SimNetwork(os.getenv("PREPAY_SIM_NETWORK") != "down")
        cut = os.getenv("PREPAY_SIM_CUT")
        blocks = flash_blocks(cfg)
        if not isinstance(blocks, int) or blocks < KEY_BLOCKS + 8:
            raise ValueError("board.flash_blocks: at least %d blocks of 4 KiB" % (KEY_BLOCKS + 8))
        self.flash = mount_flash(os.getenv("PREPAY_SIM_IMAGE") or "flash.img", blocks,
                                 int(cut) if cut else None)
        from boards.sim.partition import Partition
        self.key_flash = Partition(self.flash, blocks - KEY_BLOCKS, KEY_BLOCKS)
        self.data_dir = MOUNT + "/data"
        self.heap_mode = os.getenv("PREPAY_SIM_HEAP") or "step"
        self.console = "simchip" in __import__("sys").modules
        if self.console:    # meter.json is on the flash's LittleFS, as on the ESP32
            self.config_scrub_dir = MOUNT

    def ticks_ms(self):
        return (self.clock.ms - self.rtc.shift) % WRAP

    def ticks_diff(self, end, start):
        return (end - start + WRAP // 2) % WRAP - WRAP // 2

    def supply_voltage_mv(self):
        return self.metering.voltage_mv if self.metering is not None else None

    def sleep_ms(self, ms, lazy=False, wake=None):
        return self.clock.sleep_ms(ms, lazy, wake)

    async def background(self, app):
        if self.console:    # on the bench: real time, Ctrl-C on the console stops it
            from boards.sim.realtime import run
            await run(self, app, os.getenv("PREPAY_SIM_RTC_FILE"))
        from boards.sim.link import serve
        await serve(self, app)


def build_board(board_config=None):
    board_config = board_config or {}
    if board_config.get("name", "sim") != "sim":
        raise ValueError("board.name: this is the sim board, the configuration asks for %r"
                         % board_config.get("name"))
    import gc
    gc.collect()
    before = gc.mem_alloc()
    board = SimBoard(board_config)
    gc.collect()
    board.heap_own = gc.mem_alloc() - before    # the simulator's share, said apart
    return board
