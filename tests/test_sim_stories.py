"""The meter's stories end to end through ``prepay sim --script``: the firmware with the
sim board, tokens made by the host codec. CPython-only (each test starts the simulator
as a user would).

They run on the most ESP32-like runtime here: MicroPython built for 32 bits with the
firmware frozen in (``prepay firmware build``, cached; the first test pays for it) in a
64 KB heap, what an ESP32 gives the firmware with room to spare. The PyPI port
(``--runtime stock``) runs the test that needs its mapped flash."""
import json
import os
import random
import subprocess
import sys

import pytest

from tokens import build
from tokens.tid import tid_at

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "boards", "sim", "examples")
KEY = bytes.fromhex("87f3ecbb2e46b48f")
MICRO = 1000000
RUNTIME = "frozen32"
HEAP = "64K"


def tid(minute_offset=0, when=(2026, 11, 23, 8, 0)):
    return tid_at(2014, *when) + minute_offset


def unit_token(tenths, n=0, utility="electricity"):
    return build.credit_token(KEY, "sta", utility, tid(n), tenths).digits


def currency_token(amount_e5, n=0, when=(2026, 11, 23, 8, 0)):
    return build.currency_token(KEY, "sta", "electricity", tid(n, when), amount_e5).digits


def sim(state, script, config=None, cut=None, expect_rc=0, heap=HEAP, files=False,
        runtime=RUNTIME):
    """Run a script; returns (status lines as dicts, other stdout lines, stderr)."""
    args = [sys.executable, "-m", "host.cli", "sim", "--state", str(state), "--script", "-",
            "--heap", heap, "--runtime", runtime]
    if files:
        args.append("--files")
    if config:
        args += ["--config", os.path.join(EXAMPLES, config + ".json")]
    if cut is not None:
        args += ["--cut-after-writes", str(cut)]
    proc = subprocess.run(args, input=script, capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == expect_rc, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    return [x for x in lines if "event" not in x], [x for x in lines if "event" in x], \
        proc.stderr


def test_token_accepted_then_replay_is_used(tmp_path):
    token = unit_token(255)
    st, _, err = sim(tmp_path, "at 2026-11-23T08:00\nstatus\ntoken %s\nstatus\n"
                     "token %s\nstatus\n" % (token, token), "electricity-unit")
    assert st[0]["credit"] == "0.000" and st[0]["supply"] == "off"
    assert st[1]["last_token"]["result"] == "Accept" and st[1]["last_token"]["amount"] == "25.500"
    assert st[1]["credit"] == "25.500" and st[1]["supply"] == "on"
    assert st[1]["display"] == ["Accept          ", "Token OK        "]
    assert st[2]["last_token"]["result"] == "Used" and st[2]["credit"] == "25.500"
    assert "key" not in st[1]["sts"] and "87f3ecbb2e46b48f" not in json.dumps(st)
    assert "peak heap" in err


def test_tou_day_deducts_the_hand_computed_amount(tmp_path):
    # Monday 2026-11-23, 1 kW all day: rate 3 (12 KES) 00-06, rate 1 (20) 06-17,
    # rate 2 (30) 17-21, rate 1 21-23, rate 3 23-24; standing 10 KES at midnight
    st, _, _ = sim(tmp_path, "at 2026-11-23T00:00\ntoken %s\nload 1kW\nadvance 24h\nstatus\n"
                   % currency_token(1000 * 100000), "electricity-currency-tou")
    s = st[0]
    assert s["rates_milli"] == [13000, 4000, 7000, 0]
    assert s["books"]["energy"] == (6 * 12 + 11 * 20 + 4 * 30 + 2 * 20 + 1 * 12) * MICRO
    assert s["books"]["standing"] == 10 * MICRO
    assert s["credit_micro"] == s["books"]["purchased"] - (464 + 10) * MICRO
    assert s["credit_unit"] == "KES"


def test_low_credit_alarm_then_disconnect_at_zero_and_restore(tmp_path):
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-23T08:00", "token " + unit_token(60), "load 1kW", "advance 30m", "status",
        "advance 40m", "status", "advance 6h", "status", "token " + unit_token(100, 1),
        "status"]), "electricity-unit")
    assert st[0]["alarm"] is None and st[0]["supply"] == "on"
    assert st[1]["alarm"] == "low1" and st[1]["indicators"]["alarm"] is True
    assert st[2]["supply"] == "off" and st[2]["supply_reason"] == "credit_exhausted"
    used = st[2]["import_milli"]
    assert 6000 <= used <= 6001                     # cut within a second of zero credit
    assert st[2]["alarm"] == "exhausted"
    assert st[3]["supply"] == "on" and st[3]["last_token"]["result"] == "Accept"


def test_gas_stays_ready_until_the_double_press(tmp_path):
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-23T08:00", "token " + unit_token(100, utility="gas"), "advance 10s",
        "status", "button",
        "status", "button", "advance 10s", "status", "flow 600L/h", "advance 1h", "status"]),
        "gas")
    assert st[0]["supply"] == "ready" and st[0]["switch"] == "off"
    assert st[1]["supply"] == "ready"
    assert st[2]["supply"] == "on" and st[2]["switch"] == "on"
    assert st[3]["volume"] == "0.600" and st[3]["credit"] == "9.400"


def test_friendly_hours_keep_the_supply_on_through_friday_night(tmp_path):
    # friendly: Friday 18:00-24:00 and the whole weekend; credit runs out Friday 19:00
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-27T17:00", "token " + currency_token(int(40.5 * 100000)), "load 1kW",
        "advance 3h", "status", "advance 2d", "status", "advance 5h", "status"]),
        "electricity-currency-tou")
    assert st[0]["supply"] == "on" and st[0]["supply_reason"] == "friendly"
    assert st[0]["credit_micro"] < 0                  # runs into debt, not cut
    assert st[1]["supply"] == "on" and st[1]["supply_reason"] == "friendly"  # Sunday 20:00
    assert st[2]["supply"] == "off"                   # Monday 01:00: window over


def test_load_limit_trips_and_locks_out(tmp_path):
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-23T08:00", "token " + unit_token(1000), "load 6kW", "advance 5s", "status",
        "advance 10s", "status", "advance 10m", "status"]), "electricity-unit")
    assert st[0]["supply"] == "on"
    assert st[1]["supply"] == "off" and st[1]["supply_reason"] == "overload"
    assert st[2]["supply"] == "off" and st[2]["supply_reason"] == "overload_lockout"


def test_tamper_refuses_credit_until_cleared(tmp_path):
    clear = build.clear_tamper(KEY, "sta", tid(2)).digits
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-23T08:00", "tamper cover on", "token " + unit_token(100), "status",
        "token " + clear, "token " + unit_token(100), "status"]), "electricity-unit")
    assert st[0]["tampers"] == ["cover"] and st[0]["last_token"]["result"] == "Tamper"
    assert st[0]["indicators"]["tamper"] is True and st[0]["credit"] == "0.000"
    assert st[1]["tampers"] == [] and st[1]["credit"] == "10.000"


def test_lockout_survives_a_power_cut(tmp_path):
    bad = build.credit_token(b"\x11\x22\x33\x44\x55\x66\x77\x88", "sta", "electricity",
                             tid(5), 100).digits          # another meter's: CRC
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-23T08:00", "token " + bad, "token " + bad, "token " + bad, "status",
        "power cut", "advance 2s", "power on", "status", "token " + unit_token(100),
        "status"]), "electricity-unit")
    assert st[0]["lockout_s"] == 10 and st[0]["indicators"]["lockout"] is True
    assert 0 < st[1]["lockout_s"] <= 8
    assert st[2]["last_token"]["result"] == "Token lockout"


def test_the_power_fail_signal_saves_what_a_sudden_cut_loses(tmp_path):
    """With the power-fail signal the meter reads its metering chip and saves in the
    hold-up time: nothing measured is lost. A cut without it loses what was measured
    since the last sample (at most the 15-minute metering bound)."""
    script = ("at 2026-11-23T08:00\ntoken %s\nload 3kW\nadvance 7m\npower %s\n"
              "power on\nstatus\n")
    kept, _, _ = sim(tmp_path / "fail", script % (unit_token(100), "fail"), "electricity-unit")
    assert kept[0]["import_milli"] == 350 and kept[0]["credit"] == "9.650"   # 3 kW x 7 min
    books_hold(kept[0], MICRO)
    lost, _, _ = sim(tmp_path / "cut", script % (unit_token(100), "cut"), "electricity-unit")
    assert lost[0]["import_milli"] == 0 and lost[0]["credit"] == "10.000"
    books_hold(lost[0], MICRO)


def test_the_flash_image_is_one_format_mapped_or_read_as_a_file(tmp_path):
    """prepay sim maps the state's flash.img into the firmware's memory; what it leaves is
    the LittleFS image that the file-backed flash (--files) boots from, and back."""
    first, _, _ = sim(tmp_path, "at 2026-11-23T08:00\ntoken %s\nstatus\n" % unit_token(100),
                      "electricity-unit", heap="200K", runtime="stock")
    assert os.path.getsize(tmp_path / "flash.img") == 128 * 4096
    from_file, _, _ = sim(tmp_path, "status\ntoken %s\nstatus\n" % unit_token(20, n=1),
                          heap="400K", files=True, runtime="stock")
    assert from_file[0]["credit"] == first[0]["credit"] == "10.000"
    mapped_again, _, _ = sim(tmp_path, "status\n", heap="200K", runtime="stock")
    assert mapped_again[0]["credit"] == from_file[1]["credit"] == "12.000"


def test_script_errors_name_the_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "host.cli", "sim", "--state", str(tmp_path),
                           "--config", os.path.join(EXAMPLES, "water.json"), "--script", "-"],
                          input="at 2026-11-23T08:00\nadvance 2h\nflow 12 furlongs\n",
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "line 3" in proc.stderr and "furlongs" in proc.stderr


def test_the_interactive_face_takes_keys_and_goes_dark_without_power(tmp_path):
    """A customer's view: keys typed in a terminal reach the keypad, the display shows
    the result; ':help' lists the commands, ':status' shows the status; after
    ':power cut' the face is dark and keys do nothing."""
    import pty
    import select
    import time
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "host.cli", "sim", "--state", str(tmp_path),
         "--config", os.path.join(EXAMPLES, "electricity-unit.json")],
        stdin=terminal, stdout=terminal, stderr=terminal, cwd=ROOT, close_fds=True)
    os.close(terminal)
    seen = bytearray()

    def type_and_wait(text, expected, timeout_s=30):
        os.write(controller, text.encode())
        end = time.monotonic() + timeout_s
        while expected.encode() not in seen and time.monotonic() < end:
            if select.select([controller], [], [], 0.2)[0]:
                seen.extend(os.read(controller, 65536))
        assert expected.encode() in seen, bytes(seen[-600:])
        del seen[:]

    try:
        type_and_wait("", "keys 0-9")
        now = time.localtime()[:5]          # a new meter's clock starts at the host's
        token = build.credit_token(KEY, "sta", "electricity", tid_at(2014, *now), 100)
        type_and_wait(token.digits + "#", "Accept")
        type_and_wait(":help\n", "clock set 2026-11-23T07:00")
        type_and_wait(":status\n", "supply_reason")
        type_and_wait(":power cut\n", "no power")
        type_and_wait("5", "the keypad is dark")
        type_and_wait(":power on\n", "Credit")
        os.write(controller, b"q")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(controller)


def test_a_configuration_the_meter_cannot_run_is_refused_in_one_line(tmp_path):
    """The firmware refuses it at boot (not a crash) and prepay sim says which field."""
    with open(os.path.join(EXAMPLES, "electricity-unit.json")) as f:
        good = json.load(f)
    cases = ((("sts", "krn"), "x", "sts.krn: must be an integer 1..9, got 'x'"),
             (("board", "variant"), "nuclear", "board.variant: one of"))
    for (section, key), value, said in cases:
        config = json.loads(json.dumps(good))
        config[section][key] = value
        state = tmp_path / key
        state.mkdir()
        (state / "meter.json").write_text(json.dumps(config))
        _, _, err = sim(state, "status\n", expect_rc=2)
        assert err.startswith("prepay sim: error: the meter refuses its meter.json: " + said)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_load_and_flow_go_to_the_meters_that_measure_them(tmp_path):
    """'load' is power (electricity, heat), 'flow' is volume (water, gas): the other word
    stops the script at its line instead of feeding watts to a water meter."""
    for config, wrong, said in (("water", "load 2kW", "this meter measures flow: use flow"),
                                ("electricity-unit", "flow 120L/h",
                                 "this meter measures power: use load")):
        _, _, err = sim(tmp_path / config, "at 2026-11-23T08:00\n%s\n" % wrong, config,
                        expect_rc=1)
        assert "line 2: " + said in err


def test_time_stops_at_the_end_of_the_meters_calendar(tmp_path):
    _, _, err = sim(tmp_path, "at 2099-12-01T00:00\nadvance 30d\nadvance 1d\n",
                    "electricity-unit", expect_rc=1)
    assert "line 3: the meter's calendar ends with 2099" in err


def test_a_heap_too_small_is_said_in_one_line(tmp_path):
    _, _, err = sim(tmp_path / "small", "status\n", "electricity-unit", heap="32K", expect_rc=2)
    assert err.startswith("prepay sim: error: the firmware ran out of memory in a 32K heap")
    assert "MemoryError" in err and len(err.strip().splitlines()) == 1
    _, _, err = sim(tmp_path / "bad", "status\n", "electricity-unit", heap="lots", expect_rc=2)
    assert "--heap: a heap size such as 200K or 1M, not 'lots'" in err


def test_help_lists_the_script_commands():
    out = subprocess.run([sys.executable, "-m", "host.cli", "sim", "--help"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    for command in ("advance 90m", "token 1234", "power fail", "expect FIELD VALUE"):
        assert command in out


def books_hold(s, price_micro_per_kwh=None):
    """The credit identity holds; at a flat price, energy and its charge agree too."""
    b = s["books"]
    identity = (b["purchased"] + b["ec_given"] - b["ec_repaid"] - b["debt_paid"] - b["energy"]
                - b["standing"] - b["cleared"])
    assert b["balance"] == identity
    if price_micro_per_kwh is None:
        return
    # consumed energy and what was charged for it agree within one 10 Wh quantum
    assert abs(s["import_milli"] * price_micro_per_kwh // 1000 - b["energy"]) \
        <= 10 * price_micro_per_kwh // 1000


def test_power_cuts_at_random_writes_keep_the_books(tmp_path):
    """Cut the flash at random block writes through top-ups and consumption; after each
    cut the meter boots from what survived and the credit invariant holds."""
    rng = random.Random(5)
    state = tmp_path / "meter"
    sim(state, "at 2026-11-23T08:00\nstatus\n", "electricity-unit")
    acknowledged = 0
    n = 0
    for round_no in range(12):
        token = unit_token(50, n=round_no + 1)
        script = "token %s\nstatus\nload %dW\nadvance %dm\nstatus\n" % (
            token, rng.choice((500, 1500, 3000)), rng.choice((20, 45, 90)))
        cut = rng.randint(1, 60)
        st, events, _ = sim(state, script, cut=cut)
        if st:
            acknowledged = max(acknowledged, st[0]["books"]["purchased"])
        after, _, _ = sim(state, "status\n")
        s = after[0]
        books_hold(s, MICRO)
        assert s["books"]["purchased"] >= acknowledged          # no top-up lost
        assert s["books"]["purchased"] <= (round_no + 1) * 5 * MICRO  # none applied twice
        assert s["books"]["purchased"] % (5 * MICRO) == 0
        n += 1 if events else 0
    assert n >= 6          # most rounds really were cut part-way


# W per hour of the day, about 10 kWh a day (the profile of bench/bench_sim.py)
HOUSEHOLD_W = (200, 180, 160, 160, 180, 220, 600, 1000, 600, 300, 250, 250,
               320, 300, 250, 300, 450, 800, 1800, 1600, 1000, 650, 420, 250)


def test_thirty_day_household_run_in_a_small_heap(tmp_path):
    """30 days of an hourly household profile on the TOU meter in 64 KB, below the ESP32's
    budget of about 100 KB: every day charged, no task crashed (the firmware would survive
    a MemoryError in a task by restarting it), the books hold, the peak heap reported."""
    profile = tmp_path / "household.csv"
    profile.write_text("".join("%02d:00,%d\n" % (h, w) for h, w in enumerate(HOUSEHOLD_W)))
    st, _, err = sim(tmp_path / "meter", "\n".join([
        "at 2026-11-01T00:00", "token " + currency_token(100000 * 100000, when=(2026, 11, 1, 0, 0)),
        "load profile %s" % profile, "advance 30d", "status"]),
        "electricity-currency-tou")
    s = st[-1]
    assert s["crashes"] == 0
    assert s["time"] == "2026-12-01T00:00:00" and s["supply"] == "on"
    assert s["import_milli"] == 30 * sum(HOUSEHOLD_W)            # Wh a day = W-hours
    assert s["books"]["standing"] == 30 * 10 * MICRO
    books_hold(s)
    assert sum(s["rates_milli"]) == s["import_milli"]
    assert "peak heap" in err and "heapsize=%s (%s)" % (HEAP, RUNTIME) in err


def test_a_state_folder_belongs_to_one_meter(tmp_path):
    """Another meter's configuration on a folder that holds a meter is refused in one
    line naming both; the same one again runs on; --reprovision starts afresh."""
    state = tmp_path / "meter"
    first, _, _ = sim(state, "at 2026-11-23T08:00\ntoken %s\nstatus\n" % unit_token(100),
                      "electricity-unit")
    _, _, err = sim(state, "status\n", "gas", expect_rc=2)
    assert err.startswith("prepay sim: error: %s holds meter 600727000000000025 (electricity"
                          % state) and "gas.json is meter 600727000000000033 (gas" in err
    assert "--reprovision" in err and len(err.strip().splitlines()) == 1
    again, _, _ = sim(state, "status\n", "electricity-unit")
    assert again[0]["credit"] == first[0]["credit"] == "10.000"
    changed = json.loads((state / "meter.json").read_text())
    changed["credit"]["alarms"]["low1"]["micro"] += 1
    changed["sts"]["key"] = "0011223344556677"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(changed))
    proc = run_sim(state, "status\n", "--config", str(edited))
    assert proc.returncode == 2 and "with another configuration than" in proc.stderr
    assert "(credit.alarms.low1.micro differ)" in proc.stderr     # not the key: delivered
    assert "0011223344556677" not in proc.stderr          # once, the meter keeps its own
    proc = run_sim(state, "status\n", "--reprovision")
    assert proc.returncode == 2 and "--reprovision needs --config" in proc.stderr
    proc = run_sim(state, "status\n", "--config", os.path.join(EXAMPLES, "gas.json"),
                   "--reprovision")
    assert proc.returncode == 0, proc.stderr
    assert "re-provisioned" in proc.stderr and "flash.img" in proc.stderr
    fresh = json.loads(proc.stdout.splitlines()[0])
    assert fresh["credit"] == "0.000" and fresh["identity"]["pan"] == "600727000000000033"


def run_sim(state, script, *flags):
    return subprocess.run([sys.executable, "-m", "host.cli", "sim", "--state", str(state),
                           "--script", "-", *flags], input=script, capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def test_at_only_goes_forward_and_clock_set_says_what_it_did(tmp_path):
    """'at' after 'advance' lets time pass until then (the load is metered on the way) or
    is refused when it lies behind; 'clock set' sets the clock back and says so."""
    st, _, _ = sim(tmp_path / "fwd", "at 2026-11-23T08:00\ntoken %s\nload 1kW\n"
                   "at 2026-11-23T09:00\nstatus\n" % unit_token(100), "electricity-unit")
    assert st[0]["time"] == "2026-11-23T09:00:00" and st[0]["import_milli"] == 1000
    _, _, err = sim(tmp_path / "back", "at 2026-11-23T08:00\nadvance 2h\nat 2026-11-23T09:00\n"
                    "status\n", "electricity-unit", expect_rc=1)
    assert ("line 3: at 2026-11-23T09:00:00 is before the meter's time 2026-11-23T10:00:00"
            in err and "'clock set 2026-11-23T09:00:00'" in err)
    st, events, _ = sim(tmp_path / "set", "at 2026-11-23T08:00\nadvance 2h\n"
                        "clock set 2026-11-23T09:00\nstatus\n", "electricity-unit")
    assert events == [{"event": "clock_set", "line": 3, "from": "2026-11-23T10:00:00",
                       "to": "2026-11-23T09:00:00"}]
    assert st[0]["time"] == "2026-11-23T09:00:00"
    # a state's clock keeps its time: a script starting earlier is refused too
    _, _, err = sim(tmp_path / "set", "at 2026-11-23T08:00\nstatus\n", expect_rc=1)
    assert "line 1: at 2026-11-23T08:00:00 is before the meter's time" in err


def test_a_power_cut_by_the_flash_says_where_and_nothing_else(tmp_path):
    """--cut-after-writes: one line naming the block write and the script line, the rest
    of the script said to be skipped; the firmware's failed writes are no 'crash'."""
    sim(tmp_path, "at 2026-11-23T08:00\ntoken %s\n" % unit_token(500), "electricity-unit")
    _, events, err = sim(tmp_path, "load 2kW\nadvance 1d\nstatus\n", cut=10)
    assert ("prepay sim: power cut after block write 10 (script line 2: advance 1d); the "
            "rest of the script (from line 3) did not run" in err)
    assert "crashed" not in err and "OSError" not in err
    assert events[0]["event"] == "power_cut" and events[0]["line"] == 2
    assert "; 10 block writes;" in err        # the writes before the cut, counted once
    proc = run_sim(tmp_path, "status\n", "--cut-after-writes", "100000", "--json")
    assert proc.returncode == 0, proc.stderr
    end = json.loads(proc.stdout.splitlines()[-1])
    assert end["event"] == "summary" and end["power_cut"] is None
    assert end["block_writes"] > 0 and end["heap_peak_bytes"] > 0 and end["time"]
    proc = run_sim(tmp_path, "status\n", "--cut-after-writes", "100000")
    assert "no power cut: the script ended before block write 100001" in proc.stderr


def test_flags_for_scripts_are_refused_without_one(tmp_path):
    for flag in (["--cut-after-writes", "5"], ["--verbose"], ["--json"]):
        proc = subprocess.run([sys.executable, "-m", "host.cli", "sim", "--state",
                               str(tmp_path), *flag], capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 2 and "%s goes with --script" % flag[0] in proc.stderr
        assert not os.listdir(tmp_path)


def test_test_token_for_every_meter_tests_the_load_switch(tmp_path):
    """The README's class 1 token (manufacturer code 0, control 0x1) on a meter of maker
    07: the relay opens for the load switch test and closes again; with no credit the
    supply stays off. Control 0 starts with the display test."""
    readme_token = "0000 0000 0001 5099 7584".replace(" ", "")
    st, _, _ = sim(tmp_path, "\n".join([
        "at 2026-11-23T08:00", "token " + readme_token, "advance 4s", "status",
        "token " + unit_token(255), "advance 2s", "status",
        "token " + readme_token, "advance 4s", "status", "advance 10s", "status",
        "token " + build.test_token(0).digits, "status", "advance 7s", "status"]),
        "electricity-unit")
    assert st[0]["display"] == ["Load switch     ", "supply held off "]
    assert st[0]["switch"] == "off" and st[0]["last_token"]["result"] == "Accept"
    assert st[1]["switch"] == "on" and st[1]["supply"] == "on"
    assert st[2]["display"][0] == "Load switch     " and st[2]["switch"] == "off"
    assert st[2]["supply"] == "on"                     # the core's decision is unchanged
    assert st[3]["switch"] == "on"
    assert st[4]["display"] == ["#" * 16, "#" * 16]   # control 0: the display test first
    assert st[5]["display"][0] == "Load switch     " and st[5]["switch"] == "off"


# ------------------------------------------------------------------ secrets at rest
NEW_KEY = bytes.fromhex("0123456789abcdef")
KEY_AREA = 2 * 4096           # the image's last blocks: the key partition (boards/sim)


def key_change_script(krn=2, ti=3):
    kcts = build.key_change(KEY, "sta", NEW_KEY, krn, 2, ti)
    return "".join("token %s\n" % t.digits for t in kcts)


def key_bytes_in(data, key):
    """Whether a key is in the bytes, as hex text (either case) or raw."""
    return any(form in data for form in (key.hex().encode(), key.hex().upper().encode(), key))


def where_keys_are(state):
    """{key: "partition" / "littlefs" / None} for the old and the new key in flash.img,
    and whether meter.json still holds the old one."""
    image = (state / "flash.img").read_bytes()
    found = {}
    for key in (KEY, NEW_KEY):
        found[key] = ("littlefs" if key_bytes_in(image[:-KEY_AREA], key) else
                      "partition" if key_bytes_in(image[-KEY_AREA:], key) else None)
    return found, key_bytes_in((state / "meter.json").read_bytes(), KEY)


def test_the_decoder_key_moves_into_its_partition_and_a_key_change_erases_the_old(tmp_path):
    """Issue 11 item 6: at the first boot the key leaves meter.json for the key partition;
    a key change overwrites it there (the old key's bytes are gone from the image) and the
    status shows the new key's KRN, KT, TI and SGC, never a key."""
    st, _, err = sim(tmp_path, "at 2026-11-23T08:00\nstatus\n", "electricity-unit")
    assert where_keys_are(tmp_path) == ({KEY: "partition", NEW_KEY: None}, False)
    held = json.loads((tmp_path / "meter.json").read_text())
    assert held["sts"]["key"] is None and held["sts"]["krn"] == 1
    assert st[0]["sts"]["krn"] == 1
    st, _, err2 = sim(tmp_path, key_change_script() + "status\ntoken %s\ntoken %s\nstatus\n"
                      % (build.credit_token(NEW_KEY, "sta", "electricity", tid(1), 100).digits,
                         unit_token(100, n=2)))
    assert where_keys_are(tmp_path) == ({KEY: None, NEW_KEY: "partition"}, False)
    sts = st[0]["sts"]
    assert (sts["krn"], sts["kt"], sts["ti"], sts["sgc"]) == (2, 2, 3, 201457)
    assert st[1]["credit"] == "10.000" and st[1]["last_token"]["result"] == "CRC"  # old key
    for text in (json.dumps(st), err, err2):
        assert not key_bytes_in(text.encode(), KEY) and not key_bytes_in(text.encode(), NEW_KEY)
    st, _, _ = sim(tmp_path, "status\n", "electricity-unit")     # the same meter again:
    assert st[0]["sts"]["krn"] == 2                              # its file is kept, no key
    assert where_keys_are(tmp_path) == ({KEY: None, NEW_KEY: "partition"}, False)


def provisioned(tmp_path):
    state = tmp_path / "provisioned"
    sim(state, "at 2026-11-23T08:00\nstatus\n", "electricity-unit")
    return state


def copy_state(source, target):
    import shutil
    shutil.copytree(source, target)
    return target


def test_a_cut_at_every_write_of_a_key_change_leaves_exactly_one_key(tmp_path):
    """Power cut after each block write of a key change: the meter boots with the old key
    or the new one, never none, never both, and its status names the one it has."""
    start = provisioned(tmp_path)
    new_credit = build.credit_token(NEW_KEY, "sta", "electricity", tid(1), 100).digits
    cut, finished = 0, False
    while not finished:
        state = copy_state(start, tmp_path / ("cut%d" % cut))
        _, events, _ = sim(state, key_change_script(), cut=cut)
        finished = not events
        st, _, _ = sim(state, "status\n")
        krn = st[0]["sts"]["krn"]
        found, _ = where_keys_are(state)
        assert found == ({KEY: "partition", NEW_KEY: None} if krn == 1 else
                         {KEY: None, NEW_KEY: "partition"}), (cut, krn, found)
        assert krn == 2 or not finished
        if krn == 1:                    # not landed: the customer types the set again
            st, _, _ = sim(state, key_change_script() + "status\n")
            assert st[0]["sts"]["krn"] == 2
        st, _, _ = sim(state, "token %s\nstatus\n" % new_credit)
        assert st[0]["last_token"]["result"] == "Accept", cut
        cut += 1
    assert cut >= 4, cut


def test_a_cut_at_every_write_of_the_first_boot_never_loses_the_key(tmp_path):
    """Power cut after each block write of the first boot (the key's import, then the
    meter's first records): the key is in its partition or still in meter.json, and the
    next boot ends with it in the partition only."""
    cut, finished = 0, False
    while not finished:
        state = tmp_path / ("cut%d" % cut)
        _, events, _ = sim(state, "at 2026-11-23T08:00\nstatus\n", "electricity-unit", cut=cut)
        finished = not events
        found, in_file = where_keys_are(state)
        assert in_file or found[KEY] == "partition", cut
        assert found[KEY] != "littlefs"
        st, _, _ = sim(state, "status\ntoken %s\nstatus\n" % unit_token(100))
        assert st[1]["last_token"]["result"] == "Accept" and st[1]["sts"]["krn"] == 1
        assert where_keys_are(state) == ({KEY: "partition", NEW_KEY: None}, False), cut
        cut += 1
    assert cut >= 3, cut


def test_a_flash_image_from_before_the_key_partition_is_refused_not_wiped(tmp_path):
    """An image whose LittleFS spans the whole chip (the simulator before the key
    partition) is refused in one line; formatting it would lose the meter's registers."""
    from littlefs import LittleFS
    fs = LittleFS(block_size=4096, block_count=128, read_size=32, prog_size=32,
                  cache_size=128, lookahead_size=32, block_cycles=100)
    fs.mkdir("data")
    (tmp_path / "flash.img").write_bytes(bytes(fs.context.buffer))
    with open(os.path.join(EXAMPLES, "electricity-unit.json")) as f:
        (tmp_path / "meter.json").write_text(f.read())
    _, _, err = sim(tmp_path, "status\n", expect_rc=2)
    assert "flash.img is from a simulator without a key partition" in err
    assert len(err.strip().splitlines()) <= 2 and "Traceback" not in err
    assert bytes(fs.context.buffer) == (tmp_path / "flash.img").read_bytes()


def test_the_optical_ports_passwords_leave_meter_json_for_the_key_partition(tmp_path):
    """The other secrets meter.json brings (the optical port's passwords) go the same way."""
    with open(os.path.join(EXAMPLES, "electricity-unit.json")) as f:
        config = json.load(f)
    config["ir"] = {"passwords": {"reader": "read-3141", "technician": "tech-2718"}}
    path = tmp_path / "METER.json"
    path.write_text(json.dumps(config))
    state = tmp_path / "meter"
    proc = run_sim(state, "at 2026-11-23T08:00\nstatus\n", "--config", str(path),
                   "--runtime", RUNTIME, "--heap", HEAP)
    assert proc.returncode == 0, proc.stderr
    held = json.loads((state / "meter.json").read_text())
    assert held["ir"]["passwords"] == {"reader": None, "technician": None}
    image = (state / "flash.img").read_bytes()
    for secret in (b"read-3141", b"tech-2718"):
        assert secret not in image[:-KEY_AREA] and secret in image[-KEY_AREA:]
        assert secret not in (proc.stdout + proc.stderr).encode()
    proc = run_sim(state, "status\n", "--config", str(path), "--runtime", RUNTIME,
                   "--heap", HEAP)                     # the same meter: runs on, file kept
    assert proc.returncode == 0 and json.loads((state / "meter.json").read_text()) == held
