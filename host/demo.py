"""``make demo``: the story of a prepaid meter, told by the real parts.

A meter is registered and its simulated twin configured (the same firmware as the
ESP32's, on the MicroPython Unix port); a token is made for it and typed in; a day of
household load on a TOU tariff deducts credit; the low-credit alarm shows; the supply
cuts at zero; a second token restores it. The tokens are sold by the vending station
(``prepay vend``) on its embedded default, a SQLite file in the demo's directory.
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile

from host.parse import format_fixed
from host.sim.runner import Sim, run_command
from host.sim.script import meter_seconds, parse_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "boards", "sim", "examples", "electricity-currency-tou.json")
# The public STS test vending key of the compliance vectors; the sim's decoder key is
# derived from it (DKGA04, SGC 201457, TI 01, KRN 1, KT 2, base date 2014).
PREPAY = os.path.join(os.path.dirname(sys.executable), "prepay")   # the venv's command
VENDING_KEY = "abababababababab949494949494949401234567"
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


def prepay(*args, env=None):
    out = subprocess.run([sys.executable, "-m", "host.cli"] + list(args), cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit("demo: prepay %s failed: %s" % (" ".join(args), out.stderr.strip()))
    return out.stdout.strip()


class Vending:
    """The utility's vending station on a SQLite file in the demo's directory."""

    def __init__(self, folder):
        self.env = dict(os.environ, PREPAY_DB=os.path.join(folder, "vending.db"),
                        PREPAY_KEYSTORE_PASSPHRASE="demo passphrase",
                        PREPAY_OPERATOR="admin", PREPAY_OPERATOR_PASSWORD="demo-admin",
                        PREPAY_NEW_OPERATOR_PASSWORD="demo-admin")
        self.folder = folder

    def run(self, *args, show=True):
        if show:
            print("   $ " + shlex.join(("prepay",) + args))
        return prepay(*args, env=self.env)

    def register(self, pan):
        self.run("vend", "init", "--timezone", "UTC")
        self.run("vend", "operator", "add", "admin", "--role", "admin")
        key_file = os.path.join(self.folder, "vk.hex")
        with open(key_file, "w") as f:
            f.write(VENDING_KEY)
        self.run("vend", "key", "add", "--sgc", "201457", "--krn", "1", "--dkga", "04",
                 "--key-file", key_file)
        os.remove(key_file)
        self.run("vend", "tariff", "add", "kes", "--flat", "1", "--vat", "16")
        self.run("vend", "customer", "add", "--account", "A-001", "--name", "Jane Doe")
        self.run("vend", "meter", "add", "--meter", pan, "--account", "A-001", "--sgc", "201457",
                 "--ti", "1", "--krn", "1", "--kt", "2", "--algorithm", "sta", "--base-date",
                 "2014", "--utility", "electricity", "--credit-mode", "currency",
                 "--tariff", "kes")

    def sell(self, pan, amount):
        sale = json.loads(self.run("vend", "sell", "--meter", pan, "--amount", amount,
                                   "--channel", "cash", "--json"))
        token = sale["tokens"][0]
        print("   receipt %d: KES %s tendered, VAT %s, credit %s, TID %d" % (
            sale["receipt"], amount, format_fixed(sale["deductions"]["vat_cents"], 2),
            format_fixed(sale["credit_e5"], 5), sale["tid"]))
        print("   token   %s" % token["formatted"])
        return token["digits"]


def do(sim, line):
    run_command(sim, parse_line(0, line, ROOT), open(os.devnull, "w"))


def show(sim, line=None):
    if line:
        do(sim, line)
    status = sim.status()
    face(status)
    return status


def main():
    state = tempfile.mkdtemp(prefix="prepay-demo-")
    say("1. A meter is registered: PAN 600727 00000000001 + check digit, STS key revision 1,"
        " supply group 201457, on a time-of-use tariff (KES 12 night / 20 day / 30 evening"
        " per kWh, KES 10 a day standing charge)")
    with open(EXAMPLE) as f:
        cfg = json.load(f)
    cfg["supply"].pop("friendly", None)       # the demo's meter cuts on a weekday evening
    pan = cfg["identity"]["pan"]
    print("   identity %s, board %s, state in %s" % (pan, cfg["board"]["name"], state))
    vending = Vending(state)
    vending.register(pan)
    print("   The technician provisions the meter with its decoder key (never printed):")
    derive = ("key", "derive", "--dkga", "04", "--meter", pan, "--sgc", "201457", "--ti", "01",
              "--krn", "1", "--kt", "2", "--base-date", "2014")
    print("   $ %s   (vending key from PREPAY_VENDING_KEY)" % shlex.join(("prepay",) + derive))
    cfg["sts"]["key"] = prepay(*derive, env=dict(os.environ, PREPAY_VENDING_KEY=VENDING_KEY))
    with open(os.path.join(state, "meter.json"), "w") as f:
        json.dump(cfg, f, indent=1)

    say("2. Its simulated twin is switched on (the ESP32 firmware on the MicroPython Unix"
        " port, 200 KB heap): no credit yet, the relay is open")
    sim = Sim(state)
    sim.world.rtc_s = meter_seconds("2026-11-23T07:55")
    sim.power_on()
    show(sim)

    say("3. The customer buys KES 500 at the vending point")
    token = vending.sell(pan, "500.00")

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
    token = vending.sell(pan, "300.00")
    do(sim, "token " + token)
    show(sim)
    do(sim, "advance 10s")
    status = show(sim)
    sim.finish()
    print("\nThe meter kept its books: bought KES %.2f = left %.2f + energy %.2f + standing %.2f"
          % (status["books"]["purchased"] / 1e6, status["books"]["balance"] / 1e6,
             status["books"]["energy"] / 1e6, status["books"]["standing"] / 1e6))
    cli = PREPAY if os.path.exists(PREPAY) else os.path.join(ROOT, ".venv", "bin", "prepay")
    print("Peak heap %d bytes in -X heapsize=200K. Try it yourself:\n"
          "  $ %s        (type digits, # to enter, q to quit)"
          % (sim.heap_peak, shlex.join((cli, "sim", "--state", state))))
    print("The demo's folder (the README's web console uses it):\n  $ export DEMO=%s"
          % shlex.quote(state))
    print("Its sales, as operator admin (password demo-admin, asked at the prompt):\n"
          "  $ PREPAY_DB=%s %s" % (shlex.quote(os.path.join(state, "vending.db")),
                                   shlex.join((cli, "vend", "report", "daily", "--operator",
                                               "admin"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
