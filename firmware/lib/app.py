"""The meter application: one board, the meter core, token acceptance and the customer
interface, wired together. Each method is one step a task runs (``app_tasks`` runs
them under asyncio); none of them sleeps, so the steps are testable without a loop.

Time is the board's clock: ``board.rtc.now_s()``, seconds since 2000-01-01 local.
The decoder key, the optical port's passwords and the online meter's command key and
broker password live in the board's key partition
(``app_keys`` moves them there from meter.json at the first boot); nothing here prints
them.
"""
from app_ui import Ui
from const import const
from meter.acceptance import TokenAcceptor
from meter.core import Meter
from meter.keystore import KeyStore
from meter.store import Store

_LOW_BATTERY_PERCENT = const(20)    # below: low (a valve closes, see the core's supply rules)
_BATTERY_OK_PERCENT = const(30)     # at or above: replaced or recharged (no flapping between)
_SAMPLE_MS = const(1000)        # a board without ``sample_ms`` is read every second
_FAST_SAMPLE_MS = const(1000)   # while a load limit is being timed
MONTHS = ("", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12")


def load_cipher(raw_cfg):
    """Import the token cipher the meter's key needs now, while the heap is still in
    one piece (the first token would otherwise need a large block later)."""
    sts = raw_cfg.get("sts") if isinstance(raw_cfg, dict) else None
    algorithm = sts.get("algorithm", "sta") if isinstance(sts, dict) else "sta"
    __import__("tokens.misty1" if algorithm == "misty1" else "tokens.sta")


def provisioning_floor(base_date, now):
    """TID one day before ``now``: tokens issued before then are Old (0 if out of range)."""
    from meter import civil
    from tokens.errors import TokenError
    from tokens.tid import tid_at
    y, m, d = civil.civil_from_days(now // 86400)
    sec = now % 86400
    try:
        tid = tid_at(base_date, y, m, d, sec // 3600, sec // 60 % 60) - 1440
    except TokenError:
        return 0
    return tid if tid > 0 else 0


def meter_number(identity):
    """The DRN in the identity's PAN (a test token shows it), or None without a PAN."""
    from tokens.pan import drn
    return drn(identity["pan"]) if "pan" in identity else None


def iso_time(t):
    from meter import civil
    y, m, d = civil.civil_from_days(t // 86400)
    s = t % 86400
    return "%04d-%s-%02dT%02d:%02d:%02d" % (y, MONTHS[m], d, s // 3600, s // 60 % 60, s % 60)


class App:
    def __init__(self, board, raw_cfg, config_path="meter.json"):
        import app_config           # boot only; main.py drops them after
        import app_keys
        core, sts, identity, display_cfg, _ = app_config.split(raw_cfg)
        self.board = board
        self.identity = identity
        self.sts_public = app_config.public(sts)
        now = self.now()
        from iec62056.settings import check as check_ir
        self.ir_cfg = check_ir(raw_cfg.get("ir"), identity)   # the optical port's (app_ir)
        from online.settings import check as check_online
        self.online_cfg = check_online(raw_cfg.get("online"))  # the MQTT task's (app_mqtt)
        keys = KeyStore(board.key_flash)
        secrets = app_keys.take(keys, sts, raw_cfg, config_path,   # before anything saves
                                getattr(board, "config_scrub_dir", None))
        if "ir_reader" in secrets:
            self.ir_cfg["passwords"] = (secrets["ir_reader"], secrets["ir_technician"])
        if self.online_cfg is not None:
            from binascii import unhexlify
            key = secrets.get("command_key")
            self.online_cfg["command_key"] = None if key is None else unhexlify(key)
            self.online_cfg["broker_password"] = secrets.get("broker_password")
        del secrets
        # the code these two need comes in before the records' data litters the heap:
        # on the PyPI port a module's new names may need a new block of 14 KB or more
        floor = sts["floor_tid"]
        if floor is None:
            floor = provisioning_floor(sts["base_date"], now)
        drn = meter_number(identity)
        self.store = Store(board.data_dir)
        self.meter = Meter(core, self.store, now, clock_valid=board.rtc.valid())
        self.acceptor = TokenAcceptor(self.meter, self.store, sts, now, floor, keys, drn=drn)
        del sts
        self.ui = Ui(self.meter, self.acceptor, display_cfg)
        self.ir = None            # its protocol engine, once the task runs
        self.online = None        # the MQTT task's session, once it runs
        self.battery_low = self.meter.sup["battery_low"]   # as saved: a battery
        # replaced while the meter was unpowered is seen at the first scan
        self.want = None          # the core's last decision (state, reason)
        self.crashes = 0
        self.sample_ms = getattr(board, "sample_ms", _SAMPLE_MS)
        self.apply(self.meter.state())

    def now(self):
        return self.board.rtc.now_s()

    # ------------------------------------------------------------ energy's journey
    def sample(self, now):
        """Read the metering into the core and act on its decision; returns the ms
        until the next reading is due."""
        self.apply(self.read_metering(now))
        return self.next_sample_ms(now)

    def read_metering(self, now):
        """What the metering chip or the pulse counter measured since the last reading,
        into the core; returns the core's supply decision."""
        b = self.board
        m = self.meter
        if b.metering is not None:
            b.metering.poll()
            power = b.metering.power_mw
            return m.sample(now, b.metering.take_energy_mwh(), 0,
                            None if power is None else power // 1000)
        if b.pulse_input is not None:
            return m.pulses(now, b.pulse_input.take_count())
        return m.tick(now)

    def next_sample_ms(self, now):
        """The board's interval, shortened so that the core sees the moment credit
        crosses an alarm level or the disconnect level, every second while a load limit
        is timed, and the instant of the next boundary the core knows in advance
        (friendly window, tariff switch, midnight, retry, lockout timeout...)."""
        m = self.meter
        interval = self.sample_ms
        boundary = m.next_boundary(now)
        if boundary is not None and boundary > now:
            interval = min(interval, (boundary - now) * 1000)
        state, reason = m.state()
        chip = self.board.metering
        power = m.reg["power"] if chip is None or chip.power_mw is None else chip.power_mw // 1000
        limit = m.cfg["supply"]["load_limit"]["limit_w"]
        if limit and power > limit:
            return min(interval, _FAST_SAMPLE_MS)
        if state not in ("on", "limited"):
            return interval
        ms = m.ms_to_credit_level(power)
        return interval if ms is None else min(interval, ms)

    def apply(self, decision):
        """Remember the core's supply decision and start moving the relay or valve."""
        self.want = decision
        self.drive_supply()

    def drive_supply(self):
        """Bring the relay/valve to the decision (or where a test token's load switch
        test holds it); True while it is not there yet or such a test is due."""
        sw = self.board.supply
        now_state = sw.state()
        target = "on" if self.want[0] in ("on", "limited") else "off"
        test = self.ui.meter_test
        if test is not None:
            target = test.supply_target(self.now(), target, now_state)
        if now_state == target:
            return test is not None and test.busy
        if now_state != "moving":
            sw.connect() if target == "on" else sw.disconnect()
        return True

    # ------------------------------------------------------------ inputs
    def scan_inputs(self, now):
        """Keys, button, tamper, battery and power fail, as the board latched them."""
        b = self.board
        m = self.meter
        while True:
            k = b.keypad.poll()
            if k is None:
                break
            self.ui.key(now, k)
            self.apply(m.state())
        for _ in range(b.button.take_presses()):
            self.apply(m.press(now))
        for name in b.tamper.take_triggered():
            self.apply(m.tamper(now, name))
        pct = b.battery.percent()
        low = pct < _LOW_BATTERY_PERCENT or (self.battery_low and pct < _BATTERY_OK_PERCENT)
        if low != self.battery_low:
            self.battery_low = low
            self.apply(m.battery(now, low))
        if b.power_fail.take_event():
            self.read_metering(now)     # measured since the last sample: into the save
            m.power_fail(now)           # (the relay stays put: the supply is going)

    def refresh(self, now):
        """The display, LEDs and buzzer from the UI model."""
        b = self.board
        lockout = self.acceptor.lockout_s(now)
        self.ui.tick(now, lockout)
        frame = self.ui.display.render(now)
        ind = frame[2]
        b.display.show(frame[0], frame[1], supply=ind["supply"] in ("on", "limited"),
                       alarm=ind["alarm"], tamper=ind["tamper"], lockout=ind["lockout"])
        b.leds.set("supply", ind["supply"] in ("on", "limited"))
        b.leds.set("alarm", ind["alarm"])
        cmd = self.ui.buzzer_cmd
        if cmd is not None:
            self.ui.buzzer_cmd = None
            if cmd[0] == "on":
                b.buzzer.beep(cmd[1] * 1000)
            else:
                b.buzzer.off()
        return frame

    def housekeeping(self, now):
        """Time passes with no reading (timers, day close, event pages)."""
        self.apply(self.meter.tick(now))

    def crashed(self, name, exc):
        """A task died: log it as an event (saved at once), the caller restarts it."""
        self.crashes += 1
        now = self.now()
        try:
            self.meter.events.add(now, "fault", name, self.crashes)
            self.meter.events.save(self.store)
        except Exception:  # the store itself may be what failed
            pass
        print("task %s crashed: %r" % (name, exc))

    # ------------------------------------------------------------ read-out
    def status(self, now):
        """What the meter would tell a technician: one dict, JSON-able, no key."""
        m = self.meter
        ui = self.ui
        t = m.totals()
        last = self.acceptor.last()
        last_token = None
        if last is not None:
            amount = None
            if last[2] == 0 and last[4] is not None:
                amount = ui.number(last[4] * (10 if last[3] >= 4 else 100000))
            last_token = {"result": last[1], "amount": amount, "time": iso_time(last[0])}
        frame = ui.display.render(now)
        sts = dict(self.sts_public)
        sts.update(self.acceptor.key_identity())     # the key in use now, not the delivered
        qty = "volume" if ui.unit == "m3" else "energy"
        c = m.credit
        state, reason = m.state()
        return {
            "time": iso_time(now),
            "credit": ui.number(m.balance_micro()),
            "credit_unit": ui.credit_unit(),
            "credit_micro": m.balance_micro(),
            qty: "%d.%03d" % (t["import_milli"] // 1000, t["import_milli"] % 1000),
            qty + "_unit": ui.unit,
            "import_milli": t["import_milli"],
            "rates_milli": t["rates_milli"],
            "power": t["power"],
            "supply": state, "supply_reason": reason,
            "switch": self.board.supply.state(),
            "alarm": m.alarm(),
            "credit_state": m.credit_state,
            "buzzer": self.board.buzzer.sounding,
            "display": [frame[0], frame[1]],
            "indicators": frame[2],
            "last_token": last_token,
            "emergency_credit": ui.number(c["ec_owed"]),
            "debt": ui.number(c["debt"]),
            "lockout_s": self.acceptor.lockout_s(now),
            "tariff_rate": m.rate.index,
            "price": ui.number(m.rate.price),
            "tampers": t["tampers"],
            "days_remaining": m.days_remaining(),
            "books": {"purchased": c["purchased"], "balance": c["bal"],
                      "energy": c["energy"], "standing": c["standing"],
                      "debt_paid": c["debt_paid"], "ec_given": c["ec_given"],
                      "ec_repaid": c["ec_repaid"], "cleared": c["cleared"],
                      "topups": c["topups"]},
            "identity": self.identity,
            "sts": sts,
            "crashes": self.crashes,
            "online": None if self.online is None else self.online.state(),
        }
