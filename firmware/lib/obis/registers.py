"""The meter's registers by OBIS code: one table, what the optical port reads out and
answers to R1 (and what telemetry publishes). docs/obis.md gives each line's meaning and
whether it is a standard code or a Prepay convention; keep the two in step.

A line is ``code(value*unit)`` (``code(value)`` without a unit). Codes are written in
full (``A-B:C.D.E``). ``MEDIUM_ROWS`` holds the registers whose code depends on the
utility medium, a column per medium; ``HEAD`` and ``TAIL`` the abstract ones (A = 0),
the same on every meter. A register the meter does not have (a voltage on a board
without a metering chip, a last token before the first) is left out of the readout.
Nothing here reads or can read the decoder key or the optical port's passwords.
"""
from const import const
from meter import civil
from meter.messages import fixed

_MICRO = const(1000000)
MEDIA = ("electricity", "heat", "gas", "water", "time")
# (what, electricity, heat, gas, water, time): None where the medium has no such register.
# The total's code with E = 1..4 gives the register of each tariff rate.
MEDIUM_ROWS = (
    ("total", "1-0:1.8.0", "6-0:1.0.0", "7-0:3.0.0", "8-0:1.0.0", "0-0:128.8.0"),
    ("export", "1-0:2.8.0", None, None, None, None),
    ("power", "1-0:1.7.0", "6-0:8.0.0", "7-0:43.0.0", "8-0:2.0.0", None),
    ("demand", "1-0:1.6.0", "6-0:8.6.0", None, None, None),
    ("voltage", "1-0:32.7.0", None, None, None, None),
    ("current", "1-0:31.7.0", None, None, None, None),
)
HEAD = (
    ("serial", "0-0:96.1.0"),
    ("meter_number", "0-0:96.1.1"),
    ("firmware", "0-0:0.2.0"),
    ("clock", "0-0:1.0.0"),
)
TAIL = (
    ("load_limit", "0-0:17.0.0"),
    ("rate", "0-0:96.14.0"),
    ("price", "0-0:128.14.0"),
    ("output", "0-0:96.3.10"),
    ("supply_state", "0-0:128.3.11"),
    ("supply_reason", "0-0:128.3.10"),
    ("credit", "0-0:19.0.0"),
    ("token_credit", "0-0:19.10.0"),
    ("emergency_owed", "0-0:19.10.1"),
    ("emergency_state", "0-0:128.10.1"),
    ("standing", "0-0:19.20.0"),
    ("debt", "0-0:19.20.1"),
    ("last_token_result", "0-0:128.40.0"),
    ("last_token_time", "0-0:128.40.1"),
    ("last_token_amount", "0-0:128.40.2"),
    ("alarms", "0-0:128.97.0"),
    ("errors", "0-0:97.97.0"),
    ("events", "0-0:128.99.0"),
    ("port_errors", "0-0:128.99.1"),
    ("token_failures", "0-0:128.99.2"),
)
SUPPLY_STATES = ("off", "on", "ready", "limited")
# 0-0:128.3.10: the core's reasons for the supply state, numbered (tamper_* is "tamper")
REASONS = ("credit", "commissioned", "credit_exhausted", "credit_power_limit", "friendly",
           "keep_supply", "manual_on", "manual_off", "overload", "overload_lockout",
           "unbalance", "unbalance_lockout", "tamper", "low_battery", "magnet", "tilt",
           "leak", "over_flow", "await_confirm")
# 0-0:128.97.0, bit by bit
ALARM_BITS = ("low1", "low2", "emergency", "exhausted", "cover", "magnet", "overload",
              "voltage", "key_change", "keypad_lockout", "clock_invalid", "storage",
              "tilt", "leak", "battery_low", "reverse_flow")
EVENT_LOG = "0-0:99.98.0"
TOKEN_LOG = "0-0:99.15.0"


def stamp(t):
    """Meter seconds as YYMMDDhhmmss (local time, as the meter keeps it)."""
    y, m, d = civil.civil_from_days(t // 86400)
    s = t % 86400
    return "%02d%02d%02d%02d%02d%02d" % (y % 100, m, d, s // 3600, s // 60 % 60, s % 60)


def rows(app):
    """(code, what) of every register this meter has, in readout order."""
    for row in HEAD:
        yield row[1], row[0]
    column = MEDIA.index(app.meter.cfg["utility"]) + 1
    rates = len(app.meter.cfg["tariff"]["active"]["prices"])
    for row in MEDIUM_ROWS:
        code = row[column]
        if code is None:
            continue
        yield code, row[0]
        if row[0] == "total":
            for rate in range(1, rates + 1):
                yield code[:-1] + str(rate), "rate%d" % rate
    for row in TAIL:
        yield row[1], row[0]


def readout(app):
    """The data readout's lines: every register with a value now."""
    for code, what in rows(app):
        value = value_of(app, what)
        if value is not None:
            yield line(code, value)


def line(code, value):
    text, unit = value
    return "%s(%s*%s)" % (code, text, unit) if unit else "%s(%s)" % (code, text)


def find(app, code):
    """What a code means on this meter, or None."""
    for c, what in rows(app):
        if c == code:
            return what
    return None


def value_of(app, what):
    """(text, unit) of one register, or None when the meter has no value for it."""
    m = app.meter
    ui = app.ui
    if what.startswith("rate") and what != "rate":
        return fixed(m.reg["rates"][int(what[4:]) - 1], 1000, 3), ui.unit
    if what == "total":
        return fixed(m.reg["imp"], 1000, 3), ui.unit
    if what in ("serial", "meter_number"):
        v = app.identity.get("serial" if what == "serial" else "pan")
        return (v, None) if v else None
    if what == "firmware":
        return firmware_version(), None
    if what == "clock":
        return stamp(app.now()), None
    if what in ("power", "demand"):
        watts = m.reg["power"] if what == "power" else m.reg["md_w"]
        if ui.unit == "m3":     # flow meters keep L/h: m3 an hour
            return fixed(watts, 1000, 3), "m3h"
        return fixed(watts, 1000, 3), "kW"
    if what == "export":
        return fixed(m.reg["exp"], 1000, 3), ui.unit
    if what in ("voltage", "current"):
        chip = app.board.metering
        reading = None if chip is None else (chip.voltage_mv if what == "voltage"
                                             else chip.current_ma)
        if reading is None:
            return None
        return (fixed(reading, 1000, 1), "V") if what == "voltage" else (fixed(reading, 1000, 2), "A")
    return tail_value(app, what)


def firmware_version():
    try:
        from meter.testtoken import FIRMWARE_VERSION
    except ImportError:       # before the test-token module had it
        from meter.acceptance import FIRMWARE_VERSION
    return FIRMWARE_VERSION


def money(app, micro):
    return app.ui.number(micro), app.ui.credit_unit()


def tail_value(app, what):
    m = app.meter
    c = m.credit
    cfg = m.cfg
    if what == "load_limit":
        return fixed(cfg["supply"]["load_limit"]["limit_w"], 1000, 3), "kW"
    if what == "rate":
        return "%04d" % m.rate.index, None
    if what == "price":
        return (fixed(m.rate.price, _MICRO, 4),
                app.ui.credit_unit() if app.ui.currency else None)
    if what == "output":
        return ("1" if app.board.supply.state() == "on" else "0"), None
    if what == "supply_state":
        return str(SUPPLY_STATES.index(m.state()[0])), None
    if what == "supply_reason":
        reason = m.state()[1]
        if reason.startswith("tamper_"):
            reason = "tamper"
        return str(REASONS.index(reason) if reason in REASONS else 99), None
    if what == "credit":
        return money(app, c["bal"])
    if what == "token_credit":
        return money(app, c["bal"] - c["ec_owed"])
    if what == "emergency_owed":
        return money(app, c["ec_owed"])
    if what == "emergency_state":
        return str(emergency_state(m)), None
    if what == "standing":
        return money(app, cfg["tariff"]["active"]["standing_micro_per_day"])
    if what == "debt":
        return money(app, c["debt"])
    if what.startswith("last_token"):
        return last_token(app, what)
    if what == "alarms":
        return "%08X" % alarm_bits(app), None
    if what == "errors":
        return "%08X" % error_bits(app), None
    if what == "events":
        return str(m.events.seq), None
    if what == "port_errors":
        port = getattr(app, "ir", None)
        return str(port.errors if port is not None else 0), None
    if what == "token_failures":
        return str(app.acceptor.rec["failures"]), None
    return None


def emergency_state(m):
    """0 none configured, 1 available, 2 in use, 3 in use and spent (supply off)."""
    if m.credit["ec_owed"] > 0:
        return 3 if m.credit_state == "disconnected" else 2
    return 1 if m.cfg["credit"]["emergency"]["amount_micro"] > 0 else 0


def last_token(app, what):
    last = app.acceptor.last()
    if last is None:
        return None
    t, result, token_class, subclass, amount = last
    if what == "last_token_result":
        from meter.acceptance import RESULT_CODES
        return str(RESULT_CODES.get(result, 0)), None
    if what == "last_token_time":
        return stamp(t), None
    if token_class != 0 or amount is None or result != "Accept":
        return None
    return money(app, amount * (10 if subclass >= 4 else 100000))


def alarm_bits(app):
    m = app.meter
    reason = m.state()[1]
    tampers = m.sup["tampers"]
    cs = m.credit_state
    on = (cs == "low1", cs == "low2", cs == "emergency", cs in ("exhausted", "disconnected"),
          "cover" in tampers, "magnet" in tampers, reason.startswith("overload"), False,
          bool(app.acceptor.kct), app.acceptor.lockout_s(app.now()) > 0, not m.clock_ok,
          app.store.rejected > 0, "tilt" in tampers, bool(m.sup["leak"]),
          m.sup["battery_low"], m.reg["reverse"])
    bits = 0
    for i in range(len(on)):
        if on[i]:
            bits |= 1 << i
    return bits


def error_bits(app):
    """Bit 0 relay or valve fault, bit 1 a task crashed since power-on, bit 2 a record
    on flash failed its check."""
    return ((1 if app.board.supply.state() == "fault" else 0)
            | (2 if app.crashes else 0) | (4 if app.store.rejected else 0))
