"""docs/obis.md, the firmware's table and the host's meanings say the same codes."""
import os
import re

from host.readout import obis as host_obis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def documented():
    text = open(os.path.join(ROOT, "docs", "obis.md")).read()
    return set(re.findall(r"^\| `([0-9]+-[0-9]+:[0-9.]+)`", text, re.M))


def test_every_code_is_documented_and_has_a_meaning():
    import sys
    sys.path.insert(0, os.path.join(ROOT, "firmware", "lib"))
    from obis import registers, settings
    firmware = {row[1] for row in registers.HEAD + registers.TAIL}
    for row in registers.MEDIUM_ROWS:
        firmware |= {c for c in row[1:] if c}
    firmware |= {row[0] for row in settings.SETTINGS} | set(settings.PASSWORDS)
    firmware |= {settings.CLOCK, settings.TOKEN, settings.PENDING_TARIFF,
                 registers.EVENT_LOG, registers.TOKEN_LOG}
    docs = documented()
    assert firmware <= docs, firmware - docs
    assert all(host_obis.meaning(c) for c in docs), [c for c in docs if not host_obis.meaning(c)]
    assert host_obis.meaning("1-0:1.8.2") == "active energy import, rate 2"
