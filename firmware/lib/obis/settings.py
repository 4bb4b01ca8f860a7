"""R1 and W1 beyond the readout: the settings a technician reads and writes, the event
log, the token history and the virtual token carrier (docs/obis.md).

A write goes through the same core call as every other door (keypad, STS token,
head-end) and the configuration's own checks: a value the configuration would refuse is
refused here with the field named, and nothing changes. Values are text as in a D0 data
set: money and power as decimals (``5.00*KES``, ``7.5*kW``), times ``YYMMDDhhmmss``,
structured settings as JSON (which has no parentheses). ``read`` returns lines; ``write``
returns True (ACK) or False (NAK, the meter's answer to a token it refused); both raise
``Refused`` for an error message.
"""
import json
from io import StringIO

from iec62056.modec import Refused
from meter import civil
from meter.errors import ConfigError
from obis import registers

# (code, name, path in the configuration, kind); kind: money, power, json
SETTINGS = (
    ("0-0:17.0.0", "load_limit", ("supply", "load_limit", "limit_w"), "power"),
    ("0-0:128.10.2", "emergency_amount", ("credit", "emergency", "amount_micro"), "money"),
    ("0-0:128.10.3", "emergency_threshold", ("credit", "emergency", "threshold_micro"), "money"),
    ("0-0:128.30.1", "alarm_low1", ("credit", "alarms", "low1"), "json"),
    ("0-0:128.30.2", "alarm_low2", ("credit", "alarms", "low2"), "json"),
    ("0-0:128.31.0", "friendly_hours", ("supply", "friendly"), "json"),
    ("0-0:128.31.1", "holidays", ("holidays",), "json"),
    ("0-0:128.20.0", "tariff", ("tariff", "active"), "json"),
)
CLOCK = "0-0:1.0.0"
TOKEN = "0-0:19.40.0"
PENDING_TARIFF = "0-0:128.20.1"
READ_ONLY = ("0-0:128.20.0",)
PASSWORDS = ("0-0:128.50.1", "0-0:128.50.2")    # reader, technician: written, never read


def setting(code):
    for row in SETTINGS:
        if row[0] == code:
            return row
    return None


# ---------------------------------------------------------------------------- R1
def read(app, code, arg):
    """The lines answering R1 of ``code``; ``arg`` is the request's value (for the logs:
    how many entries, newest first; empty or 0 for all)."""
    if code == registers.EVENT_LOG:
        return event_lines(app, count(arg))
    if code == registers.TOKEN_LOG:
        return token_lines(app, count(arg))
    if code == PENDING_TARIFF:
        tariff = app.meter.cfg["tariff"]
        if tariff["pending"] is None:
            return (code + "()",)
        return ("%s(%s;%s)" % (code, registers.stamp(tariff["pending_from"]),
                               as_json(tariff["pending"])),)
    row = setting(code)
    if row is not None and row[3] == "json":
        value = app.meter.cfg
        for key in row[2]:
            value = value[key]
        return ("%s(%s)" % (code, as_json(value)),)
    if code == TOKEN or code in PASSWORDS:
        raise Refused("WRITE ONLY")
    what = registers.find(app, code)
    if what is None:
        raise Refused("UNKNOWN REGISTER")
    value = registers.value_of(app, what)
    if value is None:
        raise Refused("NO DATA")
    return (registers.line(code, value),)


def count(arg):
    if not arg:
        return 0
    if not arg.isdigit() or len(arg) > 4:
        raise Refused("FORMAT")
    return int(arg)


def as_json(value):
    """JSON for a data set: '(' ')' '/' '!' (only possible inside names) become blanks."""
    text = json.dumps(value)
    for ch in "()/!":
        if ch in text:
            text = text.replace(ch, " ")
    return text


def event_lines(app, n):
    """``0-0:99.98.0(seq;YYMMDDhhmmss;kind;detail;value)``, newest first."""
    done = 0
    for e in app.meter.events.newest_first():
        if n and done >= n:
            return
        done += 1
        yield "%s(%d;%s;%s;%s;%d)" % (registers.EVENT_LOG, e[0], registers.stamp(e[1]),
                                      e[2], e[3], e[4])


def token_lines(app, n):
    """``0-0:99.15.0(YYMMDDhhmmss;result;class;subclass;amount)``, newest first."""
    history = app.acceptor.history()
    for entry in history[:n] if n else history:
        t, result, token_class, subclass, amount = entry
        yield "%s(%s;%s;%s;%s;%s)" % (
            registers.TOKEN_LOG, registers.stamp(t), result,
            "" if token_class is None else token_class,
            "" if subclass is None else subclass, "" if amount is None else amount)


# ---------------------------------------------------------------------------- W1
def write(app, code, value):
    """Apply a W1; returns (ACK?, name of what was written) for the event log."""
    now = app.now()
    if code == TOKEN:
        digits = value.replace(" ", "").replace("-", "")
        if not digits or not digits.isdigit() or len(digits) > 40:
            raise Refused("FORMAT")
        outcome = app.ui.token(now, digits)      # as if typed on the keypad
        app.apply(app.meter.state())
        return outcome.accepted, "token"
    if code == CLOCK:
        t = parse_stamp(value)
        app.board.rtc.set_s(t)
        app.apply(app.meter.set_clock_valid(t, True))
        return True, "clock"
    if code == PENDING_TARIFF:
        if value[12:13] != ";":
            raise Refused("FORMAT: YYMMDDhhmmss;TABLE")
        from_t = parse_stamp(value[:12])
        table = parse_json(value, 13)       # no copy of a table that came in blocks
        try:
            app.meter.set_pending_tariff(now, table, from_t)
        except ConfigError as exc:
            raise Refused(str(exc))
        return True, "pending_tariff"
    row = setting(code)
    if row is None:
        raise Refused("UNKNOWN REGISTER")
    if code in READ_ONLY:
        raise Refused("READ ONLY")
    kind = row[3]
    if kind == "money":
        new = parse_decimal(value, 6, app.ui.credit_unit())
    elif kind == "power":
        new = parse_decimal(value, 0, "W") if value.endswith("*W") \
            else parse_decimal(value, 3, "kW")
    else:
        new = parse_json(value)
    try:
        decision = app.meter.change_settings(now, row[2], new)
    except ConfigError as exc:
        raise Refused(str(exc))
    app.apply(decision)
    return True, row[1]


def parse_json(text, start=0):
    """JSON from ``text[start:]``, read through a stream: MicroPython's StringIO reads
    the str in place, so a long value is not copied."""
    try:
        if not start:
            return json.loads(text)
        stream = StringIO(text)
        stream.seek(start)
        return json.load(stream)
    except ValueError:
        raise Refused("FORMAT: JSON")


def parse_decimal(text, decimals, unit):
    """'12.5*KES' -> 12500000 (decimals 6): the only way text becomes an amount here.
    Digits, at most ``decimals`` of them after the point, an optional '-', the unit
    optional but, when given, ``unit``."""
    number, star, given = text.partition("*")
    if star and given != unit:
        raise Refused("UNIT: %s" % unit)
    negative = number.startswith("-")
    if negative:
        number = number[1:]
    whole, point, frac = number.partition(".")
    if (not whole or not whole.isdigit() or len(whole) > 12 or (point and not frac)
            or (frac and not frac.isdigit()) or len(frac) > decimals):
        raise Refused("FORMAT: a number with at most %d decimals" % decimals)
    value = int(whole) * 10 ** decimals + (int(frac) * 10 ** (decimals - len(frac)) if frac else 0)
    return -value if negative else value


def parse_stamp(text):
    """YYMMDDhhmmss (20YY) -> meter seconds; a date that does not exist is refused."""
    if len(text) != 12 or not text.isdigit():
        raise Refused("FORMAT: YYMMDDhhmmss")
    y, mo, d = 2000 + int(text[0:2]), int(text[2:4]), int(text[4:6])
    h, mi, s = int(text[6:8]), int(text[8:10]), int(text[10:12])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 60):
        raise Refused("RANGE: no such time")
    days = civil.days_from_civil(y, mo, d)
    if civil.civil_from_days(days) != (y, mo, d):
        raise Refused("RANGE: no such date")
    return days * 86400 + h * 3600 + mi * 60 + s
