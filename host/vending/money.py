"""Integer money and quantities as the receipts and reports print them; never float.

Text becomes money only through ``host.parse`` (the host's one strict parser):
``parse.money("100.00") == 10000``, ``parse.fixed("0.2537", 6, "price") == 253700``.
"""
from host.parse import format_fixed


def fmt_cents(value):
    return format_fixed(value, 2)


def fmt_tenths(value):
    return format_fixed(value, 1)


def fmt_percent(bp):
    """Basis points as a person writes the percentage: 1600 -> '16%', 1250 -> '12.5%'."""
    return format_fixed(bp, 2).rstrip("0").rstrip(".") + "%"


def fmt_price(micro):
    """A price in millionths as written: 250000 -> '0.25', 253700 -> '0.2537'."""
    whole, _, frac = format_fixed(micro, 6).partition(".")
    return "%s.%s" % (whole, frac.rstrip("0").ljust(2, "0"))
