"""Builders for every STS token type: fields in, 20 digits out (vending host and tests).

Amounts are rounded in the customer's favour by ``tokens.amount``; each builder returns
an ``IssuedToken`` that says what the token really carries.
"""
from tokens.amount import encode_currency, encode_units
from tokens.block import (CLASS_CREDIT, CLASS_MANAGEMENT, CLASS_NON_METER, CLEAR_ALL_REGISTERS,
                          CLEAR_CREDIT, CLEAR_TAMPER, KEY_CHANGE_1, KEY_CHANGE_2, KEY_CHANGE_3,
                          KEY_CHANGE_4, SET_MAX_POWER_LIMIT, SET_PHASE_UNBALANCE_LIMIT,
                          SET_TARIFF_RATE, SET_WATER_METER_FACTOR, UTILITIES, check_key,
                          encode_block, make_block)
from tokens.digits import group_digits
from tokens.errors import TokenError


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
        from tokens.names import TOKEN_NAMES
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
