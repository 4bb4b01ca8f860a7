"""The instants the meter knows in advance (``Meter.next_boundary``): a friendly window's
start and end, a tariff switch, midnight, a pending tariff, the end of keep-supply, a
load retry or lockout timeout, an hour's leak check. The application wakes at them, so
acting on one never waits for the next metering sample; acting at one happens to the
second."""
from test_meter_kit import UNIT, at, electricity, new_meter, run_power
from test_meter_supply import IRISH_FRIENDLY, water_config
from test_meter_tariff import tou_config

DUAL_RUNTIME = True


def test_the_friendly_window_ends_to_the_second():
    cfg = electricity(supply={"friendly": IRISH_FRIENDLY})
    mon = at(2025, 3, 17, 7)                                 # Monday, friendly until 08:00
    m, _ = new_meter(cfg, mon)
    assert m.state() == ("on", "friendly")
    assert m.next_boundary(mon) == at(2025, 3, 17, 8)
    assert m.tick(at(2025, 3, 17, 7, 59, 59)) == ("on", "friendly")
    assert m.tick(at(2025, 3, 17, 8)) == ("off", "credit_exhausted")
    # and the next window's start restores it at its minute
    assert m.next_boundary(at(2025, 3, 17, 8)) == at(2025, 3, 17, 16)
    assert m.tick(at(2025, 3, 17, 16)) == ("on", "friendly")


def test_friendly_edges_across_holidays_and_a_week_without_windows():
    from meter.daytype import next_friendly_edge
    week = {"week": [[]] * 6 + [[[600, 720]]], "holiday": [[0, 1440]]}
    mon = at(2025, 3, 17)
    assert next_friendly_edge(mon, week, []) == at(2025, 3, 23, 10)        # Sunday 10:00
    assert next_friendly_edge(at(2025, 3, 23, 10), week, []) == at(2025, 3, 23, 12)
    assert next_friendly_edge(mon, week, [[3, 19]]) == at(2025, 3, 19)     # the holiday
    assert next_friendly_edge(mon, {"week": [[]] * 7, "holiday": []}, []) is None
    assert next_friendly_edge(mon, None, []) is None


def test_a_tou_switch_and_midnight_are_boundaries():
    m, _ = new_meter(tou_config(), at(2025, 3, 10, 12), credit_micro=100 * UNIT)
    assert m.next_boundary(at(2025, 3, 10, 12)) == at(2025, 3, 10, 17)     # day -> peak
    run_power(m, at(2025, 3, 10, 12), at(2025, 3, 10, 17), 1000, step=5 * 3600)
    assert m.rate.index == 2
    assert m.next_boundary(at(2025, 3, 10, 17)) == at(2025, 3, 10, 20)     # peak -> day
    m.tick(at(2025, 3, 10, 23, 30))
    assert m.next_boundary(at(2025, 3, 10, 23, 30)) == at(2025, 3, 11)      # day close
    flat, _ = new_meter(electricity(), at(2025, 3, 10, 12), credit_micro=UNIT)
    assert flat.next_boundary(at(2025, 3, 10, 12)) == at(2025, 3, 11)


def test_the_standing_charge_at_midnight_disconnects_at_midnight():
    cfg = electricity(tariff={"active": {"kind": "flat", "prices": [200000],
                                         "standing_micro_per_day": 2 * UNIT}})
    m, _ = new_meter(cfg, at(2025, 3, 10, 23), credit_micro=UNIT)
    assert m.next_boundary(at(2025, 3, 10, 23)) == at(2025, 3, 11)
    assert m.tick(at(2025, 3, 11)) == ("off", "credit_exhausted")
    assert m.daily[-1][0] == at(2025, 3, 10) // 86400


def test_a_pending_tariff_and_keep_supply_end_are_boundaries():
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(electricity(), t)
    assert m.keep_supply(t, 3600) == ("on", "keep_supply")
    assert m.next_boundary(t) == t + 3600
    m.set_pending_tariff(t, {"kind": "flat", "prices": [300000]}, t + 1800)
    assert m.next_boundary(t) == t + 1800
    m.tick(t + 1800)
    assert m.rate.price == 300000
    assert m.next_boundary(t + 1800) == t + 3600
    assert m.tick(t + 3600) == ("off", "credit_exhausted")


def test_a_load_retry_and_the_leak_hour_are_boundaries():
    cfg = electricity(supply={"load_limit": {"limit_w": 3000, "hold_s": 10,
                                             "reconnect_s": 60}})
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(cfg, t, credit_micro=10 * UNIT)
    m.sample(t + 5, 5000, 0, 3600)
    assert m.sample(t + 15, 10000, 0, 3600) == ("off", "overload")
    assert m.next_boundary(t + 15) == t + 75
    w, _ = new_meter(water_config(), at(2025, 3, 10, 8, 20), credit_micro=UNIT)
    assert w.next_boundary(at(2025, 3, 10, 8, 20)) == at(2025, 3, 10, 9)


def test_time_credit_reaches_its_levels_with_no_load_reading():
    cfg = {"utility": "time", "credit_mode": "unit"}            # 1 credit unit a minute
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(cfg, t, credit_micro=10 * UNIT)            # ten minutes
    assert m.ms_to_credit_level(0) == 600 * 1000
    assert m.tick(t + 599) == ("on", "credit")
    assert m.tick(t + 600) == ("off", "credit_exhausted")
