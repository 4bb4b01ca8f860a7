"""The head-end's alarms from the event codes the firmware really logs (`<kind>.<detail>`,
firmware/lib/meter/core.py and leak.py, docs/mqtt.md): each code that should raise an
alarm raises its kind, and none of the others raises anything. Every literal code in the
firmware's ``events.add`` calls must be listed here, so a new one gets a decision."""
import os
import re

from host.headend.alarms import from_event

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RAISES = {
    "tamper.cover": "tamper", "tamper.magnet": "tamper", "tamper.tilt": "tamper",
    "tamper.reverse": "tamper",                          # reverse connection taken as tamper
    "alarm.reverse_flow": "tamper",                      # bit 15, as the readings' rule
    "supply.tamper_cover": "tamper", "supply.tamper_magnet": "tamper", "supply.tamper_tilt": "tamper",
    "supply.tamper_reverse": "tamper", "supply.magnet": "tamper", "supply.tilt": "tamper",
    "leak.no_zero_flow_hour": "leak", "leak.continuous_low_flow": "leak", "supply.leak": "leak",
    "supply.over_flow": "gas_abnormal_flow",
    "alarm.battery_low": "low_battery", "supply.low_battery": "low_battery",
}
QUIET = [
    "tamper.cleared", "leak.cleared", "leak.cleared_button", "alarm.battery_ok",
    "alarm.low1", "alarm.low2", "alarm.exhausted", "alarm.normal", "alarm.emergency",   # readings decide
    "alarm.disconnected", "supply.credit_exhausted", "supply.credit", "supply.manual_off",
    "supply.manual_on", "supply.manual_end", "supply.keep_supply", "supply.customer_confirmed",
    "supply.await_confirm", "supply.overload", "supply.friendly",
    "token.refused_tamper",                              # a token refused, not a tamper
    "token.credit", "token.result", "token.clear_credit", "token.key_change", "token.overflow",
    "credit.debt_added", "credit.debt_recovered", "credit.debt_recovered_daily", "credit.emergency_repaid",
    "clock.backwards", "clock.invalid", "clock.valid", "power.down", "power.first_start", "power.up",
    "command.retained", "command.supply", "command.forged", "fault.online_heap",
    "config.tamper", "config.leak",                      # a setting changed, not the condition
]


def test_each_firmware_event_code_raises_its_alarm_and_only_those():
    assert {code: from_event(code) for code in RAISES} == RAISES
    assert {code: from_event(code) for code in QUIET} == {code: None for code in QUIET}


def test_every_literal_code_the_firmware_logs_is_decided_here():
    pattern = re.compile(r'events\.add\([^,]+, *"([a-z_]+)", *"([a-z_]+)"')
    found = set()
    for folder, _, files in os.walk(os.path.join(ROOT, "firmware", "lib")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    found.update("%s.%s" % m for m in pattern.findall(f.read()))
    assert found, "no events.add call found: the pattern is out of date"
    known = set(RAISES) | set(QUIET)
    # codes built from a prefix (credit.emergency_<result>, load.trip_<status>, supply.manual_<mode>)
    undecided = [c for c in found if c not in known and not any(k.startswith(c) for k in known)
                 and not c.startswith(("credit.emergency_", "load."))]
    assert undecided == []
