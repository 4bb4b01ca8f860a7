"""Tariffs as a utility states them: a TOU week, block steps, a pending table taking
over at its hour, the default rate without a valid clock."""
from test_meter_kit import UNIT, at, electricity, new_meter, run_pulses

DUAL_RUNTIME = True

NIGHT, DAY, PEAK = 100000, 200000, 350000      # credit micro per kWh: 0.10 0.20 0.35


def tou_config():
    return electricity(
        holidays=[[2025, 3, 5]],                     # a Wednesday, as a public holiday
        tariff={"active": {
            "kind": "tou", "prices": [DAY, PEAK, NIGHT],
            "standing_micro_per_day": UNIT // 2,
            "profiles": {
                "weekday": [[0, 3], [7 * 60, 1], [17 * 60, 2], [20 * 60, 1], [23 * 60, 3]],
                "weekend": [[0, 3], [8 * 60, 1], [22 * 60, 3]],
                "holiday": [[0, 3]]}}})


def household(t):
    """Pulses (1 Wh each) in the minute ending at t: 300 W all the time, plus 1.8 kW of
    cooking 18:00-19:00 on Monday to Friday."""
    from meter import civil
    day, sec = civil.split(t - 60)
    cooking = civil.weekday(day) < 5 and 18 * 3600 <= sec < 19 * 3600
    return 5 + (30 if cooking else 0)


def test_household_week_on_tou_deducts_hand_computed_amount():
    # Week Mon 2025-03-03 00:00 .. Mon 2025-03-10 00:00, Wednesday a holiday.
    # Weekday: base 2.4 kWh night (0.24) + 3.9 kWh day (0.78) + 0.9 kWh peak (0.315)
    #          + cooking 1.8 kWh peak (0.63) = 1.965;  x4 = 7.86
    # Holiday: 7.2 + 1.8 kWh all night rate = 0.90
    # Weekend: 3.0 kWh night (0.30) + 4.2 kWh day (0.84) = 1.14;  x2 = 2.28
    # Standing charge 0.50 at each of the 7 midnights crossed = 3.50
    # Total 7.86 + 0.90 + 2.28 + 3.50 = 14.54
    start = at(2025, 3, 3)
    m, _ = new_meter(tou_config(), start, credit_micro=100 * UNIT)
    run_pulses(m, start, at(2025, 3, 10), household)
    t = m.totals()
    assert t["import_milli"] == 59400                      # 50.4 kWh base + 9 kWh cooking
    assert t["rates_milli"] == [24000, 10800, 24600, 0]    # day, peak, night
    assert t["energy_charged_micro"] == 11040000
    assert t["standing_charged_micro"] == 3500000
    assert m.balance_micro() == 100 * UNIT - 14540000
    # the daily history holds the 7 closed days with their money
    assert [d[2] for d in m.daily] == [1965000 + 0, 1965000 + 500000, 900000 + 500000,
                                       1965000 + 500000, 1965000 + 500000,
                                       1140000 + 500000, 1140000 + 500000]


def test_block_tariff_steps_over_the_settlement_month():
    cfg = electricity(tariff={"active": {"kind": "block", "blocks": [
        [50000, 100000], [200000, 200000], [None, 300000]]}})
    start = at(2025, 3, 10)
    m, _ = new_meter(cfg, start, credit_micro=500 * UNIT)
    m.sample(start + 3600, 60000 * 1000)                   # 60 kWh in one hour
    # 50 kWh at 0.10 + 10 kWh at 0.20
    assert m.totals()["energy_charged_micro"] == 7000000
    m.sample(start + 7200, 160000 * 1000)                  # 160 kWh more: 140 @0.2, 20 @0.3
    assert m.totals()["energy_charged_micro"] == 7000000 + 28000000 + 6000000
    assert m.totals()["rates_milli"] == [50000, 150000, 20000, 0]
    # after the settlement day (1st of the month) the steps start again
    m.tick(at(2025, 4, 1, 0, 0, 1))
    before = m.totals()["energy_charged_micro"]
    m.sample(at(2025, 4, 1, 1), 10000 * 1000)
    assert m.totals()["energy_charged_micro"] - before == 1000000
    assert m.monthly[-1][:3] == [202503, 220000, 41000000]


def test_pending_tariff_takes_over_at_its_time_and_splits_the_interval():
    start = at(2025, 3, 10)
    m, store = new_meter(electricity(), start, credit_micro=100 * UNIT)
    change = at(2025, 3, 10, 12)
    assert m.set_pending_tariff(start, {"kind": "flat", "prices": [300000]}, change) \
        == "accepted"
    m.sample(at(2025, 3, 10, 11), 0)
    m.sample(at(2025, 3, 10, 13), 2000 * 1000)   # 2 kWh over 11:00-13:00: 1 kWh each side
    assert m.totals()["energy_charged_micro"] == 200000 + 300000
    assert m.cfg["tariff"]["active"]["prices"] == [300000]
    assert m.cfg["tariff"]["pending"] is None
    activated = m.events.find("config", "tariff_activated")
    assert activated and activated[0][1] == change
    assert store.load("config")["tariff"]["active"]["prices"] == [300000]


def test_set_tariff_rate_applies_from_now_never_retroactively():
    start = at(2025, 3, 10)
    m, _ = new_meter(electricity(), start, credit_micro=100 * UNIT)
    m.sample(start + 3600, 1000 * 1000)
    assert m.set_tariff_rate(start + 3600, 1, 500000) == "accepted"
    assert m.totals()["energy_charged_micro"] == 200000
    m.sample(start + 7200, 1000 * 1000)
    assert m.totals()["energy_charged_micro"] == 700000
    assert m.set_tariff_rate(start + 7200, 3, 1) == "no_such_rate"


def test_without_valid_clock_default_rate_and_clock_event():
    cfg = tou_config()
    cfg["tariff"]["default_price"] = 250000
    start = at(2025, 3, 3, 3)                      # night rate normally
    m, _ = new_meter(cfg, start, credit_micro=100 * UNIT)
    m.set_clock_valid(start, False)
    m.sample(start + 3600, 1000 * 1000)
    assert m.totals()["energy_charged_micro"] == 250000
    assert m.events.find("clock", "invalid")
    m.set_clock_valid(start + 3600, True)
    m.sample(start + 7200, 1000 * 1000)
    assert m.totals()["energy_charged_micro"] == 250000 + NIGHT


def test_clock_going_backwards_is_logged_and_not_charged_twice():
    start = at(2025, 3, 10, 23)
    cfg = electricity(tariff={"active": {"kind": "flat", "prices": [200000],
                                         "standing_micro_per_day": UNIT}})
    m, _ = new_meter(cfg, start, credit_micro=100 * UNIT)
    m.tick(at(2025, 3, 11, 1))
    assert m.totals()["standing_charged_micro"] == UNIT
    m.tick(at(2025, 3, 10, 22))                     # RTC jumps back 3 hours
    assert m.events.find("clock", "backwards")
    m.tick(at(2025, 3, 11, 2))
    assert m.totals()["standing_charged_micro"] == UNIT
