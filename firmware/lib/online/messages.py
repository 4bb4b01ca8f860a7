"""The payloads the meter publishes (docs/mqtt.md), as bytes: readings from the optical
port's OBIS table (``obis.registers``: one table, the same values and codes as the
readout), events from the meter's event log, token results, and signed command results.

A reading is about 1 KB: it is composed in the backlog's frame (one buffer for the
session) instead of as new strings, values first and the envelope in front of them, so a
backlog line's values are sent as they were kept, with their original time.

Commands and results are signed with HMAC-SHA-256 (RFC 2104) on ``hashlib.sha256``,
which both runtimes have: twenty lines here instead of a vendored micropython-lib
``hmac`` (every digest and the ``hmac.new`` API); tests/test_online_units.py checks it
against RFC 4231 and CPython's ``hmac``."""
import hashlib
import json
from binascii import hexlify

from const import const

RESULT_TAG = b"prepay-res\n"
_BLOCK = const(64)


def sha256_mac(key, *parts):
    """HMAC-SHA-256 of the concatenated ``parts`` (bytes) under ``key`` (bytes)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    pad = bytearray(_BLOCK)
    digest = None
    for byte in (0x36, 0x5C):               # the inner hash, then the outer
        for i in range(_BLOCK):
            pad[i] = (key[i] if i < len(key) else 0) ^ byte
        h = hashlib.sha256(pad)
        for part in (parts if digest is None else (digest,)):
            h.update(part)
        digest = h.digest()
    return digest


def hex_mac(key, *parts):
    return hexlify(sha256_mac(key, *parts))


def equal(a, b):
    """Bytes equal, in time that depends on their length only."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


def unix(meter_s, cfg):
    """Meter seconds (since 2000, local) as Unix seconds (UTC)."""
    return meter_s + 946684800 - cfg["utc_offset_s"]


def _pieces(app, codes):
    """``"<OBIS>": ["text", "unit"]`` of each register with a value now (every one, or
    ``codes``, each a register this meter has)."""
    from obis import registers
    for code, what in registers.rows(app) if codes is None else ((c, None) for c in codes):
        value = registers.value_of(app, what or registers.find(app, code))
        if value is not None:
            yield '"%s": [%s, %s]' % (code, json.dumps(value[0]), json.dumps(value[1] or ""))


def values_json(app, codes=None):
    """The values as JSON text (a ``read`` command's answer: a few registers)."""
    return "{" + ", ".join(_pieces(app, codes)) + "}"


def write_values(box, app):
    """Every register's value as JSON, written into the backlog's frame (``box.buf``)
    after its HEAD: no block the size of a reading is taken from the heap; returns the
    (start, end) it spans. A register that would not fit is left out (the frame has
    room for the table with a metering chip and four rates)."""
    from online.outbox import HEAD
    buf = box.buf
    mv = box.mv
    pos = HEAD
    limit = len(buf) - 2            # room for "}" and the envelope's own "}"
    buf[pos] = 123                  # {
    pos += 1
    sep = b""
    for piece in _pieces(app, None):
        data = piece.encode()
        n = len(sep) + len(data)
        if pos + n > limit:
            break
        mv[pos:pos + len(sep)] = sep
        mv[pos + len(sep):pos + n] = data
        pos += n
        sep = b", "
    buf[pos] = 125                  # }
    return HEAD, pos + 1


def reading(box, seq, t_unix, period_s, span):
    """The reading message around values at ``span`` in the frame (from
    ``write_values`` or a backlog line): written in place, returned as a memoryview."""
    start, end = span
    head = ('{"seq": %d, "t": %d, "period_s": %d, "values": ' % (seq, t_unix, period_s)
            ).encode()
    first = start - len(head)
    box.mv[first:start] = head
    box.buf[end] = 125              # }
    return box.mv[first:end + 1]


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
