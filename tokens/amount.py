"""The 16-bit exponent/mantissa amount field of STS tokens (sts.md 4.3-4.5).

Value = m * 10^e + O_e with O_e = 2^14 * (10^0 + ... + 10^(e-1)): each exponent starts
where the previous one ends. Encoding rounds in the customer's favour and takes the
smallest exponent; everything is integer arithmetic.
"""
from tokens.errors import TokenError

try:
    from micropython import const
except ImportError:     # CPython (the host's tools); tokens/ imports nothing of the firmware
    def const(value):
        return value

_MANTISSA_MAX = const(16383)
_UNIT_EXPONENT_MAX = const(3)          # quantity tokens: 2-bit exponent
_CURRENCY_EXPONENT_MAX = const(31)     # currency tokens: 5-bit exponent


def _offset(e):
    """O_e = 16384 * (10^e - 1) / 9."""
    return 16384 * ((10 ** e - 1) // 9)


def _top(e):
    """The largest value exponent e can carry."""
    return _MANTISSA_MAX * 10 ** e + _offset(e)


def _round_up(value, max_exponent):
    """Smallest (e, m) whose value >= value; values in a gap go to the next range's start."""
    for e in range(max_exponent + 1):
        if value <= _top(e):
            offset = _offset(e)
            if value <= offset:
                return e, 0
            step = 10 ** e
            return e, (value - offset + step - 1) // step
    return None


def _round_down(value, max_exponent):
    """Largest (e, m) whose value <= value (for negative currency magnitudes)."""
    for e in range(max_exponent + 1):
        if value <= _top(e):
            offset = _offset(e)
            if value < offset:          # in the gap below this range: the previous top
                return e - 1, _MANTISSA_MAX
            return e, (value - offset) // 10 ** e
    return max_exponent, _MANTISSA_MAX


def decode_value(e, m):
    return m * 10 ** e + _offset(e)


def encode_units(tenths):
    """Quantity in 0.1 units (or watts) -> (16-bit field, value it carries)."""
    if not isinstance(tenths, int) or tenths < 0:
        raise TokenError("amount must be a whole number of 0.1 units, not %r" % (tenths,))
    found = _round_up(tenths, _UNIT_EXPONENT_MAX)
    if found is None:
        raise TokenError("amount %d exceeds the largest a token can carry (%d)"
                         % (tenths, _top(_UNIT_EXPONENT_MAX)))
    e, m = found
    return e << 14 | m, decode_value(e, m)


def decode_units(field):
    return decode_value(field >> 14, field & _MANTISSA_MAX)


def encode_currency(amount_e5):
    """Signed currency amount in 10^-5 units -> (sign_exponent_nibble, field, value carried).

    Rounded towards +infinity: up for credit, magnitude down for a negative amount.
    The nibble holds sign (bit 3) and exponent bits e4 e3 e2; the field holds e1 e0 and m.
    """
    if not isinstance(amount_e5, int):
        raise TokenError("currency amount must be an integer number of 10^-5 units")
    negative = amount_e5 < 0
    magnitude = -amount_e5 if negative else amount_e5
    if negative:
        e, m = _round_down(magnitude, _CURRENCY_EXPONENT_MAX)
    else:
        found = _round_up(magnitude, _CURRENCY_EXPONENT_MAX)
        if found is None:
            raise TokenError("currency amount is too large for a token")
        e, m = found
    nibble = (8 if negative else 0) | e >> 2
    value = decode_value(e, m)
    return nibble, (e & 3) << 14 | m, -value if negative else value


def decode_currency(nibble, field):
    e = (nibble & 7) << 2 | field >> 14
    value = decode_value(e, field & _MANTISSA_MAX)
    return -value if nibble & 8 else value

