"""STS tokens (IEC 62055-41): block layouts, builders for every token type, and decode.

A token's journey: fields -> 64-bit plaintext block with CRC -> encrypted with the
meter's decoder key (class 1: in the clear) -> class bits transposed in -> 20 digits.
``decode`` walks it back and names the IEC result when the token alone decides it
(Format, CRC, Function, Range); TID memory, key expiry and lockout are the meter's.
"""
from tokens.amount import decode_currency, decode_units, encode_currency, encode_units
from tokens.crc import block_crc
from tokens.digits import extract_class, group_digits, insert_class, parse_digits, render_digits
from tokens.errors import DecodeError, TokenError

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

TOKEN_NAMES = {
    (0, 0): "TransferCredit electricity", (0, 1): "TransferCredit water",
    (0, 2): "TransferCredit gas", (0, 3): "TransferCredit time",
    (0, 4): "TransferCredit electricity currency", (0, 5): "TransferCredit water currency",
    (0, 6): "TransferCredit gas currency", (0, 7): "TransferCredit time currency",
    (1, 0): "InitiateMeterTest/Display (2-digit manufacturer code)",
    (1, 1): "InitiateMeterTest/Display (4-digit manufacturer code)",
    (1, 2): "ExtendedTokenRead",
    (2, 0): "SetMaximumPowerLimit", (2, 1): "ClearCredit", (2, 2): "SetTariffRate",
    (2, 3): "KeyChange 1st", (2, 4): "KeyChange 2nd", (2, 5): "ClearTamperCondition",
    (2, 6): "SetMaximumPhasePowerUnbalanceLimit", (2, 7): "SetWaterMeterFactor",
    (2, 8): "KeyChange 3rd", (2, 9): "KeyChange 4th",
}
_TID_MANAGEMENT = (SET_MAX_POWER_LIMIT, CLEAR_CREDIT, SET_TARIFF_RATE, CLEAR_TAMPER,
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
    cipher(algorithm)
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES[algorithm]:
        raise TokenError("a %s decoder key is %d bytes (%d hex digits)"
                         % (algorithm, KEY_BYTES[algorithm], 2 * KEY_BYTES[algorithm]))


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
        check_key(key, algorithm)
        block = cipher(algorithm).encrypt(block, key)
    return render_digits(insert_class(block, token_class))


def format_digits(digits):
    return group_digits(digits)


class IssuedToken:
    """A token made by a builder: the digits and what they carry."""

    def __init__(self, digits, token_class, subclass, block, tid=None, value=None):
        self.digits = digits
        self.token_class = token_class
        self.subclass = subclass
        self.block = block
        self.tid = tid
        self.value = value

    @property
    def name(self):
        return TOKEN_NAMES.get((self.token_class, self.subclass), "reserved")

    def __repr__(self):
        return "<%s %s>" % (self.name, group_digits(self.digits))


def _random_nibble():
    import os
    return os.urandom(1)[0] & 15


def _tid_data(nibble, tid, value16):
    if not isinstance(tid, int) or not 0 <= tid <= 0xFFFFFF:
        raise TokenError("TID must be 0..16777215 minutes, not %r" % (tid,))
    if not 0 <= value16 <= 0xFFFF:
        raise TokenError("value %r does not fit 16 bits" % (value16,))
    return nibble << 40 | tid << 16 | value16


def _issue(key, algorithm, token_class, subclass, data44, tid=None, value=None):
    block = make_block(token_class, subclass, data44)
    digits = encode_block(token_class, block, key, algorithm)
    return IssuedToken(digits, token_class, subclass, block, tid, value)


def _utility_index(utility):
    if utility not in UTILITIES:
        raise TokenError("utility must be one of %s, not %r" % (", ".join(UTILITIES), utility))
    return UTILITIES.index(utility)


# Class 0 ------------------------------------------------------------------------------

def credit_token(key, algorithm, utility, tid, quantity_tenths, rnd=None):
    """Unit credit in 0.1 kWh / 0.1 m3 / 0.1 min; .value is what the token carries
    (rounded up in the customer's favour)."""
    field, carried = encode_units(quantity_tenths)
    nibble = _random_nibble() if rnd is None else rnd & 15
    return _issue(key, algorithm, CLASS_CREDIT, _utility_index(utility),
                  _tid_data(nibble, tid, field), tid, carried)


def currency_token(key, algorithm, utility, tid, amount_e5):
    """Currency credit in 10^-5 base units (may be negative); .value is what it carries."""
    nibble, field, carried = encode_currency(amount_e5)
    return _issue(key, algorithm, CLASS_CREDIT, 4 + _utility_index(utility),
                  _tid_data(nibble, tid, field), tid, carried)


# Class 2, TID-bearing ---------------------------------------------------------------

def _management(key, algorithm, subclass, tid, value16, value, rnd):
    nibble = _random_nibble() if rnd is None else rnd & 15
    return _issue(key, algorithm, CLASS_MANAGEMENT, subclass,
                  _tid_data(nibble, tid, value16), tid, value)


def set_max_power_limit(key, algorithm, tid, watts, rnd=None):
    field, carried = encode_units(watts)
    return _management(key, algorithm, SET_MAX_POWER_LIMIT, tid, field, carried, rnd)


def set_phase_unbalance_limit(key, algorithm, tid, watts, rnd=None):
    field, carried = encode_units(watts)
    return _management(key, algorithm, SET_PHASE_UNBALANCE_LIMIT, tid, field, carried, rnd)


def clear_credit(key, algorithm, tid, register=CLEAR_ALL_REGISTERS, rnd=None):
    """Register 0-3 unit credit (electricity, water, gas, time), 4-7 currency, 0xFFFF all."""
    if not (0 <= register <= 7 or register == CLEAR_ALL_REGISTERS):
        raise TokenError("ClearCredit register is 0..7 or 65535 (all), not %r" % (register,))
    return _management(key, algorithm, CLEAR_CREDIT, tid, register, register, rnd)


def set_tariff_rate(key, algorithm, tid, rate, rnd=None):
    return _management(key, algorithm, SET_TARIFF_RATE, tid, rate, rate, rnd)


def set_water_meter_factor(key, algorithm, tid, factor, rnd=None):
    return _management(key, algorithm, SET_WATER_METER_FACTOR, tid, factor, factor, rnd)


def clear_tamper(key, algorithm, tid, rnd=None):
    return _management(key, algorithm, CLEAR_TAMPER, tid, 0, None, rnd)


# Class 2, key change ----------------------------------------------------------------

def _word(key, start):
    return key[start] << 24 | key[start + 1] << 16 | key[start + 2] << 8 | key[start + 3]


def key_change(old_key, algorithm, new_key, new_krn, new_kt, new_ti, ken=255,
               rollover=False, sgc=None):
    """The key change token set, encrypted with the meter's current (old) key.

    STA: 2 tokens (64-bit key), or 3 when the SGC is transferred. MISTY1: 4 tokens
    (128-bit key, SGC split over the 3rd and 4th). Set ``rollover`` for a base-date
    change: the meter then clears its TID memory.
    """
    check_key(new_key, algorithm)
    for name, value, limit in (("KRN", new_krn, 15), ("KT", new_kt, 3), ("TI", new_ti, 255),
                               ("KEN", ken, 255)):
        if not isinstance(value, int) or not 0 <= value <= limit:
            raise TokenError("%s must be 0..%d, not %r" % (name, limit, value))
    if sgc is not None and not 0 <= sgc <= 999999:
        raise TokenError("SGC is a 6-digit number")
    if algorithm == "misty1" and sgc is None:
        raise TokenError("a MISTY1 (4-token) key change carries the SGC: give sgc")
    three = algorithm == "sta" and sgc is not None
    first = ((ken >> 4) << 40 | new_krn << 36 | (1 if rollover else 0) << 35
             | (1 if three else 0) << 34 | new_kt << 32 | _word(new_key, 0))
    last = 12 if algorithm == "misty1" else 4
    second = (ken & 15) << 40 | new_ti << 32 | _word(new_key, last)
    sets = [(KEY_CHANGE_1, first), (KEY_CHANGE_2, second)]
    if three:
        sets.append((KEY_CHANGE_3, sgc << 20))
    elif algorithm == "misty1":
        sets.append((KEY_CHANGE_3, (sgc & 0xFFF) << 32 | _word(new_key, 4)))
        sets.append((KEY_CHANGE_4, (sgc >> 12) << 32 | _word(new_key, 8)))
    return [_issue(old_key, algorithm, CLASS_MANAGEMENT, sub, data) for sub, data in sets]


# Class 1 (never encrypted) ------------------------------------------------------------

def test_token(control, mfr_code=0, mfr_digits=2):
    """InitiateMeterTest/Display: control bits select tests; mfr_code 2 or 4 digits."""
    if mfr_digits == 2:
        subclass, control_bits, mfr_bits, mfr_max = 0, 36, 8, 99
    elif mfr_digits == 4:
        subclass, control_bits, mfr_bits, mfr_max = 1, 28, 16, 9999
    else:
        raise TokenError("manufacturer code has 2 or 4 digits")
    if not 0 <= control < 1 << control_bits:
        raise TokenError("control is %d bits with a %d-digit manufacturer code"
                         % (control_bits, mfr_digits))
    if not 0 <= mfr_code <= mfr_max:
        raise TokenError("manufacturer code must be 0..%d" % mfr_max)
    return _issue(None, None, CLASS_NON_METER, subclass, control << mfr_bits | mfr_code,
                  value=control)


def extended_read(value):
    """Class 1 subclass 2 extended token read (STS 202-5): a 36-bit value."""
    if not 0 <= value < 1 << 36:
        raise TokenError("extended read value is 36 bits")
    return _issue(None, None, CLASS_NON_METER, 2, value << 8, value=value)


# Decode --------------------------------------------------------------------------------

class Decoded:
    """What a token means: class, subclass, plaintext block (CRC included), TID, fields."""

    def __init__(self, digits, token_class, subclass, block, tid, fields):
        self.digits = digits
        self.token_class = token_class
        self.subclass = subclass
        self.block = block
        self.tid = tid
        self.fields = fields
        self.crc_ok = True

    @property
    def name(self):
        return TOKEN_NAMES.get((self.token_class, self.subclass), "reserved")

    @property
    def value(self):
        return self.fields.get("value")


def decode(token, key, algorithm):
    """Decode a token with the meter's decoder key; DecodeError names the IEC result."""
    number = parse_digits(token)
    token_class, block = extract_class(number)
    if token_class == 3:
        raise DecodeError("Format", "token class 3 does not exist")
    if token_class != CLASS_NON_METER:
        check_key(key, algorithm)
        block = cipher(algorithm).decrypt(block, key)
    subclass = block >> 60
    if block & 0xFFFF != block_crc(token_class, block, is_currency(token_class, subclass)):
        raise DecodeError("CRC", "CRC error: the token was mistyped or is for another meter")
    data = (block >> 16) & 0xFFFFFFFFFFF
    fields, tid = _fields(token_class, subclass, data, algorithm)
    return Decoded(render_digits(number), token_class, subclass, block, tid, fields)


def _fields(token_class, subclass, data, algorithm):
    nibble = data >> 40
    value16 = data & 0xFFFF
    tid = (data >> 16) & 0xFFFFFF
    if token_class == CLASS_CREDIT:
        if subclass >= 8:
            raise DecodeError("Function", "credit subclass %d is not supported" % subclass)
        utility = UTILITIES[subclass & 3]
        if subclass >= 4:
            return {"utility": utility, "currency": True, "value": decode_currency(nibble, value16),
                    "unit": "1e-5 currency units"}, tid
        return {"utility": utility, "currency": False, "rnd": nibble,
                "value": decode_units(value16), "unit": "0.1 " + UNIT_NAMES[subclass]}, tid
    if token_class == CLASS_NON_METER:
        if subclass == 0:
            return {"control": data >> 8, "manufacturer_code": data & 0xFF, "mfr_digits": 2}, None
        if subclass == 1:
            return {"control": data >> 16, "manufacturer_code": data & 0xFFFF, "mfr_digits": 4}, None
        if subclass == 2:
            return {"value": data >> 8}, None
        raise DecodeError("Function", "class 1 subclass %d is not supported" % subclass)
    if subclass in _TID_MANAGEMENT:
        fields = {"rnd": nibble}
        if subclass in (SET_MAX_POWER_LIMIT, SET_PHASE_UNBALANCE_LIMIT):
            fields["value"] = decode_units(value16)
            fields["unit"] = "W"
        elif subclass == CLEAR_CREDIT:
            if not (value16 <= 7 or value16 == CLEAR_ALL_REGISTERS):
                raise DecodeError("Range", "ClearCredit register %d does not exist" % value16)
            fields["register"] = value16
        elif subclass != CLEAR_TAMPER:
            fields["value"] = value16
        return fields, tid
    if subclass == KEY_CHANGE_1:
        return {"ken_high": nibble, "krn": (data >> 36) & 15, "rollover": (data >> 35) & 1,
                "three_tokens": (data >> 34) & 1, "kt": (data >> 32) & 3,
                "key_part": data & 0xFFFFFFFF}, None
    if subclass == KEY_CHANGE_2:
        return {"ken_low": nibble, "ti": (data >> 32) & 0xFF, "key_part": data & 0xFFFFFFFF}, None
    if subclass == KEY_CHANGE_3 and algorithm == "sta":
        return {"sgc": data >> 20}, None
    if subclass in (KEY_CHANGE_3, KEY_CHANGE_4):
        return {"sgc_part": data >> 32, "key_part": data & 0xFFFFFFFF}, None
    raise DecodeError("Function", "management subclass %d is not supported" % subclass)
