"""Why the supply is off, how the customer gets it back, and boundaries acted on at their
instant: stories through ``prepay sim --script`` as a user runs them (CPython only; the
firmware runs on the MicroPython Unix port with the sim board)."""
from test_sim_stories import currency_token, sim, unit_token

LOCKOUT_SCREEN = ["Overload: reduce", "load, press btn "]


def test_an_overload_lockout_is_shown_survives_a_cut_and_ends_at_the_button(tmp_path):
    """Issue 11's field fault: 3 trips over 5 kW in 30 min lock the supply out; it used to
    stay off for good, with credit, and the display never said why."""
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-23T08:00", "token " + unit_token(1000), "load 6kW", "advance 2m",
        "advance 4s", "status", "power cut", "power on", "status",
        "load 1kW", "button", "status", "token " + unit_token(100, 1), "advance 1d",
        "status"]), "electricity-unit")
    for s in st[:2]:                                  # before and after the power cut
        assert (s["supply"], s["supply_reason"]) == ("off", "overload_lockout")
        assert s["alarm"] == "overload_lockout" and s["indicators"]["alarm"] is True
        assert s["display"] == LOCKOUT_SCREEN         # alternating with the credit
        assert s["switch"] == "off"
    assert (st[2]["supply"], st[2]["alarm"], st[2]["switch"]) == ("on", None, "on")
    assert st[3]["supply"] == "on" and st[3]["supply_reason"] == "credit"
    assert 23900 <= st[3]["import_milli"] - st[2]["import_milli"] <= 24000   # 1 kW a day


def test_an_overload_lockout_ends_by_itself_after_half_an_hour(tmp_path):
    """No one at home: the supply returns at the lockout timeout (1800 s by default),
    at that second, not at the next 15-minute sample."""
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-23T08:00", "token " + unit_token(1000), "load 6kW", "advance 2m",
        "load 1kW", "advance 29m", "status", "advance 1h", "power fail", "power on",
        "status"]), "electricity-unit")
    assert st[0]["supply_reason"] == "overload_lockout"          # 08:31: not yet
    assert st[1]["supply"] == "on" and st[1]["supply_reason"] == "credit"
    # three trips of ~10 s at 6 kW (53 Wh), locked out at 08:01:32, back at 08:31:32, then
    # 1 kW until 09:31 (991 Wh); a return at the next 15-minute sample would lose up to 250
    assert 1042 <= st[1]["import_milli"] <= 1046


def test_a_low_battery_closes_the_gas_valve_saying_why_and_a_new_battery_opens_it(
        tmp_path):
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-23T08:00", "token " + unit_token(100, utility="gas"), "button 2",
        "advance 10s", "status", "battery 15%", "advance 13s", "status",
        "power cut", "battery 100%", "power on", "status",     # replaced while unpowered
        "button 2", "advance 10s", "status"]), "gas")
    assert st[0]["supply"] == "on"
    assert (st[1]["supply"], st[1]["supply_reason"], st[1]["alarm"]) == \
        ("off", "low_battery", "low_battery")
    assert st[1]["display"] == ["Battery low     ", "Replace battery "]
    assert st[1]["indicators"]["alarm"] is True and st[1]["switch"] == "off"
    assert st[2]["supply"] == "ready" and st[2]["alarm"] is None   # never opens unasked
    assert st[3]["supply"] == "on" and st[3]["switch"] == "on"


def test_the_supply_goes_off_at_the_end_of_the_friendly_hours_to_the_second(tmp_path):
    """Sunday 23:07, no credit, friendly all weekend: 3.6 kW until Monday 00:00 exactly
    (the metering samples fall at 23:22, 23:37, 23:52, 00:07)."""
    st, _, _ = sim(tmp_path, "at 2026-11-29T23:07\nload 3.6kW\nstatus\nadvance 2h\nstatus\n",
                   "electricity-currency-tou")
    assert st[0]["supply_reason"] == "friendly"
    assert st[1]["supply"] == "off" and st[1]["supply_reason"] == "credit_exhausted"
    assert st[1]["import_milli"] == 3180                      # 53 min x 3.6 kW


def test_the_standing_charge_at_midnight_disconnects_at_midnight(tmp_path):
    """Tuesday 23:07, KES 15 at the night rate (12 KES/kWh) and 1 kW: KES 4.40 are left at
    midnight, when the day's standing charge (KES 10) takes the balance below zero."""
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-24T23:07", "token " + currency_token(15 * 100000, when=(2026, 11, 24, 23, 0)),
        "load 1kW", "advance 2h", "status"]), "electricity-currency-tou")
    s = st[0]
    assert s["supply"] == "off" and s["alarm"] == "exhausted"
    assert s["import_milli"] == 883                           # 53 min x 1 kW, then off
    assert s["credit"] == "-5.60" and s["books"]["standing"] == 10 * 1000000


def test_the_rate_register_closes_at_the_tou_switch(tmp_path):
    """Monday 16:07, 1 kW, the rate changes at 17:00: the meter reads its chip at 17:00,
    so a cut without warning at 17:05 keeps everything of rate 1 (the samples fall at
    16:22, 16:37, 16:52, 17:07: without the 17:00 reading 16:52-17:00 was lost)."""
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-23T16:07", "token " + currency_token(1000 * 100000, when=(2026, 11, 23, 16, 0)),
        "load 1kW", "advance 58m", "power cut", "power on", "status"]),
        "electricity-currency-tou")
    assert st[0]["rates_milli"] == [883, 0, 0, 0]            # 16:07-17:00 at rate 1
    assert st[0]["tariff_rate"] == 2
