"""``make demo``: the story of a prepaid meter, told by the real parts.

A meter is registered and its simulated twin configured (the same firmware as the
ESP32's, on the MicroPython Unix port); a token is made for it and typed in; a day of
household load on a TOU tariff deducts credit; the low-credit alarm shows; the supply
cuts at zero; a second token restores it. Tokens come from ``prepay token`` (the STS
codec); the vending station (``prepay vend``) takes over once its guide is in
``docs/vending.md``.
"""
import json
import os
import subprocess
import sys
import tempfile

from host.sim_cmd import Sim, run_command
from host.sim_script import iso, meter_seconds, parse_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "boards", "sim", "examples", "electricity-currency-tou.json")
KEY = "87f3ecbb2e46b48f"      # the public STS test key of the compliance vectors
HOUSEHOLD = "00:00=200W 06:00=600W 07:00=1kW 09:00=300W 17:00=800W 18:00=1.8kW " \
            "20:00=1kW 22:00=400W 23:00=250W"


def say(text):
    print("\n== " + text)


def face(status):
    d = status["display"]
    ind = status["indicators"]
    flags = " ".join(n.upper() for n in ("alarm", "tamper", "lockout") if ind[n])
    print("   +------------------+")
    print("   | %s |   supply %s %s" % (d[0], status["supply"].upper(), flags))
    print("   | %s |   %s, credit %s %s" % (d[1], status["time"].replace("T", " "),
                                            status["credit"], status["credit_unit"]))
    print("   +------------------+")


def prepay(*args):
    out = subprocess.run([sys.executable, "-m", "host.cli"] + list(args), cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def do(sim, line):
    run_command(sim, parse_line(0, line, ROOT), open(os.devnull, "w"))


def show(sim, line=None):
    if line:
        do(sim, line)
    status = sim.status()
    face(status)
    return status


def vend(amount, when):
    line = prepay("token", "credit", "--key", KEY, "--algorithm", "sta", "--base-date", "2014",
                  "--currency", amount, "--issued", when)
    print("   $ prepay token credit --key %s --currency %s --issued %s" % (KEY, amount, when))
    print("   " + line)
    return line.split("  ")[0]


def main():
    state = tempfile.mkdtemp(prefix="prepay-demo-")
    say("1. A meter is registered: PAN 600727 00000000001 + check digit, STS key revision 1,"
        " supply group 201457, on a time-of-use tariff (KES 12 night / 20 day / 30 evening"
        " per kWh, KES 10 a day standing charge)")
    with open(EXAMPLE) as f:
        cfg = json.load(f)
    cfg["supply"].pop("friendly", None)       # the demo's meter cuts on a weekday evening
    with open(os.path.join(state, "meter.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    print("   identity %s, board %s, state in %s" % (cfg["identity"]["pan"],
                                                      cfg["board"]["name"], state))

    say("2. Its simulated twin is switched on (the ESP32 firmware on the MicroPython Unix"
        " port, 200 KB heap): no credit yet, the relay is open")
    sim = Sim(state)
    sim.world.rtc_s = meter_seconds("2026-11-23T07:55")
    sim.power_on()
    show(sim)

    say("3. The customer buys KES 500 at the vending point")
    token = vend("500.00", "2026-11-23T07:58")

    say("4. ...and types it on the meter's keypad")
    do(sim, "token " + token)
    show(sim)
    do(sim, "advance 4s")
    show(sim)

    say("5. A day of household load (night 200 W, breakfast 1 kW, evening 1.8 kW)")
    do(sim, "load schedule " + HOUSEHOLD)
    status = show(sim, "advance 12h")
    status = show(sim, "advance 12h")
    print("   used %s kWh, charged KES %s energy + KES %s standing" % (
        status["energy"], "%.2f" % (status["books"]["energy"] / 1e6),
        "%.2f" % (status["books"]["standing"] / 1e6)))

    say("6. Credit runs low: the alarm shows (and the buzzer sounds outside quiet hours)")
    while sim.status()["alarm"] is None:
        do(sim, "advance 30m")
    status = show(sim)
    do(sim, "advance 4s")
    show(sim)

    say("7. At zero the supply is cut (emergency credit is offered with #09#)")
    while sim.status()["supply"] == "on":
        do(sim, "advance 30m")
    show(sim)

    say("8. A second token restores the supply")
    when = iso(sim.world.rtc_s)[:16]
    token = vend("300.00", when)
    do(sim, "token " + token)
    show(sim)
    do(sim, "advance 10s")
    status = show(sim)
    sim.finish()
    print("\nThe meter kept its books: bought KES %.2f = left %.2f + energy %.2f + standing %.2f"
          % (status["books"]["purchased"] / 1e6, status["books"]["balance"] / 1e6,
             status["books"]["energy"] / 1e6, status["books"]["standing"] / 1e6))
    print("Peak heap %d bytes in -X heapsize=200K. Try it yourself:\n"
          "  .venv/bin/prepay sim --state %s        (type digits, # to enter, q to quit)"
          % (sim.heap_peak, state))
    return 0


if __name__ == "__main__":
    sys.exit(main())
