"""Signed commands from the head-end (docs/mqtt.md): ``verify`` decides whether a
payload may run, ``run`` runs it through the same core call as the keypad or the
optical port's W1/R1 would make. Neither raises on any input: a refusal is a
``Refusal`` carrying its code, caught by the caller, and nothing acts before ``verify``
has returned and the caller has saved the counter.

Order of checks: the MAC first (over the exact bytes of line 1, so nothing an attacker
sends is parsed before it is authenticated), then the JSON's shape, the PAN, the counter,
the expiry, the command's name and its arguments."""
import json

from online.messages import equal, hex_mac

CMD_TAG = b"prepay-cmd\n"
COMMANDS = ("ping", "token", "supply", "keep-supply", "tariff", "alarm-levels", "clock",
            "read")
FIELDS = ("ctr", "pan", "exp", "cmd", "args")
_MAX_ARGS = 32
_MAX_READ = 24          # a result fits the backlog's frame (online.outbox.FRAME)
_MAX_KEEP_S = 366 * 86400
_CENTURY_S = 36525 * 86400


class Refusal(Exception):
    """A command refused: ``code`` (docs/mqtt.md), the verified counter or None, and for
    ``bad-args`` the check that failed."""

    def __init__(self, code, ctr=None, detail=None):
        super().__init__(code)
        self.code = code
        self.ctr = ctr
        self.detail = detail


def verify(payload, key, pan, last_ctr, now_unix, clock_valid):
    """(ctr, cmd, args) of a command this meter may run now; else raises Refusal."""
    nl = payload.find(b"\n")
    if nl < 0:
        raise Refusal("forged")
    line = payload[:nl]
    mac = payload[nl + 1:]
    if mac[-1:] == b"\n":
        mac = mac[:-1]
    if len(mac) != 64 or not equal(hex_mac(key, CMD_TAG, line), mac):
        raise Refusal("forged")
    try:
        body = json.loads(line)
    except Exception:  # noqa: BLE001 - signed but not JSON (or not text): not ours
        raise Refusal("forged")
    if not _shape_ok(body):
        raise Refusal("forged")
    ctr = body["ctr"]
    if body["pan"] != pan:
        raise Refusal("wrong-meter", ctr)
    if ctr <= last_ctr:
        raise Refusal("replayed", ctr)
    if clock_valid and body["exp"] < now_unix:
        raise Refusal("expired", ctr)
    if body["cmd"] not in COMMANDS:
        raise Refusal("unknown", ctr)
    return ctr, body["cmd"], body["args"]


def _shape_ok(body):
    if not isinstance(body, dict) or len(body) != len(FIELDS):
        return False
    for name in FIELDS:
        if name not in body:
            return False
    for name in ("ctr", "exp"):
        v = body[name]
        if isinstance(v, bool) or not isinstance(v, int) or not 0 < v < (1 << 53):
            return False
    args = body["args"]
    if not isinstance(body["pan"], str) or not isinstance(body["cmd"], str) \
            or not isinstance(args, list) or len(args) > _MAX_ARGS:
        return False
    for a in args:
        if not isinstance(a, str):
            return False
    return True


def _bad(detail):
    raise Refusal("bad-args", None, detail)


def _count(args, *allowed):
    if len(args) not in allowed:
        _bad("%s argument(s) expected, got %d" % (" or ".join(str(n) for n in allowed),
                                                  len(args)))


def _digits(text, most):
    if not text or len(text) > most:
        return False
    for c in text:
        if c not in "0123456789":
            return False
    return True


def _unix_arg(text):
    if not _digits(text, 12):
        _bad("a time must be Unix seconds")
    return int(text)


def _meter_arg(text, cfg):
    """A Unix time argument as meter seconds, in the years 2000-2099 the meter's
    YYMMDDhhmmss stamps can hold."""
    t = _unix_arg(text) - 946684800 + cfg["utc_offset_s"]
    if not 0 <= t < _CENTURY_S:
        _bad("a time must be in the years 2000-2099")
    return t


def run(app, cfg, cmd, args, now):
    """Run a verified command; returns (code, data as JSON text). ``Refusal`` for bad
    arguments, with nothing changed."""
    from online.messages import values_json
    if cmd == "ping":
        _count(args, 0)
        return "ok", "{}"
    if cmd == "token":
        _count(args, 1)
        if len(args[0]) != 20 or not _digits(args[0], 20):
            _bad("a token is 20 digits")
        outcome = app.ui.token(now, args[0])        # as if typed on the keypad
        app.apply(app.meter.state())
        if not outcome.accepted:
            return outcome.result, "{}"
        from obis.registers import value_of
        credit = value_of(app, "credit")
        return outcome.result, '{"credit": [%s, %s]}' % (json.dumps(credit[0]),
                                                        json.dumps(credit[1] or ""))
    if cmd == "supply":
        _count(args, 1)
        if args[0] not in ("on", "off"):
            _bad("supply: on or off")
        app.apply(app.meter.manual(now, "off" if args[0] == "off" else None))
        return "ok", "{}"
    if cmd == "keep-supply":
        _count(args, 1, 2)
        if args[0] == "off" and len(args) == 1:
            app.apply(app.meter.keep_supply(now, 0))
            return "ok", "{}"
        if args[0] != "on" or len(args) != 2:
            _bad('keep-supply: ["on", until] or ["off"]')
        seconds = _meter_arg(args[1], cfg) - now
        if not 0 < seconds <= _MAX_KEEP_S:
            _bad("keep-supply: until must be in the next 366 days")
        app.apply(app.meter.keep_supply(now, seconds))
        return "ok", "{}"
    if cmd == "read":
        if not 0 < len(args) <= _MAX_READ:
            _bad("read: 1 to %d OBIS codes" % _MAX_READ)
        from obis.registers import find
        for code in args:
            if find(app, code) is None:
                _bad("read: %s is not a register of this meter" % code[:20])
        return "ok", '{"values": %s}' % values_json(app, args)
    if cmd == "alarm-levels":
        _count(args, 1)
        from meter.errors import ConfigError
        levels = _json(args[0])
        try:
            app.apply(app.meter.change_settings(now, ("credit", "alarms"), levels))
        except ConfigError as exc:
            _bad(str(exc))
        return "ok", "{}"
    from iec62056.modec import Refused          # the optical port's W1, as it is
    from obis import registers, settings
    try:
        if cmd == "clock":
            _count(args, 1)
            settings.write(app, settings.CLOCK, registers.stamp(_meter_arg(args[0], cfg)))
        else:                                   # tariff
            _count(args, 2)
            _json(args[0])
            start = now if args[1] == "0" else _meter_arg(args[1], cfg)
            settings.write(app, settings.PENDING_TARIFF,
                           registers.stamp(start) + ";" + args[0])
    except Refused as exc:
        _bad(str(exc))
    return "ok", "{}"


def _json(text):
    try:
        return json.loads(text)
    except Exception:  # noqa: BLE001 - ValueError, or a str that is not text
        _bad("not JSON")
