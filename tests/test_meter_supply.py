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
                                             "window_s": 600, "lockout_s": 0}})
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
    assert m.events.find("load", "load_lockout_cleared")[-1][4] == 2    # the technician
    # SetMaximumPowerLimit raises the limit: 3.6 kW is fine now
    assert m.set_max_power(t + 7300, 5000) == "accepted"
    m.sample(t + 7310, 10000, 0, 3600)
    assert m.sample(t + 7400, 90000, 0, 3600) == ("on", "credit")


def trip(m, t, n, power=3600, phases=None):
    """n trips, 10 s over the limit each, the retry 30 s after each trip; returns the
    time of the last trip."""
    for i in range(n):
        start = t + i * 45
        m.sample(start + 5, 5000, 0, power, phases)
        m.sample(start + 15, 10000, 0, power, phases)
        if i < n - 1:
            m.tick(start + 45)
    return t + (n - 1) * 45 + 15


def lockout_meter(lockout_s=0, limit_w=3000, t=None, store=None):
    """A meter locked out by three 3.6 kW trips in 105 s (3 kW limit); returns it, the
    store and the time of the lockout."""
    cfg = electricity(supply={"load_limit": {"limit_w": limit_w, "hold_s": 10,
                                             "reconnect_s": 30, "max_trips": 3,
                                             "window_s": 600, "lockout_s": lockout_s}})
    t = t or at(2025, 3, 10, 8)
    m, store = new_meter(cfg, t, store, credit_micro=100 * UNIT)
    locked = trip(m, t, 3)
    assert m.state() == ("off", "overload_lockout")
    return m, store, locked


def test_a_lockout_ends_at_the_button_once_the_load_is_reduced():
    m, store, locked = lockout_meter()
    assert m.tick(locked + 86400) == ("off", "overload_lockout")     # no timeout: waits
    assert m.alarm() == "overload_lockout"
    assert m.next_boundary(locked + 86400) == at(2025, 3, 12)       # only midnight ahead
    assert m.press(locked + 86500) == ("on", "credit")
    assert m.events.find("load", "load_lockout_cleared")[-1][4] == 0     # by the button
    assert store.load("meter")["load"]["lockout"] is False         # saved with the press
    # the load was reduced: it stays on
    assert m.sample(locked + 86600, 27778, 0, 1000) == ("on", "credit")
    assert m.sample(locked + 90000, 943889, 0, 1000) == ("on", "credit")
    assert m.alarm() is None


def test_a_press_with_the_load_still_too_high_trips_again():
    m, _, locked = lockout_meter()
    t = locked + 600
    assert m.press(t) == ("on", "credit")                  # the trips are counted afresh
    m.sample(t + 5, 5000, 0, 3600)
    assert m.next_boundary(t + 5) == t + 15                # the hold time ends then
    assert m.sample(t + 15, 10000, 0, 3600) == ("off", "overload")
    assert m.next_boundary(t + 15) == t + 45               # the retry
    assert m.tick(t + 45) == ("on", "credit")


def test_a_lockout_times_out_by_itself_and_the_timeout_survives_a_power_cut():
    m, store, locked = lockout_meter(lockout_s=1800)
    assert m.next_boundary(locked) == locked + 1800
    m.power_fail(locked + 600)
    back, _ = new_meter(m.cfg, locked + 1200, store)        # power returns 20 min later
    assert back.state() == ("off", "overload_lockout")
    assert back.next_boundary(locked + 1200) == locked + 1800
    assert back.tick(locked + 1799) == ("off", "overload_lockout")
    assert back.tick(locked + 1800) == ("on", "credit")
    assert back.events.find("load", "lockout_timeout")
    assert store.load("meter")["load"]["trips"] == []
    # a cut spanning the timeout: the supply is back at power-up
    m2, store2, locked2 = lockout_meter(lockout_s=1800)
    m2.power_fail(locked2 + 1)
    assert new_meter(m2.cfg, locked2 + 7200, store2)[0].state() == ("on", "credit")


def test_a_new_power_limit_token_ends_the_lockout_at_once():
    m, store, locked = lockout_meter()
    assert m.set_max_power(locked + 60, 5000) == "accepted"
    assert m.state() == ("on", "credit")
    assert m.events.find("load", "load_lockout_cleared")[-1][4] == 1     # by a token
    assert store.load("meter")["sup"]["state"] == "on"
    assert m.sample(locked + 120, 60000, 0, 3600) == ("on", "credit")   # under 5 kW


def test_an_unbalance_lockout_ends_at_the_button():
    cfg = electricity(supply={"unbalance": {"limit_w": 2000, "hold_s": 10, "max_trips": 1,
                                            "lockout_s": 0}})
    t = at(2025, 3, 10, 8)
    m, _ = new_meter(cfg, t, credit_micro=100 * UNIT)
    m.sample(t + 5, 1000, 0, 4000, [3000, 500, 500])
    assert m.sample(t + 20, 1000, 0, 4000, [3000, 500, 500]) == ("off", "unbalance_lockout")
    assert m.alarm() == "unbalance_lockout"
    assert m.tick(t + 86400) == ("off", "unbalance_lockout")
    assert m.press(t + 86401) == ("on", "credit")
    assert m.events.find("load", "unbalance_lockout_cleared")


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


# ------------------------------------------------------------ every way the supply is held off
def reopen(m, t):
    """The customer's double press where a valve waits READY; returns the decision."""
    if m.state()[0] == "ready":
        m.press(t)
        return m.press(t + 1)
    return m.state()


def restarted(m, store, t):
    """The meter after a power cut at t (nothing saved at the cut: what it held is what
    it had saved)."""
    return new_meter(m.cfg, t, store)[0]


def leak_fill(m, t):
    for i in range(1, 37):                                  # 6 L/h for 6 hours
        m.pulses(t + i * 600, 1)
    return t + 36 * 600


def overflow(m, t):
    reopen(m, t)
    m.pulses(t + 60, 10)                                     # 6000 L/h over 3000
    return t + 60


def unbalance(m, t, n):
    return trip(m, t, n, 2000, [3000, 500, 500])


LIMITS = {"load_limit": {"limit_w": 3000, "max_trips": 2, "lockout_s": 0},
          "unbalance": {"limit_w": 2000, "max_trips": 2, "lockout_s": 0}}
GAS = dict(gas_config(), supply={"valve": {"max_flow_lph": 3000}})

# (what, configuration, cause(m, t) -> time, (state, reason), way out(m, t) -> decision)
HELD_OFF = (
    ("credit", electricity(), lambda m, t: m.tick(t) and t, ("off", "credit_exhausted"),
     lambda m, t: m.topup(t, UNIT) and m.state()),
    ("technician", electricity(), lambda m, t: m.manual(t, "off") and t, ("off", "manual_off"),
     lambda m, t: m.manual(t, None)),
    ("tamper", electricity(supply={"tamper": {"disconnect": True}}),
     lambda m, t: m.tamper(t, "cover") and t, ("off", "tamper_cover"),
     lambda m, t: m.clear_tamper(t)),
    ("battery", GAS, lambda m, t: m.battery(t, True) and t, ("off", "low_battery"),
     lambda m, t: m.battery(t, False) and reopen(m, t + 1)),
    ("magnet", water_config(), lambda m, t: m.tamper(t, "magnet") and t, ("off", "magnet"),
     lambda m, t: m.clear_tamper(t)),
    ("tilt", GAS, lambda m, t: m.tamper(t, "tilt") and t, ("off", "tilt"),
     lambda m, t: m.clear_tamper(t) and reopen(m, t + 1)),
    ("leak", water_config(valve={"close_on_leak": True}), leak_fill, ("off", "leak"),
     lambda m, t: m.press(t)),
    ("gas flow", GAS, overflow, ("ready", "over_flow"), reopen),
    ("overload", electricity(supply=LIMITS), lambda m, t: trip(m, t, 1),
     ("off", "overload"), lambda m, t: m.tick(t + 30)),
    ("overload lockout", electricity(supply=LIMITS), lambda m, t: trip(m, t, 2),
     ("off", "overload_lockout"), lambda m, t: m.press(t)),
    ("unbalance", electricity(supply=LIMITS), lambda m, t: unbalance(m, t, 1),
     ("off", "unbalance"), lambda m, t: m.tick(t + 30)),
    ("unbalance lockout", electricity(supply=LIMITS), lambda m, t: unbalance(m, t, 2),
     ("off", "unbalance_lockout"), lambda m, t: m.press(t)),
    ("READY", gas_config(), lambda m, t: m.clear_credit(t) and m.topup(t, UNIT) and t,
     ("ready", "await_confirm"), reopen),
)


def test_every_reason_the_supply_is_held_off_survives_a_cut_is_shown_and_has_a_way_out():
    from meter import messages
    t0 = at(2025, 3, 10, 8)
    for what, cfg, cause, held, way_out in HELD_OFF:
        m, store = new_meter(cfg, t0, credit_micro=0 if what == "credit" else 50 * UNIT)
        reopen(m, t0)
        t = cause(m, t0 + 10)
        assert m.state() == held, (what, m.state())
        m.power_fail(t + 1)
        m = restarted(m, store, t + 2)                       # held through a power cut
        assert m.state() == held, (what, m.state())
        alarm = m.alarm()
        if what in ("credit", "READY"):
            screen = messages.credit_state_screen("ready" if what == "READY" else alarm)
        else:
            assert alarm == held[1], (what, alarm)
            screen = messages.supply_screen(alarm)
        assert screen is not None and screen[0].strip(), what
        assert way_out(m, t + 3)[0] == "on", (what, m.state())
        assert m.alarm() is None, (what, m.alarm())
        assert restarted(m, store, t + 5).state()[0] == "on", what    # and that was saved


def test_a_low_battery_valve_shows_why_and_a_replaced_battery_opens_it():
    t = at(2025, 3, 10, 8)
    m, store = new_meter(gas_config(), t, credit_micro=50 * UNIT)
    reopen(m, t)
    assert m.battery(t + 10, True) == ("off", "low_battery")
    assert m.alarm() == "low_battery"
    assert m.events.find("alarm", "battery_low")
    # an electricity meter keeps its supply but still says so
    e, _ = new_meter(electricity(), t, credit_micro=50 * UNIT)
    assert e.battery(t + 10, True) == ("on", "credit") and e.alarm() == "low_battery"


def test_a_leak_that_closed_the_valve_stays_closed_until_the_button():
    t = at(2025, 3, 10)
    m, store = new_meter(water_config(valve={"close_on_leak": True}), t,
                         credit_micro=10 * UNIT)
    t = leak_fill(m, t)
    assert m.state() == ("off", "leak") and m.alarm() == "leak"
    assert m.tick(t + 5 * 3600) == ("off", "leak")      # closed hours prove nothing
    assert m.press(t + 5 * 3600 + 1) == ("on", "credit")
    assert m.events.find("leak", "cleared_button")
    assert store.load("meter")["leak"]["leak"] is None
