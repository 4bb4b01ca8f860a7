"""Decoder key generation on the vending host: DKGA02 (DES) and DKGA04 (HMAC-SHA-256).

Host only: it needs the ``cryptography`` package, imported inside the functions so that
``import tokens`` stays light and the meter never loads it. Keys are bytes, big-endian.
Sources: sts.md section 9 (NectarAPI compliance suite; POS07/POS11 vectors).
"""
from tokens.errors import TokenError
from tokens.pan import pan_block, validate_pan
from tokens.tid import check_base_year

EA_CODES = {"sta": "07", "misty1": "11"}


def _check(sgc, ti, krn, kt):
    for name, value, low, high in (("SGC", sgc, 0, 999999), ("TI", ti, 0, 99),
                                   ("KRN", krn, 1, 9), ("KT", kt, 0, 3)):
        if not isinstance(value, int) or not low <= value <= high:
            raise TokenError("%s must be %d..%d, not %r" % (name, low, high, value))


def _check_vending_key(vending_key, sizes):
    if not isinstance(vending_key, (bytes, bytearray)) or len(vending_key) not in sizes:
        raise TokenError("the vending key must be %s bytes" % " or ".join(str(s) for s in sizes))


def dkga02(vending_key, pan, sgc, ti, krn, kt):
    """DK = DES(VK, PAN block XOR control block) XOR (PAN block XOR control block) XOR VK."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    _check_vending_key(vending_key, (8,))
    _check(sgc, ti, krn, kt)
    pan_bytes = bytes.fromhex(pan_block(pan, kt))
    control = bytes.fromhex("%d%06d%02d%dFFFFFF" % (kt, sgc, ti, krn))
    x = bytes(a ^ b for a, b in zip(pan_bytes, control))
    # Three equal DES keys make 3DES-EDE plain single DES.
    des = Cipher(TripleDES(bytes(vending_key) * 3), modes.ECB()).encryptor()
    encrypted = des.update(x) + des.finalize()
    return bytes(e ^ a ^ v for e, a, v in zip(encrypted, x, vending_key))


def dkga04_message(pan, sgc, ti, krn, kt, base_year, algorithm):
    """The KDF input: length-prefixed ASCII fields, then the key length L in bits."""
    if algorithm not in EA_CODES:
        raise TokenError("algorithm must be 'sta' or 'misty1', not %r" % (algorithm,))
    check_base_year(base_year)
    _check(sgc, ti, krn, kt)
    pan = validate_pan(pan)

    def field(text):
        return bytes([len(text)]) + text.encode()

    bits = 64 if algorithm == "sta" else 128
    return (b"\x04" + field("04") + field("%02d" % (base_year % 100)) + field(EA_CODES[algorithm])
            + field("%02d" % ti) + b"\x00" + b"\x04" + field("%06d" % sgc) + field("%X" % kt)
            + field("%X" % krn) + field(pan) + bits.to_bytes(4, "big"))


def dkga04(vending_key, pan, sgc, ti, krn, kt, base_year, algorithm):
    """DK = the first 64 (STA) or 128 (MISTY1) bits of HMAC-SHA-256(VK, message)."""
    from cryptography.hazmat.primitives import hashes, hmac

    _check_vending_key(vending_key, (16, 20, 24, 32))
    message = dkga04_message(pan, sgc, ti, krn, kt, base_year, algorithm)
    mac = hmac.HMAC(bytes(vending_key), hashes.SHA256())
    mac.update(message)
    return mac.finalize()[:8 if algorithm == "sta" else 16]
