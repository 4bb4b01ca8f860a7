"""InitiateMeterTest/Display on this meter: what a class 1 token's control asks for
(``tokens.meter_tests``, IEC 62055-41's bit assignment), read from this meter.

``actions`` turns the control into steps, in bit order: ``("test", name)`` for the load
switch, display and token reader tests, ``("show", label, value, unit)`` for a read-out,
``unit`` being "milli<unit>" (a register), "credit" (credit micro), "permille", "W",
"L/h" or "" (shown as it is). Control 0 (all) leaves out read-outs that do not apply
here (water meter factor off water meters, phase unbalance off electricity); asked for
by its own bit, such a read-out shows "n/a".
"""
from meter.tariff import block_step
from tokens.meter_tests import ALL_TESTS, ANY_MANUFACTURER, selected

FIRMWARE_VERSION = "0.1.0"
TESTS = ("load_switch", "display", "token_reader")
LABELS = {"total_energy": "Total", "krn": "KRN", "ti": "TI", "max_power": "Power limit",
          "tamper": "Tamper", "power": "Power", "version": "Version",
          "unbalance_limit": "Unbalance", "water_factor": "Water factor",
          "tariff_rate": "Rate", "algorithm": "Algorithm", "kct_count": "KCTs",
          "sgc": "SGC", "ken": "KEN", "drn": "DRN"}
UNITS = {"water": "m3", "gas": "m3", "time": "min"}     # others: kWh


def addressed(code, own):
    """A test token with manufacturer code 0 is for every meter, any other for its maker's."""
    return code == ANY_MANUFACTURER or code == own


def applies(name, utility):
    if name == "water_factor":
        return utility == "water"
    if name == "unbalance_limit":
        return utility == "electricity"
    return True


def actions(control, meter, key, drn=None):
    """The steps for ``control`` on ``meter``; ``key`` has the decoder key's identity
    (algorithm, krn, ti, ken, sgc), ``drn`` is the meter's number (None: unknown)."""
    utility = meter.cfg["utility"]
    out = []
    for name in selected(control):
        if name in TESTS:
            out.append(("test", name))
        elif applies(name, utility):
            out.append(("show", LABELS[name]) + _reading(name, meter, key, drn))
        elif control != ALL_TESTS:
            out.append(("show", LABELS[name], "n/a", ""))
    return out


def _reading(name, meter, key, drn):
    """(value, unit) of one read-out."""
    cfg = meter.cfg
    unit = UNITS.get(cfg["utility"], "kWh")
    flow = unit == "m3"
    if name == "total_energy":
        return meter.totals()["import_milli"], "milli" + unit
    if name in ("krn", "ti", "ken"):
        return key[name], ""
    if name == "sgc":
        return "%06d" % key["sgc"], ""
    if name == "algorithm":
        return "EA11" if key["algorithm"] == "misty1" else "EA07", ""
    if name == "kct_count":
        return "4" if key["algorithm"] == "misty1" else "2/3", ""
    if name in ("max_power", "unbalance_limit"):
        limit = cfg["supply"]["load_limit" if name == "max_power" else "unbalance"]["limit_w"]
        return (limit, "L/h" if flow else "W") if limit else ("off", "")
    if name == "power":
        return meter.reg["power"], "L/h" if flow else "W"
    if name == "tamper":
        kinds = meter.sup["tampers"]
        if not kinds:
            return "none", ""
        return kinds[0] + (" +%d" % (len(kinds) - 1) if len(kinds) > 1 else ""), ""
    if name == "water_factor":
        return cfg["water_factor_permille"], "permille"
    if name == "tariff_rate":
        rate = meter.rate
        if rate.blocks is not None:             # the step this month's use has reached
            return rate.blocks[block_step(rate.blocks, meter.reg["month"])[0]][1], "credit"
        return rate.price, "credit"
    if name == "version":
        return FIRMWARE_VERSION, ""
    return drn or "n/a", ""         # drn
