"""Metering registers: pulses and samples to integers, max demand, daily and monthly
history closed on the settlement day, and what survives a power cut."""
from meter import credit as creditmod
from meter.core import Meter
from meter.history import Rows
from meter.store import MemoryStore, Store
from dualrt import raises, tmp_dir
from test_meter_kit import UNIT, LogStore, at, electricity, new_meter, run_power

DUAL_RUNTIME = True

T = at(2025, 3, 10, 8)


def test_pulses_with_an_odd_meter_constant_lose_nothing():
    m, _ = new_meter(electricity(imp_per_unit=3200), T, credit_micro=10 * UNIT)
    for i in range(1, 101):
        m.pulses(T + i * 10, 32)            # 32 pulses = 10 Wh each time
    assert m.totals()["import_milli"] == 1000
    assert m.totals()["energy_charged_micro"] == 200000
    m.pulses(T + 1010, 1)                   # 1/3200 kWh = 0.3125 Wh stays as remainder
    assert m.totals()["import_milli"] == 1000
    assert m.reg["imp_rem"] == 312


def test_water_litres_per_pulse_and_meter_factor():
    cfg = {"utility": "water", "credit_mode": "unit", "ml_per_pulse": 10000}
    m, _ = new_meter(cfg, T, credit_micro=5 * UNIT)
    m.pulses(T + 60, 3)                     # 30 L
    assert m.totals()["import_milli"] == 30
    assert m.balance_micro() == 5 * UNIT - 30000
    assert m.set_water_factor(T + 60, 1100) == "accepted"   # meter under-reads by 10 %
    m.pulses(T + 120, 10)                   # 100 L read -> 110 L
    assert m.totals()["import_milli"] == 140


def test_instantaneous_power_and_monthly_max_demand():
    m, _ = new_meter(electricity(), T, credit_micro=100 * UNIT)
    run_power(m, T, T + 1800, 1800)
    run_power(m, T + 1800, T + 2700, 3600)
    run_power(m, T + 2700, T + 3600, 1800)
    assert m.totals()["power"] == 1800
    assert m.totals()["max_demand"] == 3600    # 15-minute period 08:30-08:45
    assert m.reg["md_t"] == T + 1800


def test_daily_and_monthly_history_close_on_the_settlement_day():
    cfg = electricity(settlement_day=15)
    start = at(2025, 1, 1)
    m, store = new_meter(cfg, start, credit_micro=10000 * UNIT)
    day = 86400
    for d in range(100):                       # 100 days, 2 kWh a day
        m.sample(start + (d + 1) * day - 3600, 2000 * 1000)
        m.tick(start + (d + 1) * day)
    assert len(m.daily) == 62                  # the last 62 closed days
    assert m.daily[-1][1:] == [2000, 400000]
    # Jan 1..14 (14 days), then 15 Jan..14 Feb (31 days), 15 Feb..14 Mar (28 days)
    assert [x[:3] for x in m.monthly] == [[202412, 28000, 5600000],
                                          [202501, 62000, 12400000],
                                          [202502, 56000, 11200000]]
    hist = store.load("history")
    assert hist["monthly"] == m.monthly.rows() and len(hist["daily"]) == 62


def test_history_keeps_24_months():
    start = at(2023, 1, 1)
    m, _ = new_meter(electricity(), start, credit_micro=10000 * UNIT)
    for month in range(30):
        y, mo = 2023 + (month + 1) // 12, (month + 1) % 12 + 1
        m.sample(at(y, mo, 1, 0, 0, 0) - 60, 1000 * 1000)
        m.tick(at(y, mo, 1, 0, 0, 1))
    assert len(m.monthly) == 24
    assert m.monthly[-1][0] == 202506
    assert m.monthly[-1][1] == 1000


def test_history_rows_are_a_ring_read_as_lists():
    rows = Rows(3, "iq", [[1, 10], [2, 20], [3, 30], [4, 2 ** 40]])   # the last 3 kept
    assert len(rows) == 3 and list(rows) == [[2, 20], [3, 30], [4, 2 ** 40]]
    rows.append((5, -50))
    assert rows.rows() == [[3, 30], [4, 2 ** 40], [5, -50]]
    assert rows[0] == [3, 30] and rows[-1] == [5, -50] and rows[-2:] == rows.rows()[1:]
    assert raises(IndexError, rows.__getitem__, 3) and Rows(2, "i")[:] == []


def test_power_cut_loses_at_most_one_quantum():
    cfg = electricity()
    store = LogStore()
    m = Meter(cfg, store, T)
    quantum = m.cfg["save_quantum_milli"]      # Wh (the default, 50)
    m.topup(T, 50 * UNIT)
    t = T
    for i in range(1, 1000):
        t = T + i
        m.sample(t, 3333)                      # 3.333 Wh a second (12 kW)
    before = m.totals()
    # the power disappears without warning: a new meter from the store
    again = Meter(cfg, store, t + 100)
    after = again.totals()
    assert 0 <= before["import_milli"] - after["import_milli"] <= quantum
    assert 0 <= after["balance_micro"] - before["balance_micro"] <= quantum * 200
    assert creditmod.check(again.credit) == 0
    assert again.events.find("power", "up")
    # saves were bounded by the quantum: 3.33 kWh / 10 Wh
    assert store.count("meter") <= 3333 // 10 + 10


def test_power_fail_signal_saves_everything_immediately():
    store = LogStore()
    m = Meter(electricity(), store, T)
    m.topup(T, 50 * UNIT)
    m.sample(T + 1, 3000)                      # 3 Wh, below the quantum: not yet saved
    assert store.load("meter")["reg"]["imp_rem"] == 0
    m.power_fail(T + 2)
    again = Meter(electricity(), store, T + 500)
    assert again.totals()["import_milli"] == 3
    assert again.events.find("power", "down")


def test_power_cut_over_days_catches_up_standing_charges():
    cfg = electricity(tariff={"active": {"kind": "flat", "prices": [200000],
                                         "standing_micro_per_day": UNIT}})
    store = LogStore()
    m = Meter(cfg, store, T)
    m.topup(T, 50 * UNIT)
    m.power_fail(T + 60)
    again = Meter(cfg, store, T + 3 * 86400)
    assert again.totals()["standing_charged_micro"] == 3 * UNIT
    assert len(again.daily) == 3


def test_works_with_the_real_stores():
    for store in (MemoryStore(), Store(tmp_dir("meter_core_store"))):
        m = Meter(electricity(), store, T)
        assert m.topup(T, 5 * UNIT) == "accepted"
        m.sample(T + 3600, 1000 * 1000)
        m.power_fail(T + 3601)
        again = Meter(electricity(), store, T + 3700)
        assert again.balance_micro() == 5 * UNIT - 200000
        assert again.totals()["import_milli"] == 1000


def test_settings_from_tokens_survive_restart_and_new_revision_wins():
    store = LogStore()
    m = Meter(electricity(), store, T)
    m.set_max_power(T, 4000)
    again = Meter(electricity(), store, T + 10)
    assert again.cfg["supply"]["load_limit"]["limit_w"] == 4000
    assert again.events.find("config", "limit_w")
    newer = electricity(revision=1)
    third = Meter(newer, store, T + 20)
    assert third.cfg["supply"]["load_limit"]["limit_w"] == 0
    assert third.events.find("config", "provisioned")


def test_event_log_is_a_ring_of_at_least_200():
    m, store = new_meter(electricity(), T, credit_micro=UNIT)
    for i in range(300):
        m.press(T + i)
        m.topup(T + i, 1)
    assert len(m.events.items) == 200
    assert m.events.items[-1][0] == m.events.seq
    m.power_fail(T + 400)
    again = Meter(electricity(), store, T + 500)
    assert len(again.events.items) == 200
    assert again.events.items[-2][0] == m.events.seq     # before the new power-up
    # each events save writes one page of at most 50 entries, not the whole log
    assert len(store.load("ev0")["items"]) <= 50


def test_time_based_credit_counts_minutes_of_supply():
    cfg = {"utility": "time", "credit_mode": "unit"}
    m, _ = new_meter(cfg, T)
    m.add_unit_credit(T, 600)                  # 60 minutes
    m.tick(T + 1800)
    assert m.balance_micro() == 30 * UNIT
    m.tick(T + 3600)
    assert m.state() == ("off", "credit_exhausted")
    m.tick(T + 7200)
    assert m.balance_micro() == 0


def test_saves_per_day_stay_within_the_documented_bound():
    from meter.core import saves_per_day
    store = LogStore()
    start = at(2025, 3, 10)
    m = Meter(electricity(), store, start)
    m.topup(start, 10000 * UNIT)
    before = store.count()
    run_power(m, start, start + 86400, 3600)            # 86.4 kWh in a day
    measured = store.count() - before
    bound = saves_per_day(electricity(), 86400, events_per_day=len(m.events.items))
    # each 60 Wh sample exceeds the 10 Wh quantum, so every sample is saved
    assert 1440 <= measured <= bound["total"]
