"""The ``prepay sim`` script language: one command per line, ``#`` starts a comment.

    at 2026-11-23T08:00            first: the time the meter is switched on; later:
                                   let time pass until then (never back)
    advance 90m                    let time pass (s, m, h, d; e.g. 30s, 2h, 1d)
    clock set 2026-11-23T07:00     a technician sets the meter's clock, back or forward
                                   (an event line says so; the meter logs a change back)
    load 2.5kW                     constant load (W, kW); or a daily schedule:
    load schedule 00:00=250W 07:00=1.5kW 08:00=250W
    load profile FILE.csv          CSV rows "HH:MM,W" (daily) or "YYYY-MM-DDTHH:MM,W"
    flow 120L/h                    the same for water and gas (L/h, L/min, m3/h);
    flow schedule ... / flow profile FILE.csv   (values in L/h)
    press 1234#                    keys: 0-9 * # A B C D E (no comment on this line)
    token 1234 5678 9012 3456 7890 20 digits and Enter
    button [N]                     the push button, N times (default 1)
    serve 30s                      run in real time, answering the optical port (its
                                   pty's path is printed at start; prepay read, any
                                   IEC 62056-21 reader)
    tamper cover|magnet|tilt on|off
    battery 15%
    network down | network up      the meter's network service (Wi-Fi on an ESP32; the
                                   host's loopback here): an online meter keeps its
                                   messages while down and sends them once up
    power cut | power on           the firmware process ends abruptly / restarts
    power fail                     the power-fail signal first (the meter saves in its
                                   hold-up time), then the process ends
    status                         one JSON line: the meter's status
    expect FIELD VALUE             stop unless the status field has this value
                                   (dotted paths such as last_token.result)

``parse(text)`` returns ``Command`` objects or raises ``ScriptError`` with the line
number and the reason; nothing runs before the whole script has been checked. Numbers,
times and profile files go through the host's strict parser and text reader
(``host.parse``, ``host.textfile``): ASCII digits, a decimal point, UTF-8 or UTF-16 text.
"""
import os
import re

from host import textfile
from host.parse import date_time, integer, number_and_unit, scaled
from tokens import civil

METER_EPOCH_DAY = civil.days_from_civil(2000, 1, 1)   # meter time counts from 2000

DURATION_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}
FLOW_ML_H = {"l/h": 1000, "l/min": 60000, "m3/h": 1000000, "ml/h": 1}
KEYS = "0123456789*#ABCDE"
TAMPERS = ("cover", "magnet", "tilt")


class ScriptError(Exception):
    def __init__(self, line_no, reason):
        Exception.__init__(self, "line %d: %s" % (line_no, reason))
        self.line_no = line_no
        self.reason = reason


class Command:
    def __init__(self, line_no, name, *args):
        self.line_no = line_no
        self.name = name
        self.args = args

    def __repr__(self):
        return "<%s %r @%d>" % (self.name, self.args, self.line_no)


def days_from_civil(year, month, day):
    """Days since 2000-01-01, the meter's day count."""
    return civil.days_from_civil(year, month, day) - METER_EPOCH_DAY


def meter_seconds(text):
    """'2026-11-23T08:00[:SS]' -> seconds since 2000-01-01 00:00 (meter local time)."""
    t = date_time(text, "time")            # its ParseError is a ValueError
    if not 2000 <= t.year <= 2099:
        raise ValueError("time %s is outside the meter's calendar (2000-2099)" % text)
    return days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 + t.second


def iso(seconds):
    days, rest = divmod(seconds, 86400)
    y, mo, d = civil.civil_from_days(days + METER_EPOCH_DAY)
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (y, mo, d, rest // 3600, rest // 60 % 60, rest % 60)


def _scaled(text, units, what, example):
    """'2.5kW' -> integer in the smallest unit, exactly (no float)."""
    names = ", ".join(u for u in units if not u.endswith("_"))
    number, unit = number_and_unit(text, what, example)
    if not unit:
        raise ValueError("%s must be a number with a unit (%s), not %r" % (what, names, text))
    key = unit.lower() if unit != "MW" else "mw_"
    if key not in units:
        raise ValueError("unknown unit %r for %s (use %s)" % (unit, what, names))
    return scaled(number, units[key], what)


def power_mw(text):
    return _scaled(text, {"w": 1000, "kw": 1000000, "mw_": 1000000000}, "a load", "1.5kW")


def flow_ml_h(text):
    return _scaled(text, FLOW_ML_H, "a flow", "120L/h")


def duration_ms(text):
    number, unit = number_and_unit(text, "a duration", "90m")
    if unit not in DURATION_MS:
        raise ValueError("a duration is a whole number with s, m, h or d (e.g. 90m), not %r"
                         % text)
    return integer(number, "a duration") * DURATION_MS[unit]


def _minute(text):
    m = re.fullmatch(r"([0-9]{2}):([0-9]{2})", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError("a time of day is HH:MM, not %r" % text)
    return int(m.group(1)) * 60 + int(m.group(2))


def schedule(items, convert):
    """['00:00=250W', '07:00=1.5kW'] -> Profile (daily)."""
    steps = []
    for item in items:
        when, eq, value = item.partition("=")
        if not eq:
            raise ValueError("a schedule step is HH:MM=VALUE, not %r" % item)
        steps.append((_minute(when) * 60, convert(value)))
    return Profile(steps, daily=True)


def read_profile(path, plain_unit, base_dir):
    """CSV rows 'HH:MM,value' (daily) or 'YYYY-MM-DDTHH:MM,value' (absolute);
    values are numbers in W (load) or L/h (flow), or carry their own unit."""
    full = path if os.path.isabs(path) else os.path.join(base_dir, path)
    rows = textfile.read(full, "profile").splitlines()        # TextFileError is a ValueError
    steps = []
    daily = None
    for n, row in enumerate(rows, 1):
        row = row.split("#")[0].strip()
        if not row or row.lower().startswith(("time", "hour")):
            continue
        parts = [p.strip() for p in row.split(",")]
        if len(parts) != 2:
            raise ValueError("%s row %d: expected 'time,value'" % (path, n))
        when, value = parts
        is_daily = len(when) == 5
        if daily is None:
            daily = is_daily
        elif daily != is_daily:
            raise ValueError("%s row %d: mix of daily (HH:MM) and dated rows" % (path, n))
        try:
            t = _minute(when) * 60 if is_daily else meter_seconds(when)
            v = plain_unit(value + ("" if re.search(r"[a-zA-Z]", value) else
                                    (" W" if plain_unit is power_mw else " L/h")))
        except ValueError as exc:
            raise ValueError("%s row %d: %s" % (path, n, exc))
        steps.append((t, v))
    if not steps:
        raise ValueError("%s has no rows" % path)
    return Profile(steps, daily=bool(daily))


class Profile:
    """Step changes of the load: (second of day or meter second, value), sorted."""

    def __init__(self, steps, daily):
        self.steps = sorted(steps)
        self.daily = daily

    def value_at(self, t):
        if self.daily:
            t %= 86400
        value = self.steps[-1][1] if self.daily else 0
        for start, v in self.steps:
            if start <= t:
                value = v
        return value

    def next_change(self, t):
        """The first step time strictly after meter second t, or None."""
        if self.daily:
            day = t - t % 86400
            for start, _ in self.steps:
                if day + start > t:
                    return day + start
            return day + 86400 + self.steps[0][0]
        for start, _ in self.steps:
            if start > t:
                return start
        return None


def parse_line(line_no, line, base_dir):
    text = line.strip()
    if text.startswith("#"):
        return None
    if not text.lower().startswith("press"):   # on a press line '#' is a key
        text = text.split("#", 1)[0]
    words = text.split()
    if not words:
        return None
    name, args = words[0].lower(), words[1:]

    def need(n, usage):
        if len(args) != n:
            raise ValueError("usage: %s" % usage)

    if name == "at":
        need(1, "at 2026-11-23T08:00")
        return Command(line_no, "at", meter_seconds(args[0]))
    if name == "clock":
        if len(args) != 2 or args[0] != "set":
            raise ValueError("usage: clock set 2026-11-23T08:00")
        return Command(line_no, "clock_set", meter_seconds(args[1]))
    if name == "advance":
        need(1, "advance 90m")
        return Command(line_no, "advance", duration_ms(args[0]))
    if name in ("load", "flow"):
        convert = power_mw if name == "load" else flow_ml_h
        if not args:
            raise ValueError("usage: %s VALUE | %s schedule HH:MM=VALUE ... | %s profile FILE"
                             % (name, name, name))
        if args[0] == "schedule":
            if len(args) < 2:
                raise ValueError("a schedule needs at least one HH:MM=VALUE step")
            return Command(line_no, "profile", schedule(args[1:], convert), name)
        if args[0] == "profile":
            need(2, "%s profile FILE.csv" % name)
            return Command(line_no, "profile", read_profile(args[1], convert, base_dir), name)
        return Command(line_no, "load", convert("".join(args)), name)
    if name == "press":
        keys = "".join(args)
        if not keys:
            raise ValueError("usage: press KEYS (0-9 * # A B C D E)")
        for k in keys:
            if k not in KEYS:
                raise ValueError("%r is not a key (keys: 0-9 * # A B C D E)" % k)
        return Command(line_no, "keys", keys)
    if name == "token":
        digits = "".join(args)
        if not re.fullmatch("[0-9]{20}", digits):
            raise ValueError("a token is 20 digits, got %d characters: %r"
                             % (len(digits), " ".join(args)))
        return Command(line_no, "keys", digits + "#")
    if name == "serve":
        need(1, "serve 30s")
        return Command(line_no, "serve", duration_ms(args[0]))
    if name == "button":
        if len(args) > 1:
            raise ValueError("usage: button [N] (N presses, N >= 1)")
        return Command(line_no, "button", integer(args[0], "presses", minimum=1) if args else 1)
    if name == "tamper":
        need(2, "tamper cover|magnet|tilt on|off")
        if args[0] not in TAMPERS:
            raise ValueError("unknown tamper input %r (cover, magnet, tilt)" % args[0])
        if args[1] not in ("on", "off"):
            raise ValueError("tamper state must be on or off, not %r" % args[1])
        return Command(line_no, "tamper", args[0], args[1] == "on")
    if name == "battery":
        need(1, "battery 15%")
        number, unit = number_and_unit(args[0], "battery level", "15%")
        if unit != "%":
            raise ValueError("battery level is 0%%..100%%, not %r" % args[0])
        return Command(line_no, "battery", integer(number, "battery level", maximum=100))
    if name == "network":
        if len(args) != 1 or args[0] not in ("up", "down"):
            raise ValueError("usage: network down | network up")
        return Command(line_no, "network", args[0] == "up")
    if name == "power":
        need(1, "power cut | power fail | power on")
        if args[0] not in ("cut", "fail", "on"):
            raise ValueError("power cut, power fail or power on, not power %s" % args[0])
        return Command(line_no, "power_" + args[0])
    if name == "status":
        need(0, "status")
        return Command(line_no, "status")
    if name == "expect":
        if len(args) < 2:
            raise ValueError("usage: expect FIELD VALUE")
        return Command(line_no, "expect", args[0], " ".join(args[1:]))
    raise ValueError("unknown command %r" % words[0])


def help_text():
    """The commands of this docstring's table, for ``prepay sim --help`` and ``:help``."""
    return __doc__[__doc__.index("\n\n") + 2:__doc__.index("\n\n``parse")]


def parse(text, base_dir="."):
    commands = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            cmd = parse_line(n, line, base_dir)
        except ValueError as exc:
            raise ScriptError(n, str(exc))
        if cmd is not None:
            commands.append(cmd)
    return commands
