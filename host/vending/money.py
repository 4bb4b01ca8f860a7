"""Decimal strings typed by a clerk <-> integers; never float.

``parse_fixed("100.00", 2) == 10000``. More decimal places than allowed is an error, not a
rounding: a clerk who types 100.005 has made a mistake worth telling.
"""
import re

from host.vending.errors import VendError

_NUMBER = re.compile(r"^([+-]?)(\d+)(?:\.(\d*))?$")


def parse_fixed(text, places, what="amount", allow_negative=False):
    """``text`` as an integer count of 10^-places units."""
    match = _NUMBER.match(str(text).strip().replace(",", "") if text is not None else "")
    if not match:
        raise VendError("%s %r is not a number like 100.00" % (what, text))
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    if len(frac) > places:
        raise VendError("%s %s has more than %d decimal places" % (what, text, places))
    value = int(whole) * 10 ** places + int((frac + "0" * places)[:places] or "0")
    if sign == "-":
        if not allow_negative:
            raise VendError("%s %s must not be negative" % (what, text))
        value = -value
    return value


def format_fixed(value, places):
    """An integer count of 10^-places units as a decimal string."""
    sign = "-" if value < 0 else ""
    value = abs(int(value))
    if places == 0:
        return sign + str(value)
    return "%s%d.%0*d" % (sign, value // 10 ** places, places, value % 10 ** places)


def cents(text, what="amount", allow_negative=False):
    return parse_fixed(text, 2, what, allow_negative)


def fmt_cents(value):
    return format_fixed(value, 2)


def fmt_tenths(value):
    return format_fixed(value, 1)


def percent_bp(text, what="percentage"):
    """``"16"`` or ``"12.5"`` percent as basis points (1600, 1250)."""
    value = parse_fixed(text, 2, what)
    if value > 10000:
        raise VendError("%s %s is above 100" % (what, text))
    return value


def fmt_percent(bp):
    """Basis points as a person writes the percentage: 1600 -> '16%', 1250 -> '12.5%'."""
    return format_fixed(bp, 2).rstrip("0").rstrip(".") + "%"


def fmt_price(micro):
    """A price in millionths as written: 250000 -> '0.25', 253700 -> '0.2537'."""
    whole, _, frac = format_fixed(micro, 6).partition(".")
    return "%s.%s" % (whole, frac.rstrip("0").ljust(2, "0"))
