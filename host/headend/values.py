"""What the head-end reads out of a reading's values (docs/obis.md), as integers: a decimal
text becomes thousandths of its unit (no float), a hex register an int; None when absent
or malformed (the reading is still stored as sent)."""
import re

CREDIT = "0-0:19.0.0"
SUPPLY_STATE = "0-0:128.3.11"
SUPPLY_REASON = "0-0:128.3.10"
ALARM_BITS = "0-0:128.97.0"
LAST_PURCHASE = "0-0:128.40.2"
# the meter's main cumulative register: electricity, gas, water, heat, time
ENERGY = ("1-0:1.8.0", "7-0:3.0.0", "8-0:1.0.0", "6-0:1.0.0", "0-0:128.8.0")

_DECIMAL = re.compile(r"(-?)([0-9]{1,15})(?:\.([0-9]{1,9}))?\Z")
_HEX = re.compile(r"[0-9A-Fa-f]{1,8}\Z")


def milli(text):
    """'12.345' -> 12345; extra decimals are cut (these figures drive alarms, not money)."""
    m = _DECIMAL.match(text or "")
    if not m:
        return None
    value = int(m.group(2)) * 1000 + int(((m.group(3) or "") + "000")[:3])
    return -value if m.group(1) else value


def small_int(text):
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 6 else None


def hex_bits(text):
    return int(text, 16) if text and _HEX.match(text) else None


def _value(values, code):
    v = values.get(code)
    return v[0] if v else None


def summary(values):
    """The figures the head-end keeps of a reading."""
    energy = None
    for code in ENERGY:
        if code in values:
            energy = milli(_value(values, code))
            break
    return {"credit_milli": milli(_value(values, CREDIT)), "energy_milli": energy,
            "supply_state": small_int(_value(values, SUPPLY_STATE)),
            "supply_reason": small_int(_value(values, SUPPLY_REASON)),
            "alarm_bits": hex_bits(_value(values, ALARM_BITS)),
            "last_purchase_milli": milli(_value(values, LAST_PURCHASE))}
