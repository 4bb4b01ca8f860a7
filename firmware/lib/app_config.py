"""The meter's configuration file (``meter.json``) split into what each part needs.

The file holds the meter core's configuration (``meter.config`` validates it and
refuses unknown keys) plus the sections the core does not know:

* ``sts``: token acceptance identity: ``algorithm`` (``sta``/``misty1``), ``base_date``
  (1993/2014/2035, for the provisioning TID), ``krn``, ``kt``, ``ti``, ``ken``, ``sgc``,
  ``manufacturer_code``, ``mfr_digits``, ``tariff_rate_unit_micro``, optional
  ``floor_tid`` (tokens at or below it are Old; default: one day before the first boot),
  and once, at provisioning, the decoder ``key`` (hex): the first boot moves it into the
  key partition and leaves ``"key": null`` in the file (``app_keys``).
* ``identity``: ``pan`` (18 digits, IIN + DRN + Luhn check digit) and free text such
  as ``serial``, ``site``; shown in the status, never used to decide anything.
* ``display``: ``currency`` (symbol for currency credit, e.g. ``KES``), ``decimals``.
* ``board``: handed to ``boards/<name>/board.py build_board``.
* ``ir``: the optical port's settings and passwords (``iec62056.settings``).
* ``online``: the MQTT task's broker and, once, its two secrets, the command key and
  the broker password (``online.settings``, docs/mqtt.md).

``split(raw)`` returns ``(core, sts, identity, display, board)``; ``ConfigError``
names the field. ``SECRETS`` lists the fields that are secrets; ``public(sts)`` is the
copy of ``sts`` fit for any output.
"""
from meter.errors import ConfigError
from tokens.errors import TokenError
from tokens.pan import validate_pan

APP_SECTIONS = ("sts", "identity", "display", "board", "ir", "online")
STS_KEYS = ("key", "algorithm", "base_date", "krn", "kt", "ti", "ken", "sgc",
            "manufacturer_code", "mfr_digits", "tariff_rate_unit_micro", "floor_tid")
KEY_HEX = {"sta": 16, "misty1": 32}
# The secrets meter.json may bring, by path: the first boot moves them into the key
# partition under these names (app_keys) and leaves null in the file.
SECRETS = (("sts.key", "key"), ("ir.passwords.reader", "ir_reader"),
           ("ir.passwords.technician", "ir_technician"),
           ("online.command_key", "command_key"), ("online.broker_password", "broker_password"))
DISPLAY_KEYS = ("currency", "decimals")


def _int(d, key, path, default, lo, hi):
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ConfigError("%s.%s: must be an integer %d..%d, got %r" % (path, key, lo, hi, v))
    return v


def check_sts(sts):
    if not isinstance(sts, dict):
        raise ConfigError("sts: must be an object")
    for k in sts:
        if k not in STS_KEYS:
            raise ConfigError("sts.%s: unknown field" % k)
    algorithm = sts.get("algorithm", "sta")
    if algorithm not in KEY_HEX:
        raise ConfigError("sts.algorithm: must be sta or misty1, got %r" % (algorithm,))
    key = sts.get("key")
    if key is not None and (not isinstance(key, str) or len(key) != KEY_HEX[algorithm]
                            or any(c not in "0123456789abcdefABCDEF" for c in key)):
        raise ConfigError("sts.key: must be %d hex digits for %s" % (KEY_HEX[algorithm], algorithm))
    out = {"key": None if key is None else key.lower(), "algorithm": algorithm,
           "base_date": sts.get("base_date", 2014),
           "krn": _int(sts, "krn", "sts", 1, 1, 9),
           "kt": _int(sts, "kt", "sts", 2, 0, 3),
           "ti": _int(sts, "ti", "sts", 1, 0, 99),
           "ken": _int(sts, "ken", "sts", 255, 0, 255),
           "sgc": _int(sts, "sgc", "sts", 0, 0, 999999),
           "manufacturer_code": _int(sts, "manufacturer_code", "sts", 0, 0, 9999),
           "mfr_digits": _int(sts, "mfr_digits", "sts", 2, 2, 4),
           "tariff_rate_unit_micro": _int(sts, "tariff_rate_unit_micro", "sts", 1000, 1,
                                          10 ** 9),
           "floor_tid": None}
    if out["base_date"] not in (1993, 2014, 2035):
        raise ConfigError("sts.base_date: must be 1993, 2014 or 2035")
    if sts.get("floor_tid") is not None:
        out["floor_tid"] = _int(sts, "floor_tid", "sts", 0, 0, 0xFFFFFF)
    return out


def check_identity(identity):
    if not isinstance(identity, dict):
        raise ConfigError("identity: must be an object")
    out = {}
    for k in identity:
        v = identity[k]
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise ConfigError("identity.%s: must be text" % k)
        out[k] = str(v)
    if "pan" in out:
        try:
            out["pan"] = validate_pan(out["pan"])
        except TokenError as exc:
            raise ConfigError("identity.pan: %s" % exc)
    return out


def check_display(display):
    if not isinstance(display, dict):
        raise ConfigError("display: must be an object")
    for k in display:
        if k not in DISPLAY_KEYS:
            raise ConfigError("display.%s: unknown field" % k)
    currency = display.get("currency", "")
    if not isinstance(currency, str) or len(currency) > 4:
        raise ConfigError("display.currency: up to 4 characters, e.g. KES")
    return {"currency": currency, "decimals": _int(display, "decimals", "display", 2, 0, 3)}


def split(raw):
    """(core config, sts, identity, display, board) from the parsed meter.json."""
    if not isinstance(raw, dict):
        raise ConfigError("the meter configuration must be a JSON object")
    core = {}
    for k in raw:
        if k not in APP_SECTIONS:
            core[k] = raw[k]
    if "sts" not in raw:
        raise ConfigError("sts: is required (the meter's STS identity)")
    board = raw.get("board") or {}
    if not isinstance(board, dict) or not isinstance(board.get("name", "esp32"), str):
        raise ConfigError("board: must be an object with a name")
    return (core, check_sts(raw["sts"]), check_identity(raw.get("identity") or {}),
            check_display(raw.get("display") or {}), board)


def public(sts):
    """The STS identity without the decoder key, for status, logs and displays."""
    out = {}
    for k in sts:
        if k != "key":
            out[k] = sts[k]
    return out


def load(path):
    """Parse meter.json; a missing or unreadable file is a ConfigError."""
    import json
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        raise ConfigError("%s: cannot be read" % path)
    except ValueError as exc:
        raise ConfigError("%s: not valid JSON (%s)" % (path, exc))
