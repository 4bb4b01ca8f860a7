"""Supply control as the utilities' rules say: friendly hours, READY valves, manual
mode, keep-supply, load limit with lockout, low power limit, unbalance, leaks, valve
safety closures and the tamper policy."""
from meter import credit as creditmod
from test_meter_kit import UNIT, at, electricity, new_meter, run_power

DUAL_RUNTIME = True

# Electric Ireland friendly hours: weekdays 16:00-08:00, Fri 16:00 -> Mon 08:00
WEEKDAY = [[0, 8 * 60], [16 * 60, 1440]]
IRISH_FRIENDLY = {"week": [WEEKDAY] * 5 + [[[0, 1440]]] * 2, "holiday": [[0, 1440]]}


def test_friendly_hours_keep_supply_on_through_a_friday_night():
    cfg = electricity(supply={"friendly": IRISH_FRIENDLY})
    fri_noon = at(2025, 3, 14, 12)                      # a Friday
    m, _ = new_meter(cfg, fri_noon, credit_micro=2520000)
    # 1.8 kW costs 0.36 an hour: credit is gone at 19:00, inside the friendly window
    run_power(m, fri_noon, at(2025, 3, 14, 15), 1800)
    assert m.state() == ("on", "credit")
    run_power(m, at(2025, 3, 14, 15), at(2025, 3, 14, 20), 1800)
    assert m.credit_state == "disconnected"
    assert m.state() == ("on", "friendly")
    run_power(m, at(2025, 3, 14, 20), at(2025, 3, 17, 7, 59), 1800)   # through the weekend
    assert m.state() == ("on", "friendly")
    assert [e for e in m.events.find("supply", "credit_exhausted") if e[1] > fri_noon] == []
    run_power(m, at(2025, 3, 17, 7, 59), at(2025, 3, 17, 8, 1), 1800)
    assert m.state() == ("off", "credit_exhausted")
    debt = -m.balance_micro()
    assert debt > 20 * UNIT
    # the next top-up recovers what was used on friendly credit
    m.topup(at(2025, 3, 17, 9), 30 * UNIT)
    assert m.balance_micro() == 30 * UNIT - debt
    assert m.state() == ("on", "credit")


def test_without_friendly_hours_the_supply_is_cut_at_zero():
    fri_noon = at(2025, 3, 14, 12)
    m, _ = new_meter(electricity(), fri_noon, credit_micro=2520000)
    run_power(m, fri_noon, at(2025, 3, 14, 20), 1800)
    assert m.state() == ("off", "credit_exhausted")
    # electricity reconnects by itself when credit returns
    m.topup(at(2025, 3, 14, 21), 10 * UNIT)
    assert m.state() == ("on", "credit")


def gas_config():
    return {"utility": "gas", "credit_mode": "currency", "ml_per_pulse": 10000,
            "tariff": {"active": {"kind": "flat", "prices": [1000000]}}}


def test_gas_meter_stays_ready_until_the_double_press():
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(gas_config(), t, credit_micro=UNIT)         # 1 m3 of gas
    assert m.state() == ("ready", "await_confirm")               # new meter: confirm first
    m.press(t + 1)
    assert m.press(t + 5) == ("on", "credit")
    assert m.pulses(t + 3600, 100) == ("off", "credit_exhausted")   # 100 x 10 L = 1 m3
    m.topup(t + 4000, 5 * UNIT)
    assert m.state() == ("ready", "await_confirm")               # never opens by surprise
    m.tick(t + 8000)
    assert m.state()[0] == "ready"
    assert m.press(t + 8001)[0] == "ready"                       # first press
    assert m.press(t + 8041)[0] == "ready"                       # 40 s later: too late
    assert m.press(t + 8060) == ("on", "credit")     # 19 s after the last
    assert len(m.events.find("supply", "customer_confirmed")) == 2


def test_gas_valve_closes_to_ready_on_over_flow_and_on_tilt():
    cfg = gas_config()
    cfg["supply"] = {"valve": {"max_flow_lph": 3000}}
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(cfg, t, credit_micro=50 * UNIT)
    m.press(t)
    m.press(t + 1)
    assert m.pulses(t + 60, 2) == ("on", "credit")   # 20 L/min = 1200 L/h
    assert m.pulses(t + 120, 10) == ("ready", "over_flow")       # 6000 L/h
    m.press(t + 200)
    assert m.press(t + 201) == ("on", "credit")
    assert m.tamper(t + 300, "tilt") == ("off", "tilt")
    m.clear_tamper(t + 400)
    assert m.state()[0] == "ready"


def test_gas_and_water_close_on_low_battery():
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(gas_config(), t, credit_micro=50 * UNIT)
    m.press(t)
    m.press(t + 1)
    assert m.battery(t + 10, True) == ("off", "low_battery")
    assert m.battery(t + 20, False)[0] == "ready"
    w, _ = new_meter(water_config(), t, credit_micro=50 * UNIT)
    assert w.state()[0] == "on"
    assert w.battery(t + 10, True) == ("off", "low_battery")
    assert w.battery(t + 20, False) == ("on", "credit")


def test_manual_mode_runs_into_negative_balance_and_next_topup_recovers_it():
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(electricity(), t, credit_micro=UNIT)
    run_power(m, t, t + 3 * 3600, 1800)                         # 1.08 > 1.00
    assert m.state() == ("off", "credit_exhausted")
    assert m.manual(t + 3 * 3600, "on") == ("on", "manual_on")   # technician, emergency
    run_power(m, t + 3 * 3600, t + 8 * 3600, 1800)              # 1.80 more
    assert m.state() == ("on", "manual_on")
    assert m.balance_micro() == UNIT - 1080000 - 1800000
    assert m.manual(t + 8 * 3600, None) == ("off", "credit_exhausted")
    m.topup(t + 9 * 3600, 10 * UNIT)
    assert m.balance_micro() == 10 * UNIT - 1880000
    assert m.state() == ("on", "credit")
    assert m.manual(t + 9 * 3600, "off") == ("off", "manual_off")
    assert creditmod.check(m.credit) == 0


def test_keep_supply_override_for_a_period():
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(electricity(), t)
    assert m.state() == ("off", "credit_exhausted")
    assert m.keep_supply(t, 7200) == ("on", "keep_supply")
    assert m.tick(t + 7199) == ("on", "keep_supply")
    assert m.tick(t + 7200) == ("off", "credit_exhausted")


def test_load_limit_trips_retries_and_locks_out():
    cfg = electricity(supply={"load_limit": {"limit_w": 3000, "hold_s": 10,
                                             "reconnect_s": 30, "max_trips": 3,
                                             "window_s": 600}})
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(cfg, t, credit_micro=100 * UNIT)
    assert m.sample(t + 5, 5000, 0, 3600) == ("on", "credit")    # over, but not for 10 s
    assert m.sample(t + 15, 10000, 0, 3600) == ("off", "overload")
    assert m.tick(t + 44) == ("off", "overload")
    assert m.tick(t + 45) == ("on", "credit")                    # retry after 30 s
    m.sample(t + 50, 5000, 0, 3600)
    assert m.sample(t + 60, 10000, 0, 3600) == ("off", "overload")
    m.tick(t + 90)
    m.sample(t + 95, 5000, 0, 3600)
    assert m.sample(t + 105, 10000, 0, 3600) == ("off", "overload_lockout")
    assert m.tick(t + 7200) == ("off", "overload_lockout")       # stays out
    assert len(m.events.find("load")) >= 3
    assert m.clear_load_lockout(t + 7300) == ("on", "credit")
    # SetMaximumPowerLimit raises the limit: 3.6 kW is fine now
    assert m.set_max_power(t + 7300, 5000) == "accepted"
    m.sample(t + 7310, 10000, 0, 3600)
    assert m.sample(t + 7400, 90000, 0, 3600) == ("on", "credit")


def test_low_power_limit_instead_of_a_cut():
    cfg = electricity(supply={"low_power_limit_w": 500,
                              "load_limit": {"hold_s": 5, "reconnect_s": 60}})
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(cfg, t)
    assert m.state() == ("limited", "credit_power_limit")
    assert m.sample(t + 60, 6667, 0, 400) == ("limited", "credit_power_limit")
    m.sample(t + 62, 1000, 0, 2000)
    assert m.sample(t + 70, 4000, 0, 2000) == ("off", "overload")
    assert m.tick(t + 130) == ("limited", "credit_power_limit")


def test_phase_unbalance_limit_trips():
    cfg = electricity(supply={"unbalance": {"limit_w": 2000, "hold_s": 10}})
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(cfg, t, credit_micro=100 * UNIT)
    m.sample(t + 5, 1000, 0, 4000, [3000, 500, 500])
    assert m.sample(t + 20, 1000, 0, 4000, [3000, 500, 500]) == ("off", "unbalance")
    assert m.set_unbalance_limit(t + 21, 4000) == "accepted"
    assert m.tick(t + 60) == ("on", "credit")


def water_config(**supply):
    return {"utility": "water", "credit_mode": "unit", "ml_per_pulse": 1000,
            "supply": supply}


def test_leak_alarm_on_continuous_low_flow_closes_valve_when_configured():
    t = at(2025, 3, 10)
    m, _ = new_meter(water_config(valve={"close_on_leak": True}), t,
                     credit_micro=10 * UNIT)                     # 10 m3
    # a dripping tap: 1 L every 10 minutes = 6 L/h
    for i in range(1, 6 * 6 + 1):
        m.pulses(t + i * 600, 1)
    assert m.events.find("leak", "continuous_low_flow")
    assert m.state() == ("off", "leak")


def test_leak_alarm_when_no_hour_of_the_day_had_zero_flow():
    t = at(2025, 3, 10)
    m, _ = new_meter(water_config(), t, credit_micro=10 * UNIT)
    for i in range(1, 24 * 4 + 1):                               # 40 L/h, every hour
        m.pulses(t + i * 900, 10)
    assert m.events.find("leak", "no_zero_flow_hour")
    assert m.totals()["leak"] == "no_zero_flow_hour"
    assert m.state()[0] == "on"                                  # alarm only by default
    m.tick(t + 25 * 3600)                                        # an hour with no flow
    assert m.events.find("leak", "cleared")
    assert m.totals()["leak"] is None


def test_water_valve_closes_on_magnet_tamper():
    t = at(2025, 3, 10)
    m, _ = new_meter(water_config(), t, credit_micro=10 * UNIT)
    assert m.tamper(t + 1, "magnet") == ("off", "magnet")
    m.clear_tamper(t + 2)
    assert m.state() == ("on", "credit")


def test_tamper_policy_refuses_credit_and_disconnects_until_cleared():
    cfg = electricity(supply={"tamper": {"disconnect": True, "refuse_credit": True}})
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(cfg, t, credit_micro=10 * UNIT)
    assert m.tamper(t + 1, "cover") == ("off", "tamper_cover")
    assert not m.credit_tokens_allowed()
    assert m.topup(t + 2, 5 * UNIT) == "tamper"
    assert m.balance_micro() == 10 * UNIT
    assert m.events.find("tamper", "cover")
    assert m.clear_tamper(t + 3) == ("on", "credit")
    assert m.topup(t + 4, 5 * UNIT) == "accepted"


def test_tamper_policy_metering_only_keeps_supply():
    cfg = electricity(supply={"tamper": {"disconnect": False, "refuse_credit": False}})
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(cfg, t, credit_micro=10 * UNIT)
    assert m.tamper(t + 1, "cover") == ("on", "credit")
    assert m.topup(t + 2, 5 * UNIT) == "accepted"


def test_reverse_energy_is_kept_apart_flagged_and_never_credited():
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(electricity(), t, credit_micro=10 * UNIT)
    m.sample(t + 3600, 1000 * 1000, 2500 * 1000)
    tot = m.totals()
    assert tot["import_milli"] == 1000
    assert tot["export_milli"] == 2500
    assert tot["reverse_flag"]
    assert m.balance_micro() == 10 * UNIT - 200000
    assert "reverse" in tot["tampers"]
    assert m.topup(t + 3601, UNIT) == "tamper"                   # default policy
