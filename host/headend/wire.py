"""The MQTT contract (docs/mqtt.md) in code: topics, payload checks, signed lines.

Both the head-end and the fleet simulator use this module, so that a change of the wire
format is one change here and in docs/mqtt.md.
"""
import hashlib
import hmac
import json
import re

ROOT = "prepay"
KINDS = ("status", "reading", "event", "result")
CMD_DOMAIN = b"prepay-cmd\n"
RESULT_DOMAIN = b"prepay-res\n"
COMMANDS = ("ping", "token", "supply", "keep-supply", "tariff", "alarm-levels", "clock", "read")
REFUSALS = ("forged", "wrong-meter", "replayed", "expired", "unknown", "bad-args")
_PAN = re.compile(r"[0-9]{11,18}\Z")
_MAC = re.compile(r"[0-9a-f]{64}\Z")
MAX_PAYLOAD = 16384


class WireError(ValueError):
    """A message that does not follow the contract (never a crash of the head-end)."""


def topic(pan, kind):
    return "%s/%s/%s" % (ROOT, pan, kind)


def subscriptions(group=None):
    """The head-end's topic filters; with a group, MQTT 5 shared subscriptions
    (``$share/<group>/...``) so that several workers split one fleet."""
    filters = ["%s/+/%s" % (ROOT, kind) for kind in KINDS]
    return ["$share/%s/%s" % (group, f) for f in filters] if group else filters


def split_topic(name):
    """``(pan, kind)`` of a meter's topic; WireError for anything else."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != ROOT or not _PAN.match(parts[1]) or parts[2] not in KINDS + ("cmd",):
        raise WireError("not a meter topic")
    return parts[1], parts[2]


def _object(payload):
    if len(payload) > MAX_PAYLOAD:
        raise WireError("payload too large")
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise WireError("payload is not JSON")
    if not isinstance(value, dict):
        raise WireError("payload is not a JSON object")
    return value


def _uint(value, what, limit=2 ** 63):
    if type(value) is not int or not 0 <= value < limit:
        raise WireError("%s is not a non-negative integer" % what)
    return value


def reading(payload):
    """A checked reading: ``{"seq", "t", "period_s", "values": {obis: [value, unit]}}``."""
    r = _object(payload)
    _uint(r.get("seq"), "seq")
    _uint(r.get("t"), "t", 2 ** 40)
    if r.get("period_s") not in (None, 900, 3600, 86400) and _uint(r.get("period_s"), "period_s") <= 0:
        raise WireError("period_s is not a positive number of seconds")
    values = r.get("values")
    if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)
            for k, v in values.items()):
        raise WireError("values are not {OBIS: [value, unit]}")
    r.setdefault("period_s", 900)
    return r


def event(payload):
    e = _object(payload)
    _uint(e.get("seq"), "seq")
    _uint(e.get("t"), "t", 2 ** 40)
    if not isinstance(e.get("code"), str) or not 0 < len(e["code"]) <= 40:
        raise WireError("code is not a short string")
    if not isinstance(e.setdefault("data", {}), dict):
        raise WireError("data is not an object")
    return e


def body(obj):
    """Line 1 of a signed message: compact JSON, ASCII only."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("ascii")


def mac(key, domain, line1):
    return hmac.new(key, domain + line1, hashlib.sha256).hexdigest()


def signed(key, domain, obj):
    line1 = body(obj)
    return line1 + b"\n" + mac(key, domain, line1).encode("ascii")


def command_body(ctr, pan, exp, cmd, args):
    return {"ctr": ctr, "pan": pan, "exp": exp, "cmd": cmd, "args": list(args)}


def split_signed(payload):
    """``(line1 bytes, mac text)``; WireError when not two lines of the right shape."""
    if len(payload) > MAX_PAYLOAD:
        raise WireError("payload too large")
    parts = bytes(payload).split(b"\n")
    if len(parts) != 2 or not _MAC.match(parts[1].decode("ascii", "replace")):
        raise WireError("not two lines with a MAC")
    return parts[0], parts[1].decode("ascii")


def verify(key, domain, payload):
    """The signed object when its MAC verifies (constant-time compare), else WireError."""
    line1, tag = split_signed(payload)
    if not hmac.compare_digest(mac(key, domain, line1), tag):
        raise WireError("the MAC does not verify")
    return _object(line1)


def unsigned_part(payload):
    """Line 1 of a signed message, parsed but NOT verified (to learn whose key to use)."""
    line1, _ = split_signed(payload)
    return _object(line1)
