"""The optical port (the app's ``app_ir`` slot): the board's IR port driven by the
IEC 62056-21 mode C engine, answering from the meter's OBIS registers.

``OpticalPort`` is what programming mode guards. Two password levels: the reader may
R1, the technician R1 and W1. Wrong passwords count; from the third in a row programming
mode is locked, 5 minutes doubling up to a day, and the count and the end of the lock
are the store's record ``optical``, so pulling the plug does not reset them. Every
session, wrong password, lock and write is an event (kind ``optical``) whose value is
the operator's level (1 reader, 2 technician); writes save the events with the change.
The technician may write either password (W1 of ``obis.settings.PASSWORDS``): checked
by the configuration's rule, it replaces the old one in the key partition, whose save
leaves the old or the new whole at any instant, and no answer ever shows it.

The task polls the port (its UART has a buffer; a board may end the sleep early with
``wake="ir"``) and sleeps what the engine asks, so it never blocks the other tasks. The
engine and the OBIS table are imported at the first byte a reader sends: most meters
are read optically a few times in their life, and a meter nobody reads keeps that heap.
"""
from const import const

_IDLE_POLL_MS = const(100)
_BUSY_POLL_MS = const(20)
_FREE_FAILURES = const(2)
_LOCK_FIRST_S = const(300)
_LOCK_MAX_S = const(86400)
RECORD = "optical"
KEY_FIELDS = ("ir_reader", "ir_technician")      # the key record's names (app_config.SECRETS)
NOT_IN_PASSWORD = b"()/!*?"


def password_ok(text):
    """The configuration's rule (iec62056.settings): 4 to 16 printable characters, no
    blank and none of ( ) / ! * ?; checked as bytes, so no character is interned."""
    data = text.encode()
    if not 4 <= len(data) <= 16:
        return False
    for c in data:
        if c <= 0x20 or c > 0x7E or NOT_IN_PASSWORD.find(bytes((c,))) >= 0:
            return False
    return True


def lock_seconds(failures):
    """0 for the first two wrong passwords, then 5 minutes doubling up to a day."""
    if failures <= _FREE_FAILURES:
        return 0
    shift = failures - _FREE_FAILURES - 1
    return _LOCK_MAX_S if shift >= 9 else min(_LOCK_FIRST_S << shift, _LOCK_MAX_S)


def same(a, b):
    """Compare without stopping at the first difference, as bytes: MicroPython interns
    each character taken out of a str, which would leave a password's in its names."""
    a, b = a.encode(), b.encode()
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


class OpticalPort:
    """The engine's device: the meter's answers and the access rules."""

    def __init__(self, app, passwords):
        self.app = app
        self._passwords = passwords       # (reader, technician) or None: closed
        self.lock = app.store.load(RECORD) or {"failures": 0, "until": 0}

    def _event(self, detail, value):
        self.app.meter.events.add(self.app.now(), "optical", detail, value)

    def locked_s(self, now):
        left = self.lock["until"] - now
        return left if left > 0 else 0

    def readout(self):
        from obis import registers
        return registers.readout(self.app)

    def password(self, text):
        now = self.app.now()
        left = self.locked_s(now)
        if left:
            from iec62056.modec import Refused
            raise Refused("LOCKED %d S" % left)
        level = 0
        pw = self._passwords
        if pw is not None:
            if same(text, pw[1]):
                level = 2
            elif same(text, pw[0]):
                level = 1
        lock = self.lock
        if level:
            if lock["failures"]:
                lock["failures"] = 0
                lock["until"] = 0
                self.app.store.save(RECORD, lock)
            self._event("session", level)
            return level
        lock["failures"] += 1
        seconds = lock_seconds(lock["failures"])
        if seconds:
            lock["until"] = now + seconds
        self.app.store.save(RECORD, lock)
        self._event("password_wrong", lock["failures"])
        if seconds:
            self._event("locked", seconds)
            self._save_events()
        return 0

    def read(self, code, arg, level):
        from obis import settings
        return settings.read(self.app, code, arg)

    def write(self, code, value, level):
        from iec62056.modec import Refused
        from obis import settings
        try:
            if code in settings.PASSWORDS:
                done, what = self.set_password(settings.PASSWORDS.index(code), value)
            else:
                done, what = settings.write(self.app, code, value)
        except Refused:
            self._event("write_refused", level)
            raise
        self._event("write_" + what, level)
        self._save_events()
        return done

    def set_password(self, which, text):
        """W1 of a password (0 reader, 1 technician); in force from the next P1."""
        from iec62056.modec import Refused
        pw = self._passwords
        if not password_ok(text):
            raise Refused("RANGE: 4 to 16 printable characters, no blank or "
                          "reserved sign")      # docs/obis.md lists them
        if same(text, pw[1 - which]):
            raise Refused("RANGE: the reader and technician passwords must differ")
        keys = self.app.acceptor.keys
        record = keys.load()
        record[KEY_FIELDS[which]] = text
        keys.save(record)
        del record
        self._passwords = (text, pw[1]) if which == 0 else (pw[0], text)
        return True, "password_" + ("reader", "technician")[which]

    def session_end(self, level, how):
        if level:
            self._event("end_" + how, level)
            self._save_events()

    def _save_events(self):
        self.app.meter.events.save(self.app.store)


def start(app):
    """The engine on the app's IR port (kept as ``app.ir`` for its counters)."""
    from iec62056.modec import ModeC
    app.ir = ModeC(OpticalPort(app, app.ir_cfg["passwords"]), app.ir_cfg,
                   app.board.ticks_diff)
    return app.ir


def step(engine, board):
    """One turn: what arrived in, what is due out, the baud; returns (ms, lazy) to sleep."""
    port = board.ir_port
    data = port.read()
    now = board.ticks_ms()
    if data:
        engine.feed(data, now)
    chunk = engine.pump(now)
    if engine.baud != port.baud:
        port.set_baud(engine.baud)
    if chunk:
        port.write(chunk)
    busy = engine.busy
    ms = engine.wait_ms(now)
    poll = _BUSY_POLL_MS if busy else _IDLE_POLL_MS
    return (poll if ms is None or ms > poll else ms), (not busy and ms is None)


async def task(app, sleep):
    board = app.board
    first = board.ir_port.read()
    while not first:                # no engine until a reader speaks
        await sleep(_IDLE_POLL_MS, True, "ir")
        first = board.ir_port.read()
    engine = start(app)
    engine.feed(first, board.ticks_ms())
    while True:
        ms, lazy = step(engine, board)
        await sleep(ms, lazy, "ir")
