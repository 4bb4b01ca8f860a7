"""Token type names for people (CLI, receipts); the meter does not need them."""

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

# InitiateMeterTest/Display: what each control bit (tokens.meter_tests.CONTROL_BITS) does
METER_TESTS = {
    "load_switch": "load switch test", "display": "display test",
    "total_energy": "total energy", "krn": "key revision number", "ti": "tariff index",
    "token_reader": "token reader test", "max_power": "maximum power limit",
    "tamper": "tamper status", "power": "power consumption", "version": "software version",
    "unbalance_limit": "phase power unbalance limit", "water_factor": "water meter factor",
    "tariff_rate": "tariff rate", "algorithm": "encryption algorithm",
    "kct_count": "number of key change tokens supported", "sgc": "supply group code",
    "ken": "key expiry number", "drn": "decoder reference number",
}


def describe_control(control):
    """'all tests', or the tests and read-outs a test token's control asks for."""
    from tokens.meter_tests import ALL_TESTS, DEFINED, selected
    if control == ALL_TESTS:
        return "all tests"
    parts = [METER_TESTS[name] for name in selected(control)]
    if control & ~DEFINED:
        parts.append("undefined bits 0x%x (no test)" % (control & ~DEFINED))
    return ", ".join(parts)
