"""The payloads the meter publishes (docs/mqtt.md), as bytes: readings from the optical
port's OBIS table (``obis.registers``: one table, the same values and codes as the
readout), events from the meter's event log, token results, and signed command results.

Messages are built as text pieces joined once: a reading is about 1 KB and short-lived.
``values`` (the part of a reading that the backlog keeps) is built apart from the
envelope, so a buffered reading is sent with its original time and values."""
import json

from online.mac import hex_mac

RESULT_TAG = b"prepay-res\n"


def unix(meter_s, cfg):
    """Meter seconds (since 2000, local) as Unix seconds (UTC)."""
    return meter_s + 946684800 - cfg["utc_offset_s"]


def meter_time(unix_s, cfg):
    return unix_s - 946684800 + cfg["utc_offset_s"]


def values_json(app, codes=None):
    """``{"<OBIS>": ["text", "unit"], ...}`` of every register with a value now (or of
    ``codes``, each a register this meter has), as text."""
    from obis import registers
    parts = []
    if codes is None:
        for code, what in registers.rows(app):
            _add(parts, code, registers.value_of(app, what))
    else:
        for code in codes:
            _add(parts, code, registers.value_of(app, registers.find(app, code)))
    return "{" + ", ".join(parts) + "}"


def _add(parts, code, value):
    if value is not None:
        parts.append('"%s": [%s, %s]' % (code, json.dumps(value[0]), json.dumps(value[1] or "")))


def reading(seq, t_unix, period_s, values):
    return '{"seq": %d, "t": %d, "period_s": %d, "values": %s}' % (seq, t_unix, period_s,
                                                                   values)


def event(seq, t_unix, entry):
    """An event log entry ``[log, t, kind, detail, value]`` (``t`` already Unix)."""
    return '{"seq": %d, "t": %d, "code": %s, "data": {"value": %d, "log": %d}}' % (
        seq, t_unix, json.dumps(entry[2] + "." + entry[3]), entry[4], entry[0])


def token_result(seq, t_unix, entry):
    """A token history entry ``[t, result, class, subclass, amount]``."""
    return ('{"seq": %d, "t": %d, "code": "token.result", "data": {"result": %s, '
            '"class": %s, "subclass": %s, "amount": %s}}' % (
                seq, t_unix, json.dumps(entry[1]), json.dumps(entry[2]),
                json.dumps(entry[3]), json.dumps(entry[4])))


def result(key, ctr, pan, t_unix, code, data="{}"):
    """A signed command result: line 1, newline, its HMAC in hex (docs/mqtt.md)."""
    line = '{"ctr": %s, "pan": %s, "t": %d, "code": %s, "data": %s}' % (
        "null" if ctr is None else "%d" % ctr, json.dumps(pan), t_unix, json.dumps(code),
        data)
    body = line.encode()
    return body + b"\n" + hex_mac(key, RESULT_TAG, body)
