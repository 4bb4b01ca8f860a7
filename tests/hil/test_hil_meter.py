"""Hardware in the loop: one suite for the simulated meter and a real ESP32 (README.md
here). Observations a technician's reader can make are read over the optical port on
both; a step the rig cannot drive is skipped with its reason (``need``)."""
import datetime
import json

import pytest

from host.readout import jobs
from rig import KEY, TECHNICIAN, BoardRig
from tokens import build
from tokens.tid import tid_at

ALARM_LOW1, ALARM_LOCKOUT = 1 << 0, 1 << 9
ACCEPT = "1"                            # 0-0:128.40.0, the last token's result code
IR_TIMEOUT_S = 30                       # a meter's answer: late on a loaded machine, never lost


class Tokens:
    """Credit tokens for the suite's meter with TIDs that only go up: minutes before the
    simulated meter's start, or before now on a real board (its TID memory remembers)."""

    def __init__(self, rig):
        t = datetime.datetime(2026, 11, 23, 7, 0) if not isinstance(rig, BoardRig) \
            else datetime.datetime.now() - datetime.timedelta(minutes=30)
        self.tid = tid_at(2014, t.year, t.month, t.day, t.hour, t.minute)
        self.bought_micro = 0           # what the tokens made here carry (rounded up)

    def credit(self, amount_cents):
        self.tid += 1
        token = build.currency_token(bytes.fromhex(KEY), "sta", "electricity", self.tid,
                                     amount_cents * 1000)
        self.bought_micro += token.value * 10           # value: 10^-5 of the currency
        return token.digits


@pytest.fixture
def tokens(rig):
    return Tokens(rig)


def read(rig, *codes):
    """The readout over IR as {obis: value}; ``codes``: those values only."""
    with rig.optical() as port:
        values = {r["obis"]: r["value"] for r in jobs.readout(port, timeout=IR_TIMEOUT_S)}
    return [values.get(c) for c in codes] if codes else values


def cents(value):
    whole, _, frac = value.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int(frac or 0))


def test_identity_and_firmware_hash(rig, need):
    ident = need(rig.identity)
    values = read(rig)
    assert (ident["serial"], ident["pan"]) == (values["0-0:96.1.0"], values["0-0:96.1.1"])
    assert values["0-0:0.2.0"]
    assert ident["firmware_hash"] == need(rig.expected_firmware_hash)


def test_readout_over_ir(rig):
    values = read(rig)
    for code in ("0-0:96.1.0", "0-0:0.2.0", "0-0:1.0.0", "1-0:1.8.0", "0-0:19.0.0",
                 "0-0:96.3.10", "0-0:128.97.0", "0-0:96.14.0"):
        assert values.get(code), code
    assert KEY not in repr(values)


def test_a_token_typed_on_the_keypad(rig, need, tokens):
    before = cents(read(rig, "0-0:19.0.0")[0])
    need(rig.keys, tokens.credit(2500) + "#")
    credit, result = read(rig, "0-0:19.0.0", "0-0:128.40.0")
    assert result == ACCEPT and cents(credit) - before >= 2500


def test_a_token_sent_over_ir_credits_once(rig, tokens):
    before = cents(read(rig, "0-0:19.0.0")[0])
    digits = tokens.credit(4000)
    with rig.optical() as port:
        assert jobs.send_token(port, TECHNICIAN, digits, timeout=IR_TIMEOUT_S) == (True, "Accept")
        assert jobs.send_token(port, TECHNICIAN, digits, timeout=IR_TIMEOUT_S) == (False, "Used")
    assert cents(read(rig, "0-0:19.0.0")[0]) - before >= 4000


def test_supply_switches_with_credit_under_load(rig, need, tokens):
    with rig.optical() as port:
        jobs.send_token(port, TECHNICIAN, tokens.credit(3000), timeout=IR_TIMEOUT_S)   # 30.00 + EC
    need(rig.set_load, 2000)
    need(rig.advance, 60)
    assert read(rig, "0-0:96.3.10", "1-0:1.7.0") == ["1", "2.000"]
    need(rig.advance, 3 * 3600)         # 2 kW at 20.00 a kWh: 30.00 and emergency gone
    output, credit = read(rig, "0-0:96.3.10", "0-0:19.0.0")
    assert output == "0" and cents(credit) <= 0
    with rig.optical() as port:
        jobs.send_token(port, TECHNICIAN, tokens.credit(20000), timeout=IR_TIMEOUT_S)
    need(rig.advance, 60)
    assert read(rig, "0-0:96.3.10")[0] == "1"


def test_the_low_credit_alarm(rig, need, tokens):
    with rig.optical() as port:
        jobs.send_token(port, TECHNICIAN, tokens.credit(15000), timeout=IR_TIMEOUT_S)
    assert int(read(rig, "0-0:128.97.0")[0], 16) & ALARM_LOW1 == 0
    need(rig.set_load, 2000)
    need(rig.advance, 90 * 60)          # 150.00 - 60.00 < 100.00: low1
    assert int(read(rig, "0-0:128.97.0")[0], 16) & ALARM_LOW1


def test_a_power_cut_keeps_the_books(rig, need, tokens):
    """bought = left + used, to the unit of money (micro), before and after the cut."""
    with rig.optical() as port:
        jobs.send_token(port, TECHNICIAN, tokens.credit(50000), timeout=IR_TIMEOUT_S)
    need(rig.set_load, 1500)
    need(rig.advance, 2 * 3600 + 17)
    before = need(rig.status)
    need(rig.power_cut)
    need(rig.advance, 600)              # the meter is off: no use
    need(rig.power_on)
    after = need(rig.status)
    for s in (before, after):
        b = s["books"]
        used = b["energy"] + b["standing"] + b["debt_paid"] + b["ec_repaid"] - b["ec_given"]
        assert b["purchased"] == b["balance"] + used + b["cleared"], b
    assert before["books"]["purchased"] == after["books"]["purchased"] == tokens.bought_micro
    # a sudden cut loses at most one save quantum of use (50 Wh) and its cost with it
    lost_milli = before["import_milli"] - after["import_milli"]
    assert 0 <= lost_milli <= 50
    assert 0 <= after["credit_micro"] - before["credit_micro"] <= lost_milli * 30 * 1000


def test_a_clock_jump_across_a_tou_boundary(rig):
    """Weekdays: rate 1 from 06:00, rate 2 from 17:00 (the TOU example)."""
    with rig.optical() as port:
        jobs.set_clock(port, TECHNICIAN, "2026-11-24T16:59:00", timeout=IR_TIMEOUT_S)
    assert read(rig, "0-0:96.14.0")[0] == "0001"
    with rig.optical() as port:
        jobs.set_clock(port, TECHNICIAN, "2026-11-24T17:00:30", timeout=IR_TIMEOUT_S)
    assert read(rig, "0-0:96.14.0")[0] == "0002"


def test_the_keypad_lockout(rig, need, tokens):
    """Tokens that fail to decode lock the keypad from the 3rd (10 s, doubling)."""
    other_meters = build.currency_token(b"\x11\x22\x33\x44\x55\x66\x77\x88", "sta",
                                        "electricity", tokens.tid, 100000).digits   # CRC
    for _ in range(4):
        need(rig.keys, other_meters + "#")
    assert int(read(rig, "0-0:128.97.0")[0], 16) & ALARM_LOCKOUT
    need(rig.keys, tokens.credit(1000) + "#")          # a good one, refused while locked
    assert read(rig, "0-0:128.40.0")[0] == "15"         # Token lockout


def test_provisioning_from_blank(rig, tmp_path):
    """A blank board (the simulator's --blank) to a commissioned meter with prepay
    provision meter, then identity and firmware hash over its console and a readout
    over IR, as test_identity_and_firmware_hash asks of a meter."""
    if isinstance(rig, BoardRig):
        pytest.skip("board rig: provisioning from blank overwrites the board on the bench "
                    "and needs a vending station; run prepay provision meter by hand "
                    "(tests/hil/README.md), then this suite")
    from tests.console_board import BenchBoard
    from tests.provisioning_station import PAN, Station, model_config
    station = Station(tmp_path)
    board = BenchBoard(tmp_path, "blank").start()
    try:
        station.setup()
        done = station.provision(board, model_config(tmp_path))
        report_line = done.stdout.strip().splitlines()[-1]
        assert report_line.startswith("meter %s commissioned" % PAN)
        blank = BoardRig(board.console, board.ir)
        ident = blank.identity()
        assert ident["pan"] == PAN and ident["secrets_in_file"] == [] and ident["tid_memory"]
        values = read(blank)
        assert (values["0-0:96.1.0"], values["0-0:96.1.1"]) == (ident["serial"], PAN)
        record = json.loads(station.run("vend", "meter", "show", "--meter", PAN,
                                        "--json").stdout)["commissioning"]
        assert record["firmware_hash"] == ident["firmware_hash"]
    finally:
        board.stop()
        station.stop()
