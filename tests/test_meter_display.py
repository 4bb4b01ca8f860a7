"""Display model, customer messages, amount formatting and the alarm sounder."""
from dualrt import raises
from meter import messages
from meter.display import AlarmSounder, Display, as_text, board_args
from meter.keypad import Keypad
from test_meter_kit import UNIT, at, electricity, new_meter, run_power

DUAL_RUNTIME = True

DAY = 86400
HOUR = 3600


def is_line(text):
    return len(text) == 16 and all(32 <= ord(c) < 127 for c in text)


# ------------------------------------------------------------------ amounts
def test_fixed_point_amounts_from_integers():
    f = messages.fixed
    assert f(0, 1000000, 1) == "0.0"
    assert f(12500000, 1000000, 1) == "12.5"
    assert f(12549999, 1000000, 1) == "12.5"        # never rounds up
    assert f(999999, 1000000, 2) == "0.99"
    assert f(1000000, 1000000, 0) == "1"
    assert f(5, 1000000, 6) == "0.000005"
    assert f(-1, 1000, 1) == "-0.1"                 # floor: debt is never understated
    assert f(-100, 1000, 1) == "-0.1"
    assert f(-150000, 1000000, 1) == "-0.2"
    assert f(-2000000, 1000000, 2) == "-2.00"
    raises(ValueError, f, 1, 10, -1)


def test_unit_and_money_formatting_edge_cases():
    assert messages.units_micro(0) == "0.0kWh"
    assert messages.units_micro(12500000) == "12.5kWh"          # 125 tenths of STS
    assert messages.units_micro(-500000, "m3") == "-0.5m3"
    assert messages.units_micro(99999999900000) == "99999999.9kWh"
    assert messages.units_milli(1234567) == "1234.5kWh"
    assert messages.units_milli(1500, "m3", 3) == "1.500m3"
    assert messages.money_micro(123450000, "KES") == "KES 123.45"
    assert messages.money_micro(0, "KES") == "KES 0.00"
    assert messages.money_micro(-1500000, "EUR") == "EUR -1.50"
    assert messages.money_micro(123450000) == "123.45"
    assert messages.money_micro(1234567890000000, "UGX", 0) == "UGX 1234567890"
    assert messages.money_micro(7, "KWD", 3) == "KWD 0.000"
    # 2**62 micro: far beyond a meter's maximum credit, still exact
    assert messages.money_micro(4611686018427387904, "") == "4611686018427.38"


def test_label_value_keeps_the_value_whole():
    lv = messages.label_value
    assert lv("Credit", "40.0kWh") == "Credit   40.0kWh"
    assert lv("Credit", "KES 12345.67") == "Cre KES 12345.67"
    assert lv("Credit", "KES 1234567.89") == "C KES 1234567.89"
    assert lv("Credit", "KES 12345678.90") == " KES 12345678.90"
    assert lv("Credit", "KES 123456789.00") == "KES 123456789.00"
    assert lv("Credit", "KES 1234567890.00") == "#" * 16    # never a cut number
    for v in ("", "1", "KES 1234567.89", "x" * 30):
        assert is_line(lv("Credit", v))


def test_duration_text():
    assert messages.duration(0) == "0 s"
    assert messages.duration(10) == "10 s"
    assert messages.duration(80) == "1m 20s"
    assert messages.duration(1280) == "21m 20s"
    assert messages.duration(7500) == "2h 05m"


def test_fit_pads_cuts_and_keeps_ascii():
    assert messages.fit("") == " " * 16
    assert messages.fit("x" * 20) == "x" * 16
    assert messages.fit("Cr\u00e9dit \u20ac5") == "Cr?dit ?5       "
    assert messages.fit("a\tb") == "a?b" + " " * 13


# ------------------------------------------------------------------ token messages
def test_every_result_has_a_readable_message():
    seen = {}
    for code in range(1, 17):
        name = messages.result_name(code)
        screens = messages.token_message(code)
        assert screens == messages.token_message(name)
        assert screens, name
        for line1, line2, seconds in screens:
            assert is_line(line1) and is_line(line2), (name, line1, line2)
            assert line1.strip() and line2.strip(), name
            assert 0 < seconds <= 10
        seen[name] = screens[0][:2]
    assert len(seen) == 16
    # no two results read the same
    assert len(set(seen.values())) == 16
    # no table text was cut to fit
    for label, why in messages._REJECTS.values():
        assert len("Reject: " + label) <= 16 and len(why) <= 16


def test_reject_texts():
    assert messages.token_message("used")[0][:2] == ("Reject: used    ", "Used before     ")
    assert messages.token_message("Old")[0][0].rstrip() == "Reject: old"
    assert messages.token_message("CRC")[0][1].rstrip() == "Check the digits"
    assert messages.token_message("Mfr code")[0][0].rstrip() == "Reject: mfr code"
    assert messages.token_message("Key expired")[0][0].rstrip() == "Reject: expired"
    assert messages.token_message("DDTK")[0][1].rstrip() == "Needs key change"


def test_clou_reject_count_and_lockout_after_a_reject():
    assert messages.token_message("used", failures=2)[0][0].rstrip() == "Reject-2: used"
    # the label gives way to the count when both do not fit
    assert messages.token_message("overflow", failures=3)[0][0].rstrip() == "Reject-3"
    assert messages.token_message("crc", failures=10)[0][0].rstrip() == "Reject-10: CRC"
    screens = messages.token_message("crc", failures=3, lockout_s=10)
    assert [s[0].rstrip() for s in screens] == ["Reject-3: CRC", "Token lockout"]
    assert screens[1][1].rstrip() == "Wait 10 s"


def test_lockout_message_shows_the_time_left():
    screens = messages.token_message("Token lockout", lockout_s=1280)
    assert [(a.rstrip(), b.rstrip()) for a, b, _ in screens] == \
        [("Token lockout", "Wait 21m 20s")]
    assert messages.token_message(15, lockout_s=45)[0][1].rstrip() == "Wait 45 s"


def test_accept_then_amount_and_credit():
    screens = messages.token_message("accept", "12.5kWh", "40.0kWh")
    assert screens == [("Accept          ", "Token OK        ", 3),
                       ("Added   +12.5kWh", "Credit   40.0kWh", 5)]
    # a negative currency token keeps its sign
    screens = messages.token_message(1, "KES -5.00", "KES 10.00")
    assert screens[1][0] == "Added  KES -5.00"
    # management token accepted: nothing to add
    assert messages.token_message("accept") == [("Accept          ", "Token OK        ", 3)]


def test_key_change_and_not_ready():
    assert messages.token_message("1stKCT")[0][:2] == (messages.fit("Key change"),
                                                       messages.fit("1st token OK"))
    assert messages.token_message("2ndKCT")[0][1].rstrip() == "2nd token OK"
    assert messages.token_message("not ready")[0][0].rstrip() == "Not ready"


def test_unknown_results_are_refused():
    for bad in (0, 18, "bogus", True):
        raises(ValueError, messages.token_message, bad)


def test_credit_state_entry_error_and_emergency_texts():
    assert messages.credit_state_screen("normal") is None
    assert messages.credit_state_screen("low1")[0].rstrip() == "Credit low"
    assert messages.credit_state_screen("low2")[0].rstrip() == "Credit very low"
    assert messages.credit_state_screen("ready") == (messages.fit("READY: press"),
                                                     messages.fit("button twice"))
    for state in ("exhausted", "emergency", "disconnected", "friendly", "limited"):
        a, b = messages.credit_state_screen(state)
        assert is_line(a) and is_line(b) and a.strip()
    raises(ValueError, messages.credit_state_screen, "low3")
    assert messages.entry_error_message("unknown code", "99")[0][:2] == \
        (messages.fit("Unknown code"), messages.fit("#99#"))
    assert messages.entry_error_message("too few digits", "12")[0][0].rstrip() == \
        "Too few digits"
    assert messages.emergency_message("accepted", "KES 3.00")[0][1].rstrip() == "+KES 3.00"
    assert messages.emergency_message("not_needed")[0][1].rstrip() == "not needed yet"


# ------------------------------------------------------------------ display model
def test_lines_are_always_sixteen_characters():
    d = Display()
    d.set_default("A very long default line that overflows", "")
    d.show(0, [("x", "\u00fc" * 40, 3)])
    for t in (0, 2, 3, 7):
        line1, line2, _ = d.render(t)
        assert is_line(line1) and is_line(line2)
    d.set_entry(("1234 5678 9012", "3456 7890"))
    line1, line2, _ = d.render(8)
    assert (line1, line2) == ("1234 5678 9012  ", "3456 7890       ")


def test_message_queue_expires_back_to_the_default_screen():
    d = Display()
    d.set_default(messages.label_value("Credit", "52.5kWh"))
    d.show(100, messages.token_message("accept", "12.5kWh", "52.5kWh"))
    lines = [d.render(t)[:2] for t in (100, 102, 103, 107, 108, 200)]
    assert lines[0][0].rstrip() == "Accept" and lines[1][0].rstrip() == "Accept"
    assert lines[2][0] == "Added   +12.5kWh" and lines[3][0] == "Added   +12.5kWh"
    assert lines[4][0] == lines[5][0] == "Credit   52.5kWh"


def test_a_new_message_replaces_the_queue_unless_it_follows():
    d = Display()
    d.show(0, [("first", "", 5), ("second", "", 5)])
    d.show(1, [("new", "", 2)])
    assert d.render(1)[0].rstrip() == "new"
    assert d.render(3)[0].rstrip() == "Credit"
    d.show(10, [("a", "", 2)])
    d.show(11, [("b", "", 3)], after=True)
    assert [d.render(t)[0].rstrip() for t in (11, 12, 14, 15)] == ["a", "b", "b", "Credit"]
    raises(ValueError, d.show, 20, [("zero", "", 0)])


def test_typing_hides_messages_and_the_entry_shows_the_keypad():
    d = Display()
    kp = Keypad()
    d.show(0, [("Reject: used", "Used before", 5)])
    for i, k in enumerate("123456"):
        kp.key(1 + i, k)
        d.set_entry(kp.entry_lines())
    assert d.render(7)[:2] == (messages.fit("1234 56"), messages.fit(""))
    kp.tick(30)
    d.set_entry(kp.entry_lines())
    assert d.render(30)[0].rstrip() == "Credit"        # the reject is not shown again


def test_indicators_follow_the_status():
    d = Display()
    _, _, ind = d.render(0)
    assert ind == {"supply": "on", "alarm": False, "tamper": False, "lockout": False}
    d.set_status(supply="off", credit_state="disconnected", tamper=True, lockout=True)
    _, _, ind = d.render(0)
    assert ind == {"supply": "off", "alarm": True, "tamper": True, "lockout": True}
    d.set_status(tamper=False)                          # others keep their values
    assert d.render(0)[2]["lockout"] is True and d.render(0)[2]["tamper"] is False
    raises(ValueError, d.set_status, supply="open")
    raises(ValueError, d.set_status, credit_state="lowish")


def test_low_credit_alternates_with_the_default_screen():
    d = Display()
    d.set_default(messages.label_value("Credit", "1.2kWh"))
    d.set_status(credit_state="low2")
    first = [d.render(t)[0].rstrip() for t in range(0, 16, 4)]
    assert first == ["Credit    1.2kWh", "Credit very low"] * 2
    d.set_status(credit_state="normal")
    assert d.render(4)[0].rstrip() == "Credit    1.2kWh"


def test_ready_and_friendly_notices():
    d = Display()
    d.set_status(supply="ready", reason="await_confirm", credit_state="normal")
    assert d.render(4)[:2] == messages.credit_state_screen("ready")
    d.set_status(supply="on", reason="friendly", credit_state="disconnected")
    assert d.render(4)[0].rstrip() == "Friendly credit"


def test_every_reason_the_supply_is_held_has_a_screen():
    for reason in ("overload", "overload_lockout", "unbalance", "unbalance_lockout",
                   "low_battery", "magnet", "tilt", "leak", "over_flow", "manual_off",
                   "tamper_cover", "tamper_reverse"):
        line1, line2 = messages.supply_screen(reason)
        assert is_line(line1) and is_line(line2) and line1.strip() and line2.strip()
    assert messages.supply_screen("tamper_magnet")[0].rstrip() == "Tamper: magnet"
    for reason in ("credit", "credit_exhausted", "friendly", "await_confirm"):
        assert messages.supply_screen(reason) is None        # the credit screens say it
    assert messages.alarm_screen("low_battery")[0].rstrip() == "Battery low"
    assert messages.alarm_screen("leak")[0].rstrip() == "Leak suspected"
    assert messages.alarm_screen("low1") is None


def test_the_display_says_why_the_supply_is_off_and_lights_the_alarm():
    d = Display()
    d.set_default("Credit  109.9kWh")
    d.set_status(supply="off", reason="overload_lockout", credit_state="normal",
                 alarm="overload_lockout")
    assert d.render(0)[2]["alarm"] is True
    assert [d.render(t)[0].rstrip() for t in (0, 4)] == ["Credit  109.9kWh", "Overload: reduce"]
    assert d.render(4)[1].rstrip() == "load, press btn"
    d.set_status(supply="ready", reason="over_flow", alarm="over_flow")
    assert d.render(4)[0].rstrip() == "Flow too high"
    d.set_status(supply="on", reason="credit", alarm="low_battery")   # alarm only
    assert d.render(4)[0].rstrip() == "Battery low" and d.render(4)[2]["alarm"] is True
    d.set_status(supply="on", reason="credit", alarm=None)
    assert d.render(4)[0].rstrip() == "Credit  109.9kWh" and d.render(4)[2]["alarm"] is False


def test_board_args_and_text_form():
    d = Display()
    d.set_default("Credit   40.0kWh")
    d.set_status(supply="ready", credit_state="low1")
    frame = d.render(0)
    l1, l2, flags = board_args(frame, 0)
    assert (l1, l2) == ("Credit   40.0kWh", " " * 16)
    assert flags == {"supply": True, "alarm": True, "tamper": False, "lockout": False}
    assert board_args(frame, 1)[2]["supply"] is False          # READY blinks
    assert as_text(frame) == "|Credit   40.0kWh|\n|                |\n[SUPPLY READY] [ALARM]"
    d.set_status(supply="limited")
    assert board_args(d.render(0), 1)[2]["supply"] is True


def test_display_test_lights_everything_then_the_character_set():
    d = Display()
    d.test(50)
    l1, l2, ind = d.render(50)
    assert l1 == l2 == "#" * 16
    assert ind == {"supply": "on", "alarm": True, "tamper": True, "lockout": True}
    assert d.render(52)[0] == "0123456789ABCDEF"
    assert d.render(54)[0].rstrip() == "Credit"


def test_real_meter_top_up_shown_on_the_display():
    """The core's credit micro through messages to the screen, as the firmware does."""
    now = at(2025, 3, 14, 12)
    m, _ = new_meter(electricity(), now, credit_micro=40 * UNIT)
    assert m.topup(now + 1, 12500000) == "accepted"
    amount = messages.money_micro(12500000, "KES")
    balance = messages.money_micro(m.balance_micro(), "KES")
    d = Display()
    d.set_default(messages.label_value("Credit", balance))
    d.set_status(supply=m.state()[0], reason=m.state()[1], credit_state=m.credit_state)
    d.show(now + 1, messages.token_message("accept", amount, balance))
    assert d.render(now + 4)[:2] == ("Added +KES 12.50", "Credit KES 52.50")
    assert d.render(now + 9)[0] == "Credit KES 52.50"
    assert d.render(now + 9)[2]["supply"] == "on"


def test_read_outs_of_a_running_meter():
    """#01#..#06# read-outs from the real core's totals after two hours at 1.8 kW."""
    start = at(2025, 3, 14, 12)
    m, _ = new_meter(electricity(), start, credit_micro=40 * UNIT)
    run_power(m, start, start + 2 * HOUR, 1800)
    amounts = messages.Amounts("electricity", "currency", "KES")
    totals = m.totals()

    def values(name, price=None):
        return [(a.rstrip(), b.strip())
                for a, b, _ in messages.readout_message(name, totals, amounts, price)]
    # 3.6 kWh at 0.20 a kWh cost 0.72
    assert values("credit") == [("Credit", "KES 39.28")]
    assert values("consumption_today") == [("Used today", "3.6kWh"),
                                           ("Spent today", "KES 0.72")]
    assert values("total") == [("Total", "3.6kWh")]
    assert values("power_now") == [("Power now", "1800 W")]
    assert values("tariff_rate", 200000) == [("Tariff rate", "KES 0.20/kWh")]
    assert values("debt") == [("Debt", "KES 0.00")]
    for name in ("credit", "debt"):
        for a, b, seconds in messages.readout_message(name, totals, amounts):
            assert is_line(a) and is_line(b) and b[-1] != " " and seconds == 10
    raises(ValueError, messages.readout_message, "tariff_rate", totals, amounts)
    raises(ValueError, messages.readout_message, "last_token", totals, amounts)


def test_token_history_lines():
    when = at(2025, 3, 14, 12, 5)
    assert messages.history_message(1, when, "accept", "+12.5kWh") == \
        [("#1 14/03 12:05  ", "Accept  +12.5kWh", 10)]
    assert messages.history_message(10, when + 3 * DAY, 10)[0][:2] == \
        ("#10 17/03 12:05 ", messages.fit("Used"))
    for code in range(1, 17):
        line1, line2, _ = messages.history_message(9, when, code, "KES 1000.00")[0]
        assert is_line(line1) and is_line(line2) and line2.strip()
    assert messages.no_history_message()[0][0].rstrip() == "No tokens yet"


def test_unit_credit_water_amounts():
    water = messages.Amounts("water", "unit")
    assert water.credit(2500000) == "2.5m3"
    assert water.quantity(1500) == "1.5m3"
    assert water.power(90) == "90 L/h"
    raises(ValueError, messages.Amounts, "steam")


# ------------------------------------------------------------------ alarm sounder
def test_sounds_on_entering_low_credit_and_repeats_every_half_hour():
    noon = at(2025, 3, 14, 12)
    a = AlarmSounder()
    assert a.update(noon, "normal") is None
    assert a.update(noon + 10, "low1") == ("on", 120)
    assert a.sounding
    assert a.update(noon + 60, "low1") is None
    assert a.update(noon + 130, "low1") == ("off", 0)
    assert a.update(noon + 1809, "low1") is None
    assert a.update(noon + 1810, "low1") == ("on", 120)
    # a further state change sounds at once
    assert a.update(noon + 1820, "low2") == ("on", 120)
    assert a.update(noon + 1830, "normal") == ("off", 0)
    assert a.update(noon + 4000, "normal") is None
    # states that do not sound
    assert a.update(noon + 5000, "emergency") is None


def test_a_key_press_silences_until_the_next_state_change():
    noon = at(2025, 3, 14, 12)
    a = AlarmSounder()
    assert a.update(noon, "low1") == ("on", 120)
    assert a.silence(noon + 5) == ("off", 0)
    assert a.silence(noon + 6) is None
    for t in range(noon, noon + 6 * HOUR, 600):
        assert a.update(t, "low1") is None
    assert a.update(noon + 6 * HOUR, "low2") == ("on", 120)


def test_quiet_hours_hold_the_alarm_until_eight():
    a = AlarmSounder()
    evening = at(2025, 3, 14, 21, 59)
    assert a.update(evening, "low1") == ("on", 120)
    assert a.update(at(2025, 3, 14, 22, 0), "low1") == ("off", 0)     # quiet starts
    # a state change at 23:00 does not sound; nothing sounds all night
    assert a.update(at(2025, 3, 14, 23), "exhausted") is None
    for t in range(at(2025, 3, 14, 23), at(2025, 3, 15, 8), 300):
        assert a.update(t, "exhausted") is None, t
    assert a.update(at(2025, 3, 15, 8), "exhausted") == ("on", 120)
    assert a.update(at(2025, 3, 15, 8, 30), "exhausted") == ("on", 120)


def test_quiet_hours_inside_one_day_and_none():
    a = AlarmSounder(beep_s=60, repeat_s=600, quiet=(13 * 60, 14 * 60))
    assert a.update(at(2025, 3, 14, 13, 30), "low1") is None
    assert a.update(at(2025, 3, 14, 13, 59), "low1") is None
    assert a.update(at(2025, 3, 14, 14, 0), "low1") == ("on", 60)
    b = AlarmSounder(quiet=None)
    assert b.update(at(2025, 3, 14, 3), "low1") == ("on", 120)
    raises(ValueError, AlarmSounder, 0)
    raises(ValueError, AlarmSounder, 120, 60)
