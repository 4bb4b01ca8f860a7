"""InitiateMeterTest/Display (class 1, subclasses 0 and 1): which control bit asks for what.

The bit assignment is IEC 62055-41's (bit 0 first): each bit selects one test or one
read-out, and a control of 0 asks for all of them, in this order. Vending builds test
tokens from this table (descriptions for people: ``tokens.names.METER_TESTS``); the
meter acts on it (``meter.testtoken``). The token is not meter-specific: manufacturer
code 0 addresses every meter.
"""
from tokens.errors import TokenError

CONTROL_BITS = (
    "load_switch", "display", "total_energy", "krn", "ti", "token_reader", "max_power",
    "tamper", "power", "version", "unbalance_limit", "water_factor", "tariff_rate",
    "algorithm", "kct_count", "sgc", "ken", "drn",
)
ALL_TESTS = 0
DEFINED = (1 << len(CONTROL_BITS)) - 1
ANY_MANUFACTURER = 0


def selected(control):
    """The names a control asks for, in bit order (0: all). Bits the standard leaves
    undefined select nothing (the compliance token CTSA02 sets all 28)."""
    return [CONTROL_BITS[bit] for bit in range(len(CONTROL_BITS))
            if control == ALL_TESTS or (control >> bit) & 1]


def control_of(names):
    """The control value asking for ``names`` (none: 0, all tests)."""
    control = 0
    for name in names:
        if name not in CONTROL_BITS:
            raise TokenError("no meter test %r; the tests are: %s"
                             % (name, ", ".join(CONTROL_BITS)))
        control |= 1 << CONTROL_BITS.index(name)
    return control
