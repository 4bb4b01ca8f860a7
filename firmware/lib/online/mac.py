"""HMAC-SHA-256 (RFC 2104) on ``hashlib.sha256``, which both runtimes have, and a
comparison that does not stop at the first difference. Twenty lines instead of a
vendored micropython-lib ``hmac``, which carries every digest and the ``hmac.new`` API;
``tests/test_online_units.py`` checks it against CPython's ``hmac``."""
import hashlib
from binascii import hexlify

_BLOCK = 64


def _pad(key, byte):
    out = bytearray(_BLOCK)
    for i in range(len(key)):
        out[i] = key[i] ^ byte
    for i in range(len(key), _BLOCK):
        out[i] = byte
    return out


def sha256_mac(key, *parts):
    """HMAC-SHA-256 of the concatenated ``parts`` (bytes) under ``key`` (bytes)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    inner = hashlib.sha256(_pad(key, 0x36))
    for part in parts:
        inner.update(part)
    outer = hashlib.sha256(_pad(key, 0x5C))
    outer.update(inner.digest())
    return outer.digest()


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
