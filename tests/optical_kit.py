"""A meter application on a bench board for optical-port tests (both runtimes): the real
App, meter core, token acceptance and store on a scratch directory; a board whose clock
the test moves and whose IR port is two byte queues. ``Bench.talk`` plays the host."""
import app_ir
from app import App
from iec62056.frame import command_frame
from meter import civil

KEY = "87f3ecbb2e46b48f"
READER = "rd-4711"
TECHNICIAN = "tech-0815"
T0 = civil.seconds(2026, 11, 23, 8, 0)


def config(**over):
    cfg = {"utility": "electricity", "credit_mode": "currency",
           "sts": {"key": KEY, "algorithm": "sta", "krn": 1, "kt": 2, "ti": 1,
                   "sgc": 201457, "floor_tid": 1},
           "identity": {"pan": "600727000000000017", "serial": "SIM-E-0001"},
           "display": {"currency": "KES", "decimals": 2},
           "board": {"name": "bench"},
           "tariff": {"active": {"kind": "flat", "prices": [25000000],
                                 "standing_micro_per_day": 1000000}},
           "credit": {"emergency": {"amount_micro": 50000000, "threshold_micro": 10000000}},
           "ir": {"passwords": {"reader": READER, "technician": TECHNICIAN},
                  "reaction_ms": 20, "switch_ms": 50}}
    cfg.update(over)
    return cfg


class Clock:
    def __init__(self, ms):
        self.ms = ms


class Rtc:
    def __init__(self, clock):
        self.clock = clock

    def now_s(self):
        return self.clock.ms // 1000

    def set_s(self, seconds):
        self.clock.ms = seconds * 1000

    def valid(self):
        return True


class Supply:
    kind = "relay"

    def __init__(self):
        self.position = "on"
        self.operations = 0

    def state(self):
        return self.position

    def connect(self):
        self.position = "on"
        return "ok"

    def disconnect(self):
        self.position = "off"
        return "ok"


class Port:
    def __init__(self):
        self.baud = 300
        self.inbox = b""
        self.sent = b""
        self.bauds = []

    def read(self, n=None):
        data = self.inbox
        self.inbox = b""
        return data

    def any(self):
        return len(self.inbox)

    def write(self, data):
        self.sent += data
        return len(data)

    def set_baud(self, baud):
        self.baud = baud
        self.bauds.append(baud)


class Buzzer:
    sounding = False


KEY_FLASH = {}          # data directory -> its key partition, kept across power-ons


class Board:
    name = "bench"
    metering = None
    pulse_input = None
    buzzer = Buzzer()

    def __init__(self, data_dir, ms):
        self.clock = Clock(ms)
        self.data_dir = data_dir
        self.rtc = Rtc(self.clock)
        self.supply = Supply()
        self.ir_port = Port()
        self.ticks = 0              # monotonic: setting the RTC does not move it
        from boards.sim.blockdev import RamFlash
        if data_dir not in KEY_FLASH:
            KEY_FLASH[data_dir] = RamFlash(4096, 2)
        self.key_flash = KEY_FLASH[data_dir]    # the meter's key partition

    def ticks_ms(self):
        return self.ticks

    def ticks_diff(self, end, start):
        return end - start


STARTED = []
try:
    import app_keys  # noqa: F401 - a firmware with a key partition
    KEY_PARTITION = True
except ImportError:
    KEY_PARTITION = False


class Bench:
    """One power-on of the meter on the bench (a new Bench on the same directory is the
    next power-on), with its optical port's engine."""

    def __init__(self, data_dir, cfg=None, ms=T0 * 1000):
        self.board = Board(data_dir, ms)
        cfg = cfg or config()
        if data_dir in STARTED:     # the key went to the key partition at the first boot
            cfg["sts"] = dict(cfg["sts"], key=None)
        STARTED.append(data_dir)
        if KEY_PARTITION:           # the App moves meter.json's secrets out of the file
            import json
            path = data_dir + "/meter.json"
            with open(path, "w") as f:
                json.dump(cfg, f)
            self.app = App(self.board, cfg, path)
        else:
            self.app = App(self.board, cfg)
        self.engine = app_ir.start(self.app)

    def run(self, ms):
        """Let ``ms`` pass, the IR task turning as often as it asks."""
        board = self.board
        end = board.ticks + ms
        while True:
            wait, _ = app_ir.step(self.engine, board)
            if board.ticks + wait > end:
                break
            board.ticks += max(wait, 1)
            board.clock.ms += max(wait, 1)
        left = end - board.ticks
        board.ticks = end
        board.clock.ms += left

    def talk(self, data, ms=1000):
        """Send bytes to the meter's port; returns what it answered within ``ms``."""
        port = self.board.ir_port
        port.inbox += data
        port.sent = b""
        self.run(ms)
        return port.sent

    def sign_on(self, mode=b"1"):
        ident = self.talk(b"/?!\r\n")
        return ident, self.talk(b"\x06" + b"05" + mode + b"\r\n", 3000)

    def program(self, password):
        self.sign_on()
        return self.talk(command_frame(b"P1", b"(" + password.encode() + b")"))

    def command(self, kind, data_set=None):
        return self.talk(command_frame(kind, None if data_set is None else data_set.encode()))
