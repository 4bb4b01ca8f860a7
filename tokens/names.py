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
