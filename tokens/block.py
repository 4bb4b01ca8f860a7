"""The STS block: classes, subclasses, the 64-bit plaintext layout and its encryption.

A token's journey: fields -> 64-bit plaintext block with CRC -> encrypted with the
meter's decoder key (class 1: in the clear) -> class bits transposed in -> 20 digits.
Shared by the builders (vending) and the decoder (meter).
"""
from tokens.crc import block_crc
from tokens.digits import insert_class, render_digits
from tokens.errors import TokenError

ALGORITHMS = ("sta", "misty1")
KEY_BYTES = {"sta": 8, "misty1": 16}

CLASS_CREDIT = 0
CLASS_NON_METER = 1
CLASS_MANAGEMENT = 2

UTILITIES = ("electricity", "water", "gas", "time")
UNIT_NAMES = ("kWh", "m3", "m3", "min")

# Class 2 subclasses
SET_MAX_POWER_LIMIT = 0
CLEAR_CREDIT = 1
SET_TARIFF_RATE = 2
KEY_CHANGE_1 = 3
KEY_CHANGE_2 = 4
CLEAR_TAMPER = 5
SET_PHASE_UNBALANCE_LIMIT = 6
SET_WATER_METER_FACTOR = 7
KEY_CHANGE_3 = 8
KEY_CHANGE_4 = 9

CLEAR_ALL_REGISTERS = 0xFFFF

TID_MANAGEMENT = (SET_MAX_POWER_LIMIT, CLEAR_CREDIT, SET_TARIFF_RATE, CLEAR_TAMPER,
                  SET_PHASE_UNBALANCE_LIMIT, SET_WATER_METER_FACTOR)


def cipher(algorithm):
    """The cipher module for "sta" (EA07) or "misty1" (EA11)."""
    if algorithm == "sta":
        from tokens import sta
        return sta
    if algorithm == "misty1":
        from tokens import misty1
        return misty1
    raise TokenError("algorithm must be 'sta' (EA07) or 'misty1' (EA11), not %r" % (algorithm,))


def check_key(key, algorithm):
    """The cipher module for ``algorithm``, once ``key`` is known to fit it."""
    module = cipher(algorithm)
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES[algorithm]:
        raise TokenError("a %s decoder key is %d bytes (%d hex digits)"
                         % (algorithm, KEY_BYTES[algorithm], 2 * KEY_BYTES[algorithm]))
    return module


def is_currency(token_class, subclass):
    return token_class == CLASS_CREDIT and subclass >= 4


def make_block(token_class, subclass, data44):
    """Plaintext block: subclass (4 bits) | 44 data bits | CRC-16 (CRC_C for currency)."""
    block = subclass << 60 | data44 << 16
    return block | block_crc(token_class, block, is_currency(token_class, subclass))


def encode_block(token_class, block, key, algorithm):
    """A 64-bit plaintext block -> the 20-digit token (class 1 is sent in the clear)."""
    if not 0 <= token_class <= 2:
        raise TokenError("token class must be 0, 1 or 2")
    if not 0 <= block < 1 << 64:
        raise TokenError("a block is 64 bits (16 hex digits)")
    if token_class != CLASS_NON_METER:
        block = check_key(key, algorithm).encrypt(block, key)
    return render_digits(insert_class(block, token_class))
