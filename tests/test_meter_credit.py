"""Credit as the utility's rules say: top-ups repay what is owed first, overflow is
refused, emergency credit is taken and repaid, standing charge and debt are taken per
day, low-credit alarms fire by amount, % of purchase and days remaining, and a top-up is
saved before it is acknowledged."""
from dualrt import raises
from meter import credit as creditmod
from meter.core import Meter
from test_meter_kit import UNIT, LogStore, at, electricity, new_meter, run_power

DUAL_RUNTIME = True

START = at(2025, 3, 10)


def test_topup_is_saved_before_it_is_acknowledged():
    m, store = new_meter(electricity(), START)
    saves_before = store.count("meter")
    assert m.add_currency_credit(START + 10, 2000000) == "accepted"   # 20.00000 units
    # by the time 'accepted' came back, the store already held the new balance
    assert store.count("meter") > saves_before
    assert store.load("meter")["credit"]["bal"] == 20 * UNIT
    assert store.load("meter")["credit"]["topups"] == 1
    # a meter rebuilt from the store (power cut right after the ack) has the credit
    again = Meter(electricity(), store, START + 11)
    assert again.balance_micro() == 20 * UNIT


def test_topup_not_saved_is_not_applied():
    m, store = new_meter(electricity(), START, credit_micro=5 * UNIT)
    store.fail_next = True
    raises(OSError, m.topup, START + 10, 10 * UNIT)
    assert m.balance_micro() == 5 * UNIT
    assert store.load("meter")["credit"]["bal"] == 5 * UNIT
    assert m.topup(START + 20, 10 * UNIT) == "accepted"
    assert m.balance_micro() == 15 * UNIT


def test_unit_and_currency_tokens_in_their_resolution():
    m, _ = new_meter(electricity(credit_mode="unit", tariff={}), START)   # 1:1
    assert m.add_unit_credit(START, 125) == "accepted"        # 12.5 kWh
    assert m.balance_micro() == 12500000
    assert m.add_currency_credit(START, 100) == "wrong_mode"
    m.sample(START + 3600, 1000 * 1000)                        # 1 kWh at 1:1
    assert m.balance_micro() == 11500000
    c, _ = new_meter(electricity(), START)
    assert c.add_currency_credit(START, 100004) == "accepted"  # STS 1.00004
    assert c.balance_micro() == 1000040
    assert c.add_currency_credit(START, -99994) == "accepted"  # a negative token
    assert c.balance_micro() == 100


def test_max_credit_limit_refuses_overflow():
    cfg = electricity(credit={"max_micro": 100 * UNIT})
    m, _ = new_meter(cfg, START, credit_micro=80 * UNIT)
    assert m.topup(START + 1, 30 * UNIT) == "overflow"
    assert m.balance_micro() == 80 * UNIT
    assert m.totals()["topups"] == 1
    assert m.topup(START + 2, 20 * UNIT) == "accepted"
    assert m.events.find("token", "overflow")


def test_emergency_credit_taken_and_repaid_from_next_topup():
    cfg = electricity(credit={"emergency": {"amount_micro": 5 * UNIT,
                                            "threshold_micro": 1 * UNIT}})
    m, _ = new_meter(cfg, START, credit_micro=3 * UNIT)
    assert m.take_emergency_credit(START) == "not_needed"
    run_power(m, START, START + 3600 * 10, 1800)               # 18 kWh * 0.20 = 3.60
    assert m.credit_state == "exhausted"
    assert m.state() == ("off", "credit_exhausted")
    assert m.take_emergency_credit(START + 36000) == "accepted"
    assert m.credit_state == "emergency"
    assert m.state()[0] == "on"
    assert m.take_emergency_credit(START + 36001) == "already_active"
    assert m.balance_micro() == 3 * UNIT - 3600000 + 5 * UNIT
    # top-up 20: 5 go to repay the emergency credit, 15 to the balance
    assert m.topup(START + 36002, 20 * UNIT) == "accepted"
    assert m.balance_micro() == 3 * UNIT - 3600000 + 20 * UNIT
    assert m.totals()["emergency_owed_micro"] == 0
    assert m.credit_state == "normal"
    assert creditmod.check(m.credit) == 0


def test_emergency_used_up_disconnects():
    cfg = electricity(credit={"emergency": {"amount_micro": 1 * UNIT,
                                            "threshold_micro": 1 * UNIT}})
    m, _ = new_meter(cfg, START)
    assert m.take_emergency_credit(START) == "accepted"
    run_power(m, START, START + 3600 * 3, 1800)                # 5.4 kWh = 1.08 > 1.00
    assert m.credit_state == "disconnected"
    assert m.state() == ("off", "credit_exhausted")


def test_standing_charge_is_taken_with_zero_consumption():
    cfg = electricity(tariff={"active": {"kind": "flat", "prices": [200000],
                                         "standing_micro_per_day": 350000}})
    m, _ = new_meter(cfg, START + 3600, credit_micro=10 * UNIT)
    for hour in range(1, 24 * 3 + 1):
        m.tick(START + 3600 + hour * 3600)
    # midnights of the 11th, 12th and 13th were crossed
    assert m.totals()["standing_charged_micro"] == 3 * 350000
    assert m.balance_micro() == 10 * UNIT - 3 * 350000
    assert m.totals()["import_milli"] == 0
    assert [d[1:] for d in m.daily] == [[0, 0], [0, 350000], [0, 350000]]


def test_debt_recovered_by_percent_of_topup_and_per_day():
    cfg = electricity(credit={"debt": {"start_micro": 50 * UNIT, "percent": 12,
                                       "per_day_micro": 250000}})
    m, _ = new_meter(cfg, START)
    assert m.topup(START, 100 * UNIT) == "accepted"           # 12 % = 12.00 to debt
    assert m.balance_micro() == 88 * UNIT
    assert m.totals()["debt_micro"] == 38 * UNIT
    m.tick(START + 2 * 86400)                                  # two midnights: 2 x 0.25
    assert m.totals()["debt_micro"] == 38 * UNIT - 500000
    assert m.balance_micro() == 88 * UNIT - 500000
    assert creditmod.check(m.credit) == 0


def test_topup_repays_emergency_then_debt_then_negative_balance():
    cfg = electricity(credit={"emergency": {"amount_micro": 2 * UNIT, "threshold_micro": UNIT},
                              "debt": {"start_micro": 10 * UNIT, "percent": 50}},
                      supply={"friendly": {"week": [[[0, 1440]]] * 7}})
    m, _ = new_meter(cfg, START)
    m.take_emergency_credit(START)
    run_power(m, START, START + 3600 * 10, 1800)               # 3.60 spent, balance -1.60
    assert m.balance_micro() == -1600000
    assert m.state() == ("on", "friendly")
    m.topup(START + 36000, 10 * UNIT)
    # 2 repay emergency credit, 50 % of the remaining 8 = 4 to debt, 4 cover -1.60
    assert m.totals()["emergency_owed_micro"] == 0
    assert m.totals()["debt_micro"] == 6 * UNIT
    assert m.balance_micro() == 2400000


def test_low_credit_alarms_by_amount():
    cfg = electricity(credit={"alarms": {"low1": {"micro": 5 * UNIT},
                                         "low2": {"micro": 2 * UNIT}}})
    m, _ = new_meter(cfg, START, credit_micro=6 * UNIT)
    run_power(m, START, START + 3600 * 3, 1800)                # 1.08 -> 4.92
    assert m.credit_state == "low1"
    run_power(m, START + 3600 * 3, START + 3600 * 11, 1800)    # 2.88 more -> 2.04
    assert m.credit_state == "low1"
    run_power(m, START + 3600 * 11, START + 3600 * 12, 1800)   # 0.36 more -> 1.68
    assert m.credit_state == "low2"
    assert [e[3] for e in m.events.find("alarm")][-2:] == ["low1", "low2"]
    assert m.state()[0] == "on"


def test_low_credit_alarms_by_percent_of_last_purchase():
    cfg = electricity(credit={"alarms": {"low1": {"percent": 30},
                                         "low2": {"percent": 10}}})
    m, _ = new_meter(cfg, START, credit_micro=10 * UNIT)
    run_power(m, START, START + 3600 * 19, 1800)               # 6.84 -> 3.16
    assert m.credit_state == "normal"
    run_power(m, START + 3600 * 19, START + 3600 * 20, 1800)   # 0.36 -> 2.80 (28 %)
    assert m.credit_state == "low1"
    run_power(m, START + 3600 * 20, START + 3600 * 25, 1800)   # 1.80 -> 1.00 (10 %)
    assert m.credit_state == "low2"


def test_low_credit_alarm_by_days_remaining_from_last_7_days():
    cfg = electricity(credit={"alarms": {"low1": {"days": 3}}})
    m, _ = new_meter(cfg, START, credit_micro=20 * UNIT)
    assert m.days_remaining() == creditmod.NO_USE_DAYS
    # a week of 5 kWh/day = 1.00 per day (steady 208.33 W as 5 kWh per day samples)
    for day in range(7):
        m.sample(START + (day + 1) * 86400, 5000 * 1000)
    assert m.balance_micro() == 13 * UNIT
    assert m.days_remaining() == 13
    assert m.credit_state == "normal"
    for day in range(7, 17):
        m.sample(START + (day + 1) * 86400, 5000 * 1000)
    assert m.balance_micro() == 3 * UNIT
    assert m.days_remaining() == 3
    assert m.credit_state == "low1"
    assert creditmod.days_remaining(-5, 100) == 0


def test_the_meter_tells_when_credit_will_reach_its_next_level():
    """The app samples by then, so an alarm or the disconnect is not overshot."""
    cfg = electricity(credit={"alarms": {"low1": {"percent": 30},
                                         "low2": {"micro": 2 * UNIT}}})
    m, _ = new_meter(cfg, START, credit_micro=10 * UNIT)
    assert sorted(creditmod.levels_micro(m.credit, m.cfg["credit"])) == [0, 2 * UNIT, 3 * UNIT]
    # 1800 W at 0.20/kWh spends 100 micro/s (101 counted: never late); 7 units to 30 %
    assert m.ms_to_credit_level(1800) == (7 * UNIT // 101 + 1) * 1000
    assert m.ms_to_credit_level(0) is None
    t, samples = START, 0
    while m.credit_state == "normal":       # sampling when told, as the app does
        step = m.ms_to_credit_level(1800) // 1000
        run_power(m, t, t + step, 1800, step=step)
        t += step
        samples += 1
    assert m.credit_state == "low1" and samples <= 5, samples
    assert 3 * UNIT - 100 <= m.balance_micro() <= 3 * UNIT   # within one second's spend
    m.clear_credit(t)
    assert m.ms_to_credit_level(1800) is None        # nothing left above any level


def test_clear_credit_token():
    m, _ = new_meter(electricity(), START, credit_micro=10 * UNIT)
    assert m.clear_credit(START, 0) == "not_this_meter"      # unit register; we are currency
    assert m.clear_credit(START, 4) == "accepted"
    assert m.balance_micro() == 0
    assert m.state() == ("off", "credit_exhausted")
    assert creditmod.check(m.credit) == 0
