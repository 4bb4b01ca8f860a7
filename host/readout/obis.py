"""What each OBIS code of a Prepay meter means, as docs/obis.md documents it (the host
learns meanings from the documented table, never from the firmware's code;
tests/test_readout_host.py keeps the two equal)."""

MEANINGS = {
    "0-0:96.1.0": "serial number",
    "0-0:96.1.1": "meter number (PAN)",
    "0-0:0.2.0": "firmware version",
    "0-0:1.0.0": "clock (YYMMDDhhmmss, local)",
    "1-0:1.8.0": "active energy import, total",
    "6-0:1.0.0": "heat energy, total",
    "7-0:3.0.0": "gas volume, total",
    "8-0:1.0.0": "water volume, total",
    "0-0:128.8.0": "supply time used, total",
    "1-0:2.8.0": "active energy export, total",
    "1-0:1.7.0": "active power import, now",
    "6-0:8.0.0": "heat power, now",
    "7-0:43.0.0": "gas flow, now",
    "8-0:2.0.0": "water flow, now",
    "1-0:1.6.0": "maximum demand this month",
    "6-0:8.6.0": "maximum heat power this month",
    "1-0:32.7.0": "voltage L1",
    "1-0:31.7.0": "current L1",
    "0-0:17.0.0": "load limit (0: none)",
    "0-0:96.14.0": "active tariff rate",
    "0-0:128.14.0": "price now, per unit",
    "0-0:96.3.10": "relay/valve: 1 connected, 0 disconnected",
    "0-0:128.3.11": "supply state: 0 off, 1 on, 2 ready, 3 limited",
    "0-0:128.3.10": "reason for the supply state",
    "0-0:19.0.0": "available credit",
    "0-0:19.10.0": "credit from tokens",
    "0-0:19.10.1": "emergency credit owed",
    "0-0:128.10.1": "emergency credit: 0 none, 1 available, 2 in use, 3 spent",
    "0-0:19.20.0": "standing charge per day",
    "0-0:19.20.1": "debt to recover",
    "0-0:128.40.0": "result code of the last token",
    "0-0:128.40.1": "time of the last token",
    "0-0:128.40.2": "credit of the last token",
    "0-0:128.97.0": "alarm bits (hex)",
    "0-0:97.97.0": "error register (hex)",
    "0-0:128.99.0": "events logged",
    "0-0:128.99.1": "optical port frames refused",
    "0-0:128.99.2": "failed tokens in a row",
    "0-0:128.10.2": "emergency credit amount",
    "0-0:128.10.3": "emergency credit threshold",
    "0-0:128.30.1": "low credit alarm level 1",
    "0-0:128.30.2": "low credit alarm level 2",
    "0-0:128.31.0": "friendly hours",
    "0-0:128.31.1": "holidays",
    "0-0:128.20.0": "tariff table in force",
    "0-0:128.20.1": "pending tariff table and its start",
    "0-0:19.40.0": "token carrier (write a token)",
    "0-0:128.50.1": "reader password (write only)",
    "0-0:128.50.2": "technician password (write only)",
    "0-0:99.98.0": "event log",
    "0-0:99.15.0": "token history",
}
RATE_OF = {"1-0:1.8.": "active energy import, rate %s", "6-0:1.0.": "heat energy, rate %s",
           "7-0:3.0.": "gas volume, rate %s", "8-0:1.0.": "water volume, rate %s",
           "0-0:128.8.": "supply time used, rate %s"}


def meaning(code):
    if code in MEANINGS:
        return MEANINGS[code]
    for prefix, text in RATE_OF.items():
        if code.startswith(prefix) and code[len(prefix):].isdigit():
            return text % code[len(prefix):]
    return ""
