"""The ``online`` section of meter.json, checked (docs/mqtt.md). Boot only: ``App``
keeps the checked dict. The two secrets (``command_key``, ``broker_password``) are only
checked here; ``app_keys`` moves them into the key partition."""
from meter.errors import ConfigError

KEYS = ("broker", "tls", "utc_offset_s", "reading_s", "backlog_bytes", "keepalive_s",
        "command_key", "broker_password")
_MAX_PASSWORD = 96      # the key record has 512 bytes for every secret (meter.keystore)
UNIX_2000 = 946684800   # Unix seconds at 2000-01-01 00:00 UTC


def _int(d, key, default, lo, hi):
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ConfigError("online.%s: must be an integer %d..%d, got %r" % (key, lo, hi, v))
    return v


def check(online):
    """The checked settings, or None when the meter is not an online meter."""
    if online is None:
        return None
    if not isinstance(online, dict):
        raise ConfigError("online: must be an object")
    for k in online:
        if k not in KEYS:
            raise ConfigError("online.%s: unknown field" % k)
    broker = online.get("broker")
    host, sep, port = broker.rpartition(":") if isinstance(broker, str) else ("", "", "")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 \
            or len(broker) > 128 or " " in broker:
        raise ConfigError("online.broker: must be host:port, got %r" % (broker,))
    tls = online.get("tls", False)
    if not isinstance(tls, bool):
        raise ConfigError("online.tls: must be true or false")
    key = online.get("command_key")
    if key is not None and (not isinstance(key, str) or len(key) != 64
                            or any(c not in "0123456789abcdefABCDEF" for c in key)):
        raise ConfigError("online.command_key: must be 64 hex digits (32 bytes)")
    password = online.get("broker_password")
    if password is not None and (not isinstance(password, str)
                                 or not 0 < len(password) <= _MAX_PASSWORD):
        raise ConfigError("online.broker_password: must be text of 1..%d characters"
                          % _MAX_PASSWORD)
    return {"host": host, "port": int(port), "tls": tls,
            "utc_offset_s": _int(online, "utc_offset_s", 0, -50400, 50400),
            "reading_s": _int(online, "reading_s", 900, 60, 86400),
            "keepalive_s": _int(online, "keepalive_s", 60, 10, 3600),
            "backlog_bytes": _int(online, "backlog_bytes", 131072, 8192, 1 << 24)}
