"""The optical port's section of meter.json (``"ir"``), checked once at boot like the
rest of the configuration; a bad value is a ConfigError naming the field.

    "ir": {"manufacturer": "PPM", "ident": "PREPAY", "address": "SIM-E-0001",
           "baud": 5, "reaction_ms": 200, "switch_ms": 300, "inactivity_s": 120,
           "passwords": {"reader": "...", "technician": "..."}}

``baud`` is the highest baud rate character proposed (5 = 9600 Bd); ``reaction_ms`` the
meter's reaction time (below 200 ms the third letter of the manufacturer goes lower case,
as the standard asks); ``switch_ms`` the pause after the option select before the
first byte at the new baud (slow USB converters re-open their port); ``address`` the
device address of ``/?ADDRESS!`` (default: the identity's serial). Without
``passwords`` programming mode is closed: every P1 is refused. A password is 4 to 16
printable characters; the two levels must differ. The passwords never leave this
section: no readout, R1 answer, error or status shows them. They are secrets at rest:
the first boot moves them into the key partition and leaves ``null`` for both here
(``app_keys``), which reads as "delivered already".
"""
from meter.errors import ConfigError

KEYS = ("manufacturer", "ident", "address", "baud", "reaction_ms", "switch_ms",
        "inactivity_s", "passwords")
NOT_IN_TEXT = "()/!*?"


def _int(d, key, default, lo, hi):
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ConfigError("ir.%s: must be an integer %d..%d, got %r" % (key, lo, hi, v))
    return v


def _text(d, key, default, lo, hi, what):
    v = d.get(key, default)
    if not isinstance(v, str) or not lo <= len(v) <= hi or any(
            c in NOT_IN_TEXT or not " " < c <= "~" for c in v):
        raise ConfigError("ir.%s: must be %s" % (key, what))
    return v


def check(raw, identity):
    """The checked settings (defaults filled in)."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError("ir: must be an object")
    for k in raw:
        if k not in KEYS:
            raise ConfigError("ir.%s: unknown field" % k)
    mfr = _text(raw, "manufacturer", "PPM", 3, 3, "3 letters (the FLAG manufacturer ID)")
    if not mfr.isalpha():
        raise ConfigError("ir.manufacturer: must be 3 letters (the FLAG manufacturer ID)")
    out = {
        "manufacturer": mfr.upper(),
        "ident": _text(raw, "ident", "PREPAY", 1, 16, "1 to 16 printable characters"),
        "address": _text(raw, "address", identity.get("serial") or "", 0, 32,
                         "up to 32 printable characters"),
        "baud": _int(raw, "baud", 5, 0, 6),
        "reaction_ms": _int(raw, "reaction_ms", 200, 20, 1500),
        "switch_ms": _int(raw, "switch_ms", 300, 0, 2000),
        "inactivity_s": _int(raw, "inactivity_s", 120, 10, 600),
        "passwords": None,
    }
    pw = raw.get("passwords")
    if pw is not None:
        if not isinstance(pw, dict) or sorted(pw) != ["reader", "technician"]:
            raise ConfigError("ir.passwords: must give reader and technician")
        if pw["reader"] is None and pw["technician"] is None:     # in the key partition
            return out
        what = "4 to 16 printable characters"
        reader = _text(pw, "reader", None, 4, 16, what)
        technician = _text(pw, "technician", None, 4, 16, what)
        if reader == technician:
            raise ConfigError("ir.passwords: reader and technician must differ")
        out["passwords"] = (reader, technician)
    return out
