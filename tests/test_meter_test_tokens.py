"""Class 1 test tokens (InitiateMeterTest/Display) on the meter, in both runtimes.

Issue 11 item 2: manufacturer code 0 addresses every STS meter (utilities print such
tokens in user guides, e.g. Prepay's README ``0000 0000 0001 5099 7584``), the control
bits follow IEC 62055-41's assignment, and control 0 runs every test. Here: who may
send them, what each bit reads on this meter, and how the face runs the steps with the
load switch test (``meter.testface``).
"""
DUAL_RUNTIME = True

from meter import civil
from meter.acceptance import TokenAcceptor
from meter.core import Meter
from meter.display import TEST_S, Display
from meter.store import MemoryStore
from meter.testface import SWITCH_GIVE_UP_S, SWITCH_TEST_S, MeterTest
from meter.testtoken import FIRMWARE_VERSION
from tokens import build
from tokens.meter_tests import CONTROL_BITS, control_of
from tokens.tid import tid_at

T0 = civil.seconds(2026, 11, 23, 8, 0)
TID0 = tid_at(2014, 2026, 11, 23, 8, 0)
KEY = b"\x87\xf3\xec\xbb\x2e\x46\xb4\x8f"
README_TOKEN = "00000000000150997584"        # control 0x1 (load switch), manufacturer 00
CTSA02_TOKEN = "02305843005052951967"        # compliance: 4-digit code 0000, all 28 bits
DRN = "00000000000"


def provision(mfr=7, digits=2, utility="electricity", **cfg):
    config = {"utility": utility, "credit_mode": "unit"}
    if utility in ("water", "gas"):
        config["ml_per_pulse"] = 1000
    else:
        config["imp_per_unit"] = 1000
    for k in cfg:
        config[k] = cfg[k]
    sts = {"key": "87f3ecbb2e46b48f", "algorithm": "sta", "krn": 1, "kt": 2, "ti": 1,
           "ken": 255, "sgc": 201457, "manufacturer_code": mfr, "mfr_digits": digits}
    store = MemoryStore()
    meter = Meter(config, store, T0)
    return meter, TokenAcceptor(meter, store, sts, T0, TID0 - 1440, drn=DRN)


def class1(names, mfr=0, digits=2):
    return build.test_token(control_of(names), mfr, digits).digits


def test_manufacturer_code_0_reaches_every_meter_and_others_only_their_own():
    for mfr, digits in ((7, 2), (1234, 4), (0, 2)):
        meter, acc = provision(mfr, digits)
        outcome = acc.enter(T0, README_TOKEN)
        assert outcome.result == "Accept", (mfr, outcome.result)
        assert outcome.actions == [("test", "load_switch")]
        everything = acc.enter(T0, CTSA02_TOKEN)             # undefined bits 18..27 ignored
        assert everything.result == "Accept"
        assert [a[1] for a in everything.actions] == \
            ["load_switch", "display"] + [a[1] for a in everything.actions][2:]
        assert len(everything.actions) == len(CONTROL_BITS)
    meter, acc = provision(7, 2)
    assert acc.enter(T0, class1(["krn"], 7)).result == "Accept"           # its own
    assert acc.enter(T0, class1(["krn"], 7, digits=4)).result == "Accept"  # 0007
    assert acc.enter(T0, class1(["krn"], 8)).result == "Mfr code"
    assert acc.enter(T0, class1(["krn"], 70, digits=4)).result == "Mfr code"
    assert acc.enter(T0, build.test_token(1 << 20).digits).result == "Function"
    assert acc.enter(T0, build.test_token(1 << 20 | 1 << 3).digits).actions == \
        [("show", "KRN", 1, "")]
    assert acc.enter(T0, build.extended_read(0).digits).result == "Function"


def test_each_control_bit_reads_what_the_standard_assigns_it():
    meter, acc = provision()
    meter.sample(T0 + 3600, 1234567000, 0, 2500)          # 1234.567 kWh at 2.5 kW
    meter.set_max_power(T0 + 3600, 5000)
    meter.tamper(T0 + 3600, "cover")
    expected = {
        "load_switch": ("test", "load_switch"),
        "display": ("test", "display"),
        "total_energy": ("show", "Total", 1234567, "millikWh"),
        "krn": ("show", "KRN", 1, ""),
        "ti": ("show", "TI", 1, ""),
        "token_reader": ("test", "token_reader"),
        "max_power": ("show", "Power limit", 5000, "W"),
        "tamper": ("show", "Tamper", "cover", ""),
        "power": ("show", "Power", 2500, "W"),
        "version": ("show", "Version", FIRMWARE_VERSION, ""),
        "unbalance_limit": ("show", "Unbalance", "off", ""),
        "water_factor": ("show", "Water factor", "n/a", ""),   # not a water meter
        "tariff_rate": ("show", "Rate", 1000000, "credit"),
        "algorithm": ("show", "Algorithm", "EA07", ""),
        "kct_count": ("show", "KCTs", "2/3", ""),
        "sgc": ("show", "SGC", "201457", ""),
        "ken": ("show", "KEN", 255, ""),
        "drn": ("show", "DRN", DRN, ""),
    }
    assert sorted(expected) == sorted(CONTROL_BITS)
    for bit, name in enumerate(CONTROL_BITS):
        outcome = acc.enter(T0 + 3601, build.test_token(1 << bit).digits)
        assert outcome.result == "Accept" and outcome.actions == [expected[name]], name
    assert control_of(["version"]) == 0x200 and control_of(["max_power"]) == 0x40


def test_control_0_runs_every_test_that_applies_in_bit_order():
    meter, acc = provision()
    names = [a[1] for a in acc.enter(T0, build.test_token(0).digits).actions]
    assert len(names) == len(CONTROL_BITS) - 1
    assert "Water factor" not in names and names[:2] == ["load_switch", "display"]
    meter, acc = provision(utility="water", water_factor_permille=990)
    steps = acc.enter(T0, build.test_token(0).digits).actions
    assert ("show", "Water factor", 990, "permille") in steps
    assert ("show", "Power", 0, "L/h") in steps
    assert "Unbalance" not in [a[1] for a in steps] and len(steps) == len(CONTROL_BITS) - 1
    assert acc.enter(T0, class1(["unbalance_limit"])).actions == \
        [("show", "Unbalance", "n/a", "")]


def screens(display, start, end):
    """Line 1 of every screen the display shows from start to end, once each."""
    seen = []
    for t in range(start, end):
        line = display.render(t)[0].strip()
        if not seen or seen[-1] != line:
            seen.append(line)
    return seen


def test_the_face_runs_control_0_in_sequence_with_the_load_switch_test():
    meter, acc = provision()
    display = Display()
    face = MeterTest(display, lambda micro: "%d" % (micro // 1000000))
    steps = acc.enter(T0, build.test_token(0).digits).actions
    face.start(T0, steps, True)
    assert display.render(T0)[0] == "#" * 16 and display.render(T0)[2]["tamper"]
    shown = screens(display, T0, T0 + 100)
    assert shown[:7] == ["#" * 16, "0123456789ABCDEF", "Load switch", "Total     0.0kWh",
                         "KRN            1", "TI             1", "Token reader"]
    assert shown[-2:] == ["DRN  00000000000", "Credit"]
    read_outs = len(CONTROL_BITS) - 3 - 1              # not the tests, not the water factor
    assert len(shown) == 2 + 2 + read_outs + 1         # pattern, 2 tests, read-outs, default
    # the relay: closed until the load switch screen, open SWITCH_TEST_S, closed again
    due = T0 + TEST_S
    assert face.busy and face.supply_target(due - 1, "on", "on") == "on"
    assert face.supply_target(due, "on", "on") == "off"
    assert face.supply_target(due + 1, "on", "moving") == "off"
    assert face.supply_target(due + 2, "on", "off") == "off"        # opened at due + 2
    assert face.supply_target(due + 2 + SWITCH_TEST_S - 1, "on", "off") == "off"
    assert face.supply_target(due + 2 + SWITCH_TEST_S, "on", "off") == "on"
    assert not face.busy and face.supply_target(due + 30, "on", "on") == "on"


def test_the_load_switch_test_never_connects_a_supply_held_off():
    display = Display()
    face = MeterTest(display, str)
    face.start(T0, [("test", "load_switch")], False)
    assert display.render(T0)[0].strip() == "Accept"
    assert display.render(T0 + 4)[:2] == ("Load switch     ", "supply held off ")
    assert not face.busy
    for t in range(T0, T0 + 20):
        assert face.supply_target(t, "off", "off") == "off"
    # on when typed, then the core switches off (credit gone) during the test
    face.start(T0, [("test", "load_switch")], True)
    assert face.supply_target(T0 + 3, "on", "on") == "off"
    assert face.supply_target(T0 + 4, "off", "off") == "off" and not face.busy
    # a switch that never opens is left to the core after SWITCH_GIVE_UP_S
    face.start(T0, [("test", "load_switch")], True)
    assert face.supply_target(T0 + 3, "on", "on") == "off"
    assert face.supply_target(T0 + 3 + SWITCH_GIVE_UP_S, "on", "on") == "on"
    # a key pressed before its turn drops it
    face.start(T0, [("test", "load_switch")], True)
    face.stop()
    assert not face.busy and face.supply_target(T0 + 3, "on", "on") == "on"


def test_read_outs_fit_the_line_or_take_two():
    display = Display()
    face = MeterTest(display, lambda micro: "KES %d.00" % (micro // 1000000))
    face.start(T0, [("show", "Rate", 20000000, "credit"), ("show", "Water factor", 990,
                                                          "permille"),
                    ("show", "Tamper", "magnet +2", "")], True)
    assert [display.render(T0 + t)[:2] for t in (3, 7, 11)] == [
        ("Rate   KES 20.00", "                "),
        ("Water factor    ", "0.990           "),
        ("Tamper magnet +2", "                "),
    ]
