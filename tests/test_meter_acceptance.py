"""Token acceptance on the meter, against tokens made by the host codec (both runtimes).

Each test is a scene at the keypad: a token typed, the IEC result the customer sees.
"""
DUAL_RUNTIME = True

from meter import civil
from meter.acceptance import TID_MEMORY, TokenAcceptor, lockout_seconds
from meter.core import Meter
from meter.store import MemoryStore
from tokens import build
from tokens.tid import tid_at

KEY = b"\x87\xf3\xec\xbb\x2e\x46\xb4\x8f"
NEW_KEY = b"\x11\x22\x33\x44\x55\x66\x77\x88"
MISTY_KEY = bytes(range(1, 17))
MICRO = 1000000
T0 = civil.seconds(2026, 11, 23, 8, 0)
TID0 = tid_at(2014, 2026, 11, 23, 8, 0)


def sts_identity(**over):
    sts = {"key": "".join("%02x" % b for b in KEY), "algorithm": "sta", "krn": 1, "kt": 2,
           "ti": 1, "ken": 255, "sgc": 201457, "manufacturer_code": 7, "mfr_digits": 2}
    for k in over:
        sts[k] = over[k]
    return sts


def meter_config(**over):
    cfg = {"utility": "electricity", "credit_mode": "unit", "imp_per_unit": 1000}
    for k in over:
        cfg[k] = over[k]
    return cfg


def provision(cfg=None, sts=None, store=None, floor=None):
    store = store or MemoryStore()
    meter = Meter(cfg or meter_config(), store, T0)
    acceptor = TokenAcceptor(meter, store, sts or sts_identity(), T0,
                             TID0 - 24 * 60 if floor is None else floor)
    return meter, acceptor, store


def reboot(store, cfg=None, sts=None, now=T0):
    meter = Meter(cfg or meter_config(), store, now)
    return meter, TokenAcceptor(meter, store, sts or sts_identity(), now)


def credit(tid, tenths=100, key=KEY, utility="electricity", algorithm="sta"):
    return build.credit_token(key, algorithm, utility, tid, tenths).digits


def test_accept_adds_credit_and_replay_is_used():
    meter, acc, _ = provision()
    outcome = acc.enter(T0, credit(TID0, 255))
    assert outcome.result == "Accept" and outcome.code == 1 and outcome.amount == 255
    assert meter.balance_micro() == 25500000 == outcome.credit_micro
    assert acc.enter(T0 + 5, credit(TID0, 255)).result == "Used"
    assert meter.balance_micro() == 25500000


def test_tokens_older_than_the_memory_are_old():
    meter, acc, _ = provision()
    for i in range(TID_MEMORY + 1):
        assert acc.enter(T0 + i, credit(TID0 + i, 1)).result == "Accept"
    assert acc.enter(T0 + 99, credit(TID0, 1)).result == "Old"          # dropped: now Old
    assert acc.enter(T0 + 99, credit(TID0 + 1, 1)).result == "Used"     # still remembered
    assert acc.enter(T0 + 99, credit(TID0 - 2 * 24 * 60, 1)).result == "Old"  # before provisioning
    assert meter.balance_micro() == (TID_MEMORY + 1) * 100000


def test_tokens_may_arrive_out_of_order_within_the_memory():
    meter, acc, _ = provision()
    assert acc.enter(T0, credit(TID0 + 10)).result == "Accept"
    assert acc.enter(T0, credit(TID0 + 5)).result == "Accept"
    assert meter.balance_micro() == 20 * MICRO


def test_every_failure_result():
    meter, acc, _ = provision(sts=sts_identity(ken=0))
    assert acc.enter(T0, "1234").result == "Format"
    assert acc.enter(T0, "99999999999999999999").result == "Format"      # >= 2^66
    assert acc.enter(T0, credit(TID0, key=NEW_KEY)).result == "CRC"      # another meter's
    meter, acc, _ = provision(sts=sts_identity(ken=0))
    assert acc.enter(T0, credit(TID0)).result == "Key expired"            # TID >> 16 > KEN 0
    meter, acc, _ = provision()
    assert acc.enter(T0, credit(TID0, utility="water")).result == "Function"
    currency = build.currency_token(KEY, "sta", "electricity", TID0, 100000).digits
    assert acc.enter(T0, currency).result == "Function"                   # unit-credit meter
    assert acc.enter(T0, build.set_tariff_rate(KEY, "sta", TID0 + 1, 0).digits).result == "Range"
    assert acc.enter(T0, build.clear_credit(KEY, "sta", TID0 + 2, 3).digits).result == "Range"
    assert acc.enter(T0, build.test_token(1, 8).digits).result == "Mfr code"
    meter, acc, _ = provision(sts=sts_identity(kt=1))
    assert acc.enter(T0, credit(TID0)).result == "DDTK"
    assert meter.balance_micro() == 0


def test_overflow_refuses_and_keeps_the_token_unused():
    cfg = meter_config(credit={"max_micro": 50 * MICRO})
    meter, acc, _ = provision(cfg=cfg)
    assert acc.enter(T0, credit(TID0, 400)).result == "Accept"
    assert acc.enter(T0, credit(TID0 + 1, 200)).result == "Overflow"
    assert meter.balance_micro() == 40 * MICRO
    meter.sample(T0 + 3600, 15 * MICRO // 1000 * 1000)                    # use 15 kWh
    assert acc.enter(T0 + 3601, credit(TID0 + 1, 200)).result == "Accept"


def test_tamper_policy_refuses_credit_until_clear_tamper_token():
    meter, acc, _ = provision()
    meter.tamper(T0, "cover")
    assert acc.enter(T0 + 1, credit(TID0)).result == "Tamper"
    assert acc.enter(T0 + 2, build.clear_tamper(KEY, "sta", TID0 + 1).digits).result == "Accept"
    assert acc.enter(T0 + 3, credit(TID0)).result == "Accept"


def test_management_tokens_take_effect():
    meter, acc, _ = provision()
    assert acc.enter(T0, credit(TID0, 500)).result == "Accept"
    assert acc.enter(T0, build.set_max_power_limit(KEY, "sta", TID0 + 1, 3000).digits).result == "Accept"
    assert meter.cfg["supply"]["load_limit"]["limit_w"] == 3000
    assert acc.enter(T0, build.set_phase_unbalance_limit(KEY, "sta", TID0 + 2, 800).digits).result == "Accept"
    assert meter.cfg["supply"]["unbalance"]["limit_w"] == 800
    assert acc.enter(T0, build.set_tariff_rate(KEY, "sta", TID0 + 3, 250).digits).result == "Accept"
    assert meter.cfg["tariff"]["active"]["prices"][0] == 250 * 1000
    assert acc.enter(T0, build.clear_credit(KEY, "sta", TID0 + 4, 0).digits).result == "Accept"
    assert meter.balance_micro() == 0
    factor = build.set_water_meter_factor(KEY, "sta", TID0 + 5, 990).digits
    assert acc.enter(T0, factor).result == "Function"                     # not a water meter
    wmeter, wacc, _ = provision(cfg=meter_config(utility="water", ml_per_pulse=1000,
                                                 imp_per_unit=None))
    assert wacc.enter(T0, factor).result == "Accept"
    assert wmeter.cfg["water_factor_permille"] == 990


def test_lockout_doubles_and_lets_class1_through_and_survives_power_cut():
    assert [lockout_seconds(n) for n in (1, 2, 3, 4, 5, 10, 11, 30)] == \
        [0, 0, 10, 20, 40, 1280, 1280, 1280]
    meter, acc, store = provision()
    wrong = credit(TID0, key=NEW_KEY)
    assert [acc.enter(T0, wrong).result for _ in range(3)] == ["CRC", "CRC", "CRC"]
    assert acc.lockout_s(T0) == 10
    assert acc.enter(T0 + 5, credit(TID0)).result == "Token lockout"
    test = acc.enter(T0 + 5, build.test_token(1 << 3, 7).digits)          # class 1: show KRN
    assert test.result == "Accept" and test.actions == [("show", "KRN", 1, "")]
    meter, acc = reboot(store, now=T0 + 6)                                 # pull the plug
    assert acc.lockout_s(T0 + 6) == 4
    assert acc.enter(T0 + 6, credit(TID0)).result == "Token lockout"
    assert acc.enter(T0 + 11, wrong).result == "CRC"                       # 4th failure: 20 s
    assert acc.lockout_s(T0 + 11) == 20
    outcome = acc.enter(T0 + 31, credit(TID0))
    assert outcome.result == "Accept" and outcome.failures == 0 and outcome.lockout_s == 0


def test_key_change_in_either_order_then_credit_with_new_key():
    for order in ((0, 1), (1, 0)):
        meter, acc, _ = provision()
        kcts = build.key_change(KEY, "sta", NEW_KEY, 2, 2, 3)
        first = acc.enter(T0, kcts[order[0]].digits).result
        assert first == ("1stKCT" if order[0] == 0 else "2ndKCT")
        assert acc.enter(T0 + 60, kcts[order[1]].digits).result == "Accept"
        assert acc.rec["krn"] == 2 and acc.rec["ti"] == 3
        assert acc.enter(T0 + 61, credit(TID0, key=NEW_KEY)).result == "Accept"
        assert acc.enter(T0 + 62, credit(TID0 + 1)).result == "CRC"      # old key is gone


def test_key_change_parts_time_out_after_ten_minutes():
    meter, acc, _ = provision()
    kcts = build.key_change(KEY, "sta", NEW_KEY, 2, 2, 3)
    assert acc.enter(T0, kcts[0].digits).result == "1stKCT"
    assert acc.enter(T0 + 601, kcts[1].digits).result == "2ndKCT"         # first part expired
    assert acc.enter(T0 + 700, kcts[0].digits).result == "Accept"


def test_three_and_four_token_sets_and_key_type_rules():
    meter, acc, _ = provision()
    kcts = build.key_change(KEY, "sta", NEW_KEY, 3, 2, 1, sgc=123456)
    assert [acc.enter(T0, t.digits).result for t in kcts] == ["1stKCT", "2ndKCT", "Accept"]
    assert acc.rec["sgc"] == 123456
    bad = build.key_change(NEW_KEY, "sta", KEY, 4, 1, 1)                   # unique -> default
    assert acc.enter(T0, bad[0].digits).result == "Key type"
    meter, acc, _ = provision(sts=sts_identity(algorithm="misty1",
                                               key="".join("%02x" % b for b in MISTY_KEY)))
    new = bytes(range(100, 116))
    kcts = build.key_change(MISTY_KEY, "misty1", new, 2, 2, 2, sgc=201457)
    results = [acc.enter(T0, t.digits).result for t in reversed(kcts)]
    assert results == ["2ndKCT", "2ndKCT", "2ndKCT", "Accept"]
    assert acc.enter(T0, credit(TID0, key=new, algorithm="misty1")).result == "Accept"


def test_rollover_key_change_clears_tid_memory_and_keeps_credit():
    """A 1993-base meter moved to 2014 keys: TIDs restart, the credit stays."""
    floor = tid_at(1993, 2024, 1, 1, 0, 0)
    meter, acc, _ = provision(floor=floor)
    old_tid = tid_at(1993, 2024, 6, 1, 12, 0)
    assert acc.enter(T0, credit(old_tid, 300)).result == "Accept"
    kcts = build.key_change(KEY, "sta", NEW_KEY, 2, 2, 1, rollover=True)
    assert [acc.enter(T0, t.digits).result for t in kcts] == ["1stKCT", "Accept"]
    assert acc.rec["tids"] == [] and acc.rec["floor"] == 0
    new_tid = tid_at(2014, 2026, 11, 23, 8, 0)          # far smaller than the 1993-base TIDs
    assert acc.enter(T0, credit(new_tid, 100, key=NEW_KEY)).result == "Accept"
    assert meter.balance_micro() == 40 * MICRO


def test_history_keeps_the_last_ten():
    meter, acc, _ = provision()
    for i in range(12):
        acc.enter(T0 + i, credit(TID0 + i, 10 + i))
    acc.enter(T0 + 20, "1234")
    history = acc.history()
    assert len(history) == 10
    assert history[0][1] == "Format" and history[1][4] == 21 and history[1][0] == T0 + 11


class CutStore(MemoryStore):
    """A store whose power fails at the n-th save: that save does not happen."""

    def __init__(self, cut_at):
        MemoryStore.__init__(self)
        self.cut_at = cut_at
        self.count = 0

    def save(self, name, record):
        self.count += 1
        if self.count == self.cut_at:
            raise OSError(5)
        MemoryStore.save(self, name, record)


def test_power_cut_at_any_save_applies_a_token_exactly_once():
    token = credit(TID0, 250)
    cut_at = 1
    while True:
        store = CutStore(10 ** 6)
        meter, acc, _ = provision(store=store)
        store.count, store.cut_at = 0, cut_at
        try:
            acc.enter(T0 + 10, token)
            finished = True
        except OSError:
            finished = False
        store.cut_at = 10 ** 6
        meter, acc = reboot(store, now=T0 + 20)                  # power back
        applied = meter.balance_micro() == 25 * MICRO
        assert meter.balance_micro() in (0, 25 * MICRO)
        assert applied == (TID0 in acc.rec["tids"])              # credit iff TID remembered
        again = acc.enter(T0 + 30, token).result                 # the customer retries
        assert again == ("Used" if applied else "Accept")
        assert meter.balance_micro() == 25 * MICRO
        if finished:
            break
        cut_at += 1
    assert cut_at >= 3
